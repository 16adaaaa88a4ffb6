"""The words the product is built from, each defined once: run outcomes, change kinds, the
change record, and how a person names a snapshot.

Every module that stores, counts, reports or prints one of these imports it from here, so a
new outcome or kind is added in one place.

>>> Outcome.NEW in TRANSITION_OUTCOMES and Outcome.FAILED in FAILURE_OUTCOMES
True
>>> snapshot_label("2026-11-01.1", "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
'2026-11-01.1'
>>> snapshot_label(None, "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
'#0a1b2c3d4e5f'
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict


class Outcome(StrEnum):
    """What one poll of a source came to; stored in `observations.outcome`."""

    NEW = "new"  # a state not seen before was stored
    UNCHANGED = "unchanged"  # the current state again
    REVERTED = "reverted"  # an earlier state came back (a transition too)
    FAILED = "failed"  # the remote failed: network, HTTP status, deadline
    REJECTED = "rejected"  # the payload was invalid; its body is kept, no snapshot
    SUSPICIOUS = "suspicious"  # held: empty, or too many models gone; the state did not change


# A poll that read a valid catalog; one that failed; one that moved the state.
SUCCESS_OUTCOMES: frozenset[str] = frozenset({Outcome.NEW, Outcome.UNCHANGED, Outcome.REVERTED})
FAILURE_OUTCOMES: frozenset[str] = frozenset({Outcome.FAILED, Outcome.REJECTED})
TRANSITION_OUTCOMES: frozenset[str] = frozenset({Outcome.NEW, Outcome.REVERTED})


class ChangeKind(StrEnum):
    """The `kind` of a change record, in the order records are sorted and shown."""

    SHUTDOWN_ANNOUNCED = "shutdown_announced"  # first: users need to migrate before the date
    MODEL_ADDED = "model_added"
    MODEL_REMOVED = "model_removed"
    PROVIDER_ADDED = "provider_added"
    PROVIDER_REMOVED = "provider_removed"
    PRICE_CHANGED = "price_changed"
    DATA_POLICY_CHANGED = "data_policy_changed"
    CONTEXT_WINDOW_CHANGED = "context_window_changed"
    ENDPOINTS_CHANGED = "endpoints_changed"
    FIELD_CHANGED = "field_changed"
    # Derived on request (tracker.effective): never stored, never in a plain diff.
    EFFECTIVE_PRICE_CHANGED = "effective_price_changed"


class Change(TypedDict):
    """One change record, as `tracker/diff.schema.json` defines it (`$defs/change`)."""

    kind: str
    model: str | None
    provider: str | None
    field: str | None
    old: Any
    new: Any
    change_pct: NotRequired[float | None]  # price_changed, effective_price_changed (blended)
    causes: NotRequired[list[str]]  # effective_price_changed: the kinds that moved it
    weakened: NotRequired[bool]  # data_policy_changed
    became_unknown: NotRequired[bool]  # data_policy_changed
    strengthened: NotRequired[bool]  # data_policy_changed
    # data_policy_changed, on the read side: the change undoes the offer's last weakening,
    # observed at `weakened_at`.
    restored: NotRequired[bool]
    weakened_at: NotRequired[str]
    absent: NotRequired[Literal["old", "new"]]  # field_changed, a field on one side only


def snapshot_label(catalog_version: str | None, content_hash: str | None) -> str:
    """How a person names a snapshot: its catalog version, else `#` and the first 12 hex
    digits of its content hash (which `tracker diff` accepts as a reference)."""
    if catalog_version:
        return catalog_version
    digest = (content_hash or "").rpartition(":")[2]
    return f"#{digest[:12]}" if digest else "none"


# An error line names a remote id by this many characters at most.
ID_SHOWN = 60


def id_label(value: object) -> str:
    """How an error line names a remote id (a model, provider or version): quoted, and an
    over-long one by its first 60 characters and its length, so that a 10,000-character id
    makes no 10 KB line.

    >>> id_label("gpt-4o")
    "'gpt-4o'"
    >>> id_label("x" * 10_000)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (10,000 characters)"
    """
    text = str(value)
    if len(text) <= ID_SHOWN:
        return repr(text)
    return f"{text[:ID_SHOWN]!r}… ({len(text):,} characters)"


class SnapshotJSON(TypedDict):
    """A snapshot as every JSON output shows it (the guide's SNAP)."""

    id: int
    catalog_version: str | None
    content_hash: str
    first_observed_at: str
    model_count: int


# The guide's diff object: `tracker diff --format json`, `Tracker.diff()`.
Diff = TypedDict("Diff", {
    "from": SnapshotJSON | None,
    "to": SnapshotJSON | None,
    "changes": list[Change],
    "source": NotRequired[str],
})
Diff.__doc__ = """The changes between two snapshots: `from` (None for a first snapshot), `to`,
`changes` (change records in the documented order) and the `source`."""
