"""The change feed: Atom 1.0 (RFC 4287), one entry per transition, newest first.

Rendered from a Jinja2 XML template with autoescaping. Every remote string first goes through
``xml_text``, which turns characters XML 1.0 forbids (most C0 controls, lone surrogates) and
bidi controls into visible escapes, so the feed stays well-formed whatever a model id holds.
Entry ids are ``tag:`` URIs made of the source, the observation time and the new state's
content hash: stable across runs, and across a database rebuilt from the same history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .describe import count_text, describe_all
from .env import html_env, xml_env
from .format import format_time, snapshot_label

__all__ = ["FeedEntry", "entry_id", "feed_id", "render_feed"]

TAG_AUTHORITY = "catalog-tracker,2026"
ENTRY_LINES = 100  # change lines shown in one entry's content; the rest are counted


def _tag_part(text: str) -> str:
    return quote(text, safe="")


def entry_id(source: str, observed_at: str, content_hash: str) -> str:
    """A stable ``tag:`` URI for one transition."""
    return (f"tag:{TAG_AUTHORITY}:{_tag_part(source)}/transition/{_tag_part(observed_at)}/"
            f"{_tag_part(content_hash[:16])}")


def feed_id(sources: list[str]) -> str:
    return f"tag:{TAG_AUTHORITY}:{','.join(_tag_part(s) for s in sources)}/changes"


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: str
    link: str | None
    summary: str
    content: str  # an HTML fragment, escaped once more by the XML template


def _entry(event: dict[str, Any], link: str | None) -> FeedEntry:
    source = str(event.get("source") or "")
    before, after = event.get("from") or {}, event.get("to") or {}
    changes = [c for c in event.get("changes") or [] if isinstance(c, dict)]
    counts = count_text(changes)
    arrow = f"{snapshot_label(before)} → {snapshot_label(after)}"
    reverted = " (return to an earlier version)" if event.get("outcome") == "reverted" else ""
    content = html_env().get_template("_feed_entry.html.j2").render(
        source=source, arrow=arrow, reverted=reverted, counts=counts,
        observed=format_time(event.get("observed_at")), lines=describe_all(changes),
        limit=ENTRY_LINES,
    )
    return FeedEntry(
        id=entry_id(source, str(event.get("observed_at")), str(after.get("content_hash") or "")),
        title=f"{source}: {arrow}{reverted}: {counts}",
        updated=str(event.get("observed_at")),
        link=link,
        summary=f"{counts}. Observed {format_time(event.get('observed_at'))}.",
        content=content,
    )


def render_feed(events: list[dict[str, Any]], *, sources: list[str], updated: str,
                links: dict[int, str] | None = None, self_link: str | None = None,
                site_link: str | None = None, version: str = "") -> str:
    """The Atom document. ``events`` are transition JSON objects (with ``source`` and
    ``observation_id``), in the order the feed lists them (newest first); ``links`` maps an
    observation id to the entry's page (relative or absolute)."""
    entries = [_entry(e, (links or {}).get(int(e.get("observation_id") or 0)))
               for e in events]
    return xml_env().get_template("feed.atom.j2").render(
        feed_id=feed_id(sources),
        title="Catalog changes: " + ", ".join(sources),
        updated=updated, entries=entries, self_link=self_link, site_link=site_link,
        version=version,
    )
