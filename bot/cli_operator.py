"""The set-up commands ressort, room, person, handlungsfeld and trend, by the chat's rules."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable

from bot.bootstrap import App, core_settings
from bot.cli_errors import CliError
from handlers.admin import (
    ROLE_WORDS,
    create_department,
    link_room,
    make_coordination_room,
    register_person,
    room_link,
)
from handlers.catalogs import Catalog, add_entry, list_entries, rename_entry, retire_entry
from handlers.context import Ambiguous, CommandError, Context, NotFound, Refused, UsageError
from handlers.core import Incoming
from handlers.dispatch import limit_message
from storage.limits import OutOfRange, TooLong
from storage.lookup import Kind
from storage.models import Department, parse_chat_id
from storage.uow import UnitOfWork


def operator_command(app: App, args: argparse.Namespace) -> int:
    """The set-up commands: the same rules and audit as in chat, origin `cli`."""

    def run(action: Callable[[Context], str], *, write: bool = True) -> int:
        with app.uows(write=write) as uow:
            ctx = cli_context(app, uow)
            try:
                message = action(ctx)
                uow.session.flush()  # an over-long name is refused here, in words
            except (TooLong, OutOfRange) as beyond:
                raise CliError(limit_message(beyond, "en")) from None
            except UsageError as error:
                raise CliError(error.reason or "invalid arguments") from None
            except NotFound as error:
                similar = "; ".join(m.label for m in error.suggestions)
                hint = f" (similar: {similar})" if similar else ""
                if not similar and error.hint:
                    hint = f". {error.hint}"
                raise CliError(f"not found: {error.text}{hint}") from None
            except Ambiguous as error:
                options = "; ".join(m.label for m in error.candidates)
                raise CliError(f"{error.text!r} is ambiguous: {options}") from None
            except (Refused, CommandError) as error:
                raise CliError(str(error)) from None
            uow.commit()
        print(message)
        return 0

    catalog: Catalog | None = getattr(args, "catalog", None)
    if catalog is not None:
        if args.catalog_command == "list":
            return run(lambda ctx: "\n".join(list_entries(ctx, catalog)), write=False)
        if args.catalog_command == "add":
            return run(lambda ctx: add_entry(ctx, catalog, " ".join(args.name)))
        if args.catalog_command == "rename":
            return run(lambda ctx: rename_entry(ctx, catalog, args.old, args.new))
        return run(lambda ctx: retire_entry(ctx, catalog, " ".join(args.name)))
    if args.command == "ressort" and args.ressort_command == "add":
        return run(
            lambda ctx: create_department(ctx, args.key, args.name, args.alias).label + " created."
        )
    if args.command == "ressort" and args.ressort_command == "link":
        platform, room_id = _room_of(args)

        def link(ctx: Context) -> str:
            department = _department(ctx, args.key)
            link_room(ctx, room_link(ctx, platform, room_id), department)
            return f"{platform}:{room_id} linked to {department.label}."

        return run(link)
    if args.command == "room":
        platform, room_id = _room_of(args)

        def coordinate(ctx: Context) -> str:
            make_coordination_room(ctx, room_link(ctx, platform, room_id))
            return f"{platform}:{room_id} is the coordination room."

        return run(coordinate)
    if args.command == "person" and args.person_command in ("edit", "deactivate"):
        from bot.cli_people import person_admin

        return run(lambda ctx: person_admin(ctx, args))
    if args.command == "person":
        identities = [("matrix", m) for m in args.matrix] + [("telegram", t) for t in args.telegram]

        def add(ctx: Context) -> str:
            from bot.email import email_address

            for platform, user_id in identities:
                if parse_chat_id(f"{platform}:{user_id}") is None:
                    raise UsageError(
                        f"{platform} id {user_id!r} is not valid (Matrix: "
                        "@user:server, Telegram: a number)"
                    )
            address = email_address(args.email) if args.email is not None else None
            if args.email is not None and address is None:
                raise UsageError(
                    f"--email {args.email!r} is not an e-mail address (e.g. eva.ernst@stadt.de)"
                )
            role = ROLE_WORDS[args.rolle]
            department = _department(ctx, args.ressort) if args.ressort else None
            if department is None and role.value == "ressort":
                raise UsageError("--ressort is required for the role ressort")
            person = register_person(
                ctx,
                args.name,
                department,
                role,
                identities,
                language=args.language,
                is_admin=args.admin,
            )
            if address is not None:
                person.email = address
                ctx.audit(
                    "update", "person", person.id, before={"email": None}, after={"email": address}
                )
            ids = ", ".join(i.address for i in person.identities) or "no chat identity yet"
            if address is not None:
                ids += f"; e-mail {address}"
            return f"{person.name} registered ({role.value}; {ids})."

        return run(add)
    raise CliError(f"unknown command {args.command}")


def _room_of(args: argparse.Namespace) -> tuple[str, str]:
    if args.matrix:
        # `!abc123:example.org`, or since room version 12 `!` and an opaque id alone.
        if not args.matrix.startswith("!") or len(args.matrix) < 2 or " " in args.matrix:
            raise CliError(
                "a Matrix room id starts with ! (e.g. !abc123:example.org, or !abc123 in "
                "rooms of version 12 and later)"
            )
        return "matrix", str(args.matrix)
    if not str(args.telegram).lstrip("-").isdigit():
        raise CliError("a Telegram chat id is a number, e.g. -1001234567890")
    return "telegram", str(args.telegram)


def _department(ctx: Context, key: str) -> Department:
    match = ctx.resolve(key, [Kind.DEPARTMENT])
    department = ctx.session.get(Department, match.id)
    assert department is not None
    return department


def cli_context(app: App, uow: UnitOfWork) -> Context:
    """The handlers' context for the operator at the command line (shared with cli_plan)."""
    incoming = Incoming(platform="cli", room_id="cli", sender_id=getpass.getuser(), text="")
    return Context(
        incoming=incoming,
        uow=uow,
        person=None,
        is_admin=True,
        lang="en",
        now=app.clock(),
        settings=core_settings(app.config),
        lookup=app.dispatcher.lookup,
        room=None,
        # The operator's verbs change data: a fragment must name exactly one thing (§2).
        writes=True,
    )
