"""A server that answers slowly cannot hold a run: `--deadline` (default 120 s) bounds each
fetch, every attempt and retry wait included, by the wall clock.

The read timeout restarts with every byte, so a server that trickles its headers or its body
a byte at a time (well within `--timeout`) used to hang `fetch` forever, holding the source's
run lock so that every later run exited 5. Now the run ends at its deadline as a `failed`
observation, exits 3, and the lock is free again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from support.builders import base_catalog, body
from support.cli import Result, Tracker
from support.db import rows
from support.faults import Fault, FaultServer

GOOD = body(base_catalog())
DEADLINE = 1  # seconds: what every test here gives --deadline (its least value)
SLACK = 5  # a fetch may run this much past its deadline, whatever the server does


def trickled_body(stop: threading.Event) -> Fault:
    """Headers at once, then the body at one byte every 2 s."""
    return Fault.trickle(GOOD, 2.0, stop)


def trickled_headers(stop: threading.Event) -> Fault:
    """The status line and headers themselves, one byte every 0.5 s."""
    return Fault.trickle(GOOD, 0.5, stop, headers_too=True)


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # the server's trickling threads end with the test


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def run(tracker: Tracker, faults: FaultServer) -> Tracker:
    return Tracker({**tracker.env, "AURIKO_BASE_URL": faults.base_url}, tracker.cwd)


def within(seconds: float, call: Callable[[], Result]) -> Result:
    """`call()` in a thread; fail when it is still running after `seconds` (a hang)."""
    outcome: list[Result | BaseException] = []

    def work() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # re-raised in the test's own thread
            outcome.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running {seconds} s later: the deadline did not hold"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


@pytest.mark.parametrize("fault", [trickled_body, trickled_headers],
                         ids=["body a byte every 2 s", "headers a byte at a time"])
def test_a_trickling_server_fails_the_run_at_its_deadline(
    run: Tracker, faults: FaultServer, database_url: str, stop: threading.Event,
    fault: Callable[[threading.Event], Fault]
) -> None:
    faults.script(fault(stop))
    result = within(DEADLINE + SLACK, lambda: run(
        "fetch", "--timeout", "5", "--retries", "2", "--deadline", str(DEADLINE), check=3))
    assert result.stderr.strip().splitlines() == [
        f"tracker: error: no complete answer from {faults.base_url.removesuffix('/v1')} "
        f"within the {DEADLINE} s deadline (--deadline)"]
    assert faults.requests == 1  # the deadline covers the retries too: none started
    observations = rows(database_url, "SELECT outcome, http_status, error FROM observations")
    assert [(o.outcome, o.http_status) for o in observations] == [("failed", None)]
    assert "deadline" in observations[0].error
    # The lock is free again: the next run goes ahead (not exit 5) and stores the catalog.
    faults.script(Fault.ok(GOOD))
    assert "first snapshot v1 stored" in run("fetch", "--lock-timeout", "0").stdout


def test_the_run_lock_is_released_in_the_same_process(
    faults: FaultServer, database_url: str, stop: threading.Event
) -> None:
    """A scheduler keeps running after a run passed its deadline: the lock must be free."""
    from tracker import RemoteError, Tracker
    from tracker.locking import run_lock

    faults.script(trickled_body(stop))
    env = {"AURIKO_API_KEY": "ak_test_deadline", "AURIKO_BASE_URL": faults.base_url}
    with Tracker.open(database_url, environ=env) as t:
        started = time.monotonic()
        with pytest.raises(RemoteError, match=f"within the {DEADLINE} s deadline"):
            t.fetch(deadline=DEADLINE, retries=0)
        assert time.monotonic() - started < DEADLINE + SLACK
        with run_lock(t.engine, "auriko", timeout=0):  # LockBusyError if still held
            pass


def test_a_retry_that_would_start_after_the_deadline_is_not_waited_for(
    run: Tracker, faults: FaultServer, database_url: str
) -> None:
    faults.script(Fault.retry_after_seconds("60"))
    result = within(SLACK, lambda: run("fetch", "--deadline", "30", check=3))
    assert "HTTP 429" in result.stderr and "the next would start after the deadline" in \
        result.stderr
    assert faults.requests == 1
    assert [r.outcome for r in rows(database_url, "SELECT outcome FROM observations")] == [
        "failed"]


def test_deadline_must_be_at_least_a_second(run: Tracker) -> None:
    result = run("fetch", "--deadline", "0", check=2)
    assert "Invalid value for '--deadline': 0.0 is not in the range x>=1." in result.stderr
