"""The processes of the whole-system run: its own PostgreSQL and Redis, gunicorn, the mail worker.

``bench/system.py`` restarts PostgreSQL and stops Redis on purpose, so it
never touches a server someone else uses: it makes a throwaway cluster
(``initdb`` into a temporary folder, its own port and socket folder) and a
Redis with no persistence on a free port. As root, PostgreSQL's programs run
as the ``postgres`` user (they refuse to run as root), through ``runuser``.

Every long-running process is started in a session of its own, so that its
whole group (gunicorn's master and workers) is stopped however the run ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psycopg
from system_cpu import process_cpu

REPO = Path(__file__).resolve().parent.parent
XUEJI = str(Path(sys.executable).parent / "xueji")
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"  # helper "deploy"'s, used when present
WSGI_MODULE = REPO / "hotline" / "wsgi.py"  # helper "ops"'s, used when present


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's program ``name`` (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return found[-1]
    if path := shutil.which(name):
        return path
    raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql package")


class Process:
    """A child in its own session, its output in a log file; stopped with its whole group."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name, self.argv, self.log_path = name, list(argv), log
        self.env, self.cwd = env, cwd
        self.popen: subprocess.Popen | None = None
        self.banked = 0.0  # CPU seconds of earlier runs of this process (killed and started again)

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu(self) -> float:
        """CPU seconds of this process and its children, over every run of it."""
        return self.banked + (process_cpu(self.popen.pid) if self.alive() else 0.0)

    def kill9(self) -> None:
        """SIGKILL the process itself (not its group): a crash, not a shutdown."""
        assert self.popen is not None
        self.banked = self.cpu()
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, grace: float = 10.0) -> None:
        if self.popen is None:
            return
        self.banked = self.cpu()
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_until(ready: Callable[[], bool], seconds: float, what: str, process: Process | None = None) -> float:
    """Poll ``ready`` every 50 ms; the seconds it took. A dead process or the deadline raise."""
    start = time.monotonic()
    while not ready():
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited while waiting for {what}:\n{process.tail()}")
        if time.monotonic() - start > seconds:
            raise RuntimeError(f"{what}: not ready after {seconds:.0f} s"
                               + (f"\n{process.tail()}" if process else ""))
        time.sleep(0.05)
    return time.monotonic() - start


class PostgresCluster:
    """A throwaway PostgreSQL cluster in ``folder``, restartable at will."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.log = folder / "postgresql.log"
        self.banked = 0.0  # CPU seconds of the cluster's earlier runs (before a restart)
        # PostgreSQL refuses to run as root; its files must belong to the user it runs as.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=timeout,
                              cwd=self.folder, check=False)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}\n{log}")

    def create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")

    def cpu(self) -> float:
        """CPU seconds of the postmaster and its backends (ended ones too), over every run."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return self.banked
        return self.banked + process_cpu(pid)

    def stop(self, mode: str = "fast") -> None:
        self.banked = self.cpu()
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"warning: could not stop the throwaway PostgreSQL: {exc}", file=sys.stderr)


class RedisServer:
    """A Redis on a free port that keeps nothing on disk, stopped and started at will."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: Process | None = None

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = self.process or Process("redis", argv, self.folder / "redis.log")
        self.process.start()
        wait_until(lambda: self.keys() is not None, 15, "redis-server", self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def cpu(self) -> float:
        return self.process.cpu() if self.process is not None else 0.0

    def keys(self) -> int | None:
        """DBSIZE, or None when Redis does not answer."""
        import redis

        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
            try:
                return int(client.dbsize())
            finally:
                client.close()
        except redis.RedisError:
            return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def gunicorn_argv(port: int, workers: int) -> tuple[list[str], str]:
    """gunicorn's command line, with deploy/gunicorn.conf.py and hotline/wsgi.py when they exist
    (the command line's bind and worker count win over the file's); and what was used."""
    argv = [sys.executable, "-m", "gunicorn"]
    used = []
    if GUNICORN_CONF.exists():
        argv += ["-c", str(GUNICORN_CONF)]
        used.append("deploy/gunicorn.conf.py")
    argv += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    if WSGI_MODULE.exists():
        argv.append("hotline.wsgi:app")
        used.append("hotline.wsgi:app")
    else:
        argv += ["--log-level", "warning", "hotline.app:create_app()"]
        used.append("hotline.app:create_app()")
    return argv, ", ".join(used)


def xueji(env: Mapping[str, str], *args: str, timeout: float = 600) -> str:
    """Run one ``xueji`` command to completion; its output, or an error with it."""
    done = subprocess.run([XUEJI, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)
    if done.returncode:
        raise RuntimeError(f"xueji {' '.join(args[:3])} failed ({done.returncode}):\n"
                           f"{done.stdout}{done.stderr}")
    return done.stdout
