/*
 * hashenc.c — the hashing text encoder: lower-cased ASCII words (bytes >= 0x80 stay inside
 * words, so UTF-8 text is kept), each word and each of its character trigrams (with '#'
 * boundary marks) hashed with xxh3 into one of `dim` buckets with a sign from the hash
 * (signed feature hashing, Weinberger et al. 2009); words weigh 1, trigrams 0.5; the result
 * is L2-normalised. Needs no model file; deterministic for a given seed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "encoder.h"
#include "recd.h"

struct hashenc {
    size_t dim;
    uint64_t seed;
};

static void add(const struct hashenc *h, float *v, const char *p, size_t n, float w)
{
    uint64_t x = XXH3_64bits_withSeed(p, n, h->seed);

    v[x % h->dim] += (x >> 63) ? -w : w;
}

static void encode_one(const struct hashenc *h, const char *text, float *v)
{
    char word[66];
    size_t n = 0, i;
    double norm = 0;

    memset(v, 0, h->dim * sizeof(float));
    for (const char *p = text;; p++) {
        unsigned char c = (unsigned char)*p;
        int in_word = c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z');

        if (in_word && n < 64) {
            if (n == 0) {
                word[n++] = '#';
            }
            word[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            continue;
        }
        if (in_word) {
            continue;   /* overlong word: the first 63 bytes count */
        }
        if (n > 1) {
            word[n++] = '#';
            add(h, v, word + 1, n - 2, 1.0f);
            for (i = 0; i + 3 <= n; i++) {
                add(h, v, word + i, 3, 0.5f);
            }
        }
        n = 0;
        if (c == '\0') {
            break;
        }
    }
    for (i = 0; i < h->dim; i++) {
        norm += (double)v[i] * v[i];
    }
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));

        for (i = 0; i < h->dim; i++) {
            v[i] *= inv;
        }
    }
}

static int hash_encode(void *ctx, const char *const *texts, size_t n, float *out, char *errstr,
                       size_t errlen)
{
    const struct hashenc *h = ctx;

    for (size_t i = 0; i < n; i++) {
        encode_one(h, texts[i] ? texts[i] : "", out + i * h->dim);
    }
    return RECD_OK;
}

static void hash_destroy(void *ctx)
{
    free(ctx);
}

int recd_hash_encoder_new(size_t dim, uint64_t seed, struct recd_encoder *out)
{
    struct hashenc *h = calloc(1, sizeof(*h));

    if (h == NULL || dim == 0) {
        free(h);
        return RECD_ENOMEM;
    }
    h->dim = dim;
    h->seed = seed;
    out->name = "hash";
    out->dim = dim;
    out->ctx = h;
    out->encode = hash_encode;
    out->destroy = hash_destroy;
    return RECD_OK;
}
