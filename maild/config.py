"""Configuration: one TOML file loaded into typed, validated pydantic models.

Built once at the entry point and passed down; nothing reads it globally. A validation
error names the key path and the offending value, e.g. ``smtp.listen: ... got 'nowhere'``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from maild.report_schedule import SECTIONS, parse_schedule
from rules.config import (
    RULES_KEYS,
    RulesConfig,
    format_rules_error,
    load_rules,
    parse_duration,
)

DEFAULT_CONFIG_NAME = "config.toml"
CONFIG_ENV = "MAILD_CONFIG"

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"not a mail address: {value!r}")
    return value.lower()


_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _is_host(host: str) -> bool:
    """An IPv4 address, an IPv6 address in brackets, or a host name of RFC 1123 labels
    (whose last label is not all digits: ``999.1.1.1`` is a bad address, not a name)."""
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return True
    labels = host.removesuffix(".").split(".")
    return (
        len(host) <= 253
        and all(_HOST_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _check_listen(value: str) -> str:
    """``host:port`` (IPv6 as ``[::1]:port``) or empty to disable."""
    if value == "":
        return value
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected 'host:port' or an empty string, got {value!r}")
    if not _is_host(host):
        raise ValueError(
            f"{host!r} is neither an IP address nor a host name "
            f"(IPv6 goes in brackets: '[::1]:{port}'), got {value!r}"
        )
    return value


_BYTE_SIZE: TypeAdapter[ByteSize] = TypeAdapter(ByteSize)


def _check_size(value: Any) -> Any:
    """A byte count: an integer, or a string such as ``"25 MB"`` (10**6 bytes each) or
    ``"25 MiB"`` (2**20), read by pydantic's ByteSize."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number of bytes or a size such as '25 MB', got {value!r}")
    try:
        return int(_BYTE_SIZE.validate_python(value))
    except ValidationError:
        raise ValueError(
            f"expected a number of bytes or a size such as '25 MB' or '25 MiB', got {value!r}"
        ) from None


Size = Annotated[int, BeforeValidator(_check_size), Field(gt=0)]


class MaildSection(_Section):
    data_dir: Path = Path("var")
    ticket_prefix: str = "SUPPORT"
    first_ticket_number: Annotated[int, Field(ge=1)] = 1000
    default_priority: str = "medium"
    priorities: tuple[str, ...] = ("urgent", "high", "medium", "low")
    closed_ticket_reply: str = "follow_up"
    # Automatic mail (acknowledgements, warnings) per recipient address per hour, counted
    # on the address in lower case without its sub-address (a+1@, a+2@ count as a@).
    auto_reply_limit: Annotated[int, Field(ge=0)] = 5
    # The same per recipient domain; 0 is off (a forged sender must not be able to
    # silence every customer of a free-mail domain).
    auto_reply_domain_limit: Annotated[int, Field(ge=0)] = 0
    # Cc participants a ticket accepts from customers' mail; the rest are recorded in an
    # event and never mailed.
    max_cc: Annotated[int, Field(ge=0)] = 10
    # The environment variable whose value signs survey links; unset, a random secret is
    # made once in <data_dir>/secret. Several instances must share the variable.
    secret_env: str = "MAILD_SECRET"
    log_level: str = "INFO"
    # "text" for a terminal, "json" (one object per line) for journald or Loki.
    log_format: str = "text"
    # The rules, SLA, agents and teams may live in a file of their own; a running daemon
    # reloads it when it changes.
    rules_file: Path | None = None
    # Everything sent to this address is an internal note on the ticket it threads to.
    note_address: str | None = None
    # Who hears of problems only a human can fix (a rules file that no longer loads).
    admins: tuple[str, ...] = ()
    # A resolved ticket without a customer reply for this many days is closed; the
    # customer is warned this many days before (0: no warning).
    auto_close_days: Annotated[int, Field(ge=0)] = 3
    auto_close_warning_days: Annotated[int, Field(ge=0)] = 1

    @field_validator("note_address")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_address(item) for item in value)

    @field_validator("ticket_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(
                f"must be 1-32 letters, digits, '_', '.' or '-' (used in '[PREFIX #1234]'), "
                f"got {value!r}"
            )
        return value

    @field_validator("closed_ticket_reply")
    @classmethod
    def _closed(cls, value: str) -> str:
        if value not in ("follow_up", "reopen"):
            raise ValueError(f"must be 'follow_up' or 'reopen', got {value!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
        return value.upper()

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError(f"must be 'text' or 'json', got {value!r}")
        return value

    @model_validator(mode="after")
    def _default_priority_known(self) -> MaildSection:
        if self.default_priority not in self.priorities:
            raise ValueError(
                f"default_priority {self.default_priority!r} is not one of {list(self.priorities)}"
            )
        return self


class DatabaseSection(_Section):
    url: str = ""
    busy_timeout: Annotated[float, Field(gt=0)] = 5.0
    synchronous: str = "FULL"

    @field_validator("synchronous")
    @classmethod
    def _sync(cls, value: str) -> str:
        if value.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"must be OFF, NORMAL, FULL or EXTRA, got {value!r}")
        return value.upper()


class MailboxConfig(_Section):
    address: str
    name: str = "Support"
    # What an agent's mail to this mailbox does: "relay" sends its new text to the
    # customer, "note" keeps it as an internal note unless it says "#send".
    agent_mail: Literal["relay", "note"] = "relay"
    # Who hears of a new ticket nobody is assigned to: "all" agents, or a team's name.
    notify_new: str = "all"
    # The From display name of an agent's answer relayed to the customer.
    agent_display_name: str = "{agent} via {mailbox}"

    @field_validator("agent_display_name")
    @classmethod
    def _display(cls, value: str) -> str:
        try:
            value.format(agent="a", mailbox="b")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"may use only {{agent}} and {{mailbox}}, got {value!r} ({error})"
            ) from None
        return value

    _address = field_validator("address")(classmethod(lambda cls, v: _check_address(v)))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


class SmtpSection(_Section):
    listen: str = "127.0.0.1:2525"
    lmtp_listen: str = "127.0.0.1:2424"
    hostname: str = "localhost"
    max_message_size: Size = 25 * 1024 * 1024
    line_length_limit: Annotated[int, Field(ge=1000)] = 100_000
    # Open SMTP and LMTP connections together; the next one is answered 421.
    max_connections: Annotated[int, Field(ge=1)] = 100
    # Bytes of the messages being received and stored at once (SMTP and LMTP together),
    # counted when DATA starts: the declared SIZE, else max_message_size. Beyond it DATA
    # is answered 451 (aiosmtpd holds a whole message in memory before maild sees it).
    max_bytes_in_flight: Size = 200_000_000

    _listen = field_validator("listen", "lmtp_listen")(classmethod(lambda cls, v: _check_listen(v)))

    @field_validator("max_bytes_in_flight")
    @classmethod
    def _room_for_one(cls, value: int, info: ValidationInfo) -> int:
        largest = info.data.get("max_message_size")
        if largest is not None and value < largest:
            raise ValueError(
                f"must be at least max_message_size ({largest} bytes), or a message "
                "without a SIZE parameter is never accepted"
            )
        return value


def _wall_duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value, allow_zero=True)
    return value


def _seconds(value: Any) -> Any:
    """A duration written as words ("2m") as seconds; a number stays as it is."""
    if isinstance(value, str):
        return parse_duration(value).total_seconds()
    return value


WallDuration = Annotated[timedelta, BeforeValidator(_wall_duration), Field(gt=timedelta(0))]
"""A wall-clock duration: ``"30s"``, ``"5m"``, ``"5d"``, or seconds as a number."""


class OutboundSection(_Section):
    relay: str = ""
    starttls: bool = False
    username: str = ""
    password_env: str = ""
    templates_dir: Path | None = None
    # Canned responses for agents' "#canned NAME" lines: NAME.txt.j2 files in this folder.
    canned_dir: Path | None = None
    flush_interval: Annotated[float, Field(gt=0)] = 5.0
    # Outgoing mail is retried like an MTA's queue: waits double from a minute up to
    # max_backoff, and mail still undelivered max_lifetime after it was queued is parked
    # as dead (the admins are told once; `maild outbox retry` sends it again).
    max_lifetime: WallDuration = timedelta(days=5)
    max_backoff: WallDuration = timedelta(hours=1)
    # How long a flush holds the messages it claimed: mail an instance was sending when it
    # died goes out from another instance (or after a restart) this long after the claim.
    lease: WallDuration = timedelta(minutes=5)

    @model_validator(mode="before")
    @classmethod
    def _no_max_attempts(cls, data: Any) -> Any:
        if isinstance(data, dict) and "max_attempts" in data:
            raise ValueError(
                f"max_attempts = {data['max_attempts']!r} is gone: outgoing mail is tried "
                'until max_lifetime (default "5d") has passed, waiting at most max_backoff '
                '(default "1h") between attempts'
            )
        return data

    @field_validator("relay")
    @classmethod
    def _relay(cls, value: str) -> str:
        if value and not re.match(r"^smtp://[^:/\s]+(:\d+)?/?$", value):
            raise ValueError(f"expected 'smtp://host:port' or empty, got {value!r}")
        return value


class TrustSection(_Section):
    """When mail that claims an agent's address is believed to come from that agent.

    ``authserv_ids``: the hosts whose ``Authentication-Results`` header maild believes (the
    receiving MTA adds it; a sender can forge one from any other host). ``sources``: where
    mail arrives already checked by a trusted MTA: ``"lmtp"`` (local delivery from the
    MTA), ``"imap:NAME"`` (an [[imap]] account), ``"ingest"`` (the MTA's pipe)."""

    authserv_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @field_validator("authserv_ids")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.strip().lower() for item in value if item.strip())

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item not in ("lmtp", "smtp", "ingest", "import") and not item.startswith("imap:"):
                raise ValueError(
                    f"unknown source {item!r}: use lmtp, smtp, ingest, import or imap:NAME"
                )
        return value


class CsatSection(_Section):
    """Satisfaction surveys by mail after a ticket is resolved or closed."""

    enabled: bool = False
    # When the clock starts: at resolution, or when the ticket is closed.
    after: Literal["resolved", "closed"] = "resolved"
    # Wall time after that, like "24h" or "2d"; "0m" sends at the next sweep.
    delay: Annotated[timedelta, BeforeValidator(_wall_duration)] = timedelta(hours=24)
    # "1-5" (5 is best) or "good-bad".
    scale: Literal["1-5", "good-bad"] = "1-5"


class WebSection(_Section):
    """The optional HTTP listener of ``maild serve``: one-click survey ratings."""

    # host:port, empty for none.
    listen: str = ""
    # The address customers reach it by, used in links; default http:// + listen.
    public_url: str = ""

    _listen = field_validator("listen")(classmethod(lambda cls, v: _check_listen(v)))

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError(f"expected an http:// or https:// address, got {value!r}")
        return value

    @property
    def base_url(self) -> str:
        """What links start with: ``public_url``, else ``http://`` + ``listen``."""
        return self.public_url or (f"http://{self.listen}" if self.listen else "")


def _check_name(value: str) -> str:
    """A name that logs, metrics and commands (``maild webhooks test NAME``) show:
    letters, digits, ``_``, ``.`` and ``-``."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", value):
        raise ValueError(f"letters, digits, '_', '.' and '-' only, got {value!r}")
    return value


class ReportSection(_Section):
    """A ``[[reports]]`` entry: a report mailed on a schedule (``maild.report_schedule``)."""

    name: str
    # "daily 06:00", "weekly mon 08:00", "monthly 1 07:00" or five cron fields, in [sla]
    # timezone.
    schedule: str
    recipients: tuple[str, ...]
    # Which parts, in this order: tickets, times, sla, satisfaction, agents (default all).
    sections: tuple[str, ...] = SECTIONS
    # What a run covers: the last complete day, week or month (default: from the schedule).
    period: Literal["day", "week", "month"] | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one address is needed")
        return tuple(_check_address(address) for address in value)

    @field_validator("sections")
    @classmethod
    def _sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in SECTIONS]
        if unknown or not value:
            raise ValueError(f"expected some of {list(SECTIONS)}, got {list(value)!r}")
        return value

    @property
    def report_period(self) -> str:
        return self.period or parse_schedule(self.schedule).period


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

WEBHOOK_EVENTS = (
    "ticket.created",
    "ticket.customer_replied",
    "ticket.agent_replied",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.merged",
    "sla.warning",
    "sla.breached",
    "ticket.rated",
)
"""The events a ``[[webhooks]]`` entry can subscribe to (``maild.webhooks``)."""


class WebhookConfig(_Section):
    """A ``[[webhooks]]`` entry: ticket events POSTed to ``url``, signed with the secret in
    the environment variable ``secret_env`` (``maild.webhooks``)."""

    name: str
    # http:// or https:// address the events are POSTed to.
    url: str
    # Some of maild.webhooks.EVENTS.
    events: tuple[str, ...]
    # The environment variable holding the Standard Webhooks secret, "whsec_" + base64.
    secret_env: str
    # Send the subject, the new text of mail and rating comments too (customer data).
    include_text: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"^https?://[^\s/?#]+(/[^\s]*)?$", value, re.IGNORECASE):
            raise ValueError(f"expected an http:// or https:// address, got {value!r}")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [event for event in value if event not in WEBHOOK_EVENTS]
        if unknown or not value:
            raise ValueError(f"expected some of {list(WEBHOOK_EVENTS)}, got {list(value)!r}")
        return tuple(dict.fromkeys(value))

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"expected the name of an environment variable, got {value!r}")
        return value


class SchedulerSection(_Section):
    # Seconds between SLA sweeps (warnings, breaches, escalation, auto-close).
    sla_interval: Annotated[float, Field(gt=0)] = 60.0
    # Seconds between checks whether the rules file or the [kb] dir articles changed.
    reload_interval: Annotated[float, Field(gt=0)] = 5.0


class KbSection(_Section):
    """Knowledge-base articles suggested in the acknowledgement of a new ticket (maild.kb)."""

    # A folder of Markdown articles with YAML front matter (title, tags, url); unset: none.
    dir: Path | None = None
    # At most this many articles in one acknowledgement (0: none).
    max_suggestions: Annotated[int, Field(ge=0, le=10)] = 3
    # The relevance an article needs: about how many distinctive words of its title and
    # tags the mail must share with it (see maild/kb/suggest.py).
    min_score: Annotated[float, Field(ge=0)] = 1.5


class IntakeSection(_Section):
    max_batch: Annotated[int, Field(ge=1, le=10_000)] = 200
    # MIME nesting deeper than this (multipart and message/rfc822 parts inside each other)
    # is quarantined before the parser recurses into it; no mail client writes 30 levels.
    max_mime_depth: Annotated[int, Field(ge=1, le=100)] = 30


class LimitsSection(_Section):
    """The limit on floods of new tickets (live intake only; ``maild import`` is never
    limited)."""

    # New tickets one sender (lower case, sub-address removed) may open per hour; past it
    # their mail is stored on their newest open ticket, unacknowledged, and the admins are
    # told once per sender and hour. 0 is off.
    new_tickets_per_sender_per_hour: Annotated[int, Field(ge=0)] = 10
    # Senders never limited: addresses, or "@domain" for a whole domain. Configured agents
    # are never limited either.
    exempt: tuple[str, ...] = ()

    @field_validator("exempt")
    @classmethod
    def _exempt(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        checked = []
        for item in value:
            item = item.strip()
            if item.startswith("@"):
                if not _is_host(item[1:]):
                    raise ValueError(f"not an address or '@domain': {item!r}")
                checked.append(item.lower())
            else:
                checked.append(_check_address(item))
        return tuple(checked)


# Servers end an IDLE after 30 minutes (RFC 2177 asks clients to renew it before 29).
IDLE_LIMIT = 29 * 60


class ImapAccount(_Section):
    """One ``[[imap]]`` account: a folder the poller inside ``maild serve`` empties into one
    support mailbox."""

    name: str = ""
    host: str
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    username: str
    password_env: str = ""
    password_command: str = ""
    auth: Literal["login", "xoauth2"] | None = None
    folder: str = "INBOX"
    mailbox: str
    processed_folder: str = ""
    mark_seen: bool = False
    idle: bool = True
    poll_interval: Annotated[float, Field(gt=0)] = 60.0
    idle_timeout: Annotated[float, Field(gt=0, le=IDLE_LIMIT)] = 10 * 60.0
    timeout: Annotated[float, Field(gt=0)] = 60.0
    reconnect_delay: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_delay: Annotated[float, Field(gt=0)] = 300.0
    # How long an instance holds the account once it took or renewed it (renewed every third
    # of it): several instances on one database read an account one at a time, and another
    # takes over this long after the reader died (at once after a clean stop). "2m", or
    # seconds as a number, like [outbound] lease.
    lease: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = 120.0

    _mailbox = field_validator("mailbox")(classmethod(lambda cls, v: _check_address(v)))

    @field_validator("host", "username", "folder")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> ImapAccount:
        if bool(self.password_env) == bool(self.password_command):
            raise ValueError("set one of password_env or password_command")
        if not self.processed_folder and not self.mark_seen:
            raise ValueError(
                "set processed_folder (where stored mail is moved) or mark_seen = true"
            )
        if self.processed_folder and self.mark_seen:
            raise ValueError("processed_folder and mark_seen = true exclude each other")
        if self.processed_folder and self.processed_folder == self.folder:
            raise ValueError("processed_folder must differ from folder")
        if self.auth == "xoauth2" and not self.password_command:
            raise ValueError("auth = 'xoauth2' takes its token from password_command")
        return self

    @property
    def display_name(self) -> str:
        return self.name or f"{self.username}@{self.host}"

    @property
    def server_port(self) -> int:
        if self.port:
            return self.port
        return 993 if self.tls == "ssl" else 143

    @property
    def mechanism(self) -> str:
        """``login`` or ``xoauth2``; a token helper (password_command) means XOAUTH2 unless
        ``auth`` says otherwise."""
        if self.auth is not None:
            return self.auth
        return "xoauth2" if self.password_command else "login"

    @property
    def describe(self) -> str:
        """``host:port (tls)``, for messages that must name where maild tried to go."""
        return f"{self.host}:{self.server_port} (tls={self.tls})"


class Config(_Section):
    maild: MaildSection = MaildSection()
    database: DatabaseSection = DatabaseSection()
    mailboxes: tuple[MailboxConfig, ...] = (MailboxConfig(address="support@localhost"),)
    smtp: SmtpSection = SmtpSection()
    outbound: OutboundSection = OutboundSection()
    intake: IntakeSection = IntakeSection()
    limits: LimitsSection = LimitsSection()
    imap: tuple[ImapAccount, ...] = ()
    trust: TrustSection = TrustSection()
    scheduler: SchedulerSection = SchedulerSection()
    csat: CsatSection = CsatSection()
    web: WebSection = WebSection()
    kb: KbSection = KbSection()
    reports: tuple[ReportSection, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    # The rules half ([[rules]], [sla], [[agents]], …), validated by rules.config; set by
    # config_from_mapping from this file or [maild] rules_file.
    policy: SkipValidation[RulesConfig] = RulesConfig()

    @field_validator("mailboxes")
    @classmethod
    def _mailboxes(cls, value: tuple[MailboxConfig, ...]) -> tuple[MailboxConfig, ...]:
        if not value:
            raise ValueError("at least one [[mailboxes]] entry is needed")
        seen: set[str] = set()
        for box in value:
            if box.address in seen:
                raise ValueError(f"address {box.address!r} is listed twice")
            seen.add(box.address)
        return value

    @field_validator("policy", mode="before")
    @classmethod
    def _policy_given(cls, value: Any) -> Any:
        if not isinstance(value, RulesConfig):
            raise ValueError("unknown key")
        return value

    @model_validator(mode="after")
    def _imap_accounts(self) -> Config:
        """Each account feeds a configured mailbox and has a name of its own."""
        addresses = [box.address for box in self.mailboxes]
        problems: list[InitErrorDetails] = []
        names: set[str] = set()
        for index, account in enumerate(self.imap):
            if account.mailbox not in addresses:
                problems.append(
                    _error(
                        ("imap", index, "mailbox"),
                        f"not one of the [[mailboxes]] addresses {addresses}",
                        account.mailbox,
                    )
                )
            if account.display_name in names:
                problems.append(
                    _error(("imap", index, "name"), "used by two accounts", account.display_name)
                )
            names.add(account.display_name)
        if problems:
            raise ValidationError.from_exception_data("Config", problems)
        return self

    @field_validator("webhooks")
    @classmethod
    def _webhook_names(cls, value: tuple[WebhookConfig, ...]) -> tuple[WebhookConfig, ...]:
        names = [webhook.name for webhook in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"name {name!r} is used by two webhooks")
        return value

    @field_validator("reports")
    @classmethod
    def _report_names(cls, value: tuple[ReportSection, ...]) -> tuple[ReportSection, ...]:
        names = [report.name for report in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"name {name!r} is used by two reports")
        return value

    def imap_account(self, name: str) -> ImapAccount | None:
        for account in self.imap:
            if account.display_name == name:
                return account
        return None

    @property
    def data_dir(self) -> Path:
        return self.maild.data_dir

    def mailbox(self, address: str) -> MailboxConfig | None:
        for box in self.mailboxes:
            if box.address == address:
                return box
        return None

    def with_policy(self, policy: RulesConfig) -> Config:
        """This configuration with other rules (a reloaded rules file)."""
        return self.model_copy(update={"policy": policy})

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'maild.db'}"

    @property
    def outbound_dir(self) -> Path:
        return self.data_dir / "outbound"

    def relay_password(self) -> str | None:
        """The relay password, read from the environment variable the config names."""
        if not self.outbound.password_env:
            return None
        return os.environ.get(self.outbound.password_env)


def _error(loc: tuple[int | str, ...], message: str, value: object) -> InitErrorDetails:
    """A validation error at ``loc`` from a check that spans several sections."""
    return InitErrorDetails(type=PydanticCustomError("reference", message), loc=loc, input=value)


def _format_location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def format_validation_error(error: ValidationError) -> str:
    """One line per problem: ``key.path: message (got VALUE)``."""
    lines = []
    for item in error.errors():
        loc = _format_location(tuple(item["loc"]))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) or repr(got) in message else f" (got {got!r})"
        lines.append(f"{loc}: {message}{shown}")
    return "\n".join(lines)


def config_from_mapping(data: dict[str, Any], *, base_dir: Path | None = None) -> Config:
    """Validate ``data``; a relative ``data_dir``, ``rules_file`` or ``[kb] dir`` is taken
    relative to ``base_dir``. The rules keys are validated by ``rules.config``, from ``data``
    and from the rules file when ``[maild] rules_file`` names one."""
    main = {key: value for key, value in data.items() if key not in RULES_KEYS}
    rules_data = {key: value for key, value in data.items() if key in RULES_KEYS}
    try:
        config = Config.model_validate(main)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from None
    maild = config.maild
    if base_dir is not None and not maild.data_dir.is_absolute():
        maild = maild.model_copy(update={"data_dir": base_dir / maild.data_dir})
    if base_dir is not None and maild.rules_file is not None and not maild.rules_file.is_absolute():
        maild = maild.model_copy(update={"rules_file": base_dir / maild.rules_file})
    config = config.model_copy(update={"maild": maild})
    kb_dir = config.kb.dir
    if base_dir is not None and kb_dir is not None and not kb_dir.is_absolute():
        kb = config.kb.model_copy(update={"dir": base_dir / kb_dir})
        config = config.model_copy(update={"kb": kb})
    if maild.rules_file is not None:
        from_file = read_rules_file(maild.rules_file)
        both = sorted(set(from_file) & set(rules_data))
        if both:
            raise ConfigError(
                f"{', '.join(both)}: set both here and in rules_file {maild.rules_file}; "
                "keep each in one place"
            )
        rules_data.update(from_file)
    policy = validate_policy(rules_data, maild.priorities)
    _check_mailbox_teams(config.mailboxes, policy)
    return config.with_policy(policy)


def _check_mailbox_teams(mailboxes: tuple[MailboxConfig, ...], policy: RulesConfig) -> None:
    teams = {team.name for team in policy.teams}
    for index, box in enumerate(mailboxes):
        if box.notify_new != "all" and box.notify_new not in teams:
            raise ConfigError(
                f"mailboxes[{index}].notify_new: use 'all' or a team of [[teams]] "
                f"({', '.join(sorted(teams)) or 'none declared'}) (got {box.notify_new!r})"
            )


def validate_policy(data: dict[str, Any], priorities: tuple[str, ...]) -> RulesConfig:
    """The rules keys validated; an error names each key path (``rules[2].when.subject``)."""
    try:
        return load_rules(data, priorities)
    except ValidationError as error:
        raise ConfigError(format_rules_error(error)) from None


def read_rules_file(path: Path) -> dict[str, Any]:
    """The rules keys of a rules file; any other key there is an error."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"rules_file {path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    others = sorted(set(data) - set(RULES_KEYS))
    if others:
        raise ConfigError(
            f"{path}: {', '.join(others)}: not a rules key (a rules file holds "
            f"{', '.join(RULES_KEYS)})"
        )
    return data


def reload_policy(config: Config) -> RulesConfig:
    """The rules as the rules file says now; raises ConfigError and keeps nothing half
    loaded when it is broken."""
    if config.maild.rules_file is None:
        return config.policy
    try:
        return validate_policy(read_rules_file(config.maild.rules_file), config.maild.priorities)
    except ConfigError as error:
        raise ConfigError(f"{config.maild.rules_file}: {error}") from None


def resolve_config_path(explicit: Path | None) -> Path | None:
    """``-c`` beats ``MAILD_CONFIG`` beats ``./config.toml``; None means built-in defaults."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def load_config(path: Path | None) -> Config:
    """Read and validate a TOML file; ``None`` gives the built-in defaults."""
    if path is None:
        return config_from_mapping({}, base_dir=Path.cwd())
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return config_from_mapping(data, base_dir=path.resolve().parent)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
