/*
 * embed.c — the embed operator: item text -> vector on catalogue ingest, query text -> vector
 * on demand (LRU-ish cache), behind one encoder interface (encoder.h). Offers service "embed"
 * (services/embed.h).
 *
 * State: ITEMS <item>\0vec -> dim floats (the item's text vector); MODEL emb.dim -> int32
 * (changing the encoder or dim requires re-ingesting the catalogue: the operator refuses to
 * start on vectors of another dimension).
 * Determinism: with the MiniLM encoder, item texts are encoded one at a time, so a vector
 * never depends on which other texts shared its batch (SGEMM blocking). Query vectors are not
 * state (they only shape published lists).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bigalloc.h"
#include "conf.h"
#include "encoder.h"
#include "log.h"
#include "metrics.h"
#include "minilm.h"
#include "operator.h"
#include "recd.h"
#include "services/catalog.h"
#include "services/embed.h"
#include "state.h"
#include "strmap.h"

struct embed_conf {
    char *encoder;
    int64_t dim;
    char *model_dir;
    int64_t query_cache;
};

static const char *const encoders[] = { "hash", "minilm", NULL };

#define C(f) offsetof(struct embed_conf, f)
static const struct recd_conf_decl embed_decls[] = {
    { "encoder", RECD_CT_STRING, "\"hash\"", 1, 16, 0, C(encoder),
      "Text encoder: hash (signed feature hashing of words and character trigrams, no model "
      "file) or minilm (pretrained all-MiniLM-L6-v2 sentence encoder on OpenBLAS; needs "
      "model_dir, installed by scripts/install-model.sh).",
      encoders, NULL },
    { "dim", RECD_CT_INT, "64", 8, 4096, 0, C(dim),
      "Vector dimension of the hash encoder (minilm: always 384).", NULL, NULL },
    { "model_dir", RECD_CT_STRING, "\"/var/lib/recd/models/all-MiniLM-L6-v2\"", 1, 4096, 0,
      C(model_dir), "Directory of the MiniLM model (model.safetensors, vocab.txt, ...).", NULL,
      NULL },
    { "query_cache", RECD_CT_INT, "10000", 0, 10000000, 0, C(query_cache),
      "Query vectors kept in memory (head queries repeat); 0 disables the cache.", NULL, NULL },
};
#undef C

static const struct recd_conf_unit embed_unit = {
    "operators.embed", "Text embeddings of items and queries (hash or MiniLM encoder).",
    embed_decls, RECD_ARRAY_SIZE(embed_decls), sizeof(struct embed_conf)
};

struct recd_embed {
    struct recd_encoder enc;          /* owned */
    int one_at_a_time;
    struct recd_catalog *cat;         /* borrowed */
    struct recd_state *state;         /* borrowed */
    struct recd_metrics *metrics;     /* borrowed, may be NULL */
    float *items;                     /* owned, rows x dim */
    size_t rows, cap_rows;
    struct recd_idxset dirty;         /* rows to write at checkpoint */
    size_t n_with_text;
    struct recd_strmap *qcache;       /* text -> float[dim] (owned) */
    int64_t qcache_cap;
    double q_hits, q_misses;
    struct recd_buf key;
};

size_t recd_embed_dim(const struct recd_embed *e)
{
    return e->enc.dim;
}

const float *recd_embed_items(const struct recd_embed *e, size_t *rows)
{
    *rows = e->rows;
    return e->items;
}

int recd_embed_has_items(const struct recd_embed *e)
{
    return e->n_with_text > 0;
}

int recd_embed_query(struct recd_embed *e, const char *text, float *out)
{
    float *v = e->qcache ? recd_strmap_get(e->qcache, text) : NULL;
    char err[256];

    if (v != NULL) {
        memcpy(out, v, e->enc.dim * sizeof(float));
        e->q_hits++;
        return RECD_OK;
    }
    e->q_misses++;
    if (e->enc.encode(e->enc.ctx, &text, 1, out, err, sizeof(err)) != RECD_OK) {
        RLOG_ERR(RECD_LOG_OPERATOR, "embed: query: %s", err);
        return RECD_ERR;
    }
    if (e->qcache != NULL) {
        if ((int64_t)recd_strmap_count(e->qcache) >= e->qcache_cap) {
            recd_strmap_clear(e->qcache);   /* simple generational eviction */
        }
        v = malloc(e->enc.dim * sizeof(float));
        if (v != NULL) {
            memcpy(v, out, e->enc.dim * sizeof(float));
            if (recd_strmap_put(e->qcache, text, v) != RECD_OK) {
                free(v);
            }
        }
    }
    return RECD_OK;
}

static int grow_rows(struct recd_embed *e, size_t need)
{
    size_t nc = e->cap_rows ? e->cap_rows : 1024;

    if (need <= e->cap_rows) {
        if (need > e->rows) {
            e->rows = need;
        }
        return RECD_OK;
    }
    while (nc < need) {
        nc *= 2;
    }
    /* the item text matrix: random rows for every candidate, and the SGEMM's operand */
    float *m = recd_big_realloc(e->items, e->cap_rows * e->enc.dim * sizeof(float),
                                nc * e->enc.dim * sizeof(float));
    if (m == NULL) {
        return RECD_ENOMEM;
    }
    e->items = m;
    if (recd_idxset_grow(&e->dirty, nc) != RECD_OK) {
        return RECD_ENOMEM;
    }
    memset(e->items + e->cap_rows * e->enc.dim, 0, (nc - e->cap_rows) * e->enc.dim * sizeof(float));
    e->cap_rows = nc;
    e->rows = need;
    return RECD_OK;
}

static int load(struct recd_embed *e, char *errstr, size_t errlen)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    struct recd_buf b;
    int32_t dim = 0;

    recd_buf_init(&b);
    if (recd_state_get(e->state, RECD_CF_MODEL, "emb.dim", 7, &b) == RECD_OK && b.len == 4) {
        memcpy(&dim, b.data, 4);
    }
    recd_buf_free(&b);
    if (dim != 0 && (size_t)dim != e->enc.dim) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "embed: the state holds %d-dimensional item vectors but encoder %s "
                           "makes %zu: restore a matching config or start from empty state",
                           (int)dim, e->enc.name, e->enc.dim);
    }
    if (recd_state_iter_new(e->state, RECD_CF_ITEMS, NULL, 0, &it) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        size_t idlen = strnlen(k, kl);
        int32_t idx;
        char *id;

        if (idlen + 4 != kl || memcmp((const char *)k + idlen + 1, "vec", 3) != 0 ||
            vl != e->enc.dim * sizeof(float)) {
            continue;
        }
        id = recd_strndup(k, idlen);
        idx = id ? recd_catalog_find(e->cat, id) : -1;
        free(id);
        if (idx < 0) {
            continue;
        }
        if (grow_rows(e, (size_t)idx + 1 > e->rows ? (size_t)idx + 1 : e->rows) != RECD_OK) {
            recd_state_iter_destroy(it);
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
        }
        memcpy(e->items + (size_t)idx * e->enc.dim, v, vl);
        e->n_with_text++;
    }
    recd_state_iter_destroy(it);
    return RECD_OK;
}

/* minilm behind the encoder interface */
static int minilm_encode(void *ctx, const char *const *texts, size_t n, float *out, char *errstr,
                         size_t errlen)
{
    return recd_minilm_encode_batch(ctx, texts, n, out, errstr, errlen);
}

static void minilm_destroy(void *ctx)
{
    recd_minilm_close(ctx);
}

static void embed_fini(void *ctx)
{
    struct recd_embed *e = ctx;

    if (e == NULL) {
        return;
    }
    if (e->enc.destroy) {
        e->enc.destroy(e->enc.ctx);
    }
    free(e->items);
    recd_idxset_free(&e->dirty);
    recd_strmap_destroy(e->qcache);
    recd_buf_free(&e->key);
    free(e);
}

static int embed_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                      size_t errlen)
{
    const struct embed_conf *c = conf;
    struct recd_embed *e = calloc(1, sizeof(*e));
    int rc;

    if (e == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
    }
    recd_buf_init(&e->key);
    e->cat = recd_services_get(env->services, "catalog");
    if (e->cat == NULL) {
        free(e);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operator embed needs sessionize before it in pipeline.chain");
    }
    e->state = env->state;
    e->metrics = env->metrics;
    if (strcmp(c->encoder, "minilm") == 0) {
        recd_minilm *m = NULL;

        rc = recd_minilm_open(c->model_dir, &m, errstr, errlen);
        if (rc != RECD_OK) {
            free(e);
            return rc == RECD_ENOMEM ? rc : RECD_ECONFIG;
        }
        e->enc.name = "minilm";
        e->enc.dim = recd_minilm_dim(m);
        e->enc.ctx = m;
        e->enc.encode = minilm_encode;
        e->enc.destroy = minilm_destroy;
        e->one_at_a_time = 1;
        {
            char advice[320];

            if (recd_minilm_blas_advice(advice, sizeof(advice))) {
                RLOG_WARN(RECD_LOG_OPERATOR, "embed: %s", advice);
            }
            RLOG_INFO(RECD_LOG_OPERATOR, "embed: minilm on OpenBLAS %s kernels, %s",
                      recd_minilm_blas_core(),
                      recd_minilm_packed(m) ? "texts of a call share forward passes"
                                            : "one text per forward pass (docs/ENCODER.md)");
        }
    } else if (recd_hash_encoder_new((size_t)c->dim, 0x7265636464ULL, &e->enc) != RECD_OK) {
        free(e);
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
    }
    e->qcache_cap = c->query_cache;
    if (c->query_cache > 0) {
        e->qcache = recd_strmap_new(1024, free);
    }
    rc = load(e, errstr, errlen);
    if (rc == RECD_OK && recd_services_put(env->services, "embed", e) != RECD_OK) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
    }
    if (rc != RECD_OK) {
        embed_fini(e);
        return rc;
    }
    RLOG_INFO(RECD_LOG_OPERATOR, "embed: encoder %s (dim %zu), %zu item vectors loaded",
              e->enc.name, e->enc.dim, e->n_with_text);
    *ctx = e;
    return RECD_OK;
}

static int item_text(char *buf, size_t n, const struct recd_item *it)
{
    size_t used = 0;

    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, n - used, "%s", it->title ? it->title : "");
    if (used < n && it->brand) {
        used += (size_t)snprintf(buf + used, n - used, " | %s", it->brand);
    }
    for (uint32_t i = 0; used < n && i < it->n_category; i++) {
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? " / " : " | ", it->category[i]);
    }
    return used > 0;
}

static int embed_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct recd_embed *e = ctx;
    char text[2048];

    for (size_t i = 0; i < b->n_events; i++) {
        const struct recd_event *ev = &b->events[i];
        int32_t idx;
        const char *t = text;

        for (uint32_t k = 0; k < ev->n_retired; k++) { /* their keys: sessionize deletes */
            size_t r = (size_t)ev->retired[k];

            if (r < e->rows) {
                memset(e->items + r * e->enc.dim, 0, e->enc.dim * sizeof(float));
                e->n_with_text -= e->n_with_text > 0;
            }
        }
        if (ev->kind != RECD_KIND_ITEM || ev->u.item.removed) {
            continue;
        }
        idx = recd_catalog_find(e->cat, ev->u.item.item_id);
        if (idx < 0 || !item_text(text, sizeof(text), &ev->u.item)) {
            continue;
        }
        if (grow_rows(e, (size_t)idx + 1 > e->rows ? (size_t)idx + 1 : e->rows) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
        }
        /* one text per call: vectors independent of batch composition (see the top) */
        if (e->enc.encode(e->enc.ctx, &t, 1, e->items + (size_t)idx * e->enc.dim, errstr, errlen) !=
            RECD_OK) {
            return RECD_ERR;
        }
        if (!e->dirty.mark[idx]) {
            e->n_with_text++;   /* approximate: re-ingests count again */
        }
        if (recd_idxset_add(&e->dirty, idx, 1) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "embed: out of memory");
        }
    }
    return RECD_OK;
}

static int embed_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct recd_embed *e = ctx;
    int32_t dim = (int32_t)e->enc.dim;
    int rc = RECD_OK, any = 0;

    /* the rows this batch embedded (in first-embedding order: the commit sorts by key) */
    for (size_t k = 0; rc == RECD_OK && k < e->dirty.n; k++) {
        size_t i = (size_t)e->dirty.list[k];
        const char *id = recd_catalog_item_id(e->cat, (int32_t)i);

        if (id == NULL) {
            continue;   /* retired after it was embedded in this batch */
        }
        any = 1;
        rc = recd_key_sub(&e->key, id, "vec");
        if (rc == RECD_OK) {
            rc = recd_txn_put(b->txn, RECD_CF_ITEMS, e->key.data, e->key.len,
                              e->items + i * e->enc.dim, e->enc.dim * sizeof(float));
        }
    }
    if (rc == RECD_OK && any) {
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, "emb.dim", 7, &dim, sizeof(dim));
    }
    if (e->metrics && e->q_hits + e->q_misses > 0) {
        recd_metrics_set(e->metrics, "recd_query_cache_hit_ratio", NULL,
                         e->q_hits / (e->q_hits + e->q_misses));
    }
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "embed: checkpoint: %s", recd_strerror(rc));
    }
    return RECD_OK;
}

static void embed_committed(void *ctx, int ok)
{
    struct recd_embed *e = ctx;

    if (e->cap_rows == 0) {
        return;   /* nothing ever embedded (arrays not allocated yet) */
    }
    recd_idxset_clear(&e->dirty);
    if (ok) {
        return;
    }
    memset(e->items, 0, e->cap_rows * e->enc.dim * sizeof(float));
    e->rows = 0;
    e->n_with_text = 0;
    if (load(e, NULL, 0) != RECD_OK) {
        RLOG_ERR(RECD_LOG_OPERATOR, "embed: cannot reload item vectors");
    }
}

const struct recd_operator_desc recd_op_embed = {
    .name = "embed",
    .description = "item and query text embeddings (hash or MiniLM encoder)",
    .conf = &embed_unit,
    .init = embed_init,
    .process = embed_process,
    .checkpoint = embed_checkpoint,
    .committed = embed_committed,
    .fini = embed_fini,
};
