"""Fixtures of the IMAP poller's tests: Debian's Dovecot as the mailbox (issue 6 item 9).

One Dovecot per test package, run in the foreground (``dovecot -F -c CONF``)
with a minimal configuration written into a temporary folder, listening on a
free loopback port without TLS; stopped at the end. Each test gets a mailbox
of its own (a new user in Dovecot's password file, which Dovecot reads again
when it changes), so tests share the server but never a mailbox. Messages
are put in with IMAPClient's APPEND, as another mail client would.

NOTES.md: the folder must not be pytest's ``tmp_path`` (mode 0700: Dovecot's
auth process cannot read the password file); as root the mail belongs to
``nobody``, as another user Dovecot runs entirely as that user.
"""

from __future__ import annotations

import dataclasses
import datetime
import grp
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from hotline import db
from mailintake.config import MailConfig
from mailintake.spool import Spool
from tests.hotline.test_serve import free_port
from tests.mailintake.conftest import MailDesk, add_registry

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
DONE = b"$XuejiDone"
SEEN = b"\\Seen"
# Mailboxes made when the server starts (Dovecot notices a changed password
# file only by its modification time, to the second): plain ones, and ones
# whose server advertises nothing but IMAP4rev1 (no IDLE, MOVE or UIDPLUS).
KINDS = {"desk": "", "bare": "userdb_imap_capability=IMAP4rev1"}
USERS = 400
_users = itertools.count(1)


def _config(root: Path, port: int, tls_port: int) -> str:
    if os.geteuid() == 0:
        owner, group, process_user = "nobody", "nogroup", ""
    else:
        owner, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        process_user = (f"default_internal_user = {owner}\ndefault_internal_group = {group}\n"
                        f"default_login_user = {owner}\n")
    chroot = "" if os.geteuid() == 0 else "  chroot =\n"
    return f"""instance_name = xueji-test-{os.getpid()}-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{process_user}protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_failure_delay = 0
# No growing delay for the failed logins the tests make on purpose.
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner} gid={group} home={root}/mail/%u
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
{chroot}}}
"""


@dataclass
class Dovecot:
    root: Path
    port: int  # IMAP, with STARTTLS
    tls_port: int  # IMAP over implicit TLS, with a certificate of our own for 127.0.0.1
    process: subprocess.Popen | None = None
    password: str = ""  # every mailbox's

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def ca(self) -> Path:
        """The server's self-signed certificate: trust it with SSL_CERT_FILE."""
        return self.root / "cert.pem"

    def start(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root / "mail", "nobody", "nogroup")
        self.password = secrets.token_hex(8)
        (self.root / "passwd").write_text("".join(
            f"{kind}{i}:{{PLAIN}}{self.password}" + (f"::::::{extra}" if extra else "") + "\n"
            for kind, extra in KINDS.items() for i in range(1, USERS + 1)))
        self.root.chmod(0o755)
        (self.root / "passwd").chmod(0o644)
        # A certificate of our own, for the TLS tests (openssl comes with dovecot-core).
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", str(self.root / "key.pem"), "-out", str(self.ca),
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.conf.write_text(_config(self.root, self.port, self.tls_port))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # it logs to dovecot.log
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not start:\n{self.log()}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Box:
    """One mailbox of the test's own on the Dovecot server."""

    server: Dovecot
    user: str
    password: str

    def connect(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.server.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, raws: list[bytes], folder: str = "INBOX", at: datetime.datetime | None = None) -> None:
        with self.connect() as client:
            for raw in raws:
                client.append(folder, raw, msg_time=at)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """Every message of ``folder`` not deleted: its UID and flags."""
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["UNDELETED"])
            # \Recent only says which session saw the message first.
            return {uid: set(data[b"FLAGS"]) - {b"\\Recent"}
                    for uid, data in client.fetch(uids, ["FLAGS"]).items()}

    def done(self, folder: str = "INBOX") -> int:
        """How many messages of ``folder`` the poller has flagged done."""
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            return len(client.search(["KEYWORD", DONE.decode()]))

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.connect() as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def kick(self) -> None:
        """Drop every connection of this user, as ``doveadm kick`` does on a live server."""
        subprocess.run([DOVEADM, "-c", str(self.server.conf), "kick", self.user], check=True,
                       capture_output=True, timeout=30)

    def settings(self, **more: object) -> dict[str, object]:
        """The poller's settings for this mailbox (plain IMAP: loopback only)."""
        return {"imap_host": "127.0.0.1", "imap_port": self.server.port, "imap_user": self.user,
                "imap_password": self.password, "imap_tls": "plain", **more}

    def environ(self, **more: object) -> dict[str, str]:
        return {f"XUEJI_{name.upper()}": str(value) for name, value in self.settings(**more).items()}


@pytest.fixture(scope="package")
def dovecot() -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        reason = "dovecot is not installed: install Debian's dovecot-imapd (.ci/run does)"
        # On CI a missing Dovecot is a broken machine, not a reason to skip.
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = Dovecot(Path(tempfile.mkdtemp(prefix="xueji-dovecot-")), free_port(), free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def make_box(dovecot: Dovecot) -> Callable[[str], Box]:
    """A new, empty mailbox of a kind of :data:`KINDS`."""
    def make(kind: str = "desk") -> Box:
        number = next(_users)
        assert number <= USERS, "more mailboxes than the server was started with"
        return Box(dovecot, f"{kind}{number}", dovecot.password)
    return make


@pytest.fixture
def box(make_box) -> Box:
    return make_box()


@pytest.fixture
def imap_desk(app, box: Box) -> Iterator[MailDesk]:
    """The mail desk of the test's transaction, its settings pointing at ``box``."""
    app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **box.settings())
    with app.app_context():
        session = db.session()
        config = MailConfig.from_app(app)
        add_registry(session, config)
        session.commit()
        yield MailDesk(session, config, Spool(config.store))


@pytest.fixture
def keep_signals() -> Iterator[None]:
    """The command under test installs SIGINT/SIGTERM handlers: give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
