"""process_definition.starters: who may start a process (camunda:candidateStarterGroups/Users)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 01:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for versions deployed before: they declared no starters the service read, so the
    # default starter groups may start them (BPMN_DEFAULT_STARTER_GROUPS).
    with op.batch_alter_table("process_definition") as batch:
        batch.add_column(
            sa.Column(
                "starters",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("starters")
