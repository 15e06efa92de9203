"""Alembic's entry point for the gallery: kiosk.store.db's models are the target; the
connection is the caller's (kiosk.store.migrations.alembic_config) or a new one to
sqlalchemy.url."""

from alembic import context

from kiosk.store.db import Base, database_url, make_engine

config = context.config


def run_on(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      # SQLite alters a table by copying it: autogenerate says so.
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():   # the caller's, when it has begun one
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), foreign_keys=False)
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    """`--sql` mode: print the DDL instead of running it."""
    context.configure(url=database_url(config.get_main_option("sqlalchemy.url")),
                      target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
