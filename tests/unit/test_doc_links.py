"""Every link inside the docs leads somewhere: a relative link in README.md, CHANGELOG.md or
docs/*.md names a file that exists, and its #anchor a heading of that page (as GitHub makes
anchors of headings); a file of the checkout named in inline code exists too. The README is
the newcomer's page: it links every page of docs/, and stays under 10,000 bytes."""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from support.paths import CHECKOUT

README = CHECKOUT / "README.md"
DOCS = sorted((CHECKOUT / "docs").glob("*.md"))
PAGES = [README, CHECKOUT / "CHANGELOG.md", *DOCS]
README_BUDGET = 10_000  # bytes


def _tokens(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link and image of a Markdown text; code is not looked in."""
    found = []
    for block in _tokens(text):
        line = block.map[0] + 1 if block.map else 0
        for child in block.children or []:
            if child.type == "link_open":
                found.append((line, str(child.attrs.get("href", ""))))
            elif child.type == "image":
                found.append((line, str(child.attrs.get("src", ""))))
    return found


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped (but `-` and
    `_`), every space a hyphen."""
    kept = "".join(ch for ch in heading.lower() if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


@functools.cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors a page has: one per heading (a repeated heading gets -1, -2, ...), and
    any HTML id."""
    text = page.read_text(encoding="utf-8")
    tokens = _tokens(text)
    seen: dict[str, int] = {}
    found = set(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", text))
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        words = "".join(child.content if child.type in ("text", "code_inline") else
                        " " if child.type == "softbreak" else "" for child in inline.children or [])
        anchor = slug(words)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def broken_links(page: Path) -> list[str]:
    """What is wrong with the relative links of a page, one line each."""
    problems = []
    for line, target in links(page.read_text(encoding="utf-8")):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:|//", target):
            continue  # https:, mailto: and the like: not ours to check
        path, _, anchor = target.partition("#")
        linked = (page.parent / unquote(path)).resolve() if path else page
        name = page.relative_to(CHECKOUT) if page.is_relative_to(CHECKOUT) else page.name
        where = f"{name}:{line}: ({target})"
        if not linked.exists():
            problems.append(f"{where}: there is no {linked}")
        elif anchor and linked.suffix == ".md" and unquote(anchor) not in anchors(linked):
            problems.append(f"{where}: {linked.name} has no heading #{anchor}")
    return problems


# A path of the checkout, as the docs name files in inline code: `tracker/store/schema.py`.
REPO_PATH = re.compile(r"(?:tracker|reports|tests|bench|deploy|docs|migrations|\.ci)/[\w./-]*")


def named_paths(text: str) -> list[tuple[int, str]]:
    """(line, path) of every inline code span of a Markdown text that is a path of the
    checkout (placeholders such as `<name>` or `*` left out)."""
    found = []
    for block in _tokens(text):
        line = block.map[0] + 1 if block.map else 0
        for child in block.children or []:
            if child.type == "code_inline" and REPO_PATH.fullmatch(child.content):
                found.append((line, child.content))
    return found


CURRENT_PAGES = [README, *DOCS]  # CHANGELOG.md names files that were


@pytest.mark.parametrize("page", CURRENT_PAGES,
                         ids=[str(p.relative_to(CHECKOUT)) for p in CURRENT_PAGES])
def test_every_file_the_docs_name_exists(page: Path) -> None:
    """`tracker/site.py` in a page after the module moved is a stale page."""
    missing = [f"{page.relative_to(CHECKOUT)}:{line}: `{path}` does not exist"
               for line, path in named_paths(page.read_text(encoding="utf-8"))
               if not (CHECKOUT / path).exists()]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(CHECKOUT)) for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert page.exists(), f"{page.relative_to(CHECKOUT)} is missing"
    problems = broken_links(page)
    assert not problems, "\n".join(problems)


def test_the_readme_links_every_docs_page_and_the_changelog() -> None:
    linked = {(README.parent / unquote(target.partition("#")[0])).resolve()
              for _, target in links(README.read_text(encoding="utf-8"))}
    expected = {page.resolve() for page in [*DOCS, CHECKOUT / "CHANGELOG.md"]}
    missing = sorted(str(page.relative_to(CHECKOUT)) for page in expected - linked)
    assert not missing, f"the README links no {', '.join(missing)}"


def test_the_readme_is_short_enough_for_a_newcomer() -> None:
    size = len(README.read_bytes())
    assert size < README_BUDGET, (
        f"README.md is {size} bytes (budget {README_BUDGET}): move detail to a page of docs/")


def test_a_missing_file_and_a_missing_heading_are_caught(tmp_path: Path) -> None:
    """The checker itself: a link to nowhere and an anchor that names no heading."""
    page = CHECKOUT / "docs" / "commands.md"
    assert "tracker-fetch" in anchors(page)
    assert "snapshot-references-and-when" in anchors(page)
    sample = tmp_path / "page.md"
    sample.write_text("# Page\n\n## `tracker db upgrade` / `tracker db current`\n\n"
                      "See [a](gone.md), [b](#nowhere), [c](#page), "
                      "[d](#tracker-db-upgrade--tracker-db-current), [e](https://example.com/x),"
                      " and `[not a link](gone.md)`.\n\n```md\n[in code](gone.md)\n```\n",
                      encoding="utf-8")
    assert [target for _, target in links(sample.read_text())] == [
        "gone.md", "#nowhere", "#page", "#tracker-db-upgrade--tracker-db-current",
        "https://example.com/x"]
    assert named_paths("Moved from `tracker/site.py` to `tracker/publish.py`; see "
                       "`reports/<name>.py`.\n") == [(1, "tracker/site.py"),
                                                     (1, "tracker/publish.py")]
    problems = broken_links(sample)
    assert len(problems) == 2, problems
    assert problems[0].startswith("page.md:5: (gone.md): there is no ")
    assert problems[1] == "page.md:5: (#nowhere): page.md has no heading #nowhere"
