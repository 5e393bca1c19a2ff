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
    """A backing server the choice needs: compose, CI services and tests read it."""

    name: str
    image: str
    port: int
    environment: tuple[tuple[str, str], ...] = ()
    healthcheck: tuple[str, ...] = ()
    url_env: str = ""
    """Env var (without the project prefix) that points the service at this server."""
    compose_url: str = ""
    """That URL as seen from another container in compose."""
    ci_url: str = ""
    """That URL as seen from a CI job, where services listen on localhost."""


@dataclass(frozen=True)
class Resource:
    """Something the lifespan opens and closes, handed to handlers as typed state."""

    name: str
    module: str
    opener: str
    type_module: str
    type_name: str
    arguments: str = "settings"
    """The opener's arguments as Python source; ``settings`` is the root Settings."""
    readiness: bool = False
    """Whether ``/health/ready`` pings it (the resource has ``async ping()``)."""
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


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    description: str
    requires: tuple[tuple[str, str], ...] = ()
    """(axis, value) pairs that must also be chosen."""
    excludes: tuple[tuple[str, str], ...] = ()
    """(axis, value) pairs that cannot be chosen alongside."""
    dependencies: tuple[str, ...] = ()
    dev_dependencies: tuple[str, ...] = ()
    settings: tuple[SettingsGroup, ...] = ()
    services: tuple[Service, ...] = ()
    resources: tuple[Resource, ...] = ()
    routers: tuple[Router, ...] = ()
    middleware: tuple[Middleware, ...] = ()
    migrations: tuple[str, ...] = ()
    """Alembic revision files (under ``migrations/versions``) the choice owns."""
    migration_branch: str = ""
    """The Alembic branch its migrations form, apart from every other choice's: the first
    file declares it in ``branch_labels`` and none builds on another branch's revision,
    so the service parks the branch when the choice is removed and restores it after."""
    endpoints: tuple[tuple[str, str], ...] = ()
    """(path, what it serves) the generated README lists under "Once it runs"."""
    readme: str = ""
    """A README fragment for the "Deploy" section, from the template root."""
    docs: str = ""
    """A paragraph for the generated README's "Slices" section."""


@dataclass(frozen=True)
class Axis:
    name: str
    question: str
    choices: tuple[Choice, ...]
    default: tuple[str, ...]
    multiple: bool = False
    """A multiselect axis: any subset of its choices (possibly empty)."""

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
