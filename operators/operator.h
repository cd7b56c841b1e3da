/*
 * operator.h — the one interface every pipeline operator implements.
 *
 * An operator is a self-contained unit in operators/<name>/ that exports one statically
 * initialised `const struct recd_operator_desc recd_op_<name>` and registers it in
 * operators/registry.c. The chain (pipeline.chain in the config) names the operators in
 * order; each micro-batch runs through process() of each operator in that order, then
 * checkpoint() of each, then the daemon commits the batch's state with its input offsets in
 * one atomic write and publishes the batch's output.
 *
 * Determinism rules every operator keeps (docs/ARCHITECTURE.md "Determinism"):
 *   1. event time comes from the events (ev->ts_ms), never from the clock;
 *   2. randomness is seeded from event identity (see recd_det_seed in opkit.h);
 *   3. iteration over hash tables never decides output order or state bytes: sort first;
 *   4. state is written only in checkpoint(), and equals what a restart would read back.
 *
 * Forgetting a user: a deletion event reaches process() alone (the daemon splits the batch
 * around it). The operator drops every in-batch/cached entry of that user, so checkpoint()
 * does not write them back; the daemon deletes the user's key ranges in USERS, SESSIONS and
 * OUTPUTS (before the operators' checkpoint writes, so events after the deletion in the same
 * batch start a fresh user), removes the user from the batch's dirty list and output, and
 * publishes a tombstone.
 *
 * Ownership: the daemon owns the batch and everything in it; operators may allocate output
 * from batch->arena. The operator owns its context (created by init, freed by fini).
 */
#ifndef RECD_OPERATOR_H
#define RECD_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct recd_state;
struct recd_txn;
struct recd_conf_unit;
struct recd_metrics;
struct recd_strmap;

/* Services operators offer each other (e.g. sessionize offers "catalog" and "sessions"):
 * an operator registers a pointer under a name in init(); operators later in the chain look
 * it up in their init() and fail with a clear message when it is missing. Each service's
 * interface (the pointer's type, its accessors, ownership and lifetime) is declared in
 * operators/services/<name>.h; an operator includes those, never another operator's folder. */
struct recd_services;
int recd_services_put(struct recd_services *s, const char *name, void *ptr);
void *recd_services_get(const struct recd_services *s, const char *name);

/* What the daemon lends an operator. All borrowed for the operator's lifetime. */
struct recd_op_env {
    struct recd_state *state;
    struct recd_metrics *metrics;       /* may be NULL (tools, tests) */
    const char *model_version;
    struct recd_services *services;
};

/* One micro-batch. */
struct recd_batch {
    struct recd_event *events;          /* valid events, in consumption order */
    size_t n_events;
    struct recd_arena *arena;           /* per-batch memory; reset after the batch */
    struct recd_txn *txn;               /* the batch's state writes (with its offsets) */

    /* Users whose recommendations must be recomputed (sorted unique at rerank time by
     * recd_batch_dirty_sorted()); operators add with recd_batch_mark_dirty(). */
    const char **dirty;
    const char **dirty_trigger;         /* event id that last dirtied the user */
    size_t n_dirty, cap_dirty;
    /* Borrowed, may be NULL: users all of whose events in this batch are silent (another
     * instance publishes them, kafka.learn_from = "all"); recd_batch_mark_dirty ignores them,
     * so their state is updated and nothing is scored or published for them. */
    const struct recd_strmap *silent_users;

    /* Output: lists to publish and users to tombstone, filled by operators. */
    struct recd_recs *out;
    size_t n_out, cap_out;
    const char **forgotten;             /* user ids to publish a tombstone for */
    size_t n_forgotten, cap_forgotten;
};

int recd_batch_mark_dirty(struct recd_batch *b, const char *user_id, const char *event_id);
/* Sort and deduplicate the dirty list (last trigger wins). */
void recd_batch_dirty_sorted(struct recd_batch *b);
struct recd_recs *recd_batch_add_output(struct recd_batch *b);
int recd_batch_add_forgotten(struct recd_batch *b, const char *user_id);

struct recd_operator_desc {
    const char *name;
    const char *description;
    const struct recd_conf_unit *conf;  /* its config table (unit "operators.<name>") */

    /* Create the context from the unit's config struct. */
    int (*init)(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                size_t errlen);
    /* Process a batch (events in order). Must not write state (see rule 4). */
    int (*process)(void *ctx, struct recd_batch *b, char *errstr, size_t errlen);
    /* Periodic housekeeping between batches (optional). now_ms is the stream's event time
     * high-water mark, not the wall clock. */
    int (*tick)(void *ctx, int64_t event_time_ms, char *errstr, size_t errlen);
    /* Write this batch's dirty state into b->txn. */
    int (*checkpoint)(void *ctx, struct recd_batch *b, char *errstr, size_t errlen);
    /* Commit outcome: ok=1 after the atomic write succeeded, ok=0 when it failed (the
     * operator must drop its in-batch view so state is re-read). Optional. */
    void (*committed)(void *ctx, int ok);
    /* The process stops cleanly: every batch is committed and no other runs. Write what makes
     * the next start faster (optional; outside any batch: nothing it writes may change the
     * state a digest covers; a failure is logged, never fatal). */
    int (*stop)(void *ctx, char *errstr, size_t errlen);
    /* Apply reloadable knobs from a new config struct (optional). */
    int (*reconfigure)(void *ctx, const void *conf, char *errstr, size_t errlen);
    void (*fini)(void *ctx);
};

/* The daemon's side of the services registry. */
struct recd_services *recd_services_new(void);
void recd_services_destroy(struct recd_services *s);

/* Registry (operators/registry.c). */
const struct recd_operator_desc *recd_operator_find(const char *name);
size_t recd_operator_count(void);
const struct recd_operator_desc *recd_operator_at(size_t i);

#endif
