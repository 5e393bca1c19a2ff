"""The slice catalog: every choice Slipway offers and what it contributes.

``AXES`` is the single source of truth. Copier's questions, validators and choice
lists, every shared file of the generated service, the docs' slice reference and the
test matrix are all derived from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .assembly import Assembly, assemble
from .axes.auth import AUTH
from .axes.cache import CACHE
from .axes.ci import CI
from .axes.core import CORE
from .axes.database import DATABASE
from .axes.deployment import DEPLOYMENT
from .axes.observability import OBSERVABILITY
from .axes.python import PYTHON_VERSION
from .axes.queue import QUEUE
from .model import Axis, Choice, Selection
from .rules import choice_conflicts, value_problems

AXES: tuple[Axis, ...] = (
    PYTHON_VERSION,
    DATABASE,
    CACHE,
    QUEUE,
    AUTH,
    OBSERVABILITY,
    DEPLOYMENT,
    CI,
)
"""In the order Copier asks them: an axis's ``when`` names axes before it."""

__all__ = [
    "AXES",
    "CORE",
    "PYTHON_VERSION",
    "Assembly",
    "Axis",
    "Choice",
    "Selection",
    "asked_only",
    "assemble",
    "axis",
    "choice_conflicts",
    "problems",
    "resolve",
    "selection_from_answers",
    "value_problems",
]


def axis(name: str) -> Axis:
    for candidate in AXES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no axis named {name!r}")


def selection_from_answers(answers: Mapping[str, Any], axes: tuple[Axis, ...] = AXES) -> Selection:
    """Read each axis's answer, falling back to its default when unanswered."""
    picks: dict[str, tuple[str, ...]] = {}
    for current in axes:
        answer = answers.get(
            current.name, current.default if current.multiple else current.default[0]
        )
        if isinstance(answer, str):
            picks[current.name] = (answer,)
        else:
            picks[current.name] = tuple(answer)
    return Selection(picks)


def problems(selection: Selection, axes: tuple[Axis, ...] = AXES) -> list[str]:
    """Every reason the selection cannot be generated, each naming its fix."""
    selection = asked_only(selection, axes)
    answers = {name: list(values) for name, values in selection.picks.items()}
    found: list[str] = []
    for current in axes:
        if current.name not in selection.picks:
            continue  # not asked
        values = selection.picks.get(current.name, ())
        answer = (
            list(values) if current.multiple else (values[0] if len(values) == 1 else list(values))
        )
        found.extend(value_problems(current, answer, answers, axes))
    return found


def resolve(answers: Mapping[str, Any], axes: tuple[Axis, ...] = AXES) -> Assembly:
    """The merged contributions of the answered choices (plus the core)."""
    selection = asked_only(selection_from_answers(answers, axes), axes)
    if found := problems(selection, axes):
        raise ValueError("; ".join(found))
    chosen = [CORE]
    for current in axes:
        chosen.extend(current.choice(value) for value in selection.picks.get(current.name, ()))
    return assemble(selection, tuple(chosen), answers)


def asked_only(selection: Selection, axes: tuple[Axis, ...] = AXES) -> Selection:
    """Drop the picks of axes whose question is not asked (their ``when`` fails).

    Copier still hands an unasked question's default to the templates; it must not
    contribute anything. Conditions may chain, so this runs until nothing changes.
    """
    picks = dict(selection.picks)
    while True:
        current = Selection(picks)
        unasked = [axis.name for axis in axes if axis.name in picks and not axis.asked(current)]
        if not unasked:
            return current
        for name in unasked:
            del picks[name]
