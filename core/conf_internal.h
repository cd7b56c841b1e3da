/*
 * conf_internal.h — private to the configuration code: conf.c (the loader, accessors and
 * reload check) and conf_dump.c (the writers: recd_conf_dump, the example config, the
 * markdown reference). Not for use outside them; the API is conf.h.
 */
#ifndef RECD_CONF_INTERNAL_H
#define RECD_CONF_INTERNAL_H

#include <stddef.h>

#include "conf.h"

#define MASK         "********"
#define PATH_MAX_LEN 512

struct recd_conf {
    const struct recd_conf_unit **units; /* owned array of borrowed unit pointers */
    size_t n_units;
    void **data;                         /* owned: one struct per unit; its strings and lists
                                            are owned too and freed per decl type */
    int *present;                        /* owned: unit's group appeared in the file */
    char *path;                          /* owned; NULL for recd_conf_defaults */
    struct loc **loc;                    /* owned: per unit, per decl, where the file set it */
};

/* Where a key was set: line 0 = it kept its default. file NULL = the main file (c->path). */
struct loc {
    unsigned line;
    char *file;                          /* owned; only for settings of an @include'd file */
};

/* ---- conf.c's helpers that the writers use too ------------------------------------------- */
/* Append to a NUL-terminated buffer, truncating silently. */
void conf_buf_append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The type's name, as messages and the docs show it. */
const char *conf_type_name(enum recd_conf_type t);

/* The default text used when decl->def is NULL. */
const char *conf_zero_text(enum recd_conf_type t);

/* Whether the decl has bounds (min <= max). */
int conf_bounded(const struct recd_conf_decl *d);

/* The decl's field in a unit struct. */
const void *conf_cfield_of(const void *data, const struct recd_conf_decl *d);

/* Whether two fields of type t hold the same value (maps: the same pairs in any order). */
int conf_value_equal(enum recd_conf_type t, const void *a, const void *b);

/* MAP keys that are masked by recd_conf_dump whatever the decl's flags. */
int conf_secret_key(const char *k);

/* The index of the unit named `name`, or -1. */
long conf_find_unit(const struct recd_conf *c, const char *name);

/* Whether some unit lives below `path` ("operators" for "operators.popular"). */
int conf_is_parent(const struct recd_conf *c, const char *path);

#endif
