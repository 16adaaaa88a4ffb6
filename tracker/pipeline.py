"""One run of the pipeline: fetch, validate, store if new, diff, write changelogs.

>>> from tracker.config import SourceConfig
>>> from tracker.demo import demo_catalogs
>>> from tracker.store.db import open_database
>>> pipeline = Pipeline(open_database("sqlite://"), SourceConfig("auriko"))
>>> first, second = demo_catalogs()[:2]
>>> result = pipeline.ingest(first)
>>> result.outcome, result.snapshot.model_count
('new', 39)
>>> pipeline.ingest(first).outcome
'unchanged'
>>> sorted({c["kind"] for c in pipeline.ingest(second).changes})
['price_changed']

Every poll becomes an observation, whatever its outcome. A payload that fails validation or a
remote that fails never creates a snapshot. A snapshot, its interval rows, the observation and
its change records are written in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from tracker.catalog import Catalog
from tracker.client import ClientOptions, fetch_catalog
from tracker.config import SourceConfig
from tracker.diff import Change, diff_catalogs
from tracker.errors import (
    ConfigError,
    PayloadError,
    RemoteError,
    SuspiciousCatalogError,
    TrackerError,
    UsageError,
)
from tracker.publish import write_changelog
from tracker.sources import adapter_for
from tracker.store import rawbody, reads, writes
from tracker.store.reads import SnapshotInfo
from tracker.timeutil import iso, now
from tracker.vocabulary import TRANSITION_OUTCOMES, Outcome

log = logging.getLogger(__name__)

# Rejected bodies are kept for audit up to this size (compressed); larger ones are truncated.
MAX_REJECTED_BODY = 5 * 1024 * 1024


@dataclass
class RunResult:
    """What one observation found."""

    source: str
    outcome: str  # new | unchanged | reverted | suspicious (held) | failed | rejected
    observed_at: datetime
    observation_id: int
    snapshot: SnapshotInfo | None = None
    previous: SnapshotInfo | None = None
    changes: list[Change] = field(default_factory=list)
    changelogs: list[Path] = field(default_factory=list)
    error: str | None = None

    @property
    def is_transition(self) -> bool:
        return self.outcome in TRANSITION_OUTCOMES and self.previous is not None

    def diff_json(self) -> dict[str, Any]:
        """The guide's diff object for this transition."""
        return {
            "from": self.previous.to_json() if self.previous else None,
            "to": self.snapshot.to_json() if self.snapshot else None,
            "changes": self.changes,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "outcome": self.outcome,
            "observed_at": iso(self.observed_at),
            "observation_id": self.observation_id,
            **self.diff_json(),
            "changelogs": [str(p) for p in self.changelogs],
            "error": self.error,
        }


class _CatalogCache:
    """Catalogs (and raw bodies) of recent snapshots; a snapshot's content never changes."""

    def __init__(self, size: int = 4) -> None:
        self._items: OrderedDict[int, tuple[Catalog, bytes | None]] = OrderedDict()
        self._size = size

    def get(self, snapshot_id: int) -> tuple[Catalog, bytes | None] | None:
        item = self._items.get(snapshot_id)
        if item is not None:
            self._items.move_to_end(snapshot_id)
        return item

    def put(self, snapshot_id: int, catalog: Catalog, raw: bytes | None) -> None:
        self._items[snapshot_id] = (catalog, raw)
        self._items.move_to_end(snapshot_id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class Pipeline:
    """Observations of one source into one database. Reuse it across runs to keep its cache."""

    def __init__(
        self,
        engine: Engine,
        source: SourceConfig,
        *,
        reports_dir: Path | None = None,
        client_options: ClientOptions | None = None,
        accept_shrink: bool = False,
    ) -> None:
        self.engine = engine
        self.source = source
        self.reports_dir = reports_dir
        self.client_options = client_options or ClientOptions()
        # A catalog that loses more than this share of the current models is held, unless
        # accepted for this run or served `accept_shrink_after` times in a row.
        self.max_shrink = source.max_shrink
        self.accept_shrink = accept_shrink
        self.accept_shrink_after = source.accept_shrink_after
        self.adapter = adapter_for(source.kind)
        self._cache = _CatalogCache()
        # The last catalog parsed in this process: the next parse reuses its unchanged models.
        self._last_parsed: Catalog | None = None

    # --- entry points ---

    def fetch(
        self,
        *,
        api_key: str | None = None,
        observed_at: datetime | None = None,
        transport: Any = None,
    ) -> RunResult:
        """Pull the catalog once and ingest it; failures are recorded, then raised.

        `observed_at` defaults to now; the demo passes earlier times to lay out a history.
        """
        key = api_key if api_key is not None else self.source.resolve_api_key()
        if not key and self.adapter.needs_key:
            raise ConfigError(
                f"no API key for source {self.source.name!r}: set {self.source.api_key_env} "
                f"or {self.source.api_key_env}_FILE"
            )
        observed_at = observed_at or now()
        started = time.monotonic()
        try:
            url, params = self.adapter.request(self.source.base_url, self.source.endpoint)
            fetched = fetch_catalog(
                url, key, params=params, options=self.client_options, transport=transport
            )
        except RemoteError as exc:
            self.record_failure(exc, observed_at=observed_at, http_status=exc.status,
                                origin="fetch", started=started)
            raise
        body = fetched.body
        if key and key.encode() in body:
            # A server that echoes the key must not get it into the database or the reports.
            log.warning("the response contained the API key; it is stored redacted")
            body = body.replace(key.encode(), b"***")
        return self.ingest(
            body,
            observed_at=observed_at,
            http_status=fetched.status,
            origin="fetch",
            started=started,
        )

    def ingest(
        self,
        body: bytes,
        *,
        observed_at: datetime | None = None,
        http_status: int | None = None,
        origin: str = "ingest",
        started: float | None = None,
        write_changelogs: bool = True,
    ) -> RunResult:
        """Validate a raw `/v1/models` body and store it as an observation (and snapshot)."""
        observed_at = observed_at or now()
        started = started if started is not None else time.monotonic()
        raw_sha256 = hashlib.sha256(body).hexdigest()
        if self._is_current_body(raw_sha256):
            # The exact bytes of the current snapshot, already validated once: no parse needed.
            with self.engine.begin() as conn:
                self._lock(conn)
                same = self._record_same_bytes(conn, raw_sha256, observed_at=observed_at,
                                               http_status=http_status, origin=origin,
                                               started=started)
            if same is not None:
                return same
        try:
            catalog = self.adapter.parse(body, self._last_parsed)
        except PayloadError as exc:
            self.record_failure(exc, observed_at=observed_at, http_status=http_status,
                                origin=origin, started=started, body=body)
            raise
        self._last_parsed = catalog
        content_hash = catalog.content_hash
        with self.engine.begin() as conn:
            self._lock(conn)
            result = self._store(conn, catalog, content_hash, body, observed_at=observed_at,
                                 http_status=http_status, origin=origin, started=started)
        if result.outcome == Outcome.SUSPICIOUS:
            raise SuspiciousCatalogError(result.error or "catalog held as suspicious",
                                         observation_id=result.observation_id)
        if result.snapshot is not None and result.outcome == Outcome.NEW:
            self._cache.put(result.snapshot.id, catalog, body)
        if result.is_transition and write_changelogs and self.reports_dir is not None:
            result.changelogs = write_changelog(self.reports_dir, result)
        return result

    def record_failure(
        self,
        error: TrackerError,
        *,
        observed_at: datetime,
        http_status: int | None,
        origin: str,
        started: float | None = None,
        body: bytes | None = None,
    ) -> int:
        """Store a failed or rejected poll as an observation (no snapshot)."""
        outcome = (Outcome.REJECTED if isinstance(error, PayloadError) else Outcome.FAILED).value
        stored_body = None
        if body is not None:
            stored_body = rawbody.compress(body)[:MAX_REJECTED_BODY]
        with self.engine.begin() as conn:
            self._lock(conn)
            observation_id = writes.record_observation(
                conn,
                source_id=self._ensure_source(conn, observed_at),
                observed_at=observed_at,
                outcome=outcome,
                http_status=http_status,
                error=str(error),
                duration_ms=_elapsed_ms(started),
                origin=origin,
                rejected_body=stored_body,
            )
        log.info("source %s: %s: %s", self.source.name, outcome, error)
        return observation_id

    # --- internals ---

    def _is_current_body(self, raw_sha256: str) -> bool:
        with self.engine.connect() as conn:
            source = reads.source_id(conn, self.source.name)
            state = reads.state_at(conn, source) if source is not None else None
        return state is not None and state[0].raw_sha256 == raw_sha256

    def _record_same_bytes(
        self,
        conn: Connection,
        raw_sha256: str,
        *,
        observed_at: datetime,
        http_status: int | None,
        origin: str,
        started: float,
    ) -> RunResult | None:
        """Record an unchanged observation of the current snapshot's exact bytes; None when
        the state moved on meanwhile or the time is out of order (the full path decides)."""
        source = self._ensure_source(conn, observed_at)
        state = reads.state_at(conn, source)
        newest = reads.latest_observation_time(conn, source)
        if state is None or state[0].raw_sha256 != raw_sha256:
            return None
        if newest is not None and observed_at < newest:
            return None
        current = state[0]
        writes.touch_snapshot(conn, current.id, observed_at)
        observation_id = writes.record_observation(
            conn, source_id=source, observed_at=observed_at, http_status=http_status,
            catalog_version=current.catalog_version, content_hash=current.content_hash,
            duration_ms=_elapsed_ms(started), origin=origin, outcome=Outcome.UNCHANGED.value,
            snapshot_id=current.id,
        )
        return RunResult(self.source.name, Outcome.UNCHANGED.value, observed_at, observation_id,
                         snapshot=current, previous=current)

    def _store(
        self,
        conn: Connection,
        catalog: Catalog,
        content_hash: str,
        body: bytes,
        *,
        observed_at: datetime,
        http_status: int | None,
        origin: str,
        started: float,
    ) -> RunResult:
        source = self._ensure_source(conn, observed_at)
        newest = reads.latest_observation_time(conn, source)
        if newest is not None and observed_at < newest:
            raise UsageError(
                f"refusing to ingest a catalog observed at {iso(observed_at)}: source "
                f"{self.source.name!r} already has an observation at {iso(newest)}; "
                "ingest versions oldest first"
            )
        identity = catalog.catalog_version or content_hash
        state = reads.state_at(conn, source)
        current = state[0] if state else None
        existing = reads.snapshot_by_identity(conn, source, identity)

        observation = {
            "source_id": source,
            "observed_at": observed_at,
            "http_status": http_status,
            "catalog_version": catalog.catalog_version,
            "content_hash": content_hash,
            "duration_ms": _elapsed_ms(started),
            "origin": origin,
        }
        if existing is not None and current is not None and existing.id == current.id:
            if existing.content_hash != content_hash:
                log.warning(
                    "catalog_version %s was served again with different content; the first "
                    "content seen under this version is kept",
                    existing.catalog_version,
                )
            writes.touch_snapshot(conn, existing.id, observed_at)
            observation_id = writes.record_observation(
                conn, **observation, outcome=Outcome.UNCHANGED.value, snapshot_id=existing.id
            )
            return RunResult(self.source.name, Outcome.UNCHANGED.value, observed_at, observation_id,
                             snapshot=existing, previous=current)

        held = self._hold_reason(conn, source, catalog, content_hash, current)
        if held is not None:
            observation_id = writes.record_observation(
                conn, **observation, outcome=Outcome.SUSPICIOUS.value, error=held,
                rejected_body=rawbody.compress(body)[:MAX_REJECTED_BODY],
            )
            return RunResult(self.source.name, Outcome.SUSPICIOUS.value, observed_at,
                             observation_id, previous=current, error=held)

        target: SnapshotInfo | None
        if existing is not None:
            outcome, target = Outcome.REVERTED.value, existing
            writes.touch_snapshot(conn, existing.id, observed_at)
            new_catalog = self._catalog(conn, source, existing)
        else:
            outcome = Outcome.NEW.value
            base_id = reads.newest_snapshot_id(conn, source)
            base = None
            if base_id is not None:
                base_info = reads.snapshot_by_id(conn, source, base_id)
                assert base_info is not None
                base_catalog, base_raw = self._catalog_and_raw(conn, source, base_info)
                base = (base_id, base_catalog, base_raw)
            snapshot_id = writes.insert_snapshot(
                conn, source=source, catalog=catalog, content_hash=content_hash, raw=body,
                observed_at=observed_at, base=base,
            )
            target = reads.snapshot_by_id(conn, source, snapshot_id)
            new_catalog = catalog
        assert target is not None

        old_catalog = self._catalog(conn, source, current) if current is not None else None
        records = diff_catalogs(old_catalog, new_catalog)
        observation_id = writes.record_observation(
            conn, **observation, outcome=outcome, snapshot_id=target.id,
            previous_snapshot_id=current.id if current is not None else None,
        )
        if current is not None:
            writes.record_changes(
                conn, source=source, observation_id=observation_id, observed_at=observed_at,
                from_snapshot=current.id, to_snapshot=target.id, records=records,
            )
        return RunResult(self.source.name, outcome, observed_at, observation_id,
                         snapshot=target, previous=current, changes=records)

    def _hold_reason(
        self,
        conn: Connection,
        source: int,
        catalog: Catalog,
        content_hash: str,
        current: SnapshotInfo | None,
    ) -> str | None:
        """Why this catalog should be held instead of becoming the new state, if it should.

        An empty catalog, or one that lost more than `max_shrink` of the current models, is
        more likely a glitch of the router than a real change; announcing hundreds of
        removals would mislead every reader of the reports.
        """
        before = current.model_count if current is not None else 0
        after = len(catalog.models)
        if after and after >= before * (1 - self.max_shrink):
            return None
        if self.accept_shrink or self._seen_held_before(conn, source, content_hash):
            log.warning("source %s: accepting a catalog of %d models (was %d)",
                        self.source.name, after, before)
            return None
        if after == 0:
            what = "the catalog is empty"
        else:
            gone = before - after
            what = (f"{gone:,} of {before:,} models are gone ({gone / before:.0%}, more than "
                    f"the {self.max_shrink:.0%} allowed)")
        return (f"catalog held as suspicious: {what}; if this is real, run again with "
                "--accept-shrink")

    def _seen_held_before(self, conn: Connection, source: int, content_hash: str) -> bool:
        """Whether the same catalog was held on each of the last `accept_shrink_after - 1`
        observations, so that seeing it again now accepts it."""
        if self.accept_shrink_after < 2:
            return False
        recent = reads.observations_for(conn, source, limit=self.accept_shrink_after - 1)
        return len(recent) == self.accept_shrink_after - 1 and all(
            row.outcome == Outcome.SUSPICIOUS and row.content_hash == content_hash for row in recent
        )

    def _catalog(self, conn: Connection, source: int, snapshot: SnapshotInfo) -> Catalog:
        cached = self._cache.get(snapshot.id)
        if cached is not None:
            return cached[0]
        catalog = reads.load_catalog(conn, source, snapshot)
        self._cache.put(snapshot.id, catalog, None)
        return catalog

    def _catalog_and_raw(
        self, conn: Connection, source: int, snapshot: SnapshotInfo
    ) -> tuple[Catalog, bytes]:
        cached = self._cache.get(snapshot.id)
        if cached is not None and cached[1] is not None:
            return cached[0], cached[1]
        catalog = cached[0] if cached else reads.load_catalog(conn, source, snapshot)
        raw = reads.raw_body(conn, snapshot.id)
        self._cache.put(snapshot.id, catalog, raw)
        return catalog, raw

    def _ensure_source(self, conn: Connection, moment: datetime) -> int:
        # Looked up in every transaction, not cached: a source created by a transaction that
        # then rolled back does not exist, and a cached id would fail every later run.
        return writes.ensure_source(
            conn,
            name=self.source.name,
            kind=self.source.kind,
            base_url=self.source.base_url,
            endpoint=self.source.endpoint,
            now=moment,
        )

    def _lock(self, conn: Connection) -> None:
        """Serialize writers of one source (SQLite's BEGIN IMMEDIATE already does)."""
        if conn.dialect.name == "postgresql":
            key = zlib.crc32(f"catalog-tracker:{self.source.name}".encode())
            writes.advisory_xact_lock(conn, key)


def _elapsed_ms(started: float | None) -> int | None:
    return None if started is None else int((time.monotonic() - started) * 1000)
