"""Not-a-ticket rules: auto-replies, bounces, list mail, spam, our own mail, blocked senders.

Each rule has a stable name and returns a verdict (reason + which header decided it) or None;
``classify_not_ticket`` walks them in order and the first verdict wins. The order matters:
a bounce often also carries ``Auto-Submitted`` and ``Precedence: bulk``, so bounce rules run
before the auto-reply rules, and the weak bounce hint (a null Return-Path, which RFC 3834
auto-replies also use) runs after them. Stdlib only: the facts are extracted by ``parse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from propdesk.core.message import NotTicketReason


@dataclass(frozen=True, slots=True)
class MailFacts:
    """What the rules look at: first value of each header (lower-cased names) and a few facts."""

    headers: Mapping[str, str]
    sender: str  # lower-cased address, "" when unknown
    subject: str
    content_type: str  # of the top-level part, lower-case, e.g. "multipart/report"
    report_type: str  # the report-type parameter, lower-case, "" when absent
    part_types: frozenset[str] = field(default_factory=frozenset)  # every MIME type in the tree
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    blocked_senders: frozenset[str] = field(default_factory=frozenset)
    loop_header: str = "x-propdesk-loop"


Verdict = tuple[NotTicketReason, str]
Rule = Callable[[MailFacts], Verdict | None]

_AUTOREPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-auto-response-suppress",
    "x-loop",
)
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "x-mailman-version", "mailing-list")
_LIST_SENDER = re.compile(r"[\w.+-]+-(?:admin|owner|request|bounces?)@[\w.-]+", re.IGNORECASE)
_NOREPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply)[\w.+-]*@", re.IGNORECASE)
_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:able|ed)|delivery\s+(?:status\s+notification|failure|has\s+failed)"
    r"|mail\s+delivery\s+(?:failed|failure|subsystem)|returned\s+mail|failure\s+notice"
    r"|delivery\s+notification|non[- ]?delivery|message\s+not\s+delivered"
    r"|mail\s+system\s+error|postmaster\s+notify|undelivered\s+mail)",
    re.IGNORECASE,
)
# Only the forms auto-responders actually use: a tenant's "Out of office next week, can you
# come Monday?" must still become a ticket.
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[\s-]*(?:reply|response|respons|antwort)\b"
    r"|out\s+of\s+(?:the\s+)?office\s*(?::|reply\b|notice\b|autoreply\b|\(|$)"
    r"|abwesenheitsnotiz|réponse\s+automatique|respuesta\s+automática|risposta\s+automatica"
    r"|autosvar)",
    re.IGNORECASE,
)


def _h(facts: MailFacts, name: str) -> str:
    return facts.headers.get(name, "").strip()


def rule_loop(facts: MailFacts) -> Verdict | None:
    """Our own loop header: mail we generated came back to us."""
    if facts.loop_header in facts.headers:
        return NotTicketReason.LOOP, f"header {facts.loop_header}"
    return None


def rule_own_address(facts: MailFacts) -> Verdict | None:
    """Mail sent from one of our own addresses."""
    if facts.sender and facts.sender in facts.own_addresses:
        return NotTicketReason.OWN_ADDRESS, f"sender {facts.sender} is our own address"
    return None


def sender_blocked(sender: str, blocked: Collection[str]) -> str | None:
    """The block-list entry matching ``sender``: an address, or @domain (subdomains too)."""
    if not sender:
        return None
    domain = sender.rpartition("@")[2]
    for entry in blocked:
        if "@" in entry and not entry.startswith("@"):
            if sender == entry:
                return entry
            continue
        dom = entry.lstrip("@")
        if dom and (domain == dom or domain.endswith("." + dom)):
            return entry
    return None


def rule_blocked_sender(facts: MailFacts) -> Verdict | None:
    """Sender (address or domain) on the configured block list."""
    entry = sender_blocked(facts.sender, facts.blocked_senders)
    if entry is not None:
        return NotTicketReason.BLOCKED_SENDER, f"block-list entry {entry}"
    return None


def rule_bounce(facts: MailFacts) -> Verdict | None:  # noqa: PLR0911 - one return per signal
    """Delivery status notifications and other mail-system reports (strong signals only)."""
    if facts.content_type == "multipart/report":
        if facts.report_type == "disposition-notification":
            return None  # a read receipt: handled by rule_auto_reply
        return NotTicketReason.BOUNCE, f"multipart/report; report-type={facts.report_type or '?'}"
    if "message/delivery-status" in facts.part_types:
        return NotTicketReason.BOUNCE, "message/delivery-status part"
    if "message/feedback-report" in facts.part_types:
        return NotTicketReason.BOUNCE, "message/feedback-report part (ARF complaint)"
    if "x-failed-recipients" in facts.headers:
        return NotTicketReason.BOUNCE, "header X-Failed-Recipients"
    local = facts.sender.partition("@")[0]
    if local in _BOUNCE_LOCALPARTS:
        return NotTicketReason.BOUNCE, f"sender {facts.sender}"
    if not facts.sender and _BOUNCE_SUBJECT.match(facts.subject):
        return NotTicketReason.BOUNCE, "no sender and a bounce subject"
    return None


def rule_spam(facts: MailFacts) -> Verdict | None:
    """The receiving server flagged the message as spam."""
    if _h(facts, "x-spam-flag").lower().startswith("yes"):
        return NotTicketReason.SPAM, "header X-Spam-Flag: YES"
    if _h(facts, "x-spam-status").lower().startswith("yes"):
        return NotTicketReason.SPAM, "header X-Spam-Status: Yes"
    return None


def rule_auto_reply(facts: MailFacts) -> Verdict | None:
    """RFC 3834 and vendor auto-reply / out-of-office headers, read receipts (strong signals)."""
    auto = _h(facts, "auto-submitted").lower()
    if auto and not auto.startswith("no"):
        return NotTicketReason.AUTO_REPLY, f"header Auto-Submitted: {auto[:40]}"
    for name in _AUTOREPLY_HEADERS:
        if name in facts.headers:
            return NotTicketReason.AUTO_REPLY, f"header {name}"
    if _h(facts, "x-autogenerated").lower() == "reply":
        return NotTicketReason.AUTO_REPLY, "header X-Autogenerated: Reply"
    if facts.content_type == "multipart/report" or "message/disposition-notification" in (
        facts.part_types
    ):
        return NotTicketReason.AUTO_REPLY, "read receipt (disposition notification)"
    return None


def rule_auto_reply_weak(facts: MailFacts) -> Verdict | None:
    """Precedence bulk/junk, auto-reply subjects, no-reply senders (after the list rules)."""
    precedence = _h(facts, "precedence").lower()
    if precedence in ("bulk", "junk", "auto_reply", "auto-reply"):
        return NotTicketReason.AUTO_REPLY, f"header Precedence: {precedence}"
    if _AUTOREPLY_SUBJECT.match(facts.subject):
        return NotTicketReason.AUTO_REPLY, "auto-reply subject"
    if _NOREPLY.match(facts.sender):
        return NotTicketReason.AUTO_REPLY, f"automated sender {facts.sender}"
    return None


def rule_bounce_weak(facts: MailFacts) -> Verdict | None:
    """A null Return-Path (after the auto-reply rules: RFC 3834 replies use <> too).

    A bounce-like subject alone is not enough: "Undelivered package in the lobby" is a ticket.
    """
    if _h(facts, "return-path").replace(" ", "") == "<>":
        return NotTicketReason.BOUNCE, "null Return-Path"
    return None


def rule_mailing_list(facts: MailFacts) -> Verdict | None:
    """Mailing-list and newsletter mail."""
    for name in _LIST_HEADERS:
        if name in facts.headers:
            return NotTicketReason.MAILING_LIST, f"header {name}"
    if _h(facts, "precedence").lower() == "list":
        return NotTicketReason.MAILING_LIST, "header Precedence: list"
    list_sender = _LIST_SENDER.search(_h(facts, "sender"))
    if list_sender:
        return NotTicketReason.MAILING_LIST, f"list Sender {list_sender.group(0).lstrip('<')}"
    return None


RULES: tuple[tuple[str, Rule], ...] = (
    ("loop", rule_loop),
    ("own_address", rule_own_address),
    ("blocked_sender", rule_blocked_sender),
    ("bounce", rule_bounce),
    ("spam", rule_spam),
    ("auto_reply", rule_auto_reply),
    ("mailing_list", rule_mailing_list),
    ("auto_reply_weak", rule_auto_reply_weak),
    ("bounce_weak", rule_bounce_weak),
)


def classify_not_ticket(facts: MailFacts) -> Verdict | None:
    """First verdict of RULES, or None when the message may become a ticket."""
    for _name, rule in RULES:
        verdict = rule(facts)
        if verdict is not None:
            return verdict
    return None
