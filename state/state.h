/*
 * state.h — recd's state store: RocksDB with one column family per kind of state, typed
 * keys, and atomic commit of a micro-batch's state changes together with the input offsets
 * it consumed.
 *
 * Rules (docs/ARCHITECTURE.md "State"):
 *   - operators never build raw RocksDB keys: they use the key helpers below, which lay out
 *     per-user keys as  <user_id> 0x00 <sub>  and per-item keys as  <item_id> 0x00 <sub>, so a
 *     user's whole state is one key range (forgetting a user is a DeleteRange);
 *   - all writes of a batch go into one struct recd_txn together with recd_txn_set_offset()
 *     for every consumed topic-partition, and are applied by one atomic RocksDB write;
 *   - reads see committed state only; an operator keeps its own in-batch view (see
 *     operators/opkit.h) and writes its dirty entries at checkpoint.
 *
 * Ownership: recd_state_open returns a handle the caller closes with recd_state_close; a
 * struct recd_txn belongs to its creator and is freed by recd_txn_destroy (commit does not
 * free it). Buffers filled by getters are the caller's (struct recd_buf).
 */
#ifndef RECD_STATE_H
#define RECD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum recd_cf {
    RECD_CF_META = 0,   /* input offsets, schema/model versions, format version */
    RECD_CF_USERS,      /* long-term user profile, per-user seq, the last published list's
                           item digest (RECD_SUB_LAST_LIST) */
    RECD_CF_SESSIONS,   /* short-term session context (expires by event time) */
    RECD_CF_ITEMS,      /* catalogue: item records and per-item statistics */
    RECD_CF_MODEL,      /* model parameters and shared statistics */
    RECD_CF_OUTPUTS,    /* last published list per user: derived output, depends on batch
                           boundaries, so excluded from the state digest */
    RECD_CF__N
};
const char *recd_cf_name(int cf);

struct recd_state_conf {
    const char *dir;               /* created when missing */
    int64_t block_cache_bytes;
    int64_t write_buffer_bytes;
    const char *compression;       /* "none", "lz4", "zstd", "snappy" */
    int sync_commit;               /* fsync the WAL on every commit */
    int64_t max_wal_bytes;         /* > 0: bound of the write-ahead log (flushes past it) */
    int read_only;                 /* open without the lock (recctl); never creates */
    int must_exist;                /* writable, but only an existing store: fail with
                                      RECD_ENOENT instead of creating one (recctl checkpoint) */
    int64_t min_free_bytes;        /* > 0: open and commits fail (nothing written) while
                                      the state filesystem has less space free than this */
};

struct recd_state;
struct recd_txn;

/* Open (and create) the store. A store held by another process fails with RECD_ELOCKED and
 * errstr "state directory DIR is in use by another process (pid N)". With read_only or
 * must_exist nothing is created: a directory that holds no store fails with RECD_ENOENT and
 * "no state store in DIR: ..." before anything is written into it. A state directory that
 * cannot be created (a file in the way, no permission) fails with RECD_ECONFIG. */
int recd_state_open(const struct recd_state_conf *conf, struct recd_state **out, char *errstr,
                    size_t errlen);
/* Flush every column family's memtable and rewrite all its files (the last level too), so
 * that deleted and overwritten bytes leave the files (and the flushed WAL files are deleted).
 * A writable store only (recctl state compact, with recd stopped). */
int recd_state_compact(struct recd_state *st, char *errstr, size_t errlen);
void recd_state_close(struct recd_state *st);

/* Point lookups (recd_state_get) of column family cf since the open. */
uint64_t recd_state_gets(const struct recd_state *st, int cf);

/* Point read of committed state. RECD_OK (val replaced), RECD_ENOENT, or RECD_ESTATE. */
int recd_state_get(struct recd_state *st, int cf, const void *key, size_t klen,
                   struct recd_buf *val);

/* Input offset to resume from for topic/partition: the next offset to consume.
 * RECD_ENOENT when nothing was ever committed for it. */
int recd_state_get_offset(struct recd_state *st, const char *topic, int32_t partition,
                          int64_t *next_offset);

/* ---- transactions (one per micro-batch) ---- */
int recd_txn_new(struct recd_state *st, struct recd_txn **out);
void recd_txn_destroy(struct recd_txn *t);
void recd_txn_clear(struct recd_txn *t);
int recd_txn_put(struct recd_txn *t, int cf, const void *key, size_t klen, const void *val,
                 size_t vlen);
int recd_txn_del(struct recd_txn *t, int cf, const void *key, size_t klen);
/* Delete every key starting with prefix in cf. */
int recd_txn_del_prefix(struct recd_txn *t, int cf, const void *prefix, size_t plen);
/* Delete every key of cf in [from, to) (a range tombstone; the data goes at compaction). */
int recd_txn_del_range(struct recd_txn *t, int cf, const void *from, size_t flen, const void *to,
                       size_t tlen);
int recd_txn_set_offset(struct recd_txn *t, const char *topic, int32_t partition,
                        int64_t next_offset);
size_t recd_txn_count(const struct recd_txn *t);
/* Apply atomically. On failure nothing was applied (RECD_ESTATE / RECD_EIO, errstr set).
 * With min_free_bytes set, a commit while the filesystem has less free space fails with
 * RECD_EIO before anything is written: RocksDB is never driven into ENOSPC by recd itself
 * (the system's librocksdb 7.8 asserts, i.e. aborts, when it has to log twice to a LOG file
 * whose first write failed). */
int recd_txn_commit(struct recd_txn *t, char *errstr, size_t errlen);

/* ---- iteration (startup loads, digest, tools) ---- */
struct recd_state_iter;
/* Iterate keys of cf starting with prefix (plen 0: all) in key order. */
int recd_state_iter_new(struct recd_state *st, int cf, const void *prefix, size_t plen,
                        struct recd_state_iter **out);
/* Iterate keys of cf in [from, to) that start with prefix (from must start with it); RocksDB
 * stops at `to` (iterate_upper_bound), so a range ahead of deleted entries costs nothing for
 * them. RECD_EINVAL on a bad range. A range iterator counts the delete tombstones RocksDB
 * steps over for it (recd_state_iter_skipped): use it on the thread that created it. */
int recd_state_iter_range(struct recd_state *st, int cf, const void *prefix, size_t plen,
                          const void *from, size_t flen, const void *to, size_t tlen,
                          struct recd_state_iter **out);
/* 1 and key/val (valid until the next call) while there are entries, 0 at the end. */
int recd_state_iter_next(struct recd_state_iter *it, const void **key, size_t *klen,
                         const void **val, size_t *vlen);
void recd_state_iter_destroy(struct recd_state_iter *it);
/* Delete tombstones RocksDB stepped over so far for a range iterator (0 for the others): what
 * a sweep that deletes what it visits pays for seeking into its own past (RocksDB's perf
 * context, counting on the creating thread while the iterator lives). */
uint64_t recd_state_iter_skipped(const struct recd_state_iter *it);

/* ---- keys ---- */
/* <id> 0x00 <sub>  into out (replaced). */
int recd_key_sub(struct recd_buf *out, const char *id, const char *sub);
/* USERS <user>\0ll: a digest of the user's last published list — its seq, then one hash per
 * item (daemon/pipeline.c) — which the online quality reads instead of decoding the list from
 * OUTPUTS. Derived from the list as OUTPUTS is, so it depends on batch boundaries too and the
 * state digest leaves it out. */
#define RECD_SUB_LAST_LIST "ll"

/* ---- values ---- */
/* Zero-packing of fixed-layout records (structs whose arrays are mostly unused slots): the
 * n bytes are taken as 8-byte words (the last one possibly shorter); out gets n (uint32,
 * little endian), a bitmap of the non-zero words (bit i of byte i/8, (words + 7) / 8 bytes)
 * and those words in order. Deterministic (the same bytes give the same packing). Appends to
 * out: RECD_OK, RECD_EINVAL (n > 4 GiB) or RECD_ENOMEM. */
int recd_zpack(const void *src, size_t n, struct recd_buf *out);
/* The inverse into dst (n bytes, the unpacked size): RECD_OK, or RECD_EDECODE (dst untouched)
 * when the packing is of another size or slen is not exactly what its bitmap announces. */
int recd_zunpack(const void *src, size_t slen, void *dst, size_t n);

/* ---- tools ---- */
/* Stable digest (hex, 32 chars + NUL) of all state in every column family except OUTPUTS:
 * keys and values in key order, column families in enum order. */
int recd_state_digest(struct recd_state *st, char out[33], char *errstr, size_t errlen);
/* The same with flags: RECD_DIGEST_NO_OFFSETS leaves out the input offsets (META keys
 * "off" 0x00 ...), so that two stores that applied the same events read from different
 * topics or at different offsets (e.g. with and without interleaved dead-lettered records)
 * compare equal. recd_state_digest(st, ...) == recd_state_digest_ex(st, 0, ...). */
#define RECD_DIGEST_NO_OFFSETS 1u
int recd_state_digest_ex(struct recd_state *st, unsigned flags, char out[33], char *errstr,
                         size_t errlen);
/* Call fn for every stored input offset (topic, partition, next offset to consume), in key
 * order; stops early when fn returns non-zero. Returns RECD_OK or RECD_ENOMEM. */
int recd_state_offsets(struct recd_state *st,
                       int (*fn)(void *arg, const char *topic, int32_t partition, int64_t next),
                       void *arg);
/* RocksDB checkpoint into dir (must not exist). */
/* Blobs: immutable files an operator keeps beside the store, in <dir>/blobs, referenced from
 * its keys (the sgd model snapshot). The path of blob `name` (NULL: the directory); the
 * directory created (writable stores). A checkpoint hard-links (or copies) every blob;
 * files named *.tmp are being written and are left out. */
int recd_state_blob_path(const struct recd_state *st, const char *name, char *out, size_t len);
int recd_state_blob_dir_make(const struct recd_state *st, char *errstr, size_t errlen);
int recd_state_checkpoint(struct recd_state *st, const char *dir, char *errstr, size_t errlen);
/* recctl checkpoint of a running recd: recd writes the checkpoint into
 * <dir>/RECD_CHECKPOINT_STAGING.<recctl's pid> (inside the directory it may write under its
 * unit's sandbox; hard links), recctl moves or copies it to its destination and removes it.
 * recd removes any left behind (an interrupted recctl) at start: it holds user data. */
#define RECD_CHECKPOINT_STAGING "checkpoint.staging"
/* Approximate bytes on disk (SST + WAL). */
int64_t recd_state_size_bytes(struct recd_state *st);

#endif
