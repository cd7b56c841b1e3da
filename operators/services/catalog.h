/*
 * services/catalog.h — service "catalog": the item dictionary (item id <-> dense index,
 * persisted, assigned in order of first appearance in the stream) and each item's metadata
 * from the catalogue.
 *
 * Retirement: an item removed from the catalogue and unused for retire_removed_days leaves
 * the dictionary, and its index is later given to a new item; the event it is retired before
 * carries its index and id (recd_event.retired), and operators that keep anything per item
 * drop it there.
 *
 * Offered by: sessionize (operators/sessionize/sessionize.c implements everything declared
 * here). Looked up by: embed, sgd, rerank (recd_services_get(env->services, "catalog")).
 *
 * Ownership: the catalogue and everything returned are owned by the sessionize operator; the
 * struct recd_catalog pointer stays valid for the operator's lifetime (operators are finalised
 * in reverse chain order, so for every operator after it); meta pointers stay valid until the
 * next catalogue change.
 */
#ifndef RECD_SERVICES_CATALOG_H
#define RECD_SERVICES_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct recd_catalog;

struct recd_item_meta {
    float price;          /* 0 when unknown */
    uint32_t cat_leaf;    /* hash of the full category path (0: unknown) */
    uint32_t cat_top;     /* hash of the top-level category (0: unknown) */
    uint8_t in_stock;     /* 1 unless the catalogue says otherwise */
    uint8_t removed;      /* tombstoned in the catalogue */
    uint8_t known;        /* a catalogue record was seen */
    uint8_t pad;
};

int32_t recd_catalog_find(const struct recd_catalog *c, const char *item_id);   /* -1: unknown */
/* NULL for an index out of range, and for a retired item's index while it waits for a new item
 * (operators.sessionize.retire_removed_days; its meta reads removed). */
const char *recd_catalog_item_id(const struct recd_catalog *c, int32_t idx);
size_t recd_catalog_size(const struct recd_catalog *c);
/* Items some catalogue record has listed (meta->known; removed ones included): 0 while no
 * catalogue record was ever read. */
size_t recd_catalog_listed(const struct recd_catalog *c);
const struct recd_item_meta *recd_catalog_meta(const struct recd_catalog *c, int32_t idx);
/* Hash used for category names (so other operators can match configured categories). */
uint32_t recd_category_hash(const char *name);

#endif
