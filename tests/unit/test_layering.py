"""The rooms stay apart: SQL lives in store/, and store/ never reaches up into the services.

Read from the source (as ``test_core_imports`` does for the core), so a stray import fails here
with the module's name instead of surfacing as a design drift months later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_core_imports import imported_modules

SRC = Path(__file__).resolve().parents[2] / "src" / "propdesk"

#: Besides store/: the composition root (a module or a package) builds engines and sessionmakers.
SQLALCHEMY_ALLOWED = ("store/", "app.py", "app/")
#: What store/ may import of the project: the core, config, errors, and the mail adapter's
#: Message-ID and compose types. Never the services, notify/, the CLI or the daemon.
STORE_MAY_IMPORT = ("propdesk.store", "propdesk.core", "propdesk.config", "propdesk.errors")
STORE_MAY_IMPORT_MAIL = ("propdesk.mail.compose",)


def _relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


ALL = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", ALL, ids=_relative)
def test_only_store_and_the_composition_root_import_sqlalchemy(path: Path) -> None:
    rel = _relative(path)
    if rel.startswith(SQLALCHEMY_ALLOWED):
        return
    used = [m for m in imported_modules(path) if m.split(".")[0] == "sqlalchemy"]
    assert not used, f"{rel} imports {used}: put the statement in propdesk.store"


@pytest.mark.parametrize("path", sorted((SRC / "store").rglob("*.py")), ids=_relative)
def test_store_imports_nothing_above_it(path: Path) -> None:
    for name in imported_modules(path):
        if name.split(".")[0] != "propdesk":
            continue
        assert name.startswith(STORE_MAY_IMPORT + STORE_MAY_IMPORT_MAIL), (
            f"{_relative(path)} imports {name}"
        )


#: Small modules whose names say what they do (the style guide): no source module over this.
MAX_MODULE_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    long = {
        _relative(p): n
        for p in ALL
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (lines): {long}"
