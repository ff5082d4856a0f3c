#!/usr/bin/env bash
# `make user ARGS="list"`: runs `netpulse-gateway user ...` with the gateway's NATS
# credentials from the data folder (see scripts/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export NETPULSE_DATA_DIR=${NETPULSE_DATA_DIR:-./data}
credentials="$NETPULSE_DATA_DIR/nats-credentials.env"
if [ -f "$credentials" ]; then
  set -a
  . "$credentials"
  set +a
  export NETPULSE_NATS__USER=gateway NETPULSE_NATS__PASSWORD="$NETPULSE_NATS_GATEWAY_PASSWORD"
fi
exec target/release/netpulse-gateway user "$@"
