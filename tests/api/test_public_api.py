"""The public API: `tracker.__all__` is what docs/api.md documents, every name imports, and every
docstring example in the package runs (no example is skipped)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import tracker

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"


def documented_names() -> set[str]:
    """The names in the first column of docs/api.md's tables: | `Name` | ... |."""
    return set(re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", API_DOC.read_text(), re.M))


def test_all_matches_the_documented_names() -> None:
    assert sorted(tracker.__all__) == sorted(set(tracker.__all__)), "duplicates in __all__"
    assert set(tracker.__all__) == documented_names()


@pytest.mark.parametrize("name", sorted(tracker.__all__))
def test_every_public_name_imports_and_is_documented(name: str) -> None:
    value = getattr(tracker, name)
    if name != "__version__":
        assert (getattr(value, "__doc__", None) or "").strip(), f"{name} has no docstring"


def test_public_methods_have_examples_or_docs() -> None:
    from tracker import Tracker

    public = [n for n in vars(Tracker) if not n.startswith("_")]
    for name in public:
        doc = getattr(Tracker, name).__doc__ or ""
        assert doc.strip(), f"Tracker.{name} has no docstring"


def _modules() -> list[str]:
    names = ["tracker"]
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if ".migrations" in info.name or info.name == "tracker.__main__":
            continue  # Alembic scripts run inside Alembic's context; __main__ runs the CLI
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples_run(module_name: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that ingest write changelogs to ./reports-out
    monkeypatch.setenv("HOME", str(tmp_path))
    module = importlib.import_module(module_name)
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    assert "+SKIP" not in source, f"{module_name} skips a docstring example"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    assert result.failed == 0
