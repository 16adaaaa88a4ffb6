"""Check an import against a from-scratch parse of every version.

`tracker import-git` takes fast paths: a model whose JSON text did not change is reused from
the previous parse, one whose providers were merely reordered is recognized without being
validated again, catalogs come back from the interval rows, and the rows are written in
batches. This script parses every committed version on its own, with none of that, and checks
that the database says exactly the same:

- every observation's content hash is the hash of its version parsed from scratch;
- every snapshot, rebuilt from the interval rows, equals its version parsed from scratch;
- every transition's stored change records equal the diff of the two versions parsed from
  scratch (the same records, in the same order).

    python bench/verify.py REPO models.json sqlite:////tmp/bench.db [postgresql+psycopg://...]

It prints a JSON summary and exits 1 when anything differs (the first differences are listed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import orjson

MAX_SHOWN = 10


def _normalized(records: list[dict[str, Any]]) -> list[Any]:
    """Change records as the JSON a user reads (what the database stores and returns)."""
    return [orjson.loads(orjson.dumps(r, option=orjson.OPT_SORT_KEYS)) for r in records]


def scratch_parses(repo: Path, file: str) -> tuple[dict[str, Any], float]:
    """Every version parsed on its own, by commit sha; and the CPU seconds the parses took."""
    from tracker.catalog import parse_catalog
    from tracker.gitimport import iter_blobs, list_commits

    parsed: dict[str, Any] = {}
    cpu = 0.0
    for commit, body in iter_blobs(repo, file, list_commits(repo, file)):
        if body is None:
            continue
        started = time.process_time()
        try:
            parsed[commit.sha] = parse_catalog(body)  # no `previous`: nothing reused
        except Exception as exc:  # a rejected version is checked as rejected below
            parsed[commit.sha] = exc
        cpu += time.process_time() - started
    return parsed, cpu


def verify(database_url: str, parsed: dict[str, Any], source: str = "auriko") -> dict[str, Any]:
    """Compare one database with the scratch parses; the counts checked and the differences."""
    from tracker.diff import diff_catalogs
    from tracker.gitimport import ORIGIN_PREFIX
    from tracker.store import reads
    from tracker.store.db import open_database

    engine = open_database(database_url, upgrade=False)
    problems: list[str] = []
    checked = {"observations": 0, "snapshots": 0, "transitions": 0, "changes": 0}
    try:
        with engine.connect() as conn:
            source_id = reads.source_id(conn, source)
            if source_id is None:
                return {"checked": checked, "problems": [f"no source {source!r}"]}
            snapshots = {s.id: s for s in reads.list_snapshots(conn, source_id)}
            state_of: dict[int, Any] = {}  # snapshot id -> the scratch catalog that made it
            for row in reversed(reads.observations_for(conn, source_id)):
                sha = (row.origin or "").removeprefix(ORIGIN_PREFIX)
                catalog = parsed.get(sha)
                if catalog is None or isinstance(catalog, Exception):
                    if row.snapshot_id is not None:
                        problems.append(f"observation {row.id}: stored a state for {sha[:12]}, "
                                        "which does not parse")
                    continue
                checked["observations"] += 1
                if row.content_hash != catalog.content_hash:
                    problems.append(f"observation {row.id} ({sha[:12]}): content hash "
                                    f"{row.content_hash} != {catalog.content_hash} from scratch")
                if row.snapshot_id is None:
                    continue
                if row.snapshot_id not in state_of and row.outcome == "new":
                    state_of[row.snapshot_id] = catalog
                    checked["snapshots"] += 1
                    stored = reads.load_catalog(conn, source_id, snapshots[row.snapshot_id])
                    if stored != catalog:
                        problems.append(f"snapshot {row.snapshot_id} ({sha[:12]}): the interval "
                                        "rows do not rebuild the version parsed from scratch")
                if row.previous_snapshot_id is None or row.outcome == "unchanged":
                    continue
                checked["transitions"] += 1
                before = state_of.get(row.previous_snapshot_id)
                after = state_of.get(row.snapshot_id)
                if before is None or after is None:
                    problems.append(f"observation {row.id}: a transition between snapshots "
                                    "not seen being created")
                    continue
                expected = _normalized(diff_catalogs(before, after))
                stored_records = _normalized(
                    [c.record for c in reads.changes_of(conn, [row.id])])
                checked["changes"] += len(expected)
                if stored_records != expected:
                    pairs = enumerate(zip(stored_records, expected, strict=False))
                    first = next((i for i, (a, b) in pairs if a != b),
                                 min(len(stored_records), len(expected)))
                    shown = [r[first] if first < len(r) else None
                             for r in (stored_records, expected)]
                    problems.append(
                        f"observation {row.id} ({sha[:12]}): {len(stored_records)} stored "
                        f"change records differ from the {len(expected)} of a scratch diff; "
                        f"the first, #{first}: stored {shown[0]}, from scratch {shown[1]}")
    finally:
        engine.dispose()
    return {"checked": checked, "problems": problems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check an import-git against a from-scratch parse of every version.",
        epilog="Example: python bench/verify.py /tmp/series models.json sqlite:////tmp/b.db",
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("file")
    parser.add_argument("database_urls", nargs="+", metavar="DATABASE_URL")
    parser.add_argument("--source", default="auriko")
    args = parser.parse_args(argv)
    parsed, cpu = scratch_parses(args.repo, args.file)
    result: dict[str, Any] = {"versions": len(parsed), "scratch_parse_cpu_s": round(cpu, 3),
                              "databases": {}}
    failed = False
    for url in args.database_urls:
        found = verify(url, parsed, args.source)
        failed = failed or bool(found["problems"])
        found["problem_count"] = len(found["problems"])
        found["problems"] = found["problems"][:MAX_SHOWN]
        result["databases"][url.split(":", 1)[0]] = found
    result["ok"] = not failed
    print(json.dumps(result, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
