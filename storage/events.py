"""Session hooks that keep derived columns and lookup caches right on every flush."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.intervals import add_interval
from storage.lookup import install_revision_hooks
from storage.models import Measure

# Due dates are calendar days in the municipality; Berlin is right for every German one.
_LOCAL = ZoneInfo("Europe/Berlin")


def _refresh_evaluation_due(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Measure):
            since = obj.last_report_at or obj.created_at
            if since is not None:
                obj.evaluation_due_on = add_interval(
                    since.astimezone(_LOCAL).date(), obj.evaluation_interval or "quartalsweise"
                )


def install() -> None:
    """Register the hooks once per process (idempotent)."""
    install_revision_hooks()
    if not event.contains(Session, "before_flush", _refresh_evaluation_due):
        event.listen(Session, "before_flush", _refresh_evaluation_due)
