#!/usr/bin/env bash
# Fetches real Apache Hadoop 3.3.6 (hadoop-hdfs, hadoop-hdfs-client, hadoop-common and their
# dependencies, dev/hadoop/pom.xml) from Maven Central into one folder, once, and prints the
# folder on stdout. The interop tests find it through HDFS_HA_HADOOP_LIB (default below).
# Idempotent: a folder that holds hadoop-hdfs-3.3.6.jar is kept as it is. The jars are fetched
# into a scratch folder beside it and moved in with hadoop-hdfs-3.3.6.jar last, so that jar is
# only there once all the others are; nothing already in the folder is deleted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
lib=${HDFS_HA_HADOOP_LIB:-$HOME/.cache/hdfs-ha/hadoop-3.3.6/lib}
# A relative folder is the caller's, not the repository's.
[[ $lib == /* ]] || lib=$PWD/$lib
marker=hadoop-hdfs-3.3.6.jar

fail() {
  echo "dev/hadoop-jars.sh: $*" >&2
  exit 1
}

if [[ ! -f $lib/$marker ]]; then
  command -v mvn >/dev/null 2>&1 || fail "Maven (mvn) is not installed; dev/test.sh installs it"
  command -v java >/dev/null 2>&1 || fail "java is not installed (Maven and the tests need a JDK)"
  echo "== fetching Hadoop 3.3.6 jars from Maven Central into $lib" >&2
  mkdir -p "$(dirname "$lib")" || fail "cannot create $(dirname "$lib")"
  tmp=$(mktemp -d "$lib.fetch.XXXXXX") || fail "cannot create a scratch folder beside $lib"
  trap 'rm -rf "$tmp"' EXIT
  if ! mvn -q -B -f "$repo/dev/hadoop/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" >&2; then
    fail "Maven could not fetch Hadoop 3.3.6 (its errors are above)"
  fi
  for jar in hadoop-hdfs-3.3.6.jar hadoop-hdfs-client-3.3.6.jar hadoop-common-3.3.6.jar; do
    [[ -f $tmp/$jar ]] || fail "Maven left no $jar in $tmp"
  done
  mkdir -p "$lib" || fail "cannot create $lib"
  find "$tmp" -maxdepth 1 -type f -name '*.jar' ! -name "$marker" -exec mv -f {} "$lib/" \; \
    || fail "cannot move the jars into $lib"
  mv -f "$tmp/$marker" "$lib/$marker" || fail "cannot move $marker into $lib"
  echo "== $(find "$lib" -maxdepth 1 -name '*.jar' | wc -l) jars in $lib" >&2
fi
echo "$lib"
