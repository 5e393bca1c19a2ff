"""Throughput of the generated default service against a bare FastAPI app.

Both apps run in the same fresh virtual environment under the same uvicorn flags and
are loaded in alternating rounds on loopback, so the ratio isolates what the service
adds per request (middleware chain, metrics, access log, dependency wiring).

    uv run python bench/http_overhead.py [--seconds 5] [--rounds 3] [--connections 32]

Uses ``wrk`` when it is on PATH (Debian/Ubuntu: ``apt-get install wrk``), otherwise a
built-in asyncio keep-alive client. Every run is bounded by ``--seconds`` and
``--rounds``, and only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import copier

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bench_service"
PREFIX = PACKAGE.upper() + "_"
PATH = "/health/live"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one load round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per app (alternating)")
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent keep-alive connections"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    options = parser.parse_args()
    if options.seconds > 60 or options.rounds > 10:
        parser.error("keep runs bounded: --seconds ≤ 60 and --rounds ≤ 10")

    workdir = Path(tempfile.mkdtemp(prefix="slipway-bench-"))
    try:
        project = generate(workdir)
        python = install(project)
        (project / "bare_app.py").write_text(BARE_APP)
        results = measure(python, project, options)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    return 0


def generate(workdir: Path) -> Path:
    project = workdir / "service"
    print(f"generating the default service into {project}", flush=True)
    copier.run_copy(
        str(REPO_ROOT),
        project,
        data={"project_name": "Bench Service", "package_name": PACKAGE},
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return project


def install(project: Path) -> Path:
    print("installing its dependencies (uv sync --no-dev)", flush=True)
    subprocess.run(["uv", "sync", "--no-dev", "--quiet"], cwd=project, check=True)
    return project / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(python: Path, project: Path, factory: str) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        f"{PREFIX}ENVIRONMENT": "production",
        f"{PREFIX}AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        f"{PREFIX}DATABASE__URL": f"sqlite+aiosqlite:///{project / 'bench.db'}",
        f"{PREFIX}DATABASE__MIGRATE_ON_START": "true",
        f"{PREFIX}LOGGING__FORMAT": "json",
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
        yield port
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
                sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on :{port} did not become live within 60 s")


def measure(python: Path, project: Path, options: argparse.Namespace) -> dict[str, list[float]]:
    apps = {
        "bare FastAPI": "bare_app:create_app",
        "generated service": f"{PACKAGE}.app:create_app",
    }
    results: dict[str, list[float]] = {name: [] for name in apps}
    with (
        serving(python, project, apps["bare FastAPI"]) as bare_port,
        serving(python, project, apps["generated service"]) as service_port,
    ):
        ports = {"bare FastAPI": bare_port, "generated service": service_port}
        for port in ports.values():  # warm up both before measuring
            load(port, min(2, options.seconds), options.connections)
        for round_number in range(1, options.rounds + 1):
            for name, port in ports.items():
                rate = load(port, options.seconds, options.connections)
                results[name].append(rate)
                print(f"round {round_number}: {name:<18} {rate:>10,.0f} req/s", flush=True)
    return results


def load(port: int, seconds: int, connections: int) -> float:
    url = f"http://127.0.0.1:{port}{PATH}"
    if shutil.which("wrk"):
        return load_with_wrk(url, seconds, connections)
    return asyncio.run(load_with_asyncio(port, seconds, connections))


def load_with_wrk(url: str, seconds: int, connections: int) -> float:
    output = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, seconds)}s", url],
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
    return float(match.group(1))


async def load_with_asyncio(port: int, seconds: int, connections: int) -> float:
    request = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
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


def report(results: dict[str, list[float]]) -> None:
    bare = statistics.median(results["bare FastAPI"])
    service = statistics.median(results["generated service"])
    print()
    print(f"GET {PATH}, median of {len(results['bare FastAPI'])} rounds")
    print(f"  bare FastAPI       {bare:>10,.0f} req/s")
    print(f"  generated service  {service:>10,.0f} req/s")
    print(f"  ratio              {service / bare:>10.2f}  (target ≥ 0.85)")


if __name__ == "__main__":
    sys.exit(main())
