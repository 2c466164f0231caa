"""Configuration: one place, strict in production."""

import pytest

from hotline.app import create_app
from hotline.config import ConfigError, load_settings


def test_defaults_are_the_embedded_development_setup(tmp_path):
    settings = load_settings({}, instance_path=str(tmp_path))
    app = create_app(settings)
    assert settings.env == "development"
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'xueji.sqlite3'}"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_development_secrets_are_generated_once_and_kept(tmp_path):
    settings = load_settings({}, instance_path=str(tmp_path))
    first = create_app(settings).config
    second = create_app(settings).config
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) == 64
    assert first["ID_HASH_KEY"] == second["ID_HASH_KEY"] != first["SECRET_KEY"].encode()
    assert (tmp_path / "id_hash_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("environ", "message"), [
    ({"XUEJI_ENV": "production"}, "XUEJI_SECRET_KEY is not set"),
    ({"XUEJI_ENV": "production", "XUEJI_SECRET_KEY": "s" * 40}, "XUEJI_ID_HASH_KEY is not set"),
    ({"XUEJI_ENV": "production", "XUEJI_SECRET_KEY": "short", "XUEJI_ID_HASH_KEY": "k" * 40},
     "at least 32"),
    ({"XUEJI_ENV": "staging"}, "XUEJI_ENV"),
    ({"XUEJI_DATABSE_URL": "sqlite://"}, "unknown setting XUEJI_DATABSE_URL"),
    ({"XUEJI_SMTP_PORT": "twenty-five"}, "whole number"),
])
def test_misconfiguration_is_a_clear_error(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message):
        create_app(load_settings(environ, instance_path=str(tmp_path)))


def test_production_with_its_secrets_starts(tmp_path):
    environ = {"XUEJI_ENV": "production", "XUEJI_SECRET_KEY": "s" * 40,
               "XUEJI_ID_HASH_KEY": "k" * 40, "XUEJI_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"}
    settings = load_settings(environ, instance_path=str(tmp_path))
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert settings.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert not (tmp_path / "secret_key").exists()
