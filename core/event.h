/*
 * event.h — the decoded input event model, the Recommendations record, and the per-batch
 * arena that owns their strings.
 *
 * Ownership: every pointer inside a struct recd_event / recd_recs points into the arena the
 * record was decoded into (or, when built by code, into memory the builder owns). Records
 * live until the arena is reset, i.e. for one micro-batch.
 */
#ifndef RECD_EVENT_H
#define RECD_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* ---- arena ---------------------------------------------------------------------------- */
struct recd_arena;
struct recd_arena *recd_arena_new(size_t chunk_size);
void recd_arena_destroy(struct recd_arena *a);
void recd_arena_reset(struct recd_arena *a);          /* frees all but the first chunk */
void *recd_arena_alloc(struct recd_arena *a, size_t n);  /* 16-byte aligned; NULL on OOM */
char *recd_arena_strndup(struct recd_arena *a, const char *s, size_t n);
size_t recd_arena_used(const struct recd_arena *a);

/* ---- growable byte buffer ------------------------------------------------------------- */
struct recd_buf {
    uint8_t *data;   /* owned */
    size_t len, cap;
};
void recd_buf_init(struct recd_buf *b);
void recd_buf_free(struct recd_buf *b);
int recd_buf_reserve(struct recd_buf *b, size_t extra);
int recd_buf_append(struct recd_buf *b, const void *p, size_t n);

/* ---- marked indices ------------------------------------------------------------------- */
/* A set of dense indices (items of the catalogue) marked during a batch, with a small mark
 * value each: O(1) to mark and test, and visiting or clearing it costs O(marked), not
 * O(catalogue) — a batch touches a few hundred items of maybe millions. Embedded by value:
 * init/free. Indices must be below the size given to recd_idxset_grow. */
struct recd_idxset {
    uint8_t *mark;      /* owned: by index, 0 = not marked */
    int32_t *list;      /* owned: the marked indices, in marking order */
    size_t n;           /* marked */
    size_t cap_mark, cap_list;
};
void recd_idxset_init(struct recd_idxset *s);
void recd_idxset_free(struct recd_idxset *s);
/* Room for indices below n (new ones unmarked): RECD_OK or RECD_ENOMEM. */
int recd_idxset_grow(struct recd_idxset *s, size_t n);
/* Marks index i with v (1..255) if it is not marked yet (a marked index keeps its value):
 * RECD_OK or RECD_ENOMEM. */
int recd_idxset_add(struct recd_idxset *s, int32_t i, uint8_t v);
/* Unmarks everything. */
void recd_idxset_clear(struct recd_idxset *s);

/* ---- topics ----------------------------------------------------------------------------- */
enum recd_kind {
    RECD_KIND_CLICK = 0,
    RECD_KIND_PURCHASE,
    RECD_KIND_QUERY,
    RECD_KIND_ITEM,
    RECD_KIND_DELETION,
    RECD_KIND__NINPUT,          /* number of input kinds */
    RECD_KIND_RECS = RECD_KIND__NINPUT,
    RECD_KIND__N
};
/* "click", "purchase", "query", "item", "deletion", "recommendations" */
const char *recd_kind_name(int kind);
/* Schema file base names: "click.avsc", ... */
const char *recd_kind_schema_file(int kind);

enum recd_click_type { RECD_CLICK_VIEW = 0, RECD_CLICK_CART = 1 };
enum recd_source { RECD_SRC_BROWSE = 0, RECD_SRC_SEARCH = 1, RECD_SRC_RECS = 2 };

struct recd_kv {
    const char *key, *value;
};

struct recd_click {
    const char *item_id;
    int type;                     /* enum recd_click_type */
    int source;                   /* enum recd_source */
    const char *session_id;       /* NULL when absent */
    const char *query_id;         /* NULL when absent */
    struct recd_kv *context;      /* channel, device, local_hour, ... */
    uint32_t n_context;
};

struct recd_purchase_line {
    const char *item_id;
    int32_t quantity;
    double unit_price;
};

struct recd_purchase {
    const char *order_id;
    struct recd_purchase_line *lines;
    uint32_t n_lines;
    const char *currency;
};

struct recd_query {
    const char *text;
    const char **shown;           /* item ids shown for the query; may be NULL with n_shown 0 */
    uint32_t n_shown;
};

struct recd_item {
    const char *item_id; /* for a removal (null value) only item_id (from the key) is set */
    const char *title;
    const char *description;
    const char **category; /* category path, root first */
    uint32_t n_category;
    const char *brand; /* NULL when absent */
    double price;
    int in_stock;
    int64_t updated_ts;
    int removed; /* 1: tombstone (null value) */
};

struct recd_deletion {
    int64_t requested_ts;
    const char *reason;  /* NULL when absent */
    uint32_t n_sessions; /* set by sessionize: the user's sessions were numbered 1..n_sessions
                          * (recd_session_key), so that sgd can end each in the model */
    int expired;         /* not a deletion request: the user expired (pipeline.user_ttl_days;
                          * the pipeline makes these events, the model keeps its aggregates) */
};

/* The identity of a user's number-th session (1, 2, ...): a hash of the user id and the
 * number. sessionize assigns it, sgd keys the model's sessions by it. */
uint64_t recd_session_key(const char *user_id, uint32_t number);

struct recd_event {
    int kind; /* enum recd_kind (input kinds only) */
    /* origin in Kafka */
    const char *topic; /* borrowed from config */
    int32_t partition;
    int64_t offset;
    /* common fields (items: event_id = item_id, user_id = NULL) */
    const char *event_id;
    const char *user_id;
    int64_t ts_ms; /* event time, ms since the epoch */
    /* annotations added by the sessionize operator (0 / -1 before it ran) */
    uint64_t session_key; /* identity of the user's current session */
    int32_t item_idx; /* dense catalogue index of the event's item (clicks) */
    int silent; /* applied to state; its user's output is another instance's (scale-out) */
    /* set by sessionize: catalogue items retired just before this event
     * (operators.sessionize.retire_removed_days), their former indexes and ids; both arrays in
     * the batch's arena, the ids valid until the batch commits */
    uint32_t n_retired;
    const int32_t *retired;
    const char *const *retired_ids;
    union {
        struct recd_click click;
        struct recd_purchase purchase;
        struct recd_query query;
        struct recd_item item;
        struct recd_deletion deletion;
    } u;
};

/* ---- output ---------------------------------------------------------------------------- */
struct recd_rec_item {
    const char *item_id;
    float score;
    const char *reason; /* reason code, e.g. "popular", "co_visited", "similar_text" */
    const char *because_item_id; /* NULL when not applicable */
};

struct recd_recs {
    const char *user_id;
    int64_t seq; /* monotonic per user, persisted with the state */
    const char *model_version;
    int64_t generated_ts; /* wall clock ms (informational) */
    const char *trigger_event_id; /* NULL when absent */
    struct recd_rec_item *items;
    uint32_t n_items;
};

#endif
