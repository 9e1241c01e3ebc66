"""When reminders fire: local time, working days, holidays, daylight saving, catch-up, re-planning.

Every test moves a fixed clock by hand and runs the sweep and the delivery the way the bot's
minute tick (or `regelkreis reminders run-due`) does; nothing sleeps.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bot.bootstrap import App
from bot.config import Config
from bot.runner import run_scheduler
from handlers.calendar import WorkCalendar
from handlers.ports import ReminderRules
from schedules.rules import ReminderKey
from schedules.scheduler import RunResult, parse_now
from tests.conftest import Chat, FixedClock
from tests.test_reminders_support import Recorder, Town, berlin, keys, make_town, tick

MAX = "Max Müller"


@pytest.fixture
def town(sqlite_only_engine: Engine) -> Town:
    from storage.migrate import upgrade

    upgrade(sqlite_only_engine)
    return make_town(sqlite_only_engine, FixedClock(berlin(2026, 11, 27, 10)))


def people_and_rooms(recorder: Recorder) -> list[str]:
    """Recipients, without the coordination room's Monday digest."""
    return [name for name in recorder.names() if name != "Koordination"]


def at(town: Town, moment: datetime, recorder: Recorder | None = None) -> Recorder:
    town.clock.now = moment
    recorder = recorder or Recorder()
    tick(town.app, moment, recorder)
    return recorder


# -- the calendar ----------------------------------------------------------------------------


def test_working_days_skip_weekends_and_the_holidays_of_the_state() -> None:
    bb = WorkCalendar(ZoneInfo("Europe/Berlin"), "BB")
    nw = WorkCalendar(ZoneInfo("Europe/Berlin"), "NW")
    assert bb.on_or_after(date(2026, 12, 25)) == date(2026, 12, 28)  # Christmas, weekend
    assert bb.on_or_after(date(2027, 3, 26)) == date(2027, 3, 30)  # Good Friday … Easter Monday
    assert bb.on_or_after(date(2028, 10, 31)) == date(2028, 11, 1)  # Reformationstag in BB
    assert nw.on_or_after(date(2028, 10, 31)) == date(2028, 10, 31)  # not in NW …
    assert nw.on_or_after(date(2028, 11, 1)) == date(2028, 11, 2)  # … but Allerheiligen is
    assert bb.working_days_before(date(2026, 12, 9), 7) == date(2026, 11, 30)
    assert bb.working_days_before(date(2026, 12, 9), 1) == date(2026, 12, 8)
    assert bb.working_days_before(date(2027, 3, 30), 1) == date(2027, 3, 25)  # over Easter


def test_eight_oclock_is_eight_oclock_on_both_sides_of_a_daylight_saving_switch() -> None:
    calendar = WorkCalendar(ZoneInfo("Europe/Berlin"), "BB")
    assert calendar.at(date(2028, 3, 24), time(8)) == datetime(2028, 3, 24, 7, tzinfo=UTC)
    assert calendar.at(date(2028, 3, 27), time(8)) == datetime(2028, 3, 27, 6, tzinfo=UTC)
    assert calendar.at(date(2028, 10, 27), time(8)) == datetime(2028, 10, 27, 6, tzinfo=UTC)
    assert calendar.at(date(2028, 10, 30), time(8)) == datetime(2028, 10, 30, 7, tzinfo=UTC)


def test_reminder_keys_are_kind_subject_due_date_and_offset() -> None:
    key = ReminderKey("deadline", "M-12", date(2027, 3, 31), "14")
    assert str(key) == "deadline:M-12:2027-03-31:14"
    assert ReminderKey.parse(str(key)) == key and key.measure_id == 12
    meeting = ReminderKey.parse("meeting:S-2/3:2026-12-09:7")
    assert meeting is not None and (meeting.meeting_id, meeting.department_id) == (2, 3)
    assert ReminderKey.parse("assign:M-1:v2:person:1") is None


def test_now_without_an_offset_is_local_to_the_municipality() -> None:
    rules = ReminderRules()
    assert parse_now("2027-03-01T08:00", rules, lambda: berlin(2026, 1, 1)) == berlin(2027, 3, 1)
    assert parse_now("2027-03-01T07:00+00:00", rules, lambda: berlin(2026, 1, 1)) == berlin(
        2027, 3, 1
    )
    assert parse_now(None, rules, lambda: berlin(2026, 1, 1)) == berlin(2026, 1, 1)


# -- deadlines and overdue -----------------------------------------------------------------


def test_a_deadline_reminder_goes_out_14_and_3_days_before_at_eight_local_once(
    town: Town,
) -> None:
    measure = town.measure("Ferienprogramm Nordstadt", deadline=date(2026, 12, 18))
    recorder = Recorder()
    for moment in (berlin(2026, 12, 4, 7, 0), berlin(2026, 12, 4, 7, 59)):
        at(town, moment, recorder)
    assert recorder.to(MAX) == []
    at(town, berlin(2026, 12, 4, 8, 0), recorder)
    assert recorder.to(MAX) == [
        "⏰ Erinnerung\n\n"
        "Frist naht\n"
        f"🟢 M-{measure} Ferienprogramm Nordstadt — JA, 40 %, Frist 18.12.2026 (in 14 Tagen)\n\n"
        f"Antworten: melden M-{measure} <status> <NN%> <notiz> · erledigt M-{measure}"
    ]
    # Buttons (Telegram) and reactions (Matrix) act on the one measure, version attached.
    message = recorder.sent[-1].message
    assert [qa.command for qa in message.quick_answers] == [
        f"erledigt M-{measure}",
        f"melden M-{measure} laufend",
        f"melden M-{measure} verzögert",
    ]
    assert message.subject is not None and message.subject.measure_id == measure
    for moment in (berlin(2026, 12, 4, 8, 1), berlin(2026, 12, 4, 16, 0), berlin(2026, 12, 14)):
        at(town, moment, recorder)
    assert len(recorder.to(MAX)) == 1
    at(town, berlin(2026, 12, 15, 8, 0), recorder)
    assert "Frist 18.12.2026 (in 3 Tagen)" in recorder.to(MAX)[-1]
    at(town, berlin(2026, 12, 18, 9, 0), recorder)
    assert len(recorder.to(MAX)) == 2
    assert [k for k in keys(town.app) if k.startswith("deadline:")] == [
        f"deadline:M-{measure}:2026-12-18:14",
        f"deadline:M-{measure}:2026-12-18:3",
    ]


def test_overdue_goes_the_working_day_after_then_weekly_to_the_person_and_the_room(
    town: Town,
) -> None:
    measure = town.measure("Spielplatz Lindenau", deadline=date(2026, 12, 4))  # a Friday
    recorder = Recorder()
    at(town, berlin(2026, 12, 5, 9), recorder)  # Saturday: nothing
    assert recorder.sent == []
    at(town, berlin(2026, 12, 7, 8), recorder)  # Monday, the working day after
    assert people_and_rooms(recorder) == [MAX, "Jugendamt (JA)"]
    assert "🔴 M-1 Spielplatz Lindenau — JA, 40 %, 3 Tage überfällig" in recorder.to(MAX)[0]
    assert "3 Tage überfällig · Max Müller" in recorder.to("Jugendamt (JA)")[0]
    for moment in (berlin(2026, 12, 8, 8), berlin(2026, 12, 11, 16), berlin(2026, 12, 14, 7)):
        at(town, moment, recorder)
    assert len(people_and_rooms(recorder)) == 2
    at(town, berlin(2026, 12, 14, 8), recorder)  # a week later
    assert people_and_rooms(recorder) == [MAX, "Jugendamt (JA)"] * 2
    assert "10 Tage überfällig" in recorder.to(MAX)[1]
    assert [k for k in keys(town.app) if "overdue" in k] == [
        f"overdue:M-{measure}:2026-12-04:w0",
        f"overdue_room:M-{measure}:2026-12-04:w0",
        f"overdue:M-{measure}:2026-12-04:w1",
        f"overdue_room:M-{measure}:2026-12-04:w1",
    ]


def test_a_reminder_due_on_a_weekend_or_holiday_moves_to_the_next_working_day(
    town: Town,
) -> None:
    # 14 days before 8 January is Christmas Day; 3 days before 7 December is a Friday …
    holiday = town.measure("Jahresbericht", deadline=date(2027, 1, 8))
    # … and 3 days before Monday 14 December is Friday 11, but before Tuesday 15 a Saturday.
    weekend = town.measure("Elternabend", deadline=date(2026, 12, 15))
    recorder = Recorder()
    at(town, berlin(2026, 12, 11, 8), recorder)
    assert recorder.to(MAX) == []  # its 14-day reminder was 1 December, before this test
    at(town, berlin(2026, 12, 12, 8), recorder)  # Saturday
    assert recorder.to(MAX) == []
    at(town, berlin(2026, 12, 14, 8), recorder)  # Monday
    assert f"M-{weekend} Elternabend" in recorder.to(MAX)[0]
    assert "(morgen)" in recorder.to(MAX)[0]
    at(town, berlin(2026, 12, 25, 8), recorder)
    at(town, berlin(2026, 12, 26, 8), recorder)
    assert len(recorder.to(MAX)) == 1
    at(town, berlin(2026, 12, 28, 8), recorder)
    assert (
        f"M-{holiday} Jahresbericht — JA, 40 %, Frist 08.01.2027 (in 11 Tagen)"
        in (recorder.to(MAX)[1])
    )


@pytest.mark.parametrize(
    ("state", "sent_on"), [("BB", date(2028, 11, 1)), ("NW", date(2028, 10, 31))]
)
def test_the_public_holidays_are_those_of_the_configured_federal_state(
    sqlite_only_engine: Engine, state: str, sent_on: date
) -> None:
    from storage.migrate import upgrade

    upgrade(sqlite_only_engine)
    config = Config.model_validate({"municipality": {"state": state}})
    town = make_town(sqlite_only_engine, FixedClock(berlin(2028, 10, 1)), config=config)
    # 14 days before is Tuesday 31 October: Reformationstag in Brandenburg, not in NRW.
    town.measure("Herbstferienbilanz", deadline=date(2028, 11, 14))
    sent_days = []
    for day in (date(2028, 10, 30), date(2028, 10, 31), date(2028, 11, 1), date(2028, 11, 2)):
        if at(town, berlin(day.year, day.month, day.day, 8)).to(MAX):
            sent_days.append(day)
    assert sent_days == [sent_on]


@pytest.mark.parametrize(
    "day",
    [date(2028, 3, 24), date(2028, 3, 27), date(2028, 10, 27), date(2028, 10, 30)],
    ids=[
        "friday-before-spring",
        "monday-after-spring",
        "friday-before-autumn",
        "monday-after-autumn",
    ],
)
def test_around_the_daylight_saving_switches_eight_oclock_reminders_come_at_eight_once(
    sqlite_only_engine: Engine, day: date
) -> None:
    from storage.migrate import upgrade

    upgrade(sqlite_only_engine)
    town = make_town(sqlite_only_engine, FixedClock(berlin(2028, 3, 1)))
    deadline = date.fromordinal(day.toordinal() + 14)
    town.measure("Sommerleseclub", deadline=deadline)
    moments: dict[datetime, list[str]] = {}
    # Every quarter of an hour from 05:00 to 10:00 local, and the UTC 08:00 as well.
    for hour in range(5, 10):
        for minute in (0, 15, 30, 45):
            recorder = at(town, berlin(day.year, day.month, day.day, hour, minute))
            moments[berlin(day.year, day.month, day.day, hour, minute)] = recorder.to(MAX)
    sent_at = [moment for moment, texts in moments.items() if texts]
    assert sent_at == [berlin(day.year, day.month, day.day, 8, 0)]
    local = sent_at[0].astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (8, 0)
    summer = date(2028, 3, 26) < day < date(2028, 10, 29)
    assert sent_at[0].hour == (6 if summer else 7)  # 08:00 local in UTC


# -- catch-up after downtime -------------------------------------------------------------


def test_a_stopped_bot_sends_each_due_reminder_once_and_not_what_was_overtaken(
    town: Town,
) -> None:
    town.clock.now = berlin(2026, 11, 30, 9)
    overtaken = town.measure("Sanierung Turnhalle", deadline=date(2026, 12, 18))  # 14d: 4.12.
    report = town.measure(
        "Lesepaten", interval="monatlich", reported=berlin(2026, 11, 7, 9)
    )  # report due 7.12.
    coming = town.measure("Ferienpass", deadline=date(2026, 12, 22))  # 14d: 8.12.
    late = town.measure("Bolzplatz", deadline=date(2026, 12, 9))  # 3d: 7.12., overdue 10.12.
    recorder = Recorder()
    at(town, berlin(2026, 12, 1, 9), recorder)  # the last sweep before the stop
    assert recorder.sent == []

    # Stopped from 1 to 16 December; started again at 10:00 (the scheduler's first tick).
    town.clock.now = berlin(2026, 12, 16, 10)
    results: list[RunResult] = []

    async def start_bot() -> None:
        done = asyncio.Event()

        def on_tick(result: RunResult) -> None:
            results.append(result)
            done.set()

        task = asyncio.create_task(run_scheduler(town.app, {"console": recorder}, on_tick=on_tick))
        await asyncio.wait_for(done.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(start_bot())
    assert sorted(k for k in results[0].sweep.keys if "M-" in k) == sorted(
        [
            f"deadline:M-{overtaken}:2026-12-18:3",
            f"checkin:M-{report}:2026-12-07:0",
            f"deadline:M-{coming}:2026-12-22:14",
            f"overdue:M-{late}:2026-12-09:w0",
            f"overdue_room:M-{late}:2026-12-09:w0",
        ]
    )
    # One message to Max with all four measures; the 14-day reminder of the first (overtaken
    # by the 3-day one) and the 3-day reminder of the last (overdue since) are not in it.
    assert recorder.to(MAX) == [
        "⏰ Erinnerung\n\n"
        "Überfällig (1)\n"
        f"🔴 M-{late} Bolzplatz — JA, 40 %, 7 Tage überfällig\n\n"
        "Frist naht\n"
        f"🟢 M-{overtaken} Sanierung Turnhalle — JA, 40 %, Frist 18.12.2026 (in 2 Tagen)\n"
        f"🟢 M-{coming} Ferienpass — JA, 40 %, Frist 22.12.2026 (in 6 Tagen)\n\n"
        "Bericht fällig\n"
        f"🟢 M-{report} Lesepaten — JA, 40 %, ohne Frist · letzter Bericht 07.11.2026\n\n"
        "Antworten: melden <M-n> <status> <NN%> <notiz> · erledigt <M-n>"
    ]
    assert f"deadline:M-{overtaken}:2026-12-18:14" not in keys(town.app)
    assert not any(k.startswith(f"deadline:M-{late}:") for k in keys(town.app))
    # Nothing again: not on the next tick, not after another restart.
    at(town, berlin(2026, 12, 16, 10, 1), recorder)
    at(town, berlin(2026, 12, 16, 10, 1), recorder)
    assert len(recorder.to(MAX)) == 1


def test_a_first_sweep_catches_up_the_day_and_a_clock_set_back_sends_nothing(
    town: Town,
) -> None:
    town.measure("Kinderfest", deadline=date(2026, 12, 17))  # 3 days: Monday 14.12.
    recorder = at(town, berlin(2026, 12, 14, 11))  # the bot starts at 11:00
    assert len(recorder.to(MAX)) == 1
    at(town, berlin(2026, 12, 14, 8), recorder)  # `run-due --now` in the past
    at(town, berlin(2026, 12, 14, 11), recorder)
    assert len(recorder.to(MAX)) == 1


# -- re-planning -------------------------------------------------------------------------


def test_changing_a_deadline_moves_its_reminders(sqlite_app: App, clock: FixedClock) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    recorder = Recorder()
    # M-1 is due on 6 December; its 3-day reminder would be Thursday 3 December.
    clock.now = berlin(2026, 12, 1, 9)
    tick(sqlite_app, clock.now, recorder)
    assert "Neue Frist für M-1" in anna.say("frist M-1 15.01.2027 Träger braucht länger")
    recorder.clear()
    tick(sqlite_app, berlin(2026, 12, 3, 8), recorder)
    assert not any("M-1 " in s.text for s in recorder.sent)
    # The new 14-day reminder falls on New Year's Day, then a weekend: Monday 4 January.
    tick(sqlite_app, berlin(2027, 1, 1, 8), recorder)
    assert not any("M-1 " in s.text for s in recorder.sent)
    tick(sqlite_app, berlin(2027, 1, 4, 8), recorder)
    m1 = [k for k in keys(sqlite_app) if ":M-1:" in k]
    assert m1 == ["deadline:M-1:2027-01-15:14"]
    assert any("M-1 Sprachförderung in Kitas der Nordstadt" in s.text for s in recorder.sent)


def test_moving_a_meeting_moves_its_requests_and_agenda(sqlite_app: App, clock: FixedClock) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    recorder = Recorder()
    tick(sqlite_app, berlin(2026, 11, 30, 8), recorder)  # 7 working days before S-2
    assert any(k.startswith("meeting:S-2/") and k.endswith(":7") for k in keys(sqlite_app))
    clock.now = berlin(2026, 12, 1, 9)
    assert "Verschoben: S-2" in anna.say("sitzung verschieben S-2 16.12.2026 10:00")
    recorder.clear()
    tick(sqlite_app, berlin(2026, 12, 7, 8), recorder)  # 7 working days before the new day
    assert any("📅 Sitzung S-2 Mi 16.12.2026 10:00" in s.text for s in recorder.sent)
    recorder.clear()
    tick(sqlite_app, berlin(2026, 12, 8, 8), recorder)  # the old day before: nothing for S-2
    assert not any("S-2" in s.text for s in recorder.sent)
    tick(sqlite_app, berlin(2026, 12, 15, 8), recorder)  # the new day before
    s2 = sorted(k for k in keys(sqlite_app) if ":S-2" in k and "2026-12-16" in k)
    assert "agenda:S-2:2026-12-16:1" in s2
    assert any(k.startswith("meeting:S-2/") and k.endswith("2026-12-16:7") for k in s2)
    assert any("📋 Tagesordnung S-2 — Mi 16.12.2026 10:00" in s.text for s in recorder.sent)


# -- the weekly digest -----------------------------------------------------------------------


def test_the_digest_goes_monday_at_eight_to_the_coordination_room_or_the_next_working_day(
    town: Town,
) -> None:
    recorder = Recorder()
    for moment in (berlin(2027, 3, 22, 7, 59), berlin(2027, 3, 22, 8)):
        at(town, moment, recorder)
    assert [s.text.splitlines()[0] for s in recorder.sent] == ["📰 Wochenübersicht 22.03.2027"]
    recorder.clear()
    # Easter Monday is a holiday: the digest waits for Tuesday 08:00, once.
    for moment in (berlin(2027, 3, 29, 8), berlin(2027, 3, 29, 16), berlin(2027, 3, 30, 8)):
        at(town, moment, recorder)
    assert [(s.recipient.name, s.text.splitlines()[0]) for s in recorder.sent] == [
        ("Koordination", "📰 Wochenübersicht 30.03.2027")
    ]
    at(town, berlin(2027, 3, 31, 8), recorder)
    assert len(recorder.sent) == 1
    assert [k for k in keys(town.app) if k.startswith("digest:")] == [
        "digest:weekly:2027-03-22:0",
        "digest:weekly:2027-03-29:0",
    ]


def test_the_digest_says_what_changed_what_slipped_and_what_is_due(
    sqlite_app: App, clock: FixedClock
) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    tick(sqlite_app, berlin(2026, 11, 30, 9))  # this Monday's digest is out already
    clock.now = berlin(2026, 12, 1, 10)
    anna.say("melden M-1 90% Abschlussbericht im Entwurf")
    anna.say("melden M-4 gefährdet Referentin abgesprungen")
    anna.say("frist M-20 31.05.2027 zweiter Standort kommt dazu")
    recorder = Recorder()
    tick(sqlite_app, berlin(2026, 12, 7, 8), recorder)
    (digest,) = [s.text for s in recorder.sent if "📰" in s.text]
    assert digest.split("\n\n")[0] == (
        "📰 Wochenübersicht 07.12.2026\n2 Berichte, 1 Frist geändert"
    )
    # The demo's goal evaluations that are due come last (tests/test_evaluation.py).
    blocks = [b for b in digest.split("\n\n")[1:] if not b.startswith("🎯")]
    assert blocks == [
        "\n".join(
            [
                "Verrutscht",
                # Overdue since last week …
                "🔴 M-42 Präventionsberatung bei Mietschulden — SOZ, 40 %, 7 Tage überfällig",
                "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
                "5 Tage überfällig",
                "🔴 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 70 %, 4 Tage überfällig",
                "🔴 M-1 Sprachförderung in Kitas der Nordstadt — JA, 90 %, 1 Tag überfällig",
                # … reported at risk …
                "🔴 M-4 Alltagsintegrierte Sprachbildung: Fortbildung Kita-Fachkräfte — JA, 50 %, "
                "Frist 10.02.2027",
                # … and moved.
                "↪ M-20: 07.03.2027 → 31.05.2027",
            ]
        ),
        "Fällig in 14 Tagen (1)\n"
        "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen — KA, 85 %, "
        "Frist 10.12.2026",
    ]
