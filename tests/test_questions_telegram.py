"""Questions on Telegram (issue 15): read in a private chat, and in a group only when the bot
is addressed (`@botname …` or a reply to the bot); the group's other talk stays unanswered.
The operator's set-up and the Bot-API server of tests/test_real_start_telegram.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.telegram_wire import texts
from tests.test_real_start_telegram import (  # noqa: F401  (the fixture)
    CLARA,
    JA_GROUP,
    MAX,
    Town,
    running_bot,
    state,
    town,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
OPEN_GROUP = -4003  # a group whose privacy mode is off: the bot sees every message


def _body_and_hint(message: dict[str, Any]) -> tuple[str, str]:
    body, _blank, hint = str(message["text"]).rpartition("\n\n")
    return body, hint


async def _scenario(town: Town) -> None:  # noqa: F811
    async with running_bot(town):
        server = town.server
        clara_chat = server.private_chat(town.users[CLARA])
        max_chat = server.private_chat(town.users[MAX])
        neu = '/neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 verantwortlich:Max'
        [created] = await town.say(CLARA, clara_chat, neu)
        assert created["text"].startswith("Angelegt: M-1"), created["text"]
        before = state(town.app)

        # A private chat: any text is for the bot.
        [answer] = await town.say(MAX, max_chat, "Was habe ich noch offen?")
        body, hint = _body_and_hint(answer)
        assert hint == "= meine"
        assert body == await town.say_text(MAX, max_chat, "meine")
        question = "Was ist bis Ende März beim Jugendamt fällig?"
        [answer] = await town.say(CLARA, clara_chat, question)
        body, hint = _body_and_hint(answer)
        assert hint == "= fällig 124 JA"
        assert body == await town.say_text(CLARA, clara_chat, "/fällig 124 JA")

        # The Jugendamt's group, privacy mode on: chatter does not reach the bot; a reply to
        # one of its messages does, and is read as a question.
        ja = town.groups[JA_GROUP]
        server.send_text(town.users[MAX], ja, "Was ist überfällig?")
        [status] = await town.say(MAX, ja, "/status")
        assert status["text"].startswith("📊 Jugendamt (JA)"), status["text"]
        server.send_text(town.users[MAX], ja, "Was ist diese Woche fällig?", reply_to=status)
        [answer] = await server.next_bot_messages(ja)
        body, hint = _body_and_hint(answer)
        assert hint == "= fällig 2"
        assert body == await town.say_text(MAX, ja, "/fällig 2")

        # A group with privacy mode off: the bot sees everything, answers only `@botname …`.
        open_group = server.group(OPEN_GROUP, "Offene Runde", privacy=False)
        server.send_text(town.users[CLARA], open_group, "Was ist überfällig?")
        server.send_text(town.users[CLARA], open_group, "Wie steht es um das Sprachcafé?")
        addressed = "@regelkreis_test_bot Wie steht es um das Sprachcafé?"
        [answer] = await town.say(CLARA, open_group, addressed)
        body, hint = _body_and_hint(answer)
        assert hint == "= status M-1"
        detail = await town.say_text(CLARA, open_group, "/status M-1")
        assert body == detail
        mid = "Sag mal @regelkreis_test_bot, was ist diese Woche fällig?"
        [answer_mid] = await town.say(CLARA, open_group, mid)
        assert _body_and_hint(answer_mid)[1] == "= fällig 2"
        # The two questions not addressed to the bot got no answer.
        assert texts(server.bot_messages(open_group)) == [
            answer["text"],
            detail,
            answer_mid["text"],
        ]
        # Questions change nothing (the notice to Max may have gone out meanwhile).
        after = state(town.app)
        assert [after[k] for k in ("measures", "reports", "audits", "rooms")] == [
            before[k] for k in ("measures", "reports", "audits", "rooms")
        ]


def test_questions_in_a_private_chat_and_in_groups_only_when_addressed(
    town: Town,  # noqa: F811
) -> None:
    asyncio.run(_scenario(town))
