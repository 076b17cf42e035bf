"""Vertebro Voice ownership: project members, admins, session owners, audio-cache scopes (issue 13 item 3).

New tables ``vertebro_project_member`` (project, username) and ``vertebro_admin`` (username);
new nullable columns ``vertebro_session.owner`` (the Basic user who started the session) and
``vertebro_audio.project`` / ``vertebro_audio.owner`` (whom a cached synthesis belongs to).

Existing rows: nothing is guessed. Sessions and cached audio from before this revision get
``owner``/``project`` NULL, which the server treats as *admins only* (an admin — ``manage
grant-admin`` or ``VERTEBRO_ADMIN_USERS`` — still sees them; nobody else). Existing projects
(their samples, jobs, history counts, intent examples, knowledge) have no members until an
operator runs ``manage grant USER PROJECT``; until then only admins see them. The old Basic
user of a session is not known (``user_id`` is the end user the client named, not the Basic
user), so no owner could be derived without risking the leak this revision closes. Old
audio-cache entries keep their old cache keys, which new requests never produce, so they are
never served to anyone but admins and expire with ``VOICE_AUDIO_CACHE_TTL``.

Revision ID: 0005_vertebro_ownership
Revises: 0004_merge
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import adapters.storage.types

revision = "0005_vertebro_ownership"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the membership and admin tables; add the nullable owner/project columns."""
    op.create_table(
        "vertebro_admin",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "vertebro_project_member",
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "username"),
    )
    with op.batch_alter_table("vertebro_project_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vertebro_project_member_username"), ["username"], unique=False)
    with op.batch_alter_table("vertebro_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_vertebro_session_owner"), ["owner"], unique=False)
    with op.batch_alter_table("vertebro_audio", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_vertebro_audio_project"), ["project"], unique=False)


def downgrade() -> None:
    """Drop the ownership columns and tables (memberships and admins are lost)."""
    with op.batch_alter_table("vertebro_audio", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vertebro_audio_project"))
        batch_op.drop_column("owner")
        batch_op.drop_column("project")
    with op.batch_alter_table("vertebro_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vertebro_session_owner"))
        batch_op.drop_column("owner")
    with op.batch_alter_table("vertebro_project_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vertebro_project_member_username"))
    op.drop_table("vertebro_project_member")
    op.drop_table("vertebro_admin")
