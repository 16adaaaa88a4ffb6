"""The database tables (SQLAlchemy Core). docs/schema.md documents each one for direct querying.

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
    false,
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
    # The content hash: a state is its content (databases from before 0004 may suffix a
    # second snapshot of the same content with ":<id>").
    Column("identity", Text, nullable=False),
    # The label: the catalog_version the content was first served under.
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
    # The catalog_version already labelled another content when this one was served.
    Column("version_reused", Boolean, nullable=False, server_default=false()),
    # The SHA-256 of its catalog text without the volatile members (catalog_age_seconds);
    # NULL until an unchanged poll with other volatile values first compared the bodies.
    Column("catalog_sha256", String(64)),
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
    # The catalog_version served was already the label of another content.
    Column("version_reused", Boolean, nullable=False, server_default=false()),
    Index("ix_observations_source_time", "source_id", "observed_at"),
    # Insertion order within a source (the newest success, the failures after it), and the
    # newest observation of an outcome (the last failure): migration 0006.
    Index("ix_observations_source_id", "source_id", "id"),
    Index("ix_observations_source_outcome", "source_id", "outcome", "observed_at"),
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
    # The views (0005) look interval rows up by the snapshot that opened them.
    Index("ix_model_states_valid_from", "valid_from"),
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
    Index("ix_offers_valid_from", "valid_from"),
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
    Index("ix_changes_observation", "observation_id"),  # a transition's records (0006)
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

# The changelogs each transition is owed, per reports directory: written in the transaction
# that stores the transition, marked written once its files are in place. A run that cannot
# write them (disk full, directory unwritable) leaves them pending; the next run into the same
# directory writes them, so a changelog is never lost.
changelogs = Table(
    "changelogs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("observation_id", ForeignKey("observations.id"), nullable=False),
    # The reports directory, as an absolute path.
    Column("directory", Text, nullable=False),
    # When the files were written; NULL while pending.
    Column("written_at", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    # Failed attempts so far, and the last error.
    Column("failed_attempts", Integer, nullable=False),
    Column("last_error", Text),
    UniqueConstraint("observation_id", "directory", name="uq_changelogs_observation_directory"),
    Index("ix_changelogs_pending", "source_id", "written_at"),
)


# --- the views (migration 0005_views), declared for reading ---
#
# Not part of `metadata`: the migrations create them with CREATE VIEW, and Alembic compares
# tables only. Each column's `comment` is what it holds, as the Datasette metadata shows it.


class ViewTime(TypeDecorator[datetime]):
    """A time column of a view, in UTC: ISO 8601 text ending in Z with microseconds on SQLite
    (fixed width, so that it sorts as the time), timestamp with time zone on PostgreSQL.
    Bound and returned as timezone-aware datetimes."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        moment = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return moment
        return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        result: datetime = value.astimezone(UTC)
        return result


view_metadata = MetaData()

_PRICE = "USD per 1M {} tokens, as a number (the exact decimal text is in `offers`)"
_POLICY = "Data policy: zdr, no_training, none, or NULL (unknown)"
_SNAPSHOT_ID = "The snapshot (`snapshots.id`) of the state it was first observed in"
_VERSION = "The catalog_version of the state it was first observed in"


def _view(name: str, description: str, *columns: Column[Any]) -> Table:
    return Table(name, view_metadata, *columns, comment=description)


offer_history_view = _view(
    "offer_history",
    "Every price and data policy of every offer, one row per uninterrupted interval, with "
    "the observation times it held between",
    Column("source", Text, comment="The source's name (`sources.name`)"),
    Column("model", Text, comment="The model id"),
    Column("provider", Text, comment="The provider's name"),
    Column("input_price", Float, comment=_PRICE.format("input")),
    Column("output_price", Float, comment=_PRICE.format("output")),
    Column("data_policy", Text, comment=_POLICY),
    Column("valid_from_time", ViewTime, comment="When it took effect: the observation (UTC) "
           "of the first state it held in"),
    Column("valid_to_time", ViewTime, comment="When it ended (UTC, exclusive): the "
           "observation of the first state without it; NULL while it holds"),
    Column("catalog_version", Text, comment=_VERSION),
    Column("snapshot_id", Integer, comment=_SNAPSHOT_ID),
)

current_offers_view = _view(
    "current_offers",
    "Every offer of each source's latest state, with the time its price and policy took "
    "effect",
    Column("source", Text, comment="The source's name (`sources.name`)"),
    Column("model", Text, comment="The model id"),
    Column("provider", Text, comment="The provider's name"),
    Column("input_price", Float, comment=_PRICE.format("input")),
    Column("output_price", Float, comment=_PRICE.format("output")),
    Column("data_policy", Text, comment=_POLICY),
    Column("since", ViewTime, comment="When this price and policy took effect (UTC): the "
           "observation of the first state they held in, without a break since"),
    Column("catalog_version", Text, comment=_VERSION),
    Column("snapshot_id", Integer, comment=_SNAPSHOT_ID),
)

model_history_view = _view(
    "model_history",
    "Every value of each model's own fields (context window, endpoints, owner), one row per "
    "uninterrupted interval, with observation times",
    Column("source", Text, comment="The source's name (`sources.name`)"),
    Column("model", Text, comment="The model id"),
    Column("context_window", BigInteger, comment="Context window in tokens; NULL when not "
           "listed"),
    Column("supported_endpoints", Text, comment="The endpoints, as a JSON list; NULL when "
           "not listed"),
    Column("owned_by", Text, comment="The owner the catalog lists"),
    Column("created", BigInteger, comment="The creation time the catalog lists (Unix time)"),
    Column("valid_from_time", ViewTime, comment="When these values took effect (UTC)"),
    Column("valid_to_time", ViewTime, comment="When they ended (UTC, exclusive): the model "
           "left the catalog or changed; NULL while they hold"),
    Column("catalog_version", Text, comment=_VERSION),
    Column("snapshot_id", Integer, comment=_SNAPSHOT_ID),
)

_CHANGE_COLUMNS = (
    ("previous_catalog_version", Text, "The catalog_version of the state before"),
    ("catalog_version", Text, "The catalog_version of the state after"),
    ("from_snapshot_id", Integer, "The snapshot before (`snapshots.id`)"),
    ("to_snapshot_id", Integer, "The snapshot after (`snapshots.id`)"),
    ("observation_id", Integer, "The observation of the transition (`observations.id`)"),
)

price_changes_view = _view(
    "price_changes",
    "Every price change, when first observed, with the prices as numbers",
    Column("source", Text, comment="The source's name (`sources.name`)"),
    Column("observed_at", ViewTime, comment="When the change was first observed (UTC)"),
    Column("model", Text, comment="The model id"),
    Column("provider", Text, comment="The provider's name"),
    Column("field", Text, comment="input_price or output_price"),
    Column("old_price", Float, comment="The price before, USD per 1M tokens"),
    Column("new_price", Float, comment="The price after, USD per 1M tokens"),
    Column("change_pct", Float, comment="The change in percent of the old price; NULL from "
           "a price of 0"),
    *(Column(name, kind, comment=text) for name, kind, text in _CHANGE_COLUMNS),
)

policy_changes_view = _view(
    "policy_changes",
    "Every data-policy change, when first observed, weakenings flagged",
    Column("source", Text, comment="The source's name (`sources.name`)"),
    Column("observed_at", ViewTime, comment="When the change was first observed (UTC)"),
    Column("model", Text, comment="The model id"),
    Column("provider", Text, comment="The provider's name"),
    Column("old_policy", Text, comment="The data policy before (NULL: unknown)"),
    Column("new_policy", Text, comment="The data policy after (NULL: unknown)"),
    Column("weakened", Boolean, comment="A move down zdr > no_training > none"),
    Column("became_unknown", Boolean, comment="A documented policy became NULL or an "
           "undocumented value"),
    *(Column(name, kind, comment=text) for name, kind, text in _CHANGE_COLUMNS),
)

VIEWS: dict[str, Table] = {
    str(view.name): view
    for view in (current_offers_view, offer_history_view, price_changes_view,
                 policy_changes_view, model_history_view)
}
