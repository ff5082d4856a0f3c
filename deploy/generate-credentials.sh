#!/usr/bin/env bash
# Creates one NATS password per netpulse service, once, in /etc/netpulse/credentials (or the
# folder given): nats.env for nats-server (every password, as nats/nats.conf reads them) and
# <service>.env for each service (its user and password). Existing files are kept, so running
# it again changes nothing; delete a service's line from nats.env and its file to renew it.
set -euo pipefail
dir=${1:-/etc/netpulse/credentials}
services=(scheduler poller recorder gateway logs)
umask 077
mkdir -p "$dir"
touch "$dir/nats.env"
for service in "${services[@]}"; do
  variable="NETPULSE_NATS_${service^^}_PASSWORD"
  if ! grep -q "^$variable=" "$dir/nats.env"; then
    # A leading letter: nats-server reads the value as a string, not a number.
    echo "$variable=np$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >> "$dir/nats.env"
  fi
  password=$(sed -n "s/^$variable=//p" "$dir/nats.env")
  printf 'NETPULSE_NATS__USER=%s\nNETPULSE_NATS__PASSWORD=%s\n' "$service" "$password" > "$dir/$service.env"
done
# nats-server reads nats.env (group netpulse-nats); the services read theirs (group netpulse).
if getent group netpulse-nats >/dev/null; then chgrp netpulse-nats "$dir/nats.env"; fi
if getent group netpulse >/dev/null; then
  for service in "${services[@]}"; do chgrp netpulse "$dir/$service.env"; done
fi
chmod 0640 "$dir"/*.env
chmod 0755 "$dir"
echo "netpulse: NATS credentials in $dir"
