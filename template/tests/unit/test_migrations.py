"""The migrations build exactly the schema the models describe, and take it down again."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, inspect

ALEMBIC_INI = Path(__file__).parents[2] / "alembic.ini"


@pytest.fixture
def connection() -> Iterator[Connection]:
    """An empty in-memory SQLite database."""
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def alembic_on(connection: Connection) -> Config:
    """Alembic through the project's own ``env.py``, on the given connection."""
    config = Config(ALEMBIC_INI)
    config.attributes["connection"] = connection
    return config


def test_upgrade_builds_the_schema_the_models_describe(connection: Connection) -> None:
    config = alembic_on(connection)
    command.upgrade(config, "heads")

    # `alembic check`: raises if autogenerate finds any difference left to migrate.
    command.check(config)


def test_downgrade_to_base_removes_every_table(connection: Connection) -> None:
    config = alembic_on(connection)
    command.upgrade(config, "heads")
    command.downgrade(config, "base")

    assert inspect(connection).get_table_names() == ["alembic_version"]
