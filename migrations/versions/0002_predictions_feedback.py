"""Logged predictions and ground-truth feedback, for per-version ML quality.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00

Written by hand against migrations.models.quality; tests/migrations/test_schema.py
compares the migrated database with the models on SQLite and PostgreSQL. Every
constraint is named explicitly (op.f) with the names the models' naming convention
produces.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model-side types: a version script must not change meaning when
# the models evolve later.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("row_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("label", sa.JSON(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("shadow", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint(
            "request_id",
            "row_index",
            "version",
            name=op.f("uq_predictions_request_id_row_index_version"),
        ),
    )
    op.create_index("ix_predictions_model_name_at", "predictions", ["model_name", "at"])
    op.create_index("ix_predictions_request_id", "predictions", ["request_id"])

    op.create_table(
        "feedback",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("row_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("model_name", sa.String(255), nullable=True),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "request_id", "row_index", name=op.f("uq_feedback_request_id_row_index")
        ),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes with it.
    op.drop_table("feedback")
    op.drop_table("predictions")
