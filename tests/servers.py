"""Real servers for tests: Redis and PostgreSQL on free loopback ports, data in temp dirs, always cleaned up.

Pure stdlib (pytest only for the skip/fail rule). Each server is a context manager::

    with RedisServer() as r:            # r.url == "redis://127.0.0.1:PORT/0"
        ...
        r.restart()                     # same port, same data dir
        r.kill()                        # SIGKILL the whole process group (a crash); r.start() recovers

Leaving the ``with`` block (normally or by an exception) kills what is left and removes the temp dir; an
``atexit`` hook does the same for servers never closed, and on Linux every server gets PR_SET_PDEATHSIG, so
it dies with the test process even when that process is killed (for servers started from the main thread).

When the tests run as root (CI here), PostgreSQL runs as an unprivileged system user (``farebox-pg``, made
with ``useradd --system`` if missing, else ``nobody``): initdb and postgres refuse to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import pytest

PG_USER = "farebox-pg"  # the OS user PostgreSQL runs as when the tests run as root
PG_SUPERUSER = "postgres"  # the database superuser initdb makes (trust auth: no password)
_PG_ROOT = "/usr/lib/postgresql"
_live: set[_Server] = set()


def in_ci() -> bool:
    """True when env CI is set to anything but an explicit no (CI=true on this project's CI)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str, hint: str) -> None:
    """Skip the test for want of a tool, except in CI, where a skipped test is a failed one."""
    message = f"{what} not found: {hint}"
    if in_ci():
        pytest.fail(f"{message} (CI is set: a test that skips in CI is not a test)", pytrace=False)
    pytest.skip(message)


def _version_key(path: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/16/bin -> (16,); "9.6" -> (9, 6); non-numeric dirs sort last
    name = Path(path).parent.name
    return tuple(int(p) for p in re.findall(r"\d+", name)) or (-1,)


def postgres_bindirs() -> list[str]:
    """The versioned PostgreSQL bin dirs under /usr/lib/postgresql, highest version first."""
    dirs = [d for d in glob.glob(os.path.join(_PG_ROOT, "*", "bin")) if os.path.isdir(d)]
    return sorted(dirs, key=_version_key, reverse=True)


def find_binary(name: str, package: str | None = None) -> str | None:
    """An executable `name` on PATH, else under /usr/lib/postgresql/*/bin (highest version first), else None.

    `package` is the Debian package that provides it, for messages (see `require_binary`).
    """
    found = shutil.which(name)
    if found:
        return found  # not realpath: /usr/bin/redis-server is a symlink to redis-check-rdb, which reads argv[0]
    for bindir in postgres_bindirs():
        candidate = os.path.join(bindir, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_binary(name: str, package: str) -> str:
    """`find_binary`, or skip (fail in CI) with the apt-get line that brings it."""
    path = find_binary(name, package)
    if path is None:
        missing(name, f"apt-get install {package}")
    assert path is not None
    return path


def chromium_path() -> str:
    """The system Chromium (Debian's `chromium`), or skip (fail in CI)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    missing("chromium", "apt-get install chromium")
    raise AssertionError("unreachable")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeathsig() -> Any:
    """A preexec_fn that makes the child get SIGKILL when the test process dies (Linux), else None."""
    name = ctypes.util.find_library("c")
    if not name or not hasattr(os, "getpid"):
        return None
    try:
        prctl = ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return preexec


_PDEATHSIG = _pdeathsig()


def _preexec() -> Any:
    # The parent-death signal fires when the forking *thread* ends, not the process: a server started from a
    # worker thread (asyncio.to_thread) would die with that thread. So only from the main thread.
    return _PDEATHSIG if threading.current_thread() is threading.main_thread() else None


def descendants(pid: int) -> list[int]:
    """Every live process under `pid` (children, grandchildren, ...), read from /proc (Linux; else [])."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))  # fields[1] is the ppid
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not os.path.isdir("/proc")


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


class ServerError(RuntimeError):
    """A server did not start or become ready; the message carries the tail of its log."""


class _Server:
    """Process bookkeeping shared by both servers: start, readiness, stop, kill, cleanup."""

    name = "server"
    start_timeout = 30.0

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = tempfile.mkdtemp(prefix=f"farebox-{self.name}-")
        self.log_path = os.path.join(self.base, f"{self.name}.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None  # how long the last start took, up to ready
        self._closed = False
        _live.add(self)

    # -- to override -------------------------------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _popen_kwargs(self) -> dict[str, Any]:
        return {}

    def _ready(self) -> bool:
        raise NotImplementedError

    def _graceful_signal(self) -> int:
        return signal.SIGTERM

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        """Start (or start again, after stop/kill) on the same port and data dir; wait until ready."""
        if self._closed:
            raise ServerError(f"{self.name} on port {self.port} was closed")
        if self.alive():
            return self
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_preexec(), **self._popen_kwargs())
        deadline = began + self.start_timeout
        try:
            while not self._ready():
                if self.proc.poll() is not None:
                    raise ServerError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise ServerError(f"{self.name} not ready after {self.start_timeout}s:\n{self.log_tail()}")
                time.sleep(0.02)
        except BaseException:
            self.kill()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """A clean shutdown (data kept); SIGKILL for the whole group if it takes longer than `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self._graceful_signal())
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL the server and every process under it (a crash: the data dir is kept, `start()` recovers).

        PostgreSQL's children call setsid(), so the leader's process group is not enough: the tree is
        read from /proc first and each process is killed by pid.
        """
        if self.proc is None or self.proc.poll() is not None:
            return  # never started, or already reaped: its pid may belong to someone else by now
        pids = [self.proc.pid, *descendants(self.proc.pid)]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # start_new_session: the group id is the leader's pid
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        _wait_gone(pids[1:])

    def restart(self) -> Self:
        """Stop cleanly, then start again on the same port with the same data dir."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Kill what is left and remove the temp dir. Idempotent."""
        if self._closed:
            return
        try:
            self.kill()
        finally:
            self._closed = True
            shutil.rmtree(self.base, ignore_errors=True)
            _live.discard(self)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------------
    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def _tcp(self, payload: bytes, timeout: float = 1.0) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(payload)
            return s.recv(4096)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self.alive() else "stopped")
        return f"<{type(self).__name__} {getattr(self, 'url', '')} {state} pid={self.pid} dir={self.base}>"


class RedisServer(_Server):
    """redis-server on 127.0.0.1:PORT, no persistence, working dir in a temp dir."""

    name = "redis"

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        self.binary = binary or require_binary("redis-server", "redis-server")
        super().__init__(port)
        self.data_dir = os.path.join(self.base, "data")
        os.mkdir(self.data_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.data_dir,
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", "", "--databases", "16",
                "--set-proc-title", "no"]  # keep argv, so `pgrep -f DATA_DIR` finds it

    def _ready(self) -> bool:
        try:
            return self._tcp(b"*1\r\n$4\r\nPING\r\n").startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One raw RESP command over a fresh socket; the raw reply (no client library needed)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            data = a.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return self._tcp(b"".join(parts))

    def flushall(self) -> None:
        assert self.command("FLUSHALL").startswith(b"+OK")


class PostgresServer(_Server):
    """A fresh PostgreSQL cluster (initdb, trust auth) on 127.0.0.1:PORT, socket dir and data in a temp dir."""

    name = "postgres"
    start_timeout = 60.0

    def __init__(self, port: int | None = None, bindir: str | None = None, **settings: str) -> None:
        self.bindir = bindir or _pg_bindir()
        # fsync and full_page_writes guard against an OS crash or power loss only, never a test's: a killed
        # server (kill()) recovers every commit. synchronous_commit stays on: off would lose the last ~200 ms
        # of commits on kill(), and tests that crash the DB mid-run check exactly that.
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "full_page_writes": "off",
                         "shared_buffers": "32MB", "max_connections": "50",
                         "wal_level": "minimal", "max_wal_senders": "0", **settings}
        super().__init__(port)
        self.data_dir = os.path.join(self.base, "data")
        self.socket_dir = os.path.join(self.base, "sock")
        os.mkdir(self.socket_dir)
        self.settings["unix_socket_directories"] = self.socket_dir
        self.uid, self.gid = _pg_account()
        if os.geteuid() == 0:
            os.chmod(self.base, 0o755)
            for path in (self.base, self.socket_dir):
                os.chown(path, self.uid, self.gid)
        self.initdb_seconds = self._initdb()

    @property
    def user(self) -> str:
        return PG_SUPERUSER

    @property
    def dbname(self) -> str:
        return "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.dbname}"

    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"env": self._env()}
        if os.geteuid() == 0:
            kwargs.update(user=self.uid, group=self.gid, extra_groups=[])
        return kwargs

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if os.geteuid() == 0:
            env["HOME"] = self.base
            env["USER"] = env["LOGNAME"] = pwd.getpwuid(self.uid).pw_name
        env["LC_ALL"] = "C"
        return env

    def _initdb(self) -> float:
        began = time.monotonic()
        cmd = [os.path.join(self.bindir, "initdb"), "-D", self.data_dir, "-U", PG_SUPERUSER, "--auth=trust",
               "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        with open(self.log_path, "ab") as log:
            result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    preexec_fn=_preexec(), check=False, timeout=120, **self._popen_kwargs())
        if result.returncode != 0:
            log_tail = self.log_tail()
            self.close()
            raise ServerError(f"initdb failed ({result.returncode}):\n{log_tail}")
        return time.monotonic() - began

    def _command(self) -> list[str]:
        cmd = [os.path.join(self.bindir, "postgres"), "-D", self.data_dir, "-p", str(self.port)]
        for key, value in self.settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _graceful_signal(self) -> int:
        return signal.SIGINT  # "fast" shutdown: roll back open transactions, checkpoint, exit

    def _ready(self) -> bool:
        # pg_isready from the same bin dir: exit 0 only when the server accepts connections
        try:
            result = subprocess.run(
                [os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", PG_SUPERUSER, "-d", "postgres", "-t", "1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5,
                check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def psql(self, sql: str) -> str:
        """Run `sql` with the cluster's own psql (no driver needed); its unaligned, tuples-only output."""
        result = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_SUPERUSER, "-d", "postgres", "-c", sql],
            capture_output=True, text=True, timeout=60, check=False, env=self._env())
        if result.returncode != 0:
            raise ServerError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()


def _pg_bindir() -> str:
    """The bin dir of the PostgreSQL that initdb belongs to (so initdb, postgres, pg_isready match)."""
    initdb = os.path.realpath(require_binary("initdb", "postgresql"))  # /usr/local/bin/initdb links into 15/bin
    bindir = os.path.dirname(initdb)
    for tool in ("postgres", "pg_ctl", "pg_isready", "psql"):
        if not os.access(os.path.join(bindir, tool), os.X_OK):
            missing(f"{tool} beside {initdb}", "apt-get install postgresql")
    return bindir


def _pg_account() -> tuple[int, int]:
    """(uid, gid) to run PostgreSQL as: ourselves unless root; then farebox-pg (made if need be) or nobody."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    for attempt in range(2):
        try:
            entry = pwd.getpwnam(PG_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            if attempt == 0 and shutil.which("useradd"):
                subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                                "--shell", "/usr/sbin/nologin", PG_USER],
                               stdin=subprocess.DEVNULL, capture_output=True, check=False)
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@atexit.register
def _close_all() -> None:
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.close()
