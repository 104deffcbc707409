# Shared by the side-by-side benchmarks (sourced, with $repo and $bench set): Hadoop's jars
# and tests jar (NNThroughputBenchmark), a scratch folder removed with every process started
# (`pids`) on exit, Hadoop-style conf files, and three JournalNodes of either kind.

lib=$(dev/hadoop-jars.sh)
tests_jar_dir=$(dirname "$lib")/tests
for artifact in hadoop-hdfs hadoop-common; do
  if [[ ! -f $tests_jar_dir/$artifact-3.3.6-tests.jar ]]; then
    mkdir -p "$tests_jar_dir"
    mvn -q -B dependency:copy -Dartifact="org.apache.hadoop:$artifact:3.3.6:jar:tests" \
      -DoutputDirectory="$tests_jar_dir" >&2
  fi
done
work=$(mktemp -d "/tmp/$bench.XXXXXX")
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

# start_jns DIR KIND: three JournalNodes of KIND (hadoop or ours) on 127.0.0.1-3; sets
# jn_pids and qjournal (the NameNode's qjournal:// URI, journal `bench`).
start_jns() {
  local dir=$1 jns=$2 addresses=()
  jn_pids=()
  for i in 1 2 3; do
    local host=127.0.0.$i rpc http
    rpc=$(free_port "$host")
    http=$(free_port "$host")
    addresses+=("$host:$rpc")
    mkdir -p "$dir/jn$i/data"
    if [[ $jns == hadoop ]]; then
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
      HADOOP_CONF_DIR=$dir/jn$i/conf "$repo/target/release/journalnode" \
        -D "dfs.journalnode.rpc-address=$host:$rpc" \
        -D "dfs.journalnode.http-address=$host:$http" \
        -D "dfs.journalnode.edits.dir=$dir/jn$i/data" >"$dir/jn$i/log" 2>&1 &
      local pid=$!
      pids+=("$pid"); jn_pids+=("$pid")
      wait_log "$dir/jn$i/log" "JournalNode RPC server is listening" "$pid"
    fi
  done
  qjournal="qjournal://$(IFS=';'; echo "${addresses[*]}")/bench"
}

