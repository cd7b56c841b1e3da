/*
 * dataset.c — dataset readers (see dataset.h).
 *
 * The whole dataset is loaded into compact arrays (item ids are numeric in every supported
 * format and are kept as int64), then replayed by a per-phase merge: a min-heap of the open
 * sessions keyed by (time of the session's next event, order the session was opened).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "recd.h"

#define DS_DEFAULT_GAP_MS      INT64_C(60000)
#define DS_DEFAULT_START_MS    INT64_C(1451606400000)   /* 2016-01-01T00:00:00Z */
#define DS_DEFAULT_CONCURRENCY 8
#define DS_DAY_MS              INT64_C(86400000)
#define DS_DWELL_MIN_MS        INT64_C(30000)
#define DS_DWELL_SPAN_MS       INT64_C(90001)          /* dwell in [30 s, 120 s] */

enum ds_timing {
    TIME_NONE = 0,    /* no timestamps: synthetic session starts and offsets */
    TIME_START,       /* real session start, synthetic offsets */
    TIME_FULL         /* real time for every event */
};

struct ds_ev {
    int64_t ts;       /* real time (TIME_FULL), else unused */
    int64_t ref;      /* >= 0: click on item `ref`; < 0: purchase, order index -ref-1 */
};

struct ds_order {
    int64_t order_no;
    int64_t first_line;
    int32_t n_lines;
};

struct ds_line {
    int64_t item;
    int32_t qty;
};

struct ds_sess {
    int64_t key;      /* the dataset's session id, or the index in the file */
    int64_t user;     /* known user id, or -1 */
    int64_t first;    /* first event in ds->ev */
    int32_t n;        /* events */
    int32_t pos0;     /* position of the first event in the user's history (amazon-recbole:
                         a user's test click continues their train history), else 0 */
    int64_t start;    /* real start (TIME_START / TIME_FULL) */
};

struct ds_phase {
    struct ds_sess *s;    /* owned */
    size_t n, cap;
    int timing;           /* enum ds_timing */
    int64_t base;         /* synthetic base (TIME_NONE) */
    int concurrency;      /* effective, >= 1 (INT_MAX = unlimited) */
    int64_t events, clicks, purchases, test_cases;
};

struct heap_ent {
    int64_t ts;       /* time of the session's next event */
    int64_t order;    /* open order (tie-break) */
    int64_t sess;     /* index in the phase */
    int32_t pos;      /* next event's position */
};

struct ds_iter {
    int phase;
    struct heap_ent *heap;  /* owned */
    size_t n_heap, cap;
    int64_t next_open;      /* next session (index) to open */
    int64_t clock;          /* time of the last event popped */
    int clock_set;
    int64_t opened;
};

struct recd_dataset {
    int format;
    struct recd_dataset_conf conf;    /* dir cleared */
    struct ds_phase ph[RECD_DS__NPHASES];
    struct ds_ev *ev;                 /* owned */
    size_t n_ev, cap_ev;
    struct ds_order *orders;          /* owned */
    size_t n_orders, cap_orders;
    struct ds_line *lines;            /* owned */
    size_t n_lines, cap_lines;
    char **titles;                    /* catalogue (owned): item index -> text ("" none) */
    size_t n_items;
    int64_t catalog_ts;               /* event time of the catalogue records */
    int user_sessions;                /* session id = user id in every phase (amazon-recbole) */
    /* iteration */
    int cur;                          /* current phase, RECD_DS__NPHASES at the end */
    struct ds_iter it;
    int it_live;
    size_t cat_next;                  /* next catalogue record */
    int64_t passed;                   /* events passed (skipped or returned) */
    int64_t returned;
    int64_t total;
};

static const char *const FORMAT_NAMES[RECD_DS__NFORMATS] = {
    "auto", "diginetica-srgnn", "retailrocket-sbr", "yoochoose", "diginetica-raw", "amazon-recbole"
};
static const char *const PHASE_NAMES[RECD_DS__NPHASES] = { "train", "test" };

/* ---- small helpers ------------------------------------------------------------------------ */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int recd_dataset_cold_item(double frac, int64_t item)
{
    /* the top 53 bits of the hash as a uniform double in [0, 1) */
    double u = (double)(mix64((uint64_t)item ^ 0xC01DF2AC00000000ull) >> 11) * 0x1.0p-53;
    return frac > 0 && u < frac;
}

static int64_t dwell(int phase, int64_t sess, int32_t pos)
{
    uint64_t h = mix64(((uint64_t)phase << 62) ^ ((uint64_t)sess << 24) ^ (uint64_t)pos);
    return DS_DWELL_MIN_MS + (int64_t)(h % (uint64_t)DS_DWELL_SPAN_MS);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
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
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* Strict non-negative decimal integer in [s, e). */
static int parse_i64(const char *s, const char *e, int64_t *out)
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

/* Unix seconds with an optional fraction ("1396860669.277") → ms, without floating point. */
static int parse_secs_ms(const char *s, const char *e, int64_t *out)
{
    const char *dot = memchr(s, '.', (size_t)(e - s));
    int64_t sec, ms = 0;
    if (parse_i64(s, dot ? dot : e, &sec) != 0 || sec > INT64_MAX / 1000 - 1000) {
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

/* "YYYY-MM-DD" → ms at UTC midnight (days_from_civil, H. Hinnant). */
static int parse_date_ms(const char *s, const char *e, int64_t *out)
{
    int64_t y, m, d;
    if (e - s != 10 || s[4] != '-' || s[7] != '-' || parse_i64(s, s + 4, &y) ||
        parse_i64(s + 5, s + 7, &m) || parse_i64(s + 8, s + 10, &d) || m < 1 || m > 12 || d < 1 ||
        d > 31) {
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

/* Split a line at `sep` into at most `max` fields; returns the count. Strips a trailing \r\n. */
static int split_fields(char *line, char sep, char **f, char **fe, int max)
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

static int path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int file_exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    return path_join(p, sizeof p, dir, name) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir whose names end in `suffix`, sorted; *names owned by the caller
 * (free each, then the array). */
static int list_files(const char *dir, const char *suffix, char ***names, size_t *n, char *errstr,
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
        if (!file_exists(dir, de->d_name)) {
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
    for (size_t i = 0; i < cnt; i++) {
        free(v[i]);
    }
    free(v);
    return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* ---- format names and detection ------------------------------------------------------------ */
const char *recd_dataset_format_name(int format)
{
    if (format < 0 || format >= RECD_DS__NFORMATS) {
        return "unknown";
    }
    return FORMAT_NAMES[format];
}

int recd_dataset_format_parse(const char *name)
{
    for (int f = 0; f < RECD_DS__NFORMATS; f++) {
        if (strcmp(name, FORMAT_NAMES[f]) == 0) {
            return f;
        }
    }
    return -1;
}

static int is_yoochoose_file(const char *dir, const char *name)
{
    char p[4096], line[256];
    FILE *fp;
    int ok = 0;
    if (path_join(p, sizeof p, dir, name) != 0 || !(fp = fopen(p, "r"))) {
        return 0;
    }
    if (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "SessionId\tItemId\tTime", 21) == 0) {
            ok = 1;
        } else {
            char *f[4], *fe[4];
            int64_t a, b, c;
            if (split_fields(line, '\t', f, fe, 4) == 3 && parse_i64(f[0], fe[0], &a) == 0 &&
                parse_i64(f[1], fe[1], &b) == 0 && parse_secs_ms(f[2], fe[2], &c) == 0) {
                ok = 1;
            }
        }
    }
    fclose(fp);
    return ok;
}

int recd_dataset_detect(const char *dir, char *errstr, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        return recd_seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO, "%s: %s", dir,
                           strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s: not a directory", dir);
    }
    if (file_exists(dir, "train_sessions.txt") && file_exists(dir, "test_sessions.tsv")) {
        return RECD_DS_RETAILROCKET_SBR;
    }
    if (file_exists(dir, "train_sessions.txt")) {
        return RECD_DS_DIGINETICA_SRGNN;
    }
    if (file_exists(dir, "sample_train-item-views.csv") ||
        file_exists(dir, "train-item-views.csv") || file_exists(dir, "train-purchases.csv")) {
        return RECD_DS_DIGINETICA_RAW;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = list_files(dir, ".test.inter", &names, &n, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    free_names(names, n);
    if (n > 0) {
        return RECD_DS_AMAZON_RECBOLE;
    }
    rc = list_files(dir, ".txt", &names, &n, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        found = is_yoochoose_file(dir, names[i]);
    }
    free_names(names, n);
    if (found) {
        return RECD_DS_YOOCHOOSE;
    }
    return recd_seterr(errstr, errlen, RECD_ENOENT,
                       "%s: no dataset recognised (expected train_sessions.txt, "
                       "yoochoose *.txt, diginetica-raw *.csv or RecBole *.test.inter files)",
                       dir);
}

/* ---- loading --------------------------------------------------------------------------------- */
static int add_session(struct recd_dataset *ds, int phase, int64_t key, int64_t user, int64_t first,
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

static int add_ev(struct recd_dataset *ds, int64_t ts, int64_t ref)
{
    if (GROW(ds->ev, ds->cap_ev, ds->n_ev + 1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    ds->ev[ds->n_ev].ts = ts;
    ds->ev[ds->n_ev].ref = ref;
    ds->n_ev++;
    return RECD_OK;
}

/* A file of sessions, one per line. cols: 1 = "items" (space separated);
 * 3 = "session_id<TAB>start_unix_seconds<TAB>items". */
static int load_session_lines(struct recd_dataset *ds, const char *dir, const char *name, int phase,
                              int cols, char *errstr, size_t errlen)
{
    char path[4096];
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t lineno = 0, idx = 0;
    int rc = RECD_OK;

    if (path_join(path, sizeof path, dir, name) != 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s/%s: path too long", dir, name);
    }
    fp = fopen(path, "r");
    if (!fp) {
        return recd_seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO, "%s: %s", path,
                           strerror(errno));
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        char *items = line;
        int64_t key = idx, start = -1;
        if (cols == 3) {
            char *f[3], *fe[3];
            if (split_fields(line, '\t', f, fe, 3) != 3) {
                if (line[0] == '\0') {
                    continue;
                }
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": expected session_id<TAB>start<TAB>items", path,
                                 lineno);
                goto cleanup;
            }
            if (parse_i64(f[0], fe[0], &key) != 0 || parse_secs_ms(f[1], fe[1], &start) != 0) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": bad session id or start time", path, lineno);
                goto cleanup;
            }
            *fe[2] = '\0';
            items = f[2];
        }
        int64_t first = (int64_t)ds->n_ev;
        int32_t n = 0;
        char *p = items;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                p++;
            }
            if (!*p) {
                break;
            }
            char *q = p;
            while (*q && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
                q++;
            }
            int64_t item;
            if (parse_i64(p, q, &item) != 0) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": bad item id '%.*s'",
                                 path, lineno, (int)(q - p > 40 ? 40 : q - p), p);
                goto cleanup;
            }
            if (n == INT32_MAX || add_ev(ds, -1, item) != RECD_OK) {
                rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
                goto cleanup;
            }
            n++;
            p = q;
        }
        if (n == 0) {
            continue; /* blank line: no session */
        }
        if (add_session(ds, phase, key, -1, first, n, start) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        idx++;
    }
    if (ferror(fp)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", path);
    }
    ds->ph[phase].timing = cols == 3 ? TIME_START : TIME_NONE;
cleanup:
    free(line);
    fclose(fp);
    return rc;
}

/* A row of the timestamped formats, before grouping into sessions. */
struct ds_row {
    int64_t sess;
    int64_t ts;
    int64_t ref; /* item, or -(order index)-1 */
    int64_t user; /* -1 unknown */
    int64_t seq; /* file order */
    int kind; /* 0 view, 1 purchase (views first on equal times) */
};

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

/* Rows (any order) → events and sessions of a TIME_FULL phase, sessions in start order. */
static int rows_to_sessions(struct recd_dataset *ds, int phase, struct ds_row *rows, size_t n)
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
            if (add_ev(ds, rows[j].ts, rows[j].ref) != RECD_OK) {
                return RECD_ENOMEM;
            }
            j++;
        }
        if (j - i > INT32_MAX) {
            return RECD_EINVAL;
        }
        if (add_session(ds, phase, rows[i].sess, user, first, (int32_t)(j - i), rows[i].ts) !=
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

static int load_yoochoose_file(const char *dir, const char *name, struct ds_row **rows, size_t *n,
                               size_t *cap, char *errstr, size_t errlen)
{
    char path[4096];
    FILE *fp;
    char *line = NULL;
    size_t lcap = 0;
    int64_t lineno = 0;
    int rc = RECD_OK;

    if (path_join(path, sizeof path, dir, name) != 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s/%s: path too long", dir, name);
    }
    fp = fopen(path, "r");
    if (!fp) {
        return recd_seterr(errstr, errlen, RECD_EIO, "%s: %s", path, strerror(errno));
    }
    while (getline(&line, &lcap, fp) >= 0) {
        char *f[3], *fe[3];
        lineno++;
        int nf = split_fields(line, '\t', f, fe, 3);
        if (nf == 1 && line[0] == '\0') {
            continue;
        }
        if (lineno == 1 && strncmp(line, "SessionId", 9) == 0) {
            continue;
        }
        struct ds_row r = { 0 };
        if (nf != 3 || parse_i64(f[0], fe[0], &r.sess) != 0 ||
            parse_i64(f[1], fe[1], &r.ref) != 0 || parse_secs_ms(f[2], fe[2], &r.ts) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected SessionId<TAB>ItemId<TAB>Time", path,
                             lineno);
            goto cleanup;
        }
        r.user = -1;
        r.seq = (int64_t)*n;
        if (GROW(*rows, *cap, *n + 1) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        (*rows)[(*n)++] = r;
    }
    if (ferror(fp)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", path);
    }
cleanup:
    free(line);
    fclose(fp);
    return rc;
}

static int load_yoochoose(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen)
{
    char **names = NULL;
    size_t nn = 0;
    struct ds_row *rows[RECD_DS__NPHASES] = { NULL, NULL };
    size_t n[RECD_DS__NPHASES] = { 0, 0 }, cap[RECD_DS__NPHASES] = { 0, 0 };
    int have_full = 0, rc;

    rc = list_files(dir, ".txt", &names, &nn, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    for (size_t i = 0; i < nn; i++) {
        have_full |= strstr(names[i], "train_full") != NULL;
    }
    for (size_t i = 0; i < nn; i++) {
        int phase;
        if (!is_yoochoose_file(dir, names[i])) {
            continue;
        }
        if (have_full) {
            if (strstr(names[i], "train_full")) {
                phase = RECD_DS_TRAIN;
            } else if (strstr(names[i], "test")) {
                phase = RECD_DS_TEST;
            } else {
                continue; /* train_tr / train_valid re-split train_full */
            }
        } else {
            phase = RECD_DS_TRAIN;
        }
        rc = load_yoochoose_file(dir, names[i], &rows[phase], &n[phase], &cap[phase], errstr,
                                 errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
    }
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        if (n[p] && rows_to_sessions(ds, p, rows[p], n[p]) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    rc = RECD_OK;
cleanup:
    free_names(names, nn);
    free(rows[0]);
    free(rows[1]);
    return rc;
}

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
    return parse_i64(s, e, user);
}

static int load_diginetica_raw(struct recd_dataset *ds, const char *dir, char *errstr,
                               size_t errlen)
{
    const char *views_name = file_exists(dir, "train-item-views.csv")
        ? "train-item-views.csv"
        : "sample_train-item-views.csv";
    char path[4096];
    FILE *fp = NULL;
    char *line = NULL;
    size_t lcap = 0;
    struct ds_row *rows = NULL;
    size_t n = 0, cap = 0;
    struct ds_prow *pr = NULL;
    size_t np = 0, pcap = 0;
    int64_t lineno;
    int rc = RECD_OK;

    /* views: session_id;user_id;item_id;timeframe;eventdate */
    if (file_exists(dir, views_name)) {
        path_join(path, sizeof path, dir, views_name);
        fp = fopen(path, "r");
        if (!fp) {
            rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: %s", path, strerror(errno));
            goto cleanup;
        }
        lineno = 0;
        while (getline(&line, &lcap, fp) >= 0) {
            char *f[5], *fe[5];
            int64_t tf, day;
            lineno++;
            if (lineno == 1) {
                continue; /* header */
            }
            int nf = split_fields(line, ';', f, fe, 5);
            if (nf == 1 && line[0] == '\0') {
                continue;
            }
            struct ds_row r = { 0 };
            if (nf != 5 || parse_i64(f[0], fe[0], &r.sess) || parse_user(f[1], fe[1], &r.user) ||
                parse_i64(f[2], fe[2], &r.ref) || parse_i64(f[3], fe[3], &tf) ||
                parse_date_ms(f[4], fe[4], &day)) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": expected "
                                 "session_id;user_id;item_id;timeframe;eventdate",
                                 path, lineno);
                goto cleanup;
            }
            r.ts = day + tf;
            r.kind = 0;
            r.seq = (int64_t)n;
            if (GROW(rows, cap, n + 1) != RECD_OK) {
                goto oom;
            }
            rows[n++] = r;
        }
        fclose(fp);
        fp = NULL;
    }
    /* purchases: sessionId;userId;timeframe;eventdate;ordernumber;itemId */
    if (file_exists(dir, "train-purchases.csv")) {
        path_join(path, sizeof path, dir, "train-purchases.csv");
        fp = fopen(path, "r");
        if (!fp) {
            rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: %s", path, strerror(errno));
            goto cleanup;
        }
        lineno = 0;
        while (getline(&line, &lcap, fp) >= 0) {
            char *f[6], *fe[6];
            int64_t tf, day;
            lineno++;
            if (lineno == 1) {
                continue;
            }
            int nf = split_fields(line, ';', f, fe, 6);
            if (nf == 1 && line[0] == '\0') {
                continue;
            }
            struct ds_prow r = { 0 };
            if (nf != 6 || parse_i64(f[0], fe[0], &r.sess) || parse_user(f[1], fe[1], &r.user) ||
                parse_i64(f[2], fe[2], &tf) || parse_date_ms(f[3], fe[3], &day) ||
                parse_i64(f[4], fe[4], &r.order_no) || parse_i64(f[5], fe[5], &r.item)) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": expected "
                                 "sessionId;userId;timeframe;eventdate;ordernumber;itemId",
                                 path, lineno);
                goto cleanup;
            }
            r.ts = day + tf;
            r.seq = (int64_t)np;
            if (GROW(pr, pcap, np + 1) != RECD_OK) {
                goto oom;
            }
            pr[np++] = r;
        }
        fclose(fp);
        fp = NULL;
    }
    /* group purchase rows into orders (time = the latest row), lines by item */
    if (np > 1) {
        qsort(pr, np, sizeof *pr, cmp_prow);
    }
    for (size_t i = 0; i < np;) {
        size_t j = i;
        int64_t ts = pr[i].ts, user = -1;
        if (GROW(ds->orders, ds->cap_orders, ds->n_orders + 1) != RECD_OK) {
            goto oom;
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
                    goto oom;
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
        r.seq = (int64_t)(n + ds->n_orders);
        ds->n_orders++;
        if (GROW(rows, cap, n + 1) != RECD_OK) {
            goto oom;
        }
        rows[n++] = r;
        i = j;
    }
    if (n == 0) {
        rc = recd_seterr(errstr, errlen, RECD_ENOENT, "%s: no diginetica-raw views or purchases",
                         dir);
        goto cleanup;
    }
    if (rows_to_sessions(ds, RECD_DS_TRAIN, rows, n) != RECD_OK) {
        goto oom;
    }
    rc = RECD_OK;
    goto cleanup;
oom:
    rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
cleanup:
    if (fp) {
        fclose(fp);
    }
    free(line);
    free(rows);
    free(pr);
    return rc;
}

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

static FILE *am_open(const char *dir, const char *prefix, const char *suffix, char *path,
                     size_t plen, char *errstr, size_t errlen, int *rc)
{
    FILE *fp;
    int n = snprintf(path, plen, "%s/%s%s", dir, prefix, suffix);
    if (n < 0 || (size_t)n >= plen) {
        *rc = recd_seterr(errstr, errlen, RECD_EINVAL, "%s/%s%s: path too long", dir, prefix,
                          suffix);
        return NULL;
    }
    fp = fopen(path, "r");
    if (!fp) {
        *rc = recd_seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO, "%s: %s", path,
                          strerror(errno));
    }
    return fp;
}

/* item2index (ASIN<TAB>index, header optional) → ds->titles sized to the catalogue; *asin
 * (index → ASIN, owned by the caller) and *by (sorted by ASIN) for the text file. */
static int am_load_items(struct recd_dataset *ds, const char *dir, const char *prefix,
                         char ***asin_out, struct am_asin **by_out, char *errstr, size_t errlen)
{
    char path[4096];
    FILE *fp;
    char *line = NULL;
    size_t lcap = 0, cap = 0, n = 0;
    char **asin = NULL;
    struct am_asin *by = NULL;
    int64_t lineno = 0;
    int rc = RECD_OK;

    *asin_out = NULL;
    *by_out = NULL;
    fp = am_open(dir, prefix, ".item2index", path, sizeof path, errstr, errlen, &rc);
    if (!fp) {
        return rc;
    }
    while (getline(&line, &lcap, fp) >= 0) {
        char *f[3], *fe[3];
        int64_t idx;
        lineno++;
        int nf = split_fields(line, '\t', f, fe, 3);
        if (nf == 1 && line[0] == '\0') {
            continue;
        }
        if (nf != 2 || f[0] == fe[0] || parse_i64(f[1], fe[1], &idx) != 0 || idx >= INT32_MAX) {
            if (lineno == 1) {
                continue; /* header */
            }
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected ASIN<TAB>item_index", path, lineno);
            goto cleanup;
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
                             "%s:%" PRId64 ": item index %" PRId64 " appears twice", path, lineno,
                             idx);
            goto cleanup;
        }
        *fe[0] = '\0';
        if (!(asin[idx] = recd_strdup(f[0]))) {
            goto oom;
        }
        if ((size_t)idx + 1 > n) {
            n = (size_t)idx + 1;
        }
    }
    if (ferror(fp)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", path);
        goto cleanup;
    }
    if (n == 0) {
        rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s: no items", path);
        goto cleanup;
    }
    ds->titles = calloc(n, sizeof *ds->titles);
    by = calloc(n, sizeof *by);
    if (!ds->titles || !by) {
        goto oom;
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
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s: ASIN %s has two indexes", path,
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
    goto cleanup;
oom:
    rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
cleanup:
    if (asin) {
        for (size_t i = 0; i < cap; i++) {
            free(asin[i]);
        }
    }
    free(asin);
    free(by);
    free(line);
    fclose(fp);
    return rc;
}

/* text (ASIN<TAB>text, one header line) → ds->titles; ASINs outside item2index are ignored. */
static int am_load_text(struct recd_dataset *ds, const char *dir, const char *prefix,
                        const struct am_asin *by, size_t nb, char *errstr, size_t errlen)
{
    char path[4096];
    FILE *fp;
    char *line = NULL;
    size_t lcap = 0;
    int64_t lineno = 0;
    int rc = RECD_OK;

    fp = am_open(dir, prefix, ".text", path, sizeof path, errstr, errlen, &rc);
    if (!fp) {
        return rc;
    }
    while (getline(&line, &lcap, fp) >= 0) {
        size_t len = strlen(line);
        lineno++;
        while (len > 0 &&
               (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                line[len - 1] == '\t')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        char *tab = strchr(line, '\t');
        if (lineno == 1 && strncmp(line, "item_id", 7) == 0) {
            continue; /* header "item_id:token<TAB>text:token_seq" */
        }
        if (!tab || tab == line) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": expected ASIN<TAB>text",
                             path, lineno);
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
                             path, lineno, line);
            goto cleanup;
        }
        if (!(ds->titles[hit->idx] = recd_strdup(text))) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    if (ferror(fp)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", path);
    }
cleanup:
    free(line);
    fclose(fp);
    return rc;
}

static int load_amazon_recbole(struct recd_dataset *ds, const char *dir, char *errstr,
                               size_t errlen)
{
    static const char SUFFIX[] = ".test.inter";
    char **names = NULL, **asin = NULL;
    struct am_asin *by = NULL;
    struct am_user *us = NULL;
    size_t nn = 0, n_us = 0, cap_us = 0;
    char prefix[1024], path[4096];
    FILE *fp = NULL;
    char *line = NULL;
    size_t lcap = 0;
    int64_t lineno = 0;
    int rc;

    rc = list_files(dir, SUFFIX, &names, &nn, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    if (nn == 0) {
        rc = recd_seterr(errstr, errlen, RECD_ENOENT, "%s: no *%s file", dir, SUFFIX);
        goto cleanup;
    }
    {
        size_t pl = strlen(names[0]) - (sizeof SUFFIX - 1);
        if (pl >= sizeof prefix) {
            rc = recd_seterr(errstr, errlen, RECD_EINVAL, "%s: file name too long", names[0]);
            goto cleanup;
        }
        memcpy(prefix, names[0], pl); /* several splits: the first name in sort order */
        prefix[pl] = '\0';
    }
    /* the catalogue: item2index and text (both optional) */
    snprintf(path, sizeof path, "%s.item2index", prefix);
    if (file_exists(dir, path)) {
        rc = am_load_items(ds, dir, prefix, &asin, &by, errstr, errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
        snprintf(path, sizeof path, "%s.text", prefix);
        if (file_exists(dir, path)) {
            size_t nb = 0;
            while (nb < ds->n_items && by[nb].asin) {
                nb++;
            }
            rc = am_load_text(ds, dir, prefix, by, nb, errstr, errlen);
            if (rc != RECD_OK) {
                goto cleanup;
            }
        }
    }
    /* the held-out split: user<TAB>history<TAB>held-out item, one row per user */
    fp = am_open(dir, prefix, ds->conf.valid ? ".valid.inter" : SUFFIX, path, sizeof path, errstr,
                 errlen, &rc);
    if (!fp) {
        goto cleanup;
    }
    while (getline(&line, &lcap, fp) >= 0) {
        char *f[4], *fe[4];
        int64_t user, item;
        lineno++;
        int nf = split_fields(line, '\t', f, fe, 4);
        if (nf == 1 && line[0] == '\0') {
            continue;
        }
        if (nf != 3 || parse_i64(f[0], fe[0], &user) != 0) {
            if (lineno == 1) {
                continue; /* header "user_id:token<TAB>item_id_list:token_seq<TAB>..." */
            }
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected user_index<TAB>item_index_list<TAB>"
                             "next_item_index",
                             path, lineno);
            goto cleanup;
        }
        if (GROW(us, cap_us, n_us + 1) != RECD_OK) {
            goto oom;
        }
        struct am_user *u = &us[n_us];
        u->user = user;
        u->first = (int64_t)ds->n_ev;
        u->len = 0;
        *fe[1] = '\0';
        *fe[2] = '\0';
        for (int col = 1; col <= 2; col++) {
            char *p = f[col];
            int64_t got = 0;
            for (;;) {
                while (*p == ' ') {
                    p++;
                }
                if (!*p) {
                    break;
                }
                char *q = p;
                while (*q && *q != ' ') {
                    q++;
                }
                if (parse_i64(p, q, &item) != 0 ||
                    (ds->n_items > 0 && (uint64_t)item >= ds->n_items)) {
                    rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                     "%s:%" PRId64 ": bad item index '%.*s'%s", path, lineno,
                                     (int)(q - p > 40 ? 40 : q - p), p,
                                     ds->n_items > 0 ? " (not in item2index)" : "");
                    goto cleanup;
                }
                p = q;
                if (col == 1 && recd_dataset_cold_item(ds->conf.cold_frac, item)) {
                    continue; /* held out of training (cold start) */
                }
                if (add_ev(ds, 0, item) != RECD_OK) {
                    goto oom;
                }
                got++;
            }
            if (col == 1 && got >= INT32_MAX - 1) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": history too long",
                                 path, lineno);
                goto cleanup;
            }
            if (col == 1) {
                u->len = (int32_t)got;
            } else if (got != 1) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": expected one next item", path, lineno);
                goto cleanup;
            }
        }
        n_us++;
    }
    if (ferror(fp)) {
        rc = recd_seterr(errstr, errlen, RECD_EIO, "%s: read error", path);
        goto cleanup;
    }
    if (n_us > 1) {
        qsort(us, n_us, sizeof *us, cmp_am_user);
    }
    for (size_t i = 1; i < n_us; i++) {
        if (us[i].user == us[i - 1].user) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE, "%s: user %" PRId64 " has two rows",
                             path, us[i].user);
            goto cleanup;
        }
    }
    /* synthetic times aligned at the end of the histories (dataset.h) */
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
            rc = recd_seterr(errstr, errlen, RECD_EINVAL, "%s: synthetic timeline overflows", path);
            goto cleanup;
        }
        ds->catalog_ts = base;
        for (size_t i = 0; i < n_us; i++) {
            const struct am_user *u = &us[i];
            for (int32_t k = 0; k <= u->len; k++) {
                ds->ev[u->first + k].ts = base + (1 + rounds - u->len + k) * g + (int64_t)i;
            }
            if (u->len > 0 &&
                add_session(ds, RECD_DS_TRAIN, u->user, u->user, u->first, u->len,
                            ds->ev[u->first].ts) != RECD_OK) {
                goto oom;
            }
            if (add_session(ds, RECD_DS_TEST, u->user, u->user, u->first + u->len, 1,
                            ds->ev[u->first + u->len].ts) != RECD_OK) {
                goto oom;
            }
            ds->ph[RECD_DS_TEST].s[ds->ph[RECD_DS_TEST].n - 1].pos0 = u->len;
        }
    }
    ds->ph[RECD_DS_TRAIN].timing = TIME_FULL;
    ds->ph[RECD_DS_TEST].timing = TIME_FULL;
    ds->user_sessions = 1;
    rc = RECD_OK;
    goto cleanup;
oom:
    rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
cleanup:
    if (fp) {
        fclose(fp);
    }
    free(line);
    free(us);
    free(by);
    if (asin) {
        for (size_t i = 0; i < ds->n_items; i++) {
            free(asin[i]);
        }
    }
    free(asin);
    free_names(names, nn);
    return rc;
}

/* ---- replay order --------------------------------------------------------------------------- */
static int is_test_case(int format, int phase, int32_t pos)
{
    if (phase != RECD_DS_TEST) {
        return 0;
    }
    switch (format) {
    case RECD_DS_DIGINETICA_SRGNN: return pos >= 1;
    case RECD_DS_RETAILROCKET_SBR: return pos >= 2;
    case RECD_DS_YOOCHOOSE:        return pos >= 1;
    case RECD_DS_AMAZON_RECBOLE:   return 1;
    default:                       return 0;
    }
}

static int ent_less(const struct heap_ent *a, const struct heap_ent *b)
{
    if (a->ts != b->ts) {
        return a->ts < b->ts;
    }
    return a->order < b->order;
}

static void heap_push(struct ds_iter *it, struct heap_ent e)
{
    size_t i = it->n_heap++;
    it->heap[i] = e;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_less(&it->heap[i], &it->heap[p])) {
            break;
        }
        struct heap_ent t = it->heap[i];
        it->heap[i] = it->heap[p];
        it->heap[p] = t;
        i = p;
    }
}

static struct heap_ent heap_pop(struct ds_iter *it)
{
    struct heap_ent top = it->heap[0];
    it->heap[0] = it->heap[--it->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < it->n_heap && ent_less(&it->heap[l], &it->heap[m])) {
            m = l;
        }
        if (r < it->n_heap && ent_less(&it->heap[r], &it->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        struct heap_ent t = it->heap[i];
        it->heap[i] = it->heap[m];
        it->heap[m] = t;
        i = m;
    }
    return top;
}

static void iter_free(struct ds_iter *it)
{
    free(it->heap);
    memset(it, 0, sizeof *it);
}

static void iter_open_one(const struct recd_dataset *ds, struct ds_iter *it)
{
    const struct ds_phase *ph = &ds->ph[it->phase];
    int64_t i = it->next_open++;
    const struct ds_sess *s = &ph->s[i];
    struct heap_ent e;
    if (ph->timing == TIME_NONE) {
        int64_t nominal = ph->base + i * ds->conf.session_gap_ms;
        e.ts = it->clock_set && it->clock > nominal ? it->clock : nominal;
    } else if (ph->timing == TIME_START) {
        e.ts = s->start;
    } else {
        e.ts = ds->ev[s->first].ts;
    }
    e.order = it->opened++;
    e.sess = i;
    e.pos = 0;
    heap_push(it, e);
}

static int iter_init(const struct recd_dataset *ds, struct ds_iter *it, int phase)
{
    const struct ds_phase *ph = &ds->ph[phase];
    memset(it, 0, sizeof *it);
    it->phase = phase;
    it->cap = ph->n < (size_t)ph->concurrency ? ph->n : (size_t)ph->concurrency;
    if (it->cap == 0) {
        it->cap = 1;
    }
    it->heap = malloc(it->cap * sizeof *it->heap);
    if (!it->heap) {
        return RECD_ENOMEM;
    }
    while (it->n_heap < it->cap && (size_t)it->next_open < ph->n) {
        iter_open_one(ds, it);
    }
    return RECD_OK;
}

/* Next (session, position, time) of the phase; 0 at its end. */
static int iter_step(const struct recd_dataset *ds, struct ds_iter *it, int64_t *sess, int32_t *pos,
                     int64_t *ts)
{
    const struct ds_phase *ph = &ds->ph[it->phase];
    if (it->n_heap == 0) {
        return 0;
    }
    struct heap_ent e = heap_pop(it);
    *sess = e.sess;
    *pos = e.pos;
    *ts = e.ts;
    it->clock = e.ts;
    it->clock_set = 1;
    const struct ds_sess *s = &ph->s[e.sess];
    if (e.pos + 1 < s->n) {
        e.pos++;
        if (ph->timing == TIME_FULL) {
            e.ts = ds->ev[s->first + e.pos].ts;
        } else {
            e.ts += dwell(it->phase, e.sess, e.pos);
        }
        heap_push(it, e);
    } else if ((size_t)it->next_open < ph->n) {
        iter_open_one(ds, it);
    }
    return 1;
}

/* Time of the last event of a phase replayed from `base` (dry run). */
static int phase_last_ts(struct recd_dataset *ds, int phase, int64_t base, int64_t *last)
{
    struct ds_iter it;
    int64_t sess, ts = base;
    int32_t pos;
    ds->ph[phase].base = base;
    if (iter_init(ds, &it, phase) != RECD_OK) {
        return RECD_ENOMEM;
    }
    while (iter_step(ds, &it, &sess, &pos, &ts))
        ;
    iter_free(&it);
    *last = ts;
    return RECD_OK;
}

static int64_t phase_first_real(const struct ds_phase *ph)
{
    int64_t m = INT64_MAX;
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->s[i].start < m) {
            m = ph->s[i].start;
        }
    }
    return m;
}

static int place_phases(struct recd_dataset *ds)
{
    struct ds_phase *tr = &ds->ph[RECD_DS_TRAIN], *te = &ds->ph[RECD_DS_TEST];
    int64_t start = ds->conf.start_ts_ms ? ds->conf.start_ts_ms : DS_DEFAULT_START_MS;
    int64_t last = 0;
    int rc;

    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        struct ds_phase *ph = &ds->ph[p];
        if (ds->conf.concurrency > 0) {
            ph->concurrency = ds->conf.concurrency;
        } else if (ds->conf.concurrency == RECD_DS_CONCURRENCY_UNLIMITED ||
                   ph->timing != TIME_NONE) {
            ph->concurrency = INT_MAX;
        } else {
            ph->concurrency = DS_DEFAULT_CONCURRENCY;
        }
    }
    if (tr->n && tr->timing == TIME_NONE) {
        if (!ds->conf.start_ts_ms && te->n && te->timing != TIME_NONE) {
            /* end the train phase one day before the first real test session */
            rc = phase_last_ts(ds, RECD_DS_TRAIN, 0, &last);
            if (rc != RECD_OK) {
                return rc;
            }
            start = phase_first_real(te) - last - DS_DAY_MS;
        }
        tr->base = start;
    }
    if (te->n && te->timing == TIME_NONE) {
        if (tr->n) {
            rc = phase_last_ts(ds, RECD_DS_TRAIN, tr->base, &last);
            if (rc != RECD_OK) {
                return rc;
            }
            te->base = last + ds->conf.session_gap_ms;
        } else {
            te->base = start;
        }
    }
    return RECD_OK;
}

/* ---- public API ------------------------------------------------------------------------------ */
void recd_dataset_conf_init(struct recd_dataset_conf *c)
{
    memset(c, 0, sizeof *c);
    c->format = RECD_DS_AUTO;
    c->phases = RECD_DS_PHASE_ALL;
    c->session_gap_ms = DS_DEFAULT_GAP_MS;
}

void recd_dataset_rewind(struct recd_dataset *ds)
{
    iter_free(&ds->it);
    ds->it_live = 0;
    ds->cur = 0;
    ds->cat_next = 0;
    ds->passed = 0;
    ds->returned = 0;
}

int recd_dataset_open(const struct recd_dataset_conf *conf, struct recd_dataset **out, char *errstr,
                      size_t errlen)
{
    struct recd_dataset *ds = NULL;
    int rc;

    *out = NULL;
    if (!conf->dir) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: no directory given");
    }
    if (conf->format < 0 || conf->format >= RECD_DS__NFORMATS) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: unknown format %d", conf->format);
    }
    if (conf->session_gap_ms < 0 || conf->skip < 0 || conf->limit < 0 ||
        conf->concurrency < RECD_DS_CONCURRENCY_UNLIMITED || conf->start_ts_ms < 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL,
                           "dataset: negative session gap, skip, limit, start or concurrency");
    }
    if (conf->phases & ~RECD_DS_PHASE_ALL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: bad phase selection");
    }

    ds = calloc(1, sizeof *ds);
    if (!ds) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    ds->conf = *conf;
    ds->conf.dir = NULL;
    if (!ds->conf.phases) {
        ds->conf.phases = RECD_DS_PHASE_ALL;
    }
    if (!ds->conf.session_gap_ms) {
        ds->conf.session_gap_ms = DS_DEFAULT_GAP_MS;
    }
    ds->format = conf->format;
    if (ds->format == RECD_DS_AUTO) {
        rc = recd_dataset_detect(conf->dir, errstr, errlen);
        if (rc < 0) {
            goto fail;
        }
        ds->format = rc;
    }

    if (!(conf->cold_frac >= 0 && conf->cold_frac <= 1) ||
        (conf->cold_frac > 0 && ds->format != RECD_DS_AMAZON_RECBOLE)) {
        rc = recd_seterr(errstr, errlen, RECD_EINVAL,
                         "dataset: cold_frac must be in [0, 1] and needs format amazon-recbole");
        goto fail;
    }
    switch (ds->format) {
    case RECD_DS_DIGINETICA_SRGNN:
        rc = load_session_lines(ds, conf->dir, "train_sessions.txt", RECD_DS_TRAIN, 1, errstr,
                                errlen);
        if (rc == RECD_OK && file_exists(conf->dir, "test_sessions.txt")) {
            rc = load_session_lines(ds, conf->dir, "test_sessions.txt", RECD_DS_TEST, 1, errstr,
                                    errlen);
        }
        break;
    case RECD_DS_RETAILROCKET_SBR:
        rc = load_session_lines(ds, conf->dir, "train_sessions.txt", RECD_DS_TRAIN, 1, errstr,
                                errlen);
        if (rc == RECD_OK && file_exists(conf->dir, "test_sessions.tsv")) {
            rc = load_session_lines(ds, conf->dir, "test_sessions.tsv", RECD_DS_TEST, 3, errstr,
                                    errlen);
        }
        break;
    case RECD_DS_YOOCHOOSE:      rc = load_yoochoose(ds, conf->dir, errstr, errlen); break;
    case RECD_DS_DIGINETICA_RAW: rc = load_diginetica_raw(ds, conf->dir, errstr, errlen); break;
    case RECD_DS_AMAZON_RECBOLE: rc = load_amazon_recbole(ds, conf->dir, errstr, errlen); break;
    default:                     rc = recd_seterr(errstr, errlen, RECD_EINVAL, "dataset: unknown format");
    }
    if (rc != RECD_OK) {
        goto fail;
    }

    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        struct ds_phase *ph = &ds->ph[p];
        for (size_t i = 0; i < ph->n; i++) {
            const struct ds_sess *s = &ph->s[i];
            ph->events += s->n;
            for (int32_t k = 0; k < s->n; k++) {
                if (ds->ev[s->first + k].ref < 0) {
                    ph->purchases++;
                } else {
                    ph->clicks++;
                    ph->test_cases += is_test_case(ds->format, p, k);
                }
            }
        }
    }
    rc = place_phases(ds);
    if (rc != RECD_OK) {
        recd_seterr(errstr, errlen, rc, "out of memory");
        goto fail;
    }
    {
        int64_t total = 0;
        for (int p = 0; p < RECD_DS__NPHASES; p++) {
            if (ds->conf.phases & (1u << p)) {
                total += ds->ph[p].events;
            }
        }
        if (ds->conf.phases & RECD_DS_PHASE_CATALOG) {
            total += (int64_t)ds->n_items;
        }
        total -= ds->conf.skip;
        if (total < 0) {
            total = 0;
        }
        if (ds->conf.limit && total > ds->conf.limit) {
            total = ds->conf.limit;
        }
        ds->total = total;
    }
    *out = ds;
    return RECD_OK;
fail:
    recd_dataset_close(ds);
    return rc;
}

static int emit(struct recd_dataset *ds, int phase, int64_t si, int32_t pos, int64_t ts,
                struct recd_arena *a, struct recd_event *ev, struct recd_dataset_meta *meta)
{
    const struct ds_sess *s = &ds->ph[phase].s[si];
    const struct ds_ev *e = &ds->ev[s->first + pos];
    const char *fmt = FORMAT_NAMES[ds->format], *pn = PHASE_NAMES[phase];
    char buf[160];
    int n;

    memset(ev, 0, sizeof *ev);
    ev->partition = -1;
    ev->offset = -1;
    ev->ts_ms = ts;
    n = snprintf(buf, sizeof buf, "%s:%s:%" PRId64 ":%" PRId32, fmt, pn, s->key, s->pos0 + pos);
    ev->event_id = recd_arena_strndup(a, buf, (size_t)n);
    if (ds->user_sessions) {
        n = snprintf(buf, sizeof buf, "user-%" PRId64, s->user);
    } else {
        n = snprintf(buf, sizeof buf, "%s-%" PRId64, pn, s->key);
    }
    char *sid = recd_arena_strndup(a, buf, (size_t)n);
    if (ds->user_sessions) {
        ev->user_id = sid;
    } else if (s->user >= 0) {
        n = snprintf(buf, sizeof buf, "user-%" PRId64, s->user);
        ev->user_id = recd_arena_strndup(a, buf, (size_t)n);
    } else {
        ev->user_id = sid;
    }
    if (!ev->event_id || !sid || !ev->user_id) {
        return RECD_ENOMEM;
    }

    if (e->ref >= 0) {
        struct recd_click *ck = &ev->u.click;
        ev->kind = RECD_KIND_CLICK;
        n = snprintf(buf, sizeof buf, "%" PRId64, e->ref);
        ck->item_id = recd_arena_strndup(a, buf, (size_t)n);
        if (!ck->item_id) {
            return RECD_ENOMEM;
        }
        ck->type = RECD_CLICK_VIEW;
        ck->source = RECD_SRC_BROWSE;
        ck->session_id = sid;
        ck->query_id = NULL;
        ck->context = NULL;
        ck->n_context = 0;
    } else {
        const struct ds_order *o = &ds->orders[-e->ref - 1];
        struct recd_purchase *p = &ev->u.purchase;
        ev->kind = RECD_KIND_PURCHASE;
        n = snprintf(buf, sizeof buf, "%" PRId64, o->order_no);
        p->order_id = recd_arena_strndup(a, buf, (size_t)n);
        p->currency = recd_arena_strndup(a, "EUR", 3);
        p->lines = recd_arena_alloc(a, (size_t)o->n_lines * sizeof *p->lines);
        if (!p->order_id || !p->currency || !p->lines) {
            return RECD_ENOMEM;
        }
        p->n_lines = (uint32_t)o->n_lines;
        for (int32_t k = 0; k < o->n_lines; k++) {
            const struct ds_line *ln = &ds->lines[o->first_line + k];
            n = snprintf(buf, sizeof buf, "%" PRId64, ln->item);
            p->lines[k].item_id = recd_arena_strndup(a, buf, (size_t)n);
            if (!p->lines[k].item_id) {
                return RECD_ENOMEM;
            }
            p->lines[k].quantity = ln->qty;
            p->lines[k].unit_price = 0.0;
        }
    }
    if (meta) {
        meta->phase = phase;
        meta->session_index = si;
        meta->position = s->pos0 + pos;
        meta->session_len = s->pos0 + s->n;
        meta->test_case = e->ref >= 0 && is_test_case(ds->format, phase, pos);
    }
    return RECD_OK;
}

/* Catalogue record `idx` (amazon-recbole). */
static int emit_item(struct recd_dataset *ds, size_t idx, struct recd_arena *a,
                     struct recd_event *ev, struct recd_dataset_meta *meta)
{
    struct recd_item *it = &ev->u.item;
    const char *title = ds->titles[idx] ? ds->titles[idx] : "";
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%zu", idx);

    memset(ev, 0, sizeof *ev);
    ev->kind = RECD_KIND_ITEM;
    ev->partition = -1;
    ev->offset = -1;
    ev->ts_ms = ds->catalog_ts;
    ev->event_id = recd_arena_strndup(a, buf, (size_t)n);
    ev->user_id = NULL;
    it->item_id = ev->event_id;
    it->title = recd_arena_strndup(a, title, strlen(title));
    it->description = recd_arena_strndup(a, "", 0);
    if (!ev->event_id || !it->title || !it->description) {
        return RECD_ENOMEM;
    }
    it->category = NULL;
    it->n_category = 0;
    it->brand = NULL;
    it->price = 0.0;
    it->in_stock = 1;
    it->updated_ts = ds->catalog_ts;
    it->removed = 0;
    if (meta) {
        meta->phase = RECD_DS_CATALOG;
        meta->session_index = (int64_t)idx;
        meta->position = 0;
        meta->session_len = 1;
        meta->test_case = 0;
    }
    return RECD_OK;
}

int recd_dataset_next(struct recd_dataset *ds, struct recd_arena *arena, struct recd_event *ev,
                      struct recd_dataset_meta *meta)
{
    for (;;) {
        if (ds->conf.limit && ds->returned >= ds->conf.limit) {
            return 0;
        }
        if ((ds->conf.phases & RECD_DS_PHASE_CATALOG) && ds->cat_next < ds->n_items) {
            size_t idx = ds->cat_next++; /* the catalogue comes before every click */
            if (ds->passed++ < ds->conf.skip) {
                continue;
            }
            int rc = emit_item(ds, idx, arena, ev, meta);
            if (rc != RECD_OK) {
                return rc;
            }
            ds->returned++;
            return 1;
        }
        if (ds->cur >= RECD_DS__NPHASES) {
            return 0;
        }
        if (!ds->it_live) {
            if (!(ds->conf.phases & (1u << ds->cur)) || ds->ph[ds->cur].n == 0) {
                ds->cur++;
                continue;
            }
            if (iter_init(ds, &ds->it, ds->cur) != RECD_OK) {
                return RECD_ENOMEM;
            }
            ds->it_live = 1;
        }
        int64_t si, ts;
        int32_t pos;
        if (!iter_step(ds, &ds->it, &si, &pos, &ts)) {
            iter_free(&ds->it);
            ds->it_live = 0;
            ds->cur++;
            continue;
        }
        if (ds->passed++ < ds->conf.skip) {
            continue;
        }
        int rc = emit(ds, ds->cur, si, pos, ts, arena, ev, meta);
        if (rc != RECD_OK) {
            return rc;
        }
        ds->returned++;
        return 1;
    }
}

int recd_dataset_format(const struct recd_dataset *ds)
{
    return ds->format;
}

void recd_dataset_stats(const struct recd_dataset *ds, struct recd_dataset_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        st->sessions[p] = (int64_t)ds->ph[p].n;
        st->events[p] = ds->ph[p].events;
        st->clicks[p] = ds->ph[p].clicks;
        st->purchases[p] = ds->ph[p].purchases;
        st->test_cases[p] = ds->ph[p].test_cases;
    }
    st->items = (int64_t)ds->n_items;
}

int64_t recd_dataset_total(const struct recd_dataset *ds)
{
    return ds->total;
}

void recd_dataset_close(struct recd_dataset *ds)
{
    if (!ds) {
        return;
    }
    iter_free(&ds->it);
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        free(ds->ph[p].s);
    }
    free(ds->ev);
    free(ds->orders);
    free(ds->lines);
    for (size_t i = 0; i < ds->n_items; i++) {
        free(ds->titles[i]);
    }
    free(ds->titles);
    free(ds);
}
