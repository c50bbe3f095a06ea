#!/usr/bin/env bash
# The cost of replication in one run, against the local three-node cluster
# (make up): produce and consume 100-byte and 1 KiB records at replication
# factor 1 and 3, acks=1 and acks=all (idempotent), plus acks=all without
# idempotence at RF 3. Prints one labelled JSON summary per line. RECORDS
# (default 500000) scales the 100 B runs; the 1 KiB runs use a quarter.
set -euo pipefail
cd "$(dirname "$0")/.."
brook="node packages/cli/bin/brook.js"
records=${RECORDS:-500000}
run=$(date +%s)

bench() { # label, topic, extra produce flags...
  local label=$1 topic=$2
  shift 2
  echo "produce $label $($brook bench produce --topic "$topic" --records "$n" --record-size "$size" --json "$@" | tr -d ' \n')"
}

for size in 100 1024; do
  n=$records
  [ "$size" -gt 100 ] && n=$((records / 4))
  for rf in 1 3; do
    for acks in 1 all; do
      topic="rbench-$size-rf$rf-$acks-$run"
      bench "size=$size rf=$rf acks=$acks" "$topic" --replication-factor "$rf" --acks "$acks"
      if [ "$acks" = all ]; then
        echo "consume size=$size rf=$rf $($brook bench consume --topic "$topic" --records "$n" --json | tr -d ' \n')"
      fi
      $brook topic delete "$topic" >/dev/null
    done
  done
  topic="rbench-$size-rf3-all-noidem-$run"
  bench "size=$size rf=3 acks=all idempotent=false" "$topic" --replication-factor 3 --acks all --no-idempotent
  $brook topic delete "$topic" >/dev/null
done
