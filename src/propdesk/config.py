"""The TOML configuration: one file, validated at start, secrets kept out of it.

Every key is documented in ``config.example.toml``. Validation errors become one ``ConfigError``
line naming the file, the key and what was expected, so the CLI can print it and exit 2 (systemd's
``RestartPreventExitStatus=2`` then stops a config error from looping).

Secrets (passwords, OAuth tokens) are never values in the TOML: a secret is a reference
``{ env = "NAME" }``, ``{ file = "/path" }`` or ``{ credential = "name" }`` (a file in systemd's
``$CREDENTIALS_DIRECTORY``), resolved when needed and wrapped in ``Secret`` so that it never
prints.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from propdesk.config_base import Secret as Secret
from propdesk.config_base import Weekday as Weekday
from propdesk.config_base import _Model
from propdesk.config_features import IncidentsConfig, PagingConfig, SafetyConfig
from propdesk.config_sections import ConversationsConfig as ConversationsConfig
from propdesk.config_sections import EscalationConfig as EscalationConfig
from propdesk.config_sections import HousekeepingConfig as HousekeepingConfig
from propdesk.config_sections import MetricsConfig as MetricsConfig
from propdesk.config_sections import ReportConfig as ReportConfig
from propdesk.config_sections import RetentionConfig as RetentionConfig
from propdesk.config_sections import StartupConfig as StartupConfig
from propdesk.config_sections import TriageConfig as TriageConfig
from propdesk.errors import ConfigError

CONFIG_ENV = "PROPDESK_CONFIG"

TlsMode = Literal["ssl", "starttls", "none"]


class SecretRef(_Model):
    """Where a secret lives: exactly one of an environment variable, a file or a credential."""

    env: str | None = None
    file: Path | None = None
    credential: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "credential") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of env, file or credential")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return f"systemd credential {self.credential}"

    def resolve(self, environ: Mapping[str, str] | None = None) -> Secret:
        """Read the secret now. Raises ConfigError naming where it looked, never the value."""
        env = os.environ if environ is None else environ
        if self.env is not None:
            value = env.get(self.env)
            if value is None:
                raise ConfigError(f"secret: environment variable {self.env} is not set")
            return Secret(value)
        if self.file is not None:
            path = self.file
        else:
            creds = env.get("CREDENTIALS_DIRECTORY")
            if not creds:
                raise ConfigError(
                    f"secret: credential {self.credential!r} asked for but "
                    "$CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit)"
                )
            path = Path(creds) / str(self.credential)
        try:
            return Secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise ConfigError(f"secret: cannot read {path}: {exc.strerror}") from None


class MailboxConfig(_Model):
    """One IMAP mailbox the daemon watches."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    tls: TlsMode = "ssl"
    verify_certificate: bool = True
    ca_file: Path | None = None
    username: str
    auth: Literal["login", "xoauth2"] = "login"
    password: SecretRef | None = None
    oauth_token: SecretRef | None = None
    oauth_token_command: list[str] | None = None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    held_folder: str = "Held"
    since: date | None = None
    max_age_days: int | None = Field(default=None, ge=1)
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # One batch is fetched, written in ONE transaction and then moved; bounded by count, bytes
    # and time (the transaction is committed early once ``batch_seconds`` passed, between
    # messages). A lone new message is a batch of one: nothing waits for a batch to fill.
    batch_count: int = Field(default=50, ge=1, le=1000)
    batch_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    batch_seconds: float = Field(default=1.0, gt=0, le=60)
    # IMAP IDLE where the server offers it (new mail within a second); polling stays the fallback.
    idle: bool = True
    idle_renew_seconds: float = Field(default=25 * 60, gt=0, le=29 * 60)  # RFC 2177: < 29 min
    idle_liveness_seconds: float = Field(default=120.0, gt=0)  # silent this long: DONE, re-IDLE
    # Housekeeping: processed mail older than this (INTERNALDATE) is expunged or archived.
    # Default 90 days, so the folder never grows without bound; 0 keeps everything for ever.
    processed_keep_days: int = Field(default=90, ge=0)
    processed_retention: Literal["expunge", "archive"] = "archive"
    processed_archive_folder: str = Field(default="Archive-%Y-%m", min_length=1)  # strftime

    @model_validator(mode="after")
    def _credentials(self) -> MailboxConfig:
        if self.auth == "login" and self.password is None:
            raise ValueError("auth = 'login' needs password = { env | file | credential = ... }")
        if self.auth == "xoauth2" and self.oauth_token is None and not self.oauth_token_command:
            raise ValueError("auth = 'xoauth2' needs oauth_token or oauth_token_command")
        if "%Y" not in self.processed_archive_folder:
            raise ValueError("processed_archive_folder needs %Y (e.g. 'Archive-%Y-%m'): dated")
        archive = date(2026, 12, 1).strftime(self.processed_archive_folder)
        if archive in (self.folder, self.processed_folder):
            raise ValueError(f"processed_archive_folder {archive!r} is a folder we read or fill")
        return self


class DatabaseConfig(_Model):
    """PostgreSQL connection; the password is a separate secret, never part of a URL in the file."""

    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    name: str = "propdesk"
    user: str = "propdesk"
    password: SecretRef | None = None
    pool_size: int = Field(default=5, ge=1, le=100)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"


class SmtpConfig(_Model):
    """Outgoing mail server and the addresses we send as."""

    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    tls: TlsMode = "starttls"
    verify_certificate: bool = True
    ca_file: Path | None = None
    username: str | None = None
    auth: Literal["login", "xoauth2"] = "login"
    password: SecretRef | None = None
    oauth_token: SecretRef | None = None
    oauth_token_command: list[str] | None = None
    from_address: str = "requests@property.com"
    from_name: str = "Property Maintenance"
    reply_to: str | None = None
    message_id_domain: str | None = None


class RulesConfig(_Model):
    """Where the ops override of the default rules lives (tables it defines replace defaults)."""

    file: Path | None = None


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$"


def _default_hours() -> dict[Weekday, str]:
    weekdays: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    return dict.fromkeys(weekdays, "08:00-18:00")


class BusinessHoursConfig(_Model):
    """Opening hours; mail received outside them is after-hours."""

    timezone: str = "UTC"
    hours: dict[Weekday, Annotated[str, Field(pattern=_HHMM)]] = Field(
        default_factory=_default_hours
    )
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    def parsed_hours(self) -> dict[str, tuple[time, time]]:
        """The weekly hours as (open, close) times; "24:00" becomes the end of the day."""
        out: dict[str, tuple[time, time]] = {}
        for day, span in self.hours.items():
            start, end = span.split("-")
            close = time.max if end == "24:00" else time.fromisoformat(end)
            out[day] = (time.fromisoformat(start), close)
        return out


class IntervalsConfig(_Model):
    """How often the loop does each thing, in seconds."""

    poll_seconds: float = Field(default=30.0, gt=0)
    escalation_seconds: float = Field(default=60.0, gt=0)
    outbox_seconds: float = Field(default=5.0, gt=0)


class TimeoutsConfig(_Model):
    """Network timeouts in seconds: every socket gets one."""

    imap_seconds: float = Field(default=30.0, gt=0)
    smtp_seconds: float = Field(default=30.0, gt=0)
    database_seconds: float = Field(default=10.0, gt=0)


class LoggingConfig(_Model):
    """Log level and format; ``auto`` is JSON lines off a TTY (journald), console on one."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    heartbeat_minutes: float = Field(default=15.0, gt=0)  # idle daemon: one info line this often


class IntakeConfig(_Model):
    """What the parse step keeps and what it refuses to ticket."""

    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    own_addresses: list[str] = Field(default_factory=list)
    blocked_senders: list[str] = Field(default_factory=list)
    loop_header: str = "X-Propdesk-Loop"
    # parse + analysis run in worker processes; one message gets this long before its worker
    # is killed and the message quarantined ``timeout`` (the mailbox goes on)
    analysis_budget_seconds: float = Field(default=10.0, gt=0, le=3600)
    analysis_workers: int = Field(default=2, ge=1, le=64)
    # Header values of any length are bounded before they are stored (``mail.header_limits``).
    max_message_id_chars: int = Field(default=250, ge=100, le=2000)
    max_subject_chars: int = Field(default=1000, ge=20, le=10000)
    max_name_chars: int = Field(default=200, ge=20, le=2000)
    max_references: int = Field(default=30, ge=0, le=500)
    # Forwarded requests: how many forwards deep we read; deeper is quarantined.
    max_forward_depth: int = Field(default=3, ge=1, le=20)


class FloodConfig(_Model):
    """Flood limits: more mail than this in one hour is recorded and held, staff told once."""

    per_sender_per_hour: int = Field(default=30, ge=0)
    per_mailbox_per_hour: int = Field(default=0, ge=0)
    notify: str = ""


class NotificationsConfig(_Model):
    """Outgoing notifications: templates, which tenant mails go out, and flood limits."""

    enabled: bool = True
    templates_dir: Path | None = None
    tenant_status_updates: bool = True
    tenant_cap_per_hour: int = Field(default=5, ge=0)
    assignment_photos_max_bytes: int = Field(default=5 * 1024 * 1024, ge=0)
    retry_base_seconds: float = Field(default=60.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)
    batch_size: int = Field(default=1000, ge=1, le=100000)
    max_pass_seconds: float = Field(default=10.0, gt=0)
    # rows claimed, sent and committed together: after a crash at most this many are re-sent
    delivery_batch: int = Field(default=100, ge=1, le=10000)
    delivery_workers: int = Field(default=1, ge=1, le=16)  # SMTP connections in parallel


class Config(_Model):
    """The whole configuration file."""

    mailboxes: list[MailboxConfig] = Field(default_factory=list)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    intervals: IntervalsConfig = Field(default_factory=IntervalsConfig)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    flood: FloodConfig = Field(default_factory=FloodConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    conversations: ConversationsConfig = Field(default_factory=ConversationsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    startup: StartupConfig = Field(default_factory=StartupConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    housekeeping: HousekeepingConfig = Field(default_factory=HousekeepingConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    paging: PagingConfig = Field(default_factory=PagingConfig)
    triage: TriageConfig = Field(default_factory=TriageConfig)
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_mailbox_names(self) -> Config:
        names = [m.name for m in self.mailboxes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate mailbox name(s): {', '.join(dupes)}")
        return self


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing value (required)"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    given = error.get("input")
    # A secret typed straight into the file must not be echoed back into a log or terminal.
    secretish = any(
        isinstance(part, str) and any(w in part.lower() for w in ("password", "token", "secret"))
        for part in error.get("loc", ())
    )
    if not secretish and isinstance(given, str | int | float | bool):
        return f"{message} (got {given!r})"
    return message


def format_validation_error(path: Path | str, exc: ValidationError) -> str:
    """One line: the file, the first offending key and what was expected."""
    errors = exc.errors()
    first = errors[0]
    # A value error raised by a model validator has no field of its own; point at the model.
    loc = tuple(p for p in first["loc"] if p != "__root__")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {_key_path(loc)}: {_describe(first)}{more}"


def parse_config(data: Mapping[str, Any], source: Path | str = "<config>") -> Config:
    """Validate already-loaded TOML data."""
    try:
        config = Config.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    return config.model_copy(update={"source": Path(source)})


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The file named by --config, else $PROPDESK_CONFIG, else a clear error."""
    if explicit is not None:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    raise ConfigError(f"no configuration file: pass --config FILE or set ${CONFIG_ENV}")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML file; any problem is one ConfigError line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: TOML syntax error: {exc}") from None
    return parse_config(data, p)
