#!/usr/bin/env bash
# Removes what a chaos run's network lab (@brook/testkit's NetworkLab) left behind when its test process
# was killed before it could clean up: network namespaces named brk<k>n<id> and the brk<k>br bridges and
# brk<k>n<id>h veths. The machine's own interfaces and firewall are never touched: every drop rule lived in
# a lab namespace and goes with it. Also unmounts the full-disk kind's loop mounts. Prints what it removed.
set -euo pipefail
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^brk[0-9]+n[0-9]+$' || true); do
  ip netns del "$ns" && echo "removed network namespace $ns"
done
for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^brk[0-9]+(br|n[0-9]+h)$' || true); do
  ip link del "$link" 2>/dev/null && echo "removed link $link"
done
# The full-disk kind's loop mounts (test-e2e/chaos/disk-full.ts) on nodes' data directories under
# /tmp/brook-e2e-*; unmounting a loop mount frees its loop device too.
for dir in $(awk '$2 ~ "^/tmp/brook-(e2e|disk-probe)-" {print $2}' /proc/mounts); do
  umount "$dir" && echo "unmounted $dir"
done
