/*
 * conf.c — the declarative configuration loader (conf.h) on top of libconfig 1.5.
 * (The writers — recd_conf_dump, the example config, the markdown reference — are in
 * conf_dump.c; what both share is in conf_internal.h.)
 *
 * Loading: one struct of unit->struct_size bytes is allocated per unit and filled from every
 * decl's default text first (the text is parsed by libconfig as "x = <def>;" and goes through
 * exactly the same conversion and validation as a value from the file; a NULL def means the
 * zero of the type: 0, 0.0, false, "", [], {}), then from the file. A value from the file
 * replaces the default entirely (also for STRLIST and MAP: the lists are not merged).
 *
 * Validation order for one value: type, then bounds (min > max means unbounded; INT/DOUBLE:
 * the value, STRING: length in bytes, STRLIST: number of elements), then choices (STRING, and
 * each STRLIST element), then the decl's check callback (called with a pointer to the field
 * inside the unit struct, after the value has been stored there).
 *
 * MAP values: libconfig 1.5 setting names must match [A-Za-z*][-A-Za-z0-9_*]*, so dotted
 * property names (librdkafka's "security.protocol") cannot be written as names. A MAP is a
 * group whose members are all strings, and '_' in a member name stands for '.':
 *     properties = { security_protocol = "ssl"; sasl_username = "recd"; };
 * is stored as the keys "security.protocol" and "sasl.username". recd_conf_dump writes them
 * back with '_'.
 *
 * Integers: libconfig 1.5 silently wraps integers outside the 32-bit range modulo 2^32 unless
 * they carry the L suffix ("5000000000L"); recd_conf_dump writes the suffix where needed. Every
 * integer that becomes a value (INT, and DOUBLE written as an integer) is compared with its
 * literal in the file (check_literal, the one place): a wrapped one is an error.
 *
 * Files: recd_conf_load reads the file itself (at most RECD_CONF_MAX_BYTES, no NUL bytes) and
 * parses the text from memory (libconfig's stdio scanner is quadratic in a string's length:
 * 4 MiB took 10 s from a FILE, 0.08 s from memory; a SIGHUP reload parses in the processing
 * loop). Files it includes directly are held to the same size (libconfig reads them). Relative @include paths in it are resolved against the file's directory
 * (the path is rewritten to "DIR/P" before parsing; lines keep their numbers); absolute ones
 * are used as written. An @include inside an included file would be resolved by libconfig
 * against the working directory, so a relative one there is refused (check_includes): use an
 * absolute path. (libconfig 1.5's include_dir is prepended to every include, absolute ones
 * too, so it cannot do this.) Messages about settings in an included file name that file as
 * libconfig opened it.
 *
 * Messages written into errstr (FILE is the path given to recd_conf_load, the file of an
 * @include'd setting, or the `name` given to recd_conf_load_string ("<string>" if NULL);
 * LINE is the line on which the setting's name appears; KIND is one of "a group",
 * "an integer", "a float", "a string", "a boolean", "an array", "a list"):
 *
 *   RECD_EIO:
 *     FILE: cannot read: STRERROR
 *     an empty configuration file name
 *   RECD_ECONFIG:
 *     FILE: larger than N bytes: not a configuration file / FILE: contains a NUL byte: ...
 *     FILE:LINE: included file PATH: larger than N bytes: not a configuration file
 *     FILE:LINE: @include "P" in an included file: use an absolute path (...)
 *     FILE:LINE: LIBCONFIG-MESSAGE          e.g. "syntax error"
 *     FILE:LINE: NAME: duplicate setting name              (NAME when it can be found)
 *     FILE:LINE: cannot open include file PATH: STRERROR
 *     FILE:LINE: unit.key: LITERAL needs the L suffix (LITERALL): without it libconfig reads V
 *     FILE:LINE: unit.key: value LITERAL out of range [MIN, MAX]   a wrapped literal, out of
 *                                                                  bounds as written
 *     FILE:LINE: unit.key: LITERAL does not fit in a 64-bit integer
 *     FILE:LINE: unit.key[.member]: "********" is the mask --dump-config prints, not the
 *                                   secret: write the real value     (a secret, as dumped)
 *     FILE:LINE: a.b: unknown section       top-level setting, or setting inside a parent of
 *                                           units ("operators"), that is not a unit or parent
 *     FILE:LINE: unit.key: unknown key      setting inside a unit that is not a decl
 *     FILE:LINE: unit: expected a group, got KIND
 *     FILE:LINE: unit.key: expected an integer, got KIND                  (RECD_CT_INT)
 *     FILE:LINE: unit.key: expected a number, got KIND                    (RECD_CT_DOUBLE)
 *     FILE:LINE: unit.key: expected a boolean, got KIND                   (RECD_CT_BOOL)
 *     FILE:LINE: unit.key: expected a string, got KIND                    (RECD_CT_STRING)
 *     FILE:LINE: unit.key: expected a list of strings, got KIND           (RECD_CT_STRLIST)
 *     FILE:LINE: unit.key: expected a group of strings, got KIND          (RECD_CT_MAP)
 *     FILE:LINE: unit.key: value V out of range [MIN, MAX]      INT (%lld, %.0f) and
 *                                                               DOUBLE (%g, %g)
 *     FILE:LINE: unit.key: value V is not a finite number       DOUBLE (%g)
 *     FILE:LINE: unit.key: length N out of range [MIN, MAX]     STRING, in bytes
 *     FILE:LINE: unit.key: number of elements N out of range [MIN, MAX]   STRLIST
 *     FILE:LINE: unit.key: "V" is not one of: A, B, C           STRING choices
 *     FILE:LINE: unit.key[I]: expected a string, got KIND       STRLIST element (I from 0)
 *     FILE:LINE: unit.key[I]: "V" is not one of: A, B, C        STRLIST element choices
 *     FILE:LINE: unit.key.member: expected a string, got KIND   MAP member (name as written)
 *     FILE:LINE: unit.key: CHECK-MESSAGE    from the decl's check callback ("invalid value"
 *                                           when the callback wrote nothing)
 *     unit.key: invalid default: MESSAGE    a table's default is broken (a bug in recd; the
 *                                           MESSAGE is one of the above without "FILE:LINE: ")
 *     unit.key: cannot be changed by reload (restart required)     recd_conf_check_reload
 *     unit: cannot be changed by reload (restart required)         unit missing on one side
 *   RECD_EINVAL (a broken table or bad arguments; a bug in recd):
 *     unit: invalid unit name / unit: registered twice / unit.key: invalid key name /
 *     unit.key: field outside the unit struct / invalid arguments
 *   RECD_ENOMEM:
 *     out of memory
 */
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf.h"
#include "recd.h"
#include "conf_internal.h"

/* Where and what a value error is; formatted into errstr by the caller. */
struct perr {
    const config_setting_t *at;          /* the setting the message is about (file, line) */
    char suffix[PATH_MAX_LEN];           /* appended to "unit.key": "[3]" or ".member" */
    char msg[1024];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int perr_set(struct perr *e, const config_setting_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr_set(struct perr *e, const config_setting_t *at, const char *fmt, ...)
{
    va_list ap;

    e->at = at;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return RECD_ECONFIG;
}

/* Append to a NUL-terminated buffer, truncating silently. */
void conf_buf_append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= len) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static const char *got_kind(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:  return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:  return "an integer";
    case CONFIG_TYPE_FLOAT:  return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL:   return "a boolean";
    case CONFIG_TYPE_ARRAY:  return "an array";
    case CONFIG_TYPE_LIST:   return "a list";
    default:                 return "nothing";
    }
}

static const char *want_kind(enum recd_conf_type t)
{
    switch (t) {
    case RECD_CT_INT:     return "an integer";
    case RECD_CT_DOUBLE:  return "a number";
    case RECD_CT_BOOL:    return "a boolean";
    case RECD_CT_STRING:  return "a string";
    case RECD_CT_STRLIST: return "a list of strings";
    case RECD_CT_MAP:     return "a group of strings";
    }
    return "a value";
}

const char *conf_type_name(enum recd_conf_type t)
{
    switch (t) {
    case RECD_CT_INT:     return "int";
    case RECD_CT_DOUBLE:  return "double";
    case RECD_CT_BOOL:    return "bool";
    case RECD_CT_STRING:  return "string";
    case RECD_CT_STRLIST: return "string list";
    case RECD_CT_MAP:     return "map";
    }
    return "?";
}

/* The default text used when decl->def is NULL. */
const char *conf_zero_text(enum recd_conf_type t)
{
    switch (t) {
    case RECD_CT_INT:     return "0";
    case RECD_CT_DOUBLE:  return "0.0";
    case RECD_CT_BOOL:    return "false";
    case RECD_CT_STRING:  return "\"\"";
    case RECD_CT_STRLIST: return "[]";
    case RECD_CT_MAP:     return "{}";
    }
    return "0";
}

static size_t type_size(enum recd_conf_type t)
{
    switch (t) {
    case RECD_CT_INT:     return sizeof(int64_t);
    case RECD_CT_DOUBLE:  return sizeof(double);
    case RECD_CT_BOOL:    return sizeof(int);
    case RECD_CT_STRING:  return sizeof(char *);
    case RECD_CT_STRLIST: return sizeof(struct recd_strlist);
    case RECD_CT_MAP:     return sizeof(struct recd_kvlist);
    }
    return 0;
}

int conf_bounded(const struct recd_conf_decl *d)
{
    return !(d->min > d->max);
}

/* A libconfig setting name: [A-Za-z*][-A-Za-z0-9_*]* */
static int valid_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '*')) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '*')) {
            return 0;
        }
    }
    return 1;
}

/* A dotted path of valid names. */
static int valid_path(const char *s)
{
    const char *p = s;

    for (;;) {
        size_t n = strcspn(p, ".");
        if (!valid_name(p, n)) {
            return 0;
        }
        if (p[n] == '\0') {
            return 1;
        }
        p += n + 1;
    }
}

/* Exact comparisons of an int64 value with a double bound (no rounding of the value). */
static int int_below(long long v, double b)
{
    if (isnan(b) || b <= -9223372036854775808.0) {
        return 0;
    }
    if (b >= 9223372036854775808.0) {
        return 1;
    }
    return v < (long long)ceil(b);
}

static int int_above(long long v, double b)
{
    if (b < -9223372036854775808.0) {
        return 1;
    }
    if (isnan(b) || b >= 9223372036854775808.0) {
        return 0;
    }
    return v > (long long)floor(b);
}

static int in_choices(const struct recd_conf_decl *d, const char *v)
{
    const char *const *c;

    if (d->choices == NULL) {
        return 1;
    }
    for (c = d->choices; *c != NULL; c++) {
        if (strcmp(*c, v) == 0) {
            return 1;
        }
    }
    return 0;
}

static int choice_err(struct perr *e, const config_setting_t *at, const struct recd_conf_decl *d,
                      const char *v)
{
    const char *const *c;

    perr_set(e, at, "\"%s\" is not one of: ", v);
    for (c = d->choices; *c != NULL; c++) {
        conf_buf_append(e->msg, sizeof e->msg, "%s%s", c == d->choices ? "" : ", ", *c);
    }
    return RECD_ECONFIG;
}

static void *field_of(void *data, const struct recd_conf_decl *d)
{
    return (char *)data + d->offset;
}

const void *conf_cfield_of(const void *data, const struct recd_conf_decl *d)
{
    return (const char *)data + d->offset;
}

/* MAP keys that are masked by recd_conf_dump whatever the decl's flags. */
int conf_secret_key(const char *k)
{
    return strcasestr(k, "password") != NULL || strcasestr(k, "secret") != NULL ||
        strncasecmp(k, "sasl.", 5) == 0 || strncasecmp(k, "ssl.key", 7) == 0;
}

/* ---- public list helpers ---------------------------------------------------------------- */

void recd_strlist_free(struct recd_strlist *l)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    for (i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void recd_kvlist_free(struct recd_kvlist *l)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    for (i = 0; i < l->n; i++) {
        free(l->k[i]);
        free(l->v[i]);
    }
    free(l->k);
    free(l->v);
    free(l->line);
    l->k = NULL;
    l->v = NULL;
    l->line = NULL;
    l->n = 0;
}

const char *recd_kvlist_get(const struct recd_kvlist *l, const char *key)
{
    size_t i;

    if (l == NULL || key == NULL) {
        return NULL;
    }
    for (i = 0; i < l->n; i++) {
        if (strcmp(l->k[i], key) == 0) {
            return l->v[i];
        }
    }
    return NULL;
}

/* ---- values ----------------------------------------------------------------------------- */

/* Free what a field owns and zero it. */
static void value_free(enum recd_conf_type t, void *field)
{
    switch (t) {
    case RECD_CT_STRING:
        free(*(char **)field);
        *(char **)field = NULL;
        break;
    case RECD_CT_STRLIST: recd_strlist_free(field); break;
    case RECD_CT_MAP:     recd_kvlist_free(field); break;
    default:              break;
    }
}

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

int conf_value_equal(enum recd_conf_type t, const void *a, const void *b)
{
    size_t i;

    switch (t) {
    case RECD_CT_INT:     return *(const int64_t *)a == *(const int64_t *)b;
    case RECD_CT_DOUBLE:  return *(const double *)a == *(const double *)b;
    case RECD_CT_BOOL:    return !*(const int *)a == !*(const int *)b;
    case RECD_CT_STRING:  return str_eq(*(char *const *)a, *(char *const *)b);
    case RECD_CT_STRLIST: {
        const struct recd_strlist *la = a, *lb = b;
        if (la->n != lb->n) {
            return 0;
        }
        for (i = 0; i < la->n; i++) {
            if (!str_eq(la->v[i], lb->v[i])) {
                return 0;
            }
        }
        return 1;
    }
    case RECD_CT_MAP: {
        /* Same set of pairs; order does not matter (keys are unique within a map). */
        const struct recd_kvlist *ka = a, *kb = b;
        if (ka->n != kb->n) {
            return 0;
        }
        for (i = 0; i < ka->n; i++) {
            if (!str_eq(ka->v[i], recd_kvlist_get(kb, ka->k[i]))) {
                return 0;
            }
        }
        return 1;
    }
    }
    return 0;
}

static int conv_strlist(const struct recd_conf_decl *d, const config_setting_t *s,
                        struct recd_strlist *out, struct perr *e)
{
    struct recd_strlist l = { 0, NULL };
    int n, i, rc = RECD_OK;

    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
        return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
    }
    n = config_setting_length(s);
    if (conf_bounded(d) && ((double)n < d->min || (double)n > d->max)) {
        return perr_set(e, s, "number of elements %d out of range [%.0f, %.0f]", n, d->min, d->max);
    }
    if (n > 0) {
        l.v = calloc((size_t)n, sizeof *l.v);
        if (l.v == NULL) {
            return RECD_ENOMEM;
        }
    }
    for (i = 0; i < n; i++) {
        const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
        const char *v;

        if (config_setting_type(el) != CONFIG_TYPE_STRING) {
            snprintf(e->suffix, sizeof e->suffix, "[%d]", i);
            rc = perr_set(e, el, "expected a string, got %s", got_kind(el));
            goto fail;
        }
        v = config_setting_get_string(el);
        if (!in_choices(d, v)) {
            snprintf(e->suffix, sizeof e->suffix, "[%d]", i);
            rc = choice_err(e, el, d, v);
            goto fail;
        }
        l.v[i] = recd_strdup(v);
        if (l.v[i] == NULL) {
            rc = RECD_ENOMEM;
            goto fail;
        }
        l.n++;
    }
    *out = l;
    return RECD_OK;

fail:
    recd_strlist_free(&l);
    return rc;
}

static int conv_map(const struct recd_conf_decl *d, const config_setting_t *s, int from_file,
                    struct recd_kvlist *out, struct perr *e)
{
    struct recd_kvlist l = { 0, NULL, NULL, NULL };
    int n, i, rc = RECD_OK;

    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
    }
    n = config_setting_length(s);
    if (n > 0) {
        l.k = calloc((size_t)n, sizeof *l.k);
        l.v = calloc((size_t)n, sizeof *l.v);
        l.line = calloc((size_t)n, sizeof *l.line);
        if (l.k == NULL || l.v == NULL || l.line == NULL) {
            rc = RECD_ENOMEM;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(m);
        char *p;

        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
            snprintf(e->suffix, sizeof e->suffix, ".%s", name);
            rc = perr_set(e, m, "expected a string, got %s", got_kind(m));
            goto fail;
        }
        l.k[i] = recd_strdup(name);
        l.v[i] = recd_strdup(config_setting_get_string(m));
        l.n++;                      /* count now so that fail frees a half-filled pair */
        if (l.k[i] == NULL || l.v[i] == NULL) {
            rc = RECD_ENOMEM;
            goto fail;
        }
        for (p = l.k[i]; *p != '\0'; p++) {
            if (*p == '_') {
                *p = '.';
            }
        }
        l.line[i] = from_file ? (int)config_setting_source_line(m) : 0;
        if (from_file && conf_secret_key(l.k[i]) && strcmp(l.v[i], MASK) == 0) {
            snprintf(e->suffix, sizeof e->suffix, ".%s", name);
            rc = perr_set(e, m,
                          "\"%s\" is the mask --dump-config prints, not the secret: "
                          "write the real value",
                          MASK);
            goto fail;
        }
    }
    *out = l;
    return RECD_OK;

fail:
    recd_kvlist_free(&l);
    return rc;
}

/*
 * Convert and validate setting `s` for decl `d`, store it into `field` (freeing what the field
 * held) and run the check callback. Returns RECD_OK, RECD_ECONFIG (e filled) or RECD_ENOMEM.
 */
static int value_set(const struct recd_conf_decl *d, const config_setting_t *s, void *field,
                     int from_file, struct perr *e)
{
    int rc;

    e->at = s;
    e->suffix[0] = '\0';
    e->msg[0] = '\0';
    switch (d->type) {
    case RECD_CT_INT: {
        long long v;
        if (config_setting_type(s) != CONFIG_TYPE_INT &&
            config_setting_type(s) != CONFIG_TYPE_INT64) {
            return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
        }
        v = config_setting_get_int64(s);
        if (conf_bounded(d) && (int_below(v, d->min) || int_above(v, d->max))) {
            return perr_set(e, s, "value %lld out of range [%.0f, %.0f]", v, d->min, d->max);
        }
        *(int64_t *)field = (int64_t)v;
        break;
    }
    case RECD_CT_DOUBLE: {
        double v;
        if (config_setting_type(s) == CONFIG_TYPE_INT ||
            config_setting_type(s) == CONFIG_TYPE_INT64) {
            v = (double)config_setting_get_int64(s);
        } else if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
            v = config_setting_get_float(s);
        } else {
            return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
        }
        if (!isfinite(v)) {
            return perr_set(e, s, "value %g is not a finite number", v);
        }
        if (conf_bounded(d) && (v < d->min || v > d->max)) {
            return perr_set(e, s, "value %g out of range [%g, %g]", v, d->min, d->max);
        }
        *(double *)field = v;
        break;
    }
    case RECD_CT_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
            return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
        }
        *(int *)field = config_setting_get_bool(s) ? 1 : 0;
        break;
    case RECD_CT_STRING: {
        const char *v;
        size_t len;
        char *copy;
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
            return perr_set(e, s, "expected %s, got %s", want_kind(d->type), got_kind(s));
        }
        v = config_setting_get_string(s);
        len = strlen(v);
        if (conf_bounded(d) && ((double)len < d->min || (double)len > d->max)) {
            return perr_set(e, s, "length %zu out of range [%.0f, %.0f]", len, d->min, d->max);
        }
        if (!in_choices(d, v)) {
            return choice_err(e, s, d, v);
        }
        if (from_file && (d->flags & RECD_CF_SECRET) && strcmp(v, MASK) == 0) {
            return perr_set(e, s,
                            "\"%s\" is the mask --dump-config prints, not the secret: "
                            "write the real value",
                            MASK);
        }
        copy = recd_strdup(v);
        if (copy == NULL) {
            return RECD_ENOMEM;
        }
        value_free(d->type, field);
        *(char **)field = copy;
        break;
    }
    case RECD_CT_STRLIST: {
        struct recd_strlist l;
        rc = conv_strlist(d, s, &l, e);
        if (rc != RECD_OK) {
            return rc;
        }
        value_free(d->type, field);
        *(struct recd_strlist *)field = l;
        break;
    }
    case RECD_CT_MAP: {
        struct recd_kvlist l;
        rc = conv_map(d, s, from_file, &l, e);
        if (rc != RECD_OK) {
            return rc;
        }
        value_free(d->type, field);
        *(struct recd_kvlist *)field = l;
        break;
    }
    default: return perr_set(e, s, "unsupported type %d", (int)d->type);
    }
    if (d->check != NULL) {
        e->msg[0] = '\0';
        if (d->check(d, field, e->msg, sizeof e->msg) < 0) {
            e->at = s;
            e->suffix[0] = '\0';
            if (e->msg[0] == '\0') {
                snprintf(e->msg, sizeof e->msg, "invalid value");
            }
            return RECD_ECONFIG;
        }
        e->msg[0] = '\0';
    }
    return RECD_OK;
}

/* ---- integer literals ------------------------------------------------------------------- */

/*
 * libconfig 1.5 reads an integer literal without the L suffix as a 32-bit int, silently
 * wrapping it modulo 2^32 ("4102444800000" becomes 751032320, "0x80000000" -2147483648).
 * The literal is the only place the intended value survives, so every integer that reaches a
 * value is checked against its text here (and nowhere else): the setting's line is searched
 * for "NAME =" / "NAME :" and the number after it is read exactly.
 */
struct literal {
    char text[40];          /* the literal as written, sign included */
    long long value;        /* its exact value (valid when !overflow) */
    int overflow;           /* beyond the 64-bit range */
};

static int ident_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '*';
}

/* Read the number literal at p (after "NAME =" and blanks). Returns 1 and fills *l for an
 * integer literal without the L suffix, 0 for anything else. */
static int read_int_literal(const char *p, struct literal *l)
{
    const char *q = p, *digits;
    unsigned long long mag;
    int neg = 0, base = 10;
    size_t n;
    char tmp[40];

    if (*q == '+' || *q == '-') {
        neg = *q == '-';
        q++;
    }
    if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
        base = 16;
        q += 2;
    }
    digits = q;
    while (base == 16
               ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))
               : (*q >= '0' && *q <= '9')) {
        q++;
    }
    n = (size_t)(q - digits);
    if (n == 0 || *q == 'L' || *q == '.' || (base == 10 && (*q == 'e' || *q == 'E'))) {
        return 0;           /* not an integer, or a 64-bit one (libconfig reads those right) */
    }
    snprintf(l->text, sizeof l->text, "%.*s%s", (int)((size_t)(q - p) < 36 ? q - p : 36), p,
             (size_t)(q - p) < 36 ? "" : "...");
    l->overflow = 0;
    l->value = 0;
    if (n >= sizeof tmp) {
        l->overflow = 1;
        return 1;
    }
    memcpy(tmp, digits, n);
    tmp[n] = '\0';
    errno = 0;
    mag = strtoull(tmp, NULL, base);
    if (errno == ERANGE ||
        mag > (neg ? (unsigned long long)INT64_MAX + 1u : (unsigned long long)INT64_MAX)) {
        l->overflow = 1;
    } else if (neg) {
        l->value = mag == (unsigned long long)INT64_MAX + 1u ? INT64_MIN : -(long long)mag;
    } else {
        l->value = (long long)mag;
    }
    return 1;
}

/* The literal of setting `name` whose name is on line `line` of `text`, when libconfig's
 * value `parsed` is not what it says. Returns 1 (l filled) or 0 (the value is right, or the
 * literal cannot be found). */
static int wrapped_literal(const char *text, unsigned line, const char *name, long long parsed,
                           struct literal *l)
{
    const char *p = text, *eol;
    size_t nlen = strlen(name);
    unsigned ln = 1;

    if (text == NULL || line == 0 || nlen == 0) {
        return 0;
    }
    while (ln < line && (p = strchr(p, '\n')) != NULL) {
        p++;
        ln++;
    }
    if (p == NULL) {
        return 0;
    }
    eol = strchr(p, '\n');
    if (eol == NULL) {
        eol = p + strlen(p);
    }
    for (; p < eol; p++) {
        const char *q;

        if (strncmp(p, name, nlen) != 0 || (p > text && ident_char(p[-1])) || ident_char(p[nlen])) {
            continue;
        }
        q = p + nlen;
        q += strspn(q, " \t\r\n");
        if (*q != '=' && *q != ':') {
            continue;
        }
        q++;
        q += strspn(q, " \t\r\n");
        /* a literal that wraps to the parsed value (another setting of the same name on the
         * line, with a right value, is not this one) */
        if (read_int_literal(q, l) &&
            (l->overflow ||
             (l->value != parsed &&
              (int32_t)(uint32_t)((unsigned long long)l->value & 0xffffffffu) == parsed))) {
            return 1;
        }
    }
    return 0;
}

/* ---- construction ----------------------------------------------------------------------- */

long conf_find_unit(const struct recd_conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->n_units; i++) {
        if (strcmp(c->units[i]->name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* Whether some unit lives below `path` ("operators" for "operators.popular"). */
int conf_is_parent(const struct recd_conf *c, const char *path)
{
    size_t i, n = strlen(path);

    for (i = 0; i < c->n_units; i++) {
        const char *u = c->units[i]->name;
        if (strncmp(u, path, n) == 0 && u[n] == '.') {
            return 1;
        }
    }
    return 0;
}

static const struct recd_conf_decl *find_decl(const struct recd_conf_unit *u, const char *name)
{
    size_t i;

    for (i = 0; i < u->n_decls; i++) {
        if (strcmp(u->decls[i].name, name) == 0) {
            return &u->decls[i];
        }
    }
    return NULL;
}

/* Parse `d`'s default with libconfig and store it into the unit struct `data`. */
static int apply_default(const struct recd_conf_unit *u, const struct recd_conf_decl *d, void *data,
                         char *errstr, size_t errlen)
{
    const char *def = d->def != NULL ? d->def : conf_zero_text(d->type);
    config_t cfg;
    config_setting_t *root, *s;
    struct perr *e = NULL;
    char *text = NULL;
    size_t len = strlen(def) + 8;
    int rc;

    config_init(&cfg);
    text = malloc(len);
    e = malloc(sizeof *e);
    if (text == NULL || e == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(text, len, "x = %s;\n", def);
    if (!config_read_string(&cfg, text)) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s.%s: invalid default: %s", u->name,
                         d->name, config_error_text(&cfg));
        goto out;
    }
    root = config_root_setting(&cfg);
    s = config_setting_get_member(root, "x");
    if (s == NULL || config_setting_length(root) != 1) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s.%s: invalid default: not a single value",
                         u->name, d->name);
        goto out;
    }
    {
        struct literal l;

        if ((d->type == RECD_CT_INT || d->type == RECD_CT_DOUBLE) &&
            config_setting_type(s) == CONFIG_TYPE_INT &&
            wrapped_literal(text, 1, "x", config_setting_get_int64(s), &l)) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                             "%s.%s: invalid default: %s needs "
                             "the L suffix",
                             u->name, d->name, l.text);
            goto out;
        }
    }
    rc = value_set(d, s, field_of(data, d), 0, e);
    if (rc == RECD_ECONFIG) {
        recd_seterr(errstr, errlen, rc, "%s.%s%s: invalid default: %s", u->name, d->name, e->suffix,
                    e->msg);
    } else if (rc != RECD_OK) {
        recd_seterr(errstr, errlen, rc, "out of memory");
    }

out:
    config_destroy(&cfg);
    free(text);
    free(e);
    return rc;
}

/* Check the tables, allocate the conf and apply every default. */
static int conf_new(const struct recd_conf_unit *const *units, size_t n_units,
                    struct recd_conf **out, char *errstr, size_t errlen)
{
    struct recd_conf *c = NULL;
    size_t i, j;
    int rc;

    if (out == NULL || (units == NULL && n_units > 0)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "invalid arguments");
    }
    *out = NULL;
    for (i = 0; i < n_units; i++) {
        const struct recd_conf_unit *u = units[i];

        if (u == NULL || u->name == NULL || !valid_path(u->name) ||
            (u->decls == NULL && u->n_decls > 0)) {
            return recd_seterr(errstr, errlen, RECD_EINVAL, "%s: invalid unit name",
                               u != NULL && u->name != NULL ? u->name : "(null)");
        }
        for (j = 0; j < i; j++) {
            if (strcmp(units[j]->name, u->name) == 0) {
                return recd_seterr(errstr, errlen, RECD_EINVAL, "%s: registered twice", u->name);
            }
        }
        for (j = 0; j < u->n_decls; j++) {
            const struct recd_conf_decl *d = &u->decls[j];

            if (d->name == NULL || !valid_name(d->name, strlen(d->name)) ||
                find_decl(u, d->name) != d) {
                return recd_seterr(errstr, errlen, RECD_EINVAL, "%s.%s: invalid key name", u->name,
                                   d->name != NULL ? d->name : "(null)");
            }
            if (type_size(d->type) == 0 || d->offset > u->struct_size ||
                u->struct_size - d->offset < type_size(d->type)) {
                return recd_seterr(errstr, errlen, RECD_EINVAL,
                                   "%s.%s: field outside the unit struct", u->name, d->name);
            }
        }
    }

    c = calloc(1, sizeof *c);
    if (c == NULL) {
        goto nomem;
    }
    c->n_units = n_units;
    if (n_units > 0) {
        c->units = calloc(n_units, sizeof *c->units);
        c->data = calloc(n_units, sizeof *c->data);
        c->present = calloc(n_units, sizeof *c->present);
        c->loc = calloc(n_units, sizeof *c->loc);
        if (c->units == NULL || c->data == NULL || c->present == NULL || c->loc == NULL) {
            goto nomem;
        }
    }
    for (i = 0; i < n_units; i++) {
        c->units[i] = units[i];
        c->data[i] = calloc(1, units[i]->struct_size > 0 ? units[i]->struct_size : 1);
        c->loc[i] = calloc(units[i]->n_decls > 0 ? units[i]->n_decls : 1, sizeof **c->loc);
        if (c->data[i] == NULL || c->loc[i] == NULL) {
            goto nomem;
        }
    }
    for (i = 0; i < n_units; i++) {
        for (j = 0; j < units[i]->n_decls; j++) {
            rc = apply_default(units[i], &units[i]->decls[j], c->data[i], errstr, errlen);
            if (rc != RECD_OK) {
                recd_conf_destroy(c);
                return rc;
            }
        }
    }
    *out = c;
    return RECD_OK;

nomem:
    recd_conf_destroy(c);
    return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
}

void recd_conf_destroy(struct recd_conf *c)
{
    size_t i, j;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < c->n_units && c->data != NULL; i++) {
        if (c->data[i] == NULL) {
            continue;
        }
        for (j = 0; j < c->units[i]->n_decls; j++) {
            const struct recd_conf_decl *d = &c->units[i]->decls[j];
            value_free(d->type, field_of(c->data[i], d));
        }
        free(c->data[i]);
    }
    for (i = 0; i < c->n_units && c->loc != NULL; i++) {
        for (j = 0; c->loc[i] != NULL && j < c->units[i]->n_decls; j++) {
            free(c->loc[i][j].file);
        }
        free(c->loc[i]);
    }
    free(c->loc);
    free(c->data);
    free(c->units);
    free(c->present);
    free(c->path);
    free(c);
}

/* ---- walking the file ------------------------------------------------------------------- */

struct walk {
    struct recd_conf *c;
    const char *name; /* file name for settings without a source file */
    const char *text; /* the text of that file (or string) */
    char *errstr;
    size_t errlen;
};

/* Read a whole file (NUL-terminated). NULL when it cannot be read. */
static char *slurp(const char *path, size_t max, size_t *len_out)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fp == NULL) {
        return NULL;
    }
    for (;;) {
        size_t got;

        if (cap - len < 4097) {
            char *nb;
            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(fp);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (len > max) {
            break; /* the caller reports the size */
        }
        if (got == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        errno = EIO;
        return NULL;
    }
    fclose(fp);
    buf[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return buf;
}

/* RECD_ECONFIG with e filled when the integer value of `s` is a wrapped literal. */
static int check_literal(const struct walk *w, const struct recd_conf_decl *d,
                         const config_setting_t *s, struct perr *e)
{
    const char *file = config_setting_source_file(s);
    char *other = NULL;
    const char *text = w->text;
    struct literal l;
    int found;

    if (config_setting_type(s) != CONFIG_TYPE_INT) {
        return RECD_OK;
    }
    if (file != NULL) {
        other = slurp(file, RECD_CONF_MAX_BYTES, NULL);
        text = other;
    }
    found = wrapped_literal(text, config_setting_source_line(s), d->name,
                            config_setting_get_int64(s), &l);
    free(other);
    if (!found) {
        return RECD_OK;
    }
    e->suffix[0] = '\0';
    if (l.overflow) {
        return perr_set(e, s, "%s does not fit in a 64-bit integer", l.text);
    }
    if (conf_bounded(d) &&
        (d->type == RECD_CT_INT ? (int_below(l.value, d->min) || int_above(l.value, d->max))
                                : ((double)l.value < d->min || (double)l.value > d->max))) {
        if (d->type == RECD_CT_INT) {
            return perr_set(e, s, "value %s out of range [%.0f, %.0f]", l.text, d->min, d->max);
        }
        return perr_set(e, s, "value %s out of range [%g, %g]", l.text, d->min, d->max);
    }
    return perr_set(e, s, "%s needs the L suffix (%sL): without it libconfig reads %lld", l.text,
                    l.text, (long long)config_setting_get_int64(s));
}

static int loc_err(const struct walk *w, const config_setting_t *s, const char *path,
                   const char *suffix, const char *msg)
{
    const char *file = config_setting_source_file(s);

    return recd_seterr(w->errstr, w->errlen, RECD_ECONFIG, "%s:%u: %s%s: %s",
                       file != NULL ? file : w->name, (unsigned)config_setting_source_line(s), path,
                       suffix, msg);
}

static int set_decl(const struct walk *w, long ui, const struct recd_conf_decl *d,
                    const config_setting_t *s, const char *path)
{
    struct perr *e = malloc(sizeof *e);
    int rc;

    if (e == NULL) {
        return recd_seterr(w->errstr, w->errlen, RECD_ENOMEM, "out of memory");
    }
    e->at = s;
    e->suffix[0] = '\0';
    e->msg[0] = '\0';
    rc = RECD_OK;
    if (d->type == RECD_CT_INT || d->type == RECD_CT_DOUBLE) {
        rc = check_literal(w, d, s, e);
    }
    if (rc == RECD_OK) {
        rc = value_set(d, s, field_of(w->c->data[ui], d), 1, e);
    }
    if (rc == RECD_OK) {
        struct loc *l = &w->c->loc[ui][d - w->c->units[ui]->decls];
        const char *file = config_setting_source_file(s);

        free(l->file);
        l->file = NULL;
        l->line = config_setting_source_line(s);
        if (file != NULL && (l->file = recd_strdup(file)) == NULL) {
            rc = RECD_ENOMEM;
        }
    }
    if (rc == RECD_ECONFIG) {
        loc_err(w, e->at, path, e->suffix, e->msg);
    } else if (rc != RECD_OK) {
        recd_seterr(w->errstr, w->errlen, rc, "out of memory");
    }
    free(e);
    return rc;
}

/* Walk the members of group `g` at dotted `prefix` ("" for the root); `ui` is the unit whose
 * group `g` is, or -1. Members are handled in file order, so the first error is reported. */
static int walk_group(const struct walk *w, const config_setting_t *g, const char *prefix, long ui)
{
    int i, n = config_setting_length(g);
    char path[PATH_MAX_LEN];
    char msg[128];
    int rc;

    for (i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        const struct recd_conf_decl *d = NULL;
        long cu = -1;
        int parent = 0, plen;

        if (name == NULL) {
            continue; /* not possible in a group */
        }
        plen = prefix[0] != '\0' ? snprintf(path, sizeof path, "%s.%s", prefix, name)
                                 : snprintf(path, sizeof path, "%s", name);
        if (ui >= 0) {
            d = find_decl(w->c->units[ui], name);
        }
        if (d != NULL) {
            rc = set_decl(w, ui, d, m, path);
            if (rc != RECD_OK) {
                return rc;
            }
            continue;
        }
        if (plen > 0 && (size_t)plen < sizeof path) {
            cu = conf_find_unit(w->c, path);
            parent = conf_is_parent(w->c, path);
        }
        if (cu >= 0 || parent) {
            if (!config_setting_is_group(m)) {
                snprintf(msg, sizeof msg, "expected a group, got %s", got_kind(m));
                return loc_err(w, m, path, "", msg);
            }
            if (cu >= 0) {
                w->c->present[cu] = 1;
            }
            rc = walk_group(w, m, path, cu);
            if (rc != RECD_OK) {
                return rc;
            }
            continue;
        }
        return loc_err(w, m, path, "", ui >= 0 ? "unknown key" : "unknown section");
    }
    return RECD_OK;
}

/* Build the conf from a parsed libconfig tree. */
static int load_cfg(const config_t *cfg, const char *name, const char *text,
                    const struct recd_conf_unit *const *units, size_t n_units,
                    struct recd_conf **out, char *errstr, size_t errlen)
{
    struct recd_conf *c = NULL;
    struct walk w;
    int rc;

    rc = conf_new(units, n_units, &c, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    c->path = recd_strdup(name);
    if (c->path == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto fail;
    }
    w.c = c;
    w.name = name;
    w.text = text;
    w.errstr = errstr;
    w.errlen = errlen;
    rc = walk_group(&w, config_root_setting(cfg), "", -1);
    if (rc != RECD_OK) {
        goto fail;
    }
    *out = c;
    return RECD_OK;

fail:
    recd_conf_destroy(c);
    return rc;
}

/* Line `line` (1-based) of text, or NULL. */
static const char *line_at(const char *text, int line)
{
    const char *p = text;
    int ln = 1;

    while (p != NULL && ln < line) {
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
        ln++;
    }
    return p;
}

/* The path of the @include directive on `line` of text, into buf ("" when none). */
static void include_path_in(const char *p, char *buf, size_t len);

static void include_path_at(const char *text, int line, char *buf, size_t len)
{
    include_path_in(line_at(text, line), buf, len);
}

/* The same for the line starting at p. */
static void include_path_in(const char *p, char *buf, size_t len)
{
    const char *q;

    buf[0] = '\0';
    if (p == NULL) {
        return;
    }
    p += strspn(p, " \t");
    if (strncmp(p, "@include", 8) != 0) {
        return;
    }
    p += 8;
    p += strspn(p, " \t");
    if (*p != '"') {
        return;
    }
    q = strchr(p + 1, '"');
    if (q == NULL || (size_t)(q - p - 1) >= len) {
        return;
    }
    memcpy(buf, p + 1, (size_t)(q - p - 1));
    buf[q - p - 1] = '\0';
}

/* The name of a setting on `line` that is also set earlier in text (a duplicate), into buf
 * ("" when none is found). */
static void duplicate_at(const char *text, int line, char *buf, size_t len)
{
    const char *p = line_at(text, line), *eol;

    buf[0] = '\0';
    if (p == NULL) {
        return;
    }
    eol = strchr(p, '\n');
    if (eol == NULL) {
        eol = p + strlen(p);
    }
    while (p < eol) {
        const char *n = p, *q, *r;
        size_t nlen;

        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*') ||
            (p > text && ident_char(p[-1]))) {
            p++;
            continue;
        }
        while (p < eol && ident_char(*p)) {
            p++;
        }
        nlen = (size_t)(p - n);
        q = p + strspn(p, " \t");
        if (*q != '=' && *q != ':') {
            continue;
        }
        for (r = text; r < n; r++) {
            const char *t;

            if (strncmp(r, n, nlen) != 0 || (r > text && ident_char(r[-1])) ||
                ident_char(r[nlen])) {
                continue;
            }
            t = r + nlen;
            t += strspn(t, " \t\r\n");
            if ((*t == '=' || *t == ':') && nlen < len) {
                memcpy(buf, n, nlen);
                buf[nlen] = '\0';
                return;
            }
        }
    }
}

/* A libconfig parse error. text: the text parsed (for the main file or string). */
static int parse_err(const config_t *cfg, const char *name, const char *text, char *errstr,
                     size_t errlen)
{
    const char *file = config_error_file(cfg);
    const char *msg = config_error_text(cfg) != NULL ? config_error_text(cfg) : "syntax error";
    int line = config_error_line(cfg);
    char *other = NULL, what[PATH_MAX_LEN];
    int rc;

    if (file != NULL && (name == NULL || strcmp(file, name) != 0)) {
        other = slurp(file, RECD_CONF_MAX_BYTES, NULL);
        text = other;
    }
    what[0] = '\0';
    if (text != NULL && strcmp(msg, "cannot open include file") == 0) {
        include_path_at(text, line, what, sizeof what);
        if (what[0] != '\0') {
            int fd_errno;
            FILE *fp = fopen(what, "r");

            fd_errno = errno;
            if (fp != NULL) {
                fclose(fp);
                fd_errno = 0;
            }
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s:%d: cannot open include file %s%s%s",
                             file != NULL ? file : name, line, what, fd_errno ? ": " : "",
                             fd_errno ? strerror(fd_errno) : "");
            free(other);
            return rc;
        }
    } else if (text != NULL && strcmp(msg, "duplicate setting name") == 0) {
        duplicate_at(text, line, what, sizeof what);
        if (what[0] != '\0') {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s:%d: %s: duplicate setting name",
                             file != NULL ? file : name, line, what);
            free(other);
            return rc;
        }
    }
    free(other);
    return recd_seterr(errstr, errlen, RECD_ECONFIG, "%s:%d: %s", file != NULL ? file : name, line,
                       msg);
}

/* The main file's text with each relative `@include "P"` made relative to the file's
 * directory `dir` ("DIR/P"); lines keep their numbers. NULL on out of memory. */
static char *resolve_includes(const char *text, const char *dir)
{
    struct {
        char *p;
        size_t len, cap;
    } b = { NULL, 0, 0 };
    const char *p = text;
    size_t dlen = strlen(dir);

    while (*p != '\0') {
        const char *eol = strchr(p, '\n'), *q = p, *add = NULL;
        size_t llen = eol != NULL ? (size_t)(eol - p) + 1 : strlen(p), at = 0, need;

        q += strspn(q, " \t");
        if (strncmp(q, "@include", 8) == 0) {
            q += 8;
            q += strspn(q, " \t");
            if (*q == '"' && q[1] != '/' && q[1] != '"') {
                at = (size_t)(q + 1 - p);
                add = dir;
            }
        }
        need = b.len + llen + (add != NULL ? dlen + 1 : 0) + 1;
        if (need > b.cap) {
            size_t nc = b.cap ? b.cap : 4096;
            char *nb;

            while (nc < need) {
                nc *= 2;
            }
            nb = realloc(b.p, nc);
            if (nb == NULL) {
                free(b.p);
                return NULL;
            }
            b.p = nb;
            b.cap = nc;
        }
        if (add != NULL) {
            memcpy(b.p + b.len, p, at);
            memcpy(b.p + b.len + at, dir, dlen);
            b.p[b.len + at + dlen] = '/';
            memcpy(b.p + b.len + at + dlen + 1, p + at, llen - at);
            b.len += llen + dlen + 1;
        } else {
            memcpy(b.p + b.len, p, llen);
            b.len += llen;
        }
        p += llen;
    }
    if (b.p == NULL) {
        return recd_strdup("");
    }
    b.p[b.len] = '\0';
    return b.p;
}

/* The files `text` (the file `name`, at include depth `depth`) includes, recursively:
 * - libconfig reads them through stdio, where its scanner is quadratic in a string's length
 *   (4 MiB: 10 s; the main file, parsed from memory: 0.08 s): the same size cap;
 * - a relative @include inside an included file would be resolved by libconfig against the
 *   working directory (under systemd "/"), not against that file's directory: refused.
 * Files that cannot be read are left to libconfig's "cannot open include file". */
static int check_includes(const char *text, const char *name, int depth, char *errstr,
                          size_t errlen)
{
    const char *p = text;
    int line = 1, rc = RECD_OK;

    for (; rc == RECD_OK && p != NULL && *p != '\0'; line++) {
        char inc[PATH_MAX_LEN];
        struct stat ist;

        include_path_in(p, inc, sizeof inc);
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
        if (inc[0] == '\0') {
            continue;
        }
        if (depth > 0 && inc[0] != '/') {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s:%d: @include \"%s\" in an "
                               "included file: use an absolute path (libconfig would resolve it "
                               "against the working directory)",
                               name, line, inc);
        }
        if (stat(inc, &ist) != 0) {
            continue;
        }
        if (ist.st_size > RECD_CONF_MAX_BYTES) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s:%d: included file %s: larger "
                               "than %d bytes: not a configuration file",
                               name, line, inc, RECD_CONF_MAX_BYTES);
        }
        if (depth < 10 && S_ISREG(ist.st_mode)) { /* libconfig's include depth limit */
            char *sub = slurp(inc, RECD_CONF_MAX_BYTES, NULL);

            if (sub != NULL) {
                rc = check_includes(sub, inc, depth + 1, errstr, errlen);
                free(sub);
            }
        }
    }
    return rc;
}

int recd_conf_load(const char *path, const struct recd_conf_unit *const *units, size_t n_units,
                   struct recd_conf **out, char *errstr, size_t errlen)
{
    config_t cfg;
    struct stat st;
    char *text = NULL, *resolved = NULL, *dir = NULL;
    size_t len = 0;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (path == NULL || out == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "invalid arguments");
    }
    config_init(&cfg);
    if (path[0] == '\0') {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "an empty configuration file name");
        goto out;
    }
    /* A directory opens fine but the scanner would abort the process on the read error. */
    if (stat(path, &st) != 0) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: cannot read: %s", path, strerror(EISDIR));
        goto out;
    }
    text = slurp(path, RECD_CONF_MAX_BYTES, &len);
    if (text == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (len > RECD_CONF_MAX_BYTES) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                         "%s: larger than %d bytes: not a "
                         "configuration file",
                         path, RECD_CONF_MAX_BYTES);
        goto out;
    }
    if (strlen(text) != len) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                         "%s: contains a NUL byte: not a "
                         "configuration file",
                         path);
        goto out;
    }
    /* relative @include paths: relative to this file's directory */
    if (strchr(path, '/') != NULL) {
        dir = recd_strndup(path, (size_t)(strrchr(path, '/') - path));
        if (dir != NULL && dir[0] == '\0') {
            free(dir);
            dir = recd_strdup(""); /* "/recd.conf": includes resolve to "/P" */
        }
    } else {
        dir = recd_strdup(".");
    }
    resolved = dir != NULL ? resolve_includes(text, dir) : NULL;
    if (resolved == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto out;
    }
    rc = check_includes(resolved, path, 0, errstr, errlen);
    if (rc != RECD_OK) {
        goto out;
    }
    if (!config_read_string(&cfg, resolved)) {
        rc = parse_err(&cfg, path, resolved, errstr, errlen);
        goto out;
    }
    rc = load_cfg(&cfg, path, resolved, units, n_units, out, errstr, errlen);

out:
    config_destroy(&cfg);
    free(text);
    free(resolved);
    free(dir);
    return rc;
}

int recd_conf_load_string(const char *text, const char *name,
                          const struct recd_conf_unit *const *units, size_t n_units,
                          struct recd_conf **out, char *errstr, size_t errlen)
{
    config_t cfg;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (text == NULL || out == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "invalid arguments");
    }
    if (name == NULL) {
        name = "<string>";
    }
    config_init(&cfg);
    if (!config_read_string(&cfg, text)) {
        rc = parse_err(&cfg, name, text, errstr, errlen);
    } else {
        rc = load_cfg(&cfg, name, text, units, n_units, out, errstr, errlen);
    }
    config_destroy(&cfg);
    return rc;
}

int recd_conf_defaults(const struct recd_conf_unit *const *units, size_t n_units,
                       struct recd_conf **out, char *errstr, size_t errlen)
{
    return conf_new(units, n_units, out, errstr, errlen);
}

/* ---- accessors -------------------------------------------------------------------------- */

const void *recd_conf_unit_data(const struct recd_conf *c, const char *unit_name)
{
    long i;

    if (c == NULL || unit_name == NULL) {
        return NULL;
    }
    i = conf_find_unit(c, unit_name);
    return i >= 0 ? c->data[i] : NULL;
}

int recd_conf_unit_present(const struct recd_conf *c, const char *unit_name)
{
    long i;

    if (c == NULL || unit_name == NULL) {
        return 0;
    }
    i = conf_find_unit(c, unit_name);
    return i >= 0 ? c->present[i] : 0;
}

const char *recd_conf_path(const struct recd_conf *c)
{
    return c != NULL ? c->path : NULL;
}

static const struct loc *find_loc(const struct recd_conf *c, const char *unit, const char *key)
{
    long ui = c != NULL && unit != NULL ? conf_find_unit(c, unit) : -1;
    const struct recd_conf_decl *d;

    if (ui < 0 || key == NULL || (d = find_decl(c->units[ui], key)) == NULL) {
        return NULL;
    }
    return &c->loc[ui][d - c->units[ui]->decls];
}

const void *recd_conf_field(const struct recd_conf *c, const char *unit, const char *key,
                            enum recd_conf_type type)
{
    long ui = c != NULL && unit != NULL ? conf_find_unit(c, unit) : -1;
    const struct recd_conf_decl *d;

    if (ui < 0 || key == NULL || (d = find_decl(c->units[ui], key)) == NULL || d->type != type) {
        return NULL;
    }
    return conf_cfield_of(c->data[ui], d);
}

unsigned recd_conf_line(const struct recd_conf *c, const char *unit, const char *key)
{
    const struct loc *l = find_loc(c, unit, key);

    return l != NULL ? l->line : 0;
}

const char *recd_conf_where(const struct recd_conf *c, const char *unit, const char *key, char *buf,
                            size_t len)
{
    const struct loc *l = find_loc(c, unit, key);
    const char *file = c != NULL && c->path != NULL ? c->path : "(defaults)";

    if (l != NULL && l->file != NULL) {
        file = l->file;
    }
    if (l != NULL && l->line > 0) {
        snprintf(buf, len, "%s:%u", file, l->line);
    } else {
        snprintf(buf, len, "%s", file);
    }
    return buf;
}

int recd_conf_error(const struct recd_conf *c, const char *unit, const char *key, char *errstr,
                    size_t errlen, const char *fmt, ...)
{
    char where[PATH_MAX_LEN + 16], msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: %s.%s: %s",
                       recd_conf_where(c, unit, key, where, sizeof where), unit, key, msg);
}

int recd_conf_check_reload(const struct recd_conf *old_c, const struct recd_conf *new_c,
                           char *errstr, size_t errlen)
{
    size_t i, j;

    if (old_c == NULL || new_c == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "invalid arguments");
    }
    for (i = 0; i < new_c->n_units; i++) {
        const struct recd_conf_unit *u = new_c->units[i];
        long oi = conf_find_unit(old_c, u->name);
        const struct recd_conf_unit *ou;

        if (oi < 0) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s: cannot be changed by reload (restart required)", u->name);
        }
        ou = old_c->units[oi];
        for (j = 0; j < u->n_decls; j++) {
            const struct recd_conf_decl *d = &u->decls[j];
            const struct recd_conf_decl *od = find_decl(ou, d->name);

            if (od != NULL && od->type == d->type &&
                conf_value_equal(d->type, conf_cfield_of(old_c->data[oi], od),
                            conf_cfield_of(new_c->data[i], d))) {
                continue;
            }
            if (od != NULL && (d->flags & RECD_CF_RELOADABLE) && (od->flags & RECD_CF_RELOADABLE) &&
                od->type == d->type) {
                continue;
            }
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s.%s: cannot be changed by reload (restart required)", u->name,
                               d->name);
        }
    }
    for (i = 0; i < old_c->n_units; i++) {
        if (conf_find_unit(new_c, old_c->units[i]->name) < 0) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s: cannot be changed by reload (restart required)",
                               old_c->units[i]->name);
        }
    }
    return RECD_OK;
}
