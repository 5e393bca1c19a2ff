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

import argparse
import json
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from . import AXES, PYTHON_VERSION, asked_only, problems, resolve, selection_from_answers
from .model import Axis, Choice, Selection, Service

Answers = dict[str, object]
Level = str | bool | None
Pair = tuple[tuple[str, Level], tuple[str, Level]]

PYTHON = PYTHON_VERSION.name
"""The answer :attr:`MatrixRow.python_version` reads."""

__all__ = [
    "CI_PASSWORD",
    "MAX_SHARD_ROWS",
    "NAMED",
    "PYTHON",
    "SERVICE_SLOTS",
    "MatrixRow",
    "Shard",
    "ci_url",
    "covering_array",
    "first_covered",
    "main",
    "matrix",
    "named_rows",
    "plan",
    "row_id",
    "row_servers",
    "server_env_var",
    "shards",
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


# --- shards: which CI job runs which rows, with which servers ------------------------

MAX_SHARD_ROWS = 4
"""At most this many rows per shard: each row installs, checks and boots a project."""

SERVICE_SLOTS = 6
"""Service containers a shard's job can start: the workflow declares this many slots,
each filled from the shard or left with an empty image (GitHub then starts nothing)."""

ROW_TESTS = ("tests/test_generated.py", "tests/test_harness.py")
"""The test files a shard runs, narrowed to its rows by :attr:`Shard.select`."""

SERVER_TEST = "test_backing_servers_answer"
"""The harness test parametrized by server name: a shard runs it for its own servers."""


CI_PASSWORD = "throwaway-ci-only"
"""What a service container's ``secrets`` variables are started with in the template's
CI; ``SLIPWAY_<NAME>_URL`` carries it as the password, so the harness hands it to the
project's settings. It guards a container that lives for one job."""


def server_env_var(name: str) -> str:
    """``SLIPWAY_<NAME>_URL``: where the template's tests find server ``name``."""
    return f"SLIPWAY_{name.upper().replace('-', '_')}_URL"


def row_servers(row: MatrixRow, axes: Sequence[Axis] = AXES) -> tuple[Service, ...]:
    """The backing servers the row's assembly declares (the core's and conditional
    contributions included), in the assembly's order."""
    return resolve(row.answers, tuple(axes)).services


def first_covered(rows: Sequence[MatrixRow], axes: Sequence[Axis] = AXES) -> list[list[Pair]]:
    """For each row, the pairs no earlier row holds: together, every valid pair once."""
    axes = tuple(axes)
    seen: set[Pair] = set()
    found: list[list[Pair]] = []
    for row in rows:
        held = _pairs(row.answers, axes)
        found.append(sorted(held - seen, key=repr))
        seen.update(held)
    return found


@dataclass(frozen=True)
class Shard:
    """Rows one CI job runs, and the servers (service containers) they need."""

    name: str
    rows: tuple[MatrixRow, ...]
    servers: tuple[Service, ...]

    @property
    def row_ids(self) -> tuple[str, ...]:
        return tuple(row.id for row in self.rows)

    @property
    def pythons(self) -> tuple[str, ...]:
        return tuple(sorted({row.python_version for row in self.rows}))

    @property
    def select(self) -> str:
        """A ``pytest -k`` expression for :data:`ROW_TESTS`: the rows' tests (their ids
        in brackets, so no row id matches inside another) and the server checks."""
        picked = [f"[{row_id}]" for row_id in self.row_ids]
        picked += [f"{SERVER_TEST}[{server.name}]" for server in self.servers]
        return " or ".join(picked)

    @property
    def env(self) -> dict[str, str]:
        """``SLIPWAY_<NAME>_URL`` for each server, at the service container's port, with
        :data:`CI_PASSWORD` when the container is started with it."""
        return {server_env_var(server.name): ci_url(server) for server in self.servers}

    def slots(self, count: int = SERVICE_SLOTS) -> list[dict[str, Any]]:
        """``count`` service containers for the workflow: the shard's, then blanks."""
        if len(self.servers) > count:
            raise ValueError(
                f"shard {self.name} needs {len(self.servers)} servers but the workflow has "
                f"{count} service slots: raise SERVICE_SLOTS and add slots to the workflow"
            )
        filled = [_container(server) for server in self.servers]
        blank = {"name": "", "image": "", "port": "", "env": {}, "options": ""}
        return filled + [dict(blank) for _ in range(count - len(filled))]

    def as_json(self) -> dict[str, Any]:
        """One ``strategy.matrix.include`` entry."""
        return {
            "name": self.name,
            "rows": list(self.row_ids),
            "select": self.select,
            "paths": " ".join(ROW_TESTS),
            "pythons": " ".join(self.pythons),
            "servers": [server.name for server in self.servers],
            "services": self.slots(),
            "env": self.env,
        }


def ci_url(server: Service) -> str:
    """Where a CI job reaches ``server``'s container: its URL at ``127.0.0.1``, with
    :data:`CI_PASSWORD` as the user's password when the server has ``secrets``."""
    url = server.url_at("127.0.0.1") or f"tcp://127.0.0.1:{server.port}"
    if not server.secrets:
        return url
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(CI_PASSWORD, safe='')}@{host}"))


def _container(server: Service) -> dict[str, Any]:
    options = ""
    if server.healthcheck:
        options = " ".join(
            (
                f"--health-cmd {shlex.quote(shlex.join(server.healthcheck))}",
                "--health-interval 5s",
                "--health-timeout 5s",
                "--health-retries 12",
            )
        )
    return {
        "name": server.name,
        "image": server.image,
        "port": f"{server.port}:{server.port}",
        "env": {
            **dict(server.environment),
            **{variable: CI_PASSWORD for variable, _ in server.secrets},
        },
        "options": options,
    }


def shards(
    rows: Sequence[MatrixRow] | None = None,
    axes: Sequence[Axis] = AXES,
    max_rows: int = MAX_SHARD_ROWS,
) -> list[Shard]:
    """Rows grouped by the set of servers they need, each group split into shards of at
    most ``max_rows`` rows (in matrix order); the groups without servers first."""
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    axes = tuple(axes)
    rows = matrix(axes) if rows is None else rows
    groups: dict[tuple[str, ...], tuple[list[MatrixRow], dict[str, Service]]] = {}
    for row in rows:
        needed = {server.name: server for server in row_servers(row, axes)}
        key = tuple(sorted(needed))
        members, servers = groups.setdefault(key, ([], {}))
        members.append(row)
        servers.update(needed)
    found: list[Shard] = []
    for key in sorted(groups, key=lambda names: (len(names), names)):
        members, servers = groups[key]
        label = "+".join(key) or "no-servers"
        chunks = [members[start : start + max_rows] for start in range(0, len(members), max_rows)]
        for index, chunk in enumerate(chunks, start=1):
            name = label if len(chunks) == 1 else f"{label}-{index}"
            ordered = tuple(servers[server] for server in key)
            found.append(Shard(name, tuple(chunk), ordered))
    return found


def plan(
    axes: Sequence[Axis] = AXES, max_rows: int = MAX_SHARD_ROWS, slots: int = SERVICE_SLOTS
) -> dict[str, Any]:
    """The shards as a workflow's ``strategy.matrix`` (``{"include": [...]}``)."""
    found = shards(axes=axes, max_rows=max_rows)
    return {"include": [{**shard.as_json(), "services": shard.slots(slots)} for shard in found]}


def _level(factor: str, level: Level) -> str:
    if level is None:
        return f"{factor}=(not asked)"
    if isinstance(level, bool):
        return f"{factor}={'in' if level else 'out'}"
    return f"{factor}={level}"


def report(axes: Sequence[Axis] = AXES, max_rows: int = MAX_SHARD_ROWS) -> str:
    """The matrix as text: each row's answers, first-covered pairs, servers and shard."""
    axes = tuple(axes)
    rows = matrix(axes)
    found = shards(rows, axes, max_rows)
    shard_of = {row.id: shard.name for shard in found for row in shard.rows}
    covered = first_covered(rows, axes)
    lines = [f"{len(rows)} rows in {len(found)} shards (at most {max_rows} rows each)", ""]
    for number, (row, pairs) in enumerate(zip(rows, covered, strict=True), start=1):
        servers = row_servers(row, axes)
        lines.append(f"row {number}: {row.id}")
        lines.append(f"  names:   {', '.join(row.names) or 'pairwise'}")
        answers = ", ".join(f"{key}={value}" for key, value in row.answers.items())
        lines.append(f"  answers: {answers}")
        lines.append(
            "  servers: "
            + (", ".join(f"{server.name} ({server.image})" for server in servers) or "none")
        )
        lines.append(f"  shard:   {shard_of[row.id]}")
        lines.append(f"  covers first ({len(pairs)} pairs):")
        lines.extend(f"    {_level(*left)} x {_level(*right)}" for left, right in pairs)
        lines.append("")
    lines.append("shards:")
    for shard in found:
        needed = ", ".join(server.name for server in shard.servers) or "none"
        lines.append(f"  {shard.name}: {len(shard.rows)} rows; servers: {needed}")
        lines.extend(f"    {row_id}" for row_id in shard.row_ids)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None, axes: Sequence[Axis] = AXES) -> int:
    """``python scripts/matrix.py [--json] [--max-rows N]``."""
    parser = argparse.ArgumentParser(
        prog="matrix",
        description="Print the tested combinations, the pairs each covers first, the "
        "backing servers each needs and the CI shard that runs it.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print the shards as a workflow\'s strategy.matrix ({"include": [...]})',
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=MAX_SHARD_ROWS,
        help=f"at most this many rows per shard (default {MAX_SHARD_ROWS})",
    )
    options = parser.parse_args(argv)
    if options.max_rows < 1:
        parser.error("--max-rows must be at least 1")
    if options.json:
        sys.stdout.write(json.dumps(plan(axes, options.max_rows), separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(report(axes, options.max_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
