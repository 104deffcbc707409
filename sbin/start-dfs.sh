#!/usr/bin/env bash
# start-dfs.sh [--config <conf-dir>]: starts the HDFS HA daemons the configuration names, as
# Hadoop's start-dfs.sh does, and on a first run also prepares what is not prepared yet — the
# one command that takes the shipped etc/hadoop to a working HA cluster:
#
#   1. the coordination servers of <conf-dir>/zoo.cfg, when there is one and automatic
#      failover is on (a site with its own ZooKeeper has no zoo.cfg here);
#   2. the JournalNodes of dfs.namenode.shared.edits.dir;
#   3. the NameNodes: the first of each nameservice is formatted if its name directory is
#      empty, every other one bootstrapped from it if its own is empty, then each started;
#   4. with dfs.ha.automatic-failover.enabled, /hadoop-ha/<ns> is created if missing
#      (hdfs zkfc -formatZK) and a ZKFC started beside each NameNode;
#   5. it waits until a NameNode is active and prints hdfs haadmin -getAllServiceState.
#
# Nothing already formatted is formatted again. Hosts, ssh and the one-machine layout:
# see cluster-functions.sh. The exit status is the sum of the steps' statuses, as Hadoop's.
# What each daemon printed while starting is in $HADOOP_LOG_DIR (logs/ of this install by
# default, one directory per host on one machine); pid files in $HADOOP_PID_DIR (/tmp).

set -u
# shellcheck source=cluster-functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-functions.sh"
load_cluster "$@"

if ((${#NN_IDS[@]} == 0)); then
  echo "ERROR: $HADOOP_CONF_DIR names no HA NameNodes (dfs.nameservices, dfs.ha.namenodes.<ns>)." >&2
  exit 1
fi

auto_failover="$(conf_value dfs.ha.automatic-failover.enabled)"

# A step that prints a lot: its output goes to a file; on failure the tail is shown.
quietly() {
  local what="$1" log="$2"
  shift 2
  mkdir -p "$(dirname "$log")"
  if "$@" >"$log" 2>&1; then
    return 0
  else
    local code=$?
    echo "ERROR: $what failed (exit $code); from $log:" >&2
    tail -n 5 "$log" >&2
    return "$code"
  fi
}

host_log_dir() {
  if ((SIMULATED)); then echo "$LOG_BASE/$1"; else echo "$LOG_BASE"; fi
}

# 1. Coordination servers.
if [[ "$auto_failover" == "true" && ${#ZK_IDS[@]} -gt 0 ]]; then
  echo "Starting coordination servers on [${ZK_HOSTS[*]}]"
  for i in "${!ZK_IDS[@]}"; do
    cfg="$(zk_cfg_of "$i")"
    on_host "${ZK_HOSTS[$i]}" "$HDFS_HA_HOME/sbin/zkServer.sh" start "$cfg" 2>/dev/null &
    JOBS+=($!)
  done
  wait_all
  quorum="$(IFS=,; echo "${ZK_CLIENT[*]}")"
  waited=0
  until "$BIN_DIR/zkcli" -server "$quorum" ls / >/dev/null 2>&1; do
    if ((waited++ > 600)); then
      echo "ERROR: the coordination servers $quorum do not answer" >&2
      ((status += 1))
      break
    fi
    sleep 0.1
  done
fi

# 2. JournalNodes.
if ((${#JN_ADDRESSES[@]} > 0)); then
  echo "Starting journal nodes [${JN_HOSTS[*]}]"
  jn_http_port="$(port_of "$(conf_value dfs.journalnode.http-address)")"
  for address in "${JN_ADDRESSES[@]}"; do
    host="$(host_of "$address")"
    identity=()
    if ((SIMULATED)) && is_local_host "$host"; then
      identity=(-D "dfs.journalnode.rpc-address=$address" -D "dfs.journalnode.http-address=$host:$jn_http_port")
    fi
    hdfs_on "$host" --daemon start journalnode "${identity[@]}" &
    JOBS+=($!)
  done
  wait_all
  for address in "${JN_ADDRESSES[@]}"; do
    wait_for_port "$address" 30 || echo "WARNING: JournalNode $address does not accept connections yet" >&2
  done
fi

# Whether NameNode i's (first) name directory holds a formatted storage; only a local one
# can be looked at (a remote one counts as formatted: prepare it there).
is_formatted() {
  local i="$1" dirs dir
  is_local_host "${NN_HOSTS[$i]}" || return 0
  dirs="$(conf_value "dfs.namenode.name.dir.${NN_NS[$i]}.${NN_IDS[$i]}")"
  [[ -n "$dirs" ]] || dirs="$(conf_value dfs.namenode.name.dir)"
  dir="${dirs%%,*}"
  dir="${dir#file://}"
  [[ -f "$dir/current/VERSION" ]]
}

rpc_address() {
  conf_value "dfs.namenode.rpc-address.${NN_NS[$1]}.${NN_IDS[$1]}"
}

# 3. NameNodes.
echo "Starting namenodes on [${NN_HOSTS[*]}]"
for ns in $NAMESERVICES; do
  first=""
  for i in "${!NN_IDS[@]}"; do
    [[ "${NN_NS[$i]}" == "$ns" ]] || continue
    nn="${NN_IDS[$i]}"
    host="${NN_HOSTS[$i]}"
    logs="$(host_log_dir "$host")"
    if [[ -z "$first" ]]; then
      first="$i"
      if ! is_formatted "$i"; then
        echo "Formatting $nn of $ns (its name directory is empty)"
        quietly "hdfs namenode -format of $nn" "$logs/format-$nn.log" \
          hdfs_on "$host" namenode -D "dfs.ha.namenode.id=$nn" -format -nonInteractive ||
          ((status += 1))
      fi
    elif ! is_formatted "$i"; then
      wait_for_port "$(rpc_address "$first")" 30 || true
      echo "Bootstrapping $nn of $ns from ${NN_IDS[$first]}"
      quietly "hdfs namenode -bootstrapStandby of $nn" "$logs/bootstrap-$nn.log" \
        hdfs_on "$host" namenode -D "dfs.ha.namenode.id=$nn" -bootstrapStandby -nonInteractive ||
        ((status += 1))
    fi
    hdfs_on "$host" --daemon start namenode -D "dfs.ha.namenode.id=$nn" || ((status += $?))
  done
done

# 4. ZKFCs.
if [[ "$auto_failover" == "true" ]]; then
  for ns in $NAMESERVICES; do
    for i in "${!NN_IDS[@]}"; do
      [[ "${NN_NS[$i]}" == "$ns" ]] || continue
      # 0: created; 2: it exists and is kept (-nonInteractive never clears it).
      hdfs_on "${NN_HOSTS[$i]}" zkfc -D "dfs.ha.namenode.id=${NN_IDS[$i]}" -formatZK -nonInteractive \
        >"$(host_log_dir "${NN_HOSTS[$i]}")/formatZK-$ns.log" 2>&1
      code=$?
      if ((code != 0 && code != 2)); then
        echo "ERROR: hdfs zkfc -formatZK for $ns failed (exit $code); see $(host_log_dir "${NN_HOSTS[$i]}")/formatZK-$ns.log" >&2
        ((status += code))
      fi
      break
    done
  done
  echo "Starting ZK Failover Controllers on NN hosts [${NN_HOSTS[*]}]"
  for i in "${!NN_IDS[@]}"; do
    hdfs_on "${NN_HOSTS[$i]}" --daemon start zkfc -D "dfs.ha.namenode.id=${NN_IDS[$i]}" &
    JOBS+=($!)
  done
  wait_all
fi

# 5. One active NameNode per nameservice (automatic failover elects it).
if [[ "$auto_failover" == "true" ]]; then
  for ns in $NAMESERVICES; do
    waited=0
    until hdfs_cmd haadmin -ns "$ns" -getAllServiceState 2>/dev/null | awk '$2 == "active" { found = 1 } END { exit !found }'; do
      if ((waited++ > 600)); then
        echo "WARNING: no NameNode of $ns became active within 60 s" >&2
        ((status += 1))
        break
      fi
      sleep 0.1
    done
    hdfs_cmd haadmin -ns "$ns" -getAllServiceState 2>/dev/null
  done
fi
exit "$status"
