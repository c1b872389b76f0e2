"""Rule evaluation: a ticket view and an event in, actions out.

Pure: no I/O, no clock. Each condition of a rule is a small predicate that answers with a
reason ("subject contains 'refund'", "requester is not a VIP"); a rule matches when all of
its conditions hold, and its actions carry the rule's name and those reasons, so the
pipeline can record each change as an event naming the rule (Mailman's rules and chains
read the same way). Rules run in file order; a matching rule with ``stop = true`` ends the
evaluation. A later rule sees the category, priority and tags set by earlier ones, so one
rule can classify and the next route by category. A ``ticket.idle`` event is due for one
rule (``Event.rule``, the sweep found its ``idle_for`` passed): only that rule runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC

from rules.config import Rule, TextMatch, Then, When
from rules.model import Action, ActionKind, Escalate, Event, TicketView

Check = tuple[bool, str]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """How one rule fared: why it matched (every condition's reason) or why not (the first
    condition that failed), and what it asks for."""

    rule: str
    matched: bool
    reasons: tuple[str, ...]
    actions: tuple[Action, ...] = ()
    stopped: bool = False


def evaluate(rules: Iterable[Rule], ticket: TicketView, event: Event) -> list[Action]:
    """The actions of the matching enabled rules, in file order, up to a ``stop``."""
    return [action for outcome in explain(rules, ticket, event) for action in outcome.actions]


def explain(
    rules: Iterable[Rule],
    ticket: TicketView,
    event: Event,
    *,
    include_disabled: bool = False,
) -> list[RuleOutcome]:
    """Every rule's outcome up to the one that stops (for ``maild rules test``).

    Disabled rules are skipped unless ``include_disabled``: that is how an admin tries a
    rule on a real mail before switching it on.
    """
    outcomes = []
    view = ticket
    for rule in rules:
        if not rule.enabled and not include_disabled:
            continue
        kind = str(event.kind)
        if kind not in rule.events:
            outcomes.append(
                RuleOutcome(rule.name, False, (f"event {kind} is not {_listing(rule.events)}",))
            )
            continue
        if event.rule is not None and event.rule != rule.name:
            outcomes.append(
                RuleOutcome(rule.name, False, (f"{kind} is due for rule {event.rule!r} only",))
            )
            continue
        matched, reasons = _holds(rule.when, view, event)
        if not matched:
            outcomes.append(RuleOutcome(rule.name, False, tuple(reasons)))
            continue
        reasons = [f"event is {kind}", *_idle_reason(rule, event), *reasons]
        actions = tuple(_actions(rule.name, rule.then, tuple(reasons)))
        outcomes.append(RuleOutcome(rule.name, True, tuple(reasons), actions, rule.then.stop))
        view = _apply(view, rule.then)
        if rule.then.stop:
            break
    return outcomes


def _idle_reason(rule: Rule, event: Event) -> list[str]:
    if event.idle_since is None or rule.idle_for is None:
        return []
    since = event.idle_since.astimezone(UTC)
    return [f"no message since {since:%Y-%m-%d %H:%M} UTC (idle_for {rule.idle_for.describe()})"]


# --------------------------------------------------------------------------- conditions


def _holds(when: When, ticket: TicketView, event: Event) -> tuple[bool, list[str]]:
    """All conditions of ``when``: (True, every reason) or (False, [the failing one])."""
    reasons = []
    for check in _CHECKS:
        result = check(when, ticket, event)
        if result is None:
            continue
        ok, reason = result
        if not ok:
            return False, [reason]
        reasons.append(reason)
    return True, reasons


def _event(when: When, ticket: TicketView, event: Event) -> Check | None:
    # At the top level the rule's default (ticket.created) is checked before _holds.
    if when.event is None:
        return None
    kind = str(event.kind)
    if kind in when.event:
        return True, f"event is {kind}"
    return False, f"event {kind} is not {_listing(when.event)}"


def _vip(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.vip is None:
        return None
    if ticket.vip == when.vip:
        return True, "requester is a VIP" if ticket.vip else "requester is not a VIP"
    return False, "requester is not a VIP" if when.vip else "requester is a VIP"


def _category(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.category is None:
        return None
    if ticket.category is None:
        return False, "the ticket has no category"
    category = ticket.category.casefold()
    if category in when.category:
        return True, f"category is {category!r}"
    return False, f"category {category!r} is not {_listing(when.category)}"


def _priority(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.priority is None:
        return None
    if ticket.priority in when.priority:
        return True, f"priority is {ticket.priority!r}"
    return False, f"priority {ticket.priority!r} is not {_listing(when.priority)}"


def _status(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.status is None:
        return None
    if ticket.status in when.status:
        return True, f"status is {ticket.status!r}"
    return False, f"status {ticket.status!r} is not {_listing(when.status)}"


def _from(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.from_ is None:
        return None
    sender = (event.sender or ticket.requester).lower()
    if when.from_.matches(sender):
        return True, f"from {sender!r} matches {when.from_.describe()}"
    return False, f"from {sender!r} does not match {when.from_.describe()}"


def _to(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.to is None:
        return None
    mailbox = (event.mailbox or ticket.mailbox).lower()
    if when.to.matches(mailbox):
        return True, f"to {mailbox!r} matches {when.to.describe()}"
    return False, f"to {mailbox!r} does not match {when.to.describe()}"


def _text(label: str, match: TextMatch, text: str) -> Check:
    found = match.search(text)
    if found is not None:
        return True, f"{label} contains {found!r} ({match.describe()})"
    return False, f"{label} does not match {match.describe()}"


def _subject(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.subject is None:
        return None
    subject = ticket.subject if event.subject is None else event.subject
    return _text("subject", when.subject, subject)


def _headers(when: When, ticket: TicketView, event: Event) -> Check | None:
    if not when.headers:
        return None
    reasons = []
    for name, match in when.headers.items():
        values = event.header_values(name)
        if not values:
            return False, f"header {name} is absent"
        for value in values:
            ok, reason = _text(f"header {name}", match, value)
            if ok:
                reasons.append(reason)
                break
        else:
            return False, f"header {name} does not match {match.describe()}"
    return True, "; ".join(reasons)


def _body(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.body is None:
        return None
    return _text("body", when.body, event.body)


def _any(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.any is None:
        return None
    failures = []
    for index, alternative in enumerate(when.any):
        ok, reasons = _holds(alternative, ticket, event)
        if ok:
            return True, f"any[{index}]: " + "; ".join(reasons or ["no conditions"])
        failures.append(f"any[{index}]: {reasons[0]}")
    return False, "no alternative of 'any' holds (" + "; ".join(failures) + ")"


# Cheap checks first; the body, possibly long, last but one.
def _rating(when: When, ticket: TicketView, event: Event) -> Check | None:
    if when.rating is None:
        return None
    wanted = when.rating.describe()
    if event.rating is None:
        return False, f"no rating to compare with {wanted}"
    if when.rating.matches(event.rating):
        return True, f"rating {event.rating} is {wanted}"
    return False, f"rating {event.rating} is not {wanted}"


_CHECKS: tuple[Callable[[When, TicketView, Event], Check | None], ...] = (
    _event,
    _rating,
    _vip,
    _category,
    _priority,
    _status,
    _from,
    _to,
    _subject,
    _headers,
    _body,
    _any,
)


def _listing(values: Iterable[str]) -> str:
    items = sorted(values)
    if len(items) == 1:
        return repr(items[0])
    return "one of " + ", ".join(repr(item) for item in items)


# --------------------------------------------------------------------------- actions


def _actions(rule: str, then: Then, reasons: tuple[str, ...]) -> Iterable[Action]:
    if then.category is not None:
        yield Action(rule, ActionKind.CATEGORY, then.category, reasons)
    if then.priority is not None:
        yield Action(rule, ActionKind.PRIORITY, then.priority, reasons)
    if then.tags:
        yield Action(rule, ActionKind.TAGS, then.tags, reasons)
    if then.assign is not None:
        yield Action(rule, ActionKind.ASSIGN, then.assign, reasons)
    if then.notify is not None:
        yield Action(rule, ActionKind.NOTIFY, then.notify, reasons)
    if then.escalate is not None:
        tier = then.escalate if isinstance(then.escalate, str) else None
        yield Action(rule, ActionKind.ESCALATE, Escalate(tier), reasons)


def _apply(view: TicketView, then: Then) -> TicketView:
    """What later rules see of this rule's changes."""
    changes: dict[str, object] = {}
    if then.category is not None:
        changes["category"] = then.category
    if then.priority is not None:
        changes["priority"] = then.priority
    if then.tags:
        changes["tags"] = view.tags | frozenset(then.tags)
    return dataclasses.replace(view, **changes) if changes else view  # type: ignore[arg-type]
