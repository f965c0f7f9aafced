#!/usr/bin/env bash
# What the test suite needs beyond Python packages, installed or started if missing:
# a PostgreSQL server on 127.0.0.1:5432 with a `test` database, Debian's Chromium, nginx
# and docker-compose (the deploy tests; neither is started here, nor is any daemon).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
# Install packages whose maintainer scripts would start a system service (nginx on port
# 80): a policy-rc.d that refuses every start, unless the machine already has one.
apt_install_no_start() {
  local added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    added=1
  fi
  local status=0
  apt_install "$@" || status=$?
  if [ "$added" -eq 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
  return "$status"
}

# PostgreSQL: install if absent, start if down, make sure the `test` database exists.
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  apt_install postgresql
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  as_root su postgres -c "createdb test" 2>/dev/null \
    || psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null
fi

# Chromium from Debian, driven by Playwright through executable_path.
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
/usr/bin/chromium --version

# nginx from Debian for tests/e2e/scale/test_deploy_topology.py, which runs its own nginx
# on deploy/nginx.conf (-p/-c on a temporary prefix, in the foreground) and stops it.
if [ ! -x /usr/sbin/nginx ]; then
  apt_install_no_start --no-install-recommends nginx
fi
/usr/sbin/nginx -v

# Debian's docker-compose (v1.29, Python) for tests/deploy: `docker-compose config`
# validates deploy/compose.yaml against the Compose specification it ships and resolves
# it, without a Docker daemon.
if [ ! -x /usr/bin/docker-compose ]; then
  apt_install --no-install-recommends docker-compose
fi
/usr/bin/docker-compose version --short

# axe-core (accessibility rules, WCAG 2.1 A/AA) for the browser tests, from the npm registry,
# kept outside the repository; the tests inject axe.min.js into each page they check.
AXE_DIR="${AIGUILLAGE_NPM_CACHE:-$HOME/.cache/aiguillage-npm}"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
  fi
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4
fi
echo "axe-core $(node -p "require('$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || echo present)"
