"""Commands about the sender: hilfe, wer bin ich, sprache."""

from __future__ import annotations

from handlers.args import Args
from handlers.commands import OPEN_TO_UNREGISTERED, Handler, Registry, fold
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply


def make_help(registry: Registry) -> Handler:
    """`hilfe` lists the commands the sender may use; `hilfe <befehl>` shows its usage."""

    def help_command(ctx: Context, args: Args) -> Reply:
        role = ctx.person.role if ctx.person else None
        if args.words:
            found = registry.find(" ".join(w.text for w in args.words))
            if found is None:
                names = ", ".join(c.name(ctx.lang) for c in registry.commands if c.listed)
                raise UsageError(
                    ctx.de_en(
                        f"Diesen Befehl gibt es nicht. Befehle: {names}",
                        f"There is no such command. Commands: {names}",
                    )
                )
            command = found[0]
            lines = [
                command.help_line(ctx.lang),
                ctx.de_en("Aufruf: ", "Usage: ") + command.usage_line(ctx.lang),
                ctx.de_en("Beispiel: ", "Example: ") + command.example_line(ctx.lang),
                ctx.de_en("Wer: ", "Who: ") + command.access.roles(ctx.lang),
            ]
            other = command.en[0] if ctx.lang == "de" else command.de[0]
            lines.append(
                ctx.de_en("Auch: ", "Also: ")
                + other
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
        lines.append(
            ctx.de_en("Mehr zu einem Befehl: hilfe <befehl>", "More on one command: help <command>")
        )
        return Reply.text(*lines, heading=ctx.de_en("Befehle", "Commands"))

    return help_command


def whoami(ctx: Context, args: Args) -> Reply:
    incoming = ctx.incoming
    lines = [ctx.de_en("Chat-ID: ", "Chat id: ") + incoming.sender_address]
    person = ctx.person
    if person is not None:
        department = person.department.label if person.department else "–"
        lines.append(
            ctx.de_en(
                f"Registriert als {person.name} — {department}, Rolle {person.role.value}",
                f"Registered as {person.name} — {department}, role {person.role.value}",
            )
        )
        if (
            person.deputy is not None
            and person.absent_until is not None
            and person.absent_until >= ctx.today
        ):
            lines.append(
                ctx.de_en(
                    f"Abwesend bis {person.absent_until:%d.%m.%Y}, Vertretung: "
                    f"{person.deputy.name}",
                    f"Absent until {person.absent_until.isoformat()}, deputy: {person.deputy.name}",
                )
            )
    else:
        lines.append(ctx.de_en("Nicht registriert.", "Not registered."))
    if ctx.is_admin:
        lines.append(ctx.de_en("Administration: ja", "Admin: yes"))
    lines.append(ctx.de_en("Raum: ", "Room: ") + incoming.room_address)
    room = ctx.room
    if room is not None and room.department is not None:
        lines.append(ctx.de_en("Raum verknüpft mit ", "Room linked to ") + room.department.label)
    elif room is not None and room.is_coordination:
        lines.append(ctx.de_en("Koordinationsraum", "Coordination room"))
    else:
        lines.append(ctx.de_en("Raum nicht verknüpft", "Room not linked"))
    if room is not None and room.department is not None and room.is_coordination:
        lines.append(ctx.de_en("Auch Koordinationsraum", "Also the coordination room"))
    return Reply.text(*lines, heading=ctx.de_en("Wer bin ich", "Who am I"))


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
        raise Refused(
            ctx.de_en(
                "Die Sprache kann ich erst nach der Registrierung speichern.",
                "I can store a language once you are registered.",
            )
        )
    choice = args.words[0].text.casefold()
    value = "de" if choice in ("de", "deutsch") else "en"
    before = ctx.person.language
    ctx.person.language = value
    ctx.audit(
        "language", "person", ctx.person.id, before={"language": before}, after={"language": value}
    )
    ctx.lang = "de" if value == "de" else "en"
    return Reply.text(
        ctx.de_en(
            "Ich antworte Ihnen ab jetzt auf Deutsch.", "I will answer you in English from now on."
        )
    )
