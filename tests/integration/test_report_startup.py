"""``propdesk report`` (text, JSON) loads neither the daemon, the mail adapters, Alembic,
matplotlib nor the triage model: read from ``sys.modules`` of the real command, not timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk.config import Config, DatabaseConfig
from tests.integration.ingest_support import write_config

pytestmark = pytest.mark.integration

_RUN_AND_LIST = """
import json, runpy, sys
sys.argv = ["propdesk", *json.loads(sys.argv[1])]
try:
    runpy.run_module("propdesk", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
from propdesk.core.rules import default_triage_model
print(json.dumps([sorted(sys.modules), default_triage_model.cache_info().currsize]))
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_report_loads_only_what_it_needs(
    fmt: str,
    tmp_path: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    config_env: dict[str, str],
) -> None:
    config = write_config(Config(database=db_config), tmp_path / "p.toml")
    argv = ["--config", str(config), "report", "--format", fmt, "--output", str(tmp_path / "o")]
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, json.dumps(argv)],
        env=config_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded, models = json.loads(done.stdout.splitlines()[-1])
    assert (tmp_path / "o").stat().st_size > 0
    assert models == 0  # the triage model was never read
    unwanted = ("matplotlib", "alembic", "mailparser", "imapclient", "jinja2")
    assert [m for m in loaded if m.split(".")[0] in unwanted] == []
    ours = ("propdesk.daemon", "propdesk.ingest", "propdesk.mail", "propdesk.app.services")
    assert [m for m in loaded if m.startswith(ours)] == []
