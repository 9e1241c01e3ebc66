"""Erasure of a person (`regelkreis person forget`, DSGVO Art. 17): their name and chat
identities replaced by a pseudonym everywhere they were written, so the measures' history
stays readable ("Person 7: 0 % → 20 %") and nothing of the person remains.

The scrub is generic: every text and JSON column of every table is searched for the name,
the chat identities and the e-mail address, because names travel into free text (report
notes, decisions, reminder texts, frozen agendas, audit before/after). On SQLite the file is
then vacuumed and the write-ahead log truncated, so the old pages are gone from disk too.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Engine, Enum, String, Text, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Base, Person


def traces(person: Person) -> list[str]:
    """What identifies the person in text: name, chat identities (as ids and addresses),
    e-mail; longest first, so an address is replaced before the name inside it."""
    found = {person.name}
    for identity in person.identities:
        found.add(f"{identity.platform}:{identity.user_id}")
        # A Matrix id is distinctive on its own; a short number is not (it may be a sum).
        if not identity.user_id.isdigit() or len(identity.user_id) >= 6:
            found.add(identity.user_id)
    found.add(f"console:{person.name}")
    if person.email:
        found.add(person.email)
    return sorted((t for t in found if len(t) >= 3), key=len, reverse=True)


def _replace(value: str, needles: list[str], pseudonym: str) -> str:
    for needle in needles:
        value = value.replace(needle, pseudonym)
    return value


def _replace_in(value: Any, needles: list[str], pseudonym: str) -> Any:
    """`_replace` on every string inside a JSON value (keys included)."""
    if isinstance(value, str):
        return _replace(value, needles, pseudonym)
    if isinstance(value, list):
        return [_replace_in(item, needles, pseudonym) for item in value]
    if isinstance(value, dict):
        return {
            _replace(str(k), needles, pseudonym): _replace_in(v, needles, pseudonym)
            for k, v in value.items()
        }
    return value


def _forms(needle: str) -> set[str]:
    """The needle as text, and as JSON stores it (non-ASCII as \\u escapes)."""
    return {needle, json.dumps(needle)[1:-1], json.dumps(needle, ensure_ascii=False)[1:-1]}


def scrub(
    session: Session, needles: list[str], pseudonym: str, *, skip: frozenset[str] = frozenset()
) -> int:
    """Replace every needle by the pseudonym in every text and JSON column (but the tables
    in `skip`); the number of values rewritten."""
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        keys = list(table.primary_key.columns)
        for column in table.columns:
            if column.primary_key:
                continue
            is_json = isinstance(column.type, JSON)
            if isinstance(column.type, Enum) or (
                not is_json and not isinstance(column.type, String | Text)
            ):
                continue  # an enum holds no names
            searched = func.cast(column, Text) if is_json else column
            terms = [
                searched.contains(form, autoescape=True)
                for needle in needles
                for form in (_forms(needle) if is_json else {needle})
            ]
            if not terms:
                continue
            rows = session.execute(select(*keys, column).where(or_(*terms))).all()
            for row in rows:
                *key_values, value = row
                if value is None:
                    continue
                new_value = (
                    _replace_in(value, needles, pseudonym)
                    if is_json
                    else _replace(value, needles, pseudonym)
                )
                if new_value == value:
                    continue
                where = [k == bindparam(f"k_{k.name}") for k in keys]
                session.execute(
                    update(table).where(*where).values({column.name: new_value}),
                    {f"k_{k.name}": v for k, v in zip(keys, key_values, strict=True)},
                )
                changed += 1
    return changed


def forget(session: Session, person: Person) -> tuple[str, int, bool]:
    """Pseudonymise `person` (caller commits): the pseudonym, the values rewritten, and
    whether the bare name was left in free text because a namesake shares it."""
    pseudonym = f"Person {person.id}"
    needles = traces(person)
    namesake = (
        session.scalar(
            select(func.count()).where(Person.name == person.name, Person.id != person.id)
        )
        or 0
    ) > 0
    if namesake:
        # "Max Müller" in a note may be the other one: only what is theirs alone is replaced.
        needles = [n for n in needles if n != person.name]
    for identity in list(person.identities):
        session.delete(identity)
    person.email = None
    person.deputy_id = None
    session.flush()
    # Other people's rows are never rewritten (a namesake keeps their name).
    changed = scrub(session, needles, pseudonym, skip=frozenset({"people"}))
    session.execute(update(Person).where(Person.id == person.id).values(name=pseudonym))
    session.expire(person)
    return pseudonym, changed, namesake


def compact(engine: Engine) -> None:
    """SQLite: rewrite the file and empty the write-ahead log, so deleted text is gone from
    disk. PostgreSQL reuses its pages by itself; nothing to do there."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        # The driver connection without the engine's BEGIN (storage/db.py): VACUUM cannot run
        # inside a transaction.
        driver = raw.driver_connection
        assert driver is not None
        driver.execute("VACUUM")
        driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
