#!/usr/bin/env bash
# What security costs on the data path, in one run: the same produce (RF 3,
# acks=all, idempotent) and consume of 100-byte and 1 KiB records against a
# three-node cluster started three ways in turn: plaintext, TLS only, and TLS +
# SASL/SCRAM + ACLs (the client is a user whose ACLs are checked on every
# request, beside 200 other ACLs; not a super user, who skips them). Each
# cluster runs in a directory of its own (CLUSTER_DIR) on ports shifted by
# PORT_OFFSET, so a `make up` cluster is left alone. Prints one labelled JSON
# line per measurement. RECORDS (default 300000) scales the 100 B runs; 1 KiB
# runs use a quarter. Run after `make build`.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${RECORDS:-300000}
offset=${PORT_OFFSET:-4000}
brook="node packages/cli/bin/brook.js"
root=$(mktemp -d)
trap 'CLUSTER_DIR=$root/current scripts/cluster.sh down >/dev/null 2>&1 || true; rm -rf "$root"' EXIT

measure() { # mode
  for size in 100 1024; do
    local n=$records topic="sbench-$size-$(date +%s%N)"
    [ "$size" -gt 100 ] && n=$((records / 4))
    echo "$1 produce ${size}B $($brook bench produce --topic "$topic" --records "$n" --record-size "$size" \
      --replication-factor 3 --acks all --json | tr -d ' \n')"
    echo "$1 consume ${size}B $($brook bench consume --topic "$topic" --records "$n" --json | tr -d ' \n')"
  done
}

start() { # mode: plaintext | tls | secured
  rm -rf "$root/current"
  mkdir -p "$root/current"
  case $1 in
    plaintext) ;;
    tls) TLS=1 SASL=0 ;;
    secured) TLS=1 ;;
  esac
  CLUSTER_DIR=$root/current PORT_OFFSET=$offset TLS=${TLS:-0} SASL=${SASL:-1} scripts/cluster.sh up >/dev/null
  unset TLS SASL
}

run() { # mode
  start "$1"
  local env=(BROOK_BOOTSTRAP="127.0.0.1:$((9092 + offset))")
  if [ "$1" != plaintext ]; then env+=(BROOK_TLS_CA_FILE="$root/current/tls/ca.crt"); fi
  if [ "$1" = secured ]; then
    # The bench user may create, write and read its topics; 200 other users' ACLs make the table real.
    local admin=(BROOK_USER=admin BROOK_PASSWORD_FILE="$root/current/admin.password")
    echo bench-password >"$root/bench.password"
    env "${env[@]}" "${admin[@]}" $brook user create bench --password-file "$root/bench.password" >/dev/null
    env "${env[@]}" "${admin[@]}" $brook acl add --principal User:bench --operation all --topic sbench- --prefixed >/dev/null
    env "${env[@]}" "${admin[@]}" $brook acl add --principal User:bench --operation all --group bench --prefixed >/dev/null
    for i in $(seq 1 100); do
      env "${env[@]}" "${admin[@]}" $brook acl add --principal "User:u$i" --operation read --operation write \
        --topic "t$i" >/dev/null
    done
    env+=(BROOK_USER=bench BROOK_PASSWORD_FILE="$root/bench.password")
  fi
  env "${env[@]}" bash -c "$(declare -f measure); records=$records brook='$brook' measure $1"
  CLUSTER_DIR=$root/current scripts/cluster.sh down >/dev/null
}

for mode in plaintext tls secured; do run "$mode"; done
