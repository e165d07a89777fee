#!/usr/bin/env bash
# Submits the whole production chain for one input file, each stage waiting for the one before (afterok):
#   train -> sample (one job, or a job array of TASKS tasks then merge) -> analyze
#   jobs/pipeline.sh input/L12.ini [--section.key=value ...]         # the extra keys go to train and sample
#   TASKS=4 SAMPLE_OPTS="--ntasks=2" TRAIN_OPTS="--nodes=2 --ntasks=4 --time=08:00:00" jobs/pipeline.sh input/L32.ini
# Run it where sbatch works (a login node); it prints the job ids and the files each stage writes, and returns.
# Training and sampling jobs are submitted with --requeue and REQUEUE_ON_STOP=1: at SLURM's warning before the time
# limit they save, and put themselves back in the queue under the same job id, and the next start resumes
# (--resume), so the stages after them keep waiting; at most MAX_REQUEUES (default 10) times. A stage that fails
# cancels the stages after it (--kill-on-invalid-dep). Settings: TASKS (default 1), TRAIN_OPTS, SAMPLE_OPTS,
# MERGE_OPTS, ANALYZE_OPTS (extra sbatch options of each stage, word-split), MAX_REQUEUES.
set -euo pipefail
me=pipeline.sh
config=${1:?usage: jobs/pipeline.sh input/FILE.ini [extra --section.key=value ...]}
shift
[ -r "$config" ] || { echo "$me: cannot read the input file '$config'" >&2; exit 2; }
jobs=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$jobs/common.sh"
tasks=${TASKS:-1}
[[ $tasks =~ ^[1-9][0-9]*$ ]] || { echo "$me: TASKS=$tasks: give the number of sampling tasks, 1 or more" >&2; exit 2; }
output=$(setting sample.output "$@")
[ -n "$output" ] || { echo "$me: no sample.output in $config or on the command line" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "$me: sbatch not found: run this where SLURM jobs are submitted" >&2; exit 2; }
export MAX_REQUEUES=${MAX_REQUEUES:-10}
# shellcheck disable=SC2206  # the *_OPTS are lists of sbatch options
train_opts=(${TRAIN_OPTS:-}) sample_opts=(${SAMPLE_OPTS:-}) merge_opts=(${MERGE_OPTS:-}) analyze_opts=(${ANALYZE_OPTS:-})
requeue=(--requeue --open-mode=append --export=ALL,REQUEUE_ON_STOP=1)
after() { echo --dependency=afterok:"$1" --kill-on-invalid-dep=yes; }

train=$(sbatch --parsable "${requeue[@]}" ${train_opts[@]+"${train_opts[@]}"} "$jobs/train.sbatch" "$config" "$@")
echo "$me: train    job $train: checkpoint $(setting train.checkpoint "$@")"
if [ "$tasks" = 1 ]; then
  sample=$(sbatch --parsable $(after "$train") "${requeue[@]}" ${sample_opts[@]+"${sample_opts[@]}"} \
    "$jobs/sample.sbatch" "$config" "$@")
  echo "$me: sample   job $sample: $output"
  last=$sample
else
  sample=$(sbatch --parsable $(after "$train") "${requeue[@]}" --array=0-$((tasks - 1)) ${sample_opts[@]+"${sample_opts[@]}"} \
    "$jobs/array.sbatch" sample "$config" "$@")
  parts=()
  for ((t = 0; t < tasks; ++t)); do parts+=("${output%.h5}_task$t.h5"); done
  echo "$me: sample   array $sample ($tasks tasks): ${parts[*]}"
  last=$(sbatch --parsable $(after "$sample") ${merge_opts[@]+"${merge_opts[@]}"} "$jobs/merge.sbatch" "$output" "${parts[@]}")
  echo "$me: merge    job $last: $output"
fi
analyze=$(sbatch --parsable $(after "$last") ${analyze_opts[@]+"${analyze_opts[@]}"} "$jobs/analyze.sbatch" "$output")
echo "$me: analyze  job $analyze: ${output%.h5}.results.json"
