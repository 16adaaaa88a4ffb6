"""The database tables (SQLAlchemy Core). The README documents each one for direct querying.

History is kept as validity intervals, as dbt snapshots do: a row of `model_states` or `offers`
holds one value of a model or of a provider's offer, valid from the snapshot that introduced it
(`valid_from`, inclusive) to the snapshot that replaced it (`valid_to`, exclusive; NULL while
current). Storage grows with the number of changes, not with snapshots times catalog size.
Snapshot ids increase in creation order within a source, which is what the intervals count in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Times in UTC: stored without zone (portable to SQLite), returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for raw SQL expressions
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC)
        return result


# Prices are exact decimals kept as canonical text ("2.5", "0.075"): SQLite has no exact
# numeric type, and the same text on every backend keeps comparisons exact everywhere.
Decimal_ = String(40)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(50), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("endpoint", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    # catalog_version when the payload has one, else the content hash.
    Column("identity", Text, nullable=False),
    Column("catalog_version", Text),
    Column("content_hash", String(64), nullable=False),
    Column("first_observed_at", UTCDateTime, nullable=False),
    Column("last_observed_at", UTCDateTime, nullable=False),
    Column("model_count", Integer, nullable=False),
    Column("provider_count", Integer, nullable=False),
    # Top-level fields of the payload that the schema does not know (kept and diffed).
    Column("extra", JSON, nullable=False),
    # The exact bytes received, zstd-compressed; a delta against raw_base_id's body when set.
    Column("raw_body", LargeBinary, nullable=False),
    Column("raw_base_id", ForeignKey("snapshots.id")),
    Column("raw_size", Integer, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    UniqueConstraint("source_id", "identity", name="uq_snapshots_source_identity"),
)

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    # new | unchanged | reverted | failed | rejected
    Column("outcome", String(20), nullable=False),
    Column("http_status", Integer),
    Column("catalog_version", Text),
    Column("content_hash", String(64)),
    Column("snapshot_id", ForeignKey("snapshots.id")),
    # The state before this observation, set when the observation is a transition.
    Column("previous_snapshot_id", ForeignKey("snapshots.id")),
    Column("error", Text),
    Column("duration_ms", Integer),
    # Where the observation came from: fetch, ingest, import-git (with the commit), demo.
    Column("origin", Text),
    # The body of a rejected payload, zstd-compressed, kept for audit (capped).
    Column("rejected_body", LargeBinary),
    Index("ix_observations_source_time", "source_id", "observed_at"),
)

model_states = Table(
    "model_states",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("model_id", Text, nullable=False),
    Column("valid_from", ForeignKey("snapshots.id"), nullable=False),
    Column("valid_to", ForeignKey("snapshots.id")),
    # Remote integers: a creation time in milliseconds needs more than 32 bits.
    Column("created", BigInteger, nullable=False),
    Column("owned_by", Text, nullable=False),
    Column("context_window", BigInteger),
    Column("supported_endpoints", JSON),
    Column("extra", JSON, nullable=False),
    # Closing an interval looks a model's open row up by these columns.
    Index("ix_model_states_source_model", "source_id", "model_id", "valid_to"),
    Index("ix_model_states_source_valid", "source_id", "valid_to", "valid_from"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("model_id", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("valid_from", ForeignKey("snapshots.id"), nullable=False),
    Column("valid_to", ForeignKey("snapshots.id")),
    Column("input_price", Decimal_, nullable=False),
    Column("output_price", Decimal_, nullable=False),
    Column("data_policy", Text),
    Column("extra", JSON, nullable=False),
    Index("ix_offers_source_model", "source_id", "model_id", "provider", "valid_to"),
    Index("ix_offers_source_valid", "source_id", "valid_to", "valid_from"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("observation_id", ForeignKey("observations.id"), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("from_snapshot_id", ForeignKey("snapshots.id"), nullable=False),
    Column("to_snapshot_id", ForeignKey("snapshots.id"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("model", Text),
    Column("provider", Text),
    Column("field", Text),
    Column("old", JSON),
    Column("new", JSON),
    Column("change_pct", Float),
    Column("weakened", Boolean),
    # field_changed / shutdown_announced: "old" or "new" when that side had no such field.
    Column("absent", String(3)),
    Index("ix_changes_source_time", "source_id", "observed_at"),
    Index("ix_changes_kind", "kind", "observed_at"),
)

# Delivery state of each notification target (one Apprise URL of one [[notify]] rule) for
# each source: which transitions it has been told about, so a failed delivery is retried by
# the next run, and whether it was alerted about the current streak of failed runs.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    # SHA-256 of the URL and the rule's filters: the URL itself is a secret and not stored.
    Column("target", String(64), nullable=False),
    # For people: the rule name and the URL without credentials, e.g. "ops (slack://…)".
    Column("label", String(500), nullable=False),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    # Transitions observed up to this observation id have been delivered (or filtered out).
    Column("delivered_through", Integer, nullable=False),
    # The first observation of the failure streak this target was alerted about; NULL when
    # no alert is outstanding.
    Column("failure_alert_from", Integer),
    Column("last_attempt_at", UTCDateTime),
    Column("last_delivered_at", UTCDateTime),
    # Failed deliveries in a row, and the last error (without the URL).
    Column("failed_attempts", Integer, nullable=False),
    Column("last_error", Text),
    UniqueConstraint("target", "source_id", name="uq_notifications_target_source"),
)
