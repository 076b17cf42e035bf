"""Merge the three per-API branches (ServiceAi, Vertebro Voice, Virstack VoiceAI) into one head.

Revisions 0003_serviceai, 0003_vertebro and 0003_virstack were written side by side, all on top
of Virtual Banker's 0002; each is labelled with its API (``branch_labels``). This revision joins
them so the history has exactly one head: ``alembic upgrade head`` works, and the next migration
of any API has one parent. A database migrated before this revision (three rows in
``alembic_version``) is brought to this single revision without any schema change.

Revision ID: 0004_merge
Revises: 0003_serviceai, 0003_vertebro, 0003_virstack
"""

revision = "0004_merge"
down_revision = ("0003_serviceai", "0003_vertebro", "0003_virstack")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No schema change: the three branches meet here."""


def downgrade() -> None:
    """No schema change."""
