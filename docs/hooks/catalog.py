"""The docs' generated regions: written from the catalog and the code, checked by MkDocs.

A marker, alone on its line, opens a region that ends at its closing marker::

    <!-- slipway:catalog -->

    (generated Markdown)

    <!-- /slipway:catalog -->

Maintainers write only the opening marker; this file, run as a command, writes what
follows it, from the catalog and the code, into the Markdown file itself (``README.md``
and ``docs/*.md``), so the files read in full wherever they are read::

    uv run python docs/hooks/catalog.py --write    # regenerate every region
    uv run python docs/hooks/catalog.py --check    # list stale files, exit 1 if any

Run as an MkDocs hook, it renders the regions afresh (so ``mkdocs serve`` shows a
catalog edit at once), drops the markers, and fails a ``mkdocs build --strict`` whose
Markdown is stale. The markers:

``<!-- slipway:axes [PAGE] -->``
    The axes at a glance: question, choices, default, one or any subset; each axis
    links to its section on ``PAGE`` (this page when omitted).
``<!-- slipway:catalog -->``
    One row per choice: description, rules, dependencies, env vars, services.
``<!-- slipway:choices -->``
    One section per choice: everything it contributes and the files it owns.
``<!-- slipway:core -->``
    What every service gets whatever the answers: dependencies and settings.
``<!-- slipway:middleware -->``
    The middleware chain, outermost first, from every contribution's ``order``.
``<!-- slipway:matrix [AXIS=VALUE] -->``
    The tested combinations, as ``slipway_catalog.matrix`` computes them; with
    ``AXIS=VALUE``, as they would be once that (hypothetical) choice is added.
``<!-- slipway:owned AXIS=VALUE -->``
    The template files a choice owns (their names carry its condition).
``<!-- slipway:source "PATH" NAME -->``
    The top-level definition ``NAME`` (a function, class, assignment or TOML key)
    of the file at ``PATH`` (from the repository root), as a titled code block.
``<!-- slipway:summary -->``
    Every axis with its choices and default (the README's table).

Whole files are included with ``pymdownx.snippets`` instead (``--8<-- "PATH"``).
A marker that names something missing fails the command and the build, so the docs
cannot drift from the code. The questions page must also give every question of
``copier.yml`` its own heading.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template"
DOCS = REPO_ROOT / "docs"
EXAMPLE_ANSWERS = {"package_name": "my_service", "project_slug": "my-service"}
"""The names the tables show settings for (the defaults of ``copier.yml``)."""

COMMAND = "uv run python docs/hooks/catalog.py --write"
"""What brings every generated region up to date."""
QUESTIONS_PAGE = "questions.md"
_OPENING = re.compile(
    r"^(?P<indent>[ \t]*)<!--[ \t]*slipway:(?P<name>[a-z]+)(?P<args>[^>]*?)[ \t]*-->[ \t]*$",
    re.M,
)
_CLOSING = r"^[ \t]*<!--[ \t]*/slipway:{name}[ \t]*-->[ \t]*$"
_ANY_CLOSING = re.compile(_CLOSING.format(name="[a-z]+"), re.M)
_LANGUAGES = {".py": "python", ".toml": "toml", ".yml": "yaml", ".yaml": "yaml", ".ini": "ini"}

log = logging.getLogger(f"mkdocs.hooks.{__name__}")
catalog: Any = None
_serving = False


class MarkerError(Exception):
    """A marker this file cannot render, or a closing marker that closes no region."""


def load_catalog() -> Any:
    """Import the catalog afresh (a catalog edit shows on the next rebuild)."""
    global catalog
    extensions = str(REPO_ROOT / "extensions")
    if extensions not in sys.path:
        sys.path.insert(0, extensions)
    for name in [name for name in sys.modules if name.split(".")[0] == "slipway_catalog"]:
        del sys.modules[name]
    catalog = importlib.import_module("slipway_catalog")
    return catalog


# --- the MkDocs hook ------------------------------------------------------------------


def on_startup(command: str, **_: Any) -> None:
    global _serving
    _serving = command == "serve"


def on_config(config: Any) -> Any:
    load_catalog()
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    where = page.file.src_uri
    try:
        current = expand(markdown, where)
    except MarkerError as error:
        raise PluginError(str(error)) from error
    if current != markdown:
        # Serving previews the catalog as it is; a build publishes only current files.
        report = log.info if _serving else log.warning
        report(f"docs/{where}: generated regions are stale; run `{COMMAND}`")
    if where == QUESTIONS_PAGE:
        _check_every_question_has_a_heading(current)
    return strip_markers(current)


# --- the regions ------------------------------------------------------------------------


def expand(markdown: str, where: str) -> str:
    """``markdown`` with every region written afresh (a lone opening marker gains one)."""
    parts: list[str] = []
    position = 0
    while (opening := _OPENING.search(markdown, position)) is not None:
        name = opening["name"]
        closing = re.compile(_CLOSING.format(name=name), re.M).search(markdown, opening.end())
        following = _OPENING.search(markdown, opening.end())
        if closing is not None and (following is None or closing.start() < following.start()):
            end = closing.end()
        else:
            end = opening.end()
        _refuse_stray_closing(markdown[position : opening.start()], where)
        parts.append(markdown[position : opening.start()])
        parts.append(_region(opening, _render(opening, where)))
        position = end
    _refuse_stray_closing(markdown[position:], where)
    parts.append(markdown[position:])
    return "".join(parts)


def strip_markers(markdown: str) -> str:
    """The Markdown without the marker lines, which are not part of the page."""
    return _ANY_CLOSING.sub("", _OPENING.sub("", markdown))


def documents() -> list[Path]:
    """Every Markdown file that may hold regions: the README and the docs' pages."""
    return [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def stale(paths: Iterable[Path] | None = None) -> dict[Path, str]:
    """The files whose regions are not current, each with its current text."""
    found = {}
    for path in documents() if paths is None else paths:
        markdown = path.read_text(encoding="utf-8")
        current = expand(markdown, path.relative_to(REPO_ROOT).as_posix())
        if current != markdown:
            found[path] = current
    return found


def _render(opening: re.Match[str], where: str) -> str:
    name = opening["name"]
    render = RENDERERS.get(name)
    if render is None:
        raise MarkerError(f"{where}: unknown marker slipway:{name}")
    try:
        return render(*shlex.split(opening["args"]))
    except (KeyError, LookupError, OSError, TypeError, ValueError) as error:
        raise MarkerError(f"{where}: slipway:{name} {opening['args'].strip()}: {error}") from error


def _region(opening: re.Match[str], body: str) -> str:
    indent = opening["indent"]
    lines = [indent + line if line.strip() else "" for line in body.splitlines()]
    return "\n".join([opening[0], "", *lines, "", f"{indent}<!-- /slipway:{opening['name']} -->"])


def _refuse_stray_closing(text: str, where: str) -> None:
    stray = _ANY_CLOSING.search(text)
    if stray is not None:
        raise MarkerError(f"{where}: {stray[0].strip()} closes no region")


# --- the catalog as tables ------------------------------------------------------------


def _default(axis: Any, none: str = "*none*") -> str:
    """The default a user is offered (for the Python version, what Copier runs on)."""
    default = ", ".join(f"`{value}`" for value in axis.default) or none
    if axis is catalog.PYTHON_VERSION:
        return f"the Python running Copier, else {default}"
    return default


def render_axes(page: str = "") -> str:
    """``page`` is where the per-axis sections are (this page when empty)."""
    rows = ["| Axis | Question | Choices | Default | Pick |", "| --- | --- | --- | --- | --- |"]
    for axis in catalog.AXES:
        choices = ", ".join(f"`{value}`" for value in axis.values)
        default = _default(axis)
        pick = "any subset" if axis.multiple else "one"
        rows.append(
            f"| [`{axis.name}`]({page}#axis-{axis.name}) | {_cell(axis.question)} | {choices} "
            f"| {default} | {pick} |"
        )
    return "\n".join(rows)


def render_summary() -> str:
    """Every axis: its choices and its default (for the Python version, what Copier offers)."""
    rows = ["| Axis | Choices | Default |", "| --- | --- | --- |"]
    for axis in catalog.AXES:
        choices = ", ".join(f"`{value}`" for value in axis.values)
        if axis.multiple:
            choices += " (any subset)"
        rows.append(f"| `{axis.name}` | {choices} | {_default(axis)} |")
    return "\n".join(rows)


def render_catalog() -> str:
    rows = [
        "| Axis | Choice | Description | Rules | Dependencies | Settings (env vars) | Services |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for axis in catalog.AXES:
        for choice in axis.choices:
            composed = _composition_of(choice)
            rows.append(
                "| "
                + " | ".join(
                    (
                        f"`{axis.name}`",
                        f"`{axis.name}={choice.value}`",
                        _cell(choice.description),
                        _lines(_rules(choice)),
                        _lines(f"`{dep}`" for dep in choice.dependencies),
                        _lines(f"`{var.name}`" for var in composed.env_vars),
                        _lines(_service(service) for service in choice.services),
                    )
                )
                + " |"
            )
    return "\n".join(rows)


def render_choices() -> str:
    sections = []
    for axis in catalog.AXES:
        default = _default(axis, none="none")
        kind = (
            "any subset of its choices (a multiselect)" if axis.multiple else "exactly one choice"
        )
        sections.append(
            f"### `{axis.name}` {{#axis-{axis.name}}}\n\n"
            f"*{axis.question}* Takes {kind}; the default is {default}."
        )
        for choice in axis.choices:
            sections.append(_choice_section(axis, choice))
    return "\n\n".join(sections)


def _choice_section(axis: Any, choice: Any) -> str:
    composed = _composition_of(choice)
    lines = [
        f"#### `{axis.name}={choice.value}` {{#{axis.name}-{choice.value}}}",
        "",
        f"**{choice.label}.** {choice.docs or choice.description}",
    ]
    facts = {
        "Requires / excludes": _rules(choice),
        "Dependencies": [f"`{dep}`" for dep in choice.dependencies],
        "Development dependencies": [f"`{dep}`" for dep in choice.dev_dependencies],
        "Services": [_service(service) for service in choice.services],
        "Resources (lifespan)": [_resource(resource) for resource in choice.resources],
        "Routers": [f"`{router.module}`" for router in choice.routers],
        "Middleware": [f"`{m.name}` (order {m.order})" for m in choice.middleware],
        "Migrations": [f"`{name}`" for name in choice.migrations],
        "Files it owns": [f"`{path}`" for path in owned_files(axis.name, choice.value)],
    }
    given = {label: items for label, items in facts.items() if items}
    if given:
        lines += ["", "| Contributes | |", "| --- | --- |"]
        lines += [f"| {label} | {_lines(items)} |" for label, items in given.items()]
    if composed.env_vars:
        lines += ["", _settings_table(composed)]
    return "\n".join(lines)


def render_core() -> str:
    core = catalog.CORE
    composed = _composition_of(core)
    return "\n".join(
        [
            f"{core.description}",
            "",
            "Dependencies: " + ", ".join(f"`{dep}`" for dep in core.dependencies) + ".",
            "",
            "Development tools: " + ", ".join(f"`{dep}`" for dep in core.dev_dependencies) + ".",
            "",
            _settings_table(composed),
        ]
    )


def render_middleware() -> str:
    contributed: list[tuple[Any, str | None]] = [
        (middleware, None) for middleware in catalog.CORE.middleware
    ]
    for axis in catalog.AXES:
        for choice in axis.choices:
            contributed.extend(
                (middleware, f"{axis.name}={choice.value}") for middleware in choice.middleware
            )
    contributed.sort(key=lambda entry: entry[0].order)
    lines = ["| Order | Middleware | Module | Present |", "| --- | --- | --- | --- |"]
    for middleware, choice in contributed:
        present = f"with `{choice}`" if choice else "always"
        lines.append(
            f"| {middleware.order} | `{middleware.name}` | `{middleware.module}` | {present} |"
        )
    return "\n".join(lines)


def render_owned(selector: str) -> str:
    axis, _, value = selector.partition("=")
    catalog.axis(axis).choice(value)  # KeyError when the choice is not offered
    paths = owned_files(axis, value)
    if not paths:
        raise ValueError(f"the catalog lists no file {axis}={value} owns")
    return "\n".join(f"- `{path}`" for path in paths)


def _composition_of(choice: Any) -> Any:
    return catalog.assemble(catalog.Selection({}), (choice,), EXAMPLE_ANSWERS)


def _settings_table(composed: Any) -> str:
    rows = ["| Variable | Default | Description |", "| --- | --- | --- |"]
    for var in composed.env_vars:
        default = "*secret*" if var.secret else (f"`{var.example}`" if var.example else "*unset*")
        rows.append(f"| `{var.name}` | {_cell(default)} | {_cell(var.description)} |")
    return "\n".join(rows)


def _rules(choice: Any) -> list[str]:
    return [f"needs `{axis}={value}`" for axis, value in choice.requires] + [
        f"not with `{axis}={value}`" for axis, value in choice.excludes
    ]


def _service(service: Any) -> str:
    return f"`{service.name}` ({_cell(service.image)}, port {service.port})"


def _resource(resource: Any) -> str:
    ready = ", pinged by `/health/ready`" if resource.readiness else ""
    return f"`{resource.name}`: a `{resource.type_name}` opened by `{resource.opener}`{ready}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _lines(items: Iterable[str]) -> str:
    return "<br>".join(_cell(item) for item in items) or "—"


# --- the tested combinations -------------------------------------------------------------


def render_matrix(grow: str = "") -> str:
    """The matrix of tested combinations; ``AXIS=VALUE`` adds a hypothetical choice first.

    The hypothetical choice contributes what the axis's default does, plus a server of
    its own (as a shared cache or a database server would), so the all-servers row
    picks it too. A dash marks an axis the row does not ask.
    """
    matrix = importlib.import_module("slipway_catalog.matrix")
    model = importlib.import_module("slipway_catalog.model")
    axes = tuple(catalog.AXES)
    added: tuple[str, str] | None = None
    if grow:
        axis_name, _, value = grow.partition("=")
        axis = catalog.axis(axis_name)
        if value in axis.values:
            raise ValueError(f"{grow} is already offered")
        # Like the axis's default choice, plus a server of its own.
        hypothetical = dataclasses.replace(
            axis.choice(axis.default[0]) if axis.default else axis.choices[0],
            value=value,
            label=value,
            requires=(),
            excludes=(),
            services=(model.Service(name=value, image=f"{value}:latest", port=1),),
        )
        grown = dataclasses.replace(axis, choices=(*axis.choices, hypothetical))
        axes = tuple(grown if current.name == axis_name else current for current in axes)
        added = (axis_name, value)
    header = [*(axis.name for axis in axes), "Named"]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in matrix.matrix(axes):
        cells = []
        for axis in axes:
            if axis.name not in row.answers:
                cells.append("—")
                continue
            answer = row.answers[axis.name]
            values = [answer] if isinstance(answer, str) else list(answer)
            shown = ", ".join(f"`{value}`" for value in values) or "*none*"
            if added is not None and added[0] == axis.name and added[1] in values:
                shown = f"**{shown}**"
            cells.append(shown)
        cells.append(", ".join(row.names) or "pairwise")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


# --- files a choice owns ----------------------------------------------------------------


def owned_files(axis: str, value: str) -> list[str]:
    """The files the catalog says the choice owns (its migrations included)."""
    choice = catalog.axis(axis).choice(value)
    paths = [*choice.files, *(f"migrations/versions/{name}" for name in choice.migrations)]
    return sorted(path.replace("{package_name}", "<package>") for path in paths)


# --- excerpts of the code -----------------------------------------------------------------


def render_source(path: str, name: str) -> str:
    """``NAME``'s top-level definition in the file at ``PATH``, as a titled code block."""
    file = (REPO_ROOT / path).resolve()
    if REPO_ROOT not in file.parents:
        raise ValueError(f"{path} is outside the repository")
    lines = file.read_text(encoding="utf-8").splitlines()
    definition = re.compile(
        rf"^(?:async\s+def|def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*(?::[^=]*)?="
    )
    start = next((index for index, line in enumerate(lines) if definition.match(line)), None)
    if start is None:
        raise LookupError(f"no top-level {name!r} in {path}")
    end = start + 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    while end < len(lines) and not _starts_a_statement(lines[end]):
        end += 1
    while lines[end - 1].strip() == "":
        end -= 1
    suffix = Path(path.removesuffix(".jinja")).suffix
    language = _LANGUAGES.get(suffix, "text")
    body = "\n".join(lines[start:end])
    title = path.replace('"', "'")
    return f'```{language} title="{title}"\n{body}\n```'


def _starts_a_statement(line: str) -> bool:
    """A new top-level statement: column 0, not a closing bracket nor a Jinja tag."""
    if not line or line[0].isspace():
        return False
    return not line.startswith((")", "]", "}", "{%", "{{", "{#"))


# --- the questions page ---------------------------------------------------------------------


def copier_questions() -> list[str]:
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return [key for key in questions if not key.startswith("_")]


def _check_every_question_has_a_heading(markdown: str) -> None:
    headings = set(re.findall(r"^[ \t]*#{2,4} `(\w+)`", markdown, re.M))
    missing = [name for name in copier_questions() if name not in headings]
    if missing:
        raise PluginError(f"{QUESTIONS_PAGE}: no heading for the question(s) {', '.join(missing)}")


RENDERERS: dict[str, Callable[..., str]] = {
    "axes": render_axes,
    "catalog": render_catalog,
    "choices": render_choices,
    "core": render_core,
    "middleware": render_middleware,
    "matrix": render_matrix,
    "owned": render_owned,
    "source": render_source,
    "summary": render_summary,
}


# --- the command --------------------------------------------------------------------------


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="docs/hooks/catalog.py",
        description="Write the generated regions of README.md and docs/*.md.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="bring every region up to date")
    mode.add_argument(
        "--check", action="store_true", help="list the stale files; exit 1 if there are any"
    )
    options = parser.parse_args(arguments)
    load_catalog()
    try:
        found = stale()
    except MarkerError as error:
        print(error, file=sys.stderr)
        return 1
    for path, current in found.items():
        name = path.relative_to(REPO_ROOT).as_posix()
        if options.write:
            path.write_text(current, encoding="utf-8")
            print(f"wrote {name}")
        else:
            print(f"{name} is stale", file=sys.stderr)
    if options.check and found:
        print(f"run `{COMMAND}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
