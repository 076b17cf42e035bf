"""Alembic environment: runs on the connection handed over by Database.migrate()."""

from alembic import context

from adapters.storage.tables import register_all

target_metadata = register_all()
connection = context.config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
