/*
 * dataset_replay.c — the replay order of a loaded dataset (dataset.h "Event times" and
 * "Interleaving"): which clicks are test cases, the per-phase merge of the open sessions (a
 * min-heap keyed by the time of each session's next event, ties by the order the sessions were
 * opened), the synthetic in-session dwell times, and where each phase's timeline starts.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

/* ---- replay order --------------------------------------------------------------------------- */
int ds_is_test_case(int format, int phase, int32_t pos)
{
    if (phase != RECD_DS_TEST) {
        return 0;
    }
    switch (format) {
    case RECD_DS_DIGINETICA_SRGNN: return pos >= 1;
    case RECD_DS_RETAILROCKET_SBR: return pos >= 2;
    case RECD_DS_YOOCHOOSE:        return pos >= 1;
    case RECD_DS_AMAZON_RECBOLE:   return 1;
    default:                       return 0;
    }
}

static int ent_less(const struct heap_ent *a, const struct heap_ent *b)
{
    if (a->ts != b->ts) {
        return a->ts < b->ts;
    }
    return a->order < b->order;
}

static void heap_push(struct ds_iter *it, struct heap_ent e)
{
    size_t i = it->n_heap++;
    it->heap[i] = e;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_less(&it->heap[i], &it->heap[p])) {
            break;
        }
        struct heap_ent t = it->heap[i];
        it->heap[i] = it->heap[p];
        it->heap[p] = t;
        i = p;
    }
}

static struct heap_ent heap_pop(struct ds_iter *it)
{
    struct heap_ent top = it->heap[0];
    it->heap[0] = it->heap[--it->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < it->n_heap && ent_less(&it->heap[l], &it->heap[m])) {
            m = l;
        }
        if (r < it->n_heap && ent_less(&it->heap[r], &it->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        struct heap_ent t = it->heap[i];
        it->heap[i] = it->heap[m];
        it->heap[m] = t;
        i = m;
    }
    return top;
}

void ds_iter_free(struct ds_iter *it)
{
    free(it->heap);
    memset(it, 0, sizeof *it);
}

static int64_t dwell(int phase, int64_t sess, int32_t pos)
{
    uint64_t h = ds_mix64(((uint64_t)phase << 62) ^ ((uint64_t)sess << 24) ^ (uint64_t)pos);
    return DS_DWELL_MIN_MS + (int64_t)(h % (uint64_t)DS_DWELL_SPAN_MS);
}

static void iter_open_one(const struct recd_dataset *ds, struct ds_iter *it)
{
    const struct ds_phase *ph = &ds->ph[it->phase];
    int64_t i = it->next_open++;
    const struct ds_sess *s = &ph->s[i];
    struct heap_ent e;
    if (ph->timing == TIME_NONE) {
        int64_t nominal = ph->base + i * ds->conf.session_gap_ms;
        e.ts = it->clock_set && it->clock > nominal ? it->clock : nominal;
    } else if (ph->timing == TIME_START) {
        e.ts = s->start;
    } else {
        e.ts = ds->ev[s->first].ts;
    }
    e.order = it->opened++;
    e.sess = i;
    e.pos = 0;
    heap_push(it, e);
}

int ds_iter_init(const struct recd_dataset *ds, struct ds_iter *it, int phase)
{
    const struct ds_phase *ph = &ds->ph[phase];
    memset(it, 0, sizeof *it);
    it->phase = phase;
    it->cap = ph->n < (size_t)ph->concurrency ? ph->n : (size_t)ph->concurrency;
    if (it->cap == 0) {
        it->cap = 1;
    }
    it->heap = malloc(it->cap * sizeof *it->heap);
    if (!it->heap) {
        return RECD_ENOMEM;
    }
    while (it->n_heap < it->cap && (size_t)it->next_open < ph->n) {
        iter_open_one(ds, it);
    }
    return RECD_OK;
}

int ds_iter_step(const struct recd_dataset *ds, struct ds_iter *it, int64_t *sess, int32_t *pos,
                 int64_t *ts)
{
    const struct ds_phase *ph = &ds->ph[it->phase];
    if (it->n_heap == 0) {
        return 0;
    }
    struct heap_ent e = heap_pop(it);
    *sess = e.sess;
    *pos = e.pos;
    *ts = e.ts;
    it->clock = e.ts;
    it->clock_set = 1;
    const struct ds_sess *s = &ph->s[e.sess];
    if (e.pos + 1 < s->n) {
        e.pos++;
        if (ph->timing == TIME_FULL) {
            e.ts = ds->ev[s->first + e.pos].ts;
        } else {
            e.ts += dwell(it->phase, e.sess, e.pos);
        }
        heap_push(it, e);
    } else if ((size_t)it->next_open < ph->n) {
        iter_open_one(ds, it);
    }
    return 1;
}

/* Time of the last event of a phase replayed from `base` (dry run). */
static int phase_last_ts(struct recd_dataset *ds, int phase, int64_t base, int64_t *last)
{
    struct ds_iter it;
    int64_t sess, ts = base;
    int32_t pos;
    ds->ph[phase].base = base;
    if (ds_iter_init(ds, &it, phase) != RECD_OK) {
        return RECD_ENOMEM;
    }
    while (ds_iter_step(ds, &it, &sess, &pos, &ts))
        ;
    ds_iter_free(&it);
    *last = ts;
    return RECD_OK;
}

static int64_t phase_first_real(const struct ds_phase *ph)
{
    int64_t m = INT64_MAX;
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->s[i].start < m) {
            m = ph->s[i].start;
        }
    }
    return m;
}

int ds_place_phases(struct recd_dataset *ds)
{
    struct ds_phase *tr = &ds->ph[RECD_DS_TRAIN], *te = &ds->ph[RECD_DS_TEST];
    int64_t start = ds->conf.start_ts_ms ? ds->conf.start_ts_ms : DS_DEFAULT_START_MS;
    int64_t last = 0;
    int rc;

    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        struct ds_phase *ph = &ds->ph[p];
        if (ds->conf.concurrency > 0) {
            ph->concurrency = ds->conf.concurrency;
        } else if (ds->conf.concurrency == RECD_DS_CONCURRENCY_UNLIMITED ||
                   ph->timing != TIME_NONE) {
            ph->concurrency = INT_MAX;
        } else {
            ph->concurrency = DS_DEFAULT_CONCURRENCY;
        }
    }
    if (tr->n && tr->timing == TIME_NONE) {
        if (!ds->conf.start_ts_ms && te->n && te->timing != TIME_NONE) {
            /* end the train phase one day before the first real test session */
            rc = phase_last_ts(ds, RECD_DS_TRAIN, 0, &last);
            if (rc != RECD_OK) {
                return rc;
            }
            start = phase_first_real(te) - last - DS_DAY_MS;
        }
        tr->base = start;
    }
    if (te->n && te->timing == TIME_NONE) {
        if (tr->n) {
            rc = phase_last_ts(ds, RECD_DS_TRAIN, tr->base, &last);
            if (rc != RECD_OK) {
                return rc;
            }
            te->base = last + ds->conf.session_gap_ms;
        } else {
            te->base = start;
        }
    }
    return RECD_OK;
}
