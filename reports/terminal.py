"""Terminal text: what `fetch`, `snapshots`, `sources`, `status` and `import-git` print, and the
one sentence that says what a run came to (the CLI, the log line and the demo all use it).

Every remote string goes through ``plain_text``: control characters (ANSI escapes included)
and bidi controls become visible escapes, so a catalog cannot clear or reorder the terminal.

>>> run = {"source": "auriko", "outcome": "unchanged", "from": None, "changes": [],
...        "to": {"id": 1, "catalog_version": "v1", "content_hash": "ab", "model_count": 3,
...               "first_observed_at": "2026-11-01T09:00:00Z"}, "changelogs": []}
>>> run_text(run)
'auriko: unchanged (v1, 3 models)'
>>> outcome_sentence({**run, "outcome": "new"})
'first snapshot v1 stored (3 models)'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from tracker.timeutil import format_age

from .format import plain_text, snapshot_label
from .phrases import reused_version_text

__all__ = [
    "changelog_text",
    "demo_text",
    "import_text",
    "outcome_sentence",
    "price_text",
    "run_text",
    "snapshots_text",
    "sources_text",
    "state_text",
    "status_text",
]


def outcome_sentence(run: Mapping[str, Any]) -> str:
    """What one poll came to, in words: `unchanged (v3, 12 models)`, `first snapshot v1
    stored (12 models)`, `new snapshot v4`, `returned to earlier snapshot v2` (plain text).
    A state served under another version than its label says so: `unchanged (v3, 12 models;
    served as v4)`."""
    snap = run.get("to")
    label = plain_text(snapshot_label(snap)) if snap else "?"
    count = snap.get("model_count", 0) if snap else 0
    outcome = run.get("outcome")
    served = run.get("served_version")
    alias = ""
    if served and snap and served != snap.get("catalog_version"):
        alias = f"served as {plain_text(served)}"
    if outcome == "unchanged":
        return f"unchanged ({label}, {count} models{'; ' + alias if alias else ''})"
    if alias:
        label += f" ({alias})"
    if run.get("from") is None and outcome in ("new", "reverted"):
        return f"first snapshot {label} stored ({count} models)"
    if outcome == "new":
        return f"new snapshot {label}"
    if outcome == "reverted":
        return f"returned to earlier snapshot {label}"
    return plain_text(str(outcome).replace("_", " "))


def run_text(run: Mapping[str, Any]) -> str:
    """A fetch or ingest result (`RunResult.to_json()`): the sentence, the change summary of a
    transition, and the changelogs written."""
    line = f"{plain_text(run.get('source'))}: {outcome_sentence(run)}"
    if run.get("from") is not None and run.get("outcome") in ("new", "reverted"):
        # Only a transition has a summary: an unchanged poll (most cron runs) never loads
        # the changelog module and Jinja2 behind it.
        from .changelog import summary

        line += f". {summary(dict(run))}"
    lines = [line] + [f"  wrote {path}" for path in run.get("changelogs") or ()]
    return "\n".join(lines)


def snapshots_text(rows: list[Mapping[str, Any]]) -> str:
    """The `tracker snapshots` table (rows: SNAP plus `last_observed_at`)."""
    lines = [f"{'id':>6}  {'first observed':<20}  {'last observed':<20}  {'models':>6}  version"]
    for row in rows:
        lines.append(f"{row['id']:>6}  {str(row['first_observed_at'])[:19]:<20}  "
                     f"{str(row['last_observed_at'])[:19]:<20}  {row['model_count']:>6}  "
                     f"{plain_text(snapshot_label(dict(row)))}")
    return "\n".join(lines)


def sources_text(rows: list[Mapping[str, Any]], *, kinds: Mapping[str, str] | None = None) -> str:
    """The `tracker sources` table; `kinds` fills in configured sources never stored."""
    lines = [f"{'source':<24} {'kind':<17} {'snapshots':>9}  {'last observed':<20}  "
             "outcome    current"]
    for row in rows:
        kind = row["kind"] or (kinds or {}).get(row["name"], "?")
        last = (row["last_observed_at"] or "never")[:19]
        lines.append(f"{plain_text(row['name']):<24} {plain_text(kind):<17} "
                     f"{row['snapshots']:>9}  {last:<20}  {row['last_outcome'] or '-':<10} "
                     f"{plain_text(row['current'] or '-')}")
    return "\n".join(lines)


def status_text(report: Mapping[str, Any]) -> str:
    """`tracker status` for people (`StatusReport.to_json()`): a block per source, then the
    notification targets and the problems."""
    lines: list[str] = []
    for status in report["sources"]:
        flag = state_text(status)
        if not status["checked"]:
            flag += " (not configured)"
        kind = plain_text(status["kind"]) if status["kind"] else "no observations yet"
        lines.append(f"{plain_text(status['source'])} ({kind}): {flag}")
        success = status["last_success"]
        if success is not None:
            age = status["age_seconds"]
            ago = format_age(timedelta(seconds=age) if age is not None else None) + " ago"
            if age is not None and age < 0:  # dated ahead of this machine's clock
                ago = f"{format_age(timedelta(seconds=-age))} in the future"
            lines.append(
                f"  last success:  {success['observed_at']} ({ago}), "
                f"{success['outcome']}, {plain_text(success['snapshot'])}, "
                f"{success['model_count']} models")
        else:
            lines.append("  last success:  never")
        change = status["last_change"]
        if change is not None:
            reused = ""
            if change.get("version_reused"):
                reused = "; " + reused_version_text(
                    change.get("served_version") or change["to"], plain_text)
            lines.append(f"  last change:   {change['observed_at']}, "
                         f"{plain_text(change['from'])} -> {plain_text(change['to'])} "
                         f"({change['changes']} changes{reused})")
        else:
            lines.append("  last change:   none")
        if status.get("future_observations"):
            lines.append(f"  FROM THE FUTURE: {status['future_observations']} observations "
                         f"dated after now (newest {status['newest_observed_at']})")
        for owed in status.get("changelogs_pending") or ():
            error = f": {plain_text(owed['last_error'])}" if owed["last_error"] else ""
            lines.append(f"  changelogs not written: {owed['pending']} owed to "
                         f"{plain_text(owed['directory'])}{error}")
        lines.append(f"  failures in a row: {status['failures_in_a_row']}")
        failure = status["last_failure"]
        if failure is not None and status["failures_in_a_row"]:
            http = f"HTTP {failure['http_status']}: " if failure["http_status"] else ""
            lines.append(plain_text(f"  last failure:  {failure['observed_at']}, "
                                    f"{failure['outcome']}: {http}{failure['error'] or ''}")[:300])
    if report["notifications"]:
        lines.append("notifications:")
        for item in report["notifications"]:
            state = "ok"
            if item["failed_attempts"]:
                state = (f"{item['failed_attempts']} failed deliveries, last: "
                         f"{plain_text(item['last_error'])}")
            elif item["pending_transitions"]:
                state = f"{item['pending_transitions']} transitions pending"
            lines.append(f"  {plain_text(item['target'])} / {plain_text(item['source'])}: "
                         f"{state}")
    if report["problems"]:
        lines.append(plain_text("unhealthy: " + "; ".join(report["problems"])))
    return "\n".join(lines)


def changelog_text(diff: Mapping[str, Any]) -> str:
    """A diff as plain terminal text (`tracker diff` on a terminal): the summary, an aligned
    table of price moves (percent and dollars), then a line per other change; no Markdown
    escapes, remote strings made plain.

    >>> print(changelog_text({"from": {"catalog_version": "v1"}, "to": {"catalog_version": "v2"},
    ...     "changes": [{"kind": "data_policy_changed", "model": "m", "provider": "p",
    ...                  "field": "data_policy", "old": "zdr", "new": "no_training",
    ...                  "weakened": True}]}))
    Catalog changelog: v1 -> v2
    Summary: 1 data-policy change (1 weakened).
    <BLANKLINE>
    Data-policy changes (zdr > no_training > none)
      m / p: zdr -> no_training  WEAKENED
    """
    from .changelog import build_view, move_text
    from .describe import describe_all
    from .phrases import KIND_LABELS

    view = build_view(dict(diff))
    source = f" (source {plain_text(diff['source'])})" if diff.get("source") else ""
    lines = [f"Catalog changelog: {plain_text(view.title.replace(' → ', ' -> '))}{source}"]

    def snap(s: Any) -> str:
        models = f", {s.model_count} models" if s.model_count else ""
        when = f"observed {s.observed_at}" if s.observed_at else "never observed"
        return f"{plain_text(s.label)} ({when}{models})"

    if view.from_snap is not None and view.to_snap.observed_at:
        lines.append(f"From {snap(view.from_snap)} to {snap(view.to_snap)}")
    if not view.total:
        lines.append("No changes.")
        return "\n".join(lines)
    lines.append("Summary: " + ", ".join(c.text for c in view.counts) + ".")
    for by, rows in (("percent", view.biggest_by_pct), ("dollars", view.biggest_by_dollars)):
        if rows and (by == "percent" or rows != view.biggest_by_pct):
            lines.append(f"Biggest moves by {by}: "
                         + "; ".join(move_text(row, by) for row in rows))
    if view.effective:
        lines += ["", "Effective prices (the cheapest offer meeting each floor, blended, USD "
                      "per 1M tokens)"]
        for e in view.effective:
            lines.append(f"  {plain_text(e.model)} at {plain_text(e.floor)}: "
                         f"{plain_text(e.old)} -> {plain_text(e.new)} "
                         f"({f'{e.arrow} {e.change}'.strip()}): {plain_text(e.reason)}")
    if view.prices:
        lines += ["", "Price changes (USD per 1M tokens, largest moves in percent first)"]
        table = [("model", "provider", "price", "old", "new", "change", "per 1M")] + [
            (plain_text(r.model), plain_text(r.provider), plain_text(r.field), r.old, r.new,
             f"{r.arrow} {r.change}".strip(), r.delta) for r in view.prices]
        widths = [max(len(row[i]) for row in table) for i in range(7)]
        for row in table:
            left = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            right = "  ".join(cell.rjust(widths[i + 3]) for i, cell in enumerate(row[3:]))
            lines.append(f"  {left}  {right}")
    if view.policies:
        lines += ["", "Data-policy changes (zdr > no_training > none)"]
        for r in view.policies:
            note = f"  {r.flag_words.upper()}" if r.flag_words else ""
            note += f": {r.restores}" if r.restores else ""
            lines.append(f"  {plain_text(r.model)} / {plain_text(r.provider)}: "
                         f"{plain_text(r.old)} -> {plain_text(r.new)}{note}")
    rest = [line for line in describe_all([dict(c) for c in diff.get("changes") or []])
            if line.kind not in ("price_changed", "data_policy_changed",
                                 "effective_price_changed")]
    for kind in dict.fromkeys(line.kind for line in rest):
        title = KIND_LABELS.get(kind, (kind, kind.replace("_", " ")))[1]
        lines += ["", title[:1].upper() + title[1:]]
        for line in (item for item in rest if item.kind == kind):
            field = f" {plain_text(line.field)}" if line.kind == "field_changed" else ""
            if line.tone in ("added", "removed"):  # one side only: what came or went
                values = f": {plain_text(line.new or line.old)}"
            else:
                values = (f": {plain_text(line.old) or '-'} -> {plain_text(line.new) or '-'}"
                          if line.old or line.new else "")
            lines.append(f"  {plain_text(line.what)}{field}{values}")
    return "\n".join(lines)


def demo_text(result: Mapping[str, Any]) -> str:
    """What `tracker demo` prints (`DemoResult.to_json()`): a line per run, the changelogs
    written, and commands that look around the demo history as printed."""
    from pathlib import Path

    lines = [run_text(run) for run in result["runs"]]
    changelogs = result["changelogs"]
    where = Path(result["reports_dir"]).resolve()
    lines.append(f"\nWrote {len(changelogs)} changelogs to {plain_text(where)}:")
    lines += [f"  {plain_text(Path(path).name)}" for path in changelogs]
    reports = result.get("reports") or []
    if reports:
        lines.append("and the demo week's report (effective prices at every floor, the cost "
                     "of the week on the sample usage file):")
        lines += [f"  {plain_text(Path(path).name)}" for path in reports]
    if result["own_database"]:
        lines.append("\nThe demo history is in a database of its own (laid afresh each run).")
    else:
        what = "replaced the earlier demo" if result["replaced"] else "added"
        others = ", ".join(plain_text(name) for name in result["other_sources"])
        lines.append(f"\nSource demo {what} in {plain_text(result['database_url'])}"
                     + (f"; its other sources ({others}) are untouched." if others else "."))
    lines.append("Look around it (each command works as printed):")
    lines += [f"  {plain_text(command)}" for command in result["look_around"]]
    return "\n".join(lines)


def state_text(status: Mapping[str, Any]) -> str:
    """A source's health in `tracker status` words: `ok` only when its last poll succeeded;
    STALE and FAILING (capitals) when a threshold says so.

    >>> state_text({"stale": False, "failing": False, "state": "never_succeeded",
    ...             "failures_in_a_row": 2})
    'no successful fetch yet (2 failed polls)'
    """
    failures = status.get("failures_in_a_row") or 0
    if status.get("stale"):
        return "STALE"
    if status.get("failing"):
        return "FAILING"
    state = status.get("state")
    if state == "never_fetched":
        return "never fetched"
    if state == "never_succeeded":
        return f"no successful fetch yet ({failures} failed poll{'' if failures == 1 else 's'})"
    if state == "failing":
        return f"failing ({failures} failure{'' if failures == 1 else 's'} in a row)"
    return "ok"


def import_text(summary: Mapping[str, Any]) -> str:
    """The `tracker import-git` summary line (`ImportSummary.to_json()`)."""
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary["outcomes"].items())) or "none"
    return (f"{summary['commits']} commits: {summary['imported']} imported ({outcomes}), "
            f"{summary['skipped']} skipped, {summary['rejected']} rejected, "
            f"{summary['held']} held")


def price_text(found: Mapping[str, Any]) -> str:
    """`tracker price`: the offers that held at a moment (`PriceAt.to_json()`), a line each.

    >>> print(price_text({"source": "auriko", "model": "gpt-4o", "at": "2026-01-06T12:00:00Z",
    ...     "observed_at": "2026-01-06T09:00:00Z", "snapshot": {"catalog_version": "v2",
    ...     "content_hash": "ab"}, "offers": [{"provider": "openai", "input_price": 2,
    ...     "output_price": 10, "data_policy": "no_training", "from": "2026-01-06T09:00:00Z",
    ...     "to": None}]}), end="")
    gpt-4o at 2026-01-06 12:00 UTC (source auriko, catalog v2 observed 2026-01-06 09:00 UTC)
      provider          input     output  policy       from                  to
      openai            $2.00     $10.00  no_training  2026-01-06 09:00 UTC  now
    Prices are USD per 1M tokens; each offer held over [from, to).
    """
    from .format import format_price, format_time, policy_label

    snap = found.get("snapshot") or {}
    out = [f"{plain_text(found.get('model'))} at {format_time(found.get('at'))} "
           f"(source {plain_text(found.get('source'))}, catalog "
           f"{plain_text(snapshot_label(snap))} observed {format_time(found.get('observed_at'))})"]
    offers = found.get("offers") or []
    if not offers:
        out.append("  no provider offered it then")
    else:
        width = max(12, *(len(plain_text(o.get("provider"))) for o in offers))
        out.append(f"  {'provider':<{width}} {'input':>10} {'output':>10}  {'policy':<12} "
                   f"{'from':<21} to")
        for offer in offers:
            end = format_time(offer.get("to")) if offer.get("to") else "now"
            out.append(f"  {plain_text(offer.get('provider')):<{width}} "
                       f"{format_price(offer.get('input_price')):>10} "
                       f"{format_price(offer.get('output_price')):>10}  "
                       f"{plain_text(policy_label(offer.get('data_policy'))):<12} "
                       f"{format_time(offer.get('from')):<21} {end}")
    out.append("Prices are USD per 1M tokens; each offer held over [from, to).")
    return "\n".join(out) + "\n"
