"""``propdesk tenants import|list|show``: the tenant directory (who lives where, by address).

``import`` checks the whole file first and writes nothing when any line is wrong (each wrong line
is named by its line number); a good file is upserted by address in ONE transaction, so running
the same file twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from propdesk import app
from propdesk.core.tenants import CSV_COLUMNS, parse_directory_csv
from propdesk.errors import PropdeskError

ORDER = 55


class DirectoryFileError(PropdeskError):
    """The CSV file cannot be read at all (missing, not UTF-8)."""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "tenants", help="the tenant directory: import a CSV, list, show"
    )
    tsub = parser.add_subparsers(dest="tenants_command", metavar="ACTION", required=True)

    imp = tsub.add_parser(
        "import",
        help=f"upsert tenants from a CSV file (header: {','.join(CSV_COLUMNS)})",
        description="All or nothing: a file with any bad line imports nothing and names each "
        "bad line. Idempotent: tenants are matched by email address (any case).",
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument(
        "--check", action="store_true", help="only check the file; write nothing, no database"
    )
    imp.set_defaults(func=run_import)

    ls = tsub.add_parser("list", help="every tenant, by property, building and unit")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=run_list)

    show = tsub.add_parser("show", help="one tenant by email address")
    show.add_argument("email", metavar="EMAIL")
    show.set_defaults(func=run_show)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot read: {exc}") from None


def run_import(args: argparse.Namespace) -> int:
    from propdesk.store import tenants as directory
    from propdesk.store.db import transaction

    parsed = parse_directory_csv(_read(args.file))
    if parsed.errors:
        for error in parsed.errors:
            print(f"{args.file}:{error}", file=sys.stderr)
        print(
            f"propdesk: {len(parsed.errors)} bad line(s) in {args.file}; nothing imported",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"{len(parsed.records)} tenant(s) in {args.file}: the file is fine")
        return 0
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with transaction(eng) as tx:
            counts = directory.upsert(tx, parsed.records, args.clock.now())
    finally:
        eng.dispose()
    print(
        f"{len(parsed.records)} tenant(s) in {args.file}: {counts.added} added, "
        f"{counts.updated} updated, {counts.unchanged} unchanged"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from propdesk.store import tenants as directory
    from propdesk.store.db import reading

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with reading(eng) as s:
            rows = directory.listing(s)
    finally:
        eng.dispose()
    if args.format == "json":
        for r in rows:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
        return 0
    for r in rows:
        where = " / ".join(x for x in (r.property, r.building) if x) or "-"
        print(f"{r.unit_number or '-':<10}  {where:<24}  {r.email:<36}  {r.name:<28}  {r.phone}")
    print(f"{len(rows)} tenant(s)", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from propdesk.store import tenants as directory
    from propdesk.store.db import reading

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with reading(eng) as s:
            found = directory.find_by_email(s, args.email)
            unit = (
                []
                if found is None
                else directory.co_tenants(s, found.unit, found.building, found.property)
            )
    finally:
        eng.dispose()
    if found is None:
        print(f"propdesk: no tenant {args.email.strip().lower()}", file=sys.stderr)
        return 1
    out = {**found.to_dict(), "co_tenants": [t.email for t in unit if t.email != found.email]}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0
