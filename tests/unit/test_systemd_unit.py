"""deploy/propdesk.service is a unit systemd accepts, and says what the daemon relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from propdesk.config import Config

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "propdesk.service"
SHIPPED_BINARY = "/opt/propdesk/venv/bin/propdesk"


def _settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with its ExecStart binary made to exist (a stand-in script in tmp)."""
    binary = tmp_path / "bin" / "propdesk"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    copy = tmp_path / "propdesk.service"
    text = UNIT.read_text()
    assert SHIPPED_BINARY in text
    copy.write_text(text.replace(SHIPPED_BINARY, str(binary)))
    return copy


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: run deploy/dev/setup.sh (it installs systemd)")
    return found


def test_systemd_analyze_verify_accepts_the_unit(unit_copy: Path) -> None:
    done = subprocess.run(
        [_analyze(), "verify", str(unit_copy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in done.stderr.splitlines() if "propdesk.service" in line]
    assert done.returncode == 0 and not complaints, done.stderr


def test_hardening_keeps_exposure_low(unit_copy: Path) -> None:
    done = subprocess.run(
        [_analyze(), "security", "--offline=yes", str(unit_copy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0


def test_notify_watchdog_and_restart_policy() -> None:
    s = _settings()
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    watchdog = s["WatchdogSec"][0]
    assert watchdog.endswith("min") and int(watchdog.removesuffix("min")) * 60 >= (
        3 * Config().timeouts.imap_seconds + 60
    )
    assert s["RestartPreventExitStatus"] == ["2"]  # a config error is not retried
    # A 15-minute database outage at boot is waited out in-process, not by restarts.
    assert Config().startup.database_wait_seconds >= 15 * 60


def test_the_purge_timer_and_its_service_verify(tmp_path: Path) -> None:
    """The daily retention purge the README installs: both units pass ``systemd-analyze
    verify`` (the binary made to exist, as above)."""
    binary = tmp_path / "bin" / "propdesk"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    service = (UNIT.parent / "propdesk-purge.service").read_text()
    assert f"{SHIPPED_BINARY} purge" in service
    (tmp_path / "propdesk-purge.service").write_text(service.replace(SHIPPED_BINARY, str(binary)))
    timer = tmp_path / "propdesk-purge.timer"
    timer.write_text((UNIT.parent / "propdesk-purge.timer").read_text())
    done = subprocess.run(
        [_analyze(), "verify", str(timer), str(tmp_path / "propdesk-purge.service")],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in done.stderr.splitlines() if "propdesk-purge" in line]
    assert done.returncode == 0 and not complaints, done.stderr
