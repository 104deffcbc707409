#!/usr/bin/env bash
# stop-dfs.sh [--config <conf-dir>]: stops what start-dfs.sh started, in Hadoop's order —
# NameNodes, JournalNodes, ZKFCs (last, so a ZKFC may see its NameNode go) — and then the
# coordination servers of <conf-dir>/zoo.cfg that start-dfs.sh runs. Each daemon gets SIGTERM,
# then SIGKILL after $HADOOP_STOP_TIMEOUT seconds (hdfs --daemon stop). Data stays.

set -u
# shellcheck source=cluster-functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-functions.sh"
parse_config_option "$@"
find_bin_dir
read_namenodes
read_journalnodes
read_zoo_cfg
decide_simulation

status=0
JOBS=()
wait_all() {
  local job
  for job in "${JOBS[@]}"; do
    wait "$job" || ((status += $?))
  done
  JOBS=()
}

echo "Stopping namenodes on [${NN_HOSTS[*]}]"
for host in "${NN_HOSTS[@]}"; do
  hdfs_on "$host" --daemon stop namenode &
  JOBS+=($!)
done
wait_all

if ((${#JN_ADDRESSES[@]} > 0)); then
  jn_hosts=()
  for address in "${JN_ADDRESSES[@]}"; do jn_hosts+=("$(host_of "$address")"); done
  echo "Stopping journal nodes [${jn_hosts[*]}]"
  for host in "${jn_hosts[@]}"; do
    hdfs_on "$host" --daemon stop journalnode &
    JOBS+=($!)
  done
  wait_all
fi

if [[ "$(conf_value dfs.ha.automatic-failover.enabled)" == "true" ]]; then
  echo "Stopping ZK Failover Controllers on NN hosts [${NN_HOSTS[*]}]"
  for host in "${NN_HOSTS[@]}"; do
    hdfs_on "$host" --daemon stop zkfc &
    JOBS+=($!)
  done
  wait_all

  if ((${#ZK_IDS[@]} > 0)); then
    echo "Stopping coordination servers on [${ZK_HOSTS[*]}]"
    for i in "${!ZK_IDS[@]}"; do
      cfg="$ZOO_CFG"
      if is_local_host "${ZK_HOSTS[$i]}"; then
        cfg="$(zk_cfg_for "${ZK_IDS[$i]}")"
      fi
      on_host "${ZK_HOSTS[$i]}" "$HDFS_HA_HOME/sbin/zkServer.sh" stop "$cfg" >/dev/null 2>&1 &
      JOBS+=($!)
    done
    wait_all
  fi
fi
exit "$status"
