/*
 * sgd_store.c — the sgd operator's persistence: the event log in the MODEL column family and
 * the model snapshot in a blob file beside the store (state.h "blobs"), tied together by a
 * descriptor key that commits in a batch's atomic write with the input offsets — so a kill at
 * any point loses nothing and applies nothing twice.
 *
 * Keys (MODEL column family):
 *   "sr.n"                      u64: events logged since the first start (the log's end)
 *   "srl" 0x00 <chunk be64>     the event log: chunk c holds the records of events
 *                               [max(c * LOG_CHUNK, base), min((c + 1) * LOG_CHUNK, n)), each
 *                               {session key u64, item i32, ts i64}
 *   "sr.snap"                   the descriptor (struct snap_desc): position, size, XXH3-64 and
 *                               blob name of the snapshot
 * Blob "sgd-<position>.snap": "SGS1", u32 version, u64 position, u8 has_mf, the sessrec image
 * (models/sessrec/sessrec_snapshot.c), the MF image when has_mf (models/mf/mf.c, mf_save).
 *
 * When. After every snapshot_every logged events (a multiple of LOG_CHUNK, so a snapshot
 * starts a chunk) a child process (fork: a copy-on-write image of the model at that exact
 * event) writes the blob while the batches go on; the batch that contains the event
 * snapshot_commit_after events later waits for the child (it has long finished unless the
 * disk is slower than that many events) and commits the descriptor, deleting the log before
 * the snapshot. After a user deletion the snapshot is written at once and committed in the
 * same batch, so that the log holding the user's clicks goes with the deletion. Both positions
 * depend only on the event sequence (a start that replays past a snapshot position whose
 * commit is not due yet starts that snapshot again), so the stored state does not depend on
 * batch boundaries, restarts or timing. A committed snapshot's predecessor and any blob no
 * descriptor names (a crash between writing and committing) are deleted.
 *
 * Warm start. A clean stop (sgd_store_stop) with at least snapshot_at_stop events logged after
 * the committed snapshot writes the model as blob "sgd-warm-<position>.snap" and a small file
 * "sgd-warm.desc" (struct warm_desc) beside it — outside the store, so the stored state (and
 * its digest) stays a function of the event sequence. The next start loads that image instead
 * of replaying the log when the state is still the one it was written from (the log's end and
 * the committed snapshot unchanged), reads the log only to take up its last partial chunk,
 * takes over the snapshot the stop found written but not committed (committed at its own
 * position, as without the stop), and deletes both files; otherwise it loads as usual.
 *
 * A snapshot saved under other model parameters (the operators.sgd keys changed) or another
 * text dimension cannot be loaded: the model starts empty and learns from the log after it,
 * with a warning.
 */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no malloc in the child */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xxhash.h>

#include "log.h"
#include "metrics.h"
#include "recd.h"
#include "services/embed.h"
#include "sgd_internal.h"
#include "state.h"

#define SNAP_VERSION 1u
#define DESC_VERSION 2u

#pragma pack(push, 1)
struct snap_desc {
    char magic[4]; /* "SGD2" */
    uint32_t version;
    uint64_t position; /* events the snapshot covers */
    uint64_t bytes;    /* image size */
    uint64_t hash;     /* XXH3-64 of the image */
    char name[48];     /* blob name, NUL-terminated */
};
#pragma pack(pop)

/* the warm-start image's descriptor: the file "sgd-warm.desc" among the blobs */
#define WARM_DESC "sgd-warm.desc"
#define WARM_VERSION 1u
#pragma pack(push, 1)
struct warm_desc {
    char magic[4]; /* "SGW1" */
    uint32_t version;
    uint64_t position; /* events the image covers: the log's end at the stop */
    uint64_t base;     /* the committed snapshot's position then (0: none) */
    uint64_t bytes, hash;
    char name[48];
    /* a snapshot written but not committed at the stop (job_name[0] == 0: none) */
    uint64_t job_pos, job_commit_at, job_bytes, job_hash;
    char job_name[48];
    uint64_t conf; /* warm_conf(): the settings a replay would apply that the image omits */
};
#pragma pack(pop)

/* the settings that shape what a replay of the log would learn and where snapshots fall, that
 * the image does not check itself (load_image checks the model parameters and dimensions) */
static uint64_t warm_conf(const struct sgd *op)
{
    struct {
        float weight[3];
        uint64_t every, delay;
        int32_t learn;
    } c;

    memset(&c, 0, sizeof(c));
    memcpy(c.weight, op->weight, sizeof(c.weight));
    c.every = op->snapshot_every;
    c.delay = op->snapshot_delay;
    c.learn = op->learn;
    return XXH3_64bits(&c, sizeof(c));
}

/* what the child reports through its pipe */
struct snap_report {
    int32_t ok;
    uint64_t bytes, hash;
};

static void log_key(uint8_t key[12], uint64_t chunk)
{
    memcpy(key, "srl", 4);
    for (int i = 11; i >= 4; i--) {
        key[i] = (uint8_t)chunk;
        chunk >>= 8;
    }
}

static void blob_name(char *out, size_t len, uint64_t pos)
{
    snprintf(out, len, "sgd-%llu.snap", (unsigned long long)pos);
}

/* ---- writing an image ---------------------------------------------------------------------- */

/* A buffered file writer that hashes what it writes; no allocation (it runs in the child). */
struct fwriter {
    int fd;
    int err;
    size_t n;
    uint64_t bytes;
    XXH3_state_t h;
    unsigned char buf[1 << 16];
};

static void fw_flush(struct fwriter *w)
{
    size_t off = 0;

    while (w->err == 0 && off < w->n) {
        ssize_t r = write(w->fd, w->buf + off, w->n - off);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            w->err = -1;
            break;
        }
        off += (size_t)r;
    }
    w->n = 0;
}

static int fw_put(void *ctx, const void *p, size_t n)
{
    struct fwriter *w = ctx;
    const unsigned char *s = p;

    XXH3_64bits_update(&w->h, p, n);
    w->bytes += n;
    while (w->err == 0 && n > 0) {
        size_t take = sizeof(w->buf) - w->n < n ? sizeof(w->buf) - w->n : n;

        memcpy(w->buf + w->n, s, take);
        w->n += take;
        s += take;
        n -= take;
        if (w->n == sizeof(w->buf)) {
            fw_flush(w);
        }
    }
    return w->err;
}

/* A file written (rc 0) and fsynced as tmp becomes path (rename, the directory dir fsynced);
 * otherwise tmp goes. 0 or -1. Allocates nothing (also in the forked child). */
static int put_in_place(int rc, const char *tmp, const char *path, const char *dir)
{
    int dfd;

    if (rc == 0) {
        rc = rename(tmp, path);
    }
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* The model as blob `name` (written as name.tmp, fsynced, renamed, the directory fsynced):
 * 0 with the size and hash, or -1 (errno). Allocates nothing: safe in a forked child. */
static int write_image(struct sgd *op, const char *name, uint64_t pos, uint64_t *bytes,
                       uint64_t *hash)
{
    static struct fwriter w; /* 64 KiB: not on the stack */
    char path[4096], tmp[4200], dir[4096];
    const uint32_t version = SNAP_VERSION;
    const uint8_t has_mf = op->mf != NULL;
    int rc;

    if (recd_state_blob_path(op->state, name, path, sizeof(path)) != RECD_OK ||
        recd_state_blob_path(op->state, NULL, dir, sizeof(dir)) != RECD_OK) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    sgd_retire_flush(op); /* (in a forked child: its copy; the parent's gives the same model) */
    memset(&w, 0, offsetof(struct fwriter, buf));
    XXH3_64bits_reset(&w.h);
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (w.fd < 0) {
        return -1;
    }
    fw_put(&w, "SGS1", 4);
    fw_put(&w, &version, sizeof(version));
    fw_put(&w, &pos, sizeof(pos));
    fw_put(&w, &has_mf, 1);
    if (sessrec_save(op->model, fw_put, &w) != 0 ||
        (op->mf != NULL && mf_save(op->mf, (mf_write_fn)fw_put, &w) != 0)) {
        w.err = -1;
    }
    fw_flush(&w);
    rc = w.err == 0 && fsync(w.fd) == 0 ? 0 : -1;
    close(w.fd);
    if (put_in_place(rc, tmp, path, dir) != 0) {
        return -1;
    }
    *bytes = w.bytes;
    *hash = XXH3_64bits_digest(&w.h);
    return 0;
}

/* ---- snapshot jobs -------------------------------------------------------------------------- */

static void remove_blob(struct sgd *op, const char *name)
{
    char path[4096], tmp[4200];

    if (name[0] != '\0' && recd_state_blob_path(op->state, name, path, sizeof(path)) == RECD_OK) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(path);
        unlink(tmp);
    }
}

static void job_clear(struct sgd_snap_job *j)
{
    memset(j, 0, sizeof(*j));
    j->report_fd = -1;
}

void sgd_store_abort(struct sgd *op)
{
    if (op->job.pid > 0) {
        kill(op->job.pid, SIGKILL);
        while (waitpid(op->job.pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (op->job.report_fd >= 0) {
        close(op->job.report_fd);
    }
    if (op->job.active) {
        remove_blob(op, op->job.name);
    }
    job_clear(&op->job);
}

/* a written snapshot to commit with this batch; one written earlier in the batch is dropped */
static void make_ready(struct sgd *op, const struct sgd_snap_job *j)
{
    if (op->ready.active && strcmp(op->ready.name, j->name) != 0) {
        remove_blob(op, op->ready.name);
    }
    op->ready = *j;
    op->ready.pid = 0;
    op->ready.report_fd = -1;
}

/* fork a child that writes the snapshot at pos */
static int start_async(struct sgd *op, uint64_t pos)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) != 0) {
        return RECD_EIO;
    }
    job_clear(&op->job);
    op->job.t0_ns = recd_now_mono_ns();
    op->job.pos = pos;
    op->job.commit_at = pos + op->snapshot_delay;
    blob_name(op->job.name, sizeof(op->job.name), pos);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        op->job.report_fd = -1;
        return RECD_EIO;
    }
    if (pid == 0) { /* the child: write, report, leave without running the parent's exits */
        struct snap_report r;

        memset(&r, 0, sizeof(r)); /* the padding goes through the pipe too */

        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives recd (a next start rewrites it) */
        if (getppid() == 1) {
            _exit(3);
        }
        close(fds[0]);
        r.ok = write_image(op, op->job.name, pos, &r.bytes, &r.hash) == 0;
        if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
            _exit(2);
        }
        _exit(r.ok ? 0 : 1);
    }
    close(fds[1]);
    op->job.active = 1;
    op->job.pid = pid;
    op->job.report_fd = fds[0];
    op->job.made_ns = recd_now_mono_ns() - op->job.t0_ns;
    return RECD_OK;
}

/* wait for the child (it has usually long finished) and read its report: 1 when the blob is
 * written (job.ready, bytes, hash), 0 when not (logged, blob removed, the job cleared) */
static int collect_async(struct sgd *op)
{
    struct snap_report r;
    int64_t t0 = recd_now_mono_ns();
    ssize_t n;
    int status = 0;

    memset(&r, 0, sizeof(r));
    do {
        n = read(op->job.report_fd, &r, sizeof(r));
    } while (n < 0 && errno == EINTR);
    while (waitpid(op->job.pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(op->job.report_fd);
    op->job.report_fd = -1;
    op->job.pid = 0;
    /* the report decides: it is written after the blob is complete (the exit status may
     * be a tool's, e.g. valgrind's error code for the parent's heap the child exits with) */
    (void)status;
    if (n != (ssize_t)sizeof(r) || !r.ok) {
        RLOG_ERR(RECD_LOG_OPERATOR,
                 "sgd: the model snapshot at %llu events could not be written (blob %s): the "
                 "event log is kept until the next one",
                 (unsigned long long)op->job.pos, op->job.name);
        remove_blob(op, op->job.name);
        job_clear(&op->job);
        return 0;
    }
    op->job.bytes = r.bytes;
    op->job.hash = r.hash;
    op->job.ready = 1;
    op->job.wait_ns = recd_now_mono_ns() - t0;
    return 1;
}

/* the job's snapshot (its child's, or one a warm start took over) to commit in this batch */
static int finish_async(struct sgd *op)
{
    if (op->job.pid > 0 && !collect_async(op)) {
        return RECD_OK;
    }
    make_ready(op, &op->job);
    job_clear(&op->job);
    return RECD_OK;
}

int sgd_store_after(struct sgd *op, uint64_t pos, int deletion)
{
    if (deletion) { /* now: the log with the user's clicks goes in this batch */
        struct sgd_snap_job j;

        sgd_store_abort(op); /* an older snapshot still being written is superseded */
        job_clear(&j);
        j.pos = pos;
        j.t0_ns = recd_now_mono_ns();
        blob_name(j.name, sizeof(j.name), pos);
        if (write_image(op, j.name, pos, &j.bytes, &j.hash) != 0) {
            RLOG_ERR(RECD_LOG_OPERATOR, "sgd: cannot write the model snapshot: %s",
                     strerror(errno));
            return RECD_EIO;
        }
        j.active = j.sync = j.ready = 1;
        j.made_ns = recd_now_mono_ns() - j.t0_ns;
        make_ready(op, &j);
        return RECD_OK;
    }
    if (op->job.active && (op->job.pid > 0 || op->job.ready) && pos == op->job.commit_at) {
        int rc = finish_async(op);

        if (rc != RECD_OK || pos % op->snapshot_every != 0) {
            return rc;
        }
    }
    if (pos % op->snapshot_every == 0 && !op->job.active) {
        return start_async(op, pos);
    }
    return RECD_OK;
}

/* ---- the batch's write ---------------------------------------------------------------------- */

/* the descriptor of the job's snapshot, and the log before it deleted */
static int write_descriptor(struct sgd *op, struct recd_txn *txn)
{
    struct snap_desc d;
    uint8_t key[12], to[12];
    /* an async snapshot starts a chunk (its records are all after it); a deletion's may fall
     * inside one, which is rewritten from this batch's records */
    uint64_t upto = op->ready.sync ? op->ready.pos / LOG_CHUNK + 1 : op->ready.pos / LOG_CHUNK;
    int rc = RECD_OK;

    if (upto > 0) {
        log_key(key, 0);
        log_key(to, upto);
        rc = recd_txn_del_range(txn, RECD_CF_MODEL, key, sizeof(key), to, sizeof(to));
    }
    memset(&d, 0, sizeof(d));
    memcpy(d.magic, "SGD2", 4);
    d.version = DESC_VERSION;
    d.position = op->ready.pos;
    d.bytes = op->ready.bytes;
    d.hash = op->ready.hash;
    snprintf(d.name, sizeof(d.name), "%s", op->ready.name);
    if (rc == RECD_OK) {
        rc = recd_txn_put(txn, RECD_CF_MODEL, "sr.snap", 7, &d, sizeof(d));
    }
    return rc;
}

/* Log records [start, start + n_prefix + n_recs) — the prefix first — in chunks; the records
 * of a last, partial chunk become next_tail. */
static int write_log(struct sgd *op, struct recd_txn *txn, uint64_t start,
                     const struct log_rec *prefix, size_t n_prefix, const struct log_rec *recs,
                     size_t n_recs)
{
    struct log_rec buf[LOG_CHUNK];
    uint8_t key[12];
    uint64_t g = start;
    size_t done = 0, total = n_prefix + n_recs;
    int rc = RECD_OK;

    while (rc == RECD_OK && done < total) {
        size_t room = LOG_CHUNK - (size_t)(g % LOG_CHUNK), fill = 0;

        while (fill < room && done < total) {
            buf[fill++] = done < n_prefix ? prefix[done] : recs[done - n_prefix];
            done++;
        }
        log_key(key, g / LOG_CHUNK);
        rc = recd_txn_put(txn, RECD_CF_MODEL, key, sizeof(key), buf, fill * sizeof(buf[0]));
        g += fill;
        if (g % LOG_CHUNK != 0) {
            memcpy(op->next_tail, buf, fill * sizeof(buf[0]));
            op->n_next_tail = fill;
        } else {
            op->n_next_tail = 0;
        }
    }
    return rc;
}

int sgd_store_checkpoint(struct sgd *op, struct recd_txn *txn, char *errstr, size_t errlen)
{
    int rc = RECD_OK;

    op->n_next_tail = op->n_tail;
    if (op->ready.active) {
        rc = write_descriptor(op, txn);
    }
    if (rc == RECD_OK && op->ready.active && op->ready.sync) {
        /* the deletion's snapshot is in this batch: the log restarts at it */
        size_t skip = (size_t)(op->ready.pos - op->n_committed);

        op->n_next_tail = 0;
        rc = write_log(op, txn, op->ready.pos, NULL, 0, op->pending + skip, op->n_pending - skip);
    } else if (rc == RECD_OK && op->n_pending > 0) {
        rc = write_log(op, txn, op->n_committed - op->n_tail, op->tail, op->n_tail, op->pending,
                       op->n_pending);
    }
    if (rc == RECD_OK && op->n_pending > 0) {
        rc = recd_txn_put(txn, RECD_CF_MODEL, "sr.n", 4, &op->n_events, sizeof(op->n_events));
    }
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "sgd: checkpoint: %s", recd_strerror(rc));
    }
    return RECD_OK;
}

void sgd_store_committed(struct sgd *op, int ok)
{
    if (ok) {
        memcpy(op->tail, op->next_tail, op->n_next_tail * sizeof(op->tail[0]));
        op->n_tail = op->n_next_tail;
        if (op->ready.active) {
            const struct sgd_snap_job *j = &op->ready;

            /* made: writing the image (a deletion's) or forking its writer; waited: its
             * commit point waiting for the writer; committed: from its start to this commit.
             * What it cost the batch loop: made + waited (forked), up to committed (written) */
            RLOG_INFO(RECD_LOG_OPERATOR,
                      "sgd: model snapshot at %llu events: %.1f MB, made in %.1f ms (%s), "
                      "waited %.1f ms at its commit, committed %.1f ms after its start, %llu log "
                      "events before it deleted",
                      (unsigned long long)j->pos, (double)j->bytes / 1e6, (double)j->made_ns / 1e6,
                      j->sync ? "written" : "forked", (double)j->wait_ns / 1e6,
                      (double)(recd_now_mono_ns() - j->t0_ns) / 1e6,
                      (unsigned long long)(j->pos - op->base));
            if (strcmp(op->snap_name, j->name) != 0) {
                remove_blob(op, op->snap_name);
            }
            op->base = j->pos;
            snprintf(op->snap_name, sizeof(op->snap_name), "%s", j->name);
            job_clear(&op->ready);
        }
        op->n_committed = op->n_events;
    } else if (op->ready.active) {
        remove_blob(op, op->ready.name); /* the build() that follows starts it again if due */
        job_clear(&op->ready);
    }
    op->n_pending = 0;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* The committed snapshot's descriptor into d (d zero: none). */
static int read_desc(struct sgd *op, struct snap_desc *d, char *errstr, size_t errlen)
{
    struct recd_buf v;
    int rc;

    recd_buf_init(&v);
    memset(d, 0, sizeof(*d));
    rc = recd_state_get(op->state, RECD_CF_MODEL, "sr.snap", 7, &v);
    if (rc == RECD_ENOENT) {
        recd_buf_free(&v);
        return RECD_OK;
    }
    if (rc != RECD_OK || v.len != sizeof(*d)) {
        recd_buf_free(&v);
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: unreadable model snapshot descriptor (another format?)");
    }
    memcpy(d, v.data, sizeof(*d));
    recd_buf_free(&v);
    d->name[sizeof(d->name) - 1] = '\0';
    if (memcmp(d->magic, "SGD2", 4) != 0 || d->version != DESC_VERSION ||
        strchr(d->name, '/') != NULL || d->name[0] == '\0') {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: model snapshot descriptor of an unknown format (version %u)",
                           d->version);
    }
    return RECD_OK;
}

/* Blob `name` of `bytes` bytes with XXH3-64 `hash` into b (empty). */
static int read_blob(struct sgd *op, const char *name, uint64_t bytes, uint64_t hash,
                     struct recd_buf *b, char *errstr, size_t errlen)
{
    char path[4096];
    FILE *f;
    int rc;

    if (recd_state_blob_path(op->state, name, path, sizeof(path)) != RECD_OK ||
        (f = fopen(path, "rb")) == NULL) {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: the model snapshot %s/blobs/%s cannot be read: %s "
                           "(a state directory restored without its blobs?)",
                           "<state>", name, strerror(errno));
    }
    rc = recd_buf_reserve(b, (size_t)bytes + 1);
    while (rc == RECD_OK) {
        size_t want = b->cap - b->len, got;

        recd_progress("sgd: reading the model snapshot: %.0f of %.0f MB", (double)b->len / 1e6,
                      (double)bytes / 1e6);
        got = fread(b->data + b->len, 1, want < (1u << 24) ? want : (1u << 24), f);
        b->len += got;
        if (got == 0 || b->len > bytes) {
            break;
        }
    }
    fclose(f);
    if (rc != RECD_OK || b->len != bytes || XXH3_64bits(b->data, b->len) != hash) {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: the model snapshot %s is incomplete or corrupt (%zu of %llu "
                           "bytes%s)",
                           name, b->len, (unsigned long long)bytes,
                           b->len == bytes ? ", checksum wrong" : "");
    }
    return RECD_OK;
}

/* no model in memory (op->model, op->mf freed) */
static void drop_models(struct sgd *op)
{
    sessrec_destroy(op->model);
    mf_destroy(op->mf);
    op->model = NULL;
    op->mf = NULL;
}

/* the models of an image; a model saved under other parameters: empty ones, with a warning
 * (*fresh set) */
static int load_image(struct sgd *op, const struct recd_buf *b, int *fresh, char *errstr,
                      size_t errlen)
{
    const unsigned char *p = b->data;
    size_t used = 0, tdim = op->embed != NULL ? recd_embed_dim(op->embed) : 0;
    char err[160];
    int r;

    if (b->len < 17 || memcmp(p, "SGS1", 4) != 0) {
        return recd_seterr(errstr, errlen, RECD_ESTATE, "sgd: model snapshot: bad image");
    }
    r = sessrec_load(&op->params, p + 17, b->len - 17, &used, &op->model, err, sizeof(err));
    if (r == 0 && p[16] != (op->mf_params.dim > 0)) {
        r = -2;
        snprintf(err, sizeof(err), "operators.sgd.mf was %s", p[16] ? "on" : "off");
    }
    if (r == 0 && p[16]) {
        r = mf_load(&op->mf_params, tdim, p + 17 + used, b->len - 17 - used, NULL, &op->mf, err,
                    sizeof(err));
    }
    if (r == -1) {
        return recd_seterr(errstr, errlen, RECD_ESTATE, "sgd: model snapshot: %s", err);
    }
    if (r == -2) {
        *fresh = 1;
        RLOG_WARN(RECD_LOG_OPERATOR,
                  "sgd: the model snapshot cannot be used (%s: the operators.sgd model keys "
                  "changed since it was written): the model starts empty",
                  err);
        drop_models(op);
        return sgd_model_new(op, &op->model, &op->mf);
    }
    return RECD_OK;
}

/* the log after the snapshot, through the live code path; a snapshot position on the way
 * whose commit is not due yet starts its snapshot again (as the run before did). apply = 0
 * (a warm start): only read, to check it and take up its last partial chunk (op->tail). */
static int replay_log(struct sgd *op, int apply, char *errstr, size_t errlen)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    uint64_t g = op->base;
    int rc = RECD_OK;

    if (recd_state_iter_new(op->state, RECD_CF_MODEL, "srl", 4, &it) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    while (rc == RECD_OK && recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        size_t cnt = vl / sizeof(struct log_rec);
        uint8_t want[12];

        log_key(want, g / LOG_CHUNK);
        if (vl % sizeof(struct log_rec) != 0 || cnt == 0 ||
            cnt > LOG_CHUNK - (size_t)(g % LOG_CHUNK) || kl != sizeof(want) ||
            memcmp(k, want, kl) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_ESTATE,
                             "sgd: corrupt event log chunk (at event %llu)", (unsigned long long)g);
            break;
        }
        op->n_tail = 0;
        for (size_t j = 0; rc == RECD_OK && j < cnt; j++) {
            struct log_rec r;

            memcpy(&r, (const char *)v + j * sizeof(r), sizeof(r));
            op->tail[op->n_tail++] = r; /* kept while the chunk is partial, for appends */
            if (!apply) {
                continue;
            }
            rc = sgd_apply(op, &r);
            if (rc != RECD_OK) {
                rc = rc == RECD_ESTATE
                    ? recd_seterr(errstr, errlen, rc, "sgd: corrupt event log entry")
                    : recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
                break;
            }
            if ((g + j + 1) % op->snapshot_every == 0 &&
                g + j + 1 + op->snapshot_delay > op->n_events &&
                start_async(op, g + j + 1) != RECD_OK) {
                RLOG_WARN(RECD_LOG_OPERATOR,
                          "sgd: cannot start the model snapshot at %llu "
                          "events (fork): the event log is kept until the next one",
                          (unsigned long long)(g + j + 1));
            }
        }
        g += cnt;
        recd_progress(apply ? "sgd: replaying the event log: %llu of %llu events"
                            : "sgd: reading the event log: %llu of %llu events",
                      (unsigned long long)(g - op->base),
                      (unsigned long long)(op->n_events - op->base));
        if (g % LOG_CHUNK == 0) {
            op->n_tail = 0;
        }
    }
    recd_state_iter_destroy(it);
    sgd_retire_flush(op);
    if (rc == RECD_OK && g != op->n_events) {
        rc = recd_seterr(errstr, errlen, RECD_ESTATE,
                         "sgd: the event log ends at %llu events, %llu expected",
                         (unsigned long long)g, (unsigned long long)op->n_events);
    }
    return rc;
}

/* blobs of sgd that no descriptor names: a snapshot written but never committed (a crash, a
 * failed batch), or a predecessor a crash kept from being deleted; a warm-start image and its
 * descriptor (used or not); not the uncommitted snapshot a warm start took over */
static void remove_orphans(struct sgd *op)
{
    char dir[4096];
    struct dirent *e;
    DIR *d;

    if (recd_state_blob_path(op->state, NULL, dir, sizeof(dir)) != RECD_OK ||
        (d = opendir(dir)) == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "sgd-", 4) == 0 && strcmp(e->d_name, op->snap_name) != 0 &&
            !(op->job.active && strcmp(e->d_name, op->job.name) == 0)) {
            char path[4096 + 300];

            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

/* the file `name` among the blobs, written whole or not at all (tmp, fsync, rename) */
static int write_small(struct sgd *op, const char *name, const void *p, size_t n)
{
    char path[4096], tmp[4200], dir[4096];
    int fd, rc;

    if (recd_state_blob_path(op->state, name, path, sizeof(path)) != RECD_OK ||
        recd_state_blob_path(op->state, NULL, dir, sizeof(dir)) != RECD_OK) {
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    rc = write(fd, p, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
    close(fd);
    return put_in_place(rc, tmp, path, dir);
}

int sgd_store_stop(struct sgd *op, char *errstr, size_t errlen)
{
    struct warm_desc w;
    int64_t t0 = recd_now_mono_ns();
    uint64_t after = op->n_events - op->base;

    if (op->warm_min == 0 || after < op->warm_min || op->model == NULL) {
        return RECD_OK;
    }
    if (op->n_pending > 0 || op->ready.active || op->n_committed != op->n_events) {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: no warm-start image: the last batch is not committed");
    }
    memset(&w, 0, sizeof(w));
    if (op->job.active && op->job.pid > 0 && !collect_async(op)) {
        /* a snapshot due before the stop could not be written: the next start must replay
         * past its position to write it again (as the run before did) */
        return recd_seterr(errstr, errlen, RECD_EIO,
                           "sgd: no warm-start image: the snapshot in progress failed");
    }
    if (op->job.active && op->job.ready) {
        w.job_pos = op->job.pos;
        w.job_commit_at = op->job.commit_at;
        w.job_bytes = op->job.bytes;
        w.job_hash = op->job.hash;
        snprintf(w.job_name, sizeof(w.job_name), "%s", op->job.name);
    }
    memcpy(w.magic, "SGW1", 4);
    w.version = WARM_VERSION;
    w.position = op->n_events;
    w.base = op->base;
    w.conf = warm_conf(op);
    snprintf(w.name, sizeof(w.name), "sgd-warm-%llu.snap", (unsigned long long)op->n_events);
    if (write_image(op, w.name, w.position, &w.bytes, &w.hash) != 0) {
        int e = errno;

        remove_blob(op, w.name);
        return recd_seterr(errstr, errlen, RECD_EIO,
                           "sgd: cannot write the warm-start image: %s (the next start replays "
                           "%llu logged events)",
                           strerror(e), (unsigned long long)after);
    }
    if (write_small(op, WARM_DESC, &w, sizeof(w)) != 0) {
        int e = errno;

        remove_blob(op, w.name);
        return recd_seterr(errstr, errlen, RECD_EIO,
                           "sgd: cannot write the warm-start descriptor: %s", strerror(e));
    }
    if (w.job_name[0] != '\0') {
        job_clear(&op->job); /* its blob stays for the next start (sgd_store_abort spares it) */
    }
    RLOG_INFO(RECD_LOG_OPERATOR,
              "sgd: warm-start image of the model at %llu events written in %.0f ms (%.1f MB): "
              "the next start loads it instead of replaying %llu logged events",
              (unsigned long long)w.position, (double)(recd_now_mono_ns() - t0) / 1e6,
              (double)w.bytes / 1e6, (unsigned long long)after);
    return RECD_OK;
}

/* blob `name` is there with `bytes` bytes */
static int blob_is(struct sgd *op, const char *name, uint64_t bytes)
{
    char path[4096];
    struct stat st;

    return recd_state_blob_path(op->state, name, path, sizeof(path)) == RECD_OK &&
           stat(path, &st) == 0 && (uint64_t)st.st_size == bytes;
}

/* The warm-start image of the last stop, when the state is still the one it was written from
 * (d: the committed snapshot): 1 with the model loaded, the log's last chunk taken up and the
 * uncommitted snapshot of the stop taken over; 0 (why logged) when the start loads as usual. */
static int warm_start(struct sgd *op, const struct snap_desc *d, uint64_t *bytes)
{
    char path[4096], err[512];
    struct warm_desc w;
    struct recd_buf b;
    const char *why = NULL;
    int fresh = 0, ok = 0;
    FILE *f;

    if (recd_state_blob_path(op->state, WARM_DESC, path, sizeof(path)) != RECD_OK ||
        (f = fopen(path, "rb")) == NULL) {
        return 0;
    }
    memset(&w, 0, sizeof(w));
    if (fread(&w, 1, sizeof(w), f) != sizeof(w) || memcmp(w.magic, "SGW1", 4) != 0 ||
        w.version != WARM_VERSION) {
        why = "of an unknown format";
    }
    fclose(f);
    w.name[sizeof(w.name) - 1] = w.job_name[sizeof(w.job_name) - 1] = '\0';
    if (why == NULL && (strchr(w.name, '/') != NULL || strchr(w.job_name, '/') != NULL ||
                        w.name[0] == '\0')) {
        why = "of an unknown format";
    }
    if (why == NULL && (w.position != op->n_events || w.base != d->position)) {
        why = "for another state (events were applied since, or the state was restored)";
    }
    if (why == NULL && w.conf != warm_conf(op)) {
        why = "written under other operators.sgd settings";
    }
    if (why == NULL) {
        /* a count snapshot due at due (commit not reached by the stop) must be the one the
         * stop took over: it cannot be written from a model past it */
        uint64_t due = w.position / op->snapshot_every * op->snapshot_every;
        char want[48];

        blob_name(want, sizeof(want), w.job_pos);
        if (w.job_name[0] != '\0' &&
            (strcmp(w.job_name, want) != 0 || w.job_pos % op->snapshot_every != 0 ||
             w.job_commit_at != w.job_pos + op->snapshot_delay ||
             w.job_commit_at <= w.position || w.job_pos <= w.base ||
             !blob_is(op, w.job_name, w.job_bytes))) {
            why = "its snapshot in progress is not there";
        } else if (due > w.base && due + op->snapshot_delay > w.position &&
                   (w.job_name[0] == '\0' || w.job_pos != due)) {
            why = "a snapshot due before the stop was not written";
        }
    }
    recd_buf_init(&b);
    err[0] = '\0';
    if (why == NULL && read_blob(op, w.name, w.bytes, w.hash, &b, err, sizeof(err)) != RECD_OK) {
        why = err;
    }
    if (why == NULL) {
        recd_progress("sgd: loading the warm-start image (%.0f MB)", (double)w.bytes / 1e6);
        if (load_image(op, &b, &fresh, err, sizeof(err)) != RECD_OK) {
            why = err;
        } else if (fresh) {
            why = "written under other model parameters";
        }
    }
    recd_buf_free(&b);
    if (why == NULL) {
        op->base = d->position;
        snprintf(op->snap_name, sizeof(op->snap_name), "%s", d->name);
        if (replay_log(op, 0, err, sizeof(err)) != RECD_OK) {
            why = err;
        }
    }
    if (why == NULL) {
        if (w.job_name[0] != '\0') {
            job_clear(&op->job);
            op->job.active = op->job.ready = 1;
            op->job.pos = w.job_pos;
            op->job.commit_at = w.job_commit_at;
            op->job.bytes = w.job_bytes;
            op->job.hash = w.job_hash;
            op->job.t0_ns = recd_now_mono_ns();
            snprintf(op->job.name, sizeof(op->job.name), "%s", w.job_name);
        }
        *bytes = w.bytes;
        ok = 1;
    } else {
        RLOG_NOTICE(RECD_LOG_OPERATOR,
                    "sgd: the warm-start image of the last stop is not used (%s): loading the "
                    "snapshot and replaying the log",
                    why);
        drop_models(op);
        op->base = 0;
        op->n_tail = 0;
        op->snap_name[0] = '\0';
    }
    /* used once: the model is in memory, the log is intact (a name of another form is left to
     * remove_orphans, which spares the committed snapshot) */
    if (strncmp(w.name, "sgd-warm-", 9) == 0 && strchr(w.name, '/') == NULL) {
        remove_blob(op, w.name);
    }
    unlink(path);
    return ok;
}

int sgd_store_load(struct sgd *op, char *errstr, size_t errlen)
{
    struct recd_buf b;
    struct snap_desc d;
    int64_t t0 = recd_now_mono_ns(), t1;
    uint64_t warm = 0;
    int rc;

    sgd_store_abort(op);
    if (op->ready.active) {
        remove_blob(op, op->ready.name);
        job_clear(&op->ready);
    }
    drop_models(op);
    op->n_events = op->n_committed = op->base = 0;
    op->n_tail = 0;
    op->snap_name[0] = '\0';
    recd_buf_init(&b);
    if (recd_state_get(op->state, RECD_CF_MODEL, "sr.n", 4, &b) == RECD_OK && b.len == 8) {
        memcpy(&op->n_events, b.data, 8);
    }
    b.len = 0;
    rc = read_desc(op, &d, errstr, errlen);
    if (rc == RECD_OK && warm_start(op, &d, &warm)) {
        remove_orphans(op);
        recd_buf_free(&b);
        op->n_committed = op->n_events;
        t1 = recd_now_mono_ns();
        RLOG_INFO(RECD_LOG_OPERATOR,
                  "sgd: model loaded: warm-start image of the last stop, %llu events (%.1f MB) "
                  "in %.2f s, no logged events replayed",
                  (unsigned long long)op->n_events, (double)warm / 1e6, (double)(t1 - t0) / 1e9);
        if (op->metrics != NULL) {
            recd_metrics_set(op->metrics, "recd_model_start_replayed_events", NULL, 0);
            recd_metrics_set(op->metrics, "recd_model_start_warm", NULL, 1);
        }
        return RECD_OK;
    }
    if (rc == RECD_OK && d.name[0] != '\0') {
        rc = read_blob(op, d.name, d.bytes, d.hash, &b, errstr, errlen);
    }
    if (rc == RECD_OK && d.name[0] != '\0') {
        int fresh = 0;

        recd_progress("sgd: loading the model snapshot (%.0f MB)", (double)d.bytes / 1e6);
        rc = load_image(op, &b, &fresh, errstr, errlen);
        op->base = d.position;
        snprintf(op->snap_name, sizeof(op->snap_name), "%s", d.name);
    } else if (rc == RECD_OK) {
        rc = sgd_model_new(op, &op->model, &op->mf);
        if (rc != RECD_OK) {
            rc = recd_seterr(errstr, errlen, rc, "sgd: cannot create the model");
        }
    }
    recd_buf_free(&b);
    if (rc == RECD_OK && op->base > op->n_events) {
        rc = recd_seterr(errstr, errlen, RECD_ESTATE,
                         "sgd: the model snapshot (%llu events) is past the log's end (%llu)",
                         (unsigned long long)op->base, (unsigned long long)op->n_events);
    }
    if (rc == RECD_OK) {
        remove_orphans(op);
    }
    t1 = recd_now_mono_ns();
    if (rc == RECD_OK) {
        rc = replay_log(op, 1, errstr, errlen);
    }
    if (rc != RECD_OK) {
        return rc;
    }
    if (op->metrics != NULL) {
        recd_metrics_set(op->metrics, "recd_model_start_replayed_events", NULL,
                         (double)(op->n_events - op->base));
        recd_metrics_set(op->metrics, "recd_model_start_warm", NULL, 0);
    }
    op->n_committed = op->n_events;
    RLOG_INFO(RECD_LOG_OPERATOR,
              "sgd: model loaded: snapshot of %llu events (%.1f MB) in %.2f s, %llu logged events "
              "after it replayed in %.2f s",
              (unsigned long long)op->base, (double)d.bytes / 1e6, (double)(t1 - t0) / 1e9,
              (unsigned long long)(op->n_events - op->base),
              (double)(recd_now_mono_ns() - t1) / 1e9);
    return RECD_OK;
}
