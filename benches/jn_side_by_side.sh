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

lib=$(dev/hadoop-jars.sh)
tests_jar_dir=$(dirname "$lib")/tests
for artifact in hadoop-hdfs hadoop-common; do
  if [[ ! -f $tests_jar_dir/$artifact-3.3.6-tests.jar ]]; then
    mkdir -p "$tests_jar_dir"
    mvn -q -B dependency:copy -Dartifact="org.apache.hadoop:$artifact:3.3.6:jar:tests" \
      -DoutputDirectory="$tests_jar_dir" >&2
  fi
done
ours=$repo/target/release/journalnode
[[ -x $ours ]] || { echo "build first: cargo build --release" >&2; exit 1; }

work=$(mktemp -d /tmp/jn-side-by-side.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# site FILE NAME VALUE...: a Hadoop *-site.xml.
site() {
  local file=$1; shift
  {
    echo '<?xml version="1.0"?><configuration>'
    while (($#)); do
      echo "<property><name>$1</name><value>$2</value></property>"
      shift 2
    done
    echo '</configuration>'
  } >"$file"
}

# conf_dir DIR: log4j to stderr and the empty webapps Hadoop's HTTP servers look for.
conf_dir() {
  mkdir -p "$1/webapps/hdfs" "$1/webapps/journal" "$1/webapps/static"
  cat >"$1/log4j.properties" <<'EOF'
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
EOF
}

# wait_log FILE TEXT PID: until FILE says TEXT; fails (with the log's tail) if PID dies.
wait_log() {
  local deadline=$((SECONDS + 90))
  until grep -q "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null || ((SECONDS > deadline)); then
      echo "daemon $3 did not say '$2'; $1 ends with:" >&2
      tail -20 "$1" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# rss_sampler OUT PID...: the peak VmRSS (KiB) of each PID, sampled every 200 ms, written to
# OUT when it receives TERM.
rss_sampler() {
  local out=$1; shift
  local -A peak=()
  for pid in "$@"; do peak[$pid]=0; done
  trap 'for p in "${!peak[@]}"; do echo "$p ${peak[$p]}"; done >"$out"; exit 0' TERM
  while :; do
    for pid in "$@"; do
      local rss
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      ((rss > peak[$pid])) && peak[$pid]=$rss
    done
    sleep 0.2
  done
}

run_once() {
  local kind=$1 run=$2
  local dir=$work/$kind-$run
  mkdir -p "$dir"
  local jn_pids=() addresses=()
  for i in 1 2 3; do
    local host=127.0.0.$i rpc http
    rpc=$(free_port "$host")
    http=$(free_port "$host")
    addresses+=("$host:$rpc")
    mkdir -p "$dir/jn$i/data"
    if [[ $kind == hadoop ]]; then
      conf_dir "$dir/jn$i/conf"
      site "$dir/jn$i/conf/hdfs-site.xml" \
        dfs.journalnode.rpc-address "$host:$rpc" \
        dfs.journalnode.http-address "$host:$http" \
        dfs.journalnode.edits.dir "$dir/jn$i/data"
      java -cp "$dir/jn$i/conf:$lib/*" org.apache.hadoop.hdfs.qjournal.server.JournalNode \
        >"$dir/jn$i/log" 2>&1 &
      local pid=$!
      pids+=("$pid"); jn_pids+=("$pid")
      wait_log "$dir/jn$i/log" "IPC Server listener on $rpc: starting" "$pid"
    else
      mkdir -p "$dir/jn$i/conf"
      HADOOP_CONF_DIR=$dir/jn$i/conf "$ours" \
        -D "dfs.journalnode.rpc-address=$host:$rpc" \
        -D "dfs.journalnode.http-address=$host:$http" \
        -D "dfs.journalnode.edits.dir=$dir/jn$i/data" >"$dir/jn$i/log" 2>&1 &
      local pid=$!
      pids+=("$pid"); jn_pids+=("$pid")
      wait_log "$dir/jn$i/log" "JournalNode RPC server is listening" "$pid"
    fi
  done
  local nn_rpc nn_http
  nn_rpc=$(free_port 127.0.0.1)
  nn_http=$(free_port 127.0.0.1)
  conf_dir "$dir/nn"
  site "$dir/nn/core-site.xml" fs.defaultFS "hdfs://127.0.0.1:$nn_rpc" \
    hadoop.tmp.dir "$dir/tmp"
  site "$dir/nn/hdfs-site.xml" \
    dfs.namenode.name.dir "$dir/name" \
    dfs.namenode.edits.dir "qjournal://$(IFS=';'; echo "${addresses[*]}")/bench" \
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
