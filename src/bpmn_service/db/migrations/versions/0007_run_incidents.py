"""run_incident: engine runs that failed without a caller (timers, budgets, workers)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_incident",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "instance_id", sa.String(36), sa.ForeignKey("process_instance.id"), nullable=False
        ),
        sa.Column("definition_key", sa.String(128), nullable=False),
        sa.Column("business_key", sa.String(128), nullable=False),
        sa.Column("element_id", sa.String(255), nullable=True),
        sa.Column("element_name", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_run_incident_instance", "run_incident", ["instance_id"])
    op.create_index("ix_run_incident_open", "run_incident", ["resolved_at", "definition_key"])


def downgrade() -> None:
    op.drop_index("ix_run_incident_open", table_name="run_incident")
    op.drop_index("ix_run_incident_instance", table_name="run_incident")
    op.drop_table("run_incident")
