#!/usr/bin/env bash
# The data-path figures in one run, against the local cluster (make up):
# a bare grpc-js echo of the same bytes as the baseline, then produce and
# consume through Brook, for 100-byte and 1 KiB records. Prints one JSON
# summary per line, labelled (latency and e2e last). RECORDS (default 1000000) scales the 100 B run;
# the 1 KiB run uses a quarter of it. ACKS defaults to 1.
set -euo pipefail
cd "$(dirname "$0")/.."
brook="node packages/cli/bin/brook.js"
records=${RECORDS:-1000000}
acks=${ACKS:-1}
run=$(date +%s)

for size in 100 1024; do
  n=$records
  [ "$size" -gt 100 ] && n=$((records / 4))
  topic="bench-$size-$run"
  echo "echo    size=$size $($brook bench echo --records "$n" --record-size "$size" --json | tr -d ' \n')"
  echo "produce size=$size acks=$acks $($brook bench produce --topic "$topic" --records "$n" --record-size "$size" --acks "$acks" --json | tr -d ' \n')"
  echo "consume size=$size $($brook bench consume --topic "$topic" --records "$n" --json | tr -d ' \n')"
  $brook topic delete "$topic" >/dev/null
done

# One record at a time (docs/performance.md): acks=all, acks=1 and acks=all without fsync, each record's
# own round trip; then each record from send() to a consumer's hands.
for flush in fsync none; do
  topic="bench-latency-$flush-$run"
  $brook topic create "$topic" --partitions 1 --config "flush.mode=$flush" >/dev/null
  for a in all 1; do
    [ "$flush" = none ] && [ "$a" = 1 ] && continue
    echo "latency acks=$a flush.mode=$flush $($brook bench produce --topic "$topic" --records 3000 --acks "$a" --in-flight 1 --json | tr -d ' \n')"
  done
  echo "e2e acks=all flush.mode=$flush $($brook bench e2e --topic "$topic" --records 2000 --json | tr -d ' \n')"
  $brook topic delete "$topic" >/dev/null
done
