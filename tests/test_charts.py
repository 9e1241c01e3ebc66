"""`diagramm [bezug]` from an empty database set up on the command line (tests/test_real_start.py's
town): the PNG decodes at its stated size, and the figures drawn on its Axes are the town's."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import matplotlib.image
import pytest
from matplotlib.container import BarContainer

from handlers.charts import build_figure
from storage.lookup import Kind, Match
from tests.test_real_start import (  # noqa: F401  (fixtures)
    CLARA,
    LEA,
    MAX,
    RITA,
    Town,
    any_town,
    config_file,
    town,
)

STORY = [
    (CLARA, 'ziel neu "Mehr Kita-Plätze"'),
    (CLARA, 'ziel neu "Sprachförderung ausbauen"'),
    (CLARA, 'neu "Kita Nordstadt" ressort:JA ziel:Z-1'),
    (CLARA, 'neu "Kita Weststadt" ressort:JA ziel:Z-1'),
    (CLARA, 'neu "Sprachcafé" ressort:JA ziel:Z-2 beteiligt:SA'),
    (CLARA, 'neu "Lesepaten" ressort:SA ziel:Z-2'),
    (CLARA, 'neu "Schulweg" ressort:SA'),
]


def tell(town: Town, steps: list[tuple[str, str]]) -> None:  # noqa: F811
    for person, typed in steps:
        reply = town.chat(person).reply(typed)
        assert reply.outcome == "ok", (typed, reply.plain())


def png_size(data: bytes) -> tuple[int, int]:
    pixels = matplotlib.image.imread(BytesIO(data), format="png")
    return pixels.shape[1], pixels.shape[0]


def bars(figure: object, lang_status: str) -> list[float]:
    axes = figure.axes[0]  # type: ignore[attr-defined]
    for container in axes.containers:
        if isinstance(container, BarContainer) and container.get_label() == lang_status:
            horizontal = container.orientation == "horizontal"
            return [p.get_width() if horizontal else p.get_height() for p in container.patches]
    return []


def test_a_chart_of_an_empty_municipality_says_there_is_nothing_yet(town: Town) -> None:  # noqa: F811
    reply = town.chat(RITA).reply("diagramm")
    assert reply.attachments == []
    assert reply.plain() == (
        "Noch keine Maßnahmen: Das Diagramm zeigt den Status der Maßnahmen, sobald es welche gibt."
    )


def test_status_per_department_and_per_goal(any_town: Town) -> None:  # noqa: F811
    town = any_town  # noqa: F811  (the same story on both databases)
    tell(town, STORY)
    tell(town, [(MAX, "melden M-1 laufend 30%"), (LEA, "melden M-4 gefährdet 10%")])

    reply = town.chat(RITA).reply("diagramm")
    assert reply.outcome == "ok"
    (image,) = reply.attachments
    assert image.is_image and image.mime_type == "image/png"
    assert image.name == "Diagramm-2026-11-27.png"
    assert image.width is not None and image.width >= 1080
    assert png_size(image.path.read_bytes()) == (image.width, image.height)
    assert image.path.parent == town.app.config.data_dir / "generated"
    assert reply.plain() == (
        "Status der Maßnahmen nach Ressort\n"
        "5 Maßnahmen in 2 Ressorts (nach Federführung): 3 geplant, 1 laufend, 1 gefährdet."
    )

    with town.session() as session:
        figure, data = build_figure(session, None, "de", town.clock.now.date())
        assert data.labels == ["JA", "SA"]
        assert bars(figure, "geplant") == [2, 1]
        assert bars(figure, "laufend") == [1, 0]
        assert bars(figure, "gefährdet") == [0, 1]

    ja = town.chat(MAX).reply("diagramm JA")
    (image,) = ja.attachments
    assert image.name == "Diagramm-JA-2026-11-27.png"
    assert png_size(image.path.read_bytes()) == (image.width, image.height)
    assert ja.plain().splitlines()[1] == (
        "Jugendamt (JA): 3 Maßnahmen (federführend oder beteiligt) in 2 Zielen: "
        "2 geplant, 1 laufend."
    )
    with town.session() as session:
        match = Match(Kind.DEPARTMENT, 2, "SA")
        figure, data = build_figure(session, match, "en", town.clock.now.date())
        # The Schulamt leads M-4 (Z-2) and M-5 (no goal) and takes part in M-3 (Z-2).
        assert data.labels == ["Z-2 Sprachförderung ausbauen", "no goal"]
        assert bars(figure, "planned") == [1, 1]
        assert bars(figure, "at risk") == [1, 0]
        axes = figure.axes[0]
        assert axes.get_xlabel() == "Measures"
        assert [t.get_text() for t in figure.legends[0].get_texts()] == ["planned", "at risk"]


def test_a_goals_progress_over_the_weeks(town: Town) -> None:  # noqa: F811
    tell(town, STORY)
    start = town.clock.now
    tell(town, [(MAX, "melden M-1 laufend 20%")])
    town.clock.now = start + timedelta(days=7)
    tell(town, [(MAX, "melden M-1 40%"), (MAX, "melden M-2 laufend 10%")])
    town.clock.now = start + timedelta(days=14)
    tell(town, [(MAX, "melden M-2 50%")])

    reply = town.chat(RITA).reply("diagramm Z-1")
    (image,) = reply.attachments
    assert image.name == "Diagramm-Z-1-2026-12-11.png"
    assert png_size(image.path.read_bytes()) == (image.width, image.height)
    # Sunday 29.11.: M-1 20 %, M-2 0 %; Sunday 6.12.: 40 % and 10 %; today: 40 % and 50 %.
    assert reply.plain().splitlines()[1] == (
        "Z-1 Mehr Kita-Plätze: durchschnittlicher Fortschritt der 2 Maßnahmen: 45 % am "
        "11.12.2026 (am 29.11.2026: 10 %)."
    )
    with town.session() as session:
        goal = Match(Kind.GOAL, 1, "Mehr Kita-Plätze")
        figure, _data = build_figure(session, goal, "en", town.clock.now.date())
        (line,) = figure.axes[0].get_lines()
        assert list(line.get_ydata()) == [10.0, 25.0, 45.0]
        assert figure.axes[0].get_ylabel() == "Progress (%)"

    assert town.chat(RITA).say("diagramm Z-9") == (
        "„Z-9“ habe ich nicht gefunden.\nDie höchste Nummer ist Z-2."
    )
    empty = town.chat(CLARA)
    tell(town, [(CLARA, 'ziel neu "Ohne Maßnahmen"')])
    assert empty.say("diagramm Z-3") == (
        "Z-3 Ohne Maßnahmen hat noch keine Maßnahmen: kein Fortschritt zu zeigen."
    )


def test_an_indicator_against_its_target_path(town: Town) -> None:  # noqa: F811
    tell(town, STORY)
    tell(
        town,
        [
            (
                CLARA,
                'kennzahl neu "Betreuungsquote U3" ziel:Z-1 einheit:% richtung:steigend '
                "basis:30 basisdatum:01.01.2026 zielwert:40 bis:31.12.2027",
            ),
            (CLARA, "kennzahl K-1 31 01.04.2026"),
            (CLARA, "kennzahl K-1 33,5 01.10.2026"),
        ],
    )
    reply = town.chat(RITA).reply("diagramm K-1")
    (image,) = reply.attachments
    assert image.name == "Diagramm-K-1-2026-11-27.png"
    assert png_size(image.path.read_bytes()) == (image.width, image.height)
    caption = reply.plain().splitlines()[1]
    assert caption.startswith("K-1 Betreuungsquote U3: zuletzt 33,5 % am 01.10.2026; Zielpfad")
    assert "Ziel 40 % bis 31.12.2027" in caption
    with town.session() as session:
        figure, _data = build_figure(
            session, Match(Kind.INDICATOR, 1, "x"), "en", town.clock.now.date()
        )
        path, target, values = figure.axes[0].get_lines()
        assert list(values.get_ydata()) == [31.0, 33.5]
        assert values.get_marker() == "o"
        assert list(path.get_ydata()) == [30.0, 40.0] and path.get_linestyle() == "--"
        assert list(target.get_ydata()) == [40.0]
        labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
        assert labels == ["Target path", "Target", "Values"]


@pytest.mark.parametrize("typed", ["chart", "chart JA"])
def test_an_english_reader_gets_english_labels(town: Town, typed: str) -> None:  # noqa: F811
    tell(town, STORY)
    rita = town.chat(RITA)
    assert rita.reply("sprache en").outcome == "ok"
    reply = rita.reply(typed)
    (image,) = reply.attachments
    assert image.name.startswith("Chart")
    assert "measures" in reply.plain()


def test_a_bad_reference_gets_the_closest_matches(town: Town) -> None:  # noqa: F811
    tell(town, STORY)
    # A typo of a name is a reading: the closest department is drawn.
    typo = town.chat(RITA).reply("diagramm Jugendammt")
    assert typo.attachments[0].name == "Diagramm-JA-2026-11-27.png"
    # A fragment of one goal's title names it.
    assert town.chat(RITA).reply("diagramm Kita").attachments[0].name.startswith("Diagramm-Z-1")
    unknown = town.chat(RITA).reply("diagramm Wasserwerk")
    assert (unknown.outcome, unknown.plain()) == (
        "not_found",
        "„Wasserwerk“ habe ich nicht gefunden.",
    )
    measure = town.chat(RITA).reply("diagramm M-1")
    assert (measure.outcome, measure.plain(), measure.attachments) == (
        "refused",
        "M-1 ist eine Maßnahme, kein Ziel und keine Kennzahl und kein Ressort.",
        [],
    )
