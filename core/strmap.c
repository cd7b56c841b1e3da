/* strmap.c — see strmap.h. */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "recd.h"
#include "strmap.h"

struct slot {
    char *key;          /* NULL = empty; owned */
    void *val;
    uint64_t hash;
};

struct recd_strmap {
    struct slot *slots; /* owned, cap entries (power of two) */
    size_t cap, count;
    void (*free_val)(void *);
};

static int resize(struct recd_strmap *m, size_t cap)
{
    struct slot *old = m->slots, *ns;
    size_t oldcap = m->cap, i;

    ns = calloc(cap, sizeof(*ns));
    if (ns == NULL) {
        return RECD_ENOMEM;
    }
    m->slots = ns;
    m->cap = cap;
    for (i = 0; i < oldcap; i++) {
        if (old[i].key != NULL) {
            size_t j = old[i].hash & (cap - 1);

            while (ns[j].key != NULL) {
                j = (j + 1) & (cap - 1);
            }
            ns[j] = old[i];
        }
    }
    free(old);
    return RECD_OK;
}

struct recd_strmap *recd_strmap_new(size_t initial, void (*free_val)(void *))
{
    struct recd_strmap *m = calloc(1, sizeof(*m));
    size_t cap = 16;

    if (m == NULL) {
        return NULL;
    }
    while (cap < initial * 2) {
        cap *= 2;
    }
    m->free_val = free_val;
    if (resize(m, cap) != RECD_OK) {
        free(m);
        return NULL;
    }
    return m;
}

void recd_strmap_clear(struct recd_strmap *m)
{
    size_t i;

    for (i = 0; i < m->cap; i++) {
        if (m->slots[i].key != NULL) {
            free(m->slots[i].key);
            if (m->free_val) {
                m->free_val(m->slots[i].val);
            }
            m->slots[i].key = NULL;
            m->slots[i].val = NULL;
        }
    }
    m->count = 0;
}

void recd_strmap_destroy(struct recd_strmap *m)
{
    if (m == NULL) {
        return;
    }
    recd_strmap_clear(m);
    free(m->slots);
    free(m);
}

size_t recd_strmap_count(const struct recd_strmap *m)
{
    return m->count;
}

static size_t find(const struct recd_strmap *m, const char *key, uint64_t h)
{
    size_t j = h & (m->cap - 1);

    while (m->slots[j].key != NULL) {
        if (m->slots[j].hash == h && strcmp(m->slots[j].key, key) == 0) {
            return j;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return j;   /* empty slot */
}

void *recd_strmap_get(const struct recd_strmap *m, const char *key)
{
    size_t j = find(m, key, XXH3_64bits(key, strlen(key)));

    return m->slots[j].key ? m->slots[j].val : NULL;
}

int recd_strmap_put(struct recd_strmap *m, const char *key, void *val)
{
    uint64_t h = XXH3_64bits(key, strlen(key));
    size_t j;

    if ((m->count + 1) * 4 > m->cap * 3 && resize(m, m->cap * 2) != RECD_OK) {
        return RECD_ENOMEM;
    }
    j = find(m, key, h);
    if (m->slots[j].key != NULL) {
        if (m->free_val && m->slots[j].val != val) {
            m->free_val(m->slots[j].val);
        }
        m->slots[j].val = val;
        return RECD_OK;
    }
    m->slots[j].key = recd_strdup(key);
    if (m->slots[j].key == NULL) {
        return RECD_ENOMEM;
    }
    m->slots[j].val = val;
    m->slots[j].hash = h;
    m->count++;
    return RECD_OK;
}

int recd_strmap_del(struct recd_strmap *m, const char *key)
{
    size_t i = find(m, key, XXH3_64bits(key, strlen(key))), j, k;

    if (m->slots[i].key == NULL) {
        return 0;
    }
    free(m->slots[i].key);
    if (m->free_val) {
        m->free_val(m->slots[i].val);
    }
    m->slots[i].key = NULL;
    m->count--;
    /* backward-shift deletion keeps probe chains intact */
    j = i;
    for (;;) {
        j = (j + 1) & (m->cap - 1);
        if (m->slots[j].key == NULL) {
            break;
        }
        k = m->slots[j].hash & (m->cap - 1);
        /* move j to i if k is cyclically outside (i, j] */
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            m->slots[j].val = NULL;
            i = j;
        }
    }
    return 1;
}

int recd_strmap_next(const struct recd_strmap *m, size_t *pos, const char **key, void **val)
{
    while (*pos < m->cap) {
        size_t j = (*pos)++;

        if (m->slots[j].key != NULL) {
            *key = m->slots[j].key;
            *val = m->slots[j].val;
            return 1;
        }
    }
    return 0;
}
