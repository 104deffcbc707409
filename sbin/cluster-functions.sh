# Shared by start-dfs.sh and stop-dfs.sh (sourced, not run): where the binaries and the
# configuration are, which daemons the configuration places on which hosts, and how a command
# runs "on" a host.
#
# Hosts. A host that is one of this machine's addresses (any 127.x.y.z, localhost, this
# machine's name or one of its interface addresses) is run here; any other host through
# `ssh -o BatchMode=yes <host>`, with this install's paths, as Hadoop's workers mode does.
# When the configuration places daemons on several local hosts — the one-machine cluster of
# etc/hadoop, where m1, m2, m3 are 127.0.0.1, .2, .3 — each such host is simulated:
#   - its pid and log files go to $HADOOP_PID_DIR/<host> and $HADOOP_LOG_DIR/<host>, so that
#     three JournalNodes on one machine do not share one pid file;
#   - a JournalNode binds <host>:<port> of the qjournal URI (and <host> for HTTP);
#   - a coordination server gets a zoo.cfg of its own under <dataDir>/<myid>/ (same servers,
#     dataDir=<dataDir>/<myid>, myid written), since every server line is "here".
# NameNodes and ZKFCs always get -D dfs.ha.namenode.id=<id>: start-dfs.sh knows which one it
# starts, so nothing depends on matching local addresses.

HDFS_HA_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --config DIR (before anything else), else $HADOOP_CONF_DIR, else etc/hadoop of the install.
parse_config_option() {
  if [[ "${1:-}" == "--config" ]]; then
    if [[ ! -d "${2:-}" ]]; then
      echo "ERROR: Cannot find configuration directory \"${2:-}\"" >&2
      exit 1
    fi
    HADOOP_CONF_DIR="$(cd "$2" && pwd)"
  fi
  HADOOP_CONF_DIR="${HADOOP_CONF_DIR:-$HDFS_HA_HOME/etc/hadoop}"
  export HADOOP_CONF_DIR
}

# The directory holding hdfs, zkserver, zkcli: $HDFS_HA_BIN_DIR, else this install's bin/,
# else the source tree's target/release or target/debug.
find_bin_dir() {
  local candidate
  for candidate in "${HDFS_HA_BIN_DIR:-}" "$HDFS_HA_HOME/bin" "$HDFS_HA_HOME/target/release" \
    "$HDFS_HA_HOME/target/debug"; do
    if [[ -n "$candidate" && -x "$candidate/hdfs" ]]; then
      BIN_DIR="$candidate"
      return 0
    fi
  done
  echo "ERROR: no hdfs binary found: run 'cargo build --release' or set HDFS_HA_BIN_DIR" >&2
  exit 1
}

hdfs_cmd() {
  "$BIN_DIR/hdfs" --config "$HADOOP_CONF_DIR" "$@"
}

# The value of a configuration key, empty when it is missing.
conf_value() {
  hdfs_cmd getconf -confKey "$1" 2>/dev/null
}

LOCAL_ADDRESSES=""
is_local_host() {
  local host="$1"
  case "$host" in
    127.* | localhost | localhost.localdomain | ::1) return 0 ;;
  esac
  if [[ -z "$LOCAL_ADDRESSES" ]]; then
    # This machine's name and its interface addresses (hostname(1) or ip(8), whichever exists).
    LOCAL_ADDRESSES=" $(cat /proc/sys/kernel/hostname 2>/dev/null) $(hostname -f 2>/dev/null)"
    LOCAL_ADDRESSES+=" $( (hostname -I || ip -o addr | awk '{ sub(/\/.*/, "", $4); print $4 }') 2>/dev/null | tr '\n' ' ') "
  fi
  [[ "$LOCAL_ADDRESSES" == *" $host "* ]]
}

# "host:port" -> host (IPv6 in brackets kept whole).
host_of() {
  local address="$1"
  echo "${address%:*}"
}

port_of() {
  local address="$1"
  echo "${address##*:}"
}

# NAMESERVICES, and for each NameNode (in order): NN_IDS[i], NN_NS[i], NN_HOSTS[i].
read_namenodes() {
  NN_IDS=()
  NN_NS=()
  NN_HOSTS=()
  NAMESERVICES="$(conf_value dfs.nameservices | tr ',' ' ')"
  local ns nn address
  for ns in $NAMESERVICES; do
    for nn in $(conf_value "dfs.ha.namenodes.$ns" | tr ',' ' '); do
      address="$(conf_value "dfs.namenode.rpc-address.$ns.$nn")"
      NN_IDS+=("$nn")
      NN_NS+=("$ns")
      NN_HOSTS+=("$(host_of "$address")")
    done
  done
}

# JN_ADDRESSES: the host:port list of the qjournal URI; JN_HOSTS their hosts.
read_journalnodes() {
  local uri
  uri="$(conf_value dfs.namenode.shared.edits.dir)"
  JN_ADDRESSES=()
  if [[ "$uri" == qjournal://* ]]; then
    local rest="${uri#qjournal://}"
    rest="${rest%%/*}"
    IFS=';' read -r -a JN_ADDRESSES <<<"$rest"
  fi
  JN_HOSTS=()
  local address
  for address in "${JN_ADDRESSES[@]}"; do JN_HOSTS+=("$(host_of "$address")"); done
}

# ZK_IDS[i], ZK_HOSTS[i], ZK_CLIENT[i] (host:port) from the conf dir's zoo.cfg, when there is
# one; a site that runs its own ZooKeeper has none here and starts nothing.
read_zoo_cfg() {
  ZK_IDS=()
  ZK_HOSTS=()
  ZK_CLIENT=()
  ZOO_CFG="$HADOOP_CONF_DIR/zoo.cfg"
  [[ -f "$ZOO_CFG" ]] || return 0
  local line id spec host client
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*server\.([0-9]+)[[:space:]]*=[[:space:]]*([^[:space:]]+) ]] || continue
    id="${BASH_REMATCH[1]}"
    spec="${BASH_REMATCH[2]}"
    host="${spec%%:*}"
    client=""
    if [[ "$spec" == *";"* ]]; then
      client="${spec##*;}"
      [[ "$client" == *:* ]] || client="$host:$client"
    else
      client="$host:$(zoo_cfg_value clientPort)"
    fi
    ZK_IDS+=("$id")
    ZK_HOSTS+=("$host")
    ZK_CLIENT+=("$client")
  done <"$ZOO_CFG"
  ZK_STANDALONE=0
  if ((${#ZK_IDS[@]} == 0)); then
    # No server lines: one standalone server on clientPortAddress:clientPort.
    ZK_STANDALONE=1
    host="$(zoo_cfg_value clientPortAddress)"
    host="${host:-127.0.0.1}"
    ZK_IDS=(0)
    ZK_HOSTS=("$host")
    ZK_CLIENT=("$host:$(zoo_cfg_value clientPort)")
  fi
}

zoo_cfg_value() {
  grep -E "^[[:space:]]*$1[[:space:]]*=" "$ZOO_CFG" | tail -n 1 | sed -e 's/^[^=]*=//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

# SIMULATED=1 when the configuration puts daemons on more than one local host.
decide_simulation() {
  local host
  local -A seen=()
  for host in "${NN_HOSTS[@]}" "${ZK_HOSTS[@]}"; do
    is_local_host "$host" && seen["$host"]=1
  done
  local address
  for address in "${JN_ADDRESSES[@]}"; do
    host="$(host_of "$address")"
    is_local_host "$host" && seen["$host"]=1
  done
  SIMULATED=0
  ((${#seen[@]} > 1)) && SIMULATED=1
  PID_BASE="${HADOOP_PID_DIR:-/tmp}"
  LOG_BASE="${HADOOP_LOG_DIR:-$HDFS_HA_HOME/logs}"
}

# on_host HOST PROGRAM ARGS...: runs PROGRAM for HOST — here (with that host's pid and log
# directories when simulated), or through ssh.
on_host() {
  local host="$1"
  shift
  if is_local_host "$host"; then
    if ((SIMULATED)); then
      HADOOP_PID_DIR="$PID_BASE/$host" HADOOP_LOG_DIR="$LOG_BASE/$host" ZOO_LOG_DIR="$LOG_BASE/$host" "$@"
    else
      HADOOP_PID_DIR="$PID_BASE" HADOOP_LOG_DIR="$LOG_BASE" "$@"
    fi
  else
    # shellcheck disable=SC2029
    ssh -o BatchMode=yes "$host" "$(printf '%q ' "$@")" 2>&1 | sed "s/^/$host: /"
    return "${PIPESTATUS[0]}"
  fi
}

# hdfs_on HOST ARGS...: `hdfs --config <conf> ARGS` for HOST.
hdfs_on() {
  local host="$1"
  shift
  on_host "$host" "$BIN_DIR/hdfs" --config "$HADOOP_CONF_DIR" "$@"
}

# The zoo.cfg that server ID runs with here (its own copy when simulated).
zk_cfg_for() {
  local id="$1"
  if ((SIMULATED && !ZK_STANDALONE)); then
    local data_dir
    data_dir="$(zoo_cfg_value dataDir)/$id"
    mkdir -p "$data_dir"
    sed -e "s|^[[:space:]]*dataDir[[:space:]]*=.*|dataDir=$data_dir|" "$ZOO_CFG" >"$data_dir/zoo.cfg"
    [[ -f "$data_dir/myid" ]] || echo "$id" >"$data_dir/myid"
    echo "$data_dir/zoo.cfg"
  else
    echo "$ZOO_CFG"
  fi
}

# Waits (at most $2 seconds) until host:port accepts connections.
wait_for_port() {
  local address="$1" limit="$2" waited=0
  while ! timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$(host_of "$address")" "$(port_of "$address")" 2>/dev/null; do
    ((waited += 1))
    if ((waited > limit * 10)); then
      return 1
    fi
    sleep 0.1
  done
}

# Everything a script needs: the conf dir (from its arguments), the binaries, the daemons.
load_cluster() {
  parse_config_option "$@"
  find_bin_dir
  read_namenodes
  read_journalnodes
  read_zoo_cfg
  decide_simulation
  status=0
  JOBS=()
}

# Waits for the jobs started in the background (their pids in JOBS), adding their statuses
# to $status.
wait_all() {
  local job
  for job in "${JOBS[@]}"; do
    wait "$job" || ((status += $?))
  done
  JOBS=()
}

# The zoo.cfg to start or stop server i with on its host.
zk_cfg_of() {
  if is_local_host "${ZK_HOSTS[$1]}"; then
    zk_cfg_for "${ZK_IDS[$1]}"
  else
    echo "$ZOO_CFG"
  fi
}
