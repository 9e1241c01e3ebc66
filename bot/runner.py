"""`regelkreis run`: serves every configured platform and the scheduler on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from bot.bootstrap import App
from bot.notifier import Notifier
from bot.transport import Transport, TransportTaken

log = logging.getLogger("regelkreis.run")

# The scheduler entry point: given the app and the notifiers, runs until cancelled.
# schedules/ provides it; the default only delivers the outbox once a minute.
Scheduler = Callable[[App, dict[str, Notifier]], Coroutine[Any, Any, None]]


def build_transports(app: App) -> list[Transport]:
    """One transport per configured platform (imported lazily: each pulls in its SDK)."""
    transports: list[Transport] = []
    if app.config.matrix is not None:
        from bot.matrix import MatrixTransport  # type: ignore[import-not-found, unused-ignore]

        transports.append(MatrixTransport(app, app.config.matrix))
    if app.config.telegram is not None:
        from bot.telegram import TelegramTransport  # type: ignore[import-not-found, unused-ignore]

        transports.append(TelegramTransport(app, app.config.telegram))
    return transports


async def deliver_outbox_every_minute(app: App, notifiers: dict[str, Notifier]) -> None:
    from schedules.outbox import deliver_due

    while True:
        try:
            await deliver_due(app.uows, notifiers, app.clock())
        except Exception:  # keep serving; the next round retries
            log.exception("outbox delivery failed")
        await asyncio.sleep(60)


def default_scheduler() -> Scheduler:
    try:
        from schedules.scheduler import run_scheduler  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return deliver_outbox_every_minute
    return run_scheduler  # type: ignore[no-any-return, unused-ignore]


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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(t.run(), name=f"transport:{t.platform}") for t in started]
    tasks.append(
        asyncio.create_task((scheduler or default_scheduler())(app, notifiers), name="scheduler")
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
