/* inline_sort.h — a quicksort with the comparison inlined, for the hot candidate sorts
 * (sessrec's list head, rerank's candidates). glibc's qsort calls the comparison through a
 * pointer and merge-sorts through a buffer; an insertion sort is quadratic: on the ~100-element
 * lists scored per user both were several percent of recd's time.
 *
 * RECD_DEFINE_SORT(name, type, before) defines `static void name(type *v, size_t n)` sorting v
 * so that before(&v[i], &v[j]) never holds for i > j; `before` must be a strict weak order.
 * Not stable: with a total order (distinct keys) the result equals any other correct sort's.
 *
 * RECD_DEFINE_SELECT(name, type, before) defines `static void name(type *v, uint32_t n,
 * uint32_t k)`, a partial selection (Hoare's quickselect, middle pivot): afterwards v[0..k-1]
 * are the k first of v under `before`, in no particular order. Deterministic: the same input
 * gives the same output. */
#ifndef RECD_INLINE_SORT_H
#define RECD_INLINE_SORT_H

#include <stddef.h>
#include <stdint.h>

#define RECD_DEFINE_SORT(name, type, before)                                                 \
    static void name(type *v, size_t n)                                                      \
    {                                                                                        \
        while (n > 16) {                                                                     \
            size_t mid = n / 2, i = 0, j = n - 1;                                            \
            type pv, t;                                                                      \
            /* median of three into v[mid]: a sorted or reversed input stays O(n log n) */   \
            if (before(&v[mid], &v[0])) {                                                    \
                t = v[mid];                                                                  \
                v[mid] = v[0];                                                               \
                v[0] = t;                                                                    \
            }                                                                                \
            if (before(&v[n - 1], &v[mid])) {                                                \
                t = v[mid];                                                                  \
                v[mid] = v[n - 1];                                                           \
                v[n - 1] = t;                                                                \
                if (before(&v[mid], &v[0])) {                                                \
                    t = v[mid];                                                              \
                    v[mid] = v[0];                                                           \
                    v[0] = t;                                                                \
                }                                                                            \
            }                                                                                \
            pv = v[mid];                                                                     \
            for (;;) { /* Hoare partition: [0, j] before-or-equal, (j, n) after-or-equal */  \
                while (before(&v[i], &pv))                                                   \
                    i++;                                                                     \
                while (before(&pv, &v[j]))                                                   \
                    j--;                                                                     \
                if (i >= j)                                                                  \
                    break;                                                                   \
                t = v[i];                                                                    \
                v[i] = v[j];                                                                 \
                v[j] = t;                                                                    \
                i++;                                                                         \
                j--;                                                                         \
            }                                                                                \
            if (j + 1 < n - j - 1) { /* recurse into the smaller part, loop on the larger */ \
                name(v, j + 1);                                                              \
                v += j + 1;                                                                  \
                n -= j + 1;                                                                  \
            } else {                                                                         \
                name(v + j + 1, n - j - 1);                                                  \
                n = j + 1;                                                                   \
            }                                                                                \
        }                                                                                    \
        for (size_t i = 1; i < n; i++) { /* insertion sort for short runs */                 \
            type x = v[i];                                                                   \
            size_t j = i;                                                                    \
            while (j > 0 && before(&x, &v[j - 1])) {                                         \
                v[j] = v[j - 1];                                                             \
                j--;                                                                         \
            }                                                                                \
            v[j] = x;                                                                        \
        }                                                                                    \
    }

#define RECD_DEFINE_SELECT(name, type, before)                                               \
    static void name(type *v, uint32_t n, uint32_t k)                                        \
    {                                                                                        \
        uint32_t lo = 0, hi = n;                                                             \
                                                                                             \
        while (hi - lo > 1 && k > lo && k < hi) {                                            \
            uint32_t mid = lo + (hi - lo) / 2, i, st;                                        \
            type piv = v[mid], t;                                                            \
            v[mid] = v[hi - 1]; /* the pivot to the end */                                   \
            v[hi - 1] = piv;                                                                 \
            st = lo;                                                                         \
            for (i = lo; i < hi - 1; i++) {                                                  \
                if (before(&v[i], &piv)) {                                                   \
                    t = v[i];                                                                \
                    v[i] = v[st];                                                            \
                    v[st] = t;                                                               \
                    st++;                                                                    \
                }                                                                            \
            }                                                                                \
            v[hi - 1] = v[st];                                                               \
            v[st] = piv;                                                                     \
            if (st == k || st + 1 == k) {                                                    \
                return;                                                                      \
            }                                                                                \
            if (st > k) {                                                                    \
                hi = st;                                                                     \
            } else {                                                                         \
                lo = st + 1;                                                                 \
            }                                                                                \
        }                                                                                    \
    }

#endif
