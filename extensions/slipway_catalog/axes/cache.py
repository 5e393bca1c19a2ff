"""Where cache-aside reads are kept."""

from ..model import Axis, Choice, Contract, Resource, Setting, SettingsGroup

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
            description="Cache-aside for reads.",
            fields=(
                Setting("ttl_seconds", "float", "60.0", "How long an entry lives."),
                Setting(
                    "ttl_jitter_ratio",
                    "float",
                    "0.1",
                    "Spread expiry by up to this fraction so entries do not expire together.",
                ),
                Setting("max_entries", "int", "10_000", "Least recently used entries go first."),
            ),
        ),
    ),
    resources=(
        Resource(
            name="cache",
            module=".adapters.memory_cache",
            opener="open_memory_cache",
            type_module=".domain.ports",
            type_name="Cache",
        ),
    ),
    docs=(
        "Item reads go through cache-aside backed by a bounded in-process TTL cache "
        "(cachetools). Writes invalidate; expiry carries jitter. Each worker process has "
        "its own cache, so keep `workers=1` or pick a shared cache when you scale out."
    ),
)

CACHE = Axis(
    name="cache",
    question="Which cache backs cache-aside reads?",
    choices=(MEMORY,),
    default=("memory",),
    contract=Contract(resource="cache", port=".domain.ports:Cache"),
)
