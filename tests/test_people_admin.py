"""People administration from an empty database set up on the command line: `person ändern`
and `person deaktivieren` in chat and `person edit|deactivate` on the command line, each
change named in the reply and audited; a deactivated person can no longer act and their
reminders go to the department; namesakes shown and named as `Name (JA)`. An unregistered
sender is answered once per room and day, then silence; `wer bin ich` and `hilfe` always.
At most 20 commands a minute per sender on a chat platform, with one notice per window; the
backlog after downtime and the console are not limited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.core import Incoming
from storage.models import AuditEntry, Measure, Person
from tests.test_real_start import CLARA, LEA, MAX, RITA, Town, cli
from tests.test_real_start import config_file as config_file
from tests.test_real_start import town as town


def person(town: Town, name: str) -> tuple[str, str | None, str | None, list[str]]:
    """(role, department key, e-mail, identities) of the one person of that name."""
    with town.session() as session:
        found = session.scalars(select(Person).where(Person.name == name)).one()
        return (
            found.role.value,
            found.department.key if found.department else None,
            found.email,
            sorted(i.address for i in found.identities),
        )


def person_audits(
    town: Town,
) -> list[tuple[str, dict[str, object] | None, dict[str, object] | None]]:
    with town.session() as session:
        return [
            (e.action, e.before, e.after)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.entity_kind == "person").order_by(AuditEntry.id)
            )
            if e.action != "create"
        ]


def test_an_admin_changes_role_department_identity_and_email_and_each_is_audited(
    town: Town,
) -> None:
    clara = town.chat(CLARA)
    said = clara.say("person ändern Max Müller rolle:lesen ressort:SA email:max@stadt.de")
    assert said.splitlines() == [
        "Max Müller geändert",
        "Ressort: JA → SA",
        "Rolle: ressort → lesen",
        "E-Mail: – → max@stadt.de",
    ]
    said = clara.say("person ändern Max Müller kennung:telegram:5002")
    # The console identity came with his first chat there (the set-up's `wer bin ich`).
    assert said.splitlines() == [
        "Max Müller geändert",
        "Kennungen: console:Max Müller → console:Max Müller, telegram:5002",
    ]
    # Lea's Telegram id is hers: refused, nothing changed.
    said = clara.say("person ändern Max Müller kennung:telegram:5001")
    assert said == "telegram:5001 gehört schon Lea Lang."
    assert clara.say("person ändern Max Müller email:-").splitlines() == [
        "Max Müller geändert",
        "E-Mail: max@stadt.de → –",
    ]
    assert person(town, MAX) == ("lesen", "SA", None, ["console:Max Müller", "telegram:5002"])
    assert person_audits(town) == [
        (
            "update",
            {"department": "JA", "role": "ressort", "email": None},
            {"department": "SA", "role": "lesen", "email": "max@stadt.de"},
        ),
        (
            "update",
            {"identities": ["console:Max Müller"]},
            {"identities": ["console:Max Müller", "telegram:5002"]},
        ),
        ("update", {"email": "max@stadt.de"}, {"email": None}),
    ]


def test_only_an_admin_may_change_people(town: Town) -> None:
    said = town.chat(LEA).say("person ändern Max Müller rolle:lesen")
    assert "Administration" in said, said
    assert person(town, MAX)[0] == "ressort"


def test_a_deactivated_person_keeps_their_measures_but_can_no_longer_act(town: Town) -> None:
    clara = town.chat(CLARA)
    created = clara.say('neu "Kita Nordstadt" ressort:JA verantwortlich:"Max Müller"')
    assert created.startswith("Angelegt: M-1"), created
    said = clara.say("person deaktivieren Max Müller")
    assert said.splitlines() == [
        "Max Müller deaktiviert: kann nichts mehr ändern; Erinnerungen gehen an die Räume der "
        "federführenden Ressorts.",
        "1 offene Maßnahme bleibt bei Max Müller, bis sie jemand anderem zugewiesen wird.",
    ]
    max_ = town.chat(MAX)
    assert max_.say("melden M-1 50% begonnen") == (
        "Ihr Zugang ist deaktiviert. Bitte wenden Sie sich an die Koordination."
    )
    assert max_.say("status") == (
        "Ihr Zugang ist deaktiviert. Bitte wenden Sie sich an die Koordination."
    )
    assert max_.say("wer bin ich").startswith("Wer bin ich")
    with town.session() as session:
        measure = session.get(Measure, 1)
        assert measure is not None and measure.progress == 0
        assert measure.responsible is not None and measure.responsible.name == MAX
    assert clara.say("person deaktivieren Max Müller") == "Max Müller ist schon deaktiviert."
    assert clara.say('neu "Kita Südstadt" ressort:JA').startswith("Angelegt: M-2")
    assert clara.say("zuweisen M-2 an Max Müller") == (
        "Max Müller ist deaktiviert und kann für M-2 nicht verantwortlich sein."
    )
    assert person_audits(town) == [("deactivate", {"active": True}, {"active": False})]


def test_a_deactivated_persons_deadline_reminder_goes_to_the_department(
    town: Town, config_file: Path
) -> None:
    clara = town.chat(CLARA)
    assert clara.say(
        'neu "Kita Nordstadt" ressort:JA verantwortlich:"Max Müller" frist:30.11.2026'
    ).startswith("Angelegt: M-1")
    status, said, _err = cli(
        config_file, "reminders", "run-due", "--now", "2026-11-27T09:00", "--dry-run"
    )
    assert status == 0 and "→ Max Müller [console]:\n⏰ Erinnerung" in said, said
    assert cli(config_file, "person", "deactivate", MAX)[0] == 0
    status, said, _err = cli(
        config_file, "reminders", "run-due", "--now", "2026-11-27T09:00", "--dry-run"
    )
    assert status == 0
    assert "→ Jugendamt (JA) [console]:\n⏰ Erinnerung" in said, said
    assert "→ Max Müller [console]:\n⏰" not in said


def test_namesakes_are_shown_and_named_with_their_department(town: Town, config_file: Path) -> None:
    assert cli(config_file, "person", "add", MAX, "--ressort", "SA", "--rolle", "ressort")[0] == 0
    clara = town.chat(CLARA)
    said = clara.say("person ändern Max Müller rolle:lesen")
    assert said.splitlines()[1:] == ["1. Max Müller (JA)", "2. Max Müller (SA)"], said
    assert clara.say("2").splitlines() == ["Max Müller geändert", "Rolle: ressort → lesen"]
    status, said, err = cli(config_file, "person", "edit", "Max Müller (JA)", "--rolle", "lesen")
    assert (status, said, err) == (0, "Max Müller changed: Role: ressort → lesen.\n", "")


def test_the_command_line_edits_and_deactivates(town: Town, config_file: Path) -> None:
    status, said, err = cli(
        config_file, "person", "edit", RITA, "--add-telegram", "7007", "--email", "rita@stadt.de"
    )
    assert (status, err) == (0, "")
    assert said == (
        "Rita Roth changed: Identities: console:Rita Roth → console:Rita Roth, telegram:7007; "
        "E-mail: – → rita@stadt.de.\n"
    )
    status, said, err = cli(config_file, "person", "edit", RITA, "--remove", "telegram:7007")
    assert (status, said) == (
        0,
        "Rita Roth changed: Identities: console:Rita Roth, telegram:7007 → console:Rita Roth.\n",
    )
    status, said, err = cli(config_file, "person", "deactivate", "Rita")
    assert status == 0 and said.startswith("Rita Roth deactivated"), said
    with town.session() as session:
        origins = [
            e.origin_platform
            for e in session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity_kind == "person", AuditEntry.action != "create"
                )
            )
        ]
    assert origins == ["cli", "cli", "cli"]


# -- unregistered senders and the rate limit (through the conversation, as adapters call it) --


def ask(town: Town, sender: str, text: str, room: str = "-100500", **extra: object):  # type: ignore[no-untyped-def]
    return town.app.conversation.answer(
        Incoming("telegram", room, sender, text, message_id=None, **extra)  # type: ignore[arg-type]
    )


def test_an_unregistered_sender_is_answered_once_per_room_and_day(town: Town) -> None:
    first = ask(town, "999", "status")
    assert first is not None and first.outcome == "unregistered"
    assert "telegram:999" in first.plain()
    assert ask(town, "999", "status") is None  # silence
    assert ask(town, "998", "fällig") is None  # anyone unknown, in this room
    whoami = ask(town, "999", "wer bin ich")
    assert whoami is not None and "telegram:999" in whoami.plain()
    helped = ask(town, "999", "hilfe")
    assert helped is not None and helped.plain()
    other_room = ask(town, "999", "status", room="-100600")
    assert other_room is not None and other_room.outcome == "unregistered"
    town.clock.now += timedelta(days=1)
    next_day = ask(town, "999", "status")
    assert next_day is not None and next_day.outcome == "unregistered"


def test_twenty_commands_a_minute_then_one_notice_then_silence(
    town: Town, config_file: Path
) -> None:
    assert cli(config_file, "person", "edit", RITA, "--add-telegram", "7007")[0] == 0
    for _ in range(20):
        reply = ask(town, "7007", "status")
        assert reply is not None and reply.outcome == "ok"
    notice = ask(town, "7007", "status")
    assert notice is not None and notice.plain().startswith(
        "Bitte etwas langsamer: höchstens 20 Befehle pro Minute."
    )
    assert ask(town, "7007", "status") is None
    # The backlog after downtime (sent ten minutes ago) is answered.
    backlog = ask(town, "7007", "status", sent_at=town.clock.now - timedelta(minutes=10))
    assert backlog is not None and backlog.outcome == "ok"
    town.clock.now += timedelta(minutes=1)
    again = ask(town, "7007", "status")
    assert again is not None and again.outcome == "ok"
    # The console is the operator's terminal: never limited.
    rita = town.chat(RITA)
    for _ in range(25):
        assert rita.reply("status").outcome == "ok"
