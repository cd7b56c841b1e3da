/*
 * fuzz_common.h — helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * A broken invariant is reported with fuzz_fail(), which prints the message and aborts: libFuzzer
 * then treats the input like any other crash (saves it as crash-<sha1> and stops).
 */
#ifndef RECD_FUZZ_COMMON_H
#define RECD_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef RECD_SOURCE_DIR
#error "RECD_SOURCE_DIR must be defined (the source tree)"
#endif

__attribute__((noreturn, format(printf, 1, 2))) static void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("\nFUZZ INVARIANT BROKEN: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define FUZZ_CHECK(cond, ...)       \
    do {                            \
        if (!(cond)) {              \
            fuzz_fail(__VA_ARGS__); \
        }                           \
    } while (0)

#endif
