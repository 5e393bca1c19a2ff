"""``copier update``: a living project takes template changes, and slice switches,
without conflicts and without losing its own edits or its ``.env``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import TEMPLATE_ROOT, run_copier

pytestmark = pytest.mark.copier

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Slipway Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Slipway Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
USER_NOTE = "\nOur team's own notes: deploys happen on Tuesdays.\n"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def previous_release() -> str:
    """The newest release tag, or the last commit while there is no release yet."""
    tags = git(TEMPLATE_ROOT, "tag", "--list", "--sort=-v:refname").split()
    return tags[0] if tags else git(TEMPLATE_ROOT, "rev-parse", "HEAD").strip()


@pytest.fixture
def living_project(tmp_path: Path) -> Path:
    """Generated from the previous release, committed, then edited by its team."""
    project = tmp_path / "service"
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", previous_release(),
        str(TEMPLATE_ROOT), str(project),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "Generate the service")
    with (project / "README.md").open("a") as readme:
        readme.write(USER_NOTE)
    git(project, "commit", "--quiet", "--all", "--message", "Add our notes")
    return project


def update(project: Path, *data: str) -> None:
    arguments = [argument for pair in data for argument in ("--data", pair)]
    result = run_copier(
        "update", "--trust", "--defaults", "--vcs-ref", "HEAD", "--conflict", "inline",
        *arguments, cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def assert_merged_cleanly(project: Path) -> None:
    status = git(project, "status", "--porcelain")
    assert not [line for line in status.splitlines() if line[:2] in {"UU", "AA", "DU", "UD"}]
    leftovers = [
        path
        for path in project.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and ".venv" not in path.parts
        and (path.suffix == ".rej" or "<<<<<<< " in path.read_text(errors="ignore"))
    ]
    assert not leftovers, leftovers
    assert USER_NOTE.strip() in (project / "README.md").read_text()


def test_update_to_the_current_template_merges_cleanly(living_project: Path) -> None:
    env_before = (living_project / ".env").read_text()
    update(living_project)
    assert_merged_cleanly(living_project)
    assert (living_project / ".env").read_text() == env_before, ".env must never be rewritten"


def test_switching_auth_off_in_a_living_project(living_project: Path) -> None:
    package = living_project / "src" / "my_service"
    assert (package / "api" / "auth.py").exists()
    update(living_project, "auth=none")
    assert_merged_cleanly(living_project)
    assert not (package / "api" / "auth.py").exists()
    assert "pyjwt" not in (living_project / "pyproject.toml").read_text()
    assert "auth: none" in (living_project / ".copier-answers.yml").read_text()


def test_dropping_metrics_from_a_living_project(living_project: Path) -> None:
    update(living_project, "observability=[]")
    assert_merged_cleanly(living_project)
    assert not (living_project / "src" / "my_service" / "observability" / "metrics.py").exists()
    assert "MetricsMiddleware" not in (living_project / "src" / "my_service" / "app.py").read_text()


def test_the_answers_file_never_holds_a_secret(living_project: Path) -> None:
    secret_line = next(
        line for line in (living_project / ".env").read_text().splitlines() if "SECRET=" in line
    )
    secret = secret_line.split("=", 1)[1]
    assert secret not in (living_project / ".copier-answers.yml").read_text()
