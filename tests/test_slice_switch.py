"""Switching a slice in a service that has run: it keeps booting, and keeps its data.

A service generated with ``auth=jwt`` (from the latest release, the working tree) is
installed into its own venv, booted as a real process and used: a user registers and
creates an item. Then ``copier update -d auth=none`` removes the jwt slice and its
migration file while the database still records them; the service must boot on the
same database, answer ``/health/ready`` and serve items, with the user's rows parked,
not dropped. ``-d auth=jwt`` brings the slice back: the same user logs in again and
finds the item.

A SQLite service that has run switches to ``database=postgresql``: its own suite passes
against the server and it boots on PostgreSQL. Moving the records is the team's job
(the docs show how), so the test only proves the new database serves.

A service with the in-process cache switches to ``cache=redis``: its own suite passes
against Redis, and it boots on the same database with its items, now cached in Redis.

Each service runs on a database of its own, made and dropped through the project's
``tests/database.py``. Every step runs in one pytest-xdist worker.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from conftest import (
    DEFAULT_ROW,
    REQUIRE_SERVERS,
    UV,
    TemplateReleases,
    as_row,
    catalog_services,
    find_python,
    git,
    load_project,
    project_service_url,
    run_copier,
    service_env,
)
from test_generated import (
    DATABASE_URL,
    STOP_TIMEOUT_SECONDS,
    GeneratedProject,
    Service,
    expect,
    new_caller,
    own_database,
    running,
    tail,
)

pytestmark = [pytest.mark.copier, pytest.mark.generated, pytest.mark.xdist_group("slice-switch")]

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
"""The user the jwt slice's rows hold across the switches."""


def generate(
    template: TemplateReleases, destination: Path, python_version: str, *answers: str
) -> Path:
    """``copier copy`` of the latest release with ``answers`` (``auth=jwt``), committed."""
    data = [argument for answer in answers for argument in ("--data", answer)]
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", template.latest,
        "--data", f"python_version={python_version}", *data,
        str(template.path), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    commit(destination, "Generate the service")
    return destination


def switch(template: TemplateReleases, project: Path, answer: str) -> None:
    """``copier update -d <answer>`` to the same release, as a team switches a slice."""
    commit(project, "Lock the dependencies")  # `uv sync` wrote uv.lock
    result = run_copier(
        "update", "--trust", "--defaults", "--vcs-ref", template.latest,
        "--conflict", "inline", "--data", answer, cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    status = git(project, "status", "--porcelain").splitlines()
    assert not [line for line in status if "U" in line[:2]], status
    commit(project, f"Switch to {answer}")


def commit(project: Path, message: str) -> None:
    git(project, "add", "--all")
    if git(project, "status", "--porcelain").strip():
        git(project, "commit", "--quiet", "--message", message)


def installed(project: Path, interpreter: str) -> GeneratedProject:
    """The project as it is now, synced into its venv (its dependencies may have changed)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    row = as_row({key: value for key, value in answers.items() if not key.startswith("_")})
    generated = GeneratedProject(load_project(project, row), project / ".venv")
    generated.check("uv sync", UV, "sync", "--project", str(project), "--python", interpreter)
    return generated


def stop(service: Service) -> None:
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0, service.output()


def register(client: httpx.Client) -> None:
    expect(client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD}), 201)


def log_in(client: httpx.Client) -> dict[str, str]:
    token = expect(client.post("/auth/token", data={"username": EMAIL, "password": PASSWORD}), 200)
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def item_names(client: httpx.Client, headers: dict[str, str]) -> set[str]:
    page = expect(client.get("/items", params={"limit": 100}, headers=headers), 200).json()
    return {item["name"] for item in page["items"]}


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchall()


def database_url(project: Path, database: dict[str, str]) -> str:
    """The URL of the database ``own_database`` made for ``project``."""
    prefix = load_project(project, DEFAULT_ROW).env_prefix
    return database[prefix + DATABASE_URL]


def sqlite_file(url: str) -> Path:
    """The file of a ``sqlite+aiosqlite:///<path>`` URL."""
    scheme, _, path = url.partition(":///")
    assert scheme.startswith("sqlite"), f"not a SQLite URL: {url}"
    assert path, f"not a SQLite file: {url}"
    return Path(path)


def interpreter() -> str:
    """The default row's Python; skips without it (fails under CI)."""
    found = find_python(DEFAULT_ROW.python_version)
    if found is None:
        reason = f"no Python {DEFAULT_ROW.python_version} interpreter found"
        if REQUIRE_SERVERS:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def generated_with(
    template: TemplateReleases, tmp_path: Path, answer: str
) -> tuple[Path, Path, str]:
    """A service of the latest release with ``answer``, a directory to run it in, and the
    default row's Python."""
    python = interpreter()
    project = generate(template, tmp_path / "service", DEFAULT_ROW.python_version, answer)
    workdir = tmp_path / "run"
    workdir.mkdir()
    return project, workdir, python


def passes_its_own_suite(generated: GeneratedProject) -> None:
    """The project's own tests, against the servers its answers need."""
    generated.check(
        "pytest", str(generated.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        extra_env=service_env(generated.project),
    )  # fmt: skip


def test_switching_auth_off_and_back_keeps_the_service_and_its_rows(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    project, workdir, python = generated_with(template_releases, tmp_path, "auth=jwt")
    generated = installed(project, python)
    # One SQLite database across every boot, removed at the end.
    with own_database(generated) as database:
        file = sqlite_file(database_url(project, database))
        with running(generated, workdir, database) as service:
            register(service.client)
            headers = log_in(service.client)
            expect(service.client.post("/items", json={"name": "kept"}, headers=headers), 201)
            stop(service)

        switch(template_releases, project, "auth=none")
        assert not list((project / "migrations" / "versions").glob("*_create_user_and_*.py"))
        with running(installed(project, python), workdir, database) as service:
            expect(service.client.post("/items", json={"name": "anonymous"}), 201)
            assert item_names(service.client, {}) == {"anonymous"}
            stop(service)
            assert "database.slice_parked" in service.output(), tail(service.output())
        assert rows(file, "SELECT email FROM user_account") == [(EMAIL,)]
        assert ("kept",) in rows(file, "SELECT name FROM item")

        switch(template_releases, project, "auth=jwt")
        with running(installed(project, python), workdir, database) as service:
            again = service.client.post(
                "/auth/register", json={"email": EMAIL, "password": PASSWORD}
            )
            assert again.status_code == 409, "the user's row was lost with the slice"
            assert item_names(service.client, log_in(service.client)) == {"kept"}
            stop(service)
            assert "database.slice_restored" in service.output(), tail(service.output())
    assert not file.exists(), "the test's database outlived it"


def test_switching_sqlite_to_postgresql_gives_a_service_on_postgresql(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    project, workdir, python = generated_with(template_releases, tmp_path, "database=sqlite")

    generated = installed(project, python)
    with own_database(generated) as database, running(generated, workdir, database) as service:
        headers = new_caller(generated, service)
        expect(service.client.post("/items", json={"name": "on sqlite"}, headers=headers), 201)
        stop(service)

    switch(template_releases, project, "database=postgresql")
    generated = installed(project, python)
    assert [server.name for server in generated.project.assembly.services] == ["postgres"]
    passes_its_own_suite(generated)  # on PostgreSQL: skips (fails in CI) without it
    with own_database(generated) as database, running(generated, workdir, database) as service:
        assert database_url(project, database).startswith("postgresql+asyncpg://")
        headers = new_caller(generated, service)
        created = expect(
            service.client.post("/items", json={"name": "on postgresql"}, headers=headers), 201
        ).json()
        fetched = expect(service.client.get(f"/items/{created['id']}", headers=headers), 200)
        assert fetched.json()["name"] == "on postgresql"
        assert item_names(service.client, headers) == {"on postgresql"}
        stop(service)


def redis_keys(pattern: str) -> list[str]:
    """The keys matching ``pattern`` on the Redis the services use (``KEYS``, spoken raw)."""
    url = urlsplit(project_service_url(catalog_services()["redis"]))
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), 5) as redis:
        redis.sendall(f"*2\r\n$4\r\nKEYS\r\n${len(pattern)}\r\n{pattern}\r\n".encode())
        reply = redis.makefile("rb")
        header = reply.readline().decode().strip()
        assert header.startswith("*"), f"unexpected reply from Redis: {header}"
        keys = []
        for _ in range(int(header[1:])):
            reply.readline()  # the key's length
            keys.append(reply.readline().decode().strip())
        return keys


def test_switching_to_redis_keeps_the_items_and_caches_them_in_redis(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    project, workdir, python = generated_with(template_releases, tmp_path, "cache=memory")

    generated = installed(project, python)
    with own_database(generated) as database:
        with running(generated, workdir, database) as service:
            register(service.client)
            created = expect(
                service.client.post(
                    "/items", json={"name": "kept"}, headers=log_in(service.client)
                ),
                201,
            ).json()
            stop(service)

        switch(template_releases, project, "cache=redis")
        generated = installed(project, python)
        assert [server.name for server in generated.project.assembly.services] == ["redis"]
        passes_its_own_suite(generated)  # on Redis: skips (fails in CI) without it
        with running(generated, workdir, database) as service:
            headers = log_in(service.client)
            for _ in range(2):
                fetched = expect(
                    service.client.get(f"/items/{created['id']}", headers=headers), 200
                )
                assert fetched.json()["name"] == "kept"
            ready = expect(service.client.get("/health/ready"), 200).json()
            assert (ready["status"], ready["checks"]["cache"]) == ("ok", "ok")
            assert redis_keys(f"*:item:v1:{created['id']}"), "the item was not cached in Redis"
            stop(service)
