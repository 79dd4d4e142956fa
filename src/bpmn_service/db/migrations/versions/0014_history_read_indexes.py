"""History read indexes: instances and ended tasks in start order, open incidents

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STEP_FAILED = sa.text("type = 'step_failed'")
INCIDENT = sa.text("incident_at IS NOT NULL")


def upgrade() -> None:
    # /engine-rest/history/process-instance and /history/task list in start order by default:
    # a page is read from these in order instead of sorting every instance or ended task.
    op.create_index(
        "ix_instance_started", "process_instance", ["started_at", "id"], if_not_exists=True
    )
    op.create_index(
        "ix_historic_task_created", "historic_task", ["created_at", "id"], if_not_exists=True
    )
    # The open incidents (/engine-rest/incident) are few among many rows: partial indexes hold
    # just them, so listing them reads no more than they are.
    op.create_index(
        "ix_external_task_incident",
        "external_task",
        ["incident_at", "id"],
        postgresql_where=INCIDENT,
        sqlite_where=INCIDENT,
        if_not_exists=True,
    )
    op.create_index(
        "ix_history_step_failed",
        "history_event",
        ["instance_id", "id"],
        postgresql_where=STEP_FAILED,
        sqlite_where=STEP_FAILED,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_history_step_failed", table_name="history_event")
    op.drop_index("ix_external_task_incident", table_name="external_task")
    op.drop_index("ix_historic_task_created", table_name="historic_task")
    op.drop_index("ix_instance_started", table_name="process_instance")
