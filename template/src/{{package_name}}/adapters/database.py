"""The SQL database: an async engine, a session factory and Alembic migrations."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..settings import DatabaseSettings, Settings

ALEMBIC_CONFIG = Path("alembic.ini")
logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the pool (migrating first where configured); dispose of it on exit."""
    engine = create_engine(settings.database)
    try:
        if _should_migrate(settings):
            await upgrade_to_head(engine)
        yield Database(engine, async_sessionmaker(engine, expire_on_commit=False))
    finally:
        await engine.dispose()


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=settings.echo, pool_pre_ping=True)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Enforce foreign keys, let readers run beside a writer, wait on locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _should_migrate(settings: Settings) -> bool:
    configured = settings.database.migrate_on_start
    return settings.is_development if configured is None else configured


async def migrate(settings: DatabaseSettings) -> None:
    """Apply every pending migration (``python -m <package> migrate``)."""
    engine = create_engine(settings)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    logger.info("database.migrated")


def _upgrade(connection: Connection) -> None:
    if not ALEMBIC_CONFIG.is_file():
        raise FileNotFoundError(
            f"{ALEMBIC_CONFIG} not found in {Path.cwd()}; run from the project root"
        )
    config = Config(ALEMBIC_CONFIG)
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")
