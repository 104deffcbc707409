#!/usr/bin/env bash
# stop-dfs.sh [--config <conf-dir>]: stops what start-dfs.sh started, in Hadoop's order —
# NameNodes, JournalNodes, ZKFCs (last, so a ZKFC may see its NameNode go) — and then the
# coordination servers of <conf-dir>/zoo.cfg that start-dfs.sh runs. Each daemon gets SIGTERM,
# then SIGKILL after $HADOOP_STOP_TIMEOUT seconds (hdfs --daemon stop). Data stays.

set -u
# shellcheck source=cluster-functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-functions.sh"
load_cluster "$@"

# hdfs --daemon stop DAEMON on each of HOSTS..., at once.
stop_on() {
  local daemon="$1" host
  shift
  for host in "$@"; do
    hdfs_on "$host" --daemon stop "$daemon" &
    JOBS+=($!)
  done
  wait_all
}

echo "Stopping namenodes on [${NN_HOSTS[*]}]"
stop_on namenode "${NN_HOSTS[@]}"

if ((${#JN_ADDRESSES[@]} > 0)); then
  echo "Stopping journal nodes [${JN_HOSTS[*]}]"
  stop_on journalnode "${JN_HOSTS[@]}"
fi

if [[ "$(conf_value dfs.ha.automatic-failover.enabled)" == "true" ]]; then
  echo "Stopping ZK Failover Controllers on NN hosts [${NN_HOSTS[*]}]"
  stop_on zkfc "${NN_HOSTS[@]}"

  if ((${#ZK_IDS[@]} > 0)); then
    echo "Stopping coordination servers on [${ZK_HOSTS[*]}]"
    for i in "${!ZK_IDS[@]}"; do
      cfg="$(zk_cfg_of "$i")"
      on_host "${ZK_HOSTS[$i]}" "$HDFS_HA_HOME/sbin/zkServer.sh" stop "$cfg" >/dev/null 2>&1 &
      JOBS+=($!)
    done
    wait_all
  fi
fi
exit "$status"
