"""`tracker export ... | head`: a reader that stops early ends the export quietly (exit 0,
nothing on stderr), as a real process in a real pipe."""

from __future__ import annotations

import pytest
from support.builders import catalog, model, provider
from support.cli import Tracker, TrackerProcess
from support.histories import T1, ingest

pytestmark = pytest.mark.slow


def test_export_into_a_pipe_closed_early(tracker: Tracker,
                                         tracker_process: TrackerProcess) -> None:
    # 3,000 offers: about 700 kB of JSON Lines, far more than a pipe holds.
    models = [model(f"model-{i:04d}", provider("alpha", 1.5, 2), provider("beta", 3, 4),
                    provider("gamma", 0.25, 1)) for i in range(1000)]
    ingest(tracker, catalog(*models), T1)
    process = tracker_process.start("export", "offers")
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    assert first.startswith('{"source":"auriko","model":"model-0000"')
    process.stdout.close()  # what `head -1` does once it has its line
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == ""
