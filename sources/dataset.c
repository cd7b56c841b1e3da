/*
 * dataset.c — dataset readers (see dataset.h): the public API — opening a dataset (checking the
 * configuration, detecting the format, handing the directory to the format's reader, counting
 * and placing the phases), turning the loaded sessions into recd_events in replay order, and the
 * statistics. The readers, the replay order and the shared helpers live in the other dataset_*.c
 * files (dataset_internal.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

static const char *const PHASE_NAMES[RECD_DS__NPHASES] = { "train", "test" };

/* ---- public API ------------------------------------------------------------------------------ */
void recd_dataset_conf_init(struct recd_dataset_conf *c)
{
    memset(c, 0, sizeof *c);
    c->format = RECD_DS_AUTO;
    c->phases = RECD_DS_PHASE_ALL;
    c->session_gap_ms = DS_DEFAULT_GAP_MS;
}

void recd_dataset_rewind(struct recd_dataset *ds)
{
    ds_iter_free(&ds->it);
    ds->it_live = 0;
    ds->cur = 0;
    ds->cat_next = 0;
    ds->passed = 0;
    ds->returned = 0;
}

/* The format's reader over the files of dir. */
static int load_format(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen)
{
    int rc;
    switch (ds->format) {
    case RECD_DS_DIGINETICA_SRGNN:
        rc = ds_load_session_files(ds, dir, "test_sessions.txt", 1, errstr, errlen);
        break;
    case RECD_DS_RETAILROCKET_SBR:
        rc = ds_load_session_files(ds, dir, "test_sessions.tsv", 3, errstr, errlen);
        break;
    case RECD_DS_YOOCHOOSE:      rc = ds_load_yoochoose(ds, dir, errstr, errlen); break;
    case RECD_DS_DIGINETICA_RAW: rc = ds_load_diginetica_raw(ds, dir, errstr, errlen); break;
    case RECD_DS_AMAZON_RECBOLE: rc = ds_load_amazon_recbole(ds, dir, errstr, errlen); break;
    default:                     rc = recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: unknown format");
    }
    return rc;
}

/* Each phase's events, clicks, purchases and test cases. */
static void count_events(struct recd_dataset *ds)
{
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        struct ds_phase *ph = &ds->ph[p];
        for (size_t i = 0; i < ph->n; i++) {
            const struct ds_sess *s = &ph->s[i];
            ph->events += s->n;
            for (int32_t k = 0; k < s->n; k++) {
                if (ds->ev[s->first + k].ref < 0) {
                    ph->purchases++;
                } else {
                    ph->clicks++;
                    ph->test_cases += ds_is_test_case(ds->format, p, k);
                }
            }
        }
    }
}

/* The events a full pass returns: the selected phases and catalogue, after skip and limit. */
static int64_t total_events(const struct recd_dataset *ds)
{
    int64_t total = 0;
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        if (ds->conf.phases & (1u << p)) {
            total += ds->ph[p].events;
        }
    }
    if (ds->conf.phases & RECD_DS_PHASE_CATALOG) {
        total += (int64_t)ds->n_items;
    }
    total -= ds->conf.skip;
    if (total < 0) {
        total = 0;
    }
    if (ds->conf.limit && total > ds->conf.limit) {
        total = ds->conf.limit;
    }
    return total;
}

int recd_dataset_open(const struct recd_dataset_conf *conf, struct recd_dataset **out, char *errstr,
                      size_t errlen)
{
    struct recd_dataset *ds = NULL;
    int rc;

    *out = NULL;
    if (!conf->dir) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: no directory given");
    }
    if (conf->format < 0 || conf->format >= RECD_DS__NFORMATS) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: unknown format %d", conf->format);
    }
    if (conf->session_gap_ms < 0 || conf->skip < 0 || conf->limit < 0 ||
        conf->concurrency < RECD_DS_CONCURRENCY_UNLIMITED || conf->start_ts_ms < 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL,
                           "dataset: negative session gap, skip, limit, start or concurrency");
    }
    if (conf->phases & ~RECD_DS_PHASE_ALL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: bad phase selection");
    }

    ds = calloc(1, sizeof *ds);
    if (!ds) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    ds->conf = *conf;
    ds->conf.dir = NULL;
    if (!ds->conf.phases) {
        ds->conf.phases = RECD_DS_PHASE_ALL;
    }
    if (!ds->conf.session_gap_ms) {
        ds->conf.session_gap_ms = DS_DEFAULT_GAP_MS;
    }
    ds->format = conf->format;
    if (ds->format == RECD_DS_AUTO) {
        rc = recd_dataset_detect(conf->dir, errstr, errlen);
        if (rc < 0) {
            goto fail;
        }
        ds->format = rc;
    }

    if (!(conf->cold_frac >= 0 && conf->cold_frac <= 1) ||
        (conf->cold_frac > 0 && ds->format != RECD_DS_AMAZON_RECBOLE)) {
        rc = recd_seterr(errstr, errlen, RECD_EINVAL,
                         "dataset: cold_frac must be in [0, 1] and needs format amazon-recbole");
        goto fail;
    }
    rc = load_format(ds, conf->dir, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }

    count_events(ds);
    rc = ds_place_phases(ds);
    if (rc != RECD_OK) {
        recd_seterr(errstr, errlen, rc, "out of memory");
        goto fail;
    }
    ds->total = total_events(ds);
    *out = ds;
    return RECD_OK;
fail:
    recd_dataset_close(ds);
    return rc;
}

static int emit(struct recd_dataset *ds, int phase, int64_t si, int32_t pos, int64_t ts,
                struct recd_arena *a, struct recd_event *ev, struct recd_dataset_meta *meta)
{
    const struct ds_sess *s = &ds->ph[phase].s[si];
    const struct ds_ev *e = &ds->ev[s->first + pos];
    const char *fmt = ds_format_names[ds->format], *pn = PHASE_NAMES[phase];
    char buf[160];
    int n;

    memset(ev, 0, sizeof *ev);
    ev->partition = -1;
    ev->offset = -1;
    ev->ts_ms = ts;
    n = snprintf(buf, sizeof buf, "%s:%s:%" PRId64 ":%" PRId32, fmt, pn, s->key, s->pos0 + pos);
    ev->event_id = recd_arena_strndup(a, buf, (size_t)n);
    if (ds->user_sessions) {
        n = snprintf(buf, sizeof buf, "user-%" PRId64, s->user);
    } else {
        n = snprintf(buf, sizeof buf, "%s-%" PRId64, pn, s->key);
    }
    char *sid = recd_arena_strndup(a, buf, (size_t)n);
    if (ds->user_sessions) {
        ev->user_id = sid;
    } else if (s->user >= 0) {
        n = snprintf(buf, sizeof buf, "user-%" PRId64, s->user);
        ev->user_id = recd_arena_strndup(a, buf, (size_t)n);
    } else {
        ev->user_id = sid;
    }
    if (!ev->event_id || !sid || !ev->user_id) {
        return RECD_ENOMEM;
    }

    if (e->ref >= 0) {
        struct recd_click *ck = &ev->u.click;
        ev->kind = RECD_KIND_CLICK;
        n = snprintf(buf, sizeof buf, "%" PRId64, e->ref);
        ck->item_id = recd_arena_strndup(a, buf, (size_t)n);
        if (!ck->item_id) {
            return RECD_ENOMEM;
        }
        ck->type = RECD_CLICK_VIEW;
        ck->source = RECD_SRC_BROWSE;
        ck->session_id = sid;
        ck->query_id = NULL;
        ck->context = NULL;
        ck->n_context = 0;
    } else {
        const struct ds_order *o = &ds->orders[-e->ref - 1];
        struct recd_purchase *p = &ev->u.purchase;
        ev->kind = RECD_KIND_PURCHASE;
        n = snprintf(buf, sizeof buf, "%" PRId64, o->order_no);
        p->order_id = recd_arena_strndup(a, buf, (size_t)n);
        p->currency = recd_arena_strndup(a, "EUR", 3);
        p->lines = recd_arena_alloc(a, (size_t)o->n_lines * sizeof *p->lines);
        if (!p->order_id || !p->currency || !p->lines) {
            return RECD_ENOMEM;
        }
        p->n_lines = (uint32_t)o->n_lines;
        for (int32_t k = 0; k < o->n_lines; k++) {
            const struct ds_line *ln = &ds->lines[o->first_line + k];
            n = snprintf(buf, sizeof buf, "%" PRId64, ln->item);
            p->lines[k].item_id = recd_arena_strndup(a, buf, (size_t)n);
            if (!p->lines[k].item_id) {
                return RECD_ENOMEM;
            }
            p->lines[k].quantity = ln->qty;
            p->lines[k].unit_price = 0.0;
        }
    }
    if (meta) {
        meta->phase = phase;
        meta->session_index = si;
        meta->position = s->pos0 + pos;
        meta->session_len = s->pos0 + s->n;
        meta->test_case = e->ref >= 0 && ds_is_test_case(ds->format, phase, pos);
    }
    return RECD_OK;
}

/* Catalogue record `idx` (amazon-recbole). */
static int emit_item(struct recd_dataset *ds, size_t idx, struct recd_arena *a,
                     struct recd_event *ev, struct recd_dataset_meta *meta)
{
    struct recd_item *it = &ev->u.item;
    const char *title = ds->titles[idx] ? ds->titles[idx] : "";
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%zu", idx);

    memset(ev, 0, sizeof *ev);
    ev->kind = RECD_KIND_ITEM;
    ev->partition = -1;
    ev->offset = -1;
    ev->ts_ms = ds->catalog_ts;
    ev->event_id = recd_arena_strndup(a, buf, (size_t)n);
    ev->user_id = NULL;
    it->item_id = ev->event_id;
    it->title = recd_arena_strndup(a, title, strlen(title));
    it->description = recd_arena_strndup(a, "", 0);
    if (!ev->event_id || !it->title || !it->description) {
        return RECD_ENOMEM;
    }
    it->category = NULL;
    it->n_category = 0;
    it->brand = NULL;
    it->price = 0.0;
    it->in_stock = 1;
    it->updated_ts = ds->catalog_ts;
    it->removed = 0;
    if (meta) {
        meta->phase = RECD_DS_CATALOG;
        meta->session_index = (int64_t)idx;
        meta->position = 0;
        meta->session_len = 1;
        meta->test_case = 0;
    }
    return RECD_OK;
}

int recd_dataset_next(struct recd_dataset *ds, struct recd_arena *arena, struct recd_event *ev,
                      struct recd_dataset_meta *meta)
{
    for (;;) {
        if (ds->conf.limit && ds->returned >= ds->conf.limit) {
            return 0;
        }
        if ((ds->conf.phases & RECD_DS_PHASE_CATALOG) && ds->cat_next < ds->n_items) {
            size_t idx = ds->cat_next++; /* the catalogue comes before every click */
            if (ds->passed++ < ds->conf.skip) {
                continue;
            }
            int rc = emit_item(ds, idx, arena, ev, meta);
            if (rc != RECD_OK) {
                return rc;
            }
            ds->returned++;
            return 1;
        }
        if (ds->cur >= RECD_DS__NPHASES) {
            return 0;
        }
        if (!ds->it_live) {
            if (!(ds->conf.phases & (1u << ds->cur)) || ds->ph[ds->cur].n == 0) {
                ds->cur++;
                continue;
            }
            if (ds_iter_init(ds, &ds->it, ds->cur) != RECD_OK) {
                return RECD_ENOMEM;
            }
            ds->it_live = 1;
        }
        int64_t si, ts;
        int32_t pos;
        if (!ds_iter_step(ds, &ds->it, &si, &pos, &ts)) {
            ds_iter_free(&ds->it);
            ds->it_live = 0;
            ds->cur++;
            continue;
        }
        if (ds->passed++ < ds->conf.skip) {
            continue;
        }
        int rc = emit(ds, ds->cur, si, pos, ts, arena, ev, meta);
        if (rc != RECD_OK) {
            return rc;
        }
        ds->returned++;
        return 1;
    }
}

int recd_dataset_format(const struct recd_dataset *ds)
{
    return ds->format;
}

void recd_dataset_stats(const struct recd_dataset *ds, struct recd_dataset_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        st->sessions[p] = (int64_t)ds->ph[p].n;
        st->events[p] = ds->ph[p].events;
        st->clicks[p] = ds->ph[p].clicks;
        st->purchases[p] = ds->ph[p].purchases;
        st->test_cases[p] = ds->ph[p].test_cases;
    }
    st->items = (int64_t)ds->n_items;
}

int64_t recd_dataset_total(const struct recd_dataset *ds)
{
    return ds->total;
}

void recd_dataset_close(struct recd_dataset *ds)
{
    if (!ds) {
        return;
    }
    ds_iter_free(&ds->it);
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        free(ds->ph[p].s);
    }
    free(ds->ev);
    free(ds->orders);
    free(ds->lines);
    for (size_t i = 0; i < ds->n_items; i++) {
        free(ds->titles[i]);
    }
    free(ds->titles);
    free(ds);
}
