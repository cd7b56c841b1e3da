/*
 * harness.h — the in-process "world" the operator tests run in: a pipeline over a real
 * RocksDB state in a scratch directory, fed real Avro records encoded by the codec, with a
 * capturing sink standing in for Kafka (published lists are decoded back and kept in order).
 *
 *   struct world *w = world_new("pipeline = { chain = [\"popular\"]; };\n");
 *   click(w, "u1", "a", T0);              queue events (encoded now, nothing runs yet)
 *   run(w, 16);                           run everything queued, in batches of 16 records
 *   c = last_for(w, "u1");                the user's last published list (or tombstone)
 *   listed(c, "a")                        1-based rank of an item in it, 0 if absent
 *   world_free(w);
 *
 * The configuration text is appended to "state = { dir = ...; };", so a test sets only what it
 * changes. Failures (config, encode, batch) fail the running cmocka test. Event ids are
 * numbered by process-wide counters ("c0", "c1", ... for clicks and carts, "q0", ... for
 * queries, "p0", ... for purchases), as test_pipeline's fingerprint has always seen them.
 *
 * Ownership: world_new returns a world the caller frees with world_free (which also removes
 * the scratch directory). Captured lists point into the world's arena and live as long as the
 * world; a test that replaces w->p (a "restart") owns the replacement in the same way.
 * At most WORLD_MAXREC records may be queued between runs; the last WORLD_MAXREC published
 * records are kept (w->out[i % WORLD_MAXREC], w->n_out counts all).
 */
#ifndef RECD_TEST_HARNESS_H
#define RECD_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "pipeline.h"

#define WORLD_MAXREC 4096
#define T0           1600000000000LL          /* event time of the tests' streams: 2020-09-13 */

struct recd_conf;
struct recd_state;
struct recd_codec;

struct captured {
    char user[64];
    int tombstone;
    struct recd_recs recs;          /* points into the world's arena */
};

struct world {
    char dir[64];                   /* the scratch state directory */
    struct recd_conf *conf;         /* owned */
    struct recd_state *st;          /* owned */
    struct recd_codec *codec;       /* owned */
    struct recd_pipeline *p;        /* owned (NULL allowed at world_free) */
    struct recd_arena *arena;       /* decoded captured outputs */
    struct captured out[WORLD_MAXREC];
    size_t n_out, n_dlq;
    struct recd_buf bufs[WORLD_MAXREC];   /* encoded input */
    struct recd_raw raws[WORLD_MAXREC];
    size_t n_raws;
    int64_t offsets[RECD_KIND__NINPUT];
};

/* The capturing sink: publish decodes into w->out, dead_letter counts w->n_dlq, flush is a
 * no-op, no hold. Its opaque must be set to the world. */
extern const struct recd_sink WORLD_SINK;

/* A world with the configuration text `extra` (NULL: defaults). */
struct world *world_new(const char *extra);
void world_free(struct world *w);
/* "Restart": a new pipeline over the same state and configuration (metrics may be NULL, and
 * must outlive the pipeline). */
void world_reopen(struct world *w, struct recd_metrics *metrics);
/* Apply a new configuration as a SIGHUP reload does (reloadable keys only). */
void world_reconfigure(struct world *w, const char *extra);

/* Queue one event (encoded through the codec, as it would arrive from Kafka). */
void add(struct world *w, struct recd_event *ev);
void click(struct world *w, const char *user, const char *item, int64_t ts);
void cart(struct world *w, const char *user, const char *item, int64_t ts);   /* add-to-cart */
void purchase(struct world *w, const char *user, const char *item, int32_t quantity, int64_t ts);
void item(struct world *w, const char *id, const char *title, const char *cat, int in_stock);
void query(struct world *w, const char *user, const char *text, int64_t ts);
void forget(struct world *w, const char *user, int64_t ts);

/* Run everything queued so far in batches of bs records. */
void run(struct world *w, size_t bs);

/* The user's last published record (NULL: none). */
const struct captured *last_for(const struct world *w, const char *user);
/* 1-based rank of item in c's list; 0 when absent (or c is NULL or a tombstone). */
int listed(const struct captured *c, const char *item);
/* How many records were published for user so far (among the kept ones). */
size_t published_for(const struct world *w, const char *user);

#endif
