"""The API key never shows: not when it holds a control character, not in repr() form, and
not when a server echoes it back JSON-escaped (`\\/` for `/`, as PHP writes it, or `\\u0061`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_catalog
from support.cli import TEST_KEY, Tracker
from support.db import rows
from support.server import CatalogServer

# --- a key with white space or a control character is refused, and not shown ---

BAD_KEYS = {
    "newline at the end": ("env", "ak_live_5ecretZq9\n"),
    "tab inside": ("env", "ak_live_5ecret\tZq9"),
    "zero-width space": ("env", "ak_live_5ecret\u200bZq9"),
    "two lines in a key file": ("file", "ak_live_5ecretZq9\nsecond line\n"),
    "a space inside a key file": ("file", "  ak_live_5ecret Zq9  \n"),
    "escape character": ("env", "ak_live_5ecret\x1bZq9"),
}


@pytest.mark.parametrize(("where", "key"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_key_with_white_space_or_control_characters_is_refused_unshown(
    tracker: Tracker, server: CatalogServer, tmp_path: Path, where: str, key: str
) -> None:
    server.serve(base_catalog())
    if where == "file":
        key_file = tmp_path / "key"
        key_file.write_text(key)
        env = {"AURIKO_API_KEY": "", "AURIKO_API_KEY_FILE": str(key_file)}
    else:
        env = {"AURIKO_API_KEY": key}
    for args in (("fetch",), ("-v", "fetch"), ("--log-format", "json", "-vv", "fetch")):
        result = tracker(*args, extra_env=env, check=2)
        lines = [line for line in result.stderr.splitlines() if "tracker: error:" in line]
        assert len(lines) == 1 and "API key" in lines[0] and "is not shown" in lines[0], \
            result.stderr
        for part in ("5ecret", "Zq9", "second line"):
            assert part not in result.stderr + result.stdout
    assert server.requests == []  # refused before anything was sent


def test_a_key_file_is_stripped_at_both_ends(tracker: Tracker, server: CatalogServer,
                                              tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"\n  {TEST_KEY}  \r\n\n")
    server.serve(base_catalog())
    tracker("fetch", extra_env={"AURIKO_API_KEY": "", "AURIKO_API_KEY_FILE": str(key_file)})
    assert server.requests[0].headers["Authorization"] == f"Bearer {TEST_KEY}"


# --- a server that echoes the key JSON-escaped: no decoded string holds it ---

SLASH_KEY = "ak_test/5ecret/echoed_0123"  # a key with a `/`, which PHP writes `\/`


def echoing(escaped_key: str) -> bytes:
    """v2 of the base catalog, with the key echoed (as `escaped_key`, inside JSON strings) at
    the top level, in a model's unknown field and in a new model's owner."""
    catalog = base_catalog("v2")
    catalog["debug"] = {"authorization": "Bearer @KEY@"}
    catalog["data"][0]["note"] = "your key is @KEY@."
    catalog["data"].append({**catalog["data"][2], "id": "echo", "owned_by": "@KEY@"})
    return json.dumps(catalog).replace("@KEY@", escaped_key).encode()


def everything_stored(database_url: str) -> str:
    """Every row of every table, and every snapshot's raw body, as text."""
    from sqlalchemy import create_engine, inspect

    from tracker.store import reads

    text: list[str] = []
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                text += [repr(r) for r in rows(database_url, f"SELECT * FROM {table}")]
            ids = [r.id for r in rows(database_url, "SELECT id FROM snapshots")]
            text += [reads.raw_body(conn, i).decode() for i in ids]
    finally:
        engine.dispose()
    return "\n".join(text)


ESCAPES = {
    "slash escaped": SLASH_KEY.replace("/", "\\/"),
    "first letter \\u-escaped": "\\u0061" + SLASH_KEY[1:],
    "every letter \\u-escaped": "".join(f"\\u{ord(c):04X}" for c in SLASH_KEY),
    "mixed": "ak_test\\/5ecr\\u0065t/echoed_0123",
}


@pytest.mark.parametrize("escaped", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_key_echoed_json_escaped_reaches_no_record_or_report(
    tracker: Tracker, server: CatalogServer, database_url: str, tmp_path: Path, escaped: str
) -> None:
    env = {"AURIKO_API_KEY": SLASH_KEY}
    server.serve(base_catalog("v1"), echoing(escaped))
    tracker("fetch", extra_env=env)
    run: dict[str, Any] = json.loads(tracker("fetch", "--format", "json", extra_env=env).stdout)
    assert run["outcome"] == "new" and "5ecret" not in json.dumps(run)
    assert {c["model"] for c in run["changes"]} >= {"echo", "gpt-4o"}  # stored, redacted

    outputs = [everything_stored(database_url),
               tracker("diff", "--format", "json").stdout,
               tracker("diff", "--format", "md").stdout,
               tracker("report", "--since", "30d", "--format", "json").stdout,
               tracker("feed").stdout,
               tracker("history", "echo", "--format", "json").stdout,
               *(p.read_text() for p in (tmp_path / "reports").rglob("*") if p.is_file())]
    for output in outputs:
        assert "5ecret" not in output and "5ecr\\u0065t" not in output
    assert "***" in tracker("diff", "--format", "json").stdout
