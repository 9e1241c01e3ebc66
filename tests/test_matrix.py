"""Matrix on the wire: the bot against a real Synapse, spoken to as users would type.

One homeserver serves the whole session (tests/synapse.py). Every test has its own bot
account, database and data folder; the people of the example municipality are registered
on the homeserver under the Matrix ids the database knows (@anna.schmidt:musterstadt.de …)
and talk through matrix-nio clients with their own devices, encrypted where the room is.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio
import pytest
from nio.crypto import decrypt_attachment
from nio.event_builders import EnableEncryptionBuilder
from sqlalchemy import Engine, select

from bot.bootstrap import App
from bot.config import Config
from bot.matrix import (
    MatrixTransport,
    command_text,
    inviter_allowed,
    reaction_command,
    render_body,
    render_html,
)
from handlers.core import Attachment, Block, Incoming, QuickAnswer, Reply
from handlers.ports import DeliveryStatus, Recipient
from schedules.delivery import deliver_due
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import (
    AuditEntry,
    ChatIdentity,
    Measure,
    MeasureStatus,
    Person,
    ProcessedMessage,
    StatusReport,
)
from tests.conftest import FixedClock, make_app
from tests.synapse import Account, Synapse, synapse  # noqa: F401  (the session fixture)
from tests.test_telegram import WRITES_PER_MESSAGE, Transactions

ANNA = "@anna.schmidt:musterstadt.de"  # koordination, admin
JONAS = "@jonas.weber:musterstadt.de"  # koordination
MARKUS = "@markus.becker:musterstadt.de"  # ressort Jugendamt
CLAUDIA = "@claudia.berger:musterstadt.de"  # lesen (read only)
MALLORY = "@mallory:musterstadt.de"  # nobody the bot knows
WAIT = 30.0
_bots = itertools.count(1)


# -- unit: rendering and reading, no homeserver ----------------------------------------------


def test_replies_render_as_escaped_html_with_bold_headings_and_plain_body() -> None:
    reply = Reply(
        blocks=[Block(("🔴 M-3 <Sprachförderung> & mehr", "Zeile 2"), heading="Status M-3")],
        quick_answers=[QuickAnswer("✅ erledigt", "erledigt M-3", "✅")],
    )
    assert render_html(reply) == (
        "<p><strong>Status M-3</strong><br>🔴 M-3 &lt;Sprachförderung&gt; &amp; mehr<br>"
        "Zeile 2</p><p><em>↳ ✅ erledigt</em></p>"
    )
    assert render_body(reply) == (
        "Status M-3\n🔴 M-3 <Sprachförderung> & mehr\nZeile 2\n\n↳ ✅ erledigt"
    )


def test_commands_are_read_from_prefix_mention_direct_room_and_not_from_chat() -> None:
    def read(body: str, *, direct: bool = False, mentions: list[str] | None = None) -> str | None:
        content: dict[str, Any] = {"body": body}
        if mentions is not None:
            content["m.mentions"] = {"user_ids": mentions}
        return command_text(
            content,
            prefix="!",
            user_id="@regelkreis:stadt.de",
            names=("@regelkreis:stadt.de", "Regelkreis", "regelkreis"),
            is_direct=direct,
        )

    assert read("!status jugend") == "status jugend"
    assert read("!fällig 30") == "fällig 30"
    assert read("Regelkreis: status") == "status"
    assert read("regelkreis, !meine") == "meine"
    assert read("@regelkreis:stadt.de status M-3") == "status M-3"
    assert read("Regelkreis status", mentions=["@regelkreis:stadt.de"]) == "status"
    assert read("Regelkreis ist ein schöner Name") is None
    assert read("Guten Morgen zusammen") is None
    assert read("status", direct=True) == "status"
    assert read("> <@anna:stadt.de> alt\n\n!meine") == "meine"
    assert read("!") is None


def test_invites_are_allowed_by_user_glob_server_or_admin() -> None:
    allowed = ["@anna:stadt.de", "@*.amt51:stadt.de", "land.de"]
    admins = ["matrix:@root:ext.org"]
    assert inviter_allowed("@anna:stadt.de", allowed, admins)
    assert inviter_allowed("@max.amt51:stadt.de", allowed, admins)
    assert inviter_allowed("@wer:land.de", allowed, admins)
    assert inviter_allowed("@root:ext.org", allowed, admins)
    assert not inviter_allowed("@max:stadt.de", allowed, admins)
    assert not inviter_allowed("@anna:evil.de", allowed, admins)


def test_reactions_stand_for_the_core_quickanswers() -> None:
    assert reaction_command("✅", 12) == "erledigt M-12"
    assert reaction_command("✅\ufe0f", 12) == "erledigt M-12"
    assert reaction_command("🟢", 12) == "melden M-12 laufend"
    assert reaction_command("🟡", 12) == "melden M-12 verzögert"
    assert reaction_command("👍", 12) is None


# -- the wire: helpers --------------------------------------------------------------------


@pytest.fixture(scope="session")
def people(synapse: Synapse) -> dict[str, Account]:  # noqa: F811
    """The example municipality's people with a Matrix account, registered once."""
    accounts = {}
    for user_id in (ANNA, JONAS, MARKUS, CLAUDIA, MALLORY):
        accounts[user_id] = synapse.register(user_id[1:].split(":")[0])
    accounts["admin"] = synapse.register("serveradmin", admin=True)
    return accounts


@dataclass
class Setup:
    synapse: Synapse
    people: dict[str, Account]
    app: App
    config: Config
    bot: Account
    folder: Path
    engine: Engine


def make_setup(synapse: Synapse, people: dict[str, Account], folder: Path) -> Setup:  # noqa: F811
    bot = synapse.register(f"regelkreis{next(_bots)}")
    config = Config.model_validate(
        {
            # No rate limit: the clock stands still, so a test's commands all fall into one
            # minute (the limit is tested in tests/test_people_admin.py).
            "bot": {
                "data_dir": str(folder / "data"),
                "admins": [f"matrix:{ANNA}"],
                "rate_limit": 0,
            },
            "database": {"url": f"sqlite:///{folder / 'regelkreis.db'}"},
            "matrix": {
                "homeserver": synapse.url,
                "user_id": bot.user_id,
                "password": bot.password,
                "allowed_inviters": [JONAS],
            },
        }
    )
    events.install()
    engine = make_engine(config.database_url)
    upgrade(engine)
    app = make_app(engine, FixedClock(), config=config)
    with app.uows(write=True) as uow:
        claudia = uow.session.execute(
            select(Person).where(Person.name == "Claudia Berger")
        ).scalar_one()
        claudia.identities.append(ChatIdentity(platform="matrix", user_id=CLAUDIA))
        uow.commit()
    return Setup(synapse, people, app, config, bot, folder, engine)


@pytest.fixture
def setup(
    synapse: Synapse,  # noqa: F811
    people: dict[str, Account],
    tmp_path: Path,
) -> Iterator[Setup]:
    made = make_setup(synapse, people, tmp_path)
    yield made
    made.engine.dispose()


@contextlib.asynccontextmanager
async def running_bot(
    setup: Setup, *, homeserver: str | None = None, timeline_limit: int | None = None
) -> AsyncIterator[MatrixTransport]:
    """The bot as `regelkreis run` serves it: start (lease), run (sync loop), stop."""
    config = setup.config.matrix
    assert config is not None
    if homeserver is not None:
        config = config.model_copy(update={"homeserver": homeserver})
    transport = MatrixTransport(setup.app, config)
    transport.key_wait_seconds = 1.0
    if timeline_limit is not None:
        transport.timeline_limit = timeline_limit
    await transport.start()
    task = asyncio.create_task(transport.run())
    ready = asyncio.create_task(transport.ready.wait())
    await asyncio.wait([task, ready], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert transport.ready.is_set(), "the bot did not finish its first sync"
    try:
        yield transport
    finally:
        ready.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await transport.stop()


class User:
    """A person at their Matrix client: a fresh device, encryption on, like Element."""

    def __init__(self, setup: Setup, user_id: str) -> None:
        self.setup = setup
        self.account = setup.people[user_id]
        self.user_id = user_id
        self.folder = setup.folder / "clients" / user_id.strip("@").replace(":", "_")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client = nio.AsyncClient(
            setup.synapse.url,
            user_id,
            store_path=str(self.folder),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self.timeline: list[tuple[str, Any]] = []
        self.to_device: list[Any] = []

    async def __aenter__(self) -> User:
        answer = await self.client.login(self.account.password, device_name="test client")
        assert isinstance(answer, nio.LoginResponse), answer
        await self.sync()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.close()

    async def sync(self, timeout: int = 0) -> None:
        client = self.client
        answer = await client.sync(timeout=timeout)
        assert isinstance(answer, nio.SyncResponse), answer
        for room_id, info in answer.rooms.join.items():
            self.timeline.extend((room_id, event) for event in info.timeline.events)
        self.to_device.extend(answer.to_device_events)
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def create_room(self, *, invite: list[str], encrypted: bool = False) -> str:
        answer = await self.client.room_create(
            invite=invite,
            initial_state=[EnableEncryptionBuilder().as_dict()] if encrypted else [],
        )
        assert isinstance(answer, nio.RoomCreateResponse), answer
        return str(answer.room_id)

    async def wait_joined(self, room_id: str, *user_ids: str) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            answer = await self.client.joined_members(room_id)
            if isinstance(answer, nio.JoinedMembersResponse):
                joined = {member.user_id for member in answer.members}
                if set(user_ids) <= joined:
                    await self.sync()
                    return
            assert time.monotonic() < deadline, f"{user_ids} did not join {room_id}"
            await asyncio.sleep(0.2)

    async def join(self, room_id: str) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            await self.sync(timeout=500)
            if room_id in self.client.invited_rooms or room_id in self.client.rooms:
                break
            assert time.monotonic() < deadline, f"no invite to {room_id}"
        answer = await self.client.join(room_id)
        assert isinstance(answer, nio.JoinResponse), answer
        await self.sync()

    async def say(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        await self.sync()
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        answer = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        answer = await self.client.room_send(
            room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    def answers(self, room_id: str, event_id: str) -> list[Any]:
        found = []
        for room, event in self.timeline:
            content = event.source.get("content") or {}
            relates = content.get("m.relates_to") or {}
            if (
                room == room_id
                and event.sender == self.setup.bot.user_id
                and (relates.get("m.in_reply_to") or {}).get("event_id") == event_id
            ):
                found.append(event)
        return found

    async def answer_to(self, room_id: str, event_id: str) -> Any:
        """The bot's (decrypted) reply to one event; fails if none comes in time."""
        deadline = time.monotonic() + WAIT
        while True:
            found = [e for e in self.answers(room_id, event_id) if hasattr(e, "body")]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no answer to {event_id}"
            await self.sync(timeout=1000)

    async def countanswers(self, room_id: str, event_id: str, *, settle: float = 2.0) -> int:
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            await self.sync(timeout=300)
        return len(self.answers(room_id, event_id))

    async def ask(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        """Type a command and return the body of the bot's answer."""
        event_id = await self.say(room_id, text, reply_to=reply_to)
        return str((await self.answer_to(room_id, event_id)).body)

    async def bot_messages(self, room_id: str) -> list[Any]:
        await self.sync(timeout=500)
        return [
            e
            for room, e in self.timeline
            if room == room_id and e.sender == self.setup.bot.user_id and hasattr(e, "body")
        ]


def core_says(setup: Setup, room_id: str, sender: str, text: str) -> str:
    """What the dispatcher itself answers (read commands only): the adapter must carry it."""
    reply = setup.app.dispatcher.handle(
        Incoming(platform="matrix", room_id=room_id, sender_id=sender, text=text)
    )
    return render_body(reply)


def run(scenario: Callable[[], Any]) -> None:
    asyncio.run(scenario())


# -- the wire: conversations ----------------------------------------------------------------


def test_the_bot_joins_when_an_allowed_user_invites_it_and_rejects_others(setup: Setup) -> None:
    async def scenario() -> None:
        async with (
            running_bot(setup),
            User(setup, JONAS) as jonas,
            User(setup, MALLORY) as mallory,
            User(setup, ANNA) as anna,
        ):
            by_jonas = await jonas.create_room(invite=[setup.bot.user_id])
            by_admin = await anna.create_room(invite=[setup.bot.user_id])
            by_mallory = await mallory.create_room(invite=[setup.bot.user_id])
            await jonas.wait_joined(by_jonas, setup.bot.user_id)
            await anna.wait_joined(by_admin, setup.bot.user_id)
            deadline = time.monotonic() + WAIT
            while True:
                state = await mallory.client.room_get_state_event(
                    by_mallory, "m.room.member", setup.bot.user_id
                )
                if getattr(state, "content", {}).get("membership") == "leave":
                    break
                assert time.monotonic() < deadline, "the invite from mallory was not rejected"
                await asyncio.sleep(0.2)
            assert "Überblick" in await jonas.ask(by_jonas, "!status")

    run(scenario)


def test_read_commands_answer_in_a_linked_and_an_unlinked_room(setup: Setup) -> None:
    async def scenario() -> None:
        async with running_bot(setup), User(setup, ANNA) as anna:
            linked = await anna.create_room(invite=[setup.bot.user_id])
            unlinked = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(linked, setup.bot.user_id)
            await anna.wait_joined(unlinked, setup.bot.user_id)
            assert "Jugendamt" in await anna.ask(linked, "!ressort verknüpfen JA")

            answer = await anna.ask(linked, "!status")
            assert answer.startswith("📊 Jugendamt (JA)")
            answer = await anna.ask(unlinked, "!status")
            assert answer.startswith("📊 Überblick Musterstadt")
            for room_id in (linked, unlinked):
                for command in ("status", "status jugend", "meine", "fällig 30"):
                    event_id = await anna.say(room_id, f"!{command}")
                    reply = await anna.answer_to(room_id, event_id)
                    assert reply.body == core_says(setup, room_id, ANNA, command), command
                    assert reply.formatted_body and "<p>" in reply.formatted_body
                    assert reply.source["content"]["msgtype"] == "m.notice"
            assert (await anna.ask(unlinked, "!status jugend")).startswith("📊 Jugendamt (JA)")
            assert "Fällig in 30 Tagen" in await anna.ask(unlinked, "!fällig 30")
            assert "Ihre offenen Maßnahmen" in await anna.ask(unlinked, "!meine")
            # Addressed by name instead of the prefix.
            localpart = setup.bot.user_id[1:].split(":")[0]
            assert "Überblick" in await anna.ask(unlinked, f"{localpart}: status")

    run(scenario)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_coordinator_creates_and_assigns_staff_report_and_readers_are_refused(
    setup: Setup, encrypted: bool
) -> None:
    async def scenario() -> None:
        async with (
            running_bot(setup) as bot,
            User(setup, ANNA) as anna,
            User(setup, MARKUS) as markus,
            User(setup, CLAUDIA) as claudia,
        ):
            room = await anna.create_room(
                invite=[setup.bot.user_id, MARKUS, CLAUDIA], encrypted=encrypted
            )
            await markus.join(room)
            await claudia.join(room)
            await anna.wait_joined(room, setup.bot.user_id, MARKUS, CLAUDIA)

            created = await anna.ask(room, '!neu "Lesepaten an Grundschulen" ressort:JA')
            assert "Angelegt: M-51" in created
            assigned = await anna.ask(room, "!zuweisen M-51 an Markus Becker")
            assert "Markus Becker" in assigned
            report_id = await markus.say(room, "!melden M-51 laufend 20% Auftakt geplant")
            reported = (await markus.answer_to(room, report_id)).body
            assert "M-51" in reported
            refused = await claudia.ask(room, "!melden M-51 50%")
            assert "Ihre Rolle: lesen" in refused

            if encrypted:
                raw = await asyncio.to_thread(
                    setup.synapse.request,
                    "GET",
                    f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?dir=b&limit=50",
                    None,
                    markus.account.access_token,
                )
                replies = [
                    e
                    for e in raw["chunk"]
                    if e["sender"] == setup.bot.user_id
                    and e["content"]
                    .get("m.relates_to", {})
                    .get("m.in_reply_to", {})
                    .get("event_id")
                    == report_id
                ]
                assert [e["type"] for e in replies] == ["m.room.encrypted"]
                decrypted = markus.client.decrypt_event(nio.MegolmEvent.from_dict(replies[0]))
                assert decrypted.body == reported

            # The assignment notice reaches Markus in a direct room the bot opens for it.
            delivered = await deliver_due(
                setup.app.uows, {"matrix": bot.notifier}, setup.app.clock()
            )
            assert delivered == 1
            direct = next(iter(markus.client.invited_rooms), None)
            for _ in range(50):
                if direct is not None:
                    break
                await markus.sync(timeout=200)
                direct = next(iter(markus.client.invited_rooms), None)
            assert direct is not None
            await markus.join(direct)
            notices = []
            for _ in range(50):
                notices = await markus.bot_messages(direct)
                if notices:
                    break
            assert "Ihnen wurde M-51 zugewiesen" in notices[0].body

        with setup.app.uows() as uow:
            measure = uow.session.get(Measure, 51)
            assert measure is not None
            assert measure.lead_department.key == "JA"
            assert measure.responsible is not None
            assert measure.responsible.name == "Markus Becker"
            assert (measure.status, measure.progress) == (MeasureStatus.IN_PROGRESS, 20)
            reports = (
                uow.session.execute(select(StatusReport).where(StatusReport.measure_id == 51))
                .scalars()
                .all()
            )
            assert [
                (r.person.name if r.person else None, r.origin_message_id) for r in reports
            ] == [("Markus Becker", report_id)]
            audit = (
                uow.session.execute(
                    select(AuditEntry.actor)
                    .where(AuditEntry.entity_kind == "measure", AuditEntry.entity_id == 51)
                    .order_by(AuditEntry.id)
                )
                .scalars()
                .all()
            )
            assert set(audit) == {f"matrix:{ANNA}", f"matrix:{MARKUS}"}
            assert f"matrix:{CLAUDIA}" not in audit

    run(scenario)


def test_a_reaction_marks_a_measure_done_and_is_refused_for_a_reader(setup: Setup) -> None:
    async def scenario() -> None:
        async with (
            running_bot(setup),
            User(setup, ANNA) as anna,
            User(setup, MARKUS) as markus,
            User(setup, CLAUDIA) as claudia,
        ):
            room = await anna.create_room(invite=[setup.bot.user_id, MARKUS, CLAUDIA])
            await markus.join(room)
            await claudia.join(room)
            await anna.wait_joined(room, setup.bot.user_id, MARKUS, CLAUDIA)
            shown_id = await anna.say(room, "!status M-1")
            shown = await anna.answer_to(room, shown_id)
            assert "M-1" in shown.body and "↳ ✅ erledigt" in shown.body

            refused_id = await claudia.react(room, shown.event_id, "✅")
            await claudia.sync()
            refused = await claudia.answer_to(room, shown.event_id)
            assert "Ihre Rolle: lesen" in refused.body
            with setup.app.uows() as uow:
                measure = uow.session.get(Measure, 1)
                assert measure is not None and measure.status is MeasureStatus.IN_PROGRESS

            await markus.react(room, shown.event_id, "✅")
            deadline = time.monotonic() + WAIT
            while True:
                with setup.app.uows() as uow:
                    measure = uow.session.get(Measure, 1)
                    assert measure is not None
                    if measure.status is MeasureStatus.DONE:
                        break
                assert time.monotonic() < deadline, "the reaction did not mark M-1 done"
                await asyncio.sleep(0.2)
            # The message showed the old version: a later reaction on it is refused as stale.
            stale_id = await anna.react(room, shown.event_id, "🟡")
            await asyncio.sleep(1.0)
            answers = await anna.bot_messages(room)
            assert any("wurde geändert, seit diese Nachricht" in a.body for a in answers)
            with setup.app.uows() as uow:
                taken = set(
                    uow.session.execute(select(ProcessedMessage.message_id)).scalars().all()
                )
            assert {refused_id, stale_id} <= taken

    run(scenario)


def test_commands_sent_while_down_are_answered_once_and_history_never(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="regelkreis.matrix")

    async def scenario() -> None:
        async with User(setup, ANNA) as anna:
            room = await anna.create_room(invite=[setup.bot.user_id])
            # The bot's account joins before the bot ever ran; then someone asks.
            await asyncio.to_thread(
                setup.synapse.request,
                "POST",
                f"/_matrix/client/v3/join/{urllib.parse.quote(room)}",
                {},
                setup.bot.access_token,
            )
            history = await anna.say(room, "!status")
            await asyncio.sleep(1.1)  # the first start is measured in milliseconds

            async with running_bot(setup):
                live = await anna.say(room, "!meine")
                await anna.answer_to(room, live)
            while_down = [
                await anna.say(room, command)
                for command in ("!status", "!fällig 30", "!meine", "!überfällig")
            ]
            # A short timeline makes the sync "limited": the rest comes from /messages.
            async with running_bot(setup, timeline_limit=2):
                for event_id in while_down:
                    await anna.answer_to(room, event_id)
                await anna.countanswers(room, live, settle=1.0)
            async with running_bot(setup):  # and once more: nothing is answered again
                await anna.countanswers(room, live, settle=2.0)
            for event_id in [live, *while_down]:
                assert len(anna.answers(room, event_id)) == 1, event_id
            assert anna.answers(room, history) == []
            assert "events fetched from /messages after a limited sync" in caplog.text

    run(scenario)


def test_a_second_bot_process_on_the_same_account_exits_with_a_clear_message(
    setup: Setup,
) -> None:
    config_file = setup.folder / "regelkreis.toml"
    config_file.write_text(
        "[bot]\n"
        f'data_dir = "{setup.folder / "data"}"\n'
        "[database]\n"
        f'url = "{setup.config.database_url}"\n'
        "[matrix]\n"
        f'homeserver = "{setup.synapse.url}"\n'
        f'user_id = "{setup.bot.user_id}"\n'
        f'password = "{setup.bot.password}"\n',
        encoding="utf-8",
    )

    async def scenario() -> None:
        async with running_bot(setup), User(setup, ANNA) as anna:
            second = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "regelkreis"),
                "run",
                "--config",
                str(config_file),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 3, output.decode()
            assert (
                f"the Matrix account {setup.bot.user_id} is already served by another process"
                in output.decode()
            )
            # The first one serves on.
            room = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(room, setup.bot.user_id)
            assert "Überblick" in await anna.ask(room, "!status")

    run(scenario)


def test_an_undecryptable_command_gets_a_please_resend_and_a_key_request(setup: Setup) -> None:
    async def scenario() -> None:
        async with running_bot(setup), User(setup, ANNA) as anna:
            room = await anna.create_room(invite=[setup.bot.user_id], encrypted=True)
            await anna.wait_joined(room, setup.bot.user_id)
            assert "Überblick" in await anna.ask(room, "!status")  # the room works
            session_id = base64.b64encode(b"a megolm session nobody has").decode().rstrip("=")
            bogus = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "sender_key": anna.client.olm.account.identity_keys["curve25519"],
                "ciphertext": base64.b64encode(b"\x03" + b"x" * 80).decode().rstrip("="),
                "session_id": session_id,
                "device_id": anna.client.device_id,
            }
            sent = await asyncio.to_thread(
                setup.synapse.request,
                "PUT",
                f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.encrypted/"
                f"undecryptable-{time.time_ns()}",
                bogus,
                anna.account.access_token,
            )
            answer = await anna.answer_to(room, sent["event_id"])
            assert "Bitte senden Sie sie noch einmal" in answer.body
            requests = [
                e
                for e in anna.to_device
                if isinstance(e, nio.RoomKeyRequest) and e.session_id == session_id
            ]
            assert requests and requests[0].sender == setup.bot.user_id

    run(scenario)


def test_the_notifier_reports_delivered_permanent_and_temporary_truthfully(setup: Setup) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    image = setup.folder / "diagramm.png"
    image.write_bytes(png)
    table = setup.folder / "export.csv"
    table.write_text("Maßnahme;Status\nM-1;laufend\n", encoding="utf-8")

    async def scenario() -> None:
        async with (
            running_bot(setup) as bot,
            User(setup, ANNA) as anna,
            User(setup, MALLORY) as mallory,
        ):
            notifier = bot.notifier
            for encrypted in (False, True):
                room = await anna.create_room(invite=[setup.bot.user_id], encrypted=encrypted)
                await anna.wait_joined(room, setup.bot.user_id)
                message = Reply.text("Bericht im Anhang", heading="📎 Export")
                message.attachments = [
                    Attachment(table, "text/csv"),
                    Attachment(image, "image/png", is_image=True, caption="Diagramm"),
                ]
                delivery = await notifier.send(
                    Recipient("room", "matrix", room, "Testraum"),
                    message,
                    idempotency_key=f"test:files:{encrypted}",
                )
                assert delivery.status is DeliveryStatus.DELIVERED
                await asyncio.sleep(0.5)
                got = await anna.bot_messages(room)
                assert [type(e).__name__ for e in got] == (
                    ["RoomMessageText", "RoomEncryptedFile", "RoomEncryptedImage"]
                    if encrypted
                    else ["RoomMessageText", "RoomMessageFile", "RoomMessageImage"]
                )
                for event, expected in zip(got[1:], (table.read_bytes(), png), strict=True):
                    downloaded = await anna.client.download(event.url)
                    body = downloaded.body
                    if encrypted:
                        body = decrypt_attachment(
                            body, event.key["k"], event.hashes["sha256"], event.iv
                        )
                    assert body == expected
                # The same outbox key again (a retry after a crash) posts nothing new.
                again = await notifier.send(
                    Recipient("room", "matrix", room, "Testraum"),
                    Reply.text("Bericht im Anhang", heading="📎 Export"),
                    idempotency_key=f"test:files:{encrypted}",
                )
                assert again.status is DeliveryStatus.DELIVERED
                assert again.message_id == delivery.message_id

            not_joined = await mallory.create_room(invite=[])
            lost = await notifier.send(
                Recipient("room", "matrix", not_joined, "fremder Raum"),
                Reply.text("Hallo"),
                idempotency_key="test:forbidden",
            )
            assert lost.status is DeliveryStatus.PERMANENT_FAILURE
            nobody = await notifier.send(
                Recipient("person", "matrix", "@niemand:musterstadt.de", "Niemand"),
                Reply.text("Hallo"),
                idempotency_key="test:nobody",
            )
            assert nobody.status is DeliveryStatus.PERMANENT_FAILURE

        # Not connected (stopped): a temporary failure, for the outbox to retry.
        stopped = await bot.notifier.send(
            Recipient("room", "matrix", "!x:musterstadt.de", "x"),
            Reply.text("Hallo"),
            idempotency_key="test:stopped",
        )
        assert stopped.status is DeliveryStatus.TEMPORARY_FAILURE

    run(scenario)


def test_rate_limits_are_waited_out_and_each_message_posts_once(setup: Setup) -> None:
    admin = setup.people["admin"]
    setup.synapse.request(
        "POST",
        f"/_synapse/admin/v1/users/{urllib.parse.quote(setup.bot.user_id)}/override_ratelimit",
        {"messages_per_second": 1, "burst_count": 1},
        admin.access_token,
    )

    async def scenario() -> None:
        async with running_bot(setup) as bot, User(setup, ANNA) as anna:
            room = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(room, setup.bot.user_id)
            started = time.monotonic()
            deliveries = await asyncio.gather(
                *(
                    bot.notifier.send(
                        Recipient("room", "matrix", room, "Testraum"),
                        Reply.text(f"Erinnerung {n}"),
                        idempotency_key=f"test:limit:{n}",
                    )
                    for n in range(4)
                )
            )
            elapsed = time.monotonic() - started
            assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries), deliveries
            assert elapsed >= 2.0  # the homeserver said 429 and the bot waited its retry_after
            await asyncio.sleep(0.5)
            bodies = sorted(e.body for e in await anna.bot_messages(room))
            assert bodies == [f"Erinnerung {n}" for n in range(4)]

    run(scenario)


class CountingProxy:
    """A TCP proxy in front of the homeserver that counts the connections the bot opens."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            with contextlib.suppress(OSError):
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_the_bot_rides_out_a_homeserver_outage_without_hammering_it(setup: Setup) -> None:
    async def scenario() -> None:
        proxy = CountingProxy(setup.synapse.port)
        await proxy.start()
        try:
            async with (
                running_bot(setup, homeserver=f"http://127.0.0.1:{proxy.port}") as bot,
                User(setup, ANNA) as anna,
            ):
                room = await anna.create_room(invite=[setup.bot.user_id])
                await anna.wait_joined(room, setup.bot.user_id)
                assert "Überblick" in await anna.ask(room, "!status")

                await asyncio.to_thread(setup.synapse.stop)
                before = proxy.connections
                outage_started = time.monotonic()
                await asyncio.sleep(2)
                during = await bot.notifier.send(
                    Recipient("room", "matrix", room, "Testraum"),
                    Reply.text("Erinnerung"),
                    idempotency_key="test:outage",
                )
                assert during.status is DeliveryStatus.TEMPORARY_FAILURE
                await asyncio.sleep(20 - (time.monotonic() - outage_started))
                attempts = proxy.connections - before
                await asyncio.to_thread(setup.synapse.start)

                print(f"outage: {attempts} connections in 20 s")
                assert attempts < 20, f"{attempts} connections in a 20 s outage"
                answer = await anna.ask(room, "!meine")
                assert "Ihre offenen Maßnahmen" in answer
        finally:
            await proxy.stop()
            await asyncio.to_thread(setup.synapse.start)  # for whatever runs next

    run(scenario)


def test_a_reply_to_the_candidate_list_picks_even_after_another_command(setup: Setup) -> None:
    """A bare number picks only right after the list; a reply to the list always does."""

    async def scenario() -> None:
        async with running_bot(setup), User(setup, ANNA) as anna:
            room = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(room, setup.bot.user_id)
            asked = await anna.say(room, "!melden sprachförd 70% Träger gefunden")
            listing = await anna.answer_to(room, asked)
            assert listing.body.startswith("„sprachförd“ passt auf mehrere.")
            assert await anna.ask(room, "!status")
            bare = await anna.say(room, "!1")
            assert (await anna.answer_to(room, bare)).body.startswith("Den Befehl „1“ kenne ich")
            with setup.app.uows() as uow:
                found = uow.session.get(Measure, 1)
                assert found is not None and found.progress == 80
            picked = await anna.say(room, "1", reply_to=listing.event_id)
            answer = await anna.answer_to(room, picked)
            assert answer.body.startswith("Bericht zu M-1 gespeichert"), answer.body
            with setup.app.uows() as uow:
                found = uow.session.get(Measure, 1)
                assert found is not None and found.progress == 70

    run(scenario)


def test_a_message_costs_one_write_and_one_more_only_for_what_it_showed(setup: Setup) -> None:
    """As on Telegram (WRITES_PER_MESSAGE). Not the message's: the sync token (written once
    per sync batch, behind the loop) and the lease (per process)."""

    async def scenario() -> None:
        async with running_bot(setup), User(setup, ANNA) as anna:
            room = await anna.create_room(invite=[setup.bot.user_id])
            await anna.wait_joined(room, setup.bot.user_id)
            counts: dict[str, tuple[int, int]] = {}
            listed: str | None = None
            with Transactions(setup.app.engine) as log:
                for text in WRITES_PER_MESSAGE:
                    await log.settle()
                    mark = log.mark()
                    typed = text if text == "2" else f"!{text}"
                    answer = await anna.answer_to(
                        room, await anna.say(room, typed, reply_to=listed)
                    )
                    listed = answer.event_id if text == "status sprachförd" else None
                    await log.settle()
                    # The homeserver stamps the reply in whole milliseconds.
                    reply_at = answer.server_timestamp / 1000 + 0.001
                    writes = log.writes_since(mark)
                    before = len([w for w in writes if w.began_wall < reply_at])
                    counts[text] = (before, len(writes) - before)
                    print(f"matrix {typed!r}: {counts[text]}, {len(log.since(mark))} in all")
            assert counts == WRITES_PER_MESSAGE

    run(scenario)
