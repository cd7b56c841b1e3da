/*
 * services/embed.h — service "embed": the item-vector matrix (row = catalogue index,
 * L2-normalised, zero rows for items without text) and a cached query encoder. The vectors
 * are L2-normalised and of recd_embed_dim() whichever encoder the embed operator runs ("hash"
 * or "minilm"; the encoders themselves are private to operators/embed/).
 *
 * Offered by: embed (operators/embed/embed.c implements everything declared here). Looked up
 * by: sgd, rerank, both optionally (recd_services_get(env->services, "embed") may be NULL when
 * the chain has no embed operator).
 *
 * Ownership: the struct recd_embed is owned by the embed operator and stays valid for its
 * lifetime (operators are finalised in reverse chain order, so for every operator after it);
 * the item matrix is borrowed until the end of the batch.
 */
#ifndef RECD_SERVICES_EMBED_H
#define RECD_SERVICES_EMBED_H

#include <stddef.h>

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
