#!/usr/bin/env bash
# Re-record tests/integration/golden/ingest_dev_corpus.json: the dev corpus's tickets and outbox
# rows through the real Dovecot + daemon at this commit. Only for a change that MEANS to change
# results (rules, templates); commit the new golden on its own, saying why.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROPDESK_WRITE_GOLDEN=1 .venv/bin/pytest tests/integration/test_ingest_golden.py -q "$@"
