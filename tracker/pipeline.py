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

import logging
import os
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from tracker.catalog import SAME_CATALOG_SIZE_SLACK, Catalog
from tracker.config import SourceConfig, missing_key_error
from tracker.diff import Change, diff_catalogs
from tracker.effective import DEFAULT_BLEND, Blend
from tracker.errors import (
    ChangelogWriteError,
    PayloadError,
    RemoteError,
    SuspiciousCatalogError,
    TrackerError,
    UsageError,
)
from tracker.logs import redact_body
from tracker.publish import write_changelog
from tracker.sources import adapter_for
from tracker.store import queued, rawbody, reads, writes
from tracker.store.reads import SnapshotInfo
from tracker.timeutil import CLOCK_SKEW, format_age, iso, now
from tracker.vocabulary import TRANSITION_OUTCOMES, Outcome

if TYPE_CHECKING:
    from tracker.client import ClientOptions

log = logging.getLogger(__name__)

# How many writes a shared transaction holds at most, and for how long (`shared_commits`).
SHARED_WRITES = 32
SHARED_SECONDS = 0.25

# An adapter's `catalog_digest` (tracker.sources.base).
Digest = Callable[[bytes], str | None]

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
    # The catalog_version served already labelled another content (a new state, or a
    # return to an earlier one, under a reused version); the version served.
    version_reused: bool = False
    served_version: str | None = None

    @property
    def is_transition(self) -> bool:
        return self.outcome in TRANSITION_OUTCOMES and self.previous is not None

    def diff_json(self) -> dict[str, Any]:
        """The guide's diff object for this transition."""
        return {
            "from": self.previous.to_json() if self.previous else None,
            "to": self.snapshot.to_json() if self.snapshot else None,
            "changes": self.changes,
            "version_reused": self.version_reused,
            "served_version": self.served_version,
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


class _SharedTransaction:
    """One transaction that consecutive writes share (`Pipeline.shared_commits`): committed
    once it holds `most` writes or has been open `seconds`, so that it never holds the
    source's write lock for long."""

    def __init__(self, engine: Engine, most: int, seconds: float) -> None:
        self.engine, self.most, self.seconds = engine, most, seconds
        self.connection: Connection | None = None
        self.writes = 0
        self.opened = 0.0

    def open(self) -> tuple[Connection, bool]:
        """The shared connection, in its transaction; True when it was opened just now."""
        if self.connection is not None:
            return self.connection, False
        connection = self.engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self.connection, self.writes, self.opened = connection, 0, time.monotonic()
        return connection, True

    def written(self) -> None:
        """Count one more write; commit when the transaction is full or old enough."""
        self.writes += 1
        if self.writes >= self.most or time.monotonic() - self.opened >= self.seconds:
            self.commit()

    def commit(self) -> None:
        self._end(Connection.commit)

    def rollback(self) -> None:
        self._end(Connection.rollback)

    def _end(self, how: Callable[[Connection], None]) -> None:
        """End the open transaction, if any, `how` says (commit or rollback), and close its
        connection: the next write opens another."""
        if self.connection is not None:
            connection, self.connection = self.connection, None
            with connection:
                how(connection)


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
        effective_floors: Sequence[str] = (),
        blend: Blend = DEFAULT_BLEND,
    ) -> None:
        self.engine = engine
        self.source = source
        self.reports_dir = reports_dir
        # Changelogs also carry the effective_price_changed records at these floors.
        self.effective_floors = tuple(effective_floors)
        self.blend = blend
        self._client_options = client_options
        # A catalog that loses more than this share of the current models is held, unless
        # accepted for this run or served `accept_shrink_after` times in a row.
        self.max_shrink = source.max_shrink
        self.accept_shrink = accept_shrink
        self.accept_shrink_after = source.accept_shrink_after
        self.adapter = adapter_for(source.kind)
        self._cache = _CatalogCache()
        # The state this pipeline last stored or found, as its transaction committed: a body
        # that is neither its bytes nor its catalog is parsed without asking the database
        # first (`_current_body`). Only a hint: `_store` reads the state in its transaction.
        self._state_hint: SnapshotInfo | None = None
        # The last two bodies whose catalog digest was made (a poll's, and the stored body it
        # was compared with), and their digests.
        self._digests: list[tuple[bytes, str | None]] = []
        # The last catalog parsed in this process: the next parse reuses its unchanged models.
        self._last_parsed: Catalog | None = None
        # Whether a commit waits until it is on disk. A backfill (import-git) turns it off on
        # PostgreSQL: a crash loses at most the last versions, which the next run imports again
        # (SQLite's WAL mode with synchronous=NORMAL makes the same trade for every commit).
        self.durable_commits = True
        # The transaction consecutive writes share, inside `shared_commits`.
        self._shared: _SharedTransaction | None = None

    @contextmanager
    def shared_commits(self, most: int = SHARED_WRITES,
                       seconds: float = SHARED_SECONDS) -> Iterator[None]:
        """Within, `ingest` and `record_failure` write into one transaction, committed after
        `most` writes or `seconds`, and on the way out: a backfill (import-git) then pays one
        commit, one lock and (SQLite) one write of each page it touches for a batch of
        versions, not for each. An error from a write, or any that leaves the block, rolls
        back the writes not committed yet, as a crash would: the next run imports them
        again. A write that owes a changelog commits at once (the changelog is written after
        its commit)."""
        if self._shared is not None:
            yield
            return
        self._shared = _SharedTransaction(self.engine, most, seconds)
        try:
            yield
            self.commit_shared()
        except BaseException:
            self._rollback_shared()
            raise
        finally:
            self._shared = None

    def commit_shared(self) -> None:
        """Commit the writes the shared transaction holds, if any (`shared_commits`)."""
        if self._shared is not None:
            self._shared.commit()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction to write in, holding the source's lock: its own, committed at the
        end of the block, or the one writes share (`shared_commits`)."""
        shared = self._shared
        if shared is None:
            with self.engine.begin() as conn:
                self._lock(conn)
                yield conn
            return
        conn, opened = shared.open()
        try:
            if opened:
                self._lock(conn)
            yield conn
            shared.written()
        except BaseException:
            self._rollback_shared()
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection to read the source's state with: the shared transaction's while one
        is open (it holds writes not committed yet, and on SQLite the write lock)."""
        if self._shared is not None and self._shared.connection is not None:
            yield self._shared.connection
        else:
            with self.engine.connect() as conn:
                yield conn

    def _rollback_shared(self) -> None:
        """Roll back the shared transaction, and forget what this pipeline learnt from it:
        snapshots it cached may not exist (SQLite gives their ids out again)."""
        if self._shared is not None:
            self._shared.rollback()
        self._cache = _CatalogCache()
        self._state_hint = None

    @property
    def client_options(self) -> ClientOptions:
        """The HTTP client's settings (tracker.client, and httpx with it, is imported only by
        a run that fetches: an import-git or an ingest never needs it)."""
        if self._client_options is None:
            from tracker.client import ClientOptions

            self._client_options = ClientOptions()
        return self._client_options

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
            raise missing_key_error(self.source)
        clock = observed_at is None  # the clock's reading, not a time the caller vouches for
        observed_at = observed_at or now()
        started = time.monotonic()
        try:
            url, params = self.adapter.request(self.source.base_url, self.source.endpoint)
            from tracker.client import fetch_catalog  # httpx: only a fetch needs it

            fetched = fetch_catalog(
                url, key, params=params, options=self.client_options, transport=transport
            )
        except RemoteError as exc:
            self.record_failure(exc, observed_at=observed_at, http_status=exc.status,
                                origin="fetch", started=started, clock=clock)
            raise
        body = fetched.body
        if key:
            # A server that echoes the key, raw or JSON-escaped (`\/`, `\u0061`), must not get
            # it into the database or the reports: every decoded string is redacted too.
            body, echoed = redact_body(body, key)
            if echoed:
                log.warning("the response contained the API key; it is stored redacted")
        return self.ingest(
            body,
            observed_at=observed_at,
            http_status=fetched.status,
            origin="fetch",
            started=started,
            clock=clock,
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
        clock: bool | None = None,
    ) -> RunResult:
        """Validate a raw `/v1/models` body and store it as an observation (and snapshot).

        `observed_at` defaults to now. A time given is vouched for by the caller: one later
        than now plus `CLOCK_SKEW` is refused, and so is one before the source's newest
        observation. The clock's own reading (`clock`, the default without `observed_at`)
        is always recorded: when the clock went backwards, at the newest time plus a
        microsecond, with a warning.

        Changelogs of a transition are owed to the reports directory in the same transaction
        (the `changelogs` table), then written with any the directory is still owed; a
        failure to write them raises `ChangelogWriteError` (the state stays stored).
        """
        clock = observed_at is None if clock is None else clock
        observed_at = observed_at or now()
        if not clock:
            _refuse_future(observed_at)
        started = started if started is not None else time.monotonic()
        owe = self._changelog_directory() if write_changelogs else None
        raw_sha256 = rawbody.sha256_hex(body)
        current = self._current_body(body, raw_sha256)
        if current is not None:
            # The exact bytes of the current snapshot, or its catalog text with another
            # catalog_age_seconds, already validated once: no parse needed.
            current_sha256, digest = current
            with self._write() as conn:
                same = self._record_same_bytes(conn, current_sha256, digest,
                                               observed_at=observed_at,
                                               http_status=http_status, origin=origin,
                                               started=started, clock=clock)
            if same is not None:
                self._state_hint = same.snapshot
                return self._deliver_changelogs(same, owe)
        try:
            catalog = self.adapter.parse(body, self._last_parsed)
        except PayloadError as exc:
            self.record_failure(exc, observed_at=observed_at, http_status=http_status,
                                origin=origin, started=started, body=body, clock=clock)
            raise
        self._last_parsed = catalog
        content_hash = catalog.content_hash
        self._state_hint = None  # until the transaction commits
        with self._write() as conn:
            result = self._store(conn, catalog, content_hash, body, observed_at=observed_at,
                                 http_status=http_status, origin=origin, started=started,
                                 clock=clock, owe=owe)
        self._state_hint = (result.previous if result.outcome == Outcome.SUSPICIOUS
                            else result.snapshot)
        if result.outcome == Outcome.SUSPICIOUS:
            raise SuspiciousCatalogError(result.error or "catalog held as suspicious",
                                         observation_id=result.observation_id)
        if result.snapshot is not None and result.outcome == Outcome.NEW:
            self._cache.put(result.snapshot.id, catalog, body)
        return self._deliver_changelogs(result, owe)

    def record_failure(
        self,
        error: TrackerError,
        *,
        observed_at: datetime,
        http_status: int | None,
        origin: str,
        started: float | None = None,
        body: bytes | None = None,
        clock: bool = False,
    ) -> int:
        """Store a failed or rejected poll as an observation (no snapshot); `clock` as in
        `ingest` (a clock that went backwards records at the newest time plus epsilon)."""
        outcome = (Outcome.REJECTED if isinstance(error, PayloadError) else Outcome.FAILED).value
        stored_body = None
        if body is not None:
            stored_body = rawbody.compress(body)[:MAX_REJECTED_BODY]
        with self._write() as conn:
            source = self._ensure_source(conn, observed_at)
            if clock:
                observed_at = self._on_the_clock(conn, source, observed_at)
            observation_id = writes.record_observation(
                conn,
                source_id=source,
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

    # --- changelogs: owed in the transaction, written after it ---

    def _changelog_directory(self) -> str | None:
        """The reports directory as the `changelogs` table keys it (an absolute path)."""
        if self.reports_dir is None:
            return None
        return os.path.abspath(self.reports_dir.expanduser())

    def _deliver_changelogs(self, result: RunResult, directory: str | None) -> RunResult:
        """Write every changelog this source still owes `directory` (this run's transition
        and any an earlier run failed to write), oldest first; `result.changelogs` lists
        the files written. Raises `ChangelogWriteError` (carrying `result`) on the first
        that cannot be written; it and the later ones stay owed to the next run."""
        if directory is None or self.reports_dir is None:
            return result
        self.commit_shared()  # what is owed is read, and marked, in transactions of its own
        with self.engine.connect() as conn:
            source = reads.source_id(conn, self.source.name)
            pending = reads.pending_changelogs(conn, source, directory) if source else []
            owed = {t.observation_id: t for t in reads.transitions_of(
                conn, self.source.name, source, [row.observation_id for row in pending])
            } if source else {}
            if owed and source is not None:
                from tracker.history import mark_restorations

                # A strengthening that undoes the offer's last weakening says so.
                mark_restorations(conn, source, owed.values())
            if owed and source is not None and self.effective_floors:
                from tracker.history import add_effective

                known = {sid: item[0] for sid in {t.before.id for t in owed.values()}
                         if (item := self._cache.get(sid)) is not None}
                add_effective(conn, source, sorted(owed.values(),
                                                   key=lambda t: t.observation_id),
                              self.effective_floors, self.blend, catalogs=known)
        for row in pending:
            transition = owed.get(row.observation_id)
            moment = now()
            if transition is None:  # not a transition (cannot happen): nothing to write
                with self.engine.begin() as conn:
                    writes.changelog_written(conn, row.id, moment)
                continue
            try:
                paths = write_changelog(self.reports_dir, transition)
            except OSError as exc:
                reason = _os_error_text(exc)
                with self.engine.begin() as conn:
                    writes.changelog_failed(conn, row.id, moment, reason)
                left = len(pending) - pending.index(row)
                stored = (f"snapshot {result.snapshot.label} is stored"
                          if result.snapshot is not None else "the catalog is stored")
                raise ChangelogWriteError(
                    f"source {self.source.name}: {stored}, but the changelog of "
                    f"{transition.before.label} -> {transition.after.label} "
                    f"({iso(transition.observed_at)}) could not be written to {directory}: "
                    f"{reason}; {left} changelog{'s' if left != 1 else ''} owed, written by "
                    "the next run", result=result) from None
            with self.engine.begin() as conn:
                writes.changelog_written(conn, row.id, moment)
            if transition.observation_id != result.observation_id:
                log.warning("source %s: wrote the changelog an earlier run owed: %s",
                            self.source.name, ", ".join(p.name for p in paths))
            result.changelogs.extend(paths)
        return result

    # --- internals ---

    def _on_the_clock(self, conn: Connection, source: int, observed_at: datetime) -> datetime:
        """The time to record a clock reading at: the reading, or just after the source's
        newest observation when the clock reads earlier (it went backwards, or an earlier
        observation was dated ahead): what was seen is recorded, in order."""
        return self._clock_time(observed_at, reads.latest_observation_time(conn, source))

    def _clock_time(self, observed_at: datetime, newest: datetime | None) -> datetime:
        """`_on_the_clock` with the source's newest observation time already read."""
        if newest is None or observed_at >= newest:
            return observed_at
        adjusted = newest + CLOCK_EPSILON
        log.warning(
            "source %s: the clock reads %s, before the newest observation (%s): recording this "
            "one at %s", self.source.name, iso(observed_at), iso(newest), iso(adjusted))
        return adjusted

    def _current_body(self, body: bytes,
                      raw_sha256: str) -> tuple[str, str | None] | None:
        """The raw_sha256 of the current snapshot when `body` is its exact bytes or, for an
        adapter that knows its volatile fields (`catalog_digest`), its very catalog text;
        with it, the digest of that text when the snapshot has none recorded yet (to record
        with the observation). None otherwise. The current body is read back only when the
        sizes are that close and the snapshot has no digest recorded."""
        catalog_digest = getattr(self.adapter, "catalog_digest", None)
        hint = self._state_hint
        if hint is not None and hint.raw_sha256 != raw_sha256 and not self._may_be_catalog_of(
                hint, body, catalog_digest):
            # Not the state this pipeline last stored: the full path decides, reading the
            # state in its transaction (another writer's state is found there, and the same
            # content is recorded unchanged as here).
            return None
        with self._read() as conn:
            source = reads.source_id(conn, self.source.name)
            state = reads.state_at(conn, source) if source is not None else None
            if state is None:
                return None
            current = state[0]
            if current.raw_sha256 == raw_sha256:
                return raw_sha256, None
            if (catalog_digest is None
                    or abs(current.raw_size - len(body)) > SAME_CATALOG_SIZE_SLACK):
                return None
            digest = self._digest_of(body, catalog_digest)
            if digest is None:
                return None
            if current.catalog_sha256 is not None:
                return (current.raw_sha256, None) if digest == current.catalog_sha256 else None
            cached = self._cache.get(current.id)
            if cached is not None and cached[1] is not None:
                accepted = cached[1]
            else:
                accepted = reads.raw_body(conn, current.id)
        if self._digest_of(accepted, catalog_digest) != digest:
            return None
        return current.raw_sha256, digest

    def _may_be_catalog_of(self, snapshot: SnapshotInfo, body: bytes,
                           catalog_digest: Digest | None) -> bool:
        """Whether `body` may hold the very catalog text of `snapshot` (as `_current_body`
        asks), without reading the database: True unless the sizes are too far apart, or
        the snapshot's digest is known (recorded, or of its cached body) and says no."""
        if (catalog_digest is None
                or abs(snapshot.raw_size - len(body)) > SAME_CATALOG_SIZE_SLACK):
            return False
        known = snapshot.catalog_sha256
        if known is None:
            cached = self._cache.get(snapshot.id)
            if cached is None or cached[1] is None:
                return True
            known = self._digest_of(cached[1], catalog_digest)
        return known is not None and self._digest_of(body, catalog_digest) == known

    def _digest_of(self, body: bytes, catalog_digest: Digest) -> str | None:
        """`catalog_digest(body)`, made once per body: `_may_be_catalog_of` and
        `_current_body` both ask, of the poll's body and of the cached one."""
        for known, digest in self._digests:
            if known is body:
                return digest
        digest = catalog_digest(body)
        self._digests = [(body, digest), *self._digests[:1]]
        return digest

    def _record_same_bytes(
        self,
        conn: Connection,
        raw_sha256: str,
        catalog_digest: str | None,
        *,
        observed_at: datetime,
        http_status: int | None,
        origin: str,
        started: float,
        clock: bool,
    ) -> RunResult | None:
        """Record an unchanged observation of the current snapshot (whose body's SHA-256 is
        `raw_sha256`), and the digest of its catalog text when given; None when the state
        moved on meanwhile or the time is out of order (the full path decides)."""
        source = self._ensure_source(conn, observed_at)
        state = reads.state_at(conn, source)
        if state is None or state[0].raw_sha256 != raw_sha256:
            return None
        if clock:
            observed_at = self._on_the_clock(conn, source, observed_at)
        newest = reads.latest_observation_time(conn, source)
        if newest is not None and observed_at < newest:
            return None
        current = state[0]
        writes.touch_snapshot(conn, current.id, observed_at)
        if catalog_digest is not None and current.catalog_sha256 is None:
            writes.record_catalog_digest(conn, current.id, catalog_digest)
            current = replace(current, catalog_sha256=catalog_digest)
        observation_id = writes.record_observation(
            conn, source_id=source, observed_at=observed_at, http_status=http_status,
            catalog_version=current.catalog_version, content_hash=current.content_hash,
            duration_ms=_elapsed_ms(started), origin=origin, outcome=Outcome.UNCHANGED.value,
            snapshot_id=current.id,
        )
        return RunResult(self.source.name, Outcome.UNCHANGED.value, observed_at, observation_id,
                         snapshot=current, previous=current,
                         served_version=current.catalog_version)

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
        clock: bool,
        owe: str | None,
    ) -> RunResult:
        version = catalog.catalog_version
        # The source's newest observation, its state, the snapshot of this content and the
        # labels, in one read (a round trip per statement per version on PostgreSQL).
        context = reads.store_context(conn, self.source.name, content_hash, version,
                                      allocate=queued.can_queue(conn))
        if context is None:  # a new source: nothing stored yet
            context = reads.StoreContext(
                source_id=self._ensure_source(conn, observed_at), newest_observed_at=None,
                current=None, existing=None, version_reused=False, newest_snapshot_id=None,
                snapshot_count=0)
        source = context.source_id
        newest = context.newest_observed_at
        if clock:
            observed_at = self._clock_time(observed_at, newest)
        if newest is not None and observed_at < newest:
            raise UsageError(
                f"refusing to ingest a catalog observed at {iso(observed_at)}: source "
                f"{self.source.name!r} already has an observation at {iso(newest)}; "
                "ingest versions oldest first"
            )
        # A state is its content: the same content is the same snapshot whatever version it
        # is served under, and the same version with other content is another state.
        current = context.current
        reused = context.version_reused

        observation = {
            "source_id": source,
            "observed_at": observed_at,
            "http_status": http_status,
            "catalog_version": catalog.catalog_version,
            "content_hash": content_hash,
            "duration_ms": _elapsed_ms(started),
            "origin": origin,
        }
        # On PostgreSQL the writes are queued (tracker.store.queued): the ids they need were
        # drawn with the context, and everything they need is read before them.
        ids = ({"id": context.next_observation_id}
               if context.next_observation_id is not None else {})
        writing = queued.queued(conn) if ids else nullcontext()
        if current is not None and current.content_hash == content_hash:
            with writing:
                writes.touch_snapshot(conn, current.id, observed_at)
                observation_id = writes.record_observation(
                    conn, **observation, **ids, outcome=Outcome.UNCHANGED.value,
                    snapshot_id=current.id)
            return RunResult(self.source.name, Outcome.UNCHANGED.value, observed_at, observation_id,
                             snapshot=current, previous=current, served_version=version)
        existing = context.existing

        held = self._hold_reason(conn, source, catalog, content_hash, current)
        if held is not None:
            with writing:
                observation_id = writes.record_observation(
                    conn, **observation, **ids, outcome=Outcome.SUSPICIOUS.value, error=held,
                    rejected_body=rawbody.compress(body)[:MAX_REJECTED_BODY],
                )
            return RunResult(self.source.name, Outcome.SUSPICIOUS.value, observed_at,
                             observation_id, previous=current, error=held)

        old_catalog = self._catalog(conn, source, current) if current is not None else None
        base = None
        if existing is not None:
            outcome, new_catalog = Outcome.REVERTED.value, self._catalog(conn, source, existing)
        else:
            outcome, new_catalog = Outcome.NEW.value, catalog
            base_id = context.newest_snapshot_id
            if base_id is not None:
                base_catalog, base_raw = self._catalog_and_raw(
                    conn, source, base_id,
                    current if current is not None and current.id == base_id else None)
                base = (base_id, base_catalog, base_raw)
        records = diff_catalogs(old_catalog, new_catalog)
        if reused:
            log.warning("source %s: catalog version %s was re-served with different content: "
                        "recorded as another state", self.source.name, version)
        with writing:  # queued: a new snapshot's id was drawn with the observation's
            if existing is not None:
                target = existing
                writes.touch_snapshot(conn, existing.id, observed_at)
            else:
                target = writes.insert_snapshot(
                    conn, source=source, catalog=catalog, content_hash=content_hash, raw=body,
                    observed_at=observed_at, base=base, version_reused=reused,
                    snapshot_count=context.snapshot_count,
                    snapshot_id=context.next_snapshot_id,
                )
            observation_id = writes.record_observation(
                conn, **observation, **ids, outcome=outcome, snapshot_id=target.id,
                previous_snapshot_id=current.id if current is not None else None,
                version_reused=reused,
            )
            if current is not None:
                writes.record_changes(
                    conn, source=source, observation_id=observation_id,
                    observed_at=observed_at, from_snapshot=current.id, to_snapshot=target.id,
                    records=records,
                )
                if owe is not None:
                    writes.owe_changelog(conn, source_id=source, observation_id=observation_id,
                                         directory=owe)
        return RunResult(self.source.name, outcome, observed_at, observation_id,
                         snapshot=target, previous=current, changes=records,
                         version_reused=reused, served_version=version)

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
        self, conn: Connection, source: int, snapshot_id: int,
        snapshot: SnapshotInfo | None = None,
    ) -> tuple[Catalog, bytes]:
        """The catalog and raw body of a snapshot (`snapshot`, when given, is its info: the
        cache answers without it, and it is read only when the catalog must be)."""
        cached = self._cache.get(snapshot_id)
        if cached is not None and cached[1] is not None:
            return cached[0], cached[1]
        if cached is not None:
            catalog = cached[0]
        else:
            if snapshot is None:
                snapshot = reads.snapshot_by_id(conn, source, snapshot_id)
                assert snapshot is not None
            catalog = reads.load_catalog(conn, source, snapshot)
        raw = reads.raw_body(conn, snapshot_id)
        self._cache.put(snapshot_id, catalog, raw)
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
            writes.advisory_xact_lock(conn, key, durable=self.durable_commits)


# A clock reading before the newest observation is recorded this much after it.
CLOCK_EPSILON = timedelta(microseconds=1)


def _refuse_future(observed_at: datetime) -> None:
    """A time given for an observation may not be later than now plus `CLOCK_SKEW`: one
    dated in the future would make every later fetch look out of order."""
    moment = now()
    if observed_at > moment + CLOCK_SKEW:
        raise UsageError(
            f"refusing an observation time of {iso(observed_at)}: it is later than now "
            f"({iso(moment.replace(microsecond=0))}) by more than {format_age(CLOCK_SKEW)}"
        )


def _os_error_text(exc: OSError) -> str:
    """An OS error as one line: the reason and the file ("No space left on device: x")."""
    reason = exc.strerror or type(exc).__name__
    name = exc.filename
    return f"{reason}: {name}" if name else reason


def _elapsed_ms(started: float | None) -> int | None:
    return None if started is None else int((time.monotonic() - started) * 1000)
