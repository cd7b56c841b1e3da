/* metrics.c — see metrics.h. */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"
#include "metrics.h"
#include "recd.h"
#include "strmap.h"

#define N_BUCKETS 16
static const double bucket_le[N_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     10,     60 };

struct series {
    char *name;       /* owned */
    char *labels;     /* owned */
    double value;     /* counter/gauge; histogram: sum */
    uint64_t count;   /* histogram */
    uint64_t buckets[N_BUCKETS];
    int hist;
};

struct family {
    int type;
    char *help;
};

struct recd_metrics {
    pthread_mutex_t lock;
    struct recd_strmap *series;     /* "name{labels}" -> struct series */
    struct recd_strmap *families;   /* name -> struct family */
    int64_t heartbeat_ns;
    int ready;
    char ready_why[128];
};

static void series_free(void *p)
{
    struct series *s = p;

    if (s) {
        free(s->name);
        free(s->labels);
        free(s);
    }
}

static void family_free(void *p)
{
    struct family *f = p;

    if (f) {
        free(f->help);
        free(f);
    }
}

struct recd_metrics *recd_metrics_new(void)
{
    struct recd_metrics *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->series = recd_strmap_new(256, series_free);
    m->families = recd_strmap_new(64, family_free);
    if (m->series == NULL || m->families == NULL) {
        recd_metrics_destroy(m);
        return NULL;
    }
    m->heartbeat_ns = recd_now_mono_ns();
    snprintf(m->ready_why, sizeof(m->ready_why), "starting");
    return m;
}

void recd_metrics_destroy(struct recd_metrics *m)
{
    if (m == NULL) {
        return;
    }
    recd_strmap_destroy(m->series);
    recd_strmap_destroy(m->families);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void recd_metrics_declare(struct recd_metrics *m, const char *name, int type, const char *help)
{
    struct family *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return;
    }
    f->type = type;
    f->help = recd_strdup(help);
    pthread_mutex_lock(&m->lock);
    if (recd_strmap_put(m->families, name, f) != RECD_OK) {
        family_free(f);
    }
    pthread_mutex_unlock(&m->lock);
}

/* Called with the lock held. */
static struct series *get_series(struct recd_metrics *m, const char *name, const char *labels)
{
    char key[512];
    struct series *s;

    snprintf(key, sizeof(key), "%s{%s}", name, labels ? labels : "");
    s = recd_strmap_get(m->series, key);
    if (s != NULL) {
        return s;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->name = recd_strdup(name);
    s->labels = recd_strdup(labels ? labels : "");
    if (s->name == NULL || s->labels == NULL || recd_strmap_put(m->series, key, s) != RECD_OK) {
        series_free(s);
        return NULL;
    }
    return s;
}

void recd_metrics_add(struct recd_metrics *m, const char *name, const char *labels, double v)
{
    struct series *s;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    if (s) {
        s->value += v;
    }
    pthread_mutex_unlock(&m->lock);
}

void recd_metrics_set(struct recd_metrics *m, const char *name, const char *labels, double v)
{
    struct series *s;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    if (s) {
        s->value = v;
    }
    pthread_mutex_unlock(&m->lock);
}

void recd_metrics_observe(struct recd_metrics *m, const char *name, const char *labels, double v)
{
    struct series *s;
    int i;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    if (s) {
        s->hist = 1;
        s->value += v;
        s->count++;
        for (i = 0; i < N_BUCKETS; i++) {
            if (v <= bucket_le[i]) {
                s->buckets[i]++;
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void recd_metrics_observe_many(struct recd_metrics *m, const char *name, const char *labels,
                               const double *v, size_t n)
{
    struct series *s;
    size_t j;
    int i;

    if (m == NULL || n == 0) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    if (s) {
        s->hist = 1;
        for (j = 0; j < n; j++) {
            s->value += v[j];
            s->count++;
            for (i = 0; i < N_BUCKETS; i++) {
                if (v[j] <= bucket_le[i]) {
                    s->buckets[i]++;
                }
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
}

double recd_metrics_get(struct recd_metrics *m, const char *name, const char *labels)
{
    struct series *s;
    double v = 0;

    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    if (s) {
        v = s->hist ? (double)s->count : s->value;
    }
    pthread_mutex_unlock(&m->lock);
    return v;
}

void recd_metrics_heartbeat(struct recd_metrics *m)
{
    if (m) {
        __atomic_store_n(&m->heartbeat_ns, recd_now_mono_ns(), __ATOMIC_RELAXED);
    }
}

void recd_metrics_set_ready(struct recd_metrics *m, int ready, const char *why)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->ready = ready;
    snprintf(m->ready_why, sizeof(m->ready_why), "%s", why ? why : "");
    pthread_mutex_unlock(&m->lock);
}

int64_t recd_metrics_heartbeat_age_ms(struct recd_metrics *m)
{
    return (recd_now_mono_ns() - __atomic_load_n(&m->heartbeat_ns, __ATOMIC_RELAXED)) / 1000000;
}

int recd_metrics_readiness(struct recd_metrics *m, char *why, size_t whylen)
{
    int ready;

    pthread_mutex_lock(&m->lock);
    ready = m->ready;
    snprintf(why, whylen, "%s", m->ready_why);
    pthread_mutex_unlock(&m->lock);
    return ready;
}

static int cmp_series(const void *a, const void *b)
{
    const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->labels, y->labels);
}

static int appendf(struct recd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct recd_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return RECD_EINVAL;
    }
    return recd_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void fmt_num(char *out, size_t n, double v)
{
    if (isinf(v)) {
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, n, "%.0f", v);
    } else {
        snprintf(out, n, "%.9g", v);
    }
}

char *recd_metrics_render(struct recd_metrics *m)
{
    struct recd_buf b;
    struct series **v = NULL;
    size_t n = 0, pos = 0, i;
    const char *key, *last = "";
    void *val;
    char num[64];

    recd_buf_init(&b);
    pthread_mutex_lock(&m->lock);
    v = malloc((recd_strmap_count(m->series) + 1) * sizeof(*v));
    if (v == NULL) {
        pthread_mutex_unlock(&m->lock);
        return NULL;
    }
    while (recd_strmap_next(m->series, &pos, &key, &val)) {
        v[n++] = val;
    }
    qsort(v, n, sizeof(*v), cmp_series);
    for (i = 0; i < n; i++) {
        struct series *s = v[i];
        const char *sep = s->labels[0] ? "," : "";

        if (strcmp(s->name, last) != 0) {
            struct family *f = recd_strmap_get(m->families, s->name);

            if (f != NULL) {
                appendf(&b, "# HELP %s %s\n# TYPE %s %s\n", s->name, f->help, s->name,
                        f->type == RECD_M_COUNTER     ? "counter"
                            : f->type == RECD_M_GAUGE ? "gauge"
                                                      : "histogram");
            }
            last = s->name;
        }
        if (s->hist) {
            for (int k = 0; k < N_BUCKETS; k++) {
                fmt_num(num, sizeof(num), bucket_le[k]);
                appendf(&b, "%s_bucket{%s%sle=\"%s\"} %llu\n", s->name, s->labels, sep, num,
                        (unsigned long long)s->buckets[k]);
            }
            appendf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, s->labels, sep,
                    (unsigned long long)s->count);
            fmt_num(num, sizeof(num), s->value);
            appendf(&b, "%s_sum%s%s%s %s\n", s->name, s->labels[0] ? "{" : "", s->labels,
                    s->labels[0] ? "}" : "", num);
            appendf(&b, "%s_count%s%s%s %llu\n", s->name, s->labels[0] ? "{" : "", s->labels,
                    s->labels[0] ? "}" : "", (unsigned long long)s->count);
        } else {
            fmt_num(num, sizeof(num), s->value);
            appendf(&b, "%s%s%s%s %s\n", s->name, s->labels[0] ? "{" : "", s->labels,
                    s->labels[0] ? "}" : "", num);
        }
    }
    pthread_mutex_unlock(&m->lock);
    free(v);
    recd_buf_append(&b, "", 1);
    return (char *)b.data;
}

int recd_listen_parse(const char *listen, char *host, size_t hostlen, int *port, char *errstr,
                      size_t errlen)
{
    const char *colon = listen != NULL ? strrchr(listen, ':') : NULL;
    const char *p;
    struct in_addr a;
    long v = 0;

    if (colon == NULL || colon == listen || colon[1] == '\0') {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "\"%s\" is not IPV4-ADDRESS:PORT",
                           listen != NULL ? listen : "");
    }
    if ((size_t)(colon - listen) >= hostlen) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "\"%s\": the address is too long", listen);
    }
    for (p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "\"%s\": port \"%s\" is not a number in [0, 65535]", listen,
                               colon + 1);
        }
        v = v * 10 + (*p - '0');
        if (v > 65535) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "\"%s\": port %s out of range [0, 65535]", listen, colon + 1);
        }
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (inet_pton(AF_INET, host, &a) != 1) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "\"%s\": \"%s\" is not an IPv4 address",
                           listen, host);
    }
    *port = (int)v;
    return RECD_OK;
}
