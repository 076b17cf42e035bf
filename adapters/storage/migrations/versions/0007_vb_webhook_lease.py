"""Virtual Banker webhook deliveries are sent by exactly one process at a time.

``vb_webhook_delivery.claimed_by`` is the worker sending a delivery and ``lease_until`` when its
claim lapses; a process that dies mid-delivery leaves a lapsed claim that any process's sweep
takes over. Existing rows get NULL (unclaimed): pending ones are picked up by the next sweep.

Revision ID: 0007_vb_webhook_lease
Revises: 0006_vertebro_training_lease
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import adapters.storage.types

revision = "0007_vb_webhook_lease"
down_revision = "0006_vertebro_training_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``claimed_by`` and ``lease_until`` columns."""
    with op.batch_alter_table("vb_webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_until", adapters.storage.types.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    """Drop the claim columns."""
    with op.batch_alter_table("vb_webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
