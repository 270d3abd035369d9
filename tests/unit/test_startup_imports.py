"""Start-up stays light: ``propdesk --help`` loads no database driver, no plotting library and
no triage model, and ``propdesk.app`` resolves every name it promises.

What is imported is read from ``sys.modules`` of a fresh interpreter (a subprocess), never
timed: how fast that is depends on the machine (``bench/bench_startup.py`` measures it).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import propdesk.app
from propdesk.store import migrate, schema_version

REPO = Path(__file__).resolve().parents[2]

#: Modules ``--help`` must not import: each costs a noticeable part of a second to load.
HEAVY = ("sqlalchemy", "psycopg", "alembic", "matplotlib", "pydantic", "jinja2", "mailparser")

_LOADED = """
import json, runpy, sys
sys.argv = ["propdesk", *json.loads(sys.argv[1])]
try:
    runpy.run_module("propdesk", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*argv: str) -> set[str]:
    """The modules a fresh ``python -m propdesk ARGV`` has imported when it exits."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, json.dumps(argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [("--help",), ("report", "--help"), ("run", "--help")])
def test_help_imports_no_driver_no_plotting_no_model(argv: tuple[str, ...]) -> None:
    loaded = _modules_after(*argv)
    assert "propdesk.cli.report" in loaded  # every command was discovered
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"--help imported {heavy[:8]}"
    # The triage model is read by core.rules / core.triage_model: neither is needed for help.
    assert "propdesk.core.rules" not in loaded
    assert "propdesk.core.triage_model" not in loaded
    assert "propdesk.app.services" not in loaded


def _type_checking_names() -> dict[str, str]:
    """name -> module of the ``if TYPE_CHECKING:`` imports in ``propdesk/app/__init__.py``."""
    tree = ast.parse(Path(propdesk.app.__file__).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                for alias in imp.names:
                    names[alias.asname or alias.name] = imp.module
    return names


def test_app_lazy_names_match_what_mypy_is_told() -> None:
    home = {
        name: (f"propdesk.app{where}" if where.startswith(".") else where)
        for name, where in propdesk.app._HOME.items()
    }
    assert home == _type_checking_names()


def test_every_app_name_resolves_to_its_definition() -> None:
    for name, module in _type_checking_names().items():
        value = getattr(propdesk.app, name)
        assert value is getattr(sys.modules[module], name), name
    assert propdesk.app.adapters is sys.modules["propdesk.app.adapters"]  # submodules too
    # The module propdesk.app.supervision does not hide the function app.supervision.
    assert callable(propdesk.app.supervision)
    assert propdesk.app.supervision is sys.modules["propdesk.app.supervision"].supervision
    with pytest.raises(AttributeError):
        _ = propdesk.app.no_such_name  # type: ignore[attr-defined]


def test_schema_head_read_without_alembic_is_alembics_head() -> None:
    assert schema_version.head_revision() == migrate.head_revision(None)  # type: ignore[arg-type]
