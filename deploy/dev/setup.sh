#!/usr/bin/env bash
# Install everything a fresh Debian 12 machine (root, Python 3.11) needs to run propdesk's local
# stack and its tests: Dovecot (IMAP), PostgreSQL when none answers on 127.0.0.1:5432, a venv in
# the repo with propdesk installed editable plus the dev extras.
# Idempotent: every step checks first, so re-running it is fast and changes nothing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq
        apt_updated=1
    fi
    log "apt-get install $*"
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_answers() {
    # pg_isready ships with postgresql-client; fall back to bash's /dev/tcp when it is missing.
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432 -t 3
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

# --- Dovecot --------------------------------------------------------------------------------
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-core)
# systemd-analyze (package systemd) lets a test verify deploy/propdesk.service.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The HTML report's screenshot test renders it in a headless browser (Debian's chromium).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# faketime and stress: the by-hand checks that the suite passes at any hour and under load
# (issue 11; not used by the tests themselves).
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v stress >/dev/null 2>&1 || need+=(stress)
# python3-venv is a separate Debian package; without it `python3 -m venv` fails.
"$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

# --- PostgreSQL: only when nothing answers and no cluster is installed ----------------------
if ! pg_answers; then
    if ls /etc/postgresql/*/main >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
        ver="$(ls /etc/postgresql | sort -V | tail -n1)"
        log "starting the installed PostgreSQL $ver cluster"
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    else
        need+=(postgresql)
    fi
fi

# The throwaway-cluster fallback needs the server binaries even when some server answers.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    [[ " ${need[*]-} " == *" postgresql "* ]] || need+=(postgresql)
fi

if [ "${#need[@]}" -gt 0 ]; then
    apt_install "${need[@]}"
fi

# Debian's dovecot-core postinst starts a system Dovecot on 143/993: with systemd it enables
# dovecot.service and dovecot.socket, without it `invoke-rc.d dovecot start` (unless a
# policy-rc.d forbids it, as in many containers). Ours run from private configs on free ports;
# stop and disable the system one so it holds no ports.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    for unit in dovecot.socket dovecot.service; do
        if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
            log "disabling the system $unit"
            as_root systemctl disable --now "$unit" >/dev/null 2>&1 || true
        fi
    done
elif [ -s /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
    log "stopping the system dovecot (pid $(cat /run/dovecot/master.pid))"
    as_root doveadm stop >/dev/null 2>&1 || as_root kill "$(cat /run/dovecot/master.pid)" || true
fi

# A freshly installed cluster may not have been started (policy-rc.d, no systemd): start it.
# Its pg_hba is left alone: when a trust login as postgres on 127.0.0.1 fails, the tests and
# the demo use a throwaway cluster of their own instead (tests/stack/postgres.py).
if ! pg_answers && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver="$(ls /etc/postgresql | sort -V | tail -n1)"
    log "starting PostgreSQL $ver"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
fi

# --- venv + package -------------------------------------------------------------------------
cd "$REPO"
if [ ! -x .venv/bin/python ]; then
    log "creating $REPO/.venv"
    "$PYTHON" -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last successful install.
stamp=.venv/.propdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! .venv/bin/python -c 'import propdesk, pytest, aiosmtpd' 2>/dev/null; then
    log "pip install -e '.[dev]'"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$stamp"
fi
log "ready: $(.venv/bin/python --version), dovecot $(dovecot --version | cut -d' ' -f1)"
