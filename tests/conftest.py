"""Shared fixtures: databases (SQLite and PostgreSQL, schemas only through the migrations),
a fixed clock, the example municipality, and a `Chat` that talks to the dispatcher."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, event, text

from bot.bootstrap import App, bootstrap
from bot.config import Config
from handlers.core import Incoming, Reply, ShownVersion
from storage import events
from storage.db import make_engine
from storage.demo import ensure_demo
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory

BERLIN = ZoneInfo("Europe/Berlin")
# The example municipality is built relative to this day: Friday, 27 November 2026.
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN).astimezone(UTC)
PG_URL = os.environ.get("REGELKREIS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # pragma: no cover - depends on the machine
        return str(error).splitlines()[0]


def postgres_engine() -> Iterator[Engine]:
    """An engine on a fresh schema of the test database, dropped afterwards."""
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get("CI") or os.environ.get("REGELKREIS_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL is required here and not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Every connection of this engine works in the test's own schema.
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'regelkreis.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database — on SQLite and on PostgreSQL."""
    events.install()
    factory = sqlite_engine(tmp_path) if request.param == "sqlite" else postgres_engine()
    engine = next(factory)
    upgrade(engine)
    yield engine
    factory.close()


@pytest.fixture
def sqlite_only_engine(tmp_path: Path) -> Iterator[Engine]:
    events.install()
    yield from sqlite_engine(tmp_path)


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def make_app(
    engine: Engine, clock: FixedClock, *, demo: bool = True, config: Config | None = None
) -> App:
    config = config or Config.model_validate({"bot": {"admins": ["matrix:@root:musterstadt.de"]}})
    app = bootstrap(config, clock=clock, engine=engine)
    if demo:
        with app.uows(write=True) as uow:
            ensure_demo(uow.session, TODAY)
            uow.commit()
    return app


@pytest.fixture
def app(engine: Engine, clock: FixedClock) -> App:
    """The bot on the example municipality, on SQLite and on PostgreSQL."""
    return make_app(engine, clock)


@pytest.fixture
def sqlite_app(sqlite_only_engine: Engine, clock: FixedClock) -> App:
    """The bot on the example municipality, SQLite only (for dialogue tests)."""
    upgrade(sqlite_only_engine)
    return make_app(sqlite_only_engine, clock)


class Chat:
    """Talks to the dispatcher as one person in one room, like a chat client would."""

    def __init__(
        self, app: App, sender: str, room: str = "konsole", platform: str = "console"
    ) -> None:
        self.app = app
        self.sender = sender
        self.room = room
        self.platform = platform
        self.last: Reply | None = None
        self._n = 0

    def reply(self, text: str, *, shown: ShownVersion | None = None) -> Reply:
        self._n += 1
        self.last = self.app.dispatcher.handle(
            Incoming(
                platform=self.platform,
                room_id=self.room,
                sender_id=self.sender,
                text=text,
                message_id=f"{self.sender}-{self._n}",
                shown=shown,
            )
        )
        return self.last

    def say(self, text: str, *, shown: ShownVersion | None = None) -> str:
        """What the user types, and the reply as plain text."""
        return self.reply(text, shown=shown).plain()


@pytest.fixture
def anna(sqlite_app: App) -> Chat:
    """The example coordinator (koordination, admin) in an unlinked console room."""
    return Chat(sqlite_app, "Anna Schmidt")
