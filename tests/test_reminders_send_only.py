"""`regelkreis reminders run-due` only sends: no polling, no menu, no answers, no lease.

Telegram: the Bot API server of tests/telegram_wire.py runs on an event loop of its own in a
thread, since `run-due` runs its own (`asyncio.run`) as it does from cron. Matrix: a real
Synapse (tests/synapse.py), with `run-due` in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select

from bot.bootstrap import App
from bot.config import Config
from bot.reminders import run_due_command
from storage import locks
from storage.migrate import upgrade
from storage.models import (
    Department,
    OutboxEntry,
    OutboxState,
    Person,
    PlatformState,
    ProcessedMessage,
    RoomLink,
)
from tests.conftest import FixedClock, make_app
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.telegram_wire import Call, ChatState, WireServer, texts
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

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
LEASE = "telegram-poller:4242424242"
WOLF = 5012345604  # Andreas Wolf (SOZ), on Telegram in the example municipality
JONAS = 5012345601  # Jonas Weber (koordination), likewise
BOT = "bot-host:4711:cafe"  # the lease holder of a bot process that polls
T = TypeVar("T")
# PTB's own RetryAfter warns about a type change of its retry_after attribute; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


class ServerThread:
    """The wire server, served from a thread; `do` runs a function on its loop."""

    def __init__(self, clock: FixedClock) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = WireServer(TOKEN, clock=lambda: clock().timestamp())

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def do(self, function: Callable[..., T], *args: Any) -> T:
        done: Future[T] = Future()

        def call() -> None:
            try:
                done.set_result(function(*args))
            except Exception as error:  # handed to the test's thread
                done.set_exception(error)

        self.loop.call_soon_threadsafe(call)
        return done.result(10)

    def methods(self) -> list[str]:
        calls: list[Call] = self.do(lambda: list(self.server.calls))
        return [c.method for c in calls]


@pytest.fixture
def wire(clock: FixedClock) -> Iterator[ServerThread]:
    with ServerThread(clock) as running:
        yield running


@pytest.fixture
def tg_app(
    sqlite_only_engine: Engine, clock: FixedClock, wire: ServerThread, tmp_path: Path
) -> App:
    """The example municipality with Telegram configured (and nothing else)."""
    upgrade(sqlite_only_engine)
    config = Config.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "telegram": {"token": TOKEN, "base_url": wire.server.base_url},
        }
    )
    return make_app(sqlite_only_engine, clock, config=config)


def on_telegram(app: App, wire: ServerThread, user_id: int, name: str) -> tuple[Any, ChatState]:
    """The person last wrote to the bot on Telegram (so reminders go there first)."""
    with app.uows(write=True) as uow:
        person = uow.session.execute(select(Person).where(Person.name == name)).scalar_one()
        person.last_platform = "telegram"
        uow.commit()

    def make() -> tuple[dict[str, Any], ChatState]:
        first, last = name.split()
        user = wire.server.user(user_id, first, last)
        return user, wire.server.private_chat(user)

    return wire.do(make)


def run_due(app: App, now: str = "2026-11-30T08:00") -> str:
    out = io.StringIO()
    assert run_due_command(app, now, False, out) == 0
    return out.getvalue()


def states(app: App, prefix: str) -> list[tuple[str, OutboxState, str | None]]:
    with app.uows() as uow:
        return [
            (e.key, e.state, e.delivered_to)
            for e in uow.session.execute(
                select(OutboxEntry).where(OutboxEntry.key.startswith(prefix))
            ).scalars()
        ]


def test_run_due_sends_to_telegram_without_polling_publishing_the_menu_or_answering(
    tg_app: App, wire: ServerThread
) -> None:
    wolf, chat = on_telegram(tg_app, wire, WOLF, "Andreas Wolf")
    # Typed before run-due and while it sends: the bot answers these when it runs, not cron.
    wire.do(wire.server.send_text, wolf, chat, "/status")
    lease_while_sending: list[str | None] = []

    def on_call(call: Call) -> None:  # on the server's loop
        if call.method == "sendmessage" and not lease_while_sending:
            wire.server.send_text(wolf, chat, "/meine")
            lease_while_sending.append(locks.holder_of(tg_app.uows, LEASE, datetime.now(UTC)))

    wire.server.on_call = on_call
    out = run_due(tg_app)
    methods = wire.methods()
    assert "sendmessage" in methods, methods
    assert "getupdates" not in methods, methods
    assert "setmycommands" not in methods, methods
    assert not {"setwebhook", "deletewebhook"} & set(methods), methods
    # The reminder reached Andreas Wolf in his private chat, and nothing else did there.
    assert texts(wire.do(wire.server.bot_messages, chat)) == [
        "⏰ Erinnerung\n\n"
        "Überfällig (1)\n"
        "🔴 M-43 Notunterkunft Altstadt sanieren — SOZ, 50 %, 78 Tage überfällig\n\n"
        "Antworten: melden M-43 <status> <NN%> <notiz> · erledigt M-43"
    ]
    ((_key, state, where),) = states(tg_app, "overdue:M-43:")
    assert (state, where) == (OutboxState.SENT, f"Andreas Wolf (telegram:{WOLF})")
    assert out.endswith("18 reminders recorded, 18 delivered.\n"), out
    # Nothing was read, let alone answered or claimed: both commands wait for the bot.
    pending = wire.do(lambda: [u["message"]["text"] for u in wire.server.pending])
    assert pending == ["/status", "/meine"]
    with tg_app.uows() as uow:
        assert uow.session.execute(select(ProcessedMessage)).first() is None
    # A send-only notifier does not take the poller lease (the bot may start meanwhile).
    assert lease_while_sending == [None]


def test_run_due_leaves_telegram_to_the_bot_that_polls(tg_app: App, wire: ServerThread) -> None:
    on_telegram(tg_app, wire, WOLF, "Andreas Wolf")
    # The bot (another process) polls: it holds the poller lease.
    assert locks.acquire(tg_app.uows, LEASE, BOT, datetime.now(UTC), timedelta(minutes=5))
    out = run_due(tg_app)
    assert wire.methods() == []  # not even getMe
    # Andreas Wolf's reminder waits for the bot; the console's went out.
    assert [s for _k, s, _w in states(tg_app, "overdue:M-43:")] == [OutboxState.PENDING]
    assert out.endswith("18 reminders recorded, 17 delivered.\n"), out
    assert locks.holder_of(tg_app.uows, LEASE, datetime.now(UTC)) == BOT


def test_a_bot_that_starts_while_run_due_sends_gets_the_rest(
    tg_app: App, wire: ServerThread
) -> None:
    """A send-only notifier sends only while no process holds the poller lease, and asks
    before every message: a bot that starts meanwhile delivers what is left. (The deliverer
    sends one message after the other; were it to send them at once, both would have asked
    before the bot started.)"""
    on_telegram(tg_app, wire, WOLF, "Andreas Wolf")
    on_telegram(tg_app, wire, JONAS, "Jonas Weber")
    sent: list[int] = []

    def on_call(call: Call) -> None:
        if call.method == "sendmessage" and call.ok:
            sent.append(int(call.params["chat_id"]))
            # The bot starts right after the first message went out.
            locks.acquire(tg_app.uows, LEASE, BOT, datetime.now(UTC), timedelta(minutes=5))

    wire.server.on_call = on_call
    run_due(tg_app)
    assert len(sent) == 1, sent
    first, other = ("M-43", "M-48") if sent == [WOLF] else ("M-48", "M-43")
    assert [s for _k, s, _w in states(tg_app, f"overdue:{first}:")] == [OutboxState.SENT]
    assert [s for _k, s, _w in states(tg_app, f"overdue:{other}:")] == [OutboxState.PENDING]


def test_a_platform_that_cannot_connect_keeps_its_reminders_for_the_next_run(
    sqlite_only_engine: Engine, clock: FixedClock, wire: ServerThread, tmp_path: Path
) -> None:
    upgrade(sqlite_only_engine)
    config = Config.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            # A token the Bot API does not know: getMe is refused.
            "telegram": {
                "token": "4343434343:AAE-not-the-right-one_0123",
                "base_url": wire.server.base_url,
            },
        }
    )
    app = make_app(sqlite_only_engine, clock, config=config)
    on_telegram(app, wire, WOLF, "Andreas Wolf")
    out = io.StringIO()
    # The cron job is told: a refused token is exit status 6 (docs/operations.md), after
    # what could be delivered elsewhere went out.
    assert run_due_command(app, "2026-11-30T08:00", False, out) == 6
    said = out.getvalue()
    assert wire.methods() == []  # refused before any method ran (401)
    assert [s for _k, s, _w in states(app, "overdue:M-43:")] == [OutboxState.PENDING]
    assert said.endswith("18 reminders recorded, 17 delivered.\n"), said


# -- Matrix ------------------------------------------------------------------------------------


def matrix_state(app: App, user_id: str, name: str) -> str | None:
    with app.uows() as uow:
        state = uow.session.get(PlatformState, f"matrix:{user_id}:{name}")
        return state.value if state is not None else None


def bot_devices(made: Setup) -> list[str]:
    answer = made.synapse.request("GET", "/_matrix/client/v3/devices", None, made.bot.access_token)
    return sorted(str(d["device_id"]) for d in answer["devices"])


def test_run_due_on_matrix_sends_with_the_bots_own_device_and_answers_nothing(
    setup: Setup,  # noqa: F811
) -> None:
    app = setup.app
    user_id = setup.bot.user_id

    async def scenario() -> None:
        async with User(setup, ANNA) as anna:
            async with running_bot(setup):
                room = await anna.create_room(invite=[user_id], encrypted=True)
                await anna.wait_joined(room, user_id)
                assert "Überblick" in await anna.ask(room, "!status")
            with app.uows(write=True) as uow:
                # The Jugendamt's room is this one now (not the example's console room).
                ja = uow.session.execute(
                    select(Department).where(Department.key == "JA")
                ).scalar_one()
                for link in ja.rooms:
                    uow.session.delete(link)
                uow.session.add(RoomLink(platform="matrix", room_id=room, department_id=ja.id))
                # Markus Becker last wrote on Matrix: his reminders open a direct room.
                markus = uow.session.execute(
                    select(Person).where(Person.name == "Markus Becker")
                ).scalar_one()
                markus.last_platform = "matrix"
                uow.commit()
            devices = await asyncio.to_thread(bot_devices, setup)
            token = matrix_state(app, user_id, "sync_token")
            with app.uows() as uow:
                claimed = uow.session.execute(select(ProcessedMessage.message_id)).all()
            # Typed while the bot is down: for the bot, not for cron.
            asked = await anna.say(room, "!meine")

            out = io.StringIO()
            assert (
                await asyncio.to_thread(run_due_command, app, "2026-11-30T08:00", False, out) == 0
            )
            assert out.getvalue().endswith(" delivered.\n")

            # The Jugendamt's room has its reminder, encrypted for Anna's device.
            posted = [e.body for e in await anna.bot_messages(room)]
            reminders = [body for body in posted if body.startswith("⏰ Erinnerung")]
            assert len(reminders) == 1, (posted, out.getvalue())
            assert "🔴 M-6 Kita-Neubau Am Weinberg" in reminders[0]
            assert "📅 Sitzung S-2" in reminders[0]
            assert await anna.countanswers(room, asked, settle=1.0) == 0
            with app.uows() as uow:
                assert uow.session.execute(select(ProcessedMessage.message_id)).all() == claimed
                (entry,) = uow.session.execute(
                    select(OutboxEntry).where(OutboxEntry.key.startswith("overdue_room:M-6:"))
                ).scalars()
                assert (entry.state, entry.delivered_to) == (
                    OutboxState.SENT,
                    f"Jugendamt (JA) (matrix:{room})",
                )
                (entry,) = uow.session.execute(
                    select(OutboxEntry).where(OutboxEntry.key.startswith("deadline:M-13:"))
                ).scalars()
                assert entry.state is OutboxState.SENT
                assert entry.delivered_to == f"Markus Becker (matrix:{MARKUS})"
            direct = matrix_state(app, user_id, f"direct:{MARKUS}")
            invited = await asyncio.to_thread(
                setup.synapse.request,
                "GET",
                f"/_matrix/client/v3/rooms/{urllib.parse.quote(str(direct))}/state/"
                f"m.room.member/{urllib.parse.quote(MARKUS)}",
                None,
                setup.bot.access_token,
            )
            assert invited["membership"] == "invite"
            # The bot's own device and session: no new device, the bot's sync token as it was.
            assert await asyncio.to_thread(bot_devices, setup) == devices
            assert matrix_state(app, user_id, "sync_token") == token
            assert locks.holder_of(app.uows, f"matrix:{user_id}", datetime.now(UTC)) is None

            # Back, the bot answers what was typed while it was down.
            async with running_bot(setup):
                answer = await anna.answer_to(room, asked)
                assert "M-" in answer.body or "Maßnahmen" in answer.body

    run(scenario)


def test_run_due_leaves_matrix_to_the_bot_that_serves_it(
    sqlite_only_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    upgrade(sqlite_only_engine)
    user_id = "@regelkreis:musterstadt.de"
    config = Config.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            # Nothing listens there: run-due must not even try.
            "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": user_id, "password": "x"},
        }
    )
    app = make_app(sqlite_only_engine, clock, config=config)
    with app.uows(write=True) as uow:
        markus = uow.session.execute(
            select(Person).where(Person.name == "Markus Becker")
        ).scalar_one()
        markus.last_platform = "matrix"
        uow.commit()
    assert locks.acquire(
        app.uows, f"matrix:{user_id}", BOT, datetime.now(UTC), timedelta(minutes=5)
    )
    out = run_due(app)
    # Markus Becker's reminders (his own and Julia Richter's) wait for the bot.
    assert [s for _k, s, _w in states(app, "deadline:M-13:")] == [OutboxState.PENDING]
    assert [s for _k, s, _w in states(app, "overdue:M-6:")] == [OutboxState.PENDING]
    assert "→ Markus Becker" not in out
    assert locks.holder_of(app.uows, f"matrix:{user_id}", datetime.now(UTC)) == BOT
