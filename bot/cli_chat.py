"""`regelkreis chat` (and `run` with no platform configured): the console chat in the terminal."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import App
from bot.cli_errors import CliError
from bot.console import PLATFORM as CONSOLE
from bot.console import ConsoleChat
from handlers.i18n import t
from storage.demo import DEMO_COORDINATOR
from storage.models import ChatIdentity, Person

# The console user of a fresh installation, where nobody is registered yet.
OPERATOR = "operator"


def console_chat(app: App, as_person: str | None, room: str) -> int:
    """Talk in the terminal, or read one command a line when standard input is not one."""
    sender = _console_identity(app, as_person)
    _log_to_file(app.config.data_dir / "regelkreis.log")
    chat = ConsoleChat(app, sender, room, sys.stdout)
    if sys.stdin.isatty():
        chat.run_interactive()
    else:
        chat.run_script(sys.stdin)
    return 0


def _log_to_file(path: Path) -> None:
    """In the console chat the terminal is the conversation: log lines go to a file, never
    between the bot's replies."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return  # an unwritable data folder: keep logging where it was
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)


def _console_identity(app: App, as_person: str | None) -> str:
    """The console user id to act as: a registered person (by name), or the operator."""
    wanted = as_person or DEMO_COORDINATOR
    with app.uows(write=True) as uow:
        people = uow.session.execute(select(Person).order_by(Person.id)).scalars().all()
        person = next((p for p in people if p.name.casefold() == wanted.casefold()), None)
        if person is None and as_person:
            matches = [p for p in people if wanted.casefold() in p.name.casefold()]
            if len(matches) == 1:
                person = matches[0]
            else:
                names = ", ".join(p.name for p in (matches or people)[:12]) or "–"
                raise CliError(f"no registered person {as_person!r}. Registered: {names}")
        if person is None:
            # The operator at the terminal acts as admin (a fresh installation, or nobody
            # named like the example coordinator).
            settings = app.dispatcher.settings
            notice = "console.operator" if people else "console.operator_nobody_registered"
            print(t(settings.language, notice), file=sys.stderr)
            app.dispatcher.settings = replace(
                settings, admins=settings.admins | {f"{CONSOLE}:{OPERATOR}"}
            )
            return OPERATOR
        identity = next((i for i in person.identities if i.platform == CONSOLE), None)
        if identity is None:
            # Whoever sits at the server's terminal is trusted to act as any registered person.
            identity = ChatIdentity(platform=CONSOLE, user_id=person.name)
            person.identities.append(identity)
            uow.commit()
        return identity.user_id
