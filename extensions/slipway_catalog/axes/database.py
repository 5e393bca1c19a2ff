"""Where the service keeps its records.

Every SQL database opens the same ``database`` resource (``adapters/database.py``: the
pool, sessions, readiness and migrations, the same for every engine) and renders its
own ``adapters/dialect.py``, the slot through which that shared code builds the engine,
and its own ``tests/database.py``, through which the tests make and drop throwaway
databases. ``none`` keeps the example items in the process's memory instead. Every
choice renders ``api/storage_dependencies.py``, which hands the item service its
repository.
"""

from typing import Any

from ..model import Axis, Choice, Contract, Resource, Service, Setting, SettingsGroup, Slot

SQL_DEPENDENCIES = ("sqlalchemy[asyncio]>=2.0.36", "alembic>=1.14")
SQL_FILES = (
    "alembic.ini",
    "migrations/env.py",
    "migrations/script.py.mako",
    "src/{package_name}/adapters/database.py",
    "src/{package_name}/adapters/orm.py",
    "src/{package_name}/adapters/item_repository.py",
    "src/{package_name}/adapters/migration_branches.py",
    "src/{package_name}/api/storage_dependencies.py",
    "tests/databases.py",
    "tests/outage.py",
    "tests/storage.py",
    "tests/api/test_database.py",
    "tests/api/test_outage.py",
    "tests/unit/test_migrate_command.py",
    "tests/unit/test_migrations.py",
)
"""What every SQL database shares: the engine-neutral half of the slice."""
ITEM_TABLES = (
    "2026_11_23_0001_create_item_and_idempotency_key.py",
    "2026_11_23_0003_check_item_constraints.py",
)
"""The items' tables, on the ``core`` branch (the name released databases record)."""

DATABASE_RESOURCE = Resource(
    name="database",
    module=".adapters.database",
    opener="open_database",
    type_module=".adapters.database",
    type_name="Database",
    readiness=True,
)

MIGRATE_ON_START = Setting(
    "migrate_on_start",
    "bool | None",
    "None",
    "Apply migrations at start-up; unset means only in development.",
    example="",
)
ECHO = Setting("echo", "bool", "False", "Log every SQL statement (noisy).")


def server_settings(url: str, *engine_fields: Setting) -> SettingsGroup:
    """``DatabaseSettings`` for a database server: where, who, and how the pool behaves."""
    return SettingsGroup(
        name="database",
        class_name="DatabaseSettings",
        description="The SQL database behind the repositories.",
        fields=(
            Setting(
                "url", "str", f'"{url}"', "SQLAlchemy URL of the database, without a password."
            ),
            Setting(
                "password",
                "SecretStr",
                'SecretStr("")',
                "Password for the URL's user; empty when the server needs none.",
                secret=True,
                example="",
                imports=("from pydantic import SecretStr",),
            ),
            ECHO,
            MIGRATE_ON_START,
            Setting("pool_size", "int", "10", "Connections the pool keeps open."),
            Setting("max_overflow", "int", "10", "Extra connections allowed under load."),
            Setting(
                "pool_timeout_seconds",
                "float",
                "5.0",
                "How long a request waits for a free connection before it gets 503.",
            ),
            Setting(
                "pool_recycle_seconds",
                "int",
                "1800",
                "Reopen a connection older than this (ahead of server and proxy timeouts).",
            ),
            Setting(
                "connect_timeout_seconds",
                "float",
                "5.0",
                "How long opening a connection may take before the server counts as down.",
            ),
            *engine_fields,
        ),
    )


def sql_database(*, unit_test: str, **fields: Any) -> Choice:
    """A SQL engine: the shared SQL half, the engine's own slot files and unit test, the
    items' tables and the ``database`` resource; ``fields`` say the rest."""
    return Choice(
        resources=(DATABASE_RESOURCE,),
        files=(
            *SQL_FILES,
            "src/{package_name}/adapters/dialect.py",
            "tests/database.py",
            unit_test,
        ),
        migrations=ITEM_TABLES,
        migration_branch="core",
        test_settings=(("DATABASE__MIGRATE_ON_START", "true"),),
        **fields,
    )


STATEMENT_TIMEOUT = Setting(
    "statement_timeout_seconds",
    "float",
    "30.0",
    "The server cancels a statement running longer than this; 0 means no limit.",
)

SQLITE = sql_database(
    value="sqlite",
    label="SQLite (embedded, no server)",
    description="SQLite through SQLAlchemy 2 async (aiosqlite), migrated by Alembic.",
    dependencies=(*SQL_DEPENDENCIES, "aiosqlite>=0.20"),
    settings=(
        SettingsGroup(
            name="database",
            class_name="DatabaseSettings",
            description="The SQL database behind the repositories.",
            fields=(
                Setting(
                    "url",
                    "str",
                    '"sqlite+aiosqlite:///./var/{package_name}.db"',
                    "SQLAlchemy URL of the database.",
                ),
                ECHO,
                MIGRATE_ON_START,
            ),
        ),
    ),
    unit_test="tests/unit/test_sqlite.py",
    filterwarnings=("ignore::DeprecationWarning:aiosqlite",),
    docs=(
        "Records live in a SQLite file (`var/` by default) through SQLAlchemy 2's async "
        "engine. `make migrate` applies Alembic migrations; development applies them at "
        "start-up."
    ),
)

POSTGRESQL = sql_database(
    value="postgresql",
    label="PostgreSQL (server)",
    description="PostgreSQL through SQLAlchemy 2 async (asyncpg), migrated by Alembic.",
    dependencies=(*SQL_DEPENDENCIES, "asyncpg>=0.30"),
    settings=(
        server_settings("postgresql+asyncpg://postgres@127.0.0.1:5432/app", STATEMENT_TIMEOUT),
    ),
    services=(
        Service(
            name="postgres",
            image="postgres:17-alpine",
            port=5432,
            environment=(("POSTGRES_DB", "app"),),
            data="/var/lib/postgresql/data",
            secrets=(("POSTGRES_PASSWORD", "DATABASE__PASSWORD"),),
            healthcheck=("pg_isready", "-U", "postgres", "-d", "app"),
            url="postgresql+asyncpg://postgres@{host}:{port}/app",
            url_env="DATABASE__URL",
        ),
    ),
    unit_test="tests/unit/test_postgresql.py",
    docs=(
        "Records live in PostgreSQL through SQLAlchemy 2's async engine on asyncpg, with "
        "a bounded pool (pre-pinged, recycled, a wait timeout that answers 503) and a "
        "server-side statement timeout. `make migrate` applies Alembic migrations; "
        "development applies them at start-up. Compose runs `postgres:17`."
    ),
)

MYSQL = sql_database(
    value="mysql",
    label="MySQL / MariaDB (server)",
    description="MySQL or MariaDB through SQLAlchemy 2 async (aiomysql), migrated by Alembic.",
    # SQLAlchemy 2.1 is the first to give `Uuid` MariaDB's native 16-byte type (2.0: CHAR(32)).
    dependencies=("sqlalchemy[asyncio]>=2.1", "alembic>=1.14", "aiomysql>=0.2"),
    settings=(server_settings("mysql+aiomysql://root@127.0.0.1:3306/app", STATEMENT_TIMEOUT),),
    services=(
        Service(
            name="mariadb",
            image="mariadb:11.4",
            port=3306,
            environment=(("MARIADB_DATABASE", "app"),),
            data="/var/lib/mysql",
            # Strings compare exactly, as on every other engine (keys differing in case
            # stay distinct); the tests create their databases the same way.
            command=("--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"),
            secrets=(("MARIADB_ROOT_PASSWORD", "DATABASE__PASSWORD"),),
            healthcheck=("healthcheck.sh", "--connect", "--innodb_initialized"),
            url="mysql+aiomysql://root@{host}:{port}/app",
            url_env="DATABASE__URL",
        ),
    ),
    unit_test="tests/unit/test_mysql.py",
    docs=(
        "Records live in MySQL or MariaDB (utf8mb4) through SQLAlchemy 2's async engine on "
        "aiomysql: times stored in UTC to the microsecond (`DATETIME(6)`), UUIDs in "
        "MariaDB's native 16-byte type (`CHAR(32)` on MySQL), a strict `sql_mode`, a "
        "bounded pool and a per-statement time limit. Create the database with "
        "`CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, so strings compare exactly, as the "
        "tests' databases do. `make migrate` applies Alembic migrations; development "
        "applies them at start-up. Compose runs `mariadb:11.4`."
    ),
)

NONE = Choice(
    value="none",
    label="None (stateless: the items live in memory)",
    description="No database: the example items live in the process's memory, per replica.",
    excludes=(("auth", "jwt"),),
    settings=(
        SettingsGroup(
            name="database",
            class_name="DatabaseSettings",
            description="No database: the items this process keeps in memory.",
            fields=(
                Setting(
                    "max_items",
                    "int",
                    "100_000",
                    "Most items kept; creating one more answers 409 until some are deleted.",
                ),
            ),
        ),
    ),
    resources=(
        Resource(
            name="items",
            module=".adapters.memory_item_repository",
            opener="open_memory_items",
            type_module=".adapters.memory_item_repository",
            type_name="InMemoryItemRepository",
        ),
    ),
    files=(
        "src/{package_name}/adapters/memory_item_repository.py",
        "src/{package_name}/api/storage_dependencies.py",
        "tests/storage.py",
        "tests/unit/test_memory_item_repository.py",
    ),
    docs=(
        "No database: nothing to install, migrate or run beside the service. The example "
        "items live in the memory of the process that served the request, so each "
        "replica (each worker process) has its own and a restart empties them; replace "
        "the repository with your own store, or pick a database. `auth=jwt` keeps users "
        "and refresh tokens, so it needs a database."
    ),
)

DATABASE = Axis(
    name="database",
    question="Which database stores the service's records?",
    choices=(SQLITE, POSTGRESQL, MYSQL, NONE),
    default=("sqlite",),
    contract=Contract(
        slots=(
            # `create_engine` in adapters/database.py passes `engine_url(settings)` and
            # `engine_options(settings)` to SQLAlchemy's `create_async_engine`, then
            # `configure_engine(engine)`; `upgrade_to_head` and migrations/env.py migrate
            # inside `migrating(connection)`.
            Slot(
                "src/{package_name}/adapters/dialect.py",
                ("engine_url", "engine_options", "configure_engine", "migrating"),
                exempt=("none",),
            ),
            # tests/databases.py makes each test run's database through these.
            Slot("tests/database.py", ("create_database", "drop_database"), exempt=("none",)),
            # api/dependencies.py builds the item service on `item_repository(resources)`.
            Slot("src/{package_name}/api/storage_dependencies.py", ("item_repository",)),
            # tests/conftest.py passes `storage_settings` into the test settings.
            Slot("tests/storage.py", ("storage_settings",)),
        ),
        resource="database",
        port=".adapters.database:Database",
        exempt=("none",),
    ),
)
