"""The shapes a slice contributes to the generated service.

A *choice* (say ``cache=memory``) never edits a shared file. It declares what it adds
to the shared models below, and one renderer per shared file iterates the merged list.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setting:
    """One field of a settings group, exposed as ``<PREFIX>_<GROUP>__<NAME>``."""

    name: str
    type: str
    default: str
    description: str
    secret: bool = False
    example: str | None = None
    """What ``.env.example`` shows; the default's literal when unset."""
    imports: tuple[str, ...] = ()
    """Import lines the field's type or default needs in ``settings.py``."""


@dataclass(frozen=True)
class SettingsGroup:
    """A settings class for one concern (``DatabaseSettings``), nested under ``name``."""

    name: str
    class_name: str
    description: str
    fields: tuple[Setting, ...]


@dataclass(frozen=True)
class Service:
    """A backing server the choice needs, declared once for every place that runs it.

    ``url`` is a template: each target supplies the host it reaches the server by
    (compose: the service's name; a CI job: ``127.0.0.1``; the template's tests: the
    loopback server or its ``SLIPWAY_<NAME>_URL``), and ``{port}`` is ``port``.
    """

    name: str
    image: str
    port: int
    environment: tuple[tuple[str, str], ...] = ()
    healthcheck: tuple[str, ...] = ()
    url: str = ""
    """The URL the service connects with, as ``scheme://user@{host}:{port}/db``."""
    url_env: str = ""
    """Env var (without the project prefix) that points the service at this server."""
    data: str = ""
    """Where the server keeps its data in the container; compose mounts a named volume
    there, so ``docker compose down`` and ``up`` keep it."""
    command: tuple[str, ...] = ()
    """Arguments for the server's image, where compose runs it (CI services take none)."""
    secrets: tuple[tuple[str, str], ...] = ()
    """(server variable, setting) pairs whose values must agree: ``("POSTGRES_PASSWORD",
    "DATABASE__PASSWORD")``. Compose reads both from ``.env``; a CI job gives both one
    throwaway value. The setting is an env var without the project prefix."""

    def url_at(self, host: str) -> str:
        """The URL as seen from where ``host`` reaches the server (empty: it takes none)."""
        return self.url.format(host=host, port=self.port)


@dataclass(frozen=True)
class Resource:
    """Something the lifespan opens and closes, handed to handlers as typed state."""

    name: str
    module: str
    opener: str
    type_module: str
    type_name: str
    arguments: str = "settings"
    """The opener's arguments as Python source: ``settings`` is the root Settings, and a
    resource opened before this one goes by its name."""
    readiness: bool = False
    """Whether ``/health/ready`` pings it (the resource has ``async ping()``)."""
    degrades: bool = False
    """A failed ping degrades the service instead of failing readiness: the service
    works without it (a cache), and the health detail shows it degraded."""
    counters: bool = False
    """It counts events (``counters() -> Mapping[str, int]``), exported as metrics."""
    imports: tuple[tuple[str, str], ...] = ()
    """Extra (module, name) imports its arguments need in ``app.py``."""


@dataclass(frozen=True)
class Router:
    module: str
    name: str = "router"

    @property
    def alias(self) -> str:
        """The name ``app.py`` imports it as: ``.api.items`` -> ``items_router``."""
        return self.module.rsplit(".", 1)[-1] + "_router"


@dataclass(frozen=True)
class Middleware:
    """A pure ASGI middleware; ``order`` places it in the canonical chain."""

    module: str
    name: str
    order: int
    options: tuple[str, ...] = ()
    """``name=expression`` keyword arguments, evaluated in ``create_app(settings)``."""


@dataclass(frozen=True, kw_only=True)
class Contribution:
    """What a choice adds to the shared models (all optional), merged by ``assemble``."""

    dependencies: tuple[str, ...] = ()
    dev_dependencies: tuple[str, ...] = ()
    settings: tuple[SettingsGroup, ...] = ()
    services: tuple[Service, ...] = ()
    resources: tuple[Resource, ...] = ()
    routers: tuple[Router, ...] = ()
    middleware: tuple[Middleware, ...] = ()
    endpoints: tuple[tuple[str, str], ...] = ()
    """(path, what it serves) the generated README lists under "Once it runs"."""
    files: tuple[str, ...] = ()
    """The rendered files it owns (``src/{package_name}/...``), rendered only with it."""
    test_settings: tuple[tuple[str, str], ...] = ()
    """(env var without the project prefix, value) the service runs with under test: its
    own tests' ``settings`` fixture and the template's boot of it. ``{tmp_path}`` in a
    value is the directory the test owns (a throwaway SQLite file goes there);
    ``{run_id}`` a token no other test shares (a key prefix on a shared server)."""
    filterwarnings: tuple[str, ...] = ()
    """pytest ``filterwarnings`` entries for the service's tests, after ``error``: a
    warning a dependency raises that the service cannot act on."""


@dataclass(frozen=True)
class When:
    """A condition on another answer: ``axis``'s pick is one of ``values``."""

    axis: str
    values: tuple[str, ...]

    def holds(self, selection: Selection) -> bool:
        return any(selection.has(self.axis, value) for value in self.values)


@dataclass(frozen=True, kw_only=True)
class Conditional(Contribution):
    """A contribution that applies only while every ``when`` holds (say, an
    instrumentation for the broker chosen on another axis): never an if-chain."""

    when: tuple[When, ...]

    def applies(self, selection: Selection) -> bool:
        return all(condition.holds(selection) for condition in self.when)


@dataclass(frozen=True)
class Choice(Contribution):
    value: str
    label: str
    description: str
    requires: tuple[tuple[str, str], ...] = ()
    """(axis, value) pairs that must also be chosen."""
    excludes: tuple[tuple[str, str], ...] = ()
    """(axis, value) pairs that cannot be chosen alongside."""
    conditional: tuple[Conditional, ...] = ()
    """Contributions that apply only when other answers hold."""
    migrations: tuple[str, ...] = ()
    """Alembic revision files (under ``migrations/versions``) the choice owns."""
    migration_branch: str = ""
    """The Alembic branch its migrations form, apart from every other choice's: the first
    file declares it in ``branch_labels`` and none builds on another branch's revision,
    so the service parks the branch when the choice is removed and restores it after."""
    readme: str = ""
    """A README fragment for the "Deploy" section, from the template root."""
    docs: str = ""
    """A paragraph for the generated README's "Slices" section."""

    def contributions(self, selection: Selection) -> tuple[Contribution, ...]:
        """Its own contribution and each conditional one that applies to ``selection``."""
        return (self, *(each for each in self.conditional if each.applies(selection)))


@dataclass(frozen=True)
class Slot:
    """A file every choice of an axis renders, and the names it must define."""

    path: str
    """Rendered path, with ``{package_name}``: ``src/{package_name}/api/security.py``."""
    exports: tuple[str, ...]
    exempt: tuple[str, ...] = ()
    """Choices that render no such file: ``database=none`` has no engine to set up."""


@dataclass(frozen=True)
class Contract:
    """What every choice of an axis provides, so callers never ask which one it is."""

    slots: tuple[Slot, ...] = ()
    resource: str = ""
    """The lifespan resource every choice opens (``Resources.<resource>``)..."""
    port: str = ""
    """...and the type it is handed out as: ``module:Name`` (a Protocol of the domain)."""
    exempt: tuple[str, ...] = ()
    """Choices that open no ``resource``: the axis's absence (``database=none``)."""


@dataclass(frozen=True)
class Axis:
    name: str
    question: str
    choices: tuple[Choice, ...]
    default: tuple[str, ...]
    multiple: bool = False
    """A multiselect axis: any subset of its choices (possibly empty)."""
    when: tuple[When, ...] = ()
    """Asked only while every condition holds (``rollout`` only for Kubernetes);
    otherwise it has no pick and contributes nothing."""
    contract: Contract = Contract()

    def asked(self, selection: Selection) -> bool:
        return all(condition.holds(selection) for condition in self.when)

    def choice(self, value: str) -> Choice:
        for choice in self.choices:
            if choice.value == value:
                return choice
        offered = ", ".join(c.value for c in self.choices)
        raise KeyError(f"{self.name}={value!r} is not offered; choose one of: {offered}")

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)


@dataclass(frozen=True)
class Selection:
    """The chosen value(s) per axis, normalised to tuples."""

    picks: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has(self, axis: str, value: str) -> bool:
        return value in self.picks.get(axis, ())
