"""Engines and connections for PostgreSQL, built from the config with timeouts on every socket."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, NullPool, create_engine
from sqlalchemy.engine import URL

from propdesk.config import DatabaseConfig, Secret


def database_url(cfg: DatabaseConfig, password: Secret | None = None) -> URL:
    """A SQLAlchemy URL object; the password goes in as an object field, never a string URL."""
    return URL.create(
        "postgresql+psycopg",
        username=cfg.user,
        password=password.reveal() if password is not None else None,
        host=cfg.host,
        port=cfg.port,
        database=cfg.name,
    )


def _connect_args(cfg: DatabaseConfig, timeout_seconds: float) -> dict[str, Any]:
    return {
        "connect_timeout": max(1, round(timeout_seconds)),
        "sslmode": cfg.sslmode,
        "application_name": "propdesk",
        # A dead peer must not hang the loop forever: TCP keepalives plus a user timeout.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": int(timeout_seconds * 1000) * 3,
    }


def make_engine(
    cfg: DatabaseConfig,
    password: Secret | None = None,
    timeout_seconds: float = 10.0,
    *,
    pooled: bool = True,
) -> Engine:
    """The application engine. ``pooled=False`` gives connections that really close.

    Session-level advisory locks must live on an unpooled connection: a pooled one goes back to
    the pool on close() still holding the lock.
    """
    kwargs: dict[str, Any] = {
        "connect_args": _connect_args(cfg, timeout_seconds),
        "pool_pre_ping": True,
        "hide_parameters": True,
    }
    if pooled:
        kwargs.update(
            pool_size=cfg.pool_size, max_overflow=cfg.pool_size, pool_timeout=timeout_seconds
        )
    else:
        kwargs["poolclass"] = NullPool
    return create_engine(database_url(cfg, password), **kwargs)
