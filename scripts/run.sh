#!/usr/bin/env bash
# Starts nats-server and every netpulse service in the foreground; Ctrl-C or SIGTERM stops
# all of them. Honours NETPULSE_NATS__URL (nats-server listens there), NETPULSE_DATA_DIR
# (default ./data) and NETPULSE_GATEWAY__LISTEN (default 127.0.0.1:8080).
# NETPULSE_CLUSTER=1 (`make run-cluster`) starts the three-node cluster of nats/cluster/ on
# this machine instead (clients on 127.0.0.1:4222-4224), and the services with all three URLs
# and NETPULSE_NATS__REPLICAS=3.
set -euo pipefail
cd "$(dirname "$0")/.."

export NETPULSE_DATA_DIR=${NETPULSE_DATA_DIR:-./data}
cluster=${NETPULSE_CLUSTER:-0}
if [ "$cluster" = 1 ]; then
  export NETPULSE_NATS__URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
  export NETPULSE_NATS__REPLICAS=${NETPULSE_NATS__REPLICAS:-3}
fi
export NETPULSE_NATS__URL=${NETPULSE_NATS__URL:-nats://127.0.0.1:4222}
listen=${NETPULSE_GATEWAY__LISTEN:-127.0.0.1:8080}

hostport=${NETPULSE_NATS__URL#*://}
hostport=${hostport##*@}
hostport=${hostport%%/*}
nats_port=${hostport##*:}
nats_host=${hostport%:*}
[ "$nats_host" = "$hostport" ] && nats_port=4222
case $nats_host in ''|localhost) nats_host=127.0.0.1 ;; esac

mkdir -p "$NETPULSE_DATA_DIR"
services=()
nats_pids=()

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "netpulse: stopping"
  if [ ${#services[@]} -gt 0 ]; then
    kill -TERM "${services[@]}" 2>/dev/null || true
    # Give them 10 s to finish what they are doing, then insist.
    for _ in $(seq 1 100); do
      alive=0
      for pid in "${services[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${services[@]}" 2>/dev/null || true
    for pid in "${services[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  if [ ${#nats_pids[@]} -gt 0 ]; then
    kill -TERM "${nats_pids[@]}" 2>/dev/null || true
    for pid in "${nats_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each service has its own NATS user (see nats/nats.conf); the passwords are generated on the
# first start (and for a service new since) and kept, readable by this user only, in the data
# folder.
credentials="$NETPULSE_DATA_DIR/nats-credentials.env"
(umask 077; touch "$credentials"; python3 - "$credentials" <<'PY'
import secrets, sys
path = sys.argv[1]
known = open(path).read()
with open(path, "a") as out:
    for service in ("scheduler", "poller", "recorder", "gateway", "logs", "alerter"):
        name = f"NETPULSE_NATS_{service.upper()}_PASSWORD="
        if name not in known:
            # A leading letter: nats-server reads the value as a string, not a number.
            out.write(f"{name}np{secrets.token_hex(16)}\n")
PY
)
set -a
. "$credentials"
set +a

# nats-server runs in its own session so Ctrl-C reaches it only through stop_all, after the
# services have drained their connections.
if [ "$cluster" = 1 ]; then
  for n in 1 2 3; do
    JETSTREAM_STORE_DIR="$NETPULSE_DATA_DIR/jetstream-node-$n" \
      setsid tools/nats-server -c "nats/cluster/node-$n.conf" &
    nats_pids+=($!)
  done
  # Ready once every node has JetStream up (a meta leader elected): /healthz answers 200.
  if ! python3 - <<'PY'
import sys, time, urllib.request
for port in (8222, 8223, 8224):
    for attempt in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    else:
        sys.exit(1)
PY
  then
    echo "netpulse: the nats-server cluster did not start (are ports 4222-4224, 6222-6224, 8222-8224 free?)" >&2
    exit 1
  fi
else
  JETSTREAM_STORE_DIR="$NETPULSE_DATA_DIR/jetstream" \
    setsid tools/nats-server -c nats/nats.conf -a "$nats_host" -p "$nats_port" &
  nats_pids+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$nats_host/$nats_port") 2>/dev/null; then break; fi
    if ! kill -0 "${nats_pids[0]}" 2>/dev/null; then
      echo "netpulse: nats-server did not start (is port $nats_port in use?)" >&2
      exit 1
    fi
    sleep 0.1
  done
fi

# First start with this data folder: the gateway creates user 'admin'. Unless
# NETPULSE_ADMIN_PASSWORD says otherwise, its password is random and shown here, once.
first_start=0
[ -f "$NETPULSE_DATA_DIR/.initialised" ] || first_start=1
if [ "$first_start" = 1 ] && [ -z "${NETPULSE_ADMIN_PASSWORD:-}" ]; then
  NETPULSE_ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
  export NETPULSE_ADMIN_PASSWORD
  echo "netpulse: first start: sign in as 'admin' with password $NETPULSE_ADMIN_PASSWORD (shown once)"
fi

for service in scheduler poller recorder gateway logs alerter; do
  password_var="NETPULSE_NATS_$(echo "$service" | tr a-z A-Z)_PASSWORD"
  NETPULSE_NATS__USER=$service NETPULSE_NATS__PASSWORD=${!password_var} target/release/netpulse-$service &
  services+=($!)
done

# Demo: three simulated devices, so a new user sees live traffic at once. NETPULSE_DEMO=0
# turns this off; the devices are registered only on the first start with this data folder.
if [ "${NETPULSE_DEMO:-1}" != "0" ]; then
  demo_port=${NETPULSE_DEMO_BASE_PORT:-16100}
  target/release/netpulse-sim --devices 3 --interfaces 4 --base-port "$demo_port" \
    --control "${NETPULSE_DEMO_CONTROL:-127.0.0.1:9161}" >/dev/null &
  services+=($!)
  if [ "$first_start" = 1 ]; then
    python3 - "$listen" "$demo_port" <<'PY'
import json, os, sys, time, urllib.request, urllib.error
listen, port = sys.argv[1], int(sys.argv[2])
for attempt in range(100):
    try:
        urllib.request.urlopen(f"http://{listen}/healthz", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
def post(path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://{listen}{path}", data=json.dumps(body).encode(), headers=headers)
    return json.load(urllib.request.urlopen(request, timeout=5))
try:
    token = post("/api/login", {"username": "admin", "password": os.environ.get("NETPULSE_ADMIN_PASSWORD", "")})["token"]
except urllib.error.HTTPError:
    print("netpulse: demo devices not added (admin password unknown)")
    sys.exit(0)
for n in range(3):
    body = {"name": f"demo-{n + 1}", "address": f"127.0.0.1:{port + n}", "interval": 5}
    try:
        post("/api/devices", body, token)
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise
print("netpulse: demo devices demo-1..demo-3 added (NETPULSE_DEMO=0 to skip)")
PY
  fi
fi
touch "$NETPULSE_DATA_DIR/.initialised"

echo "netpulse: dashboard on http://$listen (NATS $NETPULSE_NATS__URL, data in $NETPULSE_DATA_DIR); Ctrl-C stops"
# Wait until any process ends (or a signal comes), then stop the rest.
set +e
wait -n "${nats_pids[@]}" "${services[@]}"
status=$?
echo "netpulse: a process exited (status $status)" >&2
exit "$status"
