"""The outbox's state machine (docs/reminders.md, "Delivery"), from an empty database.

- With no chat platform configured the console is every person's and every room's: a
  reminder is printed for a person who never chatted and for a department without a room.
- A reminder nobody in its chain can receive waits, and goes out once when a recipient
  appears (`ressort link`, `room coordination`).
- A delivery that outlives its lease is not sent twice: the lease is in the database's
  time and renewed while sending (two deliverers, a notifier that blocks).
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.bootstrap import App, bootstrap
from bot.cli import main
from bot.config import load_config
from bot.reminders import run_due, run_due_command
from handlers.core import Incoming, Reply
from handlers.ports import Delivery, Recipient
from schedules import delivery
from schedules.delivery import deliver_due
from storage.models import OutboxEntry, OutboxState
from tests.conftest import FixedClock, make_app
from tests.test_reminders_support import Recorder, berlin

# Monday 7 December 2026, 08:00 in Berlin: 3 days before a Thursday deadline.
MONDAY = berlin(2026, 12, 7, 8)


def cli(config_file: Path, *args: str) -> None:
    assert main([*args, "--config", str(config_file)]) == 0, args


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """An operator's installation: SQLite, no chat platform, set up on the command line."""
    path = tmp_path / "regelkreis.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    cli(path, "db", "upgrade")
    cli(path, "ressort", "add", "JA", "Jugendamt")
    cli(path, "person", "add", "Clara Koch", "--rolle", "koordination", "--admin")
    # Jens has no chat identity at all, and never opens the console.
    cli(path, "person", "add", "Jens Jugend", "--ressort", "JA", "--rolle", "ressort")
    return path


def say(app: App, sender: str, text: str) -> Reply:
    return app.dispatcher.handle(
        Incoming(platform="console", room_id="konsole", sender_id=sender, text=text)
    )


def open_app(config_file: Path) -> App:
    app = bootstrap(load_config(config_file), clock=FixedClock(MONDAY))
    # Clara acts at the console (as `regelkreis chat --as "Clara Koch"` would).
    cli(config_file, "chat", "--as", "Clara Koch")
    return app


def test_a_console_only_run_prints_reminders_for_people_and_departments_without_a_chat(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    app = open_app(config_file)
    assert (
        say(
            app,
            "Clara Koch",
            'neu "Spielplatz Lindenau" ressort:JA frist:10.12.2026 verantwortlich:"Jens Jugend"',
        ).outcome
        == "ok"
    )
    assert say(app, "Clara Koch", 'sitzung neu 16.12.2026 10:00 "Steuergruppe" ressorts:JA')
    out = io.StringIO()
    assert run_due_command(app, "2026-12-07T08:00", False, out) == 0
    printed = out.getvalue()
    # The deadline reminder, for a person who never chatted: recipient, then message.
    assert "→ Jens Jugend:\n⏰ Erinnerung\n\nFrist naht\n⚪ M-1 Spielplatz Lindenau" in printed
    # The pre-meeting request, for a department without a room (7 working days before).
    assert "→ Jugendamt (JA):\n📅 Sitzung S-1 Mi 16.12.2026 10:00 (in 7 Arbeitstagen)" in printed, (
        printed
    )
    with app.uows() as uow:
        states = {e.kind: e.state for e in uow.session.execute(select(OutboxEntry)).scalars()}
    assert states["deadline"] is OutboxState.SENT
    assert states["meeting"] is OutboxState.SENT
    # A dry run shows what it would send too, not only a count.
    again = io.StringIO()
    assert run_due_command(app, "2026-12-07T08:00", True, again) == 0
    assert "0 messages would be sent" in again.getvalue()


def test_an_entry_waits_for_a_recipient_and_goes_out_once_when_one_appears(
    tmp_path: Path,
) -> None:
    path = tmp_path / "regelkreis.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n\n'
        '[telegram]\ntoken = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"\n',
        encoding="utf-8",
    )
    cli(path, "db", "upgrade")
    cli(path, "ressort", "add", "JA", "Jugendamt")
    cli(
        path,
        "person",
        "add",
        "Clara Koch",
        "--rolle",
        "koordination",
        "--admin",
        "--telegram",
        "100",
    )
    cli(path, "person", "add", "Jens Jugend", "--ressort", "JA", "--rolle", "ressort")
    app = bootstrap(load_config(path), clock=FixedClock(MONDAY))
    reply = app.dispatcher.handle(
        Incoming(
            platform="telegram",
            room_id="100",
            sender_id="100",
            text='neu "Spielplatz Lindenau" ressort:JA frist:10.12.2026 '
            'verantwortlich:"Jens Jugend"',
        )
    )
    assert reply.outcome == "ok", reply.plain()
    telegram = Recorder("telegram")
    console = Recorder()
    notifiers = {"telegram": telegram, "console": console}

    def tick(at: object) -> None:
        asyncio.run(run_due(app, notifiers, at))  # type: ignore[arg-type]

    # Jens has no chat id, the Jugendamt no room, there is no coordination room: nobody.
    tick(MONDAY)
    with app.uows() as uow:
        waiting = {
            e.kind: (e.state.value, e.last_error)
            for e in uow.session.execute(select(OutboxEntry)).scalars()
        }
    assert waiting["deadline"] == ("waiting", "no recipient on a configured platform")
    assert telegram.sent == [] and console.sent == []
    tick(MONDAY + timedelta(minutes=5))  # nothing changed: still waiting, nothing sent
    assert telegram.sent == []
    # The operator links the Jugendamt's group: the waiting reminder goes out, once.
    cli(path, "ressort", "link", "JA", "--telegram", "-1004711")
    tick(MONDAY + timedelta(minutes=6))
    assert [s.recipient.address for s in telegram.sent] == ["-1004711"]
    assert "M-1 Spielplatz Lindenau" in telegram.sent[0].text
    tick(MONDAY + timedelta(minutes=7))
    tick(MONDAY + timedelta(hours=2))
    assert len(telegram.sent) == 1
    with app.uows() as uow:
        entry = uow.session.execute(
            select(OutboxEntry).where(OutboxEntry.kind == "deadline")
        ).scalar_one()
        assert entry.state is OutboxState.SENT
        assert entry.delivered_to == "Jugendamt (JA) (telegram:-1004711)"


class Blocking:
    """A platform whose sending takes longer than a lease: it waits for `release`."""

    platform = "console"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        self.sent.append(recipient.name)
        self.started.set()
        await self.release.wait()
        return Delivery.delivered(idempotency_key)


def test_a_delivery_that_outlives_its_lease_is_not_sent_twice(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Leases short enough for a test (raising=False: the deliverer before leases had none).
    monkeypatch.setattr(delivery, "LEASE", timedelta(seconds=2), raising=False)
    monkeypatch.setattr(delivery, "RENEW_EVERY", 0.3, raising=False)
    app = make_app(engine, FixedClock(MONDAY))
    asyncio.run(run_due(app, {"console": Recorder()}, MONDAY))  # records; sends the rest
    say(app, "Anna Schmidt", "zuweisen M-8 an Markus Becker")

    async def scenario() -> tuple[list[str], list[str]]:
        slow = Blocking()
        first = asyncio.create_task(deliver_due(app.uows, {"console": slow}, MONDAY))
        await asyncio.wait_for(slow.started.wait(), 10)
        other = Recorder()
        # A second deliverer keeps trying for longer than the lease (and with a clock 20
        # minutes ahead): the renewed lease keeps the entry with the first one.
        for _ in range(12):
            await deliver_due(app.uows, {"console": other}, MONDAY + timedelta(minutes=20))
            await asyncio.sleep(0.4)
        slow.release.set()
        await first
        return slow.sent, other.names()

    slow_sent, other_sent = asyncio.run(scenario())
    assert slow_sent == ["Markus Becker"]
    assert other_sent == []
    with app.uows() as uow:
        entry = uow.session.execute(
            select(OutboxEntry).where(OutboxEntry.kind == "assignment")
        ).scalar_one()
        assert (entry.state, entry.attempts) == (OutboxState.SENT, 1)
