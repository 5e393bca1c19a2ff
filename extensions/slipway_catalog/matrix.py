"""The combinations Slipway tests, computed from the catalog.

A few named deep combinations come first (:data:`NAMED`). Then pairwise rows: among
every combination the catalog accepts, the one holding the most pairs not yet covered,
until every valid pair of levels is in at least one row. Add a choice to the catalog
and the matrix grows by itself.

Levels: a single-select axis's levels are its values; each choice of a multiselect
axis is in or out (``True``/``False``); an axis asked only under conditions
(``Axis.when``) has one more level, not asked (``None``), so its choices pair with
the rest only in rows that ask it. A pair is valid when an accepted combination holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from . import AXES, PYTHON_VERSION, asked_only, problems, selection_from_answers
from .model import Axis, Choice, Selection

Answers = dict[str, object]
Level = str | bool | None
Pair = tuple[tuple[str, Level], tuple[str, Level]]

PYTHON = PYTHON_VERSION.name
"""The answer :attr:`MatrixRow.python_version` reads."""

__all__ = [
    "NAMED",
    "PYTHON",
    "MatrixRow",
    "covering_array",
    "matrix",
    "named_rows",
    "row_id",
    "uncovered_pairs",
]


# --- levels, pairs and the combinations the catalog accepts ---------------------------


def _levels(answers: Mapping[str, object], axes: tuple[Axis, ...]) -> dict[str, Level]:
    """Each factor's level in what ``answers`` render (unanswered axes at their default)."""
    picks = asked_only(selection_from_answers(answers, axes), axes).picks
    levels: dict[str, Level] = {}
    for axis in axes:
        chosen = picks.get(axis.name)
        if axis.multiple:
            for choice in axis.choices:
                in_or_out = None if chosen is None else choice.value in chosen
                levels[f"{axis.name}:{choice.value}"] = in_or_out
        else:
            levels[axis.name] = None if chosen is None else chosen[0]
    return levels


def _pairs(answers: Mapping[str, object], axes: tuple[Axis, ...]) -> frozenset[Pair]:
    return frozenset(combinations(_levels(answers, axes).items(), 2))


def _answers(axis: Axis) -> list[object]:
    """The axis's possible answers, its default first (``None``: not asked)."""
    if axis.multiple:
        subsets = [
            list(subset)
            for size in range(len(axis.values) + 1)
            for subset in combinations(axis.values, size)
        ]
        subsets.sort(key=lambda subset: set(subset) != set(axis.default))
        found: list[object] = [*subsets]
    else:
        found = sorted(axis.values, key=lambda value: value != axis.default[0])
    return [*found, None] if axis.when else found


def _accepted(answers: Answers, axes: tuple[Axis, ...]) -> bool:
    """Every axis of ``axes`` answered exactly when it is asked, and no rule broken."""
    normalised = selection_from_answers(answers, axes).picks
    selection = Selection({name: normalised[name] for name in answers})
    asked = all((axis.name in answers) == axis.asked(selection) for axis in axes)
    return asked and not problems(selection, axes)


def _accepted_combinations(axes: tuple[Axis, ...]) -> list[Answers]:
    """Every combination the catalog accepts, as Copier answers, the defaults first.

    Built axis by axis, dropping a partial row as soon as it breaks a rule (an axis's
    ``when`` names only axes before it, so whether it is asked is known by then).
    """
    rows: list[Answers] = [{}]
    for index, axis in enumerate(axes):
        grown = [
            row if answer is None else {**row, axis.name: answer}
            for row in rows
            for answer in _answers(axis)
        ]
        rows = [row for row in grown if _accepted(row, axes[: index + 1])]
    return rows


def _candidates(axes: tuple[Axis, ...]) -> list[tuple[Answers, frozenset[Pair]]]:
    """Each accepted combination with the pairs it holds."""
    return [(row, _pairs(row, axes)) for row in _accepted_combinations(axes)]


# --- the covering array -------------------------------------------------------------


def covering_array(
    axes: Sequence[Axis] = AXES, seeds: Iterable[Mapping[str, object]] = ()
) -> list[Answers]:
    """Copier answers such that, with ``seeds``, every valid pair is in at least one row.

    ``seeds`` are rows tested anyway (the named ones). Greedy: each row is the accepted
    combination holding the most pairs still uncovered, the nearest the defaults among
    equals, so the same catalog always gives the same rows.
    """
    axes = tuple(axes)
    candidates = _candidates(axes)
    uncovered: set[Pair] = set().union(*(held for _, held in candidates))
    for seed in seeds:
        uncovered.difference_update(_pairs(seed, axes))
    rows: list[Answers] = []
    while uncovered:
        row, held = max(candidates, key=lambda candidate: len(candidate[1] & uncovered))
        rows.append(row)
        uncovered.difference_update(held)
    return rows


def uncovered_pairs(rows: Iterable[Mapping[str, object]], axes: Sequence[Axis] = AXES) -> set[Pair]:
    """Valid pairs of levels none of ``rows`` holds (empty when the rows cover all)."""
    axes = tuple(axes)
    uncovered: set[Pair] = set().union(*(held for _, held in _candidates(axes)))
    for row in rows:
        uncovered.difference_update(_pairs(row, axes))
    return uncovered


# --- named combinations ------------------------------------------------------------


def _weight(choice: Choice) -> int:
    """How much a choice adds to the service: the lightest makes the minimal row."""
    return sum(
        len(contribution)
        for contribution in (
            choice.dependencies,
            choice.settings,
            choice.services,
            choice.resources,
            choice.routers,
            choice.middleware,
            choice.migrations,
        )
    )


def _defaults(axes: Sequence[Axis]) -> Answers:
    return {axis.name: list(axis.default) if axis.multiple else axis.default[0] for axis in axes}


def _repaired(answers: Answers, axes: tuple[Axis, ...]) -> Answers:
    """Axis by axis back to the defaults until the catalog accepts the row; the answers
    of the axes it then asks."""
    repaired = dict(answers)
    defaults = _defaults(axes)
    for axis in axes:
        if not problems(selection_from_answers(repaired, axes), axes):
            break
        repaired[axis.name] = defaults[axis.name]
    selection = asked_only(selection_from_answers(repaired, axes), axes)
    if found := problems(selection, axes):
        raise ValueError(f"no named row can be built: {'; '.join(found)}")
    return {name: answer for name, answer in repaired.items() if name in selection.picks}


def named_rows(axes: Sequence[Axis] = AXES) -> dict[str, Answers]:
    """Every default; every choice that needs a server; the lightest choice of each axis
    (the first listed among equals) and no multiselect choice."""
    axes = tuple(axes)
    all_servers: Answers = {}
    minimal: Answers = {}
    for axis in axes:
        with_server = [choice.value for choice in axis.choices if choice.services]
        if axis.multiple:
            all_servers[axis.name] = with_server or list(axis.default)
            minimal[axis.name] = []
        else:
            all_servers[axis.name] = with_server[0] if with_server else axis.default[0]
            minimal[axis.name] = min(axis.choices, key=_weight).value
    return {
        "default": _repaired(_defaults(axes), axes),
        "all-servers": _repaired(all_servers, axes),
        "minimal": _repaired(minimal, axes),
    }


NAMED: dict[str, Answers] = named_rows()
"""The deep combinations always tested: the default, all-servers and minimal."""


# --- the matrix ---------------------------------------------------------------------


def row_id(answers: Mapping[str, object], axes: Sequence[Axis] = AXES) -> str:
    """A short stable id: ``py312-sqlite-memory-inprocess-jwt-prometheus-compose-github``.

    A part per axis asked, in catalog order: its value, a version read as the first two
    letters of the axis and its digits (``py312``), a multiselect's values joined by ``+``
    (``no<axis>`` for none).
    """
    axes = tuple(axes)
    picks = asked_only(selection_from_answers(answers, axes), axes).picks
    parts = []
    for axis in axes:
        values = picks.get(axis.name)
        if values is None:
            continue
        if axis.multiple:
            parts.append("+".join(values) or f"no{axis.name}")
        elif values[0][:1].isdigit():
            parts.append(axis.name[:2] + values[0].replace(".", ""))
        else:
            parts.append(values[0])
    return "-".join(parts)


@dataclass(frozen=True)
class MatrixRow:
    """One tested combination: Copier answers plus a stable id."""

    id: str
    answers: Answers = field(hash=False)
    """The answers of the axes the row asks (an unasked axis has none)."""
    names: tuple[str, ...] = ()
    """The named combinations this row is (``default``...); empty for pairwise rows."""

    @property
    def data(self) -> dict[str, Any]:
        """The answers as Copier's ``data`` (a fresh copy each time it is read)."""
        return {
            key: list(value) if isinstance(value, list) else value
            for key, value in self.answers.items()
        }

    @property
    def python_version(self) -> str:
        return str(self.answers[PYTHON])

    @property
    def label(self) -> str:
        return f"{'+'.join(self.names)}:{self.id}" if self.names else self.id


def matrix(axes: Sequence[Axis] = AXES) -> list[MatrixRow]:
    """The named rows, then the pairwise rows that cover what they leave out."""
    named = named_rows(axes)
    rows: dict[str, MatrixRow] = {}
    for name, answers in named.items():
        key = row_id(answers, axes)
        previous = rows.get(key)
        names = (*previous.names, name) if previous else (name,)
        rows[key] = MatrixRow(key, dict(answers), names)
    for answers in covering_array(axes, seeds=named.values()):
        key = row_id(answers, axes)
        rows.setdefault(key, MatrixRow(key, answers))
    return list(rows.values())
