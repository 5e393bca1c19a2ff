"""The slice catalog on its own: rules, merging, rendering helpers, the matrix.

No Copier and no network here; a synthetic catalog stands in where the real one has
nothing to test yet (it declares no incompatibility today).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from itertools import combinations, product
from pathlib import Path

import pytest

import slipway_catalog as catalog
from conftest import TEMPLATE_ROOT
from slipway_catalog import (
    AXES,
    CORE,
    PYTHON_VERSION,
    Axis,
    Choice,
    choice_conflicts,
    problems,
    resolve,
    selection_from_answers,
    value_problems,
)
from slipway_catalog.assembly import LINE_LENGTH, env_example, render_imports
from slipway_catalog.matrix import NAMED, covering_array, matrix, row_id, uncovered_pairs
from slipway_catalog.model import Middleware, Selection, Service, Setting, When

# --- a synthetic catalog with declared incompatibilities ---------------------------

SQLITE = Choice("sqlite", "SQLite", "Embedded.")
POSTGRES = Choice(
    "postgres",
    "PostgreSQL",
    "A server.",
    services=(Service("postgres", "postgres:17", 5432, url_env="DATABASE__URL"),),
)
MARIADB = Choice("mariadb", "MariaDB", "Another server.")
MEMORY = Choice("memory", "Memory", "In process.")
REDIS_CACHE = Choice("redis", "Redis", "Shared.")
MEMCACHED = Choice(
    "memcached",
    "memcached",
    "Shared, volatile.",
    excludes=(("database", "sqlite"),),
)
INPROCESS = Choice("inprocess", "In process", "asyncio.")
REDIS_QUEUE = Choice(
    "redis", "Redis streams", "Needs the Redis cache.", requires=(("cache", "redis"),)
)
NO_AUTH = Choice("none", "None", "Anonymous.")
JWT = Choice("jwt", "JWT", "Tokens.", dependencies=("pyjwt>=2.10",))
PROMETHEUS = Choice("prometheus", "Prometheus", "Metrics.")
OTEL = Choice("otel", "OpenTelemetry", "Traces.")
SENTRY = Choice("sentry", "Sentry", "Errors per user.", excludes=(("auth", "none"),))

SYNTHETIC: tuple[Axis, ...] = (
    Axis("database", "Which database?", (SQLITE, POSTGRES, MARIADB), ("sqlite",)),
    Axis("cache", "Which cache?", (MEMORY, REDIS_CACHE, MEMCACHED), ("memory",)),
    Axis("queue", "Which queue?", (INPROCESS, REDIS_QUEUE), ("inprocess",)),
    Axis("auth", "Which auth?", (NO_AUTH, JWT), ("jwt",)),
    Axis(
        "observability",
        "Which telemetry?",
        (PROMETHEUS, OTEL, SENTRY),
        ("prometheus",),
        multiple=True,
    ),
)
SYNTHETIC_PYTHONS = ("3.11", "3.12")


def synthetic_answers(**overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {
        "database": "sqlite",
        "cache": "memory",
        "queue": "inprocess",
        "auth": "jwt",
        "observability": ["prometheus"],
    }
    answers.update(overrides)
    return answers


def synthetic_problems(**overrides: object) -> list[str]:
    return problems(selection_from_answers(synthetic_answers(**overrides), SYNTHETIC), SYNTHETIC)


# --- rules: problems(), value_problems(), choice_conflicts() --------------------


def test_a_compatible_selection_has_no_problem() -> None:
    assert synthetic_problems() == []
    assert synthetic_problems(database="postgres", cache="memcached", queue="inprocess") == []
    assert synthetic_problems(cache="redis", queue="redis") == []


def test_an_excluded_pair_is_refused_from_both_sides_naming_the_fix() -> None:
    found = synthetic_problems(cache="memcached")
    assert found, "memcached with sqlite must be refused"
    assert any(
        "cache=memcached does not work with database=sqlite" in message
        and "pick another cache or database" in message
        for message in found
    ), found
    assert any("pick another database or cache" in message for message in found), found


def test_a_missing_requirement_is_refused_naming_the_fix() -> None:
    found = synthetic_problems(queue="redis")  # cache stays memory
    assert any(
        "queue=redis needs cache=redis" in message
        and "answer cache=redis or pick another queue" in message
        for message in found
    ), found
    assert any("pick cache=redis or another queue" in message for message in found), found


def test_an_excluded_multiselect_choice_is_refused() -> None:
    found = synthetic_problems(auth="none", observability=["prometheus", "sentry"])
    assert any(
        "observability=sentry does not work with auth=none" in message for message in found
    ), found
    assert synthetic_problems(auth="jwt", observability=["prometheus", "sentry"]) == []
    assert synthetic_problems(auth="none", observability=[]) == []


def test_value_problems_names_what_is_offered() -> None:
    database = SYNTHETIC[0]
    assert value_problems(database, "oracle", {}, SYNTHETIC) == [
        "database='oracle' is not offered; pick one of: sqlite, postgres, mariadb"
    ]
    assert value_problems(database, ["sqlite", "postgres"], {}, SYNTHETIC) == [
        "database: pick exactly one of sqlite, postgres, mariadb"
    ]
    observability = SYNTHETIC[-1]
    assert value_problems(observability, ["prometheus", "foo"], {}, SYNTHETIC) == [
        "observability='foo' is not offered; pick one of: prometheus, otel, sentry"
    ]
    assert value_problems(observability, [], {}, SYNTHETIC) == []


def test_choice_conflicts_follow_the_prompt_order() -> None:
    """At the cache prompt only earlier answers count; unanswered axes are no conflict."""
    cache = SYNTHETIC[1]
    assert choice_conflicts(cache, MEMCACHED, {}, SYNTHETIC) == []
    assert choice_conflicts(cache, MEMCACHED, {"database": "postgres"}, SYNTHETIC) == []
    conflicts = choice_conflicts(cache, MEMCACHED, {"database": "sqlite"}, SYNTHETIC)
    assert conflicts == [
        "cache=memcached does not work with database=sqlite; pick another cache or database"
    ]
    assert choice_conflicts(cache, MEMORY, {"database": "sqlite"}, SYNTHETIC) == []
    queue = SYNTHETIC[2]
    assert choice_conflicts(queue, REDIS_QUEUE, {"cache": "memory"}, SYNTHETIC) == [
        "queue=redis needs cache=redis; answer cache=redis or pick another queue"
    ]
    # ...and a choice already made can rule out a later one.
    assert choice_conflicts(cache, MEMORY, {"queue": "redis"}, SYNTHETIC) == [
        "queue=redis needs cache=redis; pick cache=redis or another queue"
    ]


def test_resolve_refuses_an_incompatible_selection() -> None:
    with pytest.raises(ValueError, match=r"pick another cache or database"):
        resolve(synthetic_answers(cache="memcached"), SYNTHETIC)


# --- the real catalog's integrity ---------------------------------------------------


def test_every_rule_names_an_existing_axis_and_value() -> None:
    offered = {axis.name: set(axis.values) for axis in AXES}
    for axis in AXES:
        for choice in axis.choices:
            for other_axis, other_value in (*choice.requires, *choice.excludes):
                assert other_axis in offered, f"{axis.name}={choice.value}: no axis {other_axis!r}"
                where = f"{axis.name}={choice.value}: {other_axis} offers no {other_value!r}"
                assert other_value in offered[other_axis], where


def test_axes_are_well_formed() -> None:
    names = [axis.name for axis in AXES]
    assert len(names) == len(set(names))
    for axis in AXES:
        assert axis.choices, axis.name
        assert len(set(axis.values)) == len(axis.values), axis.name
        assert len({choice.label for choice in axis.choices}) == len(axis.choices), axis.name
        assert axis.question.endswith("?"), axis.name
        assert set(axis.default) <= set(axis.values), axis.name
        if not axis.multiple:
            assert len(axis.default) == 1, axis.name
        for choice in axis.choices:
            # A word, or a version number (``python_version``): template file names and
            # matrix row ids are made of them.
            value = r"[a-z][a-z0-9]*|\d+(\.\d+)*"
            assert re.fullmatch(value, choice.value), (axis.name, choice.value)
            assert choice.description, (axis.name, choice.value)
    assert catalog.axis("python_version") is AXES[0] is PYTHON_VERSION
    assert catalog.axis("database") is AXES[1]
    with pytest.raises(KeyError):
        catalog.axis("nope")


def test_the_defaults_are_compatible() -> None:
    assert problems(selection_from_answers({})) == []


# --- migrations: every choice with tables migrates on its own Alembic branch -------

SQL_ONLY = "{% if database != 'none' %}"
VERSIONS_DIR = TEMPLATE_ROOT / "template" / f"{SQL_ONLY}migrations{{% endif %}}" / "versions"
STORAGE = [
    (choice, f"{axis.name}={choice.value}")
    for axis in AXES
    for choice in axis.choices
    if choice.migrations or choice.migration_branch
]


def revision_file(name: str) -> Path:
    """The template file that renders as ``name`` (its own name may be conditional)."""
    found = [path for path in VERSIONS_DIR.iterdir() if name in path.name]
    assert len(found) == 1, f"{name}: expected one file in {VERSIONS_DIR}, found {found}"
    return found[0]


def revision_header(name: str) -> dict[str, tuple[str, ...]]:
    """A revision file's ``revision``, ``down_revision``, ``branch_labels``, ``depends_on``."""
    header: dict[str, tuple[str, ...]] = {}
    for node in ast.parse(revision_file(name).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if isinstance(target, ast.Name):
                value = ast.literal_eval(node.value)
                header[target.id] = (value,) if isinstance(value, str) else tuple(value or ())
    return header


def test_choices_with_migrations_each_name_a_branch_of_their_own() -> None:
    """A branch is one slice's: choices that share one (the SQL databases share the
    items' ``core`` branch) are alternatives of one axis, with the same migrations."""
    assert all(choice.migration_branch for choice, _ in STORAGE), [
        where for choice, where in STORAGE if not choice.migration_branch
    ]
    assert all(choice.migrations for choice, _ in STORAGE), "a branch without migrations"
    sharing: dict[str, list[tuple[Choice, str]]] = {}
    for choice, where in STORAGE:
        sharing.setdefault(choice.migration_branch, []).append((choice, where))
    for branch, owners in sharing.items():
        axes = {where.partition("=")[0] for _, where in owners}
        assert len(axes) == 1, f"{branch}: claimed on several axes: {owners}"
        assert not next(axis for axis in AXES if axis.name in axes).multiple, branch
        assert len({choice.migrations for choice, _ in owners}) == 1, branch


@pytest.mark.parametrize(("choice", "where"), STORAGE, ids=[where for _, where in STORAGE])
def test_a_choice_s_migrations_form_its_branch_alone(choice: Choice, where: str) -> None:
    headers = [revision_header(name) for name in choice.migrations]
    own = {revision for header in headers for revision in header["revision"]}
    core = {
        revision_header(name)["revision"][0]
        for other, _ in STORAGE
        if other.migration_branch == "core"
        for name in other.migrations
    }
    first, *later = headers
    assert first["down_revision"] == (), f"{where}: its first revision starts a branch"
    assert first["branch_labels"] == (choice.migration_branch,), where
    for header in later:
        assert set(header["down_revision"]) <= own, f"{where}: builds on another branch"
        assert header["branch_labels"] == (), where
    for header in headers:
        assert set(header["depends_on"]) <= own | core, f"{where}: depends on another slice"


def test_every_revision_file_belongs_to_a_choice() -> None:
    branch_of = {
        (name, choice.migration_branch) for choice, _ in STORAGE for name in choice.migrations
    }
    owned = [name for name, _ in branch_of]
    assert len(owned) == len(set(owned)), f"a revision on two branches: {sorted(branch_of)}"
    for path in VERSIONS_DIR.iterdir():
        assert [name for name in owned if name in path.name], f"no choice owns {path.name}"


def test_the_history_before_branches_names_each_revision_s_branch() -> None:
    """The service reads databases migrated before branches through this history."""
    source = TEMPLATE_ROOT / "template" / "src" / "{{package_name}}" / "adapters"
    module = source / f"{SQL_ONLY}migration_branches.py{{% endif %}}"
    tree = ast.parse(module.read_text(encoding="utf-8"))
    history = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "BEFORE_BRANCHES"
    )
    owned = {
        (choice.migration_branch, revision_header(name)["revision"][0])
        for choice, _ in STORAGE
        for name in choice.migrations
    }
    assert set(history) <= owned, set(history) - owned


# --- resolve(): merged contributions ------------------------------------------------


def real_answers(**overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {"package_name": "my_service", "project_slug": "my-service"}
    answers.update(overrides)
    return answers


def normalized(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


@pytest.mark.parametrize("auth", catalog.axis("auth").values)
def test_dependencies_are_sorted_and_unique(auth: str) -> None:
    assembly = resolve(real_answers(auth=auth))
    for requirements in (assembly.dependencies, assembly.dev_dependencies):
        names = [normalized(requirement) for requirement in requirements]
        assert names == sorted(names)
        assert len(requirements) == len(set(requirements))
    for choice in assembly.choices:
        assert set(choice.dependencies) <= set(assembly.dependencies), choice.value


def test_identical_dependencies_merge_and_sort_by_normalized_name() -> None:
    one = Choice(
        "one", "One", "x", dependencies=("httpx>=0.28", "PyJWT>=2.10", "zope.interface>=7")
    )
    two = Choice("two", "Two", "y", dependencies=("httpx>=0.28", "anyio>=4"))
    axes = (
        Axis("first", "First?", (one,), ("one",)),
        Axis("second", "Second?", (two,), ("two",)),
    )
    dependencies = resolve({"package_name": "svc"}, axes).dependencies
    assert dependencies.count("httpx>=0.28") == 1
    names = [normalized(requirement) for requirement in dependencies]
    assert names == sorted(names)
    assert {"anyio", "httpx", "pyjwt", "zope-interface"} <= set(names)
    assert dependencies.index("PyJWT>=2.10") < dependencies.index("zope.interface>=7")
    for requirement in CORE.dependencies:
        assert requirement in dependencies


def test_settings_become_prefixed_nested_env_vars() -> None:
    assembly = resolve(real_answers())
    assert assembly.env_prefix == "MY_SERVICE_"
    names = [env_var.name for env_var in assembly.env_vars]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"MY_SERVICE_[A-Z][A-Z0-9_]*__[A-Z][A-Z0-9_]*", name), name
    expected = {
        f"MY_SERVICE_{group.name.upper()}__{field.name.upper()}"
        for group in assembly.settings_groups
        for field in group.fields
    }
    assert set(names) == expected
    assert "MY_SERVICE_SERVER__PORT" in names


def test_settings_defaults_take_the_project_names() -> None:
    assembly = resolve(real_answers(package_name="billing", project_slug="billing-api"))
    defaults = [field.default for group in assembly.settings_groups for field in group.fields]
    assert not any(
        "{package_name}" in default or "{project_slug}" in default for default in defaults
    )
    every_default = {
        field.default
        for axis in AXES
        for choice in axis.choices
        for group in choice.settings
        for field in group.fields
    }
    if any("{package_name}" in default for default in every_default):
        assert any("billing" in default for default in defaults)


def test_secret_settings_never_get_an_example_value() -> None:
    for axis in AXES:
        for choice in (CORE, *axis.choices):
            for group in choice.settings:
                for field in group.fields:
                    if field.secret:
                        where = f"{choice.value}: {group.name}.{field.name}"
                        assert env_example(field) == "", where


def test_middleware_is_sorted_by_order() -> None:
    early = Choice(
        "early", "Early", "x", middleware=(Middleware(".api.early", "EarlyMiddleware", 5),)
    )
    late = Choice("late", "Late", "y", middleware=(Middleware(".api.late", "LateMiddleware", 25),))
    axes = (
        Axis("late", "Late?", (late,), ("late",)),
        Axis("early", "Early?", (early,), ("early",)),
    )
    chain = resolve({"package_name": "svc"}, axes).middleware
    orders = [middleware.order for middleware in chain]
    assert orders == sorted(orders)
    names = [middleware.name for middleware in chain]
    assert "EarlyMiddleware" in names
    assert "LateMiddleware" in names
    core_orders = sorted(middleware.order for middleware in CORE.middleware)
    assert names.index("EarlyMiddleware") == sum(order <= 5 for order in core_orders)


def test_the_real_chain_keeps_the_canonical_order() -> None:
    chain = resolve(real_answers()).middleware
    names = [middleware.name for middleware in chain]
    assert names[0] == "ErrorCatcherMiddleware"
    assert [middleware.order for middleware in chain] == sorted(
        middleware.order for middleware in chain
    )
    canonical = [
        "ErrorCatcherMiddleware",
        "RequestIdMiddleware",
        "AccessLogMiddleware",
        "CORSMiddleware",
        "SecurityHeadersMiddleware",
        "BodySizeLimitMiddleware",
        "RateLimitMiddleware",
    ]
    present = [name for name in names if name in canonical]
    assert present == [name for name in canonical if name in present]


def test_services_and_slices_follow_the_answers() -> None:
    assembly = resolve(real_answers(auth="none", observability=[]))
    assert assembly.slices[0].value == PYTHON_VERSION.default[0]
    assert assembly.slices[1].value == catalog.axis("database").default[0]
    assert assembly.has("auth", "none")
    assert not assembly.has("observability", "prometheus")
    assert all(isinstance(service, Service) for service in assembly.services)


# --- env_example() --------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (Setting("port", "int", "8000", "d"), "8000"),
        (Setting("max", "int", "10_000", "d"), "10000"),
        (Setting("ratio", "float", "0.1", "d"), "0.1"),
        (Setting("echo", "bool", "False", "d"), "false"),
        (Setting("on", "bool", "True", "d"), "true"),
        (Setting("maybe", "bool | None", "None", "d"), ""),
        (Setting("host", "str", '"127.0.0.1"', "d"), "127.0.0.1"),
        (Setting("origins", "list[str]", '["a", "b"]', "d"), '["a", "b"]'),
        (Setting("ttl", "int", "14 * 24 * 3600", "d", example="1209600"), "1209600"),
        (Setting("key", "SecretStr", "SecretStr(X)", "d", secret=True, example=""), ""),
    ],
)
def test_env_example(setting: Setting, expected: str) -> None:
    assert env_example(setting) == expected


def test_env_example_asks_for_an_example_when_the_default_is_code() -> None:
    with pytest.raises(ValueError, match="explicit example"):
        env_example(Setting("ttl", "int", "14 * 24 * 3600", "d"))


def test_every_real_setting_has_an_env_example() -> None:
    for axis in AXES:
        for choice in (CORE, *axis.choices):
            for group in choice.settings:
                for field in group.fields:
                    assert isinstance(env_example(field), str)


# --- render_imports(): what ruff accepts ------------------------------------------

IMPORT_SETS = {
    "app": [
        "from contextlib import asynccontextmanager",
        "from collections.abc import AsyncIterator",
        "from fastapi import FastAPI",
        "from .settings import Settings",
        "from .api.middleware import ErrorCatcherMiddleware",
        "from .api.middleware import RequestIdMiddleware, AccessLogMiddleware",
        "from starlette.middleware.cors import CORSMiddleware",
        "from .api.health import router as health_router",
        "from .api.items import router as items_router",
        "from .observability.metrics import MetricsMiddleware",
        "from .jobs import job_handlers",
    ],
    "mixed": [
        "import sys",
        "import asyncio",
        "from __future__ import annotations",
        "import structlog",
        "from typing import Any, Annotated, TYPE_CHECKING, cast",
        "from pydantic import SecretStr, Field, BaseModel, AnyUrl, field_validator",
        "from ..domain import ports",
        "from . import jobs",
        "from .adapters.database import Database, open_database",
        "from ...shared import CONSTANT",
        "import os.path",
    ],
    "long": [
        "from .api.middleware import "
        + ", ".join(
            f"{name}Middleware"
            for name in (
                "ErrorCatcher",
                "RequestId",
                "AccessLog",
                "SecurityHeaders",
                "BodySizeLimit",
                "RateLimit",
            )
        ),
        "from .adapters.inprocess_queue import open_inprocess_queue",
        "from typing import Literal",
    ],
}


def run_ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_ruff_accepts(block: str, tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(block + "\n", encoding="utf-8")
    common = ["--isolated", "--line-length", str(LINE_LENGTH), "--target-version", "py311"]
    check = run_ruff("check", *common, "--select", "I", "--no-cache", str(source), cwd=tmp_path)
    refusal = f"ruff check --select I refused:\n{block}\n{check.stdout}{check.stderr}"
    assert check.returncode == 0, refusal
    formatted = run_ruff(
        "format", *common, "--check", "--diff", "--no-cache", str(source), cwd=tmp_path
    )
    refusal = f"ruff format refused:\n{block}\n{formatted.stdout}{formatted.stderr}"
    assert formatted.returncode == 0, refusal


@pytest.mark.parametrize("name", sorted(IMPORT_SETS))
def test_render_imports_is_what_ruff_writes(name: str, tmp_path: Path) -> None:
    lines = IMPORT_SETS[name]
    block = render_imports(lines)
    assert_ruff_accepts(block, tmp_path)
    # Order-independent: the same set in reverse renders the same block.
    assert render_imports(list(reversed(lines))) == block


@pytest.mark.parametrize("auth", catalog.axis("auth").values)
def test_app_imports_of_real_compositions_are_sorted(auth: str, tmp_path: Path) -> None:
    assembly = resolve(
        real_answers(auth=auth, observability=list(catalog.axis("observability").values))
    )
    block = assembly.app_imports(
        "from collections.abc import AsyncIterator",
        "from contextlib import asynccontextmanager",
        "from fastapi import FastAPI",
        "from .settings import Settings",
    )
    assert_ruff_accepts(block, tmp_path)


def test_render_imports_refuses_what_is_not_an_import() -> None:
    with pytest.raises(ValueError, match="not an import"):
        render_imports(["x = 1"])


# --- the matrix -------------------------------------------------------------------
# Re-derived here independently: every combination by brute force, every pair it holds.

SYNTHETIC_PYTHON = Axis(
    "python_version",
    "Which Python?",
    (Choice("3.11", "Python 3.11", "Older."), Choice("3.12", "Python 3.12", "Newer.")),
    ("3.12",),
)
MATRIX_SYNTHETIC = (SYNTHETIC_PYTHON, *SYNTHETIC)

COMPOSE = Choice("compose", "Compose", "One host.")
KUBERNETES = Choice("kubernetes", "Kubernetes", "A cluster.")
DEPENDENT: tuple[Axis, ...] = (
    *MATRIX_SYNTHETIC,
    Axis("deployment", "Where?", (COMPOSE, KUBERNETES), ("compose",)),
    Axis(
        "rollout",
        "How are new versions rolled out?",
        (Choice("rolling", "Rolling", "One pod at a time."), Choice("canary", "Canary", "A few.")),
        ("rolling",),
        when=(When("deployment", ("kubernetes",)),),
    ),
    Axis(
        "probes",
        "Which probes?",
        (Choice("startup", "Startup", "Slow starts."), Choice("exec", "Exec", "A command.")),
        ("startup",),
        multiple=True,
        when=(When("deployment", ("kubernetes",)),),
    ),
    Axis(
        "mesh",
        "Which service mesh?",
        (Choice("istio", "Istio", "Sidecars."), Choice("linkerd", "Linkerd", "Lighter.")),
        ("istio",),
        when=(When("deployment", ("nomad",)),),  # a deployment never offered: never asked
    ),
)
"""``rollout`` and ``probes`` are asked only for Kubernetes, ``mesh`` never."""


def factor_levels(axes: Sequence[Axis]) -> dict[str, tuple[object, ...]]:
    """A single-select axis's values, each multiselect choice in or out; None: not asked."""
    levels: dict[str, tuple[object, ...]] = {}
    for axis in axes:
        unasked = (None,) if axis.when else ()
        if axis.multiple:
            for choice in axis.choices:
                levels[f"{axis.name}:{choice.value}"] = (True, False, *unasked)
        else:
            levels[axis.name] = (*axis.values, *unasked)
    return levels


def as_levels(answers: Mapping[str, object], axes: Sequence[Axis]) -> dict[str, object]:
    """The levels of a complete row (an axis it does not ask has no answer)."""
    levels: dict[str, object] = {}
    for axis in axes:
        answer = answers.get(axis.name)
        if axis.multiple:
            assert answer is None or isinstance(answer, list), answer
            for choice in axis.choices:
                levels[f"{axis.name}:{choice.value}"] = (
                    None if answer is None else choice.value in answer
                )
        else:
            levels[axis.name] = answer
    return levels


def as_answers(levels: Mapping[str, object], axes: Sequence[Axis]) -> dict[str, object] | None:
    """The answers a row of levels stands for (None when it half asks a multiselect)."""
    answers: dict[str, object] = {}
    for axis in axes:
        if axis.multiple:
            chosen = [levels[f"{axis.name}:{choice.value}"] for choice in axis.choices]
            if None in chosen:
                if set(chosen) != {None}:
                    return None
                continue
            answers[axis.name] = [c.value for c in axis.choices if levels[f"{axis.name}:{c.value}"]]
        elif levels[axis.name] is not None:
            answers[axis.name] = levels[axis.name]
    return answers


def accepted(answers: Mapping[str, object], axes: Sequence[Axis]) -> bool:
    """Every axis answered exactly when it is asked, and no rule broken."""
    selection = selection_from_answers(answers, tuple(axes))
    selection = Selection({name: selection.picks[name] for name in answers})
    if any((axis.name in answers) != axis.asked(selection) for axis in axes):
        return False
    return not problems(selection, tuple(axes))


def valid_rows_brute_force(axes: Sequence[Axis]) -> list[dict[str, object]]:
    factors = factor_levels(axes)
    rows = []
    for combination in product(*factors.values()):
        levels = dict(zip(factors, combination, strict=True))
        answers = as_answers(levels, axes)
        if answers is not None and accepted(answers, axes):
            rows.append(levels)
    return rows


def pairs_of(levels: Mapping[str, object]) -> set[tuple[tuple[str, object], tuple[str, object]]]:
    return set(combinations(sorted(levels.items(), key=lambda item: item[0]), 2))


def valid_pairs(axes: Sequence[Axis]) -> set[tuple[tuple[str, object], tuple[str, object]]]:
    return set().union(*(pairs_of(levels) for levels in valid_rows_brute_force(axes)))


def assert_covers_every_valid_pair(
    rows: Sequence[Mapping[str, object]], axes: Sequence[Axis]
) -> None:
    covered = set().union(*(pairs_of(as_levels(row, axes)) for row in rows))
    missing = valid_pairs(axes) - covered
    assert not missing, f"pairs no row covers: {sorted(missing, key=repr)}"
    for row in rows:
        assert accepted(row, axes), row


def test_the_covering_array_covers_every_pair_of_the_real_catalog() -> None:
    rows = covering_array()
    assert rows
    assert_covers_every_valid_pair([*rows, *NAMED.values()], AXES)
    assert uncovered_pairs([*rows, *NAMED.values()]) == set()
    assert_covers_every_valid_pair(covering_array(seeds=()), AXES)


def test_the_covering_array_respects_declared_incompatibilities() -> None:
    rows = covering_array(MATRIX_SYNTHETIC)
    assert_covers_every_valid_pair(rows, MATRIX_SYNTHETIC)
    for row in rows:
        assert not (row["cache"] == "memcached" and row["database"] == "sqlite"), row
        assert not (row["queue"] == "redis" and row["cache"] != "redis"), row
        observability = row["observability"]
        assert isinstance(observability, list)
        assert not ("sentry" in observability and row["auth"] == "none"), row
    # Much smaller than every combination, no bigger than a loose greedy bound.
    assert len(rows) < len(valid_rows_brute_force(MATRIX_SYNTHETIC)) / 4
    assert len(rows) <= 3 * 3 * 2


def test_uncovered_pairs_names_what_the_rows_miss() -> None:
    rows = [row.answers for row in matrix(MATRIX_SYNTHETIC)]
    assert uncovered_pairs(rows, MATRIX_SYNTHETIC) == set()
    without_postgres = [row for row in rows if row["database"] != "postgres"]
    missing = uncovered_pairs(without_postgres, MATRIX_SYNTHETIC)
    assert (("python_version", "3.11"), ("database", "postgres")) in missing
    assert {frozenset(pair) for pair in missing} <= {
        frozenset(pair) for pair in valid_pairs(MATRIX_SYNTHETIC)
    }
    # Only valid pairs are ever asked for: sqlite never meets memcached.
    assert not any(
        ("database", "sqlite") in pair and ("cache", "memcached") in pair
        for pair in uncovered_pairs([], MATRIX_SYNTHETIC)
    )


def test_the_matrix_grows_when_a_choice_is_added() -> None:
    valkey = Choice("valkey", "Valkey", "A fork.")
    python, database, cache, *rest = MATRIX_SYNTHETIC
    grown = (
        python,
        database,
        Axis(cache.name, cache.question, (*cache.choices, valkey), cache.default),
        *rest,
    )
    rows = [row.answers for row in matrix(grown)]
    assert any(row["cache"] == "valkey" for row in rows)
    assert_covers_every_valid_pair(rows, grown)


def test_a_dependent_axis_pairs_only_where_it_is_asked() -> None:
    rows = matrix(DEPENDENT)
    answers = [row.answers for row in rows]
    assert_covers_every_valid_pair(answers, DEPENDENT)
    assert uncovered_pairs(answers, DEPENDENT) == set()
    for row in answers:
        asked = row["deployment"] == "kubernetes"
        assert ("rollout" in row) is asked, row
        assert ("probes" in row) is asked, row
        assert "mesh" not in row, row
    # Asked, each of its choices meets every other axis's levels; never with compose.
    valid = valid_pairs(DEPENDENT)
    assert (("deployment", "compose"), ("rollout", "canary")) not in valid
    assert (("deployment", "compose"), ("rollout", None)) in valid
    assert (("deployment", "kubernetes"), ("rollout", None)) not in valid
    assert not any(("mesh", value) in pair for pair in valid for value in ("istio", "linkerd"))
    for rollout in ("rolling", "canary"):
        for python in SYNTHETIC_PYTHON.values:
            assert (("python_version", python), ("rollout", rollout)) in valid
            assert any(
                row.get("rollout") == rollout and row["python_version"] == python for row in answers
            ), (python, rollout)
    for in_or_out in (True, False):
        assert (("auth", "none"), ("probes:exec", in_or_out)) in valid
    # Its ids name the rollout only where it is asked.
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids))
    for tested in rows:
        assert ("canary" in tested.id.split("-")) is (tested.answers.get("rollout") == "canary")


def test_a_dependent_axis_that_is_never_asked_adds_no_row() -> None:
    asked_axes = DEPENDENT[:-1]
    with_mesh = {row.id for row in matrix(DEPENDENT)}
    assert with_mesh == {row.id for row in matrix(asked_axes)}


def test_the_matrix_is_named_rows_then_pairwise_rows() -> None:
    rows = matrix()
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids))
    named = [name for row in rows for name in row.names]
    assert sorted(named) == sorted(NAMED)
    assert "default" in rows[0].names
    assert_covers_every_valid_pair([row.answers for row in rows], AXES)
    for row in rows:
        assert row.id == row_id(row.answers)
        assert re.fullmatch(r"py3\d+(-[a-z0-9+]+)+", row.id), row.id
        assert set(row.answers) == {axis.name for axis in AXES}
        assert row.python_version in PYTHON_VERSION.values


def test_named_rows_are_computed_from_the_catalog() -> None:
    default = NAMED["default"]
    for axis in AXES:
        expected = list(axis.default) if axis.multiple else axis.default[0]
        assert default[axis.name] == expected, axis.name
    assert default["python_version"] == PYTHON_VERSION.default[0]

    minimal = NAMED["minimal"]
    assert minimal["auth"] == "none"
    assert minimal["observability"] == []
    assert minimal["python_version"] == PYTHON_VERSION.values[0], "the first listed: the oldest"

    all_servers = NAMED["all-servers"]
    for axis in AXES:
        with_server = [choice.value for choice in axis.choices if choice.services]
        answer = all_servers[axis.name]
        if axis.multiple:
            assert answer == (with_server or list(axis.default)), axis.name
        elif with_server:
            assert answer in with_server, axis.name
        else:
            assert answer == axis.default[0], axis.name


def test_the_synthetic_all_servers_row_picks_the_server_choices() -> None:
    rows = {name: row for row in matrix(MATRIX_SYNTHETIC) for name in row.names}
    assert rows["all-servers"].answers["database"] == "postgres"
    assert rows["minimal"].answers["auth"] == "none"
    assert rows["minimal"].answers["observability"] == []


def test_named_rows_answer_only_what_they_are_asked() -> None:
    rows = {name: row for row in matrix(DEPENDENT) for name in row.names}
    for name in ("default", "minimal"):
        assert rows[name].answers["deployment"] == "compose"
        assert "rollout" not in rows[name].answers
    assert not any("mesh" in row.answers for row in rows.values())


def test_row_ids_read_as_words() -> None:
    answers = {
        **synthetic_answers(observability=["prometheus", "sentry"]),
        "python_version": "3.11",
    }
    assert (
        row_id(answers, MATRIX_SYNTHETIC) == "py311-sqlite-memory-inprocess-jwt-prometheus+sentry"
    )
    assert row_id({"observability": []}, MATRIX_SYNTHETIC).endswith("-noobservability")
    assert row_id({}, DEPENDENT).endswith("-compose")


def test_the_matrix_is_the_same_in_every_process() -> None:
    """pytest-xdist workers must collect the same rows, whatever their hash seed."""
    script = (
        "import json, sys; sys.path.insert(0, 'extensions');"
        "from slipway_catalog.matrix import matrix;"
        "print(json.dumps([(row.id, row.answers) for row in matrix()]))"
    )
    outputs = set()
    for seed in ("1", "2", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=TEMPLATE_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == [[row.id, row.answers] for row in matrix()]
