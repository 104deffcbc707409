#!/usr/bin/env bash
# NameNodes side by side under Hadoop's own NNThroughputBenchmark: a real Apache Hadoop 3.3.6
# NameNode and ours, each the active of an HA nameservice (fresh format each run) with its
# edits on the same kind of three JournalNodes, each op of the benchmark one call over
# ClientNamenodeProtocol (`-fs hdfs://…`: remote mode, the client is Hadoop's DFSClient).
# Mutating ops are edits fsynced on a JournalNode majority before they are acknowledged.
# Reports ops/s per op and the NameNode's peak resident memory during the run.
#
#   cargo build --release && benches/nn_side_by_side.sh
#
# Knobs: OPS ("mkdirs create fileStatus rename delete open"), THREADS (16), FILES (20000),
# RUNS (3), KINDS ("hadoop ours"), JNS (ours: both NameNodes write to our JournalNodes, so
# only the NameNode differs; hadoop: both to Hadoop's; own: each to its own kind, Hadoop's
# NameNode to Hadoop's JournalNodes and ours to ours, the whole stack side by side). Fetches Hadoop's jars (dev/hadoop-jars.sh) and its tests jar
# (NNThroughputBenchmark) once.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

OPS=${OPS:-mkdirs create fileStatus rename delete open}
THREADS=${THREADS:-16}
FILES=${FILES:-20000}
RUNS=${RUNS:-3}
KINDS=${KINDS:-hadoop ours}
JNS=${JNS:-ours}

bench=nn-side-by-side
# shellcheck source=benches/common.sh
source benches/common.sh
bin=$repo/target/release
for b in journalnode namenode hdfs; do
  [[ -x $bin/$b ]] || { echo "build first: cargo build --release" >&2; exit 1; }
done

# run_once KIND RUN: one NameNode of KIND, every op of OPS against it.
run_once() {
  local kind=$1 run=$2
  local dir=$work/$kind-$run
  mkdir -p "$dir"
  local jns=$JNS
  [[ $jns == own ]] && jns=$kind
  start_jns "$dir" "$jns"
  local nn_rpc nn_http nn2_rpc nn2_http
  nn_rpc=$(free_port 127.0.0.1)
  nn_http=$(free_port 127.0.0.1)
  nn2_rpc=$(free_port 127.0.0.2)
  nn2_http=$(free_port 127.0.0.2)
  conf_dir "$dir/conf"
  # An HA nameservice of two NameNodes, of which nn1 runs and is made active (forced: nn2,
  # which haadmin would otherwise ask first, is never started).
  site "$dir/conf/core-site.xml" fs.defaultFS "hdfs://bench" hadoop.tmp.dir "$dir/tmp"
  site "$dir/conf/hdfs-site.xml" \
    dfs.nameservices bench \
    dfs.ha.namenodes.bench nn1,nn2 \
    dfs.namenode.rpc-address.bench.nn1 "127.0.0.1:$nn_rpc" \
    dfs.namenode.http-address.bench.nn1 "127.0.0.1:$nn_http" \
    dfs.namenode.rpc-address.bench.nn2 "127.0.0.2:$nn2_rpc" \
    dfs.namenode.http-address.bench.nn2 "127.0.0.2:$nn2_http" \
    dfs.namenode.name.dir "$dir/name" \
    dfs.namenode.shared.edits.dir "$qjournal" \
    dfs.client.failover.proxy.provider.bench \
    org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider \
    dfs.namenode.safemode.threshold-pct 0 \
    dfs.ha.namenode.id nn1
  local nn_pid
  if [[ $kind == hadoop ]]; then
    java -cp "$dir/conf:$lib/*" org.apache.hadoop.hdfs.server.namenode.NameNode \
      -format -force -nonInteractive >"$dir/format.log" 2>&1 ||
      { tail -20 "$dir/format.log" >&2; exit 1; }
    java -cp "$dir/conf:$lib/*" org.apache.hadoop.hdfs.server.namenode.NameNode \
      >"$dir/nn.log" 2>&1 &
    nn_pid=$!
    pids+=("$nn_pid")
    wait_log "$dir/nn.log" "IPC Server listener on $nn_rpc: starting" "$nn_pid"
  else
    HADOOP_CONF_DIR=$dir/conf "$bin/hdfs" namenode -format -nonInteractive \
      >"$dir/format.log" 2>&1 || { tail -20 "$dir/format.log" >&2; exit 1; }
    HADOOP_CONF_DIR=$dir/conf "$bin/namenode" >"$dir/nn.log" 2>&1 &
    nn_pid=$!
    pids+=("$nn_pid")
    wait_log "$dir/nn.log" "is in standby state" "$nn_pid"
  fi
  HADOOP_CONF_DIR=$dir/conf "$bin/hdfs" haadmin -transitionToActive --forceactive nn1 >"$dir/haadmin.log" 2>&1 ||
    { echo "$kind: transitionToActive nn1 failed" >&2; cat "$dir/haadmin.log" >&2; exit 1; }

  rss_sampler "$dir/rss" "$nn_pid" &
  local sampler=$!
  pids+=("$sampler")
  local line="$kind run $run:"
  for op in $OPS; do
    local args=(-op "$op" -threads "$THREADS")
    case $op in
      mkdirs) args+=(-dirs "$FILES" -dirsPerDir 128) ;;
      create) args+=(-files "$FILES" -filesPerDir 128 -close) ;;
      *) args+=(-files "$FILES" -filesPerDir 128) ;;
    esac
    /usr/bin/time -o "$dir/cpu-$op" -f '%U %S' java -cp "$dir/conf:$tests_jar_dir/*:$lib/*" \
      org.apache.hadoop.hdfs.server.namenode.NNThroughputBenchmark \
      -fs "hdfs://127.0.0.1:$nn_rpc" "${args[@]}" >"$dir/bench-$op.log" 2>&1 ||
      { echo "$kind $op failed:" >&2; tail -30 "$dir/bench-$op.log" >&2; tail -20 "$dir/nn.log" >&2; exit 1; }
    local ops
    ops=$(grep -o 'Ops per sec: [0-9.]*' "$dir/bench-$op.log" | tail -1 | awk '{printf "%.0f", $4}')
    line+=" $op $ops"
    echo "$kind $op $ops" >>"$work/results"
  done
  kill -TERM "$sampler"
  wait "$sampler" 2>/dev/null || true
  # CPU seconds of the whole session: the NameNode's (user + system, from /proc) and the
  # benchmark client's (every op's JVM, from time).
  local nn_cpu client_cpu
  nn_cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$nn_pid/stat")
  client_cpu=$(cat "$dir"/cpu-* | awk '{s += $1 + $2} END {printf "%.1f", s}')
  echo "$kind nn-cpu-s $nn_cpu" >>"$work/results"
  echo "$kind client-cpu-s $client_cpu" >>"$work/results"
  line+="  NameNode CPU ${nn_cpu}s, client CPU ${client_cpu}s"
  local rss_mib
  rss_mib=$(awk '{printf "%.0f", $2/1024}' "$dir/rss")
  echo "$kind rss $rss_mib" >>"$work/results"
  echo "$line  (NameNode peak RSS $rss_mib MiB)"
  for pid in "$nn_pid" "${jn_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait "$nn_pid" "${jn_pids[@]}" 2>/dev/null || true
  rm -rf "$dir"
}

echo "NNThroughputBenchmark -fs (remote), ops: $OPS; -threads $THREADS, $FILES files/dirs," \
  "$RUNS runs per NameNode kind, edits on 3 JournalNodes ($JNS); $(nproc) cores, $(uname -r)"
for run in $(seq 1 "$RUNS"); do
  for kind in $KINDS; do
    run_once "$kind" "$run"
  done
done
# median KIND WHAT: the median figure of KIND for op (or rss) WHAT.
median() {
  awk -v k="$1" -v w="$2" '$1 == k && $2 == w {print $3}' "$work/results" | sort -n |
    awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
echo "medians (ops/s):"
printf '%-12s' op; for kind in $KINDS; do printf '%12s' "$kind"; done; echo
for op in $OPS rss nn-cpu-s client-cpu-s; do
  printf '%-12s' "$op"
  for kind in $KINDS; do printf '%12s' "$(median "$kind" "$op")"; done
  echo
done
