"""The worked example of ``docs/adding-a-choice.md`` (``cache=valkey``), done for real.

The page's code blocks are taken from the Markdown by their titles and applied to a
snapshot of the template: the catalog entry to ``axes/cache.py`` (each statement of the
block replaces the file's statement of the same name; a new one goes before the next
one it replaces), the adapter and its tests as the choice's own files. Then:

- git sees only ``axes/cache.py`` changed and the choice's own new files;
- the default answers render the same project, file for file, as before the change;
- ``-d cache=valkey`` renders a project that installs into its own venv and passes its
  own ruff, black, mypy and test suite, against a real Redis-protocol server (the
  catalog's service, at 127.0.0.1 or ``SLIPWAY_VALKEY_URL``, in database
  ``DATABASE``, which no other test uses, so parallel runs never share keys);
- the new choice keeps the axis's contract and owns exactly its files, by the checks of
  ``tests/test_contracts.py`` and ``tests/test_ownership.py`` run on the new catalog;
- the page's matrix "with ``cache=valkey`` offered" is the one the new catalog computes.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

import slipway_catalog as catalog
import test_contracts
import test_ownership
from conftest import (
    REQUIRE_SERVERS,
    TEMPLATE_ROOT,
    UV,
    RenderedProject,
    find_python,
    git,
    run_copier,
    service_env,
    snapshot_template,
    text_files,
)
from slipway_catalog.matrix import MatrixRow, row_id
from test_generated import GeneratedProject

pytestmark = [
    pytest.mark.copier,
    pytest.mark.generated,
    pytest.mark.xdist_group("add-a-choice"),
]

PAGE = TEMPLATE_ROOT / "docs" / "adding-a-choice.md"
CACHE_MODULE = "extensions/slipway_catalog/axes/cache.py"
CATALOG_BLOCK = f"{CACHE_MODULE} (added)"
OWN_FILES = (
    "template/src/{{package_name}}/adapters/{% if cache == 'valkey' %}valkey_cache.py{% endif %}",
    "template/tests/unit/{% if cache == 'valkey' %}test_valkey_cache.py{% endif %}.jinja",
)
DATABASE = 13
"""The Redis database the example's project uses: no other test does."""

_BLOCK = re.compile(
    r'^```\w*[ \t]+title="(?P<title>[^"]+)"[ \t]*\n(?P<body>.*?)^```[ \t]*$', re.M | re.S
)


def titled_blocks(markdown: str, *titles: str) -> dict[str, str]:
    """The page's fenced code block of each title (exactly one each)."""
    found: dict[str, list[str]] = {title: [] for title in titles}
    for block in _BLOCK.finditer(markdown):
        if block["title"] in found:
            found[block["title"]].append(block["body"])
    for title, bodies in found.items():
        assert len(bodies) == 1, f"{PAGE.name} has {len(bodies)} code blocks titled {title!r}"
    return {title: bodies[0] for title, bodies in found.items()}


def _key(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, ast.ImportFrom):
        return ("from", "." * node.level + (node.module or ""))
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return ("name", target.id)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return ("name", node.name)
    raise AssertionError(
        f"line {node.lineno}: only imports, assignments and definitions can be applied"
    )


def apply_statements(source: str, block: str) -> str:
    """``source`` with each top-level statement of ``block`` in place of the one of the same
    name (an import from the same module, an assignment or a definition of the same
    name); a statement the file lacks goes before the next one the block replaces, or at
    the end."""
    lines = source.splitlines(keepends=True)
    block_lines = block.splitlines(keepends=True)
    existing = {_key(node): node for node in ast.parse(source).body if not _is_docstring(node)}
    replaced: dict[int, tuple[int, str]] = {}
    pending: list[str] = []
    for node in ast.parse(block).body:
        text = "".join(block_lines[node.lineno - 1 : node.end_lineno])
        target = existing.get(_key(node))
        if target is None:
            pending.append(text)
            continue
        start = target.lineno - 1
        assert start not in replaced, f"the block replaces {_key(node)} twice"
        replaced[start] = (
            target.end_lineno or target.lineno,
            "".join(p + "\n" for p in pending) + text,
        )
        pending = []
    result: list[str] = []
    index = 0
    while index < len(lines):
        if index in replaced:
            end, text = replaced[index]
            result.append(text)
            index = end
        else:
            result.append(lines[index])
            index += 1
    result.extend("\n" + text for text in pending)
    return "".join(result)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def load_catalog(package_dir: Path) -> Any:
    """The catalog package at ``package_dir``, imported under a module name of its own."""
    name = f"_slipway_catalog_example_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_hook(path: Path, grown: Any) -> ModuleType:
    """The docs hook at ``path``, reading ``grown`` as the catalog."""
    spec = importlib.util.spec_from_file_location(f"_slipway_docs_hook_{uuid.uuid4().hex}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vars(module)["catalog"] = grown
    return module


def copier_copy(template: Path, ref: str, destination: Path, *answers: str) -> Path:
    data = [argument for answer in answers for argument in ("-d", answer)]
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", ref, *data, str(template), str(destination)
    )
    assert result.returncode == 0, f"copier copy failed:\n{result.stdout}{result.stderr}"
    return destination


@dataclass(frozen=True)
class Example:
    template: Path
    before: str
    """The snapshot's commit, without the example."""
    changed: frozenset[str]
    """What git sees changed once the example is applied."""
    catalog: Any
    """The catalog with the example's choice, imported from the copy."""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """A snapshot of the template with the page's example applied and committed."""
    blocks = titled_blocks(PAGE.read_text(encoding="utf-8"), CATALOG_BLOCK, *OWN_FILES)
    template = snapshot_template(tmp_path_factory.mktemp("template") / "slipway")
    before = git(template, "rev-parse", "HEAD").strip()
    module = template / CACHE_MODULE
    source = module.read_text(encoding="utf-8")
    module.write_text(apply_statements(source, blocks[CATALOG_BLOCK]), encoding="utf-8")
    for title in OWN_FILES:
        path = template / title
        assert not path.exists(), f"{title} exists already"
        path.write_text(blocks[title], encoding="utf-8")
    git(template, "add", "--all")
    changed = frozenset(git(template, "diff", "--cached", "--name-only", "-z").split("\0")) - {""}
    git(template, "commit", "--quiet", "--no-verify", "--message", "Add cache=valkey")
    grown = load_catalog(template / "extensions" / "slipway_catalog")
    return Example(template, before, changed, grown)


def test_only_the_catalog_entry_and_the_choices_own_files_change(example: Example) -> None:
    assert example.changed == {CACHE_MODULE, *OWN_FILES}
    lint = [sys.executable, "-m", "ruff"]
    for command in (["check", "--no-cache"], ["format", "--no-cache", "--check", "--diff"]):
        result = subprocess.run(
            [*lint, *command, CACHE_MODULE],
            cwd=example.template,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"ruff {command[0]}: {result.stdout}{result.stderr}"


def test_the_axis_offers_the_choice_and_keeps_its_contract(example: Example) -> None:
    real, grown = catalog.axis("cache"), example.catalog.axis("cache")
    assert grown.values == (*real.values, "valkey")
    assert (grown.question, grown.default, grown.when) == (real.question, real.default, real.when)
    assert repr(grown.contract) == repr(real.contract)
    for axis in catalog.AXES:  # every other axis is untouched
        if axis.name != "cache":
            assert repr(example.catalog.axis(axis.name)) == repr(axis)


def normalised(project: Path, secrets: set[str]) -> dict[str, bytes]:
    """The project's files; the render's commit and its fresh secrets blanked."""
    files: dict[str, bytes] = {}
    for path in text_files(project):
        name = path.relative_to(project).as_posix()
        content = path.read_bytes()
        if name == ".copier-answers.yml":
            content = re.sub(rb"(?m)^_commit: .*$", b"_commit: ...", content)
        elif name == ".env":
            for variable in secrets:
                content = re.sub(
                    rf"(?m)^{variable}=.*$".encode(), f"{variable}=...".encode(), content
                )
        files[name] = content
    return files


def project_of(path: Path, grown: Any) -> RenderedProject:
    """A rendered project, read with the catalog (module) it was rendered with."""
    recorded = yaml.safe_load((path / ".copier-answers.yml").read_text(encoding="utf-8"))
    answers = {key: value for key, value in recorded.items() if not key.startswith("_")}
    row = MatrixRow(row_id(answers, grown.AXES), answers)
    return RenderedProject(path=path, row=row, answers=recorded, assembly=grown.resolve(answers))


def test_the_default_answers_render_as_before(
    example: Example, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("defaults")
    before = copier_copy(example.template, example.before, root / "before")
    after = copier_copy(example.template, "HEAD", root / "after")
    assert project_of(after, example.catalog).answers["cache"] == "memory"
    assembly = project_of(before, catalog).assembly
    secrets = {variable.name for variable in assembly.env_vars if variable.secret}
    old, new = normalised(before, secrets), normalised(after, secrets)
    assert sorted(new) == sorted(old), "adding the choice added or removed a default file"
    different = [name for name in old if old[name] != new[name]]
    assert not different, f"adding the choice changed the default's {different}"


@pytest.fixture(scope="module")
def valkey_project(example: Example, tmp_path_factory: pytest.TempPathFactory) -> RenderedProject:
    destination = tmp_path_factory.mktemp("valkey") / "service"
    copier_copy(example.template, "HEAD", destination, "cache=valkey")
    return project_of(destination, example.catalog)


def test_the_choice_keeps_the_contract_and_owns_exactly_its_files(
    example: Example, valkey_project: RenderedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks of test_contracts.py and test_ownership.py, on the grown catalog."""
    axis = example.catalog.axis("cache")
    valkey = axis.choice("valkey")
    monkeypatch.setattr(test_contracts, "catalog", example.catalog)
    test_contracts.test_every_choice_opens_its_axis_resource_as_the_port(axis, valkey)
    test_contracts.test_every_choice_renders_its_axis_slots(
        axis, valkey, lambda answers: valkey_project
    )
    assert valkey_project.answers["cache"] == "valkey"

    monkeypatch.setattr(test_ownership, "catalog", example.catalog)
    monkeypatch.setattr(test_ownership, "TEMPLATE", example.template / "template")
    test_ownership.test_every_conditional_file_belongs_to_the_choice_that_declares_it()
    test_ownership.test_a_rendered_project_has_exactly_its_choices_files(valkey_project)
    package = valkey_project.package_name
    assert set(valkey_project.assembly.files) >= {
        f"src/{package}/adapters/valkey_cache.py",
        "tests/unit/test_valkey_cache.py",
    }


def test_the_pages_grown_matrix_is_the_one_the_catalog_computes(example: Example) -> None:
    page = PAGE.read_text(encoding="utf-8")
    region = re.search(
        r"<!-- slipway:matrix cache=valkey -->\n\n(?P<table>.*?)\n\n<!-- /slipway:matrix -->",
        page,
        re.S,
    )
    assert region is not None, f"{PAGE.name} lost its matrix with cache=valkey"
    hook = load_hook(example.template / "docs" / "hooks" / "catalog.py", example.catalog)
    computed, shown = hook.render_matrix(), region["table"].replace("**", "")
    message = f"{PAGE.name} shows another matrix than the catalog computes:\n{computed}"
    assert computed == shown, message


# --- the service it generates ----------------------------------------------------------


@pytest.fixture(scope="module")
def generated(valkey_project: RenderedProject) -> GeneratedProject:
    """The ``cache=valkey`` project, installed into its own venv with its own Python."""
    version = valkey_project.python_version
    interpreter = find_python(version)
    if interpreter is None:
        reason = f"no Python {version} interpreter (set SLIPWAY_PYTHON_{version.replace('.', '_')})"
        if REQUIRE_SERVERS or os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    generated = GeneratedProject(valkey_project, valkey_project.path / ".venv")
    generated.check(
        "uv sync", UV, "sync", "--project", str(generated.path), "--python", interpreter
    )
    return generated


def test_the_generated_service_passes_its_linters(generated: GeneratedProject) -> None:
    generated.check("ruff check", generated.tool("ruff"), "check", "--no-cache", ".")
    ruff_format = (generated.tool("ruff"), "format", "--no-cache", "--check", "--diff", ".")
    generated.check("ruff format --check", *ruff_format)
    generated.check("black --check", generated.tool("black"), "--check", "--diff", ".")


def test_the_generated_service_passes_mypy_strict(
    generated: GeneratedProject, tmp_path: Path
) -> None:
    config = tomllib.loads((generated.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["mypy"]["strict"] is True
    generated.check("mypy --strict", generated.tool("mypy"), "--cache-dir", str(tmp_path))


@pytest.mark.servers
def test_the_generated_service_passes_its_tests_against_a_real_server(
    generated: GeneratedProject,
) -> None:
    project = generated.project
    servers = service_env(project)  # the catalog's URL at 127.0.0.1, or SLIPWAY_VALKEY_URL
    (service,) = project.assembly.services
    variable = project.env_prefix + service.url_env
    assert set(servers) == {variable}, servers
    parts = urlsplit(servers[variable])
    servers[variable] = urlunsplit(parts._replace(path=f"/{DATABASE}"))
    result = generated.check(
        "pytest",
        str(generated.python),
        "-m",
        "pytest",
        "-q",
        "-rA",
        "-p",
        "no:cacheprovider",
        extra_env=servers,
    )
    ran = re.findall(r"^(\w+) tests/unit/test_valkey_cache\.py::(\w+)", result.stdout, re.M)
    assert len(ran) >= 3, f"the choice's own tests did not run:\n{result.stdout}"
    assert {outcome for outcome, _test in ran} == {"PASSED"}, ran
