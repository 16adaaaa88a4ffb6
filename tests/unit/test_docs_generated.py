"""The generated parts of the docs are what the code makes today: the `--help` blocks of
docs/commands.md, the column tables of docs/schema.md, the change kinds and the README's
sample changelog. `python docs/generate.py --check` is this test; `python docs/generate.py`
rewrites them."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from support.cli import run_process, user_env
from support.paths import CHECKOUT


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    """docs/generate.py, imported as a module (it lives outside the package)."""
    spec = importlib.util.spec_from_file_location("docs_generate",
                                                  CHECKOUT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A copy of the checkout's pages, to break on purpose."""
    for page in ["README.md", "CHANGELOG.md"]:
        shutil.copy(CHECKOUT / page, tmp_path / page)
    (tmp_path / "docs").mkdir()
    for page in (CHECKOUT / "docs").glob("*.md"):
        shutil.copy(page, tmp_path / "docs" / page.name)
    return tmp_path


def test_the_docs_are_generated_from_the_current_code(generate: ModuleType) -> None:
    drift = generate.check()
    assert not drift, f"{drift}\n\nthe docs are out of date: run python docs/generate.py"


@pytest.mark.slow
def test_a_help_block_shows_what_the_command_prints(tmp_path: Path) -> None:
    """On an 80-column terminal, `tracker fetch --help` prints the block docs/commands.md
    shows, word for word. (A process of its own: click's test runner wraps at 80 columns
    where a terminal of 80 wraps at 78.)"""
    printed = run_process(["fetch", "--help"], env=user_env(tmp_path, COLUMNS="80"),
                          cwd=tmp_path)
    assert printed.returncode == 0
    page = (CHECKOUT / "docs" / "commands.md").read_text(encoding="utf-8")
    block = page.split("<!-- generated: help fetch -->\n", 1)[1].split("<!-- /generated -->")[0]
    assert block == f"```text\n{printed.stdout.rstrip()}\n```\n"
    assert "--accept-shrink" in block


def test_a_stale_region_is_found_and_rewritten(generate: ModuleType, docs_copy: Path) -> None:
    generate.run(docs_copy, write=True)
    commands = docs_copy / "docs" / "commands.md"
    current = commands.read_text(encoding="utf-8")
    stale = current.replace("--no-notify                     Send no notifications.",
                            "--quiet-please                  An option that is gone.", 1)
    assert stale != current
    commands.write_text(stale, encoding="utf-8")

    drift = generate.check(docs_copy)
    assert "docs/commands.md (generated)" in drift
    assert "-  --quiet-please" in drift and "+  --no-notify" in drift

    generate.run(docs_copy, write=True)
    assert commands.read_text(encoding="utf-8") == current
    assert "(generated)" not in generate.check(docs_copy)


def test_a_command_without_a_help_block_is_reported(generate: ModuleType,
                                                    docs_copy: Path) -> None:
    commands = docs_copy / "docs" / "commands.md"
    text = commands.read_text(encoding="utf-8")
    start = text.index("<!-- generated: help snapshots -->")
    end = text.index("<!-- /generated -->", start) + len("<!-- /generated -->")
    commands.write_text(text[:start] + text[end:], encoding="utf-8")

    assert "docs/commands.md has no --help of `tracker snapshots`" in generate.check(docs_copy)


def test_an_undescribed_column_and_an_unknown_region_are_reported(generate: ModuleType,
                                                                  docs_copy: Path) -> None:
    schema = docs_copy / "docs" / "schema.md"
    text = schema.read_text(encoding="utf-8")
    prose = text[: text.index("| `raw_size` |")]  # the text above the snapshots table
    assert len(re.findall(r"`raw_size`,\s", prose)) == 1
    undescribed = re.sub(r"`raw_size`,\s", "", prose, count=1) + text[len(prose):]
    schema.write_text(undescribed
                      + "\n<!-- generated: schema no_such_table -->\n<!-- /generated -->\n",
                      encoding="utf-8")

    drift = generate.check(docs_copy)
    assert "table `snapshots`: say what `raw_size` hold(s)" in drift
    assert "there is no table `no_such_table`" in drift


def test_an_exit_code_without_a_row_is_reported(generate: ModuleType, docs_copy: Path) -> None:
    commands = docs_copy / "docs" / "commands.md"
    text = commands.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `5` | `ExitCode."))
    commands.write_text(text.replace(row + "\n", "", 1), encoding="utf-8")

    assert "no row `| `5` | `ExitCode.LOCK_BUSY` |" in generate.check(docs_copy)
