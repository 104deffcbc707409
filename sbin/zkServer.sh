#!/usr/bin/env bash
# zkServer.sh for hdfs-ha's coordination server, with Apache ZooKeeper's command line and
# messages: zkServer.sh [--config <conf-dir>] {start|start-foreground|stop|restart|status|print-cmd} [zoo.cfg]
#
# The config is <conf-dir>/zoo.cfg, where <conf-dir> is --config, else $ZOOCFGDIR, else
# $HADOOP_CONF_DIR, else etc/hadoop of this install; a second argument names another file.
# The server binary is $ZKSERVER, else `zkserver` next to this install's build, else on PATH.
# Logs go to $ZOO_LOG_DIR (else $HADOOP_LOG_DIR, else logs/ of this install); the pid file
# is dataDir/zookeeper_server.pid (or $ZOOPIDFILE).

set -u

ZOOBINDIR="$(cd "$(dirname "${BASH_SOURCE-$0}")" && pwd)"
ZOO_HOME="$(cd "$ZOOBINDIR/.." && pwd)"

if [ "${1:-}" = "--config" ]; then
  shift
  ZOOCFGDIR="${1:-}"
  shift
  if [ ! -d "$ZOOCFGDIR" ]; then
    echo "Error: Cannot find configuration directory: $ZOOCFGDIR" >&2
    exit 1
  fi
fi
ZOOCFGDIR="${ZOOCFGDIR:-${HADOOP_CONF_DIR:-$ZOO_HOME/etc/hadoop}}"
ZOOCFG="$ZOOCFGDIR/zoo.cfg"
if [ -n "${2:-}" ]; then
  case "$2" in
    */*) ZOOCFG="$2" ;;
    *) ZOOCFG="$ZOOCFGDIR/$2" ;;
  esac
fi

if [ -z "${ZKSERVER:-}" ]; then
  for candidate in "$ZOO_HOME/target/release/zkserver" "$ZOO_HOME/target/debug/zkserver" "$ZOOBINDIR/zkserver"; do
    if [ -x "$candidate" ]; then
      ZKSERVER="$candidate"
      break
    fi
  done
  ZKSERVER="${ZKSERVER:-$(command -v zkserver || true)}"
fi

echo "Using config: $ZOOCFG" >&2

cfg_value() {
  grep -E "^[[:space:]]*$1[[:space:]]*=" "$ZOOCFG" 2>/dev/null | tail -n 1 | sed -e 's/^[^=]*=//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

ZOO_DATADIR="$(cfg_value dataDir)"
if [ -z "${ZOOPIDFILE:-}" ]; then
  if [ -n "$ZOO_DATADIR" ] && [ ! -d "$ZOO_DATADIR" ]; then
    mkdir -p "$ZOO_DATADIR"
  fi
  ZOOPIDFILE="$ZOO_DATADIR/zookeeper_server.pid"
else
  mkdir -p "$(dirname "$ZOOPIDFILE")"
fi
ZOO_LOG_DIR="${ZOO_LOG_DIR:-${HADOOP_LOG_DIR:-$ZOO_HOME/logs}}"
_ZOO_DAEMON_OUT="$ZOO_LOG_DIR/zookeeper-${USER:-$(id -un)}-server-$(hostname).out"

# The client address and port the way ZooKeeper's script finds them.
client_endpoint() {
  clientPortAddress="$(cfg_value clientPortAddress)"
  [ -n "$clientPortAddress" ] || clientPortAddress="localhost"
  clientPort="$(cfg_value clientPort)"
  if ! [[ "$clientPort" =~ ^[0-9]+$ ]]; then
    myid="$(cat "$ZOO_DATADIR/myid" 2>/dev/null)"
    if ! [[ "$myid" =~ ^[0-9]+$ ]]; then
      echo "myid could not be determined, will not able to locate clientPort in the server configs."
      clientPort=""
    else
      clientPortAndAddress="$(grep -E "^[[:space:]]*server\.$myid=.*;.*" "$ZOOCFG" | sed -e 's/.*=//' -e 's/.*;//')"
      if [ -z "$clientPortAndAddress" ]; then
        echo "Client port not found in the server configs"
        clientPort=""
      else
        if [[ "$clientPortAndAddress" =~ ^.*:[0-9]+ ]]; then
          clientPortAddress="${clientPortAndAddress%:*}"
        fi
        clientPort="${clientPortAndAddress##*:}"
      fi
    fi
  fi
}

# Sends a four-letter word and prints the answer (bash's /dev/tcp; no nc needed).
four_letter() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "%s" "$2" >&3 && cat <&3' "$1" "$2" "$3" 2>/dev/null
}

case "${1:-}" in
start)
  echo -n "Starting zookeeper ... "
  if [ -f "$ZOOPIDFILE" ] && kill -0 "$(cat "$ZOOPIDFILE")" >/dev/null 2>&1; then
    echo "$1 already running as process $(cat "$ZOOPIDFILE")."
    exit 1
  fi
  if [ -z "$ZKSERVER" ]; then
    echo "SERVER DID NOT START (no zkserver binary: build it with cargo build --release or set ZKSERVER)"
    exit 1
  fi
  mkdir -p "$ZOO_LOG_DIR"
  nohup "$ZKSERVER" "$ZOOCFG" >"$_ZOO_DAEMON_OUT" 2>&1 </dev/null &
  pid=$!
  if ! echo -n "$pid" >"$ZOOPIDFILE"; then
    echo "FAILED TO WRITE PID"
    exit 1
  fi
  # Wait until it answers srvr (always whitelisted) or dies. A quorum member answers
  # "not currently serving" until a quorum of its ensemble is up: that is started too.
  client_endpoint >/dev/null
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" >/dev/null 2>&1; then
      rm -f "$ZOOPIDFILE"
      echo "FAILED TO START"
      exit 1
    fi
    if four_letter "$clientPortAddress" "$clientPort" srvr | grep -q -e '^Mode: ' -e 'not currently serving'; then
      echo STARTED
      exit 0
    fi
    sleep 0.1
  done
  echo STARTED
  ;;
start-foreground)
  if [ -z "$ZKSERVER" ]; then
    echo "no zkserver binary: build it with cargo build --release or set ZKSERVER" >&2
    exit 1
  fi
  exec "$ZKSERVER" "$ZOOCFG"
  ;;
print-cmd)
  echo "\"$ZKSERVER\" \"$ZOOCFG\" > \"$_ZOO_DAEMON_OUT\" 2>&1 < /dev/null"
  ;;
stop)
  echo -n "Stopping zookeeper ... "
  if [ ! -f "$ZOOPIDFILE" ]; then
    echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
  else
    pid="$(cat "$ZOOPIDFILE")"
    kill "$pid" >/dev/null 2>&1
    # Wait for the exit (SIGTERM stops it cleanly); give up politely after 30 s.
    for _ in $(seq 1 300); do
      kill -0 "$pid" >/dev/null 2>&1 || break
      sleep 0.1
    done
    if kill -0 "$pid" >/dev/null 2>&1; then
      kill -9 "$pid" >/dev/null 2>&1
    fi
    rm -f "$ZOOPIDFILE"
    echo STOPPED
  fi
  exit 0
  ;;
restart)
  shift
  "$0" stop "$@"
  "$0" start "$@"
  ;;
status)
  client_endpoint
  if [ -z "$clientPort" ]; then
    echo "Unable to find either secure or unsecure client port in any configs. Terminating."
    exit 1
  fi
  echo "Client port found: $clientPort. Client address: $clientPortAddress. Client SSL: false."
  STAT="$(four_letter "$clientPortAddress" "$clientPort" srvr | grep Mode)"
  if [ -z "$STAT" ]; then
    echo "Error contacting service. It is probably not running."
    exit 1
  fi
  echo "$STAT"
  exit 0
  ;;
*)
  echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|restart|status|print-cmd}" >&2
  ;;
esac
