"""Database paths of the generated service against a bare FastAPI + SQLAlchemy app.

For each database (SQLite and PostgreSQL), the service is generated with that database,
installed into a fresh virtual environment, and served beside a bare FastAPI app that
runs the same queries on the same engine, driver, table shape and pool, in the same
environment under the same uvicorn flags. Two paths are loaded with wrk in alternating
rounds, and each is reported as a ratio to the bare app's:

- ``GET /items/{id}`` with the cache bypassed: the service runs with the cache's TTL
  at 0, so every read misses, reaches the database and stores nothing (checked before
  the load: a row changed behind the service's back must show in the next read). Each
  request reads another row, walking rows copied in the database from one item (as
  ``cache_paths.py`` does), so no two requests in flight read the same item: concurrent
  misses of one key would share one load (singleflight), and the service's
  ``cache_events_total`` is read around each round to show every read loaded its row;
- ``POST /items``: a new item per request, authenticated with a bearer token (a user
  registered and logged in once).

    uv run python bench/database_paths.py [--seconds 5] [--rounds 3] [--connections 32]

PostgreSQL runs in two databases the bench creates and drops itself (the service's, the
bare apps'), on the server named by ``--postgres-url``. Each run is bounded by
``--seconds`` and ``--rounds``, talks only to 127.0.0.1 and needs ``wrk``
(Debian/Ubuntu: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import copier

if TYPE_CHECKING:  # mypy names the modules by their path from the repository root
    from bench import cache_paths as caches
    from bench import http_overhead as overhead
else:  # the script's own directory is on sys.path
    import cache_paths as caches  # imports this module back: use it only inside functions
    import http_overhead as overhead

PACKAGE, PREFIX, REPO_ROOT = overhead.PACKAGE, overhead.PREFIX, overhead.REPO_ROOT
DATABASES = ("sqlite", "postgresql")
DIALECT_SLOT = (
    "template/src/{{{{package_name}}}}/adapters/{{% if database == '{}' %}}dialect.py{{% endif %}}"
)
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SERVER_POOL = {"pool_size": 10, "max_overflow": 10}
"""The pool of a database server, set on the service and the bare app alike."""
BARE = "bare"
BARE_PRE_PING = "bare + pre-ping"
SERVICE = "service"
GET, POST = "GET /items/{id}", "POST /items"
ITEM_BODY = {"name": "bench", "description": "a row of the shape the service stores"}
ITEMS_PER_SECOND = 2_500
"""Rows the GET walks per second of a round: each request of a round reads another row
unless an app serves more than this (then it walks them again, never two at once)."""
BARE_APP = """\
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, Index, String, Uuid, event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class ItemRow(Base):
    __tablename__ = "item"
    __table_args__ = (Index("ix_item_owner", "owner_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ItemCreate(BaseModel):
    name: str
    description: str | None = None


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class Liveness(BaseModel):
    status: Literal["ok"]


def _pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_app() -> FastAPI:
    options = json.loads(os.environ["BARE_ENGINE_OPTIONS"])
    engine = create_async_engine(os.environ["BARE_DATABASE_URL"], **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _pragmas)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health/live")
    async def live() -> Liveness:
        return Liveness(status="ok")

    @app.post("/items", status_code=201)
    async def create_item(body: ItemCreate) -> ItemRead:
        now = datetime.now(UTC)
        row = ItemRow(
            id=uuid.uuid4(),
            owner_id="bench",
            name=body.name,
            description=body.description,
            version=1,
            created_at=now,
            updated_at=now,
        )
        async with sessions.begin() as session:
            session.add(row)
        return ItemRead.model_validate(row)

    @app.get("/items/{item_id}")
    async def get_item(item_id: uuid.UUID) -> ItemRead:
        async with sessions.begin() as session:
            row = await session.get(ItemRow, item_id)
        if row is None:
            raise HTTPException(status_code=404)
        return ItemRead.model_validate(row)

    return app
"""
SQL_SCRIPT = """\
import asyncio, json, sys, uuid
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

async def main(url: str, sql: str, params: dict, uuids: list) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    statement = text(sql).bindparams(*(bindparam(name, type_=Uuid()) for name in uuids))
    values = {name: uuid.UUID(value) if name in uuids else value for name, value in params.items()}
    try:
        async with engine.connect() as connection:
            await connection.execute(statement, values)
    finally:
        await engine.dispose()

request = json.loads(sys.argv[1])
asyncio.run(main(request["url"], request["sql"], request["params"], request["uuids"]))
"""
POST_SCRIPT = """\
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass(frozen=True, slots=True, eq=False)  # each target is its own key
class Target:
    database: str
    path: str
    """``GET /items/{id}`` or ``POST /items``: the row of the report."""
    app: str
    url: str
    pid: int
    """The server's process, whose CPU time each round reads."""
    headers: Mapping[str, str] = field(default_factory=dict)
    script: Path | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One round: throughput, latency in milliseconds, server CPU time per request."""

    rate: float
    p50: float
    p99: float
    cpu_us: float


@dataclass(frozen=True, slots=True)
class Setup:
    """One database's generated project, its interpreter and the URLs its apps use."""

    database: str
    project: Path
    python: Path
    service_url: str
    bare_url: str
    engine_options: Mapping[str, object]
    service_env: Mapping[str, str]


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    targets, results = run(options)
    report(targets, results, options.connections)
    return 0


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked; ``databases`` becomes the list of names to measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    overhead.add_load_options(parser)
    parser.add_argument(
        "--databases",
        default=",".join(DATABASES),
        help="comma-separated, from: " + ", ".join(DATABASES),
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="a PostgreSQL server on loopback; the bench makes and drops its own database there",
    )
    parser.add_argument(
        "--pre-ping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also serve a bare app with pool_pre_ping=True, as the service's engine has",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    options = parser.parse_args(argv)
    if not (1 <= options.seconds <= 60 and 1 <= options.rounds <= 10):
        parser.error("keep runs bounded: 1 ≤ --seconds ≤ 60 and 1 ≤ --rounds ≤ 10")
    databases = [name.strip() for name in options.databases.split(",") if name.strip()]
    for database in databases:
        if database not in DATABASES:
            parser.error(f"unknown database {database!r}; choose from {', '.join(DATABASES)}")
        if not (REPO_ROOT / DIALECT_SLOT.format(database)).exists():
            parser.error(f"the template has no {database} dialect yet; leave it out of --databases")
    if urllib.parse.urlsplit(options.postgres_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--postgres-url must name a server on loopback")
    if shutil.which("wrk") is None:
        parser.error("wrk is needed (apt-get install wrk)")
    options.databases = databases
    return options


def run(options: argparse.Namespace) -> tuple[list[Target], dict[Target, list[Sample]]]:
    """Generate, install and serve each database's apps, then load every path."""
    workdir = Path(tempfile.mkdtemp(prefix="slipway-dbbench-"))
    try:
        with ExitStack() as stack:
            targets = [
                target
                for database in options.databases
                for target in stack.enter_context(serve(database, workdir, options))
            ]
            results = load_in_rounds(targets, options)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return targets, results


@contextmanager
def serve(database: str, workdir: Path, options: argparse.Namespace) -> Iterator[list[Target]]:
    """Generate, install and serve one database's service and bare app; yield their paths."""
    project = generate(workdir / database, database)
    python = overhead.install(project)
    (project / "bare_db_app.py").write_text(BARE_APP)
    script = workdir / "post.lua"
    script.write_text(POST_SCRIPT.format(body=json.dumps(json.dumps(ITEM_BODY))))
    items = ITEMS_PER_SECOND * options.seconds
    with ExitStack() as stack:
        setup = stack.enter_context(database_setup(database, project, python, options))
        bare_apps = {BARE: {**setup.engine_options}}
        if options.pre_ping:
            bare_apps[BARE_PRE_PING] = {**setup.engine_options, "pool_pre_ping": True}
        gets: list[Target] = []
        posts: list[Target] = []
        bare_reads: tuple[str, Path] | None = None  # the bare apps share their rows
        for app, engine_options in bare_apps.items():
            env = {
                "BARE_DATABASE_URL": setup.bare_url,
                "BARE_ENGINE_OPTIONS": json.dumps(engine_options),
            }
            port, pid = stack.enter_context(server(setup, "bare_db_app:create_app", env))
            base = f"http://127.0.0.1:{port}"
            if bare_reads is None:
                reads = workdir / f"read-{database}-bare.lua"
                bare_reads = seed(setup, setup.bare_url, base, {}, items, reads), reads
            path, reads = bare_reads
            gets.append(Target(database, GET, app, base + path, pid, script=reads))
            posts.append(Target(database, POST, app, f"{base}/items", pid, script=script))
        factory = f"{PACKAGE}.app:create_app"
        port, pid = stack.enter_context(server(setup, factory, setup.service_env))
        base = f"http://127.0.0.1:{port}"
        headers = bearer(base)
        uncached_item(setup, base, headers)
        reads = workdir / f"read-{database}-service.lua"
        path = seed(setup, setup.service_url, base, headers, items, reads)
        gets.append(Target(database, GET, SERVICE, base + path, pid, headers, reads))
        posts.append(Target(database, POST, SERVICE, f"{base}/items", pid, headers, script))
        yield gets + posts


def generate(project: Path, database: str) -> Path:
    """The service with ``database`` and every other answer at its default (working tree)."""
    print(f"generating the service with database={database} into {project}", flush=True)
    copier.run_copy(
        str(REPO_ROOT),
        project,
        data={"project_name": "Bench Service", "package_name": PACKAGE, "database": database},
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return project


@contextmanager
def database_setup(
    database: str, project: Path, python: Path, options: argparse.Namespace
) -> Iterator[Setup]:
    """Where each app keeps its rows: two SQLite files, or one throwaway PostgreSQL database."""
    base_env = {
        f"{PREFIX}CACHE__TTL_SECONDS": "0",  # every read misses, and nothing is stored
        f"{PREFIX}DATABASE__MIGRATE_ON_START": "true",
    }
    if database == "sqlite":
        yield Setup(
            database,
            project,
            python,
            service_url=f"sqlite+aiosqlite:///{project / 'service.db'}",
            bare_url=f"sqlite+aiosqlite:///{project / 'bare.db'}",
            engine_options={},  # SQLAlchemy's defaults, as the SQLite dialect leaves them
            service_env=base_env,
        )
        return
    name = f"slipway_bench_{secrets.token_hex(4)}"
    with (
        throwaway_database(python, options.postgres_url, name) as service_url,
        throwaway_database(python, options.postgres_url, f"{name}_bare") as bare_url,
    ):
        yield Setup(
            database,
            project,
            python,
            service_url=service_url,
            bare_url=bare_url,
            engine_options=SERVER_POOL,
            service_env={
                **base_env,
                f"{PREFIX}DATABASE__PASSWORD": "",  # the loopback server trusts its clients
                f"{PREFIX}DATABASE__POOL_SIZE": str(SERVER_POOL["pool_size"]),
                f"{PREFIX}DATABASE__MAX_OVERFLOW": str(SERVER_POOL["max_overflow"]),
            },
        )


@contextmanager
def throwaway_database(python: Path, admin_url: str, name: str) -> Iterator[str]:
    """A PostgreSQL database made on ``admin_url``'s server and dropped however the run
    ends; yields its URL."""
    run_sql(python, admin_url, f'CREATE DATABASE "{name}"')
    print(f"created database {name}", flush=True)
    try:
        yield urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        run_sql(python, admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}", flush=True)


def run_sql(
    python: Path,
    url: str,
    sql: str,
    params: Mapping[str, str] | None = None,
    uuids: tuple[str, ...] = (),
) -> None:
    """One statement in autocommit, through the project's own SQLAlchemy and driver."""
    request = {"url": url, "sql": sql, "params": dict(params or {}), "uuids": list(uuids)}
    subprocess.run([str(python), "-c", SQL_SCRIPT, json.dumps(request)], check=True, timeout=60)


@contextmanager
def server(setup: Setup, factory: str, extra_env: Mapping[str, str]) -> Iterator[tuple[int, int]]:
    """Serve ``factory`` from the project's environment; yield its port and process id."""
    port = overhead.free_port()
    env = {
        **os.environ,
        f"{PREFIX}ENVIRONMENT": "production",
        f"{PREFIX}AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        f"{PREFIX}AUTH__ACCESS_TOKEN_TTL_SECONDS": "3600",
        f"{PREFIX}DATABASE__URL": setup.service_url,
        f"{PREFIX}LOGGING__FORMAT": "json",
        # One client address sends all the load: lift its limit out of the way.
        f"{PREFIX}HTTP__RATE_LIMIT_PER_SECOND": "1e9",
        f"{PREFIX}HTTP__RATE_LIMIT_BURST": "1000000000",
        "PYTHONPATH": str(setup.project),
        **extra_env,
    }
    command = [str(setup.python), "-m", "uvicorn", "--factory", factory, "--port", str(port)]
    log = open(setup.project / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*command, *overhead.UVICORN_FLAGS],
        cwd=setup.project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        overhead.wait_until_live(port, process)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def bearer(base: str) -> dict[str, str]:
    """Register a user and log in once: the ``Authorization`` header for every request."""
    email, password = f"bench-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
    overhead.call(f"{base}/auth/register", json_body={"email": email, "password": password})
    form = {"username": email, "password": password, "grant_type": "password"}
    token = overhead.call(f"{base}/auth/token", form_body=form)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def uncached_item(setup: Setup, base: str, headers: Mapping[str, str]) -> None:
    """Create an item and prove its reads bypass the cache: a change made in the
    database behind the service's back must show in the very next read."""
    item = overhead.call(f"{base}/items", json_body=ITEM_BODY, headers=headers)
    url = f"{base}/items/{item['id']}"
    overhead.call(url, headers=headers)  # with a cache in the way, this read would fill it
    renamed = f"changed-{secrets.token_hex(4)}"
    run_sql(
        setup.python,
        setup.service_url,
        "UPDATE item SET name = :name WHERE id = :id",
        {"name": renamed, "id": item["id"]},
        uuids=("id",),
    )
    if overhead.call(url, headers=headers)["name"] != renamed:
        raise RuntimeError("the cache answered the item GET: it is not bypassed")


def seed(
    setup: Setup,
    database_url: str,
    base: str,
    headers: Mapping[str, str],
    items: int,
    script: Path,
) -> str:
    """One item through the API, copied in the database into ``items`` rows, and the wrk
    script that reads them in turn; returns the first row's path (the script sets each
    request's own)."""
    item = overhead.call(f"{base}/items", json_body=ITEM_BODY, headers=headers)
    id_prefix = str(uuid.uuid4())[:28]  # row n is <id_prefix><n as 8 hex digits>
    print(f"copying an item into {items:,} rows at {database_url}", flush=True)
    request = {
        "url": database_url,
        "source": item["id"],
        "ids": [f"{id_prefix}{n:08x}" for n in range(items)],
    }
    subprocess.run(
        [str(setup.python), "-c", caches.SEED_SCRIPT],
        input=json.dumps(request),
        text=True,
        check=True,
        timeout=600,
    )
    walk = {"first": 0, "start": 0, "step": 1, "span": items}
    script.write_text(caches.READ_SCRIPT.format(prefix=id_prefix, **walk))
    return f"/items/{id_prefix}{0:08x}"


def load_in_rounds(
    targets: list[Target], options: argparse.Namespace
) -> dict[Target, list[Sample]]:
    results: dict[Target, list[Sample]] = {target: [] for target in targets}
    for target in targets:  # warm up every path before measuring
        run_wrk(target, min(2, options.seconds), options.connections)
    for round_number in range(1, options.rounds + 1):
        for target in targets:
            sample = run_checked(target, options.seconds, options.connections)
            results[target].append(sample)
            print(
                f"round {round_number}: {target.database:<10} {target.path:<15} {target.app:<15} "
                f"{sample.rate:>7,.0f} req/s {sample.cpu_us:>7,.0f} µs CPU/request",
                flush=True,
            )
    return results


def run_checked(target: Target, seconds: int, connections: int) -> Sample:
    """``run_wrk``; on the service's GET, also check that every read loaded its row (none
    answered by the cache, none sharing another request's load)."""
    if (target.app, target.path) != (SERVICE, GET):
        return run_wrk(target, seconds, connections)
    base = target.url.partition("/items/")[0]
    before = caches.settled_cache_events(base)
    sample = run_wrk(target, seconds, connections)
    reads = caches.settled_cache_events(base) - before
    if reads["miss"] != reads.total():
        print(
            f"  note: of {reads.total():,} reads on {target.database} {target.app}, "
            f"{reads['hit']:,} were cached and {reads['coalesced']:,} shared another's load",
            flush=True,
        )
    return sample


def run_wrk(target: Target, seconds: int, connections: int) -> Sample:
    """Load one path for ``seconds``; read the server's CPU time around the run."""
    headers = [arg for name, value in target.headers.items() for arg in ("-H", f"{name}: {value}")]
    script = ["-s", str(target.script)] if target.script else []
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    cpu_before = cpu_seconds(target.pid)
    output = subprocess.run(
        [*command, *headers, *script, target.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = cpu_seconds(target.pid) - cpu_before
    if re.search(r"Non-2xx or 3xx responses: \d+", output):
        raise RuntimeError(f"non-2xx responses from {target.app} {target.path}:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    done = re.search(r"(\d+) requests in", output)
    if rate is None or done is None or not int(done.group(1)):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    timeouts = re.search(r"timeout (\d+)", output)
    if timeouts and int(timeouts.group(1)):
        print(f"  note: {timeouts.group(1)} requests timed out on {target.app}", flush=True)
    latency = {
        pct: float(value) * overhead._UNIT_MS[unit]
        for pct, value, unit in overhead._LATENCY.findall(output)
    }
    cpu_us = cpu / int(done.group(1)) * 1e6
    return Sample(float(rate.group(1)), latency["50"], latency["99"], cpu_us)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (and its threads: aiosqlite's too), Linux."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(targets: list[Target], results: Mapping[Target, list[Sample]], connections: int) -> None:
    """Medians per path and app, each as a ratio to the bare app's on the same database."""
    rounds = len(next(iter(results.values())))
    print()
    print(f"median of {rounds} rounds at {connections} connections; ratios to the bare app")
    print(
        f"  {'database':<10} {'path':<15} {'app':<15} {'req/s':>7} {'ratio':>5} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7} {'ratio':>5}"
    )
    medians = {target: median(results[target]) for target in targets}
    bare = {(t.database, t.path): medians[t] for t in targets if t.app == BARE}
    for target in targets:
        sample, floor = medians[target], bare[(target.database, target.path)]
        print(
            f"  {target.database:<10} {target.path:<15} {target.app:<15} {sample.rate:>7,.0f} "
            f"{sample.rate / floor.rate:>5.2f} {sample.p50:>7.1f} {sample.p99:>7.1f} "
            f"{sample.cpu_us:>7,.0f} {sample.cpu_us / floor.cpu_us:>5.2f}"
        )
    print()
    print("  req/s ratio: the service's throughput over the bare app's (higher is better);")
    print("  CPU ratio: the server process's CPU time per request over the bare app's (lower")
    print("  is better; steadier than throughput when other work shares the machine).")


def median(samples: list[Sample]) -> Sample:
    """Each figure's median across rounds, taken separately."""
    return Sample(
        statistics.median(sample.rate for sample in samples),
        statistics.median(sample.p50 for sample in samples),
        statistics.median(sample.p99 for sample in samples),
        statistics.median(sample.cpu_us for sample in samples),
    )


if __name__ == "__main__":
    sys.exit(main())
