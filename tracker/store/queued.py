"""Writes sent to PostgreSQL without waiting for each one's answer (psycopg's pipeline mode).

Each version of a backfill costs PostgreSQL a few milliseconds of work: its interval rows,
its change records, their foreign-key checks, a round trip per statement. Waited for, that
time adds up to the client's own (the benchmark's import: a second of its four). Queued
(`queued`), the statements are sent and the client goes on, parsing the next version while
the server runs them on the other core. The next statement outside such a block, the commit
or the rollback waits for what is in flight first (`settle`), and the first error of a queued
statement is raised there: it rolls the transaction back as any failed statement would.

Only statements whose answers nobody reads may be queued (an INSERT given its ids, not one
that returns them): a queued statement's result has no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from tracker.store.db import redacted_url, storage_fault

# Keys of the DBAPI connection's info: the open pipeline (an ExitStack that leaves it), and
# whether statements executed now are queued.
_PIPELINE = "tracker_pipeline"
_QUEUEING = "tracker_queueing"


def can_queue(conn: Connection) -> bool:
    """Whether statements on `conn` can be queued: PostgreSQL through psycopg 3, whose libpq
    has a pipeline mode (14 and newer; the binary wheels bring their own)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return False
    return bool(conn.dialect.loaded_dbapi.Pipeline.is_supported())


@contextmanager
def queued(conn: Connection) -> Iterator[None]:
    """Within, the statements executed on `conn` are sent without waiting for their answers
    (where `can_queue`; elsewhere they run as usual). They stay in flight after the block,
    until the next statement outside one, the commit or the rollback (`settle`)."""
    if not can_queue(conn):
        yield
        return
    info = conn.connection.info
    if _PIPELINE not in info:
        _listen(conn.engine)
        stack = ExitStack()
        driver: Any = conn.connection.driver_connection
        stack.enter_context(driver.pipeline())
        info[_PIPELINE] = stack
    info[_QUEUEING] = True
    try:
        yield
    finally:
        info.pop(_QUEUEING, None)


def settle(conn: Connection) -> None:
    """Wait for the statements in flight on `conn`, if any; raise the first one's error as
    any statement's is raised: a storage fault as `StorageError`, another driver error as
    SQLAlchemy's `DBAPIError` (an `IntegrityError` for a broken constraint)."""
    stack = conn.connection.info.pop(_PIPELINE, None)
    if stack is None:
        return
    try:
        stack.close()
    except Exception as exc:
        fault = storage_fault(exc, redacted_url(conn.engine.url))
        if fault is not None:
            raise fault from None
        driver_error = conn.dialect.loaded_dbapi.Error
        if isinstance(exc, driver_error):
            raise DBAPIError.instance(None, None, exc, driver_error,
                                      dialect=conn.dialect) from None
        raise


def _forget(conn: Connection) -> None:
    """Leave the pipeline of a transaction being rolled back: its errors no longer matter."""
    with suppress(Exception):  # the rollback that follows undoes whatever failed
        settle(conn)


def _listen(engine: Engine) -> None:
    """Settle before any other statement, the commit and the rollback of `engine`'s
    connections (listened for once per engine)."""
    if event.contains(engine, "commit", _before_commit):
        return
    event.listen(engine, "before_cursor_execute", _before_statement)
    event.listen(engine, "commit", _before_commit)
    event.listen(engine, "rollback", _before_rollback)
    event.listen(engine, "reset", _before_reset)


def _before_statement(conn: Connection, *_args: Any) -> None:
    info = conn.connection.info
    if _PIPELINE in info and _QUEUEING not in info:
        settle(conn)


def _before_commit(conn: Connection) -> None:
    settle(conn)


def _before_rollback(conn: Connection) -> None:
    _forget(conn)


def _before_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
    # A connection going back to the pool (rolled back by the pool itself): out of pipeline
    # mode first, whatever was in flight.
    stack = connection_record.info.pop(_PIPELINE, None)
    if stack is not None:
        with suppress(Exception):
            stack.close()
