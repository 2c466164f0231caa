"""The IMAP poller's mailbox: one connection to an existing mailbox, message by message (issue 6 item 1).

The ministry's mailbox lives on an existing mail server; ``xueji mail imap``
takes its mail from there (the loop is :mod:`mailintake.imap_poll`). For
each message not yet flagged done, :meth:`Mailbox.take`:

1. fetches it with ``BODY.PEEK[]`` (a plain ``BODY[]`` would mark it read);
2. keeps the raw bytes durably in the store's ``imap/`` folder (fsynced,
   see :meth:`mailintake.spool.Spool.keep`), never in ``new/``, which
   belongs to the spool's worker;
3. calls :func:`mailintake.intake.deliver`, which commits the outcome with
   the key ``FOLDER/UIDVALIDITY/UID``;
4. only then flags the message ``$XuejiDone`` (and ``\\Seen``), and moves it
   to the done folder if one is configured.

Exactly once, whatever happens:

- killed before the commit: nothing was recorded and the message is not
  flagged; the next pass fetches it again and rewrites the same file;
- killed after the commit, before the flag: the next pass finds the row of
  its key (``deliver`` answers ``already``) and only flags it;
- several pollers on one mailbox: both may take a message; the second's row
  collides on the unique ``(source, source_key)`` and it only flags;
- UIDVALIDITY changed (the folder was recreated or renumbered): RFC 3501
  2.3.1.1 says old UIDs mean nothing any more, so the key carries the
  UIDVALIDITY and every message is taken again under its new key; copies
  already recorded become ``duplicate`` (same Message-ID and content) and
  change nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout
from sqlalchemy.orm import Session

from hotline.config import Settings
from mailintake.config import MailConfig
from mailintake.intake import Outcome, deliver
from mailintake.spool import Spool

log = logging.getLogger(__name__)
SOURCE = "imap"
FOLDER = "imap"  # the store's folder for fetched messages
DONE = b"$XuejiDone"
SEEN = b"\\Seen"
# A slow server may take a while over a large message; a dead one must not
# hold the poller for ever (a timeout is a socket error: reconnect).
TIMEOUT = SocketTimeout(connect=15.0, read=120.0)
# RFC 2177 asks clients to renew IDLE within 29 minutes; NAT boxes and
# servers often drop quiet connections much sooner, hence minutes here.
IDLE_RENEW = 300.0
IDLE_TICK = 1.0  # how often an idle poller looks whether it was asked to stop


class MailboxError(Exception):
    """The mailbox cannot work as configured (no such folder, login refused): one line, in Chinese.

    Retrying would not help, so the poller stops with it instead of looping.
    """


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str = field(repr=False)  # never in a log line or a traceback
    folder: str
    tls: str  # "tls", "starttls" or "plain"
    done_folder: str | None
    poll_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ImapSettings:
        required = ("imap_host", "imap_user", "imap_password")
        missing = [name for name in required if not getattr(settings, name)]
        if missing:
            names = "、".join(f"XUEJI_{name.upper()}" for name in missing)
            raise MailboxError(f"未配置 IMAP 邮箱：请设置 {names}")
        port = settings.imap_port or (993 if settings.imap_tls == "tls" else 143)
        return cls(settings.imap_host, port, settings.imap_user, settings.imap_password,  # type: ignore[arg-type]
                   settings.imap_folder, settings.imap_tls, settings.imap_done_folder or None,
                   settings.imap_poll_seconds)

    @property
    def address(self) -> str:
        scheme = "imaps" if self.tls == "tls" else "imap"
        return f"{scheme}://{self.host}:{self.port}/{self.folder}"


def source_key(folder: str, uidvalidity: int, uid: int) -> str:
    """The key of a message in ``received_mail``: unique as long as the mailbox exists.

    >>> source_key("INBOX", 1795567190, 7)
    'INBOX/1795567190/7'
    """
    return f"{folder}/{uidvalidity}/{uid}"


def raw_name(folder: str, uidvalidity: int, uid: int) -> str:
    """The file a message is kept in, in the store's ``imap/``: fixed by its key, one path component.

    >>> raw_name("INBOX", 1795567190, 7)
    'INBOX.1795567190.7'
    >>> raw_name("学籍/来信", 3, 1)
    '%E5%AD%A6%E7%B1%8D%2F%E6%9D%A5%E4%BF%A1.3.1'
    """
    return f"{quote(folder, safe='')}.{uidvalidity}.{uid}"


def _server_text(error: Exception) -> str:
    """A server's answer as one short line, for an operator.

    >>> _server_text(IMAPClientError("select failed: Mailbox doesn't exist: Nope (0.001 + 0.000 secs)."))
    "Mailbox doesn't exist: Nope"
    >>> _server_text(IMAPClientError("select failed: Mailbox doesn't exist:  (0.001 + 0.000 secs)."))
    "Mailbox doesn't exist"
    >>> _server_text(LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"))
    '[AUTHENTICATIONFAILED] Authentication failed'
    """
    text = str(error).removeprefix("select failed: ").strip()
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text)  # a bytes answer, as imapclient words it
    if quoted:
        text = quoted.group(2)
    # Dovecot appends its timings, and leaves out a folder name it cannot show.
    return text.split(" (0.", 1)[0].rstrip(" .:")[:200]


def connect(imap: ImapSettings) -> IMAPClient:
    """A logged-in connection; :class:`MailboxError` when the settings cannot work."""
    context = ssl.create_default_context()
    client = None
    try:
        client = IMAPClient(imap.host, port=imap.port, ssl=imap.tls == "tls", ssl_context=context,
                            timeout=TIMEOUT)
        client.normalise_times = False  # INTERNALDATE with its offset, not naive local time
        if imap.tls == "starttls":
            client.starttls(context)
        client.login(imap.user, imap.password)
        return client
    except ssl.SSLCertVerificationError as error:
        _drop(client)
        raise MailboxError(f"IMAP 服务器 {imap.host} 的 TLS 证书无法验证（{error.verify_message}）") from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        _drop(client)
        raise  # the server hung up in the handshake: that may pass
    except ssl.SSLError as error:
        _drop(client)
        raise MailboxError(f"与 IMAP 服务器 {imap.host}:{imap.port} 的 TLS 握手失败（{error.reason}）："
                           "请检查 XUEJI_IMAP_TLS 和 XUEJI_IMAP_PORT") from None
    except CapabilityError:
        _drop(client)
        raise MailboxError(f"IMAP 服务器 {imap.host}:{imap.port} 不支持 STARTTLS"
                           "（XUEJI_IMAP_TLS=starttls）") from None
    except LoginError as error:
        _drop(client)
        # RFC 5530: [UNAVAILABLE] is the server's own trouble (its password
        # database is down, say): worth another try, unlike a refused password.
        if "UNAVAILABLE" in str(error):
            raise IMAPClientAbortError(f"login unavailable: {_server_text(error)}") from None
        raise MailboxError(f"IMAP 登录被拒绝（{_server_text(error)}）：请检查 XUEJI_IMAP_USER 和 "
                           "XUEJI_IMAP_PASSWORD") from None
    except BaseException:
        _drop(client)
        raise


def _drop(client: IMAPClient | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.shutdown()


class Mailbox:
    """The configured folder, selected on one connection, taken message by message."""

    def __init__(self, client: IMAPClient, imap: ImapSettings):
        self.client, self.imap = client, imap
        try:
            selected = client.select_folder(imap.folder)
            if imap.done_folder and not client.folder_exists(imap.done_folder):
                raise MailboxError(f"处理后移入的邮箱文件夹“{imap.done_folder}”不存在"
                                   "（XUEJI_IMAP_DONE_FOLDER）")
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            raise MailboxError(f"邮箱文件夹“{imap.folder}”不存在或无法打开（{_server_text(error)}，"
                               "XUEJI_IMAP_FOLDER）") from None
        if not selected.get(b"READ-WRITE"):
            raise MailboxError(f"邮箱文件夹“{imap.folder}”只读，无法标记已处理的邮件")
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        # The keyword is what tells processed mail apart, even with a done
        # folder (a poller killed between flag and move finishes the move).
        permanent = selected.get(b"PERMANENTFLAGS", ())
        if b"\\*" not in permanent and DONE not in permanent:
            raise MailboxError(f"邮箱文件夹“{imap.folder}”不允许自定义标记 {DONE.decode()}，"
                               "无法记录哪些邮件已处理")
        self.can_idle = client.has_capability("IDLE")
        self.can_move = client.has_capability("MOVE")

    def pending(self) -> list[int]:
        """UIDs of the messages not yet done, in a random rotation (pollers would meet on every one)."""
        uids = list(self.client.search(["UNDELETED", "NOT", "KEYWORD", DONE.decode()]))
        if len(uids) > 1:
            start = random.randrange(len(uids))
            uids = uids[start:] + uids[:start]
        return uids

    def take(self, session: Session, store: Spool, config: MailConfig, uid: int) -> Outcome | None:
        """Keep, deliver and mark done one message; None when it is gone (another poller moved it)."""
        fetched = self.client.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE"]).get(uid)
        if not fetched or b"BODY[]" not in fetched:
            return None
        raw = bytes(fetched[b"BODY[]"])
        name = raw_name(self.imap.folder, self.uidvalidity, uid)
        store.keep(raw, Path(FOLDER) / name)
        key = source_key(self.imap.folder, self.uidvalidity, uid)
        outcome = deliver(session, raw, source=SOURCE, source_key=key, settings=config,
                          raw_path=f"{FOLDER}/{name}", received_at=_utc(fetched.get(b"INTERNALDATE")))
        self.finish([uid])
        return outcome

    def finish(self, uids: list[int]) -> None:
        """Mark recorded messages done on the server: flagged, and moved if a done folder is set."""
        self.client.add_flags(uids, [DONE, SEEN], silent=True)
        if not self.imap.done_folder:
            return
        if self.can_move:
            self.client.move(uids, self.imap.done_folder)
            return
        # RFC 6851 is missing: copy, then delete (expunging only these if UIDPLUS allows).
        self.client.copy(uids, self.imap.done_folder)
        self.client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge(uids)

    def leftovers(self) -> list[int]:
        """Messages flagged done but not moved (killed in between): move them now."""
        if not self.imap.done_folder:
            return []
        return list(self.client.search(["UNDELETED", "KEYWORD", DONE.decode()]))

    def wait(self, stop: threading.Event) -> None:
        """Until the mailbox changes, ``stop`` is set, or it is time to look again."""
        if not self.can_idle:
            stop.wait(self.imap.poll_seconds)
            return
        log.debug("imap poller: idle in %s", self.imap.folder)
        self.client.idle()
        try:
            renew = time.monotonic() + IDLE_RENEW
            while not stop.is_set() and time.monotonic() < renew:
                responses = self.client.idle_check(timeout=IDLE_TICK)
                if any(response[:1] == (b"BYE",) for response in responses):
                    raise IMAPClientAbortError("the server closed the connection")
                # EXISTS, EXPUNGE, FETCH: something changed. (A bare "OK Still
                # here" is the server keeping the connection alive.)
                if any(isinstance(response[0], int) for response in responses):
                    return
        finally:
            self.client.idle_done()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()
        _drop(self.client)


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """INTERNALDATE in UTC; None (the pipeline then uses the time of processing) if the server gave none.

    >>> _utc(datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8))))
    datetime.datetime(2026, 11, 20, 1, 30, tzinfo=datetime.timezone.utc)
    """
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(datetime.UTC)
