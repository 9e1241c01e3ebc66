"""Questions in plain German and English (issue 15): each sentence gets the reply of the read
command it means, on the same database, and one last line naming that command; a sentence
that means none gets the closest commands and changes nothing.

The example municipality (storage/demo.py) on the fixtures' day, Friday 27 November 2026:
"diese Woche" ends on Sunday, 29 November (2 days), "nächste Woche" on 6 December (9),
"diesen Monat" on 30 November (3), "dieses Quartal" and "nächsten Monat" on 31 December
(34), "bis Ende März" and "nächstes Quartal" on 31 March 2027 (124).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Chat, FixedClock, make_app, sqlite_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_real_start import CLARA, GOALS, MAX, MEASURES, ROOMS, cli, open_bot, set_up, write_config

from bot.bootstrap import App
from storage import events
from storage.migrate import upgrade
from storage.models import Base

# (sentence, the command it means) — asked by Anna Schmidt (koordination) in the console.
GERMAN: list[tuple[str, str | None]] = [
    # -- status: the overview ---------------------------------------------------------------
    ("Wie ist der Stand?", "status"),
    ("Wie ist der aktuelle Stand", "status"),
    ("wie läuft es?", "status"),
    ("Wie läufts", "status"),
    ("Wie steht's?", "status"),
    ("Wie steht es denn so?", "status"),
    ("Gib mir einen Überblick", "status"),
    ("Geben Sie mir bitte einen Überblick.", "status"),
    ("Können Sie mir den Gesamtstand sagen?", "status"),
    ("Hallo! Wie ist die Lage?", "status"),
    ("Guten Morgen, wie ist der Status?", "status"),
    ("Zeig mir die Übersicht", "status"),
    ("Übersicht bitte", "status"),
    ("Den Status bitte", "status"),
    ("Status?", "status"),
    ("Wie ist der Stnd?", "status"),
    ("Wie ist die Lage insgesamt?", "status"),
    ("Kurzer Überblick bitte!", "status"),
    # -- status of one measure, goal, department, person, planning area -----------------
    ("Wie steht es um die Sprachförderung?", "status Sprachförderung"),
    ("wie steht es um die sprachförderung", "status sprachförderung"),
    ("Wie steht es um die Kita-Bedarfsplanung?", "status M-7"),
    ("Wie läuft die Kita-Bedarfsplanung?", "status M-7"),
    ("Wie weit ist die Wohnraumbedarfsanalyse?", "status M-40"),
    ("Wie ist der Stand beim Mietspiegel?", "status M-50"),
    ("Wer ist für den Mietspiegel zuständig?", "status M-50"),
    ("Wer ist verantwortlich für die Ausbildungsmesse?", "status M-16"),
    ("Wer ist für die Ausbildungsmesse Musterstadt zuständig", "status M-16"),
    ("Wer kümmert sich um den Quartierspark Hafenviertel?", "status M-33"),
    ("Wie steht es um M-12?", "status M-12"),
    ("Wie ist der Status von M-1?", "status M-1"),
    ("Stand M-30?", "status M-30"),
    ("Was ist mit M-43?", "status M-43"),
    ("Wie läuft das Housing First Modellprojekt?", "status M-44"),
    ("Wie steht es um den Hitzeaktionsplan?", "status M-28"),
    ("Wie weit ist die Notunterkunft Altstadt?", "status M-43"),
    ("Wie steht es um das Lotsenprogramm?", "status M-23"),
    ("Was macht die Fassadenbegrünung?", "status M-35"),
    ("Wie steht es um die Fassadenbegrünung", "status M-35"),
    ("Wie läuft die Ferienschule?", "status M-14"),
    ("Wie ist der Stand der Ferienschule Mathematik und Deutsch?", "status M-14"),
    ("Wie steht es um die Sprachfördrung?", "status Sprachfördrung"),
    ("Wie steht es um den Mietspigel?", "status M-50"),
    ("wie stet es um den Mietspiegel", "status M-50"),
    ("Was macht das Jugendamt?", "status JA"),
    ("Was läuft beim Jugendamt?", "status JA"),
    ("Wie steht es beim Schulamt?", "status SA"),
    ("Wie sieht es im Amt 51 aus?", "status JA"),
    ("Wie ist der Stand im Umweltamt?", "status UA"),
    ("Was läuft im Sozialamt?", "status SOZ"),
    ("Wie steht es um die Stadtplanung?", "status SP"),
    ("Wie steht's beim Gesundheitsamt?", "status GA"),
    ("Was macht das Integrationsbüro?", "status IB"),
    ("Wie steht es um die Wirtschaftsförderung?", "status WF"),
    ("Überblick Kulturamt", "status KA"),
    ("Was läuft in der Nordstadt?", 'status "Nordstadt"'),
    ("Wie sieht es in der Altstadt aus?", 'status "Altstadt"'),
    ("Was läuft im Hafenviertel?", 'status "Hafenviertel"'),
    ("Wie steht es um die Gartenstadt?", 'status "Gartenstadt"'),
    ("Was tut sich in der Südvorstadt?", 'status "Südvorstadt"'),
    ("Was macht Frau Koch?", 'status "Birgit Koch"'),
    ("Was hat Frau Koch offen?", 'status "Birgit Koch"'),
    ("Woran arbeitet Herr Becker?", 'status "Markus Becker"'),
    ("Was hat Julia noch offen?", 'status "Julia Richter"'),
    ("Wie ist der Stand bei Tobias Keller?", 'status "Tobias Keller"'),
    ("Was macht Markus?", 'status "Markus Becker"'),
    # -- fällig ----------------------------------------------------------------------------
    ("Was ist fällig?", "fällig"),
    ("Was wird fällig?", "fällig"),
    ("Welche Fristen stehen an?", "fällig"),
    ("Was steht an?", "fällig"),
    ("Welche Maßnahmen sind demnächst fällig?", "fällig"),
    ("Gibt es anstehende Fristen?", "fällig"),
    ("Was ist diese Woche fällig?", "fällig 2"),
    ("Was ist diese Woche fällig", "fällig 2"),
    ("Was wird in dieser Woche fällig?", "fällig 2"),
    ("was ist diese woche fälig", "fällig 2"),
    ("Was ist nächste Woche fällig?", "fällig 9"),
    ("Was steht nächste Woche an?", "fällig 9"),
    ("Welche Fristen laufen kommende Woche ab?", "fällig 9"),
    ("Was ist heute fällig?", "fällig 1"),
    ("Was ist morgen fällig?", "fällig 1"),
    ("Was ist bis Ende März fällig?", "fällig 124"),
    ("Was muss bis Ende März fertig sein?", "fällig 124"),
    ("Was ist bis 31.12. fällig?", "fällig 34"),
    ("Was ist bis Freitag fällig?", "fällig 7"),
    ("Was wird in den nächsten 30 Tagen fällig?", "fällig 30"),
    ("Was ist in den nächsten 30 Tagen fällig", "fällig 30"),
    ("Welche Fristen enden in den kommenden 60 Tagen?", "fällig 60"),
    ("Was wird in 2 Wochen fällig?", "fällig 14"),
    ("Was ist in den nächsten drei Wochen fällig?", "fällig 21"),
    ("Was ist innerhalb von 10 Tagen fällig?", "fällig 10"),
    ("Was ist diesen Monat fällig?", "fällig 3"),
    ("Was wird nächsten Monat fällig?", "fällig 34"),
    ("Was ist dieses Quartal fällig?", "fällig 34"),
    ("Was ist im nächsten Quartal fällig?", "fällig 124"),
    ("Welche Fristen laufen dieses Jahr noch ab?", "fällig 34"),
    ("Was ist beim Jugendamt fällig?", "fällig JA"),
    ("Was ist diese Woche beim Jugendamt fällig?", "fällig 2 JA"),
    ("Was ist beim jugendamt diese woche fällig", "fällig 2 JA"),
    ("Was ist im Amt 51 fällig?", "fällig JA"),
    ("Was ist für JA in den nächsten 30 Tagen fällig?", "fällig 30 JA"),
    ("Was ist im Amt 40 in den nächsten 2 Wochen fällig?", "fällig 14 SA"),
    ("Was wird beim Umweltamt bis Ende März fällig?", "fällig 124 UA"),
    ("Welche Fristen hat das Sozialamt diesen Monat?", "fällig 3 SOZ"),
    ("Was steht beim Gesundheitsamt nächste Woche an?", "fällig 9 GA"),
    ("Was ist beim Schulamt fällig?", "fällig SA"),
    ("Fällige Maßnahmen des Integrationsbüros?", "fällig IB"),
    ("Was ist bei der Stadtplanung dieses Quartal fällig?", "fällig 34 SP"),
    ("Was ist bei Frau Koch fällig?", 'status "Birgit Koch"'),
    # -- überfällig --------------------------------------------------------------------------
    ("Was ist überfällig?", "überfällig"),
    ("Welche Maßnahmen sind überfällig?", "überfällig"),
    ("Was ist überfälig?", "überfällig"),
    ("Was ist ueberfaellig", "überfällig"),
    ("Gibt es überfällige Maßnahmen?", "überfällig"),
    ("Was hängt hinterher?", "überfällig"),
    ("Wo sind wir im Verzug?", "überfällig"),
    ("Welche Fristen sind überschritten?", "überfällig"),
    ("Was ist verspätet?", "überfällig"),
    ("Was ist beim Jugendamt überfällig?", "überfällig JA"),
    ("Was ist im Amt 51 überfällig", "überfällig JA"),
    ("Was hängt beim Umweltamt?", "überfällig UA"),
    ("Was ist beim Sozialamt im Verzug?", "überfällig SOZ"),
    ("Überfällige Maßnahmen für JA bitte", "überfällig JA"),
    ("Welche Maßnahmen des Schulamts sind überfällig?", "überfällig SA"),
    ("Was ist bei der Jugend überfällig?", "überfällig JA"),
    ("Was ist bei Markus überfällig?", 'status "Markus Becker"'),
    # -- meine -------------------------------------------------------------------------------
    ("Was habe ich noch offen?", "meine"),
    ("Was hab ich offen", "meine"),
    ("Was sind meine Aufgaben?", "meine"),
    ("Zeig mir meine Maßnahmen", "meine"),
    ("Bitte meine Maßnahmen", "meine"),
    ("Was steht bei mir an?", "meine"),
    ("Was ist bei mir fällig?", "meine"),
    ("Was habe ich zu tun?", "meine"),
    ("Woran arbeite ich gerade?", "meine"),
    ("Welche Maßnahmen habe ich?", "meine"),
    ("Wofür bin ich zuständig", "meine"),
    ("Was liegt bei mir?", "meine"),
    ("Kannst du mir sagen, was ich offen habe?", "meine"),
    ("Was ist bei mir überfällig?", "meine"),
    # -- ziele / ziel ------------------------------------------------------------------------
    ("Welche Ziele gibt es?", "ziele"),
    ("Welche Ziele haben wir?", "ziele"),
    ("Zeig mir die Ziele", "ziele"),
    ("Zeig mir den Zielbaum", "ziele"),
    ("Wie stehen die Ziele?", "ziele"),
    ("Wie weit sind wir mit den Zielen?", "ziele"),
    ("Die Ziele bitte", "ziele"),
    ("Wie steht es um das Ziel Bezahlbarer Wohnraum?", "ziel Z-7"),
    ("Zeig mir das Ziel Z-3", "ziel Z-3"),
    ("Wie ist das Ziel Z-8?", "ziel Z-8"),
    ("Wie steht es um das Ziel Mehr Grün im Quartier", "ziel Z-15"),
    ("Was ist mit dem Ziel Wohnungslosigkeit vermeiden?", "ziel Z-17"),
    ("Wie läuft das Ziel Schulabschlüsse?", "ziel Z-10"),
    # -- sitzung / agenda -----------------------------------------------------------------
    ("Wann tagt die Steuergruppe?", "sitzung"),
    ("Wann ist die nächste Sitzung?", "sitzung"),
    ("Wann trifft sich der Lenkungskreis?", "sitzung"),
    ("Welche Termine stehen an?", "sitzung"),
    ("Wann ist das nächste Treffen?", "sitzung"),
    ("Gibt es bald eine Sitzung?", "sitzung"),
    ("Nächste Sitzungen bitte", "sitzung"),
    ("wann ist die nächste sitzng", "sitzung"),
    ("Was steht auf der Tagesordnung?", "agenda"),
    ("Was steht auf der Agenda?", "agenda"),
    ("Zeig mir die Tagesordnung der nächsten Sitzung", "agenda"),
    ("Wie sieht die Tagesordnung aus?", "agenda"),
    ("Was steht auf der Tagesordnung von S-2?", "agenda S-2"),
    ("Tagesordnung für S-3 bitte", "agenda S-3"),
    # -- verlauf ---------------------------------------------------------------------------
    ("Was ist bei M-12 passiert?", "verlauf M-12"),
    ("Zeig mir den Verlauf von M-3", "verlauf M-3"),
    ("Wie war der Verlauf beim Mietspiegel?", "verlauf M-50"),
    ("Was wurde an der Kita-Bedarfsplanung geändert?", "verlauf M-7"),
    ("Welche Änderungen gab es an M-6?", "verlauf M-6"),
    ("Den Verlauf der Ausbildungsmesse bitte", "verlauf M-16"),
    ("Was ist mit der Sprachförderung passiert?", "verlauf Sprachförderung"),
    # -- matrix ----------------------------------------------------------------------------
    ("Zeig mir die Zielmatrix", "matrix"),
    ("Wie sieht die Zielmatrix aus?", "matrix"),
    ("Zielmatrix bitte", "matrix"),
    ("Kann ich die Matrix sehen?", "matrix"),
]

# Asked by Sarah Miller (ressort IB, English) in the console.
ENGLISH: list[tuple[str, str | None]] = [
    ("What's the status?", "status"),
    ("How are things going?", "status"),
    ("Give me an overview", "status"),
    ("Can you give me an overview please?", "status"),
    ("Overview please", "status"),
    ("How is it going?", "status"),
    ("Hi! What is the current status?", "status"),
    ("Whats the staus?", "status"),
    ("How is the Kita-Bedarfsplanung going?", "status M-7"),
    ("What's the status of M-5?", "status M-5"),
    ("Who is responsible for the Mietspiegel?", "status M-50"),
    ("Who is in charge of the Ausbildungsmesse?", "status M-16"),
    ("How far along is the Wohnraumbedarfsanalyse?", "status M-40"),
    ("What is happening in Nordstadt?", 'status "Nordstadt"'),
    ("How is the Jugendamt doing?", "status JA"),
    ("What is Birgit Koch working on?", 'status "Birgit Koch"'),
    ("What's the progress on the Sprachförderung?", "status Sprachförderung"),
    ("What is due?", "due"),
    ("What's due this week?", "due 2"),
    ("what is due next week", "due 9"),
    ("What is due today?", "due 1"),
    ("What is due in the next 30 days?", "due 30"),
    ("What's due within 45 days?", "due 45"),
    ("What is due in the next two weeks?", "due 14"),
    ("What is due by end of March?", "due 124"),
    ("What's due this month?", "due 3"),
    ("What is due this quarter?", "due 34"),
    ("Any deadlines coming up?", "due"),
    ("Which deadlines are upcoming at the Jugendamt?", "due JA"),
    ("What is due for JA this week?", "due 2 JA"),
    ("What's due at the Schulamt in the next 30 days?", "due 30 SA"),
    ("What is overdue?", "overdue"),
    ("Which measures are overdue?", "overdue"),
    ("What is late?", "overdue"),
    ("What's overdue at the Jugendamt?", "overdue JA"),
    ("Is anything overdue in Amt 50?", "overdue SOZ"),
    ("What is behind schedule?", "overdue"),
    ("What do I have open?", "mine"),
    ("Show me my tasks", "mine"),
    ("Please show my measures", "mine"),
    ("What's on my plate?", "mine"),
    ("What is due for me?", "mine"),
    ("Show me the goals", "goals"),
    ("What goals do we have?", "goals"),
    ("Which goals are there?", "goals"),
    ("Tell me about goal Z-8", "goal Z-8"),
    ("How is the goal Bezahlbarer Wohnraum doing?", "goal Z-7"),
    ("When is the next meeting?", "meeting"),
    ("When does the steering group meet?", "meeting"),
    ("Any meetings coming up?", "meeting"),
    ("What's on the agenda?", "agenda"),
    ("Show me the agenda of S-2", "agenda S-2"),
    ("What happened with M-2?", "history M-2"),
    ("Show me the history of M-5", "history M-5"),
    ("What changed on the Mietspiegel?", "history M-50"),
    ("Show me the goal matrix", "matrix"),
    ("Can I see the matrix?", "matrix"),
]

# Neither small talk nor questions about what the bot does not know mean a command; nor does
# a change asked for in a sentence (writes stay commands).
NOT_COMMANDS: list[str] = [
    "Wie geht es dir?",
    "Guten Morgen!",
    "Danke schön",
    "Hallo zusammen",
    "Wie ist das Wetter morgen?",
    "Wer hat die Kekse gegessen?",
    "Was kostet ein Kitaplatz?",
    "Wann ist Weihnachten?",
    "Wie spät ist es?",
    "Wo ist die Kantine?",
    "Kannst du mir ein Taxi rufen?",
    "Was ist der Sinn des Lebens?",
    "Wer gewinnt die Bundesliga?",
    "Ich bin morgen im Urlaub",
    "Schönes Wochenende euch allen",
    "Bis später",
    "Alles klar, danke",
    "Wo finde ich das Formular?",
    "Was gibt es in der Kantine zu essen?",
    "Hast du Zeit?",
    "Markiere M-12 als erledigt",
    "Bitte setze die Frist von M-3 auf Ende März",
    "Kannst du M-5 auf erledigt setzen?",
    "Lösche die Maßnahme M-4",
    "Neue Maßnahme anlegen: Radweg Weststadt",
    "Weise M-12 Frau Koch zu",
    "How are you?",
    "Good morning everyone",
    "Thanks a lot",
    "What's the weather like?",
    "Who won the game last night?",
    "Where is the coffee machine?",
    "What time is it?",
    "Can you book a room for me?",
    "Tell me a joke",
    "Is the printer working again?",
    "Please mark M-12 as done",
    "Wer bin ich?",
]


def _digest(app: App) -> str:
    """Every row of every table but the message bookkeeping (claims, open numbered lists)."""
    skip = {"processed_messages", "pending_choices"}
    digest = hashlib.sha256()
    with app.uows() as uow:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = uow.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    events.install()
    for engine in sqlite_engine(Path(tmp_path_factory.mktemp("questions"))):
        upgrade(engine)
        yield make_app(engine, FixedClock())


def _split(reply: str) -> tuple[str, str]:
    """The answer and its last line."""
    body, _blank, last = reply.rpartition("\n\n")
    return body, last


def _asked(chat: Chat, sentence: str, command: str | None) -> None:
    said = chat.say(sentence)
    if command is None:
        assert chat.last is not None and chat.last.outcome == "unknown", (sentence, said)
        return
    body, last = _split(said)
    assert last == f"= {command}", (sentence, said)
    assert body == chat.say(command), sentence


@pytest.mark.parametrize(("sentence", "command"), GERMAN, ids=[s for s, _c in GERMAN])
def test_a_german_question_gets_the_reply_of_its_command(
    town: App, sentence: str, command: str | None
) -> None:
    _asked(Chat(town, "Anna Schmidt"), sentence, command)


@pytest.mark.parametrize(("sentence", "command"), ENGLISH, ids=[s for s, _c in ENGLISH])
def test_an_english_question_gets_the_reply_of_its_command(
    town: App, sentence: str, command: str | None
) -> None:
    _asked(Chat(town, "Sarah Miller"), sentence, command)


@pytest.mark.parametrize("sentence", NOT_COMMANDS)
def test_a_sentence_that_means_no_command_gets_the_closest_and_changes_nothing(
    town: App, sentence: str
) -> None:
    anna = Chat(town, "Anna Schmidt")
    anna.say("status")  # where she wrote last is noted once; nothing after that
    before = _digest(town)
    said = anna.say(sentence)
    assert anna.last is not None and anna.last.outcome == "unknown", said
    lines = said.splitlines()
    assert lines[0] in (
        "Diese Frage kann ich nicht beantworten. Am nächsten kommen:",
        f"Den Befehl „{sentence.split()[0]}“ kenne ich nicht. Am nächsten kommen:",
    ), said
    closest = [line for line in lines if line.startswith("• ")]
    # Two or three; one when the first word is a mistyped command ("Weise" for zuweisen).
    assert 2 <= len(closest) <= 3 or (lines[0].startswith("Den Befehl") and closest), said
    assert lines[-1] == "Alle Befehle: hilfe"
    assert _digest(town) == before


def test_a_change_asked_for_in_a_sentence_is_not_made_and_the_command_for_it_comes_first(
    town: App,
) -> None:
    anna = Chat(town, "Anna Schmidt", "aenderungen")
    anna.say("status")
    before = _digest(town)
    assert anna.say("Kannst du M-5 auf erledigt setzen?") == "\n".join(
        [
            "Diese Frage kann ich nicht beantworten. Am nächsten kommen:",
            "• erledigt <maßnahme> [notiz] — z. B. erledigt M-12 Abschlussbericht liegt vor",
            "• status [bezug] — z. B. status sprachförd",
            "Alle Befehle: hilfe",
        ]
    )
    said = anna.say("Bitte setze die Frist von M-3 auf Ende März").splitlines()
    assert said[1].startswith("• frist <maßnahme> <datum>"), said
    sarah = Chat(town, "Sarah Miller", "changes")
    assert sarah.say("Please mark M-12 as done").splitlines()[:2] == [
        "I can't answer that question. These commands come closest:",
        "• done <measure> [note] — e.g. done M-12 final report filed",
    ]
    assert _digest(town) == before


def test_the_table_is_large_enough() -> None:
    assert len(GERMAN) + len(ENGLISH) >= 200
    assert len(NOT_COMMANDS) >= 30


def test_a_sentence_naming_several_measures_gets_the_numbered_list_and_a_number_picks(
    town: App,
) -> None:
    anna = Chat(town, "Anna Schmidt", "fragen")
    said = anna.say("Wie steht es um die Sprachförderung?")
    assert (
        said.splitlines()[0]
        == "„Sprachförderung“ passt auf mehrere. Bitte mit der Nummer antworten:"
    )
    assert said.splitlines()[1] == "1. M-1 Sprachförderung in Kitas der Nordstadt"
    assert said.endswith("\n\n= status Sprachförderung")
    # The number answers the command the sentence became, exactly as if it had been typed.
    assert anna.say("1") == anna.say("status M-1")


def test_a_question_keeps_the_role_rules(town: App) -> None:
    stranger = Chat(town, "Max Mustermann")
    said = stranger.say("Was ist diese Woche beim Jugendamt fällig?")
    assert stranger.last is not None and stranger.last.outcome == "unregistered", said
    assert said == stranger.say("fällig 2 JA")
    # Claudia Berger reads (role read): a question is a read, so she gets the answer.
    claudia = Chat(town, "Claudia Berger")
    body, last = _split(claudia.say("Was ist überfällig?"))
    assert last == "= überfällig"
    assert body == claudia.say("überfällig")


# Words a free-text message may be made of: the reader's own vocabulary, names of the
# example municipality, and anything else.
_VOCABULARY = [
    "wie",
    "was",
    "wer",
    "wann",
    "welche",
    "ist",
    "sind",
    "steht",
    "läuft",
    "fällig",
    "überfällig",
    "meine",
    "ich",
    "mir",
    "Ziel",
    "Ziele",
    "Sitzung",
    "Agenda",
    "Verlauf",
    "Matrix",
    "diese",
    "nächste",
    "Woche",
    "bis",
    "Ende",
    "März",
    "in",
    "den",
    "nächsten",
    "30",
    "Tagen",
    "beim",
    "Jugendamt",
    "Amt",
    "51",
    "JA",
    "Nordstadt",
    "Frau",
    "Koch",
    "Sprachförderung",
    "M-12",
    "Z-3",
    "S-2",
    "erledigt",
    "melden",
    "neu",
    "zuweisen",
    "frist",
    "löschen",
    "setze",
    "markiere",
    "bitte",
    "danke",
    "hallo",
    "what",
    "is",
    "due",
    "overdue",
    "my",
    "goals",
    "done",
    "delete",
    "new",
    "assign",
    "70%",
    "?",
    "!",
    ",",
    ".",
]
_FREE_TEXT = st.one_of(
    st.lists(st.sampled_from(_VOCABULARY), min_size=2, max_size=12).map(" ".join),
    st.text(min_size=2, max_size=80),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_FREE_TEXT)
def test_no_free_text_message_changes_the_database(town: App, text: str) -> None:
    if town.dispatcher.registry.find(text.strip()) is not None:
        return  # a command, not free text
    anna = Chat(town, "Anna Schmidt", "hypothesis")
    anna.say("status")
    before = _digest(town)
    reply = anna.reply(text)
    assert reply.outcome in ("ok", "unknown", "ambiguous", "not_found", "refused", "usage"), (
        text,
        reply.plain(),
    )
    assert _digest(town) == before, text


def test_questions_on_a_municipality_the_operator_set_up_from_an_empty_database(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "regelkreis.toml", tmp_path / "data")
    town = open_bot(config, set_up(config))
    clara = town.chat(CLARA)
    # Nothing planned yet: the commands' own answers, and nothing named is found.
    for sentence, command in [
        ("Was ist überfällig?", "überfällig"),
        ("Welche Ziele gibt es?", "ziele"),
        ("Was habe ich offen?", "meine"),
        ("Was ist beim Jugendamt diese Woche fällig?", "fällig 2 JA"),
    ]:
        _asked(clara, sentence, command)
    assert clara.say("Wie steht es um die Sprachförderung?").startswith(
        "Diese Frage kann ich nicht beantworten. Am nächsten kommen:\n• status [bezug]"
    )
    town.replay(ROOMS + GOALS + MEASURES)
    for sentence, command in [
        ("Wie steht es um das Sprachcafé?", "status M-1"),
        ("Was ist beim Jugendamt fällig?", "fällig JA"),
        ("Was ist bis Ende März im Amt 51 fällig?", "fällig 124 JA"),
        ("Was läuft in der Nordstadt?", 'status "Nordstadt"'),
        ("Was hat Herr Müller offen?", 'status "Max Müller"'),
        ("Wie steht es um das Ziel Mehr Ganztagsplätze?", "ziel Z-2"),
    ]:
        _asked(clara, sentence, command)
    _asked(town.chat(MAX), "Was habe ich noch offen?", "meine")
    # The console of the command line reads a question the same way.
    status, out, err = cli(config, "chat", "--as", MAX, stdin="Was habe ich noch offen?\n")
    assert (status, err) == (0, ""), err
    # (What was sent to him meanwhile follows: the console shows his notifications.)
    assert out.startswith(town.chat(MAX).say("meine") + "\n\n= meine\n"), out
    town.app.engine.dispose()


# A few of the table on SQLite and on PostgreSQL (the `app` fixture): the reader's lookups
# and the commands' queries are the same on both.
ON_BOTH = [
    ("Wie ist der Stand?", "status"),
    ("Was ist diese Woche beim Jugendamt fällig?", "fällig 2 JA"),
    ("Was ist bis Ende März im Amt 40 fällig?", "fällig 124 SA"),
    ("Was ist beim Sozialamt überfällig?", "überfällig SOZ"),
    ("Wie steht es um die Kita-Bedarfsplanung?", "status M-7"),
    ("Wie steht es um die Sprachförderung?", "status Sprachförderung"),
    ("Wie steht es um den Mietspigel?", "status M-50"),
    ("Was läuft in der Nordstadt?", 'status "Nordstadt"'),
    ("Was macht Frau Koch?", 'status "Birgit Koch"'),
    ("Was habe ich noch offen?", "meine"),
    ("Wann tagt die Steuergruppe?", "sitzung"),
    ("Was ist bei M-12 passiert?", "verlauf M-12"),
    ("Wie steht es um das Ziel Bezahlbarer Wohnraum?", "ziel Z-7"),
    ("Was geht ab?", None),
]


def test_questions_on_sqlite_and_postgresql(app: App) -> None:
    anna = Chat(app, "Anna Schmidt")
    anna.say("status")
    before = _digest(app)
    for sentence, command in ON_BOTH:
        _asked(anna, sentence, command)
    assert _digest(app) == before
