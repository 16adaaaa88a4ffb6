"""catalog-tracker: watch an LLM router's model catalog and report what changed.

The product is one object, `Tracker`; the `tracker` command line is a thin face on it.

>>> from tracker import Tracker
>>> from tracker.demo import demo_catalogs
>>> with Tracker.open("sqlite://", environ={}) as t:     # an in-memory database
...     for body in demo_catalogs()[:2]:
...         _ = t.ingest(body)
...     print(t.diff()["changes"][0]["kind"])
price_changed

Data flows one way: client (fetch) -> catalog (validate, normalize) -> store -> diff -> reports.
Names are imported on first use, so `import tracker` stays cheap for a cron run.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tracker.errors import (
    AuthError,
    ChangelogWriteError,
    ConfigError,
    ExitCode,
    LockBusyError,
    NotFoundError,
    PayloadError,
    RemoteError,
    StorageError,
    SuspiciousCatalogError,
    TrackerError,
    UnhealthyError,
    UsageError,
)
from tracker.vocabulary import Change, ChangeKind, Diff, Outcome, SnapshotJSON

if TYPE_CHECKING:
    from tracker.api import Tracker
    from tracker.config import Settings, SourceConfig
    from tracker.datasette_meta import DatasetteMetadata
    from tracker.effective import EffectiveOffer
    from tracker.exports import ExportResult
    from tracker.gitimport import ImportSummary
    from tracker.history import (
        AuditRecord,
        CurrentPolicies,
        EffectiveReport,
        ModelHistory,
        SourceReport,
        WindowReport,
    )
    from tracker.pipeline import RunResult
    from tracker.price_lookup import HeldOffer, PriceAt
    from tracker.publish import SiteResult
    from tracker.runner import RunReport, SourceOutcome
    from tracker.status import SourceStatus, StatusReport
    from tracker.store.reads import SnapshotInfo
    from tracker.usage import CostImpact
    from tracker.windows import Window

__version__ = "0.1.0"

# Public names that live in heavier modules, imported when first asked for.
_LAZY = {
    "Tracker": "tracker.api",
    "Settings": "tracker.config",
    "SourceConfig": "tracker.config",
    "ImportSummary": "tracker.gitimport",
    "AuditRecord": "tracker.history",
    "CurrentPolicies": "tracker.history",
    "EffectiveReport": "tracker.history",
    "EffectiveOffer": "tracker.effective",
    "CostImpact": "tracker.usage",
    "ModelHistory": "tracker.history",
    "SourceReport": "tracker.history",
    "WindowReport": "tracker.history",
    "RunResult": "tracker.pipeline",
    "SiteResult": "tracker.publish",
    "RunReport": "tracker.runner",
    "SourceOutcome": "tracker.runner",
    "SourceStatus": "tracker.status",
    "StatusReport": "tracker.status",
    "SnapshotInfo": "tracker.store.reads",
    "PriceAt": "tracker.price_lookup",
    "HeldOffer": "tracker.price_lookup",
    "ExportResult": "tracker.exports",
    "DatasetteMetadata": "tracker.datasette_meta",
    "Window": "tracker.windows",
}

__all__ = [
    "AuditRecord",
    "AuthError",
    "Change",
    "ChangeKind",
    "ChangelogWriteError",
    "ConfigError",
    "CostImpact",
    "CurrentPolicies",
    "DatasetteMetadata",
    "Diff",
    "EffectiveOffer",
    "EffectiveReport",
    "ExitCode",
    "ExportResult",
    "HeldOffer",
    "ImportSummary",
    "LockBusyError",
    "ModelHistory",
    "NotFoundError",
    "Outcome",
    "PayloadError",
    "PriceAt",
    "RemoteError",
    "RunReport",
    "RunResult",
    "Settings",
    "SiteResult",
    "SnapshotInfo",
    "SnapshotJSON",
    "SourceConfig",
    "SourceOutcome",
    "SourceReport",
    "SourceStatus",
    "StatusReport",
    "StorageError",
    "SuspiciousCatalogError",
    "Tracker",
    "TrackerError",
    "UnhealthyError",
    "UsageError",
    "Window",
    "WindowReport",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
