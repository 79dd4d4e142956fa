"""analytics columns, waits and calendar

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:13:14.959877
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "historic_wait",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("definition_key", sa.String(length=128), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("message_name", sa.String(length=255), nullable=False),
        sa.Column("lane", sa.String(length=255), nullable=True),
        sa.Column("external_party", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("historic_wait", schema=None) as batch_op:
        batch_op.create_index("ix_historic_wait_instance", ["instance_id"], unique=False)

    with op.batch_alter_table("historic_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_procedure", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("hall_visit", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("external_party", sa.Boolean(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("event_subprocess", sa.Boolean(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_column("category")

    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_column("event_subprocess")
        batch_op.drop_column("lane")

    with op.batch_alter_table("historic_task", schema=None) as batch_op:
        batch_op.drop_column("external_party")
        batch_op.drop_column("hall_visit")
        batch_op.drop_column("customer_procedure")

    with op.batch_alter_table("historic_wait", schema=None) as batch_op:
        batch_op.drop_index("ix_historic_wait_instance")

    op.drop_table("historic_wait")
    op.drop_table("calendar_day")
