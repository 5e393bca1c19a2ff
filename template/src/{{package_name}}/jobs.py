"""The job handlers this service registers, by job name."""

from collections.abc import Mapping

import structlog

from .adapters.webhooks import WebhookSender, event_id
from .domain.items import ITEM_CREATED_JOB
from .domain.jobs import JobHandler, JobPayload

logger = structlog.get_logger(__name__)


def job_handlers(webhooks: WebhookSender) -> Mapping[str, JobHandler]:
    """Every handler by job name, given the resources they need."""

    async def announce_item_created(payload: JobPayload) -> None:
        """Tell the outside world an item was created: a signed webhook to the
        configured URL, else an audit record in the log. It runs after the request, so
        slow follow-up work (notifications, indexing) never holds that up."""
        data = {"item_id": payload["item_id"], "owner_id": payload["owner_id"]}
        if not webhooks.enabled:
            logger.info("audit.item_created", **data)
            return
        await webhooks.send(ITEM_CREATED_JOB, event_id(ITEM_CREATED_JOB, data["item_id"]), data)

    return {ITEM_CREATED_JOB: announce_item_created}
