"""Where background jobs run."""

from ..model import Axis, Choice, Contract, Resource, Setting, SettingsGroup


def jobs_resource(module: str, opener: str) -> Resource:
    """The ``jobs`` resource, handed the handlers ``jobs.py`` builds on the webhooks."""
    return Resource(
        name="jobs",
        module=module,
        opener=opener,
        type_module=".domain.ports",
        type_name="JobQueue",
        arguments="settings, job_handlers(webhooks)",
        imports=((".jobs", "job_handlers"),),
    )


INPROCESS = Choice(
    value="inprocess",
    label="In-process asyncio workers (no server)",
    description="Jobs run on asyncio workers inside the web process, retried with backoff.",
    files=(
        "src/{package_name}/adapters/inprocess_queue.py",
        "tests/unit/test_inprocess_queue.py",
    ),
    settings=(
        SettingsGroup(
            name="queue",
            class_name="QueueSettings",
            description="Background jobs.",
            fields=(
                Setting("concurrency", "int", "4", "Jobs handled at once."),
                Setting("max_attempts", "int", "5", "Attempts before a job is given up."),
                Setting(
                    "backoff_base_seconds", "float", "0.5", "First retry delay; doubles each time."
                ),
                Setting("backoff_max_seconds", "float", "30.0", "Longest retry delay."),
                Setting(
                    "drain_timeout_seconds",
                    "float",
                    "10.0",
                    "On shutdown, how long queued jobs may still run.",
                ),
            ),
        ),
    ),
    resources=(jobs_resource(".adapters.inprocess_queue", "open_inprocess_queue"),),
    docs=(
        "Background jobs run on asyncio workers inside the web process, retried with "
        "exponential backoff and jitter. Jobs still queued at shutdown get "
        "`drain_timeout_seconds` to finish; jobs are not persisted across restarts. "
        "The example job, `item.created`, POSTs a signed webhook to `WEBHOOKS__URL`, "
        "or writes an audit record to the log when no URL is set."
    ),
)

NONE = Choice(
    value="none",
    label="None (jobs run inside the request)",
    description="No queue: each job runs in the request that enqueues it; failures are logged.",
    files=(
        "src/{package_name}/adapters/inline_jobs.py",
        "tests/unit/test_inline_jobs.py",
    ),
    resources=(jobs_resource(".adapters.inline_jobs", "open_inline_jobs"),),
    docs=(
        "No queue: each job runs inside the request that enqueues it, once the item is "
        "stored, so the follow-up work (the `item.created` webhook, or its audit record) "
        "still happens, at the cost of that request's latency. A failing job is logged "
        "(`job.failed`) and never retried, and never fails the request."
    ),
)

QUEUE = Axis(
    name="queue",
    question="Where do background jobs run?",
    choices=(INPROCESS, NONE),
    default=("inprocess",),
    contract=Contract(resource="jobs", port=".domain.ports:JobQueue"),
)
