"""Schema versions of the control DB: upgrade, downgrade and checks, driven by Alembic in code.

Alembic is configured here rather than by an ini file so it works from any working
directory and never touches the process's logging configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from migrations.engine import make_engine, masked_url, short_reason, unavailable
from migrations.errors import MigrationError, SchemaOutOfDate

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current",
    "downgrade",
    "ensure_schema",
    "head",
    "is_current",
    "upgrade",
]

# Not Alembic's default `alembic_version`: MLflow keeps its own Alembic history in that
# table, and the two may share one PostgreSQL database.
VERSION_TABLE = "turnout_schema_version"

# Any constant works; it only has to be the same for every turnout process so that
# replicas starting together on one PostgreSQL run the upgrade one at a time.
_PG_UPGRADE_LOCK_KEY = 0x7475726E6F7574  # "turnout"

_HERE = Path(__file__).resolve().parent

Target = str | URL | Engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for this package; `connection`, if given, is what env.py uses."""
    cfg = Config()
    # configparser interpolates `%`, so a path containing one must be escaped.
    cfg.set_main_option("script_location", str(_HERE).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if rev is None:  # pragma: no cover - the package always ships 0001
        raise MigrationError("no migration scripts found")
    return rev


def upgrade(target: Target, revision: str = "head") -> None:
    """Migrate the control DB forward to `revision` (default: the newest)."""
    _run(target, lambda cfg: command.upgrade(cfg, revision), f"upgrade to {revision}")


def downgrade(target: Target, revision: str) -> None:
    """Migrate the control DB back to `revision` ("base" removes every turnout table)."""
    _run(target, lambda cfg: command.downgrade(cfg, revision), f"downgrade to {revision}")


def current(target: Target) -> str | None:
    """The DB's schema revision, or None for a DB turnout has never migrated."""
    with _engine(target) as engine, _connect(engine) as conn:
        try:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
        except OperationalError as exc:
            if exc.connection_invalidated:
                raise unavailable(engine, exc) from exc
            raise _failed(engine, "reading the schema revision", exc) from exc
        except (SQLAlchemyError, CommandError) as exc:
            raise _failed(engine, "reading the schema revision", exc) from exc


def is_current(engine: Engine) -> bool:
    """True when the DB is exactly at this code's head revision."""
    return current(engine) == head()


def ensure_schema(engine: Engine, auto_upgrade: bool) -> None:
    """Make sure the schema is at head before the caller uses it.

    Behind head: upgrade if `auto_upgrade`, else raise SchemaOutOfDate naming the
    command to run. Ahead of head (a newer turnout migrated it): raise MigrationError,
    since downgrading someone else's schema on startup would lose data.
    """
    rev = current(engine)
    newest = head()
    if rev == newest:
        return
    if rev is not None and not _known(rev):
        raise MigrationError(
            f"control DB {masked_url(engine.url)} is at schema revision {rev}, "
            f"which this turnout (head {newest}) does not know; upgrade turnout"
        )
    if not auto_upgrade:
        raise SchemaOutOfDate(
            f"control DB {masked_url(engine.url)} is at schema revision {rev or 'none'}, "
            f"this turnout needs {newest}: run `turnout db upgrade`"
        )
    upgrade(engine)


def _known(rev: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(rev) is not None
    except (CommandError, RevisionError):
        return False


def _run(target: Target, action: Callable[[Config], None], what: str) -> None:
    with _engine(target) as engine:
        conn = _connect(engine)
        with conn:
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        # Transaction-scoped, so the commit releases it; a replica that
                        # waited then finds the schema at head and has nothing to do.
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK_KEY}
                        )
                    action(alembic_config(conn))
            except OperationalError as exc:
                if exc.connection_invalidated:
                    raise unavailable(engine, exc) from exc
                raise _failed(engine, what, exc) from exc
            except (SQLAlchemyError, CommandError) as exc:
                raise _failed(engine, what, exc) from exc


def _connect(engine: Engine) -> Connection:
    # Failing to connect means "unreachable"; failing later means the migration broke.
    try:
        return engine.connect()
    except OperationalError as exc:
        raise unavailable(engine, exc) from exc


def _failed(engine: Engine, what: str, exc: BaseException) -> MigrationError:
    return MigrationError(f"{what} of {masked_url(engine.url)} failed: {short_reason(exc)}")


@contextmanager
def _engine(target: Target) -> Iterator[Engine]:
    """Use the caller's engine as is, or a private one built from a URL and disposed after."""
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()
