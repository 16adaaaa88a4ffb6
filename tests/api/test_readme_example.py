"""The README's Python example runs as written and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_api_example_prints_what_it_shows(tmp_path: Path, monkeypatch) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- api-example -->(.*?)<!-- /api-example -->", text, re.S)
    assert block, "the README lost its API example"
    code, shown = re.findall(r"```(?:python|text)\n(.*?)```", block.group(1), re.S)
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert printed.getvalue() == shown
