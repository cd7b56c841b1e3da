/*
 * sessionize.h — the sessionize operator's services for the operators after it in the chain.
 *
 *   "catalog":  the item dictionary (item id <-> dense index, persisted, assigned in order of
 *               first appearance in the stream) and each item's metadata from the catalogue
 *   "sessions": each user's current session context and long-term profile, as of the events
 *               processed so far in this batch
 *
 * Ownership: everything returned is owned by the sessionize operator; pointers stay valid
 * until the end of the current batch (sessions) or until the next catalogue change (meta).
 */
#ifndef RECD_SESSIONIZE_H
#define RECD_SESSIONIZE_H

#include <stddef.h>
#include <stdint.h>

/* ---- catalog ---- */
struct recd_catalog;

struct recd_item_meta {
    float price;          /* 0 when unknown */
    uint32_t cat_leaf;    /* hash of the full category path (0: unknown) */
    uint32_t cat_top;     /* hash of the top-level category (0: unknown) */
    uint8_t in_stock;     /* 1 unless the catalogue says otherwise */
    uint8_t removed;      /* tombstoned in the catalogue */
    uint8_t known;        /* a catalogue record was seen */
    uint8_t pad;
};

int32_t recd_catalog_find(const struct recd_catalog *c, const char *item_id);   /* -1: unknown */
const char *recd_catalog_item_id(const struct recd_catalog *c, int32_t idx);
size_t recd_catalog_size(const struct recd_catalog *c);
const struct recd_item_meta *recd_catalog_meta(const struct recd_catalog *c, int32_t idx);
/* Hash used for category names (so other operators can match configured categories). */
uint32_t recd_category_hash(const char *name);

/* ---- sessions and profiles ---- */
#define RECD_SESSION_ITEMS     32
#define RECD_PROFILE_CATS      16
#define RECD_PROFILE_PURCHASES 32

struct recd_session {
    uint64_t key;                         /* stable identity of this session */
    uint32_t number;                      /* how many sessions the user had (1 = first) */
    uint32_t n_events, n_clicks, n_carts, n_queries, n_purchases, n_late;
    int64_t start_ts, last_ts;
    uint32_t n_items;                     /* valid entries in items[] (oldest first) */
    int32_t items[RECD_SESSION_ITEMS];    /* recent clicked items, most recent last */
    uint32_t dwell_ms[RECD_SESSION_ITEMS];/* time from the click to the next event */
    char last_query[128];                 /* most recent query text ("" if none) */
    char channel[16], device[16];         /* scene, from the events' context */
    int32_t local_hour;                   /* -1 unknown */
    float price_min, price_max, price_sum;
    uint32_t price_n;
    uint32_t top_cat[4];                  /* most frequent categories of the session */
    uint32_t top_cat_n[4];
};

struct recd_profile {
    int64_t updated_ts;
    uint32_t n_sessions;                  /* sessions started so far */
    uint32_t n_cats;
    uint32_t cat[RECD_PROFILE_CATS];      /* category affinities, decayed by event time */
    float cat_w[RECD_PROFILE_CATS];
    float log_price_mean, price_w;
    uint32_t n_purchased;
    int32_t purchased[RECD_PROFILE_PURCHASES];      /* most recent last */
    int64_t purchased_ts[RECD_PROFILE_PURCHASES];
};

struct recd_sessions;
/* The user's current session / profile (NULL when the user has none). */
const struct recd_session *recd_sessions_get(struct recd_sessions *s, const char *user_id);
const struct recd_profile *recd_profile_get(struct recd_sessions *s, const char *user_id);

#endif
