/*
 * embed.h — the embed operator's service "embed": text encoders behind one interface, the
 * item-vector matrix (row = catalogue index, L2-normalised, zero rows for items without text)
 * and a cached query encoder.
 *
 * Encoders: "hash" (default; signed feature hashing of words and character trigrams, no
 * model file) and "minilm" (the pretrained all-MiniLM-L6-v2 sentence encoder in C on
 * OpenBLAS, models/minilm). Both produce L2-normalised vectors of recd_embed_dim().
 */
#ifndef RECD_EMBED_H
#define RECD_EMBED_H

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

struct recd_embed;
size_t recd_embed_dim(const struct recd_embed *e);
/* The item matrix: rows x dim floats (row i = catalogue index i); rows may be fewer than the
 * catalogue (items seen after the last text). Borrowed until the end of the batch. */
const float *recd_embed_items(const struct recd_embed *e, size_t *rows);
/* Whether any item has a text vector. */
int recd_embed_has_items(const struct recd_embed *e);
/* Encode a query (cached by text). out has dim floats. */
int recd_embed_query(struct recd_embed *e, const char *text, float *out);

#endif
