/*
 * conf.h — declarative configuration tables (one per unit) and the libconfig loader.
 *
 * Every unit (the daemon core, kafka, state, each operator, ...) declares one table of
 * struct recd_conf_decl rows: name, type, default (as text, parsed by the same parser as the
 * file), bounds, flags (reloadable, secret) and a description. The table is the only place a
 * default lives; conf/recd.conf and docs/CONFIGURATION.md are generated from / checked
 * against the tables.
 *
 * A unit is a libconfig group addressed by a dotted path ("kafka", "operators.popular").
 * Unknown groups, unknown keys, wrong types and out-of-bounds values are errors reported as
 * "FILE:LINE: unit.key: message" (exit code 78 in recd).
 */
#ifndef RECD_CONF_H
#define RECD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum recd_conf_type {
    RECD_CT_INT,      /* int64_t; bounds min..max */
    RECD_CT_DOUBLE,   /* double; bounds min..max; NaN/inf rejected */
    RECD_CT_BOOL,     /* int (0/1) */
    RECD_CT_STRING, /* char * (owned by the config); bounds = length min..max; choices optional */
    RECD_CT_STRLIST, /* struct recd_strlist; bounds = number of elements min..max; choices optional */
    RECD_CT_MAP /* struct recd_kvlist: a group of name = "string" pairs (e.g. kafka.properties) */
};
/* MAP keys: libconfig 1.5 names must match [A-Za-z*][-A-Za-z0-9_*]* (no dots), so in the file
 * '_' stands for '.': `properties = { security_protocol = "ssl"; };` is stored under the key
 * "security.protocol" (recd_kvlist_get(l, "security.protocol")). Say so in the decl's desc.
 * INT: libconfig 1.5 silently wraps integers outside 32 bits unless written with the L
 * suffix ("5000000000L"); the loader compares every integer with its literal in the file and
 * refuses a wrapped one ("FILE:LINE: unit.key: 5000000000 needs the L suffix ..."). */

#define RECD_CF_RELOADABLE 0x1u /* may change on SIGHUP */
#define RECD_CF_SECRET \
    0x2u /* masked by --dump-config (for MAP: values whose key matches
                                    *password*, *secret*, sasl.*, ssl.key.* are masked) */

struct recd_strlist {
    size_t n;
    char **v; /* owned */
};

struct recd_kvlist {
    size_t n;
    char **k; /* owned */
    char **v; /* owned */
    int *line; /* source line of each pair (0 if from defaults) */
};

struct recd_conf_decl;
/* Optional extra validation of a parsed value (after type and bounds checks).
 * `value` points at the field inside the unit struct. Return 0 or write errstr and return <0. */
typedef int (*recd_conf_check_fn)(const struct recd_conf_decl *d, const void *value, char *errstr,
                                  size_t errlen);

struct recd_conf_decl {
    const char *name; /* key inside the unit's group */
    enum recd_conf_type type;
    const char *def; /* default as libconfig text: "20", "0.5", "true", "\"x\"",
                                  "[\"a\", \"b\"]", "{}"; NULL = empty/zero */
    double min, max; /* bounds (see type); min > max means unbounded */
    unsigned flags; /* RECD_CF_* */
    size_t offset; /* offsetof(unit struct, field) */
    const char *desc; /* one or more sentences; the documentation */
    const char *const *choices; /* NULL-terminated allowed values for STRING/STRLIST, or NULL */
    recd_conf_check_fn check; /* optional */
};

struct recd_conf_unit {
    const char *name; /* dotted group path, e.g. "operators.popular" */
    const char *desc; /* what the unit is */
    const struct recd_conf_decl *decls;
    size_t n_decls;
    size_t struct_size; /* size of the unit's config struct */
};

/* A loaded configuration: one struct per unit, filled from defaults then the file. */
struct recd_conf;

/* Configuration files larger than this are refused before parsing (libconfig's scanner is
 * quadratic in the length of a string: a 4 MiB string took 7 s). */
#define RECD_CONF_MAX_BYTES (1 << 20)

/* Load `path` against `units` (borrowed; must outlive the result). On error returns
 * RECD_ECONFIG (or RECD_EIO if the file cannot be read) and writes
 * "FILE:LINE: unit.key: message" into errstr. *out is owned by the caller. */
int recd_conf_load(const char *path, const struct recd_conf_unit *const *units, size_t n_units,
                   struct recd_conf **out, char *errstr, size_t errlen);
/* Same, from a string (used by tests and by the demo's built-in config). `name` is used in
 * messages in place of the file name. */
int recd_conf_load_string(const char *text, const char *name,
                          const struct recd_conf_unit *const *units, size_t n_units,
                          struct recd_conf **out, char *errstr, size_t errlen);
/* Defaults only (no file). */
int recd_conf_defaults(const struct recd_conf_unit *const *units, size_t n_units,
                       struct recd_conf **out, char *errstr, size_t errlen);

void recd_conf_destroy(struct recd_conf *c);

/* The unit's struct (borrowed from c), or NULL when the unit is not registered. */
const void *recd_conf_unit_data(const struct recd_conf *c, const char *unit_name);
/* Whether the group of the unit appeared in the file. */
int recd_conf_unit_present(const struct recd_conf *c, const char *unit_name);
const char *recd_conf_path(const struct recd_conf *c);

/* Where unit.key was set: "FILE:LINE", or the configuration's file name alone when the key
 * kept its default ("(defaults)" for recd_conf_defaults). Returns buf. */
const char *recd_conf_where(const struct recd_conf *c, const char *unit, const char *key, char *buf,
                            size_t len);
/* The value of unit.key (borrowed from c) when the key exists with that type, else NULL: for
 * checks across units whose structs are private (e.g. an operator's). */
const void *recd_conf_field(const struct recd_conf *c, const char *unit, const char *key,
                            enum recd_conf_type type);
/* The line unit.key was set on, 0 when it kept its default. */
unsigned recd_conf_line(const struct recd_conf *c, const char *unit, const char *key);
/* A check across keys failed: errstr = "WHERE: unit.key: MESSAGE" (WHERE as recd_conf_where);
 * returns RECD_ECONFIG. */
int recd_conf_error(const struct recd_conf *c, const char *unit, const char *key, char *errstr,
                    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* For reload: RECD_OK when every key that differs between a and b is RECD_CF_RELOADABLE;
 * otherwise RECD_ECONFIG and errstr names the first non-reloadable key that changed
 * ("unit.key: cannot be changed by reload (restart required)"). */
int recd_conf_check_reload(const struct recd_conf *old_c, const struct recd_conf *new_c,
                           char *errstr, size_t errlen);

/* Print the effective configuration as libconfig text, secrets masked as "********". */
void recd_conf_dump(const struct recd_conf *c, FILE *out);

/* What a reload changes: "unit.key OLD -> NEW, ..." over the keys of new_c whose value differs
 * from old_c's (secrets masked, maps and lists longer than the buffer shortened), "nothing"
 * when none does. Units only one of them has are named as "unit (added)"/"(removed)". */
void recd_conf_describe_changes(const struct recd_conf *old_c, const struct recd_conf *new_c,
                                char *out, size_t len);

/* Print a complete commented example (conf/recd.conf): every key with its description,
 * type, bounds, reloadability and its value in c (defaults when c came from
 * recd_conf_defaults). */
void recd_conf_write_example(const struct recd_conf *c, FILE *out);

/* Generate docs/CONFIGURATION.md from the tables. */
void recd_conf_write_markdown(const struct recd_conf_unit *const *units, size_t n_units, FILE *out);

/* Helpers for unit implementations. */
void recd_strlist_free(struct recd_strlist *l);
void recd_kvlist_free(struct recd_kvlist *l);
const char *recd_kvlist_get(const struct recd_kvlist *l, const char *key);

#endif
