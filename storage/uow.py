"""Unit of work: everything a command changes commits together, or nothing does."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import WRITE_OPTION
from storage.events import DEFAULT_ZONE, READ_ONLY_KEY, ZONE_KEY


class UnitOfWork:
    """`with uow: ...; uow.commit()` — rolls back unless committed, like cosmicpython's."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its with block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class UnitOfWorkFactory:
    """Makes reading and writing units of work for one engine, in the municipality's zone."""

    def __init__(self, engine: Engine, *, zone: ZoneInfo = DEFAULT_ZONE) -> None:
        self.engine = engine
        self.zone = zone
        # PostgreSQL reads run in autocommit: with READ COMMITTED every statement takes its
        # own snapshot inside a transaction too, so a read sees exactly what it saw before,
        # without the BEGIN and ROLLBACK round trips. Such a session must never write
        # (READ_ONLY_KEY makes a flush fail instead of committing half a change). SQLite keeps
        # its transaction: there it is one snapshot for the whole read.
        reading = engine
        if engine.dialect.name == "postgresql":
            reading = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(
            reading, expire_on_commit=False, info={ZONE_KEY: zone, READ_ONLY_KEY: True}
        )
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            info={ZONE_KEY: zone},
        )

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self._write if write else self._read)

    def reader(self) -> UnitOfWork:
        return UnitOfWork(self._read)

    def writer(self) -> UnitOfWork:
        return UnitOfWork(self._write)


UowFactory = Callable[..., UnitOfWork]
