"""Alembic environment: runs the version scripts against the control DB.

Normally `migrations.schema` hands over an open connection (config.attributes). Run by
Alembic's own CLI for development (`alembic -c migrations/alembic.ini -x url=...`), it
connects to the URL given with `-x url=` or `sqlalchemy.url`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from migrations.engine import make_engine, normalize_url
from migrations.models import Base
from migrations.schema import VERSION_TABLE

target_metadata = Base.metadata
config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass `-x url=...` or set sqlalchemy.url")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        # Always batch, not only when autogenerating against SQLite: a version script
        # must run on both backends, and batch operations degrade to plain ALTERs on
        # PostgreSQL while SQLite needs the copy-and-move they render.
        render_as_batch=True,
    )


def _run_offline() -> None:
    context.configure(
        url=normalize_url(_url()),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
