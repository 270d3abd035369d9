"""The composition root's conversation part: who counts as staff, who hears of a low rating,
how ingest reads replies, and the auto-close pass."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from propdesk.app.adapters import own_addresses
from propdesk.clock import Clock
from propdesk.config import Config
from propdesk.conversation_service import AutoClose
from propdesk.core.conversation import ConversationPolicy
from propdesk.core.pipeline import rule_addresses
from propdesk.core.rules import Rules
from propdesk.daemon.loop import PeriodicTask, Shared


def staff_addresses(config: Config, the_rules: Rules) -> frozenset[str]:
    """Every address the rules send work to (assignees, specialists, escalation targets) plus
    our own: mail from them that is not a reply is not a tenant request."""
    found = set(own_addresses(config)) | set(config.conversations.staff_addresses)
    return rule_addresses(the_rules) | {a.strip().lower() for a in found if "@" in a}


def supervisor(config: Config, the_rules: Rules) -> str | None:
    """Who hears of a low rating: configured, else the rules' supervisor escalation target."""
    if config.conversations.supervisor:
        return config.conversations.supervisor.strip().lower()
    rule = next((e for e in the_rules.policy.escalations if e.name == "supervisor"), None)
    return None if rule is None else rule.target


def conversation_policy(config: Config, the_rules: Rules) -> ConversationPolicy | None:
    """How ingest reads replies; None when conversations are switched off (plain comments)."""
    conv = config.conversations
    if not conv.enabled:
        return None
    own = {a.lower() for a in own_addresses(config)}
    senders = {a.lower() for a in staff_addresses(config, the_rules)} - own
    senders |= {a.strip().lower() for a in conv.staff_addresses}
    return ConversationPolicy(
        rules=the_rules.conversation,
        staff_senders=frozenset(senders),
        authserv_id=conv.authserv_id.strip(),
        require_authentication=conv.require_authentication,
    )


def auto_close(config: Config, db: Engine | sessionmaker[Session], clock: Clock) -> AutoClose:
    """The auto-close pass (Resolved tickets nobody answered)."""
    return AutoClose(db, config.conversations.auto_close_days, clock=clock)


def _auto_close_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, _shared: Shared
) -> PeriodicTask:
    task = auto_close(config, made, clock)
    return PeriodicTask(task.name, config.conversations.auto_close_seconds, task.run_once)
