"""Backfill from a git-scraping repository: every committed version of one file, oldest first,
each observed at its commit time.

Re-running continues where the last run stopped: commits already imported are skipped, and so
are commits older than the newest observation of the source (history only moves forward).
"""

from __future__ import annotations

import gc
import logging
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tracker.errors import PayloadError, SuspiciousCatalogError, UsageError
from tracker.pipeline import Pipeline
from tracker.store import reads
from tracker.timeutil import parse_iso

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ORIGIN_PREFIX = "import-git:"
GC_EVERY = 100


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: datetime


@dataclass
class ImportSummary:
    commits: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    held: int = 0  # suspicious versions (empty, or too many models gone), not stored
    outcomes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "commits": self.commits,
            "imported": self.imported,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "held": self.held,
            "outcomes": self.outcomes,
        }


def _git(repo_path: Path, *args: str) -> str:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo_path), *args],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (needed by import-git)") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise UsageError(
            f"git failed in {repo_path}: {detail[-1] if detail else exc.returncode}"
        ) from None
    return completed.stdout


def list_commits(repo_path: Path, file_path: str, ref: str = "HEAD") -> list[Commit]:
    """Commits of `ref` that changed `file_path`, oldest first."""
    if not (repo_path / ".git").exists() and not _git(
        repo_path, "rev-parse", "--is-inside-work-tree"
    ).strip():
        raise UsageError(f"{repo_path} is not a git repository")
    out = _git(repo_path, "log", "--reverse", "--format=%H %cI", ref, "--", file_path)
    commits = []
    for line in out.splitlines():
        sha, _, when = line.partition(" ")
        commits.append(Commit(sha=sha, committed_at=parse_iso(when)))
    return commits


def iter_blobs(
    repo_path: Path, file_path: str, commits: list[Commit]
) -> Iterator[tuple[Commit, bytes | None]]:
    """Each commit's version of the file (None where the commit deleted it), read through one
    `git cat-file --batch` process rather than one process per version.

    Every request is handed to git at once (from a file: nothing to deadlock on), so git
    inflates the next version while this one is ingested, through a pipe widened to
    `PIPE_SIZE` where the system allows: a catalog in a few writes, not in 16 per megabyte.
    """
    with tempfile.TemporaryFile() as requests:
        requests.write(b"".join(f"{commit.sha}:{file_path}\n".encode() for commit in commits))
        requests.seek(0)
        process = subprocess.Popen(
            ["git", "-C", str(repo_path), "cat-file", "--batch"],
            stdin=requests,
            stdout=subprocess.PIPE,
        )
    assert process.stdout is not None
    _widen(process.stdout.fileno())
    try:
        for commit in commits:
            header = process.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                yield commit, None
                continue
            size = int(header[2])
            body = process.stdout.read(size)
            process.stdout.read(1)  # the newline after each object
            yield commit, body
    finally:
        process.stdout.close()  # git stops at its next write, when this stopped early
        process.wait()


# Pipes default to 64 KiB; Linux lets any process widen its own to 1 MiB
# (/proc/sys/fs/pipe-max-size).
PIPE_SIZE = 1 << 20


def _widen(fd: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with suppress(OSError):
        fcntl.fcntl(fd, set_size, PIPE_SIZE)


def import_git(
    pipeline: Pipeline,
    repo_path: Path,
    file_path: str,
    *,
    ref: str = "HEAD",
    write_changelogs: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Ingest every committed version of `file_path` not imported yet, oldest first."""
    repo_path = repo_path.expanduser()
    if not repo_path.is_dir():
        raise UsageError(f"no such directory: {repo_path}")
    commits = list_commits(repo_path, file_path, ref)
    if not commits:
        raise UsageError(f"no commit of {ref} touches {file_path!r} in {repo_path}")
    done, newest = _already_imported(pipeline)
    todo = []
    summary = ImportSummary(commits=len(commits))
    for commit in commits:
        if commit.sha in done or (newest is not None and commit.committed_at < newest):
            summary.skipped += 1
        else:
            todo.append(commit)
    if progress:
        progress(0, len(todo))
    # A backfill need not wait for each version to reach the disk, nor commit each on its
    # own (versions share transactions of a quarter of a second at most): a crash loses at
    # most the last versions imported, and the next run imports them again.
    durable, pipeline.durable_commits = pipeline.durable_commits, False
    try:
        with _automatic_gc_paused(), pipeline.shared_commits():
            _ingest_all(pipeline, repo_path, file_path, todo, summary, write_changelogs,
                        progress)
    finally:
        pipeline.durable_commits = durable
    return summary


@contextmanager
def _automatic_gc_paused() -> Iterator[None]:
    """Pause automatic garbage collection; the import loop collects every GC_EVERY versions.

    Each version allocates a megabyte of JSON objects while the previous catalogs stay alive;
    automatic collections would walk that whole heap dozens of times per version (measured:
    parsing took 3 to 4 times longer). The data is acyclic, so reference counting frees it.
    What the process held before the import (its modules, SQLAlchemy's) is frozen out of the
    collections meanwhile: 45 ms each otherwise, for nothing to collect. A host that froze
    its own heap already keeps it as it was (nothing is frozen or thawed then).
    """
    was_enabled = gc.isenabled()
    freeze = gc.get_freeze_count() == 0
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _ingest_all(
    pipeline: Pipeline,
    repo_path: Path,
    file_path: str,
    todo: list[Commit],
    summary: ImportSummary,
    write_changelogs: bool,
    progress: Callable[[int, int], None] | None,
) -> None:
    latest: datetime | None = None
    for index, (commit, body) in enumerate(iter_blobs(repo_path, file_path, todo), start=1):
        if body is None:
            summary.skipped += 1  # the file was deleted in this commit
        else:
            if latest is not None and commit.committed_at < latest:
                # Dated before a version imported already: refused, and the import stops.
                # What came before it is committed first, so that the next run, which
                # skips the commits dated before the newest observation, goes on past it.
                pipeline.commit_shared()
            latest = max(latest or commit.committed_at, commit.committed_at)
            try:
                result = pipeline.ingest(
                    body,
                    observed_at=commit.committed_at,
                    origin=ORIGIN_PREFIX + commit.sha,
                    write_changelogs=write_changelogs,
                )
            except SuspiciousCatalogError as exc:
                summary.held += 1
                log.warning("commit %s held: %s", commit.sha[:12], exc)
            except PayloadError as exc:
                summary.rejected += 1
                log.warning("commit %s rejected: %s", commit.sha[:12], exc)
            else:
                summary.imported += 1
                summary.outcomes[result.outcome] = summary.outcomes.get(result.outcome, 0) + 1
        if progress:
            progress(index, len(todo))
        if index % GC_EVERY == 0:
            gc.collect()


def _already_imported(pipeline: Pipeline) -> tuple[set[str], datetime | None]:
    """Commits already imported for this source, and its newest observation time."""
    with pipeline.engine.connect() as conn:
        source_id = reads.source_id(conn, pipeline.source.name)
        if source_id is None:
            return set(), None
        origins = reads.origins_with_prefix(conn, source_id, ORIGIN_PREFIX)
        done = {origin.removeprefix(ORIGIN_PREFIX) for origin in origins}
        return done, reads.latest_observation_time(conn, source_id)
