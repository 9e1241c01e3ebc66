"""Session hooks that keep derived columns and lookup caches right on every flush."""

from __future__ import annotations

from datetime import date, datetime
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from storage.intervals import add_interval
from storage.limits import TEXT_LIMITS, OutOfRange, TooLong, clean, in_range
from storage.lookup import install_revision_hooks
from storage.models import Measure

# The one default zone: right for every German municipality. The configuration's
# `[municipality] timezone` overrides it; bootstrap hands that zone to the unit-of-work
# factory, which puts it into every session's `info` under ZONE_KEY.
DEFAULT_ZONE = ZoneInfo("Europe/Berlin")
ZONE_KEY = "regelkreis_zone"
# Set in the `info` of reading sessions: they may not flush (see UnitOfWorkFactory).
READ_ONLY_KEY = "regelkreis_read_only"


def session_zone(session: Session) -> ZoneInfo:
    """The municipality's zone a session works in (due dates are its calendar days)."""
    zone = session.info.get(ZONE_KEY)
    return zone if isinstance(zone, ZoneInfo) else DEFAULT_ZONE


def _refresh_evaluation_due(session: Session, _context: object, _instances: object) -> None:
    zone = session_zone(session)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Measure):
            since = obj.last_report_at or obj.created_at
            if since is not None:
                obj.evaluation_due_on = add_interval(
                    since.astimezone(zone).date(), obj.evaluation_interval or "quartalsweise"
                )


def _refuse_writes_in_reads(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(READ_ONLY_KEY):
        raise RuntimeError("a reading unit of work tried to write; use uows(write=True)")


def _check_limits(session: Session, _context: object, _instances: object) -> None:
    """Every new or changed text and date, checked the same on SQLite and PostgreSQL: control
    characters removed (PostgreSQL refuses NUL), lengths within the column's (SQLite would
    store 20,000 characters in a VARCHAR(300)), dates within storage/limits.py's years.

    The doors (chat, import, command line) check first and answer in words; this is the net
    under them. Only changed attributes are checked, so an old over-long value does not block
    an unrelated edit."""
    new = session.new
    for obj in chain(new, session.dirty):
        state = inspect(obj)
        table = state.mapper.local_table.name
        for attribute in state.mapper.column_attrs:
            key = attribute.key
            value = state.dict.get(key)
            if value is None or (obj not in new and not state.attrs[key].history.has_changes()):
                continue
            column = attribute.columns[0]
            if isinstance(value, str):
                cleaned = clean(value)
                if cleaned != value:
                    setattr(obj, key, cleaned)
                limit = (
                    column.type.length
                    if isinstance(column.type, String) and column.type.length
                    else TEXT_LIMITS.get((table, column.name))
                )
                if limit is not None and len(cleaned) > limit:
                    raise TooLong(table, column.name, limit, len(cleaned))
            elif isinstance(value, date):
                day = value.date() if isinstance(value, datetime) else value
                if not in_range(day):
                    raise OutOfRange(table, column.name, day)


def install() -> None:
    """Register the hooks once per process (idempotent)."""
    install_revision_hooks()
    if not event.contains(Session, "before_flush", _refresh_evaluation_due):
        event.listen(Session, "before_flush", _refresh_evaluation_due)
    if not event.contains(Session, "before_flush", _check_limits):
        event.listen(Session, "before_flush", _check_limits)
    if not event.contains(Session, "before_flush", _refuse_writes_in_reads):
        event.listen(Session, "before_flush", _refuse_writes_in_reads)
