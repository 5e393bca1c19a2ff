"""The generated service's item GET answered by a cache hit against a cache miss.

For each cache choice (``memory``, ``redis``, ``memcached``, and ``none`` for
reference), the service is generated with that cache, installed into a fresh virtual
environment and served by one uvicorn worker, with its settings as deployed (default
TTLs) and the rate limit lifted. ``GET /items/{id}`` is loaded with wrk in alternating
rounds, two ways, side by side in one run:

- **hit**: every request reads one item, read once before the load so the cache holds
  it (the default TTL of 60 s outlives the run's rounds, give or take one reload);
- **miss**: every request reads another item, never read before, so the cache has no
  entry for it: the service asks the store, reads the row, and stores the entry, as a
  cold read does in production.

Why distinct items rather than a tiny TTL on one item: it changes no setting, so hit
and miss are measured on the same process; a tiny TTL is not honest on every store
(memcached counts expiry in whole seconds, Redis in milliseconds, and an entry written
a moment ago still answers the next reads), and concurrent misses of one key share one
load (singleflight), so one hot item under load is mostly coalesced reads, not misses.
Before the load the bench copies one item, created through the API by a registered
user, into as many rows as the miss rounds can read (``--items``), straight into the
database; both paths send the same wrk Lua script, only the id it walks differs. Each
round reads the service's ``cache_events_total`` around the run, so the report shows
what each path really was (the share answered from the cache, and served by another
request's load).

    uv run python bench/cache_paths.py [--seconds 5] [--rounds 3] [--connections 32]
    uv run python bench/cache_paths.py --caches memory,redis --database postgresql

Redis and memcached are those on 127.0.0.1 (``--redis-url``, ``--memcached-url``); a
choice whose server does not answer is skipped with a message. Keys carry a unique
prefix and expire by themselves. PostgreSQL (``--database postgresql``) runs in a
database the bench creates and drops. Every run is bounded by ``--seconds`` and
``--rounds``, talks only to 127.0.0.1 and needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import copier

if TYPE_CHECKING:  # mypy names the modules by their path from the repository root
    from bench import database_paths as paths
    from bench import http_overhead as overhead
else:  # the script's own directory is on sys.path
    import database_paths as paths
    import http_overhead as overhead

PACKAGE, PREFIX, REPO_ROOT = overhead.PACKAGE, overhead.PREFIX, overhead.REPO_ROOT
CACHES = ("memory", "redis", "memcached", "none")
SERVER_CACHES = {
    "redis": ("redis://127.0.0.1:6379/0", 6379),
    "memcached": ("memcached://127.0.0.1:11211", 11211),
}
"""Each cache server's default URL and port; the service reaches it through ``CACHE__URL``."""
PROBES = {"redis": (b"PING\r\n", b"+PONG"), "memcached": (b"version\r\n", b"VERSION")}
"""What each cache server is sent to show it answers, and how its answer starts."""
HIT, MISS = "hit", "miss"
HIT_TARGET = 2.0
"""On SQLite, a hit at least this many times a miss's requests per second."""
ITEMS_PER_SECOND = 2_500
"""Rows made per second of miss load by default: above what one worker serves misses at."""
SETTLE_SECONDS, SETTLE_ATTEMPTS = 0.2, 50
"""After a run, how often the cache's counts are read until they stop moving."""
EVENTS = ("hit", "miss", "coalesced")
"""The cache's counts of item reads: each read is exactly one of these."""
_EVENT = re.compile(r'^cache_events_total\{event="(\w+)"\} ([\d.e+]+)$', re.MULTILINE)
SEED_SCRIPT = """\
import asyncio, json, sys, uuid
from sqlalchemy import Uuid, bindparam, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

async def main(url: str, source: str, ids: list) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            columns = await connection.run_sync(
                lambda sync: [column["name"] for column in inspect(sync).get_columns("item")]
            )
            copied = ", ".join(name for name in columns if name != "id")
            statement = text(
                f"INSERT INTO item (id, {copied}) SELECT :new_id, {copied} FROM item WHERE id = :source"
            ).bindparams(bindparam("new_id", type_=Uuid()), bindparam("source", type_=Uuid()))
            rows = [{"new_id": uuid.UUID(new), "source": uuid.UUID(source)} for new in ids]
            await connection.execute(statement, rows)
    finally:
        await engine.dispose()

request = json.loads(sys.stdin.read())
asyncio.run(main(request["url"], request["source"], request["ids"]))
"""
READ_SCRIPT = """\
-- Reads /items/<prefix><n>: n = first + (start + sent * step) % span, in hex.
local prefix, first, start, step, span = "{prefix}", {first}, {start}, {step}, {span}
local sent = 0
request = function()
  local n = first + (start + sent * step) % span
  sent = sent + 1
  return wrk.format(nil, string.format("/items/%s%08x", prefix, n))
end
"""


@dataclass(slots=True)
class Served:
    """One cache choice's running service and the items its two paths read."""

    cache: str
    base: str
    pid: int
    headers: Mapping[str, str]
    id_prefix: str
    """Item ``n`` is ``<id_prefix><n as 8 hex digits>``: 0 is the hit's, 1.. the misses'."""
    items: int
    next_miss: int = 0
    """How many of the miss items have been read so far."""


@dataclass(frozen=True, slots=True)
class Round:
    """One wrk run: its figures, and what the cache counted during it."""

    sample: paths.Sample
    events: Mapping[str, int]


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    results = run(options)
    if results is None:
        return 1
    report(results, options)
    return 0


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked; ``caches`` becomes the list of choices asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    overhead.add_load_options(parser)
    parser.add_argument(
        "--caches", default=",".join(CACHES), help="comma-separated, from: " + ", ".join(CACHES)
    )
    parser.add_argument("--database", choices=paths.DATABASES, default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=paths.DEFAULT_POSTGRES_URL,
        help="a PostgreSQL server on loopback; the bench makes and drops its own database there",
    )
    parser.add_argument("--redis-url", default=SERVER_CACHES["redis"][0])
    parser.add_argument("--memcached-url", default=SERVER_CACHES["memcached"][0])
    parser.add_argument(
        "--items",
        type=int,
        help=f"rows the miss path reads, each once (default: {ITEMS_PER_SECOND:,} per second "
        "of miss load)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    options = parser.parse_args(argv)
    if not (1 <= options.seconds <= 60 and 1 <= options.rounds <= 10):
        parser.error("keep runs bounded: 1 ≤ --seconds ≤ 60 and 1 ≤ --rounds ≤ 10")
    caches = [name.strip() for name in options.caches.split(",") if name.strip()]
    if unknown := sorted(set(caches) - set(CACHES)):
        parser.error(f"unknown cache {', '.join(unknown)}; choose from {', '.join(CACHES)}")
    urls = {"redis": options.redis_url, "memcached": options.memcached_url}
    for url in (options.postgres_url, *urls.values()):
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            parser.error(f"{url} is not on loopback")
    if shutil.which("wrk") is None:
        parser.error("wrk is needed (apt-get install wrk)")
    if options.items is not None and options.items < 1:
        parser.error("--items must be at least 1")
    miss_seconds = min(2, options.seconds) + options.rounds * options.seconds
    options.items = options.items or ITEMS_PER_SECOND * miss_seconds
    options.caches = caches
    return options


def run(options: argparse.Namespace) -> dict[tuple[str, str], list[Round]] | None:
    """Serve each choice whose server answers and load both paths; ``None`` if none does."""
    urls = {"redis": options.redis_url, "memcached": options.memcached_url}
    caches = [cache for cache in options.caches if cache_server_answers(cache, urls.get(cache))]
    if not caches:
        print("no cache choice left to measure")
        return None

    workdir = Path(tempfile.mkdtemp(prefix="slipway-cachebench-"))
    try:
        with ExitStack() as stack:
            services = [
                stack.enter_context(serve(cache, urls.get(cache), workdir, options))
                for cache in caches
            ]
            results = load_in_rounds(services, options)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def cache_server_answers(cache: str, url: str | None) -> bool:
    """Whether ``cache`` needs no server, or its server answers on loopback."""
    if url is None:
        return True
    parts = urllib.parse.urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or SERVER_CACHES[cache][1])
    probe, answer = PROBES[cache]
    try:
        with socket.create_connection(address, timeout=2) as sock:
            sock.sendall(probe)
            reply = sock.recv(64)
    except OSError as error:
        print(f"skipping {cache}: no server answers at {address[0]}:{address[1]} ({error})")
        return False
    if not reply.startswith(answer):
        print(f"skipping {cache}: the server at {address[0]}:{address[1]} answered {reply!r}")
        return False
    return True


@contextmanager
def serve(
    cache: str, url: str | None, workdir: Path, options: argparse.Namespace
) -> Iterator[Served]:
    """Generate, install and serve the service with ``cache``; seed the items it reads."""
    project = generate(workdir / cache, cache, options.database)
    python = overhead.install(project)
    with paths.database_setup(options.database, project, python, options) as setup:
        env = {
            name: value
            for name, value in setup.service_env.items()
            if name != f"{PREFIX}CACHE__TTL_SECONDS"  # the default TTL, as deployed
        }
        if url is not None:
            env[f"{PREFIX}CACHE__URL"] = url
            env[f"{PREFIX}CACHE__KEY_PREFIX"] = f"bench-{secrets.token_hex(4)}"
        factory = f"{PACKAGE}.app:create_app"
        with paths.server(setup, factory, env) as (port, pid):
            base = f"http://127.0.0.1:{port}"
            headers = paths.bearer(base)
            served = Served(cache, base, pid, headers, str(uuid.uuid4())[:28], options.items)
            seed(setup, served)
            overhead.call(
                f"{base}/items/{item_id(served, 0)}", headers=headers
            )  # the hit's item, now cached
            yield served


def generate(project: Path, cache: str, database: str) -> Path:
    """The service with ``cache`` and ``database``, every other answer at its default."""
    print(f"generating the service with cache={cache} into {project}", flush=True)
    copier.run_copy(
        str(REPO_ROOT),
        project,
        data={
            "project_name": "Bench Service",
            "package_name": PACKAGE,
            "cache": cache,
            "database": database,
        },
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return project


def item_id(served: Served, n: int) -> str:
    return f"{served.id_prefix}{n:08x}"


def seed(setup: paths.Setup, served: Served) -> None:
    """One item through the API, copied in the database into ``items + 1`` rows."""
    item = overhead.call(f"{served.base}/items", json_body=paths.ITEM_BODY, headers=served.headers)
    print(f"copying an item into {served.items + 1:,} rows for {served.cache}", flush=True)
    request = {
        "url": setup.service_url,
        "source": item["id"],
        "ids": [item_id(served, n) for n in range(served.items + 1)],
    }
    subprocess.run(
        [str(setup.python), "-c", SEED_SCRIPT],
        input=json.dumps(request),
        text=True,
        check=True,
        timeout=600,
    )


def load_in_rounds(
    services: list[Served], options: argparse.Namespace
) -> dict[tuple[str, str], list[Round]]:
    """Warm-up, then ``rounds`` rounds of each choice's hit and miss paths in turn."""
    results: dict[tuple[str, str], list[Round]] = {
        (served.cache, path): [] for served in services for path in (HIT, MISS)
    }
    script = Path(tempfile.mkdtemp(prefix="slipway-cachebench-wrk-")) / "read.lua"
    try:
        for served in services:
            for path in (HIT, MISS):
                load(served, path, script, min(2, options.seconds), options.connections)
        for round_number in range(1, options.rounds + 1):
            for served in services:
                for path in (HIT, MISS):
                    result = load(served, path, script, options.seconds, options.connections)
                    results[(served.cache, path)].append(result)
                    print(
                        f"round {round_number}: {served.cache:<10} {path:<5} "
                        f"{result.sample.rate:>7,.0f} req/s "
                        f"{share(result.events, 'hit'):>4.0%} from the cache",
                        flush=True,
                    )
    finally:
        shutil.rmtree(script.parent, ignore_errors=True)
    return results


def load(served: Served, path: str, script: Path, seconds: int, connections: int) -> Round:
    """One wrk run of ``path``: the hit reads item 0 every time, the miss the next unread."""
    if path == HIT:
        walk = {"first": 0, "start": 0, "step": 0, "span": 1}
    else:
        walk = {"first": 1, "start": served.next_miss, "step": 1, "span": served.items}
    script.write_text(READ_SCRIPT.format(prefix=served.id_prefix, **walk))
    url = f"{served.base}/items/{item_id(served, 0)}"  # the script sets each request's path
    target = paths.Target("", path, served.cache, url, served.pid, served.headers, script)
    before = settled_cache_events(served.base)
    sample = paths.run_wrk(target, seconds, connections)
    events = settled_cache_events(served.base) - before
    if path == MISS:
        served.next_miss += events.total()
    return Round(sample, events)


def settled_cache_events(base: str) -> Counter[str]:
    """The cache's counts once the requests wrk left in flight are done: they would
    otherwise count in the next run, and the misses' next items would be theirs."""
    counts = cache_events(base)
    for _ in range(SETTLE_ATTEMPTS):
        time.sleep(SETTLE_SECONDS)
        previous, counts = counts, cache_events(base)
        if counts == previous:
            return counts
    raise RuntimeError(f"{base} still reads items {SETTLE_ATTEMPTS * SETTLE_SECONDS:g} s after wrk")


def cache_events(base: str) -> Counter[str]:
    """The service's counts of cache hits, misses and coalesced reads, from ``/metrics``."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        text = response.read().decode()
    counts = {event: int(float(value)) for event, value in _EVENT.findall(text)}
    if missing := [event for event in EVENTS if event not in counts]:
        raise RuntimeError(f"/metrics does not count cache {', '.join(missing)} events")
    return Counter({event: counts[event] for event in EVENTS})


def share(events: Mapping[str, int], event: str) -> float:
    total = sum(events.values())
    return events.get(event, 0) / total if total else 0.0


def report(results: Mapping[tuple[str, str], list[Round]], options: argparse.Namespace) -> None:
    """Medians per choice and path, what the cache counted, and each hit/miss ratio."""
    print()
    print(
        f"median of {options.rounds} rounds at {options.connections} connections, "
        f"{options.database}, one uvicorn worker"
    )
    print(
        f"  {'cache':<10} {'path':<5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU µs':>7} {'cached':>7} {'shared':>7}"
    )
    medians: dict[tuple[str, str], paths.Sample] = {}
    for (cache, path), rounds in results.items():
        sample = medians[(cache, path)] = paths.median([result.sample for result in rounds])
        events = sum((Counter(result.events) for result in rounds), Counter[str]())
        print(
            f"  {cache:<10} {path:<5} {sample.rate:>7,.0f} {sample.p50:>7.1f} {sample.p99:>7.1f} "
            f"{sample.cpu_us:>7,.0f} {share(events, 'hit'):>7.1%} "
            f"{share(events, 'coalesced'):>7.1%}"
        )
        if path == MISS and share(events, "hit") > 0.01:
            print(
                f"    the miss path read items already cached: raise --items (now {options.items:,})"
            )
    print()
    print("  cached: reads answered from the cache; shared: reads that waited on another")
    print("  request's load of the same item; the rest loaded the row. CPU µs: the server's")
    print("  CPU time per request.")
    print()
    print("ratios: req/s of a hit over a miss's, CPU µs per request of a miss over a hit's")
    print(f"  {'cache':<10} {'req/s':>5} {'CPU':>5}")
    for cache in dict.fromkeys(cache for cache, _ in results):
        hit, miss = medians[(cache, HIT)], medians[(cache, MISS)]
        ratio = hit.rate / miss.rate
        if cache == "none":
            verdict = "no cache: both paths read the database"
        elif options.database == "sqlite":
            verdict = f"target ≥ {HIT_TARGET:g} on SQLite: {overhead._met(ratio >= HIT_TARGET)}"
        else:
            verdict = f"(the target of {HIT_TARGET:g} is stated for SQLite)"
        print(f"  {cache:<10} {ratio:>5.2f} {miss.cpu_us / hit.cpu_us:>5.2f}  {verdict}")


if __name__ == "__main__":
    sys.exit(main())
