"""Every benchmark in one run, with short bounded rounds, ending in one summary table.

Runs ``http_overhead.py``, ``database_paths.py``, ``cache_paths.py`` and ``memory.py``
one after the other, each printing its own report as it ends, then one table: each
figure, its ratio, its target and whether the target is met. A part whose server does
not answer on loopback (PostgreSQL, Redis, memcached) is skipped with a line saying so,
and so are the parts that need ``wrk`` when it is not installed.

    uv run python bench/run_all.py [--seconds 2] [--rounds 3] [--connections 32]
    uv run python bench/run_all.py --parts http,memory --requests 20000

``--seconds``, ``--rounds`` and ``--connections`` go to every load benchmark,
``--requests`` and ``--warm-up`` to the memory one. The defaults take about five
minutes on two cores. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import struct
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mypy names the modules by their path from the repository root
    from bench import cache_paths as caches
    from bench import database_paths as paths
    from bench import http_overhead as overhead
    from bench import memory
else:  # the script's own directory is on sys.path
    import cache_paths as caches
    import database_paths as paths
    import http_overhead as overhead
    import memory

PARTS = ("http", "database", "cache", "memory")
NEEDS_WRK = ("http", "database", "cache")
POSTGRES_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
"""What a PostgreSQL server answers with one byte, ``S`` or ``N``, before any login."""
HEADER = ("part", "figure", "value", "ratio", "target", "result")
RATIO = HEADER.index("ratio")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary: a figure, its ratio, its target and the outcome."""

    part: str
    figure: str
    value: str = ""
    ratio: float | None = None
    target: str = ""
    outcome: str = "no target"


@dataclass(frozen=True, slots=True)
class Part:
    """One benchmark: its arguments (``None``: skipped), and rows for what it leaves out."""

    name: str
    argv: list[str] | None
    skipped: list[Row]


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    started = time.monotonic()
    parts = plan(options)
    rows: list[Row] = []
    failed = False
    for part in parts:
        if part.argv is not None:
            print(f"\n=== {part.name}: {' '.join(part.argv)}", flush=True)
            try:
                rows += RUNNERS[part.name](part.argv)
            except Exception as error:  # one part failing leaves the others to run
                traceback.print_exc()
                rows.append(Row(part.name, "(all)", outcome=f"failed: {error}"))
                failed = True
        rows += part.skipped
    summary(rows, options, time.monotonic() - started)
    return 1 if failed else 0


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    overhead.add_load_options(parser, seconds=2)
    parser.add_argument(
        "--requests", type=int, default=10_000, help="measured requests of the memory benchmark"
    )
    parser.add_argument(
        "--warm-up", type=int, default=2_000, help="the memory benchmark's warm-up requests"
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated, from: " + ", ".join(PARTS)
    )
    parser.add_argument("--postgres-url", default=paths.DEFAULT_POSTGRES_URL)
    parser.add_argument("--redis-url", default=caches.SERVER_CACHES["redis"][0])
    parser.add_argument("--memcached-url", default=caches.SERVER_CACHES["memcached"][0])
    options = parser.parse_args(argv)
    if not (1 <= options.seconds <= 60 and 1 <= options.rounds <= 10):
        parser.error("keep runs bounded: 1 ≤ --seconds ≤ 60 and 1 ≤ --rounds ≤ 10")
    names = (name.strip() for name in options.parts.split(","))
    options.parts = list(dict.fromkeys(name for name in names if name))
    if unknown := sorted(set(options.parts) - set(PARTS)):
        parser.error(f"unknown part {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    for url in (options.postgres_url, options.redis_url, options.memcached_url):
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            parser.error(f"{url} is not on loopback")
    return options


def plan(options: argparse.Namespace) -> list[Part]:
    """Each part asked for, with the servers that answer; every argument checked up front."""
    load = ["--seconds", str(options.seconds), "--rounds", str(options.rounds)]
    load += ["--connections", str(options.connections)]
    parts: list[Part] = []
    for name in options.parts:
        if name in NEEDS_WRK and shutil.which("wrk") is None:
            print(f"skipping {name}: wrk is not installed (apt-get install wrk)")
            parts.append(Part(name, None, [Row(name, "(all)", outcome="skipped: no wrk")]))
        elif name == "http":
            parts.append(Part(name, load, []))
        elif name == "database":
            parts.append(database_part(load, options))
        elif name == "cache":
            parts.append(cache_part(load, options))
        else:
            argv = ["--requests", str(options.requests), "--warm-up", str(options.warm_up)]
            parts.append(Part(name, [*argv, "--connections", str(options.connections)], []))
    for part in parts:
        if part.argv is not None:
            PARSERS[part.name](part.argv)  # a bad argument stops the run before any load
    return parts


def database_part(load: list[str], options: argparse.Namespace) -> Part:
    """Every database whose server answers (SQLite needs none)."""
    databases, skipped = [], []
    for database in paths.DATABASES:
        if database == "postgresql" and not postgres_answers(options.postgres_url):
            skipped.append(Row("database", database, outcome="skipped: no server"))
        else:
            databases.append(database)
    argv = [*load, "--databases", ",".join(databases), "--postgres-url", options.postgres_url]
    return Part("database", argv, skipped)


def cache_part(load: list[str], options: argparse.Namespace) -> Part:
    """Every cache choice whose server answers (``memory`` and ``none`` need none)."""
    urls = {"redis": options.redis_url, "memcached": options.memcached_url}
    chosen, skipped = [], []
    for cache in caches.CACHES:
        if caches.cache_server_answers(cache, urls.get(cache)):  # says why it skips
            chosen.append(cache)
        else:
            skipped.append(Row("cache", cache, outcome="skipped: no server"))
    argv = [*load, "--caches", ",".join(chosen)]
    argv += ["--redis-url", options.redis_url, "--memcached-url", options.memcached_url]
    return Part("cache", argv, skipped)


def postgres_answers(url: str) -> bool:
    """Whether a PostgreSQL server answers at ``url``'s address (an SSL request, no login)."""
    parts = urllib.parse.urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 5432)
    try:
        with socket.create_connection(address, timeout=2) as sock:
            sock.sendall(POSTGRES_SSL_REQUEST)
            reply = sock.recv(1)
    except OSError as error:
        print(f"skipping postgresql: no server answers at {address[0]}:{address[1]} ({error})")
        return False
    if reply not in (b"S", b"N"):
        print(f"skipping postgresql: the server at {address[0]}:{address[1]} answered {reply!r}")
        return False
    return True


def run_http(argv: list[str]) -> list[Row]:
    options = overhead.parse_options(argv)
    results = overhead.run(options)
    overhead.report(results, options.connections)
    bare = statistics.median(load.rate for load in results[overhead.BARE])
    rows = []
    for name, loads in results.items():
        if name == overhead.BARE:
            continue
        rate = statistics.median(load.rate for load in loads)
        target = overhead.HEALTH_TARGET if name.endswith(overhead.LIVE) else overhead.ITEM_TARGET
        rows.append(at_least("http", name, f"{rate:,.0f} req/s", rate / bare, target))
        p50, p99 = overhead._median_latency(loads, "p50"), overhead._median_latency(loads, "p99")
        if not name.endswith(overhead.LIVE) and p50 and p99:
            tail, limit = p99 / p50, overhead.TAIL_TARGET
            value = f"p99 {p99:.1f} / p50 {p50:.1f} ms"
            outcome = overhead._met(tail <= limit)
            rows.append(Row("http", f"{name} tail", value, tail, f"≤ {limit:g}", outcome))
    return rows


def run_database(argv: list[str]) -> list[Row]:
    options = paths.parse_options(argv)
    targets, results = paths.run(options)
    paths.report(targets, results, options.connections)
    medians = {target: paths.median(results[target]) for target in targets}
    bare = {(t.database, t.path): medians[t] for t in targets if t.app == paths.BARE}
    rows = []
    for target in targets:
        if target.app != paths.SERVICE:
            continue
        sample, floor = medians[target], bare[(target.database, target.path)]
        value = f"{sample.rate:,.0f} req/s (bare {floor.rate:,.0f})"
        figure = f"{target.database} {target.path}"
        rows.append(Row("database", figure, value, sample.rate / floor.rate))
    return rows


def run_cache(argv: list[str]) -> list[Row]:
    options = caches.parse_options(argv)
    results = caches.run(options)
    if results is None:
        return []
    caches.report(results, options)
    rows = []
    for cache in dict.fromkeys(cache for cache, _ in results):
        hit, miss = (
            paths.median([round_.sample for round_ in results[(cache, path)]])
            for path in (caches.HIT, caches.MISS)
        )
        figure, value = f"{cache} hit / miss", f"{hit.rate:,.0f} / {miss.rate:,.0f} req/s"
        if cache == "none" or options.database != "sqlite":
            rows.append(Row("cache", figure, value, hit.rate / miss.rate))
        else:
            rows.append(at_least("cache", figure, value, hit.rate / miss.rate, caches.HIT_TARGET))
    return rows


def run_memory(argv: list[str]) -> list[Row]:
    options = memory.parse_options(argv)
    result = memory.run(options)
    memory.report(result, options)
    figure = f"RSS growth over {options.requests:,} item GETs"
    value = f"{result.growth_mib:+.2f} MiB ({memory.mib(result.warm)} → {memory.mib(result.after)})"
    bound, ratio = memory.GROWTH_BOUND_MIB, result.after / result.warm
    outcome = overhead._met(result.growth_mib <= bound)
    return [Row("memory", figure, value, ratio, f"≤ {bound:g} MiB", outcome)]


def at_least(part: str, figure: str, value: str, ratio: float, target: float) -> Row:
    return Row(part, figure, value, ratio, f"≥ {target:g}", overhead._met(ratio >= target))


RUNNERS: Mapping[str, Callable[[list[str]], list[Row]]] = {
    "http": run_http,
    "database": run_database,
    "cache": run_cache,
    "memory": run_memory,
}
PARSERS: Mapping[str, Callable[[list[str]], argparse.Namespace]] = {
    "http": overhead.parse_options,
    "database": paths.parse_options,
    "cache": caches.parse_options,
    "memory": memory.parse_options,
}


def summary(rows: list[Row], options: argparse.Namespace, seconds: float) -> None:
    """One table of every figure; the load average says how busy the machine was."""
    took, load_average = round(seconds), os.getloadavg()[0]
    print()
    print(
        f"summary: {options.rounds} rounds of {options.seconds} s at {options.connections} "
        f"connections; memory over {options.requests:,} requests after {options.warm_up:,}; "
        f"took {took // 60} min {took % 60} s; load average {load_average:.1f} at the end"
    )
    lines = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    for line in lines:
        padded = (
            text.rjust(width) if column == RATIO else text.ljust(width)
            for column, (text, width) in enumerate(zip(line, widths, strict=True))
        )
        print("  " + "  ".join(padded).rstrip())


def cells(row: Row) -> tuple[str, str, str, str, str, str]:
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
    return row.part, row.figure, row.value, ratio, row.target, row.outcome


if __name__ == "__main__":
    sys.exit(main())
