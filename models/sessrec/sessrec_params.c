/* sessrec_params.c — the model's parameters: the table of sessrec_params.h expanded into
 * sessrec_params_default() and the names, kinds and bounds of sessrec_params_set() / _check() /
 * _parse() / _format(); the learning modes' and the reasons' names. */
#include "sessrec.h"
#include "sessrec_params.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ------------------------------------------------------------------------ */

/* Booleans of the table as written there (B rows' DEFAULT is true or false). */
#define SR_BOOL_true  1u
#define SR_BOOL_false 0u

static const char *const learning_names[] = SESSREC_LEARNING_NAMES;

const char *sessrec_learning_name(enum sessrec_learning l)
{
    return (unsigned)l < sizeof(learning_names) / sizeof(learning_names[0]) - 1 ? learning_names[l]
                                                                                : NULL;
}

int sessrec_learning_from_name(const char *name, enum sessrec_learning *out)
{
    size_t i;

    for (i = 0; learning_names[i] != NULL; i++) {
        if (strcmp(learning_names[i], name) == 0) {
            *out = (enum sessrec_learning)i;
            return 0;
        }
    }
    return -1;
}

void sessrec_params_default(struct sessrec_params *p)
{
    memset(p, 0, sizeof(*p));
#define DU(name, field, def, lo, hi, desc) p->field = (uint32_t)(def);
#define DF(name, field, def, lo, hi, desc) p->field = (float)(def);
#define DB(name, field, def, lo, hi, desc) p->field = SR_BOOL_##def;
#define DE(name, field, def, lo, hi, desc) (void)sessrec_learning_from_name(def, &p->field);
    SESSREC_PARAM_TABLE(DU, DF, DB, DE)
#undef DU
#undef DF
#undef DB
#undef DE
}

enum ptype { PT_U32, PT_F32, PT_BOOL, PT_LEARNING };
struct pdesc {
    const char *name;
    enum ptype type;
    size_t off;
    double lo, hi;
};
#define PU(name, field, def, lo, hi, desc) \
    { #name, PT_U32, offsetof(struct sessrec_params, field), lo, hi },
#define PF(name, field, def, lo, hi, desc) \
    { #name, PT_F32, offsetof(struct sessrec_params, field), lo, hi },
#define PB(name, field, def, lo, hi, desc) \
    { #name, PT_BOOL, offsetof(struct sessrec_params, field), 0, 1 },
#define PE(name, field, def, lo, hi, desc) \
    { #name, PT_LEARNING, offsetof(struct sessrec_params, field), 0, 2 },
static const struct pdesc pdescs[] = { SESSREC_PARAM_TABLE(PU, PF, PB, PE) };
#undef PU
#undef PF
#undef PB
#undef PE
#define NPDESC (sizeof(pdescs) / sizeof(pdescs[0]))

int sessrec_params_set(struct sessrec_params *p, const char *name, const char *value)
{
    size_t i;
    char *end = NULL;

    if (strcmp(name, "learn_blend") == 0) {      /* deprecated: learning by number */
        name = "learning";
    }
    for (i = 0; i < NPDESC; i++) {
        void *f = (char *)p + pdescs[i].off;

        if (strcmp(pdescs[i].name, name) != 0) {
            continue;
        }
        if (pdescs[i].type == PT_F32) {
            float v = strtof(value, &end);
            if (end == value || *end != '\0' || !isfinite(v)) {
                return -1;
            }
            *(float *)f = v;
            return 0;
        }
        if (pdescs[i].type == PT_BOOL &&
            (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            *(uint32_t *)f = value[0] == 't';
            return 0;
        }
        if (pdescs[i].type == PT_LEARNING) {
            enum sessrec_learning l;
            if (sessrec_learning_from_name(value, &l) == 0) {
                *(enum sessrec_learning *)f = l;
                return 0;
            }
        }
        {
            unsigned long v = strtoul(value, &end, 10);
            if (end == value || *end != '\0' || v > UINT32_MAX || value[0] == '-') {
                return -1;
            }
            if (pdescs[i].type == PT_LEARNING) {
                *(enum sessrec_learning *)f = (enum sessrec_learning)v;
            } else {
                *(uint32_t *)f = (uint32_t)v;
            }
        }
        return 0;
    }
    return -1;
}

int sessrec_params_check(const struct sessrec_params *p, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < NPDESC; i++) {
        const void *f = (const char *)p + pdescs[i].off;
        double v = pdescs[i].type == PT_F32 ? (double)*(const float *)f
            : pdescs[i].type == PT_LEARNING ? (double)*(const enum sessrec_learning *)f
                                            : (double)*(const uint32_t *)f;

        if (!(v >= pdescs[i].lo && v <= pdescs[i].hi)) {
            if (err && errlen) {
                snprintf(err, errlen, "%s=%g out of range [%g, %g]", pdescs[i].name, v,
                         pdescs[i].lo, pdescs[i].hi);
            }
            return -1;
        }
    }
    return 0;
}

int sessrec_params_parse(struct sessrec_params *p, const char *list, char *err, size_t errlen)
{
    char buf[256];
    const char *s = list;

    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *eq;
        if (len > 0) {
            if (len >= sizeof(buf)) {
                goto bad;
            }
            memcpy(buf, s, len);
            buf[len] = '\0';
            eq = strchr(buf, '=');
            if (!eq) {
                goto bad;
            }
            *eq = '\0';
            if (sessrec_params_set(p, buf, eq + 1) != 0) {
                goto bad;
            }
        }
        s = comma ? comma + 1 : NULL;
        continue;
bad:
        if (err && errlen) {
            size_t n = len < errlen - 1 ? len : errlen - 1;
            memcpy(err, s, n);
            err[n] = '\0';
        }
        return -1;
    }
    return 0;
}

size_t sessrec_params_format(const struct sessrec_params *p, char *buf, size_t len)
{
    size_t used = 0, i;

    for (i = 0; i < NPDESC; i++) {
        char line[96];
        int n;
        const void *f = (const char *)p + pdescs[i].off;
        if (pdescs[i].type == PT_F32) {
            n = snprintf(line, sizeof(line), "%s=%g\n", pdescs[i].name, (double)*(const float *)f);
        } else if (pdescs[i].type == PT_LEARNING) {
            n = snprintf(line, sizeof(line), "%s=%s\n", pdescs[i].name,
                         sessrec_learning_name(*(const enum sessrec_learning *)f)
                             ? sessrec_learning_name(*(const enum sessrec_learning *)f)
                             : "?");
        } else {
            n = snprintf(line, sizeof(line), "%s=%u\n", pdescs[i].name, *(const uint32_t *)f);
        }
        if (n < 0) {
            continue;
        }
        if (buf && used + (size_t)n < len) {
            memcpy(buf + used, line, (size_t)n + 1);
        }
        used += (size_t)n;
    }
    if (buf && len > 0 && used >= len) {
        buf[len - 1] = '\0';
    }
    return used + 1;
}

const char *sessrec_reason_name(int reason)
{
    switch (reason) {
    case SESSREC_POPULAR:         return "POPULAR";
    case SESSREC_SIMILAR_SESSION: return "SIMILAR_SESSION";
    case SESSREC_NEXT_ITEM:       return "NEXT_ITEM";
    case SESSREC_CO_VISITED:      return "CO_VISITED";
    case SESSREC_IN_SESSION:      return "IN_SESSION";
    default:                      return "UNKNOWN";
    }
}
