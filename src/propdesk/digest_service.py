"""The weekly report digest: a periodic task of the daemon loop that queues it in the outbox.

Each run asks "which period are we in?" (the latest scheduled weekday and hour, in the digest's
time zone) and whether every recipient's digest of that period is in the outbox. If not, it
computes the report of the ``digest_days`` days before the scheduled day and queues one row per
missing recipient under a unique key per period, so several daemons sharing the database queue
it once, and a daemon that was down at the hour sends it when it comes back. The outbox
delivery sends it like any other mail (retries, dead letters, logging).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import ReportConfig
from propdesk.core.policy import SlaTarget
from propdesk.core.report_model import (
    DIGEST_KIND,
    build_report,
    digest_key,
    digest_moment,
    report_window,
)
from propdesk.logging import get_logger
from propdesk.store import digests
from propdesk.store.db import Database
from propdesk.store.report_queries import load_report

log = get_logger(__name__)


@dataclass
class DigestRun:
    """What one run did: the period it looked at and the recipients it queued for."""

    period: str = ""
    queued: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not self.queued

    def summary(self) -> str:
        return f"period {self.period}: queued {len(self.queued)}"


@dataclass
class DigestService:
    """Queues the digest once per period; ``run_once`` is the periodic task body."""

    db: Database
    settings: ReportConfig
    timezone: str
    sla: Mapping[Any, SlaTarget]
    message_id_domain: str
    clock: Clock = field(default=SYSTEM_CLOCK)

    name = "digest"
    description = "queue the weekly report digest in the outbox, once per period"

    def run_once(self) -> DigestRun:
        s = self.settings
        if not s.digest_enabled or not s.digest_recipients:
            return DigestRun()
        now = self.clock.now()
        moment = digest_moment(now, self.timezone, s.digest_weekday, s.digest_hour)
        day = moment.astimezone(ZoneInfo(self.timezone)).date()
        run = DigestRun(period=day.isoformat())
        keys = {digest_key(moment, self.timezone, r): r for r in s.digest_recipients}
        missing = digests.missing_keys(self.db, list(keys))
        if not missing:
            return run
        # The days before the scheduled one; SLA clocks and ages read at the scheduled moment,
        # so every daemon computes the same digest.
        window = report_window(
            moment,
            self.timezone,
            since=day - timedelta(days=s.digest_days),
            until=day,
        )
        report = build_report(
            load_report(self.db, window, self.sla, recurring_days=s.recurring_days)
        )
        run.queued = digests.queue(
            self.db,
            [(k, keys[k]) for k in missing],
            kind=DIGEST_KIND,
            context={"report": report},
            now=now,
            domain=self.message_id_domain,
            tag=f"digest.{day.isoformat()}",
        )
        log.info("digest.queued", period=run.period, recipients=len(run.queued))
        return run
