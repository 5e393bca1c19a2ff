"""The template's own workflow (``.github/workflows/template.yml``).

It passes GitHub's workflow schema (vendored by check-jsonschema) and actionlint with
shellcheck, offline; it runs on every push and pull request, weekly and by hand, with
least privilege and superseded runs cancelled; its actions are pinned as the generated
workflow pins them; the matrix job's shards and service containers come from the
matrix command; and between its jobs every test the local run collects is selected,
so nothing ``uv run pytest`` checks is left out of CI.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from typing import Any

import yaml

from conftest import TEMPLATE_ROOT, catalog_services, container_start_problems
from slipway_catalog.matrix import SERVICE_SLOTS, Shard, ci_url, plan, server_env_var
from test_deploy_files import check, tool

WORKFLOW = TEMPLATE_ROOT / ".github" / "workflows" / "template.yml"
GENERATED_WORKFLOW = next((TEMPLATE_ROOT / "template").glob("*/workflows/ci.yml.jinja"))


def load() -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def jobs() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load()["jobs"]
    return found


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def pytest_invocations(job: dict[str, Any]) -> list[list[str]]:
    """The arguments of each literal ``uv run pytest ...`` line of the job's steps."""
    found = []
    for script in runs(job):
        for line in script.splitlines():
            words = shlex.split(line)
            if words[:3] == ["uv", "run", "pytest"]:
                found.append(words[3:])
    return found


def collected(*args: str) -> set[str]:
    """Node ids pytest collects for ``args`` (one process, no workers)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr
    return {line for line in result.stdout.splitlines() if "::" in line}


# --- validators --------------------------------------------------------------------


def test_workflow_passes_its_schema() -> None:
    schema = "vendor.github-workflows"
    check(tool("check-jsonschema"), "--builtin-schema", schema, str(WORKFLOW), cwd=TEMPLATE_ROOT)


def test_workflow_passes_actionlint_with_shellcheck() -> None:
    shellcheck = f"-shellcheck={tool('shellcheck')}"
    check(tool("actionlint"), "-no-color", shellcheck, str(WORKFLOW), cwd=TEMPLATE_ROOT)


def test_helper_scripts_pass_shellcheck() -> None:
    for script in sorted((TEMPLATE_ROOT / ".github").glob("*.sh")):
        check(tool("shellcheck"), str(script), cwd=TEMPLATE_ROOT)


# --- triggers, privileges, pins ------------------------------------------------------


def test_runs_on_push_pull_request_weekly_and_by_hand() -> None:
    triggers = load()["on"]
    assert {"push", "pull_request", "schedule", "workflow_dispatch"} <= set(triggers)
    (schedule,) = triggers["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*"), "weekly"
    assert weekday != "*", "weekly"


def test_superseded_runs_are_cancelled_with_least_privilege() -> None:
    workflow = load()
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    for name, job in jobs().items():
        assert "permissions" not in job, f"{name} widens the permissions"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def test_actions_are_pinned_as_the_generated_workflow_pins_them() -> None:
    pinned = dict(
        line.split("@", 1)
        for line in re.findall(r"uses: (\S+@\S+)", GENERATED_WORKFLOW.read_text(encoding="utf-8"))
    )
    for name, job in jobs().items():
        for step in job["steps"]:
            if "uses" not in step:
                continue
            action, version = step["uses"].split("@", 1)
            assert re.fullmatch(r"v\d+(\.\d+)*", version), f"{name}: {step['uses']}"
            if action in pinned:
                assert version == pinned[action], f"{name}: {step['uses']} vs {pinned[action]}"


# --- the matrix --------------------------------------------------------------------


def test_the_rows_come_from_the_matrix_command() -> None:
    found = jobs()
    plan_job, rows = found["plan"], found["rows"]
    assert any("python scripts/matrix.py --json" in script for script in runs(plan_job))
    assert plan_job["outputs"]["shards"] == "${{ steps.plan.outputs.shards }}"
    assert rows["needs"] == "plan" or "plan" in rows["needs"]
    assert rows["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert rows["strategy"]["fail-fast"] is False
    assert rows["env"]["SLIPWAY_REQUIRE_SERVERS"] == "1"
    assert found["updates"]["env"]["SLIPWAY_REQUIRE_SERVERS"] == "1"


def test_every_service_slot_is_filled_from_the_shard() -> None:
    services = jobs()["rows"]["services"]
    assert len(services) == SERVICE_SLOTS
    for index, slot in enumerate(services.values()):
        expected = f"matrix.services[{index}]"
        assert slot["image"] == f"${{{{ {expected}.image }}}}"
        assert slot["ports"] == [f"${{{{ {expected}.port }}}}"]
        assert slot["env"] == f"${{{{ {expected}.env }}}}"
        assert slot["options"] == f"${{{{ {expected}.options }}}}"
    # A shard's servers reach the harness as SLIPWAY_<NAME>_URL.
    rows = jobs()["rows"]
    assert rows["env"]["SHARD_ENV"] == "${{ toJSON(matrix.env) }}"
    assert any('"$GITHUB_ENV"' in script and "SHARD_ENV" in script for script in runs(rows))


def test_the_update_jobs_servers_are_the_catalogs_as_a_shard_runs_them() -> None:
    """The slice switch to PostgreSQL needs the catalog's postgres: the update job runs
    the same container a shard of the rows job would, and points the harness at it."""
    job = jobs()["updates"]
    servers = catalog_services()
    for name, declared in job["services"].items():
        if name not in servers:
            continue  # valkey: the adding-a-choice page's own server
        (slot,) = Shard("updates", (), (servers[name],)).slots(1)
        assert declared["image"] == slot["image"], name
        assert declared["ports"] == [slot["port"]], name
        assert declared.get("env", {}) == slot["env"], name
        assert " ".join(declared.get("options", "").split()) == slot["options"].replace("'", '"')
        url = job["env"][server_env_var(name)]
        assert url == ci_url(servers[name]), name
        assert not container_start_problems(declared["image"], declared.get("env", {}), url)
    assert "postgres" in job["services"]


def test_the_update_job_has_the_whole_history() -> None:
    checkout, *_ = jobs()["updates"]["steps"]
    assert checkout["with"]["fetch-depth"] == 0


def test_the_jobs_select_every_test_the_local_run_collects() -> None:
    """Each job's pytest lines, the rows job once per shard of the plan: together they
    select every test ``uv run pytest`` collects. (``[NOTSET]`` is pytest's placeholder
    for an empty parameter set: the server check while the catalog declares none.)"""
    everything = collected()
    assert everything
    selected: set[str] = set()
    found = jobs()
    for name, job in found.items():
        if name == "rows":
            continue
        for args in pytest_invocations(job):
            selected |= collected(*args)
    rows_script = "\n".join(runs(found["rows"]))
    assert 'uv run pytest --durations=25 "${paths[@]}" -k "$SHARD_SELECT"' in rows_script
    assert found["rows"]["env"]["SHARD_SELECT"] == "${{ matrix.select }}"
    assert found["rows"]["env"]["SHARD_PATHS"] == "${{ matrix.paths }}"
    shards = json.loads(json.dumps(plan()))["include"]
    for shard in shards:
        picked = collected(*shard["paths"].split(), "-k", shard["select"])
        assert picked, f"shard {shard['name']} selects nothing"
        selected |= picked
    missing = sorted(node for node in everything - selected if not node.endswith("[NOTSET]"))
    assert not missing, "tests no CI job runs:\n" + "\n".join(missing)
