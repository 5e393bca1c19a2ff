"""The matrix command: each row's answers, the pairs it covers first, the servers it
needs and the CI shard that runs it; ``--json`` for the template workflow's matrix.

``uv run python scripts/matrix.py [--json] [--max-rows N]``; the shards come from
the catalog (rows grouped by the servers their assemblies declare), so a choice that
needs a new server gets its own shard and service containers without a workflow edit.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from _pytest.mark.expression import Expression

import slipway_catalog as catalog
from conftest import MATRIX, TEMPLATE_ROOT, server_env_var
from slipway_catalog.matrix import (
    MAX_SHARD_ROWS,
    ROW_TESTS,
    SERVICE_SLOTS,
    MatrixRow,
    Shard,
    first_covered,
    matrix,
    plan,
    row_servers,
    shards,
    uncovered_pairs,
)
from slipway_catalog.matrix import server_env_var as catalog_server_env_var
from slipway_catalog.model import Axis, Service

COMMAND = TEMPLATE_ROOT / "scripts" / "matrix.py"

VALKEY = Service(
    name="valkey",
    image="valkey/valkey:8.1-alpine",
    port=6379,
    healthcheck=("valkey-cli", "ping"),
    url="valkey://{host}:{port}/0",
    url_env="CACHE__URL",
)
POSTGRES = Service(
    name="postgres",
    image="postgres:17-alpine",
    port=5432,
    environment=(("POSTGRES_PASSWORD", "postgres"),),
    healthcheck=("pg_isready", "-U", "postgres"),
    url="postgresql+asyncpg://postgres:postgres@{host}:{port}/app",
    url_env="DATABASE__URL",
)


def run_command(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(COMMAND), *args],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def with_server_choice(axis_name: str, value: str, service: Service) -> tuple[Axis, ...]:
    """The catalog plus one choice on ``axis_name`` that needs ``service``."""
    axes = []
    for axis in catalog.AXES:
        if axis.name == axis_name:
            base = axis.choice(axis.default[0])
            added = dataclasses.replace(base, value=value, label=value, services=(service,))
            axis = dataclasses.replace(axis, choices=(*axis.choices, added))
        axes.append(axis)
    return tuple(axes)


def selected(shard: Shard, rows: list[MatrixRow]) -> set[str]:
    """The row ids whose tests the shard's ``-k`` picks among ``rows``."""
    expression = Expression.compile(shard.select)
    picked = set()
    for row in rows:
        name = f"test_ruff_check[{row.id}]".lower()

        def matches(word: str, /, **kwargs: object) -> bool:
            return word.lower() in name  # noqa: B023  # called before the loop moves on

        if expression.evaluate(matches):
            picked.add(row.id)
    return picked


# --- shards ------------------------------------------------------------------------


def test_every_row_is_in_exactly_one_shard() -> None:
    found = shards()
    counts = Counter(row.id for shard in found for row in shard.rows)
    assert counts == Counter(row.id for row in MATRIX)
    assert all(1 <= len(shard.rows) <= MAX_SHARD_ROWS for shard in found)
    assert len({shard.name for shard in found}) == len(found)


@pytest.mark.parametrize("max_rows", [1, 2, 100])
def test_no_shard_exceeds_the_row_limit(max_rows: int) -> None:
    found = shards(max_rows=max_rows)
    assert all(len(shard.rows) <= max_rows for shard in found)
    assert sorted(row.id for shard in found for row in shard.rows) == sorted(
        row.id for row in MATRIX
    )


def test_a_shards_servers_are_the_union_its_rows_need() -> None:
    axes = with_server_choice("cache", "valkey", VALKEY)
    for shard in shards(axes=axes, max_rows=2):
        needed = {server.name for row in shard.rows for server in row_servers(row, axes)}
        assert {server.name for server in shard.servers} == needed
        # grouped by the servers: every row of a shard needs all of them
        for row in shard.rows:
            assert {server.name for server in row_servers(row, axes)} == needed


def test_a_shards_selection_picks_exactly_its_rows() -> None:
    for shard in shards(max_rows=2):
        assert selected(shard, MATRIX) == set(shard.row_ids)


def test_the_pairs_each_row_covers_first_are_every_valid_pair_once() -> None:
    covered = first_covered(MATRIX)
    flat = [pair for pairs in covered for pair in pairs]
    assert len(flat) == len(set(flat))
    assert set(flat) == uncovered_pairs([])


# --- the synthetic catalog ---------------------------------------------------------


def test_a_server_backed_choice_grows_the_shards_without_a_code_change() -> None:
    axes = with_server_choice("cache", "valkey", VALKEY)
    before, after = plan(), plan(axes)
    assert all(not entry["servers"] for entry in before["include"])
    with_valkey = [entry for entry in after["include"] if entry["servers"] == ["valkey"]]
    assert with_valkey, after
    rows = {row.id: row for row in matrix(axes)}
    for entry in with_valkey:
        assert entry["name"].startswith("valkey")
        assert all(rows[row_id].answers["cache"] == "valkey" for row_id in entry["rows"])
        slot, *blanks = entry["services"]
        assert slot == {
            "name": "valkey",
            "image": VALKEY.image,
            "port": "6379:6379",
            "env": {},
            "options": "--health-cmd 'valkey-cli ping' --health-interval 5s "
            "--health-timeout 5s --health-retries 12",
        }
        assert all(blank["image"] == "" for blank in blanks)
        assert entry["env"] == {"SLIPWAY_VALKEY_URL": "valkey://127.0.0.1:6379/0"}
        assert "test_backing_servers_answer[valkey]" in entry["select"]
    assert sum(len(entry["rows"]) for entry in after["include"]) == len(rows)


def test_two_servers_fill_two_slots_with_their_environment() -> None:
    axes = with_server_choice("database", "postgres", POSTGRES)
    axes = tuple(
        (
            dataclasses.replace(
                axis,
                choices=(
                    *axis.choices,
                    dataclasses.replace(
                        axis.choice(axis.default[0]),
                        value="valkey",
                        label="valkey",
                        services=(VALKEY,),
                    ),
                ),
            )
            if axis.name == "cache"
            else axis
        )
        for axis in axes
    )
    both = [
        entry for entry in plan(axes)["include"] if set(entry["servers"]) == {"postgres", "valkey"}
    ]
    assert both
    services = {slot["name"]: slot for slot in both[0]["services"] if slot["image"]}
    assert services["postgres"]["env"] == {"POSTGRES_PASSWORD": "postgres"}
    assert services["postgres"]["port"] == "5432:5432"
    assert both[0]["env"]["SLIPWAY_POSTGRES_URL"] == POSTGRES.url_at("127.0.0.1")


def test_a_shard_needing_more_servers_than_slots_says_what_to_do() -> None:
    servers = tuple(
        dataclasses.replace(VALKEY, name=f"s{index}") for index in range(SERVICE_SLOTS + 1)
    )
    shard = Shard("too-many", (MATRIX[0],), servers)
    with pytest.raises(ValueError, match="SERVICE_SLOTS"):
        shard.slots()


# --- the command -------------------------------------------------------------------


def test_the_json_is_what_the_workflow_consumes() -> None:
    printed: dict[str, Any] = json.loads(run_command("--json"))
    assert printed == plan()
    assert set(printed) == {"include"}
    for entry in printed["include"]:
        assert set(entry) == {
            "name",
            "rows",
            "select",
            "paths",
            "pythons",
            "servers",
            "services",
            "env",
        }
        assert entry["paths"].split() == list(ROW_TESTS)
        rows = [row for row in MATRIX if row.id in entry["rows"]]
        assert entry["pythons"].split() == sorted({row.python_version for row in rows})
        assert len(entry["services"]) == SERVICE_SLOTS
        for slot in entry["services"]:
            assert set(slot) == {"name", "image", "port", "env", "options"}
            assert isinstance(slot["env"], dict)
            assert all(isinstance(slot[key], str) for key in ("name", "image", "port", "options"))
        assert all(key == server_env_var(key[8:-4].lower()) for key in entry["env"])


def test_max_rows_is_an_option() -> None:
    printed = json.loads(run_command("--json", "--max-rows", "1"))
    assert [entry["rows"] for entry in printed["include"]] == [[row.id] for row in MATRIX]


def test_the_report_names_each_row_its_answers_servers_and_shard() -> None:
    printed = run_command()
    found = shards()
    for shard in found:
        for row in shard.rows:
            block = printed.split(f": {row.id}\n", 1)[1].split("\n\n", 1)[0]
            assert f"shard:   {shard.name}" in block
            servers = ", ".join(f"{each.name} ({each.image})" for each in row_servers(row))
            assert f"servers: {servers or 'none'}" in block
            for key in row.answers:
                assert f"{key}=" in block
            assert "covers first" in block
    assert f"{len(MATRIX)} rows in {len(found)} shards" in printed


def test_the_env_var_names_agree_with_the_harness() -> None:
    for name in ("postgres", "amqp", "my-server"):
        assert catalog_server_env_var(name) == server_env_var(name)
