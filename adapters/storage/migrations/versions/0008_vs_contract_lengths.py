"""Virstack text columns as long as the contract lets their values be.

PostgreSQL enforces a ``VARCHAR(n)`` length and answered ``value too long`` (a 500) for values
the contract accepts: ``provider_id`` (maxLength 128), a number import's ``termination_uri``
(2048), ``sip_username`` / ``auth_username`` (256) and sealed password (256 characters), trunk
and rule names derived from a 200-character nickname, a registered number's ``provider`` (64).
SQLite ignores declared lengths (it stored them all); its tables are rebuilt to declare the
same lengths (batch mode; ``Database.migrate`` runs migrations with SQLite's foreign keys off,
as SQLite's table-rebuild procedure asks, and checks them before committing).

Revision ID: 0008_vs_contract_lengths
Revises: 0007_vb_webhook_lease
"""
import sqlmodel
from alembic import op

revision = "0008_vs_contract_lengths"
down_revision = "0007_vb_webhook_lease"
branch_labels = None
depends_on = None

#: (table, column, nullable, old length, new length)
WIDENED = [
    ("vs_provider", "provider_id", False, 64, 128),
    ("vs_provider_model", "provider_id", False, 64, 128),
    ("vs_sip_trunk", "name", False, 200, 256),
    ("vs_sip_trunk", "address", True, 500, 2048),
    ("vs_sip_trunk", "auth_username", True, 200, 256),
    ("vs_sip_trunk", "auth_password_sealed", True, 1000, 2048),
    ("vs_dispatch_rule", "name", False, 200, 256),
    ("vs_phone_number", "provider", False, 32, 64),
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
