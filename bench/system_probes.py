"""Probes of how the service behaves behind its TLS reverse proxy (nginx, X-Forwarded-Proto: https).

Browsers post our forms without a Referer: every page says
``Referrer-Policy: no-referrer``. Flask-WTF's CSRF check, on a request it
sees as HTTPS (``WTF_CSRF_SSL_STRICT``, on by default), refuses a POST that
has no Referer. The probe posts the console's login form as such a browser
would, through the proxy, and reports what the service answered.
"""

from __future__ import annotations

from system_data import client_address
from system_http import Agent

PROBE_BLOCK = 201


def tls_form_post(port: int) -> str:
    """A form POST as a browser sends it through our TLS proxy (no Referer); what came back."""
    agent = Agent(port, "tls-probe", "Not-The-Password-1!", client_address(PROBE_BLOCK, 0))
    answers = {}
    for label, extra in (("without Referer", {}), ("with Referer", {"Referer": "https://127.0.0.1/console/login"})):
        headers = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1", **extra}
        page = agent.call("probe", "GET", "/console/login", headers=headers)[1]
        token = agent.token(page) or ""
        form = {"csrf_token": token, "username": agent.username, "password": agent.password, "next": ""}
        answer = agent.call("probe", "POST", "/console/login", form, headers=headers)[1]
        answers[label] = answer.status
    verdict = "ok" if answers["without Referer"] == 200 else \
        "REFUSED: a browser cannot post any form over HTTPS (see the report)"
    return (f"{verdict}; login POST without Referer {answers['without Referer']}, "
            f"with {answers['with Referer']}")
