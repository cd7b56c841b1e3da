/* sessrec_feedback.c — the learned blends: AdaGrad steps on the blend weights from the
 * clicked item's rank in the last scored list (sessrec_feedback, with learn_set the set blend
 * too), which clicks to learn from (sessrec_wants_feedback), the learned order of the list head
 * (sessrec_order_score, sessrec_orders) and the weights in use (sessrec_weights). */
#include "sessrec.h"
#include "sessrec_internal.h"

#include <math.h>
#include <string.h>

/* blend_and_order: the learned order blend of a scored candidate (after sessrec_score's
 * normalisation, before the next learning step changes w). */
static float lscore(const struct sessrec *m, const struct acc *a)
{
    float lsc = 0;

    for (uint32_t f = 0; f < SESSREC_NFEATURES; f++) {
        lsc += m->wo[m->ob][f] * a->f[f];
    }
    return lsc;
}

void sessrec_weights(const struct sessrec *m, size_t n, float *out)
{
    memcpy(out, two_stage(&m->p) ? m->wo[order_bucket(m, n)] : m->w, sizeof(m->w));
}

/* One AdaGrad step on weights w (accumulators g2) given gradient g (ascent direction). */
static void adagrad(const struct sessrec *m, float *w, float *g2, float rate, const float *g)
{
    uint32_t f;

    for (f = 0; f < SESSREC_NFEATURES; f++) {
        if (!(m->p.signals & (1u << feat_signal[f])) || g[f] == 0) {
            continue;
        }
        g2[f] += g[f] * g[f];
        w[f] += rate * g[f] / sqrtf(g2[f] + 1e-6f);
        if (w[f] < 0) {
            w[f] = 0;
        }
    }
}

static void learn_step(struct sessrec *m, const float *g)
{
    if (two_stage(&m->p)) {
        adagrad(m, m->wo[m->ob], m->g2o[m->ob], m->p.learn_rate, g);
    } else {
        adagrad(m, m->w, m->g2, m->p.learn_rate, g);
    }
}

/* learn_set: pairwise logistic loss between the target and the items just across the
 * boundary of the list head (h = order_top, w = set_window): a target ranked h..2h-1 against
 * the w last items of the head, a target inside the head against the w first items after it;
 * pair weight σ((s_j − s_y)/T). Only swaps that change HR@h count (LambdaRank-style Δ HR@h),
 * and only the ones a small weight change can make (near the boundary). */
static void learn_set_step(struct sessrec *m, int32_t y)
{
    uint32_t h = m->p.order_top, n2 = m->n_sorted < 2 * h ? m->n_sorted : 2 * h, i, f, from, to;
    uint32_t bw = m->p.set_window;
    float grad[SESSREC_NFEATURES], sy, it = m->p.set_temp > 0 ? 1.0f / m->p.set_temp : 1.0f;
    const float *fy;
    int32_t rank = -1;

    if (h > n2) {
        h = n2;
    }
    for (i = 0; i < n2; i++) {
        if (m->cands[i].item == y) {
            rank = (int32_t)i;
        }
    }
    if (rank < 0 || h == 0 || n2 <= h || bw == 0) {
        return;
    }
    from = (uint32_t)rank >= h ? h - (bw < h ? bw : h) : h;
    to = (uint32_t)rank >= h ? h : (h + bw < n2 ? h + bw : n2);
    fy = m->acc[y].f;
    sy = m->acc[y].score;
    memset(grad, 0, sizeof(grad));
    for (i = from; i < to; i++) {
        const struct acc *a = &m->acc[m->cands[i].item];
        float wgt = 1.0f / (1.0f + expf((sy - a->score) * it)) / (float)(to - from);
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] += wgt * (fy[f] - a->f[f]);
        }
    }
    grad[SESSREC_F_NEXT2] = 0;   /* NEXT2: its set weight stays w_next2 (sessrec.h) */
    adagrad(m, m->ws, m->g2s, m->p.set_rate, grad);
}

void sessrec_feedback(struct sessrec *m, int32_t y)
{
    float grad[SESSREC_NFEATURES], maxz = -1e30f, sum = 0, sy;
    const float *fy;
    uint32_t n, i, f, cnt = 0;
    int32_t rank = -1;

    if (!m->have_last || m->p.learning == SESSREC_LEARN_FIXED) {
        return;
    }
    m->have_last = 0;
    if (y < 0 || y >= m->n_items || m->astamp[y] != m->stamp) {
        return; /* target not among the candidates: nothing to learn from */
    }
    if (two_stage(&m->p)) {
        /* two-stage: the set blend (fixed, or learned by learn_set_step) chose the list head;
         * learn the order within it (softmax over the head, only when the target is in it) */
        if (m->p.learn_set) {
            learn_set_step(m, y);
        }
        n = m->n_sorted < m->p.order_top ? m->n_sorted : m->p.order_top;
        for (i = 0; i < n; i++) {
            if (m->cands[i].item == y) {
                rank = (int32_t)i;
            }
        }
        if (rank < 0 || n < 2) {
            return;
        }
        for (i = 0; i < n; i++) {
            m->lz[i] = lscore(m, &m->acc[m->cands[i].item]);
            if (m->lz[i] > maxz) {
                maxz = m->lz[i];
            }
        }
        for (i = 0; i < n; i++) {
            m->lz[i] = expf(m->lz[i] - maxz);
            sum += m->lz[i];
        }
        fy = m->acc[y].f;
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] = fy[f];
        }
        for (i = 0; i < n; i++) {
            const float *fi = m->acc[m->cands[i].item].f;
            float pr = m->lz[i] / sum;
            for (f = 0; f < SESSREC_NFEATURES; f++) {
                grad[f] -= pr * fi[f];
            }
        }
        learn_step(m, grad);
        return;
    }
    n = m->n_sorted < m->p.learn_topn ? m->n_sorted : m->p.learn_topn;
    for (i = 0; i < n; i++) {
        if (m->cands[i].item == y) {
            rank = (int32_t)i;
        }
    }
    fy = m->acc[y].f;
    sy = m->acc[y].score;
    memset(grad, 0, sizeof(grad));
    if (m->p.learn_loss == 1) {
        /* perceptron-style hinge at the list boundary: a target outside the top 20 is pushed
         * above the item at rank 20; a target inside above its predecessor (half step) */
        uint32_t bnd = n < 20 ? n : 20;
        const float *fb;
        float scale = 1.0f;
        (void)cnt;
        if (rank == 0 || bnd == 0) {
            return;
        }
        if (rank > 0 && (uint32_t)rank < bnd) {
            fb = m->acc[m->cands[rank - 1].item].f;
            scale = 0.5f;
        } else {
            fb = m->acc[m->cands[bnd - 1].item].f;
        }
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] = scale * (fy[f] - fb[f]);
        }
        learn_step(m, grad);
        return;
    }
    /* softmax over the top-n (+ the target if outside) */
    for (i = 0; i < n; i++) {
        m->lz[i] = m->cands[i].score;
        if (m->lz[i] > maxz) {
            maxz = m->lz[i];
        }
    }
    if (rank < 0) {
        m->lz[n] = sy;
        if (sy > maxz) {
            maxz = sy;
        }
    }
    for (i = 0; i < n + (rank < 0); i++) {
        m->lz[i] = expf(m->lz[i] - maxz);
        sum += m->lz[i];
    }
    for (f = 0; f < SESSREC_NFEATURES; f++) {
        grad[f] = fy[f];
    }
    for (i = 0; i < n + (rank < 0); i++) {
        const float *fi = i < n ? m->acc[m->cands[i].item].f : fy;
        float p = m->lz[i] / sum;
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] -= p * fi[f];
        }
    }
    learn_step(m, grad);
}

int sessrec_wants_feedback(const struct sessrec *m, uint64_t session_key)
{
    if (m->p.learning == SESSREC_LEARN_FIXED) {
        return 0;
    }
    if (m->p.learn_every <= 1) {
        return 1;
    }
    /* the tick the click will get, so the choice is a pure function of the input order */
    return hash64(session_key ^ hash64(m->tick + 1)) % m->p.learn_every == 0;
}

float sessrec_order_score(const struct sessrec *m, int32_t item)
{
    if (!two_stage(&m->p) || item < 0 || item >= m->n_items || m->astamp[item] != m->stamp) {
        return -INFINITY;
    }
    return lscore(m, &m->acc[item]);
}

size_t sessrec_orders(const struct sessrec *m)
{
    return two_stage(&m->p) ? m->p.order_top : 0;
}
