"""The composition root: builds every adapter and service from the config.

The CLI and the daemon get their collaborators here and nowhere else, so wiring lives in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from propdesk.config import Config, config_path, load_config
from propdesk.errors import StoreError
from propdesk.logging import configure_logging, get_logger
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine

log = get_logger(__name__)


def load(explicit_path: str | os.PathLike[str] | None, log_format: str | None = None) -> Config:
    """Read and validate the config, then configure logging from it."""
    config = load_config(config_path(explicit_path))
    configure_logging(config.logging.level, log_format or config.logging.format)
    return config


def engine(config: Config, *, pooled: bool = True) -> Engine:
    """The database engine, with the password resolved from its secret reference."""
    db = config.database
    password = db.password.resolve() if db.password is not None else None
    return make_engine(db, password, config.timeouts.database_seconds, pooled=pooled)


def migrate(config: Config) -> None:
    """Upgrade the schema to head and log from which revision to which."""
    eng = engine(config, pooled=False)
    try:
        before = migrations.current_revision(eng)
        migrations.upgrade(eng)
        after = migrations.current_revision(eng)
        log.info("migrate.done", from_revision=before, to_revision=after)
    except OperationalError as exc:  # unreachable/refused: one line for the operator
        db = config.database
        raise StoreError(
            f"database {db.user}@{db.host}:{db.port}/{db.name}: {_safe_error(exc)}"
        ) from None
    finally:
        eng.dispose()


@dataclass(frozen=True)
class ProbeResult:
    """One line of ``check-config --connect``."""

    target: str
    ok: bool
    detail: str

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


def _safe_error(exc: BaseException) -> str:
    """An error as one line, without connection strings (which could carry a password)."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {message}"


# Probes run by `check-config --connect`, in order. Adapters add theirs here.
PROBES: list[Probe] = [_probe_database]


def probe(config: Config) -> Iterator[ProbeResult]:
    """Run every probe; each yields one line per thing it checked."""
    for p in PROBES:
        yield from p(config)
