"""timers messages external tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:41:59.583725
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("message_name", sa.String(length=255), nullable=False),
        sa.Column("business_key", sa.String(length=128), nullable=True),
        sa.Column("definition_key", sa.String(length=128), nullable=True),
        sa.Column(
            "correlation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "variables",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_buffered", ["status", "message_name", "business_key"], unique=False
        )

    op.create_table(
        "external_task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=160), nullable=False),
        sa.Column("definition_key", sa.String(length=128), nullable=False),
        sa.Column("business_key", sa.String(length=128), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column(
            "variables",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("incident_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.create_index("ix_external_task_instance", ["instance_id"], unique=False)
        batch_op.create_index("ix_external_task_topic", ["topic", "lock_expires_at"], unique=False)

    op.create_table(
        "message_subscription",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("definition_key", sa.String(length=128), nullable=False),
        sa.Column("business_key", sa.String(length=128), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("message_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_name_key", ["message_name", "business_key"], unique=False
        )

    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "message_starts",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_instance_next_timer", ["next_timer_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_next_timer")
        batch_op.drop_column("next_timer_at")

    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.drop_column("message_starts")

    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_name_key")

    op.drop_table("message_subscription")
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.drop_index("ix_external_task_topic")
        batch_op.drop_index("ix_external_task_instance")

    op.drop_table("external_task")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_buffered")

    op.drop_table("message")
