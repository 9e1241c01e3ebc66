"""A real start on Telegram: an empty database set up on the command line with the Telegram
ids of the people and groups, then `regelkreis run` against the Bot API server of
tests/telegram_wire.py (as tests/test_telegram.py drives it; nothing of PTB is mocked).

The coordinator creates a goal with a field of action and a measure, a department member
reports, the coordinator assigns; each reply as the user's chat shows it, and the database
after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.config import load_config
from bot.telegram import TelegramTransport
from schedules.delivery import deliver_due
from storage.migrate import head_revision
from storage.models import (
    AuditEntry,
    Goal,
    Measure,
    MeasureStatus,
    OutboxEntry,
    RoomLink,
    StatusReport,
)
from tests.conftest import FixedClock
from tests.synapse import free_port
from tests.telegram_wire import ChatState, WireServer, texts
from tests.test_real_start import cli

HEAD = head_revision()  # the revision `db upgrade` names

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
CLARA, MAX, RITA, STRANGER = 5012340001, 5012340002, 5012340004, 5012340009
JA_GROUP, COORDINATION_GROUP = -4001, -4002
# PTB's own RetryAfter warns about a type change of its retry_after attribute; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@dataclass
class Town:
    """The Bot API server with the municipality's people and groups, and the bot's app."""

    server: WireServer
    app: App
    users: dict[int, dict[str, Any]]
    groups: dict[int, ChatState]

    async def say(self, user: int, chat: ChatState, text: str) -> list[dict[str, Any]]:
        """`user` types `text` in `chat`; the bot's new messages there."""
        self.server.send_text(self.users[user], chat, text)
        return await self.server.next_bot_messages(chat)

    async def say_text(self, user: int, chat: ChatState, text: str) -> str:
        return "\n".join(texts(await self.say(user, chat, text)))


@pytest.fixture
def town(tmp_path: Path) -> Iterator[Town]:
    """The operator's configuration (Telegram through the wire server) and an empty
    database set up on the command line."""
    server = WireServer(TOKEN, username="regelkreis_test_bot")
    server.port = free_port()  # known before it starts: the configuration names it
    config_file = tmp_path / "regelkreis.toml"
    config_file.write_text(
        "[bot]\n"
        f'data_dir = "{tmp_path / "data"}"\n'
        "\n[telegram]\n"
        f'token = "{TOKEN}"\n'
        f'base_url = "{server.base_url}"\n',
        encoding="utf-8",
    )
    database = (tmp_path / "data" / "regelkreis.db").resolve()
    for args, said in [
        (
            ("db", "upgrade"),
            f"Database schema created (revision {HEAD}) in sqlite:///{database}.\n",
        ),
        (
            ("ressort", "add", "JA", "Jugendamt", "--alias", "Amt 51", "--alias", "Jugend"),
            "Jugendamt (JA) created.\n",
        ),
        (("ressort", "add", "SA", "Schulamt", "--alias", "Amt 40"), "Schulamt (SA) created.\n"),
        (("ressort", "add", "SP", "Stadtplanung"), "Stadtplanung (SP) created.\n"),
        (
            ("ressort", "link", "JA", "--telegram", str(JA_GROUP)),
            f"telegram:{JA_GROUP} linked to Jugendamt (JA).\n",
        ),
        (
            ("room", "coordination", "--telegram", str(COORDINATION_GROUP)),
            f"telegram:{COORDINATION_GROUP} is the coordination room.\n",
        ),
        (
            (
                *("person", "add", "Clara Koch", "--rolle", "koordination", "--admin"),
                *("--telegram", str(CLARA)),
            ),
            f"Clara Koch registered (koordination; telegram:{CLARA}).\n",
        ),
        (
            (
                *("person", "add", "Max Müller", "--ressort", "JA", "--rolle", "ressort"),
                *("--telegram", str(MAX)),
            ),
            f"Max Müller registered (ressort; telegram:{MAX}).\n",
        ),
        (
            ("person", "add", "Rita Roth", "--rolle", "lesen", "--telegram", str(RITA)),
            f"Rita Roth registered (lesen; telegram:{RITA}).\n",
        ),
    ]:
        assert cli(config_file, *args) == (0, said, ""), args
    app = bootstrap(load_config(config_file), clock=FixedClock())
    users = {
        CLARA: server.user(CLARA, "Clara", "Koch"),
        MAX: server.user(MAX, "Max", "Müller"),
        RITA: server.user(RITA, "Rita", "Roth"),
        STRANGER: server.user(STRANGER, "Eve", "Fremd"),
    }
    groups = {
        JA_GROUP: server.group(JA_GROUP, "Jugendamt Team"),
        COORDINATION_GROUP: server.group(COORDINATION_GROUP, "Steuerung Bildung"),
    }
    yield Town(server, app, users, groups)
    app.engine.dispose()


@contextlib.asynccontextmanager
async def running_bot(town: Town) -> AsyncIterator[TelegramTransport]:
    """`regelkreis run` with the configured [telegram]: start, poll, stop."""
    await town.server.start()
    config = town.app.config.telegram
    assert config is not None
    transport = TelegramTransport(town.app, config, poll_timeout=5)
    await transport.start()
    task = asyncio.create_task(transport.run())
    ready = asyncio.create_task(transport.wait_ready(10))
    await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert ready.result(), "the bot did not start polling"
    try:
        yield transport
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await transport.stop()
        await town.server.close()


def state(app: App) -> dict[str, Any]:
    with app.uows() as uow:
        session = uow.session
        goals = session.execute(select(Goal).order_by(Goal.id)).scalars().all()
        measures = session.execute(select(Measure).order_by(Measure.id)).scalars().all()
        reports = session.execute(select(StatusReport).order_by(StatusReport.id)).scalars().all()
        audits = session.execute(
            select(AuditEntry).where(AuditEntry.origin_platform != "cli").order_by(AuditEntry.id)
        ).scalars()
        outbox = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
        rooms = session.execute(select(RoomLink).order_by(RoomLink.id)).scalars().all()
        return {
            "goals": [
                (g.ref, g.title, g.field_of_action.name if g.field_of_action else None)
                for g in goals
            ],
            "measures": [
                (
                    m.ref,
                    m.title,
                    m.lead_department.key,
                    [d.key for d in m.participants],
                    m.responsible.name if m.responsible else None,
                    m.goal.ref if m.goal else None,
                    m.status,
                    m.progress,
                    m.version,
                )
                for m in measures
            ],
            "reports": [
                (
                    r.person.name if r.person else None,
                    r.new_status,
                    r.new_progress,
                    r.note,
                    r.origin_platform,
                    r.origin_room,
                )
                for r in reports
            ],
            "audits": [
                (a.actor, a.action, a.entity_kind, a.origin_platform, a.origin_room) for a in audits
            ],
            "outbox": [
                (o.kind, o.person.name if o.person else None, o.state.value, o.delivered_to)
                for o in outbox
            ],
            "rooms": [
                (r.address, r.department.key if r.department else None, r.is_coordination)
                for r in rooms
            ],
        }


def test_the_first_goal_measure_report_and_assignment_on_telegram(town: Town) -> None:
    app = town.app
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with running_bot(town) as transport:
            ja, coordination = town.groups[JA_GROUP], town.groups[COORDINATION_GROUP]
            # What a person types, `/ziel neu …`, works like the menu's `/ziel_neu`.
            [goal] = await town.say(
                CLARA, coordination, '/ziel neu "Bildungsgerechtigkeit" handlungsfeld:Bildung'
            )
            assert goal["text"] == (
                "Angelegt: Z-1\nLeitziel: Bildungsgerechtigkeit\nHandlungsfeld: Bildung"
            )
            assert goal["entities"] == [{"type": "bold", "offset": 0, "length": 13}]
            assert goal["reply_to_message"]["text"].startswith("/ziel neu")
            seen["goal"] = state(app)

            new = '/neu "Sprachcafé für Eltern" ressort:JA ziel:Z-1 frist:31.03.2027 beteiligt:SA'
            assert await town.say_text(CLARA, coordination, new) == (
                "Angelegt: M-1\n⚪ M-1 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027"
            )
            seen["measure"] = state(app)

            assert await town.say_text(
                MAX, ja, "/melden M-1 laufend 30% Raum im Familienzentrum gefunden"
            ) == "\n".join(
                [
                    "Bericht zu M-1 gespeichert",
                    "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                    "„Raum im Familienzentrum gefunden“",
                ]
            )
            seen["report"] = state(app)

            # A reader is refused, with the role; nothing changes.
            assert await town.say_text(RITA, coordination, "/melden M-1 50%") == (
                "„melden“ dürfen nur Personen mit der Rolle koordination oder ressort. "
                "Ihre Rolle: lesen."
            )
            seen["refused"] = state(app)

            assert await town.say_text(
                CLARA, coordination, '/zuweisen M-1 an "Max Müller"'
            ) == "\n".join(
                [
                    "M-1 → Max Müller",
                    "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                    "Benachrichtigung ist unterwegs.",
                ]
            )
            seen["assign"] = state(app)

            # The notice reaches Max in his private chat, with the quick answers as buttons.
            max_chat = town.server.private_chat(town.users[MAX])
            notifiers = {"telegram": transport.notifier}
            assert await deliver_due(app.uows, notifiers, app.clock()) == 1
            [notice] = town.server.bot_messages(max_chat)
            assert notice["text"] == "\n".join(
                [
                    "📌 Ihnen wurde M-1 zugewiesen (von Clara Koch):",
                    "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                    "Bericht mit: melden M-1 <status> <NN%> <notiz>",
                ]
            )
            buttons = [b["text"] for row in notice["reply_markup"]["inline_keyboard"] for b in row]
            assert buttons == ["✅ erledigt", "🟢 läuft", "🟡 verzögert"]
            seen["delivered"] = state(app)

    asyncio.run(scenario())

    clara, max_ = f"telegram:{CLARA}", f"telegram:{MAX}"
    in_coordination = ("telegram", str(COORDINATION_GROUP))
    assert seen["goal"]["goals"] == [("Z-1", "Bildungsgerechtigkeit", "Bildung")]
    assert seen["goal"]["audits"] == [(clara, "create", "goal", *in_coordination)]
    planned = ("M-1", "Sprachcafé für Eltern", "JA", ["SA"], None, "Z-1")
    assert seen["measure"]["measures"] == [(*planned, MeasureStatus.PLANNED, 0, 1)]
    assert seen["measure"]["audits"][-1] == (clara, "create", "measure", *in_coordination)
    assert seen["report"]["measures"] == [(*planned, MeasureStatus.IN_PROGRESS, 30, 2)]
    assert seen["report"]["reports"] == [
        ("Max Müller", "laufend", 30, "Raum im Familienzentrum gefunden", "telegram", str(JA_GROUP))
    ]
    assert seen["report"]["audits"][-1] == (max_, "report", "measure", "telegram", str(JA_GROUP))
    assert seen["refused"] == seen["report"]
    responsible = ("M-1", "Sprachcafé für Eltern", "JA", ["SA"], "Max Müller", "Z-1")
    assert seen["assign"]["measures"] == [(*responsible, MeasureStatus.IN_PROGRESS, 30, 3)]
    assert seen["assign"]["audits"][-1] == (clara, "assign", "measure", *in_coordination)
    assert seen["assign"]["outbox"] == [("assignment", "Max Müller", "pending", None)]
    assert seen["delivered"]["outbox"] == [
        ("assignment", "Max Müller", "sent", f"Max Müller (telegram:{MAX})")
    ]
    assert seen["delivered"]["rooms"] == [
        (f"telegram:{JA_GROUP}", "JA", False),
        (f"telegram:{COORDINATION_GROUP}", None, True),
    ]


def test_a_button_on_an_outdated_assignment_notice_is_refused(town: Town) -> None:
    app = town.app

    async def scenario() -> None:
        async with running_bot(town) as transport:
            coordination = town.groups[COORDINATION_GROUP]
            await town.say(CLARA, coordination, '/neu "Sprachcafé für Eltern" ressort:JA')
            await town.say(CLARA, coordination, '/zuweisen M-1 an "Max Müller"')
            max_chat = town.server.private_chat(town.users[MAX])
            assert await deliver_due(app.uows, {"telegram": transport.notifier}, app.clock()) == 1
            [notice] = town.server.bot_messages(max_chat)
            # The notice showed M-1 planned; then Clara reports a setback.
            await town.say(CLARA, coordination, "/melden M-1 gefährdet Raum fällt weg")
            query = town.server.press(town.users[MAX], notice, "✅ erledigt")
            await town.server.wait_for(
                lambda: town.server.callback_queries[query["id"]]["answered"]
            )
            answer = town.server.callback_queries[query["id"]]["answered"]
            # Once it was applied ("Erledigt: M-1 ✅"); the notice carries its version now.
            assert answer["show_alert"] and "geändert" in answer["text"], answer

    asyncio.run(scenario())
    assert state(app)["measures"][0][6] is MeasureStatus.AT_RISK


def test_bug_an_unregistered_sender_is_answered_once_per_room_and_day(town: Town) -> None:
    async def scenario() -> None:
        async with running_bot(town):
            ja = town.groups[JA_GROUP]
            first = await town.say_text(STRANGER, ja, "/status")
            assert first == "\n".join(
                [
                    f"Sie sind noch nicht registriert. Ihre Chat-ID: telegram:{STRANGER}",
                    "Bitte wenden Sie sich an Clara Koch, damit Sie eingetragen werden.",
                ]
            )
            town.server.send_text(town.users[STRANGER], ja, "/meine")
            # `wer bin ich` is always answered: once it is, the bot has read both.
            town.server.send_text(town.users[STRANGER], ja, "/wer_bin_ich")
            await town.server.wait_for(
                lambda: any(
                    t.startswith("Wer bin ich") for t in texts(town.server.bot_messages(ja))
                )
            )
            answers = texts(town.server.bot_messages(ja))
            # Today: three answers — the one to `/meine` repeats the first.
            assert [a.splitlines()[0] for a in answers] == [first.splitlines()[0], "Wer bin ich"]

    asyncio.run(scenario())
