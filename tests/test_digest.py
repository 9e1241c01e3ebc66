"""The weekly digest: when it comes, what it says (each measure once, as it is now), in German
and English, with the counts in the right number, and who no reminder reaches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.bootstrap import App
from bot.config import Config
from storage.migrate import upgrade
from storage.models import (
    ChatIdentity,
    Department,
    Measure,
    MeasureStatus,
    OutboxEntry,
    Person,
    Role,
    RoomLink,
)
from tests.conftest import Chat, FixedClock, make_app
from tests.test_reminders_support import Recorder, berlin, tick

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
TELEGRAM = {"telegram": {"token": TOKEN}}
MATRIX = {
    "matrix": {
        "homeserver": "https://matrix.musterstadt.de",
        "user_id": "@regelkreis:musterstadt.de",
        "password": "geheim",
    }
}


@pytest.fixture
def engine(sqlite_only_engine: Engine) -> Engine:
    upgrade(sqlite_only_engine)
    return sqlite_only_engine


def coordination_room(app: App, **values: Any) -> None:
    with app.uows(write=True) as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.is_coordination.is_(True))
        ).scalar_one()
        for name, value in values.items():
            setattr(room, name, value)
        uow.commit()


def recorded_digests(app: App) -> list[tuple[str, datetime]]:
    with app.uows() as uow:
        return [
            (key, due_at)
            for key, due_at in uow.session.execute(
                select(OutboxEntry.key, OutboxEntry.due_at).where(OutboxEntry.kind == "digest")
            ).tuples()
        ]


def digests(recorder: Recorder) -> list[str]:
    return [s.text for s in recorder.sent if s.text.startswith("📰")]


# -- when it comes ---------------------------------------------------------------------------


def test_the_configured_digest_time_wins_over_the_coordination_rooms_time(
    engine: Engine, clock: FixedClock
) -> None:
    app = make_app(
        engine, clock, config=Config.model_validate({"reminders": {"digest": "MON 10:00"}})
    )
    coordination_room(app, reminder_time="09:30")  # `erinnerungen zeit:09:30` there
    recorder = Recorder()
    clock.now = berlin(2026, 11, 30, 9, 59)
    tick(app, clock.now, recorder)
    assert recorded_digests(app) == []
    assert digests(recorder) == []
    clock.now = berlin(2026, 11, 30, 10)
    tick(app, clock.now, recorder)
    assert recorded_digests(app) == [("digest:weekly:2026-11-30:0", berlin(2026, 11, 30, 10))]
    assert [d.splitlines()[0] for d in digests(recorder)] == ["📰 Wochenübersicht 30.11.2026"]


# -- what it says ----------------------------------------------------------------------------


def a_week_of_changes(app: App, clock: FixedClock) -> str:
    """Monday 30 November to Monday 7 December: the digest of 7 December."""
    anna = Chat(app, "Anna Schmidt")
    tick(app, berlin(2026, 11, 30, 9))  # this Monday's digest is out already
    clock.now = berlin(2026, 12, 1, 10)
    anna.say("melden M-1 gefährdet Träger fällt aus")  # at risk, and overdue by Monday
    anna.say("frist M-20 31.05.2027 zweiter Standort kommt dazu")
    anna.say("frist M-7 30.06.2027 Bedarfszahlen fehlen")
    anna.say('zuweisen M-3 an "Katrin Schulz"')
    clock.now = berlin(2026, 12, 3, 10)
    anna.say("frist M-20 30.06.2027 dritter Standort")  # moved again
    anna.say("frist M-7 02.03.2027 die Zahlen sind da")  # and back where it was
    recorder = Recorder()
    clock.now = berlin(2026, 12, 7, 8)
    tick(app, clock.now, recorder)
    (digest,) = digests(recorder)
    # The demo's due goal evaluations (Z-4 never evaluated, Z-12 overdue) come last
    # (tests/test_evaluation.py); the measures' part is what these tests look at.
    measures, _due, evaluations = digest.partition("\n\n🎯 ")
    assert evaluations.startswith(("Zielbewertung fällig (2)", "Goal evaluation due (2)"))
    return measures


def test_the_digest_lists_each_measure_once_with_the_deadline_it_has_now(
    engine: Engine, clock: FixedClock
) -> None:
    app = make_app(engine, clock)
    assert a_week_of_changes(app, clock) == "\n".join(
        [
            "📰 Wochenübersicht 07.12.2026",
            "1 Bericht, 4 Fristen geändert, 1 Zuweisung",
            "",
            "Verrutscht",
            "🔴 M-42 Präventionsberatung bei Mietschulden — SOZ, 40 %, 7 Tage überfällig",
            "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
            "5 Tage überfällig",
            "🔴 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 70 %, 4 Tage überfällig",
            # Overdue since Sunday and reported at risk: once.
            "🔴 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, 1 Tag überfällig",
            # Moved twice: from where it was to where it is (M-7 is back where it was).
            "↪ M-20: 07.03.2027 → 30.06.2027",
            "",
            "Fällig in 14 Tagen (1)",
            "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen — KA, 85 %, "
            "Frist 10.12.2026",
        ]
    )


def test_a_coordination_room_in_english_gets_the_digest_in_english(
    engine: Engine, clock: FixedClock
) -> None:
    app = make_app(engine, clock)
    coordination_room(app, language="en")
    assert a_week_of_changes(app, clock) == "\n".join(
        [
            "📰 Weekly digest 2026-12-07",
            "1 report, 4 deadlines changed, 1 assignment",
            "",
            "Slipped",
            "🔴 M-42 Präventionsberatung bei Mietschulden — SOZ, 40 %, 7 days overdue",
            "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
            "5 days overdue",
            "🔴 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 70 %, 4 days overdue",
            "🔴 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, 1 day overdue",
            "↪ M-20: 2027-03-07 → 2027-06-30",
            "",
            "Due in 14 days (1)",
            "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen — KA, 85 %, "
            "due 2026-12-10",
        ]
    )


@pytest.mark.parametrize(
    ("times", "lang", "expected"),
    [
        (1, "de", "1 Bericht, 1 erledigt, 1 neue Maßnahme, 1 Frist geändert, 1 Zuweisung"),
        (2, "de", "2 Berichte, 2 erledigt, 2 neue Maßnahmen, 2 Fristen geändert, 2 Zuweisungen"),
        (1, "en", "1 report, 1 done, 1 new measure, 1 deadline changed, 1 assignment"),
        (2, "en", "2 reports, 2 done, 2 new measures, 2 deadlines changed, 2 assignments"),
    ],
)
def test_the_counts_are_singular_for_one_and_plural_for_more(
    engine: Engine, clock: FixedClock, times: int, lang: str, expected: str
) -> None:
    app = make_app(engine, clock)
    coordination_room(app, language=lang)
    anna = Chat(app, "Anna Schmidt")
    tick(app, berlin(2026, 11, 30, 9))
    clock.now = berlin(2026, 12, 1, 10)
    for report, done, deadline, assign, title in [
        ("M-24", "M-48", "M-20", "M-3", "Elterncafé Nordstadt"),
        ("M-29", "M-34", "M-7", "M-15", "Lesepaten Südvorstadt"),
    ][:times]:
        anna.say(f"melden {report} 90%")
        anna.say(f"erledigt {done}")
        anna.say(f"frist {deadline} 30.06.2027 später")
        anna.say(f'zuweisen {assign} an "Katrin Schulz"')
        anna.say(f'neu "{title}" ressort:JA')
    recorder = Recorder()
    tick(app, berlin(2026, 12, 7, 8), recorder)
    (digest,) = digests(recorder)
    assert digest.splitlines()[1] == expected


# -- who no reminder reaches -------------------------------------------------------------------


def small_town(engine: Engine, clock: FixedClock, config: dict[str, Any]) -> App:
    """The Jugendamt with a Telegram group, the Schulamt without one; Max on Telegram, Ole
    with no chat id but the console's; a coordination group on Telegram."""
    app = make_app(engine, clock, demo=False, config=Config.model_validate(config))
    with app.uows(write=True) as uow:
        s = uow.session
        ja = Department(key="JA", name="Jugendamt")
        sa = Department(key="SA", name="Schulamt")
        s.add_all([ja, sa])
        s.flush()
        s.add_all(
            [
                RoomLink(platform="telegram", room_id="-1001", department_id=ja.id),
                RoomLink(platform="telegram", room_id="-1002", is_coordination=True),
            ]
        )
        max_ = Person(
            name="Max Müller",
            department_id=ja.id,
            role=Role.DEPARTMENT,
            identities=[ChatIdentity(platform="telegram", user_id="4711")],
        )
        ole = Person(
            name="Ole Brandt",
            department_id=sa.id,
            role=Role.DEPARTMENT,
            identities=[ChatIdentity(platform="console", user_id="Ole Brandt")],
        )
        s.add_all([max_, ole])
        s.flush()
        for title, department, person in (
            ("Spielplatz Lindenau", ja, max_),
            ("Schulweg sichern", sa, ole),
        ):
            s.add(
                Measure(
                    title=title,
                    lead_department_id=department.id,
                    responsible_id=person.id,
                    deadline=date(2027, 6, 30),
                    status=MeasureStatus.IN_PROGRESS,
                    progress=40,
                    evaluation_interval="jährlich",
                    created_at=clock.now,
                    last_report_at=clock.now,
                    version=1,
                )
            )
        uow.commit()
    return app


@pytest.mark.parametrize(
    ("config", "lang", "expected"),
    [
        (
            TELEGRAM,
            "de",
            "📰 Wochenübersicht 30.11.2026\nkeine Änderungen\n\n"
            "Nicht erreichbar\nOle Brandt: keine Chat-Kennung\nSchulamt: kein Raum verknüpft",
        ),
        (
            {**MATRIX, **TELEGRAM},
            "en",
            "📰 Weekly digest 2026-11-30\nno changes\n\n"
            "Not reachable\nOle Brandt: no chat id\nSchulamt: no room linked",
        ),
        # No chat platform: the console reaches everyone, nobody is unreachable.
        ({}, "de", "📰 Wochenübersicht 30.11.2026\nkeine Änderungen"),
    ],
    ids=["telegram", "matrix-and-telegram-in-english", "console-only"],
)
def test_the_digest_lists_who_no_reminder_reaches(
    engine: Engine, clock: FixedClock, config: dict[str, Any], lang: str, expected: str
) -> None:
    app = small_town(engine, clock, config)
    coordination_room(app, language=lang)
    platforms: list[str] = [p for p in ("matrix", "telegram") if p in config] or ["console"]
    recorders = [Recorder(p) for p in platforms]
    tick(app, berlin(2026, 11, 30, 8), *recorders)
    assert [d for r in recorders for d in digests(r)] == [expected]
