"""Bootstrap: builds engine, units of work, lookup, registry and dispatcher from the config."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import WEEKDAYS, Config
from handlers.context import CoreSettings
from handlers.conversation import Conversation
from handlers.core import Incoming, Reply
from handlers.dispatch import Claim, Dispatcher
from handlers.ports import Clock, ReminderRules, clock_time, system_clock
from handlers.registry import build_registry
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
    conversation: Conversation  # what the adapters call (handlers/conversation.py)
    clock: Clock
    rules: ReminderRules  # the reminder settings, from `[reminders]` and `[municipality]`

    async def ask(self, incoming: Incoming) -> Reply:
        """Answer one message without blocking the event loop (the console, tests).

        Units of work are short and synchronous; they run in a worker thread so Matrix,
        Telegram and the scheduler keep going on the one loop (docs/architecture.md).
        """
        return await asyncio.to_thread(self.dispatcher.handle, incoming)

    async def answer(self, incoming: Incoming, claim: Claim | None = None) -> Reply | None:
        """`Conversation.answer` in a worker thread: what a platform adapter asks."""
        return await asyncio.to_thread(self.conversation.answer, incoming, claim)


def reminder_rules(config: Config) -> ReminderRules:
    """The municipality's reminder rules from `[reminders]`, `[municipality]` and `[bot]`."""
    reminders = config.reminders
    start, end = reminders.hours
    day, at = reminders.digest.split()
    return ReminderRules(
        zone=config.municipality.zone,
        state=config.municipality.state,
        work_start=clock_time(start),
        work_end=clock_time(end),
        send_time=clock_time(reminders.time or start),
        deadline_days=tuple(reminders.deadline_days),
        meeting_days=tuple(reminders.meeting_days),
        agenda_days=reminders.agenda_days,
        overdue_repeat_days=reminders.overdue_repeat_days,
        digest_weekday=WEEKDAYS.index(day),
        digest_time=clock_time(at),
        enabled=reminders.enabled,
        language=config.bot.language,
        platforms=configured_platforms(config),
        keep_days=config.privacy.keep_days,
    )


def core_settings(config: Config) -> CoreSettings:
    return CoreSettings(
        admins=frozenset(config.bot.admins),
        language=config.bot.language,
        timezone=config.municipality.zone,
        state=config.municipality.state,
        municipality=config.municipality.name,
        platforms=configured_platforms(config),
        reminders=reminder_rules(config),
        data_dir=config.data_dir,
        keep_generated_days=config.bot.keep_generated_days,
        rate_limit=config.bot.rate_limit,
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
    uows = UnitOfWorkFactory(engine, zone=config.municipality.zone)
    settings = core_settings(config)
    dispatcher = Dispatcher(build_registry(), uows, settings, lookup=NameLookup(), clock=clock)
    return App(
        config=config,
        engine=engine,
        uows=uows,
        dispatcher=dispatcher,
        conversation=Conversation(dispatcher, uows, clock),
        clock=clock,
        rules=settings.rules,
    )
