/*
 * dataset_common.c — what the dataset readers share (dataset_internal.h): hashing, array
 * growth, the strict number/date parsers and the field and token splitters, directory listing,
 * the line reader every reader opens its files with, and the loading steps common to the
 * formats (sessions and events appended to the dataset, timestamped rows grouped into sessions).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_internal.h"

/* ---- small helpers ------------------------------------------------------------------------ */
uint64_t ds_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int recd_dataset_cold_item(double frac, int64_t item)
{
    /* the top 53 bits of the hash as a uniform double in [0, 1) */
    double u = (double)(ds_mix64((uint64_t)item ^ 0xC01DF2AC00000000ull) >> 11) * 0x1.0p-53;
    return frac > 0 && u < frac;
}

int ds_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return RECD_OK;
    }
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) {
            return RECD_ENOMEM;
        }
        nc *= 2;
    }
    void *q = realloc(*p, nc * elem);
    if (!q) {
        return RECD_ENOMEM;
    }
    *p = q;
    *cap = nc;
    return RECD_OK;
}

int ds_parse_i64(const char *s, const char *e, int64_t *out)
{
    int64_t v = 0;
    if (s >= e) {
        return -1;
    }
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        if (v > (INT64_MAX - (*p - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int ds_parse_secs_ms(const char *s, const char *e, int64_t *out)
{
    const char *dot = memchr(s, '.', (size_t)(e - s));
    int64_t sec, ms = 0;
    if (ds_parse_i64(s, dot ? dot : e, &sec) != 0 || sec > INT64_MAX / 1000 - 1000) {
        return -1;
    }
    if (dot) {
        int digits = 0;
        for (const char *p = dot + 1; p < e; p++) {
            if (*p < '0' || *p > '9') {
                return -1;
            }
            if (digits < 3) {
                ms = ms * 10 + (*p - '0');
                digits++;
            }
        }
        while (digits++ < 3) {
            ms *= 10;
        }
    }
    *out = sec * 1000 + ms;
    return 0;
}

int ds_parse_date_ms(const char *s, const char *e, int64_t *out)
{
    int64_t y, m, d;
    if (e - s != 10 || s[4] != '-' || s[7] != '-' || ds_parse_i64(s, s + 4, &y) ||
        ds_parse_i64(s + 5, s + 7, &m) || ds_parse_i64(s + 8, s + 10, &d) || m < 1 || m > 12 ||
        d < 1 || d > 31) {
        return -1;
    }
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = (era * 146097 + doe - 719468) * DS_DAY_MS;
    return 0;
}

int ds_split_fields(char *line, char sep, char **f, char **fe, int max)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        line[--len] = '\0';
    }
    int n = 0;
    char *p = line;
    for (;;) {
        char *q = strchr(p, sep);
        if (n < max) {
            f[n] = p;
            fe[n] = q ? q : line + len;
        }
        n++;
        if (!q) {
            break;
        }
        p = q + 1;
    }
    return n;
}

int ds_next_token(char **p, const char *seps, char **tok, char **tok_end)
{
    char *s = *p;
    while (*s && strchr(seps, *s)) {
        s++;
    }
    *p = s;
    if (!*s) {
        return 0;
    }
    char *e = s;
    while (*e && !strchr(seps, *e)) {
        e++;
    }
    *tok = s;
    *tok_end = e;
    *p = e;
    return 1;
}

int ds_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int ds_file_exists(const char *dir, const char *name)
{
    char p[DS_PATH_MAX];
    struct stat st;
    return ds_path_join(p, sizeof p, dir, name) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ds_list_files(const char *dir, const char *suffix, char ***names, size_t *n, char *errstr,
                  size_t errlen)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);

    *names = NULL;
    *n = 0;
    if (!d) {
        return recd_seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO, "%s: %s", dir,
                           strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix) != 0) {
            continue;
        }
        if (!ds_file_exists(dir, de->d_name)) {
            continue;
        }
        if (GROW(v, cap, cnt + 1) != RECD_OK) {
            goto oom;
        }
        v[cnt] = recd_strdup(de->d_name);
        if (!v[cnt]) {
            goto oom;
        }
        cnt++;
    }
    closedir(d);
    if (cnt > 1) {
        qsort(v, cnt, sizeof *v, cmp_str);
    }
    *names = v;
    *n = cnt;
    return RECD_OK;
oom:
    closedir(d);
    ds_free_names(v, cnt);
    return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
}

void ds_free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* ---- line reader ---------------------------------------------------------------------------- */
int ds_reader_open(struct ds_reader *r, const char *dir, const char *name, const char *suffix,
                   int missing_rc, char *errstr, size_t errlen)
{
    memset(r, 0, sizeof *r);
    int n = snprintf(r->path, sizeof r->path, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= sizeof r->path) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s/%s%s: path too long", dir, name,
                           suffix);
    }
    r->fp = fopen(r->path, "r");
    if (!r->fp) {
        return recd_seterr(errstr, errlen, errno == ENOENT ? missing_rc : RECD_EIO, "%s: %s",
                           r->path, strerror(errno));
    }
    return RECD_OK;
}

char *ds_reader_line(struct ds_reader *r)
{
    if (getline(&r->line, &r->cap, r->fp) < 0) {
        return NULL;
    }
    r->lineno++;
    return r->line;
}

int ds_reader_fields(struct ds_reader *r, char sep, char **f, char **fe, int max)
{
    while (ds_reader_line(r)) {
        int nf = ds_split_fields(r->line, sep, f, fe, max);
        if (nf == 1 && r->line[0] == '\0') {
            continue;
        }
        return nf;
    }
    return 0;
}

int ds_reader_status(struct ds_reader *r, char *errstr, size_t errlen)
{
    if (ferror(r->fp)) {
        return recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", r->path);
    }
    return RECD_OK;
}

void ds_reader_close(struct ds_reader *r)
{
    free(r->line);
    r->line = NULL;
    r->cap = 0;
    if (r->fp) {
        fclose(r->fp);
        r->fp = NULL;
    }
}

/* ---- loading ------------------------------------------------------------------------------ */
int ds_add_session(struct recd_dataset *ds, int phase, int64_t key, int64_t user, int64_t first,
                   int32_t n, int64_t start)
{
    struct ds_phase *ph = &ds->ph[phase];
    if (GROW(ph->s, ph->cap, ph->n + 1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    struct ds_sess *s = &ph->s[ph->n++];
    s->key = key;
    s->user = user;
    s->first = first;
    s->n = n;
    s->pos0 = 0;
    s->start = start;
    return RECD_OK;
}

int ds_add_ev(struct recd_dataset *ds, int64_t ts, int64_t ref)
{
    if (GROW(ds->ev, ds->cap_ev, ds->n_ev + 1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    ds->ev[ds->n_ev].ts = ts;
    ds->ev[ds->n_ev].ref = ref;
    ds->n_ev++;
    return RECD_OK;
}

static int cmp_row(const void *a, const void *b)
{
    const struct ds_row *x = a, *y = b;
    if (x->sess != y->sess) {
        return x->sess < y->sess ? -1 : 1;
    }
    if (x->ts != y->ts) {
        return x->ts < y->ts ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_sess_start(const void *a, const void *b)
{
    const struct ds_sess *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    if (x->first != y->first) {
        return x->first < y->first ? -1 : 1;
    }
    return 0;
}

int ds_rows_to_sessions(struct recd_dataset *ds, int phase, struct ds_row *rows, size_t n)
{
    if (n > 1) {
        qsort(rows, n, sizeof *rows, cmp_row);
    }
    size_t i = 0;
    size_t first_sess = ds->ph[phase].n;
    while (i < n) {
        size_t j = i;
        int64_t user = -1;
        int64_t first = (int64_t)ds->n_ev;
        while (j < n && rows[j].sess == rows[i].sess) {
            if (user < 0 && rows[j].user >= 0) {
                user = rows[j].user;
            }
            if (ds_add_ev(ds, rows[j].ts, rows[j].ref) != RECD_OK) {
                return RECD_ENOMEM;
            }
            j++;
        }
        if (j - i > INT32_MAX) {
            return RECD_EINVAL;
        }
        if (ds_add_session(ds, phase, rows[i].sess, user, first, (int32_t)(j - i), rows[i].ts) !=
            RECD_OK) {
            return RECD_ENOMEM;
        }
        i = j;
    }
    struct ds_phase *ph = &ds->ph[phase];
    if (ph->n - first_sess > 1) {
        qsort(ph->s + first_sess, ph->n - first_sess, sizeof *ph->s, cmp_sess_start);
    }
    ph->timing = TIME_FULL;
    return RECD_OK;
}
