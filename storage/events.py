"""Session hooks that keep derived columns and lookup caches right on every flush."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.intervals import add_interval
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


def install() -> None:
    """Register the hooks once per process (idempotent)."""
    install_revision_hooks()
    if not event.contains(Session, "before_flush", _refresh_evaluation_due):
        event.listen(Session, "before_flush", _refresh_evaluation_due)
    if not event.contains(Session, "before_flush", _refuse_writes_in_reads):
        event.listen(Session, "before_flush", _refuse_writes_in_reads)
