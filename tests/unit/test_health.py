"""/healthz, /readyz and /metrics over real HTTP, with an injected monotonic clock."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from propdesk.app.supervision import supervision
from propdesk.config import Config, MetricsConfig
from propdesk.daemon.health import Health, HealthServer
from propdesk.daemon.metrics import Metrics
from propdesk.errors import ConfigError


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def served() -> Iterator[tuple[Health, FakeTime, list[str | None], Metrics, int]]:
    now = FakeTime()
    db: list[str | None] = [None]
    health = Health(
        ["main", "second"], poll_seconds=30, turn_seconds=5, monotonic=now, database=lambda: db[0]
    )
    metrics = Metrics()
    server = HealthServer("127.0.0.1:0", metrics.registry, health)
    try:
        yield health, now, db, metrics, server.port
    finally:
        server.close()


Served = tuple[Health, FakeTime, list[str | None], Metrics, int]


def test_healthz_follows_the_loop(served: Served) -> None:
    health, now, _db, _m, port = served
    assert _get(port, "/healthz")[0] == 200  # just started: grace of N turns
    now.t += 16
    code, body = _get(port, "/healthz")
    assert code == 503 and json.loads(body)["ok"] is False
    health.turned()
    assert _get(port, "/healthz")[0] == 200


def test_readyz_needs_database_and_every_mailbox(
    served: Served,
) -> None:
    health, now, db, _m, port = served
    code, body = _get(port, "/readyz")
    assert code == 503
    assert "mailbox main: never reached" in json.loads(body)["problems"]
    health.mailbox_ok("main")
    health.mailbox_idling("second", True)
    assert _get(port, "/readyz")[0] == 200
    db[0] = "OperationalError: connection refused"
    code, body = _get(port, "/readyz")
    assert code == 503 and "database: OperationalError" in body
    db[0] = None
    now.t += 91  # three poll intervals: the polled one is stale, the idling one is not
    code, body = _get(port, "/readyz")
    assert code == 503 and json.loads(body)["problems"] == ["mailbox main: last reached 91.0s ago"]
    health.mailbox_down("main", "connect refused")
    assert "mailbox main: connect refused" in _get(port, "/readyz")[1]
    health.mailbox_ok("main")
    assert _get(port, "/readyz")[0] == 200


def test_metrics_and_unknown_paths(
    served: Served,
) -> None:
    _h, _now, _db, metrics, port = served
    metrics.tickets_created.labels(mailbox="main").inc()
    code, body = _get(port, "/metrics")
    assert code == 200 and 'propdesk_tickets_created_total{mailbox="main"} 1.0' in body
    assert _get(port, "/")[0] == 404


def test_bad_listen_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        HealthServer("9464", Metrics().registry, None)


def test_a_taken_port_names_the_key_and_the_way_out() -> None:
    first = HealthServer("127.0.0.1:0", Metrics().registry, None)
    try:
        with pytest.raises(ConfigError, match=r'metrics.listen .*listen = ""'):
            HealthServer(f"127.0.0.1:{first.port}", Metrics().registry, None)
    finally:
        first.close()


def test_supervision_serves_unless_listen_is_empty() -> None:
    """``run`` serves by default (the default is loopback); ``listen = ""`` turns it off."""
    off = supervision(Config(metrics=MetricsConfig(listen="")), Metrics(), environ={})
    try:
        assert off.server is None
    finally:
        off.close()
    on = supervision(Config(metrics=MetricsConfig(listen="127.0.0.1:0")), Metrics(), environ={})
    try:
        assert on.server is not None and _get(on.server.port, "/metrics")[0] == 200
    finally:
        on.close()
