"""Holding a source's run lock from this process, as a long run elsewhere would."""

from __future__ import annotations

import threading
from collections.abc import Callable


class LockHolder:
    """`hold(source)` returns once the run lock of `source` is held (by a thread of this
    process), and gives back a function that releases it; `close` releases them all."""

    def __init__(self, database_url: str) -> None:
        from tracker.store.db import open_database

        self.engine = open_database(database_url)
        self._releases: list[threading.Event] = []
        self._threads: list[threading.Thread] = []

    def hold(self, source: str) -> Callable[[], None]:
        from tracker.locking import run_lock

        taken, release = threading.Event(), threading.Event()

        def body() -> None:
            with run_lock(self.engine, source, timeout=5):
                taken.set()
                release.wait(60)

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        self._releases.append(release)
        self._threads.append(thread)
        assert taken.wait(10)
        return release.set

    def close(self) -> None:
        for release in self._releases:
            release.set()
        for thread in self._threads:
            thread.join(30)
        self.engine.dispose()
