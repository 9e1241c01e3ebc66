"""`regelkreis run`: serves every configured platform and the scheduler on one event loop.

Also the send-only notifiers `regelkreis reminders run-due` sends with (`build_notifiers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from bot.bootstrap import App
from bot.cli_errors import CREDENTIALS, DEBUG_HINT, DONE, INTERNAL, PLATFORM, TAKEN
from bot.email import EmailNotifier
from bot.platform import CredentialsRejected, PlatformBroken
from bot.transport import Transport, TransportTaken
from handlers.ports import Notifier
from schedules.scheduler import RunResult, tick_every_minute

log = logging.getLogger("regelkreis.run")
# How long `reminders run-due` waits for a platform to connect before it leaves its entries.
READY_WAIT = 30.0

# The scheduler entry point: given the app and the notifiers, runs until cancelled.
# schedules/ provides it; the default only delivers the outbox once a minute.
Scheduler = Callable[[App, dict[str, Notifier]], Coroutine[Any, Any, None]]


def build_transports(app: App, *, send_only: bool = False) -> list[Transport]:
    """One transport per configured platform (imported lazily: each pulls in its SDK).

    `send_only`: only their notifiers, for `reminders run-due` — they receive nothing (no
    polling, no webhook, no command menu, no event handled or claimed) and take no lease.
    """
    transports: list[Transport] = []
    if app.config.matrix is not None:
        from bot.matrix import MatrixTransport  # type: ignore[import-not-found, unused-ignore]

        transports.append(MatrixTransport(app, app.config.matrix, send_only=send_only))
    if app.config.telegram is not None:
        from bot.telegram import TelegramTransport  # type: ignore[import-not-found, unused-ignore]

        transports.append(TelegramTransport(app, app.config.telegram, send_only=send_only))
    return transports


@contextlib.asynccontextmanager
async def build_notifiers(
    app: App,
    *,
    ready_wait: float = READY_WAIT,
    refused: list[tuple[int, str]] | None = None,
) -> AsyncIterator[dict[str, Notifier]]:
    """Send-only notifiers of the configured chat platforms, for `reminders run-due`;
    stopped on exit.

    Send-only: a cron run neither answers chat messages nor takes a platform from the bot.
    A platform the running bot serves (it holds the platform's lease) is left out, and so is
    one that does not connect within `ready_wait` seconds: its entries stay pending for the
    bot, or for the next run. One that refused the credentials or answers nonsense is left
    out too, and added to `refused` as (exit status, line): the cron job must not end 0 then.
    """
    started: list[tuple[Transport, asyncio.Task[None]]] = []
    notifiers: dict[str, Notifier] = {}
    email = EmailNotifier.from_config(app.config)
    if email is not None:
        notifiers[email.platform] = email
    try:
        for transport in build_transports(app, send_only=True):
            try:
                await transport.start()
            except TransportTaken as taken:
                log.info("%s", taken)
                continue
            task = asyncio.create_task(transport.run(), name=f"send-only:{transport.platform}")
            started.append((transport, task))
            if await _ready(transport, task, ready_wait, refused):
                notifiers[transport.platform] = transport.notifier
        yield notifiers
    finally:
        for transport, task in started:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            with contextlib.suppress(Exception):
                await transport.stop()


async def _ready(
    transport: Transport,
    task: asyncio.Task[None],
    timeout: float,
    refused: list[tuple[int, str]] | None = None,
) -> bool:
    """Wait until the transport can send; False when it failed or took too long."""
    wait_ready = getattr(transport, "wait_ready", None)
    if wait_ready is None:
        return True
    ready = asyncio.create_task(wait_ready(timeout))
    await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        with contextlib.suppress(BaseException):
            await ready
        error = None if task.cancelled() else task.exception()
        if isinstance(error, CredentialsRejected | PlatformBroken) and refused is not None:
            status, line, _error = _stopped(transport.platform, task)
            refused.append((status, line))
        else:
            log.error("%s: could not connect to send: %r", transport.platform, error)
        return False
    if not ready.result():
        log.warning(
            "%s: not connected after %.0f s; its reminders wait for the next run",
            transport.platform,
            timeout,
        )
        return False
    return True


async def run_scheduler(
    app: App,
    notifiers: dict[str, Notifier],
    *,
    on_tick: Callable[[RunResult], None] | None = None,
) -> None:
    """The minute tick of `regelkreis run` (sweep, then delivery), until cancelled."""
    await tick_every_minute(app.uows, app.rules, notifiers, app.clock, on_tick=on_tick)


async def serve(app: App, transports: list[Transport], scheduler: Scheduler | None = None) -> int:
    """Start every transport, then serve until SIGINT/SIGTERM; the exit status.

    A transport that stops for good stops the process, with its status (bot/cli_errors.py):
    3 a platform is taken, 6 its credentials were rejected, 7 it stopped otherwise. What went
    wrong is one line on standard error (with `--debug` its traceback in the log as well).
    """
    started: list[Transport] = []
    try:
        for transport in transports:
            await transport.start()
            started.append(transport)
    except TransportTaken as taken:
        _say(str(taken), taken)
        for transport in started:
            await transport.stop()
        return TAKEN
    except BaseException:
        for transport in started:
            with contextlib.suppress(Exception):
                await transport.stop()
        raise
    notifiers = {t.platform: t.notifier for t in started}
    email = EmailNotifier.from_config(app.config)
    if email is not None:
        notifiers[email.platform] = email
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    platforms = {
        asyncio.create_task(t.run(), name=f"transport:{t.platform}"): t.platform for t in started
    }
    tasks = [*platforms]
    tasks.append(
        asyncio.create_task((scheduler or run_scheduler)(app, notifiers), name="scheduler")
    )
    waiter = asyncio.create_task(stop.wait(), name="stop")
    done, _pending = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    # The worst status counts (a rejected token over a platform taken at the same moment).
    stopped = sorted(
        (_stopped(platforms.get(task, task.get_name()), task) for task in tasks if task in done),
        key=lambda found: found[0],
        reverse=True,
    )
    status = stopped[0][0] if stopped else DONE
    _quiet_cancelled_jobs()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    waiter.cancel()
    for transport in started:
        await transport.stop()
    # Said last, after the shutdown's log lines: the last line the operator reads.
    for _status, line, error in stopped:
        _say(line, error)
    return status


def _stopped(name: str, task: asyncio.Task[None]) -> tuple[int, str, BaseException | None]:
    """Why a transport (or the scheduler) ended before it was asked to: status, line, error."""
    error = None if task.cancelled() else task.exception()
    if isinstance(error, TransportTaken):
        # Found out only while running (Telegram's 409 for a poller elsewhere).
        return TAKEN, str(error), error
    if isinstance(error, CredentialsRejected):
        return CREDENTIALS, str(error), error
    if isinstance(error, PlatformBroken):
        return PLATFORM, str(error), error
    if name == "scheduler":
        line = f"the reminder scheduler stopped: {_describe(error)}; {DEBUG_HINT}"
        return INTERNAL, line, error
    return PLATFORM, f"{name} stopped: {_describe(error)}", error


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "it ended without an error"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _say(line: str, error: BaseException | None) -> None:
    """The one line on standard error; the traceback only in the debug log (`--debug`)."""
    if error is not None:
        log.debug("what stopped the bot", exc_info=error)
    print(f"regelkreis: {line}", file=sys.stderr, flush=True)


class _CancelledJob(logging.Filter):
    """Drops APScheduler's record of a job cancelled at shutdown: the tick in hand is
    cancelled when the scheduler stops (its executor cancels what runs), which is no error,
    and its traceback would be the last thing the operator reads."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, asyncio.CancelledError)


def _quiet_cancelled_jobs() -> None:
    logger = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _CancelledJob) for f in logger.filters):
        logger.addFilter(_CancelledJob())
