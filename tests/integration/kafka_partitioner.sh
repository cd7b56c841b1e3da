#!/usr/bin/env bash
# kafka_partitioner.sh — recd and recctl place keyed records with Kafka's default partitioner
# (murmur2, as the Java client does), so a user's events and lists land on the partition any
# other Kafka client would choose for that key: on 4-partition topics, every click recctl
# replayed and every list recd published is on partition murmur2(key) mod 4 (computed here
# independently, in Python). librdkafka's own default (CRC32) disagrees for most keys; records
# a producer placed with it are counted by recd (recd_records_wrong_partition_total).
source "$(dirname "$0")/lib.sh"
N=2000
start_broker 4   # every topic with 4 partitions
"$RECCTL_BIN" replay "$RECD_DATA/diginetica-srgnn" -b "$B" --phase train --limit $N \
    > "$T/replay.log" 2>&1 || fail "replay failed: $(cat "$T/replay.log")"
write_conf "$T/recd.conf" "$T/state"
run_recd "$T/recd.conf" "$T/recd.log" --exit-idle 3000 || fail "recd failed"
tail_json click "$T/clicks.json"
tail_json recommendations "$T/recs.json"
python3 - "$T/clicks.json" "$T/recs.json" $N <<'PY'
import json, os, sys

sys.path.insert(0, os.environ["RECD_SOURCE_DIR"] + "/tests/integration")
from kafka_murmur2 import murmur2  # noqa: E402

def want(key):
    return (murmur2(key.encode()) & 0x7fffffff) % 4

# Kafka's own test vectors (clients' UtilsTest.testMurmur2), as signed 32-bit values
for s, v in ((b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536),
             (b"a-little-bit-longer-string", -1486304829), (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
             (b"abc", 479470107)):
    got = murmur2(s)
    assert (got - (1 << 32) if got & 0x80000000 else got) == v, (s, got, v)

for name, path, expect_n in (("clicks", sys.argv[1], int(sys.argv[3])), ("lists", sys.argv[2], None)):
    recs = [json.loads(l) for l in open(path) if l.strip()]
    keyed = [r for r in recs if r.get("key")]
    bad = [r for r in keyed if r["partition"] != want(r["key"])]
    parts = sorted({r["partition"] for r in keyed})
    assert keyed and (expect_n is None or len(keyed) == expect_n), (name, len(keyed))
    assert len(parts) == 4, f"{name}: only partitions {parts} used"
    assert not bad, f"{len(bad)} of {len(keyed)} {name} off their murmur2 partition, e.g. {bad[0]['key']!r} on {bad[0]['partition']}, want {want(bad[0]['key'])}"
    print(f"ok: {len(keyed)} {name} on partition murmur2(key) mod 4 (partitions {parts})")
PY
grep -q 'stopping: .* 0 on a partition their key does not hash to' "$T/recd.log" ||
    fail "recd counted murmur2-placed records as misplaced: $(grep stopping "$T/recd.log")"

# A producer with another partitioner (librdkafka's CRC32 "consistent"): recd counts every
# record that is not on murmur2(key) mod 4 (recd_records_wrong_partition_total, a warning)
python3 - "$T/crc.jsonl" "$T/crc.expect" <<'PY'
import json, os, sys, zlib
sys.path.insert(0, os.environ["RECD_SOURCE_DIR"] + "/tests/integration")
from kafka_murmur2 import murmur2  # noqa: E402
wrong = 0
with open(sys.argv[1], "w") as f:
    for i in range(300):
        u = f"crc-user-{i}"
        f.write(json.dumps({"event_id": f"crc{i}", "user_id": u, "item_id": "214829878",
                            "ts": 1459468800000 + i, "kind": "VIEW"}) + "\n")
        wrong += zlib.crc32(u.encode()) % 4 != (murmur2(u.encode()) & 0x7fffffff) % 4
open(sys.argv[2], "w").write(str(wrong))
PY
"$RECCTL_BIN" -b "$B" -X partitioner=consistent produce --kind click "$T/crc.jsonl" >/dev/null
: > "$T/recd2.log"
run_recd "$T/recd.conf" "$T/recd2.log" --exit-idle 3000 || fail "recd (second run) failed"
expect="$(cat "$T/crc.expect")"
[ "$expect" -gt 100 ] || fail "only $expect of 300 keys disagree between CRC32 and murmur2"
grep -q "stopping: .* $expect on a partition their key does not hash to" "$T/recd2.log" ||
    fail "expected $expect misplaced records: $(grep stopping "$T/recd2.log")"
grep -q 'its key hashes to partition' "$T/recd2.log" || fail "no warning for misplaced records"
pass "$expect of 300 CRC32-placed clicks counted as misplaced, with a warning"
echo "kafka_partitioner: all passed"
