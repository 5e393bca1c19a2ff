"""Where cache-aside reads are kept, and how far a rate limit reaches.

Every choice opens the same two resources: ``cache``, the shared cache-aside policy
(``adapters/cache_aside.py``: jittered TTLs, negative entries, one load per key at a
time, fail-open) over the choice's own store, and ``rate_limiter``. ``none`` and
``memory`` limit each process on its own (``adapters/local_rate_limiter.py``); a cache
server shares one limit between every replica, atomically on the server.
"""

from ..model import Axis, Choice, Contract, Resource, Service, Setting, SettingsGroup

CACHE_PORT = ".domain.ports"


def cache_resource(
    module: str, opener: str, *, arguments: str = "settings", server: bool
) -> Resource:
    """The ``cache`` resource: a server's is pinged by readiness, which it only degrades."""
    return Resource(
        name="cache",
        module=module,
        opener=opener,
        type_module=CACHE_PORT,
        type_name="Cache",
        arguments=arguments,
        readiness=server,
        degrades=server,
        counters=True,
    )


def rate_limiter_resource(module: str, opener: str, arguments: str = "settings") -> Resource:
    return Resource(
        name="rate_limiter",
        module=module,
        opener=opener,
        type_module=CACHE_PORT,
        type_name="RateLimiter",
        arguments=arguments,
    )


LOCAL_RATE_LIMITER = rate_limiter_resource(
    ".adapters.local_rate_limiter", "open_local_rate_limiter"
)


def server_resources(server: str, module: str, client: tuple[str, str]) -> tuple[Resource, ...]:
    """A cache server's three resources, by one naming rule: its client ``<server>``
    (``client`` is its type, as ``(module, name)``) opened by ``open_<server>``, then
    the cache and the rate limiter, both on that client."""
    arguments = f"settings, {server}"
    return (
        Resource(
            name=server,
            module=module,
            opener=f"open_{server}",
            type_module=client[0],
            type_name=client[1],
        ),
        cache_resource(module, f"open_{server}_cache", arguments=arguments, server=True),
        rate_limiter_resource(module, f"open_{server}_rate_limiter", arguments=arguments),
    )


TTL_FIELDS = (
    Setting("ttl_seconds", "float", "60.0", "How long an entry lives."),
    Setting(
        "ttl_jitter_ratio",
        "float",
        "0.1",
        "Spread expiry by up to this fraction so entries do not expire together.",
    ),
    Setting(
        "negative_ttl_seconds",
        "float",
        "5.0",
        "How long a lookup of a missing record is remembered as missing.",
    ),
)


def server_settings(url: str, *connection_fields: Setting) -> SettingsGroup:
    """``CacheSettings`` for a cache server: where, the entries, and how failure looks."""
    return SettingsGroup(
        name="cache",
        class_name="CacheSettings",
        description="The cache server behind cache-aside reads and the shared rate limit.",
        fields=(
            Setting("url", "str", f'"{url}"', "Where the cache server listens."),
            Setting(
                "key_prefix",
                "str",
                '"{project_slug}"',
                "Starts every key, so services sharing a server never read each other's.",
            ),
            *TTL_FIELDS,
            Setting(
                "timeout_seconds",
                "float",
                "0.25",
                "A cache call slower than this is abandoned; the request reads the database.",
            ),
            Setting(
                "connect_timeout_seconds",
                "float",
                "1.0",
                "How long opening a connection may take before the server counts as down.",
            ),
            *connection_fields,
            Setting(
                "warn_interval_seconds",
                "float",
                "60.0",
                "While the server is down, log the warning at most this often.",
            ),
        ),
    )


SHARED_TEST_SETTINGS = (("CACHE__KEY_PREFIX", "test-{run_id}"),)
"""Each test run's keys (and rate-limit counters) apart from every other run's."""

NONE = Choice(
    value="none",
    label="None (every read goes to the database)",
    description="No cache: reads go to the repository; each process limits rates on its own.",
    files=("src/{package_name}/adapters/no_cache.py",),
    resources=(
        cache_resource(".adapters.no_cache", "open_no_cache", server=False),
        LOCAL_RATE_LIMITER,
    ),
    docs=(
        "No cache: every item read goes to the repository (concurrent reads of one "
        "item in a process still share one query). The rate limit is counted by each "
        "process on its own, so N replicas allow N times the configured rate."
    ),
)

MEMORY = Choice(
    value="memory",
    label="In-process memory (no server)",
    description="A bounded in-process TTL cache; each worker process keeps its own.",
    files=(
        "src/{package_name}/adapters/memory_cache.py",
        "tests/unit/test_memory_cache.py",
    ),
    dependencies=("cachetools>=5.5",),
    dev_dependencies=("types-cachetools>=5.5",),
    settings=(
        SettingsGroup(
            name="cache",
            class_name="CacheSettings",
            description="Cache-aside for reads, in this process's memory.",
            fields=(
                *TTL_FIELDS,
                Setting("max_entries", "int", "10_000", "Least recently used entries go first."),
            ),
        ),
    ),
    resources=(
        cache_resource(".adapters.memory_cache", "open_memory_cache", server=False),
        LOCAL_RATE_LIMITER,
    ),
    docs=(
        "Item reads go through cache-aside backed by a bounded in-process TTL cache "
        "(cachetools): writes invalidate, expiry carries jitter, a missing item is "
        "remembered briefly, and concurrent misses of one item share one query. Each "
        "worker process has its own cache, and counts the rate limit on its own: N "
        "replicas allow N times the configured rate. Pick `redis` or `memcached` to "
        "share both between replicas."
    ),
)

REDIS = Choice(
    value="redis",
    label="Redis (server, shared between replicas)",
    description="Redis through redis-py's asyncio client: a shared cache and rate limit.",
    files=(
        "src/{package_name}/adapters/redis_cache.py",
        "tests/unit/test_redis_cache.py",
    ),
    dependencies=("redis>=5.2",),
    settings=(
        server_settings(
            "redis://127.0.0.1:6379/0",
            Setting(
                "password",
                "SecretStr",
                'SecretStr("")',
                "Password (AUTH) for the server; empty when it needs none.",
                secret=True,
                example="",
                imports=("from pydantic import SecretStr",),
            ),
            Setting("max_connections", "int", "50", "Connections the pool may open."),
        ),
    ),
    services=(
        Service(
            name="redis",
            image="redis:7-alpine",
            port=6379,
            healthcheck=("redis-cli", "ping"),
            url="redis://{host}:{port}/0",
            url_env="CACHE__URL",
        ),
    ),
    resources=server_resources("redis", ".adapters.redis_cache", ("redis.asyncio", "Redis")),
    test_settings=SHARED_TEST_SETTINGS,
    docs=(
        "Item reads go through cache-aside on Redis (redis-py's asyncio client, a "
        "bounded pool, `rediss://` for TLS and a password setting): values are JSON "
        "under `<key_prefix>:item:v<N>:<id>`, writes invalidate, expiry carries "
        "jitter, a missing item is remembered briefly and concurrent misses of one "
        "item in a process share one query. When Redis is down or slower than "
        "`timeout_seconds`, reads go to the database, a warning is logged at most once "
        "per `warn_interval_seconds` and `/health/ready` reports the cache degraded "
        "(still 200). The rate limit is one token bucket per client shared by every "
        "replica (a Lua script, atomic on the server); while Redis is down each "
        "process limits on its own. Compose runs `redis:7`."
    ),
)

MEMCACHED = Choice(
    value="memcached",
    label="memcached (server, shared between replicas)",
    description="memcached through aiomcache: a shared cache and rate limit.",
    files=(
        "src/{package_name}/adapters/memcached_cache.py",
        "tests/unit/test_memcached_cache.py",
    ),
    # Its pool is extended (a connect timeout, no connection reused after a cut-short
    # command): kept to the release line that is tested.
    dependencies=("aiomcache>=0.8,<0.9",),
    settings=(
        server_settings(
            "memcached://127.0.0.1:11211",
            Setting("pool_size", "int", "10", "Connections the pool may open."),
        ),
    ),
    services=(
        Service(
            name="memcached",
            image="memcached:1.6-alpine",
            port=11211,
            url="memcached://{host}:{port}",
            url_env="CACHE__URL",
        ),
    ),
    resources=server_resources("memcached", ".adapters.memcached_cache", ("aiomcache", "Client")),
    test_settings=SHARED_TEST_SETTINGS,
    docs=(
        "Item reads go through cache-aside on memcached (aiomcache, a bounded pool): "
        "values are JSON under `<key_prefix>:item:v<N>:<id>`, writes invalidate, expiry "
        "carries jitter, a missing item is remembered briefly and concurrent misses of "
        "one item in a process share one query. When memcached is down or slower than "
        "`timeout_seconds`, reads go to the database, a warning is logged at most once "
        "per `warn_interval_seconds` and `/health/ready` reports the cache degraded "
        "(still 200). The rate limit is one token bucket per client shared by every "
        "replica (compare-and-swap on the server); while memcached is down each process "
        "limits on its own; the buckets are timed by the replicas' clocks, so keep them "
        "NTP-synced. memcached has no authentication: keep it on a private "
        "network. Compose runs `memcached:1.6`."
    ),
)

CACHE = Axis(
    name="cache",
    question="Which cache backs cache-aside reads (and the rate limit)?",
    choices=(MEMORY, REDIS, MEMCACHED, NONE),
    default=("memory",),
    contract=Contract(resource="cache", port=".domain.ports:Cache"),
)
