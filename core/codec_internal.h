/*
 * codec_internal.h — private to the codec (codec.c, codec_schema.c, codec_decode.c,
 * codec_encode.c): limits, the reader schemas' expected layout, the decoder and codec types,
 * and the functions the codec's files share. Not for use outside them; the API is codec.h.
 */
#ifndef RECD_CODEC_INTERNAL_H
#define RECD_CODEC_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "recd.h"
#include "event.h"
#include "codec.h"

/* Reader schemas, compiled in from schemas/NAME.avsc by schemas/embed.cmake. */
extern const char recd_schema_click[];
extern const char recd_schema_purchase[];
extern const char recd_schema_query[];
extern const char recd_schema_item[];
extern const char recd_schema_user_deletion[];
extern const char recd_schema_recommendations[];

#define CODEC_MAX_VALUE       (4u * 1024u * 1024u)  /* larger values are "too_large" */
#define CODEC_MAX_ELEMS       65536                 /* array items + map entries per value */
#define CODEC_MAX_DEPTH       64 /* schema nesting walked (recursive schemas) */
#define CODEC_MAX_FIELDS      16 /* top-level fields of a reader schema */
#define CODEC_MAX_SCHEMA_FILE (1024 * 1024)
#define CONFLUENT_HDR         5

/* ---- reader schema layout ----------------------------------------------------------------
 * Fields are copied out by index, so the expected layout of every reader schema is spelled out
 * here (the indexes) and in codec_schema.c (the field tables), and checked against the
 * compiled-in schema in recd_codec_new (a reordered or retyped field fails loudly at startup
 * rather than decoding garbage). */

enum {
    CF_EVENT_ID,
    CF_USER_ID,
    CF_ITEM_ID,
    CF_TS,
    CF_KIND,
    CF_SESSION_ID,
    CF_SOURCE,
    CF_QUERY_ID,
    CF_CONTEXT,
    CF__N
};
enum { PF_EVENT_ID, PF_USER_ID, PF_ORDER_ID, PF_TS, PF_LINES, PF_CURRENCY, PF__N };
enum { PL_ITEM_ID, PL_QUANTITY, PL_UNIT_PRICE, PL__N };
enum { QF_EVENT_ID, QF_USER_ID, QF_TS, QF_TEXT, QF_SHOWN, QF__N };
enum {
    IF_ITEM_ID,
    IF_TITLE,
    IF_DESCRIPTION,
    IF_CATEGORY,
    IF_BRAND,
    IF_PRICE,
    IF_IN_STOCK,
    IF_UPDATED_TS,
    IF__N
};
enum { DF_USER_ID, DF_REQUESTED_TS, DF_REASON, DF__N };
enum { RF_USER_ID, RF_SEQ, RF_MODEL_VERSION, RF_GENERATED_TS, RF_TRIGGER, RF_ITEMS, RF__N };
enum { RI_ITEM_ID, RI_SCORE, RI_REASON, RI_BECAUSE, RI__N };

struct fspec {
    const char *name;
    avro_type_t type;
    avro_type_t sub; /* union: type of branch 1 (branch 0 is null);
                                     array/map: item type; else unused */
    const struct fspec *rec; /* array of records: the item record's fields */
    size_t nrec;
    const char *const *symbols; /* enum: symbols, in the order of the C enum */
    size_t nsymbols;
};

/* The reader schema of each kind with its expected layout (codec_schema.c). */
struct codec_kind {
    const char *json;
    const struct fspec *spec;
    size_t nspec;
};
extern const struct codec_kind codec_kinds[RECD_KIND__N];

/* ---- types ------------------------------------------------------------------------------ */

/* A decoder for one writer schema of one kind. */
struct wdec {
    int kind;
    char *origin; /* owned: "reader schema" or the writer file, for errors */
    avro_schema_t wschema; /* owned ref: the writer schema (walked by the pre-check) */
    avro_schema_t eschema; /* owned ref: reader schema minus the fields the writer
                                          lacks (== the reader schema when it has them all) */
    avro_value_iface_t *eclass; /* owned: generic class of eschema */
    avro_value_iface_t *resolver; /* owned: resolved writer wschema -> eschema; NULL when
                                          the writer schema equals eschema */
    avro_value_t evalue; /* owned: reused decode target, an eschema instance */
    avro_value_t rvalue; /* owned: resolved-writer value wrapping evalue (only
                                          with a resolver) */
    int renew_rvalue; /* recreate rvalue before each read (see has_map) */
    int nfields; /* reader schema top-level fields */
    int fidx[CODEC_MAX_FIELDS]; /* reader field -> index in eschema; -1: use dflt */
    avro_value_iface_t *dclass[CODEC_MAX_FIELDS]; /* owned: class of dflt[i] (when fidx < 0) */
    avro_value_t dflt[CODEC_MAX_FIELDS]; /* owned: default of a field the writer lacks */
    int *emap[CODEC_MAX_FIELDS]; /* owned: enum field: writer index -> reader index (-1:
                                          symbol unknown to the reader, no default); NULL:
                                          identity */
    int emap_n[CODEC_MAX_FIELDS];
};

struct idmap {
    int32_t id;
    struct wdec *dec; /* owned */
};

struct recd_codec {
    int format; /* enum recd_wire_format */
    avro_schema_t rschema[RECD_KIND__N]; /* owned refs: reader schemas */
    json_t *rjson[RECD_KIND__N]; /* owned: reader schema JSON (defaults) */
    struct wdec *plain[RECD_KIND__NINPUT]; /* owned: plain-format decoder per input kind */
    struct wdec *recs; /* owned: Recommendations decoder */
    struct idmap *ids; /* owned, sorted by id */
    size_t n_ids;
    avro_value_iface_t *encclass[RECD_KIND__N]; /* owned: generic classes for encoding */
    avro_value_t enc[RECD_KIND__N]; /* owned: reused encode values */
    avro_reader_t reader; /* owned: memory reader, re-pointed per record */
    avro_writer_t writer; /* owned: memory writer, re-pointed per record */
    size_t str_cap;       /* decoded strings copied up to this many bytes (0: whole) */
};

/* An empty buffer for avro-c's memory reader and writer between records (codec.c). */
extern const char codec_dummy_buf[1];

/* ---- shared by the codec's files ---------------------------------------------------------- */
/* codec_schema.c */
avro_schema_t codec_skip_links(avro_schema_t s);
int codec_check_fields(avro_schema_t rec, const struct fspec *spec, size_t nspec, const char *file,
                       char *errstr, size_t errlen);
int codec_fill_default(avro_value_t *v, json_t *j, int depth);
/* codec.c */
int codec_wdec_new_rvalue(struct wdec *d);

#endif
