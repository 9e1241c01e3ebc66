"""E-mail: the `[email]` section, the EmailNotifier against a real SMTP server (tests/smtp.py),
and `person add --email`. No mock of smtplib: every send goes over a socket to aiosmtpd."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.config import Config, ConfigError, EmailConfig, load_config
from bot.email import EmailNotifier, email_address, mailbox
from handlers.core import QuickAnswer, Reply
from handlers.ports import Delivery, DeliveryStatus, Notifier, Recipient
from storage.models import AuditEntry, Person
from tests.smtp import SmtpServer, self_signed, smtp_server

SENDER = "Regelkreis Musterstadt <regelkreis@musterstadt.de>"
EVA = Recipient(
    kind="person", platform="email", address="eva.ernst@musterstadt.de", name="Eva Ernst"
)
SECRET = "s3cret-Passw0rd"


def _config(server: SmtpServer | None = None, **values: Any) -> EmailConfig:
    fields: dict[str, Any] = {"host": "127.0.0.1", "security": "none", "sender": SENDER}
    if server is not None:
        fields["port"] = server.port
    fields.update(values)
    return EmailConfig.model_validate(fields)


def _reminder() -> Reply:
    reply = Reply.text(
        "🔴 M-12 Sprachförderung <Kita> & Schule — Frist 01.12.2026",
        "Bitte den Stand melden.",
        heading="⏰ Frist in 3 Tagen",
    )
    reply.add("Zweiter Absatz", heading="Weitere")
    reply.quick_answers = [
        QuickAnswer("✅ erledigt", "erledigt M-12", "✅"),
        QuickAnswer("🟢 läuft", "melden M-12 laufend", "🟢"),
        QuickAnswer("🟡 verzögert", "melden M-12 verzögert", "🟡"),
    ]
    return reply


def send(notifier: EmailNotifier, reply: Reply, key: str = "deadline:M-12:3") -> Delivery:
    return asyncio.run(notifier.send(EVA, reply, idempotency_key=key))


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the message --------------------------------------------------------------------------


def test_a_delivered_mail_has_a_plain_and_an_html_part_with_the_answer_commands(
    server: SmtpServer,
) -> None:
    notifier = EmailNotifier(_config(server))
    assert isinstance(notifier, Notifier) and notifier.platform == "email"

    delivery = send(notifier, _reminder())

    assert delivery.status is DeliveryStatus.DELIVERED
    [received] = server.received
    assert received.mail_from == "regelkreis@musterstadt.de"
    assert received.rcpt_tos == ["eva.ernst@musterstadt.de"]
    mail = received.message
    assert mail["Subject"] == "Regelkreis: ⏰ Frist in 3 Tagen"
    assert mail["From"] == SENDER
    assert mail["To"] == "Eva Ernst <eva.ernst@musterstadt.de>"
    assert mail["Message-ID"] == delivery.message_id
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    leaves = [part.get_content_type() for part in mail.walk() if not part.is_multipart()]
    assert leaves == ["text/plain", "text/html"]

    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    assert text.startswith(_reminder().plain())
    assert "Antworten im Chat: erledigt M-12 · melden M-12 laufend · melden M-12 verzögert" in (
        text
    )
    assert "<b>⏰ Frist in 3 Tagen</b><br>" in markup
    # Escaped: the title's <Kita> & is text, not markup.
    assert "Sprachförderung &lt;Kita&gt; &amp; Schule" in markup
    assert "<br>\nBitte den Stand melden." in markup
    for command in ("erledigt M-12", "melden M-12 laufend", "melden M-12 verzögert"):
        assert f"<code>{command}</code>" in markup


def test_the_message_id_is_the_same_for_the_same_key(server: SmtpServer) -> None:
    notifier = EmailNotifier(_config(server))
    first = send(notifier, _reminder(), "deadline:M-12:3")
    again = send(notifier, _reminder(), "deadline:M-12:3")
    other = send(notifier, _reminder(), "deadline:M-12:14")

    ids = [r.message["Message-ID"] for r in server.received]
    assert ids[0] == ids[1] == first.message_id == again.message_id
    assert ids[2] == other.message_id != ids[0]
    assert ids[0].startswith("<") and ids[0].endswith("@musterstadt.de>")


def test_subject_falls_back_and_english_commands_get_english_words(server: SmtpServer) -> None:
    reply = Reply.text("M-12 is due in 3 days.")
    reply.quick_answers = [QuickAnswer("✅ done", "done M-12", "✅")]
    send(EmailNotifier(_config(server)), reply)

    mail = server.received[0].message
    assert mail["Subject"] == "Regelkreis"
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert "Answer in chat: done M-12" in plain.get_content()
    assert "Sent automatically by Regelkreis." in plain.get_content()


def test_without_quick_answers_the_installation_language_frames_the_mail(
    server: SmtpServer,
) -> None:
    send(EmailNotifier(_config(server), language="en"), Reply.text("Weekly digest"))
    plain = server.received[0].message.get_body(("plain",))
    assert plain is not None
    assert "Sent automatically by Regelkreis." in plain.get_content()
    assert "Answer in chat" not in plain.get_content()


def test_an_attachment_travels_with_the_mail(server: SmtpServer, tmp_path: Path) -> None:
    from handlers.core import Attachment

    report = tmp_path / "bericht.csv"
    report.write_text("Nr.;Maßnahme\nM-12;Sprachförderung\n", encoding="utf-8")
    reply = Reply.text("Bericht", heading="Bericht")
    reply.attachments = [Attachment(report, "text/csv")]
    assert send(EmailNotifier(_config(server)), reply).status is DeliveryStatus.DELIVERED

    mail = server.received[0].message
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "bericht.csv"
    assert "Sprachförderung" in attached.get_content()
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None


# -- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "answer", "status"),
    [
        ("rcpt", "450 4.2.1 Mailbox busy, try again later", DeliveryStatus.TEMPORARY_FAILURE),
        ("rcpt", "550 5.1.1 No such user here", DeliveryStatus.PERMANENT_FAILURE),
        ("data", "451 4.3.0 Local error in processing", DeliveryStatus.TEMPORARY_FAILURE),
        ("data", "554 5.7.1 Message rejected as spam", DeliveryStatus.PERMANENT_FAILURE),
    ],
)
def test_the_servers_answer_decides_temporary_or_permanent(
    server: SmtpServer, where: str, answer: str, status: DeliveryStatus
) -> None:
    if where == "rcpt":
        server.rcpt_reply = answer
    else:
        server.data_reply = answer

    delivery = send(EmailNotifier(_config(server)), _reminder())

    assert delivery.status is status
    assert answer in delivery.detail
    assert delivery.detail.startswith(f"SMTP 127.0.0.1:{server.port}: ")
    assert delivery.message_id is None
    assert server.received == []


def test_a_failed_goodbye_after_the_message_was_accepted_is_still_delivered(
    server: SmtpServer,
) -> None:
    # Reported as a failure, the reminder would be sent again: a second mail.
    server.handler.quit_reply = "421 4.3.2 Shutting down"
    delivery = send(EmailNotifier(_config(server)), _reminder())
    assert delivery.status is DeliveryStatus.DELIVERED
    assert len(server.received) == 1


def test_an_unreachable_server_is_a_temporary_failure() -> None:
    delivery = send(EmailNotifier(_config(port=_free_port())), _reminder())
    assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
    assert "refused" in delivery.detail.lower()


def test_a_server_that_never_answers_times_out_as_a_temporary_failure() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        delivery = send(EmailNotifier(_config(port=port, timeout=0.5)), _reminder())
    assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
    assert "timed out" in delivery.detail


def test_a_recipient_that_is_no_address_fails_for_good_without_connecting(
    server: SmtpServer,
) -> None:
    notifier = EmailNotifier(_config(server))
    broken = Recipient(kind="person", platform="email", address="eva at rathaus", name="Eva")
    delivery = asyncio.run(notifier.send(broken, _reminder(), idempotency_key="k"))
    assert delivery.status is DeliveryStatus.PERMANENT_FAILURE
    assert "'eva at rathaus' is not an e-mail address" in delivery.detail


# -- TLS and login ------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> Any:
    return self_signed(tmp_path)


def test_starttls_with_login_delivers(tls: Any) -> None:
    with smtp_server(tls=tls, accounts={"regelkreis": SECRET}) as server:
        config = _config(
            server, security="starttls", verify=False, user="regelkreis", password=SECRET
        )
        delivery = send(EmailNotifier(config), _reminder())
        assert delivery.status is DeliveryStatus.DELIVERED, delivery.detail
        [received] = server.received
        assert received.login == "regelkreis"
        assert received.message["Subject"] == "Regelkreis: ⏰ Frist in 3 Tagen"


def test_a_wrong_password_fails_for_good_and_is_never_shown(
    tls: Any, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wr0ng-Passw0rd"
    caplog.set_level(logging.DEBUG)
    with smtp_server(tls=tls, accounts={"regelkreis": SECRET}) as server:
        config = _config(
            server, security="starttls", verify=False, user="regelkreis", password=wrong
        )
        delivery = send(EmailNotifier(config), _reminder())
        assert delivery.status is DeliveryStatus.PERMANENT_FAILURE
        assert "535" in delivery.detail
        assert server.received == []
    assert wrong not in delivery.detail and wrong not in caplog.text
    assert wrong not in repr(config) and wrong not in str(config)
    assert "not delivered (permanent)" in caplog.text


def test_starttls_checks_the_certificate_by_default(tls: Any) -> None:
    with smtp_server(tls=tls) as server:
        delivery = send(EmailNotifier(_config(server, security="starttls")), _reminder())
        assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
        assert "certificate is not trusted" in delivery.detail
        assert server.received == []


def test_starttls_refused_by_a_server_without_it_is_a_configuration_error(
    server: SmtpServer,
) -> None:
    delivery = send(EmailNotifier(_config(server, security="starttls")), _reminder())
    assert delivery.status is DeliveryStatus.PERMANENT_FAILURE
    assert "STARTTLS" in delivery.detail


def test_a_server_that_requires_starttls_refuses_plain_sending(tls: Any) -> None:
    with smtp_server(tls=tls) as server:
        delivery = send(EmailNotifier(_config(server, security="none")), _reminder())
        assert delivery.status is DeliveryStatus.PERMANENT_FAILURE
        assert "530" in delivery.detail


# aiosmtpd only knows STARTTLS as TLS for AUTH and warns; the connection is TLS throughout.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_delivers(tls: Any) -> None:
    with smtp_server(tls=tls, implicit=True, accounts={"regelkreis": SECRET}) as server:
        config = _config(server, security="tls", verify=False, user="regelkreis", password=SECRET)
        delivery = send(EmailNotifier(config), _reminder())
        assert delivery.status is DeliveryStatus.DELIVERED, delivery.detail
        assert server.received[0].login == "regelkreis"


def test_check_says_what_is_wrong(server: SmtpServer) -> None:
    assert asyncio.run(EmailNotifier(_config(server)).check()) is None
    problem = asyncio.run(EmailNotifier(_config(port=_free_port())).check())
    assert problem is not None and problem.startswith("SMTP 127.0.0.1:")


def test_sends_at_the_same_time_each_arrive(server: SmtpServer) -> None:
    notifier = EmailNotifier(_config(server))

    async def many() -> list[Delivery]:
        return await asyncio.gather(
            *(notifier.send(EVA, _reminder(), idempotency_key=f"k{n}") for n in range(5))
        )

    assert all(d.status is DeliveryStatus.DELIVERED for d in asyncio.run(many()))
    assert len({r.message["Message-ID"] for r in server.received}) == 5


# -- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("eva.ernst@musterstadt.de", "eva.ernst@musterstadt.de"),
        (" Eva.Ernst@Musterstadt.DE ", "Eva.Ernst@musterstadt.de"),
        ("amt51+fristen@stadt-müllheim.de", "amt51+fristen@xn--stadt-mllheim-2ob.de"),
        ("eva", None),
        ("eva@", None),
        ("@stadt.de", None),
        ("eva@stadt", None),
        ("eva ernst@stadt.de", None),
        ("eva@stadt.de, max@stadt.de", None),
        ("Eva <eva@stadt.de>", None),
        ("eva..ernst@stadt.de", None),
        ("eva@stadt.de\r\nBcc: x@y.de", None),
    ],
)
def test_addresses(text: str, address: str | None) -> None:
    assert email_address(text) == address


def test_a_sender_may_carry_a_name() -> None:
    sender = mailbox("Stadt Müllheim – Regelkreis <regelkreis@stadt.de>")
    assert sender is not None and sender.addr_spec == "regelkreis@stadt.de"
    assert mailbox("a@stadt.de, b@stadt.de") is None
    assert mailbox("Regelkreis") is None


# -- configuration ------------------------------------------------------------------------


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    path = tmp_path / "regelkreis.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ or {})


def test_a_valid_section_loads_with_its_defaults(tmp_path: Path) -> None:
    config = _load(
        tmp_path, '[email]\nhost = "smtp.musterstadt.de"\nsender = "regelkreis@musterstadt.de"\n'
    )
    assert config.email is not None
    assert (config.email.port, config.email.security, config.email.timeout) == (587, "starttls", 20)
    assert config.email.verify and config.email.user is None and config.email.password is None
    notifier = EmailNotifier.from_config(config)
    assert notifier is not None and notifier.language == config.bot.language

    tls = _load(tmp_path, '[email]\nhost = "smtp.x.de"\nsender = "r@x.de"\nsecurity = "tls"\n')
    assert tls.email is not None and tls.email.port == 465
    chosen = _load(tmp_path, '[email]\nhost = "smtp.x.de"\nsender = "r@x.de"\nport = 2525\n')
    assert chosen.email is not None and chosen.email.port == 2525


def test_without_the_section_there_is_no_email(tmp_path: Path) -> None:
    config = _load(tmp_path, "[bot]\n", {"REGELKREIS_EMAIL_PASSWORD": SECRET})
    assert config.email is None
    assert EmailNotifier.from_config(config) is None


def test_the_password_comes_from_the_environment(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        '[email]\nhost = "smtp.x.de"\nsender = "r@x.de"\nuser = "regelkreis"\n',
        {"REGELKREIS_EMAIL_PASSWORD": SECRET},
    )
    assert config.email is not None and config.email.password is not None
    assert config.email.password.get_secret_value() == SECRET
    assert SECRET not in repr(config)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('host = "smtp.x.de"', "email.sender: is required"),
        ('sender = "r@x.de"', "email.host: is required"),
        ('host = "smtp.x.de"\nsender = "regelkreis"', "email.sender: 'regelkreis' is not one"),
        ('host = "smtp://smtp.x.de"\nsender = "r@x.de"', "email.host: write the server's name"),
        ('host = "smtp.x.de"\nsender = "r@x.de"\nsecurity = "ssl"', "email.security: Input"),
        ('host = "smtp.x.de"\nsender = "r@x.de"\nport = 0', "email.port: Input should be"),
        ('host = "smtp.x.de"\nsender = "r@x.de"\ntimeout = -1', "email.timeout: Input should"),
        ('host = "smtp.x.de"\nsender = "r@x.de"\ntls = true', "email.tls: unknown key"),
        (
            'host = "smtp.x.de"\nsender = "r@x.de"\nuser = "u"',
            "email: user needs password (or REGELKREIS_EMAIL_PASSWORD",
        ),
        (
            'host = "smtp.x.de"\nsender = "r@x.de"\npassword = "p"',
            "email: password (or REGELKREIS_EMAIL_PASSWORD) is set but user is not",
        ),
        (
            'host = "smtp.x.de"\nsender = "r@x.de"\nsecurity = "none"\nuser = "u"\npassword = "p"',
            'email: security = "none" would send the password unencrypted to smtp.x.de',
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, f"[email]\n{section}\n")
    assert message in str(error.value)
    assert '"p"' not in str(error.value)


def test_the_example_file_documents_every_key(tmp_path: Path) -> None:
    example_file = Path(__file__).resolve().parent.parent / "config.example.toml"
    example = example_file.read_text("utf-8")
    assert load_config(example_file, environ={}).email is None
    assert "# [email]" in example and "REGELKREIS_EMAIL_PASSWORD" in example
    for key in EmailConfig.model_fields:
        assert f"# {key} = " in example, key
    # The section as documented, switched on, is valid (the password from the environment).
    section = example[example.index("# [email]") : example.index("[reminders]")]
    lines = [line.removeprefix("# ") for line in section.splitlines() if line.startswith("# ")]
    documented = "\n".join(line for line in lines if not line.startswith("password"))
    config = _load(tmp_path, documented + "\n", {"REGELKREIS_EMAIL_PASSWORD": SECRET})
    assert config.email is not None and config.email.sender.startswith("Regelkreis <")
    assert config.email.password is not None


# -- person add --email -------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def test_person_add_stores_the_email_address(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["person", "add", "Eva Ernst", "--rolle", "lesen", "--email", "Eva.Ernst@Stadt.DE"]
    assert main([*args, "--config", str(config_file)]) == 0
    assert (
        "Eva Ernst registered (lesen; no chat identity yet; e-mail Eva.Ernst@stadt.de)."
        in capsys.readouterr().out
    )
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        eva = uow.session.execute(select(Person).where(Person.name == "Eva Ernst")).scalar_one()
        assert eva.email == "Eva.Ernst@stadt.de"
        changes = uow.session.execute(
            select(AuditEntry).where(AuditEntry.entity_kind == "person")
        ).scalars()
        assert [c.after.get("email") for c in changes if c.after] == [None, "Eva.Ernst@stadt.de"]


@pytest.mark.parametrize("bad", ["eva", "eva@stadt", "Eva <eva@stadt.de>", ""])
def test_person_add_refuses_a_bad_address(
    config_file: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    args = ["person", "add", "Eva Ernst", "--rolle", "lesen", "--email", bad]
    assert main([*args, "--config", str(config_file)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"regelkreis: --email {bad!r} is not an e-mail address (e.g. eva.ernst@stadt.de)"
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        assert uow.session.execute(select(Person)).first() is None
