#!/usr/bin/env bash
# Runs a local Brook cluster as background processes under .brook/node-<id>/
# (data/, node.log, node.pid). `up` is idempotent: it starts only the nodes
# that are not running, so a killed node comes back with `make up`.
# Node <id> listens on 127.0.0.1: broker 9092+100*(id-1), controller 9093+100*(id-1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.brook
nodes=${NODES:-1}
brook="node $PWD/packages/cli/bin/brook.js"

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
  for id in $(seq 1 "$nodes"); do
    dir=$root/node-$id
    mkdir -p "$dir/data"
    if running "$dir/node.pid"; then
      echo "node $id already running (pid $(cat "$dir/node.pid"))"
      continue
    fi
    offset=$(( (id - 1) * 100 ))
    BROOK_NODE_ID=$id BROOK_ROLES=broker,controller BROOK_DATA_DIR=$dir/data \
      BROOK_BROKER_PORT=$((9092 + offset)) BROOK_CONTROLLER_PORT=$((9093 + offset)) \
      nohup $brook server >>"$dir/node.log" 2>&1 &
    echo $! >"$dir/node.pid"
    echo "node $id started (pid $!), broker 127.0.0.1:$((9092 + offset)), log $dir/node.log"
  done
  for id in $(seq 1 "$nodes"); do
    port=$((9092 + (id - 1) * 100))
    for _ in $(seq 1 60); do
      if $brook cluster status --bootstrap "127.0.0.1:$port" >/dev/null 2>&1; then break; fi
      if ! running "$root/node-$id/node.pid"; then
        echo "node $id exited; last log lines:" >&2
        tail -n 20 "$root/node-$id/node.log" >&2
        exit 1
      fi
      sleep 0.5
    done
    $brook cluster status --bootstrap "127.0.0.1:$port" >/dev/null || { echo "node $id is not ready after 30 s" >&2; exit 1; }
  done
  echo "cluster ready: BROOK_BOOTSTRAP=127.0.0.1:9092"
}

down() {
  for pidfile in "$root"/node-*/node.pid; do
    [ -f "$pidfile" ] || continue
    if running "$pidfile"; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "stopped $(basename "$(dirname "$pidfile")") (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
