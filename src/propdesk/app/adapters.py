"""Adapters built from the config: the SMTP sender, our own addresses, the notification
templates (secrets resolved here, at the edge, and never logged) and the analysis worker pool.
The database engine is ``propdesk.app.database`` (the report needs it without all of these)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config
from propdesk.core.message import InboundMessage
from propdesk.daemon.analysis import AnalysisPool, AnalysisSetup
from propdesk.errors import AnalysisError
from propdesk.ingest.types import Ahead, Analysis, Prepare, PrepareAll
from propdesk.mail.compose import Templates
from propdesk.mail.smtp import SmtpSender, TokenSource, token_from_command


def smtp_sender(config: Config) -> SmtpSender:
    """The SMTP adapter with its secrets resolved (password or an OAuth2 token source)."""
    smtp = config.smtp
    password = smtp.password.resolve() if smtp.password is not None else None
    token: TokenSource | None = None
    if smtp.oauth_token is not None:
        ref = smtp.oauth_token
        token = ref.resolve
    elif smtp.oauth_token_command:
        token = token_from_command(smtp.oauth_token_command, config.timeouts.smtp_seconds)
    return SmtpSender(smtp, timeout=config.timeouts.smtp_seconds, password=password, token=token)


def own_addresses(config: Config) -> list[str]:
    """Addresses that are us: never mailed (a loop), and recognised by the intake."""
    found = [config.smtp.from_address, *config.intake.own_addresses]
    if config.smtp.reply_to:
        found.append(config.smtp.reply_to)
    found.extend(m.username for m in config.mailboxes if "@" in m.username)
    return found


def templates(config: Config) -> Templates:
    """Notification templates, every one loaded and test-rendered now (a ConfigError if broken)."""
    return Templates(config.notifications.templates_dir)


def analysis_pool(config: Config, clock: Clock = SYSTEM_CLOCK) -> AnalysisPool:
    """Worker processes for parse + analysis, each message within ``[intake]``'s budget."""
    intake = config.intake
    setup = AnalysisSetup(
        intake=intake,
        business_hours=config.business_hours,
        rules_file=config.rules.file,
        own_addresses=tuple(own_addresses(config)),
    )
    return AnalysisPool(
        setup,
        size=intake.analysis_workers,
        budget_seconds=intake.analysis_budget_seconds,
        clock=clock,
    )


def prepare_in(pool: AnalysisPool) -> Prepare:
    """The pool as ingest calls it: (parsed, analysis) made ahead, within the budget."""

    def prepare(
        raw: bytes, received_at: datetime, now: datetime, should_stop: Callable[[], bool]
    ) -> tuple[InboundMessage, Analysis | None]:
        done = pool.prepare(raw, received_at, now, should_stop)
        result = done.analysis
        analysis = None if result is None else Analysis(result.tickets, result.ignored_reason)
        return done.parsed, analysis

    return prepare


def prepare_all_in(pool: AnalysisPool) -> PrepareAll:
    """The pool as batched ingest calls it: a whole batch submitted at once, results in order."""

    def prepare_all(
        tasks: Sequence[tuple[bytes, datetime]], now: datetime, should_stop: Callable[[], bool]
    ) -> Iterator[Ahead | AnalysisError]:
        for done in pool.prepare_all(tasks, now, should_stop):
            if isinstance(done, AnalysisError):
                yield done
                continue
            result = done.analysis
            analysis = None if result is None else Analysis(result.tickets, result.ignored_reason)
            yield done.parsed, analysis

    return prepare_all
