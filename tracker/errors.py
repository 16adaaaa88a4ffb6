"""The exceptions callers can act on, each mapped to the documented exit code.

Like httpx, a precise hierarchy: the CLI turns any `TrackerError` into one line on stderr
and its `exit_code`; anything else is unexpected (exit 1).
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error the tool reports to the user in one line."""

    exit_code = 1


class UsageError(TrackerError):
    """Bad arguments or configuration (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration (file, environment, flags) is incomplete or wrong (exit 2)."""


class RemoteError(TrackerError):
    """The remote failed: network, HTTP status, authentication (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RemoteError):
    """The API key was refused (401/403)."""


class PayloadError(TrackerError):
    """The payload was rejected as invalid (exit 4)."""

    exit_code = 4

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(UsageError):
    """A snapshot reference or model that does not exist (exit 2)."""


class LockBusyError(TrackerError):
    """Another run holds the lock for this source (exit 5)."""

    exit_code = 5


class UnhealthyError(TrackerError):
    """`tracker status`: a source is stale (older than --max-age) or failing (exit 6)."""

    exit_code = 6


class SuspiciousCatalogError(PayloadError):
    """The catalog was held instead of stored: empty, or too many models gone (exit 4).

    The observation is recorded (outcome `suspicious`, with the body); the state does not
    change, so no report announces removals that a glitch caused.
    """

    def __init__(self, message: str, *, observation_id: int | None = None) -> None:
        super().__init__(message)
        self.observation_id = observation_id
