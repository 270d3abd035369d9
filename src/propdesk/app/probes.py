"""``check-config --connect``: each probe tries one kind of server and yields one line each."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import text

from propdesk.app.adapters import _safe_error, engine, own_addresses, smtp_sender, templates
from propdesk.config import Config, SecretRef
from propdesk.core.rules import load_rules
from propdesk.errors import ConfigError, MailboxError, RulesError
from propdesk.mail.imap import ImapMailbox
from propdesk.store import migrate as migrations


@dataclass(frozen=True)
class ProbeResult:
    """One line of ``check-config --connect``."""

    target: str
    ok: bool
    detail: str
    local: bool = False  # a problem in the files and secrets (exit 2), not an unreachable peer

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.target}: {self.detail}"


Probe = Callable[[Config], Iterator[ProbeResult]]


def _probe_database(config: Config) -> Iterator[ProbeResult]:
    db = config.database
    target = f"database {db.user}@{db.host}:{db.port}/{db.name}"
    try:
        eng = engine(config, pooled=False)
        try:
            with eng.connect() as conn:
                version = conn.execute(text("show server_version")).scalar_one()
            current = migrations.current_revision(eng)
            head = migrations.head_revision(eng)
        finally:
            eng.dispose()
    except Exception as exc:  # a probe reports every failure as a line
        yield ProbeResult(target, False, _safe_error(exc))
        return
    if current == head:
        schema = "schema up to date"
    else:
        schema = f"schema at {current}, head is {head}: run `propdesk migrate`"
    yield ProbeResult(target, current == head, f"PostgreSQL {version}, {schema}")


def _probe_smtp(config: Config) -> Iterator[ProbeResult]:
    smtp = config.smtp
    target = f"smtp {smtp.host}:{smtp.port}"
    if "smtp" not in config.model_fields_set:
        # No [smtp] section: a mailbox-only set-up being checked; say what would be used.
        yield ProbeResult(target, True, "no [smtp] section in the file: not checked")
        return
    try:
        templates(config)
        detail = smtp_sender(config).probe()
    except Exception as exc:  # a probe reports every failure as a line
        yield ProbeResult(target, False, _safe_error(exc))
        return
    yield ProbeResult(target, True, detail)
    yield _probe_staff_not_own(config)


def _probe_staff_not_own(config: Config) -> ProbeResult:
    """Staff mail to one of our own addresses is suppressed as a loop: say so before it is."""
    policy = load_rules(config.rules.file).policy
    staff = {a.assignee for a in policy.assignment.values()} | set(policy.specialists.values())
    staff |= {policy.default_assignment.assignee} | {e.target for e in policy.escalations}
    own = {a.lower() for a in own_addresses(config)}
    clash = sorted(a for a in staff if a.lower() in own)
    if clash:
        detail = (
            f"{', '.join(clash)} receive(s) tickets but is also our own address: those "
            "notifications would be suppressed as a mail loop (use another [smtp] from_address)"
        )
        return ProbeResult("notifications", False, detail)
    return ProbeResult("notifications", True, "no rule address is one of our own")


def _probe_mailboxes(config: Config) -> Iterator[ProbeResult]:
    """Each mailbox: login, its folders, and the capabilities exactly-once relies on."""
    for mb in config.mailboxes:
        target = f"mailbox {mb.name} {mb.username}@{mb.host}:{mb.port} ({mb.tls})"
        try:
            with ImapMailbox(mb, config.timeouts.imap_seconds, connect_attempts=1) as imap:
                missing = [
                    f
                    for f in (mb.folder, mb.processed_folder, mb.failed_folder)
                    if not imap.folder_exists(f)
                ]
                caps = {c: imap.has(c) for c in ("MOVE", "UIDPLUS", "IDLE")}
                mode = imap.removal_mode
                cannot = _create_missing(imap, [f for f in missing if f != mb.folder])
        except (MailboxError, ConfigError) as exc:
            yield ProbeResult(target, False, str(exc))
            continue
        have = ", ".join(f"{c} {'yes' if ok else 'no'}" for c, ok in caps.items())
        how = {
            "move": "processed mail is MOVEd",
            "copy_expunge": "no MOVE: COPY + UID EXPUNGE of just that UID",
            "none": "no MOVE/UIDPLUS: mail stays, a UID high-water mark is kept",
        }[mode]
        if missing and mb.folder in missing:
            yield ProbeResult(target, False, f"folder {mb.folder!r} does not exist ({have})")
        elif cannot:
            yield ProbeResult(target, False, f"cannot create folder(s): {'; '.join(cannot)}")
        elif missing:
            note = f"{', '.join(missing)} were missing: created now"
            yield ProbeResult(target, True, f"logged in; {note}; {have}; {how}")
        else:
            yield ProbeResult(target, True, f"logged in; folders ok; {have}; {how}")


def _secret_refs(config: Config) -> Iterator[tuple[str, SecretRef]]:
    """Every secret reference in the config, with the key it sits under."""
    if config.database.password is not None:
        yield "database.password", config.database.password
    for i, mb in enumerate(config.mailboxes):
        for key in ("password", "oauth_token"):
            ref = getattr(mb, key)
            if ref is not None:
                yield f"mailboxes[{i}] ({mb.name}).{key}", ref
    for key in ("password", "oauth_token"):
        ref = getattr(config.smtp, key)
        if ref is not None:
            yield f"smtp.{key}", ref


def _token_commands(config: Config) -> Iterator[tuple[str, list[str]]]:
    for i, mb in enumerate(config.mailboxes):
        if mb.oauth_token_command:
            yield f"mailboxes[{i}] ({mb.name}).oauth_token_command", mb.oauth_token_command
    if config.smtp.oauth_token_command:
        yield "smtp.oauth_token_command", config.smtp.oauth_token_command


def probe_local(config: Config, *, secrets: bool = True) -> Iterator[ProbeResult]:
    """What ``run`` reads from this host before it talks to anyone: the rules, every template
    (rendered with a sample ticket) and, with ``secrets``, every secret and token command (they
    may exist only where the service runs). One line per problem."""
    try:
        load_rules(config.rules.file)
        yield ProbeResult("rules", True, str(config.rules.file or "defaults"), local=True)
    except RulesError as exc:
        yield ProbeResult("rules", False, str(exc), local=True)
    try:
        templates(config)
        where = config.notifications.templates_dir or "packaged"
        yield ProbeResult("templates", True, f"{where}: each renders a sample", local=True)
    except (ConfigError, RulesError) as exc:
        yield ProbeResult("templates", False, str(exc), local=True)
    yield _triage_line(config)
    if not secrets:
        return
    for key, ref in _secret_refs(config):
        try:
            ref.resolve()
        except ConfigError as exc:
            yield ProbeResult(f"secret {key}", False, str(exc).removeprefix("secret: "), local=True)
    for key, command in _token_commands(config):
        if shutil.which(command[0]) is None:
            detail = f"{command[0]!r} is not an executable on PATH"
            yield ProbeResult(key, False, detail, local=True)


def _triage_line(config: Config) -> ProbeResult:
    """Where doubt goes: a triage address (never one of ours: delivery would drop it as a loop),
    or, without one, the assignee alone and ``tickets list --needs-review``."""
    triage = config.triage
    below = "model's threshold" if triage.review_below is None else f"p < {triage.review_below}"
    if not triage.address:
        detail = f"no [triage] address: needs-review tickets ({below}) go to their assignee only"
        detail += "; list them with `propdesk tickets list --needs-review`"
    elif triage.address in own_addresses(config):
        detail = f"address {triage.address} is one of ours: its mail would be dropped as a loop"
        return ProbeResult("triage", False, detail, local=True)
    else:
        detail = f"needs-review tickets ({below}) also go to {triage.address}"
    return ProbeResult("triage", True, detail, local=True)


# Probes run by `check-config --connect`, in order, after ``probe_local``. Adapters add theirs.
PROBES: list[Probe] = [_probe_database, _probe_mailboxes, _probe_smtp]


def _create_missing(imap: ImapMailbox, folders: list[str]) -> list[str]:
    """Create what ``run`` would create at its first pass; the errors of those that fail."""
    errors = []
    for folder in folders:
        try:
            imap.ensure_folder(folder)
        except MailboxError as exc:
            errors.append(f"{folder}: {exc}")
    return errors


def probe(config: Config) -> Iterator[ProbeResult]:
    """Run every probe; each yields one line per thing it checked."""
    for p in PROBES:
        yield from p(config)
