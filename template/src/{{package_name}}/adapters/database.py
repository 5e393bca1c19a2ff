"""The SQL database: an async engine, a session factory and Alembic migrations.

What differs from one database to another comes through one slot: ``dialect.py``,
which each database slice renders with two functions.

``engine_options(settings: DatabaseSettings) -> dict[str, Any]``
    Keyword arguments for ``create_async_engine`` beyond the URL, ``echo`` and
    ``pool_pre_ping``: pool sizes and timeouts, the driver's ``connect_args`` (a
    statement timeout for asyncpg, say). No I/O.
``configure_engine(engine: AsyncEngine) -> None``
    Runs once, before the first connection: whatever the URL needs on disk,
    per-connection set-up (``connect`` events) and, where the database keeps no
    offset, reading every ``DateTime(timezone=True)`` column back aware, in UTC.

Everything below (the ``Database`` resource, sessions, readiness, migrations) works
on whichever engine they make.
"""

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..settings import DatabaseSettings, Settings
from .dialect import configure_engine, engine_options
from .migration_branches import reconcile, record_branches
from .orm import Base

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
        if migrates_on_start(settings):
            await upgrade_to_head(engine)
        yield Database(engine, async_sessionmaker(engine, expire_on_commit=False))
    finally:
        await engine.dispose()


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An engine on ``settings.url``, set up as the database slice's ``dialect`` says."""
    engine = create_async_engine(
        settings.url, echo=settings.echo, pool_pre_ping=True, **engine_options(settings)
    )
    configure_engine(engine)
    return engine


def migrates_on_start(settings: Settings) -> bool:
    """As configured; unset means in development only."""
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
    upgrade_schema(connection, config)


def upgrade_schema(connection: Connection, config: Config) -> None:
    """Every branch to its head, once removed slices are parked (or the upgrade refused)."""
    script = ScriptDirectory.from_config(config)
    load_models()
    reconciled = reconcile(connection, script, Base.metadata.tables.keys())
    for entry in reconciled.parked:
        logger.warning(
            "database.slice_parked",
            branch=entry.branch,
            revision=entry.revision,
            tables=entry.tables,
        )
    for entry in reconciled.restored:
        logger.info("database.slice_restored", branch=entry.branch, revision=entry.revision)
    command.upgrade(config, "heads")
    record_branches(connection, script)


def load_models() -> None:
    """Import every adapter module, so ``Base.metadata`` holds every table."""
    adapters = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules(importlib.import_module(adapters).__path__):
        importlib.import_module(f"{adapters}.{module.name}")
