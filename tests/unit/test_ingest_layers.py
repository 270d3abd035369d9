"""Ingest's layers stay apart: SQL only in store/, and the stages pure.

(The core's own purity is kept by ``test_core_imports``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_core_imports import imported_modules

SRC = Path(__file__).resolve().parents[2] / "src" / "propdesk"
NO_SQL = sorted([*(SRC / "ingest").glob("*.py"), *(SRC / "daemon").glob("*.py")])
#: The chain and its stages see plain values only: the core, the ingest types, store records.
PURE = [SRC / "ingest" / "chain.py", SRC / "ingest" / "stages.py", SRC / "ingest" / "types.py"]
PURE_OWN = ("propdesk.core", "propdesk.errors", "propdesk.logging", "propdesk.ingest.")
PURE_OWN_STORE = ("propdesk.store.records",)


@pytest.mark.parametrize("path", NO_SQL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ingest_and_daemon_never_import_sqlalchemy(path: Path) -> None:
    for name in imported_modules(path):
        assert name.split(".")[0] != "sqlalchemy", f"{path.name} imports {name}: use store/"


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_stages_import_no_adapter(path: Path) -> None:
    for name in imported_modules(path):
        if name.startswith("propdesk"):
            assert name.startswith(PURE_OWN + PURE_OWN_STORE), f"{path.name} imports {name}"
