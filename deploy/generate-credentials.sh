#!/usr/bin/env bash
# Creates the NATS passwords of netpulse's services, once, in /etc/netpulse/credentials (or
# the folder given as the first argument):
#   nats.env       NETPULSE_NATS_<SERVICE>_PASSWORD for each service, read by nats-server
#                  (nats/nats.conf takes every user's password from these variables);
#   <service>.env  NETPULSE_NATS__USER and NETPULSE_NATS__PASSWORD for that service alone.
# systemd reads these files as root before it starts a unit, so they are root's only (0600).
#
# Running it again keeps every existing password and rewrites the service files from nats.env.
# To renew a password: delete its line from nats.env, run this again, then restart
# nats-server (every node) and that service. On a cluster, run it on one host and copy the
# folder to the others: every node and every service must agree.
set -euo pipefail
dir=${1:-/etc/netpulse/credentials}
services=(scheduler poller recorder gateway logs alerter)
umask 077
install -d -m 0700 "$dir"
touch "$dir/nats.env"
for service in "${services[@]}"; do
  variable="NETPULSE_NATS_${service^^}_PASSWORD"
  if ! grep -q "^$variable=" "$dir/nats.env"; then
    # A letter first: nats-server would read a value made of digits as a number.
    echo "$variable=np$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >>"$dir/nats.env"
  fi
  password=$(sed -n "s/^$variable=//p" "$dir/nats.env")
  printf 'NETPULSE_NATS__USER=%s\nNETPULSE_NATS__PASSWORD=%s\n' "$service" "$password" >"$dir/$service.env"
done
chmod 0600 "$dir"/*.env
echo "netpulse: NATS credentials in $dir (nats.env and one file per service)"
