"""``python -m tests.integration.ingest_cli ARGS``: the real ``propdesk`` CLI for subprocess tests.

The only difference from ``python -m propdesk``: while ``propdesk.core.pipeline`` is not merged
yet, ``app.analyser`` is replaced by the keyword stand-in from ``ingest_support``.
"""

from __future__ import annotations

import sys

from propdesk import app, cli
from tests.integration import ingest_support

if not ingest_support.HAVE_PIPELINE:
    app.analyser = ingest_support.keyword_analyser

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
