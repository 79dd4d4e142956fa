"""process_instance.state_format: the format version of each stored instance state

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every state stored before this column existed has format 1 (engine/state_format.py); the
    # engine upgrades such a state when it loads it, and the row says 2 once it is saved again.
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(
            sa.Column("state_format", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("state_format")
