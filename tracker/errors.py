"""The exceptions callers can act on, each mapped to the documented exit code.

Like httpx, a precise hierarchy: the CLI turns any `TrackerError` into one line on stderr
and its `exit_code`; anything else is unexpected (exit 1).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The documented exit codes of `tracker` (docs/commands.md, "Exit codes")."""

    OK = 0  # success, changed or unchanged
    BUG = 1  # an unexpected error: a bug
    USAGE = 2  # usage or configuration error
    REMOTE = 3  # the remote failed: network, HTTP status, authentication, deadline
    PAYLOAD = 4  # the payload was rejected as invalid, or held as suspicious
    LOCK_BUSY = 5  # another run of the same source holds the run lock
    UNHEALTHY = 6  # `status` found a source stale or failing
    STORAGE = 7  # a file or the database could not be read or written: disk full, corrupt,
    #              read-only, a path that is not a directory
    CHANGELOG_UNWRITTEN = 8  # the state is stored, its changelogs could not be written yet
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class TrackerError(Exception):
    """Base of every error the tool reports to the user in one line."""

    exit_code: int = ExitCode.BUG


class UsageError(TrackerError):
    """Bad arguments or configuration (exit 2)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration (file, environment, flags) is incomplete or wrong (exit 2)."""


class RemoteError(TrackerError):
    """The remote failed: network, HTTP status, authentication (exit 3)."""

    exit_code = ExitCode.REMOTE

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RemoteError):
    """The API key was refused (401/403)."""


class PayloadError(TrackerError):
    """The payload was rejected as invalid (exit 4)."""

    exit_code = ExitCode.PAYLOAD

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(UsageError):
    """A snapshot reference or model that does not exist (exit 2)."""


class LockBusyError(TrackerError):
    """Another run holds the lock for this source (exit 5)."""

    exit_code = ExitCode.LOCK_BUSY


class UnhealthyError(TrackerError):
    """`tracker status`: a source is stale (older than --max-age) or failing (exit 6)."""

    exit_code = ExitCode.UNHEALTHY


class ChangelogWriteError(TrackerError):
    """The catalog was stored, but its changelogs could not be written into the reports
    directory (full, unwritable, not a directory): exit 8.

    Nothing is lost: the changelogs still owed are kept in the `changelogs` table, and the
    next run that writes into the same directory writes them. `result` is the run's
    `RunResult` (the stored observation).
    """

    exit_code = ExitCode.CHANGELOG_UNWRITTEN

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class StorageError(TrackerError):
    """A foreseeable fault of the storage: the disk is full, the database is corrupt, damaged
    or read-only, an output path cannot be written (exit 7). The message names the file (or
    the database, its password hidden) and never holds SQL or its parameters."""

    exit_code = ExitCode.STORAGE


class SuspiciousCatalogError(PayloadError):
    """The catalog was held instead of stored: empty, or too many models gone (exit 4).

    The observation is recorded (outcome `suspicious`, with the body); the state does not
    change, so no report announces removals that a glitch caused.
    """

    def __init__(self, message: str, *, observation_id: int | None = None) -> None:
        super().__init__(message)
        self.observation_id = observation_id
