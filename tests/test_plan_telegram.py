"""The measure plan in a Telegram group, against the Bot API server of tests/telegram_wire.py
(`getFile` and the file download included; nothing of PTB is mocked): a file with the
caption `/import`, the preview, the confirmation, the imported measure's status, the
refusals (a reader's file, another sender's confirmation, a file over 20 MB) and an export
posted as a document. The database starts empty, set up on the command line
(tests/test_real_start_telegram.py's town).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage.models import Measure
from tests.telegram_wire import texts
from tests.test_real_start import cli
from tests.test_real_start_telegram import (  # noqa: F401  (the town fixture)
    CLARA,
    COORDINATION_GROUP,
    RITA,
    Town,
    running_bot,
    town,
)

JONAS = 5012340005  # a second coordinator, added below
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

PLAN = (
    "Nr.;Maßnahme;Federführung;Frist;Status;Fortschritt (%)\n"
    "1.1;Sprachförderung in Kitas;JA;31.03.2027;laufend;20\n"
    "1.2;Elterncafé;Amt 51;Q3/2027;geplant;0\n"
).encode()


async def send_file(
    town: Town,  # noqa: F811
    user: int,
    name: str,
    data: bytes,
    caption: str | None,
    **extra: Any,
) -> str:
    chat = town.groups[COORDINATION_GROUP]
    town.server.send_document(town.users[user], chat, name, data, caption=caption, **extra)
    return "\n".join(texts(await town.server.next_bot_messages(chat)))


def test_a_plan_sent_in_a_telegram_group_is_previewed_confirmed_and_exported(
    town: Town,  # noqa: F811
) -> None:
    config_file = town.app.config.source
    assert config_file is not None
    status, _out, err = cli(
        config_file,
        *("person", "add", "Jonas Wolf", "--rolle", "koordination", "--telegram", str(JONAS)),
    )
    assert status == 0, err
    town.users[JONAS] = town.server.user(JONAS, "Jonas", "Wolf")
    group = town.groups[COORDINATION_GROUP]

    async def scenario() -> None:
        async with running_bot(town):
            preview = await send_file(town, CLARA, "plan.csv", PLAN, "/import")
            assert preview.splitlines()[:2] == [
                "Vorschau: Import „plan.csv“",
                "2 neu, 0 geändert, 0 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
            ]
            assert len(town.server.downloads) == 1  # getFile, then the download
            assert town.server.calls_of("getfile", ok=True)

            # Another coordinator cannot confirm Clara's preview.
            other = await town.say_text(JONAS, group, "/import bestätigen")
            assert other.startswith("Kein Import wartet auf Ihre Bestätigung in diesem Raum.")

            applied = await town.say_text(CLARA, group, "/import bestätigen")
            assert applied.startswith("Import „plan.csv“ übernommen")
            status = await town.say_text(RITA, group, "/status M-1")
            assert "M-1 (Nr. 1.1) Sprachförderung in Kitas" in status
            assert "Status: laufend, 20 %" in status

            # A reader's file is refused with the role needed.
            refused = await send_file(town, RITA, "plan.csv", PLAN, "/import")
            assert "koordination" in refused and "Vorschau" not in refused

            # Telegram gives bots files up to 20 MB: a bigger one is refused with the limit,
            # without a download.
            downloads = len(town.server.downloads)
            big = await send_file(
                town, CLARA, "riesig.xlsx", b"PK", "/import", file_size=25 * 1024 * 1024
            )
            assert big.startswith("„riesig.xlsx“ ist zu groß (25 MB): ich nehme Dateien bis 20 MB")
            assert len(town.server.downloads) == downloads

            # The export is posted as a document.
            before = len(town.server.calls_of("senddocument", ok=True))
            town.server.send_text(town.users[RITA], group, "/export xlsx")
            await town.server.next_bot_messages(group, count=2)
            documents = town.server.calls_of("senddocument", ok=True)[before:]
            assert len(documents) == 1
            sent = documents[0].result["document"]
            assert sent["file_name"] == "massnahmenplan-musterstadt-2026-11-27.xlsx"
            assert sent["file_size"] > 1000

    asyncio.run(scenario())
    with town.app.uows() as uow:
        assert uow.session.query(Measure).count() == 2
