"""Delivers outbox entries through the platforms' Notifiers: claim, send, mark.

Each entry is claimed by one deliverer (a conditional UPDATE), sent under its stable key, and
marked sent. A person is tried on the platform where they last wrote, then their other
platforms; a permanent failure falls through to the next recipient, a temporary one leaves the
entry pending for the next run. The full delivery rules (working hours, deputies, room
fallbacks, retries with backoff) belong to the reminder sweep that builds on this.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update

from bot.notifier import DeliveryStatus, Notifier, Recipient
from handlers.core import QuickAnswer, Reply
from storage.models import ChatIdentity, OutboxEntry, OutboxState, Person, RoomLink
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("regelkreis.outbox")
DELIVERER = f"{socket.gethostname()}:{os.getpid()}"
# A claim older than this is taken to be from a deliverer that died mid-send.
CLAIM_TIMEOUT = timedelta(minutes=10)


def recipients_for(
    entry: OutboxEntry, person: Person | None, room: RoomLink | None
) -> list[Recipient]:
    """Where an entry may go, in order of preference."""
    found: list[Recipient] = []
    if person is not None:
        identities = sorted(
            person.identities, key=lambda i: (i.platform != person.last_platform, i.id)
        )
        found += [Recipient("person", i.platform, i.user_id, person.name) for i in identities]
    if room is not None:
        name = room.department.label if room.department else room.address
        found.append(Recipient("room", room.platform, room.room_id, name))
    return found


async def deliver_due(
    uows: UnitOfWorkFactory, notifiers: Mapping[str, Notifier], now: datetime
) -> int:
    """Send every pending entry that is due; returns how many were delivered."""
    with uows() as uow:
        ids = (
            uow.session.execute(
                select(OutboxEntry.id)
                .where(
                    OutboxEntry.due_at <= now,
                    or_(
                        OutboxEntry.state == OutboxState.PENDING,
                        (OutboxEntry.state == OutboxState.CLAIMED)
                        & (OutboxEntry.claimed_at < now - CLAIM_TIMEOUT),
                    ),
                )
                .order_by(OutboxEntry.id)
            )
            .scalars()
            .all()
        )
    delivered = 0
    for entry_id in ids:
        if await _deliver_one(uows, notifiers, entry_id, now):
            delivered += 1
    return delivered


async def _deliver_one(
    uows: UnitOfWorkFactory, notifiers: Mapping[str, Notifier], entry_id: int, now: datetime
) -> bool:
    with uows(write=True) as uow:
        result = uow.session.execute(
            update(OutboxEntry)
            .where(
                OutboxEntry.id == entry_id,
                or_(
                    OutboxEntry.state == OutboxState.PENDING,
                    (OutboxEntry.state == OutboxState.CLAIMED)
                    & (OutboxEntry.claimed_at < now - CLAIM_TIMEOUT),
                ),
            )
            .values(
                state=OutboxState.CLAIMED,
                claimed_by=DELIVERER,
                claimed_at=now,
                attempts=OutboxEntry.attempts + 1,
            )
        )
        claimed = cast("CursorResult[Any]", result).rowcount
        uow.commit()
    if not claimed:
        return False  # another deliverer has it
    with uows() as uow:
        entry = uow.session.get(OutboxEntry, entry_id)
        assert entry is not None
        person = entry.person
        if person is not None:
            _ = list(person.identities)
        room = entry.room
        if room is not None:
            _ = room.department
        recipients = recipients_for(entry, person, room)
        message = Reply.text(*entry.text.split("\n"))
        message.quick_answers = [QuickAnswer(**qa) for qa in entry.quick_answers or []]
        key = entry.key
    state, delivered_to, error = OutboxState.PENDING, None, "no recipient on a running platform"
    for recipient in recipients:
        notifier = notifiers.get(recipient.platform)
        if notifier is None:
            continue
        delivery = await notifier.send(recipient, message, idempotency_key=key)
        if delivery.status is DeliveryStatus.DELIVERED:
            state, delivered_to, error = OutboxState.SENT, str(recipient), ""
            break
        if delivery.status is DeliveryStatus.PERMANENT_FAILURE:
            log.warning(
                "outbox %s: %s refused for good (%s); trying the next recipient",
                key,
                recipient,
                delivery.detail,
            )
            error = f"{recipient}: {delivery.detail}"
            continue
        log.info("outbox %s: %s failed for now (%s); will retry", key, recipient, delivery.detail)
        error = f"{recipient}: {delivery.detail}"
        break
    else:
        if recipients and all(r.platform in notifiers for r in recipients):
            state = OutboxState.FAILED
    with uows(write=True) as uow:
        entry = uow.session.get(OutboxEntry, entry_id)
        assert entry is not None
        entry.state = state
        entry.last_error = error or None
        if state is OutboxState.SENT:
            entry.sent_at = now
            entry.delivered_to = delivered_to
        uow.commit()
    return state is OutboxState.SENT


__all__ = ["ChatIdentity", "deliver_due"]
