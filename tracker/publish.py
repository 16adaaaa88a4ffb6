"""Publishing files: changelogs of transitions, weekly report files, the Atom feed and the
static site, all written through one atomic writer.

>>> slug("gpt-4o/2024 08 06")
'gpt-4o_2024_08_06'
>>> changelog_stem("openrouter", datetime(2026, 11, 2, 9, tzinfo=UTC), "v2")
'changelog-20261102T090000Z-openrouter-v2'

`tracker site DIR` is a static site of the catalog's history, served by any web server or
opened from disk (relative links only; every page self-contained):


    DIR/index.html               transitions newest first, weekly reports, sources
    DIR/changes/<time>-....html  the changelog of each transition
    DIR/weekly/weekly-YYYY-Www.html   a window report for every ISO week in the data
    DIR/models/index.html        every model ever listed
    DIR/models/<name>.html       one history page per model (file names safe and unique)
    DIR/audit.html, policies.html  the data-policy audit trail and the policies now
    DIR/changes.atom             the Atom feed
    DIR/api/...                  the same history as JSON: index.json, current.json,
                                 models/<name>.json, changes.jsonl (tracker.site_api)

Built in bulk: per source, one query for the transitions, one for their change records, and
three for every model's history at once; each page kind is one compiled template.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.timeutil import iso
from tracker.vocabulary import Outcome

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.catalog import Catalog
    from tracker.history import ModelHistory, Transition
    from tracker.usage import Pricing


def write_atomically(path: Path, content: str) -> None:
    """Write `content` to `path` so that a reader sees the old file or the new one, never
    half of one, and a crash never leaves the new name pointing at lost data: write a
    temporary file beside it, fsync it, rename it over `path`, fsync the directory."""
    write_lines_atomically(path, (content,))


def write_lines_atomically(path: Path, lines: Iterable[str]) -> None:
    """`write_atomically` for text that comes a piece at a time (an export streamed from the
    database): each piece is written as it comes, and the file appears whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            for line in lines:
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported here (some platforms cannot open a directory)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def slug(text: str, limit: int = 80, fallback: str = "x") -> str:
    """`text` as part of a file name: ASCII letters, digits, `.`, `_` and `-` only (anything
    else becomes `_`), at most `limit` characters, never empty and never hidden."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text)
    return cleaned.strip("._-")[:limit] or fallback


def changelog_stem(source: str, observed_at: datetime, label: str,
                   content_hash: str | None = None) -> str:
    """`changelog-<time>-<version>`; other sources than the default one add their name
    (`changelog-<time>-openrouter-<version>`), so that sources sharing a reports directory
    never overwrite each other's changelogs; with `content_hash` (a version that labels more
    than one state), its first 8 hex digits follow, so two states never share a file."""
    from tracker.config import DEFAULT_SOURCE

    where = "" if source == DEFAULT_SOURCE else f"{slug(source, fallback='source')}-"
    tail = f"-{content_hash.rpartition(':')[2][:8]}" if content_hash else ""
    return (f"changelog-{observed_at:%Y%m%dT%H%M%SZ}-{where}"
            f"{slug(label, fallback='catalog')}{tail}")


def transition_stem(transition: Transition) -> str:
    """The file name (without extension) of a stored transition's changelog."""
    reused = transition.version_reused or transition.after.version_reused
    return changelog_stem(transition.source, transition.observed_at, transition.after.label,
                          transition.after.content_hash if reused else None)


def write_changelog(reports_dir: Path, transition: Transition) -> list[Path]:
    """Write `changelog-<time>-<version>.md` and `.html` for a stored transition; return the
    paths. The same transition always gives the same files (a retry rewrites them)."""
    from tracker.reports import render

    if reports_dir.exists() and not reports_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(reports_dir))
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = transition_stem(transition)
    diff = transition.diff_json()
    paths = []
    for fmt in ("md", "html"):
        path = reports_dir / f"{stem}.{fmt}"
        write_atomically(path, render("changelog", fmt, diff))
        paths.append(path)
    return paths


# --- the static site, weekly files and the feed ---


NavLinks = list[tuple[str, str, bool]]

_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_HASHED_TAIL = re.compile(r"-[0-9a-f]{10}$")
# Names Windows reserves whatever the extension: such a page gets a hashed name too.
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                       *(f"lpt{i}" for i in range(10))})


def page_names(ids: Iterable[str]) -> dict[str, str]:
    """A file name (without extension) per id: the id itself when it is a plain lowercase name,
    else its slug and 10 hex digits of its SHA-256. Plain names never end like a hashed one,
    and no two names differ only in case, so they are unique on case-insensitive disks too."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for ident in sorted(set(ids)):
        plain = (_PLAIN_NAME.fullmatch(ident) is not None and not _HASHED_TAIL.search(ident)
                 and ident.split(".")[0] not in _RESERVED)
        if plain:
            name = ident
        else:
            digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()
            name = f"{slug(ident, 60).lower()}-{digest[:10]}"
            length = 10
            while name in taken:  # a 40-bit collision: take more of the digest
                length += 2
                name = f"{slug(ident, 60).lower()}-{digest[:length]}"
        taken.add(name)
        names[ident] = name
    return names


@dataclass
class SiteResult:
    directory: Path
    pages: int = 0
    transitions: int = 0
    weeks: int = 0
    models: int = 0
    removed: int = 0
    api_files: int = 0  # the static JSON API under api/ (tracker.site_api)
    files: list[Path] = field(default_factory=list)


@dataclass
class _SourceData:
    name: str
    source_id: int
    transitions: list[Transition]
    histories: dict[str, ModelHistory]
    span: tuple[datetime, datetime] | None
    snapshots: int


def _nav(depth: int, here: str) -> NavLinks:
    up = "../" * depth
    items = [("index.html", "Transitions"), ("models/index.html", "Models"),
             ("audit.html", "Data-policy audit"), ("policies.html", "Policies now"),
             ("changes.atom", "Atom feed")]
    return [(up + href, label, href == here) for href, label in items]


def _write(path: Path, text: str, result: SiteResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)
    result.files.append(path)
    result.pages += 1


def build_site(engine: Engine, names: Sequence[str], directory: Path, *,
               configured: Iterable[str] = (), site_url: str | None = None,
               feed_limit: int = 100, now: datetime | None = None,
               pricing: Pricing | None = None) -> SiteResult:
    """Write the whole site for the named sources into ``directory``; return what was written.
    With ``pricing`` floors, the changelogs, weekly reports and feed carry the effective-price
    records at those floors, and the model pages their effective lines.

    Pages this build no longer produces are removed from the site's own folders (changes/,
    weekly/, models/, api/models/); nothing else in ``directory`` is touched.
    """
    from tracker import __version__
    from tracker.history import (
        add_effective,
        audit,
        current_policies,
        histories,
        resolve_sources,
        snapshot_map,
        source_report,
        source_span,
        transitions,
    )
    from tracker.reports import render
    from tracker.reports.phrases import count_text
    from tracker.windows import week_label, week_window, weeks_between

    moment = now or datetime.now(UTC)
    result = SiteResult(directory)
    data: list[_SourceData] = []
    weekly: list[tuple[str, dict[str, Any]]] = []
    with engine.connect() as conn:
        resolved = resolve_sources(conn, names, configured)
        floors = pricing.floors if pricing is not None else ()
        caches: dict[int, dict[int, Catalog]] = {sid: {} for _, sid in resolved}
        for name, source_id in resolved:
            snaps = snapshot_map(conn, source_id)
            moves = transitions(conn, name, source_id, snapshots=snaps)
            models = histories(conn, name, source_id)
            if pricing is not None and floors:
                add_effective(conn, source_id, moves, floors, pricing.blend,
                              catalogs=caches[source_id])
                for history in models.values():
                    history.price_effective(floors, pricing.blend)
            data.append(_SourceData(name, source_id, moves, models,
                                    source_span(conn, source_id), len(snaps)))
        spans = [d.span for d in data if d.span is not None]
        if spans:
            first = min(s[0] for s in spans)
            last = max(s[1] for s in spans)
            weekly_pricing = replace(pricing, usage=None) if pricing is not None else None
            for year, week in weeks_between(first, last):
                window = week_window(year, week)
                reports = [source_report(conn, name, sid, window, catalogs=caches[sid],
                                         pricing=weekly_pricing)
                           for name, sid in resolved]
                body: dict[str, Any] = (reports[0].to_json() if len(reports) == 1 else {
                    "since": iso(window.since) if window.since else None,
                    "until": iso(window.until),
                    "sources": [r.to_json() for r in reports],
                })
                weekly.append((week_label(year, week), body))

    directory.mkdir(parents=True, exist_ok=True)
    source_names = [d.name for d in data]

    # Changelog pages, one per transition.
    change_pages: dict[tuple[str, int], str] = {}
    all_transitions = [t for source in data for t in source.transitions]
    for t, page in zip(all_transitions, change_page_names(all_transitions), strict=True):
        change_pages[(t.source, t.observation_id)] = page
        _write(directory / page, render("changelog", "html", t.diff_json(), nav=_nav(1, "")),
               result)
        result.transitions += 1

    # Weekly reports.
    week_pages: list[tuple[str, str, str]] = []  # (label, href, summary)
    for label, body in weekly:
        href = f"weekly/weekly-{label}.html"
        parts: list[dict[str, Any]] = body.get("sources", [body])
        events = sum(len(part["events"]) for part in parts)
        net = sum(len(part["net"]) for part in parts)
        in_progress = datetime.fromisoformat(body["until"].replace("Z", "+00:00")) > moment
        summary = (f"{events} transition{'' if events == 1 else 's'}, "
                   f"{net} net change{'' if net == 1 else 's'}"
                   + (" (week in progress)" if in_progress else ""))
        week_pages.append((label, href, summary))
        _write(directory / href,
               render("report", "html", body, nav=_nav(1, ""), kicker=f"Weekly report {label}"),
               result)
        result.weeks += 1

    # Model history pages, one per model id across the sources.
    model_ids = sorted({m for d in data for m in d.histories})
    files = page_names(model_ids)
    model_rows: list[dict[str, Any]] = []
    for model_id in model_ids:
        items = [d.histories[model_id] for d in data if model_id in d.histories]
        _write(directory / "models" / f"{files[model_id]}.html",
               render("history", "html", [h.to_json() for h in items], nav=_nav(1, "")), result)
        current = [h for h in items if h.current]
        offers_now = [spans[-1] for h in current for spans in h.providers.values()
                      if spans and spans[-1].end is None]
        last_change = max((span.start for h in items for spans in h.providers.values()
                           for span in spans), default=None)
        model_rows.append({
            "id": model_id, "href": f"{files[model_id]}.html",
            "sources": [h.source for h in items], "current": bool(current),
            "providers": len(offers_now),
            "cheapest_input": min((s.input_price for s in offers_now), default=None),
            "cheapest_output": min((s.output_price for s in offers_now), default=None),
            "last_change": last_change,
        })
        result.models += 1
    _write(directory / "models" / "index.html",
           render("site_models", "html", model_rows, sources=source_names,
                  nav=_nav(1, "models/index.html")),
           result)

    # The audit trail and the policies now.
    audit_records = [r.to_json() for r in audit(engine, source_names)]
    _write(directory / "audit.html", render("audit", "html",
        {"since": None, "until": iso(moment), "sources": source_names,
         "records": audit_records}, nav=_nav(0, "audit.html")), result)
    _write(directory / "policies.html",
           render("current", "html", current_policies(engine, source_names, moment).to_json(),
                        nav=_nav(0, "policies.html")), result)

    # The index: transitions newest first.
    rows = []
    everything = sorted((t for d in data for t in d.transitions),
                        key=lambda t: (t.observed_at, t.observation_id), reverse=True)
    for t in everything:
        weakened = sum(1 for c in t.changes
                       if c["kind"] == "data_policy_changed" and c.get("weakened"))
        rows.append({
            "observed_at": t.observed_at, "source": t.source, "before": t.before.label,
            "after": t.after.label, "reverted": t.outcome == Outcome.REVERTED,
            "summary": count_text(t.changes), "weakened": weakened,
            "href": change_pages[(t.source, t.observation_id)],
        })
    sources_info = [{
        "name": d.name, "snapshots": d.snapshots, "transitions": len(d.transitions),
        "first": d.span[0] if d.span else None, "last": d.span[1] if d.span else None,
        "models_now": sum(1 for h in d.histories.values() if h.current),
    } for d in data]
    _write(directory / "index.html", render("site_index", "html",
        rows, sources=sources_info, weeks=list(reversed(week_pages)), generated=moment,
        nav=_nav(0, "index.html")), result)

    # The feed, linking each entry to its changelog page.
    feed_events = [t.to_json() for t in everything[: feed_limit or None]]
    base = site_url.rstrip("/") + "/" if site_url else ""
    links = {t.observation_id: base + change_pages[(t.source, t.observation_id)]
             for t in everything}
    updated = iso(everything[0].observed_at) if everything else iso(moment)
    _write(directory / "changes.atom", render("feed", "atom",
        feed_events, sources=source_names, updated=updated, links=links,
        self_link=f"{base}changes.atom" if site_url else None,
        site_link=f"{base}index.html" if site_url else None, version=__version__), result)

    # The static JSON API, from the same histories and transitions, named like the pages.
    from tracker.site_api import ApiSource, api_documents

    api = api_documents(
        [ApiSource(d.name, d.transitions, d.histories, d.span, d.snapshots) for d in data],
        files, generated_at=moment, version=__version__)
    for relative, text in api.items():
        path = directory / "api" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text)
        result.files.append(path)
        result.api_files += 1

    # Pages of earlier builds that this one no longer produces.
    produced = {p.resolve() for p in result.files}
    for folder, pattern in (("changes", "*.html"), ("weekly", "*.html"), ("models", "*.html"),
                            ("api/models", "*.json")):
        for stale in (directory / folder).glob(pattern):
            if stale.resolve() not in produced:
                stale.unlink()
                result.removed += 1
    return result


def write_weekly(engine: Engine, names: Sequence[str], reports_dir: Path, year: int, week: int,
                 *, configured: Iterable[str] = (),
                 pricing: Pricing | None = None) -> list[tuple[Path, bool]]:
    """Write ISO week ``year``-W``week`` as ``weekly-YYYY-Www.{md,html,json}`` into
    ``reports_dir``; a file whose content would not change is left alone (idempotent).
    ``pricing``: effective prices and cost impact, as `tracker report` has them.

    Returns each path and whether it was (re)written.
    """
    from tracker.history import WindowReport, resolve_sources, source_report
    from tracker.reports import render
    from tracker.windows import week_label, week_window

    window = week_window(year, week)
    with engine.connect() as conn:
        reports = [source_report(conn, name, sid, window, pricing=pricing)
                   for name, sid in resolve_sources(conn, names, configured)]
    body = WindowReport(window, reports).to_json()
    import orjson

    label = week_label(year, week)
    texts = {
        "md": render("report", "md", body),
        "html": render("report", "html", body, kicker=f"Weekly report {label}"),
        "json": orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n",
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, bool]] = []
    for suffix, text in texts.items():
        path = reports_dir / f"weekly-{label}.{suffix}"
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            written.append((path, False))
            continue
        write_atomically(path, text)
        written.append((path, True))
    return written


def feed_document(engine: Engine, names: Sequence[str], *, since: str | None = None,
                  until: str | None = None, limit: int = 100, site_url: str | None = None,
                  configured: Iterable[str] = (), pricing: Pricing | None = None) -> str:
    """The Atom feed of the named sources' transitions in a window, newest first (with
    ``pricing`` floors, each entry carries the effective-price records at those floors).

    With ``site_url`` (where `tracker site` output is published) each entry links to its
    changelog page there.
    """
    from tracker import __version__
    from tracker.history import add_effective, resolve_sources, transitions
    from tracker.reports import render
    from tracker.windows import parse_window

    window = parse_window(since, until)
    found: list[Transition] = []
    with engine.connect() as conn:
        resolved = resolve_sources(conn, names, configured)
        for name, sid in resolved:
            moves = transitions(conn, name, sid, window)
            if pricing is not None and pricing.floors:
                add_effective(conn, sid, moves, pricing.floors, pricing.blend)
            found.extend(moves)
    everything = sorted(found, key=lambda t: (t.observed_at, t.observation_id), reverse=True)
    links: dict[int, str] = {}
    base = site_url.rstrip("/") + "/" if site_url else None
    if base is not None:
        links = {t.observation_id: base + page for t, page in
                 zip(everything, change_page_names(everything), strict=True)}
    updated = iso(everything[0].observed_at) if everything else iso(window.until)
    kept = everything[: limit or None]
    return render("feed", "atom", [t.to_json() for t in kept], sources=[n for n, _ in resolved],
                       updated=updated, links=links,
                       self_link=f"{base}changes.atom" if base else None,
                       site_link=f"{base}index.html" if base else None, version=__version__)


def change_page_names(items: Sequence[Transition]) -> list[str]:
    """The site path of each transition's changelog page (``changes/<time>-<source>-<label>``),
    unique even on a case-insensitive disk. Depends only on the transitions given, so the
    feed and the site agree when given the same ones in the same order (oldest first)."""
    ordered = sorted(range(len(items)),
                     key=lambda i: (items[i].source, items[i].observed_at,
                                    items[i].observation_id))
    used: set[str] = set()
    names = [""] * len(items)
    for i in ordered:
        t = items[i]
        stem = f"{t.observed_at:%Y%m%dT%H%M%SZ}-{slug(t.source, 40)}-{slug(t.after.label, 60)}"
        name, n = stem, 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        names[i] = f"changes/{name}.html"
    return names
