"""The assembly: conditional contributions and dependent axes, on a synthetic catalog."""

from __future__ import annotations

import slipway_catalog as catalog
from slipway_catalog.model import Axis, Choice, Conditional, Resource, Selection, Service, When

REDIS_EXPORTER = Conditional(
    when=(When("cache", ("redis",)),),
    dependencies=("opentelemetry-instrumentation-redis>=0.50b0",),
)
OTEL = Choice(
    "otel",
    "OpenTelemetry",
    "Traces.",
    dependencies=("opentelemetry-sdk>=1.29",),
    conditional=(REDIS_EXPORTER,),
)
MEMORY = Choice("memory", "Memory", "In process.")
REDIS = Choice(
    "redis",
    "Redis",
    "Shared.",
    services=(Service("redis", "redis:7", 6379, url="redis://{host}:{port}/0"),),
    resources=(Resource("cache", ".adapters.redis_cache", "open", ".domain.ports", "Cache"),),
)
COMPOSE = Choice("compose", "Compose", "One host.")
KUBERNETES = Choice("kubernetes", "Kubernetes", "A cluster.")
ROLLING = Choice("rolling", "Rolling", "Pods replaced a few at a time.", dependencies=("x>=1",))
CANARY = Choice("canary", "Canary", "A share of traffic first.")

AXES: tuple[Axis, ...] = (
    Axis("cache", "Which cache?", (MEMORY, REDIS), ("memory",)),
    Axis("observability", "Telemetry?", (OTEL,), ("otel",), multiple=True),
    Axis("deployment", "Where?", (COMPOSE, KUBERNETES), ("compose",)),
    Axis(
        "rollout",
        "How are new versions rolled out?",
        (ROLLING, CANARY),
        ("rolling",),
        when=(When("deployment", ("kubernetes",)),),
    ),
)


def test_a_conditional_contribution_applies_only_when_its_condition_holds() -> None:
    without = catalog.resolve({"cache": "memory"}, AXES)
    assert "opentelemetry-sdk>=1.29" in without.dependencies
    assert not any("instrumentation-redis" in dep for dep in without.dependencies)

    with_redis = catalog.resolve({"cache": "redis"}, AXES)
    assert "opentelemetry-instrumentation-redis>=0.50b0" in with_redis.dependencies
    assert REDIS_EXPORTER in with_redis.contributions


def test_a_conditional_contribution_needs_its_owner_chosen() -> None:
    assembly = catalog.resolve({"cache": "redis", "observability": []}, AXES)
    assert not any("opentelemetry" in dep for dep in assembly.dependencies)


def test_a_dependent_axis_contributes_only_when_asked() -> None:
    on_compose = catalog.resolve({"deployment": "compose", "rollout": "rolling"}, AXES)
    assert "rollout" not in on_compose.selection.picks
    assert "x>=1" not in on_compose.dependencies

    on_kubernetes = catalog.resolve({"deployment": "kubernetes"}, AXES)
    assert on_kubernetes.selection.picks["rollout"] == ("rolling",)
    assert "x>=1" in on_kubernetes.dependencies


def test_an_unasked_axis_is_never_a_problem() -> None:
    selection = catalog.selection_from_answers({"deployment": "compose", "rollout": "nope"}, AXES)
    assert catalog.problems(selection, AXES) == []
    asked = catalog.selection_from_answers({"deployment": "kubernetes", "rollout": "nope"}, AXES)
    assert any(
        "rollout='nope' is not offered" in problem for problem in catalog.problems(asked, AXES)
    )


def test_asked_only_follows_chained_conditions() -> None:
    chained = (
        *AXES,
        Axis(
            "canary_steps",
            "Steps?",
            (Choice("3", "3", "Three."),),
            ("3",),
            when=(When("rollout", ("canary",)),),
        ),
    )
    picks: dict[str, tuple[str, ...]] = {
        "deployment": ("compose",),
        "rollout": ("canary",),
        "canary_steps": ("3",),
    }
    kept = catalog.asked_only(Selection(picks), chained).picks
    assert "rollout" not in kept
    assert "canary_steps" not in kept, "asked only when an unasked axis holds: not asked"


def test_a_service_url_takes_each_targets_host() -> None:
    (service,) = catalog.resolve({"cache": "redis"}, AXES).services
    assert service.url_at("redis") == "redis://redis:6379/0"
    assert service.url_at("127.0.0.1") == "redis://127.0.0.1:6379/0"
