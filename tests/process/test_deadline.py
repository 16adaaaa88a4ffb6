"""The deadline as users meet it, in real processes: a cron `fetch` against a server that
trickles ends by its deadline plus a few seconds, and `tracker schedule` stopped by SIGTERM
(systemctl stop) while a fetch trickles exits within seconds, not at systemd's SIGKILL."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest
from support.builders import base_catalog, body
from support.cli import TrackerProcess, run_process
from support.db import rows
from support.faults import Fault, FaultServer

GOOD = body(base_catalog())
SLACK = 5  # no fetch runs past its deadline by more than this, whatever the server does


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("headers_too", [False, True], ids=["body trickles", "headers trickle"])
def test_a_cron_fetch_ends_by_its_deadline(tracker_process: TrackerProcess, faults: FaultServer,
                                           database_url: str, stop: threading.Event,
                                           headers_too: bool) -> None:
    faults.script(Fault.trickle(GOOD, 1.0, stop, headers_too=headers_too))
    env = {**tracker_process.env, "AURIKO_BASE_URL": faults.base_url}
    # subprocess.TimeoutExpired fails the test if the process outlives deadline + SLACK.
    result = run_process(["fetch", "--timeout", "5", "--retries", "3", "--deadline", "3"],
                         env=env, cwd=tracker_process.cwd, timeout=3 + SLACK)
    assert result.returncode == 3, result.stderr
    assert "within the 3 s deadline (--deadline)" in result.stderr
    assert [r.outcome for r in rows(database_url, "SELECT outcome FROM observations")] == [
        "failed"]


@pytest.mark.slow
def test_sigterm_ends_a_schedule_whose_fetch_trickles_within_seconds(
    tracker_process: TrackerProcess, faults: FaultServer, database_url: str,
    stop: threading.Event
) -> None:
    faults.script(Fault.trickle(GOOD, 2.0, stop))
    tracker = TrackerProcess({**tracker_process.env, "AURIKO_BASE_URL": faults.base_url},
                             tracker_process.cwd)
    proc = tracker.start("schedule", "--every", "1h")  # the default deadline: 120 s
    try:
        while faults.requests == 0:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # the fetch is now waiting on the trickle
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)  # a few seconds, not 120
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping" in err and "stopped: the process is stopping" in err
    assert "schedule stopped after 1 run" in err
    observations = rows(database_url, "SELECT outcome, error FROM observations")
    assert [o.outcome for o in observations] == ["failed"]
    assert "stopped: the process is stopping" in observations[0].error
