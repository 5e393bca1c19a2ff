"""Where the service keeps its records."""

from ..model import Axis, Choice, Resource, Setting, SettingsGroup

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
)
