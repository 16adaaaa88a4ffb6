"""Every command and every option of the `tracker` command line is in the docs (README.md and
docs/**/*.md), as sqlite-utils' tests/test_docs.py checks its own."""

from __future__ import annotations

import functools
import re

import click
import pytest
from support.paths import CHECKOUT

from tracker.cli import cli


@functools.cache
def docs() -> str:
    pages = [CHECKOUT / "README.md", *sorted((CHECKOUT / "docs").rglob("*.md"))]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command and subcommand, by its path after `tracker` ("" for tracker itself)."""
    found: list[tuple[str, click.Command]] = [(prefix, group)] if not prefix else []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(commands(command, path))
    return found


def options() -> list[tuple[str, tuple[str, ...]]]:
    """(command path, long names) for every option but --help. A flag pair such as
    `--changelogs/--no-changelogs` is one option: either of its names documents it."""
    found = []
    for path, command in commands():
        for param in command.params:
            names = tuple(name for name in (*param.opts, *param.secondary_opts)
                          if name.startswith("--"))
            if isinstance(param, click.Option) and names and names != ("--help",):
                found.append((path, names))
    return found


def mentioned(name: str) -> bool:
    return re.search(rf"{re.escape(name)}(?![\w-])", docs()) is not None


@pytest.mark.parametrize("path", [path for path, _ in commands() if path])
def test_every_command_is_documented(path: str) -> None:
    assert re.search(rf"`tracker {re.escape(path)}\b", docs()), (
        f"`tracker {path}` is in no doc page")


@pytest.mark.parametrize(("path", "names"), options(),
                         ids=[f"{path or 'tracker'} {names[0]}" for path, names in options()])
def test_every_option_is_documented(path: str, names: tuple[str, ...]) -> None:
    assert any(mentioned(name) for name in names), (
        f"{' / '.join(names)} of `{('tracker ' + path).strip()}` is in no doc page")
