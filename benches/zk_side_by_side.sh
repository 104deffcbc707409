#!/usr/bin/env bash
# Side-by-side benchmark: hdfs-ha's zkserver and Apache ZooKeeper 3.8 (Debian's `zookeeper`
# package), both standalone with forceSync on (the default), the same zkbench client, one
# server at a time on this machine's loopback. Prints Markdown rows for BENCHMARKS.md.
#
#   benches/zk_side_by_side.sh            # all workloads + the 1M-znode memory run
#   FILL=0 benches/zk_side_by_side.sh     # skip the memory run
#
# Knobs: SESSIONS (16), OUTSTANDING (50), WRITES (50000), READS (200000), FILL (1000000),
# BENCH_DIR (target/zkbench, on disk: a tmpfs would make fsync free).
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS="${SESSIONS:-16}"
OUTSTANDING="${OUTSTANDING:-50}"
WRITES="${WRITES:-50000}"
READS="${READS:-200000}"
FILL="${FILL:-1000000}"
BENCH_DIR="${BENCH_DIR:-$PWD/target/zkbench}"
ZK_JAR=/usr/share/java/zookeeper.jar

cargo build --release --quiet --bin zkserver --bin zkbench
[ -f "$ZK_JAR" ] || { echo "Apache ZooKeeper is not installed (apt-get install zookeeper)" >&2; exit 1; }

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_serving() {
  for _ in $(seq 1 600); do
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf srvr >&3 && cat <&3' "$1" 2>/dev/null | grep -q '^Mode: '; then
      return 0
    fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

start_server() { # $1 = ours|zookeeper
  local dir="$BENCH_DIR/$1"
  rm -rf "$dir"
  mkdir -p "$dir/data"
  port="$(free_port)"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
metricsProvider.httpPort=$(free_port)
4lw.commands.whitelist=srvr
EOF
  if [ "$1" = ours ]; then
    RUST_LOG=warn target/release/zkserver "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
  else
    java -Dzookeeper.root.logger=WARN,CONSOLE -Dzookeeper.log.dir="$dir" \
      -cp "/etc/zookeeper/conf:$ZK_JAR" org.apache.zookeeper.server.quorum.QuorumPeerMain \
      "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
  fi
  server_pid=$!
  wait_serving "$port"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

bench() { # server op requests
  target/release/zkbench -server "127.0.0.1:$port" -op "$2" -sessions "$SESSIONS" \
    -outstanding "$OUTSTANDING" -requests "$3" -size 100 -keys 1000
}

rss_mb() {
  awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "zookeeper: $(dpkg-query -W -f='${Version}' zookeeper), java: $(java -version 2>&1 | head -1)"
echo
echo "| server | op | sessions x outstanding | requests | ops/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
for server in ours zookeeper; do
  start_server "$server"
  for op in create set get mixed; do
    n="$WRITES"
    [ "$op" = get ] || [ "$op" = mixed ] && n="$READS"
    line="$(bench "$server" "$op" "$n")"
    ops="$(sed -E 's/.*ops_per_sec=([0-9.]+).*/\1/' <<<"$line")"
    p50="$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")"
    p99="$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")"
    echo "| $server | $op | ${SESSIONS}x${OUTSTANDING} | $n | $ops | $p50 | $p99 |"
  done
  stop_server
done

if [ "$FILL" != 0 ]; then
  echo
  echo "| server | znodes | resident memory after the fill (MiB) | fill ops/s |"
  echo "|---|---|---|---|"
  for server in ours zookeeper; do
    start_server "$server"
    line="$(target/release/zkbench -server "127.0.0.1:$port" -op fill -sessions 8 -outstanding 100 -requests "$FILL" -size 10)"
    ops="$(sed -E 's/.*ops_per_sec=([0-9.]+).*/\1/' <<<"$line")"
    echo "| $server | $FILL | $(rss_mb) | $ops |"
    stop_server
  done
fi
