"""`diagramm` in a Telegram group: the chart goes out as a photo (sendPhoto to the Bot API
server of tests/telegram_wire.py) after its text. The database starts empty, set up on the
command line (tests/test_real_start_telegram.py's town)."""

from __future__ import annotations

import asyncio

import pytest

from tests.telegram_wire import texts
from tests.test_real_start_telegram import (  # noqa: F401  (the town fixture)
    CLARA,
    COORDINATION_GROUP,
    RITA,
    Town,
    running_bot,
    town,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def test_a_chart_is_posted_as_a_photo(town: Town) -> None:  # noqa: F811
    group = town.groups[COORDINATION_GROUP]

    async def scenario() -> None:
        async with running_bot(town):
            created = await town.say_text(CLARA, group, '/neu "Kita Nordstadt" ressort:JA')
            assert "M-1" in created
            town.server.send_text(town.users[RITA], group, "/diagramm JA")
            messages = await town.server.next_bot_messages(group, count=2)
            said = "\n".join(texts(messages))
            assert "JA: Status der Maßnahmen nach Ziel" in said
            assert "Jugendamt (JA): 1 Maßnahme" in said
            (photo,) = town.server.calls_of("sendphoto", ok=True)
            assert photo.result["caption"] == "JA: Status der Maßnahmen nach Ziel"
            assert photo.result["photo"][0]["file_size"] > 1000
            assert not town.server.calls_of("senddocument")

    asyncio.run(scenario())
