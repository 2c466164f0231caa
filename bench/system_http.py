"""HTTP and SMTP clients of the whole-system run, as a reverse proxy and a mail server would talk.

Requests go straight to gunicorn on loopback, carrying ``X-Forwarded-For`` as
our nginx would (gunicorn trusts 127.0.0.1 through ``XUEJI_TRUSTED_PROXIES``),
so that each simulated parent has an address of its own. gunicorn's sync
workers close the connection after every answer, so every request opens one.

The console agent keeps its cookies by hand: in production the session
cookie is ``Secure``, which a cookie jar would not send over plain HTTP; the
TLS is nginx's job, not gunicorn's.
"""

from __future__ import annotations

import http.client
import json
import re
import smtplib
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from system_data import MAILBOX, Sample

TIMEOUT = 30.0  # seconds: gunicorn's own worker timeout is 30 s, a request never legitimately takes longer
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PREVIEWED = re.compile(r'name="previewed"[^>]*value="([0-9a-f]{64})"')


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection refused, reset, timeout)
    headers: Mapping[str, str]
    body: bytes
    cookies: tuple[str, ...] = ()
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(port: int, method: str, path: str, *, headers: Mapping[str, str] | None = None,
            body: bytes | None = None, timeout: float = TIMEOUT) -> Answer:
    """One request on a new connection; a failure to get an answer is status 0, never an exception."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        items = response.getheaders()
        return Answer(response.status, {k.lower(): v for k, v in items}, data,
                      tuple(v for k, v in items if k.lower() == "set-cookie"))
    except (OSError, http.client.HTTPException) as exc:
        return Answer(0, {}, b"", error=type(exc).__name__)
    finally:
        connection.close()


def timed(endpoint: str, port: int, method: str, path: str, **kwargs: object) -> tuple[Sample, Answer]:
    start = time.monotonic()
    answer = request(port, method, path, **kwargs)  # type: ignore[arg-type]
    return Sample(start, endpoint, answer.status, (time.monotonic() - start) * 1000), answer


def lookup_request(port: int, client: str, body: dict[str, str]) -> tuple[Sample, Answer]:
    return timed("lookup", port, "POST", "/api/v1/lookup", body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json", "X-Forwarded-For": client})


def status_request(port: int, client: str, number: str, contact: str) -> tuple[Sample, Answer]:
    query = urllib.parse.urlencode({"contact": contact})
    return timed("status", port, "GET", f"/api/v1/tickets/{number}?{query}",
                 headers={"X-Forwarded-For": client})


@dataclass
class Agent:
    """A person at the console: one address, one session cookie."""

    port: int
    username: str
    password: str
    client: str
    cookies: dict[str, str] = field(default_factory=dict)

    def call(self, endpoint: str, method: str, path: str, form: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None) -> tuple[Sample, Answer]:
        headers = {"X-Forwarded-For": self.client, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        sample, answer = timed(endpoint, self.port, method, path, headers=headers, body=body)
        for line in answer.cookies:
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and "1970" not in morsel["expires"]:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return sample, answer

    def token(self, page: Answer) -> str | None:
        match = CSRF.search(page.text)
        return match.group(1) if match else None

    def login(self, password: str | None = None) -> tuple[list[Sample], bool]:
        """Log in (with ``password``, by default the right one); whether the console let us in."""
        first, page = self.call("console login", "GET", "/console/login")
        token = self.token(page)
        if token is None:
            return [first], False
        form = {"csrf_token": token, "username": self.username, "password": password or self.password,
                "next": ""}
        second, answer = self.call("console login", "POST", "/console/login", form)
        # In: a redirect into the console. Refused: the login page again, with its one message.
        inside = "/console/login" not in answer.headers.get("location", "")
        return [first, second], answer.status == 302 and inside

    def log_call(self, fields: Mapping[str, str]) -> tuple[list[Sample], str | None]:
        """Preview, then save a call; the ticket number the console answered with, if it did."""
        samples = []
        sample, page = self.call("console form", "GET", "/console/calls/new")
        samples.append(sample)
        if (token := self.token(page)) is None:
            return samples, None
        form = {"csrf_token": token, **fields}
        sample, preview = self.call("console preview", "POST", "/console/calls/new",
                                    {**form, "action": "preview"})
        samples.append(sample)
        match = PREVIEWED.search(preview.text)
        if preview.status != 200 or match is None:
            return samples, None
        sample, saved = self.call("console save", "POST", "/console/calls/new",
                                  {**form, "previewed": match.group(1), "action": "save"})
        samples.append(sample)
        location = saved.headers.get("location", "")
        if saved.status == 302 and "/console/tickets/" in location:
            return samples, location.rsplit("/", 1)[1]
        return samples, None


def call_fields(subject: str, phone: str, school: str, student: tuple[str, str] = ("", "")) -> dict[str, str]:
    """The call form as an agent fills it in for a parent on the phone (``student``: name, ID number)."""
    return {"caller_name": "刘桂芳", "relation": "家长", "phone": phone, "email": "", "category": "complaint",
            "schools": school, "subject": subject, "description": "孩子转学后学籍号查询不到，请帮忙核实。",
            "students-0-name": student[0], "students-0-id_number": student[1],
            "students-1-name": "", "students-1-id_number": ""}


def send_mail(port: int, message_id: str, raw: bytes, sender: str) -> tuple[Sample, bool]:
    """Deliver one message over SMTP; whether the server said 250 to it (then it must not be lost)."""
    start = time.monotonic()
    code = 0
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as client:
            client.sendmail(sender, [MAILBOX], raw)
            code = 250
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
    except (OSError, smtplib.SMTPException):
        code = 0
    # Anything but 250 is an error here: the receiver only stores the message, it has no reason to refuse.
    return Sample(start, "smtp", 250 if code == 250 else 0, (time.monotonic() - start) * 1000), code == 250
