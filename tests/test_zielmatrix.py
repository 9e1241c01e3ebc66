"""`matrix`: the Zielmatrix from an empty database — goals × departments, measures led (L) and
taken part in (B), the interfaces; lines of at most 40 characters for a phone, at most ten
goals, the whole matrix as an XLSX sheet."""

from __future__ import annotations

import io
import zipfile

from handlers.monitoring import zielmatrix
from handlers.zielmatrix import matrix_sheet, matrix_xlsx
from tests import test_real_start
from tests.test_real_start import (
    ASSIGNMENTS,
    CLARA,
    GOALS,
    MEASURES,
    RITA,
    ROOMS,
    Town,
)

any_town = test_real_start.any_town  # the fixture: an operator's empty database


def test_the_zielmatrix_of_the_first_goals_and_measures(any_town: Town) -> None:
    # Z-1 has M-2 (SA leads); Z-2 M-1 (JA leads, SA takes part: an interface); Z-3 M-4
    # (assigned to SA, JA and SA take part: SA leading is no interface of its own, JA is)
    # and M-5 (assigned to SP). M-3 has no goal and is in no row.
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS)
    rita = town.chat(RITA)
    reply = rita.say("matrix")
    assert reply == "\n".join(
        [
            "🎯 Zielmatrix: 3 Ziele",
            "L führt · B beteiligt · ⇄ Schnittstellen",
            "Z-1 Bildungsgerechtigkeit",
            "  SA 1L",
            "Z-2 Mehr Ganztagsplätze",
            "  JA 1L · SA 1B · ⇄1",
            "Z-3 Lebenswerte Quartiere",
            "  JA 1B · SA 1L · SP 1L · ⇄1",
            "",
            "Schnittstellen (2)",
            "M-1 Sprachcafé für Eltern JA+SA",
            "M-4 Schulwegsicherung Nordstadt SA+JA",
        ]
    )
    assert all(len(line) <= 40 for line in reply.splitlines())
    assert rita.say("matrix wohnen") == "\n".join(
        [
            "🎯 Zielmatrix Wohnen: 1 Ziel",
            "L führt · B beteiligt · ⇄ Schnittstellen",
            "Z-3 Lebenswerte Quartiere",
            "  JA 1B · SA 1L · SP 1L · ⇄1",
            "",
            "Schnittstellen (1)",
            "M-4 Schulwegsicherung Nordstadt SA+JA",
        ]
    )
    assert rita.say("matrix xyzzy") == "„xyzzy“ habe ich nicht gefunden."
    english = town.chat("Rita Roth", "english")
    english.say("sprache en")
    assert english.say("matrix").splitlines()[:4] == [
        "🎯 Goal matrix: 3 goals",
        "L lead · P participating · ⇄ interfaces",
        "Z-1 Bildungsgerechtigkeit",
        "  SA 1L",
    ]

    with town.app.uows() as uow:
        sheet = matrix_sheet(zielmatrix(uow.session), "de")
        data = matrix_xlsx(uow.session, "de")
    assert sheet.headers == [
        "Ziel",
        "Titel",
        "Handlungsfeld",
        "JA federführend",
        "JA beteiligt",
        "SA federführend",
        "SA beteiligt",
        "SP federführend",
        "SP beteiligt",
        "Maßnahmen",
        "Schnittstellen",
    ]
    assert sheet.rows == [
        ["Z-1", "Bildungsgerechtigkeit", "Bildung", None, None, 1, None, None, None, 1, 0],
        ["Z-2", "Mehr Ganztagsplätze", "Bildung", 1, None, None, 1, None, None, 1, 1],
        ["Z-3", "Lebenswerte Quartiere", "Wohnen", None, 1, 1, None, 1, None, 2, 1],
    ]
    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        assert "xl/worksheets/sheet1.xml" in workbook.namelist()


def test_more_than_ten_goals_are_cut_with_a_line_saying_where_the_rest_is(
    any_town: Town,
) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS)
    town.replay(
        [
            (CLARA, "konsole", f'ziel neu "Ein sehr langer Zieltitel Nummer {n} für das Telefon"')
            for n in range(4, 14)
        ]
    )
    reply = town.chat(RITA).say("matrix")
    lines = reply.splitlines()
    assert all(len(line) <= 40 for line in lines), [x for x in lines if len(x) > 40]
    assert lines[0] == "🎯 Zielmatrix: 13 Ziele"
    assert lines[2 * 10 : 2 * 10 + 4] == [
        "Z-10 Ein sehr langer Zieltitel Nummer 1…",
        "  keine Maßnahmen",
        "… 3 weitere: matrix xlsx, bericht",
        "",
    ]
    assert "Z-11" not in reply


def test_matrix_xlsx_posts_the_whole_matrix_as_a_file(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS)
    reply = town.chat(RITA).reply("matrix xlsx")
    assert reply.plain() == "Zielmatrix: Zielmatrix-2026-11-27.xlsx"
    (attachment,) = reply.attachments
    assert attachment.name == "Zielmatrix-2026-11-27.xlsx"
    assert attachment.path.parent.name == "generated"
    assert attachment.path.read_bytes()[:2] == b"PK"
