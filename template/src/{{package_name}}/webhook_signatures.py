"""Webhook signatures as Standard Webhooks defines them (https://www.standardwebhooks.com).

A delivery carries three headers: ``webhook-id`` (the same on every retry of one event,
so a receiver drops repeats by it), ``webhook-timestamp`` (Unix seconds, when it was
sent) and ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, under the shared
secret, of ``<id>.<timestamp>.<body>``. Several signatures may be given, separated by
spaces, while a secret is being rotated.

This module needs the standard library only: a receiving service can copy it and call
``verify``.
"""

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

DEFAULT_TOLERANCE_SECONDS = 300.0
"""How far a delivery's timestamp may be from the receiver's clock, either way."""


class InvalidWebhookError(ValueError):
    """A delivery to refuse: a header is missing, the signature does not match, or the
    timestamp is outside the tolerance (a replay, or a clock far off)."""


def signature(secret: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``<webhook_id>.<timestamp>.<body>``."""
    signed = b".".join((webhook_id.encode(), timestamp.encode(), body))
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(
    secret: bytes, webhook_id: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The headers that sign ``body`` as sent at ``now`` (default: the current time)."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature(secret, webhook_id, timestamp, body),
    }


def verify(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a delivery's signature and freshness on the raw ``body``; return its
    ``webhook-id`` to drop repeats by. Raises ``InvalidWebhookError`` otherwise."""
    by_name = {name.lower(): value for name, value in headers.items()}
    webhook_id = _header(by_name, "webhook-id")
    timestamp = _header(by_name, "webhook-timestamp")
    signatures = _header(by_name, "webhook-signature").split()
    _check_freshness(timestamp, time.time() if now is None else now, tolerance_seconds)
    expected = signature(secret, webhook_id, timestamp, body).encode()
    # Constant-time: how much of a forged signature matched must not show in the timing.
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures):
        raise InvalidWebhookError("no signature matches the body under this secret")
    return webhook_id


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise InvalidWebhookError(f"the {name} header is missing")
    return value


def _check_freshness(timestamp: str, now: float, tolerance_seconds: float) -> None:
    if not timestamp.isascii() or not timestamp.isdigit():
        raise InvalidWebhookError(f"webhook-timestamp {timestamp!r} is not Unix seconds")
    age = now - int(timestamp)
    if age > tolerance_seconds:
        raise InvalidWebhookError(f"webhook-timestamp is {age:.0f} s old: a replay?")
    if age < -tolerance_seconds:
        raise InvalidWebhookError(f"webhook-timestamp is {-age:.0f} s in the future")
