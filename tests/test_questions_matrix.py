"""Questions on Matrix (issue 15): read in a direct room and when the bot is mentioned in a
room; the room's other talk stays unanswered. A real Synapse and the operator's set-up of
tests/test_real_start_matrix.py."""

from __future__ import annotations

import asyncio
from typing import Any

import nio

from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import User, running_bot
from tests.test_real_start_matrix import (  # noqa: F401  (the fixtures)
    CLARA,
    MAX,
    Town,
    accounts,
    link_rooms,
    new_room,
    state,
    town,
)


def _body_and_hint(event: Any) -> tuple[str, str]:
    body, _blank, hint = str(event.body).rpartition("\n\n")
    return body, hint


async def _mention(user: User, room_id: str, bot: str, text: str) -> str:
    """A message that mentions the bot mid-sentence, as Element sends a mention pill."""
    await user.sync()
    content = {
        "msgtype": "m.text",
        "body": text.replace("{bot}", bot),
        "m.mentions": {"user_ids": [bot]},
    }
    answer = await user.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(answer, nio.RoomSendResponse), answer
    return str(answer.event_id)


def test_questions_in_a_direct_room_and_when_mentioned(town: Town) -> None:  # noqa: F811
    async def scenario() -> None:
        async with User(town, CLARA) as clara, User(town, MAX) as max_:
            bot = town.bot.user_id
            jugendamt = await new_room(clara, [bot, MAX])
            coordination = await new_room(clara, [bot])
            link_rooms(town, jugendamt, coordination)
            direct = await new_room(clara, [bot])  # Clara and the bot: a direct room
            async with running_bot(town):
                await max_.join(jugendamt)
                await clara.wait_joined(jugendamt, bot, MAX)
                await clara.wait_joined(direct, bot)
                made = await clara.ask(
                    coordination,
                    '!neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 verantwortlich:Max',
                )
                assert made.startswith("Angelegt: M-1"), made
                before = state(town.app)

                # A direct room: every message is for the bot.
                asked = await clara.say(direct, "Was ist beim Jugendamt bis Ende März fällig?")
                body, hint = _body_and_hint(await clara.answer_to(direct, asked))
                assert hint == "= fällig 124 JA"
                assert body == await clara.ask(direct, "fällig 124 JA")

                # In the Jugendamt's room, talk among people is not for the bot ...
                chatter = await max_.say(jugendamt, "Was ist diese Woche fällig?")
                # ... a mention is, also mid-sentence.
                asked = await _mention(
                    max_, jugendamt, bot, "Sag mal {bot}, was ist bis Ende März fällig?"
                )
                body, hint = _body_and_hint(await max_.answer_to(jugendamt, asked))
                assert hint == "= fällig 124"
                assert body == await max_.ask(jugendamt, "!fällig 124")
                asked = await max_.say(jugendamt, f"{bot}: Wie steht es um das Sprachcafé?")
                answer = str((await max_.answer_to(jugendamt, asked)).body)
                # A measure's quick answers stay the last line on Matrix, after the hint.
                detail, quick = (await max_.ask(jugendamt, "!status M-1")).rsplit("\n", 1)
                assert quick.startswith("↳ "), quick
                assert answer == f"{detail.rstrip()}\n\n= status M-1\n\n{quick}"
                assert await max_.countanswers(jugendamt, chatter) == 0

                after = state(town.app)
                keys = ("goals", "measures", "reports", "audits")
                assert [after[k] for k in keys] == [before[k] for k in keys]

    asyncio.run(scenario())
