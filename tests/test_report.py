"""The steering report (`bericht`, `regelkreis report`) from an EMPTY database set up on the
command line (tests/test_real_start.py's town): a goal, 17 overdue measures of the Jugendamt
(the list is cut at 15), a Schulamt measure the Jugendamt takes part in (an interface in the
Zielmatrix), a meeting with a decision. The HTML and the PDF's extracted text show what a
steering group reads: the overdue measures, the matrix, the decision, umlauts intact.

Friday 27 November 2026 in Berlin when the measures are made; the report is read six weeks
later, on Friday 8 January 2027.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from conftest import BERLIN
from pypdf import PdfReader

from handlers.report_data import ReportData, collect
from tests.test_real_start import (  # noqa: F401  (fixtures)
    CLARA,
    MAX,
    RITA,
    Town,
    any_town,
    cli,
    config_file,
    town,
)

LATER = datetime(2027, 1, 8, 10, 0, tzinfo=BERLIN)
DECISION = "Das Jugendamt legt für die Sprachförderung einen Ausweichplan vor"


def set_the_scene(town: Town) -> None:  # noqa: F811
    clara = town.chat(CLARA)
    steps = [
        'ziel neu "Bildung für alle Kinder" handlungsfeld:Bildung intervall:quartalsweise',
        *[
            f'neu "Sprachförderung Kita Nr. {n}" ziel:Z-1 ressort:JA frist:{n}.12.2026'
            for n in range(1, 18)
        ],
        'neu "Übergang Schule–Beruf begleiten" ziel:Z-1 ressort:SA beteiligt:JA frist:31.03.2027',
        'sitzung neu 30.11.2026 10:00 "Steuergruppe Bildung"',
    ]
    for typed in steps:
        reply = clara.reply(typed)
        assert reply.outcome == "ok", (typed, reply.plain())
    # The deadlines were 1–17 December; the report is read on 8 January.
    town.clock.now = LATER
    decided = clara.reply(f'beschluss S-1 "{DECISION}" M-1')
    assert decided.outcome == "ok", decided.plain()


def overdue_lines(text: str) -> list[str]:
    return re.findall(r"M-\d+ Sprachförderung Kita Nr\. \d+", text)


def test_the_report_in_html_lists_the_overdue_measures_the_matrix_and_the_decisions(
    town: Town,  # noqa: F811
) -> None:
    set_the_scene(town)
    rita = town.chat(RITA)  # readers may read the report
    reply = rita.reply("bericht html")
    assert reply.plain() == ("Steuerungsbericht: Steuerungsbericht-Musterstadt-2027-01-08.html")
    (attachment,) = reply.attachments
    assert attachment.name == "Steuerungsbericht-Musterstadt-2027-01-08.html"
    assert attachment.mime_type == "text/html"
    assert attachment.path.parent == town.app.config.data_dir / "generated"
    html = attachment.path.read_text(encoding="utf-8")
    assert "<h1>Steuerungsbericht Musterstadt</h1>" in html
    assert "Stand: 08.01.2027" in html
    # The Jugendamt's 17 overdue measures: the 15 longest overdue, then the line saying so.
    assert overdue_lines(html) == [f"M-{n} Sprachförderung Kita Nr. {n}" for n in range(1, 16)]
    assert "und 2 weitere — export xlsx ressort:JA" in html
    # The Zielmatrix: Z-1 is led 17 times by JA, once by SA, and JA takes part once.
    matrix = html[html.index('<section id="matrix"') :]
    row = re.search(r"<tr><td>Z-1 Bildung für alle Kinder</td>(.*?)</tr>", matrix)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["F17 B1", "F1", "1"]  # JA, SA, interfaces
    assert "M-18 Übergang Schule–Beruf begleiten (SA, JA)" in html
    # The last meeting's decision and its follow-up.
    assert "S-1 Steuergruppe Bildung am 30.11.2026" in html
    assert f"S-1/1 {DECISION}" in html
    assert "<td>M-1</td><td>offen</td>" in html
    # Print CSS: A4, each section on its own page.
    assert "size: A4" in html and "break-before: page" in html


def test_the_report_escapes_what_people_typed(town: Town) -> None:  # noqa: F811
    clara = town.chat(CLARA)
    assert clara.reply('ziel neu "Kinder <script>alert(1)</script> & Eltern"').outcome == "ok"
    html = town.chat(RITA).reply("bericht html").attachments[0].path.read_text()
    assert "<script>" not in html
    assert "Kinder &lt;script&gt;alert(1)&lt;/script&gt; &amp; Eltern" in html


def test_the_pdf_has_the_same_figures_and_keeps_its_umlauts(town: Town) -> None:  # noqa: F811
    set_the_scene(town)
    reply = town.chat(MAX).reply("bericht")
    assert reply.plain() == "Steuerungsbericht: Steuerungsbericht-Musterstadt-2027-01-08.pdf"
    (attachment,) = reply.attachments
    assert attachment.mime_type == "application/pdf"
    reader = PdfReader(io.BytesIO(attachment.path.read_bytes()))
    assert reader.pages[0].mediabox.width == 841.89  # A4 landscape, in points
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert text.startswith("Steuerungsbericht Musterstadt\nStand: 08.01.2027\n")
    assert "18 Maßnahmen, davon 18 offen · 17 überfällig" in text
    assert overdue_lines(text) == [f"M-{n} Sprachförderung Kita Nr. {n}" for n in range(1, 16)]
    assert "und 2 weitere — export xlsx ressort:JA" in text
    assert "Zielmatrix" in text and "F17 B1" in text
    assert "Übergang Schule–Beruf begleiten (SA, JA)" in text
    assert "S-1/1 Das Jugendamt legt für die Sprachförderung" in text
    assert "Beschlüsse der letzten Sitzung" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert all("DejaVuSans" in f for f in fonts), fonts


def test_a_report_for_a_department_a_goal_and_in_english(town: Town) -> None:  # noqa: F811
    set_the_scene(town)
    rita = town.chat(RITA)
    scoped = rita.reply("bericht html Schulamt")
    assert scoped.plain() == (
        "Steuerungsbericht Schulamt (SA): Steuerungsbericht-Musterstadt-SA-2027-01-08.html"
    )
    html = scoped.attachments[0].path.read_text(encoding="utf-8")
    assert "Bezug: Schulamt (SA)" in html
    assert overdue_lines(html) == []
    assert "Keine überfälligen Maßnahmen: Schulamt (SA)" in html
    goal = rita.reply("bericht Z-1")
    assert goal.attachments[0].name == "Steuerungsbericht-Musterstadt-Z-1-2027-01-08.pdf"
    assert rita.say("sprache en").startswith("I will answer you in English")
    english = rita.reply("report html")
    assert english.attachments[0].name == "Steering-report-Musterstadt-2027-01-08.html"
    text = english.attachments[0].path.read_text(encoding="utf-8")
    assert "Decisions of the last meeting" in text
    assert "and 2 more — export xlsx ressort:JA" in text


def test_bad_references_get_an_answer_not_a_traceback(town: Town) -> None:  # noqa: F811
    set_the_scene(town)
    rita = town.chat(RITA)
    assert rita.reply("bericht Nirgendwo").outcome == "not_found"
    assert rita.say("bericht M-1").startswith("M-1 ist eine Maßnahme")
    # A read may take the single closest name, and names it.
    assert rita.say("bericht html Schulamtt").startswith("Steuerungsbericht Schulamt (SA): ")


def test_the_report_data_round_trips_through_json(any_town: Town) -> None:  # noqa: F811
    # On SQLite and PostgreSQL: the counts, means and window functions of both.
    set_the_scene(any_town)
    with any_town.session() as session:
        data = collect(session, LATER.date(), municipality="Musterstadt")
    again = ReportData.from_json(data.to_json())
    assert again == data
    assert [d.key for d in data.departments] == ["JA", "SA"]
    ja = data.departments[0]
    assert (ja.counts.total, ja.counts.overdue, len(ja.overdue), ja.more_overdue) == (17, 17, 15, 2)


def test_regelkreis_report_writes_html_and_pdf_into_a_folder(
    town: Town,  # noqa: F811
    config_file: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    set_the_scene(town)
    out = tmp_path / "berichte"
    status, said, err = cli(config_file, "report", "--format", "html", "--out", str(out))
    assert (status, err) == (0, "")
    (written,) = said.splitlines()
    assert Path(written).parent == out
    assert Path(written).name.startswith("Steering-report-Musterstadt-")
    html = Path(written).read_text(encoding="utf-8")
    assert "Overdue measures: Jugendamt (JA)" in html
    status, said, err = cli(config_file, "report", "JA", "--out", str(out))
    assert status == 0 and said.strip().endswith(".pdf")
    assert PdfReader(said.strip()).pages
    status, said, err = cli(config_file, "report", "Nirgendwo", "--out", str(out))
    assert (status, said) == (2, "")
    assert err == "regelkreis: unknown department, goal or meeting 'Nirgendwo'\n"


def test_the_version_does_not_load_the_pdf_or_chart_libraries() -> None:
    # `regelkreis --version` answers before the database layer is loaded, and the command line
    # never loads the PDF and chart libraries until a command needs them.
    probe = (
        "import sys, bot.cli\n"
        "sys.stdout = open('/dev/null', 'w')\n"
        "bot.cli.main(['--version'])\n"
        "sys.stdout = sys.__stdout__\n"
        "heavy = [m for m in ('fpdf', 'matplotlib', 'jinja2', 'pypdf', 'sqlalchemy')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert said.stdout.strip() == "[]", said.stderr
    version = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("regelkreis ")
