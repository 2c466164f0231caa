"""`xueji serve` as a newcomer runs it: a real server on a loopback port."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.hotline.test_cli import XUEJI, xueji


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_refuses_an_uninitialised_database(tmp_path):
    result = xueji("serve", "--port", str(free_port()), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "请先运行 xueji init" in result.stderr


def test_serve_answers_on_loopback_after_init(tmp_path):
    assert xueji("init", tmp_path=tmp_path).returncode == 0
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ["XUEJI_INSTANCE_PATH"] = str(tmp_path / "instance")
    server = subprocess.Popen([XUEJI, "serve", "--port", str(port)], env=environ,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert status == 200 and "010-66119801" in body and 'lang="zh-CN"' in body
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status":"ok"}\n')
        status, body = get(f"http://127.0.0.1:{port}/no-such-page")
        assert status == 404 and "您访问的页面不存在" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_starts_the_web_site_and_the_mail_worker_and_stops_both(tmp_path):
    web, smtp = free_port(), free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ["XUEJI_INSTANCE_PATH"] = str(tmp_path / "instance")
    demo = subprocess.Popen(
        [XUEJI, "demo", "--students", "500", "--schools", "300", "--port", str(web),
         "--smtp-port", str(smtp)],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{web}/")
                with smtplib.SMTP("127.0.0.1", smtp, timeout=5) as client:
                    refused = client.sendmail("parent@example.com", ["66119801@moe.edu.cn"],
                                              b"Subject: test\r\n\r\nhello\r\n")
                break
            except OSError:
                assert demo.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        assert status == 200 and refused == {}
        assert len(list((tmp_path / "instance" / "mail" / "new").iterdir())) == 1
    finally:
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
    assert f"http://127.0.0.1:{web}/" in output and f"smtp://127.0.0.1:{smtp}" in output
    assert "students.csv: 500 行，新增或更新 500 行" in output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", smtp)) != 0, "mail worker left running"
