"""``copier update`` from genuinely older template versions, and slice switches.

The template is cloned with its history; older versions are tagged as releases (see
``conftest.RELEASES``) and the working tree is the latest release. A service generated
from each older release, committed and edited by its team, is updated to the latest
release and must then: merge with no conflict markers and no ``.rej`` files, keep the
team's edits and ``.env``, equal a fresh render of the latest release with the same
answers file for file (but the team's edits), and pass its own test suite.
Copier exits 0 even when it leaves conflicts, so the files are checked.
"""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import (
    DEFAULT_ROW,
    GIT_IDENTITY,
    UV,
    TemplateReleases,
    find_python,
    git,
    load_project,
    run_copier,
    text_files,
)
from test_generated import project_env as clean_env

pytestmark = pytest.mark.copier

USER_NOTE = "\nOur team's own notes: deploys happen on Tuesdays.\n"
USER_MODULE = "src/my_service/team_extras.py"
USER_CODE = '"""Our own code, beside the generated modules."""\n\nOWNER = "payments"\n'
NOT_COMPARED = frozenset({".env", ".git", ".venv"})
"""``.env`` is the team's (rendered once, never updated): it is checked to be untouched."""


def generate(template: Path, destination: Path, version: str, *data: str) -> Path:
    arguments = [argument for pair in data for argument in ("--data", pair)]
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", version, *arguments,
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    git(destination, "add", "--all")
    if git(destination, "status", "--porcelain").strip():
        git(destination, "commit", "--quiet", "--message", "Generate the service")
    return destination


def living_project(template: Path, destination: Path, version: str) -> Path:
    """Generated from ``version``, committed, then edited and committed by its team."""
    project = generate(template, destination, version)
    with (project / "README.md").open("a") as readme:
        readme.write(USER_NOTE)
    (project / USER_MODULE).write_text(USER_CODE)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "Add our notes and code")
    return project


def update(project: Path, *data: str) -> None:
    """``copier update`` to the latest release, as a team runs it."""
    arguments = [argument for pair in data for argument in ("--data", pair)]
    result = run_copier(
        "update", "--trust", "--defaults", "--conflict", "inline", *arguments, cwd=project
    )
    assert result.returncode == 0, result.stdout + result.stderr


def assert_merged_cleanly(project: Path) -> None:
    status = git(project, "status", "--porcelain")
    unmerged = [line for line in status.splitlines() if line[:2] in {"UU", "AA", "DU", "UD"}]
    assert not unmerged, unmerged
    leftovers = [
        str(path.relative_to(project))
        for path in text_files(project)
        if path.suffix == ".rej" or "<<<<<<< " in path.read_text(errors="ignore")
    ]
    assert not leftovers, f"conflicts left in {leftovers}"
    assert USER_NOTE.strip() in (project / "README.md").read_text()
    assert (project / USER_MODULE).read_text() == USER_CODE


def answers_of(project: Path) -> dict[str, object]:
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return {key: value for key, value in recorded.items() if not key.startswith("_")}


def fresh_render(
    template: Path, version: str, answers: dict[str, object], destination: Path
) -> Path:
    data_file = destination.parent / f"{destination.name}-answers.yml"
    data_file.write_text(yaml.safe_dump(answers), encoding="utf-8")
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", version, "--data-file", str(data_file),
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return destination


def differences(updated: Path, fresh: Path) -> list[str]:
    """Files that differ between the two trees, but for the team's own edits."""

    def files(root: Path) -> set[str]:
        return {
            path.relative_to(root).as_posix()
            for path in text_files(root)
            if not NOT_COMPARED.intersection(path.relative_to(root).parts)
        }

    ours, theirs = files(updated), files(fresh)
    found = [
        f"only in the updated service: {name}" for name in sorted(ours - theirs - {USER_MODULE})
    ]
    found += [f"missing from the updated service: {name}" for name in sorted(theirs - ours)]
    for name in sorted(ours & theirs):
        mine = (updated / name).read_text(errors="replace")
        if name == "README.md":
            mine = mine.replace(USER_NOTE, "")
        if not filecmp.cmp(updated / name, fresh / name, shallow=False) and mine != (
            fresh / name
        ).read_text(errors="replace"):
            found.append(f"differs: {name}")
    return found


def run_own_tests(project: Path) -> None:
    answers = answers_of(project)
    version = str(answers["python_version"])
    interpreter = find_python(version)
    if interpreter is None:
        pytest.fail(f"no Python {version} here to run the updated service's tests", pytrace=False)
    env_commands = [
        [UV, "sync", "--quiet", "--python", interpreter],
        [UV, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"],
    ]
    for command in env_commands:
        result = subprocess.run(
            command,
            cwd=project,
            env=project_env(project),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = (result.stdout + result.stderr)[-6000:]
        assert result.returncode == 0, f"{' '.join(command)} failed in {project}:\n{output}"


def project_env(project: Path) -> dict[str, str]:

    return clean_env(load_project(project, DEFAULT_ROW), None, {"UV_PYTHON_DOWNLOADS": "never"})


@pytest.mark.parametrize("release", ["v0.1.0", "v0.2.0", "v0.3.0"])
@pytest.mark.xdist_group("updates")
def test_an_older_release_updates_to_the_latest_like_a_fresh_render(
    release: str, template_releases: TemplateReleases, tmp_path: Path
) -> None:
    template = template_releases.path
    project = living_project(template, tmp_path / "service", release)
    env_before = (project / ".env").read_text()

    update(project)

    assert_merged_cleanly(project)
    assert (project / ".env").read_text() == env_before, ".env must never be rewritten"
    fresh = fresh_render(
        template, template_releases.latest, answers_of(project), tmp_path / "fresh"
    )
    assert not differences(project, fresh), differences(project, fresh)
    run_own_tests(project)


@pytest.fixture
def current_project(template_releases: TemplateReleases, tmp_path: Path) -> Path:
    """Generated from the release before the latest, edited by its team."""
    return living_project(template_releases.path, tmp_path / "service", template_releases.older[-1])


def test_switching_auth_off_in_a_living_project(current_project: Path) -> None:
    package = current_project / "src" / "my_service"
    assert (package / "api" / "auth.py").exists()
    update(current_project, "auth=none")
    assert_merged_cleanly(current_project)
    assert not (package / "api" / "auth.py").exists()
    assert "pyjwt" not in (current_project / "pyproject.toml").read_text()
    assert answers_of(current_project)["auth"] == "none"


def test_dropping_metrics_from_a_living_project(current_project: Path) -> None:
    update(current_project, "observability=[]")
    assert_merged_cleanly(current_project)
    package = current_project / "src" / "my_service"
    assert not (package / "observability" / "metrics.py").exists()
    assert "MetricsMiddleware" not in (package / "app.py").read_text()


def test_the_answers_file_never_holds_a_secret(current_project: Path) -> None:
    secret_line = next(
        line for line in (current_project / ".env").read_text().splitlines() if "SECRET=" in line
    )
    secret = secret_line.split("=", 1)[1]
    assert secret not in (current_project / ".copier-answers.yml").read_text()


def test_a_fresh_copy_can_be_updated_at_once(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    """The copy commits what it generated, so ``copier update`` needs no manual step."""
    project = tmp_path / "service"
    result = run_copier("copy", "--trust", "--defaults", str(template_releases.path), str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not git(project, "status", "--porcelain").strip(), "the copy left uncommitted files"
    update(project)
    changed = git(project, "status", "--porcelain").strip()
    assert not changed, f"an update with no change changed files: {changed}"


def test_without_a_git_identity_the_copy_says_what_to_commit(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    project = tmp_path / "service"
    no_identity = {
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": str(tmp_path / "no-gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        **dict.fromkeys(GIT_IDENTITY, ""),
    }
    result = run_copier(
        "copy", "--trust", "--defaults", str(template_releases.path), str(project), env=no_identity
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "commit before copier update" in output
    assert git(project, "status", "--porcelain").startswith("A "), "the files are not staged"
