#!/usr/bin/env bash
# Installs what `make bench-scale` compares netpulse with, when it is missing: Prometheus'
# snmp_exporter, from the distribution's package prometheus-snmp-exporter (apt-get, as root).
# Without it the benchmark still measures netpulse and says that snmp_exporter was skipped.
set -euo pipefail

if command -v prometheus-snmp-exporter >/dev/null || command -v snmp_exporter >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-bench: snmp_exporter is missing; install prometheus-snmp-exporter (as root: apt-get install prometheus-snmp-exporter) to compare with it"
  exit 0
fi
echo "setup-bench: installing prometheus-snmp-exporter (apt-get)"
# The package would start its own exporter as a service where there is an init system: the
# benchmark runs its own, so policy-rc.d keeps services from starting during the install.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  added_policy=1
fi
trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends prometheus-snmp-exporter >/dev/null \
  || { apt-get update -qq && apt-get install -y --no-install-recommends prometheus-snmp-exporter >/dev/null; }
