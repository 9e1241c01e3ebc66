"""The outbox deliverer under its first name (bot/console.py and the tests import it from here)."""

from __future__ import annotations

from schedules.delivery import CLAIM_TIMEOUT, DELIVERER, deliver_due, preview

__all__ = ["CLAIM_TIMEOUT", "DELIVERER", "deliver_due", "preview"]
