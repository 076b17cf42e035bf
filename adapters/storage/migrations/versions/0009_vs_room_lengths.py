"""Virstack rooms, calls and LiveKit events take the room names dispatch rules make.

An individual dispatch rule names each inbound call's room ``<room_prefix>_<caller>_<random>``;
with the contract's 200-character ``room_prefix`` that is ~230 characters, stored in
``VARCHAR(200)`` columns: PostgreSQL answered ``value too long`` (a 500 on the LiveKit webhook of
the call). SIP Call-IDs (``a84b4c76e66710@pc33.atlanta.example.com``) have no fixed length either,
and callers' numbers from SIP can be URI user parts. The LiveKit webhook refuses longer values
(adapters/telephony/webhooks.py ``FIELD_LIMITS``, 400). SQLite's tables are rebuilt (batch mode)
to declare the same lengths.

Revision ID: 0009_vs_room_lengths
Revises: 0008_vs_contract_lengths
"""
import sqlmodel
from alembic import op

revision = "0009_vs_room_lengths"
down_revision = "0008_vs_contract_lengths"
branch_labels = None
depends_on = None

#: (table, column, nullable, old length, new length)
WIDENED = [
    ("vs_call", "room_name", False, 200, 512),
    ("vs_call", "participant_identity", True, 200, 512),
    ("vs_call", "from_number", True, 32, 128),
    ("vs_call", "to_number", True, 32, 128),
    ("vs_call", "sip_call_id", True, 64, 256),
    ("vs_room", "name", False, 200, 512),
    ("vs_webhook_event", "room_name", True, 200, 512),
]


def _alter(lengths: slice) -> None:
    for table, column, nullable, *sizes in WIDENED:
        old, new = sizes[lengths]
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sqlmodel.sql.sqltypes.AutoString(length=old),
                                  type_=sqlmodel.sql.sqltypes.AutoString(length=new), existing_nullable=nullable)


def upgrade() -> None:
    """Widen the columns (PostgreSQL: no table rewrite, a VARCHAR only gets longer)."""
    _alter(slice(None))


def downgrade() -> None:
    """Narrow them again (fails on PostgreSQL if a longer value is stored)."""
    _alter(slice(None, None, -1))
