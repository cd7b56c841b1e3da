/*
 * log.c — stderr logging for journald: every record is one line "<N>subsystem: message"
 * where N is the syslog priority (sd-daemon(3) prefixes). Levels are per subsystem.
 * Per-record messages go through recd_log_rl(), which lets `burst` lines per key through in
 * each window of `interval_ms` and then reports how many it suppressed.
 *
 * Thread-safe: librdkafka's log callback calls in from its own threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "recd.h"

static int levels[RECD_LOG__N] = { RECD_LOG_INFO, RECD_LOG_INFO, RECD_LOG_INFO, RECD_LOG_INFO,
                                   RECD_LOG_INFO, RECD_LOG_INFO, RECD_LOG_INFO };
static const char *const sub_names[RECD_LOG__N] = { "main",   "kafka", "state",  "operator",
                                                    "config", "codec", "metrics" };
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

#define RL_SLOTS 64
struct rl_slot {
    char key[48];
    int64_t window_start_ms;
    int count;          /* lines in the current window */
    long suppressed;    /* lines dropped in the current window */
};
static struct rl_slot rl[RL_SLOTS];
static int rl_interval_ms = 10000;
static int rl_burst = 10;

int recd_log_level_parse(const char *name)
{
    static const struct {
        const char *n;
        int l;
    } map[] = { { "err", RECD_LOG_ERR },         { "error", RECD_LOG_ERR },
                { "warning", RECD_LOG_WARNING }, { "warn", RECD_LOG_WARNING },
                { "notice", RECD_LOG_NOTICE },   { "info", RECD_LOG_INFO },
                { "debug", RECD_LOG_DEBUG } };
    size_t i;

    for (i = 0; name != NULL && i < RECD_ARRAY_SIZE(map); i++) {
        if (strcmp(name, map[i].n) == 0) {
            return map[i].l;
        }
    }
    return -1;
}

const char *recd_log_level_name(int level)
{
    switch (level) {
    case RECD_LOG_ERR:     return "err";
    case RECD_LOG_WARNING: return "warning";
    case RECD_LOG_NOTICE:  return "notice";
    case RECD_LOG_INFO:    return "info";
    case RECD_LOG_DEBUG:   return "debug";
    default:               return "unknown";
    }
}

const char *recd_log_sub_name(int sub)
{
    return (sub >= 0 && sub < RECD_LOG__N) ? sub_names[sub] : "?";
}

void recd_log_set_level(int sub, int level)
{
    int i;

    pthread_mutex_lock(&log_lock);
    if (sub < 0) {
        for (i = 0; i < RECD_LOG__N; i++) {
            levels[i] = level;
        }
    } else if (sub < RECD_LOG__N) {
        levels[sub] = level;
    }
    pthread_mutex_unlock(&log_lock);
}

int recd_log_enabled(int sub, int level)
{
    return sub >= 0 && sub < RECD_LOG__N &&
        level <= __atomic_load_n(&levels[sub], __ATOMIC_RELAXED);
}

void recd_log_set_ratelimit(int interval_ms, int burst)
{
    pthread_mutex_lock(&log_lock);
    rl_interval_ms = interval_ms;
    rl_burst = burst;
    pthread_mutex_unlock(&log_lock);
}

static void emit_locked(int sub, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void emit_locked(int sub, int level, const char *fmt, va_list ap)
{
    char line[2048];
    int n;

    n = snprintf(line, sizeof(line), "<%d>%s: ", level, recd_log_sub_name(sub));
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    /* one record = one line: newlines inside a message become spaces */
    for (char *p = line; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    fprintf(stderr, "%s\n", line);
}

void recd_vlog(int sub, int level, const char *fmt, va_list ap)
{
    if (!recd_log_enabled(sub, level)) {
        return;
    }
    pthread_mutex_lock(&log_lock);
    emit_locked(sub, level, fmt, ap);
    pthread_mutex_unlock(&log_lock);
}

void recd_log(int sub, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    recd_vlog(sub, level, fmt, ap);
    va_end(ap);
}

static void emitf_locked(int sub, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emitf_locked(int sub, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit_locked(sub, level, fmt, ap);
    va_end(ap);
}

void recd_log_rl(int sub, int level, const char *key, const char *fmt, ...)
{
    va_list ap;
    uint32_t h = 2166136261u;
    struct rl_slot *s;
    int64_t now = recd_now_mono_ns() / 1000000;

    if (!recd_log_enabled(sub, level)) {
        return;
    }
    for (const char *p = key; *p; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    pthread_mutex_lock(&log_lock);
    s = &rl[h % RL_SLOTS];
    if (strncmp(s->key, key, sizeof(s->key) - 1) != 0 ||
        now - s->window_start_ms >= rl_interval_ms) {
        if (s->suppressed > 0) {
            emitf_locked(sub, RECD_LOG_NOTICE,
                         "%ld similar messages (%s) suppressed in the last %d ms", s->suppressed,
                         s->key, rl_interval_ms);
        }
        snprintf(s->key, sizeof(s->key), "%s", key);
        s->window_start_ms = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (s->count < rl_burst) {
        s->count++;
        va_start(ap, fmt);
        emit_locked(sub, level, fmt, ap);
        va_end(ap);
    } else {
        s->suppressed++;
    }
    pthread_mutex_unlock(&log_lock);
}

/* ---- start-up progress ------------------------------------------------------------------ */

static recd_progress_fn progress_fn;
static void *progress_ctx;
static int64_t progress_last_ns;

void recd_progress_set(recd_progress_fn fn, void *ctx)
{
    progress_fn = fn;
    progress_ctx = ctx;
    progress_last_ns = 0;
}

void recd_progress(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int64_t now;

    if (progress_fn == NULL) {
        return;
    }
    now = recd_now_mono_ns();
    if (progress_last_ns != 0 && now - progress_last_ns < 250000000) {
        return;
    }
    progress_last_ns = now;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    progress_fn(progress_ctx, buf);
}
