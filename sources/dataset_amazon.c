/*
 * dataset_amazon.c — the amazon-recbole reader (dataset.h "amazon-recbole"): RecBole atomic
 * files of a leave-one-out split — the catalogue from <P>.item2index and <P>.text, one user per
 * row of <P>.test.inter (or <P>.valid.inter) with their history as the train phase and the
 * held-out item as the test phase, on a synthetic timeline aligned at the end of the histories.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

/* ---- amazon-recbole: RecBole atomic files of a leave-one-out split ------------------------- */
struct am_asin {
    const char *asin; /* borrowed from the index -> ASIN array */
    int64_t idx;
};

struct am_user {
    int64_t user;
    int64_t first; /* the user's history (+ held-out item) in ds->ev */
    int32_t len; /* history length before the held-out item */
};

static int cmp_asin(const void *a, const void *b)
{
    return strcmp(((const struct am_asin *)a)->asin, ((const struct am_asin *)b)->asin);
}

static int cmp_am_user(const void *a, const void *b)
{
    const struct am_user *x = a, *y = b;
    return (x->user > y->user) - (x->user < y->user);
}

/* The rows of item2index (ASIN<TAB>index, header optional) → *asin_out (index → ASIN, owned,
 * *cap_out entries, NULL where no ASIN) and *n_out = the highest index + 1. */
static int am_read_item2index(struct ds_reader *rd, char ***asin_out, size_t *cap_out,
                              size_t *n_out, char *errstr, size_t errlen)
{
    char **asin = NULL;
    size_t cap = 0, n = 0;
    char *f[3], *fe[3];
    int nf, rc = RECD_OK;

    while ((nf = ds_reader_fields(rd, '\t', f, fe, 3)) > 0) {
        int64_t idx;
        if (nf != 2 || f[0] == fe[0] || ds_parse_i64(f[1], fe[1], &idx) != 0 || idx >= INT32_MAX) {
            if (rd->lineno == 1) {
                continue; /* header */
            }
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected ASIN<TAB>item_index", rd->path, rd->lineno);
            goto done;
        }
        if ((size_t)idx >= cap) {
            size_t old = cap;
            if (GROW(asin, cap, (size_t)idx + 1) != RECD_OK) {
                goto oom;
            }
            memset(asin + old, 0, (cap - old) * sizeof *asin);
        }
        if (asin[idx]) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": item index %" PRId64 " appears twice", rd->path,
                             rd->lineno, idx);
            goto done;
        }
        *fe[0] = '\0';
        if (!(asin[idx] = recd_strdup(f[0]))) {
            goto oom;
        }
        if ((size_t)idx + 1 > n) {
            n = (size_t)idx + 1;
        }
    }
    rc = ds_reader_status(rd, errstr, errlen);
    goto done;
oom:
    rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
done:
    *asin_out = asin;
    *cap_out = cap;
    *n_out = n;
    return rc;
}

/* item2index → ds->titles sized to the catalogue; *asin (index → ASIN, owned by the caller) and
 * *by (sorted by ASIN) for the text file. */
static int am_load_items(struct recd_dataset *ds, const char *dir, const char *prefix,
                         char ***asin_out, struct am_asin **by_out, char *errstr, size_t errlen)
{
    struct ds_reader rd;
    size_t cap = 0, n = 0;
    char **asin = NULL;
    struct am_asin *by = NULL;
    int rc;

    *asin_out = NULL;
    *by_out = NULL;
    rc = ds_reader_open(&rd, dir, prefix, ".item2index", RECD_ENOENT, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    rc = am_read_item2index(&rd, &asin, &cap, &n, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    if (n == 0) {
        rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s: no items", rd.path);
        goto cleanup;
    }
    ds->titles = calloc(n, sizeof *ds->titles);
    by = calloc(n, sizeof *by);
    if (!ds->titles || !by) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto cleanup;
    }
    ds->n_items = n;
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (asin[i]) {
            by[nb].asin = asin[i];
            by[nb++].idx = (int64_t)i;
        }
    }
    qsort(by, nb, sizeof *by, cmp_asin);
    for (size_t i = 1; i < nb; i++) {
        if (strcmp(by[i - 1].asin, by[i].asin) == 0) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s: ASIN %s has two indexes", rd.path,
                             by[i].asin);
            goto cleanup;
        }
    }
    for (size_t i = nb; i < n; i++) {
        by[i].asin = NULL; /* unused tail (indexes without an ASIN) */
    }
    *asin_out = asin;
    *by_out = by;
    asin = NULL;
    by = NULL;
cleanup:
    if (asin) {
        ds_free_names(asin, cap);
    }
    free(by);
    ds_reader_close(&rd);
    return rc;
}

/* text (ASIN<TAB>text, one header line) → ds->titles; ASINs outside item2index are ignored. */
static int am_load_text(struct recd_dataset *ds, const char *dir, const char *prefix,
                        const struct am_asin *by, size_t nb, char *errstr, size_t errlen)
{
    struct ds_reader rd;
    char *line;
    int rc = ds_reader_open(&rd, dir, prefix, ".text", RECD_ENOENT, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    while ((line = ds_reader_line(&rd)) != NULL) {
        size_t len = strlen(line);
        while (len > 0 &&
               (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                line[len - 1] == '\t')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        char *tab = strchr(line, '\t');
        if (rd.lineno == 1 && strncmp(line, "item_id", 7) == 0) {
            continue; /* header "item_id:token<TAB>text:token_seq" */
        }
        if (!tab || tab == line) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": expected ASIN<TAB>text",
                             rd.path, rd.lineno);
            goto cleanup;
        }
        *tab = '\0';
        struct am_asin key = { line, 0 };
        const struct am_asin *hit = bsearch(&key, by, nb, sizeof *by, cmp_asin);
        if (!hit) {
            continue; /* not in this split's item index */
        }
        const char *text = tab + 1;
        while (*text == ' ' || *text == '\t') {
            text++;
        }
        if (ds->titles[hit->idx]) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": ASIN %s appears twice",
                             rd.path, rd.lineno, line);
            goto cleanup;
        }
        if (!(ds->titles[hit->idx] = recd_strdup(text))) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    rc = ds_reader_status(&rd, errstr, errlen);
cleanup:
    ds_reader_close(&rd);
    return rc;
}

/* The split's file prefix <P> of the first *.test.inter file in name order (several splits). */
static int am_prefix(const char *dir, const char *suffix, char *prefix, size_t plen, char *errstr,
                     size_t errlen)
{
    char **names = NULL;
    size_t nn = 0;
    int rc = ds_list_files(dir, suffix, &names, &nn, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    if (nn == 0) {
        rc = recd_seterr(errstr, errlen, RECD_ENOENT, "%s: no *%s file", dir, suffix);
    } else {
        size_t pl = strlen(names[0]) - strlen(suffix);
        if (pl >= plen) {
            rc = recd_seterr(errstr, errlen, RECD_EINVAL, "%s: file name too long", names[0]);
        } else {
            memcpy(prefix, names[0], pl);
            prefix[pl] = '\0';
        }
    }
    ds_free_names(names, nn);
    return rc;
}

/* The catalogue: item2index and text (both optional). *asin as am_load_items. */
static int am_load_catalogue(struct recd_dataset *ds, const char *dir, const char *prefix,
                             char ***asin, char *errstr, size_t errlen)
{
    char name[DS_PATH_MAX];
    struct am_asin *by = NULL;
    int rc = RECD_OK;

    snprintf(name, sizeof name, "%s.item2index", prefix);
    if (!ds_file_exists(dir, name)) {
        return RECD_OK;
    }
    rc = am_load_items(ds, dir, prefix, asin, &by, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    snprintf(name, sizeof name, "%s.text", prefix);
    if (ds_file_exists(dir, name)) {
        size_t nb = 0;
        while (nb < ds->n_items && by[nb].asin) {
            nb++;
        }
        rc = am_load_text(ds, dir, prefix, by, nb, errstr, errlen);
    }
    free(by);
    return rc;
}

/* Columns 1 (history) and 2 (held-out item) of a user's row → events from u->first; u->len =
 * the history kept (cold items are held out of training). */
static int am_parse_user_items(struct recd_dataset *ds, const struct ds_reader *rd, char **f,
                               struct am_user *u, char *errstr, size_t errlen)
{
    for (int col = 1; col <= 2; col++) {
        char *p = f[col], *tok, *end;
        int64_t got = 0, item;
        while (ds_next_token(&p, " ", &tok, &end)) {
            if (ds_parse_i64(tok, end, &item) != 0 ||
                (ds->n_items > 0 && (uint64_t)item >= ds->n_items)) {
                return recd_seterr(errstr, errlen, RECD_EDECODE,
                                   "%s:%" PRId64 ": bad item index '%.*s'%s", rd->path, rd->lineno,
                                   (int)(end - tok > 40 ? 40 : end - tok), tok,
                                   ds->n_items > 0 ? " (not in item2index)" : "");
            }
            if (col == 1 && recd_dataset_cold_item(ds->conf.cold_frac, item)) {
                continue; /* held out of training (cold start) */
            }
            if (ds_add_ev(ds, 0, item) != RECD_OK) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            }
            got++;
        }
        if (col == 1 && got >= INT32_MAX - 1) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": history too long",
                               rd->path, rd->lineno);
        }
        if (col == 1) {
            u->len = (int32_t)got;
        } else if (got != 1) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "%s:%" PRId64 ": expected one next item", rd->path, rd->lineno);
        }
    }
    return RECD_OK;
}

/* The held-out split: user<TAB>history<TAB>held-out item, one row per user → *us (n_us, cap_us),
 * sorted by user, every user once. */
static int am_read_users(struct recd_dataset *ds, struct ds_reader *rd, struct am_user **us,
                         size_t *n_us, size_t *cap_us, char *errstr, size_t errlen)
{
    char *f[4], *fe[4];
    int nf, rc;

    while ((nf = ds_reader_fields(rd, '\t', f, fe, 4)) > 0) {
        int64_t user;
        if (nf != 3 || ds_parse_i64(f[0], fe[0], &user) != 0) {
            if (rd->lineno == 1) {
                continue; /* header "user_id:token<TAB>item_id_list:token_seq<TAB>..." */
            }
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "%s:%" PRId64 ": expected user_index<TAB>item_index_list<TAB>"
                               "next_item_index",
                               rd->path, rd->lineno);
        }
        if (GROW(*us, *cap_us, *n_us + 1) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        struct am_user *u = &(*us)[*n_us];
        u->user = user;
        u->first = (int64_t)ds->n_ev;
        u->len = 0;
        *fe[1] = '\0';
        *fe[2] = '\0';
        rc = am_parse_user_items(ds, rd, f, u, errstr, errlen);
        if (rc != RECD_OK) {
            return rc;
        }
        (*n_us)++;
    }
    rc = ds_reader_status(rd, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    if (*n_us > 1) {
        qsort(*us, *n_us, sizeof **us, cmp_am_user);
    }
    for (size_t i = 1; i < *n_us; i++) {
        if ((*us)[i].user == (*us)[i - 1].user) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "%s: user %" PRId64 " has two rows",
                               rd->path, (*us)[i].user);
        }
    }
    return RECD_OK;
}

/* Synthetic times aligned at the end of the histories (dataset.h), and each user's train and
 * test session. */
static int am_place_users(struct recd_dataset *ds, const struct am_user *us, size_t n_us,
                          const char *path, char *errstr, size_t errlen)
{
    int64_t base = ds->conf.start_ts_ms ? ds->conf.start_ts_ms : DS_DEFAULT_START_MS;
    int64_t g = ds->conf.session_gap_ms, rounds = 0;
    if (g < (int64_t)n_us + 1) {
        g = (int64_t)n_us + 1;
    }
    for (size_t i = 0; i < n_us; i++) {
        if (us[i].len > rounds) {
            rounds = us[i].len;
        }
    }
    if (rounds + 2 > (INT64_MAX / 2 - base) / g) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s: synthetic timeline overflows", path);
    }
    ds->catalog_ts = base;
    for (size_t i = 0; i < n_us; i++) {
        const struct am_user *u = &us[i];
        for (int32_t k = 0; k <= u->len; k++) {
            ds->ev[u->first + k].ts = base + (1 + rounds - u->len + k) * g + (int64_t)i;
        }
        if (u->len > 0 &&
            ds_add_session(ds, RECD_DS_TRAIN, u->user, u->user, u->first, u->len,
                           ds->ev[u->first].ts) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        if (ds_add_session(ds, RECD_DS_TEST, u->user, u->user, u->first + u->len, 1,
                           ds->ev[u->first + u->len].ts) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        ds->ph[RECD_DS_TEST].s[ds->ph[RECD_DS_TEST].n - 1].pos0 = u->len;
    }
    return RECD_OK;
}

int ds_load_amazon_recbole(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen)
{
    static const char SUFFIX[] = ".test.inter";
    char **asin = NULL;
    struct am_user *us = NULL;
    size_t n_us = 0, cap_us = 0;
    char prefix[1024];
    struct ds_reader rd = { .fp = NULL };
    int rc;

    rc = am_prefix(dir, SUFFIX, prefix, sizeof prefix, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    rc = am_load_catalogue(ds, dir, prefix, &asin, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    rc = ds_reader_open(&rd, dir, prefix, ds->conf.valid ? ".valid.inter" : SUFFIX, RECD_ENOENT,
                        errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    rc = am_read_users(ds, &rd, &us, &n_us, &cap_us, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    rc = am_place_users(ds, us, n_us, rd.path, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    ds->ph[RECD_DS_TRAIN].timing = TIME_FULL;
    ds->ph[RECD_DS_TEST].timing = TIME_FULL;
    ds->user_sessions = 1;
cleanup:
    ds_reader_close(&rd);
    free(us);
    if (asin) {
        ds_free_names(asin, ds->n_items);
    }
    return rc;
}
