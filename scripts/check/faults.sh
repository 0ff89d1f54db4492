#!/usr/bin/env bash
# Fault drills: what a sweep keeps when things go wrong. Each drill prints PASS or FAIL with the
# row counts it checked; the script exits 1 when any drill fails. scripts/test.sh runs them
# (--quick) after the Swift tests.
#
#   1. kill:  the sweep is SIGKILLed at random points (20 times; 6 with --quick), resumed each
#             time; the stored results must equal an uninterrupted sweep's (the same keys with the
#             same statuses, each once, journal and database agreeing).
#   2. disk:  the results folder and database sit on a small tmpfs that fills up mid-sweep; the
#             sweep must stop with an error naming the problem, and what was stored before must
#             stay intact and readable.
#   3. oom:   one configuration exceeds the spec's memory_limit; it must be recorded as `oom` and
#             the sweep must go on to the next.
#   4. postgres: the sweep writes into a real PostgreSQL (scripts/tools/postgres.sh) that is stopped
#             for a few seconds and started again, twice (once if the sweep ends first), mid-sweep; writes must retry and
#             succeed, and the stored results must equal the uninterrupted sweep's.
#
# Needs root for the tmpfs mount. Uses the synthetic `tiny` model and the real SmolLM2-135M.
# The binary is the tests' release build (.build-test, built here if missing), or $SLMBENCH_BIN.
#   scripts/check/faults.sh [--quick] [WORK-FOLDER]   (default: a new folder under /tmp, removed when all pass)
set -uo pipefail
cd "$(dirname "$0")/../.."
quick=false
if [ "${1:-}" = --quick ]; then quick=true; shift; fi
case "${1:-}" in -*) echo "usage: scripts/check/faults.sh [--quick] [WORK-FOLDER]" >&2; exit 64 ;; esac
if [ -n "${SLMBENCH_BIN:-}" ]; then
  slmbench=$SLMBENCH_BIN
else
  # The same flags and folder as scripts/test.sh, so the drills reuse its build instead of a second cold one.
  swift build -c release -Xswiftc -enable-testing --scratch-path .build-test --traits Postgres --product slmbench 2>&1 | tail -n 1 >&2
  slmbench=$PWD/.build-test/release/slmbench
fi
[ -x "$slmbench" ] || { echo "faults: no slmbench binary at $slmbench" >&2; exit 1; }
# A work folder of our own is removed when every drill passes, and kept for a look when one fails.
own_work=false
if [ -n "${1:-}" ]; then work=$1; else work=$(mktemp -d /tmp/slmbench-faults.XXXXXX); own_work=true; fi
mkdir -p "$work"
# The PostgreSQL server runs as the `postgres` user when we are root, and that user cannot enter a
# mode-700 folder of root's: its folder is a sibling of the work folder, not inside it.
pg=$(mktemp -d /tmp/slmbench-faults-pg.XXXXXX)
mnt=$work/full
cleanup() {
  scripts/tools/postgres.sh stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$pg"
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt"; fi
}
trap cleanup EXIT
started=$(date +%s)
failures=0
report() { # drill verdict details
  echo "$1: $2 — $3"
  [ "$2" = PASS ] || failures=$((failures + 1))
}
# key<TAB>kind<TAB>status per stored entry, sorted; from the database via `results list --format json`.
stored() { # store sweep
  "$slmbench" results list --store "$1" --sweep "$2" --kind run --kind reference --kind quality --format json 2>/dev/null |
    python3 -c 'import json,sys; [print(chr(9).join((r["key"], r["kind"], r["status"]))) for r in json.load(sys.stdin)]' | sort
}
journal_keys() { python3 -c 'import json,sys; [print(json.loads(l)["key"]) for l in open(sys.argv[1]) if l.strip()]' "$1" | sort; }

# 32 runs of the real model, each about a second, so that 20 kills land in the middle of the sweep.
spec=$work/drill.yaml
cat > "$spec" <<'YAML'
name: drill
axes:
  model: smollm2-135m
  type: [q8_0, q4_0]
  threads: [1, 2]
  batch: [1, 2]
  prompt: [8, 16]
  gen: [8, 16]
measurement:
  warmup: 0
  min_repetitions: 2
  max_repetitions: 2
reference:
  every: 0
YAML

# 1. kill -9 at random points.
"$slmbench" sweep "$spec" --id ref --out "$work/ref" --store "$work/ref.sqlite" >/dev/null 2>"$work/ref.err"
stored "$work/ref.sqlite" ref | sed 's/^/x/' > "$work/ref.rows"
kills=0
rounds=20; $quick && rounds=6
for i in $(seq 1 "$rounds"); do
  "$slmbench" sweep "$spec" --id killed --out "$work/killed" --store "$work/killed.sqlite" --resume >/dev/null 2>>"$work/killed.err" &
  pid=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.8, 4.0), 2))')"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
done
done_before=$(journal_keys "$work/killed/journal.jsonl" | wc -l)
"$slmbench" sweep "$spec" --id killed --out "$work/killed" --store "$work/killed.sqlite" --resume >/dev/null 2>>"$work/killed.err"
final=$?
stored "$work/killed.sqlite" killed | sed 's/^/x/' > "$work/killed.rows"
refs=$(wc -l < "$work/ref.rows"); rows=$(wc -l < "$work/killed.rows")
lines=$(journal_keys "$work/killed/journal.jsonl" | wc -l); unique=$(journal_keys "$work/killed/journal.jsonl" | uniq | wc -l)
if [ "$final" -eq 0 ] && [ "$refs" -gt 0 ] && cmp -s "$work/ref.rows" "$work/killed.rows" && [ "$lines" -eq "$unique" ] && [ "$lines" -eq "$rows" ]; then
  report "kill" PASS "$kills SIGKILLs landed mid-sweep ($done_before entries stored by then), then a final resume; $rows stored entries = the uninterrupted sweep's $refs (same keys and statuses), journal $lines lines, no key twice"
else
  report "kill" FAIL "$kills SIGKILLs; final resume exit $final; stored $rows vs uninterrupted $refs; journal $lines lines, $unique distinct (diff: $(diff "$work/ref.rows" "$work/killed.rows" | head -n 3 | tr '\n' ' '))"
fi

# 2. the disk fills up mid-sweep.
bytes=$(( $(du -sb "$work/ref" | cut -f1) + $(stat -c %s "$work/ref.sqlite") ))
mkdir -p "$mnt"
if mount -t tmpfs -o size=$(( bytes / 2 / 1024 + 64 ))k tmpfs "$mnt" 2>"$work/mount.err"; then
  "$slmbench" sweep "$spec" --id full --out "$mnt/out" --store "$mnt/results.sqlite" >/dev/null 2>"$work/full.err"
  code=$?
  message=$(grep -m1 -iE "space|full" "$work/full.err")
  lines=$(journal_keys "$mnt/out/journal.jsonl" 2>/dev/null | wc -l)
  report_ok=$("$slmbench" report "$mnt/out" --format md >/dev/null 2>>"$work/full.err" && echo yes || echo no)
  rows=$(stored "$mnt/results.sqlite" full | wc -l)
  planned=$(wc -l < "$work/ref.rows")
  if [ "$code" -ne 0 ] && [ -n "$message" ] && [ "$lines" -gt 0 ] && [ "$lines" -lt "$planned" ] && [ "$report_ok" = yes ] && [ "$rows" -le "$lines" ]; then
    report "disk" PASS "stopped (exit $code: ${message:0:160}); $lines of $planned entries kept in the journal and readable (slmbench report), $rows in the database"
  else
    report "disk" FAIL "exit $code, message '${message:0:160}', journal $lines of $planned, report readable: $report_ok, database $rows"
  fi
  umount "$mnt"
else
  report "disk" FAIL "cannot mount a tmpfs ($(cat "$work/mount.err")); run as root"
fi

# 3. a worker over the memory limit.
cat > "$work/oom.yaml" <<'YAML'
name: oom
axes:
  model: [smollm2-135m, tiny]
  type: f16
  prompt: 16
  gen: 8
measurement:
  warmup: 0
  min_repetitions: 1
  max_repetitions: 1
  memory_limit: 120MiB
reference:
  every: 0
YAML
"$slmbench" sweep "$work/oom.yaml" --id oom --out "$work/oom" --store "$work/oom.sqlite" >/dev/null 2>"$work/oom.err"
code=$?
rows=$(stored "$work/oom.sqlite" oom)
if grep -q $'^smollm2-135m|.*\trun\toom$' <<<"$rows" && grep -q $'^tiny|.*\trun\tok$' <<<"$rows" && [ "$code" -eq 3 ]; then
  report "oom" PASS "SmolLM2-135M F16 over 120MiB recorded as oom, the tiny model's run after it ok, sweep exit 3 (some runs failed); $(wc -l <<<"$rows") entries"
else
  report "oom" FAIL "exit $code; entries: $(tr '\n' ' ' <<<"$rows")"
fi

# 4. PostgreSQL restarts mid-sweep.
if envfile=$(scripts/tools/postgres.sh start "$pg" 2>"$work/pg.err"); then
  url=$(grep '^SLMBENCH_TEST_POSTGRES=' "$envfile" | cut -d= -f2-)
  export PGPASSWORD=$(grep '^PGPASSWORD=' "$envfile" | cut -d= -f2-)
  "$slmbench" sweep "$spec" --id pgdrill --out "$work/pgdrill" --store "$url" >/dev/null 2>"$work/pgdrill.err" &
  pid=$!
  # Two outages when the sweep lasts long enough; on a fast machine it may finish before the
  # second, and one restart survived is what the drill asks (the count is reported).
  outages=0
  for pause in 5 6; do
    sleep "$pause"
    kill -0 "$pid" 2>/dev/null || break
    scripts/tools/postgres.sh stop "$pg" && sleep 4 && scripts/tools/postgres.sh start "$pg" >/dev/null && outages=$((outages + 1))
  done
  wait "$pid"
  code=$?
  stored "$url" pgdrill | sed 's/^/x/' > "$work/pgdrill.rows"
  rows=$(wc -l < "$work/pgdrill.rows"); refs=$(wc -l < "$work/ref.rows")
  lines=$(journal_keys "$work/pgdrill/journal.jsonl" | wc -l)
  retried=$(grep -c "retrying" "$work/pgdrill.err")
  if [ "$code" -eq 0 ] && [ "$outages" -ge 1 ] && [ "$retried" -ge 1 ] && cmp -s "$work/ref.rows" "$work/pgdrill.rows" && [ "$lines" -eq "$rows" ]; then
    report "postgres" PASS "$outages server restart(s) (4 s down each) mid-sweep; the sweep said it was retrying $retried time(s) and finished (exit 0); $rows stored entries = the uninterrupted sweep's $refs (same keys and statuses), journal $lines lines"
  else
    report "postgres" FAIL "restarts $outages, sweep exit $code, retry messages $retried, stored $rows vs uninterrupted $refs, journal $lines (stderr: $(tail -n 3 "$work/pgdrill.err" | tr '\n' ' '))"
  fi
  scripts/tools/postgres.sh stop "$pg"
else
  report "postgres" FAIL "cannot start PostgreSQL: $(tail -n 3 "$work/pg.err" | tr '\n' ' ') (scripts/bootstrap.sh installs it)"
fi

if [ "$failures" -eq 0 ] && $own_work; then
  cleanup; trap - EXIT
  rm -rf "$work"
  echo "faults: all drills passed in $(( $(date +%s) - started )) s"
else
  echo "faults: $failures drill(s) failed in $(( $(date +%s) - started )) s; details in $work"
fi
[ "$failures" -eq 0 ]
