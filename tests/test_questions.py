"""Copier's questions through the real CLI: bad answers stop with a message, good ones render.

Each run is ``copier copy --trust --defaults -r HEAD`` on the working tree (``-r HEAD``
includes uncommitted edits), with no terminal and no stdin, as a user's script or CI
would run it.
"""

from __future__ import annotations

import ast
import html
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import markdown
import pytest
import yaml
from markdown_it import MarkdownIt

import slipway_catalog as catalog
from conftest import TEMPLATE_ROOT, run_copier, snapshot_template

pytestmark = pytest.mark.copier


def copy(destination: Path, *answers: str) -> tuple[int, str]:
    data = [argument for answer in answers for argument in ("-d", answer)]
    result = run_copier(
        "copy", "--trust", "--defaults", "-r", "HEAD", *data, str(TEMPLATE_ROOT), str(destination)
    )
    return result.returncode, result.stdout + result.stderr


BAD_ANSWERS = [
    pytest.param("database=oracle", "database", r"pick one of: sqlite", id="database"),
    pytest.param("project_slug=my slug", "project_slug", r"e\.g\. my-service", id="project_slug"),
    pytest.param(
        "package_name=class", "package_name", r"pick another, e\.g\. class_service", id="keyword"
    ),
    pytest.param("package_name=My-Pkg", "package_name", r"e\.g\. my_service", id="package_name"),
    pytest.param("package_name=json", "package_name", r"pick another", id="stdlib"),
    pytest.param(
        "package_name=a_very_long_package_name",
        "package_name",
        r"longer than 20 characters .* e\.g\. a_very_long_package",
        id="too-long",
    ),
    pytest.param(
        "author_email=nope", "author_email", r"e\.g\. team@example\.com", id="author_email"
    ),
    pytest.param(
        "python_version=3.10", "python_version", r"pick one of: 3\.11", id="python_version"
    ),
    pytest.param(
        "observability=[prometheus, foo]",
        "observability",
        r"'foo' is not offered; pick one of: prometheus",
        id="observability",
    ),
    pytest.param("auth=basic", "auth", r"pick one of: none, jwt", id="auth"),
    pytest.param(
        "observability=prometheus",
        "observability",
        r"-d 'observability=\[prometheus\]'",
        id="multiselect-scalar",
    ),
]


@pytest.mark.parametrize(("answer", "question", "fix"), BAD_ANSWERS)
def test_a_bad_answer_stops_with_a_message_naming_the_fix(
    answer: str, question: str, fix: str, tmp_path: Path
) -> None:
    destination = tmp_path / "service"
    returncode, output = copy(destination, answer)
    assert returncode != 0, f"{answer} was accepted:\n{output}"
    assert "Traceback" not in output, output
    named = re.search(rf"(?m)^{re.escape(question)}: ", output)
    assert named, f"no message names {question}:\n{output}"
    assert re.search(fix, output), f"the message does not name the fix ({fix}):\n{output}"
    assert not (destination / "pyproject.toml").exists(), "a refused answer still rendered"


@pytest.fixture(scope="module")
def defaults_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    destination = tmp_path_factory.mktemp("defaults") / "my-service"
    returncode, output = copy(destination)
    assert returncode == 0, output
    assert "Traceback" not in output, output
    return destination, output


def test_defaults_render(defaults_copy: tuple[Path, str]) -> None:
    destination, _ = defaults_copy
    assert (destination / "pyproject.toml").is_file()
    assert (destination / "src" / "my_service" / "__main__.py").is_file()
    assert (destination / ".git").is_dir(), "the copy task initialises a repository"


def test_the_answers_file_holds_every_answer(defaults_copy: tuple[Path, str]) -> None:
    destination, _ = defaults_copy
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    asked = {
        name
        for name, spec in questions.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }
    remembered = {
        name for name, spec in questions.items() if name in asked and not spec.get("secret")
    }
    assert remembered <= set(answers), f"missing from the answers file: {remembered - set(answers)}"
    assert answers["_src_path"]
    assert answers["project_slug"] == "my-service"
    assert answers["package_name"] == "my_service"
    python = catalog.PYTHON_VERSION
    for axis in catalog.AXES:
        if axis is python:
            continue  # Copier offers the Python running it: checked below
        expected = list(axis.default) if axis.multiple else axis.default[0]
        assert answers[axis.name] == expected, axis.name
    running = f"{sys.version_info.major}.{sys.version_info.minor}"  # Copier runs on it too
    offered = running if running in python.values else python.default[0]
    assert answers[python.name] == offered


def test_the_answers_file_never_holds_a_secret(defaults_copy: tuple[Path, str]) -> None:
    destination, _ = defaults_copy
    text = (destination / ".copier-answers.yml").read_text(encoding="utf-8")
    answers = yaml.safe_load(text)
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    secret_questions = {
        name for name, spec in questions.items() if isinstance(spec, dict) and spec.get("secret")
    }
    assert not secret_questions & set(answers)
    for key in answers:
        assert not re.search(r"secret|password|token|private_key", key, re.IGNORECASE), key
    # Secrets generated for the project (.env) stay out of the answers file.
    env_file = destination / ".env"
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if re.search(r"SECRET|PASSWORD|TOKEN", name) and len(value) >= 8:
                assert value not in text, f"{name}'s value is in .copier-answers.yml"


def test_names_are_derived_from_the_project_name(tmp_path: Path) -> None:
    destination = tmp_path / "billing"
    returncode, output = copy(
        destination, "project_name=Billing API v2", "auth=none", "observability=[]"
    )
    assert returncode == 0, output
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_slug"] == "billing-api-v2"
    assert answers["package_name"] == "billing_api_v2"
    assert answers["auth"] == "none"
    assert answers["observability"] == []
    assert (destination / "src" / "billing_api_v2").is_dir()


NAMES_PEOPLE_TYPE = [
    "3D Printer API",
    "Café Señor's Menu",
    "Über—Service “2026”",
    "🚀 Rocket Launch",
    "!!!",
    "JSON",
    "class",
    "   Spaced   Out   ",
]


@pytest.mark.parametrize("name", NAMES_PEOPLE_TYPE)
def test_derived_names_are_valid_for_any_name(name: str, tmp_path: Path) -> None:
    destination = tmp_path / "service"
    returncode, output = copy(destination, f"project_name={name}", "auth=none")
    assert returncode == 0, output
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == name
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", answers["project_slug"]), answers
    package = answers["package_name"]
    assert package.isidentifier(), package
    assert package[0].isalpha(), package
    assert (destination / "src" / package / "__init__.py").is_file()


NASTY_NAME = "Dr. \"Quote\" O'Brien's \\ API {{ 7 * 7 }} {% if x %}# \N{EN DASH} 🚀"
NASTY_DESCRIPTION = (
    "- not a list\n# not a heading\n<script>alert(1)</script> & | *not emphasis* `x`\n"
    + "A long sentence that goes on, " * 8
    + 'ending in a quote"'
)
NASTY_AUTHOR = 'Team *Stars* \\ "Backslash" {{ author }}'


@pytest.fixture(scope="module")
def nasty_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rendered from a committed snapshot, so the copy can be updated afterwards."""
    template = snapshot_template(tmp_path_factory.mktemp("template") / "slipway")
    destination = tmp_path_factory.mktemp("nasty") / "service"
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "-d", f"project_name={NASTY_NAME}",
        "-d", f"description={NASTY_DESCRIPTION}",
        "-d", f"author_name={NASTY_AUTHOR}",
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return destination


commonmark = MarkdownIt("commonmark").enable("strikethrough")


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_free_text_is_recorded_as_given(nasty_copy: Path) -> None:
    answers = yaml.safe_load((nasty_copy / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == NASTY_NAME
    assert answers["description"] == NASTY_DESCRIPTION
    assert answers["author_name"] == NASTY_AUTHOR


def test_free_text_is_inert_in_toml(nasty_copy: Path) -> None:
    project = tomllib.loads((nasty_copy / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["description"] == NASTY_DESCRIPTION
    assert project["authors"][0]["name"] == NASTY_AUTHOR


def test_free_text_is_inert_in_python(nasty_copy: Path) -> None:
    answers = yaml.safe_load((nasty_copy / ".copier-answers.yml").read_text(encoding="utf-8"))
    package = nasty_copy / "src" / answers["package_name"]
    module = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
    docstring = ast.get_docstring(module)
    assert docstring is not None
    assert one_line(docstring) == one_line(f"{NASTY_NAME}: {NASTY_DESCRIPTION}")
    app = ast.parse((package / "app.py").read_text(encoding="utf-8"))
    arguments = {
        keyword.arg: ast.literal_eval(keyword.value)
        for node in ast.walk(app)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "FastAPI"
        for keyword in node.keywords
        if keyword.arg in {"title", "description"}
    }
    assert arguments == {"title": NASTY_NAME, "description": one_line(NASTY_DESCRIPTION)}


@pytest.mark.parametrize(
    "check",
    [
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--no-cache", "--check", "."],
        ["black", "--check", "."],
    ],
    ids=["ruff", "ruff-format", "black"],
)
def test_free_text_keeps_the_code_lint_clean(nasty_copy: Path, check: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *check],
        cwd=nasty_copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_free_text_is_inert_in_markdown(nasty_copy: Path) -> None:
    readme = (nasty_copy / "README.md").read_text(encoding="utf-8")
    title, _, rest = readme.partition("\n\n")
    description = rest.partition("\n\n")[0]
    maintained = next(line for line in readme.splitlines() if line.startswith("Maintained by"))
    for markdown_line, expected, tag in [
        (title, NASTY_NAME, "h1"),
        (description, NASTY_DESCRIPTION, "p"),
        (maintained, f"Maintained by {NASTY_AUTHOR} (team@example.com).", "p"),
    ]:
        for renderer in (commonmark.render, markdown.markdown):  # GitHub's and MkDocs'
            rendered = renderer(markdown_line).strip()
            assert re.fullmatch(rf"<{tag}>[^<]*</{tag}>", rendered), rendered
            assert html.unescape(rendered[len(tag) + 2 : -len(tag) - 3]) == one_line(expected)


def test_free_text_survives_an_update(nasty_copy: Path, tmp_path: Path) -> None:
    project = tmp_path / "service"
    shutil.copytree(nasty_copy, project, symlinks=True)
    result = run_copier("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == NASTY_NAME
    assert answers["description"] == NASTY_DESCRIPTION
