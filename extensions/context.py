"""Jinja extension Copier loads: the catalog as template context, filters and validators.

Everything here is computed from ``slipway_catalog``; templates only iterate what it
returns. Nothing here touches the network.

``copier update`` renders the old and the new template version in one process, and
Copier loads this file afresh (by path) for each version's Jinja environment. So the
catalog is loaded by path too, from beside this file, under a module name of its own:
each version renders with its own catalog, and no state or cache is shared between
versions (``import slipway_catalog`` would return whichever version came first).
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import secrets
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import yaml
from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context


def load_catalog(package_dir: Path) -> ModuleType:
    """Import the catalog package at ``package_dir`` under a module name of its own."""
    name = f"_slipway_catalog_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    if spec is None or spec.loader is None:
        raise UserMessageError(f"the slice catalog is missing from {package_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the package's relative imports resolve through it
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import slipway_catalog as catalog
else:
    catalog = load_catalog(Path(__file__).resolve().parent / "slipway_catalog")


class SlipwayContext(ContextHook):
    """Adds ``slipway``, the merged contributions of the chosen slices.

    The hook runs for every rendered file; the composition is computed once per set
    of answers and kept on this extension, which belongs to one version's environment.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._compositions: dict[str, Any] = {}

    def hook(self, context: dict[str, Any]) -> None:
        if context.get("_copier_phase") == "prompt" or "package_name" not in context:
            return
        key = _answers_key(context)
        if key not in self._compositions:
            answers = {name: value for name, value in json.loads(key).items() if value is not None}
            self._compositions[key] = catalog.resolve(answers)
        context["slipway"] = self._compositions[key]


def _answers_key(context: dict[str, Any]) -> str:
    keys = ["package_name", "project_slug", *(axis.name for axis in catalog.AXES)]
    return json.dumps({key: context.get(key) for key in keys}, sort_keys=True)


class SlipwayFilters(Extension):
    """Filters ``copier.yml`` uses to ask each question from the catalog.

    A bad answer raises ``UserMessageError``: Copier shows its message at the prompt
    (and asks again) or, for ``--data``, prints it and stops without a traceback.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(
            slice_choices=slice_choices,
            slice_default=slice_default,
            slice_question=slice_question,
            slice_problems=slice_problems,
            python_choices=python_choices,
            python_default=python_default,
            check_name=check_name,
            check_slug=check_slug,
            check_package_name=check_package_name,
            check_email=check_email,
            refuse_bad_data=refuse_bad_data,
            py_string=py_string,
        )
        environment.globals["new_secret"] = new_secret


def _refuse(question: str, problem: str) -> None:
    if problem:
        raise UserMessageError(f"{question}: {problem}")


def _given_on_command_line(context: Context, name: str) -> Any:
    conf = context.get("_copier_conf")
    data = conf.get("data", {}) if conf is not None else {}
    given = data.get(name)
    if isinstance(given, str) and given.lstrip().startswith("["):
        return yaml.safe_load(given)  # a multiselect answer given as a YAML list
    return given


@pass_context
def slice_choices(context: Context, axis_name: str) -> str:
    """The axis's choices as Copier's YAML: label -> value, plus why a choice is off."""
    axis = catalog.axis(axis_name)
    answered = dict(context.get_all())
    given = _given_on_command_line(context, axis_name)
    if given is not None:
        _refuse(axis_name, "; ".join(catalog.value_problems(axis, given, answered, catalog.AXES)))
    entries = {
        choice.label: {
            "value": choice.value,
            "validator": "; ".join(catalog.choice_conflicts(axis, choice, answered, catalog.AXES)),
        }
        for choice in axis.choices
    }
    return json.dumps(entries)


def slice_question(axis_name: str) -> str:
    return catalog.axis(axis_name).question


def slice_default(axis_name: str) -> str:
    axis = catalog.axis(axis_name)
    return json.dumps(list(axis.default)) if axis.multiple else axis.default[0]


@pass_context
def slice_problems(context: Context, answer: Any, axis_name: str) -> str:
    axis = catalog.axis(axis_name)
    _refuse(axis_name, "; ".join(catalog.value_problems(axis, answer, dict(context.get_all()), catalog.AXES)))
    return ""


@pass_context
def python_choices(context: Context, _question: str) -> str:
    given = _given_on_command_line(context, "python_version")
    if given is not None and str(given) not in catalog.PYTHON_VERSIONS:
        _refuse(
            "python_version",
            f"{given!r} is not offered; pick one of: {', '.join(catalog.PYTHON_VERSIONS)}",
        )
    return json.dumps(list(catalog.PYTHON_VERSIONS))


def python_default(_question: str) -> str:
    """The Python running Copier when it is offered, else the catalog's default.

    The interpreter that runs Copier is the one surely installed, so a service
    generated with the defaults installs and runs without fetching another (as
    ``uv init`` pins the interpreter it finds).
    """
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return running if running in catalog.PYTHON_VERSIONS else catalog.DEFAULT_PYTHON_VERSION


def check_name(answer: str) -> str:
    _refuse("project_name", "" if answer.strip() else "the name cannot be empty")
    return ""


def check_slug(answer: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", answer):
        _refuse(
            "project_slug",
            f"{answer!r} is not a slug; use lowercase letters, digits and single hyphens, "
            "starting with a letter (e.g. my-service)",
        )
    return ""


RESERVED_PACKAGE_NAMES = frozenset(
    {"test", "tests", "migrations", "app", "fastapi", "pydantic", "sqlalchemy", "alembic", "jwt"}
)


def check_package_name(answer: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", answer):
        _refuse(
            "package_name",
            f"{answer!r} is not a package name; use lowercase letters, digits and "
            "underscores, starting with a letter (e.g. my_service)",
        )
    if keyword.iskeyword(answer) or answer in RESERVED_PACKAGE_NAMES or answer in sys.stdlib_module_names:
        _refuse(
            "package_name",
            f"{answer!r} is a Python keyword or a module the service imports; "
            f"pick another, e.g. {answer}_service",
        )
    return ""


def check_email(answer: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", answer):
        _refuse("author_email", f"{answer!r} is not an email address (e.g. team@example.com)")
    return ""


CHECKS = {
    "project_name": check_name,
    "project_slug": check_slug,
    "package_name": check_package_name,
    "author_email": check_email,
}


@pass_context
def refuse_bad_data(context: Context, question: str) -> bool:
    """Check a ``--data`` answer before Copier does, so it fails with a message.

    Copier wraps validator errors for ``--data`` answers in a traceback; a ``when``
    that raises ``UserMessageError`` stops with just the message instead.
    """
    given = _given_on_command_line(context, question)
    if given is not None:
        CHECKS[question](str(given))
    return True


def py_string(text: str) -> str:
    """``text`` as a double-quoted Python string literal."""
    return json.dumps(text, ensure_ascii=False)


def new_secret() -> str:
    """A fresh random secret, for files rendered once per project (``.env``)."""
    return secrets.token_urlsafe(48)
