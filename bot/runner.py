"""`regelkreis run`: serves every configured platform and the scheduler on one event loop.

Also the send-only notifiers `regelkreis reminders run-due` sends with (`build_notifiers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from bot.bootstrap import App
from bot.email import EmailNotifier
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
    app: App, *, ready_wait: float = READY_WAIT
) -> AsyncIterator[dict[str, Notifier]]:
    """Send-only notifiers of the configured chat platforms, for `reminders run-due`;
    stopped on exit.

    Send-only: a cron run neither answers chat messages nor takes a platform from the bot.
    A platform the running bot serves (it holds the platform's lease) is left out, and so is
    one that does not connect within `ready_wait` seconds: its entries stay pending for the
    bot, or for the next run.
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
            if await _ready(transport, task, ready_wait):
                notifiers[transport.platform] = transport.notifier
        yield notifiers
    finally:
        for transport, task in started:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            with contextlib.suppress(Exception):
                await transport.stop()


async def _ready(transport: Transport, task: asyncio.Task[None], timeout: float) -> bool:
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
    """Start every transport, then serve until SIGINT/SIGTERM. 3 when a platform is taken."""
    started: list[Transport] = []
    try:
        for transport in transports:
            await transport.start()
            started.append(transport)
    except TransportTaken as taken:
        log.error("%s", taken)
        print(f"regelkreis: {taken}", flush=True)
        for transport in started:
            await transport.stop()
        return 3
    notifiers = {t.platform: t.notifier for t in started}
    email = EmailNotifier.from_config(app.config)
    if email is not None:
        notifiers[email.platform] = email
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(t.run(), name=f"transport:{t.platform}") for t in started]
    tasks.append(
        asyncio.create_task((scheduler or run_scheduler)(app, notifiers), name="scheduler")
    )
    waiter = asyncio.create_task(stop.wait(), name="stop")
    done, _pending = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    status = 0
    for task in done:
        error = None if task is waiter else task.exception()
        if isinstance(error, TransportTaken):
            # Found out only while running (Telegram's 409 for a poller elsewhere).
            log.error("%s", error)
            print(f"regelkreis: {error}", flush=True)
            status = 3
        elif error is not None:
            log.error("%s stopped: %r", task.get_name(), error)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    waiter.cancel()
    for transport in started:
        await transport.stop()
    return status
