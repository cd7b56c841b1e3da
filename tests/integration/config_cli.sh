#!/usr/bin/env bash
# config_cli.sh — recd -t, exact config error messages (file:line: key: message, exit 78),
# --dump-config masking, that conf/recd.conf and docs/CONFIGURATION.md are not stale, and
# recctl's --rate pacing.
source "$(dirname "$0")/lib.sh"

conf="$RECD_SOURCE_DIR/conf/recd.conf"
"$RECD_BIN" -t -c "$conf" >/dev/null || fail "recd -t rejects conf/recd.conf"
pass "example config validates"

expect_error() {   # FILE EXPECTED-MESSAGE
    local out rc=0
    out="$("$RECD_BIN" -t -c "$1" 2>&1)" || rc=$?
    [ $rc -eq 78 ] || fail "exit code $rc (want 78) for $1: $out"
    [ "$out" = "$2" ] || fail "message: got '$out', want '$2'"
    pass "$2"
}

cp "$conf" "$T/unknown.conf"
line=$(grep -n '^    max_wait_ms' "$T/unknown.conf" | cut -d: -f1)
sed -i "${line}a\\    frobnicate = 3;" "$T/unknown.conf"
expect_error "$T/unknown.conf" "$T/unknown.conf:$((line + 1)): batch.frobnicate: unknown key"

printf 'batch = {\n  max_records = 0;\n};\n' > "$T/range.conf"
expect_error "$T/range.conf" "$T/range.conf:2: batch.max_records: value 0 out of range [1, 100000]"

printf 'pipeline = { chain = ["popular", "nope"]; };\n' > "$T/chain.conf"
expect_error "$T/chain.conf" "$T/chain.conf:1: pipeline.chain: unknown operator \"nope\" (known: sessionize, embed, sgd, rerank, popular)"

# sgd's tuning string: unknown names and values the model cannot take, at parse time
printf 'operators = {\n  sgd = {\n    tuning = "pair_cap=70000";\n  };\n};\n' > "$T/tuning.conf"
expect_error "$T/tuning.conf" "$T/tuning.conf:3: operators.sgd.tuning: parameters out of range or too large to allocate (sessrec.h: e.g. learn_blend <= 2, caps <= 65535)"
printf 'operators = {\n  sgd = {\n    tuning = "pair_cap=16,w_next2=0.1";\n  };\n};\n' > "$T/tuning-ok.conf"
"$RECD_BIN" -t -c "$T/tuning-ok.conf" >/dev/null || fail "valid tuning rejected"
printf 'operators = {\n  sgd = {\n    tuning = "frob=1";\n  };\n};\n' > "$T/tuning-bad.conf"
expect_error "$T/tuning-bad.conf" "$T/tuning-bad.conf:3: operators.sgd.tuning: bad parameter: frob=1"

printf 'kafka = {\n  properties = {\n    bogus_property = "1";\n  };\n};\n' > "$T/rdk.conf"
out="$("$RECD_BIN" -t -c "$T/rdk.conf" 2>&1)" && fail "unknown librdkafka property accepted"
case "$out" in "$T/rdk.conf:"*"kafka.properties: librdkafka property bogus.property"*) pass "unknown librdkafka property: $out";;
               *) fail "librdkafka property message: $out";; esac

# ---- operator mistakes (docs/RELIABILITY.md "Operator mistakes": the same cases) ----------
mistake() {   # NAME CONFIG-TEXT EXPECTED-MESSAGE-AFTER-"FILE:"
    printf '%s\n' "$2" > "$T/$1.conf"
    expect_error "$T/$1.conf" "$T/$1.conf:$3"
}
# integers beyond 32 bits without the L suffix (libconfig 1.5 wraps them modulo 2^32)
mistake wrap-ts 'input = { max_ts_ms = 4102444800000; };' \
    '1: input.max_ts_ms: 4102444800000 needs the L suffix (4102444800000L): without it libconfig reads 751032320'
mistake wrap-cache 'state = { block_cache_mb = 4294967298; };' \
    '1: state.block_cache_mb: value 4294967298 out of range [1, 1048576]'
mistake wrap-records 'batch = { max_records = 3000000000; };' \
    '1: batch.max_records: value 3000000000 out of range [1, 100000]'
mistake wrap-price 'input = { max_price = 5000000000; };' \
    '1: input.max_price: 5000000000 needs the L suffix (5000000000L): without it libconfig reads 705032704'
mistake ts-order $'input = {\n  min_ts_ms = 1700000000000L;\n  max_ts_ms = 1600000000000L;\n};' \
    '3: input.max_ts_ms: 1600000000000 is not above input.min_ts_ms (1700000000000): every event would be dead-lettered'
mistake dup $'batch = {\n  max_records = 10;\n  max_records = 20;\n};' '3: max_records: duplicate setting name'
# metrics.listen: one parser for recd and recctl status
mistake port-big 'metrics = { listen = "127.0.0.1:99999"; };' \
    '1: metrics.listen: "127.0.0.1:99999": port 99999 out of range [0, 65535]'
mistake port-neg 'metrics = { listen = "127.0.0.1:-5"; };' \
    '1: metrics.listen: "127.0.0.1:-5": port "-5" is not a number in [0, 65535]'
mistake port-abc 'metrics = { listen = "127.0.0.1:abc"; };' \
    '1: metrics.listen: "127.0.0.1:abc": port "abc" is not a number in [0, 65535]'
mistake listen-addr 'metrics = { listen = "not-an-address"; };' \
    '1: metrics.listen: "not-an-address" is not IPV4-ADDRESS:PORT'
mistake listen-host 'metrics = { listen = "localhost:9464"; };' \
    '1: metrics.listen: "localhost:9464": "localhost" is not an IPv4 address'
# topic names and roles
mistake dlq-input $'topics = {\n  dlq = "shop.clicks";\n};' \
    '2: topics.dlq: "shop.clicks" is also topics.clicks: an output topic must not be an input (recd would read back what it writes, forever)'
mistake recs-input 'topics = { recommendations = "shop.clicks"; };' \
    '1: topics.recommendations: "shop.clicks" is also topics.clicks: an output topic must not be an input (recd would read back what it writes, forever)'
mistake inputs-shared 'topics = { clicks = "shop.items"; };' \
    '1: topics.clicks: "shop.items" is also topics.items: every input needs its own topic'
mistake dlq-recs 'topics = { dlq = "out"; recommendations = "out"; };' \
    '1: topics.dlq: "out" is also topics.recommendations: the dead-letter queue and the output must differ'
mistake topic-space 'topics = { clicks = "a b"; };' \
    $'1: topics.clicks: "a b" is not a Kafka topic name (only letters, digits, \'.\', \'_\' and \'-\')'
mistake topic-dots 'topics = { dlq = ".."; };' \
    '1: topics.dlq: ".." is not a Kafka topic name (1 to 249 characters, not "." or "..")'
# the operator chain: the same dependencies a start checks, one publisher
mistake chain-order 'pipeline = { chain = ["rerank", "sgd"]; };' \
    '1: pipeline.chain: operator rerank needs sessionize and sgd before it in pipeline.chain'
mistake chain-sgd 'pipeline = { chain = ["sgd"]; };' \
    '1: pipeline.chain: operator sgd needs sessionize before it in pipeline.chain'
mistake chain-embed 'pipeline = { chain = ["embed", "sessionize", "sgd", "rerank"]; };' \
    '1: pipeline.chain: operator embed needs sessionize before it in pipeline.chain'
mistake chain-silent 'pipeline = { chain = ["sessionize"]; };' \
    '1: pipeline.chain: no operator publishes recommendations: end the chain with rerank (after sessionize and sgd) or popular (or set pipeline.require_output = false)'
mistake chain-two 'pipeline = { chain = ["sessionize", "embed", "sgd", "rerank", "popular"]; };' \
    '1: pipeline.chain: rerank and popular both publish recommendations (the later one would replace every list of the earlier): keep one'
mistake sess-ttl $'operators = {\n  sessionize = { gap_s = 3600.0; session_ttl_s = 600.0; };\n};' \
    '2: operators.sessionize.session_ttl_s: 600 must exceed operators.sessionize.gap_s (3600)'
printf 'pipeline = { chain = ["sessionize", "sgd"]; require_output = false; };\n' > "$T/chain-bench.conf"
"$RECD_BIN" -t -c "$T/chain-bench.conf" >/dev/null || fail "require_output = false does not allow a silent chain"
# librdkafka properties recd sets itself, and acks (exactly-once needs acks=all)
mistake acks 'kafka = { properties = { acks = "0"; }; };' \
    '1: kafka.properties: acks = "0": recd'"'"'s idempotent producer needs acks=all (exactly-once output)'
mistake bootstrap 'kafka = { properties = { bootstrap_servers = "10.0.0.1:9092"; }; };' \
    '1: kafka.properties: bootstrap.servers is set by recd: set kafka.brokers instead'
mistake groupid 'kafka = { properties = { group_id = "other"; }; };' \
    '1: kafka.properties: group.id is set by recd: set kafka.group_id instead'

# what only a start used to find: recd -t runs the same checks (no broker needed)
touch "$T/a-file"
mistake state-file "state = { dir = \"$T/a-file\"; };" \
    "1: state.dir: $T/a-file exists and is not a directory"
mistake state-under-file "state = { dir = \"$T/a-file/state\"; };" \
    "1: state.dir: $T/a-file/state cannot be created: $T/a-file is not a directory"
printf 'input = {\n  writer_click = "%s/no-such.avsc";\n};\n' "$T" > "$T/schema.conf"
expect_error "$T/schema.conf" "$T/schema.conf:2: input.writer_click: schema file $T/no-such.avsc: No such file or directory"
printf 'input = { confluent_ids = [ "7:click:%s/no-such.avsc" ]; };\n' "$T" > "$T/ids.conf"
expect_error "$T/ids.conf" "$T/ids.conf:1: input.confluent_ids: schema file $T/no-such.avsc: No such file or directory"
printf '{"type": "record", "name": "Click", "fields": [' > "$T/broken.avsc"
printf 'input = { writer_query = "%s/broken.avsc"; };\n' "$T" > "$T/broken.conf"
rc=0; out="$("$RECD_BIN" -t -c "$T/broken.conf" 2>&1)" || rc=$?
[ $rc -eq 78 ] || fail "broken writer schema: exit $rc: $out"
case "$out" in "$T/broken.conf:1: input.writer_query: "*"$T/broken.avsc"*) pass "$out";; *) fail "broken writer schema: $out";; esac
printf 'kafka = { properties = { security_protocol = "ssl"; ssl_ca_location = "%s/no-ca.pem"; }; };\n' "$T" > "$T/tls.conf"
rc=0; out="$("$RECD_BIN" -t -c "$T/tls.conf" 2>&1)" || rc=$?
[ $rc -eq 78 ] || fail "missing TLS CA file: exit $rc: $out"
case "$out" in "$T/tls.conf:1: kafka.properties: librdkafka refuses the producer: ssl.ca.location"*) ;;
               *) fail "missing TLS CA file: $out";; esac
pass "$out"
# creating the clients in -t stays quiet even with librdkafka debugging on
printf 'kafka = { properties = { debug = "all"; }; };\n' > "$T/debug.conf"
out="$("$RECD_BIN" -t -c "$T/debug.conf" 2>&1)" || fail "debug = all refused: $out"
[ "$out" = "$T/debug.conf: configuration ok" ] || fail "recd -t with librdkafka debug printed: $(echo "$out" | head -3)"
pass "recd -t creates the Kafka clients quietly"
# ... and a start that fails on configuration exits 78 (not 1: systemd would restart it forever)
start_78() {   # NAME KAFKA-GROUP-BODY METRICS-GROUP-BODY STATE-DIR: exit 78 and the message
    printf 'kafka = { brokers = "127.0.0.1:1"; %s };\nmetrics = { %s };\nstate = { dir = "%s"; };\n' \
        "$2" "$3" "$4" > "$T/$1.start.conf"
    local rc=0
    timeout 20 "$RECD_BIN" -c "$T/$1.start.conf" >"$T/$1.start.log" 2>&1 || rc=$?
    [ $rc -eq 78 ] || fail "start with $1: exit $rc (want 78): $(cat "$T/$1.start.log")"
    grep -q "$5" "$T/$1.start.log" || fail "start with $1: $(cat "$T/$1.start.log")"
    pass "start with $1: exit 78: $(head -1 "$T/$1.start.log")"
}
start_78 listen '' 'listen = "not-an-address";' "$T/s1" 'metrics.listen: "not-an-address" is not IPV4-ADDRESS:PORT'
start_78 acks 'properties = { acks = "0"; };' 'enabled = false;' "$T/s2" 'acks = "0": recd.s idempotent producer needs acks=all'
start_78 state-file '' 'enabled = false;' "$T/a-file" "state.dir: $T/a-file exists and is not a directory"
# a metrics port another process holds: exit 1 (it may be freed: systemd retries) naming the
# address and the cause, not libmicrohttpd's bare "Failed to bind to port"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' \
    > "$T/holder.port" & holder=$!
for _ in $(seq 1 50); do [ -s "$T/holder.port" ] && break; sleep 0.1; done
hport="$(cat "$T/holder.port")"
printf 'kafka = { brokers = "127.0.0.1:1"; };\nmetrics = { listen = "127.0.0.1:%s"; };\nstate = { dir = "%s"; };\n' \
    "$hport" "$T/s-port" > "$T/port.conf"
rc=0; timeout 20 "$RECD_BIN" -c "$T/port.conf" > "$T/port.log" 2>&1 || rc=$?
kill "$holder" 2>/dev/null || true
[ $rc -eq 1 ] || fail "metrics port in use: exit $rc (want 1): $(cat "$T/port.log")"
grep -q "cannot serve metrics on 127.0.0.1:$hport: Address already in use (metrics.listen" "$T/port.log" \
    || fail "metrics port in use: $(tail -3 "$T/port.log")"
grep -q 'Failed to bind' "$T/port.log" && fail "libmicrohttpd's own line reached stderr: $(cat "$T/port.log")"
pass "metrics port in use: exit 1: $(grep 'cannot serve' "$T/port.log")"
# command-line numbers: garbage is a usage error (64), not 0 or "never"
for args in "--exit-idle abc" "--exit-idle 10x" "--demo-events abc" "--demo-events -5"; do
    rc=0; out="$("$RECD_BIN" -c "$conf" $args 2>&1)" || rc=$?
    [ $rc -eq 64 ] || fail "recd $args: exit $rc (want 64): $out"
    case "$out" in "recd: ${args%% *}: expected an integer in ["*", got '${args#* }'") ;;
                   *) fail "recd $args: $out";; esac
done
rc=0; out="$("$RECD_BIN" -t -c "" 2>&1)" || rc=$?
[ $rc -eq 64 ] && [ "$out" = "recd: -c: the configuration file name is empty" ] || fail "recd -c '': rc $rc: $out"
pass "recd --exit-idle/--demo-events garbage and -c '' are usage errors (exit 64)"

printf 'frobnicate = { a = 1; };\n' > "$T/section.conf"
expect_error "$T/section.conf" "$T/section.conf:1: frobnicate: unknown section"

printf 'kafka = {\n  properties = { sasl_password = "hunter2"; sasl_username = "svc"; };\n};\n' > "$T/secret.conf"
"$RECD_BIN" --dump-config -c "$T/secret.conf" > "$T/dump.txt"
grep -q hunter2 "$T/dump.txt" && fail "--dump-config leaks a secret"
grep -q 'sasl_password = "\*\*\*\*\*\*\*\*"' "$T/dump.txt" || fail "--dump-config did not mask sasl.password"
# the masked dump does not load as it is (the mask would become the password) and says why
line=$(grep -n 'sasl_password = ' "$T/dump.txt" | cut -d: -f1)
expect_error "$T/dump.txt" "$T/dump.txt:$line: kafka.properties.sasl_password: \"********\" is the mask --dump-config prints, not the secret: write the real value"
sed -i 's/"\*\*\*\*\*\*\*\*"/"real"/' "$T/dump.txt"
"$RECD_BIN" -t -c "$T/dump.txt" >/dev/null || fail "--dump-config output with the secrets written in does not load back"
"$RECD_BIN" --dump-config > "$T/dump-defaults.txt"
"$RECD_BIN" -t -c "$T/dump-defaults.txt" >/dev/null || fail "--dump-config of the defaults does not load back"
pass "--dump-config masks secrets, refuses its mask as a secret, and loads back"

"$RECD_BIN" --config-example | diff -u "$conf" - >/dev/null \
    || fail "conf/recd.conf is stale: regenerate with: recd --config-example > conf/recd.conf"
"$RECD_BIN" --config-doc | diff -u "$RECD_SOURCE_DIR/docs/CONFIGURATION.md" - >/dev/null \
    || fail "docs/CONFIGURATION.md is stale: regenerate with: recd --config-doc > docs/CONFIGURATION.md"
pass "conf/recd.conf and docs/CONFIGURATION.md match the config tables"

rc=0; "$RECD_BIN" -c /nonexistent.conf 2>"$T/err.txt" || rc=$?
[ $rc -eq 78 ] || fail "missing config file: exit $rc"
pass "missing config file exits 78: $(cat "$T/err.txt")"
# a missing model is a clear startup error (exit 78), never a crash
printf 'kafka = { brokers = "127.0.0.1:1"; };\nstate = { dir = "%s"; };\nmetrics = { enabled = false; };\noperators = { embed = { encoder = "minilm"; model_dir = "%s"; }; };\n' \
    "$T/state-minilm" "$T/no-such-model" > "$T/minilm.conf"
rc=0; "$RECD_BIN" -c "$T/minilm.conf" 2>"$T/minilm.err" || rc=$?
[ $rc -eq 78 ] || fail "missing model: exit $rc: $(cat "$T/minilm.err")"
grep -q "no-such-model" "$T/minilm.err" || fail "missing model message does not name the directory: $(cat "$T/minilm.err")"
pass "missing MiniLM model: exit 78: $(grep -m1 no-such-model "$T/minilm.err")"
# ... which recd -t finds too (it approved it), as it finds a garbage model directory
# (the text after "minilm: " is the model loader's; only the prefix and the path are pinned)
expect_model_error() {   # CONF DIR
    local out rc=0
    out="$("$RECD_BIN" -t -c "$1" 2>&1)" || rc=$?
    [ $rc -eq 78 ] || fail "recd -t with model_dir $2: exit $rc: $out"
    case "$out" in "$1:4: operators.embed.model_dir: minilm: "*"$2"*) pass "$out";;
                   *) fail "recd -t with model_dir $2: $out";; esac
}
expect_model_error "$T/minilm.conf" "$T/no-such-model"
mkdir -p "$T/garbage-model"; echo '{}' > "$T/garbage-model/config.json"; echo junk > "$T/garbage-model/model.safetensors"
sed "s|$T/no-such-model|$T/garbage-model|" "$T/minilm.conf" > "$T/garbage.conf"
expect_model_error "$T/garbage.conf" "$T/garbage-model"
model="${RECD_MODEL_DIR:-${RECD_CACHE:-$HOME/.cache/recd}/models/all-MiniLM-L6-v2}"
if [ -f "$model/model.safetensors" ]; then
    sed "s|$T/no-such-model|$model|" "$T/minilm.conf" > "$T/model-ok.conf"
    "$RECD_BIN" -t -c "$T/model-ok.conf" >/dev/null || fail "recd -t refuses the installed model $model"
    pass "recd -t opens the installed MiniLM model"
else
    echo "note: no MiniLM model installed ($model): the accepting path of recd -t's model check was not run"
fi
# recctl never creates a state store it was asked to read: a mistyped --state is an error and
# leaves nothing behind (it wrote an empty store and "checkpoint written", exit 0)
rc=0; out="$("$RECCTL_BIN" checkpoint "$T/cp-typo" --state "$T/no-such-state" 2>&1)" || rc=$?
[ $rc -ne 0 ] || fail "checkpoint of a missing store succeeded: $out"
[ "$out" = "recctl: no state store in $T/no-such-state: No such file or directory" ] || fail "checkpoint --state TYPO: $out"
[ ! -e "$T/no-such-state" ] && [ ! -e "$T/cp-typo" ] || fail "checkpoint --state TYPO created files"
mkdir "$T/not-a-store"; echo model > "$T/not-a-store/weights.bin"
rc=0; out="$("$RECCTL_BIN" checkpoint "$T/cp-dir" --state "$T/not-a-store" 2>&1)" || rc=$?
[ $rc -ne 0 ] || fail "checkpoint of a directory without a store succeeded: $out"
[ "$out" = "recctl: no state store in $T/not-a-store (no RocksDB CURRENT file)" ] || fail "checkpoint of a non-store: $out"
[ "$(ls "$T/not-a-store")" = weights.bin ] && [ ! -e "$T/cp-dir" ] || fail "checkpoint wrote into a directory without a store"
for verb in digest offsets; do
    rc=0; out="$("$RECCTL_BIN" state $verb --state "$T/no-such-state" 2>&1)" || rc=$?
    [ $rc -ne 0 ] && [ ! -e "$T/no-such-state" ] || fail "recctl state $verb on a missing store: rc $rc: $out"
done
pass "recctl checkpoint / state refuse a missing store and create nothing"
# ... and still checkpoints a real one (recd creates it at start; no broker needed for that)
printf 'kafka = { brokers = "127.0.0.1:1"; };\nstate = { dir = "%s"; };\nmetrics = { enabled = false; };\n' \
    "$T/real-state" > "$T/real.conf"
"$RECD_BIN" -c "$T/real.conf" 2>"$T/real.log" & rp=$!
RECD_PIDS+=("$rp")
for _ in $(seq 1 100); do grep -q "started" "$T/real.log" && break; sleep 0.1; done
kill -TERM "$rp"; wait "$rp" || true
[ -e "$T/real-state/CURRENT" ] || fail "recd did not create its state: $(cat "$T/real.log")"
"$RECCTL_BIN" checkpoint "$T/cp-real" --state "$T/real-state" >/dev/null || fail "checkpoint of a real store failed"
[ -e "$T/cp-real/CURRENT" ] || fail "checkpoint of a real store wrote no store"
pass "recctl checkpoint of an existing store still works"
rc=0; out="$("$RECCTL_BIN" checkpoint "$T/cp-t" --state "$T/real-state" --timeout abc 2>&1)" || rc=$?
[ $rc -eq 64 ] && [ ! -e "$T/cp-t" ] || fail "checkpoint --timeout abc: rc $rc: $out"
pass "recctl checkpoint --timeout abc: exit 64: $out"
# recctl status parses --metrics with recd's metrics.listen parser
for a in 127.0.0.1:99999 127.0.0.1:-5 127.0.0.1:abc not-an-address; do
    rc=0; out="$("$RECCTL_BIN" status --metrics "$a" 2>&1)" || rc=$?
    [ $rc -eq 64 ] || fail "recctl status --metrics $a: rc $rc (want 64): $out"
    case "$out" in "recctl status: --metrics: \"$a\""*) ;; *) fail "recctl status --metrics $a: $out";; esac
done
pass "recctl status refuses bad --metrics addresses (exit 64)"
# recctl's --rate paces (in ~1 ms bursts, not one sleep per record): 3,100 records at 6,000/s
# cannot be done in less than ~0.5 s (no upper bound: a loaded machine may be slower)
t0=$(date +%s%N)
"$RECCTL_BIN" gen --users 50 --items 100 --events 3000 --rate 6000 --jsonl "$T/paced.jsonl" 2>/dev/null \
    || fail "recctl gen --rate failed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(wc -l < "$T/paced.jsonl")" -eq 3100 ] || fail "recctl gen --rate: $(wc -l < "$T/paced.jsonl") records, want 3100"
[ $ms -ge 480 ] || fail "recctl gen --rate 6000: 3100 records in $ms ms (pacing not applied)"
pass "recctl --rate paces: 3100 records at 6000/s in $ms ms"
# the revision recd reports (recd -V, recd_build_info) is the commit built, also after commits
# made since the build directory was configured (it was fixed at configure time)
if git -C "$RECD_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
    want="$(git -C "$RECD_SOURCE_DIR" describe --always)"
    got="$("$RECD_BIN" -V)"
    case "$got" in
        "recd "*" ($want)"|"recd "*" ($want-dirty)") pass "recd -V names the checked-out commit: $got" ;;
        *) fail "recd -V says '$got', the source is at $want" ;;
    esac
fi
# the generator itself: a new commit rewrites the header, an unchanged one leaves it alone
if command -v git >/dev/null && command -v cmake >/dev/null; then
    g="$T/gitrev"; mkdir -p "$g"
    git -C "$g" init -q && git -C "$g" -c user.name=t -c user.email=t@t commit -q --allow-empty -m one
    gen() { cmake -DSRC="$g" -DOUT="$T/rev.h" -P "$RECD_SOURCE_DIR/cmake/git_revision.cmake"; }
    gen; r1="$(cat "$T/rev.h")"; touch -d '2000-01-01' "$T/rev.h"
    gen; [ "$(stat -c %Y "$T/rev.h")" = "$(date -d 2000-01-01 +%s)" ] || fail "git_revision.cmake rewrote an unchanged header"
    git -C "$g" -c user.name=t -c user.email=t@t commit -q --allow-empty -m two
    gen; r2="$(cat "$T/rev.h")"
    [ "$r1" != "$r2" ] && grep -q "\"$(git -C "$g" describe --always)\"" "$T/rev.h" \
        || fail "git_revision.cmake did not follow the new commit: $r2"
    pass "the revision header follows commits and is left alone when unchanged"
fi
echo "config_cli: all passed"
