"""Every choice keeps its axis's contract, so callers never ask which choice it is.

An axis's ``Contract`` names the slot files every choice renders (and the names each
must define) and the lifespan resource every choice opens with the port it is handed
out as. Each choice is rendered (in a row where the catalog accepts it) and checked.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

import slipway_catalog as catalog
from conftest import DEFAULT_ROW, RenderedProject
from slipway_catalog.matrix import MatrixRow
from slipway_catalog.model import Axis, Choice

pytestmark = pytest.mark.copier

CONTRACTED = [
    (axis, choice)
    for axis in catalog.AXES
    if axis.contract.slots or axis.contract.resource
    for choice in axis.choices
]


def row_with(axis: Axis, choice: Choice) -> dict[str, object]:
    """The default row with ``choice`` picked: what a team picking it would render."""
    answers = dict(DEFAULT_ROW.data)
    answers[axis.name] = [choice.value] if axis.multiple else choice.value
    for other in catalog.AXES:  # where a default rules the choice out, Copier offers...
        picked = other.choice(str(answers[other.name])) if not other.multiple else None
        if other is axis or picked is None:
            continue
        if catalog.choice_conflicts(other, picked, answers, catalog.AXES):
            answers[other.name] = next(  # ...the first choice the answers allow
                each.value
                for each in other.choices
                if not catalog.choice_conflicts(other, each, answers, catalog.AXES)
            )
    assert not catalog.problems(catalog.selection_from_answers(answers)), answers
    return answers


def defined_names(source: str) -> set[str]:
    """Top-level names a module defines: assignments, functions, classes, imports."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("axis", "choice"), CONTRACTED, ids=[f"{a.name}={c.value}" for a, c in CONTRACTED]
)
def test_every_choice_renders_its_axis_slots(
    axis: Axis,
    choice: Choice,
    rendered: Callable[[MatrixRow | Mapping[str, object]], RenderedProject],
) -> None:
    project = rendered(row_with(axis, choice))
    for slot in axis.contract.slots:
        path: Path = project.path / slot.path.format(package_name=project.package_name)
        if choice.value in slot.exempt:
            assert not path.exists(), f"{axis.name}={choice.value} is exempt from {slot.path}"
            continue
        assert path.is_file(), f"{axis.name}={choice.value} does not render {slot.path}"
        missing = set(slot.exports) - defined_names(path.read_text(encoding="utf-8"))
        assert not missing, f"{axis.name}={choice.value}: {slot.path} lacks {sorted(missing)}"


WITH_RESOURCE = [
    (axis, choice)
    for axis, choice in CONTRACTED
    if axis.contract.resource and choice.value not in axis.contract.exempt
]


@pytest.mark.parametrize(
    ("axis", "choice"), WITH_RESOURCE, ids=[f"{a.name}={c.value}" for a, c in WITH_RESOURCE]
)
def test_every_choice_opens_its_axis_resource_as_the_port(axis: Axis, choice: Choice) -> None:
    contract = axis.contract
    opened = [resource for resource in choice.resources if resource.name == contract.resource]
    assert len(opened) == 1, f"{axis.name}={choice.value} must open `{contract.resource}` once"
    resource = opened[0]
    handed_out = f"{resource.type_module}:{resource.type_name}"
    assert handed_out == contract.port, f"{axis.name}={choice.value} hands out {handed_out}"


def test_a_choice_missing_a_slot_name_is_caught() -> None:
    source = "from x import CurrentPrincipal\n\nAUTH_RESPONSES: dict[int, str] = {}\n"
    assert {"CurrentPrincipal", "AUTH_RESPONSES"} <= defined_names(source)
    assert "new_caller" not in defined_names(source)


def test_an_exempt_choice_opens_none_of_its_axis_resource() -> None:
    exempt = [
        (axis, choice)
        for axis in catalog.AXES
        for choice in axis.choices
        if choice.value in axis.contract.exempt
    ]
    for axis, choice in exempt:
        opened = {resource.name for resource in choice.resources}
        assert axis.contract.resource not in opened, f"{axis.name}={choice.value}"
