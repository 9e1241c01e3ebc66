"""Edge inputs rendered on each platform, from an empty database set up on the command line:
HTML fragments escaped, `@room` and `@username` mentioning nobody, right-to-left names
isolated (U+2068 … U+2069) so the figures after them stay in place, emoji kept, control
characters gone; a message over the limit answered with it. Matrix against Synapse, Telegram
against the Bot API server of tests/telegram_wire.py, the console through `regelkreis chat`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.matrix.render import CONTENT_LIMIT, content_size, split_reply
from bot.outgoing import FIRST_STRONG_ISOLATE as FSI
from bot.outgoing import POP_DIRECTIONAL_ISOLATE as PDI
from bot.outgoing import WORD_JOINER
from handlers.core import Reply
from tests import test_real_start as console
from tests.synapse import synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import User
from tests.test_matrix import running_bot as running_matrix_bot
from tests.test_real_start import config_file  # noqa: F401  (the fixture)
from tests.test_real_start_matrix import CLARA as MATRIX_CLARA
from tests.test_real_start_matrix import Town as MatrixTown
from tests.test_real_start_matrix import accounts  # noqa: F401  (fixture)
from tests.test_real_start_matrix import town as matrix_town  # noqa: F401  (fixture)
from tests.test_real_start_telegram import CLARA as TELEGRAM_CLARA
from tests.test_real_start_telegram import COORDINATION_GROUP
from tests.test_real_start_telegram import Town as TelegramTown
from tests.test_real_start_telegram import running_bot as running_telegram_bot
from tests.test_real_start_telegram import town as telegram_town  # noqa: F401  (fixture)

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

# A title with everything at once: HTML, a room mention, a Telegram username, Hebrew followed
# by a figure, emoji, an ANSI escape and a right-to-left override.
TITLE = "<b>Kita</b> @room @anna_koch עברית 12 🚸\x1b[2J\u202e"
CLEAN_TITLE = "<b>Kita</b> @room @anna_koch עברית 12 🚸[2J"
NEW = f'neu "{TITLE}" ressort:JA'


def test_matrix_escapes_html_mentions_nobody_and_isolates_hebrew(
    matrix_town: MatrixTown,  # noqa: F811
) -> None:
    town = matrix_town

    async def scenario() -> None:
        async with User(town, MATRIX_CLARA) as clara:
            bot = town.bot.user_id
            room = await clara.create_room(invite=[bot])
            async with running_matrix_bot(town):
                await clara.wait_joined(room, bot)
                event_id = await clara.say(room, f"!{NEW}")
                answer = await clara.answer_to(room, event_id)
                content = answer.source["content"]
                # The answer mentions whom it answers, never the room.
                assert content["m.mentions"] == {"user_ids": [MATRIX_CLARA]}
                body = content["body"]
                assert f"@{WORD_JOINER}room" in body and "@room" not in body
                assert f"{FSI}עברית{PDI} 12 🚸[2J" in body
                assert "\x1b" not in body and "\u202e" not in body
                html = content["formatted_body"]
                assert "&lt;b&gt;Kita&lt;/b&gt;" in html and "<b>" not in html
                too_long = await clara.ask(room, "!status " + "x" * 10_001)
                assert too_long.startswith("Die Nachricht ist zu lang (10008 Zeichen")

    asyncio.run(scenario())


def test_telegram_escapes_html_mentions_nobody_and_isolates_hebrew(
    telegram_town: TelegramTown,  # noqa: F811
) -> None:
    town = telegram_town
    group = town.groups[COORDINATION_GROUP]

    async def scenario() -> None:
        async with running_telegram_bot(town):
            said = await town.say_text(TELEGRAM_CLARA, group, f"/{NEW}")
            assert "M-1" in said
            sent = town.server.calls_of("sendmessage", ok=True)[-1].params
            assert sent["parse_mode"] == "HTML"
            text = sent["text"]
            assert "&lt;b&gt;Kita&lt;/b&gt;" in text and "<b>Kita" not in text
            assert f"@{WORD_JOINER}anna_koch" in text and "@anna_koch" not in text
            assert f"{FSI}עברית{PDI} 12 🚸[2J" in text
            assert "\x1b" not in text and "\u202e" not in text

    asyncio.run(scenario())


def test_the_console_prints_no_escape_sequence(config_file: Path) -> None:  # noqa: F811
    console.set_up(config_file)
    status, said, err = console.cli(config_file, "chat", "--as", console.CLARA, stdin=NEW + "\n")
    assert (status, err) == (0, "")
    assert "\x1b" not in said and "\u202e" not in said
    assert f"<b>Kita</b> @room @anna_koch {FSI}עברית{PDI} 12 🚸[2J" in said


def test_a_matrix_reply_too_big_for_one_event_goes_as_several_cut_between_lines() -> None:
    lines = [f"M-{n} Sprachförderung in Kitas der Nordstadt — JA, 40 %" for n in range(2000)]
    reply = Reply.text(*lines, heading="Maßnahmen (2000)")
    parts = split_reply(reply)
    assert len(parts) > 1
    assert all(content_size(part) <= CONTENT_LIMIT for part in parts)
    assert "\n".join(part.plain() for part in parts) == reply.plain()
    # A reply that fits is left as it is.
    small = Reply.text("Angelegt: M-1")
    assert split_reply(small) == [small]
