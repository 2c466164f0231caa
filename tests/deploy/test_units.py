"""deploy/systemd/ and deploy/xueji.env.example: valid for systemd, hardened, and in step with the code.

``systemd-analyze verify`` runs on the units as written, with only the
virtualenv's path replaced by this one's (it checks that each ExecStart
binary exists). Skipped where systemd-analyze is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.config import KNOWN, ConfigError, load_settings, resolve_secrets
from tests.deploy.live import ROOT

UNITS = ROOT / "deploy" / "systemd"
ENV_EXAMPLE = ROOT / "deploy" / "xueji.env.example"
VENV_BIN = "/opt/xueji/venv/bin/"
SERVICES = sorted(path.name for path in UNITS.glob("*.service"))


def directives(name: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, by key (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_deployment_has_every_unit_the_service_needs():
    assert SERVICES == ["xueji-mail-imap.service", "xueji-mail-send.service", "xueji-mail-smtp.service",
                        "xueji-mail-work@.service", "xueji-purge.service", "xueji-web.service"]
    assert (UNITS / "xueji-purge.timer").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    for path in UNITS.iterdir():
        text = path.read_text()
        if path.suffix == ".service":
            assert VENV_BIN in text, path.name
        (tmp_path / path.name).write_text(text.replace(VENV_BIN, f"{Path(sys.executable).parent}/"))
    # A template is verified through one of its instances.
    shutil.copy(tmp_path / "xueji-mail-work@.service", tmp_path / "xueji-mail-work@1.service")
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != "xueji-mail-work@.service")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""  # not even a warning


HARDENING = {"User": "xueji", "Group": "xueji", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
             "ProtectSystem": "strict", "ProtectHome": "yes", "CapabilityBoundingSet": "",
             "EnvironmentFile": "/etc/xueji/xueji.env", "KillSignal": "SIGTERM"}
WRITERS = {"xueji-mail-smtp.service", "xueji-mail-work@.service", "xueji-mail-imap.service",
           "xueji-purge.service"}


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_runs_hardened_as_the_service_user(name):
    found = directives(name)
    for key, value in HARDENING.items():
        assert value in found.get(key, []), f"{name}: {key}={value}"
    # Only what must write gets the instance folder writable (the raw-mail store, attachments).
    assert found.get("ReadWritePaths", []) == (["/var/lib/xueji"] if name in WRITERS else [])


@pytest.mark.parametrize("name, stop_seconds", [
    ("xueji-web.service", 45),  # gunicorn's graceful_timeout is 30
    ("xueji-mail-smtp.service", 30),
    ("xueji-mail-work@.service", 120),  # a worker finishes the message it holds
    ("xueji-mail-imap.service", 120),
    ("xueji-mail-send.service", 90),
])
def test_long_running_services_restart_on_failure_and_stop_gracefully(name, stop_seconds):
    found = directives(name)
    assert found["Restart"] == ["on-failure"]
    assert found["TimeoutStopSec"] == [str(stop_seconds)]


def test_the_web_service_gives_gunicorn_its_config_and_a_fresh_metrics_folder():
    found = directives("xueji-web.service")
    assert found["ExecStart"] == [f"{VENV_BIN}gunicorn --config /etc/xueji/gunicorn.conf.py hotline.wsgi:app"]
    assert found["Environment"] == ["PROMETHEUS_MULTIPROC_DIR=/run/xueji-web"]
    assert found["RuntimeDirectory"] == ["xueji-web"]
    assert found["KillMode"] == ["mixed"]  # SIGTERM to the arbiter, which stops its workers gracefully


def test_the_purge_runs_nightly_and_catches_up_after_downtime():
    timer = (UNITS / "xueji-purge.timer").read_text()
    assert "OnCalendar=*-*-* 03:30:00 Asia/Shanghai" in timer and "Persistent=true" in timer
    assert directives("xueji-purge.service")["Type"] == ["oneshot"]


@pytest.mark.parametrize("name", [n for n in SERVICES if n != "xueji-web.service"])
def test_every_command_a_unit_runs_exists_with_its_options(name):
    command = directives(name)["ExecStart"][0]
    assert command.startswith(f"{VENV_BIN}xueji ")
    arguments = command.removeprefix(f"{VENV_BIN}xueji ").split()
    words = [a for a in arguments if not a.startswith("-")]
    result = subprocess.run([str(Path(sys.executable).with_name("xueji")), *words, "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for option in (a for a in arguments if a.startswith("-")):
        assert option in result.stdout, f"{name}: xueji {' '.join(words)} has no {option}"


def environment_file() -> tuple[dict[str, str], dict[str, str]]:
    """(active, commented) ``XUEJI_*`` lines of the example, values unquoted as systemd does."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(#?)(XUEJI_[A-Z_]+)=(.*)", line)
        if match:
            value = match.group(3)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            (commented if match.group(1) else active)[match.group(2)] = value
    return active, commented


def test_the_environment_file_lists_every_setting_once():
    active, commented = environment_file()
    assert not set(active) & set(commented)
    assert set(active) | set(commented) == {f"XUEJI_{name.upper()}" for name in KNOWN}


def test_the_environment_file_is_valid_and_holds_no_secret(tmp_path):
    active, commented = environment_file()
    settings = load_settings({**commented, **active})  # every value shown is one the service takes
    assert settings.env == "production" and settings.ratelimit_storage_uri.startswith("redis://")
    for secret in ("XUEJI_SECRET_KEY", "XUEJI_ID_HASH_KEY", "XUEJI_MAIL_REPLY_KEY", "XUEJI_IMAP_PASSWORD"):
        assert {**commented, **active}[secret] == ""
    # Left as they are, the service refuses to start in production.
    with pytest.raises(ConfigError, match="XUEJI_SECRET_KEY is not set"):
        resolve_secrets(load_settings(active), tmp_path)


def test_the_operators_wrapper_runs_xueji_with_the_environment_file(own_database, tmp_path):
    """deploy/xueji.sh reads /etc/xueji/xueji.env as the shell reads it: the quoted values survive."""
    env_file = tmp_path / "xueji.env"
    env_file.write_text(ENV_EXAMPLE.read_text()
                        .replace("XUEJI_ENV=production", "XUEJI_ENV=testing")
                        .replace("XUEJI_DATABASE_URL=postgresql://xueji@db.internal/xueji",
                                 f"XUEJI_DATABASE_URL={own_database}")
                        .replace("XUEJI_INSTANCE_PATH=/var/lib/xueji", f"XUEJI_INSTANCE_PATH={tmp_path}")
                        .replace('#XUEJI_LOOKUP_CLIENT_LIMITS="10', 'XUEJI_LOOKUP_CLIENT_LIMITS="10'))
    wrapper = tmp_path / "xueji"
    script = (ROOT / "deploy" / "xueji.sh").read_text()
    assert "/etc/xueji/xueji.env" in script and VENV_BIN in script
    wrapper.write_text(script.replace("/etc/xueji/xueji.env", str(env_file))
                       .replace(VENV_BIN, f"{Path(sys.executable).parent}/"))
    wrapper.chmod(0o755)
    result = subprocess.run([str(wrapper), "purge", "--dry-run"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("试运行，未作任何修改")
