"""Who gets a reminder and how: deputies, fall-through, retries, working hours, crashes, CLI."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from bot.bootstrap import App
from bot.cli import main
from handlers.core import Reply
from handlers.ports import Delivery, Recipient
from schedules.delivery import MARK_BACKLOG
from schedules.sweep import SWEPT_UNTIL
from storage.models import (
    ChatIdentity,
    MeasureStatus,
    OutboxEntry,
    OutboxState,
    PlatformState,
    RoomLink,
)
from tests.conftest import FixedClock
from tests.test_reminders_support import Recorder, Town, berlin, entries, make_town, tick

MAX = "Max Müller"
# Monday 7 December 2026, 08:00: the working day after a Friday deadline.
MONDAY = berlin(2026, 12, 7, 8)


@pytest.fixture
def town(sqlite_only_engine: Engine) -> Town:
    from storage.migrate import upgrade

    upgrade(sqlite_only_engine)
    return make_town(sqlite_only_engine, FixedClock(berlin(2026, 11, 27, 10)))


def only_telegram(town: Town) -> None:
    """Max is reachable on Telegram only, where he last wrote."""
    with town.app.uows(write=True) as uow:
        for identity in uow.session.execute(
            select(ChatIdentity).where(
                ChatIdentity.person_id == town.max, ChatIdentity.platform == "console"
            )
        ).scalars():
            uow.session.delete(identity)
        uow.commit()
    town.person(town.max, last_platform="telegram")


# -- deputies, languages, grouping -----------------------------------------------------------


def test_a_deputy_receives_the_absent_persons_reminders_in_one_message_with_their_own(
    sqlite_app: App,
) -> None:
    # Julia Richter is away until 7 December; Markus Becker stands in for her.
    recorder = Recorder()
    tick(sqlite_app, berlin(2026, 11, 30, 8), recorder)
    names = recorder.names()
    assert len(names) == len(set(names)), "one message per recipient and run"
    assert "Julia Richter" not in names
    assert recorder.to("Markus Becker") == [
        "⏰ Erinnerung\n\n"
        "Frist naht\n"
        "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
        "Frist 02.12.2026 (in 2 Tagen)\n\n"
        "In Vertretung für Julia Richter (abwesend bis 07.12.2026)\n\n"
        "Überfällig (1)\n"
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 43 Tage überfällig\n\n"
        "Antworten: melden <M-n> <status> <NN%> <notiz> · erledigt <M-n>"
    ]
    # Back from 8 December: the next weekly overdue reminder is hers again.
    recorder.clear()
    tick(sqlite_app, berlin(2026, 12, 14, 8), recorder)
    assert (
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 57 Tage überfällig"
        in (recorder.to("Julia Richter")[0])
    )
    assert not any("M-6 Kita" in text for text in recorder.to("Markus Becker"))


def test_a_person_with_english_gets_english_reminders(sqlite_app: App) -> None:
    recorder = Recorder()
    tick(sqlite_app, berlin(2026, 12, 2, 8), recorder)  # M-21 a week overdue (Wednesday)
    assert recorder.to("Sarah Miller") == [
        "⏰ Reminder\n\n"
        "Overdue (1)\n"
        "🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 8 days overdue\n\n"
        "Reply: update M-21 <status> <NN%> <note> · done M-21"
    ]
    assert [qa.command for qa in recorder.sent[0].message.quick_answers] == [
        "done M-21",
        "update M-21 in_progress",
        "update M-21 delayed",
    ]


def test_the_room_gets_overdue_lists_and_meeting_requests_in_one_message(sqlite_app: App) -> None:
    recorder = Recorder()
    tick(sqlite_app, berlin(2026, 11, 30, 8), recorder)
    (ja,) = recorder.to("Jugendamt (JA)")
    assert ja.startswith(
        "⏰ Erinnerung\n\n"
        "Überfällig (1)\n"
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 43 Tage überfällig · "
        "Julia Richter\n\n"
        "Antworten: melden M-6 <status> <NN%> <notiz> · erledigt M-6\n\n"
        "📅 Sitzung S-2 Mi 09.12.2026 10:00 (in 7 Arbeitstagen)\n"
        "Steuergruppe Bildung: Kita-Ausbau und Sprachförderung\n"
        "Jugendamt (JA) — bitte vorher berichten zu:\n"
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 43 Tage überfällig\n"
        "🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — JA, 60 %, "
        "11 Tage überfällig\n"
    )
    # With no chat platform configured the console is every department's: those without a
    # room of their own (BB, GA) are asked there under their own name (PRODUCT.md §3); the
    # coordination room gets the Monday digest.
    (bb,) = recorder.to("Bildungsbüro (BB)")
    assert "Bildungsbüro (BB) — bitte vorher berichten zu:" in bb
    (ga,) = recorder.to("Gesundheitsamt (GA)")
    assert "Gesundheitsamt (GA) — bitte vorher berichten zu:" in ga
    (coordination,) = recorder.to("Koordination")
    assert "📰 Wochenübersicht 30.11.2026" in coordination
    # Multi-measure messages carry no buttons: a reaction would not know its measure.
    assert recorder.sent[recorder.names().index("Koordination")].message.quick_answers == []


# -- fall-through, retries, platforms that are down ------------------------------------------


def test_a_person_whose_platform_refuses_for_good_is_replaced_by_the_next_recipient(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    only_telegram(town)
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 10))  # 3 days: Monday
    telegram = Recorder("telegram", {"4711": [Delivery.permanent("user never started the bot")]})
    console = Recorder()
    with caplog.at_level(logging.WARNING, logger="regelkreis.outbox"):
        tick(town.app, MONDAY, telegram, console)
    assert [s.recipient.address for s in telegram.sent] == ["4711"]
    assert "M-1 Spielplatz Lindenau" in console.to("Jugendamt (JA)")[0]
    assert "· Max Müller" in console.to("Jugendamt (JA)")[0]
    entry = entries(town.app)["deadline:M-1:2026-12-10:3"]
    assert entry.state is OutboxState.SENT
    assert entry.delivered_to == "Jugendamt (JA) (console:ja-raum)"
    assert "user never started the bot" in (entry.last_error or "")
    assert "refused for good" in caplog.text
    # The fall-through message has a key of its own (a resend to the room must not be
    # mistaken for the one that never reached Telegram).
    (room,) = [s for s in console.sent if s.recipient.name == "Jugendamt (JA)"]
    assert room.key == f"deadline:M-1:2026-12-10:3#{room.key[-8:]}"


def test_a_temporary_failure_is_retried_with_pauses_then_falls_through(town: Town) -> None:
    """PRODUCT.md §3: retried with growing pauses, and after a bounded number of attempts it
    falls through to the next recipient (the old deliverer retried every minute, forever)."""
    only_telegram(town)
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 10))
    down = [Delivery.temporary("429 retry after 30")] * 5
    telegram = Recorder("telegram", {"4711": list(down)})
    console = Recorder()
    key = "deadline:M-1:2026-12-10:3"
    tick(town.app, MONDAY, telegram, console)
    entry = entries(town.app)[key]
    assert (entry.state, entry.tries) == (OutboxState.PENDING, 1)
    assert entry.next_attempt_at == MONDAY + timedelta(minutes=1)
    tick(town.app, MONDAY + timedelta(seconds=30), telegram, console)  # in the pause: nothing
    assert len(telegram.sent) == 1
    tick(town.app, MONDAY + timedelta(minutes=1), telegram, console)
    entry = entries(town.app)[key]
    assert (entry.tries, entry.next_attempt_at) == (2, MONDAY + timedelta(minutes=6))
    tick(town.app, MONDAY + timedelta(minutes=3), telegram, console)  # in the pause again
    assert len(telegram.sent) == 2
    assert "Jugendamt (JA)" not in console.names()
    # The third temporary failure: on to the lead department's room at once.
    tick(town.app, MONDAY + timedelta(minutes=6), telegram, console)
    assert [s.key for s in telegram.sent] == [key] * 3
    assert "M-1 Spielplatz Lindenau" in console.to("Jugendamt (JA)")[0]
    entry = entries(town.app)[key]
    assert entry.state is OutboxState.SENT
    assert entry.delivered_to is not None and "Jugendamt" in entry.delivered_to
    assert entry.passed_over == ["telegram:4711"]
    tick(town.app, MONDAY + timedelta(minutes=30), telegram, console)
    assert len(telegram.sent) == 3 and len(console.to("Jugendamt (JA)")) == 1


def test_a_platform_served_elsewhere_or_down_gets_its_entries_when_it_is_back(
    town: Town,
) -> None:
    only_telegram(town)
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 10))
    console = Recorder()
    # A cron `run-due` with only the console: Telegram is served by the bot, so Max's
    # reminder waits for it instead of going to the room.
    tick(town.app, MONDAY, console, platforms={"console", "telegram"})
    assert "Jugendamt (JA)" not in console.names()
    entry = entries(town.app)["deadline:M-1:2026-12-10:3"]
    assert (entry.state, entry.attempts) == (OutboxState.PENDING, 0)
    telegram = Recorder("telegram")
    tick(town.app, MONDAY + timedelta(hours=2), telegram, console)
    assert [s.recipient.address for s in telegram.sent] == ["4711"]
    assert entries(town.app)["deadline:M-1:2026-12-10:3"].state is OutboxState.SENT


def test_a_reminder_that_is_no_longer_true_is_dropped_not_sent(town: Town) -> None:
    measure = town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 10))
    console = Recorder(answers={"Max Müller": [Delivery.temporary("console busy")]})
    tick(town.app, MONDAY, console)
    town.set(measure, status=MeasureStatus.DONE)
    console.clear()
    tick(town.app, MONDAY + timedelta(minutes=1), console)
    assert console.to(MAX) == []
    entry = entries(town.app)["deadline:M-1:2026-12-10:3"]
    assert entry.state is OutboxState.SUPERSEDED
    assert entry.last_error == "superseded: M-1 is erledigt"


# -- working hours ---------------------------------------------------------------------------


def test_reminders_wait_for_working_hours_but_an_assignment_notice_goes_at_once(
    town: Town,
) -> None:
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 14))  # 3 days: Friday 11.
    with town.app.uows(write=True) as uow:
        uow.session.add(
            OutboxEntry(
                key="assign:M-1:v2:person:2",
                kind="assignment",
                person_id=town.max,
                measure_id=1,
                text="📌 Ihnen wurde M-1 zugewiesen",
                due_at=berlin(2026, 12, 11, 20),
                created_at=berlin(2026, 12, 11, 20),
            )
        )
        uow.commit()
    console = Recorder()
    # The bot comes back on Friday at 20:00: it records the 08:00 reminder, sends the notice.
    result = tick(town.app, berlin(2026, 12, 11, 20), console)
    assert "deadline:M-1:2026-12-14:3" in result.sweep.keys
    assert console.to(MAX) == ["📌 Ihnen wurde M-1 zugewiesen"]
    for moment in (berlin(2026, 12, 12, 10), berlin(2026, 12, 14, 7, 59)):
        tick(town.app, moment, console)
    assert len(console.to(MAX)) == 1
    tick(town.app, berlin(2026, 12, 14, 8), console)
    assert "M-1 Spielplatz Lindenau" in console.to(MAX)[1]


def test_a_room_can_turn_reminders_off_or_choose_its_time(town: Town) -> None:
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 4))  # overdue on Monday
    town.measure("Ohne Zuständige", deadline=date(2026, 12, 4), responsible=None)
    with town.app.uows(write=True) as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.room_id == "ja-raum")
        ).scalar_one()
        room.reminder_time = "09:30"
        uow.commit()
    console = Recorder()
    tick(town.app, MONDAY, console)
    assert console.names() == [MAX, "Koordination"]  # the room's time has not come
    console.clear()
    tick(town.app, MONDAY + timedelta(minutes=90), console)
    (room_message,) = console.to("Jugendamt (JA)")
    assert "M-1 Spielplatz Lindenau" in room_message and "M-2 Ohne Zuständige" in room_message

    with town.app.uows(write=True) as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.room_id == "ja-raum")
        ).scalar_one()
        room.reminders_enabled = False
        uow.commit()
    console.clear()
    tick(town.app, MONDAY + timedelta(days=7), console)
    # The room said no: Max still gets his, the unassigned one goes to the coordination room.
    assert "Jugendamt (JA)" not in console.names()
    assert "M-1 Spielplatz Lindenau" in console.to(MAX)[0]
    assert "M-2 Ohne Zuständige" in console.to("Koordination")[0]


# -- exactly once across a crash -------------------------------------------------------------


class Crash(BaseException):
    """The process dies: after the platform accepted the message, before it was marked."""


class CrashingRecorder(Recorder):
    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        await super().send(recipient, message, idempotency_key=idempotency_key)
        raise Crash


def test_a_crash_between_sending_and_marking_resends_once_with_the_same_key(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 4))
    crashing = CrashingRecorder()
    with pytest.raises(Crash):
        tick(town.app, MONDAY, crashing)
    first = crashing.sent[0]
    assert first.recipient.name == MAX
    assert entries(town.app)["overdue:M-1:2026-12-04:w0"].state is OutboxState.CLAIMED
    restarted = Recorder()
    tick(town.app, MONDAY + timedelta(minutes=1), restarted)
    assert restarted.to(MAX) == []  # the claim's lease (database time) is still alive
    expire_leases(town.app)  # as if LEASE had passed without the deliverer renewing it
    with caplog.at_level(logging.WARNING, logger="regelkreis.outbox"):
        tick(town.app, MONDAY + timedelta(minutes=2), restarted)
    again = [s for s in restarted.sent if s.recipient.name == MAX]
    assert [(s.key, s.text) for s in again] == [(first.key, first.text)]
    assert "interrupted before it was marked" in caplog.text
    assert "may show it twice" in caplog.text
    tick(town.app, MONDAY + timedelta(minutes=3), restarted)
    assert len([s for s in restarted.sent if s.recipient.name == MAX]) == 1
    entry = entries(town.app)["overdue:M-1:2026-12-04:w0"]
    assert (entry.state, entry.attempts) == (OutboxState.SENT, 2)


def expire_leases(app: App) -> None:
    with app.uows(write=True) as uow:
        uow.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.state == OutboxState.CLAIMED)
            .values(lease_until=datetime(2000, 1, 1, tzinfo=UTC))
        )
        uow.commit()


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def config_file(sqlite_app: App, tmp_path: Path) -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(
        f'[database]\nurl = "{sqlite_app.engine.url}"\n[bot]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    return path


def test_run_due_prints_recipient_then_message_and_sends_once(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["reminders", "run-due", "--now", "2026-11-30T08:00", "--config", str(config_file)])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(
        "→ Markus Becker:\n"
        "⏰ Erinnerung\n\n"
        "Frist naht\n"
        "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
        "Frist 02.12.2026 (in 2 Tagen)\n"
    )
    assert "→ Nicole Franke:\n⏰ Erinnerung\n\nÜberfällig (1)\n🔴 M-30 Trinkwasserbrunnen" in out
    assert "↳ ✅ erledigt M-30 · 🟢 melden M-30 laufend · 🟡 melden M-30 verzögert" in out
    assert out.endswith("run at 2026-11-30 08:00 CET: 18 reminders recorded, 18 delivered.\n")
    # Again at the same time, or with the same instant written in UTC: nothing new.
    assert (
        main(
            [
                "reminders",
                "run-due",
                "--now",
                "2026-11-30T07:00+00:00",
                "--config",
                str(config_file),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.endswith("0 reminders recorded, 0 delivered.\n")


def test_run_due_dry_run_prints_what_would_be_sent_and_marks_nothing(
    sqlite_app: App, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "reminders",
        "run-due",
        "--now",
        "2026-11-30T08:00",
        "--dry-run",
        "--config",
        str(config_file),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "→ Markus Becker [console]:\n⏰ Erinnerung" in out
    # The departments without a room (BB, GA) are printed under their own names.
    assert "→ Bildungsbüro (BB) [console]:" in out
    assert out.endswith(
        "dry run at 2026-11-30 08:00 CET: 18 reminders would be recorded, 13 messages would "
        "be sent; nothing was marked.\n"
    )
    with sqlite_app.uows() as uow:
        assert uow.session.execute(select(OutboxEntry)).first() is None
        assert uow.session.get(PlatformState, SWEPT_UNTIL) is None
    assert main(argv) == 0
    assert capsys.readouterr().out == out


def test_run_due_refuses_a_time_it_cannot_read(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reminders", "run-due", "--now", "Montag", "--config", str(config_file)]) == 2
    assert "--now 'Montag' is not an ISO time" in capsys.readouterr().err


def test_the_console_chat_still_delivers_the_assignment_notice(sqlite_app: App) -> None:
    from bot.console import ConsoleChat

    class Out:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    out = Out()
    chat = ConsoleChat(sqlite_app, "Anna Schmidt", "konsole", out)  # type: ignore[arg-type]
    chat.run_script(['zuweisen M-8 an "Markus Becker"'])
    assert "→ Markus Becker:\n📌 Ihnen wurde M-8 zugewiesen (von Anna Schmidt)" in out.text


def test_a_mark_the_database_refuses_stops_the_run_and_the_reminder_goes_out_once_later(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    """Marks are written behind the sending (a group commit): when the database refuses
    them, the run stops, the sent entries stay claimed, and after the lease they go out once
    more with the same key — none is lost, none sent a third time."""
    town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 4))
    with town.app.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_sent BEFORE UPDATE OF state ON outbox "
            "WHEN NEW.state IN ('sent', 'SENT') BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    first = Recorder()
    with pytest.raises(Exception, match="disk full"):
        tick(town.app, MONDAY, first)
    assert MAX in [s.recipient.name for s in first.sent]
    assert len(first.sent) <= MARK_BACKLOG
    assert entries(town.app)["overdue:M-1:2026-12-04:w0"].state is OutboxState.CLAIMED
    with town.app.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_sent")
    expire_leases(town.app)
    again = Recorder()
    tick(town.app, MONDAY + timedelta(minutes=2), again)
    tick(town.app, MONDAY + timedelta(minutes=3), again)
    assert sorted((s.recipient.name, s.key, s.text) for s in again.sent) == sorted(
        (s.recipient.name, s.key, s.text) for s in first.sent
    )
    assert entries(town.app)["overdue:M-1:2026-12-04:w0"].state is OutboxState.SENT
