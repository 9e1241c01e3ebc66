"""The console chat as an operator runs it: `regelkreis chat --demo` with commands piped in.

Each test runs the real program in its own empty working directory (the SQLite file goes to
./data there). The console uses today's real date, so dates in the expected replies are
computed from today in Musterstadt's time zone; the example data is relative to that day.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_dialogue_read import OVERVIEW_JA, OVERVIEW_MUSTERSTADT

_NEXT_TO_PYTHON = Path(sys.executable).parent / "regelkreis"
REGELKREIS = str(_NEXT_TO_PYTHON) if _NEXT_TO_PYTHON.exists() else shutil.which("regelkreis")


def today() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def due(days: int) -> str:
    return f"Frist {today() + timedelta(days=days):%d.%m.%Y}"


def chat(cwd: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `regelkreis chat ARGS` in `cwd` with one command per line on standard input."""
    assert REGELKREIS is not None, "the regelkreis script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGELKREIS_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [REGELKREIS, "chat", *args],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def replies(*texts: str) -> str:
    """What the console prints for these replies: each one followed by an empty line."""
    return "".join(f"{text}\n\n" for text in texts)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "gemeinde"
    directory.mkdir()
    return directory


def test_status_faellig_and_an_unknown_command_as_the_coordinator(workdir: Path) -> None:
    run = chat(workdir, ["status", "fällig", "# ein Kommentar", "", "stauts"], "--demo")
    assert run.returncode == 0, run.stderr
    due_14 = "\n".join(
        [
            "Fällig in 14 Tagen (6)",
            f"🟢 M-48 Kita-Datenbericht für die Steuergruppe — BB, 90 %, {due(1)}",
            f"🔴 M-42 Präventionsberatung bei Mietschulden — SOZ, 40 %, {due(3)}",
            f"🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, {due(5)}",
            f"🟡 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 70 %, {due(6)}",
            f"🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, {due(9)}",
            "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen — KA, 85 %, "
            f"{due(13)}",
        ]
    )
    # Comments and empty lines get no reply; every reply ends with an empty line.
    assert run.stdout == replies(
        OVERVIEW_MUSTERSTADT,
        due_14,
        "Den Befehl „stauts“ kenne ich nicht. Meinten Sie: status?\nAlle Befehle: hilfe",
    )
    # The example municipality lives in ./data of the working directory.
    assert (workdir / "data" / "regelkreis.db").is_file()


def test_melden_and_zuweisen_print_the_reply_then_the_notice_to_the_assignee(
    workdir: Path,
) -> None:
    run = chat(
        workdir, ["melden M-1 85% Träger gefunden", "zuweisen M-8 an Markus Becker"], "--demo"
    )
    assert run.returncode == 0, run.stderr
    m8 = f"⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen — JA, 0 %, {due(120)}"
    assert run.stdout == replies(
        "\n".join(
            [
                "Bericht zu M-1 gespeichert",
                f"🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 85 %, {due(9)}",
                "„Träger gefunden“",
            ]
        ),
        "\n".join(["M-8 → Markus Becker", m8, "Benachrichtigung ist unterwegs."]),
        # The notice: the recipient first, then the message with its quick answers.
        "\n".join(
            [
                "→ Markus Becker:",
                "📌 Ihnen wurde M-8 zugewiesen (von Anna Schmidt):",
                m8,
                "Bericht mit: melden M-8 <status> <NN%> <notiz>",
                "↳ ✅ erledigt M-8 · 🟢 melden M-8 laufend · 🟡 melden M-8 verzögert",
            ]
        ),
    )
    # The next run works on the same database: the report is in the history, the notice
    # was delivered once and is not printed again.
    again = chat(workdir, ["verlauf M-1", "status M-8"])
    assert again.returncode == 0, again.stderr
    history = again.stdout.split("\n\n")[0].splitlines()
    assert history[0] == "Verlauf M-1 Sprachförderung in Kitas der Nordstadt"
    assert history[1].startswith(f"{today():%d.%m.%Y} ")
    assert history[1].endswith(" Anna Schmidt: 80 % → 85 % — „Träger gefunden“")
    assert "→ Markus Becker:" not in again.stdout
    assert "Verantwortlich: Markus Becker" in again.stdout.splitlines()


def test_a_department_member_in_the_department_room(workdir: Path) -> None:
    run = chat(
        workdir,
        ["status", "melden M-3 50%", "erledigt M-28", "neu Test", "wer bin ich"],
        "--demo",
        "--as",
        "Markus Becker",
        "--room",
        "jugendamt",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == replies(
        OVERVIEW_JA,
        "Bericht zu M-3 — Ihr Ressort JA ist an M-3 nicht beteiligt; das dürfen koordination "
        "oder beteiligte Ressorts.",
        "„erledigt“ für M-28 — Ihr Ressort JA ist an M-28 beteiligt, federführend ist UA; "
        "das dürfen koordination oder das federführende Ressort.",
        "„neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort.",
        "\n".join(
            [
                "Wer bin ich",
                "Chat-ID: console:Markus Becker",
                "Registriert als Markus Becker — Jugendamt (JA), Rolle ressort",
                "Raum: console:jugendamt",
                "Raum verknüpft mit Jugendamt (JA)",
            ]
        ),
    )


def test_as_accepts_a_unique_part_of_a_name(workdir: Path) -> None:
    run = chat(workdir, ["meine"], "--demo", "--as", "becker")
    assert run.returncode == 0, run.stderr
    assert run.stdout == replies(
        "\n".join(
            [
                "Ihre offenen Maßnahmen (3)",
                f"🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, {due(5)}",
                f"🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, {due(9)}",
                "🟡 M-17 Begleitung von Jugendlichen beim Übergang in Ausbildung — JA, 40 %, "
                f"{due(60)}",
            ]
        )
    )


def test_as_an_unknown_person_exits_with_status_2_and_says_who_is_registered(
    workdir: Path,
) -> None:
    run = chat(workdir, ["status"], "--demo", "--as", "Niemand")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(
        "regelkreis: no registered person 'Niemand'. Registered: Anna Schmidt, Jonas Weber, "
        "Markus Becker,"
    )
    # A part of a name that fits several people is not a guess either.
    ambiguous = chat(workdir, ["status"], "--as", "an")
    assert ambiguous.returncode == 2
    assert ambiguous.stdout == ""
    assert ambiguous.stderr.startswith("regelkreis: no registered person 'an'. Registered: ")


def test_without_example_data_the_operator_is_admin(workdir: Path) -> None:
    run = chat(
        workdir,
        ["wer bin ich", "status", 'person neu "Olga Operator" rolle:koordination console:operator'],
    )
    assert run.returncode == 0, run.stderr
    assert "noch keine Person registriert" in run.stderr
    assert run.stdout == replies(
        "\n".join(
            [
                "Wer bin ich",
                "Chat-ID: console:operator",
                "Nicht registriert.",
                "Administration: ja",
                "Raum: console:konsole",
                "Raum nicht verknüpft",
            ]
        ),
        "„status“ braucht eine registrierte Person. Sie sind Administration, aber nicht als "
        'Person registriert. Registrieren mit: person neu "<name>" rolle:koordination '
        "console:operator",
        "Person registriert\nOlga Operator — –, koordination\nconsole:operator",
    )
    # Next time the console acts as the registered person.
    after = chat(workdir, ["wer bin ich"])
    assert after.stdout.splitlines()[2] == "Registriert als Olga Operator — –, Rolle koordination"


def test_from_an_empty_database_the_notice_is_printed_for_its_recipient_and_no_log_line(
    workdir: Path,
) -> None:
    """Console only: the assignment notice for a person who never opened the console is
    printed with its recipient, right after the reply, and no log line comes between."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGELKREIS_")}
    for args in (
        ["ressort", "add", "JA", "Jugendamt"],
        ["person", "add", "Clara Koch", "--rolle", "koordination", "--admin"],
        ["person", "add", "Jens Jugend", "--ressort", "JA", "--rolle", "ressort"],
    ):
        assert (
            subprocess.run(
                [REGELKREIS, *args], cwd=workdir, env=env, capture_output=True, check=False
            ).returncode
            == 0
        ), args
    run = chat(
        workdir,
        ['neu "Spielplatz Lindenau" ressort:JA verantwortlich:"Jens Jugend"'],
        "--as",
        "Clara Koch",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == replies(
        "Angelegt: M-1\n⚪ M-1 Spielplatz Lindenau — JA, 0 %, ohne Frist\n"
        "Jens Jugend wird benachrichtigt.",
        "→ Jens Jugend:\n📌 Ihnen wurde M-1 zugewiesen (von Clara Koch):\n"
        "⚪ M-1 Spielplatz Lindenau — JA, 0 %, ohne Frist\n"
        "Bericht mit: melden M-1 <status> <NN%> <notiz>\n"
        "↳ ✅ erledigt M-1 · 🟢 melden M-1 laufend · 🟡 melden M-1 verzögert",
    )
    assert "WARNING" not in run.stderr and "INFO" not in run.stderr, run.stderr
