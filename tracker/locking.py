"""One run at a time per source and database, across processes and machines.

A run (fetch, store, notify) holds the run lock of its source from start to end:

- on PostgreSQL, a session-level advisory lock on a connection of its own, keyed by the
  schema and the source name, so it serializes runs on every machine that uses the database
  and disappears with the session if the process dies;
- on SQLite, an exclusive `flock` on a lock file next to the database
  (`tracker.db-run-auriko.lock`), which serializes the processes of one host (a SQLite
  database is not shared across hosts).

A second run waits for the lock up to `timeout` seconds (polling), then raises
`LockBusyError` (exit 5). The pipeline's own per-transaction lock (and SQLite's
`BEGIN IMMEDIATE`) still guard each write; this lock makes the whole run exclusive, so two
runs never fetch and compare against the same state at once.

>>> import tempfile
>>> from tracker.store.db import open_database
>>> engine = open_database(f"sqlite:///{tempfile.mkdtemp()}/tracker.db")
>>> with run_lock(engine, "auriko", timeout=60):  # fetch, store, notify in here
...     with run_lock(engine, "auriko", timeout=0.1):
...         pass
Traceback (most recent call last):
tracker.errors.LockBusyError: another run of source 'auriko' is in progress (lock file ...
"""

from __future__ import annotations

import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from tracker.errors import LockBusyError, StorageError
from tracker.store import reads, writes

log = logging.getLogger(__name__)

# The two-integer advisory-lock key space (class, object) is separate from the one-bigint key
# space the pipeline's transaction locks use, so the two can never collide or deadlock.
_PG_LOCK_CLASS = zlib.crc32(b"catalog-tracker:run") - 2**31
_POLL_SECONDS = 0.2


@contextmanager
def run_lock(engine: Engine, source: str, *, timeout: float,
             cancel: threading.Event | None = None) -> Iterator[None]:
    """Hold the run lock of `source` in the database of `engine` for the block. Waiting for
    it ends after `timeout` seconds, or as soon as `cancel` is set (a scheduler stopping)."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with _postgresql_lock(engine, source, timeout, cancel):
            yield
    elif dialect == "sqlite" and (path := sqlite_lock_path(engine, source)) is not None:
        with _file_lock(path, source, timeout, cancel):
            yield
    else:
        # An in-memory SQLite database lives in one process; nothing to share.
        yield


def sqlite_lock_path(engine: Engine, source: str) -> Path | None:
    """The lock file of `source` next to a SQLite database file; None for in-memory ones."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    from tracker.publish import slug

    name = slug(source, fallback="source")
    if name != source:  # keep distinct names distinct once made safe for a file name
        name = f"{name}-{zlib.crc32(source.encode()):08x}"
    path = Path(database).expanduser()
    return path.with_name(f"{path.name}-run-{name}.lock")


def _busy(source: str, timeout: float, where: str) -> LockBusyError:
    return LockBusyError(
        f"another run of source {source!r} is in progress ({where}); gave up after waiting "
        f"{timeout:g} s (raise --lock-timeout to wait longer)"
    )


def _acquire(try_once: Callable[[], bool], source: str, timeout: float, where: str,
             cancel: threading.Event | None) -> None:
    """Poll `try_once` until it succeeds, the timeout runs out, or `cancel` is set."""
    if try_once():
        return
    log.info("source %s: waiting up to %g s for another run to finish (%s)", source, timeout,
             where)
    deadline = time.monotonic() + timeout
    pause = cancel or threading.Event()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _busy(source, timeout, where)
        # A little randomness keeps many waiters from polling in lockstep.
        if pause.wait(min(remaining, _POLL_SECONDS * random.uniform(0.5, 1.5))):
            raise LockBusyError(f"stopped while waiting for another run of source {source!r} "
                                "to finish")
        if try_once():
            return


@contextmanager
def _file_lock(path: Path, source: str, timeout: float,
               cancel: threading.Event | None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), mode=0o600)

    def try_once() -> bool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=0)
        except Timeout:
            return False
        except OSError as exc:  # a read-only or full file system: a fault of the storage
            raise StorageError(f"cannot create the run lock file {path}: "
                               f"{exc.strerror or exc}") from None
        return True

    _acquire(try_once, source, timeout, f"lock file {path}", cancel)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _postgresql_lock(engine: Engine, source: str, timeout: float,
                     cancel: threading.Event | None) -> Iterator[None]:
    # A connection of its own, in autocommit mode: the lock belongs to the session, and the
    # session never sits idle inside a transaction while the run goes on.
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    held = False
    try:
        schema = reads.current_schema(conn)
        key = zlib.crc32(f"{schema}:{source}".encode()) - 2**31
        _acquire(lambda: writes.try_advisory_lock(conn, _PG_LOCK_CLASS, key), source, timeout,
                 "PostgreSQL advisory lock", cancel)
        held = True
        try:
            yield
        finally:
            released = writes.advisory_unlock(conn, _PG_LOCK_CLASS, key)
            held = False
            if not released:
                log.warning("source %s: the run lock was lost during the run (the database "
                            "session ended?)", source)
    finally:
        if held:
            # Never hand a connection that may still hold the lock back to the pool.
            conn.invalidate()
        conn.close()

