/*
 * conf_dump.c — the configuration writers (conf.h): recd_conf_dump (the effective config,
 * secrets masked), recd_conf_write_example (the commented example, conf/recd.conf) and
 * recd_conf_write_markdown (docs/CONFIGURATION.md). The loader is conf.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_internal.h"
#include "recd.h"

/* ---- dump ------------------------------------------------------------------------------- */

static void put_indent(FILE *out, int depth)
{
    fprintf(out, "%*s", depth * 4, "");
}

/* A libconfig string literal. */
static void put_quoted(FILE *out, const char *s)
{
    const unsigned char *p;

    fputc('"', out);
    for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(out, "\\x%02x", *p);
            } else {
                fputc(*p, out);
            }
        }
    }
    fputc('"', out);
}

/* Shortest text that reads back as the same double, always with a '.' or an exponent so that
 * libconfig parses it as a float. */
static void fmt_double(char *buf, size_t len, double v)
{
    int prec;

    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    if (strpbrk(buf, ".eEn") == NULL) {
        conf_buf_append(buf, len, ".0");
    }
}

static void dump_decl(const struct recd_conf_decl *d, const void *field, FILE *out, int depth)
{
    int secret = (d->flags & RECD_CF_SECRET) != 0;
    char num[64];
    size_t i;

    put_indent(out, depth);
    fprintf(out, "%s = ", d->name);
    /* An empty secret string is shown as such: that it is unset is no secret. */
    if (secret && d->type != RECD_CT_STRLIST && d->type != RECD_CT_MAP &&
        !(d->type == RECD_CT_STRING &&
          (*(char *const *)field == NULL || **(char *const *)field == '\0'))) {
        put_quoted(out, MASK);
        fputs(";\n", out);
        return;
    }
    switch (d->type) {
    case RECD_CT_INT: {
        int64_t v = *(const int64_t *)field;
        fprintf(out, "%lld%s", (long long)v, (v < INT32_MIN || v > INT32_MAX) ? "L" : "");
        break;
    }
    case RECD_CT_DOUBLE:
        fmt_double(num, sizeof num, *(const double *)field);
        fputs(num, out);
        break;
    case RECD_CT_BOOL:    fputs(*(const int *)field ? "true" : "false", out); break;
    case RECD_CT_STRING:  put_quoted(out, *(char *const *)field); break;
    case RECD_CT_STRLIST: {
        const struct recd_strlist *l = field;
        fputs("[", out);
        for (i = 0; i < l->n; i++) {
            fputs(i == 0 ? " " : ", ", out);
            put_quoted(out, secret ? MASK : l->v[i]);
        }
        fputs(" ]", out);
        break;
    }
    case RECD_CT_MAP: {
        /* Keys matching *password*, *secret*, sasl.*, ssl.key* are always masked. */
        const struct recd_kvlist *l = field;
        if (l->n == 0) {
            fputs("{ }", out);
            break;
        }
        fputs("{\n", out);
        for (i = 0; i < l->n; i++) {
            const char *k;
            put_indent(out, depth + 1);
            for (k = l->k[i]; *k != '\0'; k++) {
                fputc(*k == '.' ? '_' : *k, out);
            }
            fputs(" = ", out);
            put_quoted(out, conf_secret_key(l->k[i]) ? MASK : l->v[i]);
            fputs(";\n", out);
        }
        put_indent(out, depth);
        fputs("}", out);
        break;
    }
    }
    fputs(";\n", out);
}

/* A value as libconfig text on one line (dump_decl's rendering, secrets masked). */
static void value_text(const struct recd_conf_decl *d, const void *field, char *buf, size_t len)
{
    char *text = NULL, *p, *q;
    size_t n = 0;
    FILE *m = open_memstream(&text, &n);

    buf[0] = '\0';
    if (m == NULL) {
        return;
    }
    dump_decl(d, field, m, 0);
    if (fclose(m) != 0 || text == NULL) {
        free(text);
        return;
    }
    p = strstr(text, " = ");
    p = p != NULL ? p + 3 : text;
    for (q = p; *q != '\0'; q++) {   /* one line: a map's pairs joined by spaces */
        if (*q == '\n') {
            *q = ' ';
        }
    }
    while (q > p && (q[-1] == ' ' || q[-1] == ';')) {
        *--q = '\0';
    }
    snprintf(buf, len, "%s", p);
    free(text);
}

void recd_conf_describe_changes(const struct recd_conf *old_c, const struct recd_conf *new_c,
                                char *out, size_t len)
{
    char a[256], b[256];
    size_t i, j;
    int n = 0;

    out[0] = '\0';
    for (i = 0; i < new_c->n_units; i++) {
        const struct recd_conf_unit *u = new_c->units[i];
        long oi = conf_find_unit(old_c, u->name);

        if (oi < 0) {
            conf_buf_append(out, len, "%s%s (added)", n++ ? ", " : "", u->name);
            continue;
        }
        for (j = 0; j < u->n_decls; j++) {
            const struct recd_conf_decl *d = &u->decls[j];
            const void *of = conf_cfield_of(old_c->data[oi], d);
            const void *nf = conf_cfield_of(new_c->data[i], d);

            if (old_c->units[oi]->decls != u->decls || conf_value_equal(d->type, of, nf)) {
                continue;
            }
            value_text(d, of, a, sizeof a);
            value_text(d, nf, b, sizeof b);
            conf_buf_append(out, len, "%s%s.%s %s -> %s", n++ ? ", " : "", u->name, d->name, a,
                            b);
        }
    }
    for (i = 0; i < old_c->n_units; i++) {
        if (conf_find_unit(new_c, old_c->units[i]->name) < 0) {
            conf_buf_append(out, len, "%s%s (removed)", n++ ? ", " : "", old_c->units[i]->name);
        }
    }
    if (n == 0) {
        snprintf(out, len, "nothing");
    }
}

/* Whether a unit before index `i` already produced group `comp` (length n) under `prefix`. */
static int comp_seen(const struct recd_conf *c, size_t i, const char *prefix, const char *comp,
                     size_t n)
{
    size_t j, plen = strlen(prefix);

    for (j = 0; j < i; j++) {
        const char *u = c->units[j]->name, *rest;
        if (plen > 0) {
            if (strncmp(u, prefix, plen) != 0 || u[plen] != '.') {
                continue;
            }
            rest = u + plen + 1;
        } else {
            rest = u;
        }
        if (strcspn(rest, ".") == n && strncmp(rest, comp, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Comment lines (example mode): text wrapped at ~90 columns, prefixed with "# ". */
static int dump_comments;

static void put_comment(FILE *out, int depth, const char *text)
{
    const char *p = text;

    while (p != NULL && *p != '\0') {
        size_t n = strlen(p), cut = n;

        if (n > 88) {
            cut = 88;
            while (cut > 0 && p[cut] != ' ') {
                cut--;
            }
            if (cut == 0) {
                cut = 88;
            }
        }
        put_indent(out, depth);
        fprintf(out, "# %.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ') {
            p++;
        }
    }
}

static void comment_decl(const struct recd_conf_decl *d, FILE *out, int depth)
{
    char meta[256];

    put_comment(out, depth, d->desc);
    snprintf(meta, sizeof(meta), "(%s%s", conf_type_name(d->type),
             (d->flags & RECD_CF_RELOADABLE) ? ", reloadable with SIGHUP" : ", restart to change");
    if (conf_bounded(d) && (d->type == RECD_CT_INT || d->type == RECD_CT_DOUBLE)) {
        snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), ", %.17g..%.17g", d->min,
                 d->max);
    }
    if (d->choices != NULL) {
        size_t i;

        snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), ", one of:");
        for (i = 0; d->choices[i] != NULL; i++) {
            snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), " %s", d->choices[i]);
        }
    }
    snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), ")");
    put_comment(out, depth, meta);
}

/* Emit the groups directly below `prefix` in order of first appearance among the units. */
static void dump_level(const struct recd_conf *c, FILE *out, const char *prefix, int depth)
{
    size_t i, j, plen = strlen(prefix);

    for (i = 0; i < c->n_units; i++) {
        const char *u = c->units[i]->name, *rest;
        char *child;
        size_t n;
        long ci;

        if (plen > 0) {
            if (strncmp(u, prefix, plen) != 0 || u[plen] != '.') {
                continue;
            }
            rest = u + plen + 1;
        } else {
            rest = u;
        }
        n = strcspn(rest, ".");
        if (comp_seen(c, i, prefix, rest, n)) {
            continue;
        }
        child = recd_strndup(u, (size_t)(rest - u) + n);
        if (child == NULL) {
            return;
        }
        ci = conf_find_unit(c, child);
        if (dump_comments) {
            fputs("\n", out);
            if (ci >= 0 && c->units[ci]->desc != NULL) {
                put_comment(out, depth, c->units[ci]->desc);
            }
        }
        put_indent(out, depth);
        fprintf(out, "%.*s = {\n", (int)n, rest);
        if (ci >= 0) {
            for (j = 0; j < c->units[ci]->n_decls; j++) {
                const struct recd_conf_decl *d = &c->units[ci]->decls[j];
                if (dump_comments) {
                    comment_decl(d, out, depth + 1);
                }
                dump_decl(d, conf_cfield_of(c->data[ci], d), out, depth + 1);
            }
        }
        if (conf_is_parent(c, child)) {
            dump_level(c, out, child, depth + 1);
        }
        put_indent(out, depth);
        fputs("};\n", out);
        free(child);
    }
}

void recd_conf_dump(const struct recd_conf *c, FILE *out)
{
    if (c == NULL || out == NULL) {
        return;
    }
    fputs("# recd effective configuration (secrets masked)\n", out);
    dump_level(c, out, "", 0);
}

void recd_conf_write_example(const struct recd_conf *c, FILE *out)
{
    if (c == NULL || out == NULL) {
        return;
    }
    fputs("# recd.conf — recd's configuration (libconfig syntax; see recd.conf(5) and\n"
          "# docs/CONFIGURATION.md). Every key is shown with its default value; delete what you\n"
          "# do not change. Generated by `recd --config-example` from the configuration tables.\n"
          "# Integers beyond 32 bits need an L suffix (libconfig).\n",
          out);
    dump_comments = 1;
    dump_level(c, out, "", 0);
    dump_comments = 0;
}

/* ---- markdown --------------------------------------------------------------------------- */

/* Table cell text: '|' escaped, line breaks flattened. */
static void md_text(FILE *out, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", out);
        } else if (*s == '\n' || *s == '\r' || *s == '\t') {
            fputc(' ', out);
        } else {
            fputc(*s, out);
        }
    }
}

/* A code span in a table cell. */
static void md_code(FILE *out, const char *s)
{
    const char *fence = strchr(s, '`') != NULL ? "``" : "`";
    const char *pad = strchr(s, '`') != NULL ? " " : "";

    fprintf(out, "%s%s", fence, pad);
    md_text(out, s);
    fprintf(out, "%s%s", pad, fence);
}

static void md_bounds(FILE *out, const struct recd_conf_decl *d)
{
    const char *const *ch;
    int any = 0;

    if (conf_bounded(d)) {
        switch (d->type) {
        case RECD_CT_INT:
            fprintf(out, "[%.0f, %.0f]", d->min, d->max);
            any = 1;
            break;
        case RECD_CT_DOUBLE:
            fprintf(out, "[%g, %g]", d->min, d->max);
            any = 1;
            break;
        case RECD_CT_STRING:
            fprintf(out, "length [%.0f, %.0f]", d->min, d->max);
            any = 1;
            break;
        case RECD_CT_STRLIST:
            fprintf(out, "[%.0f, %.0f] elements", d->min, d->max);
            any = 1;
            break;
        default: break;
        }
    }
    if (d->choices != NULL && (d->type == RECD_CT_STRING || d->type == RECD_CT_STRLIST)) {
        fprintf(out, "%s%s", any ? "; " : "",
                d->type == RECD_CT_STRLIST ? "each one of: " : "one of: ");
        for (ch = d->choices; *ch != NULL; ch++) {
            fputs(ch == d->choices ? "" : ", ", out);
            md_code(out, *ch);
        }
        any = 1;
    }
    if (!any) {
        fputs("-", out);
    }
}

void recd_conf_write_markdown(const struct recd_conf_unit *const *units, size_t n_units, FILE *out)
{
    size_t i, j;

    if (out == NULL || (units == NULL && n_units > 0)) {
        return;
    }
    fputs("# recd configuration reference\n\n"
          "Generated by `recd --config-doc` from the configuration tables in the source; do not "
          "edit by hand.\n\n"
          "The configuration file uses libconfig syntax. A section `a.b` is the group `b` inside "
          "the group `a`. Unknown sections and keys, wrong types and out-of-bounds values are "
          "errors reported as `FILE:LINE: section.key: message`. Bounds are inclusive; for "
          "strings they bound the length in bytes, for string lists the number of elements. "
          "Integers outside [-2147483648, 2147483647] must carry the `L` suffix (without it "
          "libconfig 1.5 wraps them modulo 2^32; recd refuses such a value). In map values, "
          "write `_` for `.` in keys (`security_protocol = \"ssl\";` sets "
          "`security.protocol`). Keys marked reloadable take effect on SIGHUP; changing any "
          "other key requires a restart.\n",
          out);
    for (i = 0; i < n_units; i++) {
        const struct recd_conf_unit *u = units[i];

        if (u == NULL || u->name == NULL) {
            continue;
        }
        fprintf(out, "\n## %s\n\n", u->name);
        if (u->desc != NULL && u->desc[0] != '\0') {
            fprintf(out, "%s\n\n", u->desc);
        }
        fputs("| key | type | default | bounds | reload | description |\n", out);
        fputs("|---|---|---|---|---|---|\n", out);
        for (j = 0; j < u->n_decls; j++) {
            const struct recd_conf_decl *d = &u->decls[j];

            fputs("| ", out);
            md_code(out, d->name != NULL ? d->name : "");
            fprintf(out, " | %s | ", conf_type_name(d->type));
            md_code(out, d->def != NULL ? d->def : conf_zero_text(d->type));
            fputs(" | ", out);
            md_bounds(out, d);
            fprintf(out, " | %s | ", (d->flags & RECD_CF_RELOADABLE) ? "yes" : "no");
            md_text(out, d->desc);
            if (d->type == RECD_CT_MAP) {
                fputs(" Write `_` for `.` in keys. Values of keys containing `password` or "
                      "`secret`, or starting with `sasl.` or `ssl.key`, are masked by "
                      "`--dump-config`.",
                      out);
            } else if (d->flags & RECD_CF_SECRET) {
                fputs(" Secret: masked by `--dump-config`.", out);
            }
            fputs(" |\n", out);
        }
    }
}
