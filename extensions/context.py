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
import unicodedata
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

    The hook runs for every rendered file; the assembly is computed once per set
    of answers and kept on this extension, which belongs to one version's environment.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._assemblies: dict[str, Any] = {}

    def hook(self, context: dict[str, Any]) -> None:
        if context.get("_copier_phase") == "prompt" or "package_name" not in context:
            return
        key = _answers_key(context)
        if key not in self._assemblies:
            answers = {name: value for name, value in json.loads(key).items() if value is not None}
            self._assemblies[key] = catalog.resolve(answers)
        context["slipway"] = self._assemblies[key]


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
            slice_asked=slice_asked,
            slugify=slugify,
            package_from_slug=package_from_slug,
            toml_string=toml_string,
            py_argument=py_argument,
            py_docstring=py_docstring,
            md_text=md_text,
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


@pass_context
def slice_asked(context: Context, axis_name: str) -> bool:
    """Copier's ``when`` for an axis: whether its conditions hold on the answers so far.

    A multiselect answer given on the command line is checked here too, before Copier
    parses it (a scalar would end in Copier's traceback).
    """
    axis = catalog.axis(axis_name)
    if axis.multiple:
        refuse_bad_data(context, axis_name)
    answered = {
        other.name: context.get(other.name) for other in catalog.AXES if other.name in context
    }
    return bool(axis.asked(catalog.selection_from_answers(answered, catalog.AXES)))


def slice_question(axis_name: str) -> str:
    return catalog.axis(axis_name).question


@pass_context
def slice_default(context: Context, axis_name: str) -> str:
    """The axis's default, or, where the answers so far rule it out, the first choice
    they allow (``database=none`` turns the ``auth`` default from ``jwt`` to ``none``)."""
    axis = catalog.axis(axis_name)
    answered = dict(context.get_all())
    allowed = [
        choice.value
        for choice in axis.choices
        if not catalog.choice_conflicts(axis, choice, answered, catalog.AXES)
    ]
    if axis.multiple:
        return json.dumps([value for value in axis.default if value in allowed])
    default = axis.default[0]
    return default if default in allowed or not allowed else allowed[0]


@pass_context
def slice_problems(context: Context, answer: Any, axis_name: str) -> str:
    axis = catalog.axis(axis_name)
    _refuse(
        axis_name,
        "; ".join(catalog.value_problems(axis, answer, dict(context.get_all()), catalog.AXES)),
    )
    return ""


@pass_context
def python_choices(context: Context, question: str) -> str:
    """The ``python_version`` axis's choices, refusing a ``-d`` version it does not offer."""
    offered = catalog.axis(question).values
    given = _given_on_command_line(context, question)
    if given is not None and str(given) not in offered:
        _refuse(question, f"{given!r} is not offered; pick one of: {', '.join(offered)}")
    return slice_choices(context, question)


def python_default(question: str) -> str:
    """The Python running Copier when it is offered, else the catalog's default.

    The interpreter that runs Copier is the one surely installed, so a service
    generated with the defaults installs and runs without fetching another (as
    ``uv init`` pins the interpreter it finds).
    """
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    axis = catalog.axis(question)
    return running if running in axis.values else axis.default[0]


def check_name(answer: str) -> str:
    _refuse("project_name", "" if answer.strip() else "the name cannot be empty")
    return ""


def check_slug(answer: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", answer):
        _refuse(
            "project_slug",
            f"{answer!r} is not a slug; use lowercase letters, digits and single hyphens "
            "(e.g. my-service)",
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
    if len(answer) > PACKAGE_NAME_MAX_LENGTH:
        _refuse(
            "package_name",
            f"{answer!r} is longer than {PACKAGE_NAME_MAX_LENGTH} characters (it prefixes "
            f"every import); pick a shorter one, e.g. {_shortened(answer, PACKAGE_NAME_MAX_LENGTH, '_')}",
        )
    if _is_taken(answer):
        _refuse(
            "package_name",
            f"{answer!r} is a Python keyword or a module the service imports; "
            f"pick another, e.g. {answer}_service",
        )
    return ""


def _is_taken(package: str) -> bool:
    return (
        keyword.iskeyword(package)
        or package in RESERVED_PACKAGE_NAMES
        or package in sys.stdlib_module_names
    )


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
    if given is None:
        return True
    if question in CHECKS:
        CHECKS[question](str(given))
    elif not isinstance(given, list):
        _refuse(
            question,
            f"pick any number of choices as a YAML list, e.g. -d '{question}=[{given}]' "
            f"(or -d '{question}=[]' for none)",
        )
    return True


# --- derived defaults --------------------------------------------------------------


DERIVED_SLUG_MAX_LENGTH = 32
PACKAGE_NAME_MAX_LENGTH = 20
"""The package prefixes every import of the service: longer, its imports outgrow a line."""


def slugify(name: str) -> str:
    """A valid slug for any name: accents folded, symbols dropped ("Café 3D!" -> "cafe-3d")."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return _shortened(slug, DERIVED_SLUG_MAX_LENGTH, "-") or "service"


def package_from_slug(slug: str) -> str:
    """A valid package name for any valid slug ("3d-printer" -> "service_3d_printer")."""
    package = re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_") or "service"
    if not package[0].isalpha():
        package = f"service_{package}"
    if _is_taken(package):
        package = f"{package}_service"
    return _shortened(package, PACKAGE_NAME_MAX_LENGTH, "_")


def _shortened(name: str, length: int, separator: str) -> str:
    """``name`` cut to ``length``, at a separator where there is one."""
    while len(name) > length and separator in name.rstrip(separator):
        name = name.rstrip(separator).rsplit(separator, 1)[0]
    return name[:length].rstrip(separator)


# --- free text, rendered inert -------------------------------------------------------
# A name or description may hold quotes, backslashes, newlines, Jinja or Markdown
# syntax: wherever it lands it must read as the same text and nothing more.

PYTHON_LINE_LENGTH = 100
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _python_char(char: str) -> str:
    """``char`` as it may appear in a lint-clean Python literal of the service."""
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isascii():
        return char if char.isprintable() else f"\\x{ord(char):02x}"
    if unicodedata.category(char)[0] in "LN" and char.isprintable():
        return char  # letters and digits of any script read as themselves
    # Symbols, punctuation and spaces beyond ASCII (an en dash, a curly quote, an
    # emoji) by name: linters flag them as look-alikes of ASCII.
    name = unicodedata.name(char, "")
    return f"\\N{{{name}}}" if name else f"\\u{ord(char):04x}"


def _python_body(text: str, quote: str) -> str:
    body = "".join(_python_char(char) for char in text)
    return body.replace(quote, "\\" + quote)


def py_literal(text: str) -> str:
    """``text`` as a Python string literal, quoted as ruff and black would quote it."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return f"{quote}{_python_body(text, quote)}{quote}"


def py_argument(text: str, keyword: str, indent: int) -> str:
    """``keyword=<literal>`` for a call argument at ``indent``, split to fit the line.

    A literal too long for one line becomes parenthesized implicit concatenation,
    which both formatters keep as it is.
    """
    text = _one_line(text)
    single = f"{keyword}={py_literal(text)},"
    if indent + len(single) <= PYTHON_LINE_LENGTH:
        return single[:-1]
    width = PYTHON_LINE_LENGTH - indent - 4 - 2
    pieces = [py_literal(piece) for piece in _pieces(text, width)]
    inner = " " * (indent + 4)
    return f"{keyword}=(\n" + "".join(f"{inner}{piece}\n" for piece in pieces) + " " * indent + ")"


def _pieces(text: str, width: int) -> list[str]:
    """Split at spaces (each kept at the end of its piece) into pieces of ``width``."""
    pieces: list[str] = []
    current = ""
    for word in re.findall(r"\S+\s*", text):
        if current and len(_python_body(current + word, '"')) > width:
            pieces.append(current)
            current = ""
        current += word
    return [*pieces, current] if current else pieces


def py_docstring(text: str) -> str:
    """``text`` as the inside of a one-paragraph docstring, wrapped to the line length.

    Lines break between words of the text, never inside an escape (``\\N{EN DASH}``).
    """
    lines = [_python_body(line, '"') for line in _pieces(_one_line(text), PYTHON_LINE_LENGTH - 6)]
    lines = [line.strip() for line in lines]
    if len(lines) <= 1:
        return "".join(lines)
    return "\n".join(lines) + "\n"


_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", "~": "&#126;"}
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]>])")
_MARKDOWN_LINE_START = re.compile(r"^(?:([#=+-])|(\d+)([.)]))")


def md_text(text: str) -> str:
    """``text`` as literal Markdown on one line, for CommonMark and Python-Markdown alike."""
    escaped = "".join(_MARKDOWN_ENTITIES.get(char, char) for char in _one_line(text))
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", escaped)
    # What would open a heading, list or rule at the start of a line.
    return _MARKDOWN_LINE_START.sub(
        lambda found: f"\\{found[1]}" if found[1] else f"{found[2]}\\{found[3]}", escaped
    )


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def new_secret() -> str:
    """A fresh random secret, for files rendered once per project (``.env``)."""
    return secrets.token_urlsafe(48)
