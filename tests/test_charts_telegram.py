"""`diagramm` in a Telegram group: the chart goes out as a photo (sendPhoto to the Bot API
server of tests/telegram_wire.py) after its text, and a `status` sent while it is drawn is
answered first. The database starts empty, set up on the command line
(tests/test_real_start_telegram.py's town)."""

from __future__ import annotations

import asyncio
import threading
from datetime import date

import pytest
from sqlalchemy.orm import Session

import handlers.charts
from storage.lookup import Match
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


def test_a_status_sent_while_a_chart_is_drawn_is_answered_first(
    town: Town,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group = town.groups[COORDINATION_GROUP]
    # The drawing is held back until the status has been answered: a chart runs beside the
    # room's order, so the status must not wait for it.
    release = threading.Event()
    drawing = threading.Event()
    draw = handlers.charts.render_chart

    def held_back(
        session: Session, match: Match | None, lang: str, today: date
    ) -> handlers.charts.Chart:
        drawing.set()
        assert release.wait(20), "the status was not answered while the chart was drawn"
        return draw(session, match, lang, today)

    monkeypatch.setattr(handlers.charts, "render_chart", held_back)

    async def scenario() -> None:
        async with running_bot(town):
            assert "M-1" in await town.say_text(CLARA, group, '/neu "Kita Nordstadt" ressort:JA')
            town.server.send_text(town.users[RITA], group, "/diagramm")
            assert await asyncio.to_thread(drawing.wait, 20)
            status = await town.say_text(RITA, group, "/status")
            assert "📊" in status or "Überblick" in status, status
            assert not town.server.calls_of("sendphoto", ok=True)
            release.set()
            messages = await town.server.next_bot_messages(group, count=2)
            assert "Status der Maßnahmen nach Ressort" in "\n".join(texts(messages))
            assert len(town.server.calls_of("sendphoto", ok=True)) == 1

    asyncio.run(scenario())
