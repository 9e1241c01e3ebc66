"""The triggers of the sweep: an APScheduler tick in the bot, and `reminders run-due` from cron.

Both run the same thing: one sweep (decide and record what is due), then one delivery run
(claim, send, mark). The database remembers, not the scheduler: a tick that is missed
because the bot was down is caught up by the first tick after the start, which covers the
whole time since the last sweep.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.notifier import Notifier
from schedules.delivery import Outgoing, deliver_due, preview
from schedules.rules import ReminderRules
from schedules.sweep import SweepResult, run_sweep, sweep
from storage.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger("regelkreis.scheduler")


@dataclass
class RunResult:
    sweep: SweepResult
    delivered: int = 0
    outgoing: list[Outgoing] = field(default_factory=list)  # what a dry run would send


async def run_due(
    app: App,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    dry_run: bool = False,
    platforms: Collection[str] | None = None,
) -> RunResult:
    """One sweep and one delivery run at `now`; a dry run records and marks nothing."""
    rules = ReminderRules.from_config(app.config)
    if dry_run:
        return await asyncio.to_thread(
            _dry_run, app.uows, rules, now, set(platforms or ()) | set(notifiers)
        )
    swept = await asyncio.to_thread(run_sweep, app.uows, rules, now)
    delivered = await deliver_due(app.uows, notifiers, now, rules=rules, platforms=platforms)
    return RunResult(swept, delivered)


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


async def run_scheduler(
    app: App,
    notifiers: dict[str, Notifier],
    *,
    on_tick: Callable[[RunResult], None] | None = None,
) -> None:
    """Tick the sweep every minute in the bot's event loop until cancelled.

    The first tick runs at once: it catches up whatever fell due while the bot was down.
    Ticks never overlap (`max_instances=1`), late ones are not dropped (`misfire_grace_time`
    None) and a backlog of them runs once (`coalesce`).
    """
    rules = ReminderRules.from_config(app.config)
    busy = asyncio.Lock()

    async def tick() -> None:
        async with busy:
            try:
                result = await run_due(app, notifiers, app.clock())
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


# -- `regelkreis reminders run-due` ---------------------------------------------------------


def parse_now(text: str | None, rules: ReminderRules, clock: Callable[[], datetime]) -> datetime:
    """`--now`: ISO time; without an offset it is local to the municipality."""
    if not text:
        return clock()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=rules.zone)
    return moment


def run_due_command(
    app: App, now_text: str | None, dry_run: bool, out: TextIO | None = None
) -> int:
    """The command line's one run: the console prints recipient then message."""
    out = out or sys.stdout
    rules = ReminderRules.from_config(app.config)
    try:
        now = parse_now(now_text, rules, app.clock)
    except ValueError:
        print(
            f"regelkreis: --now {now_text!r} is not an ISO time (e.g. 2027-03-01T08:00)",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_run_due_command(app, now, dry_run, out))


async def _run_due_command(app: App, now: datetime, dry_run: bool, out: TextIO) -> int:
    from bot.console import PLATFORM, ConsoleNotifier, render

    notifiers: dict[str, Notifier] = {PLATFORM: ConsoleNotifier(out)}
    configured = {PLATFORM} | {
        name for name in ("matrix", "telegram") if getattr(app.config, name) is not None
    }
    if dry_run:
        result = await run_due(app, notifiers, now, dry_run=True, platforms=configured)
    else:
        from bot.runner import build_notifiers

        # Send-only notifiers: nothing is polled or answered, no lease is taken; a platform
        # the running bot holds keeps its entries pending for the bot (docs/reminders.md).
        async with build_notifiers(app) as chat:
            result = await run_due(app, notifiers | chat, now, platforms=configured)
    local = now.astimezone(app.config.municipality.zone)
    if dry_run:
        for outgoing in result.outgoing:
            out.write(f"→ {outgoing.recipient.name} [{outgoing.recipient.platform}]:\n")
            out.write(render(outgoing.message) + "\n\n")
        out.write(
            f"dry run at {local:%Y-%m-%d %H:%M %Z}: {len(result.sweep.recorded)} reminders "
            f"would be recorded, {len(result.outgoing)} messages would be sent; "
            "nothing was marked.\n"
        )
    elif result.sweep.skipped:
        out.write("another process is sweeping right now; delivered what was due.\n")
    else:
        out.write(
            f"run at {local:%Y-%m-%d %H:%M %Z}: {len(result.sweep.recorded)} reminders "
            f"recorded, {result.delivered} delivered.\n"
        )
    out.flush()
    return 0
