"""`diagramm` in chat, from an empty database set up on the command line: an image in an
encrypted Matrix room (m.image, encrypted, with its size) and the file's path on the console.
Telegram (sendPhoto) is in tests/test_charts_telegram.py (its town is another fixture)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nio
from nio.crypto.attachments import decrypt_attachment

from tests import test_real_start as console
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import User, running_bot
from tests.test_real_start import config_file  # noqa: F401  (the fixture)
from tests.test_real_start_matrix import (  # noqa: F401  (fixtures)
    CLARA,
    RITA,
    Town,
    accounts,
    town,
)

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def image_event(user: User, room_id: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        for room, event in user.timeline:
            source = event.source.get("content") or {}
            if room == room_id and source.get("msgtype") == "m.image":
                return event
        assert time.monotonic() < deadline, "no image came"
        await user.sync(timeout=1000)


def test_a_chart_in_an_encrypted_matrix_room(town: Town) -> None:  # noqa: F811
    async def scenario() -> None:
        async with User(town, CLARA) as clara, User(town, RITA) as rita:
            bot = town.bot.user_id
            room = await clara.create_room(invite=[bot, RITA], encrypted=True)
            async with running_bot(town):
                await rita.join(room)
                await clara.wait_joined(room, bot, RITA)
                assert "Wer bin ich" in await clara.ask(room, "!wer bin ich")
                created = await clara.ask(room, '!neu "Kita Nordstadt" ressort:JA')
                assert created.startswith("M-1 angelegt") or "M-1" in created, created
                said = await rita.ask(room, "!diagramm")
                assert said.splitlines()[0] == "Status der Maßnahmen nach Ressort"
                assert "1 Maßnahme in 1 Ressort (nach Federführung): 1 geplant." in said
                event = await image_event(rita, room)
                content = event.source["content"]
                assert content["body"] == "Status der Maßnahmen nach Ressort"
                assert content["filename"].startswith("Diagramm-")
                info = content["info"]
                assert info["mimetype"] == "image/png"
                assert info["w"] >= 1080
                # Encrypted: no plain URL, the key travels in `file`.
                assert "url" not in content and "url" in content["file"]
                file = content["file"]
                downloaded = await rita.client.download(mxc=file["url"])
                assert isinstance(downloaded, nio.DownloadResponse), downloaded
                assert not downloaded.body.startswith(PNG)
                data = decrypt_attachment(
                    downloaded.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
                )
                assert png_size(data) == (info["w"], info["h"])

    asyncio.run(scenario())


def test_a_chart_on_the_console_prints_its_path(
    config_file: Path,  # noqa: F811
) -> None:
    console.set_up(config_file)
    status, out, err = console.cli(
        config_file,
        *("chat", "--as", console.CLARA),
        stdin='neu "Kita Nordstadt" ressort:JA\ndiagramm JA\n',
    )
    assert (status, err) == (0, ""), err
    lines = out.splitlines()
    assert "JA: Status der Maßnahmen nach Ziel" in lines
    assert (
        "Jugendamt (JA): 1 Maßnahme (federführend oder beteiligt) in 0 Zielen: 1 geplant." in lines
    )
    (attached,) = [line for line in lines if line.startswith("📎 ")]
    path = Path(attached.removeprefix("📎 "))
    assert path.parent == config_file.parent / "data" / "generated"
    assert path.name.startswith("diagramm-") and path.suffix == ".png"
    assert png_size(path.read_bytes())[0] >= 1080
