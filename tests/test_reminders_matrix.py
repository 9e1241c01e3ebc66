"""Exactly once on Matrix: a crash between sending and marking, resent against real Synapse."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from handlers.core import Reply
from handlers.ports import Delivery, Recipient
from schedules.delivery import deliver_due
from schedules.sweep import run_sweep
from storage.models import Department, Measure, MeasureStatus, OutboxEntry, OutboxState, RoomLink
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import (  # noqa: F401  (fixtures)
    ANNA,
    MARKUS,
    Setup,
    User,
    people,
    run,
    running_bot,
    setup,
)
from tests.test_reminders_support import berlin


class Crash(BaseException):
    """The bot process dies after the homeserver took the event, before it was marked."""


class CrashAfterSending:
    platform = "matrix"

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.deliveries: list[tuple[str, Delivery]] = []

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        delivery = await self.inner.send(  # type: ignore[attr-defined]
            recipient, message, idempotency_key=idempotency_key
        )
        self.deliveries.append((idempotency_key, delivery))
        raise Crash


def test_after_a_crash_the_resend_reuses_the_transaction_id_and_posts_once(
    setup: Setup,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = setup.app
    rules = app.rules
    monday = berlin(2026, 11, 30, 8)

    async def scenario() -> None:
        async with User(setup, ANNA) as anna:
            async with running_bot(setup) as bot:
                room = await anna.create_room(invite=[setup.bot.user_id])
                await anna.wait_joined(room, setup.bot.user_id)
                with app.uows(write=True) as uow:
                    ja = uow.session.execute(
                        select(Department).where(Department.key == "JA")
                    ).scalar_one()
                    uow.session.add(RoomLink(platform="matrix", room_id=room, department_id=ja.id))
                    uow.commit()
                # Monday 30 November: the Jugendamt's room is due an overdue list and S-2's
                # request to report; everything else of that morning counts as delivered.
                run_sweep(app.uows, rules, monday)
                with app.uows(write=True) as uow:
                    uow.session.execute(
                        update(OutboxEntry)
                        .where(
                            ~OutboxEntry.key.startswith("overdue_room:M-6:"),
                            ~OutboxEntry.key.startswith(f"meeting:S-2/{ja.id}:"),
                        )
                        .values(state=OutboxState.SENT)
                    )
                    uow.commit()
                crashing = CrashAfterSending(bot.notifier)
                with pytest.raises(Crash):
                    await deliver_due(app.uows, {"matrix": crashing}, monday, rules=rules)
                ((key, first),) = crashing.deliveries
                assert first.message_id is not None
                # The dead process renews nothing: its lease (database time) runs out.
                with app.uows(write=True) as uow:
                    uow.session.execute(
                        update(OutboxEntry)
                        .where(OutboxEntry.state == OutboxState.CLAIMED)
                        .values(lease_until=datetime(2000, 1, 1, tzinfo=UTC))
                    )
                    uow.commit()

            # The bot is started again (a new process, the same device) and resends.
            async with running_bot(setup) as bot:
                with caplog.at_level(logging.WARNING, logger="regelkreis.outbox"):
                    delivered = await deliver_due(
                        app.uows,
                        {"matrix": bot.notifier},
                        monday + timedelta(minutes=1),
                        rules=rules,
                    )
                assert delivered == 2
                assert f"sending again with idempotency key {key}" in caplog.text
            await asyncio.sleep(1.0)
            posted = await anna.bot_messages(room)
            assert len(posted) == 1, [e.body for e in posted]
            assert posted[0].event_id == first.message_id
            assert "Überfällig (1)" in posted[0].body
            assert "📅 Sitzung S-2" in posted[0].body
            with app.uows() as uow:
                unsent = uow.session.execute(
                    select(OutboxEntry.key).where(OutboxEntry.state != OutboxState.SENT)
                ).all()
            assert unsent == []

    run(scenario)


def test_a_reaction_on_an_outdated_assignment_notice_is_refused(
    setup: Setup,  # noqa: F811
) -> None:
    """The notice carries the version it showed (stored with the outbox entry): once the
    measure changed, a reaction on it is refused like a typed change (PRODUCT.md §1)."""
    app = setup.app

    async def scenario() -> None:
        async with (
            User(setup, ANNA) as anna,
            User(setup, MARKUS) as markus,
            running_bot(setup) as bot,
        ):
            room = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(room, setup.bot.user_id)
            assert "M-8 → Markus Becker" in await anna.ask(room, "!zuweisen M-8 an Markus Becker")
            # Anna reports a setback before the notice went out: the notice shows M-8 as it
            # was when it was assigned, and its reactions must carry that version.
            assert "Bericht zu M-8" in await anna.ask(room, "!melden M-8 gefährdet Halle fehlt")
            assert await deliver_due(app.uows, {"matrix": bot.notifier}, app.clock()) == 1
            direct = None
            for _ in range(50):
                await markus.sync(timeout=200)
                direct = next(iter(markus.client.invited_rooms), None)
                if direct is not None:
                    break
            assert direct is not None
            await markus.join(direct)
            notices: list[object] = []
            for _ in range(50):
                notices = await markus.bot_messages(direct)
                if notices:
                    break
            notice = notices[0]
            assert "Ihnen wurde M-8 zugewiesen" in notice.body  # type: ignore[attr-defined]
            await markus.react(direct, notice.event_id, "✅")  # type: ignore[attr-defined]
            refusal = None
            for _ in range(50):
                answers = await markus.bot_messages(direct)
                refusal = next(
                    (a for a in answers if "wurde geändert, seit diese Nachricht" in a.body),
                    None,
                )
                if refusal is not None:
                    break
                await asyncio.sleep(0.2)
            assert refusal is not None, [a.body for a in answers]
        with app.uows() as uow:
            measure = uow.session.get(Measure, 8)
            assert measure is not None and measure.status is MeasureStatus.AT_RISK

    run(scenario)
