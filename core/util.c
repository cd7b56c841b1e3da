/*
 * util.c — the error vocabulary, small string/clock helpers, the per-batch arena and the
 * growable byte buffer (recd.h, event.h).
 */
#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "recd.h"
#include "event.h"

const char *recd_strerror(int err)
{
    switch (err) {
    case RECD_OK:      return "success";
    case RECD_ERR:     return "error";
    case RECD_EINVAL:  return "invalid argument";
    case RECD_ENOMEM:  return "out of memory";
    case RECD_EIO:     return "I/O error";
    case RECD_EDECODE: return "cannot decode record";
    case RECD_EVALID:  return "record failed validation";
    case RECD_ECONFIG: return "configuration error";
    case RECD_ESTATE:  return "state store error";
    case RECD_EKAFKA:  return "Kafka error";
    case RECD_ELOCKED: return "resource locked by another process";
    case RECD_ENOENT:  return "not found";
    case RECD_EAGAIN:  return "try again";
    default:           return "unknown error";
    }
}

int recd_seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
{
    va_list ap;

    if (errstr != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errstr, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

char *recd_strdup(const char *s)
{
    return s ? recd_strndup(s, strlen(s)) : NULL;
}

char *recd_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int64_t recd_now_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t recd_now_thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0; /* no per-thread clock: the CPU-time metrics stay at 0 */
    }
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int rmtree_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

int recd_rmtree(const char *path)
{
    if (nftw(path, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
        return RECD_EIO;
    }
    return RECD_OK;
}

int64_t recd_now_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- kinds ------------------------------------------------------------------------------ */

static const char *const kind_names[RECD_KIND__N] = { "click", "purchase", "query",
                                                      "item",  "deletion", "recommendations" };
static const char *const kind_files[RECD_KIND__N] = {
    "click.avsc", "purchase.avsc",      "query.avsc",
    "item.avsc",  "user_deletion.avsc", "recommendations.avsc"
};

uint64_t recd_session_key(const char *user_id, uint32_t number)
{
    uint64_t seed[2];

    seed[0] = XXH3_64bits(user_id, strlen(user_id));
    seed[1] = number;
    return XXH3_64bits(seed, sizeof(seed));
}

const char *recd_kind_name(int kind)
{
    return (kind >= 0 && kind < RECD_KIND__N) ? kind_names[kind] : "unknown";
}

const char *recd_kind_schema_file(int kind)
{
    return (kind >= 0 && kind < RECD_KIND__N) ? kind_files[kind] : NULL;
}

/* ---- arena ------------------------------------------------------------------------------ */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    /* data follows, 16-byte aligned */
    _Alignas(16) unsigned char data[];
};

struct recd_arena {
    struct arena_chunk *head;   /* current chunk (most recent); owned list */
    size_t chunk_size;
    size_t total_used;
};

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = malloc(sizeof(*c) + size);

    if (c == NULL) {
        return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct recd_arena *recd_arena_new(size_t chunk_size)
{
    struct recd_arena *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    a->chunk_size = chunk_size < 4096 ? 4096 : chunk_size;
    a->head = chunk_new(a->chunk_size);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void recd_arena_destroy(struct recd_arena *a)
{
    struct arena_chunk *c, *n;

    if (a == NULL) {
        return;
    }
    for (c = a->head; c != NULL; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void recd_arena_reset(struct recd_arena *a)
{
    struct arena_chunk *c, *n, *keep = NULL;

    /* keep the oldest chunk only if it has the default size; free the rest */
    for (c = a->head; c != NULL; c = n) {
        n = c->next;
        if (n == NULL && c->size == a->chunk_size) {
            keep = c;
        } else {
            free(c);
        }
    }
    if (keep == NULL) {
        keep = chunk_new(a->chunk_size);   /* may be NULL: alloc will retry */
    }
    a->head = keep;
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->total_used = 0;
}

void *recd_arena_alloc(struct recd_arena *a, size_t n)
{
    struct arena_chunk *c;
    size_t need = (n + 15u) & ~(size_t)15u;

    if (need < n) {
        return NULL;   /* overflow */
    }
    c = a->head;
    if (c == NULL || c->size - c->used < need) {
        size_t sz = need > a->chunk_size ? need : a->chunk_size;

        c = chunk_new(sz);
        if (c == NULL) {
            return NULL;
        }
        c->next = a->head;
        a->head = c;
    }
    c->used += need;
    a->total_used += need;
    return c->data + (c->used - need);
}

char *recd_arena_strndup(struct recd_arena *a, const char *s, size_t n)
{
    char *p = recd_arena_alloc(a, n + 1);

    if (p == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

size_t recd_arena_used(const struct recd_arena *a)
{
    return a->total_used;
}

/* ---- buffer ----------------------------------------------------------------------------- */

void recd_idxset_init(struct recd_idxset *s)
{
    memset(s, 0, sizeof(*s));
}

void recd_idxset_free(struct recd_idxset *s)
{
    free(s->mark);
    free(s->list);
    memset(s, 0, sizeof(*s));
}

int recd_idxset_grow(struct recd_idxset *s, size_t n)
{
    size_t nc = s->cap_mark ? s->cap_mark : 1024;
    uint8_t *m;

    if (n <= s->cap_mark) {
        return RECD_OK;
    }
    while (nc < n) {
        nc *= 2;
    }
    m = realloc(s->mark, nc);
    if (m == NULL) {
        return RECD_ENOMEM;
    }
    memset(m + s->cap_mark, 0, nc - s->cap_mark);
    s->mark = m;
    s->cap_mark = nc;
    return RECD_OK;
}

int recd_idxset_add(struct recd_idxset *s, int32_t i, uint8_t v)
{
    assert(v != 0 && i >= 0 && (size_t)i < s->cap_mark);   /* the caller's contract */
    if (s->mark[i] != 0) {
        return RECD_OK;
    }
    if (s->n == s->cap_list) {
        size_t nc = s->cap_list ? s->cap_list * 2 : 256;
        int32_t *l = realloc(s->list, nc * sizeof(*l));

        if (l == NULL) {
            return RECD_ENOMEM;
        }
        s->list = l;
        s->cap_list = nc;
    }
    s->list[s->n++] = i;
    s->mark[i] = v;
    return RECD_OK;
}

void recd_idxset_clear(struct recd_idxset *s)
{
    for (size_t k = 0; k < s->n; k++) {
        s->mark[s->list[k]] = 0;
    }
    s->n = 0;
}

void recd_buf_init(struct recd_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void recd_buf_free(struct recd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int recd_buf_reserve(struct recd_buf *b, size_t extra)
{
    size_t need = b->len + extra, cap;
    uint8_t *p;

    if (need < b->len) {
        return RECD_ENOMEM;
    }
    if (need <= b->cap) {
        return RECD_OK;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return RECD_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return RECD_OK;
}

int recd_buf_append(struct recd_buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return RECD_OK;
    }
    if (recd_buf_reserve(b, n) != RECD_OK) {
        return RECD_ENOMEM;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return RECD_OK;
}
