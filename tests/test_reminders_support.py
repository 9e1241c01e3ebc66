"""Shared pieces of the reminder tests: a recording platform, local times, a small town."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from bot.bootstrap import App
from bot.config import Config
from bot.reminders import run_due
from handlers.core import Reply
from handlers.ports import Delivery, Recipient
from schedules.scheduler import RunResult
from storage.models import (
    ChatIdentity,
    Department,
    Measure,
    MeasureStatus,
    OutboxEntry,
    Person,
    Role,
    RoomLink,
)
from tests.conftest import BERLIN, FixedClock, make_app


def berlin(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    """A wall-clock time in Europe/Berlin, as the aware UTC time the bot works with."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@dataclass
class Sent:
    recipient: Recipient
    text: str
    key: str
    message: Reply


@dataclass
class Recorder:
    """A platform that records what it is asked to send and answers as told."""

    platform: str = "console"
    answers: dict[str, list[Delivery]] = field(default_factory=dict)  # by recipient address
    sent: list[Sent] = field(default_factory=list)

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        self.sent.append(Sent(recipient, message.plain(), idempotency_key, message))
        queue = self.answers.get(recipient.address)
        if queue:
            return queue.pop(0)
        return Delivery.delivered(f"{self.platform}-{len(self.sent)}")

    def to(self, name: str) -> list[str]:
        return [s.text for s in self.sent if s.recipient.name == name]

    def names(self) -> list[str]:
        return [s.recipient.name for s in self.sent]

    def clear(self) -> None:
        self.sent.clear()


def tick(app: App, now: datetime, *notifiers: Recorder, **kwargs: Any) -> RunResult:
    """One sweep and delivery run, as the bot's scheduler or `run-due` does it."""
    chosen = notifiers or (Recorder(),)
    return asyncio.run(run_due(app, {n.platform: n for n in chosen}, now, **kwargs))


def keys(app: App) -> list[str]:
    with app.uows() as uow:
        return list(uow.session.execute(select(OutboxEntry.key).order_by(OutboxEntry.id)).scalars())


def entries(app: App) -> dict[str, OutboxEntry]:
    with app.uows() as uow:
        found = {e.key: e for e in uow.session.execute(select(OutboxEntry)).scalars()}
        uow.session.expunge_all()
        return found


@dataclass
class Town:
    """A small municipality: the Jugendamt with a room, the Schulamt without one, a
    coordination room, Max (JA, console and Telegram) with Eva as his deputy, and Ole (SA)."""

    app: App
    clock: FixedClock
    ja: int
    sa: int
    max: int
    eva: int
    ole: int

    def measure(
        self,
        title: str,
        *,
        deadline: date | None = None,
        responsible: str | None = "max",
        department: str = "ja",
        status: MeasureStatus = MeasureStatus.IN_PROGRESS,
        interval: str = "jährlich",
        reported: datetime | None = None,
    ) -> int:
        with self.app.uows(write=True) as uow:
            measure = Measure(
                title=title,
                lead_department_id=getattr(self, department),
                responsible_id=getattr(self, responsible) if responsible else None,
                deadline=deadline,
                status=status,
                progress=40,
                evaluation_interval=interval,
                # The clock of the test: a report due long after the reminders under test,
                # unless the test says when the last report was.
                created_at=self.clock.now,
                last_report_at=reported or self.clock.now,
                version=1,
            )
            uow.session.add(measure)
            uow.commit()
            return measure.id

    def set(self, measure_id: int, **values: Any) -> None:
        with self.app.uows(write=True) as uow:
            measure = uow.session.get(Measure, measure_id)
            assert measure is not None
            for name, value in values.items():
                setattr(measure, name, value)
            measure.version += 1
            uow.commit()

    def person(self, person_id: int, **values: Any) -> None:
        with self.app.uows(write=True) as uow:
            person = uow.session.get(Person, person_id)
            assert person is not None
            for name, value in values.items():
                setattr(person, name, value)
            uow.commit()


def make_town(engine: Engine, clock: FixedClock, *, config: Config | None = None) -> Town:
    app = make_app(engine, clock, demo=False, config=config)
    with app.uows(write=True) as uow:
        s = uow.session
        ja = Department(key="JA", name="Jugendamt")
        sa = Department(key="SA", name="Schulamt")
        s.add_all([ja, sa])
        s.flush()
        s.add_all(
            [
                RoomLink(platform="console", room_id="ja-raum", department_id=ja.id),
                RoomLink(platform="console", room_id="koordination", is_coordination=True),
            ]
        )
        eva = Person(
            name="Eva Lang",
            department_id=ja.id,
            role=Role.DEPARTMENT,
            identities=[ChatIdentity(platform="console", user_id="Eva Lang")],
        )
        s.add(eva)
        s.flush()
        max_ = Person(
            name="Max Müller",
            department_id=ja.id,
            role=Role.DEPARTMENT,
            deputy_id=eva.id,
            last_platform="console",
            identities=[
                ChatIdentity(platform="console", user_id="Max Müller"),
                ChatIdentity(platform="telegram", user_id="4711"),
            ],
        )
        ole = Person(
            name="Ole Brandt",
            department_id=sa.id,
            role=Role.DEPARTMENT,
            identities=[ChatIdentity(platform="console", user_id="Ole Brandt")],
        )
        s.add_all([max_, ole])
        s.flush()
        town = Town(app, clock, ja.id, sa.id, max_.id, eva.id, ole.id)
        uow.commit()
    return town


def day_after(moment: datetime, days: int = 1) -> datetime:
    return moment + timedelta(days=days)
