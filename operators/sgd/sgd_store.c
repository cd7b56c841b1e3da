/*
 * sgd_store.c — the sgd operator's persistence: the event log and the model snapshot, both in
 * the MODEL column family and both written in the batch's atomic write, so that they commit
 * together with the input offsets (exactly-once) and a kill at any point loses nothing.
 *
 * Keys:
 *   "sr.n"                      u64: events logged since the first start (the log's end)
 *   "srl" 0x00 <chunk be64>     the event log: chunk c holds the records of events
 *                               [max(c * LOG_CHUNK, base), min((c + 1) * LOG_CHUNK, n)), each
 *                               {session key u64, item i32, ts i64}
 *   "sr.snap"                   the snapshot's descriptor (struct snap_desc)
 *   "srs" 0x00 <piece be32>     the snapshot image in pieces of SNAP_PIECE bytes
 *
 * The snapshot is the model after its first `base` events: "SGS1", u32 version, u64 position,
 * u8 has_mf, the sessrec image (models/sessrec/sessrec_snapshot.c), the MF image when has_mf
 * (models/mf/mf.c, mf_save). One snapshot is kept: writing one rewrites the pieces, deletes
 * the extra old pieces and every log record before its position in the same write. A start
 * loads the snapshot and replays the log after it; the snapshot's checksum (XXH3-64 of the
 * image) is checked first. Snapshot positions depend only on the event sequence (sgd.c), so
 * the stored bytes never depend on batch boundaries or restarts.
 *
 * A snapshot saved under other model parameters (the operators.sgd keys changed) or another
 * text dimension cannot be loaded: the model starts empty and learns from the log after it,
 * with a warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "services/embed.h"
#include "log.h"
#include "recd.h"
#include "sgd_internal.h"
#include "state.h"

#define SNAP_VERSION 1u
#define SNAP_PIECE   (4u << 20) /* bytes per snapshot piece (one RocksDB value) */

#pragma pack(push, 1)
struct snap_desc {
    char magic[4]; /* "SGD1" */
    uint32_t version;
    uint64_t position; /* events the snapshot covers */
    uint64_t bytes;    /* image size */
    uint32_t pieces;
    uint64_t hash; /* XXH3-64 of the image */
};
#pragma pack(pop)

static void log_key(uint8_t key[12], uint64_t chunk)
{
    memcpy(key, "srl", 4);
    for (int i = 11; i >= 4; i--) {
        key[i] = (uint8_t)chunk;
        chunk >>= 8;
    }
}

static void piece_key(uint8_t key[8], uint32_t piece)
{
    memcpy(key, "srs", 4);
    for (int i = 7; i >= 4; i--) {
        key[i] = (uint8_t)piece;
        piece >>= 8;
    }
}

/* ---- taking a snapshot ------------------------------------------------------------------ */

static int to_buf(void *ctx, const void *p, size_t n)
{
    return recd_buf_append(ctx, p, n) == RECD_OK ? 0 : -1;
}

int sgd_store_snapshot(struct sgd *op, uint64_t pos)
{
    int64_t t0 = recd_now_mono_ns();
    const uint32_t version = SNAP_VERSION;
    const uint8_t has_mf = op->mf != NULL;

    op->snap.len = 0;
    if (recd_buf_append(&op->snap, "SGS1", 4) != RECD_OK ||
        recd_buf_append(&op->snap, &version, sizeof(version)) != RECD_OK ||
        recd_buf_append(&op->snap, &pos, sizeof(pos)) != RECD_OK ||
        recd_buf_append(&op->snap, &has_mf, 1) != RECD_OK ||
        sessrec_save(op->model, to_buf, &op->snap) != 0 ||
        (op->mf != NULL && mf_save(op->mf, to_buf, &op->snap) != 0)) {
        op->snap.len = 0;
        return RECD_ENOMEM;
    }
    op->snap_pos = pos;
    op->snap_t0 = t0;
    op->snap_ns = recd_now_mono_ns() - t0;
    return RECD_OK;
}

/* ---- the batch's write ------------------------------------------------------------------ */

/* the snapshot's pieces and descriptor, the extra old pieces and the log before it deleted */
static int write_snapshot(struct sgd *op, struct recd_txn *txn)
{
    uint32_t pieces = (uint32_t)((op->snap.len + SNAP_PIECE - 1) / SNAP_PIECE);
    struct snap_desc d;
    uint8_t key[12], to[12];
    int rc;

    log_key(key, 0);
    log_key(to, op->snap_pos / LOG_CHUNK + 1);
    rc = recd_txn_del_range(txn, RECD_CF_MODEL, key, sizeof(key), to, sizeof(to));
    for (uint32_t i = 0; rc == RECD_OK && i < pieces; i++) {
        size_t off = (size_t)i * SNAP_PIECE;
        size_t len = op->snap.len - off < SNAP_PIECE ? op->snap.len - off : SNAP_PIECE;

        piece_key(key, i);
        rc = recd_txn_put(txn, RECD_CF_MODEL, key, 8, op->snap.data + off, len);
    }
    for (uint32_t i = pieces; rc == RECD_OK && i < op->snap_pieces; i++) {
        piece_key(key, i);
        rc = recd_txn_del(txn, RECD_CF_MODEL, key, 8);
    }
    memcpy(d.magic, "SGD1", 4);
    d.version = SNAP_VERSION;
    d.position = op->snap_pos;
    d.bytes = op->snap.len;
    d.pieces = pieces;
    d.hash = XXH3_64bits(op->snap.data, op->snap.len);
    if (rc == RECD_OK) {
        rc = recd_txn_put(txn, RECD_CF_MODEL, "sr.snap", 7, &d, sizeof(d));
    }
    op->snap_pieces_next = pieces;
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
    if (op->snap.len > 0) {
        size_t skip = (size_t)(op->snap_pos - op->n_committed);

        op->n_next_tail = 0;
        rc = write_snapshot(op, txn);
        if (rc == RECD_OK) {
            rc = write_log(op, txn, op->snap_pos, NULL, 0, op->pending + skip,
                           op->n_pending - skip);
        }
    } else if (op->n_pending > 0) {
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
        if (op->snap.len > 0) {
            /* made: the image; committed: from the image's start to the end of the batch's
             * write (the rest of the batch's events, the write of the pieces, the commit) —
             * the most the snapshot can have delayed the batch */
            RLOG_INFO(RECD_LOG_OPERATOR,
                      "sgd: model snapshot at %llu events: %.1f MB, made in %.1f ms, committed "
                      "%.1f ms after its start, %llu log events before it deleted",
                      (unsigned long long)op->snap_pos, (double)op->snap.len / 1e6,
                      (double)op->snap_ns / 1e6, (double)(recd_now_mono_ns() - op->snap_t0) / 1e6,
                      (unsigned long long)(op->snap_pos - op->base));
            op->base = op->snap_pos;
            op->snap_pieces = op->snap_pieces_next;
        }
        op->n_committed = op->n_events;
    }
    op->n_pending = 0;
    recd_buf_free(&op->snap); /* as large as the model: not kept between snapshots */
    recd_buf_init(&op->snap);
}

/* ---- loading ---------------------------------------------------------------------------- */

/* The snapshot's image into b; 0 pieces (no snapshot): b empty. */
static int read_image(struct sgd *op, struct snap_desc *d, struct recd_buf *b, char *errstr,
                      size_t errlen)
{
    struct recd_buf v;
    uint8_t key[8];
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
        return recd_seterr(errstr, errlen, RECD_ESTATE, "sgd: unreadable snapshot descriptor");
    }
    memcpy(d, v.data, sizeof(*d));
    if (memcmp(d->magic, "SGD1", 4) != 0 || d->version != SNAP_VERSION) {
        recd_buf_free(&v);
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: model snapshot of an unknown format (version %u)", d->version);
    }
    for (uint32_t i = 0; rc == RECD_OK && i < d->pieces; i++) {
        recd_progress("sgd: reading the model snapshot: %.0f of %.0f MB", (double)b->len / 1e6,
                      (double)d->bytes / 1e6);
        piece_key(key, i);
        rc = recd_state_get(op->state, RECD_CF_MODEL, key, sizeof(key), &v);
        if (rc == RECD_OK) {
            rc = recd_buf_append(b, v.data, v.len);
        }
    }
    recd_buf_free(&v);
    if (rc != RECD_OK || b->len != d->bytes || XXH3_64bits(b->data, b->len) != d->hash) {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: the model snapshot at %llu events is incomplete or corrupt "
                           "(%zu of %llu bytes, checksum %s)",
                           (unsigned long long)d->position, b->len, (unsigned long long)d->bytes,
                           b->len == d->bytes ? "wrong" : "not checked");
    }
    return RECD_OK;
}

/* the models of an image; a model saved under other parameters: empty ones, with a warning */
static int load_image(struct sgd *op, const struct recd_buf *b, char *errstr, size_t errlen)
{
    const unsigned char *p = b->data;
    size_t used = 0, tdim = op->embed != NULL ? recd_embed_dim(op->embed) : 0;
    char err[160];
    int r = -1;

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
        RLOG_WARN(RECD_LOG_OPERATOR,
                  "sgd: the model snapshot cannot be used (%s: the operators.sgd model keys "
                  "changed since it was written): the model starts empty",
                  err);
        sessrec_destroy(op->model);
        mf_destroy(op->mf);
        op->model = NULL;
        op->mf = NULL;
        return sgd_model_new(op, &op->model, &op->mf);
    }
    return RECD_OK;
}

/* the log after the snapshot, through the live code path */
static int replay_log(struct sgd *op, char *errstr, size_t errlen)
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
            rc = sgd_apply(op, &r);
            if (rc != RECD_OK) {
                rc = rc == RECD_ESTATE
                    ? recd_seterr(errstr, errlen, rc, "sgd: corrupt event log entry")
                    : recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
            }
            op->tail[op->n_tail++] = r; /* kept while the chunk is partial, for appends */
        }
        g += cnt;
        recd_progress("sgd: replaying the event log: %llu of %llu events",
                      (unsigned long long)(g - op->base),
                      (unsigned long long)(op->n_events - op->base));
        if (g % LOG_CHUNK == 0) {
            op->n_tail = 0;
        }
    }
    recd_state_iter_destroy(it);
    if (rc == RECD_OK && g != op->n_events) {
        rc = recd_seterr(errstr, errlen, RECD_ESTATE,
                         "sgd: the event log ends at %llu events, %llu expected",
                         (unsigned long long)g, (unsigned long long)op->n_events);
    }
    return rc;
}

int sgd_store_load(struct sgd *op, char *errstr, size_t errlen)
{
    struct recd_buf b;
    struct snap_desc d;
    int64_t t0 = recd_now_mono_ns(), t1;
    int rc;

    sessrec_destroy(op->model);
    mf_destroy(op->mf);
    op->model = NULL;
    op->mf = NULL;
    op->n_events = op->n_committed = op->base = 0;
    op->n_tail = 0;
    op->snap_pieces = 0;
    recd_buf_init(&b);
    if (recd_state_get(op->state, RECD_CF_MODEL, "sr.n", 4, &b) == RECD_OK && b.len == 8) {
        memcpy(&op->n_events, b.data, 8);
    }
    b.len = 0;
    rc = read_image(op, &d, &b, errstr, errlen);
    if (rc == RECD_OK && d.pieces > 0) {
        recd_progress("sgd: loading the model snapshot (%.0f MB)", (double)d.bytes / 1e6);
        rc = load_image(op, &b, errstr, errlen);
        op->base = d.position;
        op->snap_pieces = d.pieces;
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
    t1 = recd_now_mono_ns();
    if (rc == RECD_OK) {
        rc = replay_log(op, errstr, errlen);
    }
    if (rc != RECD_OK) {
        return rc;
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
