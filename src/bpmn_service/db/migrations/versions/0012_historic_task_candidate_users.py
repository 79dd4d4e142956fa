"""historic_task.candidate_users: who an ended task was offered to by name

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 23:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Kept so that a candidate user acting on a task that ended meanwhile is told so (409), as a
    # member of its candidate groups is. Null for tasks that ended before: they answer as before.
    with op.batch_alter_table("historic_task") as batch:
        batch.add_column(
            sa.Column(
                "candidate_users",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("historic_task") as batch:
        batch.drop_column("candidate_users")
