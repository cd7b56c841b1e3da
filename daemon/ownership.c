/*
 * ownership.c — publishing ownership, follow limits and held records of replicated learning
 * (ownership.h).
 */
#include "ownership.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "recd.h"

struct held {
    int64_t offset;
    size_t bytes;   /* the caller's size of msg (recd_own_hold) */
    void *msg;      /* owned */
};

struct part {
    int64_t pub_from; /* owned: first LOUD offset (< 0: all) */
    int64_t limit;    /* not owned: the owner's committed next offset (< 0: none yet) */
    int64_t acked;    /* next offset with output acknowledged (< 0: none) */
    int64_t took;     /* next offset after the last one taken into a batch (< 0: none) */
    struct held *h;   /* owned: held records, h[head..n) in offset order */
    size_t head, n, cap;
    size_t held_bytes; /* sum of h[head..n).bytes */
};

struct boff {
    int kind;
    int32_t p;
    int64_t next;
};

struct pending {
    uint64_t seq;
    int64_t stamp;  /* recd_own_batch_stamp (0: none) */
    int done;
    struct boff *o; /* owned */
    size_t n, cap;
};

struct recd_own {
    int32_t np;
    void (*free_msg)(void *);
    unsigned char *owned;   /* owned: [np] 0 not owned, 1 settling, 2 publishing */
    unsigned char *caught;  /* owned: [np] publishing and every topic taken up to pub_from */
    int64_t *settle_until;  /* owned: [np] */
    struct part *parts;     /* owned: [RECD_OWN_NKINDS * np] */
    size_t n_held;
    int64_t ahead;
    struct pending *q;      /* owned: batches not yet folded into `acked`, q[qhead..qn) */
    size_t qhead, qn, qcap;
    uint64_t next_seq;
    int64_t acked_stamp;    /* stamp of the newest batch folded into `acked` (0: none) */
    size_t rr_pos;          /* release cursor: index into parts */
    size_t rr_taken;        /* records released at rr_pos in its current slice */
};

static int caught_up(const struct recd_own *o, int32_t p);

static struct part *part_of(const struct recd_own *o, int kind, int32_t p)
{
    if (o == NULL || kind < 0 || kind >= RECD_OWN_NKINDS || p < 0 || p >= o->np) {
        return NULL;
    }
    return &o->parts[(size_t)kind * (size_t)o->np + (size_t)p];
}

struct recd_own *recd_own_new(int32_t n_partitions, void (*free_msg)(void *msg))
{
    struct recd_own *o;
    size_t i, n;

    if (n_partitions < 1) {
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return NULL;
    }
    o->np = n_partitions;
    o->free_msg = free_msg;
    n = (size_t)RECD_OWN_NKINDS * (size_t)n_partitions;
    o->owned = calloc((size_t)n_partitions, 1);
    o->settle_until = calloc((size_t)n_partitions, sizeof(*o->settle_until));
    o->caught = calloc((size_t)n_partitions, 1);
    o->parts = calloc(n, sizeof(*o->parts));
    if (o->owned == NULL || o->settle_until == NULL || o->caught == NULL || o->parts == NULL) {
        recd_own_destroy(o);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        o->parts[i].pub_from = -1;
        o->parts[i].limit = -1;
        o->parts[i].acked = -1;
        o->parts[i].took = -1;
    }
    return o;
}

void recd_own_destroy(struct recd_own *o)
{
    size_t i, j, n;

    if (o == NULL) {
        return;
    }
    n = o->parts != NULL ? (size_t)RECD_OWN_NKINDS * (size_t)o->np : 0;
    for (i = 0; i < n; i++) {
        struct part *pt = &o->parts[i];

        for (j = pt->head; j < pt->n; j++) {
            if (o->free_msg != NULL) {
                o->free_msg(pt->h[j].msg);
            }
        }
        free(pt->h);
    }
    for (i = 0; i < o->qcap; i++) { /* entries past qn keep their buffers for reuse */
        free(o->q[i].o);
    }
    free(o->q);
    free(o->parts);
    free(o->settle_until);
    free(o->caught);
    free(o->owned);
    free(o);
}

int32_t recd_own_n_partitions(const struct recd_own *o)
{
    return o->np;
}

void recd_own_assign(struct recd_own *o, int32_t p, const int64_t from[RECD_OWN_NKINDS],
                     int64_t settle_until)
{
    int k;

    if (p < 0 || p >= o->np) {
        return;
    }
    o->owned[p] = settle_until > 0 ? 1 : 2;
    o->caught[p] = 0;
    o->settle_until[p] = settle_until;
    for (k = 0; k < RECD_OWN_NKINDS; k++) {
        part_of(o, k, p)->pub_from = from[k];
    }
}

size_t recd_own_settle(struct recd_own *o, int64_t now)
{
    size_t n = 0;

    for (int32_t p = 0; p < o->np; p++) {
        if (o->owned[p] != 1 || now < o->settle_until[p]) {
            continue;
        }
        for (int k = 0; k < RECD_OWN_NKINDS; k++) {
            struct part *pt = part_of(o, k, p);

            if (pt->limit > pt->pub_from) {
                pt->pub_from = pt->limit;
            }
        }
        o->owned[p] = 2;
        n++;
    }
    return n;
}

void recd_own_raise_pub_from(struct recd_own *o, int32_t p, const int64_t from[RECD_OWN_NKINDS])
{
    if (p < 0 || p >= o->np || o->owned[p] == 0) {
        return;
    }
    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        struct part *pt = part_of(o, k, p);

        if (from[k] > pt->pub_from) {
            pt->pub_from = from[k];
            o->caught[p] = 0; /* loud again only once every topic is taken up to it */
        }
    }
}

int recd_own_caught_up(const struct recd_own *o, int32_t p)
{
    return p >= 0 && p < o->np && o->owned[p] == 2 && caught_up(o, p);
}

int recd_own_settling(const struct recd_own *o, int32_t p)
{
    return p >= 0 && p < o->np && o->owned[p] == 1;
}

int64_t recd_own_pub_from(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->pub_from : -1;
}

void recd_own_revoke(struct recd_own *o, int32_t p, const int64_t next[RECD_OWN_NKINDS])
{
    int k;

    if (p < 0 || p >= o->np) {
        return;
    }
    o->owned[p] = 0;
    for (k = 0; k < RECD_OWN_NKINDS; k++) {
        recd_own_set_limit(o, k, p, next[k]);
    }
}

int recd_own_owned(const struct recd_own *o, int32_t p)
{
    return p >= 0 && p < o->np && o->owned[p] == 2;
}

size_t recd_own_n_owned(const struct recd_own *o)
{
    size_t n = 0;

    for (int32_t p = 0; p < o->np; p++) {
        n += o->owned[p] != 0;
    }
    return n;
}

void recd_own_set_limit(struct recd_own *o, int kind, int32_t p, int64_t limit)
{
    struct part *pt = part_of(o, kind, p);

    if (pt != NULL && o->owned[p] != 2 && limit > pt->limit) {
        pt->limit = limit;
    }
}

int64_t recd_own_limit(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->limit : -1;
}

void recd_own_took(struct recd_own *o, int kind, int32_t p, int64_t next)
{
    struct part *pt = part_of(o, kind, p);

    if (pt != NULL && next > pt->took) {
        pt->took = next;
    }
}

int64_t recd_own_took_next(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->took : -1;
}

static int caught_up(const struct recd_own *o, int32_t p)
{
    if (o->caught[p]) {
        return 1;
    }
    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        const struct part *pt = part_of(o, k, p);

        if (pt->pub_from > 0 && pt->took < pt->pub_from) {
            return 0;
        }
    }
    ((struct recd_own *)o)->caught[p] = 1; /* took and pub_from only rise while publishing */
    return 1;
}

/* A deletion of partition p that another instance applied: it forgot what that instance had
 * applied of the user before it, and the clicks, purchases and queries it committed with the
 * deletion may not all be taken here yet (each topic is fetched at its own pace; a replica that
 * trails takes the small deletions topic first). Applied before them, the deletion would be
 * undone by them. So it waits until every event topic of p is taken up to what the owner
 * committed (or, settling, to where publishing starts). */
static int deletion_waits(const struct recd_own *o, int32_t p)
{
    static const int kinds[] = { RECD_KIND_CLICK, RECD_KIND_PURCHASE, RECD_KIND_QUERY };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const struct part *pt = part_of(o, kinds[i], p);
        int64_t upto = pt->limit > pt->pub_from ? pt->limit : pt->pub_from;

        if (upto > 0 && pt->took < upto) {
            return 1;
        }
    }
    return 0;
}

enum recd_own_class recd_own_classify(const struct recd_own *o, int kind, int32_t p,
                                      int64_t offset)
{
    const struct part *pt = part_of(o, kind, p);

    if (pt == NULL) {
        return RECD_OWN_HOLD; /* a partition recd does not know of yet */
    }
    if (kind == RECD_KIND_DELETION && o->owned[p] != 2) {
        /* never ahead of the owner's commit (o->ahead): see deletion_waits */
        int below = offset < pt->limit || (o->owned[p] == 1 && offset < pt->pub_from);

        return below && !deletion_waits(o, p) ? RECD_OWN_SILENT : RECD_OWN_HOLD;
    }
    if (o->owned[p] == 2) {
        if (offset < pt->pub_from) {
            return RECD_OWN_SILENT;
        }
        return caught_up(o, p) ? RECD_OWN_LOUD : RECD_OWN_HOLD;
    }
    if (o->owned[p] == 1) { /* settling: silent below what the group committed so far */
        return offset < pt->pub_from || offset < pt->limit ? RECD_OWN_SILENT : RECD_OWN_HOLD;
    }
    return offset < (pt->limit > 0 ? pt->limit : 0) + o->ahead ? RECD_OWN_SILENT
                                                                 : RECD_OWN_HOLD;
}

void recd_own_set_ahead(struct recd_own *o, int64_t ahead)
{
    o->ahead = ahead > 0 ? ahead : 0;
}


int recd_own_hold(struct recd_own *o, int kind, int32_t p, int64_t offset, void *msg,
                  size_t bytes, size_t *n_held)
{
    struct part *pt = part_of(o, kind, p);

    if (pt == NULL) {
        return RECD_EINVAL;
    }
    if (pt->head > 0 && pt->head == pt->n) {
        pt->head = pt->n = 0;
    }
    if (pt->n == pt->cap) {
        if (pt->head > pt->cap / 2) { /* reuse the released front */
            memmove(pt->h, pt->h + pt->head, (pt->n - pt->head) * sizeof(*pt->h));
            pt->n -= pt->head;
            pt->head = 0;
        } else {
            size_t nc = pt->cap ? pt->cap * 2 : 256;
            struct held *nh = realloc(pt->h, nc * sizeof(*nh));

            if (nh == NULL) {
                return RECD_ENOMEM;
            }
            pt->h = nh;
            pt->cap = nc;
        }
    }
    pt->h[pt->n].offset = offset;
    pt->h[pt->n].bytes = bytes;
    pt->h[pt->n].msg = msg;
    pt->n++;
    pt->held_bytes += bytes;
    o->n_held++;
    if (n_held != NULL) {
        *n_held = pt->n - pt->head;
    }
    return RECD_OK;
}

size_t recd_own_n_held(const struct recd_own *o)
{
    return o->n_held;
}

size_t recd_own_n_held_part(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->n - pt->head : 0;
}

size_t recd_own_held_bytes_part(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->held_bytes : 0;
}

/* Held records leave round-robin over the partitions, a few at a time: released in one
 * partition's whole backlog after another, a partition's events would reach the operators days
 * of event time after another's (sessionize's event-time high-water mark would then make the
 * late partition's events "late" and its sessions expire). */
#define RELEASE_SLICE 8

size_t recd_own_release(struct recd_own *o, size_t max,
                        void (*take)(void *ctx, void *msg, int kind, int32_t p,
                                     enum recd_own_class cls),
                        void *ctx)
{
    size_t released = 0, idle = 0, n = (size_t)RECD_OWN_NKINDS * (size_t)o->np;

    /* the cursor goes on where the last call stopped: with small batches (batch.max_records =
     * 1 releases one record a call) restarting at the first partition would drain it first */
    while (o->n_held > 0 && released < max && idle < n) {
        struct part *pt = &o->parts[o->rr_pos];
        int k = (int)(o->rr_pos / (size_t)o->np);
        int32_t p = (int32_t)(o->rr_pos % (size_t)o->np);
        struct held *h = pt->head < pt->n ? &pt->h[pt->head] : NULL;
        enum recd_own_class c = h != NULL ? recd_own_classify(o, k, p, h->offset) : RECD_OWN_HOLD;

        if (c == RECD_OWN_HOLD || o->rr_taken >= RELEASE_SLICE) {
            idle = c == RECD_OWN_HOLD ? idle + 1 : 0;
            o->rr_pos = (o->rr_pos + 1) % n;
            o->rr_taken = 0;
            continue;
        }
        idle = 0;
        pt->head++;
        pt->held_bytes -= h->bytes;
        o->n_held--;
        o->rr_taken++;
        released++;
        take(ctx, h->msg, k, p, c);
    }
    return released;
}

/* ---- acknowledgement order ----------------------------------------------------------------- */

static struct pending *pending_find(struct recd_own *o, uint64_t seq)
{
    for (size_t i = o->qhead; i < o->qn; i++) {
        if (o->q[i].seq == seq) {
            return &o->q[i];
        }
    }
    return NULL;
}

static void fold_done(struct recd_own *o)
{
    while (o->qhead < o->qn && o->q[o->qhead].done) {
        struct pending *e = &o->q[o->qhead];

        for (size_t i = 0; i < e->n; i++) {
            struct part *pt = part_of(o, e->o[i].kind, e->o[i].p);

            if (pt != NULL && e->o[i].next > pt->acked) {
                pt->acked = e->o[i].next;
            }
        }
        if (e->stamp > o->acked_stamp) {
            o->acked_stamp = e->stamp;
        }
        e->n = 0; /* keeps its buffer for reuse */
        o->qhead++;
    }
    if (o->qhead == o->qn) {
        o->qhead = 0;
        o->qn = 0;
    }
}

int recd_own_batch_begin(struct recd_own *o, uint64_t *seq)
{
    struct pending *e;

    if (o->qn == o->qcap) {
        if (o->qhead > 0) {
            /* move the live entries to the front, the freed buffers behind them */
            size_t live = o->qn - o->qhead;
            struct pending tmp;

            for (size_t i = 0; i < live; i++) {
                tmp = o->q[i];
                o->q[i] = o->q[o->qhead + i];
                o->q[o->qhead + i] = tmp;
            }
            o->qn = live;
            o->qhead = 0;
        } else {
            size_t nc = o->qcap ? o->qcap * 2 : 16;
            struct pending *nq = realloc(o->q, nc * sizeof(*nq));

            if (nq == NULL) {
                return RECD_ENOMEM;
            }
            memset(nq + o->qcap, 0, (nc - o->qcap) * sizeof(*nq));
            o->q = nq;
            o->qcap = nc;
        }
    }
    e = &o->q[o->qn++];
    e->seq = o->next_seq++;
    e->stamp = 0;
    e->done = 0;
    e->n = 0;
    *seq = e->seq;
    return RECD_OK;
}

void recd_own_batch_offset(struct recd_own *o, uint64_t seq, int kind, int32_t p, int64_t next)
{
    struct pending *e = pending_find(o, seq);
    size_t i;

    if (e == NULL) {
        return;
    }
    for (i = 0; i < e->n; i++) {
        if (e->o[i].kind == kind && e->o[i].p == p) {
            if (next > e->o[i].next) {
                e->o[i].next = next;
            }
            return;
        }
    }
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 8;
        struct boff *no = realloc(e->o, nc * sizeof(*no));

        if (no == NULL) {
            return; /* the offset is committed with a later batch of the partition */
        }
        e->o = no;
        e->cap = nc;
    }
    e->o[e->n].kind = kind;
    e->o[e->n].p = p;
    e->o[e->n].next = next;
    e->n++;
}

void recd_own_batch_stamp(struct recd_own *o, uint64_t seq, int64_t stamp)
{
    struct pending *e = pending_find(o, seq);

    if (e != NULL) {
        e->stamp = stamp;
    }
}

int64_t recd_own_acked_stamp(const struct recd_own *o)
{
    return o->acked_stamp;
}

void recd_own_batch_done(struct recd_own *o, uint64_t seq)
{
    struct pending *e = pending_find(o, seq);

    if (e != NULL) {
        e->done = 1;
        fold_done(o);
    }
}

void recd_own_batch_abort(struct recd_own *o, uint64_t seq)
{
    if (o->qn > o->qhead && o->q[o->qn - 1].seq == seq) {
        o->q[o->qn - 1].n = 0;
        o->qn--;
        fold_done(o);
    }
}

int64_t recd_own_acked(const struct recd_own *o, int kind, int32_t p)
{
    const struct part *pt = part_of(o, kind, p);

    return pt != NULL ? pt->acked : -1;
}

void recd_own_set_acked(struct recd_own *o, int kind, int32_t p, int64_t next)
{
    struct part *pt = part_of(o, kind, p);

    if (pt != NULL && next > pt->acked) {
        pt->acked = next;
    }
}
