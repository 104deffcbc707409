#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (Debian and PyPI packages,
# and the real Apache Hadoop 3.3.6 jars from Maven Central, cached by dev/hadoop-jars.sh in
# $HDFS_HA_HADOOP_LIB, default ~/.cache/hdfs-ha/hadoop-3.3.6/lib, and exported for the Hadoop
# interop tests), then runs the lints (rustfmt, clippy with warnings as errors) and every test.
# Safe to run again; installs and the fetch are skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: Apache ZooKeeper 3.8 (and its JRE) for the ZKFC tests, the
# coordination-server interop tests (tests/zk_interop.rs, zkCli.sh) and the side-by-side
# benchmark; sshd, ssh, fuser and nc for the sshfence tests.
debian_packages=(zookeeper openssh-server openssh-client psmisc netcat-openbsd)
# Maven fetches the real Hadoop 3.3.6 jars the interop tests run (dev/hadoop-jars.sh).
command -v mvn >/dev/null 2>&1 || debian_packages+=(maven)
# PyPI packages the tests need: kazoo, a ZooKeeper client we did not write (tests/zk_interop.rs),
# and hdfs-native, an HDFS client we did not write (tests/hdfs_native.rs).
pypi_packages=(kazoo hdfs-native)

missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi
# The PyPI packages' modules: their names with - as _ (hdfs-native is imported as hdfs_native).
pypi_modules=("${pypi_packages[@]//-/_}")
if ! python3 -c "import $(IFS=,; echo "${pypi_modules[*]}")" 2>/dev/null; then
  echo "== installing PyPI packages: ${pypi_packages[*]}"
  pip=(python3 -m pip install --quiet --disable-pip-version-check)
  # A Debian-managed python3 refuses user installs (PEP 668) unless told otherwise.
  "${pip[@]}" "${pypi_packages[@]}" || "${pip[@]}" --break-system-packages "${pypi_packages[@]}"
fi

echo "== Hadoop 3.3.6 jars (Maven Central, cached)"
HDFS_HA_HADOOP_LIB=$(dev/hadoop-jars.sh)
export HDFS_HA_HADOOP_LIB

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
  cargo test --locked --doc
else
  cargo test --locked --no-fail-fast
fi
echo "== all checks passed"
