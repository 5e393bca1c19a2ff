"""Switching a slice in a service that has run: it keeps booting, and keeps its data.

A service generated with ``auth=jwt`` (from the latest release, the working tree) is
installed into its own venv, booted as a real process and used: a user registers and
creates an item. Then ``copier update -d auth=none`` removes the jwt slice and its
migration file while the database still records them; the service must boot on the
same database, answer ``/health/ready`` and serve items, with the user's rows parked,
not dropped. ``-d auth=jwt`` brings the slice back: the same user logs in again and
finds the item. Every step runs in one pytest-xdist worker.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from conftest import (
    DEFAULT_ROW,
    REQUIRE_SERVERS,
    UV,
    TemplateReleases,
    find_python,
    git,
    load_project,
    run_copier,
)
from test_generated import (
    STOP_TIMEOUT_SECONDS,
    GeneratedProject,
    Service,
    expect,
    running,
    tail,
)

pytestmark = [pytest.mark.copier, pytest.mark.generated, pytest.mark.xdist_group("slice-switch")]

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
"""The user the jwt slice's rows hold across the switches."""


def generate(template: TemplateReleases, destination: Path, python_version: str) -> Path:
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", template.latest,
        "--data", f"python_version={python_version}", "--data", "auth=jwt",
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
    generated = GeneratedProject(load_project(project, DEFAULT_ROW), project / ".venv")
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


def test_switching_auth_off_and_back_keeps_the_service_and_its_rows(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    interpreter = find_python(DEFAULT_ROW.python_version)
    if interpreter is None:
        reason = f"no Python {DEFAULT_ROW.python_version} interpreter found"
        if REQUIRE_SERVERS:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    project = generate(template_releases, tmp_path / "service", DEFAULT_ROW.python_version)
    workdir = tmp_path / "run"  # the service's SQLite database lives here across boots
    workdir.mkdir()
    database = workdir / "app.db"

    with running(installed(project, interpreter), workdir) as service:
        register(service.client)
        headers = log_in(service.client)
        expect(service.client.post("/items", json={"name": "kept"}, headers=headers), 201)
        stop(service)

    switch(template_releases, project, "auth=none")
    assert not list((project / "migrations" / "versions").glob("*_create_user_and_*.py"))
    with running(installed(project, interpreter), workdir) as service:
        expect(service.client.post("/items", json={"name": "anonymous"}), 201)
        assert item_names(service.client, {}) == {"anonymous"}
        stop(service)
        assert "database.slice_parked" in service.output(), tail(service.output())
    assert rows(database, "SELECT email FROM user_account") == [(EMAIL,)]
    assert ("kept",) in rows(database, "SELECT name FROM item")

    switch(template_releases, project, "auth=jwt")
    with running(installed(project, interpreter), workdir) as service:
        again = service.client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert again.status_code == 409, "the user's row was lost with the slice"
        assert item_names(service.client, log_in(service.client)) == {"kept"}
        stop(service)
        assert "database.slice_restored" in service.output(), tail(service.output())
