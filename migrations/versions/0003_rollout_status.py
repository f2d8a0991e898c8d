"""Rollout status document and compare-and-swap generation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 00:00:00

Written by hand against migrations.models.rollouts; tests/migrations/test_schema.py
compares the migrated database with the models on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rollouts") as batch:
        batch.add_column(sa.Column("status", sa.JSON(), server_default="{}", nullable=False))
        batch.add_column(sa.Column("generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rollouts") as batch:
        batch.drop_column("generation")
        batch.drop_column("status")
