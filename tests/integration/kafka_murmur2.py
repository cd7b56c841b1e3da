"""kafka_murmur2.py — Kafka's default partitioner for keyed records, written independently of
librdkafka (the script tests import it: kafka_partitioner.sh checks recd against it)."""


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (seed 0x9747b28c), as a signed 32-bit value."""
    m, r, length = 0x5bd1e995, 24, len(data)
    h = (0x9747b28c ^ length) & 0xffffffff
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def partition(key: str, n: int) -> int:
    """The partition Kafka's default partitioner gives a keyed record on an n-partition topic."""
    return (murmur2(key.encode()) & 0x7fffffff) % n
