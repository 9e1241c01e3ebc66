"""What a failed request to the homeserver means: network errors, backing off, and a
homeserver's error answer as a Delivery."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp

from handlers.ports import Delivery

log = logging.getLogger("regelkreis.matrix")

# nio's transport is aiohttp: its errors, time-outs and a refused connection.
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)
# While the homeserver is away the bot backs off from 1 s to 10 s: at most a handful of
# requests in a 20 s outage, and back within 10 s of its return.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 10.0


class Backoff:
    """Exponential backoff with jitter, so a down homeserver sees no tight loop."""

    def __init__(self) -> None:
        self.delay = BACKOFF_FIRST

    def reset(self) -> None:
        self.delay = BACKOFF_FIRST

    async def wait(self, what: str, error: object) -> None:
        pause = self.delay * random.uniform(0.8, 1.2)
        log.warning("%s failed (%s); retrying in %.1f s", what, error, pause)
        await asyncio.sleep(pause)
        self.delay = min(self.delay * 2, BACKOFF_MAX)


def http_status(answer: Any) -> int | None:
    status = getattr(getattr(answer, "transport_response", None), "status", None)
    return status if isinstance(status, int) else None


def classify(answer: Any) -> Delivery:
    """An error answer (nio's ErrorResponse) as a Delivery: retry later, or never."""
    code = answer.status_code
    status = http_status(answer)
    detail = f"{code}: {answer.message}"
    if code in ("M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN") or status is None:
        return Delivery.temporary(detail)
    if status >= 500:
        return Delivery.temporary(detail)
    # 4xx: forbidden (not in the room, kicked), unknown room or user, bad request.
    return Delivery.permanent(detail)
