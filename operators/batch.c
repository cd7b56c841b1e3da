/* batch.c — helpers on struct recd_batch (operator.h). Arrays are malloc'd and owned by the
 * batch (freed by the daemon's pipeline); strings point into the batch arena or events. */
#include <stdlib.h>
#include <string.h>

#include "recd.h"
#include "operator.h"
#include "strmap.h"

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t nc = *cap ? *cap : 64;
    void *p;

    if (need <= *cap) {
        return RECD_OK;
    }
    while (nc < need) {
        nc *= 2;
    }
    p = realloc(*arr, nc * elem);
    if (p == NULL) {
        return RECD_ENOMEM;
    }
    *arr = p;
    *cap = nc;
    return RECD_OK;
}

int recd_batch_mark_dirty(struct recd_batch *b, const char *user_id, const char *event_id)
{
    size_t cap = b->cap_dirty;

    if (b->silent_users != NULL && recd_strmap_get(b->silent_users, user_id) != NULL) {
        return RECD_OK; /* another instance publishes this user */
    }
    if (grow((void **)&b->dirty, &cap, b->n_dirty + 1, sizeof(*b->dirty)) != RECD_OK) {
        return RECD_ENOMEM;
    }
    cap = b->cap_dirty;
    if (grow((void **)&b->dirty_trigger, &cap, b->n_dirty + 1, sizeof(*b->dirty_trigger)) !=
        RECD_OK) {
        return RECD_ENOMEM;
    }
    b->cap_dirty = cap;
    b->dirty[b->n_dirty] = user_id;
    b->dirty_trigger[b->n_dirty] = event_id;
    b->n_dirty++;
    return RECD_OK;
}

struct dirty_pair {
    const char *u, *e;
    size_t pos;
};

static int cmp_dirty(const void *a, const void *b)
{
    const struct dirty_pair *x = a, *y = b;
    int c = strcmp(x->u, y->u);

    if (c != 0) {
        return c;
    }
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void recd_batch_dirty_sorted(struct recd_batch *b)
{
    struct dirty_pair *v;
    size_t i, n = 0;

    if (b->n_dirty < 2) {
        return;
    }
    v = malloc(b->n_dirty * sizeof(*v));
    if (v == NULL) {
        return;   /* leave unsorted: callers tolerate duplicates */
    }
    for (i = 0; i < b->n_dirty; i++) {
        v[i].u = b->dirty[i];
        v[i].e = b->dirty_trigger[i];
        v[i].pos = i;
    }
    qsort(v, b->n_dirty, sizeof(*v), cmp_dirty);
    for (i = 0; i < b->n_dirty; i++) {
        if (n > 0 && strcmp(b->dirty[n - 1], v[i].u) == 0) {
            b->dirty_trigger[n - 1] = v[i].e;    /* later event wins */
        } else {
            b->dirty[n] = v[i].u;
            b->dirty_trigger[n] = v[i].e;
            n++;
        }
    }
    b->n_dirty = n;
    free(v);
}

struct recd_recs *recd_batch_add_output(struct recd_batch *b)
{
    struct recd_recs *r;

    if (grow((void **)&b->out, &b->cap_out, b->n_out + 1, sizeof(*b->out)) != RECD_OK) {
        return NULL;
    }
    r = &b->out[b->n_out++];
    memset(r, 0, sizeof(*r));
    return r;
}

int recd_batch_add_forgotten(struct recd_batch *b, const char *user_id)
{
    size_t i, n;

    if (grow((void **)&b->forgotten, &b->cap_forgotten, b->n_forgotten + 1,
             sizeof(*b->forgotten)) != RECD_OK) {
        return RECD_ENOMEM;
    }
    b->forgotten[b->n_forgotten++] = user_id;
    /* drop the user's pending recomputation and output: nothing may resurrect them */
    for (i = 0, n = 0; i < b->n_dirty; i++) {
        if (strcmp(b->dirty[i], user_id) != 0) {
            b->dirty[n] = b->dirty[i];
            b->dirty_trigger[n] = b->dirty_trigger[i];
            n++;
        }
    }
    b->n_dirty = n;
    for (i = 0, n = 0; i < b->n_out; i++) {
        if (strcmp(b->out[i].user_id, user_id) != 0) {
            b->out[n++] = b->out[i];
        }
    }
    b->n_out = n;
    return RECD_OK;
}

/* ---- services ---------------------------------------------------------------------------- */

#define RECD_MAX_SERVICES 16

struct recd_services {
    const char *name[RECD_MAX_SERVICES];   /* static strings */
    void *ptr[RECD_MAX_SERVICES];          /* borrowed */
    size_t n;
};

struct recd_services *recd_services_new(void)
{
    return calloc(1, sizeof(struct recd_services));
}

void recd_services_destroy(struct recd_services *s)
{
    free(s);
}

int recd_services_put(struct recd_services *s, const char *name, void *ptr)
{
    if (s == NULL || s->n == RECD_MAX_SERVICES) {
        return RECD_ENOMEM;
    }
    s->name[s->n] = name;
    s->ptr[s->n] = ptr;
    s->n++;
    return RECD_OK;
}

void *recd_services_get(const struct recd_services *s, const char *name)
{
    size_t i;

    for (i = 0; s != NULL && i < s->n; i++) {
        if (strcmp(s->name[i], name) == 0) {
            return s->ptr[i];
        }
    }
    return NULL;
}
