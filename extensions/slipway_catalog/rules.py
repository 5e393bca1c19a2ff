"""Which choices may be picked together, phrased for Copier's prompts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Axis, Choice


def _answered_values(axis: Axis, answered: Mapping[str, Any]) -> tuple[str, ...]:
    answer = answered.get(axis.name)
    if answer is None:
        return ()
    if isinstance(answer, str):
        return (answer,)
    return tuple(answer)


def choice_conflicts(
    axis: Axis, choice: Choice, answered: Mapping[str, Any], axes: Sequence[Axis]
) -> list[str]:
    """Why ``choice`` cannot join the answers given so far (empty when it can)."""
    others = {
        other.name: _answered_values(other, answered) for other in axes if other.name != axis.name
    }
    found = []
    for other_axis, other_value in choice.requires:
        values = others.get(other_axis, ())
        if values and other_value not in values:
            found.append(
                f"{axis.name}={choice.value} needs {other_axis}={other_value}; "
                f"answer {other_axis}={other_value} or pick another {axis.name}"
            )
    for other_axis, other_value in choice.excludes:
        if other_value in others.get(other_axis, ()):
            found.append(
                f"{axis.name}={choice.value} does not work with {other_axis}={other_value}; "
                f"pick another {axis.name} or {other_axis}"
            )
    for other in axes:
        for value in others.get(other.name, ()):
            if value not in other.values:
                continue
            picked = other.choice(value)
            for required_axis, required_value in picked.requires:
                if (
                    required_axis == axis.name
                    and required_value != choice.value
                    and not axis.multiple
                ):
                    found.append(
                        f"{other.name}={value} needs {axis.name}={required_value}; "
                        f"pick {axis.name}={required_value} or another {other.name}"
                    )
            if (axis.name, choice.value) in picked.excludes:
                found.append(
                    f"{other.name}={value} does not work with {axis.name}={choice.value}; "
                    f"pick another {axis.name} or {other.name}"
                )
    return found


def value_problems(
    axis: Axis, answer: Any, answered: Mapping[str, Any], axes: Sequence[Axis]
) -> list[str]:
    """Problems with one answer to ``axis``, each naming its fix."""
    values = _answered_values(axis, {axis.name: answer})
    if not axis.multiple and len(values) != 1:
        return [f"{axis.name}: pick exactly one of {', '.join(axis.values)}"]
    found = []
    for value in values:
        if value not in axis.values:
            found.append(
                f"{axis.name}={value!r} is not offered; pick one of: {', '.join(axis.values)}"
            )
        else:
            found.extend(choice_conflicts(axis, axis.choice(value), answered, axes))
    return found
