/*
 * mf.h — online matrix factorisation for the sgd operator (no I/O, no clock, no hidden RNG).
 *
 * Model (FISM-style: the user factor is folded in from the user's recent items, so there is no
 * per-user parameter to store and a new user is scorable after one click):
 *
 *   in_j  = P[j] + Wᵢ e_j         item j as context     (P: items x dim)
 *   out_j = Q[j] + W e_j          item j as target      (Q: items x dim, b: items)
 *   u     = Σ_k a_k in_{c_k} / Σ_k a_k   over the last `ctx` items c_k of the session,
 *                                        a_k = ctx_decay^(age of c_k)
 *   s(j)  = u · out_j + b_j  =  u · Q[j] + (Wᵀu) · e_j + b_j
 *
 * e_j is item j's L2-normalised text vector (the embed operator's matrix; zero when the item
 * has no text); W and Wᵢ (dim x text_dim) are learned projections (two, so that the text
 * relation context → target can be asymmetric; both start equal, making text similarity the
 * prior of an untrained model), so an item nobody clicked yet is
 * scored through its text: s(j) = (Wᵀu)·e_j. Training: per event (context → positive item),
 * `negatives` BPR steps  max log σ(s(pos) − s(neg))  with L2 regularisation, scaled by the
 * event's weight; negatives are drawn deterministically (splitmix64 of the model's event
 * counter) from a ring of recent positives (popularity-proportional) or, with probability
 * `neg_uniform`, uniformly over all known items. The projections' rank-1 updates are queued
 * and applied 32 at a time by SGEMM (a fixed event count: still a pure function of the input).
 * Same input → same bytes, always.
 *
 * Ownership: mf_new() returns a model the caller owns (mf_destroy()). Text vectors are read
 * through the caller's matrix pointer passed to each call, never kept. Not thread-safe.
 */
#ifndef RECD_MF_H
#define RECD_MF_H

#include <stddef.h>
#include <stdint.h>

struct mf_params {
    uint32_t dim;         /* factor dimension                                        (32) */
    float lr;             /* SGD step                                               (0.05) */
    float reg;            /* L2 regularisation                                     (1e-4) */
    uint32_t negatives;   /* sampled negatives per event                              (8) */
    float neg_uniform;    /* share of negatives drawn uniformly over items           (0.2) */
    uint32_t neg_ring;    /* recent positives kept for popularity sampling      (100000) */
    uint32_t ctx;         /* last session items folded into the user factor           (5) */
    float ctx_decay;      /* weight of the k-th last item: decay^k                  (0.7) */
    float text_lr;        /* step of the text projection W; 0 = W frozen (no text)  (0.01) */
    uint64_t seed;        /* initialisation and sampling seed                          (1) */
};

void mf_params_default(struct mf_params *p);
/* "name=value" (names as in the struct); 0 or -1. */
int mf_params_set(struct mf_params *p, const char *name, const char *value);

/* The text matrix as the embed operator offers it: rows x tdim, row j = item j (zero row: no
 * text); rows may be fewer than the items the model knows. NULL/0: no text. */
struct mf_text {
    const float *v;
    size_t rows, tdim;
};

struct mf;
/* tdim: the text dimension W maps from (0: no text). NULL on bad params / no memory. */
struct mf *mf_new(const struct mf_params *p, size_t tdim);
void mf_destroy(struct mf *m);

/* Learn one event: the session's items before it (ctx[0..n-1], oldest first) → item `pos`,
 * weighted by `weight` (> 0). Without context (n == 0) only the bias and the sampling ring
 * learn. 0, or -1 on allocation failure / bad item. */
int mf_learn(struct mf *m, const int32_t *ctx, size_t n, int32_t pos, float weight,
             const struct mf_text *text);

/* The user factor for context items ctx[0..n-1] into u (dim floats) and its text projection
 * Wᵀu into ut (tdim floats, may be NULL when there is no text). Returns 0, or -1 when the
 * context holds no known item (u is then zero). */
int mf_user(struct mf *m, const int32_t *ctx, size_t n, const struct mf_text *text, float *u,
            float *ut);

/* Hint: item j is about to be scored (its factor row and bias are fetched into the cache). */
void mf_prefetch(const struct mf *m, int32_t j);

/* s(j) for a user factor from mf_user(); items the model has not seen score by text only. */
float mf_score(const struct mf *m, const float *u, const float *ut, int32_t j,
               const struct mf_text *text);

/* Q (items x dim, row-major) and b (items) for batched scoring; *n_items rows. Borrowed until
 * the next mf_learn(). */
const float *mf_item_factors(const struct mf *m, const float **bias, size_t *n_items);

/* Retire items[0..n-1] (ascending; indexes the model has not seen are ignored): their rows
 * return to a new item's start (P as initialised, Q and b zero) and they leave the ring of
 * recent positives (the others keep their order), so nothing learned about them remains and
 * the indexes can be given to new items. Idempotent; allocates nothing. */
void mf_retire_items(struct mf *m, const int32_t *items, size_t n);

/* Snapshots (the byte layout is at mf_save in mf.c): mf_save() writes the whole learned state
 * through fn (0, or -1 to stop: mf_save returns -1); mf_load() rebuilds it under the same
 * parameters and text dimension: 0 with *out (owned by the caller) and *used (bytes read; may
 * be NULL); -2 when it was saved under other parameters or text dimension, -1 when it cannot be
 * read (the reason in err in both cases). The loaded model learns and scores exactly as the
 * saved one. */
typedef int (*mf_write_fn)(void *ctx, const void *p, size_t n);
int mf_save(const struct mf *m, mf_write_fn fn, void *ctx);
int mf_load(const struct mf_params *p, size_t tdim, const void *data, size_t len, size_t *used,
            struct mf **out, char *err, size_t errlen);

size_t mf_dim(const struct mf *m);
size_t mf_bytes(const struct mf *m);

#endif
