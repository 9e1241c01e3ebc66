"""The bot's side of `reminders run-due`: one sweep and delivery with the app's notifiers.

schedules/ decides and delivers; this module gives it the app's units of work, rules, clock
and notifiers (the console's printer, the send-only chat notifiers of a cron run).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TextIO

from bot.bootstrap import App
from bot.cli_errors import USAGE
from bot.console import PLATFORM, ConsoleNotifier, render
from bot.runner import build_notifiers
from handlers.ports import Notifier
from schedules.scheduler import RunResult, parse_now, sweep_and_deliver
from storage.limits import EARLIEST, LATEST, in_range


async def run_due(
    app: App,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    dry_run: bool = False,
    platforms: Collection[str] | None = None,
) -> RunResult:
    """One sweep and one delivery run at `now` for this app; a dry run changes nothing."""
    return await sweep_and_deliver(
        app.uows, app.rules, notifiers, now, dry_run=dry_run, platforms=platforms
    )


def run_due_command(
    app: App, now_text: str | None, dry_run: bool, out: TextIO | None = None
) -> int:
    """The command line's one run: the console prints recipient then message."""
    out = out or sys.stdout
    rules = app.rules
    try:
        now = parse_now(now_text, rules, app.clock)
    except ValueError:
        print(
            f"regelkreis: --now {now_text!r} is not an ISO time (e.g. 2027-03-01T08:00)",
            file=sys.stderr,
        )
        return USAGE
    # The date as written first: converting year 1 or 9999 to local time can overflow, and
    # so would the sweep, which adds days to `now`.
    if not in_range(now.date()) or not in_range(now.astimezone(rules.zone).date()):
        print(
            f"regelkreis: --now {now_text!r} is outside the dates the program accepts "
            f"({EARLIEST.isoformat()} to {LATEST.isoformat()})",
            file=sys.stderr,
        )
        return USAGE
    return asyncio.run(_run_due_command(app, now, dry_run, out))


async def _run_due_command(app: App, now: datetime, dry_run: bool, out: TextIO) -> int:
    notifiers: dict[str, Notifier] = {PLATFORM: ConsoleNotifier(out)}
    refused: list[tuple[int, str]] = []  # platforms that refused the bot: (status, line)
    configured = {PLATFORM} | {
        name for name in ("matrix", "telegram") if getattr(app.config, name) is not None
    }
    if dry_run:
        result = await run_due(app, notifiers, now, dry_run=True, platforms=configured)
    else:
        # Send-only notifiers: nothing is polled or answered, no lease is taken; a platform
        # the running bot holds keeps its entries pending for the bot (docs/reminders.md).
        async with build_notifiers(app, refused=refused) as chat:
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
    # What could go went; a platform that refused the bot makes the cron job fail, with the
    # line that says why (its reminders stay pending for the next run).
    for _status, line in refused:
        print(f"regelkreis: {line}; its reminders wait for the next run", file=sys.stderr)
    return max((status for status, _line in refused), default=0)
