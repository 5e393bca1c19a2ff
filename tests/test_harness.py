"""The test harness itself: server URLs, skips versus failures, interpreters, ids."""

from __future__ import annotations

import socket
import sys

import pytest

import conftest
from conftest import (
    MATRIX,
    catalog_services,
    find_python,
    free_port,
    project_service_url,
    require_server,
    server_env_var,
    server_reachable,
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
