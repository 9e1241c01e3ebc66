"""`regelkreis person edit|deactivate`: people administration on the command line, by the
chat's rules (handlers/people.py), audited with origin `cli`."""

from __future__ import annotations

import argparse

from bot.cli_errors import CliError
from handlers.context import Context
from handlers.people import PersonEdit, deactivate_person, edit_person, find_person
from storage.lookup import Kind
from storage.models import Department, Person, parse_chat_id

_NONE = "-"


def add_people_commands(
    person_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    edit = person_commands.add_parser(
        "edit",
        parents=[common],
        help="change a person's department, role, chat identities or e-mail",
        description="Change a registered person; what changed is printed and audited. "
        'A name shared by several people needs their department: "Max Müller (JA)".',
    )
    edit.add_argument("name", help='the person, e.g. "Max Müller" or "Max Müller (JA)"')
    edit.add_argument("--ressort", metavar="KEY", help="department key; - for none")
    edit.add_argument(
        "--rolle", "--role", dest="rolle", metavar="ROLE", help="koordination, ressort or lesen"
    )
    edit.add_argument("--add-matrix", action="append", default=[], metavar="USER_ID")
    edit.add_argument("--add-telegram", action="append", default=[], metavar="USER_ID")
    edit.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="ID",
        help="a chat identity to remove, e.g. telegram:123456789 (repeatable)",
    )
    edit.add_argument("--email", metavar="ADDRESS", help="e-mail address; - to remove it")
    deactivate = person_commands.add_parser(
        "deactivate",
        parents=[common],
        help="deactivate a person (their measures stay, reminders go to the department)",
    )
    deactivate.add_argument("name", help="the person")


def person_admin(ctx: Context, args: argparse.Namespace) -> str:
    """`person edit` or `person deactivate`, in the caller's unit of work; the line to print."""
    from handlers.admin import ROLE_WORDS

    person = _person(ctx, args.name)
    if args.person_command == "deactivate":
        open_measures = deactivate_person(ctx, person)
        return (
            f"{person.name} deactivated; {open_measures} open measure(s) stay theirs until "
            "reassigned, their reminders go to the lead departments' rooms."
        )
    edit = PersonEdit()
    if args.ressort == _NONE:
        edit.clear_department = True
    elif args.ressort:
        match = ctx.resolve(args.ressort, [Kind.DEPARTMENT])
        edit.department = ctx.session.get(Department, match.id)
    if args.rolle:
        role = ROLE_WORDS.get(args.rolle.casefold())
        if role is None:
            raise CliError("--rolle: koordination, ressort or lesen")
        edit.role = role
    for platform, ids in (("matrix", args.add_matrix), ("telegram", args.add_telegram)):
        for user_id in ids:
            parsed = parse_chat_id(f"{platform}:{user_id}")
            if parsed is None:
                raise CliError(f"{platform} id {user_id!r} is not valid")
            edit.add_identities.append(parsed)
    for address in args.remove:
        parsed = parse_chat_id(address)
        if parsed is None:
            raise CliError(f"--remove {address!r}: matrix:@user:server or telegram:123")
        edit.remove_identities.append(parsed)
    if args.email == _NONE:
        edit.clear_email = True
    elif args.email:
        edit.email = args.email
    lines = edit_person(ctx, person, edit)
    if not lines:
        return f"{person.name}: nothing changed."
    return f"{person.name} changed: " + "; ".join(lines) + "."


def _person(ctx: Context, name: str) -> Person:
    return find_person(ctx, name)
