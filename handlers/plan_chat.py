"""The measure plan in chat: files people send, `import` (preview), `import bestätigen`,
`import rückgängig` and `export csv|xlsx|ods|ics [bezug]` (PRODUCT.md §4).

A file arrives through the conversation service (`Conversation.received_file`), which keeps
its bytes under data_dir/received/<random>/ and a `ReceivedFile` row; `import` takes the
sender's last file in this room from the last 10 minutes (Element sends the file and the
text as two events). The preview is stored as a `PendingImport` with the preview's digest:
`import bestätigen` applies it only for the same sender and room within 30 minutes, and
only when recomputing the preview gives the same digest — otherwise it shows the new one.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from handlers.args import Args
from handlers.context import Context, Refused, UsageError
from handlers.core import Attachment, Reply
from handlers.i18n import STATUS_WORDS
from storage.lookup import Kind
from storage.models import Department, MeasureStatus, PendingImport, ReceivedFile

if TYPE_CHECKING:
    from handlers.plan_import import ImportPreview

# The reading, merging and writing modules are imported where used: the registry (and with
# it every command) loads without them, and a chat that never imports never pays for them.

# `import` alone takes a file sent this long ago at most; a preview waits this long.
FILE_WINDOW = timedelta(minutes=10)
PENDING_WINDOW = timedelta(minutes=30)
# Received files are kept this long (a pending import needs its file for 30 minutes).
FILE_RETENTION = timedelta(days=1)
# Telegram gives bots files up to 20 MB; the same limit everywhere keeps the answer simple
# (a plan of 100k rows is well under it).
MAX_FILE_BYTES = 20 * 1024 * 1024
IMPORT_SUFFIXES = (".xlsx", ".ods", ".csv")
RECEIVED = "received"

_OPTION_WORDS: dict[str, str] = {
    "überspringen": "skip",
    "ueberspringen": "skip",
    "skip": "skip",
    "anlegen": "create",
    "create": "create",
    "überschreiben": "overwrite",
    "ueberschreiben": "overwrite",
    "overwrite": "overwrite",
}

_MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "ics": "text/calendar",
}


# -- files arriving ------------------------------------------------------------------------


def accepts(file_name: str, size: int | None) -> bool:
    """Whether a file is worth downloading: a plan's type and within the limit."""
    return file_name.casefold().endswith(IMPORT_SUFFIXES) and (
        size is None or size <= MAX_FILE_BYTES
    )


@dataclass(frozen=True)
class FileArrival:
    """One file a person sent, as an adapter received it (bytes None: not downloaded,
    because it is no plan or too large — the row still tells `import` why)."""

    platform: str
    room_id: str
    sender_id: str
    message_id: str | None
    file_name: str
    size: int
    data: bytes | None


def store_received(session: Session, data_dir: Path, arrival: FileArrival, now: datetime) -> None:
    """Keep the file (its bytes only when it can be imported) and forget old ones."""
    prune_received(session, data_dir, now)
    if arrival.message_id is not None:
        known = session.execute(
            select(ReceivedFile.id).where(
                ReceivedFile.platform == arrival.platform,
                ReceivedFile.room_id == arrival.room_id,
                ReceivedFile.message_id == arrival.message_id,
            )
        ).first()
        if known is not None:
            return  # the same message again (a redelivery): stored already
    name = _safe_name(arrival.file_name)
    relative = ""
    digest = ""
    data = arrival.data
    if data is not None and accepts(name, len(data)):
        folder = Path(RECEIVED) / secrets.token_hex(8)
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
        (data_dir / folder / name).write_bytes(data)
        relative = str(folder / name)
        digest = hashlib.sha256(data).hexdigest()
    session.add(
        ReceivedFile(
            platform=arrival.platform,
            room_id=arrival.room_id,
            sender_id=arrival.sender_id,
            message_id=arrival.message_id,
            received_at=now,
            file_name=name,
            size=len(data) if data is not None else arrival.size,
            sha256=digest,
            path=relative,
        )
    )


def prune_received(session: Session, data_dir: Path, now: datetime) -> None:
    """Files older than a day go, with their folders (their pending imports cascade)."""
    old = session.execute(
        select(ReceivedFile.id, ReceivedFile.path).where(
            ReceivedFile.received_at < now - FILE_RETENTION
        )
    ).all()
    if not old:
        return
    ids = [row.id for row in old]
    session.execute(delete(PendingImport).where(PendingImport.file_id.in_(ids)))
    session.execute(delete(ReceivedFile).where(ReceivedFile.id.in_(ids)))
    for row in old:
        if row.path:
            shutil.rmtree(data_dir / Path(row.path).parent, ignore_errors=True)


def _safe_name(name: str) -> str:
    """The file's own name without folders or control characters (it names a file here)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    return (cleaned or "plan")[:200]


# -- import ---------------------------------------------------------------------------------


def import_plan(ctx: Context, args: Args) -> Reply:
    """`import`: the preview of the sender's last file here, stored for confirmation."""
    if args.words or args.options:
        raise UsageError()
    received = _last_file(ctx)
    data = _file_bytes(ctx, received)
    preview = _preview(ctx, data, received.file_name)
    _remember(ctx, received, preview)
    return _with_hints(ctx, preview.reply(ctx.lang), preview)


def confirm_import(ctx: Context, args: Args) -> Reply:
    """`import bestätigen [überspringen|anlegen|überschreiben]`: apply what was previewed."""
    from handlers.plan_import import ImportOptions, ImportOrigin, PlanUnreadable, apply_import

    chosen: set[str] = set()
    for word in args.words:
        option = _OPTION_WORDS.get(word.text.casefold())
        if option is None:
            raise UsageError(ctx.t("plan_chat.option_unknown", word=word.text))
        chosen.add(option)
    if args.options:
        raise UsageError()
    options = ImportOptions(
        skip_invalid="skip" in chosen,
        create_missing="create" in chosen,
        overwrite="overwrite" in chosen,
    )
    if options.create_missing and not ctx.is_admin:
        raise Refused(ctx.t("plan_chat.create_needs_admin"))
    pending = ctx.session.execute(
        select(PendingImport).where(*_pending_where(ctx)).with_for_update()
    ).scalar_one_or_none()
    if pending is None:
        raise Refused(ctx.t("plan_chat.none_pending"))
    if pending.created_at < ctx.now - PENDING_WINDOW:
        ctx.session.delete(pending)
        ctx.session.flush()
        # Said as a refusal, but the stale preview must go: raise would undo the delete.
        return Reply.text(ctx.t("plan_chat.pending_expired"), outcome="refused")
    received = pending.file
    data = _file_bytes(ctx, received)
    plain = options == ImportOptions()
    if not plain:
        # The preview was shown with the default options, and the confirmation is for
        # exactly that: with other options it is checked on its own first. Without options
        # (the usual case) the import checks it itself, computing the plan once.
        again = _preview(ctx, data, received.file_name)
        if again.digest != pending.preview_digest:
            return _changed(ctx, pending, again)
    origin = ImportOrigin(
        platform=ctx.incoming.platform,
        room=ctx.incoming.room_id,
        actor=ctx.incoming.sender_address,
        person_id=ctx.person.id if ctx.person else None,
    )
    try:
        outcome = apply_import(
            ctx.session,
            data,
            received.file_name,
            options,
            origin,
            now=ctx.now,
            today=ctx.today,
            lang=ctx.lang,
            expected_digest=pending.preview_digest if plain else None,
        )
    except PlanUnreadable as error:
        raise Refused(str(error)) from None
    if outcome.stale:
        return _changed(ctx, pending, outcome.preview)
    reply = outcome.reply(ctx.lang)
    if not outcome.applied:
        if reply.outcome == "ok":
            reply.outcome = "refused"
        return _with_hints(ctx, reply, outcome.preview)
    ctx.session.delete(pending)
    return reply


def _changed(ctx: Context, pending: PendingImport, again: ImportPreview) -> Reply:
    """The plan or the database changed since the preview: the new preview, to confirm."""
    pending.preview_digest = again.digest
    pending.created_at = ctx.now
    reply = Reply.text(heading=ctx.t("plan_chat.changed_heading"), outcome="refused")
    reply.blocks.extend(again.reply(ctx.lang).blocks)
    return _with_hints(ctx, reply, again)


def undo_import(ctx: Context, args: Args) -> Reply:
    """`import rückgängig`: the last import reverted while its measures are unchanged."""
    from handlers.plan_import import ImportOrigin, undo_last_import

    if args.words or args.options:
        raise UsageError()
    origin = ImportOrigin(
        platform=ctx.incoming.platform,
        room=ctx.incoming.room_id,
        actor=ctx.incoming.sender_address,
        person_id=ctx.person.id if ctx.person else None,
    )
    return undo_last_import(ctx.session, origin, now=ctx.now, lang=ctx.lang)


def _last_file(ctx: Context) -> ReceivedFile:
    incoming = ctx.incoming
    received = ctx.session.execute(
        select(ReceivedFile)
        .where(
            ReceivedFile.platform == incoming.platform,
            ReceivedFile.room_id == incoming.room_id,
            ReceivedFile.sender_id == incoming.sender_id,
            ReceivedFile.received_at >= ctx.now - FILE_WINDOW,
        )
        .order_by(ReceivedFile.received_at.desc(), ReceivedFile.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if received is None:
        raise Refused(ctx.t("plan_chat.no_file"))
    return received


def _file_bytes(ctx: Context, received: ReceivedFile) -> bytes:
    if not received.path:
        if received.size > MAX_FILE_BYTES:
            raise Refused(
                ctx.t(
                    "plan_chat.too_large",
                    name=received.file_name,
                    size=_megabytes(received.size),
                    limit=_megabytes(MAX_FILE_BYTES),
                )
            )
        raise Refused(ctx.t("plan_chat.not_accepted", name=received.file_name))
    try:
        return (ctx.settings.data_dir / received.path).read_bytes()
    except OSError:
        raise Refused(ctx.t("plan_chat.no_file")) from None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def _preview(ctx: Context, data: bytes, file_name: str) -> ImportPreview:
    from handlers.plan_import import ImportOptions, PlanUnreadable, preview_import

    try:
        return preview_import(
            ctx.session, data, file_name, ImportOptions(), today=ctx.today, lang=ctx.lang
        )
    except PlanUnreadable as error:
        raise Refused(str(error)) from None


def _remember(ctx: Context, received: ReceivedFile, preview: ImportPreview) -> None:
    """One pending import per sender and room: the newest preview replaces an older one."""
    ctx.session.execute(delete(PendingImport).where(*_pending_where(ctx)))
    ctx.session.add(
        PendingImport(
            platform=ctx.incoming.platform,
            room_id=ctx.incoming.room_id,
            sender_id=ctx.incoming.sender_id,
            created_at=ctx.now,
            file_id=received.id,
            preview_digest=preview.digest,
        )
    )


def _pending_where(ctx: Context) -> tuple[ColumnElement[bool], ...]:
    incoming = ctx.incoming
    return (
        PendingImport.platform == incoming.platform,
        PendingImport.room_id == incoming.room_id,
        PendingImport.sender_id == incoming.sender_id,
    )


def _with_hints(ctx: Context, reply: Reply, preview: ImportPreview) -> Reply:
    """The preview's own hints say how to go on; this adds until when it waits."""
    if preview.has_changes or preview.refused:
        until = (ctx.now + PENDING_WINDOW).astimezone(ctx.settings.timezone)
        reply.add(ctx.t("plan_chat.confirm_hint", until=until))
    return reply


# -- export ---------------------------------------------------------------------------------

ExportFormat = Literal["csv", "xlsx", "ods"]


EXPORT_OPTIONS = {
    "ressort": "department",
    "department": "department",
    "ziel": "goal",
    "goal": "goal",
    "status": "status",
    "raum": "area",
    "planungsraum": "area",
    "area": "area",
}
_EXPORT_KINDS = {"department": (Kind.DEPARTMENT,), "goal": (Kind.GOAL,), "area": (Kind.AREA,)}


def export(ctx: Context, args: Args) -> Reply:
    """`export csv|xlsx|ods|ics [bezug] [ressort:] [ziel:] [status:] [raum:]`: the plan (or
    the calendar) as a file in chat; the conditions together, as on the command line."""
    from handlers.plan_export import ExportFilter, export_file_name, export_plan

    if not args.words:
        raise UsageError()
    ctx.take_option_words(args, {"department": [Kind.DEPARTMENT], "area": [Kind.AREA]})
    fmt = args.words[0].text.casefold().lstrip(".")
    if fmt not in _MIME_TYPES:
        raise UsageError(ctx.t("plan_chat.export_format", typed=args.words[0].text))
    rest = args.words[1:]
    text = " ".join(w.text for w in rest)
    start, end = (rest[0].start, rest[-1].end) if rest else (0, 0)
    if fmt == "ics":
        if args.options:
            raise UsageError()
        return _export_calendar(ctx, text, start, end)
    found: dict[str, int | MeasureStatus] = {}
    if text:
        status = STATUS_WORDS.get(text.casefold())
        if status is not None:
            found["status"] = status
        else:
            match = ctx.resolve(text, (Kind.DEPARTMENT, Kind.GOAL, Kind.AREA), start=start, end=end)
            kind = {Kind.DEPARTMENT: "department", Kind.GOAL: "goal", Kind.AREA: "area"}
            found[kind[match.kind]] = match.id
    for key, token in args.options.items():
        if key == "status":
            status = STATUS_WORDS.get(token.text.casefold())
            if status is None:
                raise UsageError(ctx.t("plan_chat.export_status", typed=token.text))
            found["status"] = status
        else:
            found[key] = ctx.resolve(
                token.text, _EXPORT_KINDS[key], start=token.start, end=token.end
            ).id
    status_found = found.get("status")
    flt = ExportFilter(
        department_id=_id_of(found.get("department")),
        goal_id=_id_of(found.get("goal")),
        status=status_found if isinstance(status_found, MeasureStatus) else None,
        planning_area_id=_id_of(found.get("area")),
    )
    plan_format: ExportFormat = fmt  # type: ignore[assignment]
    data = export_plan(ctx.session, plan_format, flt)
    name = export_file_name(fmt, ctx.settings.municipality, ctx.today)
    path = _write_export(ctx, name, data)
    reply = Reply.text(ctx.t("plan_chat.export_done", file=name))
    reply.attachments.append(
        Attachment(path=path, mime_type=_MIME_TYPES[fmt], caption=name, file_name=name)
    )
    return reply


def _id_of(value: int | MeasureStatus | None) -> int | None:
    return value if isinstance(value, int) else None


def _export_calendar(ctx: Context, text: str, start: int, end: int) -> Reply:
    from handlers.calendar_feed import calendar_feed, write_feed
    from handlers.plan_export import export_file_name

    department: Department | None = None
    if text:
        match = ctx.resolve(text, (Kind.DEPARTMENT,), start=start, end=end)
        department = ctx.session.get(Department, match.id)
    name = ctx.settings.municipality
    if department is not None:
        name = f"{name} – {department.name}"
    data = calendar_feed(
        ctx.session,
        zone=ctx.settings.timezone,
        department_id=department.id if department else None,
        with_names=False,
        calendar_name=name,
    )
    data_dir = ctx.settings.data_dir
    feed = write_feed(data_dir, data, department_key=department.key if department else None)
    file_name = export_file_name("ics", ctx.settings.municipality, ctx.today)
    path = _write_export(ctx, file_name, data)
    try:
        shown = feed.relative_to(data_dir)
    except ValueError:
        shown = feed
    reply = Reply.text(
        ctx.t("plan_chat.export_ics", file=file_name), ctx.t("plan_chat.feed_path", path=shown)
    )
    reply.attachments.append(
        Attachment(path=path, mime_type=_MIME_TYPES["ics"], caption=file_name, file_name=file_name)
    )
    return reply


def _write_export(ctx: Context, name: str, data: bytes) -> Path:
    """The file under data_dir/generated/, where the adapter reads it to post it as `name`."""
    from handlers.outputs import write_generated

    extension = name.rpartition(".")[2]
    return write_generated(
        ctx.settings.data_dir,
        "export",
        extension,
        data,
        ctx.now.astimezone(ctx.settings.timezone),
        keep_days=ctx.settings.keep_generated_days,
    )
