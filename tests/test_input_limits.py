"""Hostile input in chat, from an empty database set up on the command line, on SQLite and
PostgreSQL: control characters and bidi overrides removed at the door, every text field
refused beyond its documented length with the limit named (the same on both backends), dates
outside 2000–2100 refused, a message beyond 10,000 characters answered with the limit. Each
refusal leaves the data as it was."""

from __future__ import annotations

from pathlib import Path

from conftest import FixedClock
from sqlalchemy import Engine, func, select

from storage.models import AuditEntry, Goal, Measure, Meeting
from tests.test_plan_import import apply, csv_file
from tests.test_plan_import import measures as plan_measures
from tests.test_plan_import import set_up as set_up_plan
from tests.test_real_start import CLARA, MAX, Town, cli
from tests.test_real_start import any_town as any_town
from tests.test_real_start import config_file as config_file


def count(town: Town, model: type[object]) -> int:
    with town.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def titles(town: Town) -> list[str]:
    with town.session() as session:
        return list(session.scalars(select(Measure.title).order_by(Measure.id)))


def test_nul_and_control_characters_are_removed_before_anything_is_read(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    said = clara.say('neu "Kita\x00 Nord\x1b[2J\x1b[31mstadt\x07" ressort:JA')
    assert said.startswith("Angelegt: M-1"), said
    assert "\x1b" not in said and "\x00" not in said
    assert titles(any_town) == ["Kita Nord[2J[31mstadt"]


def test_bidi_overrides_go_and_hebrew_and_arabic_letters_stay(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    said = clara.say('neu "Sprachcafé \u202eעברית\u202c und عربي\u2066x\u2069" ressort:JA')
    assert said.startswith("Angelegt: M-1"), said
    assert titles(any_town) == ["Sprachcafé עברית und عربيx"]


def test_a_goal_title_over_300_characters_is_refused_with_the_limit(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    audits_before = count(any_town, AuditEntry)
    reply = clara.reply(f'ziel neu "{"Z" * 9_000}"')
    assert reply.plain() == (
        "Der Titel ist zu lang (9000 Zeichen, höchstens 300). Es wurde nichts geändert."
    )
    assert reply.outcome == "usage"
    assert count(any_town, Goal) == 0
    assert count(any_town, AuditEntry) == audits_before
    # Exactly at the limit it is a goal.
    assert clara.say(f'ziel neu "{"Z" * 300}"').startswith("Angelegt: Z-1")


def test_a_measure_description_and_a_report_note_have_their_limits(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    assert clara.say('neu "Kita Nordstadt" ressort:JA').startswith("Angelegt: M-1")
    max_ = any_town.chat(MAX)
    assert max_.say(f'melden M-1 20% "{"n" * 2001}"') == (
        "Die Notiz ist zu lang (2001 Zeichen, höchstens 2000). Es wurde nichts geändert."
    )
    with any_town.session() as session:
        assert session.scalars(select(Measure.progress)).one() == 0


def test_dates_outside_2000_to_2100_are_refused_everywhere(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    assert clara.say('neu "Kita Nordstadt" ressort:JA frist:22.12.9999') == (
        "„22.12.9999“ liegt nicht zwischen 2000 und 2100: Regelkreis plant in diesen Jahren. "
        "Es wurde nichts geändert."
    )
    assert count(any_town, Measure) == 0
    assert clara.say('neu "Kita Nordstadt" ressort:JA frist:31.12.2100').startswith("Angelegt: M-1")
    assert clara.say("frist M-1 1.1.1999").startswith("„1.1.1999“ liegt nicht zwischen")
    said = clara.say('sitzung neu 22.12.9999 10:00 "Steuergruppe"')
    assert said.startswith("„22.12.9999“ liegt nicht zwischen"), said
    assert count(any_town, Meeting) == 0
    with any_town.session() as session:
        assert session.scalars(select(Measure.deadline)).one().year == 2100


def test_a_message_over_10000_characters_is_answered_with_the_limit(
    any_town: Town,
) -> None:
    clara = any_town.chat(CLARA)
    assert clara.say("status " + "x" * 10_001) == (
        "Die Nachricht ist zu lang (10008 Zeichen, höchstens 10000). Es wurde nichts geändert."
    )
    # 10,000 characters are read: here an unknown name, answered as such.
    said = clara.say("status " + "x" * 9_993)
    assert "kenne ich nicht" in said or "nicht gefunden" in said.lower(), said[:200]


# -- the spreadsheet door -------------------------------------------------------------------


def test_a_plan_with_control_characters_a_year_9999_and_a_long_description(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up_plan(engine, clock)
    rows = [
        ["Nr.", "Maßnahme", "Federführung", "Frist", "Beschreibung"],
        # XLSX cannot hold control characters; a CSV file can.
        ["1", "Kita\x07 Nord\x1b[31mstadt\u202e", "JA", "30.06.2027", ""],
        ["2", "Radweg", "JA", "22.12.9999", ""],
        ["3", "Schulhof", "JA", "", "x" * 4001],
    ]
    plan = csv_file(rows, encoding="utf-8", delimiter=";")
    outcome = apply(app, plan, "plan.csv")
    assert not outcome.applied
    said = outcome.reply("de").plain().splitlines()
    assert "Zeile 3, Spalte „Frist“: „22.12.9999“ liegt nicht zwischen 2000 und 2100" in said
    assert "Zeile 4, Spalte „Beschreibung“: Beschreibung länger als 4000 Zeichen" in said
    assert "1 neu, 0 geändert, 0 unverändert, 0 Konflikte, 2 fehlerhafte Zeilen" in said
    skipped = apply(app, plan, "plan.csv", skip_invalid=True)
    assert skipped.applied
    assert sorted(m.title for m in plan_measures(app).values()) == ["Kita Nord[31mstadt"]


# -- the command line's door ----------------------------------------------------------------


def test_the_command_line_refuses_an_over_long_name_in_one_line(config_file: Path) -> None:
    assert cli(config_file, "db", "upgrade")[0] == 0
    status, said, err = cli(config_file, "person", "add", "x" * 201, "--rolle", "lesen")
    assert (status, said) == (2, "")
    assert err == (
        "regelkreis: The name is too long (201 characters, at most 200). Nothing was changed.\n"
    )
    status, said, err = cli(config_file, "ressort", "add", "JA", "Jugend\x1b[2Jamt")
    assert (status, said, err) == (0, "Jugend[2Jamt (JA) created.\n", "")


def test_sql_and_html_fragments_are_titles_like_any_other(any_town: Town) -> None:
    clara = any_town.chat(CLARA)
    title = "Robert'); DROP TABLE measures;-- <script>alert(1)</script> 🚸"
    assert clara.say(f'neu "{title}" ressort:JA').startswith("Angelegt: M-1")
    assert titles(any_town) == [title]
    said = clara.say("status M-1")
    assert title in said
