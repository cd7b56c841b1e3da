#!/usr/bin/env bash
# kafka.sh — a real single-node Apache Kafka (KRaft) broker on loopback for recd's tests and benchmarks.
#
#   scripts/kafka.sh fetch            resolve the broker jars from Maven Central into the cache (idempotent)
#   scripts/kafka.sh start DIR        format DIR as a KRaft log dir, start the broker on a free 127.0.0.1 port,
#                                     wait until it answers a metadata request; prints BOOTSTRAP=127.0.0.1:PORT
#                                     and writes DIR/bootstrap and DIR/broker.pid
#   scripts/kafka.sh stop DIR         stop the broker started in DIR (TERM, then KILL after 20 s)
#   scripts/kafka.sh run DIR -- CMD…  start, run CMD with RECD_BOOTSTRAP set, always stop (also when CMD fails)
#   scripts/kafka.sh configs ARGS…    Kafka's kafka-configs.sh (kafka.admin.ConfigCommand) from the same jars,
#                                     e.g. configs --bootstrap-server B --entity-type topics --entity-name T --describe
#
# Environment: RECD_KAFKA_VERSION (default 4.1.1), RECD_CACHE (default ~/.cache/recd),
#              RECD_KAFKA_HEAP (default 512m), RECD_KAFKA_JAVA_OPTS (more JVM options),
#              RECD_KAFKA_SEGMENT_BYTES (log.segment.bytes, default 64 MiB: small test logs).
# The broker's GC log is DIR/gc.log (pauses stall fetches and acknowledgements: latency tails).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${RECD_KAFKA_VERSION:-4.1.1}"
cache="${RECD_CACHE:-${HOME:-/root}/.cache/recd}"
libs="$cache/kafka-$version/libs"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
    if [ -f "$libs/.complete" ]; then return 0; fi
    command -v mvn >/dev/null || die "maven (mvn) is required to fetch the broker jars"
    command -v java >/dev/null || die "a Java 17+ runtime is required for the broker"
    mkdir -p "$libs"
    (cd "$here/kafka" && mvn -q -B -Dkafka.version="$version" dependency:copy-dependencies \
        -DoutputDirectory="$libs" -DincludeScope=runtime) || die "could not resolve kafka_2.13:$version from Maven Central"
    ls "$libs"/kafka_2.13-"$version".jar >/dev/null || die "kafka_2.13-$version.jar missing after fetch"
    touch "$libs/.complete"
}

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
    local dir="$1"; [ -n "$dir" ] || die "start: DIR required"
    fetch
    mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
    local port cport
    port="$(free_port)"; cport="$(free_port)"
    while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
    cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.segment.bytes=${RECD_KAFKA_SEGMENT_BYTES:-67108864}
message.max.bytes=4194304
PROPS
    cat > "$dir/log4j2.properties" <<'L4J'
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRefs = file
rootLogger.appenderRef.file.ref = file
L4J
    local java_opts=(-Xmx"${RECD_KAFKA_HEAP:-512m}" -Xms128m -XX:+UseG1GC -Djava.awt.headless=true
                     -Xlog:gc:file="$dir/gc.log":time,uptime ${RECD_KAFKA_JAVA_OPTS:-}
                     -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$dir/log4j2.properties")
    local cid; cid="$(python3 -c 'import uuid,base64;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format --cluster-id="$cid" \
        --config "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "storage format failed"; }
    setsid java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
        >"$dir/stdout.log" 2>&1 </dev/null &
    echo $! > "$dir/broker.pid"
    echo "127.0.0.1:$port" > "$dir/bootstrap"
    # Ready = answers a metadata request listing itself as a broker.
    local deadline=$((SECONDS + 90))
    while :; do
        if ! kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
            tail -50 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
            die "broker exited during startup"
        fi
        if probe "127.0.0.1:$port"; then
            break
        fi
        [ $SECONDS -lt $deadline ] || { stop "$dir"; die "broker did not become ready in 90 s"; }
        sleep 0.5
    done
    echo "BOOTSTRAP=127.0.0.1:$port"
}

# probe HOST:PORT — metadata request through recctl when it is built, else a TCP connect.
probe() {
    local bin="${RECD_RECCTL:-}"
    if [ -n "$bin" ] && [ -x "$bin" ]; then "$bin" metadata -b "$1" >/dev/null 2>&1; return; fi
    python3 - "$1" <<'PY'
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
try:
    s = socket.create_connection((host, int(port)), timeout=2)
    # MetadataRequest v0 with an empty topic list -> all topics; any well-formed reply means ready.
    body = struct.pack(">hhih", 3, 0, 1, 4) + b"recd" + struct.pack(">i", 0)
    s.sendall(struct.pack(">i", len(body)) + body)
    hdr = s.recv(4)
    sys.exit(0 if len(hdr) == 4 and struct.unpack(">i", hdr)[0] > 4 else 1)
except Exception:
    sys.exit(1)
PY
}

stop() {
    local dir="$1"; [ -f "$dir/broker.pid" ] || return 0
    local pid; pid="$(cat "$dir/broker.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/broker.pid"
}

run() {
    local dir="$1"; shift; [ "${1:-}" = "--" ] && shift
    trap 'stop "$dir"' EXIT INT TERM
    local out; out="$(start "$dir")"
    export RECD_BOOTSTRAP="${out#BOOTSTRAP=}"
    "$@"
}

configs() {
    fetch
    java -Xmx256m -cp "$libs/*" kafka.admin.ConfigCommand "$@"
}

cmd="${1:-}"; shift || true
case "$cmd" in
    fetch) fetch ;;
    start) start "${1:-}" ;;
    stop)  stop "${1:-}" ;;
    run)   run "$@" ;;
    configs) configs "$@" ;;
    *) echo "usage: $0 fetch | start DIR | stop DIR | run DIR -- CMD... | configs ARGS..." >&2; exit 64 ;;
esac
