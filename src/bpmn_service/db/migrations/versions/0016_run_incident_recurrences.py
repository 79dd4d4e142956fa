"""A run incident names the external task it parks and counts how often its failure recurred

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_incident") as batch:
        batch.add_column(sa.Column("external_task_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    # A failure that came again while its incident was open opened another one each time (a
    # worker answering again after every lock expiry): the open incidents of one instance,
    # element and kind become the oldest of them, counting the others, which are closed.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, instance_id, element_id, kind, created_at FROM run_incident "
            "WHERE resolved_at IS NULL ORDER BY created_at, id"
        )
    ).all()
    groups: dict[tuple[str, str | None, str], list[tuple[str, object]]] = {}
    for incident_id, instance_id, element_id, kind, created_at in rows:
        groups.setdefault((instance_id, element_id, kind), []).append((incident_id, created_at))
    for found in groups.values():
        if len(found) < 2:
            continue
        (kept, _first), others = found[0], found[1:]
        last_at = others[-1][1]
        bind.execute(
            sa.text("UPDATE run_incident SET occurrences = :n, last_at = :last WHERE id = :id"),
            {"n": len(found), "last": last_at, "id": kept},
        )
        for incident_id, _at in others:
            bind.execute(
                sa.text(
                    "UPDATE run_incident SET resolved_at = created_at, "
                    "resolved_by = 'upgrade (counted in ' || :kept || ')' WHERE id = :id"
                ),
                {"kept": kept, "id": incident_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("run_incident") as batch:
        batch.drop_column("last_at")
        batch.drop_column("occurrences")
        batch.drop_column("external_task_id")
