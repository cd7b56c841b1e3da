/*
 * state.c — recd's state store over RocksDB (see state.h for the contract).
 *
 * Layout: one column family per enum recd_cf (names in cf_names[]). Input offsets live in
 * META under "off" 0x00 <topic> 0x00 <partition:be32> -> <next offset:be64>.
 * A lock file (recd.lock, flock + our pid) keeps a second recd off the directory with a clear
 * message; RocksDB's own LOCK would refuse too, but with a less helpful error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rocksdb/c.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "recd.h"
#include "state.h"

static const char *const cf_names[RECD_CF__N] = { "meta",  "users", "sessions",
                                                  "items", "model", "outputs" };

struct recd_state {
    rocksdb_t *db;
    rocksdb_options_t *opts;       /* the DB's and most column families' options */
    rocksdb_options_t *uopts;      /* the per-user column families' (hashed memtable) */
    rocksdb_block_based_table_options_t *topts;
    rocksdb_cache_t *cache;
    rocksdb_env_t *env;            /* the default env (process-wide thread pools) */
    rocksdb_column_family_handle_t *cf[RECD_CF__N + 1];   /* +1: "default" */
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    char *dir;
    int lock_fd;
    int read_only;
    int64_t min_free_bytes;
    uint64_t gets[RECD_CF__N];     /* point lookups since the open, by column family */
};

/* A batch's writes are buffered and handed to RocksDB at commit sorted by (column family,
 * key): each column family's memtable is a skip list that inserts a key next to the previous
 * insert cheaply (it keeps the search path, the "splice"), and random-order inserts of a
 * batch's ~700 keys spent ~10% of recd's time re-searching it (bench/throughput, perf). The
 * sort is stable (a key written twice keeps its last value) and never moves a write across a
 * range deletion (segments between range deletions are sorted separately). */
enum { TXN_PUT, TXN_DEL, TXN_DEL_RANGE };

struct txn_op {
    uint32_t seg;        /* range deletions start a new segment */
    uint32_t idx;        /* order of the call, the last sort key (stability) */
    uint8_t type, cf;
    size_t koff, klen;   /* in recd_txn.data */
    size_t voff, vlen;   /* value, or the range's end key */
};

struct recd_txn {
    struct recd_state *st;      /* borrowed */
    rocksdb_writebatch_t *wb;   /* owned; built at commit */
    struct recd_buf key;        /* scratch */
    struct recd_buf data;       /* owned: keys and values of ops */
    struct txn_op *ops;         /* owned */
    size_t n_ops, cap_ops;
    uint32_t seg;
};

struct recd_state_iter {
    rocksdb_iterator_t *it;
    char *prefix;                  /* owned; entries must start with it */
    size_t plen;
    char *upper;                   /* owned; exclusive upper bound (range iterators), or NULL */
    rocksdb_readoptions_t *ropts;  /* owned when upper is set (it holds the bound) */
    rocksdb_perfcontext_t *perf;   /* owned (range iterators): this thread's perf counters */
    int started;
};

const char *recd_cf_name(int cf)
{
    return (cf >= 0 && cf < RECD_CF__N) ? cf_names[cf] : "?";
}

/* 0, or -1 with errno */
static int copy_file(const char *src, const char *dst)
{
    char buf[1 << 16];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    ssize_t n;

    if (in < 0) {
        return -1;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            goto done;
        }
    }
    rc = out >= 0 && n == 0 && fsync(out) == 0 ? 0 : -1;
done:
    if (out >= 0) {
        close(out);
    }
    close(in);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0750) == -1 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0750) == -1 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int take_lock(struct recd_state *st, char *errstr, size_t errlen)
{
    char path[4096], pidbuf[32];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/recd.lock", st->dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1) {
        return recd_seterr(errstr, errlen, RECD_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        int e = errno;

        n = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);
        pidbuf[n > 0 ? n : 0] = '\0';
        pidbuf[strcspn(pidbuf, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK) {
            return recd_seterr(errstr, errlen, RECD_ELOCKED,
                               "state directory %s is in use by another process (pid %s)", st->dir,
                               pidbuf[0] ? pidbuf : "unknown");
        }
        return recd_seterr(errstr, errlen, RECD_EIO, "cannot lock %s: %s", path, strerror(e));
    }
    n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == -1 || pwrite(fd, pidbuf, (size_t)n, 0) != n) {
        close(fd);
        return recd_seterr(errstr, errlen, RECD_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    st->lock_fd = fd;
    return RECD_OK;
}

/* min_free_bytes: RocksDB must never be driven into ENOSPC (see recd_txn_commit in state.h). */
static int check_free(const struct recd_state *st, const char *what, char *errstr, size_t errlen)
{
    struct statvfs fs;
    int64_t avail;

    if (st->min_free_bytes <= 0 || statvfs(st->dir, &fs) != 0) {
        return RECD_OK;
    }
    avail = (int64_t)fs.f_bavail * (int64_t)fs.f_frsize;
    if (avail >= st->min_free_bytes) {
        return RECD_OK;
    }
    return recd_seterr(errstr, errlen, RECD_EIO,
                       "%s: no space left for state in %s: %lld MiB free, fewer than the %lld "
                       "MiB kept free for RocksDB",
                       what, st->dir, (long long)(avail >> 20),
                       (long long)(st->min_free_bytes >> 20));
}

static int compression_of(const char *name)
{
    if (name == NULL || strcmp(name, "lz4") == 0) {
        return rocksdb_lz4_compression;
    }
    if (strcmp(name, "none") == 0) {
        return rocksdb_no_compression;
    }
    if (strcmp(name, "zstd") == 0) {
        return rocksdb_zstd_compression;
    }
    if (strcmp(name, "snappy") == 0) {
        return rocksdb_snappy_compression;
    }
    return -1;
}

/* The per-user column families' prefix: the user id with its terminating NUL (keys are
 * recd_key_sub's "<user>\0<sub>"); a key without a NUL is its own prefix. Point lookups use
 * it to find the memtable bucket (filters check whole keys); an iterator over one user's keys
 * reads that bucket only (prefix mode, recd_state_iter_new); every other iterator reads in
 * total order, for which RocksDB first copies and sorts the memtables' entries — fine for
 * the tools (digest, state show of a key range) and flushes, never done per batch. The SST
 * filters of these column families hold the prefixes too (~30-50% more filter bytes). The
 * transform returns a pointer into the key (RocksDB copies nothing). */
static char *user_prefix(void *state, const char *key, size_t len, size_t *plen)
{
    const char *z = memchr(key, '\0', len);

    (void)state;
    *plen = z != NULL ? (size_t)(z - key) + 1 : len;
    return (char *)key;
}

static unsigned char user_prefix_in_domain(void *state, const char *key, size_t len)
{
    (void)state;
    (void)key;
    (void)len;
    return 1;
}

static unsigned char user_prefix_in_range(void *state, const char *key, size_t len)
{
    (void)state;
    (void)key;
    (void)len;
    return 0;   /* unused by RocksDB (deprecated) */
}

static const char *user_prefix_name(void *state)
{
    (void)state;
    return "recd.user_prefix";
}

static void user_prefix_free(void *state)
{
    (void)state;   /* stateless; RocksDB calls this when the last options holding it go */
}

/* Refuse a store that does not exist yet (read-only or must_exist): never create a store that
 * was asked to be read — a mistyped path must not become a fresh empty store (and an "empty"
 * checkpoint). */
static int check_store_exists(const struct recd_state *st, char *errstr, size_t errlen)
{
    struct stat sb;
    char cur[4096];

    if (stat(st->dir, &sb) != 0) {
        return recd_seterr(errstr, errlen, RECD_ENOENT, "no state store in %s: %s", st->dir,
                           strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) {
        return recd_seterr(errstr, errlen, RECD_ENOENT, "no state store in %s: not a directory",
                           st->dir);
    }
    snprintf(cur, sizeof(cur), "%s/CURRENT", st->dir);
    if (stat(cur, &sb) != 0) {
        return recd_seterr(errstr, errlen, RECD_ENOENT,
                           "no state store in %s (no RocksDB CURRENT file)", st->dir);
    }
    return RECD_OK;
}

/* For writing: create the directory (unless it must exist), take the lock, check the free
 * space. */
static int prepare_for_writing(struct recd_state *st, const struct recd_state_conf *conf,
                               char *errstr, size_t errlen)
{
    int rc;

    if (!conf->must_exist && mkdir_p(st->dir) == -1) {
        /* a path that cannot be a directory is the configuration's fault; a full or
         * failing disk is not */
        int e = errno;

        return recd_seterr(errstr, errlen,
                           e == ENOSPC || e == EIO || e == ENOMEM ? RECD_EIO : RECD_ECONFIG,
                           "cannot create state directory %s: %s", st->dir, strerror(e));
    }
    rc = take_lock(st, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    return check_free(st, "cannot open state", errstr, errlen);
}

/* The DB's options (shared by most column families): creation, compression, background work. */
static void make_db_options(struct recd_state *st, const struct recd_state_conf *conf, int comp)
{
    st->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(st->opts, !conf->read_only && !conf->must_exist);
    rocksdb_options_set_create_missing_column_families(st->opts, !conf->read_only);
    rocksdb_options_set_compression(st->opts, comp);
    if (conf->write_buffer_bytes > 0) {
        rocksdb_options_set_write_buffer_size(st->opts, (size_t)conf->write_buffer_bytes);
    }
    /* The WAL is replayed at an open after a crash: bounding it bounds that start's time
     * (RocksDB flushes the column families that pin the oldest log files past the bound). */
    if (conf->max_wal_bytes > 0) {
        rocksdb_options_set_max_total_wal_size(st->opts, (uint64_t)conf->max_wal_bytes);
    }
    rocksdb_options_set_max_background_jobs(st->opts, 2);
    /* Flushes and compactions run at the lowest CPU priority (nice 19): recd is usually given
     * one core, which they share with the batch loop. A flush of a full memtable took ~200 ms
     * of that core at normal priority, slowing the batches under it to 30 ms instead of 12;
     * at half the maximum rate that was the whole event->publish latency tail (bench/throughput).
     * At nice 19 they take the loop's idle time; with two memtables per column family a
     * flush has a whole memtable's worth of writes (seconds) to finish before writes stall. */
    /* Flushed and compacted files are written back 1 MiB at a time as they are written
     * (sync_file_range), not all at once by their final fsync: a 60 MB flush synced in one go
     * stalled every writer of the filesystem — the broker's log appends among them — for
     * 100-300 ms (vmstat bo bursts matching gaps in the input, bench/throughput latency). */
    rocksdb_options_set_bytes_per_sync(st->opts, 1u << 20);
    rocksdb_options_set_wal_bytes_per_sync(st->opts, 1u << 20);
    st->env = rocksdb_create_default_env();
    rocksdb_env_lower_thread_pool_cpu_priority(st->env);
    rocksdb_env_lower_high_priority_thread_pool_cpu_priority(st->env);
    rocksdb_options_set_env(st->opts, st->env);
    /* A bloom filter over the memtable's whole keys: a batch looks up the state of every
     * user it touches, and a new user's keys are in no memtable (without the filter each
     * miss searched the skip list to the bottom). */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(st->opts, 0.02);
    rocksdb_options_set_memtable_whole_key_filtering(st->opts, 1);
    rocksdb_options_set_keep_log_file_num(st->opts, 3);
}

/* The block-based table options: block cache, partitioned index and bloom filters. */
static void make_table_options(struct recd_state *st, const struct recd_state_conf *conf)
{
    st->topts = rocksdb_block_based_options_create();
    st->cache = rocksdb_cache_create_lru(
        conf->block_cache_bytes > 0 ? (size_t)conf->block_cache_bytes : 8u << 20);
    rocksdb_block_based_options_set_block_cache(st->topts, st->cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(st->topts, 1);
    /* Partitioned index and filters: a full filter of a large SST (1 MiB per million keys) is
     * bigger than a shard of a small block cache, so it was read and checksummed from the
     * file on every point lookup — state lookups slowed down ~20x as the store grew past the
     * cache. Partitions are cached like data blocks; the top levels stay pinned. Rejected:
     * one index and filter per SST held by its table reader outside the cache — a lookup
     * needs no cache lookup for them (one user's four keys 8.4 instead of 12.9 us), but
     * memory then grows with the stored keys, 9 B per user and 2-3x that while compactions
     * replace files (fault_flood, 5 M users: peak RSS 368 MiB instead of 222; BENCHMARKS.md). */
    rocksdb_block_based_options_set_index_type(
        st->topts, rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_partition_filters(st->topts, 1);
    rocksdb_block_based_options_set_metadata_block_size(st->topts, 4096);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(st->topts, 1);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(st->topts, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(st->topts, 1);
    rocksdb_block_based_options_set_filter_policy(st->topts, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_options_set_block_based_table_factory(st->opts, st->topts);
}

/* The column families keyed by user first (<user>\0...): users, sessions and outputs (whose
 * outbox keys, \0ob..., share the empty user's bucket). */
static int per_user_cf(int cf)
{
    return cf == RECD_CF_USERS || cf == RECD_CF_SESSIONS || cf == RECD_CF_OUTPUTS;
}

/* The per-user column families' options: a copy of the DB's with a memtable hashed by user. */
static void make_user_cf_options(struct recd_state *st, const struct recd_state_conf *conf)
{
    /* One writer (the batch loop) commits: nothing is inserted concurrently, and the hashed
     * memtable below does not support it. */
    rocksdb_options_set_allow_concurrent_memtable_write(st->opts, 0);
    /* The per-user column families (users, sessions, outputs) get a memtable hashed by user:
     * a batch writes a few keys for each of its ~100 users, at random places of the key space, and
     * each insert into the default skip list (~300k entries) searched ~18 levels of it —
     * a hash of the user's prefix to a small per-user list instead took the commit from
     * 2.4 to 2.0-2.1 us per click (bench/throughput, rerank off). One bucket per 256 bytes
     * of write buffer: about one per key a full memtable can hold. What readers see is
     * unchanged (see user_prefix). */
    st->uopts = rocksdb_options_create_copy(st->opts);
    {
        int64_t wb = conf->write_buffer_bytes > 0 ? conf->write_buffer_bytes : 64 << 20;

        rocksdb_options_set_prefix_extractor(
            st->uopts,
            rocksdb_slicetransform_create(NULL, user_prefix_free, user_prefix,
                                          user_prefix_in_domain, user_prefix_in_range,
                                          user_prefix_name));
        rocksdb_options_set_hash_skip_list_rep(st->uopts,
                                               (size_t)(wb / 256 > 4096 ? wb / 256 : 4096), 4, 4);
    }
}

/* Open the DB with "default" and every recd column family. */
static int open_db(struct recd_state *st, const struct recd_state_conf *conf, char *errstr,
                   size_t errlen)
{
    const char *names[RECD_CF__N + 1];
    const rocksdb_options_t *cfopts[RECD_CF__N + 1];
    char *err = NULL;
    int rc, i;

    names[0] = "default";
    cfopts[0] = st->opts;
    for (i = 0; i < RECD_CF__N; i++) {
        names[i + 1] = cf_names[i];
        cfopts[i + 1] = per_user_cf(i) ? st->uopts : st->opts;
    }
    if (conf->read_only) {
        st->db = rocksdb_open_for_read_only_column_families(st->opts, st->dir, RECD_CF__N + 1,
                                                            names, cfopts, st->cf, 0, &err);
    } else {
        st->db = rocksdb_open_column_families(st->opts, st->dir, RECD_CF__N + 1, names, cfopts,
                                              st->cf, &err);
    }
    if (st->db == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ESTATE, "cannot open state in %s: %s", st->dir,
                         err ? err : "unknown error");
        rocksdb_free(err);
        return rc;
    }
    return RECD_OK;
}

/* The read and write options every lookup and commit uses. */
static void make_rw_options(struct recd_state *st, const struct recd_state_conf *conf)
{
    st->ropts = rocksdb_readoptions_create();
    /* iterators in key order across users (the per-user column families have a prefix
     * extractor; without this a seek would stay within the sought key's prefix) */
    rocksdb_readoptions_set_total_order_seek(st->ropts, 1);
    st->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(st->wopts, conf->sync_commit ? 1 : 0);
}

int recd_state_open(const struct recd_state_conf *conf, struct recd_state **out, char *errstr,
                    size_t errlen)
{
    struct recd_state *st;
    int rc, comp;

    *out = NULL;
    comp = compression_of(conf->compression);
    if (comp < 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "unknown compression \"%s\"",
                           conf->compression);
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    st->lock_fd = -1;
    st->read_only = conf->read_only;
    st->min_free_bytes = conf->min_free_bytes;
    st->dir = recd_strdup(conf->dir);
    if (st->dir == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto fail;
    }
    if (conf->read_only || conf->must_exist) {
        rc = check_store_exists(st, errstr, errlen);
        if (rc != RECD_OK) {
            goto fail;
        }
    }
    if (!conf->read_only) {
        rc = prepare_for_writing(st, conf, errstr, errlen);
        if (rc != RECD_OK) {
            goto fail;
        }
    }
    make_db_options(st, conf, comp);
    make_table_options(st, conf);
    make_user_cf_options(st, conf);
    rc = open_db(st, conf, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    make_rw_options(st, conf);
    *out = st;
    return RECD_OK;

fail:
    recd_state_close(st);
    return rc;
}

int recd_state_compact(struct recd_state *st, char *errstr, size_t errlen)
{
    rocksdb_flushoptions_t *fo;
    rocksdb_compactoptions_t *co;
    char *err = NULL;
    int rc = RECD_OK;

    if (st->read_only) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "compaction needs a writable store");
    }
    fo = rocksdb_flushoptions_create();
    co = rocksdb_compactoptions_create();
    if (fo == NULL || co == NULL) {
        rocksdb_flushoptions_destroy(fo);
        rocksdb_compactoptions_destroy(co);
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    rocksdb_flushoptions_set_wait(fo, 1);
    /* rewrite the last level too: range tombstones and overwritten values are dropped only
     * when the files holding them are rewritten */
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 1);
    for (int cf = 0; cf <= RECD_CF__N && rc == RECD_OK; cf++) {
        rocksdb_flush_cf(st->db, fo, st->cf[cf], &err);
        if (err == NULL) {
            rocksdb_compact_range_cf_opt(st->db, st->cf[cf], co, NULL, 0, NULL, 0);
        }
        if (err != NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ESTATE, "compaction failed: %s", err);
            rocksdb_free(err);
        }
    }
    rocksdb_flushoptions_destroy(fo);
    rocksdb_compactoptions_destroy(co);
    return rc;
}

void recd_state_close(struct recd_state *st)
{
    int i;

    if (st == NULL) {
        return;
    }
    if (st->db != NULL && !st->read_only) {
        /* flush the memtables: otherwise the next open replays the whole write-ahead log
         * (hundreds of MB after a long run: most of a start's time) */
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();

        if (fo != NULL) {
            rocksdb_flushoptions_set_wait(fo, 1);
            for (i = 0; i < RECD_CF__N + 1; i++) {
                char *err = NULL;

                if (st->cf[i] != NULL) {
                    rocksdb_flush_cf(st->db, fo, st->cf[i], &err);
                    rocksdb_free(err); /* a failed flush leaves the log: the next open replays it */
                }
            }
            rocksdb_flushoptions_destroy(fo);
        }
    }
    if (st->db != NULL) {
        for (i = 0; i < RECD_CF__N + 1; i++) {
            if (st->cf[i] != NULL) {
                rocksdb_column_family_handle_destroy(st->cf[i]);
            }
        }
        rocksdb_close(st->db);
    }
    if (st->ropts) {
        rocksdb_readoptions_destroy(st->ropts);
    }
    if (st->wopts) {
        rocksdb_writeoptions_destroy(st->wopts);
    }
    if (st->opts) {
        rocksdb_options_destroy(st->opts);
    }
    if (st->uopts) {
        rocksdb_options_destroy(st->uopts);
    }
    if (st->topts) {
        rocksdb_block_based_options_destroy(st->topts);
    }
    if (st->cache) {
        rocksdb_cache_destroy(st->cache);
    }
    if (st->env) {
        rocksdb_env_destroy(st->env);
    }
    if (st->lock_fd != -1) {
        close(st->lock_fd); /* releases the flock */
    }
    free(st->dir);
    free(st);
}

static rocksdb_column_family_handle_t *cfh(struct recd_state *st, int cf)
{
    return st->cf[cf + 1];
}

uint64_t recd_state_gets(const struct recd_state *st, int cf)
{
    return cf >= 0 && cf < RECD_CF__N ? st->gets[cf] : 0;
}

int recd_state_get(struct recd_state *st, int cf, const void *key, size_t klen,
                   struct recd_buf *val)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *ps;
    const char *p;
    size_t n;
    int rc;

    if (cf < 0 || cf >= RECD_CF__N) {
        return RECD_EINVAL;
    }
    st->gets[cf]++;
    ps = rocksdb_get_pinned_cf(st->db, st->ropts, cfh(st, cf), key, klen, &err);
    if (err != NULL) {
        rocksdb_free(err);
        return RECD_ESTATE;
    }
    if (ps == NULL) {
        return RECD_ENOENT;
    }
    p = rocksdb_pinnableslice_value(ps, &n);
    val->len = 0;
    rc = recd_buf_append(val, p, n);
    if (rc == RECD_OK && n == 0 && recd_buf_reserve(val, 1) != RECD_OK) {
        rc = RECD_ENOMEM;
    }
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

/* "off" 0x00 topic 0x00 partition(be32) */
static int offset_key(struct recd_buf *k, const char *topic, int32_t partition)
{
    uint8_t p[4] = { (uint8_t)((uint32_t)partition >> 24), (uint8_t)((uint32_t)partition >> 16),
                     (uint8_t)((uint32_t)partition >> 8), (uint8_t)partition };

    k->len = 0;
    if (recd_buf_append(k, "off", 4) != RECD_OK ||
        recd_buf_append(k, topic, strlen(topic) + 1) != RECD_OK ||
        recd_buf_append(k, p, 4) != RECD_OK) {
        return RECD_ENOMEM;
    }
    return RECD_OK;
}

int recd_state_get_offset(struct recd_state *st, const char *topic, int32_t partition,
                          int64_t *next_offset)
{
    struct recd_buf k, v;
    int rc;
    uint64_t x = 0;

    recd_buf_init(&k);
    recd_buf_init(&v);
    rc = offset_key(&k, topic, partition);
    if (rc == RECD_OK) {
        rc = recd_state_get(st, RECD_CF_META, k.data, k.len, &v);
    }
    if (rc == RECD_OK) {
        if (v.len != 8) {
            rc = RECD_ESTATE;
        } else {
            for (int i = 0; i < 8; i++) {
                x = (x << 8) | v.data[i];
            }
            *next_offset = (int64_t)x;
        }
    }
    recd_buf_free(&k);
    recd_buf_free(&v);
    return rc;
}

/* ---- transactions --------------------------------------------------------------------- */

int recd_txn_new(struct recd_state *st, struct recd_txn **out)
{
    struct recd_txn *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return RECD_ENOMEM;
    }
    t->st = st;
    t->wb = rocksdb_writebatch_create();
    recd_buf_init(&t->key);
    recd_buf_init(&t->data);
    *out = t;
    return RECD_OK;
}

void recd_txn_destroy(struct recd_txn *t)
{
    if (t == NULL) {
        return;
    }
    rocksdb_writebatch_destroy(t->wb);
    recd_buf_free(&t->key);
    recd_buf_free(&t->data);
    free(t->ops);
    free(t);
}

void recd_txn_clear(struct recd_txn *t)
{
    rocksdb_writebatch_clear(t->wb);
    t->data.len = 0;
    t->n_ops = 0;
    t->seg = 0;
}

static int txn_add(struct recd_txn *t, int type, int cf, const void *key, size_t klen,
                   const void *val, size_t vlen)
{
    struct txn_op *op;

    if (cf < 0 || cf >= RECD_CF__N) {
        return RECD_EINVAL;
    }
    if (t->n_ops == t->cap_ops) {
        size_t cap = t->cap_ops ? 2 * t->cap_ops : 256;
        struct txn_op *ops = realloc(t->ops, cap * sizeof(*ops));

        if (ops == NULL) {
            return RECD_ENOMEM;
        }
        t->ops = ops;
        t->cap_ops = cap;
    }
    if (recd_buf_reserve(&t->data, klen + vlen) != RECD_OK) {
        return RECD_ENOMEM;
    }
    if (type == TXN_DEL_RANGE) {
        t->seg++;
    }
    op = &t->ops[t->n_ops];
    op->seg = t->seg;
    op->idx = (uint32_t)t->n_ops;
    op->type = (uint8_t)type;
    op->cf = (uint8_t)cf;
    op->koff = t->data.len;
    op->klen = klen;
    if (klen) {
        memcpy(t->data.data + t->data.len, key, klen);
        t->data.len += klen;
    }
    op->voff = t->data.len;
    op->vlen = vlen;
    if (vlen) {
        memcpy(t->data.data + t->data.len, val, vlen);
        t->data.len += vlen;
    }
    if (type == TXN_DEL_RANGE) {
        t->seg++; /* later writes stay after the deletion */
    }
    t->n_ops++;
    return RECD_OK;
}

int recd_txn_put(struct recd_txn *t, int cf, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    return txn_add(t, TXN_PUT, cf, key, klen, val, vlen);
}

int recd_txn_del(struct recd_txn *t, int cf, const void *key, size_t klen)
{
    return txn_add(t, TXN_DEL, cf, key, klen, NULL, 0);
}

int recd_txn_del_prefix(struct recd_txn *t, int cf, const void *prefix, size_t plen)
{
    struct recd_buf end;
    size_t n;
    int rc;

    if (cf < 0 || cf >= RECD_CF__N || plen == 0) {
        return RECD_EINVAL;
    }
    /* end = the smallest key greater than every key with this prefix */
    recd_buf_init(&end);
    if (recd_buf_append(&end, prefix, plen) != RECD_OK) {
        return RECD_ENOMEM;
    }
    n = plen;
    while (n > 0 && end.data[n - 1] == 0xff) {
        n--;
    }
    if (n == 0) {
        recd_buf_free(&end);
        return RECD_EINVAL; /* all-0xff prefix: not used by our key layout */
    }
    end.data[n - 1]++;
    rc = txn_add(t, TXN_DEL_RANGE, cf, prefix, plen, end.data, n);
    recd_buf_free(&end);
    return rc;
}

int recd_txn_del_range(struct recd_txn *t, int cf, const void *from, size_t flen, const void *to,
                       size_t tlen)
{
    if (cf < 0 || cf >= RECD_CF__N || flen == 0 || tlen == 0) {
        return RECD_EINVAL;
    }
    return txn_add(t, TXN_DEL_RANGE, cf, from, flen, to, tlen);
}

int recd_txn_set_offset(struct recd_txn *t, const char *topic, int32_t partition,
                        int64_t next_offset)
{
    uint8_t v[8];
    uint64_t x = (uint64_t)next_offset;

    if (offset_key(&t->key, topic, partition) != RECD_OK) {
        return RECD_ENOMEM;
    }
    for (int i = 7; i >= 0; i--) {
        v[i] = (uint8_t)x;
        x >>= 8;
    }
    return recd_txn_put(t, RECD_CF_META, t->key.data, t->key.len, v, 8);
}

size_t recd_txn_count(const struct recd_txn *t)
{
    return t->n_ops;
}

/* qsort_r context: the txn's data buffer */
static int cmp_op(const void *a, const void *b, void *arg)
{
    const struct txn_op *x = a, *y = b;
    const unsigned char *d = arg;
    size_t n;
    int c;

    if (x->seg != y->seg) {
        return x->seg < y->seg ? -1 : 1;
    }
    if (x->cf != y->cf) {
        return x->cf < y->cf ? -1 : 1;
    }
    n = x->klen < y->klen ? x->klen : y->klen;
    c = n ? memcmp(d + x->koff, d + y->koff, n) : 0;
    if (c != 0) {
        return c;
    }
    if (x->klen != y->klen) {
        return x->klen < y->klen ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int recd_txn_commit(struct recd_txn *t, char *errstr, size_t errlen)
{
    char *err = NULL;
    int rc = check_free(t->st, "state commit refused", errstr, errlen);
    const char *d = (const char *)t->data.data;

    if (rc != RECD_OK) {
        return rc;
    }
    if (t->n_ops > 1) {
        qsort_r(t->ops, t->n_ops, sizeof(*t->ops), cmp_op, t->data.data);
    }
    rocksdb_writebatch_clear(t->wb);
    for (size_t i = 0; i < t->n_ops; i++) {
        const struct txn_op *op = &t->ops[i];
        rocksdb_column_family_handle_t *h = cfh(t->st, op->cf);

        switch (op->type) {
        case TXN_PUT:
            rocksdb_writebatch_put_cf(t->wb, h, d + op->koff, op->klen, d + op->voff, op->vlen);
            break;
        case TXN_DEL: rocksdb_writebatch_delete_cf(t->wb, h, d + op->koff, op->klen); break;
        default:
            rocksdb_writebatch_delete_range_cf(t->wb, h, d + op->koff, op->klen, d + op->voff,
                                               op->vlen);
            break;
        }
    }
    rocksdb_write(t->st->db, t->st->wopts, t->wb, &err);
    if (err != NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ESTATE, "state commit failed: %s", err);
        rocksdb_free(err);
        return rc;
    }
    return RECD_OK;
}

/* ---- iteration ------------------------------------------------------------------------- */

int recd_state_iter_new(struct recd_state *st, int cf, const void *prefix, size_t plen,
                        struct recd_state_iter **out)
{
    struct recd_state_iter *it;

    if (cf < 0 || cf >= RECD_CF__N) {
        return RECD_EINVAL;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return RECD_ENOMEM;
    }
    it->prefix = malloc(plen ? plen : 1);
    if (it->prefix == NULL) {
        free(it);
        return RECD_ENOMEM;
    }
    if (plen) {
        memcpy(it->prefix, prefix, plen);
    }
    it->plen = plen;
    if (per_user_cf(cf) && plen > 0 &&
        memchr(prefix, '\0', plen) == (const char *)prefix + plen - 1) {
        /* exactly one user's keys (the extractor's prefix): read that memtable bucket and
         * the files whose filters hold the prefix, not a total-order copy (user_prefix) */
        it->ropts = rocksdb_readoptions_create();
        if (it->ropts == NULL) {
            recd_state_iter_destroy(it);
            return RECD_ENOMEM;
        }
        rocksdb_readoptions_set_prefix_same_as_start(it->ropts, 1);
    }
    it->it = rocksdb_create_iterator_cf(st->db, it->ropts ? it->ropts : st->ropts, cfh(st, cf));
    if (plen) {
        rocksdb_iter_seek(it->it, it->prefix, plen);
    } else {
        rocksdb_iter_seek_to_first(it->it);
    }
    *out = it;
    return RECD_OK;
}

int recd_state_iter_next(struct recd_state_iter *it, const void **key, size_t *klen,
                         const void **val, size_t *vlen)
{
    if (it->started) {
        rocksdb_iter_next(it->it);
    }
    it->started = 1;
    if (!rocksdb_iter_valid(it->it)) {
        return 0;
    }
    *key = rocksdb_iter_key(it->it, klen);
    if (*klen < it->plen || memcmp(*key, it->prefix, it->plen) != 0) {
        return 0;
    }
    *val = rocksdb_iter_value(it->it, vlen);
    return 1;
}

int recd_state_iter_range(struct recd_state *st, int cf, const void *prefix, size_t plen,
                          const void *from, size_t flen, const void *to, size_t tlen,
                          struct recd_state_iter **out)
{
    struct recd_state_iter *it;

    if (cf < 0 || cf >= RECD_CF__N || flen < plen || tlen == 0 ||
        (plen > 0 && memcmp(from, prefix, plen) != 0)) {
        return RECD_EINVAL;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return RECD_ENOMEM;
    }
    it->prefix = malloc(plen ? plen : 1);
    it->upper = malloc(tlen);
    it->ropts = rocksdb_readoptions_create();
    if (it->prefix == NULL || it->upper == NULL || it->ropts == NULL) {
        recd_state_iter_destroy(it);
        return RECD_ENOMEM;
    }
    if (plen) {
        memcpy(it->prefix, prefix, plen);
    }
    it->plen = plen;
    memcpy(it->upper, to, tlen);
    /* The bound lets RocksDB stop at `to` instead of skipping every delete tombstone after the
     * last live entry in range (sweeps of a time-ordered index delete what they visit). */
    rocksdb_readoptions_set_iterate_upper_bound(it->ropts, it->upper, tlen);
    rocksdb_readoptions_set_total_order_seek(it->ropts, 1);
    it->perf = rocksdb_perfcontext_create();
    if (it->perf != NULL) {
        rocksdb_set_perf_level(rocksdb_enable_count);
        rocksdb_perfcontext_reset(it->perf);
    }
    it->it = rocksdb_create_iterator_cf(st->db, it->ropts, cfh(st, cf));
    rocksdb_iter_seek(it->it, from, flen);
    *out = it;
    return RECD_OK;
}

uint64_t recd_state_iter_skipped(const struct recd_state_iter *it)
{
    return it != NULL && it->perf != NULL
        ? rocksdb_perfcontext_metric(it->perf, rocksdb_internal_delete_skipped_count)
        : 0;
}

void recd_state_iter_destroy(struct recd_state_iter *it)
{
    if (it == NULL) {
        return;
    }
    if (it->perf != NULL) {
        rocksdb_set_perf_level(rocksdb_disable);
        rocksdb_perfcontext_destroy(it->perf);
    }
    if (it->it != NULL) {
        rocksdb_iter_destroy(it->it);
    }
    if (it->ropts != NULL) {
        rocksdb_readoptions_destroy(it->ropts);
    }
    free(it->upper);
    free(it->prefix);
    free(it);
}

/* ---- keys ------------------------------------------------------------------------------ */

int recd_key_sub(struct recd_buf *out, const char *id, const char *sub)
{
    out->len = 0;
    if (recd_buf_append(out, id, strlen(id) + 1) != RECD_OK ||
        recd_buf_append(out, sub, strlen(sub)) != RECD_OK) {
        return RECD_ENOMEM;
    }
    return RECD_OK;
}

/* ---- values ----------------------------------------------------------------------------- */

/* Bytes of word w of an n-byte record: 8, or what is left for the last one. */
static size_t zword_len(size_t w, size_t n)
{
    return n - w * 8 < 8 ? n - w * 8 : 8;
}

int recd_zpack(const void *src, size_t n, struct recd_buf *out)
{
    const uint8_t *s = src;
    size_t words = (n + 7) / 8, nbm = (words + 7) / 8;
    uint8_t *bm;

    if (n > UINT32_MAX) {
        return RECD_EINVAL;
    }
    /* room for the worst case (every word non-zero) */
    if (recd_buf_reserve(out, 4 + nbm + n) != RECD_OK) {
        return RECD_ENOMEM;
    }
    for (int i = 0; i < 4; i++) {
        out->data[out->len++] = (uint8_t)(n >> (8 * i));
    }
    bm = out->data + out->len;
    memset(bm, 0, nbm);
    out->len += nbm;
    for (size_t w = 0; w < words; w++) {
        size_t len = zword_len(w, n);
        uint64_t x = 0;

        memcpy(&x, s + w * 8, len);
        if (x != 0) {
            bm[w / 8] |= (uint8_t)(1u << (w % 8));
            memcpy(out->data + out->len, s + w * 8, len);
            out->len += len;
        }
    }
    return RECD_OK;
}

int recd_zunpack(const void *src, size_t slen, void *dst, size_t n)
{
    const uint8_t *s = src, *p;
    uint8_t *d = dst;
    size_t words = (n + 7) / 8, nbm = (words + 7) / 8, need = nbm;

    if (slen < 4 ||
        ((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24) != n ||
        slen - 4 < nbm) {
        return RECD_EDECODE; /* a record of another size */
    }
    s += 4;
    slen -= 4;
    for (size_t w = 0; w < words; w++) {
        if (s[w / 8] & (1u << (w % 8))) {
            need += zword_len(w, n);
        }
    }
    /* bits past the last word must be clear: a longer record's packing is not this one's */
    if (need != slen || (words % 8 != 0 && (s[nbm - 1] >> (words % 8)) != 0)) {
        return RECD_EDECODE;
    }
    p = s + nbm;
    for (size_t w = 0; w < words; w++) {
        size_t len = zword_len(w, n);

        if (s[w / 8] & (1u << (w % 8))) {
            memcpy(d + w * 8, p, len);
            p += len;
        } else {
            memset(d + w * 8, 0, len);
        }
    }
    return RECD_OK;
}

/* ---- tools ------------------------------------------------------------------------------ */

int recd_state_digest(struct recd_state *st, char out[33], char *errstr, size_t errlen)
{
    return recd_state_digest_ex(st, 0, out, errstr, errlen);
}

static int is_offset_key(const void *k, size_t kl)
{
    return kl >= 4 && memcmp(k, "off", 4) == 0;
}

/* USERS <user>\0ll (user ids hold no NUL, so the suffix is the sub-key) */
static int is_last_list_key(const void *k, size_t kl)
{
    size_t sl = sizeof(RECD_SUB_LAST_LIST);   /* the NUL before it, and the sub-key */

    return kl > sl && ((const char *)k)[kl - sl] == '\0' &&
           memcmp((const char *)k + kl - sl + 1, RECD_SUB_LAST_LIST, sl - 1) == 0;
}

int recd_state_digest_ex(struct recd_state *st, unsigned flags, char out[33], char *errstr,
                         size_t errlen)
{
    XXH3_state_t *h = XXH3_createState();
    XXH128_hash_t d;
    int cf;

    if (h == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    XXH3_128bits_reset(h);
    for (cf = 0; cf < RECD_CF__N; cf++) {
        struct recd_state_iter *it;

        if (cf == RECD_CF_OUTPUTS) {
            continue; /* derived output, not state (see state.h) */
        }
        const void *k, *v;
        size_t kl, vl;
        uint64_t lens[2];

        if (recd_state_iter_new(st, cf, NULL, 0, &it) != RECD_OK) {
            XXH3_freeState(h);
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        XXH3_128bits_update(h, cf_names[cf], strlen(cf_names[cf]) + 1);
        while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
            if ((flags & RECD_DIGEST_NO_OFFSETS) && cf == RECD_CF_META && is_offset_key(k, kl)) {
                continue;
            }
            if (cf == RECD_CF_USERS && is_last_list_key(k, kl)) {
                continue; /* derived from the last list, as OUTPUTS (see state.h) */
            }
            lens[0] = kl;
            lens[1] = vl;
            XXH3_128bits_update(h, lens, sizeof(lens));
            XXH3_128bits_update(h, k, kl);
            XXH3_128bits_update(h, v, vl);
        }
        recd_state_iter_destroy(it);
    }
    d = XXH3_128bits_digest(h);
    XXH3_freeState(h);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)d.high64, (unsigned long long)d.low64);
    return RECD_OK;
}

int recd_state_offsets(struct recd_state *st,
                       int (*fn)(void *arg, const char *topic, int32_t partition, int64_t next),
                       void *arg)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int rc;

    rc = recd_state_iter_new(st, RECD_CF_META, "off", 4, &it);
    if (rc != RECD_OK) {
        return rc;
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        const uint8_t *p = k, *q = v;
        size_t tl = kl > 4 ? strnlen((const char *)p + 4, kl - 4) : 0;
        uint32_t part = 0;
        uint64_t next = 0;
        int i;

        /* "off" 0x00 <topic> 0x00 <partition be32> -> <next be64> */
        if (kl != 4 + tl + 1 + 4 || vl != 8) {
            continue;
        }
        for (i = 0; i < 4; i++) {
            part = (part << 8) | p[4 + tl + 1 + i];
        }
        for (i = 0; i < 8; i++) {
            next = (next << 8) | q[i];
        }
        if (fn(arg, (const char *)p + 4, (int32_t)part, (int64_t)next) != 0) {
            break;
        }
    }
    recd_state_iter_destroy(it);
    return RECD_OK;
}

/* ---- blobs: immutable files beside the store ---------------------------------------------- */

int recd_state_blob_path(const struct recd_state *st, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/blobs%s%s", st->dir, name ? "/" : "", name ? name : "");

    return n < 0 || (size_t)n >= len ? RECD_EINVAL : RECD_OK;
}

int recd_state_blob_dir_make(const struct recd_state *st, char *errstr, size_t errlen)
{
    char path[4096];

    if (recd_state_blob_path(st, NULL, path, sizeof(path)) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "state directory path too long");
    }
    if (mkdir(path, 0750) == -1 && errno != EEXIST) {
        return recd_seterr(errstr, errlen, RECD_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    return RECD_OK;
}

/* the blobs into the checkpoint: hard links (the files are immutable), copies across
 * filesystems */
static int checkpoint_blobs(struct recd_state *st, const char *dir, char *errstr, size_t errlen)
{
    char src[4096], dst[4096];
    struct dirent *e;
    DIR *d;
    int rc = RECD_OK;

    if (recd_state_blob_path(st, NULL, src, sizeof(src)) != RECD_OK || (d = opendir(src)) == NULL) {
        return RECD_OK; /* no blobs */
    }
    snprintf(dst, sizeof(dst), "%s/blobs", dir);
    if (mkdir(dst, 0750) == -1 && errno != EEXIST) {
        closedir(d);
        return recd_seterr(errstr, errlen, RECD_EIO, "checkpoint: cannot create %s: %s", dst,
                           strerror(errno));
    }
    while (rc == RECD_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp") != NULL) {
            continue;
        }
        snprintf(src, sizeof(src), "%s/blobs/%s", st->dir, e->d_name);
        snprintf(dst, sizeof(dst), "%s/blobs/%s", dir, e->d_name);
        if (link(src, dst) == 0) {
            continue;
        }
        rc = copy_file(src, dst) == 0
            ? RECD_OK
            : recd_seterr(errstr, errlen, RECD_EIO, "checkpoint: cannot copy %s: %s", src,
                          strerror(errno));
    }
    closedir(d);
    return rc;
}

int recd_state_checkpoint(struct recd_state *st, const char *dir, char *errstr, size_t errlen)
{
    char *err = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(st->db, &err);

    if (cp == NULL) {
        int rc = recd_seterr(errstr, errlen, RECD_ESTATE, "checkpoint: %s", err ? err : "?");

        rocksdb_free(err);
        return rc;
    }
    rocksdb_checkpoint_create(cp, dir, 0, &err);
    rocksdb_checkpoint_object_destroy(cp);
    if (err != NULL) {
        int rc = recd_seterr(errstr, errlen, RECD_ESTATE, "checkpoint into %s: %s", dir, err);

        rocksdb_free(err);
        return rc;
    }
    return checkpoint_blobs(st, dir, errstr, errlen);
}

int64_t recd_state_size_bytes(struct recd_state *st)
{
    uint64_t v, total = 0;
    int cf;

    for (cf = 0; cf < RECD_CF__N; cf++) {
        if (rocksdb_property_int_cf(st->db, cfh(st, cf), "rocksdb.total-sst-files-size", &v) == 0) {
            total += v;
        }
        if (rocksdb_property_int_cf(st->db, cfh(st, cf), "rocksdb.size-all-mem-tables", &v) == 0) {
            total += v;
        }
    }
    return (int64_t)total;
}
