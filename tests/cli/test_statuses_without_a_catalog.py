"""Answers that carry no catalog are remote failures with their status stored: a 3xx without a
usable Location (a 304 nobody asked for, a 300, a redirect to itself) and a 204. One request,
exit 3, `HTTP 304 from ...`; never "too many redirects" after repeating the request, never a
rejected payload (exit 4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.builders import base_catalog, body
from support.cli import Tracker
from support.db import count, rows
from support.faults import Fault, FaultServer


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def run(tracker: Tracker, faults: FaultServer) -> Tracker:
    return Tracker({**tracker.env, "AURIKO_BASE_URL": faults.base_url}, tracker.cwd)


CASES = {
    "304 without a conditional request": (Fault.status(304, b""), 304, "HTTP 304 from"),
    "300 multiple choices": (Fault.status(300, b"<ul><li>a</li></ul>"), 300, "HTTP 300 from"),
    "302 with an empty Location": (Fault.status(302, b"", {"Location": ""}), 302,
                                   "HTTP 302 from"),
    "301 to itself": (Fault.status(301, b"", {"Location": "/v1/models"}), 301,
                      "HTTP 301 from"),
    "204 no content": (Fault.status(204, b""), 204, "HTTP 204 from"),
}


@pytest.mark.parametrize(("reply", "status", "words"), CASES.values(), ids=CASES.keys())
def test_an_answer_without_a_catalog_is_a_remote_failure_with_its_status(
    run: Tracker, faults: FaultServer, database_url: str, reply: Fault, status: int, words: str
) -> None:
    faults.script(reply)
    result = run("fetch", check=3)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"tracker: error: {words} {faults.base_url.removesuffix('/v1')}")
    assert "redirects" not in line
    assert faults.requests == 1  # not retried, not followed round and round
    assert count(database_url, "snapshots") == 0
    observations = rows(database_url, "SELECT outcome, http_status, error FROM observations")
    assert [(o.outcome, o.http_status) for o in observations] == [("failed", status)]
    assert words in observations[0].error


def test_a_redirect_loop_stops_with_the_status_stored(
    run: Tracker, faults: FaultServer, database_url: str
) -> None:
    faults.script(*[Fault.redirect("/v1/a"), Fault.redirect("/v1/models")] * 3)  # a, models...
    result = run("fetch", check=3)
    assert "HTTP 302 from" in result.stderr and "more than 5 redirects" in result.stderr
    assert faults.requests == 6
    assert [o.http_status for o in rows(database_url, "SELECT http_status FROM observations")] \
        == [302]


def test_a_same_origin_redirect_with_a_location_is_still_followed(
    run: Tracker, faults: FaultServer
) -> None:
    faults.script(Fault.redirect("/v1/models/"), Fault.ok(body(base_catalog())))
    assert "first snapshot v1 stored" in run("fetch").stdout
