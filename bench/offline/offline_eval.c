/* offline_eval.c — online next-click evaluation of the sessrec scoring core (no Kafka).
 *
 * usage: sessrec_offline_eval DATASET_DIR [--valid] [--params k=v,...] [--only NAMES]
 *                             [--k 20] [--score-all] [--window N]
 *
 * DATASET_DIR is one of
 *   srgnn format:        train_sessions.txt + test_sessions.txt (one session per line) or
 *                        test_sessions.tsv (id<TAB>start<TAB>items); if test_examples.tsv exists,
 *                        its shortest prefix sets the minimum prefix length of a test case
 *   yoochoose TSV:       *_train_full.txt + *_test.txt (SessionId<TAB>ItemId<TAB>Time, header)
 *
 * Protocol (online, leak-free): train sessions then test sessions are replayed click by click in
 * file order; every click updates the model. Before each click of a test session whose prefix
 * has at least min_prefix items, the top-K list is computed from the state strictly before that
 * click and the click is scored (HR@K, MRR@K). --score-all computes a top-K list before every
 * click (train clicks too), as the daemon does, so that ev/s is the end-to-end cost. With --valid the last 10% of the train sessions
 * play the test role and the test files are not read. --window N: recd's queries (scoring,
 * learning, MF) hold only the last N items of the prefix, as in the daemon, whose sessions
 * keep their last 32 items (operators/services/sessions.h RECD_SESSION_ITEMS, sess_items_cap);
 * without it recd sees the whole prefix (the same on sessions of at most N clicks).
 *
 * Parameters: the defaults are the daemon's, from the same tables (models/sessrec/
 * sessrec_params.h through sessrec_params_default(), the MF rows of operators/sgd/sgd.h through
 * sgd_mf_params_default()); --params k=v,... sets model parameters by their operators.sgd key
 * names (learning=fixed|blend|blend_and_order, w_next=0.3, ...), checked against the table's
 * bounds; --mf k=v,... sets MF parameters by their mf.h names (dim, lr, negatives, neg_uniform,
 * ...) and the evaluator's w_mf (the rerank blend weight, operators.rerank.w_mf; here 0.3
 * unless given) and cands.
 *
 * Methods (--only picks a comma list): recd (the model with --params: the daemon's sgd
 * default, learning = blend_and_order), recd-fixed / recd-learn / recd-order (the same with
 * learning = fixed / blend / blend_and_order), recd+mf (recd and MF blended as rerank does),
 * mf, ablations -knn -next -repeat -covis -pop (one signal disabled), POP, S-POP, ItemKNN, and
 * the single signals knn, next.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mf.h"
#include "sessrec.h"
#include "sgd.h"

/* ---- dataset --------------------------------------------------------------------------- */

struct sessions {
    int32_t *items;    /* owned, all items back to back */
    size_t *start;     /* owned, n + 1 offsets */
    size_t n, cap_items, cap_sess;
};

struct dataset {
    struct sessions train, test;
    int32_t n_items;
    size_t min_prefix;
};

/* raw id → dense index (open addressing) */
struct idmap {
    int64_t *keys;
    int32_t *vals; /* -1 = empty */
    size_t cap;
    int32_t n;
};

static int idmap_init(struct idmap *m)
{
    size_t i;

    m->cap = 1u << 17;
    m->n = 0;
    m->keys = malloc(m->cap * sizeof(*m->keys));
    m->vals = malloc(m->cap * sizeof(*m->vals));
    if (!m->keys || !m->vals) {
        return -1;
    }
    for (i = 0; i < m->cap; i++) {
        m->vals[i] = -1;
    }
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return x;
}

static int32_t idmap_get(struct idmap *m, int64_t key)
{
    size_t i;

    if ((size_t)m->n * 2 >= m->cap) {
        struct idmap nm;
        size_t k;
        nm.cap = m->cap * 2;
        nm.n = m->n;
        nm.keys = malloc(nm.cap * sizeof(*nm.keys));
        nm.vals = malloc(nm.cap * sizeof(*nm.vals));
        if (!nm.keys || !nm.vals) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        for (k = 0; k < nm.cap; k++) {
            nm.vals[k] = -1;
        }
        for (k = 0; k < m->cap; k++) {
            if (m->vals[k] < 0) {
                continue;
            }
            i = mix((uint64_t)m->keys[k]) & (nm.cap - 1);
            while (nm.vals[i] >= 0) {
                i = (i + 1) & (nm.cap - 1);
            }
            nm.keys[i] = m->keys[k];
            nm.vals[i] = m->vals[k];
        }
        free(m->keys);
        free(m->vals);
        *m = nm;
    }
    i = mix((uint64_t)key) & (m->cap - 1);
    while (m->vals[i] >= 0) {
        if (m->keys[i] == key) {
            return m->vals[i];
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = m->n++;
    return m->vals[i];
}

static void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
}

static void sess_push_item(struct sessions *s, int32_t it)
{
    if (s->start == NULL || s->cap_sess == 0) {
        s->cap_sess = 1024;
        s->start = calloc(s->cap_sess, sizeof(*s->start));
        if (!s->start) {
            exit(1);
        }
    }
    if (s->start[s->n] >= s->cap_items) {
        s->cap_items = s->cap_items ? s->cap_items * 2 : 1 << 16;
        s->items = realloc(s->items, s->cap_items * sizeof(*s->items));
        if (!s->items) {
            exit(1);
        }
    }
    s->items[s->start[s->n]++] = it;
}

static void sess_close(struct sessions *s)
{
    if (s->start == NULL) {
        s->cap_sess = 1024;
        s->start = calloc(s->cap_sess, sizeof(*s->start));
        if (!s->start) {
            exit(1);
        }
    }
    if (s->start[s->n] == (s->n ? s->start[s->n - 1] : 0)) {
        return; /* empty */
    }
    if (s->n + 2 >= s->cap_sess) {
        s->cap_sess *= 2;
        s->start = realloc(s->start, s->cap_sess * sizeof(*s->start));
        if (!s->start) {
            exit(1);
        }
    }
    s->n++;
    s->start[s->n] = s->start[s->n - 1];
}

/* In `start`, entry n is the running end of session n; we store begin offsets by keeping
 * start[i] = end of session i-1. To keep it simple we use a separate begin computation. */
static size_t sess_begin(const struct sessions *s, size_t i)
{
    return i == 0 ? 0 : s->start[i - 1];
}
static size_t sess_end(const struct sessions *s, size_t i)
{
    return s->start[i];
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;

    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto done;
    }
    buf = malloc((size_t)sz + 1);
    if (!buf) {
        goto done;
    }
    if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[sz] = '\0';
    *len = (size_t)sz;
done:
    fclose(f);
    return buf;
}

/* Lines of space-separated item ids; skip_fields = leading TAB-separated fields to skip.
 * Item ids are integers (as in every published preprocessing, and as recctl replay reads
 * them); anything else is an error with file:line, never a silently misread id. */
static int load_lines(const char *path, int skip_fields, struct idmap *ids, struct sessions *out)
{
    size_t len = 0, lineno = 0;
    char *buf = read_file(path, &len), *p, *line;

    if (!buf) {
        return -1;
    }
    p = buf;
    while (*p) {
        char *nl = strchr(p, '\n');
        int f;
        if (nl) {
            *nl = '\0';
        }
        line = p;
        for (f = 0; f < skip_fields && line; f++) {
            line = strchr(line, '\t');
            if (line) {
                line++;
            }
        }
        lineno++;
        while (line && *line) {
            char *end;
            long long v;

            if (*line == ' ' || *line == '\t' || *line == '\r') {
                line++;
                continue;
            }
            v = strtoll(line, &end, 10);
            if (end == line || (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\r')) {
                int n = 0;

                while (line[n] && line[n] != ' ' && line[n] != '\t' && line[n] != '\r' && n < 40) {
                    n++;
                }
                fprintf(stderr, "%s:%zu: bad item id '%.*s' (item ids must be integers)\n", path,
                        lineno, n, line);
                free(buf);
                errno = EINVAL;
                return -1;
            }
            sess_push_item(out, idmap_get(ids, v));
            line = end;
        }
        sess_close(out);
        if (!nl) {
            break;
        }
        p = nl + 1;
    }
    free(buf);
    return 0;
}

struct click {
    int64_t sid;
    double t;
    int64_t item;
    size_t ord;
};

static int click_cmp(const void *a, const void *b)
{
    const struct click *x = a, *y = b;

    if (x->sid != y->sid) {
        return x->sid < y->sid ? -1 : 1;
    }
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return x->ord < y->ord ? -1 : (x->ord > y->ord);
}

struct sorder {
    double t0;
    size_t first, n;
};

static int sorder_cmp(const void *a, const void *b)
{
    const struct sorder *x = a, *y = b;

    if (x->t0 != y->t0) {
        return x->t0 < y->t0 ? -1 : 1;
    }
    return x->first < y->first ? -1 : (x->first > y->first);
}

/* TSV SessionId ItemId Time (header line); sessions ordered by first click time. */
static int load_tsv(const char *path, struct idmap *ids, struct sessions *out)
{
    size_t len = 0, n = 0, cap = 1 << 16, i, ns = 0;
    char *buf = read_file(path, &len), *p;
    struct click *c = malloc(cap * sizeof(*c));
    struct sorder *so = NULL;

    if (!buf || !c) {
        free(buf);
        free(c);
        return -1;
    }
    p = strchr(buf, '\n');
    p = p ? p + 1 : buf + len;
    while (*p) {
        char *e;
        if (n == cap) {
            cap *= 2;
            c = realloc(c, cap * sizeof(*c));
            if (!c) {
                exit(1);
            }
        }
        c[n].sid = strtoll(p, &e, 10);
        c[n].item = strtoll(e, &e, 10);
        c[n].t = strtod(e, &e);
        c[n].ord = n;
        n++;
        p = strchr(e, '\n');
        if (!p) {
            break;
        }
        p++;
    }
    qsort(c, n, sizeof(*c), click_cmp);
    so = malloc((n + 1) * sizeof(*so));
    if (!so) {
        exit(1);
    }
    for (i = 0; i < n; i++) {
        if (i == 0 || c[i].sid != c[i - 1].sid) {
            so[ns].t0 = c[i].t;
            so[ns].first = i;
            so[ns].n = 0;
            ns++;
        }
        so[ns - 1].n++;
    }
    qsort(so, ns, sizeof(*so), sorder_cmp);
    for (i = 0; i < ns; i++) {
        size_t j;
        for (j = 0; j < so[i].n; j++) {
            sess_push_item(out, idmap_get(ids, c[so[i].first + j].item));
        }
        sess_close(out);
    }
    free(so);
    free(c);
    free(buf);
    return 0;
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (f) {
        fclose(f);
    }
    return f != NULL;
}

static size_t min_prefix_of(const char *path)
{
    size_t len = 0, best = 0;
    char *buf = read_file(path, &len), *p;

    if (!buf) {
        return 1;
    }
    p = buf;
    while (*p) {
        char *tab = strchr(p, '\t'), *nl;
        size_t cnt = 0;
        char *q = p;
        if (!tab) {
            break;
        }
        while (q < tab) {
            while (q < tab && *q == ' ') {
                q++;
            }
            if (q < tab) {
                cnt++;
            }
            while (q < tab && *q != ' ') {
                q++;
            }
        }
        if (cnt > 0 && (best == 0 || cnt < best)) {
            best = cnt;
        }
        nl = strchr(tab, '\n');
        if (!nl) {
            break;
        }
        p = nl + 1;
    }
    free(buf);
    return best ? best : 1;
}

static int load_dataset(const char *dir, int valid, struct dataset *ds)
{
    char a[4096], b[4096];
    struct idmap ids;
    int rc = -1;

    memset(ds, 0, sizeof(*ds));
    if (idmap_init(&ids) != 0) {
        return -1;
    }
    ds->min_prefix = 1;
    snprintf(a, sizeof(a), "%s/train_sessions.txt", dir);
    if (exists(a)) {
        if (load_lines(a, 0, &ids, &ds->train) != 0) {
            goto done;
        }
        snprintf(b, sizeof(b), "%s/test_examples.tsv", dir);
        if (exists(b)) {
            ds->min_prefix = min_prefix_of(b);
        }
        if (!valid) {
            snprintf(b, sizeof(b), "%s/test_sessions.txt", dir);
            if (exists(b)) {
                if (load_lines(b, 0, &ids, &ds->test) != 0) {
                    goto done;
                }
            } else {
                snprintf(b, sizeof(b), "%s/test_sessions.tsv", dir);
                if (load_lines(b, 2, &ids, &ds->test) != 0) {
                    goto done;
                }
            }
        }
    } else {
        /* yoochoose-style TSV: find *_train_full.txt and *_test.txt */
        char cmd[4096 + 64];
        FILE *ls;
        a[0] = b[0] = '\0';
        snprintf(cmd, sizeof(cmd), "ls '%s'", dir);
        ls = popen(cmd, "r");
        if (ls) {
            char name[1024];
            while (fgets(name, sizeof(name), ls)) {
                size_t l = strlen(name);
                while (l && (name[l - 1] == '\n' || name[l - 1] == '\r')) {
                    name[--l] = '\0';
                }
                if (l > 15 && strcmp(name + l - 15, "_train_full.txt") == 0) {
                    snprintf(a, sizeof(a), "%s/%s", dir, name);
                } else if (l > 9 && strcmp(name + l - 9, "_test.txt") == 0) {
                    snprintf(b, sizeof(b), "%s/%s", dir, name);
                }
            }
            pclose(ls);
        }
        if (!a[0] || !b[0]) {
            goto done;
        }
        if (load_tsv(a, &ids, &ds->train) != 0) {
            goto done;
        }
        if (!valid && load_tsv(b, &ids, &ds->test) != 0) {
            goto done;
        }
    }
    if (valid) {
        /* last 10% of train sessions become the test part */
        size_t cut = ds->train.n - ds->train.n / 10, i;
        for (i = cut; i < ds->train.n; i++) {
            size_t j;
            for (j = sess_begin(&ds->train, i); j < sess_end(&ds->train, i); j++) {
                sess_push_item(&ds->test, ds->train.items[j]);
            }
            sess_close(&ds->test);
        }
        ds->train.n = cut;
    }
    ds->n_items = ids.n;
    rc = 0;
done:
    idmap_free(&ids);
    return rc;
}

static void free_dataset(struct dataset *ds)
{
    free(ds->train.items);
    free(ds->train.start);
    free(ds->test.items);
    free(ds->test.start);
}

/* ---- methods --------------------------------------------------------------------------- */

#define MAXK 100

struct result {
    double hr, mrr;
    size_t cases;
    double secs;
    size_t clicks;
    size_t scores;
    float w[SESSREC_NFEATURES];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the box is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void hit(struct result *r, const int32_t *top, size_t n, int32_t y)
{
    size_t i;

    r->cases++;
    for (i = 0; i < n; i++) {
        if (top[i] == y) {
            r->hr += 1.0;
            r->mrr += 1.0 / (double)(i + 1);
            return;
        }
    }
}

static int g_score_all; /* --score-all: score before every click, as the daemon does */
static size_t g_window;  /* --window N: recd sees only the last N items of a prefix (0 = all) */

/* the part of the prefix it[0..j) recd's query holds: the daemon's session keeps its last
 * RECD_SESSION_ITEMS (32) items for scoring and sess_items_cap for learning; --window N
 * models that (the baselines always see the whole prefix) */
#define WIN_OFF(j) (g_window && (j) > g_window ? (j) - g_window : 0)
#define WIN(it, j) (it) + WIN_OFF(j), (j) - WIN_OFF(j)

/* blend_and_order: re-sort the head of a final list by the learned blend (what rerank does
 * after its own re-scoring): stable insertion sort, descending; scores, if given, stay in
 * place (the list keeps its descending scores, the items move). */
static void order_head(const struct sessrec *m, int32_t *items, const float *scores, size_t n)
{
    size_t h = sessrec_orders(m), i, j;
    float ls[MAXK + 1024];

    (void)scores;
    if (h == 0) {
        return;
    }
    if (h > n) {
        h = n;
    }
    if (h > MAXK + 1024) {
        h = MAXK + 1024;
    }
    for (i = 0; i < h; i++) {
        ls[i] = sessrec_order_score(m, items[i]);
    }
    for (i = 1; i < h; i++) {
        int32_t x = items[i];
        float v = ls[i];
        for (j = i; j > 0 && ls[j - 1] < v; j--) {
            items[j] = items[j - 1];
            ls[j] = ls[j - 1];
        }
        items[j] = x;
        ls[j] = v;
    }
}

static int run_sessrec(const struct dataset *ds, const struct sessrec_params *p, size_t K,
                       struct result *r)
{
    struct sessrec *m = sessrec_new(p);
    int32_t top[MAXK + 1024];
    int phase;
    uint64_t key = 0;
    double t0;

    memset(r, 0, sizeof(*r));
    if (!m || p->learn_topn > MAXK + 1024 || p->order_top > MAXK + 1024) {
        sessrec_destroy(m);
        return -1;
    }
    t0 = now_s();
    for (phase = 0; phase < 2; phase++) {
        const struct sessions *S = phase == 0 ? &ds->train : &ds->test;
        size_t i;
        for (i = 0; i < S->n; i++) {
            const int32_t *it = S->items + sess_begin(S, i);
            size_t len = sess_end(S, i) - sess_begin(S, i), j;
            key++;
            for (j = 0; j < len; j++) {
                int is_case = phase == 1 && j >= ds->min_prefix;
                int learn = j > 0 && sessrec_wants_feedback(m, key);
                if (j > 0 && (is_case || g_score_all)) {
                    /* the list rerank publishes */
                    size_t nt = sessrec_score(m, key, WIN(it, j), top, NULL, NULL, NULL,
                                              K > sessrec_orders(m) ? K : sessrec_orders(m));
                    r->scores++;
                    if (is_case) {
                        order_head(m, top, NULL, nt);
                        hit(r, top, nt < K ? nt : K, it[j]);
                    }
                }
                if (learn) {
                    /* what sgd does for a sampled click: its own scoring, one step */
                    sessrec_score(m, key, WIN(it, j), top, NULL, NULL, NULL,
                                  p->learning == SESSREC_LEARN_BLEND_AND_ORDER ? p->order_top
                                                                               : p->learn_topn);
                    r->scores++;
                    sessrec_feedback(m, it[j]);
                }
                if (sessrec_observe(m, key, it[j], (int64_t)key * 1000) != 0) {
                    sessrec_destroy(m);
                    return -1;
                }
                r->clicks++;
            }
        }
    }
    r->secs = now_s() - t0;
    sessrec_weights(m, SIZE_MAX, r->w); /* (blend_and_order: the longest sessions' order) */
    sessrec_destroy(m);
    return 0;
}

/* recd with the sgd operator's matrix factorisation (models/mf/mf.c) learning online
 * from every click: mode 0 = MF alone over the whole catalogue; mode 1 = sessrec's top
 * `ncand` candidates re-scored as  blend/max + w_mf * (mf - min)/(max - min)  (what rerank
 * does). No text here (the SR-GNN files carry none). */
static int run_mf(const struct dataset *ds, const struct sessrec_params *p,
                  const struct mf_params *mp, float w_mf, size_t ncand, int mode, size_t K,
                  struct result *r)
{
    struct sessrec *m = sessrec_new(p);
    struct mf *f = mf_new(mp, 0);
    size_t ncap = ncand + p->learn_topn + p->order_top + 1;
    int32_t top[MAXK], *cand = calloc(ncap, sizeof(int32_t));
    float *cs = calloc(ncap, sizeof(float)), *u = calloc(mp->dim, sizeof(float));
    float *all = calloc((size_t)ds->n_items + 1, sizeof(float));
    uint64_t key = 0;
    int rc = -1;
    double t0;

    memset(r, 0, sizeof(*r));
    if (!m || !f || !cand || !cs || !u || !all) {
        goto out;
    }
    t0 = now_s();
    for (int phase = 0; phase < 2; phase++) {
        const struct sessions *S = phase == 0 ? &ds->train : &ds->test;
        for (size_t i = 0; i < S->n; i++) {
            const int32_t *it = S->items + sess_begin(S, i);
            size_t len = sess_end(S, i) - sess_begin(S, i), j;
            key++;
            for (j = 0; j < len; j++) {
                int is_case = phase == 1 && j >= ds->min_prefix;
                if (j > 0 && is_case) {
                    size_t nt = 0, c;
                    int has_u = mf_user(f, WIN(it, j), NULL, u, NULL) == 0;
                    if (mode == 0) {
                        /* top-K of MF over all items (ties: smaller index) */
                        for (int32_t x = 0; x < ds->n_items; x++) {
                            float v = has_u ? mf_score(f, u, NULL, x, NULL) : 0;
                            size_t q;
                            if (nt == K && v <= all[nt - 1]) {
                                continue;
                            }
                            q = nt < K ? nt++ : nt - 1;
                            while (q > 0 && all[q - 1] < v) {
                                all[q] = all[q - 1];
                                top[q] = top[q - 1];
                                q--;
                            }
                            all[q] = v;
                            top[q] = x;
                        }
                    } else {
                        float mx = 0, lo = INFINITY, hi = -INFINITY;
                        size_t nc = sessrec_score(m, key, WIN(it, j), cand, cs, NULL, NULL, ncand);
                        for (c = 0; c < nc; c++) {
                            mx = cs[c] > mx ? cs[c] : mx;
                            all[c] = has_u ? mf_score(f, u, NULL, cand[c], NULL) : 0;
                            lo = all[c] < lo ? all[c] : lo;
                            hi = all[c] > hi ? all[c] : hi;
                        }
                        for (c = 0; c < nc; c++) {
                            float b = mx > 0 ? cs[c] / mx : 0;
                            float q = hi > lo ? (all[c] - lo) / (hi - lo) : 0;
                            cs[c] = b + w_mf * q;
                        }
                        /* selection sort of the top K (nc is small); with blend_and_order
                         * the first order_top are sorted, then re-ordered (as rerank does) */
                        size_t ns = K > sessrec_orders(m) ? K : sessrec_orders(m);
                        for (nt = 0; nt < ns && nt < nc; nt++) {
                            size_t best = nt;
                            for (c = nt + 1; c < nc; c++) {
                                if (cs[c] > cs[best] ||
                                    (cs[c] == cs[best] && cand[c] < cand[best])) {
                                    best = c;
                                }
                            }
                            float ts = cs[nt];
                            cs[nt] = cs[best];
                            cs[best] = ts;
                            int32_t ti = cand[nt];
                            cand[nt] = cand[best];
                            cand[best] = ti;
                        }
                        order_head(m, cand, NULL, nt);
                        if (nt > K) {
                            nt = K;
                        }
                        memcpy(top, cand, nt * sizeof(*top));
                    }
                    r->scores++;
                    hit(r, top, nt, it[j]);
                }
                if (j > 0 && mode == 1 && sessrec_wants_feedback(m, key)) {
                    /* what sgd does: score the prefix (learn_topn / order_top), one step */
                    sessrec_score(m, key, WIN(it, j), cand, cs, NULL, NULL,
                                  p->learning == SESSREC_LEARN_BLEND_AND_ORDER ? p->order_top
                                                                               : p->learn_topn);
                    sessrec_feedback(m, it[j]);
                }
                if (sessrec_observe(m, key, it[j], (int64_t)key * 1000) != 0 ||
                    mf_learn(f, WIN(it, j), it[j], 1.0f, NULL) != 0) {
                    goto out;
                }
                r->clicks++;
            }
        }
    }
    r->secs = now_s() - t0;
    rc = 0;
out:
    sessrec_destroy(m);
    mf_destroy(f);
    free(cand);
    free(cs);
    free(u);
    free(all);
    return rc;
}

/* POP (all-time counts) and S-POP (in-session counts, then POP). */
static int run_pop(const struct dataset *ds, int spop, size_t K, struct result *r)
{
    uint32_t *cnt = calloc((size_t)ds->n_items, sizeof(*cnt));
    int32_t toplist[MAXK];
    size_t ntop = 0;
    int32_t *sitems = NULL;
    uint32_t *scnt = NULL;
    int phase;
    double t0 = now_s();

    memset(r, 0, sizeof(*r));
    sitems = malloc(4096 * sizeof(*sitems));
    scnt = malloc(4096 * sizeof(*scnt));
    if (!cnt || !sitems || !scnt) {
        goto fail;
    }
    for (phase = 0; phase < 2; phase++) {
        const struct sessions *S = phase == 0 ? &ds->train : &ds->test;
        size_t i;
        for (i = 0; i < S->n; i++) {
            const int32_t *it = S->items + sess_begin(S, i);
            size_t len = sess_end(S, i) - sess_begin(S, i), j, ns = 0;
            for (j = 0; j < len; j++) {
                int32_t y = it[j];
                size_t a, b;
                if (phase == 1 && j >= ds->min_prefix) {
                    int32_t out[MAXK];
                    size_t no = 0;
                    if (spop) {
                        /* session items by count desc, then last occurrence desc */
                        int32_t order[MAXK];
                        size_t no2 = 0;
                        for (a = 0; a < ns && no2 < K; a++) {
                            order[no2++] = (int32_t)a;
                        }
                        for (a = 0; a < ns && a < K; a++) {
                            size_t best = a;
                            for (b = a + 1; b < ns; b++) {
                                if (scnt[b] > scnt[best] || (scnt[b] == scnt[best] && b > best)) {
                                    best = b;
                                }
                            }
                            if (best != a) {
                                uint32_t tc = scnt[a];
                                int32_t ti = sitems[a];
                                scnt[a] = scnt[best];
                                sitems[a] = sitems[best];
                                scnt[best] = tc;
                                sitems[best] = ti;
                            }
                            out[no++] = sitems[a];
                        }
                        (void)order;
                    }
                    for (a = 0; a < ntop && no < K; a++) {
                        int dup = 0;
                        for (b = 0; b < no; b++) {
                            dup |= out[b] == toplist[a];
                        }
                        if (!dup) {
                            out[no++] = toplist[a];
                        }
                    }
                    hit(r, out, no, y);
                }
                /* update */
                cnt[y]++;
                {
                    int in = 0;
                    for (a = 0; a < ntop; a++) {
                        if (toplist[a] == y) {
                            in = 1;
                        }
                    }
                    if (!in) {
                        if (ntop < K) {
                            toplist[ntop++] = y;
                        } else if (cnt[y] > cnt[toplist[ntop - 1]]) {
                            toplist[ntop - 1] = y;
                        }
                    }
                    /* keep sorted desc by count, then id */
                    for (a = 1; a < ntop; a++) {
                        int32_t x = toplist[a];
                        for (b = a; b > 0 &&
                             (cnt[toplist[b - 1]] < cnt[x] ||
                              (cnt[toplist[b - 1]] == cnt[x] && toplist[b - 1] > x));
                             b--) {
                            toplist[b] = toplist[b - 1];
                        }
                        toplist[b] = x;
                    }
                }
                for (a = 0; a < ns; a++) {
                    if (sitems[a] == y) {
                        break;
                    }
                }
                if (a < ns) {
                    scnt[a]++;
                } else if (ns < 4096) {
                    sitems[ns] = y;
                    scnt[ns++] = 1;
                }
                r->clicks++;
            }
        }
    }
    r->secs = now_s() - t0;
    free(cnt);
    free(sitems);
    free(scnt);
    return 0;
fail:
    free(cnt);
    free(sitems);
    free(scnt);
    return -1;
}

/* ---- main ------------------------------------------------------------------------------ */

static void print_result(const char *name, const struct result *r, size_t K, int show_w)
{
    double n = r->cases ? (double)r->cases : 1.0;

    printf("%-14s HR@%zu %6.2f  MRR@%zu %6.2f  cases %zu  %8.0f ev/s  %5.2f us/click  %zu scores",
           name, K, 100.0 * r->hr / n, K, 100.0 * r->mrr / n, r->cases,
           r->secs > 0 ? (double)r->clicks / r->secs : 0.0,
           r->clicks ? 1e6 * r->secs / (double)r->clicks : 0.0, r->scores);
    if (show_w) {
        static const char *const fn[SESSREC_NFEATURES] = { "pop",  "knn",   "knnb",  "knns",
                                                           "next", "nexth", "nexts", "covis",
                                                           "rep",  "last",  "trend", "next2",
                                                           "repslow" };
        int f;
        printf("  w=");
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            printf("%s%s:%.2f", f ? "," : "", fn[f], (double)r->w[f]);
        }
    }
    printf("\n");
    fflush(stdout);
}

static int wanted(const char *only, const char *name)
{
    const char *p = only;
    size_t l = strlen(name);

    if (!only) {
        return 1;
    }
    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t pl = c ? (size_t)(c - p) : strlen(p);
        if (pl == l && strncmp(p, name, l) == 0) {
            return 1;
        }
        p = c ? c + 1 : NULL;
    }
    return 0;
}

/* The command line: dataset, split, parameters, which methods to run. */
struct eval_args {
    const char *dir, *plist, *mflist, *only;
    int valid;
    size_t K;
};

/* Print the usage line to stderr; returns the exit status for a usage error. */
static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s DATASET_DIR [--valid] [--params k=v,...] [--only a,b] [--k 20]"
            " [--score-all] [--window N]\n",
            argv0);
    return 2;
}

/* Parse argv into *a (and g_score_all); 0, or the exit status of a usage error. */
static int parse_args(int argc, char **argv, struct eval_args *a)
{
    int i;

    a->dir = NULL;
    a->plist = NULL;
    a->mflist = NULL;
    a->only = "recd,recd-learn,-knn,-next,-repeat,-covis,-pop,"
              "POP,S-POP,ItemKNN";
    a->valid = 0;
    a->K = 20;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--valid") == 0) {
            a->valid = 1;
        } else if (strcmp(argv[i], "--score-all") == 0) {
            g_score_all = 1;
        } else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc) {
            a->plist = argv[++i];
        } else if (strcmp(argv[i], "--mf") == 0 && i + 1 < argc) {
            a->mflist = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            a->only = argv[++i];
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            g_window = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--k") == 0 && i + 1 < argc) {
            a->K = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-' && !a->dir) {
            a->dir = argv[i];
        } else {
            return usage(argv[0]);
        }
    }
    if (!a->dir || a->K == 0 || a->K > MAXK) {
        return usage(argv[0]);
    }
    return 0;
}

/* Run one sessrec configuration and print its line; 0 or -1. */
static int eval_sessrec(const struct dataset *ds, const struct sessrec_params *p, size_t K,
                        const char *name, int show_w)
{
    struct result r;

    if (run_sessrec(ds, p, K, &r) != 0) {
        return -1;
    }
    print_result(name, &r, K, show_w);
    return 0;
}

/* recd as configured, and with each way of learning its blend; 0 or -1. */
static int eval_recd_variants(const struct dataset *ds, const struct sessrec_params *base,
                              const char *only, size_t K)
{
    static const struct {
        const char *name;
        int learning, from_base;
    } var[] = {
        { "recd", 0, 1 },
        { "recd-fixed", SESSREC_LEARN_FIXED, 0 },
        { "recd-order", SESSREC_LEARN_BLEND_AND_ORDER, 0 },
        { "recd-learn", SESSREC_LEARN_BLEND, 0 },
    };
    size_t a;

    for (a = 0; a < sizeof(var) / sizeof(var[0]); a++) {
        struct sessrec_params p = *base;
        if (!wanted(only, var[a].name)) {
            continue;
        }
        if (!var[a].from_base) {
            p.learning = var[a].learning;
        }
        if (eval_sessrec(ds, &p, K, var[a].name, 1) != 0) {
            return -1;
        }
    }
    return 0;
}

/* recd with one signal ablated at a time; 0 or -1. */
static int eval_ablations(const struct dataset *ds, const struct sessrec_params *base,
                          const char *only, size_t K)
{
    static const struct {
        const char *name;
        int sig;
    } abl[] = {
        { "-knn", SESSREC_SIMILAR_SESSION }, { "-next", SESSREC_NEXT_ITEM },
        { "-repeat", SESSREC_IN_SESSION },   { "-covis", SESSREC_CO_VISITED },
        { "-pop", SESSREC_POPULAR },
    };
    size_t a;

    for (a = 0; a < sizeof(abl) / sizeof(abl[0]); a++) {
        struct sessrec_params p = *base;
        if (!wanted(only, abl[a].name)) {
            continue;
        }
        p.signals &= ~(1u << abl[a].sig);
        if (eval_sessrec(ds, &p, K, abl[a].name, 1) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One signal alone (with a popularity tie-break), fixed weights; 0 or -1. */
static int eval_single_signals(const struct dataset *ds, const struct sessrec_params *base,
                               const char *only, size_t K)
{
    static const struct {
        const char *name;
        int sig;
    } one[] = { { "knn", SESSREC_SIMILAR_SESSION }, { "next", SESSREC_NEXT_ITEM } };
    size_t a;

    for (a = 0; a < sizeof(one) / sizeof(one[0]); a++) {
        struct sessrec_params p = *base;
        if (!wanted(only, one[a].name)) {
            continue;
        }
        p.signals = (1u << one[a].sig) | (1u << SESSREC_POPULAR);
        p.learning = SESSREC_LEARN_FIXED;
        p.w[SESSREC_F_POP] = 1e-4f;
        if (eval_sessrec(ds, &p, K, one[a].name, 0) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Parse --mf "k=v,..." (w_mf, cands, and the MF parameters) over the defaults; 0 or -1. */
static int parse_mf_list(const char *mflist, struct mf_params *mp, float *w_mf, size_t *ncand)
{
    char *copy = strdup(mflist ? mflist : ""), *tok, *save = NULL;
    int rc = 0;

    sgd_mf_params_default(mp);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            continue;
        }
        *eq = '\0';
        if (strcmp(tok, "w_mf") == 0) {
            *w_mf = strtof(eq + 1, NULL);
        } else if (strcmp(tok, "cands") == 0) {
            *ncand = strtoul(eq + 1, NULL, 10);
        } else if (mf_params_set(mp, tok, eq + 1) != 0) {
            fprintf(stderr, "bad mf parameter %s\n", tok);
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}

/* Matrix factorisation alone ("mf") and blended into recd ("recd+mf"); 0 or -1. */
static int eval_mf(const struct dataset *ds, const struct sessrec_params *base,
                   const struct eval_args *a)
{
    static const char *const names[2] = { "mf", "recd+mf" };
    struct mf_params mp;
    struct result r;
    float w_mf = 0.3f;
    size_t ncand = 100;
    int blend;

    if (!wanted(a->only, "mf") && !wanted(a->only, "recd+mf")) {
        return 0;
    }
    if (parse_mf_list(a->mflist, &mp, &w_mf, &ncand) != 0) {
        return -1;
    }
    if (a->mflist) {
        printf("# mf: %s\n", a->mflist);
    }
    for (blend = 0; blend < 2; blend++) {
        if (!wanted(a->only, names[blend])) {
            continue;
        }
        if (run_mf(ds, base, &mp, w_mf, ncand, blend, a->K, &r) != 0) {
            return -1;
        }
        print_result(names[blend], &r, a->K, 0);
    }
    return 0;
}

/* The baselines POP, S-POP and session Item-KNN; 0 or -1. */
static int eval_baselines(const struct dataset *ds, const char *only, size_t K)
{
    static const char *const pops[2] = { "POP", "S-POP" };
    struct result r;
    int spop;

    for (spop = 0; spop < 2; spop++) {
        if (!wanted(only, pops[spop])) {
            continue;
        }
        if (run_pop(ds, spop, K, &r) != 0) {
            return -1;
        }
        print_result(pops[spop], &r, K, 0);
    }
    if (wanted(only, "ItemKNN")) {
        /* session Item-KNN: cosine co-occurrence (whole session) with the last item */
        struct sessrec_params p;
        sessrec_params_default(&p);
        p.signals = (1u << SESSREC_CO_VISITED) | (1u << SESSREC_POPULAR);
        p.learning = SESSREC_LEARN_FIXED;
        p.w[SESSREC_F_COVIS] = 1.0f;
        p.w[SESSREC_F_POP] = 1e-4f;
        p.covis_window = 1000;
        p.covis_cap = 500;
        p.postings_cap = 0;
        if (eval_sessrec(ds, &p, K, "ItemKNN", 0) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The header lines: what was loaded, and the parameters. */
static void print_header(const struct eval_args *a, const struct dataset *ds)
{
    printf("# %s%s: %zu train sessions (%zu clicks), %zu test sessions (%zu clicks), %d items, "
           "min prefix %zu\n",
           a->dir, a->valid ? " [validation split]" : "", ds->train.n,
           ds->train.n ? sess_end(&ds->train, ds->train.n - 1) : 0, ds->test.n,
           ds->test.n ? sess_end(&ds->test, ds->test.n - 1) : 0, ds->n_items, ds->min_prefix);
    if (a->plist) {
        printf("# params: %s\n", a->plist);
    }
}

int main(int argc, char **argv)
{
    struct eval_args a;
    struct dataset ds;
    struct sessrec_params base;
    char err[256];
    int rc;

    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    sessrec_params_default(&base);
    if ((a.plist && sessrec_params_parse(&base, a.plist, err, sizeof(err)) != 0) ||
        sessrec_params_check(&base, err, sizeof(err)) != 0) {
        fprintf(stderr, "bad parameter: %s\n", err);
        return 2;
    }
    if (load_dataset(a.dir, a.valid, &ds) != 0) {
        fprintf(stderr, "cannot load dataset %s: %s\n", a.dir, strerror(errno));
        return 1;
    }
    print_header(&a, &ds);
    rc = 1;
    if (eval_recd_variants(&ds, &base, a.only, a.K) != 0 ||
        eval_ablations(&ds, &base, a.only, a.K) != 0 ||
        eval_single_signals(&ds, &base, a.only, a.K) != 0 || eval_mf(&ds, &base, &a) != 0 ||
        eval_baselines(&ds, a.only, a.K) != 0) {
        goto done;
    }
    rc = 0;
done:
    free_dataset(&ds);
    return rc;
}
