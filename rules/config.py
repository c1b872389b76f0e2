"""The rules half of the TOML file: ``[[rules]]``, ``[sla]``, ``[[escalation.tiers]]``,
``[[agents]]``, ``[[teams]]``, ``[vip]`` and ``[assignment]``, as frozen pydantic models.

Pure: imports nothing of the project outside ``rules/``, no I/O. Everything is checked once,
at load: regular expressions are compiled, durations and business hours parsed, names that
refer to each other (a rule's team, a tier's team, an agent's teams) resolved. A problem is
reported with its key path, e.g.
``rules[2].when.subject: invalid regular expression '(': missing ), unterminated subpattern
at position 0`` (indices count from 0, as pydantic does everywhere in maild's messages).

The priorities are maild's (``[maild] priorities``); pass them as validation context,
``RulesConfig.model_validate(data, context={"priorities": [...]})``; without it the standard
``urgent, high, medium, low`` apply.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, core_schema

from rules.businesstime import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    BusinessCalendar,
    WeeklyHours,
    parse_day_hours,
)
from rules.model import NAMED_ONLY, EventKind
from rules.sla import SlaPolicy, SlaTargets

DEFAULT_PRIORITIES = ("urgent", "high", "medium", "low")
STRATEGIES = ("round_robin", "least_busy", "skills")
NOTIFY_SPECIAL = ("assignee", "team", "requester")
STATUSES = ("new", "open", "pending", "resolved", "closed")
"""A ticket's statuses (``storage.models.TicketStatus``, which ``rules/`` may not import)."""
HOLIDAY_YEARS = range(2000, 2101)
"""Years for which ``holiday_country`` is expanded into dates."""

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_DURATION = re.compile(r"(?:\d+\s*[a-z]+\s*)+")
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION_UNITS = {
    **dict.fromkeys(("w", "wk", "week", "weeks"), timedelta(weeks=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
}


def _priorities(info: ValidationInfo) -> tuple[str, ...]:
    context = info.context if isinstance(info.context, Mapping) else {}
    return tuple(context.get("priorities") or DEFAULT_PRIORITIES)


def _check_priority(value: str, info: ValidationInfo) -> str:
    known = _priorities(info)
    if value not in known:
        raise ValueError(f"unknown priority {value!r}: use one of {', '.join(known)}")
    return value


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"not a mail address: {value!r}")
    return value.lower()


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"expected a name of letters, digits, '_', '.', '+' or '-', got {value!r}")
    return value


def _as_tuple(value: Any) -> Any:
    """A single string where a list is expected becomes a list of one."""
    return (value,) if isinstance(value, str) else value


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """``"90m"``, ``"4h"``, ``"3d"``, ``"1w"``, ``"1h30m"``, ``"1 week"`` → timedelta.

    A day is 24 hours and a week 7 days *of business time*: with 09:00-17:00 business hours
    ``"24h"`` is three business days. (The same words serve wall-clock durations elsewhere,
    such as the delay of a satisfaction survey; ``allow_zero`` admits ``"0m"`` there.)
    """
    cleaned = text.strip().lower()
    if _DURATION.fullmatch(cleaned):
        total = timedelta(0)
        for amount, unit in _DURATION_PART.findall(cleaned):
            if unit not in _DURATION_UNITS:
                break
            total += int(amount) * _DURATION_UNITS[unit]
        else:
            if total <= timedelta(0) and not (allow_zero and total == timedelta(0)):
                raise ValueError(f"a duration must be longer than zero, got {text!r}")
            return total
    raise ValueError(f"expected a duration like '90m', '4h', '3d' or '1w', got {text!r}")


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"expected a duration like '90m', '4h', '3d' or '1w', got {value!r}")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(lambda value: f"{int(value.total_seconds() // 60)}m", return_type=str),
]


def _weekly_hours(value: Any) -> WeeklyHours:
    """``"24x7"`` or a weekday table; a bad day is reported at its own key."""
    if isinstance(value, WeeklyHours):
        return value
    if isinstance(value, Mapping):
        problems = []
        for key, text in value.items():
            try:
                if not isinstance(text, str):
                    raise ValueError(f"expected a string like '09:00-17:00', got {text!r}")
                if key.strip().lower() not in WEEKDAY_NAMES:
                    raise ValueError(f"unknown weekday: use {', '.join(WEEKDAYS)}")
                parse_day_hours(text)
            except ValueError as error:
                problems.append(
                    InitErrorDetails(
                        type="value_error", loc=(key,), input=text, ctx={"error": error}
                    )
                )
        if problems:
            raise ValidationError.from_exception_data("business hours", problems)
        return WeeklyHours.parse(value)
    if isinstance(value, str):
        return WeeklyHours.parse(value)
    raise ValueError(f"expected '24x7' or a table of weekdays, got {value!r}")


Hours = Annotated[
    WeeklyHours,
    BeforeValidator(_weekly_hours),
    PlainSerializer(lambda value: value.describe(), return_type=str),
]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}: use an IANA name like 'Europe/Berlin'"
        ) from None
    return value


# --------------------------------------------------------------------------- matchers


class _SourceMatch:
    """A condition compiled from what the admin wrote (``source``): equal, hashed, shown and
    (de)serialised by that source, so a config round-trips as written."""

    __slots__ = ()
    source: Any
    _expected: str

    def __init__(self, source: Any) -> None:
        raise NotImplementedError

    @classmethod
    def _accepts(cls, value: Any) -> bool:
        raise NotImplementedError

    def _serialized(self) -> Any:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.source == self.source  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"

    @classmethod
    def _validate(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if cls._accepts(value):
            return cls(value)
        raise ValueError(f"expected {cls._expected}, got {value!r}")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value._serialized()
            ),
        )


class TextMatch(_SourceMatch):
    """A ``subject``/``body``/``header.NAME`` condition: a string is a regular expression,
    a list of strings is keywords. Both are case-insensitive and search anywhere; a keyword
    matches where a word starts with it (``refund`` finds "Refunds" and "refunded", not
    "nonrefundable"), and spaces in it match any whitespace."""

    __slots__ = ("keywords", "pattern", "source")

    def __init__(self, source: str | Sequence[str]) -> None:
        if isinstance(source, str):
            self.source: str | tuple[str, ...] = source
            self.keywords = False
            try:
                self.pattern = re.compile(source, re.IGNORECASE)
            except re.error as error:
                raise ValueError(f"invalid regular expression {source!r}: {error}") from None
            return
        words = tuple(source)
        if not words:
            raise ValueError("an empty keyword list never matches")
        alternatives = []
        for word in words:
            if not isinstance(word, str) or not word.strip():
                raise ValueError(f"a keyword must be a non-empty string, got {word!r}")
            alternatives.append(r"\s+".join(re.escape(part) for part in word.split()))
        self.source = words
        self.keywords = True
        self.pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)

    def search(self, text: str) -> str | None:
        """The matched text, or None."""
        found = self.pattern.search(text)
        return None if found is None else found.group(0)

    def describe(self) -> str:
        if self.keywords:
            return "keywords " + ", ".join(repr(word) for word in self.source)
        return f"regex {self.source!r}"

    @classmethod
    def _accepts(cls, value: Any) -> bool:
        return isinstance(value, str) or (
            isinstance(value, Sequence) and not isinstance(value, bytes | bytearray)
        )

    _expected = "a regular expression (string) or a list of keywords"

    def _serialized(self) -> str | list[str]:
        return list(self.source) if self.keywords else self.source  # type: ignore[arg-type]


class AddressMatch(_SourceMatch):
    """A ``from``/``to`` condition: addresses or domains, with ``*`` and ``?`` globs, one
    or a list. ``"*@example.com"`` and ``"example.com"`` are the same domain; a pattern
    without ``@`` is matched against the domain only (``"*.example.com"`` for subdomains)."""

    __slots__ = ("pattern", "source")

    def __init__(self, source: str | Sequence[str]) -> None:
        globs = (source,) if isinstance(source, str) else tuple(source)
        if not globs:
            raise ValueError("an empty address list never matches")
        alternatives = []
        for glob in globs:
            if not isinstance(glob, str) or not glob.strip() or any(c.isspace() for c in glob):
                raise ValueError(f"expected an address or domain pattern, got {glob!r}")
            glob = glob.strip().lower()
            if "@" not in glob:
                glob = "*@" + glob
            elif glob.startswith("@"):
                glob = "*" + glob
            alternatives.append(fnmatch.translate(glob))
        self.source = globs
        self.pattern = re.compile("|".join(f"(?:{item})" for item in alternatives))

    def matches(self, address: str) -> bool:
        return self.pattern.match(address.strip().lower()) is not None

    def describe(self) -> str:
        return ", ".join(repr(glob) for glob in self.source)

    @classmethod
    def _accepts(cls, value: Any) -> bool:
        return isinstance(value, str | list | tuple)

    _expected = "an address pattern or a list of them"

    def _serialized(self) -> list[str]:
        return list(self.source)


# --------------------------------------------------------------------------- rules


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_RATING = re.compile(r"(<=|>=|<|>|=)?\s*(\S+)")


class RatingMatch(_Model):
    """A condition on a satisfaction rating: a comparison of a 1-5 rating (``"<=2"``), or
    one rating (``"5"``, ``"bad"``). Written as a string in the rules file."""

    op: Literal["<=", ">=", "<", ">", "="]
    value: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        if not isinstance(data, str):
            return data
        match = _RATING.fullmatch(data.strip().lower())
        value = match.group(2) if match else ""
        op = (match.group(1) if match else None) or "="
        if value not in ("1", "2", "3", "4", "5", "good", "bad") or (
            op != "=" and not value.isdigit()
        ):
            raise ValueError(
                f"expected a rating like '<=2', '>=4', '5', 'good' or 'bad', got {data!r}"
            )
        return {"op": op, "value": value}

    def matches(self, rating: str) -> bool:
        if self.op == "=":
            return rating == self.value
        if not rating.isdigit():
            return False
        given, wanted = int(rating), int(self.value)
        return {
            "<=": given <= wanted,
            ">=": given >= wanted,
            "<": given < wanted,
            ">": given > wanted,
        }[self.op]

    def describe(self) -> str:
        return self.value if self.op == "=" else f"{self.op}{self.value}"


class When(_Model):
    """Conditions; all that are given must hold. ``any`` holds when one of its entries
    (each a table of conditions, all of which must hold) does. An empty ``when`` always
    holds. ``event`` defaults to ``ticket.created`` at the top level of a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)

    from_: AddressMatch | None = Field(default=None, alias="from")
    to: AddressMatch | None = None
    subject: TextMatch | None = None
    body: TextMatch | None = None
    headers: dict[str, TextMatch] = Field(default_factory=dict)
    category: tuple[str, ...] | None = None
    priority: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    event: tuple[str, ...] | None = None
    vip: bool | None = None
    # A satisfaction rating (ticket.rated): "<=2", ">=4", "5", "bad".
    rating: RatingMatch | None = None
    any: tuple[When, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _gather_headers(cls, data: Any) -> Any:
        """``"header.X-Priority" = "1"`` (a quoted key) and ``header.X-Priority = "1"``
        (a dotted key, which TOML reads as a ``header`` table) both land in ``headers``."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        headers = dict(data.pop("headers", None) or {})
        table = data.pop("header", None)
        if table is not None:
            if not isinstance(table, Mapping):
                raise ValueError(
                    f"header: expected header names, e.g. header.X-Priority = '1', got {table!r}"
                )
            headers.update(table)
        for key in [key for key in data if key.startswith("header.")]:
            headers[key.removeprefix("header.")] = data.pop(key)
        if headers:
            data["headers"] = headers
        return data

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, TextMatch]) -> dict[str, TextMatch]:
        for name in value:
            if not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name):
                raise ValueError(f"not a header name: {name!r}")
        return {name.lower(): match for name, match in value.items()}

    @field_validator("category", "priority", "status", "event", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty status list never matches")
        cleaned = tuple(item.strip().lower() for item in value)
        for item in cleaned:
            if item not in STATUSES:
                raise ValueError(f"unknown status {item!r}: use one of {', '.join(STATUSES)}")
        return cleaned

    @field_validator("category")
    @classmethod
    def _categories(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty category list never matches")
        return tuple(item.strip().casefold() for item in value)

    @field_validator("priority")
    @classmethod
    def _priority_known(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty priority list never matches")
        return tuple(_check_priority(item, info) for item in value)

    @field_validator("event")
    @classmethod
    def _events_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty event list never matches")
        if "*" in value:
            return tuple(kind.value for kind in EventKind if kind.value not in NAMED_ONLY)
        known = [kind.value for kind in EventKind]
        for item in value:
            if item not in known:
                raise ValueError(f"unknown event {item!r}: use '*' or one of {', '.join(known)}")
        return value

    @field_validator("any")
    @classmethod
    def _any_not_empty(cls, value: tuple[When, ...] | None) -> tuple[When, ...] | None:
        if value is not None and not value:
            raise ValueError("'any' needs at least one alternative")
        return value


class AssignSpec(_Model):
    """``then.assign``: an agent, a team (its agent picked by ``[assignment] strategy``),
    or a strategy among the ticket's team (all agents when it has none). As a string: an
    address, a strategy name or a team name; as a table:
    ``{ team = "billing", strategy = "skills" }``."""

    agent: str | None = None
    team: str | None = None
    strategy: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = data.strip()
            if "@" in data:
                return {"agent": data}
            if data in STRATEGIES:
                return {"strategy": data}
            return {"team": data}
        return data

    @field_validator("agent")
    @classmethod
    def _agent(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str | None) -> str | None:
        if value is not None and value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}: use one of {', '.join(STRATEGIES)}")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> AssignSpec:
        if self.agent and (self.team or self.strategy):
            raise ValueError("assign either an agent or a team/strategy, not both")
        if not (self.agent or self.team or self.strategy):
            raise ValueError("assign needs an agent, a team or a strategy")
        return self


class NotifySpec(_Model):
    """``then.notify``: addresses, team names, or ``assignee`` / ``team`` / ``requester``;
    optionally the template to send (a name in maild's template folder)."""

    to: tuple[str, ...]
    template: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, str | list | tuple):
            return {"to": _as_tuple(data)}
        return data

    @field_validator("to", mode="before")
    @classmethod
    def _to_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("to")
    @classmethod
    def _targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("notify needs at least one address or team")
        return tuple(_check_address(item) if "@" in item else item.strip() for item in value)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)


class Then(_Model):
    """Actions of a matching rule. ``escalate = true`` moves the ticket one tier up,
    ``escalate = "L4"`` to that tier (never down). ``stop = true``: no later rule runs."""

    category: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assign: AssignSpec | None = None
    notify: NotifySpec | None = None
    escalate: bool | str | None = None
    stop: bool = False

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty category")
        return None if value is None else value.strip().casefold()

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_priority(value, info)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_name(tag) for tag in value)

    @field_validator("escalate")
    @classmethod
    def _escalate(cls, value: bool | str | None) -> bool | str | None:
        if value is False:
            return None
        if isinstance(value, str) and not value.strip():
            raise ValueError("empty tier name")
        return value


class IdleFor(_Model):
    """A rule's ``idle_for``: how long a ticket has had no message before the rule's
    ``ticket.idle`` fires. A string (``"48h"``) is wall time; the table
    ``{ after = "48h", business_hours = true }`` counts only ``[sla] business_hours`` in the
    SLA timezone, minus holidays, as SLA targets do (``"24h"`` is then three 8-hour days)."""

    after: Duration
    business_hours: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"after": parse_duration(data)}
        if isinstance(data, timedelta):
            return {"after": data}
        if not isinstance(data, Mapping | IdleFor):
            raise ValueError(
                'expected a duration like "48h", or a table like '
                f'{{ after = "48h", business_hours = true }}, got {data!r}'
            )
        return data

    def due(self, since: datetime, calendar: BusinessCalendar) -> datetime:
        """When a ticket whose last message came at ``since`` has been idle this long."""
        if self.business_hours and not calendar.continuous:
            return calendar.add(since, self.after)
        return since + self.after

    def describe(self) -> str:
        """``48h``, ``1h30m``, ``48h business``."""
        hours, minutes = divmod(int(self.after.total_seconds() // 60), 60)
        text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")
        return f"{text} business" if self.business_hours else text


class Rule(_Model):
    """One ``[[rules]]`` entry. ``enabled = false`` keeps a rule out of the daemon while
    ``maild rules test`` can still try it. ``idle_for`` belongs to (and is required by) a
    rule whose event is ``ticket.idle``."""

    name: str
    enabled: bool = True
    when: When = When()
    then: Then = Then()
    idle_for: IdleFor | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a rule needs a name")
        return value.strip()

    @field_validator("idle_for", mode="wrap")
    @classmethod
    def _idle_for_named(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        """A bad ``idle_for`` says which rule it belongs to, not only its position."""
        try:
            return handler(value)
        except ValidationError as error:
            name = info.data.get("name")
            if name is None:
                raise
            raise ValidationError.from_exception_data(
                "Rule", [_named_problem(item, name) for item in error.errors()]
            ) from None

    @cached_property
    def events(self) -> frozenset[str]:
        """The events the rule listens to (``ticket.created`` unless ``when.event`` says)."""
        return frozenset(self.when.event or (EventKind.CREATED.value,))


def _named_problem(item: Any, rule: str) -> InitErrorDetails:
    """A validation error of a rule's key, its message saying which rule."""
    if item["type"] != "value_error":
        return InitErrorDetails(
            type=item["type"], loc=item["loc"], input=item["input"], ctx=item.get("ctx", {})
        )
    message = item["msg"].removeprefix("Value error, ")
    return InitErrorDetails(
        type="value_error",
        loc=item["loc"],
        input=item["input"],
        ctx={"error": ValueError(f"rule {rule!r}: {message}")},
    )


# --------------------------------------------------------------------------- SLA


class Targets(_Model):
    first_response: Duration | None = None
    resolution: Duration | None = None


DEFAULT_TARGETS: dict[str, Targets] = {
    "urgent": Targets(first_response=timedelta(hours=1), resolution=timedelta(hours=4)),
    "high": Targets(first_response=timedelta(hours=2), resolution=timedelta(hours=24)),
    "medium": Targets(first_response=timedelta(hours=4), resolution=timedelta(hours=72)),
    "low": Targets(first_response=timedelta(hours=8), resolution=timedelta(weeks=1)),
}


def _merge_targets(base: SlaTargets, override: Targets | None) -> SlaTargets:
    if override is None:
        return base
    return SlaTargets(
        first_response=override.first_response or base.first_response,
        resolution=override.resolution or base.resolution,
    )


class SlaConfig(_Model):
    """``[sla]``: targets per priority (``[sla.policies.urgent] first_response = "1h"``),
    optionally per category (``[sla.categories.billing.high]``) and for VIP requesters
    (``[sla.vip.high]``); a VIP target beats a category target beats the priority's.
    Unset keys keep the defaults (urgent 1h/4h, high 2h/24h, medium 4h/72h, low 8h/1w).

    Durations are business time in ``timezone``'s ``business_hours`` (default 24x7) minus
    ``holidays`` and the public holidays of ``holiday_country`` (ISO code, with an optional
    ``holiday_subdivision``, via the ``holidays`` package). A warning is due at ``warn_at``
    of a target (0 turns warnings off).
    """

    timezone: str = "UTC"
    business_hours: Hours = WeeklyHours.always()
    holidays: tuple[date, ...] = ()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    warn_at: Annotated[float, Field(ge=0, lt=1)] = 0.75
    policies: dict[str, Targets] = Field(default_factory=dict)
    categories: dict[str, dict[str, Targets]] = Field(default_factory=dict)
    vip: dict[str, Targets] = Field(default_factory=dict)

    _timezone = field_validator("timezone")(classmethod(lambda cls, v: _timezone(v)))

    @field_validator("business_hours")
    @classmethod
    def _some_hours(cls, value: WeeklyHours) -> WeeklyHours:
        if value.weekly_minutes == 0:
            raise ValueError("business hours are closed every day: no target could be met")
        return value

    @field_validator("policies", "vip")
    @classmethod
    def _priority_keys(cls, value: dict[str, Targets], info: ValidationInfo) -> Any:
        for key in value:
            _check_priority(key, info)
        return value

    @field_validator("categories")
    @classmethod
    def _category_keys(cls, value: dict[str, dict[str, Targets]], info: ValidationInfo) -> Any:
        for per_priority in value.values():
            for key in per_priority:
                _check_priority(key, info)
        return {name.strip().casefold(): per_priority for name, per_priority in value.items()}

    @model_validator(mode="after")
    def _country_known(self) -> SlaConfig:
        if self.holiday_country is None:
            if self.holiday_subdivision is not None:
                raise ValueError("holiday_subdivision needs holiday_country")
            return self
        try:
            import holidays
        except ImportError:  # pragma: no cover - a dependency of maild
            raise ValueError("holiday_country needs the 'holidays' package") from None
        try:
            holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=2000
            )
        except NotImplementedError as error:
            raise ValueError(f"holiday_country: {error}") from None
        return self

    @cached_property
    def holiday_dates(self) -> frozenset[date]:
        """``holidays`` plus the country's public holidays of :data:`HOLIDAY_YEARS`."""
        dates = set(self.holidays)
        if self.holiday_country is not None:
            import holidays

            dates.update(
                holidays.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision, years=HOLIDAY_YEARS
                )
            )
        return frozenset(dates)

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.business_hours, self.timezone, self.holiday_dates)

    def policy(self, priorities: Sequence[str] = DEFAULT_PRIORITIES) -> SlaPolicy:
        """The lookup the SLA code uses: targets per (priority, category, vip)."""
        table: dict[tuple[str, str | None, bool], SlaTargets] = {}
        for priority in priorities:
            base = _merge_targets(SlaTargets(), DEFAULT_TARGETS.get(priority))
            base = _merge_targets(base, self.policies.get(priority))
            vip = _merge_targets(base, self.vip.get(priority))
            table[(priority, None, False)] = base
            table[(priority, None, True)] = vip
            for category, per_priority in self.categories.items():
                by_category = _merge_targets(base, per_priority.get(priority))
                table[(priority, category, False)] = by_category
                table[(priority, category, True)] = _merge_targets(
                    by_category, self.vip.get(priority)
                )
        return SlaPolicy(table, self.warn_at)


# --------------------------------------------------------------------------- people


class Team(_Model):
    name: str
    address: str | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)


class Agent(_Model):
    """An ``[[agents]]`` entry. ``working_hours`` are read in ``timezone`` (default: the
    SLA timezone); without them the agent can take tickets at any time."""

    address: str
    name: str = ""
    teams: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    max_open: Annotated[int, Field(ge=1)] | None = None
    active: bool = True
    aliases: tuple[str, ...] = ()
    working_hours: Hours | None = None
    timezone: str | None = None

    _address = field_validator("address")(classmethod(lambda cls, v: _check_address(v)))

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_address(item) for item in value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.strip().casefold() for item in value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.address, *self.aliases)


class VipConfig(_Model):
    """``[vip]``: requesters whose tickets count as VIP (``when.vip``, ``[sla.vip]``)."""

    addresses: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_address(item) for item in value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for item in value:
            domain = item.strip().lower().removeprefix("@")
            if not domain or "@" in domain or any(c.isspace() for c in domain):
                raise ValueError(f"not a domain: {item!r}")
            cleaned.append(domain)
        return tuple(cleaned)

    def is_vip(self, address: str) -> bool:
        """The address is listed, or its domain or a parent domain is."""
        address = address.strip().lower()
        if address in self.addresses:
            return True
        domain = address.rpartition("@")[2]
        return any(domain == item or domain.endswith("." + item) for item in self.domains)


class Tier(_Model):
    """An ``[[escalation.tiers]]`` entry: who takes the ticket at this tier, and whether
    reaching it raises the priority (``true``: one step; a name: at least that one)."""

    name: str
    team: str | None = None
    addresses: tuple[str, ...] = ()
    raise_priority: bool | str = False

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_address(item) for item in value)

    @field_validator("raise_priority")
    @classmethod
    def _raise(cls, value: bool | str, info: ValidationInfo) -> bool | str:
        return _check_priority(value, info) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _someone(self) -> Tier:
        if self.team is None and not self.addresses:
            raise ValueError(f"tier {self.name!r} needs a team or addresses")
        return self


class EscalationConfig(_Model):
    tiers: tuple[Tier, ...] = ()


class AssignmentConfig(_Model):
    """``[assignment]``: the strategy used when a rule assigns to a team by name."""

    strategy: str = "round_robin"

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}: use one of {', '.join(STRATEGIES)}")
        return value


# --------------------------------------------------------------------------- the whole


RULES_KEYS = ("rules", "sla", "escalation", "agents", "teams", "vip", "assignment")
"""The top-level TOML keys this module owns."""


class RulesConfig(_Model):
    rules: tuple[Rule, ...] = ()
    sla: SlaConfig = SlaConfig()
    escalation: EscalationConfig = EscalationConfig()
    agents: tuple[Agent, ...] = ()
    teams: tuple[Team, ...] = ()
    vip: VipConfig = VipConfig()
    assignment: AssignmentConfig = AssignmentConfig()
    _priorities: tuple[str, ...] = PrivateAttr(DEFAULT_PRIORITIES)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> RulesConfig:
        self._priorities = _priorities(info)
        problems = _cross_check(self)
        if problems:
            raise ValidationError.from_exception_data(
                "RulesConfig",
                [
                    InitErrorDetails(
                        type="value_error", loc=loc, input=value, ctx={"error": ValueError(msg)}
                    )
                    for loc, msg, value in problems
                ],
            )
        return self

    @cached_property
    def teams_by_name(self) -> dict[str, Team]:
        return {team.name: team for team in self.teams}

    @cached_property
    def agents_by_address(self) -> dict[str, Agent]:
        """Every address and alias of every agent → the agent."""
        return {address: agent for agent in self.agents for address in agent.addresses}

    def agent_for(self, address: str) -> Agent | None:
        return self.agents_by_address.get(address.strip().lower())

    @cached_property
    def active_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    @property
    def idle_rules(self) -> tuple[Rule, ...]:
        """The active rules the ``ticket.idle`` sweep fires, in file order."""
        return tuple(
            rule
            for rule in self.active_rules
            if rule.idle_for is not None and EventKind.IDLE.value in rule.events
        )

    @property
    def priorities(self) -> tuple[str, ...]:
        """The priorities the file was validated against, highest first."""
        return self._priorities

    @cached_property
    def sla_policy(self) -> SlaPolicy:
        return self.sla.policy(self._priorities)


def _cross_check(config: RulesConfig) -> list[tuple[tuple[str | int, ...], str, Any]]:
    problems: list[tuple[tuple[str | int, ...], str, Any]] = []
    teams: set[str] = set()
    for i, team in enumerate(config.teams):
        if team.name in teams:
            problems.append((("teams", i, "name"), f"team {team.name!r} is listed twice", None))
        teams.add(team.name)
    addresses: set[str] = set()
    for i, agent in enumerate(config.agents):
        for address in agent.addresses:
            if address in addresses:
                problems.append(
                    (("agents", i, "address"), f"address {address!r} is listed twice", None)
                )
            addresses.add(address)
        for name in agent.teams:
            if name not in teams:
                problems.append(
                    (
                        ("agents", i, "teams"),
                        f"unknown team {name!r} (declare it in [[teams]])",
                        None,
                    )
                )
    tiers: set[str] = set()
    for i, tier in enumerate(config.escalation.tiers):
        if tier.name in tiers:
            problems.append(
                (("escalation", "tiers", i, "name"), f"tier {tier.name!r} is listed twice", None)
            )
        tiers.add(tier.name)
        if tier.team is not None and tier.team not in teams:
            problems.append(
                (("escalation", "tiers", i, "team"), f"unknown team {tier.team!r}", None)
            )
    names: set[str] = set()
    for i, rule in enumerate(config.rules):
        if rule.name in names:
            problems.append((("rules", i, "name"), f"rule {rule.name!r} is listed twice", None))
        names.add(rule.name)
        problems.extend(_idle_problems(i, rule))
        then = rule.then
        if then.assign is not None:
            if then.assign.agent is not None and then.assign.agent not in addresses:
                problems.append(
                    (("rules", i, "then", "assign"), f"unknown agent {then.assign.agent!r}", None)
                )
            if then.assign.team is not None and then.assign.team not in teams:
                problems.append(
                    (("rules", i, "then", "assign"), f"unknown team {then.assign.team!r}", None)
                )
        if then.notify is not None:
            for target in then.notify.to:
                if "@" not in target and target not in teams and target not in NOTIFY_SPECIAL:
                    problems.append(
                        (
                            ("rules", i, "then", "notify"),
                            f"unknown team {target!r}: use an address, a team or one of "
                            f"{', '.join(NOTIFY_SPECIAL)}",
                            None,
                        )
                    )
        if isinstance(then.escalate, str) and then.escalate not in tiers:
            problems.append(
                (
                    ("rules", i, "then", "escalate"),
                    f"unknown tier {then.escalate!r}"
                    + (f": use one of {', '.join(sorted(tiers))}" if tiers else ""),
                    None,
                )
            )
        if then.escalate is True and not tiers:
            problems.append(
                (("rules", i, "then", "escalate"), "no [[escalation.tiers]] are configured", None)
            )
    return problems


def _idle_problems(i: int, rule: Rule) -> list[tuple[tuple[str | int, ...], str, Any]]:
    """``idle_for`` goes with ``event = "ticket.idle"``: required by an enabled rule that
    names it, meaningless on any other."""
    listens = EventKind.IDLE.value in rule.events
    if listens and rule.idle_for is None and rule.enabled:
        return [
            (
                ("rules", i, "idle_for"),
                f"rule {rule.name!r} fires on ticket.idle: it needs idle_for, how long the "
                'ticket has had no message (e.g. idle_for = "48h", or '
                'idle_for = { after = "48h", business_hours = true })',
                None,
            )
        ]
    if not listens and rule.idle_for is not None:
        return [
            (
                ("rules", i, "idle_for"),
                f"rule {rule.name!r} has idle_for but does not fire on ticket.idle: "
                'add when.event = "ticket.idle", or remove idle_for',
                None,
            )
        ]
    return []


def load_rules(
    data: Mapping[str, Any], priorities: Sequence[str] = DEFAULT_PRIORITIES
) -> RulesConfig:
    """Validate the rules keys of a TOML document (other keys are ignored)."""
    subset = {key: data[key] for key in RULES_KEYS if key in data}
    return RulesConfig.model_validate(subset, context={"priorities": tuple(priorities)})


# --------------------------------------------------------------------------- errors


def format_location(loc: Sequence[int | str]) -> str:
    """``("rules", 2, "when", "headers", "X-Priority")`` → ``rules[2].when.header.X-Priority``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        if part == "headers":  # only When has it; the TOML spells it header.NAME
            part = "header"
        path += f".{part}" if path else str(part)
    return path or "(top level)"


def format_rules_error(error: ValidationError) -> str:
    """One line per problem: ``key.path: message`` (with the bad value when the message
    does not already show it)."""
    lines = []
    for item in error.errors():
        loc = format_location(tuple(item["loc"]))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        got = item.get("input")
        shown = (
            ""
            if got is None
            or isinstance(got, dict | list | tuple)
            or item["type"] == "missing"
            or repr(got) in message
            else f" (got {got!r})"
        )
        lines.append(f"{loc}: {message}{shown}")
    return "\n".join(lines)
