"""deploy/nginx/xueji.conf: accepted by ``nginx -t``, and nginx running it in front of gunicorn.

The site's file is used as written, with only its machine-specific paths and
ports replaced (each replacement must find its text, so a change of the
file's shape fails here rather than passing untested). Certificates are made
with openssl for the test. Requests from 127.0.0.2 stand for the public: on
Linux all of 127.0.0.0/8 reaches the loopback interface, and only
127.0.0.1 is allowed to /metrics. Skipped where nginx is not installed
(Debian: ``apt-get install nginx-light``), unless CI=true.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import db
from lookup.models import LookupAudit
from tests.deploy.live import CONTACT, ROOT, Site, free_port

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
SITE_CONFIG = ROOT / "deploy" / "nginx" / "xueji.conf"

pytestmark = pytest.mark.skipif(NGINX is None and os.environ.get("CI") != "true",
                                reason="nginx is not installed (apt-get install nginx-light)")


def certificate(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "privkey.pem", folder / "fullchain.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=xueji.test", "-addext",
                    "subjectAltName=DNS:xueji.test,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def site_config(folder: Path, *, http_port: int, https_port: int, upstream: int) -> str:
    """The deploy file with this machine's paths and ports."""
    text = SITE_CONFIG.read_text()
    cert, key = certificate(folder)
    for old, new in {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": f"listen [::1]:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": f"listen [::1]:{https_port} ssl http2;",
        "/etc/xueji/tls/fullchain.pem": str(cert),
        "/etc/xueji/tls/privkey.pem": str(key),
        "/var/log/nginx/": f"{folder}/logs/",
        "/var/www/acme": str(folder / "acme"),
        "/opt/xueji/static/": f"{files('xueji_static')}/",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
    }.items():
        assert old in text, f"deploy/nginx/xueji.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def main_config(folder: Path) -> Path:
    """What /etc/nginx/nginx.conf gives the site on Debian, in the test's folder."""
    (folder / "logs").mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers read the checkout's static files
    temp = "".join(f"{kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                        "uwsgi", "scgi"))
    path = folder / "nginx.conf"
    path.write_text(f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
                    f"error_log {folder / 'logs' / 'main.error.log'};\nevents {{ worker_connections 64; }}\n"
                    f"http {{\ninclude /etc/nginx/mime.types;\ndefault_type application/octet-stream;\n"
                    f"access_log {folder / 'logs' / 'other.access.log'};\n{temp}"
                    f"include {folder / 'xueji.conf'};\n}}\n")
    return path


def nginx(folder: Path, *args: str) -> list[str]:
    assert NGINX is not None, "nginx is not installed; CI installs it (apt-get install nginx-light)"
    return [NGINX, "-p", f"{folder}/", "-e", str(folder / "logs" / "startup.log"), "-c",
            str(folder / "nginx.conf"), *args]


def test_the_site_passes_nginx_t(tmp_path):
    (tmp_path / "xueji.conf").write_text(site_config(tmp_path, http_port=free_port(), https_port=free_port(),
                                                     upstream=free_port()))
    main_config(tmp_path)
    checked = subprocess.run(nginx(tmp_path, "-t"), capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr
    assert "[warn]" not in checked.stderr


Answer = tuple[int, http.client.HTTPMessage, bytes]


@dataclass
class Front:
    https_port: int
    http_port: int
    folder: Path
    context: ssl.SSLContext

    def request(self, method: str, path: str, *, source: str = "127.0.0.1", body: bytes | None = None,
                headers: dict[str, str] | None = None, tls: bool = True) -> Answer:
        if tls:
            connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.context,
                                                     source_address=(source, 0), timeout=30)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, source_address=(source, 0),
                                                    timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.headers, answer.read()
        finally:
            connection.close()

    def access_log(self) -> str:
        return (self.folder / "logs" / "xueji.access.log").read_text()


@pytest.fixture(scope="module")
def front(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """nginx with the site's file in front of gunicorn, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("nginx")
    https_port, http_port = free_port(), free_port()
    (folder / "xueji.conf").write_text(site_config(folder, http_port=http_port, https_port=https_port,
                                                   upstream=site.port))
    main_config(folder)
    process = subprocess.Popen(nginx(folder, "-g", "daemon off;"), stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(cafile=str(folder / "fullchain.pem"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(folder / 'logs' / 'startup.log').read_text()}")
                time.sleep(0.05)
        yield Front(https_port, http_port, folder, context)
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_nginx_serves_the_site_over_tls_with_one_hsts_header(front: Front, site: Site):
    status, headers, body = front.request("GET", "/")
    assert status == 200 and "学籍".encode() in body
    assert headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]
    assert headers["Server"] == "nginx"  # no version
    with socket.create_connection(("127.0.0.1", front.https_port)) as raw, \
            front.context.wrap_socket(raw, server_hostname="xueji.test") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    status, headers, _ = front.request("GET", f"/api/v1/tickets/2026-000001?contact={CONTACT}", tls=False)
    assert status == 301 and headers["Location"].startswith("https://")


def test_static_files_come_from_nginx_not_from_the_app(front: Front, site: Site):
    status, headers, body = front.request("GET", "/static/site.css")
    assert status == 200 and body == (files("xueji_static") / "site.css").read_bytes()
    assert "max-age=604800" in headers["Cache-Control"]
    assert headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]
    front.request("GET", "/healthz")
    site.logged("/healthz")  # gunicorn has logged what reached it by now
    assert "/static/" not in site.access_log.read_text()


def test_the_client_address_is_nginx_s_peer_whatever_the_client_claims(front: Front, site: Site):
    body = json.dumps({"name": "张三", "id_number": "110101201203070011"}).encode()
    status, _, _ = front.request("POST", "/api/v1/lookup", source="127.0.0.2", body=body,
                                 headers={"Content-Type": "application/json",
                                          "X-Forwarded-For": "203.0.113.7"})
    assert status in (400, 404)
    engine = db.make_engine(site.database)
    with engine.connect() as connection:
        assert list(connection.scalars(select(LookupAudit.client))) == ["127.0.0.2"]
    engine.dispose()


def test_metrics_are_for_monitoring_addresses_only(front: Front):
    assert front.request("GET", "/metrics", source="127.0.0.2")[0] == 403
    assert front.request("GET", "/readyz", source="127.0.0.2")[0] == 403
    status, _, body = front.request("GET", "/metrics")
    assert status == 200 and b"xueji_http_requests" in body


def test_a_body_larger_than_the_app_takes_stops_at_nginx(front: Front, site: Site):
    status, _, _ = front.request("POST", "/lookup", body=b"x" * (1024 * 1024 + 1),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    front.request("GET", "/healthz")
    site.logged("/healthz")
    assert '"POST /lookup ' not in site.access_log.read_text()


def test_nginx_logs_the_path_and_never_the_query_string(front: Front):
    status, _, _ = front.request("GET", f"/api/v1/tickets/2026-000777?contact={CONTACT}")
    assert status == 404
    deadline = time.monotonic() + 30
    while "/api/v1/tickets/2026-000777" not in front.access_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in front.access_log().splitlines() if "/api/v1/tickets/2026-000777" in line)
    assert '"GET /api/v1/tickets/2026-000777 HTTP/1.1" 404' in line
    logs = "".join(path.read_text() for path in (front.folder / "logs").iterdir())
    assert CONTACT not in logs and "contact=" not in logs
