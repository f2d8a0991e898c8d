"""A bounded sample of raw input rows per metric bucket, for drift reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:00:00

Written by hand against migrations.models.telemetry; tests/migrations/test_schema.py
compares the migrated database with the models on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric_buckets") as batch:
        batch.add_column(sa.Column("samples", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_buckets") as batch:
        batch.drop_column("samples")
