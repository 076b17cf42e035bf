"""Vertebro training jobs run in exactly one process: ``vertebro_training_job.claimed_by``.

The process running a job claims it (``claimed_by`` = its worker id) and renews
``heartbeat_at`` while it runs; another process may take the job over only when the heartbeat
is older than ``VOICE_TRAINING_STALE_SECONDS`` (its runner died). Existing rows get NULL: a
job left active by an older server is unclaimed and is resumed by the next sweep.

Revision ID: 0006_vertebro_training_lease
Revises: 0005_vertebro_ownership
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_vertebro_training_lease"
down_revision = "0005_vertebro_ownership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``claimed_by`` column."""
    with op.batch_alter_table("vertebro_training_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))


def downgrade() -> None:
    """Drop ``claimed_by``."""
    with op.batch_alter_table("vertebro_training_job", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
