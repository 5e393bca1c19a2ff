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
from urllib.parse import unquote, urlsplit

import pytest
from _pytest.mark.expression import Expression

import slipway_catalog as catalog
from conftest import MATRIX, TEMPLATE_ROOT, container_start_problems, server_env_var
from slipway_catalog.matrix import (
    CI_PASSWORD,
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


def test_shards_carry_exactly_the_service_containers_their_rows_need() -> None:
    entries = {entry["name"]: entry for entry in plan()["include"]}
    rows = {row.id: row for row in MATRIX}
    for shard in shards():
        entry = entries[shard.name]
        needed = {server.name: server for row in shard.rows for server in row_servers(row)}
        for row in shard.rows:
            assert {server.name for server in row_servers(row)} == set(needed), row.id
        filled = [slot for slot in entry["services"] if slot["image"]]
        assert [slot["name"] for slot in filled] == sorted(needed)
        assert [slot["image"] for slot in filled] == [needed[name].image for name in sorted(needed)]
        assert set(entry["env"]) == {server_env_var(name) for name in needed}
        assert all(rows[row_id] in shard.rows for row_id in entry["rows"])
    needed_anywhere = {server.name for row in MATRIX for server in row_servers(row)}
    assert {"postgres", "mariadb"} <= needed_anywhere


def test_database_containers_start_with_the_password_their_url_carries() -> None:
    """A shard's postgres or mariadb gets what its image needs to initialise, and the
    URL the harness gets has the user it creates and the password it was given."""
    servers = {server.name: server for row in MATRIX for server in row_servers(row)}
    checked = set()
    for entry in plan()["include"]:
        for slot in entry["services"]:
            if not slot["image"]:
                continue
            url = entry["env"][server_env_var(slot["name"])]
            assert not container_start_problems(slot["image"], slot["env"], url)
            for variable, _setting in servers[slot["name"]].secrets:
                assert slot["env"][variable] == CI_PASSWORD
                assert unquote(urlsplit(url).password or "") == CI_PASSWORD
                checked.add(slot["name"])
    assert {"postgres", "mariadb"} <= checked


def test_every_database_choice_is_paired_with_every_choice_of_the_other_axes() -> None:
    """The valid pairs that name a database choice are all held by some row; for each
    database choice that is every level of every other factor the catalog allows."""
    held = {pair for pairs in first_covered(MATRIX) for pair in pairs}
    valid = uncovered_pairs([])
    with_database = {pair for pair in valid if "database" in (pair[0][0], pair[1][0])}
    assert with_database <= held, f"untested: {sorted(with_database - held, key=repr)}"
    database = catalog.axis("database")
    factors = {factor for pair in with_database for factor, _ in pair} - {"database"}
    for value in database.values:
        paired = {
            level
            for pair in with_database
            if ("database", value) in pair
            for level in pair
            if level[0] != "database"
        }
        assert {factor for factor, _ in paired} == factors, value
    # The same, read straight from the rows' answers for the single-select axes.
    for axis in catalog.AXES:
        if axis.name == "database" or axis.multiple:
            continue
        tested = {(row.answers["database"], row.answers.get(axis.name)) for row in MATRIX}
        for value in database.values:
            for other in axis.values:
                pair = tuple(sorted((("database", value), (axis.name, other))))
                if any(tuple(sorted(each)) == pair for each in with_database):
                    assert (value, other) in tested, f"database={value} x {axis.name}={other}"


def test_the_pairs_each_row_covers_first_are_every_valid_pair_once() -> None:
    covered = first_covered(MATRIX)
    flat = [pair for pairs in covered for pair in pairs]
    assert len(flat) == len(set(flat))
    assert set(flat) == uncovered_pairs([])


# --- the synthetic catalog ---------------------------------------------------------


def test_a_server_backed_choice_grows_the_shards_without_a_code_change() -> None:
    axes = with_server_choice("cache", "valkey", VALKEY)
    before, after = plan(), plan(axes)
    assert all("valkey" not in entry["servers"] for entry in before["include"])
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
    axes = with_server_choice("cache", "valkey", VALKEY)
    both = [
        entry for entry in plan(axes)["include"] if set(entry["servers"]) == {"postgres", "valkey"}
    ]
    assert both
    services = {slot["name"]: slot for slot in both[0]["services"] if slot["image"]}
    assert set(services) == {"postgres", "valkey"}
    assert services["postgres"]["env"] == {"POSTGRES_DB": "app", "POSTGRES_PASSWORD": CI_PASSWORD}
    assert services["postgres"]["port"] == "5432:5432"
    assert services["valkey"]["env"] == {}
    assert both[0]["env"] == {
        "SLIPWAY_POSTGRES_URL": f"postgresql+asyncpg://postgres:{CI_PASSWORD}@127.0.0.1:5432/app",
        "SLIPWAY_VALKEY_URL": "valkey://127.0.0.1:6379/0",
    }


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
    assert all(len(entry["rows"]) == 1 for entry in printed["include"])
    assert sorted(entry["rows"][0] for entry in printed["include"]) == sorted(
        row.id for row in MATRIX
    )


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
