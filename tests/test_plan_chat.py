"""The measure plan in chat, on the dispatcher's level: a file arrives (as an adapter hands
it to the conversation service), `import` previews it, `import bestätigen` applies it,
`import rückgängig` reverts it, `export …` posts a file.

Every test starts from an EMPTY database set up the way an operator does it (`db upgrade`,
`ressort add`, `person add` on the command line, then `chat --as` once per person), and then
the bot opened on it. Friday 27 November 2026, 10:00 in Berlin (the fixed clock).
"""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import Chat, FixedClock
from icalendar import Calendar
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.config import load_config
from handlers.conversation import Claim
from handlers.core import Incoming, Reply
from storage.models import (
    Measure,
    MeasureStatus,
    PendingImport,
    ProcessedMessage,
    ReceivedFile,
)

CLARA = "Clara Koch"  # koordination, admin
JONAS = "Jonas Wolf"  # koordination
RITA = "Rita Roth"  # lesen

PLAN = (
    "Nr.;Maßnahme;Federführung;Frist;Status;Fortschritt (%)\n"
    "1.1;Sprachförderung in Kitas;JA;31.03.2027;laufend;20\n"
    "1.2;Elterncafé;Amt 51;Q3/2027;geplant;0\n"
).encode()


def cli(config_file: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main([*args, "--config", str(config_file)])
    finally:
        sys.stdin = saved
    return status, out.getvalue()


def set_up(config_file: Path) -> None:
    """The operator's set-up on the command line, from an empty database."""
    steps = [
        ("db", "upgrade"),
        ("ressort", "add", "JA", "Jugendamt", "--alias", "Amt 51"),
        ("ressort", "add", "SA", "Schulamt"),
        ("person", "add", CLARA, "--rolle", "koordination", "--admin"),
        ("person", "add", JONAS, "--rolle", "koordination"),
        ("person", "add", RITA, "--rolle", "lesen"),
    ]
    for args in steps:
        status, out = cli(config_file, *args)
        assert status == 0, (args, out)
    for name in (CLARA, JONAS, RITA):
        status, out = cli(config_file, "chat", "--as", name, stdin="wer bin ich\n")
        assert status == 0 and f"Registriert als {name}" in out, out


class Town:
    """The bot on the operator's database; people at the console; files they send."""

    def __init__(self, config_file: Path, clock: FixedClock) -> None:
        self.config_file = config_file
        self.clock = clock
        self.app = bootstrap(load_config(config_file), clock=clock)
        self._n = 0

    def restart(self) -> None:
        """A new process on the same database (what `regelkreis run` would open)."""
        self.app.engine.dispose()
        self.app = bootstrap(load_config(self.config_file), clock=self.clock)

    def chat(self, person: str, room: str = "konsole") -> Chat:
        return Chat(self.app, person, room)

    def send_file(
        self,
        person: str,
        name: str,
        data: bytes | None,
        *,
        caption: str = "",
        room: str = "konsole",
        size: int | None = None,
    ) -> Reply | None:
        """What an adapter does with a file: the conversation service's one call."""
        self._n += 1
        incoming = Incoming("console", room, person, caption, message_id=f"file-{self._n}")
        return self.app.conversation.received_file(
            incoming, name, data, size=size if size is not None else len(data or b"")
        )

    def count(self, model: type[object]) -> int:
        with self.app.uows() as uow:
            return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def town(tmp_path: Path) -> Iterator[Town]:
    config_file = tmp_path / "regelkreis.toml"
    config_file.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    set_up(config_file)
    made = Town(config_file, FixedClock())
    yield made
    made.app.engine.dispose()


def test_a_file_with_the_caption_import_is_previewed_and_applied_on_confirmation(
    town: Town,
) -> None:
    preview = town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    assert preview is not None
    assert preview.plain().splitlines()[:2] == [
        "Vorschau: Import „plan.csv“",
        "2 neu, 0 geändert, 0 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
    ]
    assert "Die Vorschau gilt 30 Minuten, bis 10:30 Uhr" in preview.plain()
    assert town.count(Measure) == 0  # a preview changes nothing

    clara = town.chat(CLARA)
    applied = clara.say("import bestätigen")
    assert applied.splitlines()[:2] == [
        "Import „plan.csv“ übernommen",
        "2 neu angelegt, 0 geändert, 0 unverändert.",
    ]
    assert town.count(Measure) == 2
    status = clara.say("status M-1")
    assert "M-1 (Nr. 1.1) Sprachförderung in Kitas" in status
    assert "Status: laufend, 20 % · Frist 31.03.2027" in status
    assert "Jugendamt (JA)" in status
    # The confirmation is used up: a second one finds nothing waiting.
    assert clara.say("import bestätigen").startswith("Kein Import wartet auf Ihre Bestätigung")


def test_import_alone_takes_the_senders_last_file_of_the_last_10_minutes(town: Town) -> None:
    other = PLAN.replace(b"Elterncaf\xc3\xa9", b"Familienzentrum")
    assert town.send_file(CLARA, "alt.csv", other) is None  # a file alone is not answered
    town.clock.now += timedelta(minutes=11)
    clara = town.chat(CLARA)
    # 11 minutes later the file is too old for `import` alone.
    assert clara.say("import").startswith("Keine Datei von Ihnen in diesem Raum")
    assert town.send_file(CLARA, "plan.csv", PLAN) is None
    town.clock.now += timedelta(minutes=2)
    # Another coordinator's file in the same room, sent after Clara's, is not hers.
    town.send_file(JONAS, "jonas.csv", other + b"1.3;Dritte;JA;;;\n")
    assert clara.say("import").startswith("Vorschau: Import „plan.csv“")
    # Nor in another room.
    assert town.chat(CLARA, "anderer-raum").say("import").startswith("Keine Datei")
    assert town.chat(JONAS).say("import").startswith("Vorschau: Import „jonas.csv“")


def test_a_readers_file_and_import_are_refused_with_the_role_needed(town: Town) -> None:
    refused = town.send_file(RITA, "plan.csv", PLAN, caption="import")
    assert refused is not None and refused.outcome == "refused"
    assert "koordination" in refused.plain()
    assert town.count(PendingImport) == 0
    assert town.chat(RITA).reply("import bestätigen").outcome == "refused"
    assert town.count(Measure) == 0


def test_a_confirmation_from_another_sender_is_refused(town: Town) -> None:
    town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    jonas = town.chat(JONAS)
    assert jonas.say("import bestätigen").startswith(
        "Kein Import wartet auf Ihre Bestätigung in diesem Raum."
    )
    assert town.count(Measure) == 0
    # Nor from Clara in another room.
    assert town.chat(CLARA, "anderer-raum").say("import bestätigen").startswith("Kein Import")
    assert town.chat(CLARA).say("import bestätigen").startswith("Import „plan.csv“ übernommen")


def test_the_confirmation_survives_a_restart_and_expires_after_30_minutes(town: Town) -> None:
    town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    town.restart()
    town.clock.now += timedelta(minutes=20)
    assert town.chat(CLARA).say("import bestätigen").startswith("Import „plan.csv“ übernommen")

    edited = PLAN.replace(b";20\n", b";60\n")
    town.send_file(CLARA, "plan2.csv", edited, caption="import")
    town.restart()
    town.clock.now += timedelta(minutes=31)
    assert (
        town.chat(CLARA)
        .say("import bestätigen")
        .startswith("Die Vorschau ist älter als 30 Minuten")
    )
    assert town.count(PendingImport) == 0
    with town.app.uows() as uow:
        assert uow.session.get(Measure, 1).progress == 20  # type: ignore[union-attr]


def test_a_confirmation_after_the_database_changed_shows_the_new_preview(town: Town) -> None:
    town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    clara = town.chat(CLARA)
    assert clara.reply("import bestätigen").outcome == "ok"
    edited = PLAN.replace(b";20\n", b";60\n")
    preview = town.send_file(CLARA, "plan.csv", edited, caption="import")
    assert preview is not None and "0 neu, 1 geändert, 1 unverändert" in preview.plain()
    # Meanwhile someone reports on the same field in chat: the file's 60 now conflicts.
    assert town.chat(JONAS).reply("melden M-1 40").outcome == "ok"
    again = clara.reply("import bestätigen")
    assert again.outcome == "refused"
    text = again.plain()
    assert text.startswith("Seit der Vorschau haben sich die Daten geändert; nichts übernommen.")
    assert "1 Konflikte" in text or "1 Konflikt" in text
    with town.app.uows() as uow:
        assert uow.session.get(Measure, 1).progress == 40  # type: ignore[union-attr]
    # The new preview is the one waiting now: confirming it applies (the conflict is kept).
    assert clara.reply("import bestätigen").outcome == "ok"
    with town.app.uows() as uow:
        assert uow.session.get(Measure, 1).progress == 40  # type: ignore[union-attr]


def test_undo_reverts_the_last_chat_import(town: Town) -> None:
    town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    clara = town.chat(CLARA)
    clara.say("import bestätigen")
    assert town.count(Measure) == 2
    assert town.chat(RITA).reply("import rückgängig").outcome == "refused"
    assert "rückgängig gemacht" in clara.say("import rückgängig")
    assert town.count(Measure) == 0


def test_files_that_are_no_plan_or_too_large_are_answered_with_what_is_accepted(
    town: Town,
) -> None:
    refused = town.send_file(CLARA, "bericht.pdf", b"%PDF-1.4", caption="import")
    assert refused is not None
    assert refused.plain() == (
        "„bericht.pdf“ kann ich nicht importieren: ich lese Maßnahmenpläne als .xlsx, .ods "
        "oder .csv."
    )
    # An adapter does not download a file over the limit; `import` says the limit.
    big = town.send_file(CLARA, "riesig.xlsx", None, caption="import", size=25 * 1024 * 1024)
    assert big is not None and big.plain().startswith(
        "„riesig.xlsx“ ist zu groß (25 MB): ich nehme Dateien bis 20 MB an."
    )
    with town.app.uows() as uow:
        stored = uow.session.execute(select(ReceivedFile.path)).scalars().all()
    assert stored == ["", ""]  # nothing of either kept on disk
    unreadable = town.send_file(CLARA, "kaputt.xlsx", b"not a zip", caption="import")
    assert unreadable is not None and unreadable.outcome == "refused"
    assert "Traceback" not in unreadable.plain()


def test_export_posts_a_file_of_each_format(town: Town) -> None:
    town.send_file(CLARA, "plan.csv", PLAN, caption="import")
    clara = town.chat(CLARA)
    clara.say("import bestätigen")
    rita = town.chat(RITA)  # readers may export

    xlsx = rita.reply("export xlsx")
    assert xlsx.plain() == "Der Maßnahmenplan: massnahmenplan-musterstadt-2026-11-27.xlsx"
    (attachment,) = xlsx.attachments
    sheet = load_workbook(attachment.path).worksheets[0]
    titles = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert titles == ["Sprachförderung in Kitas", "Elterncafé"]

    ods = rita.reply("export ods")
    (attachment,) = ods.attachments
    assert attachment.path.suffix == ".ods"
    rows = CalamineWorkbook.from_path(str(attachment.path)).get_sheet_by_index(0).to_python()
    assert [r[2] for r in rows[1:]] == ["Sprachförderung in Kitas", "Elterncafé"]

    # With a reference: the department's measures (the alias names it).
    scoped = rita.reply("export csv Jugendamt")
    (attachment,) = scoped.attachments
    text = attachment.path.read_bytes().decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text), delimiter=";"))) == 3
    by_status = rita.reply("export csv geplant")
    text = by_status.attachments[0].path.read_bytes().decode("utf-8-sig")
    assert [r[2] for r in csv.reader(io.StringIO(text), delimiter=";")][1:] == ["Elterncafé"]

    ics = rita.reply("export ics")
    assert ics.outcome == "ok"
    assert "Zum Abonnieren: feeds/" in ics.plain()
    (attachment,) = ics.attachments
    calendar = Calendar.from_ical(attachment.path.read_bytes())
    assert len([c for c in calendar.walk("VEVENT")]) == 2

    assert rita.say("export pdf").startswith("„pdf“ ist kein Exportformat")
    assert rita.reply("export csv Nirgendwo").outcome == "not_found"


def test_a_status_sent_during_a_long_import_is_answered_before_it_ends(town: Town) -> None:
    lines = ["Nr.;Maßnahme;Federführung;Frist;Status;Fortschritt (%)"]
    lines += [f"{n};Maßnahme Nummer {n};JA;31.03.2027;laufend;{n % 100}" for n in range(20_000)]
    big = ("\n".join(lines) + "\n").encode()
    assert town.send_file(CLARA, "gross.csv", big, caption="import") is not None
    rita = town.chat(RITA)
    assert rita.reply("status").outcome == "ok"  # before: the overview of nothing

    answered: list[Reply] = []
    confirm = threading.Thread(
        target=lambda: answered.append(town.chat(CLARA).reply("import bestätigen"))
    )
    started = time.monotonic()
    confirm.start()
    time.sleep(0.2)  # the import is under way
    status = rita.reply("status")
    status_took = time.monotonic() - started
    still_importing = confirm.is_alive()
    confirm.join(120)
    import_took = time.monotonic() - started
    assert status.outcome == "ok"
    assert still_importing, f"the import took only {import_took:.1f} s; the test needs longer"
    assert status_took < import_took
    assert answered and answered[0].outcome == "ok", answered
    assert town.count(Measure) == 20_000
    with town.app.uows() as uow:
        assert uow.session.get(Measure, 1).status is MeasureStatus.IN_PROGRESS  # type: ignore[union-attr]


def _writer_taken(town: Town, within: float = 20.0) -> bool:
    """Wait until someone holds the SQLite database's write lock (the import has begun)."""
    database = town.app.engine.url.database
    assert database is not None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        probe = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
        time.sleep(0.01)
    return False


def test_a_platform_status_during_a_long_import_is_answered_before_it_ends(town: Town) -> None:
    # As Telegram and Matrix send it: with a claim, so that it is answered once. On SQLite
    # the claim is a write, and the import holds the one writer: the answer must not wait.
    lines = ["Nr.;Maßnahme;Federführung;Frist;Status;Fortschritt (%)"]
    lines += [f"{n};Maßnahme Nummer {n};JA;31.03.2027;laufend;{n % 100}" for n in range(20_000)]
    big = ("\n".join(lines) + "\n").encode()
    assert town.send_file(CLARA, "gross.csv", big, caption="import") is not None

    answered: list[Reply] = []
    ended: list[float] = []

    def import_it() -> None:
        answered.append(town.chat(CLARA).reply("import bestätigen"))
        ended.append(time.monotonic())

    confirm = threading.Thread(target=import_it)
    confirm.start()
    assert _writer_taken(town), "the import never took SQLite's write lock"
    claim = Claim("console", "rita-status-1", "konsole", town.clock())
    status = town.app.conversation.answer(
        Incoming("console", "konsole", RITA, "status", message_id="rita-status-1"), claim
    )
    status_at = time.monotonic()
    confirm.join(120)
    assert status is not None and status.outcome == "ok"
    # Answered while the import still ran, not just after its commit (seconds, not a race).
    assert ended and ended[0] - status_at > 0.5, f"answered {ended[0] - status_at:.2f} s before"
    assert answered and answered[0].outcome == "ok", answered
    # The claim lands once the import is done: the same message again is not answered.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with town.app.uows() as uow:
            if uow.session.execute(
                select(ProcessedMessage).where(ProcessedMessage.message_id == "rita-status-1")
            ).first():
                break
        time.sleep(0.05)
    again = Claim("console", "rita-status-1", "konsole", town.clock())
    assert (
        town.app.conversation.answer(
            Incoming("console", "konsole", RITA, "status", message_id="rita-status-1"), again
        )
        is None
    )


def test_the_reports_overdue_hint_works_as_typed_export_with_conditions(town: Town) -> None:
    """The steering report cuts a department's overdue list with "export xlsx ressort:JA":
    that command, typed as shown, posts the department's plan; conditions go together."""
    clara = town.chat(CLARA)
    for typed in (
        'neu "Elternabende planen" ressort:JA frist:31.12.2027',
        'neu "Schulhof begrünen" ressort:SA frist:31.12.2027',
    ):
        assert clara.reply(typed).outcome == "ok", typed

    reply = clara.reply("export csv ressort:JA")
    assert reply.outcome == "ok", reply.plain()
    (attachment,) = reply.attachments
    text = attachment.path.read_bytes().decode("utf-8-sig")
    assert "Elternabende planen" in text and "Schulhof begrünen" not in text
    assert attachment.name.endswith(".csv")

    nothing = clara.reply("export csv ressort:JA status:erledigt").attachments[0]
    assert "Elternabende" not in nothing.path.read_bytes().decode("utf-8-sig")

    wrong = clara.reply("export csv status:bald")
    assert wrong.outcome == "usage"
    assert "„bald“ ist kein Status" in wrong.plain()
