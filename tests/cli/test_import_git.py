"""`tracker import-git`: backfilling from a real git-scraping repository built in tmp_path."""

from __future__ import annotations

import copy
import gc
import json
from pathlib import Path
from typing import Any

from support.builders import base_catalog, model, provider
from support.cli import Tracker
from support.git import git, scrape_repo

from tracker.config import SourceConfig
from tracker.gitimport import import_git, iter_blobs, list_commits
from tracker.pipeline import Pipeline
from tracker.store.db import open_database


def series() -> list[dict[str, Any]]:
    v1 = base_catalog("v1")
    v2 = copy.deepcopy(v1)
    v2["catalog_version"] = "v2"
    v2["data"][0]["providers"][0]["input_price"] = 2.0
    v3 = copy.deepcopy(v2)
    v3["catalog_version"] = "v3"
    v3["data"].append(model("new-model", provider("p", 1, 2)))
    return [v1, v2, v2, v3]


def test_every_version_is_imported_at_its_commit_time(tracker: Tracker, tmp_path: Path) -> None:
    repo = scrape_repo(tmp_path / "scrape", [*series(), b"<html>oops</html>"])
    result = tracker.json("import-git", str(repo), "models.json")
    # The third commit left models.json as it was: git lists 4 versions of the file.
    assert result == {"commits": 4, "imported": 3, "skipped": 0, "rejected": 1, "held": 0,
                      "outcomes": {"new": 3}}
    snaps = tracker.json("snapshots")
    assert [s["catalog_version"] for s in snaps] == ["v1", "v2", "v3"]
    assert [s["first_observed_at"] for s in snaps] == [
        "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "2026-11-01T03:00:00Z"]
    diff = tracker.json("diff", "v1", "v3")
    assert [c["kind"] for c in diff["changes"]] == ["model_added", "price_changed"]
    # A date reference means the state as that day ends; a time, the state then.
    assert tracker.json("diff", "2026-11-01T01:30Z", "2026-11-01")["from"]["catalog_version"] \
        == "v2"


def test_a_rerun_continues_where_the_last_one_stopped(tracker: Tracker, tmp_path: Path) -> None:
    versions = series()
    repo = scrape_repo(tmp_path / "scrape", versions[:2])
    assert tracker.json("import-git", str(repo), "models.json")["imported"] == 2
    again = tracker.json("import-git", str(repo), "models.json")
    assert (again["imported"], again["skipped"]) == (0, 2)
    for hour, payload in enumerate(versions[2:], start=2):
        (repo / "models.json").write_text(json.dumps(payload))
        git(repo, "commit", "-qam", "more", when=f"2026-11-01T{hour:02d}:00:00Z")
    more = tracker.json("import-git", str(repo), "models.json")
    assert (more["imported"], more["skipped"]) == (2, 2)
    assert [s["catalog_version"] for s in tracker.json("snapshots")] == ["v1", "v2", "v3"]


def test_a_single_older_version_is_refused_clearly(tracker: Tracker, tmp_path: Path) -> None:
    repo = scrape_repo(tmp_path / "scrape", series()[:2])
    tracker("import-git", str(repo), "models.json")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(base_catalog("v0")))
    result = tracker("ingest", str(old), "--observed-at", "2026-10-31", check=2)
    assert "ingest versions oldest first" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_commit_dated_before_the_one_before_stops_the_import_and_a_rerun_goes_past_it(
        tracker: Tracker, tmp_path: Path) -> None:
    # Commit dates can go backwards (a rebase, a committer's clock). The import refuses the
    # misdated version and stops; the versions before it are kept, and the next run skips it.
    v1, v2, _, v3 = series()
    v4 = copy.deepcopy(v3)
    v4["catalog_version"] = "v4"
    v4["data"][0]["providers"][0]["input_price"] = 3.0
    repo = scrape_repo(tmp_path / "scrape", [v1, v2])
    for payload, when in ((v3, "2026-11-01T00:30:00Z"), (v4, "2026-11-01T05:00:00Z")):
        (repo / "models.json").write_text(json.dumps(payload))
        git(repo, "commit", "-qam", "scrape", when=when)
    stopped = tracker("import-git", str(repo), "models.json", check=2)
    assert "ingest versions oldest first" in stopped.stderr
    assert [s["catalog_version"] for s in tracker.json("snapshots")] == ["v1", "v2"]
    again = tracker.json("import-git", str(repo), "models.json")
    assert (again["imported"], again["skipped"]) == (1, 3)
    assert [s["catalog_version"] for s in tracker.json("snapshots")] == ["v1", "v2", "v4"]


def test_a_backfill_with_changelogs_writes_one_per_transition(
        tracker: Tracker, tmp_path: Path) -> None:
    # The versions share transactions; a transition that owes a changelog commits before
    # the changelog is written, and none is left owed.
    repo = scrape_repo(tmp_path / "scrape", series())
    result = tracker.json("import-git", str(repo), "models.json", "--changelogs")
    assert (result["imported"], result["outcomes"]) == (3, {"new": 3})
    written = sorted((tmp_path / "reports").glob("changelog-*.md"))
    assert [path.name.rsplit("-", 1)[-1] for path in written] == ["v2.md", "v3.md"]
    assert "new-model" in written[1].read_text()
    (auriko,) = [s for s in tracker.json("status")["sources"] if s["source"] == "auriko"]
    assert auriko["changelogs_pending"] == []


def test_not_a_repository_is_a_usage_error(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = tracker("import-git", str(tmp_path / "plain"), "models.json", check=2)
    assert result.stderr.startswith("tracker: error: git failed")


def test_reading_the_versions_can_stop_at_any_one(tmp_path: Path) -> None:
    # An import that fails midway stops reading: git is told to stop, and nothing waits.
    repo = scrape_repo(tmp_path / "scrape", series())
    commits = list_commits(repo, "models.json", "HEAD")
    assert [json.loads(body or b"")["catalog_version"]
            for _, body in iter_blobs(repo, "models.json", commits)] == ["v1", "v2", "v3"]
    blobs = iter_blobs(repo, "models.json", commits)
    first = next(blobs)
    assert first[0] == commits[0] and json.loads(first[1] or b"")["catalog_version"] == "v1"
    blobs.close()
    # A version the file does not exist in reads as None, the others still come.
    missing = [commits[0], type(commits[0])("0" * 40, commits[0].committed_at), commits[-1]]
    assert [body is None for _, body in iter_blobs(repo, "models.json", missing)] == [
        False, True, False]


def test_an_import_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    # The import pauses collections and freezes the heap it starts with; a host that froze
    # its own heap (a pre-forking server) finds it frozen still, and nothing else.
    repo = scrape_repo(tmp_path / "scrape", series())
    pipeline = Pipeline(open_database("sqlite://"), SourceConfig("auriko"))
    assert import_git(pipeline, repo, "models.json").imported == 3
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        again = Pipeline(open_database("sqlite://"), SourceConfig("auriko"))
        assert import_git(again, repo, "models.json").imported == 3
        # Still frozen (less what the import freed of it), and nothing of the import's.
        assert gc.isenabled() and 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
