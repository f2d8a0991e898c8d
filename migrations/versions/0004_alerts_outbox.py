"""Alert acknowledgement, repeat counting and delivery bookkeeping for the outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00

Written by hand against migrations.models.alerts; tests/migrations/test_schema.py
compares the migrated database with the models on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("repeats", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_seen_at", _TS, nullable=True))
        batch.add_column(sa.Column("acked_at", _TS, nullable=True))
        batch.add_column(sa.Column("acked_by", sa.String(255), nullable=True))
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.add_column(sa.Column("last_attempt_at", _TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.drop_column("last_attempt_at")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("acked_by")
        batch.drop_column("acked_at")
        batch.drop_column("last_seen_at")
        batch.drop_column("repeats")
