"""Engines and sessions for the control DB, tuned per backend (SQLite file or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from migrations.errors import DatabaseUnavailable

__all__ = ["check_reachable", "make_engine", "masked_url", "normalize_url", "session_factory"]

# Seconds a PostgreSQL connect may take before we call the server unreachable; without it
# a black-holed host hangs `turnout serve` for minutes instead of failing fast.
_PG_CONNECT_TIMEOUT_S = 10
_SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, pinning PostgreSQL to the psycopg 3 driver.

    SQLAlchemy maps a bare `postgresql://` to psycopg2, which turnout does not ship;
    `postgres://` (as printed by many hosting providers) is accepted for the same reason.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def masked_url(url: str | URL) -> str:
    """The URL as safe to print: the password, if any, replaced by `***`."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL) -> Engine:
    """Create the engine for the control DB at `url`.

    SQLite: the file's folder is created, and every connection enforces foreign keys,
    uses WAL (readers never block the one writer) and waits up to 5 s for a lock.
    PostgreSQL: pooled connections are pinged before use, so a restarted server costs
    one retry instead of an error.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _ensure_sqlite_folder(parsed)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": _PG_CONNECT_TIMEOUT_S}
    return create_engine(parsed, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine` whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def check_reachable(engine: Engine) -> None:
    """Run `SELECT 1`; raise DatabaseUnavailable with a one-line, password-free reason."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise unavailable(engine, exc) from exc


def unavailable(engine: Engine, exc: BaseException) -> DatabaseUnavailable:
    """Build the DatabaseUnavailable for `exc`: URL masked, driver reason's first line."""
    return DatabaseUnavailable(
        f"control DB {masked_url(engine.url)} is unreachable: {short_reason(exc)}"
    )


def short_reason(exc: BaseException) -> str:
    """The driver's own message, first line only (SQLAlchemy appends SQL and a doc link)."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    first = message.splitlines()[0].strip() if message else ""
    return first or type(orig if orig is not None else exc).__name__


def _ensure_sqlite_folder(url: URL) -> None:
    database = url.database
    # In-memory and `file:` URI databases have no folder we could or should create.
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Off by default in SQLite; without it ON DELETE CASCADE/SET NULL never fire.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
