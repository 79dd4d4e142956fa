"""Inbox indexes: all open tasks in creation order, an assignee's tasks in due order

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 04:00:00.000000
"""

from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A user's whole inbox (GET /api/v1/tasks?sort=created or -created) is the tasks offered to
    # them, claimed or not, and those assigned to them; the first part is read in creation
    # order from this index (backwards for newest first), each task's candidates checked by
    # primary key, until the page is full. Claimed-by-me (assignee=…&sort=due) walks the second.
    # Building them blocks writes to task for a while on a big database (11 s at a million open
    # tasks): an operator may create them beforehand with CREATE INDEX CONCURRENTLY and the same
    # names and columns, and this step leaves them be.
    op.create_index("ix_task_created", "task", ["created_at", "id"], if_not_exists=True)
    op.create_index(
        "ix_task_assignee_due", "task", ["assignee", "due_at", "id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_task_assignee_due", table_name="task")
    op.drop_index("ix_task_created", table_name="task")
