"""Telegram on the wire: PTB talks to a Bot API server in the test (tests/telegram_wire.py).

The conversations mirror what people type in the example municipality's chats; nothing of
python-telegram-bot is mocked. Each test runs its own event loop with the server and the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import zlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import Connection, Engine, event, select
from telegram.ext import AIORateLimiter

from bot.bootstrap import App
from bot.config import Config, TelegramConfig
from bot.runner import serve
from bot.telegram import (
    TEXT_LIMIT,
    TelegramTransport,
    TokenRejected,
    command_text,
    decode_button,
    encode_button,
    render_chunks,
    utf16_len,
)
from bot.transport import TransportTaken
from handlers.core import Attachment, Reply, ShownVersion
from handlers.ports import DeliveryStatus, Recipient
from schedules.delivery import deliver_due
from storage.db import WRITE_OPTION
from storage.migrate import upgrade
from storage.models import Measure, MeasureStatus, OutboxEntry, OutboxState, RoomLink
from tests.conftest import FixedClock, make_app
from tests.telegram_wire import ChatState, WireServer, parse_html, texts

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
BOT_NAME = "regelkreis_test_bot"
ADMIN = 5012349999  # a Telegram administrator named only in the configuration
STRANGER = 5012340000
WRONG_TOKEN = "4343434343:AAE-not-the-right-one_0123456789"
# PTB's own RetryAfter warns about a type change of its retry_after attribute; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(scenario)


@pytest.fixture
def tg_app(sqlite_only_engine: Engine, clock: FixedClock) -> App:
    """The example municipality, with one Telegram administrator in the configuration."""
    upgrade(sqlite_only_engine)
    config = Config.model_validate({"bot": {"admins": [f"telegram:{ADMIN}"]}})
    return make_app(sqlite_only_engine, clock, config=config)


class Telegram:
    """The wire server with the example municipality's Telegram users, and the bot on it."""

    def __init__(self, app: App) -> None:
        self.app = app
        clock = app.clock
        self.server = WireServer(TOKEN, username=BOT_NAME, clock=lambda: clock().timestamp())
        server = self.server
        self.jonas = server.user(5012345601, "Jonas", "Weber")  # koordination
        self.julia = server.user(5012345602, "Julia", "Richter")  # ressort, Jugendamt
        self.katrin = server.user(5012345603, "Katrin", "Schulz")  # ressort, Schulamt
        self.petra = server.user(5012345605, "Petra", "Vogel")  # lesen
        self.admin = server.user(ADMIN, "Root", "Admin")
        self.stranger = server.user(STRANGER, "Eve", "Fremd")
        self.transport: TelegramTransport | None = None
        self._task: asyncio.Task[None] | None = None

    def chat(self, user: dict[str, Any], *, started: bool = True) -> ChatState:
        return self.server.private_chat(user, started=started)

    def config(self, **extra: Any) -> TelegramConfig:
        return TelegramConfig.model_validate(
            {"token": TOKEN, "base_url": self.server.base_url, **extra}
        )

    async def start(self, config: TelegramConfig | None = None, **kwargs: Any) -> None:
        transport = TelegramTransport(self.app, config or self.config(), poll_timeout=5, **kwargs)
        await transport.start()
        self.transport = transport
        self._task = asyncio.create_task(transport.run())
        ready = asyncio.create_task(transport.wait_ready(10))
        await asyncio.wait([ready, self._task], return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            self._task.result()
        assert ready.result(), "the bot did not start polling"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.transport is not None:
            await self.transport.stop()
            self.transport = None

    async def say(
        self,
        user: dict[str, Any],
        chat: ChatState,
        text: str,
        reply_to: dict[str, Any] | None = None,
        count: int = 1,
    ) -> list[dict[str, Any]]:
        """The user types `text`; the bot's new messages in that chat."""
        self.server.send_text(user, chat, text, reply_to=reply_to)
        return await self.server.next_bot_messages(chat, count)

    async def say_text(
        self,
        user: dict[str, Any],
        chat: ChatState,
        text: str,
        reply_to: dict[str, Any] | None = None,
    ) -> str:
        return "\n".join(texts(await self.say(user, chat, text, reply_to)))


@contextlib.asynccontextmanager
async def telegram(app: App, *, start: bool = True, **kwargs: Any) -> AsyncIterator[Telegram]:
    tg = Telegram(app)
    await tg.server.start()
    try:
        if start:
            await tg.start(**kwargs)
        yield tg
    finally:
        await tg.stop()
        await tg.server.close()


def measure(app: App, measure_id: int) -> tuple[MeasureStatus, int]:
    """The measure's status and version as they are in the database now."""
    with app.uows() as uow:
        found = uow.session.get(Measure, measure_id)
        assert found is not None
        return found.status, found.version


# -- conversations -------------------------------------------------------------------------


def test_status_queries_in_a_private_chat_and_a_group(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            detail = await tg.say(tg.julia, julia, "/status M-1")
            assert "M-1" in detail[0]["text"] and "Sprachförderung" in detail[0]["text"]
            assert detail[0]["entities"][0]["type"] == "bold"  # the heading, in HTML mode
            buttons = [b for row in detail[0]["reply_markup"]["inline_keyboard"] for b in row]
            _status, version = measure(tg_app, 1)
            assert buttons[0]["callback_data"] == f"1.{version}|erledigt M-1"

            fuzzy = await tg.say_text(tg.julia, julia, "/status sprachförd")
            assert "1." in fuzzy and "2." in fuzzy  # several measures match: a numbered list
            picked = await tg.say_text(tg.julia, julia, "1")
            assert "M-" in picked

            due = await tg.say_text(tg.julia, julia, "/fällig 30")
            assert due == await tg.say_text(tg.julia, julia, "/faellig 30")
            # In the private chat the slash may be left out.
            assert "M-6" in await tg.say_text(tg.julia, julia, "status M-6")

            group = tg.server.group(-4001, "Jugendamt Team")
            # In a group the candidate list asks for a reply: privacy mode hides a bare "2".
            [choices] = await tg.say(tg.julia, group, "/status sprachförd")
            markup = tg.server.calls_of("sendMessage")[-1].params["reply_markup"]
            assert markup["force_reply"] and markup["selective"]
            tg.server.send_text(tg.julia, group, "2")  # not a reply: Telegram keeps it back
            picked = await tg.say_text(tg.julia, group, "2", reply_to=choices)
            assert picked.startswith("🟢 M-2")
            reply = await tg.say(tg.julia, group, f"/ueberfaellig@{BOT_NAME}")
            assert "M-6" in reply[0]["text"]
            assert reply[0]["reply_to_message"]["text"].startswith("/ueberfaellig")
            # Meant for another bot, or plain chatter: the bot stays quiet.
            tg.server.send_text(tg.julia, group, "/status@some_other_bot")
            chatty = tg.server.group(-4002, "Kaffeeküche", privacy=False)
            tg.server.send_text(tg.julia, chatty, "wer holt Kuchen?")
            await tg.say(tg.julia, group, "/hilfe")
            assert len(tg.server.bot_messages(chatty)) == 0
            assert len(tg.server.bot_messages(group)) == 4
            # Linked to the Jugendamt, the group's overview is the department's.
            unlinked = await tg.say_text(tg.julia, group, "/status")
            await tg.say(tg.admin, group, "/ressort_verknuepfen Jugendamt")
            linked = await tg.say_text(tg.julia, group, "/status")
            assert "Jugendamt" in linked and linked != unlinked

    run(scenario())


def test_create_assign_and_report_with_roles(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            jonas, katrin, petra = tg.chat(tg.jonas), tg.chat(tg.katrin), tg.chat(tg.petra)
            julia = tg.chat(tg.julia)
            created = await tg.say_text(
                tg.jonas, jonas, '/neu "Sprachcafé für Eltern" ressort:SA frist:31.03.2027'
            )
            assert "M-51" in created
            assigned = await tg.say_text(tg.jonas, jonas, '/zuweisen M-51 an "Katrin Schulz"')
            assert "Katrin Schulz" in assigned
            # The assignment notice goes to Katrin's private chat, with quick answers.
            assert tg.transport is not None
            notifiers = {"telegram": tg.transport.notifier}
            assert await deliver_due(tg_app.uows, notifiers, tg_app.clock()) == 1
            notice = tg.server.bot_messages(katrin)[-1]
            assert "M-51" in notice["text"] and notice["reply_markup"]["inline_keyboard"]

            reported = await tg.say_text(tg.katrin, katrin, "/melden M-51 50% Träger gefunden")
            assert "50" in reported
            refused = await tg.say_text(tg.petra, petra, "/melden M-51 60%")
            assert "koordination oder ressort" in refused and "lesen" in refused
            not_hers = await tg.say_text(tg.julia, julia, "/erledigt M-51")
            assert "nicht beteiligt" in not_hers
            assert measure(tg_app, 51)[0] is not MeasureStatus.DONE
            # Someone the bot does not know gets their chat id and whom to ask.
            stranger = await tg.say_text(tg.stranger, tg.chat(tg.stranger), "/status")
            assert f"telegram:{STRANGER}" in stranger

    run(scenario())


def test_a_button_marks_a_measure_done_and_the_message_shows_it(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            group = tg.server.group(-4001, "Jugendamt Team")
            [detail] = await tg.say(tg.julia, group, "/status M-4")
            query = tg.server.press(tg.julia, detail, "✅ erledigt")
            await tg.server.wait_for(
                lambda: "reply_markup" not in tg.server.chats[-4001].messages[detail["message_id"]]
            )
            assert measure(tg_app, 4)[0] is MeasureStatus.DONE
            edited = tg.server.chats[-4001].messages[detail["message_id"]]
            assert edited["text"].startswith(detail["text"])  # what it showed stays
            assert "✅ erledigt · Julia Richter" in edited["text"]
            parse_html(edited["html"])  # valid HTML, as Telegram parsed it
            answer = tg.server.callback_queries[query["id"]]["answered"]
            assert answer is not None and not answer["show_alert"] and "M-4" in answer["text"]
            # The edit is the answer: no extra message in the group.
            assert len(tg.server.bot_messages(group)) == 1
            # Telegram sends a press twice when its confirmation got lost: acted on once.
            before = len(tg.server.calls_of("answerCallbackQuery"))
            tg.server.redeliver()
            await tg.say(tg.julia, group, "/status M-4")
            assert len(tg.server.calls_of("answerCallbackQuery")) == before

    run(scenario())


def test_a_button_on_an_outdated_message_is_refused_with_what_changed(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia, jonas = tg.chat(tg.julia), tg.chat(tg.jonas)
            [old] = await tg.say(tg.julia, julia, "/status M-4")
            await tg.say(tg.jonas, jonas, "/melden M-4 verzögert 60% Fortbildung verschoben")
            query = tg.server.press(tg.julia, old, "✅ erledigt")
            [refusal] = await tg.server.next_bot_messages(julia)
            assert "geändert" in refusal["text"] and "Jonas Weber" in refusal["text"]
            assert refusal["reply_to_message"]["message_id"] == old["message_id"]
            answer = tg.server.callback_queries[query["id"]]["answered"]
            assert answer["show_alert"] and "geändert" in answer["text"]
            assert measure(tg_app, 4)[0] is MeasureStatus.DELAYED
            # A typed reply to the old message carries the version it showed, too.
            again = await tg.say_text(tg.julia, julia, "/melden M-4 70%", reply_to=old)
            assert "geändert" in again
            # A reply to the current message goes through.
            [fresh] = await tg.say(tg.julia, julia, "/status M-4")
            done = await tg.say_text(tg.julia, julia, "erledigt M-4", reply_to=fresh)
            assert "geändert" not in done
            assert measure(tg_app, 4)[0] is MeasureStatus.DONE

    run(scenario())


def test_a_button_is_refused_for_a_user_without_the_role(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            group = tg.server.group(-4001, "Steuergruppe")
            [detail] = await tg.say(tg.julia, group, "/status M-4")
            typed = await tg.say_text(tg.petra, group, "/erledigt M-4")
            query = tg.server.press(tg.petra, detail, "✅ erledigt")
            [refusal] = await tg.server.next_bot_messages(group)
            assert refusal["text"] == typed  # refused exactly like the typed command
            answer = tg.server.callback_queries[query["id"]]["answered"]
            assert answer["show_alert"] and answer["text"] == typed
            assert measure(tg_app, 4)[0] is not MeasureStatus.DONE
            # The buttons stay for someone who may use them.
            assert tg.server.chats[-4001].messages[detail["message_id"]]["reply_markup"]

    run(scenario())


def test_after_a_429_the_reply_arrives_once_and_only_after_retry_after(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            tg.server.fail("sendMessage", retry_after=1)
            [reply] = await tg.say(tg.julia, julia, "/status M-1")
            assert "M-1" in reply["text"]
            refused, accepted = tg.server.calls_of("sendMessage")
            assert refused.error_code == 429 and accepted.ok
            assert accepted.at - refused.at >= 1.0
            await tg.say(tg.julia, julia, "/hilfe")  # later messages still flow
            assert len(tg.server.bot_messages(julia)) == 2

    run(scenario())


def test_the_bot_rides_out_a_telegram_outage(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            await tg.say(tg.julia, julia, "/hilfe")  # the poll in flight has been answered
            # The poll waiting now gets the next message; the two after it fail.
            tg.server.fail("getUpdates", network=True)
            tg.server.fail("getUpdates", code=502, description="Bad Gateway")
            await tg.say(tg.julia, julia, "/status M-1")
            await tg.server.wait_for(lambda: len(tg.server.calls_of("getUpdates", ok=False)) == 2)
            [reply] = await tg.say(tg.julia, julia, "/status M-2")
            assert "M-2" in reply["text"]
            failed = tg.server.calls_of("getUpdates", ok=False)
            # Backing off between attempts, not hammering the server.
            assert failed[-1].at - failed[0].at >= 1.0
            assert len(tg.server.bot_messages(julia)) == 3

    run(scenario())


def test_commands_sent_while_the_bot_was_down_are_answered_exactly_once(
    tg_app: App, clock: FixedClock
) -> None:
    async def scenario() -> None:
        async with telegram(tg_app, start=False) as tg:
            julia, jonas = tg.chat(tg.julia), tg.chat(tg.jonas)
            # A command from two days ago is past Telegram's day; the bot does not answer it.
            clock.now -= timedelta(days=2)
            tg.server.send_text(tg.jonas, jonas, "/status M-2")
            clock.now += timedelta(days=2)
            tg.server.send_text(tg.julia, julia, "/status M-1")
            tg.server.send_text(tg.jonas, jonas, "/melden M-7 50% Prognose liegt vor")
            tg.server.send_text(tg.julia, julia, "/meine")
            await tg.start()
            await tg.server.wait_for(
                lambda: (
                    len(tg.server.bot_messages(julia)) == 2
                    and len(tg.server.bot_messages(jonas)) == 1
                )
            )
            await tg.stop()
            # Telegram never got the confirmations (say the process was killed): it sends
            # every update again; the bot recognises them by update_id.
            tg.server.redeliver()
            await tg.start()
            await tg.say(tg.julia, julia, "/hilfe")
            assert len(tg.server.bot_messages(julia)) == 3
            assert texts(tg.server.bot_messages(jonas))[0].count("M-7") >= 1
            assert len(tg.server.bot_messages(jonas)) == 1
            with tg_app.uows() as uow:
                reports = uow.session.execute(
                    select(Measure.progress).where(Measure.id == 7)
                ).scalar_one()
            assert reports == 50

    run(scenario())


def test_a_second_poller_says_so_and_exits(tg_app: App, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            second = TelegramTransport(tg_app, tg.config())
            started = time.monotonic()
            code = await serve(tg_app, [second])
            assert code == 3 and time.monotonic() - started < 5
            assert "is already served by another process" in capsys.readouterr().err
            # The first one goes on serving.
            assert "M-1" in await tg.say_text(tg.julia, tg.chat(tg.julia), "/status M-1")

    run(scenario())


def test_a_poller_on_another_database_gets_409_and_exits(
    tg_app: App, tmp_path: Path, clock: FixedClock
) -> None:
    async def scenario() -> None:
        from storage.db import make_engine

        other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        upgrade(other_engine)
        other = make_app(other_engine, clock)
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            await tg.say(tg.julia, julia, "/hilfe")  # the first poller has been answered
            intruder = TelegramTransport(other, tg.config(), poll_timeout=5)
            await intruder.start()  # its own database has no lease: only Telegram can tell
            started = time.monotonic()
            with pytest.raises(TransportTaken, match="409"):
                await asyncio.wait_for(intruder.run(), 5)
            assert time.monotonic() - started < 5
            await intruder.stop()
            assert tg.server.calls_of("getUpdates", ok=False)[0].error_code == 409
            # The poller that was there first goes on serving.
            assert "M-1" in await tg.say_text(tg.julia, julia, "/status M-1")
        other_engine.dispose()

    run(scenario())


def test_the_bot_leaves_a_group_that_someone_not_allowed_added_it_to(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app, start=False) as tg:
            await tg.start(tg.config(allowed_adders=[tg.jonas["id"]]))
            foreign = tg.server.group(-5001, "Fremde Gruppe", bot_member=False)
            tg.server.add_bot(foreign, by=tg.stranger)
            await tg.server.wait_for(lambda: foreign.bot_status == "left")
            [note] = tg.server.bot_messages(foreign)
            assert "verlässt diese Gruppe" in note["text"]
            # Added by an allowed adder, or by an administrator from the configuration: it stays.
            team = tg.server.group(-5002, "Bildungsbüro", bot_member=False)
            tg.server.add_bot(team, by=tg.jonas)
            steering = tg.server.group(-5003, "Steuergruppe", bot_member=False)
            tg.server.add_bot(steering, by=tg.admin)
            assert "M-1" in await tg.say_text(tg.jonas, team, "/status M-1")
            assert "M-1" in await tg.say_text(tg.jonas, steering, "/status M-1")
            assert team.bot_status == steering.bot_status == "member"
            assert len(tg.server.calls_of("leaveChat")) == 1

    run(scenario())


def test_a_group_upgraded_to_a_supergroup_keeps_its_room_link(tg_app: App) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            group = tg.server.group(-6001, "Jugendamt")
            # The administrator types the ASCII form the menu shows.
            linked = await tg.say_text(tg.admin, group, "/ressort_verknuepfen Jugendamt")
            assert "Jugendamt" in linked
            supergroup = tg.server.migrate(group, by=tg.admin)
            # The supergroup's service message comes before this command in that chat.
            shown = await tg.say_text(tg.admin, supergroup, "/ressort")
            assert "Jugendamt" in shown
            with tg_app.uows() as uow:
                link = uow.session.execute(
                    select(RoomLink.room_id).where(RoomLink.platform == "telegram")
                ).scalar_one()
            assert link == str(supergroup.id)
            # A notice addressed to the old id (queued before the upgrade) follows it, too.
            assert tg.transport is not None
            delivery = await tg.transport.notifier.send(
                Recipient("room", "telegram", str(group.id), "Jugendamt (JA)"),
                Reply.text("Erinnerung: M-6 ist überfällig."),
                idempotency_key="test:migration",
            )
            assert delivery.status is DeliveryStatus.DELIVERED
            assert "M-6" in texts(tg.server.bot_messages(supergroup))[-1]
            assert tg.server.calls_of("sendMessage", ok=False)[-1].description.endswith(
                "upgraded to a supergroup chat"
            )

    run(scenario())


def test_a_webhook_request_without_the_secret_gets_403(tg_app: App) -> None:
    async def scenario() -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        async with telegram(tg_app, start=False) as tg:
            url = f"http://127.0.0.1:{port}/telegram/hook"
            config = tg.config(
                webhook_url=url,
                webhook_secret="s3cr3t-Hook_value",
                webhook_listen="127.0.0.1",
                webhook_port=port,
            )
            await tg.start(config)
            assert tg.server.webhook == {"url": url, "secret_token": "s3cr3t-Hook_value"}
            update = {
                "update_id": 999,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": "/melden M-1 100%",
                    "chat": {"id": tg.jonas["id"], "type": "private", "first_name": "Jonas"},
                    "from": tg.jonas,
                },
            }
            async with ClientSession() as http:
                async with http.post(url, json=update) as response:
                    assert response.status == 403
                wrong = {"X-Telegram-Bot-Api-Secret-Token": "guessed"}
                async with http.post(url, json=update, headers=wrong) as response:
                    assert response.status == 403
            # Telegram itself sends the secret: that update is answered.
            julia = tg.chat(tg.julia)
            assert "M-1" in await tg.say_text(tg.julia, julia, "/status M-1")
            # Delivered through the webhook, every delivery accepted.
            assert tg.server.webhook_deliveries
            assert all(status == 200 for _id, status in tg.server.webhook_deliveries)
            assert measure(tg_app, 1)[0] is not MeasureStatus.DONE
            assert not tg.server.calls_of("getUpdates")  # no polling in webhook mode

    run(scenario())


def test_a_long_reply_is_split_at_the_limit_between_lines(tg_app: App) -> None:
    lines = [
        f"• M-{n} Sprachförderung & Elternarbeit <Nordstadt> — Stand {n % 100} % 🟢"
        for n in range(1, 301)
    ]
    long_reply = Reply.text(*lines, heading="Alle Maßnahmen")
    long_reply.add("x" * 5000)  # one word longer than a message

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            jonas = tg.chat(tg.jonas)
            assert tg.transport is not None
            delivery = await tg.transport.notifier.send(
                Recipient("person", "telegram", str(tg.jonas["id"]), "Jonas Weber"),
                long_reply,
                idempotency_key="test:long",
            )
            assert delivery.status is DeliveryStatus.DELIVERED
            messages = tg.server.bot_messages(jonas)
            chunks = render_chunks(long_reply)
            assert len(messages) == len(chunks) == 8  # 6 of lines, 2 of the one long word
            # Packed densely: each message but the last of the list would overflow with one
            # more line.
            assert all(utf16_len(c) > TEXT_LIMIT - 100 for c in chunks[:5])
            assert all(utf16_len(m["text"]) <= TEXT_LIMIT for m in messages)
            # Every chunk went out in exactly one accepted sendMessage, none was refused.
            assert len(tg.server.calls_of("sendMessage", ok=True)) == len(chunks)
            assert not tg.server.calls_of("sendMessage", ok=False)
            got = "\n".join(texts(messages)).replace("\n", "").replace(" ", "")
            assert got == long_reply.plain().replace("\n", "").replace(" ", "")
            assert messages[0]["text"].startswith("Alle Maßnahmen\n• M-1 ")
            assert all(m["text"].split("\n")[-1].endswith("🟢") for m in messages[:2])
            # Sent once: the same outbox key again is not sent twice.
            again = await tg.transport.notifier.send(
                Recipient("person", "telegram", str(tg.jonas["id"]), "Jonas Weber"),
                long_reply,
                idempotency_key="test:long",
            )
            assert again.status is DeliveryStatus.DELIVERED
            assert len(tg.server.bot_messages(jonas)) == 8

    run(scenario())


def test_a_refused_send_is_seen_by_the_count_not_by_all_calls(tg_app: App) -> None:
    """The long-reply test once asserted `all(calls_of("sendMessage", ok=True))`: a list of
    Call objects, each truthy, so it held even when nothing was sent. Its check now counts."""

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            assert tg.transport is not None
            tg.server.fail("sendMessage", code=400, description="Bad Request: chat not found")
            delivery = await tg.transport.notifier.send(
                Recipient("person", "telegram", str(tg.jonas["id"]), "Jonas Weber"),
                Reply.text("Erinnerung"),
                idempotency_key="test:refused",
            )
            assert delivery.status is not DeliveryStatus.DELIVERED
            accepted = tg.server.calls_of("sendMessage", ok=True)
            assert all(accepted)  # the old form: true of an empty list as well
            assert len(accepted) == 0  # the count sees that nothing went out
            assert len(tg.server.calls_of("sendMessage", ok=False)) == 1

    run(scenario())


def test_the_token_never_appears_in_a_log_line(
    tg_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            await tg.say(tg.julia, julia, "/status M-1")
            tg.server.fail("sendMessage", code=502, description="Bad Gateway")
            tg.server.send_text(tg.julia, julia, "/status M-2")
            await tg.server.wait_for(lambda: tg.server.calls_of("sendMessage", ok=False))
            tg.server.fail("getUpdates", network=True)
            await tg.say(tg.julia, julia, "/status M-3")
            assert tg.transport is not None
            await tg.transport.notifier.send(
                Recipient("person", "telegram", str(tg.katrin["id"]), "Katrin Schulz"),
                Reply.text("Erinnerung"),
                idempotency_key="test:logs",
            )

            # A token Telegram does not know: the error names the setting, not the token.
            wrong = tg.config(token=WRONG_TOKEN)
            rejected = TelegramTransport(tg_app, wrong)
            await rejected.start()
            with pytest.raises(TokenRejected, match=r"telegram\.token") as error:
                await rejected.run()
            await rejected.stop()
            logging.getLogger("regelkreis.run").error("stopped: %r", error.value)

    run(scenario())
    assert caplog.records, "nothing was logged at all"
    for secret in (TOKEN.split(":", 1)[1], WRONG_TOKEN.split(":", 1)[1]):
        for record in caplog.records:
            line = record.getMessage() + (record.exc_text or "")
            assert secret not in line, f"token in {record.name}: {line}"
        assert secret not in caplog.text
    assert not [r for r in caplog.records if r.name == "httpx" and r.levelno < logging.WARNING]


def test_the_menu_is_published_per_language_and_a_failure_is_not_fatal(
    tg_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            german = [c["command"] for c in tg.server.commands[("default", "de")]]
            english = [c["command"] for c in tg.server.commands[("default", "en")]]
            assert {
                "faellig",
                "ueberfaellig",
                "ziel_neu",
                "wer_bin_ich",
                "ressort_verknuepfen",
                "hilfe",
            } <= set(german)
            assert {"due", "overdue", "goal_new", "whoami", "department_link"} <= set(english)
            assert tg.server.commands[("default", "")] == tg.server.commands[("default", "de")]
            # The conversation's menu, each listed command once in the registry's order,
            # within Telegram's limits (the wire server refuses more with a 400).
            for lang in ("de", "en"):
                entries = tg_app.conversation.menu(lang)
                assert [c["command"] for c in tg.server.commands[("default", lang)]] == [
                    e.command for e in entries
                ][:100]
                assert [c["description"] for c in tg.server.commands[("default", lang)]] == [
                    e.description if len(e.description) <= 256 else e.description[:255] + "…"
                    for e in entries
                ][:100]
        async with telegram(tg_app, start=False) as tg:
            tg.server.fail("setMyCommands", code=400, description="Bad Request: boom", times=3)
            await tg.start()
            assert "M-1" in await tg.say_text(tg.julia, tg.chat(tg.julia), "/status M-1")
        assert "could not publish the command menu" in caplog.text

    run(scenario())


def png() -> bytes:
    """A valid 1×1 PNG, so that sendPhoto's image check passes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_files_and_images_go_as_documents_and_photos(tg_app: App, tmp_path: Path) -> None:
    report = tmp_path / "bericht.csv"
    report.write_text("id;titel\nM-1;Sprachförderung\n", encoding="utf-8")
    chart = tmp_path / "diagramm.png"
    chart.write_bytes(png())
    reply = Reply.text("Steuerungsbericht <Bildung>", heading="Bericht")
    reply.attachments = [
        Attachment(report, "text/csv", caption="Maßnahmen & Stand"),
        Attachment(chart, "image/png", is_image=True, caption="Status je Ressort"),
    ]

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            group = tg.server.group(-7001, "Steuergruppe")
            assert tg.transport is not None
            sent = await tg.transport.deliver(group.id, reply)
            assert len(sent) == 3
            text, document, photo = tg.server.bot_messages(group)
            assert text["text"] == "Bericht\nSteuerungsbericht <Bildung>"
            assert document["document"]["file_name"] == "bericht.csv"
            assert document["caption"] == "Maßnahmen & Stand"
            assert photo["photo"] and photo["caption"] == "Status je Ressort"

    run(scenario())


def test_the_notifier_tells_permanent_from_temporary_failures(tg_app: App) -> None:
    def to(user: dict[str, Any]) -> Recipient:
        return Recipient("person", "telegram", str(user["id"]), user["first_name"])

    async def scenario() -> None:
        # One retry after a 429 instead of three keeps the test short.
        async with telegram(tg_app, rate_limiter=AIORateLimiter(max_retries=1)) as tg:
            assert tg.transport is not None
            notifier = tg.transport.notifier
            tg.chat(tg.katrin, started=False)
            tg.chat(tg.julia)

            async def send(recipient: Recipient, key: str) -> Any:
                return await notifier.send(
                    recipient, Reply.text("Erinnerung: M-4"), idempotency_key=key
                )

            never_started = await send(to(tg.katrin), "k1")
            assert never_started.status is DeliveryStatus.PERMANENT_FAILURE
            assert "can't initiate conversation" in never_started.detail
            unknown = await send(Recipient("room", "telegram", "-999", "?"), "k2")
            assert unknown.status is DeliveryStatus.PERMANENT_FAILURE
            kicked = tg.server.group(-7002, "Alte Gruppe")
            kicked.bot_status = "kicked"
            gone = await send(Recipient("room", "telegram", "-7002", "Alte Gruppe"), "k3")
            assert gone.status is DeliveryStatus.PERMANENT_FAILURE
            tg.server.fail("sendMessage", retry_after=1, times=2)  # more than the retries
            flood = await send(to(tg.julia), "k4")
            assert flood.status is DeliveryStatus.TEMPORARY_FAILURE and "retry" in flood.detail
            tg.server.fail("sendMessage", network=True)
            network = await send(to(tg.julia), "k5")
            assert network.status is DeliveryStatus.TEMPORARY_FAILURE
            assert (await send(to(tg.julia), "k6")).status is DeliveryStatus.DELIVERED

    run(scenario())


def test_the_outbox_falls_through_to_the_room_when_a_person_never_started_the_bot(
    tg_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            jonas = tg.chat(tg.jonas)
            tg.chat(tg.katrin, started=False)  # Schulamt, never pressed Start
            school = tg.server.group(-8001, "Schulamt")
            await tg.say(tg.admin, school, "/ressort_verknuepfen Schulamt")
            await tg.say(tg.jonas, jonas, '/zuweisen M-3 an "Katrin Schulz"')
            assert tg.transport is not None
            notifiers = {"telegram": tg.transport.notifier}
            assert await deliver_due(tg_app.uows, notifiers, tg_app.clock()) == 1
            assert "M-3" in texts(tg.server.bot_messages(school))[-1]
            forbidden = tg.server.calls_of("sendMessage", ok=False)
            assert forbidden[0].error_code == 403 and forbidden[0].params["chat_id"] == 5012345603
            with tg_app.uows() as uow:
                entry = uow.session.execute(select(OutboxEntry)).scalars().all()[-1]
                assert entry.state is OutboxState.SENT and "-8001" in (entry.delivered_to or "")
        assert "can't initiate conversation" in caplog.text

    run(scenario())


# -- the translation itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "private", "replies_to_bot", "expected"),
    [
        ("/fällig 30", False, False, "fällig 30"),
        (f'/ziel_neu@{BOT_NAME} "Mehr Ganztag"', False, False, 'ziel_neu "Mehr Ganztag"'),
        (f"/status@{BOT_NAME.upper()}", False, False, "status"),
        ("/status@other_bot M-1", False, False, None),
        ("/start", True, False, "hilfe"),
        (f"@{BOT_NAME} status M-1", False, False, "status M-1"),
        # A question that names the bot anywhere is for it; one naming another bot is not.
        (f"Sag mal @{BOT_NAME}, was ist fällig?", False, False, "Sag mal was ist fällig?"),
        (f"Was ist fällig, @{BOT_NAME}?", False, False, "Was ist fällig?"),
        (f"Was ist fällig, @{BOT_NAME}_two?", False, False, None),
        ("Was ist fällig?", False, False, None),
        ("status M-1", True, False, "status M-1"),
        ("status M-1", False, False, None),
        ("2", False, True, "2"),
        ("/", True, False, None),
    ],
)
def test_what_people_type_becomes_the_command_text(
    text: str, private: bool, replies_to_bot: bool, expected: str | None
) -> None:
    assert command_text(text, BOT_NAME, private=private, replies_to_bot=replies_to_bot) == expected


def test_callback_data_carries_the_command_and_the_version_shown() -> None:
    data = encode_button("melden M-12 verzögert", ShownVersion(12, 7))
    assert len(data.encode("utf-8")) <= 64
    assert decode_button(data) == ("melden M-12 verzögert", ShownVersion(12, 7))
    assert decode_button(encode_button("erledigt M-3", None)) == ("erledigt M-3", None)
    assert decode_button("garbage") is None


def test_rendered_html_is_escaped_and_parses() -> None:
    reply = Reply.text("a < b & c > d", "<b>not bold</b>", heading="Über <alles>")
    [chunk] = render_chunks(reply)
    plain, entities = parse_html(chunk)
    assert plain == reply.plain()
    assert entities == [{"type": "bold", "offset": 0, "length": len("Über <alles>")}]


def test_a_reply_to_the_list_picks_even_after_another_command(tg_app: App) -> None:
    """A bare number picks only right after the list; a reply to the list always does."""

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            julia = tg.chat(tg.julia)
            [choices] = await tg.say(tg.julia, julia, "/melden sprachförd 70% Träger gefunden")
            assert choices["text"].startswith("„sprachförd“ passt auf mehrere.")
            assert "1. M-1 Sprachförderung in Kitas der Nordstadt" in choices["text"]
            await tg.say(tg.julia, julia, "/status")
            bare = await tg.say_text(tg.julia, julia, "1")
            assert bare.startswith("Den Befehl „1“ kenne ich nicht."), bare
            assert measure(tg_app, 1) == (MeasureStatus.IN_PROGRESS, 1)
            picked = await tg.say_text(tg.julia, julia, "1", reply_to=choices)
            assert picked.startswith("Bericht zu M-1 gespeichert"), picked
            with tg_app.uows() as uow:
                found = uow.session.get(Measure, 1)
                assert found is not None and (found.progress, found.version) == (70, 2)

    asyncio.run(scenario())


# -- write transactions per message ----------------------------------------------------------


@dataclass
class Transaction:
    """One transaction on the app's engine: whether it writes, its statements, its times."""

    writes: bool
    began: float  # time.monotonic()
    began_wall: float  # time.time(), to compare with a homeserver's timestamps
    statements: list[str] = field(default_factory=list)
    ended: float | None = None

    @property
    def tables(self) -> set[str]:
        """The tables it changed (INSERT, UPDATE, DELETE)."""
        found = set()
        for statement in self.statements:
            hit = re.match(r"\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", statement)
            if hit:
                found.add(hit.group(1))
        return found

    @property
    def of_the_process(self) -> bool:
        """The lease renewal and the sync token: per process and per sync, not per message."""
        text = " ".join(self.statements)
        return (self.tables <= {"locks"} and "locks" in text) or "sync_token" in text


class Transactions:
    """Every transaction of an engine while in the `with` block (SQLAlchemy events), a
    write one being what a unit of work with `write=True` opens (storage.db.WRITE_OPTION:
    BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.all: list[Transaction] = []
        self._open: dict[int, Transaction] = {}

    def _begin(self, connection: Connection) -> None:
        writes = bool(connection.get_execution_options().get(WRITE_OPTION))
        transaction = Transaction(writes, time.monotonic(), time.time())
        self._open[id(connection)] = transaction
        self.all.append(transaction)

    def _execute(self, connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        transaction = self._open.get(id(connection))
        if transaction is not None:
            transaction.statements.append(f"{statement} {_args[0]!r}")

    def _end(self, connection: Connection) -> None:
        transaction = self._open.pop(id(connection), None)
        if transaction is not None:
            transaction.ended = time.monotonic()

    _EVENTS = (
        ("begin", "_begin"),
        ("before_cursor_execute", "_execute"),
        ("commit", "_end"),
        ("rollback", "_end"),
    )

    def __enter__(self) -> Transactions:
        for name, method in self._EVENTS:
            event.listen(self.engine, name, getattr(self, method))
        return self

    def __exit__(self, *_exc: object) -> None:
        for name, method in self._EVENTS:
            event.remove(self.engine, name, getattr(self, method))

    def mark(self) -> int:
        return len(self.all)

    async def settle(self, quiet: float = 0.5) -> None:
        """Wait until no transaction has begun or is open for `quiet` seconds."""
        while True:
            count = len(self.all)
            await asyncio.sleep(quiet)
            if len(self.all) == count and not self._open:
                return

    def since(self, mark: int) -> list[Transaction]:
        """The message's own transactions since `mark` (not the lease, not the sync token)."""
        return [t for t in self.all[mark:] if not t.of_the_process]

    def writes_since(self, mark: int) -> list[Transaction]:
        return [t for t in self.since(mark) if t.writes]


# What one message costs, the same on every platform (tests/test_matrix.py has the same):
# write transactions before the reply is sent, and after. The commands without a prefix.
WRITES_PER_MESSAGE = {
    "hilfe": (1, 0),  # the sender's first message here: the claim (and where they wrote)
    "status": (1, 0),  # a read that shows no measure: its claim
    "status M-1": (1, 1),  # a read that shows one: then what it showed (`sent`)
    "status sprachförd": (1, 1),  # a read with a numbered list: then the list's id
    "2": (1, 1),  # a pick, as a reply to the list
    "melden M-7 50% Prognose liegt vor": (1, 1),  # a write: the claim with the change
    "ressort verknüpfen JA": (1, 0),  # a write that shows no measure
}


def test_a_message_costs_one_write_and_one_more_only_for_what_it_showed(tg_app: App) -> None:
    """A read writes its claim, a write its claim with the change, both before the reply;
    1 write after sending only when the reply showed a measure or a numbered list (what a
    reply, a button or a pick refers to)."""

    async def scenario() -> None:
        async with telegram(tg_app) as tg:
            group = tg.server.group(-4009, "Jugendamt Team")
            senders = {
                "melden M-7 50% Prognose liegt vor": tg.jonas,
                "ressort verknüpfen JA": tg.admin,
            }
            counts: dict[str, tuple[int, int]] = {}
            listed: list[dict[str, Any]] = []
            with Transactions(tg_app.engine) as log:
                for text in WRITES_PER_MESSAGE:
                    user = senders.get(text, tg.julia)
                    chat = group if user is tg.admin else tg.chat(user)
                    await log.settle()
                    mark, sent = log.mark(), len(tg.server.calls_of("sendMessage"))
                    typed = text if text == "2" else f"/{text}"
                    reply = await tg.say(user, chat, typed, reply_to=listed[0] if listed else None)
                    listed = reply if text == "status sprachförd" else []
                    await log.settle()
                    reply_at = tg.server.calls_of("sendMessage")[sent].at
                    writes = log.writes_since(mark)
                    before = [w for w in writes if w.ended is not None and w.ended <= reply_at]
                    after = [w for w in writes if w.began >= reply_at]
                    assert len(before) + len(after) == len(writes), text
                    counts[text] = (len(before), len(after))
                    print(f"telegram {typed!r}: {counts[text]}, {len(log.since(mark))} in all")
            assert counts == WRITES_PER_MESSAGE

    run(scenario())
