# Shared set-up for scripts/demo and scripts/test: sourced, not run.
# Installs everything the project needs into .venv and frontend/node_modules, idempotently.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

pick_python() {
  # The CPU build of torch on this machine kind is for CPython 3.11.
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
      if "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)'; then
        echo "$candidate"; return
      fi
    fi
  done
  echo "Python 3.11-3.13 is required." >&2; exit 1
}

setup_python() {
  local stamp="$VENV/.installed" want
  want="$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  log "Installing Python packages into .venv (first run takes a few minutes)"
  [ -x "$PY" ] || "$(pick_python)" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  # The exact versions of requirements.lock (made by scripts/lock from pyproject.toml), with
  # the CPU build of PyTorch (torch==2.13.0+cpu); see README for the GPU install.
  "$PY" -m pip install -q -r requirements.lock
  "$PY" -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
}

setup_frontend() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm (Node.js 20+) is required to build the viewer." >&2; exit 1
  fi
  local stamp="frontend/node_modules/.installed" want
  want="$(sha256sum frontend/package-lock.json | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "Installing the viewer's npm packages"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
  local built="frontend/dist/.built" src
  # Every input of the build (sources, the build plugin, config, lockfile).
  src="$(cd frontend && find src build vite.config.js package.json package-lock.json -type f | sort | xargs cat | sha256sum | cut -c1-16)"
  if [ ! -f "$built" ] || [ "$(cat "$built")" != "$src" ]; then
    log "Building the viewer (Vite)"
    (cd frontend && npm run build --silent)
    echo "$src" > "$built"
  fi
}

setup_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing Debian's Chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "Chromium is missing: install Debian's 'chromium' package (browser tests need /usr/bin/chromium)." >&2
  fi
}

start_services() {
  # PostgreSQL and Redis on loopback; start them if they are down.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    log "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='readerstudy'" 2>/dev/null \
    | grep -q 1 || createdb -h 127.0.0.1 -U postgres readerstudy
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "Starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
}
