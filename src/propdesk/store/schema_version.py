"""The schema's revision, read without Alembic: what ``propdesk run`` checks at every start.

Alembic (with Mako and Pygments behind it) takes a noticeable part of a second to import; the
daemon only needs to know whether the database is at the newest revision the package ships.
The database's revision is the row of ``alembic_version``; the newest one is the revision no
other migration names as its ``down_revision`` (read from the files' assignments, as Alembic
does). ``propdesk.store.migrate`` still runs the migrations; a test keeps both answers equal.
"""

from __future__ import annotations

import ast
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy import Engine


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None for a database never migrated."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise ValueError(f"the database has several revisions: {', '.join(sorted(found))}")
    return found[0] if found else None


def _assigned(source: str, name: str) -> str | None:
    """The string (or None) a module assigns to ``name`` at its top level."""
    for node in ast.parse(source).body:
        expr: ast.expr | None
        if isinstance(node, ast.Assign):
            target, expr = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, expr = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            value = ast.literal_eval(expr) if expr is not None else None
            if value is None or isinstance(value, str):
                return value
            raise ValueError(f"{name} is not one revision: {value!r}")
    raise ValueError(f"no {name} assigned")


def head_revision() -> str | None:
    """The newest revision the package ships (ValueError when there are several heads)."""
    versions = resources.files("propdesk.store").joinpath("migrations", "versions")
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in versions.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("_"):
            continue
        source = entry.read_text(encoding="utf-8")
        revision = _assigned(source, "revision")
        if revision is None:
            raise ValueError(f"{entry.name}: revision is None")
        revisions.add(revision)
        parent = _assigned(source, "down_revision")
        if parent is not None:
            parents.add(parent)
    heads = sorted(revisions - parents)
    if len(heads) > 1:
        raise ValueError(f"several heads: {', '.join(heads)}")
    return heads[0] if heads else None
