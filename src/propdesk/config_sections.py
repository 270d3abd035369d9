"""Config sections for the services added after the core ones (escalation, conversations,
metrics, retention, start-up, reports): kept apart so ``propdesk.config`` stays readable. Import
them from ``propdesk.config``, which re-exports every one."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from propdesk.config_base import Model as _Model
from propdesk.config_base import Weekday, known_zone


class EscalationConfig(_Model):
    """The escalation pass: SLA near-breach warnings and how many tickets one transaction locks."""

    enabled: bool = True
    warn_before_resolution_minutes: int = Field(default=30, ge=0)
    batch_size: int = Field(default=500, ge=1, le=10000)


class ConversationsConfig(_Model):
    """Replies by email: tenants' replies, staff commands and satisfaction ratings."""

    enabled: bool = True
    staff_addresses: list[str] = Field(default_factory=list)
    authserv_id: str = ""
    require_authentication: bool = True
    auto_close_days: int = Field(default=7, ge=0)
    reply_digest_minutes: float = Field(default=5.0, ge=0)
    supervisor: str | None = None
    auto_close_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _authserv(self) -> ConversationsConfig:
        # Without an authserv-id no Authentication-Results header counts: commands all fail.
        if self.require_authentication and not self.authserv_id.strip() and self.staff_addresses:
            raise ValueError(
                "staff_addresses given but no authserv_id: set it to your receiving server's "
                "authserv-id, or require_authentication = false if it adds none"
            )
        return self


class MetricsConfig(_Model):
    """/metrics, /healthz and /readyz on one HTTP server, on loopback by default; an empty
    ``listen`` turns it off."""

    listen: str = Field(
        default="127.0.0.1:9464", pattern=r"^$|^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$"
    )
    stale_intervals: int = Field(default=3, ge=1)  # health fails after this many missed turns


class RetentionConfig(_Model):
    """``propdesk purge``: tickets closed more than ``closed_days`` ago lose raw mail,
    attachments and phone numbers (off when unset)."""

    closed_days: int | None = Field(default=None, ge=1)


class HousekeepingConfig(_Model):
    """The processed-folder pass (each mailbox's ``processed_keep_days``): how often, how much."""

    interval_seconds: float = Field(default=3600.0, gt=0)
    max_messages_per_pass: int = Field(default=500, ge=1, le=100000)


class StartupConfig(_Model):
    """How long ``run`` waits for the database at start (systemd is told to wait too)."""

    database_wait_seconds: float = Field(default=1800.0, ge=0)


class ReportConfig(_Model):
    """``propdesk report`` and the weekly digest mail (off by default)."""

    recurring_days: int = Field(default=30, ge=1, le=366)
    digest_enabled: bool = False
    digest_recipients: list[str] = Field(default_factory=list)
    digest_weekday: Weekday = "mon"
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_timezone: str | None = None
    digest_days: int = Field(default=7, ge=1, le=92)
    digest_check_seconds: float = Field(default=300.0, gt=0)

    @field_validator("digest_timezone")
    @classmethod
    def _known_digest_zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)

    @model_validator(mode="after")
    def _recipients_when_enabled(self) -> ReportConfig:
        if self.digest_enabled and not self.digest_recipients:
            raise ValueError("digest_enabled needs at least one address in digest_recipients")
        bad = [a for a in self.digest_recipients if "@" not in a or any(c.isspace() for c in a)]
        if bad:
            raise ValueError(f"digest_recipients: not an email address: {bad[0]!r}")
        return self


class TriageConfig(_Model):
    """Doubt as a feature: where a needs-review ticket's triage mail goes (besides its assignee;
    empty: nowhere else) and below which model probability a decision needs review (default:
    the model's calibrated threshold)."""

    address: str = ""
    review_below: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        value = value.strip().lower()
        if value and ("@" not in value or any(c.isspace() or c in "<>,;" for c in value)):
            raise ValueError(f"not an email address: {value!r}")
        return value
