"""Bootstrap: builds engine, units of work, lookup, registry and dispatcher from the config."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Config
from handlers.context import CoreSettings
from handlers.core import Clock, Incoming, Reply, system_clock
from handlers.dispatch import Claim, Dispatcher
from handlers.registry import build_registry
from schedules.rules import ReminderRules
from storage import events
from storage.db import make_engine
from storage.lookup import NameLookup
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory


@dataclass
class App:
    config: Config
    engine: Engine
    uows: UnitOfWorkFactory
    dispatcher: Dispatcher
    clock: Clock

    async def ask(self, incoming: Incoming) -> Reply:
        """Answer one message without blocking the event loop.

        Units of work are short and synchronous; they run in a worker thread so Matrix,
        Telegram and the scheduler keep going on the one loop (docs/architecture.md).
        """
        return await asyncio.to_thread(self.dispatcher.handle, incoming)

    async def ask_once(self, incoming: Incoming, claim: Claim) -> Reply | None:
        """`ask` for a platform message that must be answered once (Dispatcher.handle_once)."""
        return await asyncio.to_thread(self.dispatcher.handle_once, incoming, claim)


def core_settings(config: Config) -> CoreSettings:
    return CoreSettings(
        admins=frozenset(config.bot.admins),
        language=config.bot.language,
        timezone=config.municipality.zone,
        state=config.municipality.state,
        municipality=config.municipality.name,
        platforms=configured_platforms(config),
        reminders=ReminderRules.from_config(config),
    )


def configured_platforms(config: Config) -> frozenset[str]:
    """The platforms this installation delivers on (besides the console)."""
    names = ("matrix", "telegram", "email")
    return frozenset(name for name in names if getattr(config, name, None) is not None)


def bootstrap(
    config: Config,
    *,
    clock: Clock = system_clock,
    migrate: bool = True,
    engine: Engine | None = None,
) -> App:
    """Everything a transport needs; the schema is upgraded first unless `migrate` is off."""
    events.install()
    if engine is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(config.database_url)
    if migrate:
        upgrade(engine)
    uows = UnitOfWorkFactory(engine)
    dispatcher = Dispatcher(
        build_registry(), uows, core_settings(config), lookup=NameLookup(), clock=clock
    )
    return App(config=config, engine=engine, uows=uows, dispatcher=dispatcher, clock=clock)
