"""Commands about the sender: hilfe, wer bin ich, sprache."""

from __future__ import annotations

from handlers.args import Args
from handlers.commands import OPEN_TO_UNREGISTERED, Handler, Registry, fold
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date


def make_help(registry: Registry) -> Handler:
    """`hilfe` lists the commands the sender may use; `hilfe <befehl>` shows its usage."""

    def help_command(ctx: Context, args: Args) -> Reply:
        role = ctx.person.role if ctx.person else None
        if args.words:
            found = registry.find(" ".join(w.text for w in args.words))
            if found is None:
                names = ", ".join(c.name(ctx.lang) for c in registry.commands if c.listed)
                raise UsageError(ctx.t("account.no_such_command", names=names))
            command = found[0]
            lines = [
                command.help_line(ctx.lang),
                ctx.t("account.help_usage", usage=command.usage_line(ctx.lang)),
                ctx.t("account.help_example", example=command.example_line(ctx.lang)),
                ctx.t("account.help_who", roles=command.access.roles(ctx.lang)),
            ]
            other = command.en[0] if ctx.lang == "de" else command.de[0]
            lines.append(
                ctx.t("account.help_also", names=other)
                + (f", /{command.ascii}" if fold(command.de[0]) != command.ascii else "")
            )
            return Reply.text(*lines, heading=command.name(ctx.lang))
        lines = []
        for command in registry.commands:
            if not command.listed or not command.access.allows(role, ctx.is_admin):
                continue
            if ctx.person is None and (
                # „sprache“ is stored per person, so it needs a registration.
                command.key == "language"
                or (not ctx.is_admin and command.key not in OPEN_TO_UNREGISTERED)
            ):
                continue
            lines.append(f"{command.usage_line(ctx.lang)} — {command.help_line(ctx.lang)}")
        lines.append(ctx.t("account.help_more"))
        return Reply.text(*lines, heading=ctx.t("account.help_heading"))

    return help_command


def whoami(ctx: Context, args: Args) -> Reply:
    incoming = ctx.incoming
    lines = [ctx.t("account.chat_id", address=incoming.sender_address)]
    person = ctx.person
    if person is not None:
        department = person.department.label if person.department else "–"
        lines.append(
            ctx.t(
                "account.registered_as",
                person=person.name,
                department=department,
                role=person.role.value,
            )
        )
        # The absence first: it is a column, the deputy one more query.
        if (
            person.absent_until is not None
            and person.absent_until >= ctx.today
            and person.deputy is not None
        ):
            lines.append(
                ctx.t(
                    "account.away",
                    until=fmt_date(person.absent_until, ctx.lang),
                    deputy=person.deputy.name,
                )
            )
    else:
        lines.append(ctx.t("account.not_registered"))
    if ctx.is_admin:
        lines.append(ctx.t("account.admin_yes"))
    lines.append(ctx.t("common.room", room=incoming.room_address))
    room = ctx.room
    if room is not None and room.department is not None:
        lines.append(ctx.t("account.room_linked_to", department=room.department.label))
    elif room is not None and room.is_coordination:
        lines.append(ctx.t("common.coordination_room"))
    else:
        lines.append(ctx.t("account.room_not_linked"))
    if room is not None and room.department is not None and room.is_coordination:
        lines.append(ctx.t("account.also_coordination_room"))
    return Reply.text(*lines, heading=ctx.t("account.whoami_heading"))


def language(ctx: Context, args: Args) -> Reply:
    if len(args.words) != 1 or args.words[0].text.casefold() not in (
        "de",
        "en",
        "deutsch",
        "english",
        "englisch",
    ):
        raise UsageError()
    if ctx.person is None:
        raise Refused(ctx.t("account.language_needs_registration"))
    choice = args.words[0].text.casefold()
    value = "de" if choice in ("de", "deutsch") else "en"
    before = ctx.person.language
    ctx.person.language = value
    ctx.audit(
        "language", "person", ctx.person.id, before={"language": before}, after={"language": value}
    )
    ctx.lang = "de" if value == "de" else "en"
    return Reply.text(ctx.t("account.language_set"))
