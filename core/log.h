/*
 * log.h — one line per record on stderr with <N> syslog priority prefixes (sd-daemon(3)),
 * levels per subsystem, and rate limiting of repeated per-record messages.
 */
#ifndef RECD_LOG_H
#define RECD_LOG_H

#include <stdarg.h>

enum recd_log_level {        /* values are syslog priorities */
                      RECD_LOG_ERR = 3,
                      RECD_LOG_WARNING = 4,
                      RECD_LOG_NOTICE = 5,
                      RECD_LOG_INFO = 6,
                      RECD_LOG_DEBUG = 7
};

/* Subsystems with their own level. */
enum recd_log_sub {
    RECD_LOG_MAIN = 0,
    RECD_LOG_KAFKA,
    RECD_LOG_STATE,
    RECD_LOG_OPERATOR,
    RECD_LOG_CONFIG,
    RECD_LOG_CODEC,
    RECD_LOG_METRICS,
    RECD_LOG__N
};

/* Parse "err", "warning", "notice", "info", "debug" -> level; -1 if unknown. */
int recd_log_level_parse(const char *name);
const char *recd_log_level_name(int level);
const char *recd_log_sub_name(int sub);

void recd_log_set_level(int sub, int level);          /* sub < 0: all subsystems */
int recd_log_enabled(int sub, int level);
/* Rate limit for recd_log_rl: at most `burst` lines per key per `interval_ms`. */
void recd_log_set_ratelimit(int interval_ms, int burst);

void recd_log(int sub, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void recd_vlog(int sub, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Rate-limited variant for per-record messages; `key` groups messages (e.g. the error class).
 * When a window closes with suppressed lines, one line reports how many were suppressed. */
void recd_log_rl(int sub, int level, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Start-up progress. Long loads (a model snapshot, the replay of a log) call recd_progress()
 * as they go; at most every 250 ms it formats the text and hands it to the handler the process
 * installed (none: nothing happens). The daemon's handler extends systemd's start timeout and
 * sets STATUS= (daemon.c). Not thread-safe: called from the thread that starts the pipeline. */
typedef void (*recd_progress_fn)(void *ctx, const char *status);
void recd_progress_set(recd_progress_fn fn, void *ctx);
void recd_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define RLOG_ERR(sub, ...)    recd_log((sub), RECD_LOG_ERR, __VA_ARGS__)
#define RLOG_WARN(sub, ...)   recd_log((sub), RECD_LOG_WARNING, __VA_ARGS__)
#define RLOG_NOTICE(sub, ...) recd_log((sub), RECD_LOG_NOTICE, __VA_ARGS__)
#define RLOG_INFO(sub, ...)   recd_log((sub), RECD_LOG_INFO, __VA_ARGS__)
#define RLOG_DEBUG(sub, ...)                              \
    do {                                                  \
        if (recd_log_enabled((sub), RECD_LOG_DEBUG))      \
            recd_log((sub), RECD_LOG_DEBUG, __VA_ARGS__); \
    } while (0)

#endif
