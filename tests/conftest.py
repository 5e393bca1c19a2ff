"""Shared fixtures and helpers for Slipway's own tests.

Reusable by every test module (import helpers with ``from conftest import ...``;
``tests/`` is on ``sys.path`` through pytest's rootdir conftest handling):

Constants and helpers
    ``TEMPLATE_ROOT``          the repository root, found from this file (tests run
                               from a fresh clone anywhere).
    ``MATRIX``                 ``slipway_catalog.matrix.matrix()``: every tested
                               combination, a list of ``MatrixRow`` (``.id``,
                               ``.answers``, ``.data``, ``.names``, ``.label``).
    ``DEFAULT_ROW``            the row named ``default``.
    ``render_project(answers, dst)``  render the *working tree* (uncommitted edits
                               included) with Copier's API into ``dst``.
    ``load_project(path, row)``  a ``RenderedProject`` for a directory already rendered.
    ``run_copier(*args)``      the real ``copier`` CLI in a subprocess (stdin closed).
    ``find_python(version)``   an interpreter path for ``"3.12"``, or ``None``.
    ``free_port()``            a free TCP port on 127.0.0.1.
    ``UV``                     the uv executable itself (``uv run`` exports it as ``UV``):
                               a pyenv shim would pick the Python by ``.python-version``.
    ``catalog_services()``     every backing server the catalog declares, by name.
    ``server_env_var(name)``   ``SLIPWAY_<NAME>_URL``, which moves a server elsewhere.
    ``server_reachable(url)``  whether something listens at the URL's host:port.
    ``require_server(name, url)``  the URL once reachable, else skip (or fail
                               when ``SLIPWAY_REQUIRE_SERVERS=1``, as ``.ci/run`` sets).
    ``project_service_url(service)``  the URL a project gets for a ``model.Service``.
    ``container_start_problems(image, env, url)``  why a database container would not
                               start or would refuse the URL's user (``IMAGE_STARTS``).
    ``service_env(project)``   ``{PREFIX+url_env: url}`` for the project's services,
                               each checked with ``require_server``; a service's
                               ``secrets`` settings get the URL's password (or empty),
                               which the URL then leaves out.
    ``without_password(url)``  the URL without its password.
    ``text_files(root)``       the rendered text files (``.git`` and caches excluded).
    ``git(cwd, *args)``        run git with a fixed test identity; returns stdout.
    ``snapshot_template(dst)`` a fresh clone of the template whose last commit is the
                               working tree (uncommitted and untracked edits included).

Fixtures
    ``template_root``          ``TEMPLATE_ROOT``.
    ``rendered``               (session) factory: ``rendered(row_or_answers)`` ->
                               ``RenderedProject``, rendered once per worker.
    ``rendered_row``           (session, parametrized over ``MATRIX``, ids are row
                               ids): a ``RenderedProject`` for each tested row.
    ``default_project``        (session) the default row rendered.
    ``template_releases``      (session) ``TemplateReleases``: a snapshot clone with
                               older versions tagged as releases (see ``RELEASES``).

A ``RenderedProject`` has ``path``, ``row``, ``answers`` (what Copier recorded in
``.copier-answers.yml``), ``assembly`` (``slipway_catalog.resolve``),
``package_name`` and ``env_prefix``. Treat it as read-only: copy it before changing
files (``shutil.copytree``) since other tests share it.

Markers (``pyproject.toml``): ``generated`` (slow, per-row install/check/boot),
``copier`` (renders), ``servers`` (needs loopback servers), ``lint``. Skip the slow
ones with ``uv run pytest -m "not generated"``.

Backing servers (real ones on loopback, never mocks) come from the catalog: each
``Service`` a choice declares is reached at its URL with host ``127.0.0.1``, or wherever
``SLIPWAY_<NAME>_URL`` points (the driver in the catalog's URL is kept).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE_ROOT / "extensions"))

import slipway_catalog as catalog  # noqa: E402
from slipway_catalog.matrix import PYTHON, MatrixRow, matrix  # noqa: E402
from slipway_catalog.model import Service  # noqa: E402

# `git status`, which Copier runs on the template, must not write the index while
# a colleague (or the lead) commits in the same work tree.
os.environ.setdefault("GIT_OPTIONAL_LOCKS", "0")

MATRIX: list[MatrixRow] = matrix()
DEFAULT_ROW: MatrixRow = next(row for row in MATRIX if "default" in row.names)

REQUIRE_SERVERS = os.environ.get("SLIPWAY_REQUIRE_SERVERS") == "1"
UV = os.environ.get("UV") or shutil.which("uv") or "uv"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Slipway Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Slipway Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}

RELEASES: dict[str, str] = {
    "v0.1.0": "b8a7932",  # the first version that renders a whole service
    "v0.2.0": "ce3af7e",  # one in the middle: the harness and the matrix land
}
"""Older template versions, tagged as releases in the snapshot. The commit before the
working tree becomes ``v0.3.0`` and the working tree itself ``v0.4.0``."""

CACHE_DIRS = frozenset(
    {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "var"}
)


# --- rendering ------------------------------------------------------------------


def render_project(answers: Mapping[str, object], dst: Path) -> Path:
    """Render the template's working tree into ``dst`` with ``answers`` as data.

    ``vcs_ref="HEAD"`` makes Copier include uncommitted (and untracked, not ignored)
    edits; without it Copier would render the latest tag once releases exist.
    """
    import copier
    from copier.errors import DirtyLocalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(TEMPLATE_ROOT),
            str(dst),
            data=dict(answers),
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    return dst


def run_copier(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: Mapping[str, str] = {}
) -> subprocess.CompletedProcess[str]:
    """The real Copier CLI, with no terminal and no stdin (as CI runs it)."""
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class RenderedProject:
    path: Path
    row: MatrixRow
    answers: dict[str, Any]
    assembly: catalog.Assembly

    @property
    def package_name(self) -> str:
        return str(self.answers["package_name"])

    @property
    def env_prefix(self) -> str:
        return self.package_name.upper() + "_"

    @property
    def python_version(self) -> str:
        return str(self.answers[PYTHON])


def as_row(row_or_answers: MatrixRow | Mapping[str, object]) -> MatrixRow:
    if isinstance(row_or_answers, MatrixRow):
        return row_or_answers
    from slipway_catalog.matrix import row_id

    answers = dict(row_or_answers)
    return MatrixRow(row_id(answers), answers)


def load_project(path: Path, row: MatrixRow) -> RenderedProject:
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text(encoding="utf-8"))
    assembly = catalog.resolve(
        {key: value for key, value in answers.items() if not key.startswith("_")}
    )
    return RenderedProject(path=path, row=row, answers=answers, assembly=assembly)


def text_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` but VCS and tool caches."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not CACHE_DIRS.intersection(path.relative_to(root).parts):
            yield path


# --- the template's history ------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout


def snapshot_template(destination: Path) -> Path:
    """Clone the template, then commit the working tree on top (if it differs).

    The clone has the whole history, so older versions can be checked out; its last
    commit is what a user would get from the working tree once committed.
    """
    if git(TEMPLATE_ROOT, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise AssertionError(
            "the template is a shallow clone; fetch its history (git fetch --unshallow)"
        )
    git(destination.parent, "clone", "--quiet", str(TEMPLATE_ROOT), destination.name)
    listed = git(TEMPLATE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    current = {name for name in listed.split("\0") if name and (TEMPLATE_ROOT / name).is_file()}
    for name in git(destination, "ls-files", "-z").split("\0"):
        if name and name not in current:
            (destination / name).unlink()
    for name in current:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_ROOT / name, target)
    git(destination, "add", "--all")
    if git(destination, "status", "--porcelain").strip():
        git(destination, "commit", "--quiet", "--no-verify", "--message", "The working tree")
    return destination


@dataclass(frozen=True)
class TemplateReleases:
    """A snapshot clone of the template whose versions are tagged as releases."""

    path: Path
    latest: str
    """The working tree's version."""
    older: tuple[str, ...]
    """Older releases, oldest first; the last one is the commit before ``latest``."""


# --- interpreters, ports and servers ------------------------------------------------


def _python_version_of(executable: str) -> str | None:
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_python(version: str) -> str | None:
    """An interpreter for ``version`` ("3.12"): ``SLIPWAY_PYTHON_3_12``, pyenv, PATH, /usr."""
    candidates: list[str] = []
    if override := os.environ.get(f"SLIPWAY_PYTHON_{version.replace('.', '_')}"):
        candidates.append(override)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates.extend(
        str(path)
        for path in sorted(
            pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True
        )
    )
    if on_path := shutil.which(f"python{version}"):
        candidates.append(on_path)
    candidates.extend([f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"])
    for candidate in candidates:
        if Path(candidate).exists() and _python_version_of(candidate) == version:
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def catalog_services(axes: Sequence[catalog.Axis] = catalog.AXES) -> dict[str, Service]:
    """Every backing server some choice declares (conditional contributions included)."""
    found: dict[str, Service] = {}
    for choice in (catalog.CORE, *(choice for axis in axes for choice in axis.choices)):
        for part in (choice, *choice.conditional):
            for service in part.services:
                found.setdefault(service.name, service)
    return found


def server_env_var(name: str) -> str:
    """``SLIPWAY_<NAME>_URL``: where the template's tests find server ``name``."""
    return f"SLIPWAY_{name.upper().replace('-', '_')}_URL"


def server_reachable(url: str, timeout: float = 2.0, default_port: int | None = None) -> bool:
    parts = urlsplit(url)
    port = parts.port or default_port
    if port is None:
        return False
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, url: str, default_port: int | None = None) -> str:
    """The server's URL; skip when nothing listens there (fail under SLIPWAY_REQUIRE_SERVERS=1)."""
    if server_reachable(url, default_port=default_port):
        return url
    reason = f"{name} is not reachable at {_redact(url)}; start it or set {server_env_var(name)}"
    if REQUIRE_SERVERS:
        pytest.fail(f"{reason} (SLIPWAY_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(reason)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def project_service_url(service: Service) -> str:
    """The URL a generated project gets for ``service`` in the template's tests.

    The catalog's URL at ``127.0.0.1`` carries the driver and database the project
    expects (``postgresql+asyncpg://...``); ``SLIPWAY_<NAME>_URL`` moves it to another
    host, port, user or database but keeps that driver.
    """
    base = service.url_at("127.0.0.1") or f"tcp://127.0.0.1:{service.port}"
    override = os.environ.get(server_env_var(service.name))
    if not override:
        return base
    target, source = urlsplit(base), urlsplit(override)
    return urlunsplit(target._replace(netloc=source.netloc, path=source.path or target.path))


def without_password(url: str) -> str:
    """``url`` with its password (if any) left out; the user stays."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = (parts.username or "") + "@" + parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


def service_env(project: RenderedProject) -> dict[str, str]:
    """Env vars that point ``project`` at its backing servers (skips when one is down).

    A server whose password the project reads from a setting of its own (the service's
    ``secrets``) gets the URL without the password, and each such setting the URL's
    password, or empty: never the random one the project's ``.env`` holds.
    """
    env: dict[str, str] = {}
    for service in project.assembly.services:
        url = require_server(service.name, project_service_url(service), service.port)
        if service.secrets:
            password, url = unquote(urlsplit(url).password or ""), without_password(url)
            env.update({project.env_prefix + setting: password for _, setting in service.secrets})
        if service.url_env:
            env[project.env_prefix + service.url_env] = url
    return env


IMAGE_STARTS: dict[str, tuple[str, frozenset[str]]] = {
    "postgres": ("postgres", frozenset({"POSTGRES_PASSWORD", "POSTGRES_HOST_AUTH_METHOD"})),
    "mariadb": (
        "root",
        frozenset(
            {
                "MARIADB_ROOT_PASSWORD",
                "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
                "MARIADB_RANDOM_ROOT_PASSWORD",
            }
        ),
    ),
}
"""Database images by repository: the superuser the entrypoint creates, and the
variables of which it needs one (non-empty) to initialise, else the container exits."""


def container_start_problems(image: str, env: Mapping[str, str], url: str) -> list[str]:
    """Why a container of ``image`` with ``env`` would not start, or would refuse the
    user of ``url`` (the URL a project gets for it); empty when it would serve it."""
    repository = image.rpartition(":")[0] or image
    if repository not in IMAGE_STARTS:
        return []
    superuser, needs_one = IMAGE_STARTS[repository]
    problems = []
    if not any(env.get(variable) for variable in needs_one):
        problems.append(f"{image} starts only with one of {sorted(needs_one)} set")
    user = urlsplit(url).username
    if user != superuser:
        problems.append(f"{image} creates the user {superuser!r}, but the URL is for {user!r}")
    return problems


# --- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def template_root() -> Path:
    return TEMPLATE_ROOT


@pytest.fixture(scope="session")
def rendered(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[MatrixRow | Mapping[str, object]], RenderedProject]:
    cache: dict[str, RenderedProject] = {}

    def render(row_or_answers: MatrixRow | Mapping[str, object]) -> RenderedProject:
        row = as_row(row_or_answers)
        if row.id not in cache:
            dst = tmp_path_factory.mktemp(f"render-{row.id}") / "project"
            render_project(row.data, dst)
            cache[row.id] = load_project(dst, row)
        return cache[row.id]

    return render


@pytest.fixture(scope="session", params=MATRIX, ids=[row.id for row in MATRIX])
def rendered_row(
    request: pytest.FixtureRequest,
    rendered: Callable[[MatrixRow | Mapping[str, object]], RenderedProject],
) -> RenderedProject:
    row: MatrixRow = request.param
    return rendered(row)


@pytest.fixture(scope="session")
def template_releases(tmp_path_factory: pytest.TempPathFactory) -> TemplateReleases:
    clone = snapshot_template(tmp_path_factory.mktemp("template") / "slipway")
    for tag, commit in RELEASES.items():
        git(clone, "tag", tag, commit)
    git(clone, "tag", "v0.3.0", "HEAD~1")
    git(clone, "tag", "v0.4.0", "HEAD")
    return TemplateReleases(clone, "v0.4.0", (*RELEASES, "v0.3.0"))


@pytest.fixture(scope="session")
def default_project(
    rendered: Callable[[MatrixRow | Mapping[str, object]], RenderedProject],
) -> RenderedProject:
    return rendered(DEFAULT_ROW)


# --- timing report: seconds per matrix row / test group, at the end of a run ---------

_ROW_IDS = frozenset(row.id for row in MATRIX)
_SECONDS: dict[str, float] = {}


def _timing_group(nodeid: str) -> str:
    """The xdist group (``@group`` under ``--dist loadgroup``), else the matrix row in
    the test's parameters, else the test file."""
    path, _, rest = nodeid.partition("::")
    if "@" in rest:
        return rest.rsplit("@", 1)[1]
    params = rest.partition("[")[2]
    rows = sorted((row for row in _ROW_IDS if row in params), key=len, reverse=True)
    return rows[0] if rows else Path(path).name


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    group = _timing_group(report.nodeid)
    _SECONDS[group] = _SECONDS.get(group, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _SECONDS:
        return
    terminalreporter.section("time per row and test group")
    for group, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:9.1f}s  {group}")
    total = sum(_SECONDS.values())
    terminalreporter.write_line(f"{total:9.1f}s  total (test time summed over workers)")
