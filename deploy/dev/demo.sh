#!/usr/bin/env bash
# The main job on a local stack, from a fresh clone: installs what is missing (setup.sh), starts
# Dovecot + an SMTP peer + a database (local PostgreSQL if it answers, else a throwaway cluster),
# all fresh, writes a config for them, migrates, appends the sample tenant emails from
# deploy/dev/samples/ and runs propdesk in the foreground. Ctrl-C stops it and the whole stack.
#
# State (config, logs, mail the SMTP peer received) lives in .stack/demo/ in the repo.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$REPO/.stack/demo"
PY="$REPO/.venv/bin/python"

bash "$REPO/deploy/dev/setup.sh"

# A demo already running from this checkout would share ports and state: stop it first.
if [ -s "$STATE/stack.pid" ] && kill -0 "$(cat "$STATE/stack.pid")" 2>/dev/null; then
    echo "demo: stopping the previous demo stack (pid $(cat "$STATE/stack.pid"))" >&2
    kill -TERM "$(cat "$STATE/stack.pid")" || true
    while kill -0 "$(cat "$STATE/stack.pid")" 2>/dev/null; do sleep 0.2; done
fi
rm -rf "$STATE"
mkdir -p "$STATE"

cd "$REPO"
# Started in the background: a non-interactive shell makes it ignore SIGINT, so Ctrl-C reaches
# propdesk alone and the EXIT trap below tears the stack down in order.
"$PY" -m tests.stack up --dir "$STATE" >"$STATE/stack.log" 2>&1 &
STACK_PID=$!
echo "$STACK_PID" >"$STATE/stack.pid"
WAIT_PID=""

cleanup() {
    trap - EXIT INT TERM
    [ -n "$WAIT_PID" ] && kill "$WAIT_PID" 2>/dev/null || true
    if kill -0 "$STACK_PID" 2>/dev/null; then
        echo "demo: stopping the stack" >&2
        kill -TERM "$STACK_PID" 2>/dev/null || true
        wait "$STACK_PID" 2>/dev/null || true
    fi
    rm -f "$STATE/stack.pid"
    tail -n 3 "$STATE/stack.log" >&2 || true
    echo "demo: stopped. Mail the SMTP peer received is in $STATE/sent/" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 300); do
    [ -f "$STATE/ready" ] && break
    if ! kill -0 "$STACK_PID" 2>/dev/null; then
        echo "demo: the stack failed to start:" >&2
        cat "$STATE/stack.log" >&2
        exit 1
    fi
    sleep 0.2
done
[ -f "$STATE/ready" ] || { echo "demo: the stack did not come up in 60 s" >&2; exit 1; }
cat "$STATE/stack.log" >&2

# shellcheck source=/dev/null
source "$STATE/env"  # PROPDESK_CONFIG and the mailbox password (never in the config file)

"$PY" -m propdesk migrate
# The tenant directory: fills the unit of a sample that names none (07) and the greetings.
"$PY" -m propdesk tenants import "$REPO"/deploy/dev/samples/tenants.csv
"$PY" -m tests.stack append --dir "$STATE" "$REPO"/deploy/dev/samples/*.eml

"$PY" -m propdesk check-config --connect || echo "demo: a probe failed (see above)" >&2

if "$PY" -c 'import propdesk.cli.run' 2>/dev/null; then
    echo "demo: running propdesk in the foreground; Ctrl-C stops it and the stack" >&2
    "$PY" -m propdesk run
else
    echo "demo: 'propdesk run' is not in this build yet (the ingest work adds it)." >&2
    echo "demo: the stack stays up for you: config $PROPDESK_CONFIG, 'source $STATE/env'." >&2
    echo "demo: Ctrl-C stops it." >&2
    sleep infinity &
    WAIT_PID=$!
    wait "$WAIT_PID"
fi
