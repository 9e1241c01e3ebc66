"""E-mail in the recipient chain (PRODUCT.md §3, docs/email.md), from an empty database set
up on the command line, against a real SMTP server (aiosmtpd, tests/smtp.py) and the Bot API
wire server (tests/telegram_wire.py) for the department's Telegram group.

- A reminder for a person with an e-mail address and no chat identity arrives once, as a
  mail with a plain-text and an HTML part and the commands to answer with.
- A 4xx is temporary: the entry waits one minute, then the mail goes out.
- Three 4xx in a row, or one 5xx, fall through to the department's room.
- Without a chat platform the e-mail still comes before the console's print.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.cli import main
from bot.config import load_config
from bot.reminders import run_due_command
from handlers.core import Incoming, Reply
from storage.models import OutboxEntry, OutboxState
from tests.conftest import FixedClock
from tests.smtp import SmtpServer, smtp_server
from tests.telegram_wire import ChatState, texts
from tests.test_reminders_send_only import TOKEN, ServerThread
from tests.test_reminders_support import berlin

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

# Monday 7 December 2026, 08:00 in Berlin: 3 days before a Thursday deadline.
MONDAY = berlin(2026, 12, 7, 8)
CLARA = 5012345699  # the coordinator, on Telegram
JA_GROUP = -1001234567890  # the Jugendamt's Telegram group
JENS = "jens.jugend@musterstadt.de"


def cli(config_file: Path, *args: str) -> None:
    assert main([*args, "--config", str(config_file)]) == 0, args


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def wire() -> Iterator[ServerThread]:
    with ServerThread(FixedClock(MONDAY)) as running:
        yield running


def _installation(tmp_path: Path, mail: SmtpServer, telegram: ServerThread | None) -> Path:
    """An operator's installation: SQLite, e-mail, optionally Telegram; people and the
    department registered on the command line. Jens has an e-mail address and no chat id."""
    path = tmp_path / "regelkreis.toml"
    text = (
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[email]\nhost = "127.0.0.1"\nport = {mail.port}\nsecurity = "none"\n'
        'sender = "Regelkreis Musterstadt <regelkreis@musterstadt.de>"\n'
    )
    if telegram is not None:
        text += f'\n[telegram]\ntoken = "{TOKEN}"\nbase_url = "{telegram.server.base_url}"\n'
    path.write_text(text, encoding="utf-8")
    cli(path, "db", "upgrade")
    cli(path, "ressort", "add", "JA", "Jugendamt")
    clara = ["--telegram", str(CLARA)] if telegram is not None else []
    cli(path, "person", "add", "Clara Koch", "--rolle", "koordination", "--admin", *clara)
    cli(
        path,
        "person",
        "add",
        "Jens Jugend",
        "--ressort",
        "JA",
        "--rolle",
        "ressort",
        "--email",
        JENS,
    )
    if telegram is not None:
        cli(path, "ressort", "link", "JA", "--telegram", str(JA_GROUP))
    return path


def _app(path: Path) -> App:
    return bootstrap(load_config(path), clock=FixedClock(MONDAY))


def _say(app: App, text: str, telegram: bool) -> Reply:
    where = str(CLARA) if telegram else "konsole"
    sender = str(CLARA) if telegram else "Clara Koch"
    return app.dispatcher.handle(
        Incoming(
            platform="telegram" if telegram else "console",
            room_id=where,
            sender_id=sender,
            text=text,
        )
    )


def _measure(app: App, telegram: bool = True) -> None:
    reply = _say(
        app,
        'neu "Spielplatz Lindenau" ressort:JA frist:10.12.2026 verantwortlich:"Jens Jugend"',
        telegram,
    )
    assert reply.outcome == "ok", reply.plain()


def _run(app: App, now: str) -> str:
    out = io.StringIO()
    assert run_due_command(app, now, False, out) == 0
    return out.getvalue()


def _entries(app: App) -> list[tuple[str, OutboxState, str | None, list[str] | None]]:
    with app.uows() as uow:
        return [
            (e.kind, e.state, e.delivered_to, e.passed_over)
            for e in uow.session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars()
        ]


def _group(wire: ServerThread) -> ChatState:
    return wire.do(wire.server.group, JA_GROUP, "Jugendamt Musterstadt")


def _in_group(wire: ServerThread) -> list[str]:
    return texts(wire.do(wire.server.bot_messages, JA_GROUP))


REMINDER = (
    "⏰ Erinnerung\n\nFrist naht\n"
    "⚪ M-1 Spielplatz Lindenau — JA, 0 %, Frist 10.12.2026 (in 3 Tagen)"
)
BY_MAIL = f"Jens Jugend (email:{JENS})"


def test_a_person_with_an_email_address_and_no_chat_id_gets_the_reminder_once_by_mail(
    tmp_path: Path, mail: SmtpServer, wire: ServerThread
) -> None:
    app = _app(_installation(tmp_path, mail, wire))
    _group(wire)
    _measure(app)
    out = _run(app, "2026-12-07T08:00")
    assert out.endswith("1 reminders recorded, 2 delivered.\n"), out
    (received,) = mail.received
    assert received.rcpt_tos == [JENS]
    message = received.message
    assert message["To"] == f"Jens Jugend <{JENS}>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    # The reminder, the commands to answer with, and the assignment notice of the same run.
    assert text.startswith(REMINDER), text
    assert "Antworten: melden M-1 <status> <NN%> <notiz> · erledigt M-1" in text
    assert "📌 Ihnen wurde M-1 zugewiesen (von Clara Koch)" in text
    assert "erledigt M-1" in html.get_content()
    assert "&lt;status&gt;" in html.get_content()
    # Delivered to Jens by mail; the department's room was not needed.
    assert [(kind, state, where) for kind, state, where, _ in _entries(app)] == [
        ("assignment", OutboxState.SENT, BY_MAIL),
        ("deadline", OutboxState.SENT, BY_MAIL),
    ]
    assert _in_group(wire) == []
    # Once: later runs the same morning send nothing again.
    for later in ("2026-12-07T08:01", "2026-12-07T09:00"):
        assert _run(app, later).endswith("0 reminders recorded, 0 delivered.\n")
    assert len(mail.received) == 1


def test_a_temporary_mail_failure_waits_a_minute_and_then_the_mail_goes_out(
    tmp_path: Path, mail: SmtpServer, wire: ServerThread
) -> None:
    app = _app(_installation(tmp_path, mail, wire))
    _group(wire)
    _measure(app)
    mail.rcpt_reply = "450 4.2.1 Mailbox busy, try again later"
    assert _run(app, "2026-12-07T08:00").endswith("1 reminders recorded, 0 delivered.\n")
    assert mail.received == [] and _in_group(wire) == []
    assert {state for _k, state, _w, _p in _entries(app)} == {OutboxState.PENDING}
    # Not yet: the first pause is one minute.
    mail.rcpt_reply = None
    assert _run(app, "2026-12-07T08:00:30").endswith("0 reminders recorded, 0 delivered.\n")
    assert mail.received == []
    assert _run(app, "2026-12-07T08:01").endswith("0 reminders recorded, 2 delivered.\n")
    (received,) = mail.received
    assert REMINDER in (received.message.get_body(("plain",)) or received.message).get_content()
    assert [(state, where) for _k, state, where, _p in _entries(app)] == [
        (OutboxState.SENT, BY_MAIL),
        (OutboxState.SENT, BY_MAIL),
    ]
    assert _in_group(wire) == []


def test_three_temporary_mail_failures_fall_through_to_the_departments_room(
    tmp_path: Path, mail: SmtpServer, wire: ServerThread
) -> None:
    app = _app(_installation(tmp_path, mail, wire))
    _group(wire)
    _measure(app)
    mail.rcpt_reply = "451 4.3.0 Temporary lookup failure"
    # Pauses of 1 and 5 minutes; the third failure falls through at once.
    for now in ("2026-12-07T08:00", "2026-12-07T08:01", "2026-12-07T08:06"):
        assert _in_group(wire) == [], now
        _run(app, now)
    (posted,) = _in_group(wire)
    assert posted.startswith(REMINDER), posted
    assert mail.received == []
    for kind, state, where, passed_over in _entries(app):
        assert (state, where) == (OutboxState.SENT, f"Jugendamt (JA) (telegram:{JA_GROUP})"), kind
        assert passed_over == [f"email:{JENS}"]
    # The mail server is back: nothing goes out twice.
    mail.rcpt_reply = None
    _run(app, "2026-12-07T09:00")
    assert mail.received == [] and len(_in_group(wire)) == 1


def test_a_permanent_mail_failure_falls_through_to_the_departments_room_at_once(
    tmp_path: Path, mail: SmtpServer, wire: ServerThread
) -> None:
    app = _app(_installation(tmp_path, mail, wire))
    _group(wire)
    _measure(app)
    mail.rcpt_reply = "550 5.1.1 No such user here"
    assert _run(app, "2026-12-07T08:00").endswith("1 reminders recorded, 2 delivered.\n")
    assert mail.received == []
    (posted,) = _in_group(wire)
    assert posted.startswith(REMINDER), posted
    for _kind, state, where, passed_over in _entries(app):
        assert (state, where) == (OutboxState.SENT, f"Jugendamt (JA) (telegram:{JA_GROUP})")
        assert passed_over == [f"email:{JENS}"]


def test_without_a_chat_platform_the_mail_comes_before_the_consoles_print(
    tmp_path: Path, mail: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _installation(tmp_path, mail, None)
    # Clara acts at the console (as `regelkreis chat --as "Clara Koch"` would).
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    cli(path, "chat", "--as", "Clara Koch")
    app = _app(path)
    _measure(app, telegram=False)
    out = _run(app, "2026-12-07T08:00")
    assert "→ Jens Jugend:" not in out, out
    (received,) = mail.received
    assert REMINDER in (received.message.get_body(("plain",)) or received.message).get_content()
    # A mail refused for good: the console prints it for him after all.
    mail.rcpt_reply = "550 5.1.1 No such user here"
    _say(
        app, 'neu "Bolzplatz Mitte" ressort:JA frist:10.12.2026 verantwortlich:"Jens Jugend"', False
    )
    out = _run(app, "2026-12-07T08:10")
    assert "→ Jens Jugend:\n📌 Ihnen wurde M-2 zugewiesen" in out, out
