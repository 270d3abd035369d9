#!/usr/bin/env bash
# The whole test suite (unit + integration on the real PostgreSQL, Dovecot and aiosmtpd), from a
# fresh clone: installs what is missing first (setup.sh). Extra arguments go to pytest, e.g.
#   bash deploy/dev/test.sh -m "not integration"     bash deploy/dev/test.sh tests/unit -x
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$REPO/deploy/dev/setup.sh"

cd "$REPO"
set +e
"$REPO/.venv/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test: pytest collected no tests: that is a failure, not a pass" >&2
    exit 1
fi
exit "$rc"
