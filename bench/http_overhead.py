"""Throughput of the generated default service against a bare FastAPI app.

Both apps run in the same fresh virtual environment under the same uvicorn flags and
are loaded in alternating rounds on loopback, so each ratio isolates what the service
adds per request. Three paths are measured side by side in one run:

- bare FastAPI's ``GET /health/live``, the floor;
- the service's ``GET /health/live``, through the whole middleware chain;
- the service's authenticated ``GET /items/{id}`` answered from the cache: a user
  registered, a token issued, an item created and read once before the load starts.

    uv run python bench/http_overhead.py [--seconds 5] [--rounds 3] [--connections 32]

``--baseline REF`` also serves the service generated from another git ref (a tag, a
commit) in the same run, for before/after figures. Uses ``wrk`` when it is on PATH
(Debian/Ubuntu: ``apt-get install wrk``), otherwise a built-in asyncio keep-alive client
that reports throughput only. Every run is bounded by ``--seconds`` and ``--rounds``, and
only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bench_service"
PREFIX = PACKAGE.upper() + "_"
LIVE = "/health/live"
BARE = "bare FastAPI"
HEALTH_TARGET = 0.85
ITEM_TARGET = 0.4
TAIL_TARGET = 3.0
"""The cached item GET's p99 at most this many times its own p50."""
BARE_APP = """\
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel


class Liveness(BaseModel):
    status: Literal["ok"]


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health/live")
    async def live() -> Liveness:
        return Liveness(status="ok")

    return app
"""
UVICORN_FLAGS = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True)
class Load:
    """One round's result; latencies in milliseconds, ``None`` without wrk."""

    rate: float
    p50: float | None = None
    p99: float | None = None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    port: int
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    results = run(options)
    report(results, options.connections)
    return 0


def add_load_options(parser: argparse.ArgumentParser, seconds: int = 5) -> None:
    """``--seconds``, ``--rounds`` and ``--connections``: how every benchmark loads."""
    parser.add_argument("--seconds", type=int, default=seconds, help="length of one load round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per path (alternating)")
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent keep-alive connections"
    )


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--baseline", metavar="REF", help="also serve the service from this ref")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    options = parser.parse_args(argv)
    if options.seconds > 60 or options.rounds > 10:
        parser.error("keep runs bounded: --seconds ≤ 60 and --rounds ≤ 10")
    return options


def run(options: argparse.Namespace) -> dict[str, list[Load]]:
    """Generate and install the service (and ``--baseline``), then load every path."""
    workdir = Path(tempfile.mkdtemp(prefix="slipway-bench-"))
    try:
        projects = {"service": generate(workdir / "service")}
        if options.baseline:
            projects[options.baseline] = generate(workdir / "baseline", options.baseline)
        pythons = {label: install(project) for label, project in projects.items()}
        (projects["service"] / "bare_app.py").write_text(BARE_APP)
        results = measure(pythons, projects, options)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def generate(project: Path, ref: str | None = None) -> Path:
    """The default service from the working tree (uncommitted edits too), or from ``ref``."""
    print(f"generating the default service ({ref or 'working tree'}) into {project}")
    # A commit id, as Copier renders a dirty working tree for "HEAD" or no ref at all.
    vcs_ref = ref and git("rev-parse", "--verify", f"{ref}^{{commit}}")
    copier.run_copy(
        str(REPO_ROOT),
        project,
        data={"project_name": "Bench Service", "package_name": PACKAGE},
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
        vcs_ref=vcs_ref,
    )
    return project


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def install(project: Path) -> Path:
    print(f"installing {project.name}'s dependencies (uv sync --no-dev)", flush=True)
    subprocess.run(["uv", "sync", "--no-dev", "--quiet"], cwd=project, check=True)
    return project / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(python: Path, project: Path, factory: str) -> Iterator[int]:
    with serving_process(python, project, factory) as (port, _pid):
        yield port


@contextmanager
def serving_process(python: Path, project: Path, factory: str) -> Iterator[tuple[int, int]]:
    """Serve ``factory`` from the project's environment; yield its port and process id."""
    port = free_port()
    env = {
        **os.environ,
        f"{PREFIX}ENVIRONMENT": "production",
        f"{PREFIX}AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        f"{PREFIX}DATABASE__URL": f"sqlite+aiosqlite:///{project / 'bench.db'}",
        f"{PREFIX}DATABASE__MIGRATE_ON_START": "true",
        f"{PREFIX}LOGGING__FORMAT": "json",
        # One client address sends all the load: lift its limit out of the way.
        f"{PREFIX}HTTP__RATE_LIMIT_PER_SECOND": "1e9",
        f"{PREFIX}HTTP__RATE_LIMIT_BURST": "1000000000",
        "PYTHONPATH": str(project),
    }
    command = [
        str(python),
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]
    log = open(project / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_live(port, server)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def wait_until_live(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server on :{port} exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(f"GET {LIVE} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on :{port} did not become live within 60 s")


def cached_item(port: int) -> Target:
    """Register, log in and create an item; read it once so the cache holds it."""
    base = f"http://127.0.0.1:{port}"
    email, password = f"bench-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
    call(f"{base}/auth/register", json_body={"email": email, "password": password})
    form = {"username": email, "password": password, "grant_type": "password"}
    token = call(f"{base}/auth/token", form_body=form)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    item = call(f"{base}/items", json_body={"name": "bench"}, headers=headers)
    path = f"/items/{item['id']}"
    call(base + path, headers=headers)
    return Target("", port, path, headers)


def call(
    url: str,
    *,
    json_body: object = None,
    form_body: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    if json_body is not None:
        request.data = json.dumps(json_body).encode()
        request.add_header("Content-Type", "application/json")
    elif form_body is not None:
        request.data = urllib.parse.urlencode(form_body).encode()
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def measure(
    pythons: Mapping[str, Path], projects: Mapping[str, Path], options: argparse.Namespace
) -> dict[str, list[Load]]:
    with ExitStack() as stack:
        bare_port = stack.enter_context(
            serving(pythons["service"], projects["service"], "bare_app:create_app")
        )
        targets = [Target(BARE, bare_port, LIVE)]
        for label, project in projects.items():
            port = stack.enter_context(
                serving(pythons[label], project, f"{PACKAGE}.app:create_app")
            )
            item = cached_item(port)
            targets.append(Target(f"{label} {LIVE}", port, LIVE))
            targets.append(Target(f"{label} GET /items/{{id}}", port, item.path, item.headers))
        return load_in_rounds(targets, options)


def load_in_rounds(targets: list[Target], options: argparse.Namespace) -> dict[str, list[Load]]:
    results: dict[str, list[Load]] = {target.name: [] for target in targets}
    for target in targets:  # warm up every path before measuring
        load(target, min(2, options.seconds), options.connections)
    for round_number in range(1, options.rounds + 1):
        for target in targets:
            result = load(target, options.seconds, options.connections)
            results[target.name].append(result)
            print(f"round {round_number}: {target.name:<34} {result.rate:>9,.0f} req/s", flush=True)
    return results


def load(target: Target, seconds: int, connections: int) -> Load:
    if shutil.which("wrk"):
        return load_with_wrk(target, seconds, connections)
    if target.headers:
        raise RuntimeError("the authenticated path needs wrk (apt-get install wrk)")
    return Load(asyncio.run(load_with_asyncio(target.port, target.path, seconds, connections)))


def load_with_wrk(target: Target, seconds: int, connections: int) -> Load:
    url = f"http://127.0.0.1:{target.port}{target.path}"
    headers = [arg for name, value in target.headers.items() for arg in ("-H", f"{name}: {value}")]
    duration = f"{max(1, seconds)}s"
    output = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", duration, "--latency", *headers, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", output):
        raise RuntimeError(f"non-2xx responses during the run:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    latency = {pct: float(value) * _UNIT_MS[unit] for pct, value, unit in _LATENCY.findall(output)}
    return Load(float(match.group(1)), latency.get("50"), latency.get("99"))


async def load_with_asyncio(port: int, path: str, seconds: int, connections: int) -> float:
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    deadline = time.monotonic() + seconds
    counts = await asyncio.gather(
        *(_keep_alive_client(port, request, deadline) for _ in range(connections))
    )
    return sum(counts) / seconds


async def _keep_alive_client(port: int, request: bytes, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected response: {head[:80]!r}")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            done += 1
    finally:
        writer.close()
    return done


def report(results: Mapping[str, list[Load]], connections: int) -> None:
    bare = statistics.median(load.rate for load in results[BARE])
    print()
    print(f"median of {len(results[BARE])} rounds at {connections} connections")
    print(f"  {'path':<34} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for name, loads in results.items():
        rate = statistics.median(load.rate for load in loads)
        p50, p99 = _median_latency(loads, "p50"), _median_latency(loads, "p99")
        print(f"  {name:<34} {rate:>9,.0f} {rate / bare:>6.2f} {_ms(p50)} {_ms(p99)}")
    print()
    for name, loads in results.items():
        if name == BARE:
            continue
        rate = statistics.median(load.rate for load in loads) / bare
        if name.endswith(LIVE):
            print(
                f"  {name}: ratio {rate:.2f} (target ≥ {HEALTH_TARGET}) {_met(rate >= HEALTH_TARGET)}"
            )
            continue
        print(f"  {name}: ratio {rate:.2f} (target ≥ {ITEM_TARGET}) {_met(rate >= ITEM_TARGET)}")
        p50, p99 = _median_latency(loads, "p50"), _median_latency(loads, "p99")
        if p50 and p99:
            tail = p99 / p50
            print(
                f"  {name}: p99/p50 {tail:.1f} (target ≤ {TAIL_TARGET}) {_met(tail <= TAIL_TARGET)}"
            )


def _median_latency(loads: list[Load], which: str) -> float | None:
    values = [getattr(load, which) for load in loads if getattr(load, which) is not None]
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    return f"{value:>7.2f}" if value is not None else f"{'-':>7}"


def _met(met: bool) -> str:
    return "met" if met else "NOT MET"


if __name__ == "__main__":
    sys.exit(main())
