#!/usr/bin/env bash
# Fetches real Apache Hadoop 3.3.6 (hadoop-hdfs, hadoop-hdfs-client, hadoop-common and their
# dependencies, dev/hadoop/pom.xml) from Maven Central into one folder, once, and prints the
# folder. The interop tests find it through HDFS_HA_HADOOP_LIB (default below). Safe to run
# again: a complete folder is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${HDFS_HA_HADOOP_LIB:-$HOME/.cache/hdfs-ha/hadoop-3.3.6/lib}
marker=$lib/.complete
if [[ ! -f $marker ]]; then
  echo "== fetching Hadoop 3.3.6 jars into $lib" >&2
  tmp=$lib.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -q -B -f dev/hadoop/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$tmp" >&2; then
    echo "dev/hadoop-jars.sh: Maven could not fetch Hadoop 3.3.6 (see above)" >&2
    exit 1
  fi
  [[ -f $tmp/hadoop-hdfs-3.3.6.jar ]] || {
    echo "dev/hadoop-jars.sh: $tmp has no hadoop-hdfs-3.3.6.jar" >&2
    exit 1
  }
  rm -rf "$lib"
  mv "$tmp" "$lib"
  touch "$marker"
fi
echo "$lib"
