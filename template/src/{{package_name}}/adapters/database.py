"""The SQL database: an async engine, a session factory and Alembic migrations.

What differs from one database to another comes through one slot: ``dialect.py``,
which each database slice renders with three functions.

``engine_url(settings: DatabaseSettings) -> URL``
    The URL to connect with: ``settings.url``, plus the password held apart as a
    secret where the database has one.
``engine_options(settings: DatabaseSettings) -> dict[str, Any]``
    Keyword arguments for ``create_async_engine`` beyond the URL and ``echo``: pool
    sizes and timeouts, the driver's ``connect_args`` (a statement timeout for asyncpg,
    say), ``pool_pre_ping=False`` where a connection cannot drop. No I/O.
``configure_engine(engine: AsyncEngine) -> None``
    Runs once, before the first connection: whatever the URL needs on disk,
    per-connection set-up (``connect`` events) and, where the database keeps no
    offset, reading every ``DateTime(timezone=True)`` column back aware, in UTC.

Everything below (the ``Database`` resource, sessions, readiness, migrations) works
on whichever engine they make. A database that cannot be reached never crashes the
service: the process starts, readiness answers 503 until the server answers (applying
the migrations then, where it migrates at start-up), and a request that cannot get a
connection gets 503.
"""

import asyncio
import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..domain.errors import UnavailableError
from ..settings import DatabaseSettings, Settings
from .dialect import configure_engine, engine_options, engine_url
from .migration_branches import reconcile, record_branches
from .orm import Base

ALEMBIC_CONFIG = Path("alembic.ini")
logger = structlog.get_logger(__name__)


UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,  # refused, lost, timed out or cancelled on the server
    InterfaceError,  # the driver's connection is closed
    PoolTimeoutError,  # no pooled connection came free in time
    OSError,  # the socket could not be opened at all
    TimeoutError,
)
"""What "the database cannot answer now" looks like, whichever the engine."""


class Database:
    """The engine and its sessions; readiness applies migrations still owed."""

    def __init__(self, engine: AsyncEngine, *, migrations_owed: bool = False) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._migrations_owed = migrations_owed
        self._migrating = asyncio.Lock()

    async def ping(self) -> None:
        """Raise unless the database answers (and is migrated, where that is owed)."""
        if self._migrations_owed:
            await self.apply_owed_migrations()
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def apply_owed_migrations(self) -> None:
        async with self._migrating:
            if self._migrations_owed:
                await upgrade_to_head(self.engine)
                self._migrations_owed = False


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the pool, migrating first where configured; dispose of it on exit.

    A server that is down at start-up is logged, not fatal: readiness retries.
    """
    engine = create_engine(settings.database)
    database = Database(engine, migrations_owed=migrates_on_start(settings))
    try:
        await _first_contact(database)
        yield database
    finally:
        await engine.dispose()


async def _first_contact(database: Database) -> None:
    try:
        await database.ping()
    except UNAVAILABLE_ERRORS as error:
        logger.warning(
            "database.unavailable",
            error=type(error).__name__,
            reason=str(error).partition("\n")[0],
            retry="on each readiness check",
        )


@asynccontextmanager
async def unavailable_as_domain_error() -> AsyncIterator[None]:
    """Turn "the database cannot answer now" into ``UnavailableError`` (a 503)."""
    try:
        yield
    except UNAVAILABLE_ERRORS as error:
        raise UnavailableError("The database is unavailable; try again shortly.") from error


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    async with unavailable_as_domain_error(), sessions.begin() as session:
        yield session


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An engine on ``settings.url``, set up as the database slice's ``dialect`` says."""
    # Ping a pooled connection before lending it, unless the engine says it need not.
    options = {"pool_pre_ping": True, **engine_options(settings)}
    engine = create_async_engine(engine_url(settings), echo=settings.echo, **options)
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
