"""Each tested combination, generated and run as its team would run it.

Per matrix row, in one pytest-xdist worker (``xdist_group`` = the row id):

1. render the working tree into a temporary directory;
2. ``uv sync`` a FRESH virtual environment from the project's own ``pyproject.toml``
   with the row's Python (a missing dependency fails here, a shared venv would hide it);
3. the project's own tools from that venv: ``ruff check``, ``ruff format --check``,
   ``black --check``, ``mypy`` (strict, as the project configures it);
4. the project's own test suite, against real backing servers when it needs any (its
   ``tests/databases.py`` gives each run a database of its own);
5. ``migrate`` twice, then boot ``python -m <package>`` as a real process, wait for
   ``/health/ready``, walk the example flow over HTTP, then SIGTERM and expect a clean
   exit: each on a database of its own, made and dropped through the project's
   ``tests/database.py``, so no row or run shares one.

Run only these with ``uv run pytest -m generated``; skip them with ``-m "not generated"``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    MATRIX,
    REQUIRE_SERVERS,
    UV,
    RenderedProject,
    find_python,
    free_port,
    load_project,
    render_project,
    service_env,
)
from slipway_catalog.matrix import MatrixRow

OUTPUT_TAIL_LINES = 150
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
PROBLEM_JSON = "application/problem+json"

ROWS = [pytest.param(row, id=row.id, marks=pytest.mark.xdist_group(row.id)) for row in MATRIX]
"""Marks on a fixture's own ``params`` do not reach the tests, so parametrize the tests."""

pytestmark = [
    pytest.mark.generated,
    pytest.mark.parametrize("generated", ROWS, indirect=True),
]


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept)


@dataclass(frozen=True)
class GeneratedProject:
    project: RenderedProject
    venv: Path

    @property
    def path(self) -> Path:
        return self.project.path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def tool(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self, extra: Mapping[str, str] = {}) -> dict[str, str]:
        """A clean environment: no outer venv, none of the project's own variables."""
        return project_env(self.project, self.venv, extra)

    def run(
        self, step: str, *command: str, extra_env: Mapping[str, str] = {}, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=self.path,
            env=self.env(extra_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        elapsed = time.monotonic() - started
        print(f"[{self.project.row.id}] {step}: exit {result.returncode} in {elapsed:.1f}s")
        return result

    def check(self, step: str, *command: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(step, *command, **kwargs)
        if result.returncode != 0:
            pytest.fail(
                f"[{self.project.row.id}] {step} failed (exit {result.returncode}) in {self.path}\n"
                f"$ {' '.join(command)}\n{tail(result.stdout + result.stderr)}",
                pytrace=False,
            )
        return result


def project_env(
    project: RenderedProject, venv: Path | None, extra: Mapping[str, str] = {}
) -> dict[str, str]:
    dropped = (
        "VIRTUAL_ENV",
        "UV_PROJECT_ENVIRONMENT",
        "UV_PYTHON",
        "PYTHONPATH",
        "PYTHONHOME",
        "CONDA_PREFIX",
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped
        and not key.startswith(project.env_prefix)
        and not key.startswith("PYTEST_")
    }
    env.update(NO_COLOR="1", UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1", PYTHONUNBUFFERED="1")
    env.pop("FORCE_COLOR", None)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedProject:
    """Render the row and install it into its own fresh venv with the row's Python."""
    row: MatrixRow = request.param
    interpreter = find_python(row.python_version)
    if interpreter is None:
        reason = f"no Python {row.python_version} interpreter found (set SLIPWAY_PYTHON_{row.python_version.replace('.', '_')})"
        if REQUIRE_SERVERS or os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    destination = tmp_path_factory.mktemp(f"generated-{row.id}") / "service"
    started = time.monotonic()
    render_project(row.data, destination)
    print(f"[{row.id}] rendered in {time.monotonic() - started:.1f}s")
    project = load_project(destination, row)
    venv = destination / ".venv"
    generated = GeneratedProject(project, venv)
    sync = generated.run(
        "uv sync",
        UV,
        "sync",
        "--project",
        str(destination),
        "--python",
        interpreter,
    )
    if sync.returncode != 0:
        pytest.fail(
            f"[{row.id}] uv sync failed (exit {sync.returncode}):\n{tail(sync.stdout + sync.stderr)}",
            pytrace=False,
        )
    return generated


def test_installs_into_a_fresh_venv(generated: GeneratedProject) -> None:
    version = generated.check(
        "python version",
        str(generated.python),
        "-c",
        "import sys; print('%d.%d' % sys.version_info[:2])",
    )
    assert version.stdout.strip() == generated.project.python_version
    generated.check("uv pip check", UV, "pip", "check", "--python", str(generated.python))
    generated.check(
        "import", str(generated.python), "-c", f"import {generated.project.package_name}.app"
    )


def test_ruff_check(generated: GeneratedProject) -> None:
    generated.check("ruff check", generated.tool("ruff"), "check", "--no-cache", ".")


def test_ruff_format(generated: GeneratedProject) -> None:
    generated.check(
        "ruff format --check",
        generated.tool("ruff"),
        "format",
        "--no-cache",
        "--check",
        "--diff",
        ".",
    )


def test_black(generated: GeneratedProject) -> None:
    generated.check("black --check", generated.tool("black"), "--check", "--diff", ".")


@pytest.fixture(scope="session")
def mypy_cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache per worker and Python version, shared by that worker's rows.

    Most of mypy's time goes to the third-party packages every row shares (FastAPI,
    Pydantic, SQLAlchemy): a warm cache cuts a row from ~20 s to ~3 s. mypy checks
    each cached module's hash, so a row's own code is always checked afresh.
    """
    return tmp_path_factory.mktemp("mypy-cache")


def test_mypy_strict(generated: GeneratedProject, mypy_cache_root: Path) -> None:
    config = tomllib.loads((generated.path / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config.get("tool", {}).get("mypy", {})
    assert mypy.get("strict") is True, "set [tool.mypy] strict = true in pyproject.toml"
    cache = mypy_cache_root / f"py{generated.project.python_version}"
    command = [generated.tool("mypy"), "--cache-dir", str(cache)]
    if not mypy.get("files"):
        command += ["src", "tests"]
    generated.check("mypy --strict", *command)


def test_own_test_suite(generated: GeneratedProject) -> None:
    servers = service_env(generated.project)
    generated.check(
        "pytest",
        str(generated.python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        extra_env=servers,
    )


def test_migrate_command_is_idempotent(generated: GeneratedProject, tmp_path: Path) -> None:
    project = generated.project
    if not project.assembly.migrations:
        pytest.skip("no database migrations in this combination")
    with own_database(generated) as database:
        migrate_twice(generated, {**boot_env(project, tmp_path, free_port()), **database})


def migrate_twice(generated: GeneratedProject, env: Mapping[str, str]) -> None:
    """``migrate`` twice on the database ``env`` names, leaving it at every head."""
    project = generated.project
    command = (str(generated.python), "-m", project.package_name, "migrate")
    generated.check("migrate", *command, extra_env=env)
    generated.check("migrate again", *command, extra_env=env)
    current = generated.check(
        "alembic current", str(generated.python), "-m", "alembic", "current", extra_env=env
    )
    heads = [line for line in current.stdout.splitlines() if line.strip()]
    assert heads, "migrate left the database without a revision"
    assert all("head)" in line for line in heads), current.stdout  # "(head)", "(effective head)"


# --- a database of the row's own -------------------------------------------------

DATABASE_URL = "DATABASE__URL"
"""The setting that names the database (without the project's prefix)."""

CREATE_DATABASE = """
import asyncio

from tests.database import create_database
from {package}.settings import Settings

print(asyncio.run(create_database(Settings().database)).url)
"""
DROP_DATABASE = """
import asyncio, sys

from tests.database import drop_database
from {package}.settings import Settings

asyncio.run(drop_database(Settings().database.model_copy(update={{"url": sys.argv[1]}})))
"""
"""Run the project's own ``tests/database.py`` (the database axis's slot) with its venv."""


def has_database(project: RenderedProject) -> bool:
    return any(resource.name == "database" for resource in project.assembly.resources)


@contextmanager
def own_database(generated: GeneratedProject) -> Iterator[dict[str, str]]:
    """A new, empty database on the row's server, made and dropped (even when the body
    fails) by the project's own ``tests/database.py``; yields the env vars that point
    the service at it: its server's (``service_env``) and its URL. Without a database
    resource it yields none and makes nothing."""
    project = generated.project
    if not has_database(project):
        yield {}
        return
    servers = service_env(project)
    script = CREATE_DATABASE.format(package=project.package_name)
    created = generated.check(
        "create database", str(generated.python), "-c", script, extra_env=servers
    )
    url = created.stdout.strip().splitlines()[-1]
    configured = servers.get(project.env_prefix + DATABASE_URL)
    assert url != configured, f"create_database handed back the configured database {url}"
    try:
        yield {**servers, project.env_prefix + DATABASE_URL: url}
    finally:
        script = DROP_DATABASE.format(package=project.package_name)
        dropped = generated.run(
            "drop database", str(generated.python), "-c", script, url, extra_env=servers
        )
    said = tail(dropped.stdout + dropped.stderr)
    assert dropped.returncode == 0, f"could not drop the row's database {url}:\n{said}"


# --- booting the real process --------------------------------------------------


def settings_fields(project: RenderedProject) -> set[tuple[str, str]]:
    return {
        (group.name, field.name)
        for group in project.assembly.settings_groups
        for field in group.fields
    }


def boot_env(project: RenderedProject, workdir: Path, port: int) -> dict[str, str]:
    prefix = project.env_prefix
    env = {
        f"{prefix}SERVER__PORT": str(port),
        f"{prefix}SERVER__HOST": "127.0.0.1",
        f"{prefix}ENVIRONMENT": "development",
    }
    # Each slice's settings under test: a SQLite file in the workdir, say.
    env.update(project.assembly.test_environment(str(workdir)))
    # The flow sends a few dozen requests at once; keep the rate limit out of its way.
    if ("http", "rate_limit_burst") in settings_fields(project):
        env[f"{prefix}HTTP__RATE_LIMIT_BURST"] = "1000"
        env[f"{prefix}HTTP__RATE_LIMIT_PER_SECOND"] = "1000"
    env.update(service_env(project))  # the backing servers, wherever they listen
    return env


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client

    def output(self) -> str:
        return tail(self.log.read_text(encoding="utf-8", errors="replace"))


@contextmanager
def running(
    generated: GeneratedProject, workdir: Path, database: Mapping[str, str] = {}
) -> Iterator[Service]:
    """``python -m <package>`` on a free port until ready; ``database`` (from
    ``own_database``) points it at a database of its own."""
    port = free_port()
    log = workdir / "service.log"
    env = generated.env({**boot_env(generated.project, workdir, port), **database})
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(generated.python), "-m", generated.project.package_name],
            cwd=generated.path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
    service = Service(process, log, client)
    try:
        wait_until_ready(service)
        yield service
    except BaseException as error:
        if isinstance(error, AssertionError | pytest.fail.Exception):
            raise AssertionError(f"{error}\n--- service output ---\n{service.output()}") from error
        raise
    finally:
        client.close()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_until_ready(service: Service) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(
                f"the service exited with {service.process.returncode} before it was ready"
            )
        try:
            response = service.client.get("/health/ready", timeout=2.0)
        except httpx.TransportError as error:
            last = f"{type(error).__name__}"
        else:
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:500]}"
        time.sleep(0.2)
    raise AssertionError(
        f"/health/ready not 200 within {READY_TIMEOUT_SECONDS:.0f}s (last: {last})"
    )


def describe(response: httpx.Response, expected: int) -> str:
    request = response.request
    return (
        f"{request.method} {request.url}: expected {expected}, "
        f"got {response.status_code} {response.text[:1000]}"
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, describe(response, status)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body.get("status", status) == status, body
    assert body.get("title"), body
    assert body.get("request_id"), f"problem without request_id: {body}"
    if "x-request-id" in response.headers:
        assert body["request_id"] == response.headers["x-request-id"]
    return body


def expect(response: httpx.Response, status: int) -> httpx.Response:
    assert response.status_code == status, describe(response, status)
    return response


NEW_CALLER = """
import asyncio, json, sys

import httpx

from tests.callers import new_caller


async def main() -> None:
    async with httpx.AsyncClient(base_url=sys.argv[1]) as client:
        print(json.dumps(await new_caller(client)))


asyncio.run(main())
"""
"""Runs the project's own ``tests/callers.py`` (the auth axis's slot) against ``argv[1]``."""


def new_caller(generated: GeneratedProject, service: Service) -> dict[str, str]:
    """Headers of a brand-new caller, however the project authenticates."""
    result = generated.check(
        "new caller", str(generated.python), "-c", NEW_CALLER, str(service.client.base_url)
    )
    headers: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return headers


def all_item_ids(client: httpx.Client, headers: Mapping[str, str]) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = expect(client.get("/items", params=params, headers=headers), 200).json()
        assert set(page) >= {"items", "next_cursor"}, page
        assert len(page["items"]) <= 1, page
        ids.extend(str(item["id"]) for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        assert isinstance(cursor, str), page
    raise AssertionError("pagination never ended")


def test_boots_serves_the_example_flow_and_stops_cleanly(
    generated: GeneratedProject, tmp_path: Path
) -> None:
    project = generated.project
    with own_database(generated) as database, running(generated, tmp_path, database) as service:
        client = service.client
        expect(client.get("/health/live"), 200)

        headers = new_caller(generated, service)
        if headers:  # callers authenticate: a request without credentials is refused
            assert_problem(client.get("/items"), 401)

        assert_problem(client.post("/items", json={}, headers=headers), 422)

        create = {"name": "first", "description": "made by Slipway's tests"}
        idempotent = {**headers, "Idempotency-Key": "slipway-test-key-1"}
        created = expect(client.post("/items", json=create, headers=idempotent), 201).json()
        assert set(created) >= {"id", "name", "description", "created_at", "updated_at"}, created
        assert created["name"] == "first"
        replayed = client.post("/items", json=create, headers=idempotent)
        assert replayed.status_code in (200, 201), replayed.text
        assert replayed.json()["id"] == created["id"], "an idempotent retry created another item"
        second = expect(client.post("/items", json={"name": "second"}, headers=headers), 201).json()
        item = f"/items/{created['id']}"

        fetched = expect(client.get(item, headers=headers), 200)
        etag = fetched.headers.get("etag")
        assert etag, f"no ETag on GET {item}: {dict(fetched.headers)}"
        expect(client.get(item, headers={**headers, "If-None-Match": etag}), 304)

        ids = all_item_ids(client, headers)
        assert str(created["id"]) in ids
        assert str(second["id"]) in ids
        assert len(ids) == len(set(ids)), f"a page repeated an item: {ids}"

        patched = expect(client.patch(item, json={"name": "renamed"}, headers=headers), 200).json()
        assert patched["name"] == "renamed"
        refetched = expect(client.get(item, headers={**headers, "If-None-Match": etag}), 200)
        assert refetched.headers.get("etag") != etag, "the ETag did not change with the item"

        stranger = new_caller(generated, service)
        if stranger != headers:  # another principal must not see the item
            peeked = client.get(item, headers=stranger)
            assert peeked.status_code in (403, 404), "another caller read the item"

        expect(client.delete(item, headers=headers), 204)
        assert_problem(client.get(item, headers=headers), 404)

        for path, _serves in project.assembly.endpoints:
            if "{" not in path:
                expect(client.get(path, headers=headers), 200)

        service.process.send_signal(signal.SIGTERM)
        try:
            code = service.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(
                f"still running {STOP_TIMEOUT_SECONDS:.0f}s after SIGTERM"
            ) from error
        assert code == 0, f"exit code {code} after SIGTERM"
