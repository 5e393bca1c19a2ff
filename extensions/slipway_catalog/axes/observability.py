"""What the service exposes about itself beyond its JSON logs (always on)."""

from ..model import Axis, Choice, Middleware

PROMETHEUS = Choice(
    value="prometheus",
    label="Prometheus metrics at /metrics",
    description="RED metrics per route template, served for Prometheus to scrape.",
    files=(
        "src/{package_name}/observability/metrics.py",
        "tests/api/test_metrics.py",
    ),
    dependencies=("prometheus-client>=0.21",),
    middleware=(Middleware(".observability.metrics", "MetricsMiddleware", 15),),
    endpoints=(("/metrics", "Prometheus metrics"),),
    docs=(
        "`GET /metrics` serves Prometheus metrics: request count and latency histogram "
        "labelled by method, route template and status, and the process collectors."
    ),
)

OBSERVABILITY = Axis(
    name="observability",
    question="What telemetry should the service expose besides JSON logs?",
    choices=(PROMETHEUS,),
    default=("prometheus",),
    multiple=True,
)
