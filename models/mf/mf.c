/*
 * mf.c — online matrix factorisation with a learned text projection (see mf.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigalloc.h"
#include "image_io.h"
#include "linalg.h"
#include "mf.h"

struct mf {
    struct mf_params p;
    size_t dim, tdim;
    size_t n_items, cap_items;
    float *P, *Q, *b;      /* owned: cap_items x dim, cap_items x dim, cap_items */
    float *W;              /* owned: dim x tdim (row-major): targets' text projection, or NULL */
    float *Win;            /* owned: dim x tdim: the context items' text projection, or NULL */
    int32_t *ring;         /* owned: recent positives */
    size_t ring_n, ring_pos;
    uint64_t counter;      /* events learned: drives the sampling sequence */
    /* scratch (owned) */
    float *u, *du, *out_pos, *out_neg, *ebar, *gsum, *tmp, *gq, *ut, *ge;
    /* The projections' rank-1 updates, MF_WBATCH at a time (owned): W += tl Σ u ⊗ gsum and
     * Win += tl Σ du ⊗ ebar are applied by two SGEMMs every MF_WBATCH learning events (a
     * fixed count, so the model stays a pure function of the event sequence). */
    float *bu, *bg, *bdu, *be;
    size_t nb;
};

#define MF_WBATCH  32
#define MF_MAX_NEG 1000   /* the bound of p.negatives (mf_params_check) */

void mf_params_default(struct mf_params *p)
{
    memset(p, 0, sizeof(*p));
    p->dim = 32;
    p->lr = 0.05f;
    p->reg = 1e-4f;
    p->negatives = 8;
    p->neg_uniform = 0.2f;
    p->neg_ring = 100000;
    p->ctx = 5;
    p->ctx_decay = 0.7f;
    p->text_lr = 0.01f;
    p->seed = 1;
}

int mf_params_set(struct mf_params *p, const char *name, const char *value)
{
    char *end;
    double d = strtod(value, &end);

    if (end == value || *end != '\0' || !isfinite(d) || d < 0) {
        return -1;
    }
#define U(n, lo, hi)                               \
    if (strcmp(name, #n) == 0) {                   \
        if (d < (lo) || d > (hi) || d != floor(d)) \
            return -1;                             \
        p->n = (uint32_t)d;                        \
        return 0;                                  \
    }
#define F(n, lo, hi)              \
    if (strcmp(name, #n) == 0) {  \
        if (d < (lo) || d > (hi)) \
            return -1;            \
        p->n = (float)d;          \
        return 0;                 \
    }
    U(dim, 1, 1024)
    F(lr, 0, 10)
    F(reg, 0, 10)
    U(negatives, 0, MF_MAX_NEG)
    F(neg_uniform, 0, 1)
    U(neg_ring, 1, 100000000)
    U(ctx, 1, 64)
    F(ctx_decay, 0, 1)
    F(text_lr, 0, 10)
    if (strcmp(name, "seed") == 0) {
        p->seed = (uint64_t)d;
        return 0;
    }
#undef U
#undef F
    return -1;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* [0, n) from 64 random bits by multiply-shift (no 64-bit division on the hot path) */
static size_t range(uint64_t r, size_t n)
{
    return (size_t)(((r >> 32) * (uint64_t)(uint32_t)n) >> 32);
}

/* uniform in [-a, a), a pure function of (seed, i, j) */
static float init_val(uint64_t seed, uint64_t i, uint64_t j, float a)
{
    uint64_t r = splitmix64(seed ^ splitmix64(i * 0x100000001b3ULL + j));

    return (float)(((double)(r >> 11) * 0x1.0p-53 * 2.0 - 1.0) * a);
}

void mf_destroy(struct mf *m)
{
    if (m == NULL) {
        return;
    }
    free(m->P);
    free(m->Q);
    free(m->b);
    free(m->W);
    free(m->Win);
    free(m->ring);
    free(m->u);
    free(m->du);
    free(m->out_pos);
    free(m->out_neg);
    free(m->ebar);
    free(m->gsum);
    free(m->tmp);
    free(m->gq);
    free(m->ut);
    free(m->ge);
    free(m->bu);
    free(m->bg);
    free(m->bdu);
    free(m->be);
    free(m);
}

struct mf *mf_new(const struct mf_params *p, size_t tdim)
{
    struct mf *m;
    size_t t1 = tdim ? tdim : 1;

    if (p->dim == 0 || p->neg_ring == 0 || p->ctx == 0) {
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->p = *p;
    m->dim = p->dim;
    m->tdim = tdim;
    m->ring = calloc(p->neg_ring, sizeof(*m->ring));
    m->u = calloc(m->dim, sizeof(float));
    m->du = calloc(m->dim, sizeof(float));
    m->out_pos = calloc(m->dim, sizeof(float));
    m->out_neg = calloc(m->dim, sizeof(float));
    m->tmp = calloc(m->dim, sizeof(float));
    m->ebar = calloc(t1, sizeof(float));
    m->gsum = calloc(t1, sizeof(float));
    m->gq = calloc(m->dim, sizeof(float));
    m->ut = calloc(t1, sizeof(float));
    m->ge = calloc(t1, sizeof(float));
    if (m->gq == NULL || m->ut == NULL || m->ge == NULL || m->ring == NULL || m->u == NULL ||
        m->du == NULL || m->out_pos == NULL || m->out_neg == NULL || m->tmp == NULL ||
        m->ebar == NULL || m->gsum == NULL) {
        mf_destroy(m);
        return NULL;
    }
    if (tdim > 0) {
        /* W ~ U(-a, a) with a = sqrt(3/dim): E[WᵀW] = I, so before any learning
         * s(j) ≈ e_ctx · e_j — text similarity is the prior of an untrained model */
        float a = sqrtf(3.0f / (float)m->dim);

        m->W = malloc(m->dim * tdim * sizeof(float));
        m->Win = malloc(m->dim * tdim * sizeof(float));
        m->bu = malloc(MF_WBATCH * m->dim * sizeof(float));
        m->bdu = malloc(MF_WBATCH * m->dim * sizeof(float));
        m->bg = malloc(MF_WBATCH * tdim * sizeof(float));
        m->be = malloc(MF_WBATCH * tdim * sizeof(float));
        if (m->W == NULL || m->Win == NULL || m->bu == NULL || m->bdu == NULL || m->bg == NULL ||
            m->be == NULL) {
            mf_destroy(m);
            return NULL;
        }
        for (size_t i = 0; i < m->dim * tdim; i++) {
            m->W[i] = init_val(p->seed, 0xFFFFFFFFu, i, a);
        }
        /* the same start for both (the prior is text similarity); they learn apart, so the
         * text relation context → target need not be symmetric (a phone → its case) */
        memcpy(m->Win, m->W, m->dim * tdim * sizeof(float));
    }
    return m;
}

/* the start of item i's rows (a new item's, and a retired one's) */
static void item_rows_init(struct mf *m, size_t i)
{
    float a = 0.1f / sqrtf((float)m->dim);

    for (size_t d = 0; d < m->dim; d++) {
        m->P[i * m->dim + d] = init_val(m->p.seed, i, d, a);
    }
    memset(m->Q + i * m->dim, 0, m->dim * sizeof(float));
    m->b[i] = 0;
}

static int grow(struct mf *m, size_t n)
{
    size_t cap = m->cap_items ? m->cap_items : 1024, i;
    float *P, *Q, *b;

    if (n <= m->n_items) {
        return 0;
    }
    if (n > m->cap_items) {
        while (cap < n) {
            cap *= 2;
        }
        /* random rows, thousands per batch: on huge pages (bigalloc.h) */
        P = recd_big_realloc(m->P, m->cap_items * m->dim * sizeof(float),
                             cap * m->dim * sizeof(float));
        if (P == NULL) {
            return -1;
        }
        m->P = P;
        Q = recd_big_realloc(m->Q, m->cap_items * m->dim * sizeof(float),
                             cap * m->dim * sizeof(float));
        if (Q == NULL) {
            return -1;
        }
        m->Q = Q;
        b = realloc(m->b, cap * sizeof(float));
        if (b == NULL) {
            return -1;
        }
        m->b = b;
        m->cap_items = cap;
    }
    for (i = m->n_items; i < n; i++) {
        item_rows_init(m, i);
    }
    m->n_items = n;
    return 0;
}

static void reverse_i32(int32_t *v, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        int32_t t = v[i];

        v[i] = v[n - 1 - i];
        v[n - 1 - i] = t;
    }
}

static int in_sorted(const int32_t *v, size_t n, int32_t x)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && v[lo] == x;
}

void mf_retire_items(struct mf *m, const int32_t *items, size_t n)
{
    size_t w = 0;

    if (n == 0) {
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (items[k] >= 0 && (size_t)items[k] < m->n_items) {
            item_rows_init(m, (size_t)items[k]);
        }
    }
    /* the ring in its order, oldest first, from index 0 (a rotation by three reversals) */
    if (m->ring_n == m->p.neg_ring && m->ring_pos != 0) {
        reverse_i32(m->ring, m->ring_pos);
        reverse_i32(m->ring + m->ring_pos, m->ring_n - m->ring_pos);
        reverse_i32(m->ring, m->ring_n);
    }
    for (size_t i = 0; i < m->ring_n; i++) {
        if (!in_sorted(items, n, m->ring[i])) {
            m->ring[w++] = m->ring[i];
        }
    }
    m->ring_n = w;
    m->ring_pos = w % m->p.neg_ring;
}

static const float *text_of(const struct mf *m, const struct mf_text *t, int32_t j)
{
    if (m->W == NULL || t == NULL || t->v == NULL || t->tdim != m->tdim || (size_t)j >= t->rows) {
        return NULL;
    }
    return t->v + (size_t)j * t->tdim;
}

/* out = W e (dim), or zeros without e */
static void w_times(const struct mf *m, const float *e, float *out)
{
    if (e == NULL) {
        memset(out, 0, m->dim * sizeof(float));
        return;
    }
    recd_la_gemv(m->dim, m->tdim, m->W, m->tdim, e, 0, out);
}

/* ut = Wᵀ u (tdim) */
static void wt_times(const struct mf *m, const float *u, float *ut)
{
    recd_la_gemv_t(m->dim, m->tdim, m->W, m->tdim, u, ut);
}

/* u = Σ a_k (P[c_k] + W e_{c_k}) / Σ a_k over the last p.ctx items; also ebar = Σ a_k e_{c_k}
 * / Σ a_k. Returns Σ a_k over known items (0: none). The weight of ctx[from + i] goes to
 * wts[i] (0 = unknown item), from = n - min(n, p.ctx). */
static float fold_user(const struct mf *m, const int32_t *ctx, size_t n, const struct mf_text *t,
                       float *u, float *ebar, float *wts)
{
    size_t from = n > m->p.ctx ? n - m->p.ctx : 0, k, d;
    const size_t dim = m->dim, tdim = m->tdim;
    float *restrict uu = u, *restrict eb = ebar;
    float sum = 0, a = 1.0f;
    int has_text = 0;

    memset(u, 0, dim * sizeof(float));
    if (tdim > 0) {
        memset(ebar, 0, tdim * sizeof(float));
    }
    for (k = n; k-- > from;) {     /* the last item has weight 1, earlier ones decay */
        const float *restrict e;

        wts[k - from] = 0;
        if (ctx[k] >= 0 && (size_t)ctx[k] < m->n_items) {
            const float *restrict pv = m->P + (size_t)ctx[k] * dim;

            for (d = 0; d < dim; d++) {
                uu[d] += a * pv[d];
            }
            e = text_of(m, t, ctx[k]);
            if (e != NULL) {
                for (d = 0; d < tdim; d++) {
                    eb[d] += a * e[d];
                }
                has_text = 1;
            }
            wts[k - from] = a;
            sum += a;
        }
        a *= m->p.ctx_decay;
    }
    if (sum <= 0) {
        return 0;
    }
    for (d = 0; d < dim; d++) {
        uu[d] /= sum;
    }
    if (has_text) {
        for (d = 0; d < tdim; d++) {
            eb[d] /= sum;
        }
        recd_la_gemv(dim, tdim, m->Win, tdim, eb, 1, uu);   /* through uu/eb: the restrict rule */
    }
    return sum;
}

/* The steps of mf_learn(), in order; each is static inline (the per-click learning path) and
 * does exactly what the one function did, in the same order. */

/* The event's negatives from the sampling sequence (seed, counter): uniform over the items with
 * probability neg_uniform (or while the ring is empty), else from the ring of recent positives.
 * Their rows are prefetched: each is a random row of Q, of the text matrix and of b, and
 * waiting for those cache misses one by one was most of the cost of a click. Returns their
 * count (negs[0..count-1]). */
static inline uint32_t draw_negatives(const struct mf *m, const struct mf_text *text, int has_w,
                                      int32_t *negs)
{
    uint32_t nneg = m->p.negatives < MF_MAX_NEG ? m->p.negatives : MF_MAX_NEG;
    size_t d;

    for (uint32_t t = 0; t < nneg; t++) {
        uint64_t r = splitmix64(m->p.seed * 0x9e3779b97f4a7c15ULL + m->counter * 1315423911ULL + t);
        double q = (double)(r >> 11) * 0x1.0p-53;
        int32_t neg;

        if (m->ring_n == 0 || q < m->p.neg_uniform) {
            neg = (int32_t)range(splitmix64(r), m->n_items);
        } else {
            neg = m->ring[range(splitmix64(r), m->ring_n)];
        }
        negs[t] = neg;
        __builtin_prefetch(m->Q + (size_t)neg * m->dim);
        __builtin_prefetch(m->Q + (size_t)neg * m->dim + m->dim - 1);
        __builtin_prefetch(m->b + neg);
        if (has_w) {
            const float *e = text_of(m, text, neg);

            if (e != NULL) {
                for (d = 0; d < m->tdim; d += 16) {
                    __builtin_prefetch(e + d);
                }
            }
        }
    }
    return nneg;
}

/* One logistic step per negative: s(neg) = u·Q[neg] + (Wᵀu)·e_neg + b[neg] against the
 * positive's, only dot products per negative. Q and b of pos and the negatives learn here; the
 * gradients Σ g out_pos (du), Σ g Q[neg] (gq) and Σ g e_neg (ge) are summed for
 * finish_gradients(). Returns Σ g. */
static inline float learn_negatives(struct mf *m, const struct mf_text *text, int32_t pos,
                                    float weight, const int32_t *negs, uint32_t nneg, int has_w,
                                    const float *wepos)
{
    const size_t dim = m->dim, tdim = m->tdim;
    const float lr = m->p.lr, reg = m->p.reg;
    float sum_g = 0;
    size_t d;
    /* The vectors as restrict locals: the build has -fno-strict-aliasing, so through
     * m-> every store could change m's pointers and the loops stayed scalar. They do not
     * overlap (separate allocations; Q's rows pos and neg differ), and each element's
     * arithmetic is the same in the vector loops, so the results are bit for bit those of
     * the scalar code. */
    float *restrict du = m->du, *restrict gq = m->gq, *restrict ge = m->ge;
    float *restrict outp = m->out_pos;
    const float *restrict uu = m->u, *restrict wp = wepos;

    for (uint32_t t = 0; t < nneg; t++) {
        int32_t neg = negs[t];
        const float *restrict eneg;
        float *restrict qp = m->Q + (size_t)pos * dim, *restrict qn;
        float x, g;

        if (neg == pos) {
            continue;
        }
        qn = m->Q + (size_t)neg * dim;
        for (d = 0; d < dim; d++) {
            outp[d] = qp[d] + wp[d];
        }
        eneg = has_w ? text_of(m, text, neg) : NULL;
        x = recd_la_dot(uu, outp, dim) - recd_la_dot(uu, qn, dim) -
            (eneg != NULL ? recd_la_dot(m->ut, eneg, tdim) : 0.0f) + m->b[pos] - m->b[neg];
        if (x > 30.0f) {
            continue; /* σ(-x) ~ 0: nothing to learn */
        }
        g = weight / (1.0f + expf(x)); /* d log σ(x) / dx */
        for (d = 0; d < dim; d++) {
            du[d] += g * outp[d];
            gq[d] += g * qn[d];
            qp[d] += lr * (g * uu[d] - reg * qp[d]);
            qn[d] += lr * (-g * uu[d] - reg * qn[d]);
        }
        m->b[pos] += lr * (g - reg * m->b[pos]);
        m->b[neg] += lr * (-g - reg * m->b[neg]);
        if (eneg != NULL) {
            for (d = 0; d < tdim; d++) {
                ge[d] += g * eneg[d];
            }
        }
        sum_g += g;
    }
    return sum_g;
}

/* du = Σ g (out_pos - out_neg) = Σ g out_pos - Σ g Q[neg] - W Σ g e_neg;
 * gsum = Σ g (e_pos - e_neg) */
static inline void finish_gradients(struct mf *m, const float *epos, float sum_g, int has_w)
{
    const size_t dim = m->dim, tdim = m->tdim;
    float *restrict du = m->du, *restrict gq = m->gq, *restrict ge = m->ge;
    size_t d;

    for (d = 0; d < dim; d++) {
        du[d] -= gq[d];
    }
    if (has_w) {
        float *restrict gs = m->gsum;

        w_times(m, ge, m->out_neg);
        const float *restrict on = m->out_neg;

        for (d = 0; d < dim; d++) {
            du[d] -= on[d];
        }
        for (d = 0; d < tdim; d++) {
            gs[d] = (epos != NULL ? sum_g * epos[d] : 0.0f) - ge[d];
        }
    }
}

/* The context items: d/dP[c_k] = (a_k / Σa) du (wts[k - from] = a_k, 0 for unknown items) */
static inline void learn_context(struct mf *m, const int32_t *ctx, size_t from, size_t n,
                                 const float *wts)
{
    const size_t dim = m->dim;
    const float lr = m->p.lr, reg = m->p.reg;
    const float *restrict du = m->du;
    float sum_a = 0;
    size_t d, k;

    for (k = from; k < n; k++) {
        sum_a += wts[k - from];
    }
    for (k = from; k < n; k++) {
        float *restrict pv;
        float s;

        if (wts[k - from] <= 0) {
            continue;
        }
        pv = m->P + (size_t)ctx[k] * dim;
        s = wts[k - from] / sum_a;
        for (d = 0; d < dim; d++) {
            pv[d] += lr * (s * du[d] - reg * pv[d]);
        }
    }
}

/* W += u ⊗ gsum (targets), Win += du ⊗ ebar (context): queued, applied in blocks of
 * MF_WBATCH by SGEMM (rank-32 updates instead of rank-1 loops) */
static inline void queue_text_update(struct mf *m)
{
    const float reg = m->p.reg;

    memcpy(m->bu + m->nb * m->dim, m->u, m->dim * sizeof(float));
    memcpy(m->bdu + m->nb * m->dim, m->du, m->dim * sizeof(float));
    memcpy(m->bg + m->nb * m->tdim, m->gsum, m->tdim * sizeof(float));
    memcpy(m->be + m->nb * m->tdim, m->ebar, m->tdim * sizeof(float));
    if (++m->nb == MF_WBATCH) {
        /* weight decay (1 - tl·reg) per queued event, applied as beta */
        const float tl = m->p.text_lr, beta = 1.0f - tl * reg * (float)m->nb;

        recd_la_rank_update(m->dim, m->tdim, m->nb, tl, m->bu, m->bg, beta, m->W, m->tdim);
        recd_la_rank_update(m->dim, m->tdim, m->nb, tl, m->bdu, m->be, beta, m->Win, m->tdim);
        m->nb = 0;
    }
}

int mf_learn(struct mf *m, const int32_t *ctx, size_t n, int32_t pos, float weight,
             const struct mf_text *text)
{
    float wts[64];
    size_t from = n > m->p.ctx ? n - m->p.ctx : 0, k;
    int32_t maxi = pos;

    if (pos < 0 || !(weight > 0)) {
        return -1;
    }
    for (k = from; k < n; k++) {
        maxi = ctx[k] > maxi ? ctx[k] : maxi;
    }
    if (grow(m, (size_t)maxi + 1) != 0) {
        return -1;
    }
    m->counter++;
    if (n > 0 && fold_user(m, ctx + 0, n, text, m->u, m->ebar, wts) > 0) {
        /* Per negative only dot products: s(neg) = u·Q[neg] + (Wᵀu)·e_neg; the gradient's
         * W e_neg terms are summed first (ge) and multiplied by W once after the loop. */
        float *wepos = m->tmp; /* W e_pos */
        const int has_w = m->W != NULL;
        const float *epos = text_of(m, text, pos);
        int32_t negs[MF_MAX_NEG];
        uint32_t nneg;
        float sum_g;

        memset(m->du, 0, m->dim * sizeof(float));
        memset(m->gq, 0, m->dim * sizeof(float));
        if (has_w) {
            w_times(m, epos, wepos);
            wt_times(m, m->u, m->ut);
            memset(m->ge, 0, m->tdim * sizeof(float));
        } else {
            memset(wepos, 0, m->dim * sizeof(float));
        }
        /* the negatives first, and their rows prefetched (the arithmetic after is unchanged:
         * same order, same results) */
        nneg = draw_negatives(m, text, has_w, negs);
        sum_g = learn_negatives(m, text, pos, weight, negs, nneg, has_w, wepos);
        if (sum_g > 0) {
            finish_gradients(m, epos, sum_g, has_w);
            learn_context(m, ctx, from, n, wts);
            if (m->W != NULL && m->p.text_lr > 0) {
                queue_text_update(m);
            }
        }
    }
    m->ring[m->ring_pos] = pos;
    m->ring_pos = (m->ring_pos + 1) % m->p.neg_ring;
    if (m->ring_n < m->p.neg_ring) {
        m->ring_n++;
    }
    return 0;
}

int mf_user(struct mf *m, const int32_t *ctx, size_t n, const struct mf_text *text, float *u,
            float *ut)
{
    float wts[64];
    float sum = fold_user(m, ctx, n, text, u, m->ebar, wts);

    if (ut != NULL && m->W != NULL) {
        wt_times(m, u, ut);
    }
    return sum > 0 ? 0 : -1;
}

void mf_prefetch(const struct mf *m, int32_t j)
{
    if (j >= 0 && (size_t)j < m->n_items) {
        const float *q = m->Q + (size_t)j * m->dim;

        for (size_t d = 0; d < m->dim; d += 16) {
            __builtin_prefetch(q + d);
        }
        __builtin_prefetch(m->b + j);
    }
}

float mf_score(const struct mf *m, const float *u, const float *ut, int32_t j,
               const struct mf_text *text)
{
    float s = 0;
    const float *e;

    if (j < 0) {
        return 0;
    }
    if ((size_t)j < m->n_items) {
        s = recd_la_dot(u, m->Q + (size_t)j * m->dim, m->dim) + m->b[j];
    }
    e = text_of(m, text, j);
    if (e != NULL && ut != NULL) {
        s += recd_la_dot(ut, e, m->tdim);
    }
    return s;
}

const float *mf_item_factors(const struct mf *m, const float **bias, size_t *n_items)
{
    *bias = m->b;
    *n_items = m->n_items;
    return m->Q;
}

size_t mf_dim(const struct mf *m)
{
    return m->dim;
}

size_t mf_bytes(const struct mf *m)
{
    return sizeof(*m) + m->cap_items * (2 * m->dim + 1) * sizeof(float) +
        m->dim * m->tdim * sizeof(float) + m->p.neg_ring * sizeof(int32_t);
}

/* ---- snapshots -------------------------------------------------------------------------- */

/* Layout (host byte order), version 1: "MFM1" u32 version, the parameters field by field
 * (u32 dim, f32 lr, f32 reg, u32 negatives, f32 neg_uniform, u32 neg_ring, u32 ctx,
 * f32 ctx_decay, f32 text_lr, u64 seed), u64 tdim, u64 n_items, u64 counter, u64 ring_n,
 * u64 ring_pos, ring_n x i32 ring, n_items x dim f32 P, n_items x dim f32 Q, n_items f32 b;
 * with text (tdim > 0): dim x tdim f32 W, dim x tdim f32 Win, u64 nb and the nb pending rows of
 * the projections' batched update (nb x dim bu, nb x dim bdu, nb x tdim bg, nb x tdim be);
 * "MFME". */
#define MF_SNAP_VERSION 1u

static void put_params(struct recd_img_out *o, const struct mf_params *p)
{
    RECD_IMG_PUTV(o, p->dim);
    RECD_IMG_PUTV(o, p->lr);
    RECD_IMG_PUTV(o, p->reg);
    RECD_IMG_PUTV(o, p->negatives);
    RECD_IMG_PUTV(o, p->neg_uniform);
    RECD_IMG_PUTV(o, p->neg_ring);
    RECD_IMG_PUTV(o, p->ctx);
    RECD_IMG_PUTV(o, p->ctx_decay);
    RECD_IMG_PUTV(o, p->text_lr);
    RECD_IMG_PUTV(o, p->seed);
}

int mf_save(const struct mf *m, mf_write_fn fn, void *ctx)
{
    struct recd_img_out o = { fn, ctx, 0 };
    const uint32_t version = MF_SNAP_VERSION;
    const uint64_t tdim = m->tdim, n = m->n_items, rn = m->ring_n, rp = m->ring_pos, nb = m->nb;

    recd_img_put(&o, "MFM1", 4);
    RECD_IMG_PUTV(&o, version);
    put_params(&o, &m->p);
    RECD_IMG_PUTV(&o, tdim);
    RECD_IMG_PUTV(&o, n);
    RECD_IMG_PUTV(&o, m->counter);
    RECD_IMG_PUTV(&o, rn);
    RECD_IMG_PUTV(&o, rp);
    recd_img_put(&o, m->ring, m->ring_n * sizeof(*m->ring));
    recd_img_put(&o, m->P, m->n_items * m->dim * sizeof(float));
    recd_img_put(&o, m->Q, m->n_items * m->dim * sizeof(float));
    recd_img_put(&o, m->b, m->n_items * sizeof(float));
    if (m->tdim > 0) {
        recd_img_put(&o, m->W, m->dim * m->tdim * sizeof(float));
        recd_img_put(&o, m->Win, m->dim * m->tdim * sizeof(float));
        RECD_IMG_PUTV(&o, nb);
        recd_img_put(&o, m->bu, m->nb * m->dim * sizeof(float));
        recd_img_put(&o, m->bdu, m->nb * m->dim * sizeof(float));
        recd_img_put(&o, m->bg, m->nb * m->tdim * sizeof(float));
        recd_img_put(&o, m->be, m->nb * m->tdim * sizeof(float));
    }
    recd_img_put(&o, "MFME", 4);
    return o.err;
}

int mf_load(const struct mf_params *p, size_t tdim, const void *data, size_t len, size_t *used,
            struct mf **out, char *err, size_t errlen)
{
    struct recd_img_in c = { data, len, 0 };
    struct mf *m = mf_new(p, tdim);
    struct mf_params sp;
    uint32_t version = 0;
    uint64_t stdim = 0, n = 0, rn = 0, rp = 0, nb = 0;
    char magic[4] = { 0 };

    *out = NULL;
    if (m == NULL) {
        snprintf(err, errlen, "out of memory or invalid parameters");
        return -1;
    }
    recd_img_get(&c, magic, 4);
    RECD_IMG_GETV(&c, version);
    if (c.err || memcmp(magic, "MFM1", 4) != 0 || version != MF_SNAP_VERSION) {
        snprintf(err, errlen, "not an MF image of version %u", MF_SNAP_VERSION);
        goto fail;
    }
    memset(&sp, 0, sizeof(sp));
    RECD_IMG_GETV(&c, sp.dim);
    RECD_IMG_GETV(&c, sp.lr);
    RECD_IMG_GETV(&c, sp.reg);
    RECD_IMG_GETV(&c, sp.negatives);
    RECD_IMG_GETV(&c, sp.neg_uniform);
    RECD_IMG_GETV(&c, sp.neg_ring);
    RECD_IMG_GETV(&c, sp.ctx);
    RECD_IMG_GETV(&c, sp.ctx_decay);
    RECD_IMG_GETV(&c, sp.text_lr);
    RECD_IMG_GETV(&c, sp.seed);
    RECD_IMG_GETV(&c, stdim);
    if (c.err == 0 &&
        (sp.dim != p->dim || sp.lr != p->lr || sp.reg != p->reg || sp.negatives != p->negatives ||
         sp.neg_uniform != p->neg_uniform || sp.neg_ring != p->neg_ring || sp.ctx != p->ctx ||
         sp.ctx_decay != p->ctx_decay || sp.text_lr != p->text_lr || sp.seed != p->seed ||
         stdim != tdim)) {
        snprintf(err, errlen, "the image was saved with other MF parameters or text dimension");
        mf_destroy(m);
        return -2;
    }
    RECD_IMG_GETV(&c, n);
    RECD_IMG_GETV(&c, m->counter);
    RECD_IMG_GETV(&c, rn);
    RECD_IMG_GETV(&c, rp);
    if (c.err == 0 && (rn > p->neg_ring || rp >= p->neg_ring || n > c.left)) {
        c.err = -1;
    }
    m->ring_n = (size_t)rn;
    m->ring_pos = (size_t)rp;
    recd_img_get(&c, m->ring, m->ring_n * sizeof(*m->ring));
    for (size_t i = 0; c.err == 0 && i < m->ring_n; i++) {
        if (m->ring[i] < 0 || (uint64_t)m->ring[i] >= n) {
            c.err = -1; /* a negative drawn from the ring must be an item */
        }
    }
    if (c.err == 0 && n > 0 && grow(m, (size_t)n) != 0) {
        c.err = -2;
    }
    recd_img_get(&c, m->P, m->n_items * m->dim * sizeof(float));
    recd_img_get(&c, m->Q, m->n_items * m->dim * sizeof(float));
    recd_img_get(&c, m->b, m->n_items * sizeof(float));
    if (tdim > 0) {
        recd_img_get(&c, m->W, m->dim * tdim * sizeof(float));
        recd_img_get(&c, m->Win, m->dim * tdim * sizeof(float));
        RECD_IMG_GETV(&c, nb);
        if (c.err == 0 && nb >= MF_WBATCH) {
            c.err = -1;
        }
        m->nb = c.err == 0 ? (size_t)nb : 0;
        recd_img_get(&c, m->bu, m->nb * m->dim * sizeof(float));
        recd_img_get(&c, m->bdu, m->nb * m->dim * sizeof(float));
        recd_img_get(&c, m->bg, m->nb * tdim * sizeof(float));
        recd_img_get(&c, m->be, m->nb * tdim * sizeof(float));
    }
    if (recd_img_end(&c, "MFME", err, errlen) != 0) {
        goto fail;
    }
    if (used != NULL) {
        *used = len - c.left;
    }
    *out = m;
    return 0;
fail:
    mf_destroy(m);
    return -1;
}
