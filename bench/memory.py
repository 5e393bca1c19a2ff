"""Resident memory of one worker of the generated default service, idle and under use.

The default service is generated into a temporary directory, installed into a fresh
virtual environment and served by one uvicorn worker under the same flags and settings
as ``http_overhead.py`` (the rate limit lifted). Its resident set size (``VmRSS`` in
``/proc/<pid>/status``) is read while it is idle:

- after start-up, before any request;
- after a warm-up of the authenticated ``GET /items/{id}`` answered from the cache (a
  user registered, a token issued, an item created and read once first);
- after every fifth of the measured requests of that same GET, the last after all.

The growth over the measured requests, from the warm-up's figure to the last, is
checked against a bound: a worker that keeps something per request shows it there,
while what a worker allocates once (imports, first-use caches, pools, allocator
arenas) is in place by the end of the warm-up.

    uv run python bench/memory.py [--requests 10000] [--warm-up 2000] [--connections 32]

Requests come from a built-in asyncio keep-alive client, a fixed number of them. Every
run is bounded by ``--requests``, talks only to 127.0.0.1 and needs Linux (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mypy names the module by its path from the repository root
    from bench import http_overhead as overhead
else:  # the script's own directory is on sys.path
    import http_overhead as overhead

GROWTH_BOUND_MIB = 5.0
"""At most this much resident memory gained over the measured requests."""
CHECKPOINTS = 5
"""How many times the resident memory is read during the measured requests."""
SETTLE_SECONDS = 0.5
"""A pause before each reading, so the worker is idle when it is read."""
MAX_REQUESTS = 100_000
_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory of the worker in KiB at each reading, and its peaks."""

    startup: int
    startup_peak: int
    warm: int
    checkpoints: Sequence[tuple[int, int]]
    """``(requests sent so far, resident memory)`` after each part of the measured load."""
    peak: int

    @property
    def after(self) -> int:
        return self.checkpoints[-1][1]

    @property
    def growth_mib(self) -> float:
        return (self.after - self.warm) / 1024


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    report(run(options), options)
    return 0


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=10_000, help="measured requests of the cached item GET"
    )
    parser.add_argument(
        "--warm-up", type=int, default=2_000, help="requests sent before the measured ones"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent keep-alive connections"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    options = parser.parse_args(argv)
    if not (CHECKPOINTS <= options.requests <= MAX_REQUESTS):
        parser.error(f"keep runs bounded: {CHECKPOINTS} ≤ --requests ≤ {MAX_REQUESTS:,}")
    if not (0 <= options.warm_up <= MAX_REQUESTS and 1 <= options.connections <= 256):
        parser.error(f"--warm-up from 0 to {MAX_REQUESTS:,}, --connections from 1 to 256")
    if not Path("/proc/self/status").exists():
        parser.error("needs Linux: the resident memory is read from /proc")
    return options


def run(options: argparse.Namespace) -> Memory:
    """Generate, install and serve the default service; read its memory around the load."""
    workdir = Path(tempfile.mkdtemp(prefix="slipway-membench-"))
    try:
        project = overhead.generate(workdir / "service")
        python = overhead.install(project)
        factory = f"{overhead.PACKAGE}.app:create_app"
        with overhead.serving_process(python, project, factory) as (port, pid):
            return measure(port, pid, options)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(port: int, pid: int, options: argparse.Namespace) -> Memory:
    startup, startup_peak = idle_rss(pid), status_kib(pid, "VmHWM")
    print(f"after start-up: {mib(startup)}", flush=True)
    item = overhead.cached_item(port)
    send(item, options.warm_up, options.connections)
    warm = idle_rss(pid)
    print(f"after {options.warm_up:,} warm-up requests: {mib(warm)}", flush=True)
    checkpoints: list[tuple[int, int]] = []
    sent = 0
    for part in range(1, CHECKPOINTS + 1):
        count = options.requests * part // CHECKPOINTS - sent
        send(item, count, options.connections)
        sent += count
        checkpoints.append((sent, idle_rss(pid)))
        print(f"after {sent:,} measured requests: {mib(checkpoints[-1][1])}", flush=True)
    return Memory(startup, startup_peak, warm, checkpoints, status_kib(pid, "VmHWM"))


def idle_rss(pid: int) -> int:
    """The worker's resident memory in KiB, once the requests just answered are done."""
    time.sleep(SETTLE_SECONDS)
    return status_kib(pid, "VmRSS")


def status_kib(pid: int, field: str) -> int:
    """One ``kB`` field of ``/proc/<pid>/status``: ``VmRSS`` now, ``VmHWM`` its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def send(target: overhead.Target, count: int, connections: int) -> None:
    """Exactly ``count`` requests of ``target``, over at most ``connections`` connections."""
    headers = "".join(f"{name}: {value}\r\n" for name, value in target.headers.items())
    request = f"GET {target.path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode()
    asyncio.run(_send_all(target.port, request, count, connections))


async def _send_all(port: int, request: bytes, count: int, connections: int) -> None:
    remaining = [count]  # shared by the clients: one event loop, no lock needed
    clients = min(connections, count)
    await asyncio.gather(*(_keep_alive_client(port, request, remaining) for _ in range(clients)))


async def _keep_alive_client(port: int, request: bytes, remaining: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected response: {head[:80]!r}")
            length = _CONTENT_LENGTH.search(head)
            if length is None:
                raise RuntimeError(f"a response without Content-Length: {head[:200]!r}")
            await reader.readexactly(int(length.group(1)))
    finally:
        writer.close()
        await writer.wait_closed()


def report(memory: Memory, options: argparse.Namespace) -> None:
    print()
    print(f"resident memory of one worker, {options.connections} connections")
    rows: Mapping[str, int] = {
        "after start-up": memory.startup,
        f"after {options.warm_up:,} warm-up requests": memory.warm,
        **{f"after {sent:,} measured requests": rss for sent, rss in memory.checkpoints},
        "peak (VmHWM) at start-up": memory.startup_peak,
        "peak (VmHWM) at the end": memory.peak,
    }
    for name, kib in rows.items():
        print(f"  {name:<34} {mib(kib):>10}")
    print()
    met = memory.growth_mib <= GROWTH_BOUND_MIB
    print(
        f"  growth over {options.requests:,} requests: {memory.growth_mib:+.2f} MiB "
        f"(bound ≤ {GROWTH_BOUND_MIB:g} MiB) {overhead._met(met)}"
    )


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


if __name__ == "__main__":
    sys.exit(main())
