"""reports: who resolved each ticket, report runs sent once, the indexes reports and
/metrics count by

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_runs"),
        sa.UniqueConstraint("name", "period_start", name="uq_report_runs_name_period_start"),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("resolved_assignee", sa.String(length=320), nullable=True))
        batch.create_index("ix_tickets_first_response_at", ["first_response_at"])
        batch.create_index("ix_tickets_assigned_at", ["assigned_at"])
    # Until now the assignee at resolution was not kept: the assignee is the best guess.
    op.execute(
        "UPDATE tickets SET resolved_assignee = assignee WHERE resolved_at IS NOT NULL"
    )
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_kind_at", ["kind", "at"])
    with op.batch_alter_table("surveys") as batch:
        batch.create_index("ix_surveys_rated_at", ["rated_at"])
        batch.create_index("ix_surveys_status_rating", ["status", "rating"])
    with op.batch_alter_table("quarantine") as batch:
        batch.create_index("ix_quarantine_status", ["status", "mailbox", "raw_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_index("ix_quarantine_status")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_index("ix_surveys_status_rating")
        batch.drop_index("ix_surveys_rated_at")
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_kind_at")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_assigned_at")
        batch.drop_index("ix_tickets_first_response_at")
        batch.drop_column("resolved_assignee")
    op.drop_table("report_runs")
