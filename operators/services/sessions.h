/*
 * services/sessions.h — service "sessions": each user's current session context and
 * long-term profile, as of the events processed so far in this batch.
 *
 * Offered by: sessionize (operators/sessionize/sessionize.c implements everything declared
 * here). Looked up by: sgd (presence only), rerank (recd_services_get(env->services,
 * "sessions")).
 *
 * Ownership: everything returned is owned by the sessionize operator; session and profile
 * pointers stay valid until the end of the current batch.
 */
#ifndef RECD_SERVICES_SESSIONS_H
#define RECD_SERVICES_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

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
