#!/usr/bin/env bash
# One shard of a fleet sweep, as a scheduler starts it. The shard number comes from the scheduler:
#   Kubernetes Indexed Job:  JOB_COMPLETION_INDEX (0-based) and SHARDS (= the Job's completions)
#   Slurm job array:         SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT
# and the sweep from the environment:
#   SWEEP_SPEC       the sweep spec (YAML), e.g. profiles/sweeps/quick.yaml
#   SWEEP_ID         one id for every shard of the sweep, e.g. nightly-pi5-20261127
#   SLMBENCH_STORE   postgres://USER@HOST:PORT/DATABASE — the one database every shard writes to
#   PGPASSWORD       its password (from a secret; never put it on a command line)
#   SLMBENCH         the slmbench binary (default: slmbench on PATH), built with --traits Postgres
#   SWEEP_OUT        the shard's local folder (default: results/SWEEP_ID-shard-I-of-N)
# A shard started again (a retried pod, a requeued job) resumes its folder when it is still
# there, and otherwise runs again from the start: the store keeps each run once either way.
set -euo pipefail
: "${SWEEP_SPEC:?set SWEEP_SPEC to the sweep spec}" "${SWEEP_ID:?set SWEEP_ID (the same for every shard)}"
: "${SLMBENCH_STORE:?set SLMBENCH_STORE to the fleet database, postgres://USER@HOST:PORT/DATABASE}"
if [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  i=$((JOB_COMPLETION_INDEX + 1))
  n=${SHARDS:?set SHARDS to the number of completions}
elif [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  i=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))
  n=${SLURM_ARRAY_TASK_COUNT:?Slurm sets SLURM_ARRAY_TASK_COUNT for job arrays}
else
  echo "shard.sh: no shard index: run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm array (SLURM_ARRAY_TASK_ID)" >&2
  exit 64
fi
out=${SWEEP_OUT:-results/$SWEEP_ID-shard-$i-of-$n}
args=(sweep "$SWEEP_SPEC" --shard "$i/$n" --id "$SWEEP_ID" --out "$out")
[ -f "$out/sweep.json" ] && args+=(--resume)
echo "shard.sh: shard $i/$n of $SWEEP_ID on $(hostname)" >&2
exec "${SLMBENCH:-slmbench}" "${args[@]}"
