"""Named leases in the database: one process owns the Matrix device, the Telegram poller, …

A lease is a row (name, holder, expires_at). Taking it is one conditional write: insert when
absent, or update when it is ours or has expired. The holder renews it well before it
expires; a holder that died loses it after `ttl`. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import Lock
from storage.uow import UnitOfWorkFactory


def new_holder() -> str:
    """An identity for this process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(uows: UnitOfWorkFactory, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name`; False when another live holder has it."""
    with uows(write=True) as uow:
        taken = uow.session.execute(
            update(Lock)
            .where(Lock.name == name, or_(Lock.holder == holder, Lock.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        )
        if getattr(taken, "rowcount", 0) == 1:
            uow.commit()
            return True
        exists = uow.session.execute(select(Lock.name).where(Lock.name == name)).first()
        if exists is not None:
            return False
        uow.session.add(Lock(name=name, holder=holder, expires_at=now + ttl))
        try:
            uow.commit()
        except IntegrityError:  # another process inserted it first
            return False
        return True


def holder_of(uows: UnitOfWorkFactory, name: str, now: datetime) -> str | None:
    """Who holds the lease now, if anyone."""
    with uows() as uow:
        lock = uow.session.get(Lock, name)
        if lock is None or lock.expires_at < now:
            return None
        return lock.holder


def release(uows: UnitOfWorkFactory, name: str, holder: str) -> None:
    with uows(write=True) as uow:
        uow.session.execute(delete(Lock).where(Lock.name == name, Lock.holder == holder))
        uow.commit()
