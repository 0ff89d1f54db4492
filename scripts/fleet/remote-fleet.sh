#!/usr/bin/env bash
# Sweeps a list of devices from this workstation into one results store, over ssh (or adb):
# one sweep id per device class, the devices of a class splitting its plan as shards.
#
#   scripts/fleet/remote-fleet.sh DEVICES-LIST SPEC
#
# DEVICES-LIST has one device a line, "CLASS DEVICE" (DEVICE: a name in profiles/devices.yaml or
# an ssh://… / adb://… URL; '#' starts a comment), e.g.
#   pi5     pi5-kitchen
#   pi5     ssh://pi@pi5-garage.local
#   jetson  ssh://ubuntu@orin.local:2222
# The store is $SLMBENCH_STORE (postgres://…, password in $PGPASSWORD). Every device of a class runs
# at once (each its own slmbench, each its own shard); classes run one after another. Re-running
# the script the same day resumes each shard where it stopped (the folders are
# results/fleet/CLASS-DATE-shard-I-of-N). Exit 3 when some runs failed, 1 when a device failed.
# Not run by the tests: they cover one device (Tests/CLITests/RemoteTests.swift) and shards
# into one PostgreSQL (Tests/CLITests/FleetTests.swift) separately.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DEVICES-LIST SPEC" >&2; exit 64; }
list=$1 spec=$2
[ -n "${SLMBENCH_STORE:-}" ] || { echo "remote-fleet: set SLMBENCH_STORE (postgres://…)" >&2; exit 64; }
slmbench=${SLMBENCH_BIN:-slmbench}
day=$(date -u +%Y%m%d)
status=0
mkdir -p results/fleet
classes=$(grep -v '^[[:space:]]*\(#\|$\)' "$list" | awk '{print $1}' | sort -u)
for class in $classes; do
  mapfile -t devices < <(grep -v '^[[:space:]]*\(#\|$\)' "$list" | awk -v c="$class" '$1 == c {print $2}')
  n=${#devices[@]} id="$class-$day" pids=()
  for i in $(seq 1 "$n"); do
    out="results/fleet/$id-shard-$i-of-$n"
    resume=(); [ -f "$out/sweep.json" ] && resume=(--resume)
    "$slmbench" sweep "$spec" --on "${devices[$((i-1))]}" --id "$id" --shard "$i/$n" --out "$out" "${resume[@]}" \
      >"$out.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"; rc=$?
    echo "remote-fleet: $id shard $((i+1))/$n on ${devices[$i]}: exit $rc" >&2
    if [ $rc -eq 3 ] && [ $status -eq 0 ]; then status=3; elif [ $rc -ne 0 ] && [ $rc -ne 3 ]; then status=1; fi
  done
done
exit $status
