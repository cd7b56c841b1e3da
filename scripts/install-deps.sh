#!/usr/bin/env bash
# install-deps.sh — install everything recd needs to build and test, from Debian's packages
# (and, with --kafka, the Apache Kafka broker jars from Maven Central). Idempotent.
#
#   scripts/install-deps.sh            build + runtime dependencies
#   scripts/install-deps.sh --test     also test tools (cmocka, valgrind, clang, Java + Maven)
#                                      and the Kafka broker jars (scripts/kafka.sh fetch)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

build_pkgs=(build-essential cmake pkg-config git python3
            librdkafka-dev libavro-dev libopenblas-dev librocksdb-dev libconfig-dev
            libsystemd-dev libmicrohttpd-dev libjansson-dev libxxhash-dev zlib1g-dev)
test_pkgs=(libcmocka-dev valgrind clang libclang-rt-dev default-jre-headless maven curl lintian gnuplot-nox
           python3-confluent-kafka python3-avro prometheus python3-yaml)   # prometheus: promtool, for ops_service (exposition lint, alert-rule tests); gnuplot-nox: bench/soak's plot; python3-confluent-kafka + python3-avro: output_contract reads the topic as a downstream service; libclang-rt-dev: the sanitizer/libFuzzer runtimes (not pulled in without recommends); lintian: the package test

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A JRE counts if any java >= 17 is present (the machine may ship its own JDK).
if command -v java >/dev/null 2>&1; then
    missing=("${missing[@]/default-jre-headless}")
fi
if command -v mvn >/dev/null 2>&1; then
    missing=("${missing[@]/maven}")
fi
clean=(); for p in "${missing[@]}"; do [ -n "$p" ] && clean+=("$p"); done
if [ ${#clean[@]} -gt 0 ]; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    echo "install-deps: installing ${clean[*]}"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${clean[@]}"
else
    echo "install-deps: all Debian packages present"
fi

if [ "${1:-}" = "--test" ]; then
    "$here/kafka.sh" fetch
fi
