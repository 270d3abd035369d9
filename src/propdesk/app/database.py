"""The database engine built from the config (its own module: ``report`` and ``migrate`` need
it without the IMAP, SMTP and analysis adapters)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from propdesk.store.engine import make_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from propdesk.config import Config


def engine(config: Config, *, pooled: bool = True) -> Engine:
    """The database engine, with the password resolved from its secret reference."""
    db = config.database
    password = db.password.resolve() if db.password is not None else None
    return make_engine(db, password, config.timeouts.database_seconds, pooled=pooled)


def _safe_error(exc: BaseException) -> str:
    """An error as one line, without connection strings (which could carry a password)."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {message}"
