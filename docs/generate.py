"""Rewrite the generated regions of the docs from the code, or check that they are current.

    python docs/generate.py           # rewrite every region of README.md, CHANGELOG.md, docs/*.md
    python docs/generate.py --check   # change nothing; exit 1 and show what is out of date

A region is a pair of markers with the generated text between them, on lines of their own
(or both inside one line, for a word in a sentence):

    <!-- generated: help fetch -->
    ...
    <!-- /generated -->

What goes between the markers, by the words after `generated:`:

- `help [COMMAND ...]`: the output of `tracker COMMAND --help` on an 80-column terminal
  (`help` alone: `tracker --help`). Every command needs one, in docs/commands.md.
- `schema TABLE`: the columns of TABLE (tracker/store/schema.py) with their types on SQLite
  and PostgreSQL, then its unique constraints and indexes. Every table needs one, in
  docs/schema.md, under a heading that names each of its columns in backquotes.
  `schema VIEW`: a view's description and columns, with what each holds (the comments of
  tracker/store/schema.py's VIEWS). Every view needs one, in docs/schema.md.
- `schema-revision`: the newest schema revision (tracker/store/db.py's HEAD_REVISION).
- `changelog-sample`: `tracker diff --format md` for the demo's first two catalogs, observed
  at the dates their versions carry.
- `change-kinds`: every change kind, in the order records are sorted
  (tracker/vocabulary.py's ChangeKind).

Beyond the regions, the check wants a row for every `tracker.ExitCode` in the exit-code table
of docs/commands.md.

The test suite runs `check()` (tests/unit/test_docs_generated.py): the docs cannot drift from
the code without a failing test.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # a checkout that is not installed imports the same way
    sys.path.insert(0, str(ROOT))

# click's formatter wraps at the terminal width minus 2: 78 is what an 80-column terminal shows.
HELP_WIDTH = 78

# A marker quoted in inline code (`<!-- generated: ... -->`, `<!-- /generated -->`) is prose.
REGION = re.compile(
    r"(?P<open>(?<!`)<!-- generated: (?P<spec>[^>]*?) -->\n?)(?P<body>.*?)"
    r"(?P<close><!-- /generated -->(?!`))", re.S)
UNCLOSED = re.compile(r"(?<!`)<!-- generated: (?P<spec>[^>]*?) -->")


def pages(root: Path = ROOT) -> list[Path]:
    """Every page that may hold generated regions."""
    found = [root / "README.md", root / "CHANGELOG.md", *sorted((root / "docs").glob("*.md"))]
    return [page for page in found if page.exists()]


# --- what the regions hold ---


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of `tracker`, as the words after `tracker` (() for the
    group itself)."""
    import click

    from tracker.cli import cli

    def walk(group: click.Group, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield prefix
        for name in sorted(group.commands):
            command = group.commands[name]
            if isinstance(command, click.Group):
                yield from walk(command, (*prefix, name))
            else:
                yield (*prefix, name)

    return list(walk(cli, ()))


def help_text(path: tuple[str, ...]) -> str:
    """`tracker PATH --help`, as an 80-column terminal shows it."""
    import click

    from tracker.cli import cli

    command: click.Command = cli
    context = click.Context(cli, info_name="tracker", terminal_width=HELP_WIDTH,
                            **cli.context_settings)
    for name in path:
        if not isinstance(command, click.Group) or name not in command.commands:
            raise LookupError(f"`tracker {' '.join(path)}` is not a command")
        command = command.commands[name]
        context = click.Context(command, info_name=name, parent=context,
                                **command.context_settings)
    return "```text\n" + command.get_help(context).rstrip() + "\n```\n"


def _dialects() -> tuple[Any, Any]:
    """SQLite's and PostgreSQL's dialects, to spell column types as each backend does."""
    from sqlalchemy.dialects.postgresql.base import PGDialect
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    return SQLiteDialect(), PGDialect()  # type: ignore[no-untyped-call]


def _type_name(column: Any, dialect: Any) -> str:
    return str(column.type.compile(dialect=dialect))


def _default(column: Any) -> str | None:
    default = column.server_default
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    if isinstance(arg, str):
        return arg
    text = getattr(arg, "text", None)
    if isinstance(text, str):
        return text
    return str(arg.compile(dialect=_dialects()[1])) if arg is not None else None


def views() -> dict[str, Any]:
    """The views the migrations create, as tracker/store/schema.py declares them."""
    from tracker.store import schema

    found: dict[str, Any] = getattr(schema, "VIEWS", {})
    return found


def schema_columns(table_name: str) -> list[str]:
    from tracker.store.schema import metadata

    if table_name not in metadata.tables:
        raise LookupError(f"there is no table `{table_name}` in tracker/store/schema.py")
    return [column.name for column in metadata.tables[table_name].columns]


def schema_view(view_name: str) -> str:
    """A view's description, then its columns on both backends and what each holds."""
    from sqlalchemy import Float

    sqlite, postgresql = _dialects()
    view = views()[view_name]
    lines = ["| column | SQLite | PostgreSQL | what it holds |", "| --- | --- | --- | --- |"]
    for column in view.columns:
        meaning = " ".join((column.comment or "").split()).replace("|", "\\|")
        if isinstance(column.type, Float):  # the views CAST prices to these
            types = ("REAL", "DOUBLE PRECISION")
        else:
            types = (_type_name(column, sqlite), _type_name(column, postgresql))
        lines.append(f"| `{column.name}` | `{types[0]}` | `{types[1]}` | {meaning} |")
    about = " ".join((view.comment or "").split())
    return "\n" + (f"{about}.\n\n" if about else "") + "\n".join(lines) + "\n\n"


def schema_table(table_name: str) -> str:
    """The columns of a table on both backends, then its constraints and indexes (a view:
    its columns and what each holds)."""
    from sqlalchemy import UniqueConstraint

    from tracker.store.schema import metadata

    if table_name not in metadata.tables and table_name in views():
        return schema_view(table_name)
    schema_columns(table_name)  # raises for an unknown table
    table = metadata.tables[table_name]
    sqlite, postgresql = _dialects()
    lines = ["| column | SQLite | PostgreSQL | null | key |", "| --- | --- | --- | --- | --- |"]
    for column in table.columns:
        keys = []
        if column.primary_key:
            keys.append("primary key")
        if column.unique:
            keys.append("unique")
        keys += [f"→ `{fk.target_fullname}`" for fk in sorted(
            column.foreign_keys, key=lambda fk: str(fk.target_fullname))]
        default = _default(column)
        if default is not None:
            keys.append(f"default `{default}`")
        sqlite_type = _type_name(column, sqlite)
        postgres_type = _type_name(column, postgresql)
        null = "yes" if column.nullable and not column.primary_key else "no"
        lines.append(f"| `{column.name}` | `{sqlite_type}` | `{postgres_type}` | {null} | "
                     f"{', '.join(keys)} |")
    notes = []
    uniques = sorted((c for c in table.constraints
                      if isinstance(c, UniqueConstraint) and len(c.columns) > 1),
                     key=lambda c: str(c.name))
    for unique in uniques:
        columns = ", ".join(f"`{c.name}`" for c in unique.columns)
        notes.append(f"- unique `{unique.name}` on ({columns})")
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        columns = ", ".join(f"`{c.name}`" for c in index.columns)
        notes.append(f"- index `{index.name}` on ({columns})")
    text = "\n" + "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text + "\n"


def schema_revision() -> str:
    from tracker.store.db import HEAD_REVISION

    return f"`{HEAD_REVISION}`"


def changelog_sample() -> str:
    """The changelog of the demo's second catalog against its first."""
    from tracker import Tracker
    from tracker.demo import demo_catalogs
    from tracker.reports import render

    first, second = demo_catalogs()[:2]
    with Tracker.open("sqlite://", environ={}) as t:
        t.ingest(first, observed_at="2026-11-01T09:00Z", write_changelogs=False)
        t.ingest(second, observed_at="2026-11-02T09:00Z", write_changelogs=False)
        diff = t.diff()
    return "```markdown\n" + render("changelog", "md", diff).rstrip() + "\n```\n"


def change_kinds() -> str:
    from tracker.vocabulary import ChangeKind

    return ", ".join(f"`{kind.value}`" for kind in ChangeKind)


def region_text(spec: str) -> str:
    """What the region `<!-- generated: SPEC -->` holds; LookupError for a SPEC that names
    nothing."""
    kind, *args = spec.split()
    makers: dict[str, Callable[[], str]] = {
        "help": lambda: help_text(tuple(args)),
        "schema": lambda: schema_table(_one(spec, args)),
        "schema-revision": lambda: _none(spec, args) or schema_revision(),
        "changelog-sample": lambda: _none(spec, args) or changelog_sample(),
        "change-kinds": lambda: _none(spec, args) or change_kinds(),
    }
    if kind not in makers:
        raise LookupError(f"unknown region kind {kind!r} (known: {', '.join(makers)})")
    return makers[kind]()


def _one(spec: str, args: list[str]) -> str:
    if len(args) != 1:
        raise LookupError(f"`{spec}` takes exactly one name")
    return args[0]


def _none(spec: str, args: list[str]) -> str:
    if args:
        raise LookupError(f"`{spec}` takes no arguments")
    return ""


# --- rewriting and checking ---


@dataclass
class Outcome:
    """What one pass over the pages found."""

    changed: dict[Path, tuple[str, str]]  # page -> (old text, new text)
    problems: list[str]  # regions that name nothing, missing regions, undescribed columns

    def report(self, root: Path = ROOT) -> str:
        lines = list(self.problems)
        for page, (old, new) in self.changed.items():
            name = str(page.relative_to(root)) if page.is_relative_to(root) else str(page)
            lines.extend(difflib.unified_diff(old.splitlines(), new.splitlines(),
                                              f"{name} (now)", f"{name} (generated)",
                                              lineterm="", n=1))
        return "\n".join(lines)


def rewrite(text: str, where: str, problems: list[str]) -> tuple[str, list[str]]:
    """The page with every region regenerated, and the specs it holds."""
    specs: list[str] = []

    def fill(match: re.Match[str]) -> str:
        spec = " ".join(match["spec"].split())
        specs.append(spec)
        try:
            body = region_text(spec)
        except LookupError as exc:
            problems.append(f"{where}: <!-- generated: {spec} -->: {exc}")
            return match.group(0)
        if not match["open"].endswith("\n"):  # a region inside a line: the text alone
            body = body.strip()
        return match["open"] + body + match["close"]

    new = REGION.sub(fill, text)
    closed = {m.start() for m in REGION.finditer(text)}
    for match in UNCLOSED.finditer(text):
        if match.start() not in closed:
            problems.append(f"{where}: <!-- generated: {match['spec']} --> has no "
                            "<!-- /generated --> after it")
    return new, specs


def _section_before(text: str, spec: str) -> str:
    """The text from the heading above a region to the region."""
    at = text.find(f"<!-- generated: {spec} -->")
    start = max(text.rfind("\n#", 0, at), 0)
    return text[start:at]


def run(root: Path = ROOT, *, write: bool) -> Outcome:
    """Regenerate every region of the pages under `root`; write them back when `write`."""
    outcome = Outcome({}, [])
    found: dict[str, list[Path]] = {}
    for page in pages(root):
        old = page.read_text(encoding="utf-8")
        new, specs = rewrite(old, str(page.relative_to(root)), outcome.problems)
        for spec in specs:
            found.setdefault(spec, []).append(page)
        if new != old:
            outcome.changed[page] = (old, new)
            if write:
                page.write_text(new, encoding="utf-8")

    commands_page, schema_page = root / "docs" / "commands.md", root / "docs" / "schema.md"
    for path in command_paths():
        spec = " ".join(("help", *path))
        if commands_page not in found.get(spec, []):
            outcome.problems.append(
                f"docs/commands.md has no --help of `{' '.join(('tracker', *path))}`: put "
                f"<!-- generated: {spec} --> and <!-- /generated --> where it belongs")
    from tracker.errors import ExitCode

    commands_text = commands_page.read_text(encoding="utf-8") if commands_page.exists() else ""
    for code in ExitCode:
        if not re.search(rf"^\| `{code.value}` \| `ExitCode\.{code.name}` \|", commands_text,
                         re.M):
            outcome.problems.append(
                f"docs/commands.md, Exit codes: no row `| `{code.value}` | "
                f"`ExitCode.{code.name}` | what it means |`")
    from tracker.store.schema import metadata

    schema_text = schema_page.read_text(encoding="utf-8") if schema_page.exists() else ""
    for view in views():
        spec = f"schema {view}"
        if schema_page not in found.get(spec, []):
            outcome.problems.append(
                f"docs/schema.md has no view `{view}`: put <!-- generated: {spec} --> and "
                "<!-- /generated --> under a heading of its own")
    for table in metadata.tables:
        spec = f"schema {table}"
        if schema_page not in found.get(spec, []):
            outcome.problems.append(
                f"docs/schema.md has no table `{table}`: put <!-- generated: {spec} --> and "
                "<!-- /generated --> under a heading of its own, with what its columns mean")
            continue
        section = _section_before(schema_text, spec)
        missing = [c for c in schema_columns(table) if f"`{c}`" not in section]
        if missing:
            outcome.problems.append(
                f"docs/schema.md, table `{table}`: say what "
                f"{', '.join(f'`{c}`' for c in missing)} hold(s), above its column table")
    return outcome


def check(root: Path = ROOT) -> str:
    """Empty when the docs are current; otherwise what is out of date, as text."""
    return run(root, write=False).report(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a region is out of date")
    args = parser.parse_args(argv)
    outcome = run(write=not args.check)
    if args.check and (outcome.changed or outcome.problems):
        print(outcome.report(), file=sys.stderr)
        print("\nthe docs are out of date: run python docs/generate.py", file=sys.stderr)
        return 1
    for page in outcome.changed:
        print(f"rewrote {page.relative_to(ROOT)}")
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
