"""`bericht` on every platform, from an empty database set up on the command line: the PDF
posted in an encrypted Matrix room (the file encrypted, its text read back), as a Telegram
document (`sendDocument`), and on the console (the path printed, the file under
data_dir/generated). A report runs beside the room's order: a `status` sent while it is
being made is answered first.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
from pathlib import Path
from typing import Any

import nio
import pytest
from nio.crypto import decrypt_attachment
from pypdf import PdfReader

import handlers.report_pdf
from handlers.core import Incoming, Language
from handlers.report_data import ReportData
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.telegram_wire import texts
from tests.test_matrix import User
from tests.test_matrix import running_bot as running_matrix_bot
from tests.test_real_start import RITA as RITA_CONSOLE
from tests.test_real_start import Town as ConsoleTown
from tests.test_real_start import cli
from tests.test_real_start import config_file as config_file
from tests.test_real_start import town as console_town  # noqa: F401  (fixture)
from tests.test_real_start_matrix import CLARA as MATRIX_CLARA
from tests.test_real_start_matrix import RITA as MATRIX_RITA
from tests.test_real_start_matrix import Town as MatrixTown
from tests.test_real_start_matrix import accounts  # noqa: F401  (fixture)
from tests.test_real_start_matrix import town as matrix_town  # noqa: F401  (fixture)
from tests.test_real_start_telegram import CLARA as TELEGRAM_CLARA
from tests.test_real_start_telegram import COORDINATION_GROUP
from tests.test_real_start_telegram import RITA as TELEGRAM_RITA
from tests.test_real_start_telegram import Town as TelegramTown
from tests.test_real_start_telegram import running_bot as running_telegram_bot
from tests.test_real_start_telegram import town as telegram_town  # noqa: F401  (fixture)

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
FILE_NAME = "Steuerungsbericht-Musterstadt-2026-11-27.pdf"
GOAL = 'ziel neu "Frühe Bildung für alle Kinder" handlungsfeld:Bildung'
MEASURE = 'neu "Sprachförderung in Kitas" ziel:Z-1 ressort:JA frist:31.03.2027'


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_bericht_in_an_encrypted_matrix_room_posts_the_encrypted_pdf(
    matrix_town: MatrixTown,  # noqa: F811
) -> None:
    town = matrix_town

    async def scenario() -> None:
        async with User(town, MATRIX_CLARA) as clara, User(town, MATRIX_RITA) as rita:
            bot = town.bot.user_id
            room = await clara.create_room(invite=[bot, MATRIX_RITA], encrypted=True)
            async with running_matrix_bot(town):
                await rita.join(room)
                await clara.wait_joined(room, bot, MATRIX_RITA)
                assert "Wer bin ich" in await clara.ask(room, "!wer bin ich")
                assert "Z-1" in await clara.ask(room, f"!{GOAL}")
                assert "M-1" in await clara.ask(room, f"!{MEASURE}")
                answer = await rita.ask(room, "!bericht")
                assert answer == f"Steuerungsbericht: {FILE_NAME}"
                deadline = asyncio.get_running_loop().time() + 20
                files: list[Any] = []
                while not files:
                    got = await rita.bot_messages(room)
                    files = [e for e in got if isinstance(e, nio.RoomEncryptedFile)]
                    assert asyncio.get_running_loop().time() < deadline, "no file came"
                (event,) = files
                assert event.body == FILE_NAME
                downloaded = await rita.client.download(event.url)
                data = decrypt_attachment(
                    downloaded.body, event.key["k"], event.hashes["sha256"], event.iv
                )
                assert data.startswith(b"%PDF")
                text = pdf_text(data)
                assert "Steuerungsbericht Musterstadt" in text
                assert "M-1 Sprachförderung in Kitas" not in text  # not overdue
                assert "Z-1 Frühe Bildung für alle Kinder" in text

    asyncio.run(scenario())


def test_bericht_in_a_telegram_group_is_a_document_and_a_status_meanwhile_comes_first(
    telegram_town: TelegramTown,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    town = telegram_town
    group = town.groups[COORDINATION_GROUP]
    # The PDF is held back until the status has been answered: the report runs beside the
    # room's order, so the status must not wait for it.
    release = threading.Event()
    rendering = threading.Event()
    render = handlers.report_pdf.render_pdf

    def held_back(data: ReportData, lang: Language) -> bytes:
        rendering.set()
        assert release.wait(20), "the status was not answered while the report was made"
        return render(data, lang)

    monkeypatch.setattr(handlers.report_pdf, "render_pdf", held_back)

    async def scenario() -> None:
        async with running_telegram_bot(town):
            assert "Z-1" in await town.say_text(TELEGRAM_CLARA, group, f"/{GOAL}")
            assert "M-1" in await town.say_text(TELEGRAM_CLARA, group, f"/{MEASURE}")
            before = len(town.server.calls_of("senddocument", ok=True))
            town.server.send_text(town.users[TELEGRAM_RITA], group, "/bericht")
            await asyncio.to_thread(rendering.wait, 20)
            status = await town.say_text(TELEGRAM_RITA, group, "/status")
            assert "Überblick" in status or "📊" in status, status
            assert not town.server.calls_of("senddocument", ok=True)[before:]
            release.set()
            messages = await town.server.next_bot_messages(group, count=2)
            assert f"Steuerungsbericht: {FILE_NAME}" in texts(messages)
            documents = town.server.calls_of("senddocument", ok=True)[before:]
            assert len(documents) == 1
            sent = documents[0].result["document"]
            assert sent["file_name"] == FILE_NAME
            assert sent["mime_type"] == "application/pdf"
            assert sent["file_size"] > 10_000

    asyncio.run(scenario())


def test_bericht_on_the_console_prints_the_path_of_the_file(
    console_town: ConsoleTown,  # noqa: F811
    config_file: Path,
) -> None:
    clara = console_town.chat("Clara Koch")
    assert clara.reply(GOAL).outcome == "ok"
    status, said, err = cli(config_file, "chat", "--as", RITA_CONSOLE, stdin="bericht\n")
    assert (status, err) == (0, "")
    lines = said.splitlines()
    # The command line runs on the wall clock: today's date, whatever it is.
    assert re.fullmatch(
        r"Steuerungsbericht: Steuerungsbericht-Musterstadt-[\d-]{10}\.pdf", lines[0]
    )
    assert lines[1].startswith("📎 ")
    path = Path(lines[1].removeprefix("📎 "))
    generated = console_town.app.config.data_dir / "generated"
    assert path.parent == generated.resolve() or path.parent == generated
    assert path.name.startswith("bericht-") and path.suffix == ".pdf"
    assert "Z-1 Frühe" in pdf_text(path.read_bytes())


def test_bericht_is_a_slow_command(console_town: ConsoleTown) -> None:  # noqa: F811
    conversation = console_town.app.conversation
    assert conversation.runs_long(Incoming("console", "konsole", RITA_CONSOLE, "bericht html"))
    assert not conversation.runs_long(Incoming("console", "konsole", RITA_CONSOLE, "status"))
