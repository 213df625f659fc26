"""One crawl per archive at a time: an exclusive ``flock`` on ``<archive>.lock``.

The kernel drops the lock when the holder exits, however it exits (SIGKILL and power loss
included), so a stale lock file never blocks the next run; the file itself stays in place
(deleting lock files races). ``archiver crawl`` takes the lock before it starts Scrapy; the
store pipeline takes it too (a no-op when this process already holds it), so a run started by
``scrapy crawl`` or by scrapyd is refused in the same way. A refused run does not touch the
archive.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from archiver.clock import utc_now

EXIT_LOCKED = 75          # EX_TEMPFAIL (sysexits.h): "try again later"


class ArchiveLocked(RuntimeError):
    """Another crawl holds the archive's lock."""

    def __init__(self, lock_path: Path, holder: dict):
        self.lock_path = lock_path
        self.holder = holder
        who = ", ".join(f"{k} {v}" for k, v in holder.items() if v) or "unknown process"
        super().__init__(f"another crawl is writing this archive ({who}); lock {lock_path} is held")


def lock_path_for(db_path: str | Path) -> Path:
    p = Path(db_path)
    return p.with_name(p.name + ".lock")


class ArchiveLock:
    def __init__(self, db_path: str | Path):
        self.path = lock_path_for(db_path)
        self.fd: int | None = None
        self.users = 0
        self.borrowed = False          # held by the parent process (adopt): never unlocked here

    def acquire(self) -> "ArchiveLock":
        if self.fd is not None:
            self.users += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ArchiveLocked(self.path, holder) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd
        self.users = 1
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        self.users -= 1
        if self.users > 0:
            return
        fd, self.fd = self.fd, None
        try:
            if not self.borrowed:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        _HELD.pop(_key(self.path), None)


def _read_holder(fd: int) -> dict:
    try:
        data = os.pread(fd, 4096, 0)
        return json.loads(data.decode()) if data.strip() else {}
    except (OSError, ValueError):
        return {}


_HELD: dict[str, ArchiveLock] = {}


def _key(path: Path) -> str:
    return os.path.realpath(path)


def acquire(db_path: str | Path) -> ArchiveLock:
    """Take the archive's lock (re-entrant within this process); raises :class:`ArchiveLocked`."""
    path = lock_path_for(db_path)
    lock = _HELD.get(_key(path))
    if lock is None:
        lock = ArchiveLock(db_path)
    lock.acquire()
    _HELD[_key(path)] = lock
    return lock


def adopt(db_path: str | Path, fd: int) -> ArchiveLock:
    """Use the lock a parent process holds and handed down as the open file ``fd`` (a distributed
    crawl's coordinator to its writer, archiver/distributed/). The flock belongs to the open file,
    so the lock stays held if either process dies; this process never unlocks it."""
    path = lock_path_for(db_path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)      # ours already: succeeds at once
    except OSError as e:
        raise ArchiveLocked(path, _read_holder(fd)) from e
    if os.path.realpath(f"/proc/self/fd/{fd}") != os.path.realpath(path) and os.path.exists("/proc/self/fd"):
        raise ArchiveLocked(path, {"note": f"file descriptor {fd} is not this archive's lock"})
    lock = ArchiveLock(db_path)
    lock.fd, lock.users, lock.borrowed = fd, 1, True
    _HELD[_key(path)] = lock
    return lock
