"""The ledger's local spool: call records a database could not take, kept on disk until it can, delivered once.

One file per process (JSON lines, fsynced before the call is told its record is safe), held under an
exclusive flock while the process lives; a file whose process died is unlocked, and any process writing to
the same database delivers it. Delivery re-inserts by record id, which the database ignores when it already
has the row: a crash between the insert and the file's removal delivers nothing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Spool", "spool_dir"]


def spool_dir() -> Path:
    """$FAREBOX_SPOOL, else $XDG_DATA_HOME/farebox/spool (~/.local/share when unset)."""
    env = os.environ.get("FAREBOX_SPOOL")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "farebox" / "spool"


class Spool:
    """Rows waiting for the database named by `target` (its files are named by a hash of it, never the URL)."""

    def __init__(self, target: str, directory: Path | None = None) -> None:
        self.dir = directory or spool_dir()
        self.stem = hashlib.sha256(target.encode()).hexdigest()[:16]
        self.path = self.dir / f"{self.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._fd: int | None = None
        self.rows = 0  # rows in this process's own file

    def _own(self) -> int:
        if self._fd is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # ours while we live: nobody else delivers it meanwhile
            self._fd = fd
        return self._fd

    def append(self, rows: list[tuple[Any, ...]]) -> None:
        """Write rows and fsync: when this returns, the records survive a crash of this process."""
        fd = self._own()
        data = "".join(json.dumps(list(row), separators=(",", ":")) + "\n" for row in rows).encode()
        os.write(fd, data)
        os.fsync(fd)
        self.rows += len(rows)

    def pending(self) -> bool:
        """Rows of ours, or a dead process's file, waiting."""
        return self.rows > 0 or any(p != self.path for p in self._files())

    def size(self) -> tuple[int, int]:
        """(files, bytes) waiting for this database, ours included."""
        files = [p for p in self._files() if p.stat().st_size or p == self.path]
        return len([p for p in files if p.stat().st_size]), sum(p.stat().st_size for p in files)

    def _files(self) -> list[Path]:
        try:
            return sorted(self.dir.glob(f"{self.stem}-*.jsonl"))
        except OSError:
            return []

    @contextlib.contextmanager
    def batches(self) -> Iterator[list[tuple[Path, list[tuple[Any, ...]]]]]:
        """Every deliverable file's rows; on a clean exit, the files are emptied (ours) or removed (orphans)."""
        taken: list[tuple[Path, int | None, list[tuple[Any, ...]]]] = []
        try:
            for path in self._files():
                if path == self.path:
                    if self.rows:
                        taken.append((path, None, _read(path)))
                    continue
                try:
                    fd = os.open(path, os.O_RDWR)
                except FileNotFoundError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # a live process's own spool
                    os.close(fd)
                    continue
                taken.append((path, fd, _read(path)))
            yield [(path, rows) for path, _, rows in taken]
            for path, fd, _ in taken:
                if fd is None:
                    os.ftruncate(self._own(), 0)
                    self.rows = 0
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        finally:
            for _, fd, _ in taken:
                if fd is not None:
                    os.close(fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if not self.rows:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()


def _read(path: Path) -> list[tuple[Any, ...]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(tuple(json.loads(line)))
            except json.JSONDecodeError:  # a line cut by a crash mid-write: that call was never told it was safe
                continue
    return rows
