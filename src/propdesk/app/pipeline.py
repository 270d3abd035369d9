"""The per-message pipeline as the composition root builds it: the rules with the config's
review threshold, the parser with the config's limits, business hours, and the core analysis as
ingest's ``analyse`` stage calls it."""

from __future__ import annotations

import secrets
from datetime import datetime

from propdesk.app.adapters import own_addresses
from propdesk.config import Config
from propdesk.core.hours import BusinessHours
from propdesk.core.message import InboundMessage
from propdesk.core.pipeline import analyse_items
from propdesk.core.review import with_review_below
from propdesk.core.rules import Rules, load_rules
from propdesk.ingest import Analyse, Analysis, Parse
from propdesk.mail.header_limits import limits_of
from propdesk.mail.parse import parse_message


def rules(config: Config) -> Rules:
    """The default rules plus the ops override named in the config (validated), deciding doubt
    at the config's ``[triage] review_below`` (default: the model's calibrated threshold)."""
    return with_review_below(load_rules(config.rules.file), config.triage.review_below)


def business_hours(config: Config) -> BusinessHours:
    bh = config.business_hours
    return BusinessHours.from_values(bh.timezone, bh.parsed_hours(), bh.holidays)


def parser(config: Config) -> Parse:
    intake = config.intake
    own = own_addresses(config)
    limits = limits_of(intake)

    def parse(raw: bytes) -> InboundMessage:
        return parse_message(
            raw,
            max_attachment_bytes=intake.max_attachment_bytes,
            own_addresses=own,
            blocked_senders=intake.blocked_senders,
            loop_header=intake.loop_header,
            limits=limits,
            max_forward_depth=intake.max_forward_depth,
        )

    return parse


def analyser(
    the_rules: Rules, hours: BusinessHours, staff: frozenset[str] | None = None
) -> Analyse:
    """The core pipeline as ingest's ``analyse`` stage calls it: its ``not_a_ticket`` stage has
    already screened the message (``propdesk.core.pipeline.not_ticket_reason``). ``staff``: whose
    forwards are made for the original sender (default: the rules' addresses)."""

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        result = analyse_items(
            msg,
            rules=the_rules,
            business_hours=hours,
            received_at=received_at,
            now=now,
            new_id=secrets.token_bytes,
            staff=staff,
        )
        return Analysis(result.tickets, result.ignored_reason)

    return analyse
