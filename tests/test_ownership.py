"""The catalog says which files each choice owns; the template's file names agree.

Copier renders a choice's files through conditions in their names
(``{% if cache == 'memory' %}memory_cache.py{% endif %}``). This is the one place that
reads those names: everything else (docs, the contract checks, a new choice's review)
reads ``Choice.files`` and ``Choice.migrations`` from the catalog.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

import slipway_catalog as catalog
from conftest import TEMPLATE_ROOT, RenderedProject

TEMPLATE = TEMPLATE_ROOT / "template"
CONDITION = re.compile(
    r"\{%-?\s*if\s+(?:(?P<axis>\w+)\s*(?P<test>==|!=)\s*'(?P<value>[\w-]+)'"
    r"|'(?P<member>[\w-]+)'\s+in\s+(?P<multi>\w+))\s*-?%\}"
)
"""``axis == 'value'``, ``'value' in axis`` (a multiselect), or ``axis != 'value'``: a
file every other choice of the axis shares (``database != 'none'``: the SQL half)."""
TAG = re.compile(r"\{%-?.*?-?%\}")


def owner_conditions() -> dict[tuple[str, str], set[str]]:
    """(axis, value) -> the rendered paths whose template name carries that condition."""
    owned: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in TEMPLATE.rglob("*"):
        relative = path.relative_to(TEMPLATE).as_posix()
        if not path.is_file() or "__pycache__" in relative or "{%" not in relative:
            continue
        conditions = list(CONDITION.finditer(relative))
        assert conditions, f"{relative}: a condition this test cannot read; use `axis == 'value'`"
        rendered = TAG.sub("", relative).replace("{{package_name}}", "{package_name}")
        # The innermost condition owns the file (a folder's condition only encloses it).
        for owner in owners(conditions[-1]):
            owned[owner].add(rendered.removesuffix(".jinja"))
    return owned


def owners(condition: re.Match[str]) -> list[tuple[str, str]]:
    if condition["multi"]:
        return [(condition["multi"], condition["member"])]
    axis, value = condition["axis"], condition["value"]
    if condition["test"] == "==":
        return [(axis, value)]
    others = next(each for each in catalog.AXES if each.name == axis).values
    return [(axis, other) for other in others if other != value]


def declared() -> dict[tuple[str, str], set[str]]:
    files: dict[tuple[str, str], set[str]] = {}
    for axis in catalog.AXES:
        for choice in axis.choices:
            migrations = {f"migrations/versions/{name}" for name in choice.migrations}
            files[(axis.name, choice.value)] = {*choice.files, *migrations}
    return files


def test_every_conditional_file_belongs_to_the_choice_that_declares_it() -> None:
    found, listed = owner_conditions(), declared()
    unknown = set(found) - set(listed)
    assert not unknown, f"conditions on choices the catalog lacks: {unknown}"
    for owner, paths in listed.items():
        assert found.get(owner, set()) == paths, (
            f"{owner[0]}={owner[1]}: the catalog lists {sorted(paths)}, "
            f"the template renders {sorted(found.get(owner, set()))}"
        )


def test_the_core_owns_no_conditional_file() -> None:
    assert not catalog.CORE.files


@pytest.mark.copier
def test_a_rendered_project_has_exactly_its_choices_files(default_project: RenderedProject) -> None:
    expected = set(default_project.assembly.files)
    every_owned = {
        path.replace("{package_name}", default_project.package_name)
        for paths in declared().values()
        for path in paths
        if not path.startswith("migrations/versions/")
    }
    present = {path for path in every_owned if (default_project.path / path).is_file()}
    assert present == expected, f"extra: {present - expected}, missing: {expected - present}"
    assert all(isinstance(path, str) and not Path(path).is_absolute() for path in expected)
