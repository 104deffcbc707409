#!/usr/bin/env bash
# JournalNodes side by side under a real Apache Hadoop 3.3.6 NameNode: the same NameNode
# (fresh format each run) with its edits on three of Hadoop's JournalNodes, then on three of
# ours, driven by Hadoop's own NNThroughputBenchmark (`-op mkdirs`: every op is one edit
# through the journal quorum, fsynced on a majority before it is acknowledged). Reports the
# benchmark's ops/s and each JournalNode's peak resident memory during the run.
#
#   cargo build --release && benches/jn_side_by_side.sh
#
# Knobs: THREADS (16), DIRS (20000), DIRS_PER_DIR (128), RUNS (3), KINDS ("hadoop ours").
# Fetches Hadoop's jars (dev/hadoop-jars.sh) and its tests jar (NNThroughputBenchmark) once.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

THREADS=${THREADS:-16}
DIRS=${DIRS:-20000}
DIRS_PER_DIR=${DIRS_PER_DIR:-128}
RUNS=${RUNS:-3}
KINDS=${KINDS:-hadoop ours}

bench=jn-side-by-side
# shellcheck source=benches/common.sh
source benches/common.sh
ours=$repo/target/release/journalnode
[[ -x $ours ]] || { echo "build first: cargo build --release" >&2; exit 1; }

run_once() {
  local kind=$1 run=$2
  local dir=$work/$kind-$run
  mkdir -p "$dir"
  start_jns "$dir" "$kind"
  local nn_rpc nn_http
  nn_rpc=$(free_port 127.0.0.1)
  nn_http=$(free_port 127.0.0.1)
  conf_dir "$dir/nn"
  site "$dir/nn/core-site.xml" fs.defaultFS "hdfs://127.0.0.1:$nn_rpc" \
    hadoop.tmp.dir "$dir/tmp"
  site "$dir/nn/hdfs-site.xml" \
    dfs.namenode.name.dir "$dir/name" \
    dfs.namenode.edits.dir "$qjournal" \
    dfs.namenode.rpc-address "127.0.0.1:$nn_rpc" \
    dfs.namenode.http-address "127.0.0.1:$nn_http" \
    dfs.namenode.safemode.threshold-pct 0
  java -cp "$dir/nn:$lib/*" org.apache.hadoop.hdfs.server.namenode.NameNode \
    -format -force -nonInteractive >"$dir/format.log" 2>&1 ||
    { tail -20 "$dir/format.log" >&2; exit 1; }
  java -cp "$dir/nn:$lib/*" org.apache.hadoop.hdfs.server.namenode.NameNode >"$dir/nn.log" 2>&1 &
  local nn_pid=$!
  pids+=("$nn_pid")
  wait_log "$dir/nn.log" "IPC Server listener on $nn_rpc: starting" "$nn_pid"

  rss_sampler "$dir/rss" "${jn_pids[@]}" &
  local sampler=$!
  pids+=("$sampler")
  java -cp "$dir/nn:$tests_jar_dir/*:$lib/*" \
    org.apache.hadoop.hdfs.server.namenode.NNThroughputBenchmark \
    -fs "hdfs://127.0.0.1:$nn_rpc" -op mkdirs -threads "$THREADS" -dirs "$DIRS" \
    -dirsPerDir "$DIRS_PER_DIR" >"$dir/bench.log" 2>&1 ||
    { tail -20 "$dir/bench.log" >&2; exit 1; }
  kill -TERM "$sampler"
  wait "$sampler" 2>/dev/null || true
  local ops
  ops=$(grep -o 'Ops per sec: [0-9.]*' "$dir/bench.log" | tail -1 | awk '{print $4}')
  local rss_mib
  rss_mib=$(awk '{printf "%s%.0f", sep, $2/1024; sep="/"}' "$dir/rss")
  local max_mib
  max_mib=$(awk 'BEGIN{m=0} {if ($2>m) m=$2} END{printf "%.0f", m/1024}' "$dir/rss")
  printf '%-7s run %d: %8s ops/s  JournalNode peak RSS MiB %s (max %s)\n' \
    "$kind" "$run" "$ops" "$rss_mib" "$max_mib"
  echo "$kind $ops $max_mib" >>"$work/results"
  for pid in "$nn_pid" "${jn_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait "$nn_pid" "${jn_pids[@]}" 2>/dev/null || true
  rm -rf "$dir"
}

echo "NNThroughputBenchmark -op mkdirs -threads $THREADS -dirs $DIRS -dirsPerDir $DIRS_PER_DIR," \
  "$RUNS runs per JournalNode kind; $(nproc) cores, $(uname -r)"
for run in $(seq 1 "$RUNS"); do
  for kind in $KINDS; do
    run_once "$kind" "$run"
  done
done
# median COLUMN KIND: the median of one column of the results of KIND.
median() {
  awk -v k="$2" -v c="$1" '$1 == k {print $c}' "$work/results" | sort -n |
    awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
echo "medians:"
for kind in $KINDS; do
  printf '%-7s %8s ops/s  JournalNode peak RSS %s MiB\n' \
    "$kind" "$(median 2 "$kind")" "$(median 3 "$kind")"
done
