"""Pruning of the bot's bookkeeping (docs/privacy.md): what a person sent and was sent is
not kept longer than it serves.

Once a day, in the minute job: processed-message records (the exactly-once answer needs a
day or two), finished outbox entries (sent or superseded), sent-message records (what a
message showed, for replies to it), unregistered senders' notices and answered numbered
lists older than `keep_days` are deleted. Measures, reports, decisions and the audit log are
the administration's record and are kept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    OutboxEntry,
    OutboxState,
    PendingChoice,
    PlatformState,
    ProcessedMessage,
    SentMessage,
    UnregisteredNotice,
)

log = logging.getLogger("regelkreis.prune")
LAST_RUN = "prune:last_day"


def prune(session: Session, now: datetime, keep_days: int) -> dict[str, int]:
    """Delete what is older than `keep_days` (at least 7: the sweep looks back a day and the
    backlog after downtime a day more); the number of rows per kind."""
    cutoff = now - timedelta(days=max(7, keep_days))
    statements = {
        "processed_messages": delete(ProcessedMessage).where(ProcessedMessage.received_at < cutoff),
        "outbox": delete(OutboxEntry).where(
            OutboxEntry.state.in_([OutboxState.SENT, OutboxState.SUPERSEDED, OutboxState.FAILED]),
            OutboxEntry.due_at < cutoff,
        ),
        "sent_messages": delete(SentMessage).where(SentMessage.sent_at < cutoff),
        "unregistered_notices": delete(UnregisteredNotice).where(
            UnregisteredNotice.day < cutoff.date()
        ),
        "pending_choices": delete(PendingChoice).where(PendingChoice.created_at < cutoff),
    }
    counts: dict[str, int] = {}
    for kind, statement in statements.items():
        result = session.execute(statement)
        counts[kind] = int(getattr(result, "rowcount", 0) or 0)  # a DELETE's CursorResult
    return counts


def prune_daily(session: Session, now: datetime, keep_days: int) -> dict[str, int] | None:
    """`prune` once per UTC day (the date of the last run is kept in platform_state)."""
    today = now.date().isoformat()
    state = session.get(PlatformState, LAST_RUN)
    if state is not None and state.value == today:
        return None
    if state is None:
        # Two processes sweeping at once (the bot and a cron run-due): the first to mark the
        # day prunes, the other leaves it.
        try:
            with session.begin_nested():
                session.add(PlatformState(key=LAST_RUN, value=today, updated_at=now))
        except IntegrityError:
            return None
    else:
        state.value, state.updated_at = today, now
    pruned = prune(session, now, keep_days)
    if any(pruned.values()):
        log.info("pruned %s", ", ".join(f"{n} {kind}" for kind, n in pruned.items() if n))
    return pruned


__all__ = ["prune", "prune_daily"]
