"""The files that build, run and check a generated service pass the tools that read them.

Every tested combination is rendered (``rendered_row``, from the catalog's matrix) and
its ``Dockerfile`` goes through hadolint, ``compose.yaml`` through the Compose spec and
the CI workflow through GitHub's workflow schema (both vendored by check-jsonschema)
and actionlint, with shellcheck on its ``run:`` scripts (no Docker engine is needed).
The rows with a database server (PostgreSQL, MariaDB) also show that the server and
the service share its password: from ``.env`` in Compose, one throwaway value in CI.
A synthetic bare server (no environment, health check or URL) is added to a
PostgreSQL row's assembly to prove the least a slice's ``Service`` may declare reaches
compose and CI as the contribution model promises.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import (
    DEFAULT_ROW,
    RenderedProject,
    catalog_services,
    container_start_problems,
    git,
    run_copier,
    snapshot_template,
)
from slipway_catalog.model import Service

pytestmark = pytest.mark.copier

WORKFLOW = Path(".github/workflows/ci.yml")
COMPOSE = Path("compose.yaml")
OWNED = (
    Path("Dockerfile"),
    Path(".dockerignore"),
    Path("Makefile"),
    Path("README.md"),
    COMPOSE,
    WORKFLOW,
)
"""The files this module checks, where the project has them."""
REQUIRED = "set it in .env or the environment"
"""Compose's message when a required variable is unset."""

MEMCACHED = Service(name="memcached", image="memcached:1.6-alpine", port=11211)
"""No environment, health check or URL: the bare minimum a slice may declare."""
POSTGRES = catalog_services()["postgres"]
"""The catalog's, for ``database=postgresql``."""


# --- helpers ----------------------------------------------------------------------


def tool(name: str) -> str:
    """A validator from the dev group: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; `uv sync` installs the dev group", pytrace=False)
    return found


def check(*args: str, cwd: Path) -> None:
    """Run a validator; on failure show exactly what it said."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    command = " ".join([Path(args[0]).name, *args[1:]])
    said = f"`{command}` exited {result.returncode} in {cwd}:\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, said


def hadolint(project: Path) -> None:
    # "style" is the lowest threshold: any finding at all fails.
    check(tool("hadolint"), "--no-color", "--failure-threshold", "style", "Dockerfile", cwd=project)


def compose_spec(project: Path) -> None:
    schema = "vendor.compose-spec"
    check(tool("check-jsonschema"), "--builtin-schema", schema, str(COMPOSE), cwd=project)


def workflow_checks(project: Path) -> None:
    schema = "vendor.github-workflows"
    check(tool("check-jsonschema"), "--builtin-schema", schema, str(WORKFLOW), cwd=project)
    shellcheck = f"-shellcheck={tool('shellcheck')}"
    check(tool("actionlint"), "-no-color", shellcheck, str(WORKFLOW), cwd=project)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_prefix(project: Path) -> str:
    answers = load_yaml(project / ".copier-answers.yml")
    return f"{answers['package_name']}_".upper()


def dotenv(project: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = project / ".env"
    if env_file.is_file():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                values[name.strip()] = value.strip()
    return values


# --- every tested combination -----------------------------------------------------


def test_dockerfile_passes_hadolint(rendered_row: RenderedProject) -> None:
    hadolint(rendered_row.path)


def test_compose_file_follows_the_compose_spec(rendered_row: RenderedProject) -> None:
    compose = rendered_row.path / COMPOSE
    if COMPOSE.as_posix() not in rendered_row.assembly.files:
        assert not compose.exists()
        pytest.skip("this combination deploys without Compose")
    compose_spec(rendered_row.path)


def test_workflow_passes_its_schema_and_actionlint(rendered_row: RenderedProject) -> None:
    workflow = rendered_row.path / WORKFLOW
    if WORKFLOW.as_posix() not in rendered_row.assembly.files:
        assert not workflow.exists()
        pytest.skip("this combination has no GitHub Actions workflow")
    workflow_checks(rendered_row.path)


def test_deploy_files_read_as_hand_written(rendered_row: RenderedProject) -> None:
    problems = []
    for relative in OWNED:
        path = rendered_row.path / relative
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if "\n\n\n" in text:
            problems.append(f"{relative}: a run of blank lines")
        if re.search(r"[ \t]+$", text, re.MULTILINE):
            problems.append(f"{relative}: trailing whitespace")
        if not text.endswith("\n") or text.endswith("\n\n"):
            problems.append(f"{relative}: must end with exactly one newline")
        if re.search(r"\{\{|\{%", text):
            problems.append(f"{relative}: Jinja (or GitHub expression) residue")
    assert not problems, "\n".join(problems)


def test_makefile_targets_are_uv_commands(rendered_row: RenderedProject) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    makefile = (rendered_row.path / "Makefile").read_text(encoding="utf-8")
    recipes = [line for line in makefile.splitlines() if line.startswith((" ", "\t"))]
    assert all(line.startswith("\t") for line in recipes), "recipes must start with a tab"
    targets = ["install", "run", "test", "lint", "fmt"]
    if rendered_row.assembly.migrations:
        targets.append("migrate")
    dry_run = subprocess.run(
        [make, "--dry-run", *targets],
        cwd=rendered_row.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert all(line.startswith("uv ") for line in dry_run.stdout.splitlines()), dry_run.stdout
    help_text = subprocess.run(
        [make], cwd=rendered_row.path, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert all(re.search(rf"^\s+{target}\s", help_text, re.MULTILINE) for target in targets)


def test_compose_takes_settings_from_the_catalog(rendered_row: RenderedProject) -> None:
    if COMPOSE.as_posix() not in rendered_row.assembly.files:
        pytest.skip("this combination deploys without Compose")
    assembly = rendered_row.assembly
    services = load_yaml(rendered_row.path / COMPOSE)["services"]
    app = services["app"]
    environment: Mapping[str, str] = app["environment"]
    secrets = {var.name for var in assembly.env_vars if var.secret}
    for name in secrets:
        assert environment[name].startswith(f"${{{name}:?"), f"{name} must be required"
    urls = {assembly.env_prefix + service.url_env for service in assembly.services}
    settings = {var.name for var in assembly.env_vars}
    # Every other setting keeps the default the service declares.
    extra = settings.intersection(environment) - secrets - urls
    assert not extra, f"compose should set only secrets and service URLs, not {sorted(extra)}"
    assert environment[f"{assembly.env_prefix}ENVIRONMENT"] == "production"
    assert "var:/app/var" in app["volumes"]
    if assembly.migrations:
        assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services["migrate"]["command"][-1] == "migrate"
        assert services["migrate"]["environment"] == environment


def test_workflow_is_least_privilege(rendered_row: RenderedProject) -> None:
    if WORKFLOW.as_posix() not in rendered_row.assembly.files:
        pytest.skip("this combination has no GitHub Actions workflow")
    workflow = load_yaml(rendered_row.path / WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert job["timeout-minutes"] <= 30
        setup_uv = next(step for step in job["steps"] if "setup-uv" in step.get("uses", ""))
        assert setup_uv["with"]["python-version"] == rendered_row.python_version


def test_compose_gives_a_server_the_services_own_secret(rendered_row: RenderedProject) -> None:
    """PostgreSQL's or MariaDB's password is the variable the service reads it from,
    required from ``.env``; the app and the migration wait until the server is healthy."""
    assembly = rendered_row.assembly
    shared = [service for service in assembly.services if service.secrets]
    if COMPOSE.as_posix() not in assembly.files or not shared:
        pytest.skip("no server shares a secret with this combination's service")
    services = load_yaml(rendered_row.path / COMPOSE)["services"]
    app = services["app"]["environment"]
    for service in shared:
        environment = services[service.name]["environment"]
        for variable, setting in service.secrets:
            name = assembly.env_prefix + setting
            assert environment[variable] == app[name] == f"${{{name}:?{REQUIRED}}}"
        url = app[assembly.env_prefix + service.url_env]
        assert urlsplit(url).password is None, f"{url} carries a password"
        assert not container_start_problems(service.image, environment, url)
        for dependent in ("app", "migrate"):
            depends_on = services[dependent]["depends_on"][service.name]
            assert depends_on == {"condition": "service_healthy"}, dependent


def test_compose_keeps_a_servers_data_and_runs_it_as_the_catalog_says(
    rendered_row: RenderedProject,
) -> None:
    """A server's data outlives ``docker compose down`` in a named volume; its command
    (MariaDB's exact collation) reaches the container."""
    assembly = rendered_row.assembly
    servers = [service for service in assembly.services if service.data or service.command]
    if COMPOSE.as_posix() not in assembly.files or not servers:
        pytest.skip("no server here keeps data or takes a command")
    compose = load_yaml(rendered_row.path / COMPOSE)
    for service in servers:
        container = compose["services"][service.name]
        if service.data:
            volume = f"{service.name}-data"
            assert f"{volume}:{service.data}" in container["volumes"]
            assert volume in compose["volumes"]
        assert container.get("command", []) == list(service.command)


def test_ci_gives_a_server_and_the_tests_one_throwaway_secret(
    rendered_row: RenderedProject,
) -> None:
    assembly = rendered_row.assembly
    shared = [service for service in assembly.services if service.secrets]
    if WORKFLOW.as_posix() not in assembly.files or not shared:
        pytest.skip("no server shares a secret with this combination's service")
    job = load_yaml(rendered_row.path / WORKFLOW)["jobs"]["check"]
    dotenv_values = set(dotenv(rendered_row.path).values())
    for service in shared:
        environment = job["services"][service.name]["env"]
        for variable, setting in service.secrets:
            value = job["env"][assembly.env_prefix + setting]
            assert environment[variable] == value
            assert value, f"{variable} empty"
            assert value not in dotenv_values, "CI must not use the project's own .env value"
        url = job["env"][assembly.env_prefix + service.url_env]
        assert url == service.url_at("127.0.0.1")
        assert urlsplit(url).password is None, f"{url} carries a password"
        assert not container_start_problems(service.image, environment, url)


def test_secrets_are_never_shown(rendered_row: RenderedProject) -> None:
    secret_names = {var.name for var in rendered_row.assembly.env_vars if var.secret}
    values = [value for name, value in dotenv(rendered_row.path).items() if name in secret_names]
    readme = (rendered_row.path / "README.md").read_text(encoding="utf-8")
    for name in secret_names:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert "*secret*" in row
    for relative in OWNED:
        path = rendered_row.path / relative
        if path.exists():
            text = path.read_text(encoding="utf-8")
            assert not any(value and value in text for value in values), f"{relative} leaks"


# --- a bare backing server, contributed the way a future slice would ----------------


SERVICES_CONTRIBUTION = """

# A slice declaring a bare backing server, as a future one might.
import dataclasses as _dataclasses

from .model import Service

_resolve_without_services = resolve


def resolve(*args, **kwargs):
    assembly = _resolve_without_services(*args, **kwargs)
    extra = ({memcached!r},)
    return _dataclasses.replace(assembly, services=(*assembly.services, *extra))
"""


@pytest.fixture(scope="module")
def with_services(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PostgreSQL project rendered from a template whose catalog adds memcached."""
    template = snapshot_template(tmp_path_factory.mktemp("template") / "slipway")
    package = template / "extensions" / "slipway_catalog" / "__init__.py"
    contribution = SERVICES_CONTRIBUTION.format(memcached=MEMCACHED)
    package.write_text(package.read_text(encoding="utf-8") + contribution, encoding="utf-8")
    git(template, "commit", "--quiet", "--all", "--message", "A bare backing server")
    destination = tmp_path_factory.mktemp("services") / "project"
    answers = {**DEFAULT_ROW.data, "database": "postgresql"}
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        *(argument for key, value in answers.items() for argument in ("-d", f"{key}={value}")),
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return destination


def test_services_reach_compose(with_services: Path) -> None:
    compose_spec(with_services)
    prefix = env_prefix(with_services)
    services = load_yaml(with_services / COMPOSE)["services"]
    postgres = services["postgres"]
    assert postgres["image"] == POSTGRES.image
    assert postgres["ports"] == ["127.0.0.1:5432:5432"]
    password = f"${{{prefix}DATABASE__PASSWORD:?{REQUIRED}}}"
    assert postgres["environment"] == {**dict(POSTGRES.environment), "POSTGRES_PASSWORD": password}
    assert postgres["healthcheck"]["test"] == ["CMD", *POSTGRES.healthcheck]
    assert set(services["memcached"]) == {"image", "ports", "restart"}
    for dependent in ("app", "migrate"):
        depends_on = services[dependent]["depends_on"]
        assert depends_on["postgres"] == {"condition": "service_healthy"}
        assert depends_on["memcached"] == {"condition": "service_started"}
    environment = services["app"]["environment"]
    assert environment[prefix + POSTGRES.url_env] == POSTGRES.url_at("postgres")
    assert environment[f"{prefix}DATABASE__PASSWORD"] == password


def test_services_reach_ci(with_services: Path) -> None:
    workflow_checks(with_services)
    prefix = env_prefix(with_services)
    job = load_yaml(with_services / WORKFLOW)["jobs"]["check"]
    postgres = job["services"]["postgres"]
    assert postgres["image"] == POSTGRES.image
    assert postgres["ports"] == ["5432:5432"]
    password = postgres["env"]["POSTGRES_PASSWORD"]
    assert postgres["env"] == {**dict(POSTGRES.environment), "POSTGRES_PASSWORD": password}
    assert '--health-cmd "pg_isready -U postgres -d app"' in postgres["options"]
    assert set(job["services"]["memcached"]) == {"image", "ports"}
    assert job["env"] == {
        prefix + POSTGRES.url_env: POSTGRES.url_at("127.0.0.1"),
        f"{prefix}DATABASE__PASSWORD": password,
    }


def test_services_reach_the_readme(with_services: Path) -> None:
    readme = (with_services / "README.md").read_text(encoding="utf-8")
    for service in (POSTGRES, MEMCACHED):
        assert f"- `{service.name}` ({service.image}) on port {service.port}" in readme
    assert "\n\n\n" not in readme
