"""Where the service keeps its records.

Every choice opens the same ``database`` resource (``adapters/database.py``: the pool,
sessions, readiness and migrations, the same for every database) and renders its own
``adapters/dialect.py``, the slot through which that shared code builds the engine.
"""

from ..model import Axis, Choice, Contract, Resource, Setting, SettingsGroup, Slot

SQLITE = Choice(
    value="sqlite",
    label="SQLite (embedded, no server)",
    description="SQLite through SQLAlchemy 2 async (aiosqlite), migrated by Alembic.",
    dependencies=(
        "sqlalchemy[asyncio]>=2.0.36",
        "aiosqlite>=0.20",
        "alembic>=1.14",
    ),
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
                Setting("echo", "bool", "False", "Log every SQL statement (noisy)."),
                Setting(
                    "migrate_on_start",
                    "bool | None",
                    "None",
                    "Apply migrations at start-up; unset means only in development.",
                    example="",
                ),
            ),
        ),
    ),
    resources=(
        Resource(
            name="database",
            module=".adapters.database",
            opener="open_database",
            type_module=".adapters.database",
            type_name="Database",
            readiness=True,
        ),
    ),
    files=(
        "src/{package_name}/adapters/dialect.py",
        "tests/unit/test_sqlite.py",
    ),
    test_settings=(
        ("DATABASE__URL", "sqlite+aiosqlite:///{tmp_path}/app.db"),
        ("DATABASE__MIGRATE_ON_START", "true"),
    ),
    filterwarnings=("ignore::DeprecationWarning:aiosqlite",),
    docs=(
        "Records live in a SQLite file (`var/` by default) through SQLAlchemy 2's async "
        "engine. `make migrate` applies Alembic migrations; development applies them at "
        "start-up."
    ),
)

DATABASE = Axis(
    name="database",
    question="Which database stores the service's records?",
    choices=(SQLITE,),
    default=("sqlite",),
    contract=Contract(
        slots=(
            # `create_engine` in adapters/database.py passes `engine_options(settings)` to
            # SQLAlchemy's `create_async_engine`, then `configure_engine(engine)`.
            Slot("src/{package_name}/adapters/dialect.py", ("engine_options", "configure_engine")),
        ),
        resource="database",
        port=".adapters.database:Database",
    ),
)
