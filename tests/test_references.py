"""A reference never lands on something the user did not name (PRODUCT.md §2).

Every example here was reproduced on the example municipality, where 50 measures make the old
fuzzy fallback find *something* for almost any input: a write landed on M-6 for `melden Z-1`,
on M-34 for `frist S-2`, on M-15 for `erledigt x y`. Each test compares the whole database
before and after, so "refused" also means "nothing changed".
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Chat
from sqlalchemy import select

from bot.bootstrap import App
from storage.models import Base, Measure, MeasureStatus, PlanningArea

# Tables a refused command may touch without changing anything a user sees: the numbered
# choices it leaves, the lookup's name revisions and the processed-message claims.
_BOOKKEEPING = {"pending_choices", "name_revisions", "processed_messages", "platform_state"}


def db_state(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a user could notice, in a stable order."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with app.uows() as uow:
        for table in Base.metadata.sorted_tables:
            if table.name in _BOOKKEEPING:
                continue
            rows = uow.session.execute(select(table)).all()
            state[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return state


def versions(app: App) -> dict[int, int]:
    with app.uows() as uow:
        return dict(uow.session.execute(select(Measure.id, Measure.version)).tuples().all())


@pytest.fixture
def coordinator(sqlite_app: App) -> Chat:
    chat = Chat(sqlite_app, "Anna Schmidt")
    chat.say("wer bin ich")  # the first message records the console as Anna's platform
    return chat


def refused_unchanged(chat: Chat, text: str) -> str:
    before = db_state(chat.app)
    reply = chat.say(text)
    assert db_state(chat.app) == before, f"{text!r} changed the database: {reply}"
    return reply


# -- ids of the wrong kind, ids that do not exist, fragments too short to match -------------


def test_a_goal_id_is_not_a_measure(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "melden Z-1 verzögert")
    assert reply == "Z-1 ist ein Ziel, keine Maßnahme."
    assert coordinator.last is not None and coordinator.last.outcome == "refused"


def test_a_meeting_id_is_not_a_measure(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "frist S-2 31.12.2027 Test")
    assert reply == "S-2 ist eine Sitzung, keine Maßnahme."


def test_a_measure_is_not_a_person_or_department(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "zuweisen M-12 an M-50")
    assert reply == "M-50 ist eine Maßnahme, keine Person und kein Ressort."


def test_assigning_a_goal_to_a_meeting_is_refused(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "zuweisen Z-1 an S-1")
    assert reply == "Z-1 ist ein Ziel, keine Maßnahme."


def test_single_letters_never_match(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "erledigt x y")
    assert reply == "„x“ habe ich nicht gefunden."


def test_a_measure_id_is_not_a_meeting_even_when_it_does_not_exist(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "sitzung verschieben M-0 16.12.2026 10:00")
    assert reply == "M-0 ist keine Sitzung: M-… sind Maßnahmen."


def test_an_id_that_does_not_exist_gets_no_fuzzy_substitute(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "melden M-999 50%")
    assert reply == "„M-999“ habe ich nicht gefunden.\nDie höchste Nummer ist M-50."


@pytest.mark.parametrize("text", ["M001", "3.1", "A-12a", "12", "-", "M-"])
def test_what_is_not_an_id_does_not_match_fuzzily(coordinator: Chat, text: str) -> None:
    reply = refused_unchanged(coordinator, f"erledigt {text}")
    assert reply.startswith(f"„{text}“ habe ich nicht gefunden."), reply


def test_an_unknown_id_letter_says_which_ids_exist(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "erledigt A-12")
    assert reply == "„A-12“ ist keine Kennung, die ich kenne: M-… Maßnahme, Z-… Ziel, S-… Sitzung."


def test_a_department_member_cannot_close_a_measure_by_goal_id(sqlite_app: App) -> None:
    markus = Chat(sqlite_app, "@markus.becker:musterstadt.de", "!ja:musterstadt.de", "matrix")
    markus.say("wer bin ich")
    reply = refused_unchanged(markus, "erledigt Z-1")
    assert reply == "Z-1 ist ein Ziel, keine Maßnahme."


# -- look-alikes are the id they look like, and nothing else ---------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "M\u20101",  # U+2010 hyphen, as phones produce
        "M\u20131",  # en dash
        "M\u22121",  # minus sign
        "\u039c-1",  # Greek capital Mu
        "\u041c-1",  # Cyrillic capital Em
        "M-1\u200b",  # a zero-width space after it
        "\uff2d\uff0d\uff11",  # full-width M-1
        "m-1",
    ],
)
def test_a_look_alike_id_is_that_id(coordinator: Chat, typed: str) -> None:
    before = versions(coordinator.app)
    reply = coordinator.say(f"erledigt {typed}")
    assert reply.startswith("Erledigt: M-1 ✅"), reply
    after = versions(coordinator.app)
    assert {m for m in after if after[m] != before[m]} == {1}


# -- option values: never a silent substitute -----------------------------------------------


def test_a_new_planning_area_is_not_an_existing_similar_one(coordinator: Chat) -> None:
    reply = coordinator.say('neu "Spielplatz Weststadt" ressort:JA raum:Weststadt')
    assert "Neuer Planungsraum „Weststadt“ angelegt." in reply, reply
    with coordinator.app.uows() as uow:
        created = uow.session.execute(
            select(Measure).where(Measure.title == "Spielplatz Weststadt")
        ).scalar_one()
        assert created.planning_area is not None
        assert created.planning_area.name == "Weststadt"
        assert uow.session.execute(
            select(PlanningArea).where(PlanningArea.name == "Altstadt")
        ).scalar_one()


def test_an_option_fragment_in_several_names_asks(coordinator: Chat) -> None:
    # "amt" is in Jugendamt, Schulamt, Umweltamt, …: which one leads is asked, not guessed.
    before = db_state(coordinator.app)
    reply = coordinator.say('neu "Sprachcafé" ressort:amt')
    assert reply.startswith("„amt“ passt auf mehrere. Bitte mit der Nummer antworten:"), reply
    assert db_state(coordinator.app) == before


def test_a_write_on_a_unique_fragment_names_what_it_acted_on(coordinator: Chat) -> None:
    reply = coordinator.say("melden tagespflege 10%")
    assert reply.splitlines() == [
        "Bericht zu M-8 gespeichert",
        "🟢 M-8 Kindertagespflege in der Gartenstadt ausbauen — JA, 10 %, Frist 27.03.2027",
    ]
    # Where the reply shows only a key, the line at the end says what the fragment meant.
    created = coordinator.say('neu "Sprachcafé für Eltern" ressort:jugenda')
    assert created.splitlines() == [
        "Angelegt: M-51",
        "⚪ M-51 Sprachcafé für Eltern — JA, 0 %, ohne Frist",
        "",
        "„jugenda“ = Jugendamt (JA)",
    ]


def test_a_write_on_a_fragment_of_two_names_asks_even_with_a_clear_favourite(
    coordinator: Chat,
) -> None:
    reply = refused_unchanged(coordinator, "melden Gartenstadt 10%")
    assert reply.splitlines() == [
        "„Gartenstadt“ passt auf mehrere. Bitte mit der Nummer antworten:",
        "1. M-8 Kindertagespflege in der Gartenstadt ausbauen",
        "2. M-36 Klimaanpassungskonzept Quartier Gartenstadt",
    ]


# -- numbered picks: only right after the list ----------------------------------------------


def test_a_number_after_another_command_is_not_a_pick(coordinator: Chat) -> None:
    listed = coordinator.say("melden sprachförd 70% Träger gefunden")
    assert listed.startswith("„sprachförd“ passt auf mehrere.")
    coordinator.say("status")
    reply = refused_unchanged(coordinator, "1")
    assert reply.startswith("Den Befehl „1“ kenne ich nicht."), reply


def test_a_number_right_after_the_list_picks(coordinator: Chat) -> None:
    coordinator.say("melden sprachförd 70% Träger gefunden")
    reply = coordinator.say("1")
    assert reply.startswith("Bericht zu M-1 gespeichert"), reply
    with coordinator.app.uows() as uow:
        assert uow.session.get(Measure, 1).progress == 70  # type: ignore[union-attr]


def test_picking_a_namesake_assigns_that_person(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    assert anna.say('person neu "Julia Richter" ressort:SA rolle:ressort telegram:777').startswith(
        "Person registriert"
    )
    listed = anna.say("zuweisen M-8 an Julia Richter")
    assert listed.splitlines()[1:3] == ["1. Julia Richter (JA)", "2. Julia Richter (SA)"]
    reply = anna.say("2")
    assert reply.startswith("M-8 → Julia Richter (SA)"), reply
    with sqlite_app.uows() as uow:
        measure = uow.session.get(Measure, 8)
        assert measure is not None and measure.responsible is not None
        assert measure.responsible.department is not None
        assert measure.responsible.department.key == "SA"


# -- melden: status and percentage right after the reference, the rest is the note ---------


def test_fertig_means_done(coordinator: Chat) -> None:
    reply = coordinator.say("melden M-48 fertig")
    assert reply.startswith("Erledigt: M-48 ✅"), reply
    with coordinator.app.uows() as uow:
        measure = uow.session.get(Measure, 48)
        assert measure is not None and measure.status is MeasureStatus.DONE


@pytest.mark.parametrize("percent", ["-5%", "NaN%", "50,5%", "500%", "101"])
def test_a_bad_percentage_is_an_error_with_the_usage(coordinator: Chat, percent: str) -> None:
    reply = refused_unchanged(coordinator, f"melden M-1 {percent} Träger gefunden")
    assert reply.splitlines() == [
        f"„{percent}“ ist kein Fortschritt: eine ganze Zahl von 0 bis 100, z. B. 70%.",
        "Aufruf: melden <maßnahme> [status] [NN%] [notiz]",
        "Beispiel: melden M-12 70% Träger gefunden",
    ]


def test_a_drop_in_progress_is_shown(coordinator: Chat) -> None:
    coordinator.say("melden M-1 80%")
    reply = coordinator.say("melden M-1 40% Träger abgesprungen")
    assert "Fortschritt 80 % → 40 %" in reply, reply


def test_a_reopened_measure_is_not_in_progress_at_100(coordinator: Chat) -> None:
    assert coordinator.say("erledigt M-1").startswith("Erledigt: M-1 ✅")
    reply = refused_unchanged(coordinator, "melden M-1 laufend")
    assert reply.startswith("M-1 war erledigt (100 %)"), reply
    reopened = coordinator.say("melden M-1 laufend 80% Nacharbeit")
    assert reopened.startswith("Bericht zu M-1 gespeichert"), reopened
    with coordinator.app.uows() as uow:
        measure = uow.session.get(Measure, 1)
        assert measure is not None
        assert (measure.status, measure.progress) == (MeasureStatus.IN_PROGRESS, 80)


# -- the same parsing rules in beschluss and in every other command --------------------------


def test_a_decision_cannot_set_a_deadline_in_the_past(coordinator: Chat) -> None:
    reply = refused_unchanged(
        coordinator, 'beschluss S-1 "Zurück in die Zukunft" M-6 frist:01.01.2020'
    )
    assert reply.startswith("Die Frist liegt in der Vergangenheit."), reply


def test_due_with_a_negative_number_is_a_usage_error(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, "fällig -5")
    assert reply.startswith("Die Tage müssen zwischen 1 und 366 liegen."), reply


def test_a_meeting_in_the_past_says_so_before_the_title(coordinator: Chat) -> None:
    reply = refused_unchanged(coordinator, 'sitzung neu gestern 10:00 "x"')
    assert reply.startswith("Die Sitzung liegt in der Vergangenheit."), reply


def test_a_typo_does_not_offer_someone_with_another_initial(coordinator: Chat) -> None:
    reply = coordinator.say("status müller")
    assert "Keller" not in reply, reply
    assert reply.startswith("„müller“ habe ich nicht gefunden."), reply


def test_a_reader_is_offered_no_quick_answers(sqlite_app: App) -> None:
    claudia = Chat(sqlite_app, "Claudia Berger")
    claudia.reply("status M-1")
    assert claudia.last is not None and claudia.last.quick_answers == []
    anna = Chat(sqlite_app, "Anna Schmidt")
    anna.reply("status M-1")
    assert anna.last is not None and [q.command for q in anna.last.quick_answers] == [
        "erledigt M-1",
        "melden M-1 laufend",
        "melden M-1 verzögert",
    ]


@pytest.mark.parametrize("lang", [0, 1], ids=["de", "en"])
def test_every_help_example_works_on_the_example_municipality(sqlite_app: App, lang: int) -> None:
    """The help's examples name things the example municipality has (`hilfe neu` named a
    person it lacks); refusals such as "the key JA is taken" are the data speaking."""
    anna = Chat(sqlite_app, "Anna Schmidt")
    for command in sqlite_app.dispatcher.registry.commands:
        example = command.example[lang]
        reply = anna.reply(example)
        assert reply.outcome not in ("not_found", "usage", "unknown", "error"), (
            example,
            reply.plain(),
        )


def test_a_pick_in_a_list_option_keeps_the_other_entries(coordinator: Chat) -> None:
    listed = coordinator.say('neu "Sprachcafé für Eltern" ressort:JA beteiligt:Kultur,amt')
    lines = listed.splitlines()
    assert lines[0] == "„amt“ passt auf mehrere. Bitte mit der Nummer antworten:", listed
    number = next(line.split(".")[0] for line in lines[1:] if line.endswith("Schulamt (SA)"))
    reply = coordinator.say(number)
    assert reply.startswith("Angelegt: M-51"), reply
    with coordinator.app.uows() as uow:
        created = uow.session.get(Measure, 51)
        assert created is not None
        assert [d.key for d in created.participants] == ["KA", "SA"]


def test_decision_references_are_read_like_every_id(coordinator: Chat) -> None:
    # Unquoted, the text runs up to the first id — a look-alike id too.
    reply = coordinator.say("beschluss S\u20131 Neubau zuerst M\u20106")
    assert reply.splitlines()[:2] == ["Beschluss S-1", "⏳ S-1/4 Neubau zuerst"], reply
    assert "Betrifft: M-6" in reply
    done = coordinator.say("beschluss umgesetzt S\u20101/4")
    assert done.startswith("Beschluss umgesetzt"), done
