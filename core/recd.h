/*
 * recd.h — the one error vocabulary shared by every unit of recd, and small helpers
 * every file needs.
 *
 * Convention (see docs/ARCHITECTURE.md "Errors"):
 *   - functions that can fail return int: RECD_OK (0) or a negative RECD_E* code;
 *   - a function that fails across a unit boundary also writes a human sentence into a
 *     caller-supplied errstr buffer (char *errstr, size_t errlen), like librdkafka does;
 *   - resources are released with goto cleanup paths; every type has a _new/_destroy pair
 *     (or _open/_close), and each header states who owns what.
 */
#ifndef RECD_H
#define RECD_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

enum recd_err {
    RECD_OK = 0,
    RECD_ERR = -1,  /* unspecified failure (errstr says more) */
    RECD_EINVAL = -2,  /* invalid argument or value */
    RECD_ENOMEM = -3,  /* allocation failed */
    RECD_EIO = -4,  /* file / disk error */
    RECD_EDECODE = -5,  /* input record cannot be decoded */
    RECD_EVALID = -6,  /* input record decoded but failed validation */
    RECD_ECONFIG = -7,  /* bad configuration */
    RECD_ESTATE = -8,  /* state store error */
    RECD_EKAFKA = -9,  /* Kafka client error */
    RECD_ELOCKED = -10, /* resource held by another process */
    RECD_ENOENT = -11, /* not found (not necessarily an error) */
    RECD_EAGAIN = -12  /* try again later */
};

/* Static description of an error code; never NULL. */
const char *recd_strerror(int err);

/* Format into errstr (if non-NULL and errlen > 0); always returns err, so callers can write
 * `return recd_seterr(errstr, errlen, RECD_EINVAL, "bad %s", x);` */
int recd_seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Exit codes (sysexits.h meanings). */
#define RECD_EXIT_OK       0
#define RECD_EXIT_FAILURE  1
#define RECD_EXIT_USAGE    64
#define RECD_EXIT_SOFTWARE 70
#define RECD_EXIT_CONFIG   78

#define RECD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RECD_UNUSED(x)     ((void)(x))

/* Allocation helpers: return NULL on failure like libc, callers check. */
char *recd_strdup(const char *s);
char *recd_strndup(const char *s, size_t n);

/* Monotonic and wall clock in ms / ns. Wall clock is never used for processing logic
 * (determinism), only for metrics, logs and the generated_ts of published records. */
int64_t recd_now_mono_ns(void);
/* CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID), in ns; 0 if unavailable.
 * Unlike wall time, it leaves out the time other processes took the core. */
int64_t recd_now_thread_cpu_ns(void);
int64_t recd_now_wall_ms(void);
/* Remove a file or a directory tree (symbolic links are removed, not followed). RECD_OK, also
 * when path does not exist; RECD_EIO with errno set when something could not be removed. */
int recd_rmtree(const char *path);

#endif /* RECD_H */
