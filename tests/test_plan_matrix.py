"""The measure plan in an encrypted Matrix room on a real Synapse (tests/synapse.py), as
Element sends it: the file (m.file, encrypted attachment) and then the text `!import` as two
events. Preview, confirmation, the imported measure's status, and the refusals (a reader's
`import`, another sender's confirmation). The database starts empty, set up on the command
line (tests/test_real_start_matrix.py's town).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import nio

from storage.models import Measure, ReceivedFile
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import User, running_bot
from tests.test_real_start import cli
from tests.test_real_start_matrix import (  # noqa: F401  (fixtures)
    CLARA,
    MAX,
    RITA,
    Town,
    accounts,
    town,
)

_lenas = itertools.count(1)

PLAN = (
    "Nr.;Maßnahme;Federführung;Frist;Status;Fortschritt (%)\n"
    "1.1;Sprachförderung in Kitas;JA;31.03.2027;laufend;20\n"
    "1.2;Elterncafé;Amt 51;Q3/2027;geplant;0\n"
).encode()


async def send_file(user: User, room_id: str, name: str, data: bytes) -> str:
    """What Element does with a file in an encrypted room: upload it encrypted, then an
    m.file event carrying the key."""
    await user.sync()
    uploaded, keys = await user.client.upload(
        lambda _got_429, _got_timeouts: data,
        content_type="text/csv",
        filename=name,
        encrypt=True,
        filesize=len(data),
    )
    assert isinstance(uploaded, nio.UploadResponse), uploaded
    assert keys is not None
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "info": {"mimetype": "text/csv", "size": len(data)},
        "file": {**keys, "url": uploaded.content_uri},
    }
    answer = await user.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(answer, nio.RoomSendResponse), answer
    return str(answer.event_id)


def test_a_plan_sent_in_an_encrypted_room_is_previewed_and_confirmed(town: Town) -> None:  # noqa: F811
    async def scenario() -> None:
        async with User(town, CLARA) as clara, User(town, RITA) as rita, User(town, MAX) as max_:
            bot = town.bot.user_id
            room = await clara.create_room(invite=[bot, RITA, MAX], encrypted=True)
            async with running_bot(town):
                await rita.join(room)
                await max_.join(room)
                await clara.wait_joined(room, bot, RITA, MAX)
                # The bot must be in the room before the file comes (it ignores what was
                # said before it joined).
                assert "Wer bin ich" in await clara.ask(room, "!wer bin ich")

                await send_file(clara, room, "plan.csv", PLAN)
                preview = await clara.ask(room, "!import")
                assert preview.splitlines()[:2] == [
                    "Vorschau: Import „plan.csv“",
                    "2 neu, 0 geändert, 0 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
                ]
                # The ressort member may not confirm Clara's import; a reader may not import.
                refused = await max_.ask(room, "!import bestätigen")
                assert "koordination" in refused
                await send_file(rita, room, "plan.csv", PLAN)
                assert "koordination" in await rita.ask(room, "!import")

                applied = await clara.ask(room, "!import bestätigen")
                assert applied.startswith("Import „plan.csv“ übernommen")
                status = await rita.ask(room, "!status M-1")
                assert "M-1 (Nr. 1.1) Sprachförderung in Kitas" in status
                assert "Status: laufend, 20 %" in status

    asyncio.run(scenario())
    with town.app.uows() as uow:
        assert uow.session.query(Measure).count() == 2
        # The file was decrypted before it was kept: its bytes are the plan's.
        files = uow.session.query(ReceivedFile).order_by(ReceivedFile.id).all()
        assert (town.app.config.data_dir / files[0].path).read_bytes() == PLAN


def test_a_confirmation_from_another_coordinator_is_refused_on_matrix(town: Town) -> None:  # noqa: F811
    # A second coordinator, registered on the command line like the others.
    lena = town.synapse.register(f"lena.lang{next(_lenas)}")
    town.people[lena.user_id] = lena
    said = cli(
        town.config_file,
        "person",
        "add",
        "Lena Lang",
        "--rolle",
        "koordination",
        "--matrix",
        lena.user_id,
    )
    assert said[0] == 0, said

    async def scenario() -> None:
        async with User(town, CLARA) as clara, User(town, lena.user_id) as lena_at_client:
            bot = town.bot.user_id
            room = await clara.create_room(invite=[bot, lena.user_id], encrypted=True)
            async with running_bot(town):
                await lena_at_client.join(room)
                await clara.wait_joined(room, bot, lena.user_id)
                assert "Wer bin ich" in await clara.ask(room, "!wer bin ich")
                await send_file(clara, room, "plan.csv", PLAN)
                assert (await clara.ask(room, "!import")).startswith("Vorschau: Import „plan.csv“")
                # Clara's preview is Clara's to confirm: Lena, though a coordinator, is told so.
                refused = await lena_at_client.ask(room, "!import bestätigen")
                assert refused.startswith("Kein Import wartet auf Ihre Bestätigung"), refused
                applied = await clara.ask(room, "!import bestätigen")
                assert applied.startswith("Import „plan.csv“ übernommen")

    asyncio.run(scenario())
    with town.app.uows() as uow:
        assert uow.session.query(Measure).count() == 2
