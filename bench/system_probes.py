"""Probes of how the service behaves behind its TLS reverse proxy (nginx, X-Forwarded-Proto: https).

Flask-WTF's CSRF check, on a request it sees as HTTPS (``WTF_CSRF_SSL_STRICT``,
on by default), refuses a POST without a same-origin Referer. Our pages say
``Referrer-Policy: same-origin``, so a browser sends one to us (and to no one
else). The probe reads the policy off the login page, posts the login form
as such a browser would through the proxy (with the Referer the policy lets
through: none if the page said no-referrer), and reports what came back.
"""

from __future__ import annotations

from system_data import client_address
from system_http import Agent

PROBE_BLOCK = 201


def tls_form_post(port: int) -> str:
    """A form POST as a browser sends it through our TLS proxy; what came back."""
    agent = Agent(port, "tls-probe", "Not-The-Password-1!", client_address(PROBE_BLOCK, 0))
    headers = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    page = agent.call("probe", "GET", "/console/login", headers=headers)[1]
    policy = dict((k.lower(), v) for k, v in page.headers.items()).get("referrer-policy", "")
    sends_referer = policy in ("same-origin", "strict-origin", "strict-origin-when-cross-origin", "origin")
    extra = {"Referer": "https://127.0.0.1/console/login"} if sends_referer else {}
    form = {"csrf_token": agent.token(page) or "", "username": agent.username, "password": agent.password,
            "next": ""}
    answer = agent.call("probe", "POST", "/console/login", form, headers={**headers, **extra})[1]
    verdict = "ok" if answer.status == 200 else "REFUSED: a browser cannot post any form over HTTPS"
    return f"{verdict}; Referrer-Policy {policy or 'none'}, login POST {answer.status}"
