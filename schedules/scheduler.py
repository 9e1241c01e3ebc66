"""The triggers of the sweep: an APScheduler tick in the bot, and `reminders run-due` from cron.

Both run the same thing: one sweep (decide and record what is due), then one delivery run
(claim, send, mark). The database remembers, not the scheduler: a tick that is missed
because the bot was down is caught up by the first tick after the start, which covers the
whole time since the last sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from handlers.meeting_records import freeze_started_meetings
from handlers.ports import Clock, Notifier, ReminderRules
from schedules.delivery import Outgoing, deliver_due, preview
from schedules.prune import prune_daily
from schedules.sweep import SweepResult, run_sweep, sweep
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("regelkreis.scheduler")


@dataclass
class RunResult:
    sweep: SweepResult
    delivered: int = 0
    outgoing: list[Outgoing] = field(default_factory=list)  # what a dry run would send


async def sweep_and_deliver(
    uows: UnitOfWorkFactory,
    rules: ReminderRules,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    dry_run: bool = False,
    platforms: Collection[str] | None = None,
) -> RunResult:
    """One sweep and one delivery run at `now`; a dry run records and marks nothing."""
    if dry_run:
        return await asyncio.to_thread(
            _dry_run, uows, rules, now, set(platforms or ()) | set(notifiers)
        )
    swept = await asyncio.to_thread(run_sweep, uows, rules, now)
    await asyncio.to_thread(freeze_meetings, uows, rules, now)
    await asyncio.to_thread(prune_bookkeeping, uows, rules, now)
    delivered = await deliver_due(uows, notifiers, now, rules=rules, platforms=platforms)
    return RunResult(swept, delivered)


def prune_bookkeeping(uows: UnitOfWorkFactory, rules: ReminderRules, now: datetime) -> None:
    """Once a day: the bookkeeping older than `[privacy] keep_days` goes (schedules/prune.py)."""
    with uows(write=True) as uow:
        prune_daily(uow.session, now, rules.keep_days)
        uow.commit()


def freeze_meetings(uows: UnitOfWorkFactory, rules: ReminderRules, now: datetime) -> int:
    """Freeze the agenda and facts of every meeting that has started (a MeetingRecord)."""
    with uows(write=True) as uow:
        frozen = freeze_started_meetings(uow.session, now, rules)
        uow.commit()
    if frozen:
        log.info("froze the records of %d meeting(s)", frozen)
    return frozen


def _dry_run(
    uows: UnitOfWorkFactory, rules: ReminderRules, now: datetime, platforms: set[str]
) -> RunResult:
    with uows(write=True) as uow:
        # Decide in a transaction that is rolled back: the preview sees the new reminders
        # and nothing is recorded.
        swept = sweep(uow.session, rules, now)
        outgoing = preview(uow.session, rules, now, platforms)
        uow.rollback()
    return RunResult(swept, 0, outgoing)


async def tick_every_minute(
    uows: UnitOfWorkFactory,
    rules: ReminderRules,
    notifiers: Mapping[str, Notifier],
    clock: Clock,
    *,
    on_tick: Callable[[RunResult], None] | None = None,
) -> None:
    """Tick the sweep every minute in the bot's event loop until cancelled.

    The first tick runs at once: it catches up whatever fell due while the bot was down.
    Ticks never overlap (`max_instances=1`), late ones are not dropped (`misfire_grace_time`
    None) and a backlog of them runs once (`coalesce`).
    """
    busy = asyncio.Lock()

    async def tick() -> None:
        async with busy:
            try:
                result = await sweep_and_deliver(uows, rules, notifiers, clock())
            except Exception:  # keep ticking; the next minute covers this one too
                log.exception("reminder run failed")
                return
        if on_tick is not None:
            on_tick(result)

    scheduler = AsyncIOScheduler(timezone=rules.zone)
    scheduler.add_job(
        tick,
        CronTrigger(second=0, timezone=rules.zone),
        id="reminders",
        name="reminder sweep and outbox delivery",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(rules.zone),
    )
    scheduler.start()
    log.info("reminder scheduler started (every minute, %s)", rules.zone.key)
    try:
        await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)


def parse_now(text: str | None, rules: ReminderRules, clock: Callable[[], datetime]) -> datetime:
    """`--now`: ISO time; without an offset it is local to the municipality."""
    if not text:
        return clock()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=rules.zone)
    return moment
