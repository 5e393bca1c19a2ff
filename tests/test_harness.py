"""The test harness itself: server URLs and passwords, skips versus failures, database
containers, interpreters, ids."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import conftest
import slipway_catalog as catalog
from conftest import (
    IMAGE_STARTS,
    MATRIX,
    RenderedProject,
    as_row,
    catalog_services,
    container_start_problems,
    find_python,
    free_port,
    project_service_url,
    require_server,
    server_env_var,
    server_reachable,
    service_env,
    without_password,
)
from slipway_catalog import PYTHON_VERSION
from slipway_catalog.model import Service

POSTGRES = Service(
    "postgres",
    "postgres:17",
    5432,
    url="postgresql+asyncpg://postgres@{host}:{port}/test",
    url_env="DATABASE__URL",
)


def test_a_service_url_is_the_catalogs_at_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLIPWAY_POSTGRES_URL", raising=False)
    assert project_service_url(POSTGRES) == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    assert server_env_var("postgres") == "SLIPWAY_POSTGRES_URL"


def test_an_override_keeps_the_driver_the_project_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPWAY_POSTGRES_URL", "postgresql://ci:pw@db.local:5433/ci")
    assert project_service_url(POSTGRES) == "postgresql+asyncpg://ci:pw@db.local:5433/ci"


def test_each_target_supplies_its_own_host() -> None:
    assert POSTGRES.url_at("postgres") == "postgresql+asyncpg://postgres@postgres:5432/test"
    assert POSTGRES.url_at("127.0.0.1") == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_an_unreachable_server_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVERS", False)
    url = f"redis://127.0.0.1:{closed_port()}/0"
    assert not server_reachable(url)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        require_server("redis", url)


def test_an_unreachable_server_fails_when_servers_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVERS", True)
    url = f"amqp://guest:secret@127.0.0.1:{closed_port()}/"
    with pytest.raises(pytest.fail.Exception, match="SLIPWAY_REQUIRE_SERVERS=1") as failure:
        require_server("rabbitmq", url)
    assert "secret" not in str(failure.value), "a password leaked into the message"


def test_a_listening_server_is_reachable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        url = f"nats://127.0.0.1:{port}"
        assert require_server("nats", url) == url


@pytest.mark.servers
@pytest.mark.parametrize("service", list(catalog_services().values()), ids=lambda s: s.name)
def test_backing_servers_answer(service: Service) -> None:
    """Every server the catalog declares; skipped locally when down, a failure in CI."""
    require_server(service.name, project_service_url(service), service.port)


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def project_with(database: str) -> RenderedProject:
    answers: dict[str, Any] = {"package_name": "my_service", "database": database}
    return RenderedProject(Path("."), as_row(answers), answers, catalog.resolve(answers))


@pytest.mark.parametrize(("database", "server"), [("postgresql", "postgres"), ("mysql", "mariadb")])
def test_a_servers_password_goes_to_its_setting_never_into_the_url(
    monkeypatch: pytest.MonkeyPatch, listening_port: int, database: str, server: str
) -> None:
    """The project's ``.env`` holds a random password; the env var the harness sets
    wins over it, with the password of the server's URL (here ``p@ss``)."""
    monkeypatch.setenv(server_env_var(server), f"x://ci:p%40ss@127.0.0.1:{listening_port}/ci")
    env = service_env(project_with(database))
    assert env["MY_SERVICE_DATABASE__PASSWORD"] == "p@ss"
    url = env["MY_SERVICE_DATABASE__URL"]
    assert url.endswith(f"://ci@127.0.0.1:{listening_port}/ci"), url
    assert "p%40ss" not in url


def test_a_server_without_a_password_empties_the_setting(
    monkeypatch: pytest.MonkeyPatch, listening_port: int
) -> None:
    monkeypatch.setenv("SLIPWAY_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:{listening_port}")
    env = service_env(project_with("postgresql"))
    assert env == {
        "MY_SERVICE_DATABASE__URL": f"postgresql+asyncpg://postgres@127.0.0.1:{listening_port}/app",
        "MY_SERVICE_DATABASE__PASSWORD": "",
    }
    assert service_env(project_with("sqlite")) == {}


def test_without_password_keeps_the_rest_of_the_url() -> None:
    assert without_password("mysql://root:pw@[::1]:3306/db?x=1") == "mysql://root@[::1]:3306/db?x=1"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_a_database_container_needs_its_password_and_superuser() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/app"
    assert container_start_problems("postgres:17-alpine", {"POSTGRES_PASSWORD": "x"}, url) == []
    assert container_start_problems("postgres:17-alpine", {"POSTGRES_DB": "app"}, url)
    assert container_start_problems("postgres:17-alpine", {"POSTGRES_PASSWORD": ""}, url)
    mariadb = "mysql+aiomysql://root@127.0.0.1:3306/app"
    empty = {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"}
    assert container_start_problems("mariadb:11.4", empty, mariadb) == []
    assert container_start_problems("mariadb:11.4", empty, url)  # user postgres
    assert container_start_problems("memcached:1.6", {}, "tcp://127.0.0.1:11211") == []


def test_every_server_with_secrets_has_a_known_image() -> None:
    """``IMAGE_STARTS`` knows how each image a catalog server with a password starts."""
    for service in catalog_services().values():
        if service.secrets:
            repository = service.image.rpartition(":")[0] or service.image
            assert repository in IMAGE_STARTS, f"add {repository} to conftest.IMAGE_STARTS"
            superuser, needs_one = IMAGE_STARTS[repository]
            assert {variable for variable, _ in service.secrets} & needs_one, service.name
            assert urlsplit(service.url_at("h")).username == superuser, service.name


def test_every_offered_python_has_an_interpreter() -> None:
    for version in PYTHON_VERSION.values:
        found = find_python(version)
        if found is None:
            if conftest.REQUIRE_SERVERS:
                pytest.fail(f"no Python {version} interpreter on this machine")
            pytest.skip(f"no Python {version} interpreter on this machine")
        assert found
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert find_python(current) is not None


def test_matrix_ids_are_unique_and_every_python_is_tested() -> None:
    ids = [row.id for row in MATRIX]
    assert len(ids) == len(set(ids))
    assert {row.python_version for row in MATRIX} == set(PYTHON_VERSION.values)
