"""The run lock on both backends: a lock file next to a SQLite database, and a wait that a
stopping scheduler cuts short.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest


def test_the_sqlite_lock_file_sits_next_to_the_database(tmp_path: Any) -> None:
    from tracker.locking import sqlite_lock_path
    from tracker.store.db import create_db_engine

    engine = create_db_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert sqlite_lock_path(engine, "auriko") == tmp_path / "tracker.db-run-auriko.lock"
    odd = sqlite_lock_path(engine, "a/b c")
    assert odd is not None and odd.parent == tmp_path and "/" not in odd.name[len("tracker"):]
    assert sqlite_lock_path(create_db_engine("sqlite://"), "auriko") is None


def test_a_stopping_scheduler_stops_waiting_for_the_lock(
    database_url: str, hold_lock: Any
) -> None:
    from tracker.errors import LockBusyError
    from tracker.locking import run_lock
    from tracker.store.db import open_database

    hold_lock("auriko")
    engine = open_database(database_url)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(LockBusyError, match="stopped while waiting"), \
            run_lock(engine, "auriko", timeout=30, cancel=cancel):
        pass
    assert time.monotonic() - began < 5
    engine.dispose()
