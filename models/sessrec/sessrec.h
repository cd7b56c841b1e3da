/* sessrec.h — session-based next-item scoring core for recd (no I/O, no clock, no RNG).
 *
 * One model holds everything learned from a stream of clicks, in plain C structures that are
 * easy to persist per key:
 *
 *   item → recent-sessions postings  (ring of the last `postings_cap` sessions that contained it)
 *   item → successor table           (capped list of (next item, decayed weight), sequential rules)
 *   item → co-visitation table       (capped list of (item, weight), undirected, same session)
 *   item → decayed popularity, document frequency (sessions containing the item)
 *   session → last items             (ring of the last `sess_items_cap` items, last-click tick)
 *
 * Time is the model's own click counter (one tick per sessrec_observe call), never the wall
 * clock: every decay below is expressed in clicks, so results depend only on the order of the
 * input stream and the same input always yields the same bytes and the same recommendations.
 *
 * Scoring blends five signals over a candidate set, each normalised by its maximum over the
 * candidates:
 *   SIMILAR_SESSION  VSTAN-style session kNN (position-weighted, IDF-weighted overlap with the
 *                    most recent sessions per item, neighbour recency decay, items of the
 *                    neighbour weighted by their distance to the matched item, later > earlier)
 *   NEXT_ITEM        sequential rules: decayed counts a→b for b within `trans_window` clicks
 *                    after a, read from the last `trans_hops` items of the current session
 *   CO_VISITED       co-visitation of the last item (cosine-normalised)
 *   IN_SESSION       re-recommending items of the current session (recency weighted, λ 2, and
 *                    counted: REPEAT_SLOW, whose weight the learned blends set)
 *   POPULAR          decayed global popularity (top-`pop_top` list), the cold-start fallback;
 *                    TREND: the candidates' clicks decayed fast (trend_tau), what is hot now
 * Each signal yields one or more features (enum sessrec_feature); the score is Σ w·feature.
 * The weights are either fixed (params; the default, tuned on Diginetica validation and best
 * for HR@20 on every dataset tried) or learned online (`learning`): after each click
 * sessrec_feedback() takes one AdaGrad step of softmax regression over the top-n candidates
 * that were scored for that click, with the observed next item as the label (higher MRR,
 * slightly lower HR@20; see docs/QUALITY.md).
 *
 * Persistence: everything is plain arrays/structs — per item a postings ring (slot, gen, tick),
 * two edge lists (item, weight) with a forward-decay reference tick, df and popularity; per
 * session a fixed-size record (key, last tick, gen, n, items). Serialising them per key is
 * direct; the in-memory session table is bounded by max_sessions (FIFO slot reuse).
 *
 * Ownership: sessrec_new() returns a model the caller owns and frees with sessrec_destroy().
 * The model never keeps pointers to caller memory. Not thread-safe: one model per thread
 * (per partition), or external locking. sessrec_score() writes only into caller buffers and
 * internal scratch space (it mutates scratch, so it is not const).
 */
#ifndef RECD_SESSREC_H
#define RECD_SESSREC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reasons (which signal contributed most to an item's blended score). */
enum sessrec_reason {
    SESSREC_POPULAR = 0,
    SESSREC_SIMILAR_SESSION = 1,
    SESSREC_NEXT_ITEM = 2,
    SESSREC_CO_VISITED = 3,
    SESSREC_IN_SESSION = 4,
    SESSREC_NSIGNALS = 5
    /* (the "signals" param is a bitmask of 1 << reason) */
};

/* Features of a candidate item, each in [0,1] after normalisation over the candidates; the
 * blend is Σ w[f]·x[f]. Each feature belongs to one signal (reason). */
enum sessrec_feature {
    SESSREC_F_POP = 0,        /* POPULAR:         decayed popularity / max */
    SESSREC_F_KNN,            /* SIMILAR_SESSION: neighbour items at/after the matched item */
    SESSREC_F_KNN_BEFORE,     /* SIMILAR_SESSION: neighbour items before the matched item */
    SESSREC_F_KNN_SQRT,       /* SIMILAR_SESSION: sqrt of the total (a concave transform) */
    SESSREC_F_NEXT,           /* NEXT_ITEM:       successors of the last item */
    SESSREC_F_NEXT_HOPS,      /* NEXT_ITEM:       successors of earlier items (hop-decayed) */
    SESSREC_F_NEXT_SQRT,      /* NEXT_ITEM:       sqrt of the total */
    SESSREC_F_COVIS,          /* CO_VISITED:      cosine co-visitation with the last item */
    SESSREC_F_REPEAT,         /* IN_SESSION:      recency-weighted occurrences in the session */
    SESSREC_F_LAST,           /* IN_SESSION:      1 if it is the session's last item */
    SESSREC_F_TREND,          /* POPULAR:         fast-decayed clicks of the item / max */
    SESSREC_F_NEXT2,          /* NEXT_ITEM:       successors of the (previous, last) item pair;
                               * blend_and_order: learned for the order only, its weight
                               * in the set blend stays w_next2 */
    SESSREC_F_REPEAT_SLOW,    /* IN_SESSION:      occurrences in the session weighted
                               * exp(-age/rep_slow_lambda), a slow decay: items viewed many
                               * clicks ago (a long session returning to them) */
    SESSREC_NFEATURES
};

/* How the blend of signals is learned (the key operators.sgd.learning). */
enum sessrec_learning {
    SESSREC_LEARN_FIXED = 0,           /* "fixed": the w_* weights, never learned */
    SESSREC_LEARN_BLEND = 1,           /* "blend": the weights are learned online via
                                        * sessrec_feedback() and score every candidate */
    SESSREC_LEARN_BLEND_AND_ORDER = 2  /* "blend_and_order": two stages: the set weights (the
                                        * fixed ones, learned for HR@order_top with learn_set)
                                        * choose and score the candidates; weights learned by
                                        * softmax over the list head order it
                                        * (sessrec_order_score()) */
};

/* All knobs. Their defaults, bounds and meaning are in one table, sessrec_params.h
 * (SESSREC_PARAM_TABLE), which is also the sgd operator's configuration table: the comments
 * here say only what a field is. Lengths are in items, decays in clicks (model ticks). */
struct sessrec_params {
    /* --- session kNN (SIMILAR_SESSION) --- */
    uint32_t postings_cap;    /* most recent sessions remembered per item */
    uint32_t sample_cap;      /* max distinct candidate neighbour sessions per score */
    uint32_t k_neighbors;     /* neighbours kept after similarity ranking */
    uint32_t query_items;     /* last distinct session items used to find neighbours */
    float spw_lambda;         /* current-session position weight exp(-age/λ), items */
    float rec_lambda;         /* neighbour recency decay exp(-ticks/λ); 0 = off */
    float sim_norm;           /* divide similarity by (neighbour length)^x */
    float ipw_lambda;         /* neighbour item weight exp(-|dist|/λ) from the match */
    float idf_sim;            /* exponent of the IDF weight of shared items; 0 = plain */
    float idf_score;          /* exponent of (1 + IDF) weighting of recommended items */
    uint32_t sess_items_cap;  /* last items remembered per session */
    uint32_t max_sessions;    /* sessions kept in memory; oldest-created evicted */
    /* --- sequential rules (NEXT_ITEM) --- */
    uint32_t trans_cap;       /* successors kept per item (space-saving eviction) */
    uint32_t trans_window;    /* a→b counted if b follows a within this many clicks */
    float trans_tau;          /* weight decay time constant in ticks; 0 = no decay */
    uint32_t trans_hops;      /* last session items whose successors are read */
    float trans_hop_decay;    /* weight of the h-th last item: decay^h */
    uint32_t trans_norm;      /* 1 = per-source normalisation (P(b|a)), 0 = raw */
    uint32_t pair_cap;        /* NEXT2: (previous item → successor) entries kept per last item
                               * (space-saving eviction, decay trans_tau, 12 B each); kept
                               * only when learning or w_next2 is on; 0 = off */
    /* --- co-visitation (CO_VISITED) --- */
    uint32_t covis_cap;       /* co-visited items kept per item */
    uint32_t covis_window;    /* pairs within this many clicks are co-visits */
    /* --- in-session repeats (IN_SESSION) --- */
    float rep_lambda;         /* weight of an earlier occurrence exp(-age/λ) */
    float rep_slow_lambda;    /* the same for REPEAT_SLOW; 0 = all equal (a count) */
    /* --- popularity (POPULAR) --- */
    uint32_t pop_top;         /* popular items tracked and offered as fallback */
    float pop_tau;            /* popularity decay in ticks; 0 = no decay */
    float trend_tau;          /* decay of the TREND feature's click counts, ticks */
    /* --- blend --- */
    uint32_t signals;         /* bitmask of enabled signals, bit = 1 << reason */
    float w[SESSREC_NFEATURES]; /* initial / fixed weights by enum sessrec_feature (names
                                 * w_pop w_knn w_knnb w_knns w_next w_nexth w_nexts w_covis
                                 * w_repeat w_last w_trend w_next2 w_repslow) */
    enum sessrec_learning learning;
    uint32_t learn_loss;      /* 0 = softmax over the top-n, 1 = hinge at rank 20 */
    float learn_rate;         /* AdaGrad step size */
    uint32_t learn_topn;      /* candidates (by current blend) used by the loss */
    uint32_t order_top;       /* blend_and_order: list head ordered by the learned blend */
    uint32_t learn_every;     /* learn from one click in N (deterministic hash of key, tick) */
    uint32_t learn_set;       /* blend_and_order: the weights that choose the list are learned
                               * too, starting from the fixed ones, with a pairwise loss
                               * across the order_top boundary (Δ HR@order_top) */
    float set_rate;           /* their AdaGrad step size */
    float set_temp;           /* logistic temperature of the pairwise loss */
    uint32_t set_window;      /* items on the other side of the boundary per target */
    uint32_t order_buckets;   /* blend_and_order: separate order weights for sessions of
                               * length 1, 2, ..., order_buckets (and longer), 1..8; each
                               * starts from the fixed weights and learns from its own
                               * clicks (1 = one blend for all) */
};

/* Fill *p with the defaults of SESSREC_PARAM_TABLE (the daemon's defaults). */
void sessrec_params_default(struct sessrec_params *p);

/* Set one parameter from "name=value" text, names as in SESSREC_PARAM_TABLE (learning=fixed|
 * blend|blend_and_order; booleans 0/1/true/false; "learn_blend=0|1|2" is the deprecated
 * spelling of learning). Checks the value's type only (sessrec_params_check: the bounds).
 * Returns 0, or -1 on an unknown name / bad value. */
int sessrec_params_set(struct sessrec_params *p, const char *name, const char *value);

/* Parse "k=v,k=v,..." with sessrec_params_set(). Returns 0 or -1 (and the bad pair in err). */
int sessrec_params_parse(struct sessrec_params *p, const char *list, char *err, size_t errlen);

/* Every value within its bounds in SESSREC_PARAM_TABLE? 0, or -1 with "name=value out of
 * range [min, max]" in err. */
int sessrec_params_check(const struct sessrec_params *p, char *err, size_t errlen);

/* The name of a learning mode ("fixed", ...), NULL for an invalid one; and back: 0 with *out
 * set, or -1 for an unknown name. */
const char *sessrec_learning_name(enum sessrec_learning l);
int sessrec_learning_from_name(const char *name, enum sessrec_learning *out);

/* Print all parameters as "k=v" lines via the callback-free FILE-less form: writes at most
 * len-1 bytes into buf, always NUL-terminated; returns the number of bytes needed. */
size_t sessrec_params_format(const struct sessrec_params *p, char *buf, size_t len);

struct sessrec;

/* Create an empty model (params copied). NULL on allocation failure or invalid params
 * (among them an invalid learning mode, order_top or learn_topn > 65535). */
struct sessrec *sessrec_new(const struct sessrec_params *p);
void sessrec_destroy(struct sessrec *m);

/* Learn from one click: session `session_key` (any 64-bit id; 0 is allowed) clicked dense item
 * index `item` (>= 0; arrays grow on demand). ts_ms is stored for information only. Sessions
 * are created on their first click. Returns 0, or -1 on allocation failure / negative item. */
int sessrec_observe(struct sessrec *m, uint64_t session_key, int32_t item, int64_t ts_ms);

/* Forget a session's item list (e.g. session closed and archived elsewhere). Postings that
 * reference it are skipped from then on. */
void sessrec_end_session(struct sessrec *m, uint64_t session_key);

/* Retire items[0..n-1] (catalogue indexes whose item is gone; indexes out of range are
 * ignored): each one's own statistics (postings, successors, co-visits, pairs, popularity,
 * trend, session count) are cleared, and every reference to it is removed: from the other
 * items' successor, co-visit and pair lists (their totals adjusted), from every remembered
 * session's items and from the popular list (refilled from the next most popular items). The
 * model then holds nothing of them, and the indexes can be given to new items. Idempotent, and
 * allocates nothing. One call scans every item and session once, whatever n. */
void sessrec_retire_items(struct sessrec *m, const int32_t *items, size_t n);

/* Top-k recommendations for a session whose clicks so far are session_items[0..n-1] (oldest
 * first). session_key identifies the session so that it is never its own neighbour (pass a key
 * never observed if there is none). Writes up to k items, best first, ties broken by smaller
 * item index, into out_items / out_scores; out_reason[i] (may be NULL) gets the enum
 * sessrec_reason of the strongest signal and out_because[i] (may be NULL) the session item that
 * caused it (-1 for POPULAR). Returns the number written (< k only when fewer candidates exist).
 * The call remembers its candidate list for a following sessrec_feedback(). */
size_t sessrec_score(struct sessrec *m, uint64_t session_key, const int32_t *session_items,
                     size_t n, int32_t *out_items, float *out_scores, uint8_t *out_reason,
                     int32_t *out_because, size_t k);

/* sessrec_score's k best items in no particular order, for a caller that re-scores and
 * re-sorts them anyway (rerank): saves the sort of the k items. Same items, scores, reasons
 * and because-items as sessrec_score, and sessrec_order_score() works after it; it leaves
 * nothing for sessrec_feedback() (a feedback after it is a no-op). */
size_t sessrec_score_unordered(struct sessrec *m, uint64_t session_key,
                               const int32_t *session_items, size_t n, int32_t *out_items,
                               float *out_scores, uint8_t *out_reason, int32_t *out_because,
                               size_t k);

/* The last items (up to cap, oldest first) the model remembers for a session; 0 if unknown.
 * (Added for the sgd operator: the prefix a click is scored against when learning the blend.) */
size_t sessrec_session_items(const struct sessrec *m, uint64_t session_key, int32_t *out,
                             size_t cap);

/* Tell the model which item was actually clicked next after the last sessrec_score() call.
 * When learning, takes one SGD step on the blend weights. No-op otherwise. */
void sessrec_feedback(struct sessrec *m, int32_t next_item);

/* Should the click about to be observed for session_key be learned from (scored, then
 * sessrec_feedback())? 1 when learning is not fixed and the click is one of the `learn_every`
 * sampled deterministically (hash of the key and the model's tick); 0 otherwise. */
int sessrec_wants_feedback(const struct sessrec *m, uint64_t session_key);

/* blend_and_order (two-stage): the learned-blend score of `item` for the last sessrec_score()
 * call; callers re-sort the head of their final list (the first `order_top` items, after
 * their own re-scoring and filters) by it, descending, keeping their order on ties.
 * -INFINITY for an item that was not a candidate. sessrec_orders() tells whether to. */
float sessrec_order_score(const struct sessrec *m, int32_t item);
/* 0, or how many list-head items to order by sessrec_order_score() (blend_and_order). */
size_t sessrec_orders(const struct sessrec *m);

/* Current blend weights (SESSREC_NFEATURES floats, indexed by enum sessrec_feature) for a
 * session of n items: blend_and_order, the order weights of its bucket (order_buckets);
 * otherwise the one blend (n is ignored). */
void sessrec_weights(const struct sessrec *m, size_t n, float *out);

/* Introspection for persistence / metrics. */
struct sessrec_stats {
    uint64_t ticks;        /* clicks observed */
    uint64_t sessions;     /* sessions ever created */
    uint32_t live_sessions;
    int32_t n_items;       /* 1 + largest item index seen */
    size_t bytes;          /* approximate heap bytes held */
};
void sessrec_stats(const struct sessrec *m, struct sessrec_stats *out);

/* Snapshots (sessrec_snapshot.c has the byte layout): sessrec_save() writes the whole learned
 * state through fn (which returns 0, or -1 to stop: sessrec_save then returns -1); a model
 * loaded from that image with sessrec_load() under the same parameters scores, learns and
 * saves exactly as the saved one. sessrec_load: 0 with *out (owned by the caller) and *used
 * (bytes of data read; may be NULL); -2 when the image was saved under other parameters; -1
 * for another version, truncated or corrupt data, out of memory (the reason in err). */
typedef int (*sessrec_write_fn)(void *ctx, const void *p, size_t n);
int sessrec_save(const struct sessrec *m, sessrec_write_fn fn, void *ctx);
int sessrec_load(const struct sessrec_params *p, const void *data, size_t len, size_t *used,
                 struct sessrec **out, char *err, size_t errlen);

const char *sessrec_reason_name(int reason);

/* Number of sessions that contained dense item `item` (its document frequency; a session
 * clicking it twice counts once); 0 for an item the model has never seen or a negative index.
 * (Added for rerank's cold-start slots: which catalogue items have few or no clicks.) */
uint32_t sessrec_item_sessions(const struct sessrec *m, int32_t item);

#ifdef __cplusplus
}
#endif
#endif
