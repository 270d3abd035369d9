"""Build outgoing notification emails: ``EmailMessage`` with the default policy, nothing else.

Why so strict: tenants control their subject, body, display name and Message-ID, and an email we
send is read by other mail software. So tenant text is cleaned (CR, LF, NUL and other control
characters) before it reaches any header, tenant-supplied message ids are only echoed when they
look like message ids, envelope addresses come from the outbox row (validated), and every mail says
it is automatic (``Auto-Submitted``, ``X-Auto-Response-Suppress``, our loop header) so that
auto-responders do not answer it and we can recognise our own mail coming back.

The Message-ID has a fixed shape that the ingest side recognises replies by:
``<propdesk.TKT-XXXXXXXX.<outbox row id>@<domain>>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import jinja2

from propdesk.config import Config
from propdesk.core.notifications import ACKNOWLEDGEMENT_KIND, ADVICE_KIND
from propdesk.errors import ConfigError

# Which template each kind of notification uses, and the words its subject starts with.
TEMPLATES: dict[str, str] = {
    "ticket_assigned": "New Ticket Assigned",
    "ticket_created_tenant": "Service Request Received",
    "ticket_resolved_tenant": "Service Request Completed",
    "ticket_status_tenant": "Service Request Update",
    # Escalation mail (core.notifications.plan_escalation): to the rule's target / the assignee.
    "escalation": "Escalation",
    "sla_warning": "Resolution Deadline Approaching",
    # The safety advice (core.safety.plan_advice): to the tenant, ahead of the acknowledgement.
    "safety_advice": "Safety Advice - Act Now",
    # An incident formed (core.incidents.plan_formed): to the first ticket's assignee, once.
    "incident_formed": "Building Incident",
    # Flood limits (core.notifications.plan_flood_notice): to staff, no ticket.
    "flood_held": "Mail Held by the Flood Limit",
    # Conversations (core.conversation_mail): to the assignee, the supervisor, a staff sender.
    "tenant_replied": "Tenant Replied",
    "ticket_reopened": "Ticket Reopened",
    "low_rating": "Low Satisfaction Rating",
    "command_refused": "Command Refused",
    "triage_review": "Triage Review Needed",  # core.review.plan_review: the triage address
}
ACKNOWLEDGEMENT_KINDS = frozenset({ACKNOWLEDGEMENT_KIND, ADVICE_KIND})

MESSAGE_ID_RE = re.compile(r"^<propdesk\.(TKT-[0-9A-Z]{8})\.([0-9A-Za-z]+)@([^<>@\s]+)>$")
_TICKET_ID_RE = re.compile(r"^TKT-[0-9A-Z]{8}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES_RE = re.compile(r"\s{2,}")
# A conservative addr-spec: what we put on the envelope and in To:. No quotes, no comments,
# no spaces, no angle brackets or commas, so nothing can smuggle a second recipient.
_ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})$"
)
_FOREIGN_MSGID_RE = re.compile(
    r"^<[\x21-\x3b\x3d\x3f-\x7e]{1,250}@[\x21-\x3b\x3d\x3f-\x7e]{1,250}>$"
)
SUBJECT_MAX = 140
MAX_REFERENCES = 10


def clean_header_text(value: str, limit: int = SUBJECT_MAX) -> str:
    """Tenant text made safe for a header: control characters (CR, LF, NUL ...) become spaces."""
    text = _CONTROL_RE.sub(" ", value)
    text = _SPACES_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def valid_address(address: str) -> bool:
    """True for a plain ``local@domain`` we are willing to put on an envelope."""
    return bool(_ADDRESS_RE.match(address)) and ".." not in address


def valid_foreign_message_id(value: str | None) -> str | None:
    """A tenant-supplied message id if it has the ``<left@right>`` shape, else None."""
    if value is None:
        return None
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return value if _FOREIGN_MSGID_RE.match(value) else None


def message_id_domain(config: Config) -> str:
    """The right-hand side of our Message-IDs: configured, else the domain of the From address."""
    return config.smtp.message_id_domain or config.smtp.from_address.rpartition("@")[2]


def make_message_id(ticket_id: str, token: int | str, domain: str) -> str:
    """Our Message-ID for one outbox row; stable, so a re-send after a crash is recognisable."""
    if not _TICKET_ID_RE.match(ticket_id):
        raise ValueError(f"not a ticket id: {ticket_id!r}")
    value = f"<propdesk.{ticket_id}.{token}@{domain}>"
    if not MESSAGE_ID_RE.match(value):
        raise ValueError(f"cannot build a Message-ID from {ticket_id!r}, {token!r}, {domain!r}")
    return value


def make_notice_message_id(token: int | str, domain: str) -> str:
    """Our Message-ID for an outbox row about no ticket (a flood notice)."""
    value = f"<propdesk.notice.{token}@{domain}>"
    if not re.match(r"^<propdesk\.notice\.[0-9A-Za-z]+@[^<>@\s]+>$", value):
        raise ValueError(f"cannot build a Message-ID from {token!r}, {domain!r}")
    return value


def parse_message_id(value: str) -> tuple[str, str] | None:
    """(ticket id, row token) when ``value`` is one of our Message-IDs, else None."""
    match = MESSAGE_ID_RE.match(value.strip())
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class OutgoingFile:
    """A file to attach (the tenant's photo on the assignment mail), bytes loaded by delivery."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """What compose needs from one outbox row (plain data, so the adapter needs no database)."""

    kind: str
    recipient: str
    ticket_ids: Sequence[str]
    message_id: str
    context: Mapping[str, Any]
    in_reply_to: str | None = None
    references: Sequence[str] = field(default_factory=tuple)
    files: Sequence[OutgoingFile] = field(default_factory=tuple)


class Templates:
    """The jinja2 templates: the packaged ones, each overridable by a file in ``templates_dir``.

    Every template is loaded and rendered with sample data at construction, so a missing or
    broken override stops the daemon at start instead of at the first send.
    """

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            if not templates_dir.is_dir():
                raise ConfigError(
                    f"notifications.templates_dir: {templates_dir} is not a directory"
                )
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.PackageLoader("propdesk.mail", "templates"))
        # Autoescape the HTML parts only: the text part is plain text and must not get &amp;.
        self._html = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._text = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,  # noqa: S701 - the text/plain part; HTML uses the escaping env
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._dir = templates_dir
        self.check()

    def check(self) -> None:
        """Load and render every template with sample data; a problem is a ConfigError."""
        sample = sample_context()
        for kind in TEMPLATES:
            for status in ("In Progress", "Pending"):
                try:
                    self.render(kind, {**sample, "status": status})
                except jinja2.TemplateError as exc:
                    where = f" (override directory {self._dir})" if self._dir else ""
                    name = getattr(exc, "name", None) or kind
                    raise ConfigError(f"notification template {name}{where}: {exc}") from None

    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """(text, html) bodies for one notification."""
        text = self._text.get_template(f"{kind}.txt").render(context)
        html = self._html.get_template(f"{kind}.html").render(context)
        return text, html


def sample_context() -> dict[str, Any]:
    """Data shaped like a real notification's context, for checking templates at start."""
    ticket = {
        "ticket_id": "TKT-00000000",
        "short_description": "Maintenance request: Sample <problem> & more",
        "description": "Sample text the tenant wrote.\nSecond line.",
        "category": "Maintenance",
        "subcategory": "plumbing",
        "urgency": "2",
        "urgency_label": "Medium",
        "unit_number": "Unit 3B",
        "requested_for": "tenant@example.com",
        "assignment_group": "Property Maintenance",
        "assigned_to": "maintenance@property.com",
        "status": "In Progress",
        "created_at": "2025-06-17 10:30 UTC",
        "after_hours": True,
        "requires_contractor": True,
        "sla_response": "within 2 hours",
        "sla_resolution": "within 24 hours",
        "response_due": "2025-06-17 12:30 BST",
        "resolution_due": "2025-06-18 10:30 BST",
        "building": "MAPLE",
        "floor": "3",
        "urgency_reason": "emergency: water from above",
        "notes": [{"kind": "access", "text": "The key is under the mat."}],
        "needs_review": True,
        "triage_confidence": 0.62,
        "review_reasons": ["urgency=2 p=0.62 (rules: 1)"],
    }
    return {
        "tickets": [ticket, {**ticket, "ticket_id": "TKT-00000001", "safety_advice": ["gas"]}],
        "advice": [{"hazard": "gas or rotten-egg smell", "advice": "Leave now; call 911."}],
        "numbers": {"emergency": "911"},
        "incident": {
            "ref": "INC-1",
            "building": "A",
            "system": "heating",
            "units": ["Unit 1A", "Unit 2B"],
            "count": 2,
        },
        "tenant_name": "Sample Tenant",
        "tenant_phone": "555-0101",
        "attachments": ["photo.jpg"],
        "photos": [{"filename": "photo.jpg", "content_type": "image/jpeg", "size": 1}],
        "photo_commands": ["propdesk tickets attachment TKT-00000000 big.jpg -o big.jpg"],
        "status": "In Progress",
        "note": "Sample note",
        "org_name": "Property Maintenance",
        "title": "Sample",
        "replies": [  # what core.conversation_mail puts in tenant_replied/ticket_reopened rows
            {
                "sender": "tenant@example.com",
                "at": "2025-06-17 11:00 UTC",
                "text": "Still <wet>",
                "reason": "tenant reply: still_broken",
            }
        ],
        "rating": 2,
        "refusals": ["Colour: unknown command"],
        "allowed": "Status: <In Progress, Pending, Resolved, Closed> [— note]",
        "escalation": {  # what plan_escalation puts in escalation / sla_warning rows
            "rule": "supervisor",
            "description": "Urgency-1 ticket still New 30 minutes after it was received",
            "age": "31 min",
            "received_at": "2025-06-17 10:30 UTC",
            "status": "New",
            "due_at": "2025-06-17 11:00 UTC",
            "deadline": "2025-06-17 14:30 UTC",
            "remaining": "29 min",
        },
        "flood": {  # what plan_flood_notice puts in flood_held rows
            "reason": "flood_sender",
            "detail": "30 mails from this sender in the hour (limit 30)",
            "sender": "script@example.com",
            "mailbox": "main",
            "subject": "Sample <subject>",
            "message_pk": 1,
            "received_at": "2025-06-17 10:30 UTC",
        },
    }


def subject_for(kind: str, ticket_ids: Sequence[str], summary: str) -> str:
    """``New Ticket Assigned: [TKT-…] summary``; the tag lets replies find the ticket."""
    tags = " ".join(f"[{t}]" for t in ticket_ids)
    subject = f"{TEMPLATES[kind]}: {tags}"
    summary = clean_header_text(summary)
    if summary and len(ticket_ids) <= 1:
        subject = f"{subject} {summary}" if ticket_ids else f"{subject}{summary}"
    return clean_header_text(subject, limit=SUBJECT_MAX + 60)


@dataclass(frozen=True)
class RenderedMail:
    """A mail body rendered by an adapter of its own (the report digest): subject, text and
    HTML parts, and images the HTML shows by ``cid:`` (content id without brackets, PNG)."""

    subject: str
    text: str
    html: str
    images: Sequence[tuple[str, bytes]] = ()


#: Renders the body of one kind of outbox row from its stored context.
BodyRenderer = Callable[[Mapping[str, Any]], RenderedMail]


class Composer:
    """Turns outbox rows into ``EmailMessage`` objects for one configuration.

    Ticket mail comes from the jinja2 templates; a kind in ``renderers`` (e.g. the report
    digest, which carries PNG charts) is rendered by its own function, with the same headers.
    """

    def __init__(
        self,
        config: Config,
        templates: Templates,
        renderers: Mapping[str, BodyRenderer] | None = None,
    ) -> None:
        self._config = config
        self._templates = templates
        self._renderers = dict(renderers or {})
        smtp = config.smtp
        self.envelope_from = smtp.from_address
        self._from = formataddr((clean_header_text(smtp.from_name), smtp.from_address))
        self._reply_to = smtp.reply_to or smtp.from_address
        self._loop_header = config.intake.loop_header
        self._org = clean_header_text(smtp.from_name)

    def compose(self, item: Outgoing, now: datetime) -> EmailMessage:
        """One multipart/alternative message (text + HTML)."""
        if not valid_address(item.recipient):
            raise ValueError(f"refusing to address mail to {item.recipient!r}")
        renderer = self._renderers.get(item.kind)
        if renderer is not None:
            return self._rendered(item, renderer(item.context), now)
        summary = ""
        tickets = item.context.get("tickets") or []
        if tickets:
            summary = str(tickets[0].get("short_description", ""))
        else:
            summary = str(item.context.get("summary", ""))
        subject = subject_for(item.kind, item.ticket_ids, summary)
        context = {**item.context, "org_name": self._org, "title": subject}
        context.setdefault("tenant_name", "")
        context.setdefault("attachments", [])
        context.setdefault("status", "")
        context.setdefault("note", "")
        context.setdefault("tenant_phone", "")
        context.setdefault("photos", [])
        context.setdefault("photo_commands", [])
        text, html = self._templates.render(item.kind, context)
        msg = self._headers(item, subject, now)
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        for f in item.files:
            maintype, _, subtype = f.content_type.partition("/")
            msg.add_attachment(
                f.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=clean_header_text(f.filename, limit=200) or "attachment",
            )
        return msg

    def _rendered(self, item: Outgoing, body: RenderedMail, now: datetime) -> EmailMessage:
        """multipart/alternative: text, then multipart/related (HTML + its cid: images)."""
        msg = self._headers(item, clean_header_text(body.subject, SUBJECT_MAX + 60), now)
        msg.set_content(body.text)
        msg.add_alternative(body.html, subtype="html")
        html_part = msg.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        for cid, png in body.images:
            html_part.add_related(png, "image", "png", cid=f"<{cid}>", filename=f"{cid}.png")
        return msg

    def _headers(self, item: Outgoing, subject: str, now: datetime) -> EmailMessage:
        msg = EmailMessage(policy=default_policy)
        msg["From"] = self._from
        msg["To"] = item.recipient
        msg["Reply-To"] = self._reply_to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = item.message_id
        parent = valid_foreign_message_id(item.in_reply_to)
        if parent is not None:
            msg["In-Reply-To"] = parent
            refs = [r for r in (valid_foreign_message_id(x) for x in item.references) if r]
            refs = [*refs[-(MAX_REFERENCES - 1) :], parent] if parent not in refs else refs
            msg["References"] = " ".join(refs[-MAX_REFERENCES:])
        auto = "auto-replied" if item.kind in ACKNOWLEDGEMENT_KINDS else "auto-generated"
        msg["Auto-Submitted"] = auto
        msg["X-Auto-Response-Suppress"] = "All"
        if item.kind.endswith("_tenant"):
            # Older vacation responders ignore Auto-Submitted but honour Precedence: bulk.
            msg["Precedence"] = "bulk"
        msg[self._loop_header] = self._config.smtp.from_address
        if item.ticket_ids:
            msg["X-Propdesk-Ticket"] = " ".join(item.ticket_ids)
        return msg
