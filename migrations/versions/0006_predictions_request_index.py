"""Drop the predictions table's index on request_id alone.

The unique constraint on (request_id, row_index, version) already serves every lookup
by request id (feedback joins, duplicate checks); the second index only cost a B-tree
insert for every logged prediction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:00:00

Written by hand against migrations.models.quality; tests/migrations/test_schema.py
compares the migrated database with the models on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_predictions_request_id", table_name="predictions")


def downgrade() -> None:
    op.create_index("ix_predictions_request_id", "predictions", ["request_id"])
