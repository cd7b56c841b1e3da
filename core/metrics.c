/* metrics.c — see metrics.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
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
    int type;     /* enum recd_metric_type; -1: used without a declaration (rendered untyped) */
    char *help;
};

#define MAX_DIRWATCH 4
/* A directory whose size on disk is a gauge, computed at scrape time (recd_metrics_watch_dir). */
struct dirwatch {
    char *name;          /* owned */
    char *dir;           /* owned */
    int64_t interval_ns;
    int64_t last_ns;     /* 0: never computed */
};

struct recd_metrics {
    pthread_mutex_t lock;
    struct recd_strmap *series;     /* "name{labels}" -> struct series */
    struct recd_strmap *families;   /* name -> struct family */
    int64_t heartbeat_ns;
    int ready;
    char ready_why[128];
    struct dirwatch dirs[MAX_DIRWATCH];
    size_t n_dirs;
    double start_time_s; /* process_start_time_seconds, read once */
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
    recd_metrics_declare(m, "recd_ready", RECD_M_GAUGE,
                         "1 when recd is ready (/readyz answers 200: state open, partitions "
                         "assigned, producer healthy), 0 otherwise.");
    recd_metrics_set(m, "recd_ready", NULL, 0);
    return m;
}

void recd_metrics_destroy(struct recd_metrics *m)
{
    if (m == NULL) {
        return;
    }
    recd_strmap_destroy(m->series);
    recd_strmap_destroy(m->families);
    for (size_t i = 0; i < m->n_dirs; i++) {
        free(m->dirs[i].name);
        free(m->dirs[i].dir);
    }
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
    if (recd_strmap_get(m->families, name) == NULL) {
        /* every family is declared (HELP/TYPE) before use: tell the developer once */
        struct family *f = calloc(1, sizeof(*f));

        if (f != NULL) {
            f->type = -1;
            if (recd_strmap_put(m->families, name, f) != RECD_OK) {
                family_free(f);
            }
        }
        RLOG_WARN(RECD_LOG_METRICS, "metric %s used without recd_metrics_declare", name);
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

void recd_metrics_touch(struct recd_metrics *m, const char *name, const char *labels)
{
    struct series *s;
    struct family *f;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    s = get_series(m, name, labels);
    f = recd_strmap_get(m->families, name);
    if (s && f && f->type == RECD_M_HISTOGRAM) {
        s->hist = 1;
    }
    pthread_mutex_unlock(&m->lock);
}

void recd_metrics_remove(struct recd_metrics *m, const char *name, const char *labels)
{
    char key[512];

    if (m == NULL) {
        return;
    }
    snprintf(key, sizeof(key), "%s{%s}", name, labels ? labels : "");
    pthread_mutex_lock(&m->lock);
    recd_strmap_del(m->series, key);
    pthread_mutex_unlock(&m->lock);
}

int recd_metrics_watch_dir(struct recd_metrics *m, const char *name, const char *dir,
                           int min_interval_s)
{
    struct dirwatch *w;
    int rc = RECD_OK;

    pthread_mutex_lock(&m->lock);
    if (m->n_dirs == MAX_DIRWATCH) {
        rc = RECD_EINVAL;
    } else {
        w = &m->dirs[m->n_dirs];
        w->name = recd_strdup(name);
        w->dir = recd_strdup(dir);
        w->interval_ns = (int64_t)(min_interval_s > 0 ? min_interval_s : 0) * 1000000000LL;
        w->last_ns = 0;
        if (w->name == NULL || w->dir == NULL) {
            free(w->name);
            free(w->dir);
            rc = RECD_ENOMEM;
        } else {
            m->n_dirs++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Bytes allocated on disk (st_blocks, as du counts them) under the directory open as dfd
 * (closed here). Files that vanish while walking (compaction, WAL recycling) are skipped. */
static uint64_t dir_disk_bytes(int dfd, int depth)
{
    DIR *dp = fdopendir(dfd);
    struct dirent *de;
    uint64_t total = 0;
    struct stat st;

    if (dp == NULL) {
        close(dfd);
        return 0;
    }
    while ((de = readdir(dp)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub;

            total += (uint64_t)st.st_blocks * 512u;
            if (depth < 16 &&
                (sub = openat(dirfd(dp), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
                total += dir_disk_bytes(sub, depth + 1);
            }
        } else if (S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_blocks * 512u;
        }
    }
    closedir(dp);
    return total;
}

/* Scrape time: the watched directories whose value is older than their interval. */
static void collect_dirs(struct recd_metrics *m)
{
    for (size_t i = 0;; i++) {
        char name[128], dir[4096];
        int64_t now = recd_now_mono_ns();
        int due = 0, fd;

        pthread_mutex_lock(&m->lock);
        if (i >= m->n_dirs) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        if (m->dirs[i].last_ns == 0 || now - m->dirs[i].last_ns >= m->dirs[i].interval_ns) {
            m->dirs[i].last_ns = now;
            snprintf(name, sizeof(name), "%s", m->dirs[i].name);
            snprintf(dir, sizeof(dir), "%s", m->dirs[i].dir);
            due = 1;
        }
        pthread_mutex_unlock(&m->lock);
        if (!due) {
            continue;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            struct stat st;
            uint64_t total = 0;

            if (fstat(fd, &st) == 0) {
                total = (uint64_t)st.st_blocks * 512u;
            }
            total += dir_disk_bytes(fd, 0);
            recd_metrics_set(m, name, NULL, (double)total);
        }
    }
}

/* Scrape time: the process_* series of the Prometheus client libraries, from /proc/self. */
static void collect_process(struct recd_metrics *m)
{
    static const struct {
        const char *name;
        int type;
        const char *help;
    } fam[] = {
        { "process_cpu_seconds_total", RECD_M_COUNTER,
          "Total user and system CPU time spent in seconds." },
        { "process_open_fds", RECD_M_GAUGE, "Number of open file descriptors." },
        { "process_max_fds", RECD_M_GAUGE, "Maximum number of open file descriptors." },
        { "process_virtual_memory_bytes", RECD_M_GAUGE, "Virtual memory size in bytes." },
        { "process_resident_memory_bytes", RECD_M_GAUGE, "Resident memory size in bytes." },
        { "process_start_time_seconds", RECD_M_GAUGE,
          "Start time of the process since unix epoch in seconds." },
    };
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[2048], *p;
    unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
    long long rss = 0;
    double start_s = 0;
    struct rlimit rl;
    size_t n;
    FILE *f;
    DIR *dp;
    int ok = 0;

    pthread_mutex_lock(&m->lock);
    if (recd_strmap_get(m->families, fam[0].name) == NULL) {
        pthread_mutex_unlock(&m->lock);
        for (n = 0; n < sizeof(fam) / sizeof(fam[0]); n++) {
            recd_metrics_declare(m, fam[n].name, fam[n].type, fam[n].help);
        }
    } else {
        pthread_mutex_unlock(&m->lock);
    }
    if (tck <= 0) {
        tck = 100;
    }
    if (page <= 0) {
        page = 4096;
    }
    /* /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')', so the
     * fields are counted from the last ')': utime 14, stime 15, starttime 22, vsize 23, rss 24 */
    f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        p = strrchr(buf, ')');
        if (p != NULL &&
            sscanf(p + 1,
                   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                   "%*d %llu %llu %lld",
                   &utime, &stime, &starttime, &vsize, &rss) == 5) {
            ok = 1;
        }
    }
    if (ok) {
        recd_metrics_set(m, "process_cpu_seconds_total", NULL,
                         (double)(utime + stime) / (double)tck);
        recd_metrics_set(m, "process_virtual_memory_bytes", NULL, (double)vsize);
        recd_metrics_set(m, "process_resident_memory_bytes", NULL, (double)rss * (double)page);
        pthread_mutex_lock(&m->lock);
        if (m->start_time_s == 0) {
            /* boot time (/proc/stat btime) + the process's start in ticks after boot */
            f = fopen("/proc/stat", "r");
            if (f != NULL) {
                unsigned long long btime;

                while (fgets(buf, sizeof(buf), f) != NULL) {
                    if (sscanf(buf, "btime %llu", &btime) == 1) {
                        m->start_time_s = (double)btime + (double)starttime / (double)tck;
                        break;
                    }
                }
                fclose(f);
            }
        }
        start_s = m->start_time_s;
        pthread_mutex_unlock(&m->lock);
    }
    if (start_s > 0) {
        recd_metrics_set(m, "process_start_time_seconds", NULL, start_s);
    }
    dp = opendir("/proc/self/fd");
    if (dp != NULL) {
        struct dirent *de;
        double nfd = 0;

        while ((de = readdir(dp)) != NULL) {
            if (de->d_name[0] != '.') {
                nfd++;
            }
        }
        closedir(dp);
        recd_metrics_set(m, "process_open_fds", NULL, nfd - 1); /* not the one reading it */
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        recd_metrics_set(m, "process_max_fds", NULL,
                         rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    }
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
    struct series *s;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->ready = ready;
    snprintf(m->ready_why, sizeof(m->ready_why), "%s", why ? why : "");
    s = get_series(m, "recd_ready", NULL);
    if (s) {
        s->value = ready ? 1 : 0;
    }
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

/* "# HELP name text", the text escaped as the exposition format wants (\\ and \\n). */
static void append_help(struct recd_buf *b, const char *name, const char *help)
{
    const char *h;

    appendf(b, "# HELP %s ", name);
    for (h = help ? help : ""; *h != '\0'; h++) {
        if (*h == '\\') {
            recd_buf_append(b, "\\\\", 2);
        } else if (*h == '\n') {
            recd_buf_append(b, "\\n", 2);
        } else {
            recd_buf_append(b, h, 1);
        }
    }
    recd_buf_append(b, "\n", 1);
}

static void fmt_num(char *out, size_t n, double v)
{
    if (isinf(v)) {
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, n, "%.0f", v);
    } else {
        /* the shortest of 15 or 17 significant digits that reads back as v (a timestamp such
         * as process_start_time_seconds needs more than 9) */
        snprintf(out, n, "%.15g", v);
        if (strtod(out, NULL) != v) {
            snprintf(out, n, "%.17g", v);
        }
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

    collect_process(m);
    collect_dirs(m);
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

            /* HELP and TYPE for every family; one used without a declaration is untyped
             * (the integration test ops_service.sh refuses those) */
            if (f != NULL && f->type >= 0) {
                append_help(&b, s->name, f->help);
                appendf(&b, "# TYPE %s %s\n", s->name,
                        f->type == RECD_M_COUNTER     ? "counter"
                            : f->type == RECD_M_GAUGE ? "gauge"
                                                      : "histogram");
            } else {
                appendf(&b, "# HELP %s undeclared\n# TYPE %s untyped\n", s->name, s->name);
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
