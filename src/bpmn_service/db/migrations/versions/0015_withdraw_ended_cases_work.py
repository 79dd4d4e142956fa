"""Withdraw the external tasks and message waits that cases ended before 0.2 kept

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00.000000
"""

from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ENDED = "SELECT id FROM process_instance WHERE status <> 'active'"
REASON = '{"reason": "the case had already ended (withdrawn on upgrade)"}'


def upgrade() -> None:
    # Cancelling a case used to leave its external tasks fetchable (counted as incidents and as
    # work waiting for workers) and its message subscriptions open. A cancel now withdraws them;
    # this does the same for the cases cancelled before, once: the history notes each external
    # task as withdrawn at the moment its case ended, and the rows go. Nothing to undo.
    details = (
        f"CAST('{REASON}' AS JSONB)"
        if op.get_bind().dialect.name == "postgresql"
        else f"'{REASON}'"
    )
    op.execute(
        "INSERT INTO history_event "
        "(instance_id, task_id, element_id, type, actor, occurred_at, details) "
        "SELECT e.instance_id, e.id, e.element_id, 'external_task_withdrawn', NULL, "
        f"COALESCE(p.ended_at, p.started_at), {details} "
        "FROM external_task e JOIN process_instance p ON p.id = e.instance_id "
        "WHERE p.status <> 'active' ORDER BY e.instance_id, e.created_at, e.id"
    )
    op.execute(f"DELETE FROM external_task WHERE instance_id IN ({ENDED})")
    op.execute(f"DELETE FROM message_subscription WHERE instance_id IN ({ENDED})")


def downgrade() -> None:
    pass
