/*
 * encoder.h — private to the embed operator (embed.c, hashenc.c): text encoders behind one
 * interface. What embed offers the other operators is service "embed" (services/embed.h).
 *
 * Encoders: "hash" (default; signed feature hashing of words and character trigrams, no
 * model file) and "minilm" (the pretrained all-MiniLM-L6-v2 sentence encoder in C on
 * OpenBLAS, models/minilm). Both produce L2-normalised vectors of recd_embed_dim().
 */
#ifndef RECD_EMBED_ENCODER_H
#define RECD_EMBED_ENCODER_H

#include <stddef.h>
#include <stdint.h>

/* One encoder interface; the operator owns the instance. */
struct recd_encoder {
    const char *name;
    size_t dim;
    void *ctx;
    /* Encode n texts into out (n x dim, row-major, L2-normalised; zero vector for empty text). */
    int (*encode)(void *ctx, const char *const *texts, size_t n, float *out, char *errstr,
                  size_t errlen);
    void (*destroy)(void *ctx);
};

/* The hashing encoder (no model file). */
int recd_hash_encoder_new(size_t dim, uint64_t seed, struct recd_encoder *out);

#endif
