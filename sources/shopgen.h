/*
 * shopgen.h — a deterministic synthetic shop: a catalogue, then users' interleaved sessions of
 * views, searches, add-to-carts and purchases, in event-time order.
 *
 * Used by `recctl gen`, by the daemon's embedded demo and by the benchmarks.
 *
 * Sequence:
 *   1. the catalogue: n_items RECD_KIND_ITEM events (item ids "i<n>", event_id = item_id,
 *      ts = updated_ts = start_ts_ms), titles built from per-category vocabularies
 *      ("Acme Trail Running Shoe Waterproof Blue"), category paths of 2–3 levels, brands,
 *      log-normal prices per category, in_stock mostly true;
 *   2. n_events user-activity events (clicks, queries, purchases) with event times strictly
 *      after start_ts_ms and non-decreasing. Up to `concurrency` sessions are open at once and
 *      their events are merged by event time. Users ("u<n>") have 1–3 preferred categories and
 *      a price band; items are drawn with a Zipf popularity skew inside a category and the next
 *      item is often a neighbour (same product family) of the previous one. Queries
 *      (RECD_KIND_QUERY, text made of title words) are followed by clicks with source SEARCH and
 *      query_id = the query's event_id; views may be followed by an add-to-cart click; a session
 *      with a cart may end with a purchase whose lines carry unit_price = the item's price.
 *      Event ids are "g<seed>-<n>", session ids "g<seed>-s<n>", order ids "g<seed>-o<n>".
 *
 *   With turnover_per_day > 0, at every day boundary (start_ts_ms + k days) before the first
 *   activity event past it, round(turnover_per_day x n_items) catalogue slots drawn at random
 *   (their own random stream) are replaced: a tombstone of the slot's item id, then a new item
 *   in the same slot (same category, popularity rank and attributes) with the next id of the
 *   slot ("i<slot>v<k>" for its k-th replacement), both at the boundary's time. Later activity
 *   names the new id. turnover_per_day = 0 leaves the sequence unchanged.
 *
 * Determinism: the sequence is a pure function of the conf (xoshiro256** seeded with
 * splitmix64; no rand(), no clock). Same conf → identical events.
 *
 * Ownership: the generator owns its catalogue; every string and array of an event returned by
 * recd_shopgen_next() is allocated in the caller's arena and lives until the arena is reset.
 * Thread-safety: one generator per thread.
 */
#ifndef RECD_SHOPGEN_H
#define RECD_SHOPGEN_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct recd_shopgen_conf {
    uint64_t seed;
    int64_t n_users;          /* >= 1 */
    int64_t n_items;          /* >= 1 */
    int64_t n_events;         /* user-activity events after the catalogue; >= 0 */
    int64_t start_ts_ms;      /* catalogue time; activity starts after it */
    int n_categories;         /* leaf categories, 1..RECD_SHOPGEN_MAX_CATEGORIES */
    double p_query;           /* per session step: the user searches (0..1) */
    double p_cart;            /* a view is followed by an add-to-cart of the item (0..1) */
    double p_purchase;        /* a session with a non-empty cart ends with a purchase (0..1) */
    int concurrency;          /* sessions open at once, >= 1 */
    double mean_dwell_s;      /* mean time between two events of a session (s), > 0 */
    double turnover_per_day;  /* catalogue turnover: at each day boundary of event time this
                               * fraction of the items (0..1) is replaced (below); 0: none */
};

#define RECD_SHOPGEN_MAX_CATEGORIES 1000

/* Fill *c with the defaults: seed 1, 1000 users, 500 items, 10000 events,
 * start 2024-01-01T00:00:00Z, 16 categories, p_query 0.1, p_cart 0.08, p_purchase 0.5,
 * concurrency 16, mean dwell 40 s, no turnover. */
void recd_shopgen_conf_init(struct recd_shopgen_conf *c);

struct recd_shopgen;

/* Create a generator (the conf is copied). RECD_EINVAL with errstr on a bad conf,
 * RECD_ENOMEM. *out is owned by the caller (recd_shopgen_destroy). */
int recd_shopgen_new(const struct recd_shopgen_conf *conf, struct recd_shopgen **out, char *errstr,
                     size_t errlen);

/* The next event: returns 1 and fills *ev (topic NULL, partition -1, offset -1; strings and
 * arrays in `arena`), 0 at the end of the sequence, RECD_ENOMEM if the arena is exhausted
 * (the generator state is then undefined: destroy it). */
int recd_shopgen_next(struct recd_shopgen *g, struct recd_arena *arena, struct recd_event *ev);

/* Number of events returned so far (catalogue included). */
int64_t recd_shopgen_count(const struct recd_shopgen *g);
/* Distinct item ids made so far (n_items, plus one per replacement). */
int64_t recd_shopgen_item_ids(const struct recd_shopgen *g);

void recd_shopgen_destroy(struct recd_shopgen *g);

#endif
