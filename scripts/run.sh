#!/usr/bin/env bash
# Starts nats-server and every netpulse service in the foreground and keeps them running: one
# that exits when nobody asked it to is started again after a pause (1 s, doubling to 30 s,
# back to 1 s once it has run for a minute), each restart logged with how it ended. Ctrl-C or
# SIGTERM stops all of them within 10 s. Each service's lines are prefixed with its name;
# nats-server logs to a file in the data folder. Honours NETPULSE_NATS__URL (nats-server
# listens there), NETPULSE_DATA_DIR (default ./data), NETPULSE_GATEWAY__LISTEN (default
# 127.0.0.1:8080) and NETPULSE_BIN_DIR (where the binaries are, default target/release).
# NETPULSE_CLUSTER=1 (`make run-cluster`) starts the three-node cluster of nats/cluster/ on
# this machine instead (clients on 127.0.0.1:4222-4224), and the services with all three URLs
# and NETPULSE_NATS__REPLICAS=3.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NETPULSE_BIN_DIR:-target/release}

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
# Each supervised process's current pid, by name: what stop_all insists on if need be.
NETPULSE_RUN_DIR=$(mktemp -d)
export NETPULSE_RUN_DIR

# supervise NAME COMMAND...: runs COMMAND (its output prefixed with NAME, unless NAME is
# nats-*: nats-server logs to its own file) until told to stop (SIGTERM), starting it again
# when it exits by itself. Started with `start`, in a session of its own: Ctrl-C reaches only
# this script, which stops everything in order.
supervise() {
  local name=$1
  shift
  local pause=1 stopping=0 child= started status
  trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM
  trap '' INT
  while :; do
    started=$SECONDS
    if [[ $name == nats* ]]; then
      "$@" &
    else
      "$@" > >(sed -u "s/^/$name | /") 2>&1 &
    fi
    child=$!
    echo "$child" > "$NETPULSE_RUN_DIR/$name.pid"
    status=0
    # A signal ends `wait` early: wait again until the process has really ended.
    while kill -0 "$child" 2>/dev/null; do
      wait "$child" && status=0 || status=$?
    done
    [ "$stopping" = 1 ] && exit 0
    (( SECONDS - started >= 60 )) && pause=1
    if (( status > 128 )); then
      how="killed by signal $(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128)))"
    else
      how="exit status $status"
    fi
    echo "netpulse: $name ended ($how); starting it again in $pause s" >&2
    sleep "$pause" &
    child=$!
    wait "$child" 2>/dev/null || true
    [ "$stopping" = 1 ] && exit 0
    pause=$(( pause * 2 > 30 ? 30 : pause * 2 ))
  done
}

export -f supervise

# start NAME COMMAND...: supervises COMMAND in the background; its supervisor's pid is $!.
start() {
  setsid bash -c 'supervise "$@"' supervise "$@" &
}

# stop_group TENTHS PID...: asks the supervisors to stop (they pass it on to what they run),
# gives them TENTHS tenths of a second, then kills what is left.
stop_group() {
  local tenths=$1
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 "$tenths"); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "netpulse: stopping"
  # Within 10 s in all: the services first (they drain their connections), then nats-server.
  stop_group 70 "${services[@]}"
  stop_group 25 "${nats_pids[@]}"
  # Whatever a killed supervisor left behind.
  for file in "$NETPULSE_RUN_DIR"/*.pid; do
    [ -f "$file" ] && kill -KILL "$(cat "$file")" 2>/dev/null || true
  done
  for pid in "${services[@]}" "${nats_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$NETPULSE_RUN_DIR"
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

# nats-server runs under its supervisor in its own session, so Ctrl-C reaches it only
# through stop_all, after the services have drained their connections. It logs to a file.
nats_log="$NETPULSE_DATA_DIR/nats-server.log"
if [ "$cluster" = 1 ]; then
  for n in 1 2 3; do
    JETSTREAM_STORE_DIR="$NETPULSE_DATA_DIR/jetstream-node-$n" \
      start "nats-$n" tools/nats-server -c "nats/cluster/node-$n.conf" \
      -l "$NETPULSE_DATA_DIR/nats-server-$n.log"
    nats_pids+=($!)
  done
  nats_log="$NETPULSE_DATA_DIR/nats-server-*.log"
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
    start nats tools/nats-server -c nats/nats.conf -a "$nats_host" -p "$nats_port" -l "$nats_log"
  nats_pids+=($!)
  ready=0
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$nats_host/$nats_port") 2>/dev/null; then ready=1; break; fi
    sleep 0.1
  done
  if [ "$ready" = 0 ]; then
    echo "netpulse: nats-server did not start (is port $nats_port in use? see $nats_log)" >&2
    exit 1
  fi
fi

# First start with this data folder: the gateway creates user 'admin'. Unless
# NETPULSE_ADMIN_PASSWORD says otherwise, its password is random and shown here, once.
first_start=0
[ -f "$NETPULSE_DATA_DIR/.initialised" ] || first_start=1
first_password=
if [ "$first_start" = 1 ] && [ -z "${NETPULSE_ADMIN_PASSWORD:-}" ]; then
  NETPULSE_ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
  export NETPULSE_ADMIN_PASSWORD
  first_password=$NETPULSE_ADMIN_PASSWORD
fi

# One scheduler, restarted within a second when it dies: a short lease lets the new one lead
# about 2 s after the old one stopped renewing (polls pause for at most 1.2 x lease + 0.5 s).
export NETPULSE_SCHEDULER__LEASE_MS=${NETPULSE_SCHEDULER__LEASE_MS:-1500}

for service in scheduler poller recorder gateway logs alerter; do
  password_var="NETPULSE_NATS_$(echo "$service" | tr a-z A-Z)_PASSWORD"
  NETPULSE_NATS__USER=$service NETPULSE_NATS__PASSWORD=${!password_var} \
    start "$service" "$bin/netpulse-$service"
  services+=($!)
done

# Demo: three simulated devices, so a new user sees live traffic at once, cabled in a ring
# (each one's eth3 to the next one's eth0, reported in LLDP-MIB) so the map shows links.
# NETPULSE_DEMO=0 turns this off; the devices are registered only on the first start with
# this data folder.
if [ "${NETPULSE_DEMO:-1}" != "0" ]; then
  demo_port=${NETPULSE_DEMO_BASE_PORT:-16100}
  start sim "$bin/netpulse-sim" --devices 3 --interfaces 4 --lldp ring --base-port "$demo_port" \
    --control "${NETPULSE_DEMO_CONTROL:-127.0.0.1:9161}"
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

# The dashboard answers once the gateway does; what a newcomer needs comes last, in a block.
python3 - "$listen" <<'PY' || true
import sys, time, urllib.request
for attempt in range(150):
    try:
        urllib.request.urlopen(f"http://{sys.argv[1]}/healthz", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
PY
line='------------------------------------------------------------------------'
{
  echo "$line"
  echo "netpulse is running: dashboard on http://$listen"
  if [ -n "$first_password" ]; then
    echo "First start: sign in as 'admin' with password $first_password (shown once)"
  fi
  echo "NATS $NETPULSE_NATS__URL (its log: $nats_log); data in $NETPULSE_DATA_DIR"
  echo "A service that stops is started again. Ctrl-C stops everything."
  echo "$line"
} >&2
set +e
# Until a signal comes (it ends `wait` and runs its trap): the supervisors keep everything
# running.
while :; do
  wait
  sleep 1
done
