"""Alembic environment for akhbar.

The URL comes from the Config (``config.attributes["url"]``, set by
crawler.db.session.alembic_config) or else from crawler.db.session.database_url()
(DATABASE_URL, else the embedded server). Every online run holds a PostgreSQL
advisory lock, so processes that start at once migrate one after the other.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from crawler.db import session
from crawler.db.models import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata

# A migration waiting behind a running crawl's row locks gives up instead of making
# every later query queue behind it; a runaway statement is cut off.
LOCK_TIMEOUT = "30s"
STATEMENT_TIMEOUT = "15min"


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return session.normalize_url(url) if url else session.database_url()


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = session.get_engine(_url())
    with engine.connect() as conn:
        # Session-level lock: it outlives the transactions below and is released
        # explicitly (or when the connection closes).
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": session.MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            _configure(connection=conn)
            with context.begin_transaction():
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
                context.run_migrations()
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": session.MIGRATION_LOCK_KEY}
            )
            conn.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
