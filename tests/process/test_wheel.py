"""The wheel a user installs holds everything the tool reads at run time: every template,
every migration and every demo catalog, inside the tracker package (no top-level `reports` or
`migrations` package lands in site-packages)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.paths import CHECKOUT

pytestmark = pytest.mark.slow  # pip builds the wheel in a process of its own

# Left by earlier builds and tools: never part of what is built.
NOT_SOURCES = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                     ".*_cache", ".hypothesis", "reports-out")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a clean copy of the checkout (a stale build/ could hide a file
    the package data no longer names)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "catalog-tracker"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=NOT_SOURCES)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(work / "dist"), str(source)], check=True, capture_output=True,
                   timeout=600)
    (built,) = (work / "dist").glob("catalog_tracker-*.whl")
    return zipfile.ZipFile(built)


def names_in(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def expected(folder: str, pattern: str) -> set[str]:
    """Files of the checkout's `folder` matching `pattern`, as they sit in the wheel."""
    found = {path.relative_to(CHECKOUT / folder).as_posix()
             for path in (CHECKOUT / folder).glob(pattern) if path.is_file()}
    assert found, f"nothing matches {folder}/{pattern} in the checkout"
    return found


def test_every_template_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    templates = {f"tracker/reports/{name}" for name in expected("reports", "templates/*")}
    assert templates <= names_in(wheel), sorted(templates - names_in(wheel))


def test_every_migration_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    migrations = {f"tracker/migrations/{name}" for name in
                  expected("migrations", "versions/*.py") | {"env.py", "script.py.mako"}}
    assert migrations <= names_in(wheel), sorted(migrations - names_in(wheel))


def test_every_demo_catalog_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    catalogs = {f"tracker/demo_data/{name}" for name in expected("tracker/demo_data", "*.json")
                | expected("tracker/demo_data", "*.csv")}  # and the sample usage file
    assert catalogs <= names_in(wheel), sorted(catalogs - names_in(wheel))


def test_nothing_lands_outside_the_tracker_package(wheel: zipfile.ZipFile) -> None:
    top = {Path(name).parts[0] for name in names_in(wheel)}
    assert "reports" not in top and "migrations" not in top
    assert {t for t in top if not t.endswith(".dist-info")} == {"tracker"}
    for listing in (n for n in names_in(wheel) if n.endswith(".dist-info/top_level.txt")):
        assert wheel.read(listing).decode().split() == ["tracker"]
