#!/usr/bin/env bash
# Runs a local Brook cluster as background processes under .brook/node-<id>/
# (data/, node.log, node.pid). `up` is idempotent: it starts only the nodes
# that are not running, so a killed node comes back with `make up`.
# Node <id> listens on 127.0.0.1: broker 9092+100*(id-1), controller 9093+100*(id-1),
# Kafka wire protocol 9094+100*(id-1), HTTP (health, metrics) 9644+100*(id-1).
# All NODES nodes are voters of one controller quorum (BROOK_CONTROLLER_QUORUM_VOTERS).
# For tests: CLUSTER_DIR replaces .brook, and PORT_OFFSET is added to every port,
# so a second cluster can run beside the one `make up` started.
# TLS=1 (`make up TLS=1`) secures the cluster: a local CA and node certificates
# (scripts/gen-tls.sh, into .brook/tls), TLS on every port, SASL/SCRAM required
# of every client, and a super user `admin` whose password is in
# .brook/admin.password. The choice is kept (.brook/secured) until `make clean`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${CLUSTER_DIR:-$PWD/.brook}
nodes=${NODES:-3}
shift_ports=${PORT_OFFSET:-0}
# NODE_FLAGS go to each node's node process, e.g. NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
# to profile a node (the profile is written when it stops). --single-threaded-gc: V8 collects on the
# node's own thread; its helper threads otherwise compete with the other nodes and clients for the
# cores (1 KiB records at RF 3 went from about 45 to 70 MB/s on 2 cores; docs/decisions.md).
brook="node --single-threaded-gc ${NODE_FLAGS:-} $PWD/packages/cli/bin/brook.js"

voters=$(for id in $(seq 1 "$nodes"); do printf '%s@127.0.0.1:%s,' "$id" $((9093 + shift_ports + (id - 1) * 100)); done)
voters=${voters%,}

[ "${TLS:-0}" = 1 ] && mkdir -p "$root" && touch "$root/secured"
secured=false
[ -f "$root/secured" ] && secured=true

# Ready: the node's /readyz says so (on its HTTP port, https with the local CA
# when secured): its broker is registered as this process and in service, it
# has caught up with the metadata log, and it serves every partition it leads.
ready() {
  local ca=""
  $secured && ca=$root/tls/ca.crt
  node -e '
    const [port, ca] = process.argv.slice(1);
    const lib = require(ca ? "node:https" : "node:http");
    const options = { host: "127.0.0.1", port, path: "/readyz", timeout: 2000, ...(ca ? { ca: require("node:fs").readFileSync(ca) } : {}) };
    const request = lib.get(options, (r) => process.exit(r.statusCode === 200 ? 0 : 1));
    request.on("error", () => process.exit(1));
    request.on("timeout", () => process.exit(1));' "$1" "$ca"
}

# What a secured node is given besides the plain settings: its certificate, and SASL
# (SASL=0 leaves SASL out: TLS alone, for scripts/bench-security.sh).
security_env() {
  $secured || return 0
  printf '%s\n' "BROOK_TLS_CERT_FILE=$root/tls/node-$1.crt" "BROOK_TLS_KEY_FILE=$root/tls/node-$1.key" \
    "BROOK_TLS_CA_FILE=$root/tls/ca.crt" BROOK_TLS_CLIENT_AUTH=requested BROOK_SUPER_USERS=User:admin
  [ "${SASL:-1}" = 0 ] || echo BROOK_SASL_MECHANISMS=SCRAM-SHA-256,SCRAM-SHA-512
}

# The super user admin, made once with the cluster secret (docs/security.md), its password kept private.
make_admin() {
  $secured && [ "${SASL:-1}" != 0 ] || return 0
  [ -f "$root/admin.password" ] && return 0
  (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))' >"$root/admin.password.new")
  $brook --bootstrap "127.0.0.1:$((9092 + shift_ports))" --tls-ca-file "$root/tls/ca.crt" \
    --cluster-secret-file "$root/cluster.secret" user create admin --password-file "$root/admin.password.new" >/dev/null
  mv "$root/admin.password.new" "$root/admin.password"
}

# Alive: the process exists and is not a zombie. A killed node's process stays a
# zombie until init reaps it (seconds, in some containers and VMs), and must
# count as stopped so that `make up` restarts it.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]
}

running() { [ -f "$1" ] && alive "$(cat "$1")"; }

up() {
  mkdir -p "$root"
  # One cluster id for every node, chosen once (make clean forgets it); a
  # node 1 from before the id was shared keeps its own.
  if [ ! -f "$root/cluster.id" ]; then
    if [ -f "$root/node-1/data/meta.properties" ]; then
      sed -n 's/^cluster\.id=//p' "$root/node-1/data/meta.properties" >"$root/cluster.id"
    else
      node -e 'console.log(require("node:crypto").randomUUID())' >"$root/cluster.id"
    fi
  fi
  if $secured; then scripts/gen-tls.sh "$root/tls" "$nodes"; fi
  # One cluster secret for every node (node identity, docs/security.md), made once and kept private.
  if [ ! -f "$root/cluster.secret" ]; then
    (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))' >"$root/cluster.secret")
  fi
  for id in $(seq 1 "$nodes"); do
    dir=$root/node-$id
    mkdir -p "$dir/data"
    if running "$dir/node.pid"; then
      echo "node $id already running (pid $(cat "$dir/node.pid"))"
      continue
    fi
    offset=$(( shift_ports + (id - 1) * 100 ))
    BROOK_NODE_ID=$id BROOK_ROLES=broker,controller BROOK_DATA_DIR=$dir/data \
      BROOK_CONTROLLER_QUORUM_VOTERS=$voters BROOK_CLUSTER_ID=$(cat "$root/cluster.id") \
      BROOK_CLUSTER_SECRET_FILE=$root/cluster.secret \
      BROOK_BROKER_PORT=$((9092 + offset)) BROOK_CONTROLLER_PORT=$((9093 + offset)) \
      BROOK_KAFKA_PORT=$((9094 + offset)) BROOK_HTTP_PORT=$((9644 + offset)) \
      env $(security_env "$id") nohup $brook server >>"$dir/node.log" 2>&1 &
    echo $! >"$dir/node.pid"
    echo "node $id started (pid $!), broker 127.0.0.1:$((9092 + offset)), kafka 127.0.0.1:$((9094 + offset)), log $dir/node.log"
  done
  for id in $(seq 1 "$nodes"); do
    port=$((9644 + shift_ports + (id - 1) * 100))
    for _ in $(seq 1 60); do
      if ready "$port"; then break; fi
      if ! running "$root/node-$id/node.pid"; then
        echo "node $id exited; last log lines:" >&2
        tail -n 20 "$root/node-$id/node.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    ready "$port" || { echo "node $id is not ready after 30 s (see $root/node-$id/node.log)" >&2; exit 1; }
  done
  make_admin
  echo "cluster ready: BROOK_BOOTSTRAP=127.0.0.1:$((9092 + shift_ports)) (Kafka clients: bootstrap.servers=127.0.0.1:$((9094 + shift_ports)))"
  if $secured; then
    echo "secured: TLS (CA $root/tls/ca.crt) and SASL/SCRAM; log in as admin:"
    echo "  export BROOK_TLS_CA_FILE=$root/tls/ca.crt BROOK_USER=admin BROOK_PASSWORD_FILE=$root/admin.password"
  fi
}

# Every node gets SIGTERM at once (each hands over what it leads, as far as the
# others still run), then `down` waits for all of them: a node left alone,
# stopped last, would wait on a quorum that is already gone.
down() {
  local pids=() names=()
  for pidfile in "$root"/node-*/node.pid; do
    [ -f "$pidfile" ] || continue
    if running "$pidfile"; then
      pids+=("$(cat "$pidfile")")
      names+=("$(basename "$(dirname "$pidfile")")")
      kill "${pids[-1]}"
    fi
    rm -f "$pidfile"
  done
  for i in "${!pids[@]}"; do
    for _ in $(seq 1 200); do alive "${pids[$i]}" || break; sleep 0.05; done
    if alive "${pids[$i]}"; then
      kill -9 "${pids[$i]}"
      echo "killed ${names[$i]} (pid ${pids[$i]}): it did not stop within 10 s of SIGTERM" >&2
    else
      echo "stopped ${names[$i]} (pid ${pids[$i]})"
    fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
