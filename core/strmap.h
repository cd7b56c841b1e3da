/*
 * strmap.h — a string-keyed open-addressing hash map (linear probing, xxh3 hashes,
 * tombstone-free backward-shift deletion). Keys are copied and owned by the map; values are
 * opaque pointers owned by the caller unless a free function is given.
 *
 * Iteration order is the table order: never let it decide output order or state bytes
 * (docs/ARCHITECTURE.md, determinism rule 3) — collect and sort first.
 */
#ifndef RECD_STRMAP_H
#define RECD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct recd_strmap;

/* free_val (may be NULL) is called on values when they are removed or the map destroyed. */
struct recd_strmap *recd_strmap_new(size_t initial, void (*free_val)(void *));
void recd_strmap_destroy(struct recd_strmap *m);
void recd_strmap_clear(struct recd_strmap *m);
size_t recd_strmap_count(const struct recd_strmap *m);

void *recd_strmap_get(const struct recd_strmap *m, const char *key);
/* Insert or replace (the old value is freed with free_val). RECD_OK or RECD_ENOMEM. */
int recd_strmap_put(struct recd_strmap *m, const char *key, void *val);
/* Remove; returns 1 if it was there. */
int recd_strmap_del(struct recd_strmap *m, const char *key);

/* Iterate: start with *pos = 0; returns 1 with key/val while entries remain. The map must not
 * be modified during iteration. */
int recd_strmap_next(const struct recd_strmap *m, size_t *pos, const char **key, void **val);

#endif
