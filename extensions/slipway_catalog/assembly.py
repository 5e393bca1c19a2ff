"""Merge the chosen slices' contributions into the models shared files render."""

from __future__ import annotations

import ast
import json
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .model import (
    Choice,
    Contribution,
    Middleware,
    Resource,
    Router,
    Selection,
    Service,
    Setting,
    SettingsGroup,
)

LINE_LENGTH = 100


@dataclass(frozen=True)
class EnvVar:
    name: str
    example: str
    description: str
    secret: bool


@dataclass(frozen=True)
class Assembly:
    selection: Selection
    choices: tuple[Choice, ...]
    contributions: tuple[Contribution, ...]
    """Each choice's own contribution, then its conditional ones that apply."""
    package_name: str
    env_prefix: str
    dependencies: tuple[str, ...]
    dev_dependencies: tuple[str, ...]
    settings_groups: tuple[SettingsGroup, ...]
    services: tuple[Service, ...]
    resources: tuple[Resource, ...]
    routers: tuple[Router, ...]
    middleware: tuple[Middleware, ...]
    migrations: tuple[str, ...]

    def has(self, axis: str, value: str) -> bool:
        return self.selection.has(axis, value)

    @property
    def slices(self) -> tuple[Choice, ...]:
        """The chosen choices, without the core."""
        return self.choices[1:]

    @property
    def endpoints(self) -> tuple[tuple[str, str], ...]:
        return tuple(endpoint for part in self.contributions for endpoint in part.endpoints)

    @property
    def files(self) -> tuple[str, ...]:
        """The rendered files the chosen choices own, ``{package_name}`` filled in."""
        return tuple(
            path.replace("{package_name}", self.package_name)
            for part in self.contributions
            for path in part.files
        )

    @property
    def readme_fragments(self) -> tuple[str, ...]:
        return tuple(choice.readme for choice in self.choices if choice.readme)

    @property
    def env_vars(self) -> tuple[EnvVar, ...]:
        return tuple(
            EnvVar(
                name=f"{self.env_prefix}{group.name.upper()}__{field.name.upper()}",
                example=env_example(field),
                description=field.description,
                secret=field.secret,
            )
            for group in self.settings_groups
            for field in group.fields
        )

    @property
    def secret_fields(self) -> tuple[tuple[str, str], ...]:
        """(group, field) of every secret setting."""
        return tuple(
            (group.name, field.name)
            for group in self.settings_groups
            for field in group.fields
            if field.secret
        )

    @property
    def readiness_resources(self) -> tuple[Resource, ...]:
        return tuple(resource for resource in self.resources if resource.readiness)

    @property
    def counting_resources(self) -> tuple[Resource, ...]:
        return tuple(resource for resource in self.resources if resource.counters)

    @property
    def settings_imports(self) -> tuple[str, ...]:
        return _unique(
            line
            for group in self.settings_groups
            for field in group.fields
            for line in field.imports
        )

    def app_imports(self, *base: str) -> str:
        """``app.py``'s import block: the base lines plus every contribution's."""
        lines = list(base)
        for resource in self.resources:
            lines.append(f"from {resource.module} import {resource.opener}")
            lines.extend(f"from {module} import {name}" for module, name in resource.imports)
        lines.extend(
            f"from {router.module} import {router.name} as {router.alias}"
            for router in self.routers
        )
        lines.extend(
            f"from {middleware.module} import {middleware.name}" for middleware in self.middleware
        )
        return render_imports(lines)

    def settings_imports_block(self, *base: str) -> str:
        """``settings.py``'s import block: the base lines plus what field types need."""
        return render_imports([*base, *self.settings_imports])

    def resources_imports(self, *base: str) -> str:
        """``resources.py``'s import block: the base lines plus each resource's type."""
        lines = list(base)
        lines.extend(
            f"from {resource.type_module} import {resource.type_name}"
            for resource in self.resources
        )
        return render_imports(lines)

    @property
    def test_settings(self) -> tuple[tuple[str, str], ...]:
        """(env var without the prefix, value) under test; one value per variable."""
        merged: dict[str, str] = {}
        for part in self.contributions:
            for name, value in part.test_settings:
                if merged.setdefault(name, value) != value:
                    raise ValueError(f"test setting {name}: {merged[name]!r} or {value!r}?")
        return tuple(merged.items())

    def test_environment(self, tmp_path: str, run_id: str | None = None) -> dict[str, str]:
        """The test settings as prefixed env vars, ``{tmp_path}`` and ``{run_id}`` (a
        fresh token unless given) filled in."""
        fill = {"{tmp_path}": tmp_path, "{run_id}": run_id or uuid.uuid4().hex[:12]}
        environment = {}
        for name, value in self.test_settings:
            for placeholder, actual in fill.items():
                value = value.replace(placeholder, actual)
            environment[self.env_prefix + name] = value
        return environment

    @property
    def filterwarnings(self) -> tuple[str, ...]:
        return _unique(entry for part in self.contributions for entry in part.filterwarnings)


def assemble(
    selection: Selection, choices: tuple[Choice, ...], answers: Mapping[str, Any]
) -> Assembly:
    """Merge what ``choices`` contribute, with their conditional parts that apply."""
    package_name = str(answers.get("package_name", "service"))
    substitutions = {
        "{project_slug}": str(answers.get("project_slug", package_name.replace("_", "-"))),
        "{package_name}": package_name,
    }
    parts = tuple(part for choice in choices for part in choice.contributions(selection))
    return Assembly(
        selection=selection,
        choices=choices,
        contributions=parts,
        package_name=package_name,
        env_prefix=package_name.upper() + "_",
        dependencies=_sorted_requirements(dep for part in parts for dep in part.dependencies),
        dev_dependencies=_sorted_requirements(
            dep for part in parts for dep in part.dev_dependencies
        ),
        settings_groups=tuple(
            _substitute_group(group, substitutions) for part in parts for group in part.settings
        ),
        services=_unique(service for part in parts for service in part.services),
        resources=tuple(resource for part in parts for resource in part.resources),
        routers=tuple(router for part in parts for router in part.routers),
        middleware=tuple(
            sorted((m for part in parts for m in part.middleware), key=lambda m: m.order)
        ),
        migrations=tuple(migration for choice in choices for migration in choice.migrations),
    )


def _substitute_group(group: SettingsGroup, substitutions: Mapping[str, str]) -> SettingsGroup:
    def substitute(text: str) -> str:
        for placeholder, value in substitutions.items():
            text = text.replace(placeholder, value)
        return text

    return replace(
        group,
        fields=tuple(replace(field, default=substitute(field.default)) for field in group.fields),
    )


def env_example(field: Setting) -> str:
    """The value ``.env.example`` shows for a setting."""
    if field.example is not None:
        return field.example
    try:
        value = ast.literal_eval(field.default)
    except (ValueError, SyntaxError) as error:
        raise ValueError(
            f"setting {field.name!r}: default {field.default!r} is not a literal; "
            "give the Setting an explicit example"
        ) from error
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _sorted_requirements(requirements: Iterable[str]) -> tuple[str, ...]:
    by_name: dict[str, str] = {}
    for requirement in requirements:
        by_name.setdefault(f"{_requirement_name(requirement)} {requirement}", requirement)
    return tuple(by_name[key] for key in sorted(by_name))


def _unique(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(items))


# --- import blocks, sorted the way ruff's isort rules (and black) expect ---------


def render_imports(lines: Iterable[str]) -> str:
    """Merge ``import``/``from`` lines into one block ruff's ``I001`` accepts."""
    straight: dict[int, set[str]] = {}
    from_imports: dict[int, dict[str, set[str]]] = {}
    for line in lines:
        line = line.strip()
        if line.startswith("from "):
            module, names = line[5:].split(" import ", 1)
            section = _section(module)
            bucket = from_imports.setdefault(section, {}).setdefault(module, set())
            bucket.update(name.strip() for name in names.split(","))
        elif line.startswith("import "):
            module = line[7:].strip()
            straight.setdefault(_section(module), set()).add(module)
        else:
            raise ValueError(f"not an import: {line!r}")
    blocks = []
    for section in sorted(set(straight) | set(from_imports)):
        block = [
            f"import {module}" for module in sorted(straight.get(section, ()), key=_module_key)
        ]
        modules = from_imports.get(section, {})
        for module in sorted(modules, key=_module_key):
            block.append(_from_line(module, sorted(modules[module], key=_name_key)))
        blocks.append("\n".join(block))
    return "\n\n".join(blocks)


_FUTURE, _STDLIB, _THIRD_PARTY, _LOCAL = range(4)


def _section(module: str) -> int:
    if module == "__future__":
        return _FUTURE
    if module.startswith("."):
        return _LOCAL
    if module.split(".", 1)[0] in sys.stdlib_module_names:
        return _STDLIB
    return _THIRD_PARTY


def _module_key(module: str) -> tuple[int, str]:
    dots = len(module) - len(module.lstrip("."))
    # ruff's default relative-imports-order is furthest-to-closest.
    return (-dots, module.lstrip(".").lower())


def _name_key(name: str) -> tuple[int, str]:
    bare = name.split(" as ", 1)[0]
    if bare.isupper() and len(bare) > 1:
        kind = 0
    elif bare[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, name.lower())


def _from_line(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    body = "".join(f"    {name},\n" for name in names)
    return f"from {module} import (\n{body})"
