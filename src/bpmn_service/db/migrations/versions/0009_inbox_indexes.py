"""Inbox indexes: unassigned open tasks in due and in creation order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 01:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A group's inbox asks for unassigned tasks in due (or creation) order, a page at a time
    # (GET /api/v1/tasks?candidate_group=…&unassigned=true&sort=due). With these partial indexes
    # the database walks unassigned tasks in that order from the page's start (or its cursor) and
    # checks each one's candidates by primary key, so a page costs the same at a million open
    # tasks as at ten thousand; the id breaks ties, as the queries order by it last.
    op.create_index(
        "ix_task_unassigned_due",
        "task",
        ["due_at", "id"],
        postgresql_where=sa.text("assignee IS NULL"),
        sqlite_where=sa.text("assignee IS NULL"),
    )
    op.create_index(
        "ix_task_unassigned_created",
        "task",
        ["created_at", "id"],
        postgresql_where=sa.text("assignee IS NULL"),
        sqlite_where=sa.text("assignee IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_task_unassigned_created", table_name="task")
    op.drop_index("ix_task_unassigned_due", table_name="task")
