/*
 * dataset_diginetica_raw.c — the diginetica-raw reader (dataset.h "Formats"): the raw CIKM Cup
 * 2016 views and purchases (';'-separated, one header line), purchase rows grouped into orders,
 * everything in the train phase.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "dataset_internal.h"

/* diginetica-raw purchases: rows grouped into orders */
struct ds_prow {
    int64_t sess, order_no, item, ts, user, seq;
};

static int cmp_prow(const void *a, const void *b)
{
    const struct ds_prow *x = a, *y = b;
    if (x->sess != y->sess) {
        return x->sess < y->sess ? -1 : 1;
    }
    if (x->order_no != y->order_no) {
        return x->order_no < y->order_no ? -1 : 1;
    }
    if (x->item != y->item) {
        return x->item < y->item ? -1 : 1;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int parse_user(const char *s, const char *e, int64_t *user)
{
    if (e - s == 2 && s[0] == 'N' && s[1] == 'A') {
        *user = -1;
        return 0;
    }
    if (s == e) {
        *user = -1;
        return 0;
    }
    return ds_parse_i64(s, e, user);
}

/* views: session_id;user_id;item_id;timeframe;eventdate → *rows (n, cap). */
static int read_views(const char *dir, const char *name, struct ds_row **rows, size_t *n,
                      size_t *cap, char *errstr, size_t errlen)
{
    struct ds_reader rd;
    char *f[5], *fe[5];
    int nf;
    int rc = ds_reader_open(&rd, dir, name, "", RECD_EIO, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    ds_reader_line(&rd); /* header */
    while ((nf = ds_reader_fields(&rd, ';', f, fe, 5)) > 0) {
        int64_t tf, day;
        struct ds_row r = { 0 };
        if (nf != 5 || ds_parse_i64(f[0], fe[0], &r.sess) || parse_user(f[1], fe[1], &r.user) ||
            ds_parse_i64(f[2], fe[2], &r.ref) || ds_parse_i64(f[3], fe[3], &tf) ||
            ds_parse_date_ms(f[4], fe[4], &day)) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected "
                             "session_id;user_id;item_id;timeframe;eventdate",
                             rd.path, rd.lineno);
            break;
        }
        r.ts = day + tf;
        r.kind = 0;
        r.seq = (int64_t)*n;
        if (GROW(*rows, *cap, *n + 1) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            break;
        }
        (*rows)[(*n)++] = r;
    }
    ds_reader_close(&rd);
    return rc;
}

/* purchases: sessionId;userId;timeframe;eventdate;ordernumber;itemId → *pr (np, pcap). */
static int read_purchases(const char *dir, struct ds_prow **pr, size_t *np, size_t *pcap,
                          char *errstr, size_t errlen)
{
    struct ds_reader rd;
    char *f[6], *fe[6];
    int nf;
    int rc = ds_reader_open(&rd, dir, "train-purchases.csv", "", RECD_EIO, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    ds_reader_line(&rd); /* header */
    while ((nf = ds_reader_fields(&rd, ';', f, fe, 6)) > 0) {
        int64_t tf, day;
        struct ds_prow r = { 0 };
        if (nf != 6 || ds_parse_i64(f[0], fe[0], &r.sess) || parse_user(f[1], fe[1], &r.user) ||
            ds_parse_i64(f[2], fe[2], &tf) || ds_parse_date_ms(f[3], fe[3], &day) ||
            ds_parse_i64(f[4], fe[4], &r.order_no) || ds_parse_i64(f[5], fe[5], &r.item)) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected "
                             "sessionId;userId;timeframe;eventdate;ordernumber;itemId",
                             rd.path, rd.lineno);
            break;
        }
        r.ts = day + tf;
        r.seq = (int64_t)*np;
        if (GROW(*pr, *pcap, *np + 1) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            break;
        }
        (*pr)[(*np)++] = r;
    }
    ds_reader_close(&rd);
    return rc;
}

/* Purchase rows → orders in ds (time = the latest row, lines by item, quantity = rows), one
 * purchase row each appended to *rows (n, cap). RECD_OK or RECD_ENOMEM. */
static int group_orders(struct recd_dataset *ds, struct ds_prow *pr, size_t np,
                        struct ds_row **rows, size_t *n, size_t *cap)
{
    if (np > 1) {
        qsort(pr, np, sizeof *pr, cmp_prow);
    }
    for (size_t i = 0; i < np;) {
        size_t j = i;
        int64_t ts = pr[i].ts, user = -1;
        if (GROW(ds->orders, ds->cap_orders, ds->n_orders + 1) != RECD_OK) {
            return RECD_ENOMEM;
        }
        struct ds_order *o = &ds->orders[ds->n_orders];
        o->order_no = pr[i].order_no;
        o->first_line = (int64_t)ds->n_lines;
        o->n_lines = 0;
        while (j < np && pr[j].sess == pr[i].sess && pr[j].order_no == pr[i].order_no) {
            if (pr[j].ts > ts) {
                ts = pr[j].ts;
            }
            if (user < 0) {
                user = pr[j].user;
            }
            if (o->n_lines > 0 && ds->lines[ds->n_lines - 1].item == pr[j].item) {
                ds->lines[ds->n_lines - 1].qty++;
            } else {
                if (GROW(ds->lines, ds->cap_lines, ds->n_lines + 1) != RECD_OK) {
                    return RECD_ENOMEM;
                }
                ds->lines[ds->n_lines].item = pr[j].item;
                ds->lines[ds->n_lines].qty = 1;
                ds->n_lines++;
                o->n_lines++;
            }
            j++;
        }
        struct ds_row r = { 0 };
        r.sess = pr[i].sess;
        r.ts = ts;
        r.ref = -(int64_t)ds->n_orders - 1;
        r.user = user;
        r.kind = 1;
        r.seq = (int64_t)(*n + ds->n_orders);
        ds->n_orders++;
        if (GROW(*rows, *cap, *n + 1) != RECD_OK) {
            return RECD_ENOMEM;
        }
        (*rows)[(*n)++] = r;
        i = j;
    }
    return RECD_OK;
}

int ds_load_diginetica_raw(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen)
{
    const char *views_name = ds_file_exists(dir, "train-item-views.csv")
        ? "train-item-views.csv"
        : "sample_train-item-views.csv";
    struct ds_row *rows = NULL;
    size_t n = 0, cap = 0;
    struct ds_prow *pr = NULL;
    size_t np = 0, pcap = 0;
    int rc = RECD_OK;

    if (ds_file_exists(dir, views_name)) {
        rc = read_views(dir, views_name, &rows, &n, &cap, errstr, errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
    }
    if (ds_file_exists(dir, "train-purchases.csv")) {
        rc = read_purchases(dir, &pr, &np, &pcap, errstr, errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
    }
    if (group_orders(ds, pr, np, &rows, &n, &cap) != RECD_OK) {
        goto oom;
    }
    if (n == 0) {
        rc = recd_seterr(errstr, errlen, RECD_ENOENT, "%s: no diginetica-raw views or purchases",
                         dir);
        goto cleanup;
    }
    if (ds_rows_to_sessions(ds, RECD_DS_TRAIN, rows, n) != RECD_OK) {
        goto oom;
    }
    rc = RECD_OK;
    goto cleanup;
oom:
    rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
cleanup:
    free(rows);
    free(pr);
    return rc;
}
