"""The job handlers this service registers, by job name."""

from collections.abc import Mapping

import structlog

from .domain.jobs import JobHandler, JobPayload

logger = structlog.get_logger(__name__)


async def announce_item_created(payload: JobPayload) -> None:
    """Runs after an item is created: the place for slow follow-up work
    (notifications, indexing, webhooks) that must not hold up the request."""
    logger.info("item.created", item_id=payload["item_id"], owner_id=payload["owner_id"])


JOB_HANDLERS: Mapping[str, JobHandler] = {
    "item.created": announce_item_created,
}
