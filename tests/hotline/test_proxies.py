"""Client addresses: X-Forwarded-For counts only when our own proxy sent it.

The per-client lookup limit and the audit's ``client`` column both read the
address :class:`hotline.web.TrustedProxies` leaves in ``REMOTE_ADDR``; if a
client could choose it, it could spread an enumeration over invented
addresses. The middleware is tested here over a WSGI app that only echoes
what it was handed.
"""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, load_settings
from hotline.web import TrustedProxies


def _echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def seen(networks, peer, forwarded=None, proto=None) -> dict:
    """The environ the app behind the middleware sees for one request."""
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http"}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto is not None:
        environ["HTTP_X_FORWARDED_PROTO"] = proto
    received = {}

    def app(env, start_response):
        received.update(env)
        return _echo(env, start_response)

    body = TrustedProxies(app, networks)(environ, lambda status, headers: None)
    assert list(body) == [b"ok"]
    return received


def client_of(networks, peer, forwarded=None) -> str:
    return seen(networks, peer, forwarded)["REMOTE_ADDR"]


def test_without_configured_proxies_forwarded_for_is_ignored():
    env = seen((), "203.0.113.7", "198.51.100.1")
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["xueji.peer"] == "203.0.113.7"


def test_a_peer_that_is_not_our_proxy_cannot_forward():
    assert client_of(("10.0.0.1",), "203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_behind_our_proxy_the_client_is_the_hop_it_added():
    env = seen(("10.0.0.1",), "10.0.0.1", "198.51.100.1")
    assert env["REMOTE_ADDR"] == "198.51.100.1"
    assert env["xueji.peer"] == "10.0.0.1"  # the real peer stays known


def test_spoofed_leftmost_entries_are_ignored():
    # The client wrote "1.2.3.4, 5.6.7.8" itself; our proxy appended what it saw.
    assert client_of(("10.0.0.1",), "10.0.0.1", "1.2.3.4, 5.6.7.8, 198.51.100.1") == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop():
    networks = ("10.0.0.1", "10.0.0.2", "10.0.0.3")
    assert client_of(networks, "10.0.0.1", "6.6.6.6, 198.51.100.9, 10.0.0.3, 10.0.0.2") == "198.51.100.9"


def test_when_every_hop_is_trusted_the_leftmost_one_is_the_client():
    # Only our own proxies, nothing from outside: the earliest of them is as
    # far back as the chain goes.
    assert client_of(("10.0.0.0/8",), "10.0.0.1", "10.1.1.1, 10.2.2.2") == "10.1.1.1"


def test_cidr_networks_are_honoured_and_bounded():
    networks = ("10.20.0.0/16",)
    assert client_of(networks, "10.20.3.4", "198.51.100.1") == "198.51.100.1"
    assert client_of(networks, "10.21.0.1", "198.51.100.1") == "10.21.0.1"


def test_ipv6_proxies_and_clients():
    networks = ("fd00::/8", "::1")
    assert client_of(networks, "fd12::5", "2001:db8::1") == "2001:db8::1"
    assert client_of(networks, "::1", "2001:db8::1, fd00::9") == "2001:db8::1"
    # Written differently, the same address: the compressed form is what is kept.
    assert client_of(networks, "::1", "2001:0db8:0000::0001") == "2001:db8::1"
    assert client_of(networks, "2001:db8::2", "2001:db8::1") == "2001:db8::2"


def test_a_mixed_chain_of_ipv4_and_ipv6():
    assert client_of(("10.0.0.1", "fd00::/8"), "10.0.0.1", "198.51.100.4, fd00::1") == "198.51.100.4"


@pytest.mark.parametrize(("forwarded", "client"), [
    # Garbage where our proxy's own entry should be: nothing further left is
    # trustworthy, so the peer is the client.
    ("garbage", "10.0.0.1"),
    ("198.51.100.1, not-an-ip", "10.0.0.1"),
    ("", "10.0.0.1"),
    (" , ", "10.0.0.1"),
    ("198.51.100.1:4711", "10.0.0.1"),       # ports are not part of the header
    ("[2001:db8::1]", "10.0.0.1"),
    ("999.1.1.1", "10.0.0.1"),
    # Garbage to the left of a good hop cannot move the client.
    ("not-an-ip, 198.51.100.1", "198.51.100.1"),
    ("x" * 10_000 + ", 198.51.100.1", "198.51.100.1"),
    # A good hop, then garbage further back behind a trusted one: the last good hop.
    ("garbage, 10.0.0.2", "10.0.0.2"),
    ("198.51.100.1 , 198.51.100.2", "198.51.100.2"),  # spaces around entries are fine
])
def test_garbled_forwarded_entries(forwarded, client):
    assert client_of(("10.0.0.0/24",), "10.0.0.1", forwarded) == client


def test_a_proxy_seen_as_an_ipv4_mapped_ipv6_address_is_trusted():
    assert client_of(("10.0.0.1",), "::ffff:10.0.0.1", "198.51.100.1") == "198.51.100.1"


def test_a_garbled_peer_address_is_not_trusted():
    assert client_of(("10.0.0.0/8",), "unix-socket", "198.51.100.1") == "unix-socket"
    assert client_of(("10.0.0.0/8",), "", "198.51.100.1") == ""


@pytest.mark.parametrize(("peer", "proto", "scheme"), [
    ("10.0.0.1", "https", "https"),
    ("10.0.0.1", "HTTPS", "https"),
    ("10.0.0.1", "http, https", "https"),    # the hop our proxy added is the last one
    ("10.0.0.1", "https, http", "http"),
    ("10.0.0.1", "gopher", "http"),          # nonsense leaves the scheme alone
    ("203.0.113.7", "https", "http"),        # from an untrusted peer: ignored
])
def test_forwarded_proto_only_from_a_trusted_proxy(peer, proto, scheme):
    assert seen(("10.0.0.1",), peer, "198.51.100.1", proto=proto)["wsgi.url_scheme"] == scheme


def test_forwarded_proto_is_ignored_without_configured_proxies():
    assert seen((), "10.0.0.1", proto="https")["wsgi.url_scheme"] == "http"


def test_trusted_proxies_are_read_from_the_environment():
    settings = load_settings({"XUEJI_TRUSTED_PROXIES": " 10.0.0.1, 10.20.0.0/16 ,fd00::/8,"})
    assert settings.trusted_proxies == ("10.0.0.1", "10.20.0.0/16", "fd00::/8")


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.example.cn", "10.0.0.0/33", "10.0.0.1;10.0.0.2",
                                   "fd00::/200"])
def test_an_invalid_trusted_proxy_is_a_configuration_error(value):
    with pytest.raises(ConfigError, match="XUEJI_TRUSTED_PROXIES"):
        load_settings({"XUEJI_TRUSTED_PROXIES": value})


@pytest.mark.parametrize("name", ["XUEJI_LOOKUP_CLIENT_LIMITS", "XUEJI_LOOKUP_IDENTITY_LIMITS"])
@pytest.mark.parametrize("value", ["10 per fortnight", "ten per minute", "", "per minute", "10/minute;junk"])
def test_an_invalid_limit_is_a_configuration_error(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_limits_from_the_environment_are_kept_as_written():
    settings = load_settings({"XUEJI_LOOKUP_CLIENT_LIMITS": "3 per minute; 20/day",
                              "XUEJI_LOOKUP_IDENTITY_LIMITS": "2 per hour"})
    assert settings.lookup_client_limits == "3 per minute; 20/day"
    assert settings.lookup_identity_limits == "2 per hour"
    assert load_settings({}).lookup_client_limits == "10 per minute;50 per day"
    assert load_settings({}).lookup_identity_limits == "5 per hour"
