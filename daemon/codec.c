/*
 * codec.c — Avro decoding of input records and encoding of events and Recommendations
 * (codec.h), on avro-c's value API.
 *
 * Owns: the parsed reader schemas, one decoder per (kind, writer schema) with its resolver and
 * reusable values, the Confluent id table and one memory reader/writer. Everything is built
 * once in recd_codec_new; decoding a record parses no schema and allocates only inside avro-c
 * (its string buffers) and in the caller's arena.
 *
 * Four things avro-c 1.11 gets wrong or leaves out, and how this file makes up for them:
 *   1. It trusts the input. A declared string length is malloc'ed before it is checked against
 *      the buffer (a few garbage bytes can ask for gigabytes, and the buffer leaks when the
 *      read then fails), negative block counts overflow, and enum indexes are not range
 *      checked. So every value is first walked against its writer schema (walk_value): all
 *      lengths, counts, union branches and enum indexes are checked against the schema and
 *      the remaining input, and the record must end exactly at the end of the value. Only a
 *      value that passes is handed to avro_value_read.
 *   2. Its resolver does not implement default values: a reader field missing from the writer
 *      makes avro_resolved_writer_new fail. So the resolver targets an "effective" reader
 *      schema (the reader schema minus the defaulted fields the writer lacks), and the
 *      defaults, read from the reader schema JSON with jansson, are supplied when fields are
 *      copied out (struct wdec.fidx / .dflt).
 *   3. Its resolver copies enum indexes from writer to reader unchanged, whatever the symbols.
 *      So each enum field carries a writer-index -> reader-index map built by symbol name
 *      (unknown symbols take the reader enum's default).
 *   4. Its resolved map writer never clears its cache of child wrappers, so a reused resolved
 *      value slows down (and grows) with every record that has a map. Decoders whose writer
 *      schema has a map recreate their resolved value per record (has_map).
 */
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

#define CODEC_MAX_VALUE     (4u * 1024u * 1024u)  /* larger values are "too_large" */
#define CODEC_MAX_ELEMS     65536                 /* array items + map entries per value */
#define CODEC_MAX_DEPTH     64                    /* schema nesting walked (recursive schemas) */
#define CODEC_MAX_FIELDS    16                    /* top-level fields of a reader schema */
#define CODEC_MAX_SCHEMA_FILE (1024 * 1024)
#define CONFLUENT_HDR       5

/* ---- reader schema layout ----------------------------------------------------------------
 * Fields are copied out by index, so the expected layout of every reader schema is spelled out
 * here and checked against the compiled-in schema in recd_codec_new (a reordered or retyped
 * field fails loudly at startup rather than decoding garbage). */

enum { CF_EVENT_ID, CF_USER_ID, CF_ITEM_ID, CF_TS, CF_KIND, CF_SESSION_ID, CF_SOURCE,
       CF_QUERY_ID, CF_CONTEXT, CF__N };
enum { PF_EVENT_ID, PF_USER_ID, PF_ORDER_ID, PF_TS, PF_LINES, PF_CURRENCY, PF__N };
enum { PL_ITEM_ID, PL_QUANTITY, PL_UNIT_PRICE, PL__N };
enum { QF_EVENT_ID, QF_USER_ID, QF_TS, QF_TEXT, QF_SHOWN, QF__N };
enum { IF_ITEM_ID, IF_TITLE, IF_DESCRIPTION, IF_CATEGORY, IF_BRAND, IF_PRICE, IF_IN_STOCK,
       IF_UPDATED_TS, IF__N };
enum { DF_USER_ID, DF_REQUESTED_TS, DF_REASON, DF__N };
enum { RF_USER_ID, RF_SEQ, RF_MODEL_VERSION, RF_GENERATED_TS, RF_TRIGGER, RF_ITEMS, RF__N };
enum { RI_ITEM_ID, RI_SCORE, RI_REASON, RI_BECAUSE, RI__N };

struct fspec {
    const char *name;
    avro_type_t type;
    avro_type_t sub;              /* union: type of branch 1 (branch 0 is null);
                                     array/map: item type; else unused */
    const struct fspec *rec;      /* array of records: the item record's fields */
    size_t nrec;
    const char *const *symbols;   /* enum: symbols, in the order of the C enum */
    size_t nsymbols;
};

static const char *const click_kind_symbols[] = { "VIEW", "CART" };
static const char *const click_source_symbols[] = { "BROWSE", "SEARCH", "RECS" };

static const struct fspec click_spec[CF__N] = {
    { "event_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "user_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "item_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "kind", AVRO_ENUM, 0, NULL, 0, click_kind_symbols, 2 },
    { "session_id", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
    { "source", AVRO_ENUM, 0, NULL, 0, click_source_symbols, 3 },
    { "query_id", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
    { "context", AVRO_MAP, AVRO_STRING, NULL, 0, NULL, 0 },
};
static const struct fspec line_spec[PL__N] = {
    { "item_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "quantity", AVRO_INT32, 0, NULL, 0, NULL, 0 },
    { "unit_price", AVRO_DOUBLE, 0, NULL, 0, NULL, 0 },
};
static const struct fspec purchase_spec[PF__N] = {
    { "event_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "user_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "order_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "lines", AVRO_ARRAY, AVRO_RECORD, line_spec, PL__N, NULL, 0 },
    { "currency", AVRO_STRING, 0, NULL, 0, NULL, 0 },
};
static const struct fspec query_spec[QF__N] = {
    { "event_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "user_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "text", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "shown_item_ids", AVRO_UNION, AVRO_ARRAY, NULL, 0, NULL, 0 },
};
static const struct fspec item_spec[IF__N] = {
    { "item_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "title", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "description", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "category", AVRO_ARRAY, AVRO_STRING, NULL, 0, NULL, 0 },
    { "brand", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
    { "price", AVRO_DOUBLE, 0, NULL, 0, NULL, 0 },
    { "in_stock", AVRO_BOOLEAN, 0, NULL, 0, NULL, 0 },
    { "updated_ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
};
static const struct fspec deletion_spec[DF__N] = {
    { "user_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "requested_ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "reason", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
};
static const struct fspec recitem_spec[RI__N] = {
    { "item_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "score", AVRO_FLOAT, 0, NULL, 0, NULL, 0 },
    { "reason", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "because_item_id", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
};
static const struct fspec recs_spec[RF__N] = {
    { "user_id", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "seq", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "model_version", AVRO_STRING, 0, NULL, 0, NULL, 0 },
    { "generated_ts", AVRO_INT64, 0, NULL, 0, NULL, 0 },
    { "trigger_event_id", AVRO_UNION, AVRO_STRING, NULL, 0, NULL, 0 },
    { "items", AVRO_ARRAY, AVRO_RECORD, recitem_spec, RI__N, NULL, 0 },
};

static const struct {
    const char *json;
    const struct fspec *spec;
    size_t nspec;
} kinds[RECD_KIND__N] = {
    [RECD_KIND_CLICK] = { recd_schema_click, click_spec, CF__N },
    [RECD_KIND_PURCHASE] = { recd_schema_purchase, purchase_spec, PF__N },
    [RECD_KIND_QUERY] = { recd_schema_query, query_spec, QF__N },
    [RECD_KIND_ITEM] = { recd_schema_item, item_spec, IF__N },
    [RECD_KIND_DELETION] = { recd_schema_user_deletion, deletion_spec, DF__N },
    [RECD_KIND_RECS] = { recd_schema_recommendations, recs_spec, RF__N },
};

/* ---- types ------------------------------------------------------------------------------ */

/* A decoder for one writer schema of one kind. */
struct wdec {
    int kind;
    char *origin;                      /* owned: "reader schema" or the writer file, for errors */
    avro_schema_t wschema;             /* owned ref: the writer schema (walked by the pre-check) */
    avro_schema_t eschema;             /* owned ref: reader schema minus the fields the writer
                                          lacks (== the reader schema when it has them all) */
    avro_value_iface_t *eclass;        /* owned: generic class of eschema */
    avro_value_iface_t *resolver;      /* owned: resolved writer wschema -> eschema; NULL when
                                          the writer schema equals eschema */
    avro_value_t evalue;               /* owned: reused decode target, an eschema instance */
    avro_value_t rvalue;               /* owned: resolved-writer value wrapping evalue (only
                                          with a resolver) */
    int renew_rvalue;                  /* recreate rvalue before each read (see has_map) */
    int nfields;                       /* reader schema top-level fields */
    int fidx[CODEC_MAX_FIELDS];        /* reader field -> index in eschema; -1: use dflt */
    avro_value_iface_t *dclass[CODEC_MAX_FIELDS];  /* owned: class of dflt[i] (when fidx < 0) */
    avro_value_t dflt[CODEC_MAX_FIELDS];           /* owned: default of a field the writer lacks */
    int *emap[CODEC_MAX_FIELDS];       /* owned: enum field: writer index -> reader index (-1:
                                          symbol unknown to the reader, no default); NULL:
                                          identity */
    int emap_n[CODEC_MAX_FIELDS];
};

struct idmap {
    int32_t id;
    struct wdec *dec;                  /* owned */
};

struct recd_codec {
    int format;                                /* enum recd_wire_format */
    avro_schema_t rschema[RECD_KIND__N];       /* owned refs: reader schemas */
    json_t *rjson[RECD_KIND__N];               /* owned: reader schema JSON (defaults) */
    struct wdec *plain[RECD_KIND__NINPUT];     /* owned: plain-format decoder per input kind */
    struct wdec *recs;                         /* owned: Recommendations decoder */
    struct idmap *ids;                         /* owned, sorted by id */
    size_t n_ids;
    avro_value_iface_t *encclass[RECD_KIND__N];/* owned: generic classes for encoding */
    avro_value_t enc[RECD_KIND__N];            /* owned: reused encode values */
    avro_reader_t reader;                      /* owned: memory reader, re-pointed per record */
    avro_writer_t writer;                      /* owned: memory writer, re-pointed per record */
};

static const char dummy_buf[1];

/* ---- small helpers ---------------------------------------------------------------------- */

const char *recd_codec_reader_schema_json(int kind)
{
    if (kind < 0 || kind >= RECD_KIND__N) {
        return NULL;
    }
    return kinds[kind].json;
}

static avro_schema_t skip_links(avro_schema_t s)
{
    int guard = 0;

    while (s != NULL && is_avro_link(s) && guard++ < CODEC_MAX_DEPTH) {
        s = avro_schema_link_target(s);
    }
    return s;
}

/* Read a whole (small) file into a malloc'ed NUL-terminated buffer. Caller frees *out. */
static int read_file(const char *path, char **out, size_t *outlen, char *errstr, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n = 0;
    int rc = RECD_OK;

    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema file %s: %s", path,
                         strerror(errno));
        goto cleanup;
    }
    buf = malloc(CODEC_MAX_SCHEMA_FILE + 1);
    if (buf == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "schema file %s: out of memory", path);
        goto cleanup;
    }
    n = fread(buf, 1, CODEC_MAX_SCHEMA_FILE + 1, f);
    if (ferror(f)) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema file %s: read error", path);
        goto cleanup;
    }
    if (n > CODEC_MAX_SCHEMA_FILE) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema file %s: larger than %d bytes",
                         path, CODEC_MAX_SCHEMA_FILE);
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;

cleanup:
    free(buf);
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

/* ---- pre-check walker --------------------------------------------------------------------
 * Walks Avro binary data against a (writer) schema without allocating, checking everything
 * avro-c would otherwise trust. Sets w->err (static text) on failure. */

struct walker {
    const uint8_t *start, *p, *end;
    const char *err;
    int too_large;               /* the failure is the element limit ("too_large") */
    int64_t elems;
};

static int walk_fail(struct walker *w, const char *msg)
{
    w->err = msg;
    return -1;
}

static int walk_long(struct walker *w, int64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;

    do {
        if (w->p >= w->end) {
            return walk_fail(w, "truncated varint");
        }
        b = *w->p++;
        if (shift == 63 && b > 1) {
            return walk_fail(w, "varint too long");
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
    } while (b & 0x80);
    /* zigzag; the unsigned -> signed conversion is modular on every compiler we support */
    *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
    return 0;
}

static int walk_skip(struct walker *w, uint64_t n, const char *what)
{
    if (n > (uint64_t)(w->end - w->p)) {
        return walk_fail(w, what);
    }
    w->p += n;
    return 0;
}

static int walk_bytes(struct walker *w)
{
    int64_t n;

    if (walk_long(w, &n) != 0) {
        return -1;
    }
    if (n < 0) {
        return walk_fail(w, "negative string/bytes length");
    }
    return walk_skip(w, (uint64_t)n, "string/bytes length exceeds the remaining input");
}

static int walk_value(struct walker *w, avro_schema_t s, int depth);

/* Array and map blocks: a count (negative: followed by a byte size), 0 terminates. */
static int walk_blocks(struct walker *w, avro_schema_t items, int is_map, int depth)
{
    int64_t n, bsize, i;

    for (;;) {
        if (walk_long(w, &n) != 0) {
            return -1;
        }
        if (n == 0) {
            return 0;
        }
        if (n < 0) {
            if (n == INT64_MIN) {
                return walk_fail(w, "bad block count");
            }
            n = -n;
            if (walk_long(w, &bsize) != 0) {
                return -1;
            }
            if (bsize < 0) {
                return walk_fail(w, "negative block size");
            }
        }
        /* every item takes at least one byte except zero-size types; either way a count
         * beyond the remaining input is garbage, and bounding it bounds avro-c's appends */
        if ((uint64_t)n > (uint64_t)(w->end - w->p)) {
            return walk_fail(w, "block count exceeds the remaining input");
        }
        w->elems += n;
        if (w->elems > CODEC_MAX_ELEMS) {
            w->too_large = 1;
            return walk_fail(w, "more array items/map entries than allowed");
        }
        for (i = 0; i < n; i++) {
            if (is_map && walk_bytes(w) != 0) {
                return -1;
            }
            if (walk_value(w, items, depth + 1) != 0) {
                return -1;
            }
        }
    }
}

static int walk_value(struct walker *w, avro_schema_t s, int depth)
{
    int64_t v;
    size_t i, n;

    if (depth > CODEC_MAX_DEPTH) {
        return walk_fail(w, "nesting too deep");
    }
    s = skip_links(s);
    if (s == NULL) {
        return walk_fail(w, "unresolved schema link");
    }
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (w->p >= w->end) {
            return walk_fail(w, "truncated boolean");
        }
        if (*w->p > 1) {
            return walk_fail(w, "bad boolean");
        }
        w->p++;
        return 0;
    case AVRO_INT32:
        if (walk_long(w, &v) != 0) {
            return -1;
        }
        if (v < INT32_MIN || v > INT32_MAX) {
            return walk_fail(w, "int out of range");
        }
        return 0;
    case AVRO_INT64:
        return walk_long(w, &v);
    case AVRO_FLOAT:
        return walk_skip(w, 4, "truncated float");
    case AVRO_DOUBLE:
        return walk_skip(w, 8, "truncated double");
    case AVRO_STRING:
    case AVRO_BYTES:
        return walk_bytes(w);
    case AVRO_FIXED:
        return walk_skip(w, (uint64_t)avro_schema_fixed_size(s), "truncated fixed");
    case AVRO_ENUM:
        if (walk_long(w, &v) != 0) {
            return -1;
        }
        if (v < 0 || v >= avro_schema_enum_number_of_symbols(s)) {
            return walk_fail(w, "enum index out of range");
        }
        return 0;
    case AVRO_UNION:
        if (walk_long(w, &v) != 0) {
            return -1;
        }
        n = avro_schema_union_size(s);
        if (v < 0 || (uint64_t)v >= n) {
            return walk_fail(w, "union branch out of range");
        }
        return walk_value(w, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            if (walk_value(w, avro_schema_record_field_get_by_index(s, (int)i),
                           depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_ARRAY:
        return walk_blocks(w, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP:
        return walk_blocks(w, avro_schema_map_values(s), 1, depth);
    default:
        return walk_fail(w, "unsupported schema type");
    }
}

/* ---- reader schema checks and defaults ---------------------------------------------------- */

static int check_fields(avro_schema_t rec, const struct fspec *spec, size_t nspec,
                        const char *file, char *errstr, size_t errlen);

static int check_field(avro_schema_t fs, const struct fspec *f, const char *file,
                       char *errstr, size_t errlen)
{
    avro_schema_t sub;
    size_t i;

    fs = skip_links(fs);
    if (fs == NULL || avro_typeof(fs) != f->type) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "reader schema %s: field %s has an unexpected type", file, f->name);
    }
    switch (f->type) {
    case AVRO_UNION:
        if (avro_schema_union_size(fs) != 2
            || avro_typeof(skip_links(avro_schema_union_branch(fs, 0))) != AVRO_NULL
            || avro_typeof(skip_links(avro_schema_union_branch(fs, 1))) != f->sub) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: field %s must be [\"null\", %s]", file,
                               f->name, f->sub == AVRO_ARRAY ? "array" : "string");
        }
        return RECD_OK;
    case AVRO_ARRAY:
    case AVRO_MAP:
        sub = skip_links(f->type == AVRO_ARRAY ? avro_schema_array_items(fs)
                                               : avro_schema_map_values(fs));
        if (sub == NULL || avro_typeof(sub) != f->sub) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: field %s has unexpected items", file,
                               f->name);
        }
        if (f->rec != NULL) {
            return check_fields(sub, f->rec, f->nrec, file, errstr, errlen);
        }
        return RECD_OK;
    case AVRO_ENUM:
        if ((size_t)avro_schema_enum_number_of_symbols(fs) != f->nsymbols) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: enum %s must have %zu symbols", file,
                               f->name, f->nsymbols);
        }
        for (i = 0; i < f->nsymbols; i++) {
            const char *sym = avro_schema_enum_get(fs, (int)i);

            if (sym == NULL || strcmp(sym, f->symbols[i]) != 0) {
                return recd_seterr(errstr, errlen, RECD_ECONFIG,
                                   "reader schema %s: enum %s symbol %zu must be %s", file,
                                   f->name, i, f->symbols[i]);
            }
        }
        return RECD_OK;
    default:
        return RECD_OK;
    }
}

static int check_fields(avro_schema_t rec, const struct fspec *spec, size_t nspec,
                        const char *file, char *errstr, size_t errlen)
{
    size_t i;
    int rc;

    if (avro_typeof(rec) != AVRO_RECORD || avro_schema_record_size(rec) != nspec) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "reader schema %s: expected a record with %zu fields", file, nspec);
    }
    for (i = 0; i < nspec; i++) {
        const char *name = avro_schema_record_field_name(rec, (int)i);

        if (name == NULL || strcmp(name, spec[i].name) != 0) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: field %zu must be %s", file, i, spec[i].name);
        }
        rc = check_field(avro_schema_record_field_get_by_index(rec, (int)i), &spec[i], file,
                         errstr, errlen);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    return RECD_OK;
}

/* Set v (a generic value) from a JSON default. Returns 0 or -1 (unsupported/mismatched). */
static int fill_default(avro_value_t *v, json_t *j, int depth)
{
    avro_value_t child;
    avro_schema_t s;
    size_t i, n;
    const char *key;
    json_t *jv;

    if (depth > CODEC_MAX_DEPTH) {
        return -1;
    }
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_is_null(j) ? avro_value_set_null(v) : -1;
    case AVRO_BOOLEAN:
        return json_is_boolean(j) ? avro_value_set_boolean(v, json_is_true(j)) : -1;
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN
            || json_integer_value(j) > INT32_MAX) {
            return -1;
        }
        return avro_value_set_int(v, (int32_t)json_integer_value(j));
    case AVRO_INT64:
        return json_is_integer(j) ? avro_value_set_long(v, json_integer_value(j)) : -1;
    case AVRO_FLOAT:
        return json_is_number(j) ? avro_value_set_float(v, (float)json_number_value(j)) : -1;
    case AVRO_DOUBLE:
        return json_is_number(j) ? avro_value_set_double(v, json_number_value(j)) : -1;
    case AVRO_STRING:
        if (!json_is_string(j)) {
            return -1;
        }
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
        if (!json_is_string(j)) {
            return -1;
        }
        return avro_value_set_bytes(v, (void *)json_string_value(j), json_string_length(j));
    case AVRO_ENUM: {
        int idx;

        if (!json_is_string(j)) {
            return -1;
        }
        idx = avro_schema_enum_get_by_name(avro_value_get_schema(v), json_string_value(j));
        return idx < 0 ? -1 : avro_value_set_enum(v, idx);
    }
    case AVRO_ARRAY:
        if (!json_is_array(j)) {
            return -1;
        }
        for (i = 0; i < json_array_size(j); i++) {
            if (avro_value_append(v, &child, NULL) != 0
                || fill_default(&child, json_array_get(j, i), depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_MAP:
        if (!json_is_object(j)) {
            return -1;
        }
        json_object_foreach(j, key, jv) {
            if (avro_value_add(v, key, &child, NULL, NULL) != 0
                || fill_default(&child, jv, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_UNION:
        /* a union's default belongs to its first branch */
        if (avro_value_set_branch(v, 0, &child) != 0) {
            return -1;
        }
        return fill_default(&child, j, depth + 1);
    case AVRO_RECORD:
        if (!json_is_object(j)) {
            return -1;
        }
        s = avro_value_get_schema(v);
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);

            jv = json_object_get(j, fname);
            if (jv == NULL || avro_value_get_by_index(v, i, &child, NULL) != 0
                || fill_default(&child, jv, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    default:
        return -1;
    }
}

/* ---- decoders ------------------------------------------------------------------------------ */

static void wdec_destroy(struct wdec *d)
{
    int i;

    if (d == NULL) {
        return;
    }
    if (d->resolver != NULL) {
        if (d->rvalue.self != NULL) {
            avro_value_decref(&d->rvalue);
        }
        avro_value_iface_decref(d->resolver);
    }
    if (d->evalue.self != NULL) {
        avro_value_decref(&d->evalue);
    }
    if (d->eclass != NULL) {
        avro_value_iface_decref(d->eclass);
    }
    for (i = 0; i < CODEC_MAX_FIELDS; i++) {
        if (d->dflt[i].self != NULL) {
            avro_value_decref(&d->dflt[i]);
        }
        if (d->dclass[i] != NULL) {
            avro_value_iface_decref(d->dclass[i]);
        }
        free(d->emap[i]);
    }
    if (d->eschema != NULL) {
        avro_schema_decref(d->eschema);
    }
    if (d->wschema != NULL) {
        avro_schema_decref(d->wschema);
    }
    free(d->origin);
    free(d);
}

/* Does schema s contain a map (at any depth)? avro-c 1.11's resolved map writer never clears
 * its cache of child wrappers on reset: every read appends to it and every reset walks all of
 * it, so a long-lived resolved value that contains a map costs time and memory proportional to
 * the number of records decoded so far. Decoders whose writer schema has a map therefore get a
 * fresh resolved value per record (one small allocation). */
static int has_map(avro_schema_t s, int depth)
{
    size_t i, n;

    s = skip_links(s);
    if (s == NULL || depth > CODEC_MAX_DEPTH) {
        return 0;
    }
    switch (avro_typeof(s)) {
    case AVRO_MAP:
        return 1;
    case AVRO_ARRAY:
        return has_map(avro_schema_array_items(s), depth + 1);
    case AVRO_UNION:
        n = avro_schema_union_size(s);
        for (i = 0; i < n; i++) {
            if (has_map(avro_schema_union_branch(s, (int)i), depth + 1)) {
                return 1;
            }
        }
        return 0;
    case AVRO_RECORD:
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            if (has_map(avro_schema_record_field_get_by_index(s, (int)i), depth + 1)) {
                return 1;
            }
        }
        return 0;
    default:
        return 0;
    }
}

/* (Re)create d's resolved-writer value around evalue. */
static int wdec_new_rvalue(struct wdec *d)
{
    if (d->rvalue.self != NULL) {
        avro_value_decref(&d->rvalue);
        d->rvalue.self = NULL;
        d->rvalue.iface = NULL;
    }
    if (avro_resolved_writer_new_value(d->resolver, &d->rvalue) != 0) {
        d->rvalue.self = NULL;
        d->rvalue.iface = NULL;
        return -1;
    }
    avro_resolved_writer_set_dest(&d->rvalue, &d->evalue);
    return 0;
}

/* Build the writer-index -> reader-index map of enum field i (reader schema renum, writer
 * schema wenum). Leaves emap NULL when the symbols are identical. */
static int build_enum_map(struct wdec *d, int i, avro_schema_t renum, avro_schema_t wenum,
                          json_t *rfield, char *errstr, size_t errlen)
{
    json_t *jt = json_object_get(rfield, "type");
    json_t *jd = json_is_object(jt) ? json_object_get(jt, "default") : NULL;
    int dflt = -1, nw, k, identity;

    if (json_is_string(jd)) {
        dflt = avro_schema_enum_get_by_name(renum, json_string_value(jd));
    }
    nw = avro_schema_enum_number_of_symbols(wenum);
    identity = nw <= avro_schema_enum_number_of_symbols(renum);
    d->emap[i] = calloc(nw > 0 ? (size_t)nw : 1, sizeof(int));
    if (d->emap[i] == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    d->emap_n[i] = nw;
    for (k = 0; k < nw; k++) {
        int r = avro_schema_enum_get_by_name(renum, avro_schema_enum_get(wenum, k));

        d->emap[i][k] = r >= 0 ? r : dflt;
        if (d->emap[i][k] != k) {
            identity = 0;
        }
    }
    if (identity) {
        free(d->emap[i]);
        d->emap[i] = NULL;
        d->emap_n[i] = 0;
    }
    return RECD_OK;
}

/*
 * Build a decoder for records of `kind` written with `wschema` (NULL: the reader schema).
 * origin names the schema in errors. Takes no ownership of wschema (adds a reference).
 */
static int wdec_new(struct recd_codec *c, int kind, avro_schema_t wschema, const char *origin,
                    struct wdec **out, char *errstr, size_t errlen)
{
    struct wdec *d = NULL;
    avro_schema_t rs = c->rschema[kind];
    json_t *rfields = json_object_get(c->rjson[kind], "fields");
    json_t *ejson = NULL, *efields;
    char *etext = NULL;
    int rc = RECD_OK, i, nf, ei, all_present = 1;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->origin = recd_strdup(origin)) == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto cleanup;
    }
    d->kind = kind;
    d->wschema = avro_schema_incref(wschema != NULL ? wschema : rs);
    if (avro_typeof(skip_links(d->wschema)) != AVRO_RECORD) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: not a record schema", origin);
        goto cleanup;
    }
    nf = (int)avro_schema_record_size(rs);
    d->nfields = nf;

    /* 1. which reader fields does the writer have? */
    for (i = 0; i < nf; i++) {
        const char *name = avro_schema_record_field_name(rs, i);

        if (avro_schema_record_field_get_index(skip_links(d->wschema), name) < 0) {
            if (json_object_get(json_array_get(rfields, (size_t)i), "default") == NULL) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "%s: field %s is missing and has no default in the reader "
                                 "schema %s", origin, name, recd_kind_schema_file(kind));
                goto cleanup;
            }
            d->fidx[i] = -1;
            all_present = 0;
        }
    }

    /* 2. the effective reader schema: the reader schema minus the fields the writer lacks */
    if (all_present) {
        d->eschema = avro_schema_incref(rs);
        for (i = 0; i < nf; i++) {
            d->fidx[i] = i;
        }
    } else {
        ejson = json_deep_copy(c->rjson[kind]);
        if (ejson == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        efields = json_object_get(ejson, "fields");
        for (i = nf - 1; i >= 0; i--) {
            if (d->fidx[i] < 0) {
                json_array_remove(efields, (size_t)i);
            }
        }
        for (i = 0, ei = 0; i < nf; i++) {
            if (d->fidx[i] >= 0) {
                d->fidx[i] = ei++;
            }
        }
        etext = json_dumps(ejson, JSON_COMPACT);
        if (etext == NULL
            || avro_schema_from_json_length(etext, strlen(etext), &d->eschema) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                             "%s: cannot build the projected reader schema: %s", origin,
                             avro_strerror());
            d->eschema = NULL;
            goto cleanup;
        }
    }

    /* 3. the decode target and, when the writer differs, the resolver in front of it */
    d->eclass = avro_generic_class_from_schema(d->eschema);
    if (d->eclass == NULL || avro_generic_value_new(d->eclass, &d->evalue) != 0) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: %s", origin, avro_strerror());
        goto cleanup;
    }
    if (!avro_schema_equal(d->wschema, d->eschema)) {
        d->resolver = avro_resolved_writer_new(d->wschema, d->eschema);
        if (d->resolver == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                             "%s: cannot be resolved against the reader schema %s: %s",
                             origin, recd_kind_schema_file(kind), avro_strerror());
            goto cleanup;
        }
        if (wdec_new_rvalue(d) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "%s: %s", origin, avro_strerror());
            goto cleanup;
        }
        d->renew_rvalue = has_map(d->wschema, 0);
    }

    /* 4. defaults of missing fields; enum maps of present enum fields */
    for (i = 0; i < nf; i++) {
        avro_schema_t rf = skip_links(avro_schema_record_field_get_by_index(rs, i));
        json_t *jf = json_array_get(rfields, (size_t)i);

        if (d->fidx[i] < 0) {
            d->dclass[i] = avro_generic_class_from_schema(rf);
            if (d->dclass[i] == NULL || avro_generic_value_new(d->dclass[i], &d->dflt[i]) != 0
                || fill_default(&d->dflt[i], json_object_get(jf, "default"), 0) != 0) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "reader schema %s: unsupported default for field %s",
                                 recd_kind_schema_file(kind),
                                 avro_schema_record_field_name(rs, i));
                goto cleanup;
            }
        } else if (avro_typeof(rf) == AVRO_ENUM && d->resolver != NULL) {
            avro_schema_t wf = skip_links(avro_schema_record_field_get(
                skip_links(d->wschema), avro_schema_record_field_name(rs, i)));

            if (wf == NULL || avro_typeof(wf) != AVRO_ENUM) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "%s: field %s must be an enum", origin,
                                 avro_schema_record_field_name(rs, i));
                goto cleanup;
            }
            rc = build_enum_map(d, i, rf, wf, jf, errstr, errlen);
            if (rc != RECD_OK) {
                goto cleanup;
            }
        }
    }
    *out = d;
    d = NULL;

cleanup:
    free(etext);
    json_decref(ejson);
    wdec_destroy(d);
    return rc;
}

/* Parse a writer schema file and build its decoder. */
static int wdec_from_file(struct recd_codec *c, int kind, const char *path, struct wdec **out,
                          char *errstr, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    avro_schema_t ws = NULL;
    char origin[512];
    int rc;

    rc = read_file(path, &text, &len, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    if (avro_schema_from_json_length(text, len, &ws) != 0) {
        ws = NULL;
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "writer schema %s: %s", path,
                         avro_strerror());
        goto cleanup;
    }
    snprintf(origin, sizeof(origin), "writer schema %s", path);
    rc = wdec_new(c, kind, ws, origin, out, errstr, errlen);

cleanup:
    if (ws != NULL) {
        avro_schema_decref(ws);
    }
    free(text);
    return rc;
}

static int idmap_cmp(const void *a, const void *b)
{
    const struct idmap *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

int recd_codec_new(const struct recd_codec_conf *conf, struct recd_codec **out,
                   char *errstr, size_t errlen)
{
    struct recd_codec *c = NULL;
    json_error_t jerr;
    int rc = RECD_OK, k;
    size_t i;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    c->format = conf != NULL ? conf->format : RECD_WIRE_AUTO;
    if (c->format < RECD_WIRE_AUTO || c->format > RECD_WIRE_CONFLUENT) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "bad wire format %d", c->format);
        goto cleanup;
    }

    /* 1. reader schemas: parse, check the layout the copy-out code relies on, keep the JSON */
    for (k = 0; k < RECD_KIND__N; k++) {
        const char *file = recd_kind_schema_file(k);

        if (avro_schema_from_json_length(kinds[k].json, strlen(kinds[k].json),
                                         &c->rschema[k]) != 0) {
            c->rschema[k] = NULL;
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "reader schema %s: %s", file,
                             avro_strerror());
            goto cleanup;
        }
        c->rjson[k] = json_loads(kinds[k].json, 0, &jerr);
        if (c->rjson[k] == NULL || !json_is_array(json_object_get(c->rjson[k], "fields"))) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "reader schema %s: %s", file,
                             c->rjson[k] == NULL ? jerr.text : "no fields");
            goto cleanup;
        }
        rc = check_fields(c->rschema[k], kinds[k].spec, kinds[k].nspec, file, errstr, errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
        c->encclass[k] = avro_generic_class_from_schema(c->rschema[k]);
        if (c->encclass[k] == NULL || avro_generic_value_new(c->encclass[k], &c->enc[k]) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "reader schema %s: %s", file,
                             avro_strerror());
            goto cleanup;
        }
    }

    /* 2. plain decoders: the configured writer schema per topic, else the reader schema */
    for (k = 0; k < RECD_KIND__NINPUT; k++) {
        const char *path = conf != NULL ? conf->writer_schema[k] : NULL;

        if (path != NULL) {
            rc = wdec_from_file(c, k, path, &c->plain[k], errstr, errlen);
        } else {
            rc = wdec_new(c, k, NULL, "reader schema", &c->plain[k], errstr, errlen);
        }
        if (rc != RECD_OK) {
            goto cleanup;
        }
    }
    rc = wdec_new(c, RECD_KIND_RECS, NULL, "reader schema", &c->recs, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }

    /* 3. Confluent ids */
    if (conf != NULL && conf->n_ids > 0) {
        if (conf->ids == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema id map is NULL");
            goto cleanup;
        }
        c->ids = calloc(conf->n_ids, sizeof(*c->ids));
        if (c->ids == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (i = 0; i < conf->n_ids; i++) {
            const struct recd_codec_schema_id *e = &conf->ids[i];

            if (e->kind < 0 || e->kind >= RECD_KIND__NINPUT || e->path == NULL) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "schema id %d: bad kind or no schema file", (int)e->id);
                goto cleanup;
            }
            c->ids[i].id = e->id;
            rc = wdec_from_file(c, e->kind, e->path, &c->ids[i].dec, errstr, errlen);
            c->n_ids = i + 1;
            if (rc != RECD_OK) {
                goto cleanup;
            }
        }
        qsort(c->ids, c->n_ids, sizeof(*c->ids), idmap_cmp);
        for (i = 1; i < c->n_ids; i++) {
            if (c->ids[i].id == c->ids[i - 1].id) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema id %d mapped twice",
                                 (int)c->ids[i].id);
                goto cleanup;
            }
        }
    }

    /* 4. reusable I/O */
    c->reader = avro_reader_memory(dummy_buf, 0);
    c->writer = avro_writer_memory(dummy_buf, 0);
    if (c->reader == NULL || c->writer == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto cleanup;
    }
    *out = c;
    c = NULL;

cleanup:
    recd_codec_destroy(c);
    return rc;
}

void recd_codec_destroy(struct recd_codec *c)
{
    size_t i;
    int k;

    if (c == NULL) {
        return;
    }
    for (k = 0; k < RECD_KIND__NINPUT; k++) {
        wdec_destroy(c->plain[k]);
    }
    wdec_destroy(c->recs);
    for (i = 0; i < c->n_ids; i++) {
        wdec_destroy(c->ids[i].dec);
    }
    free(c->ids);
    for (k = 0; k < RECD_KIND__N; k++) {
        if (c->enc[k].self != NULL) {
            avro_value_decref(&c->enc[k]);
        }
        if (c->encclass[k] != NULL) {
            avro_value_iface_decref(c->encclass[k]);
        }
        if (c->rschema[k] != NULL) {
            avro_schema_decref(c->rschema[k]);
        }
        json_decref(c->rjson[k]);
    }
    if (c->reader != NULL) {
        avro_reader_free(c->reader);
    }
    if (c->writer != NULL) {
        avro_writer_free(c->writer);
    }
    free(c);
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* Pre-check body against d's writer schema, then read it into d->evalue. */
static int decode_body(struct recd_codec *c, struct wdec *d, const uint8_t *body, size_t len,
                       char *errstr, size_t errlen)
{
    struct walker w;
    int rc;

    w.start = body;
    w.p = body;
    w.end = body + len;
    w.err = NULL;
    w.too_large = 0;
    w.elems = 0;
    if (walk_value(&w, d->wschema, 0) != 0) {
        return recd_seterr(errstr, errlen, RECD_EDECODE, "%s: %s at byte %zu (%s)",
                           w.too_large ? "too_large" : "avro", w.err,
                           (size_t)(w.p - w.start), d->origin);
    }
    if (w.p != w.end) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "avro: trailing bytes (%zu after a %zu-byte record)",
                           (size_t)(w.end - w.p), (size_t)(w.p - w.start));
    }
    if (d->renew_rvalue && wdec_new_rvalue(d) != 0) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "avro: %s", avro_strerror());
    }
    avro_reader_memory_set_source(c->reader, len > 0 ? (const char *)body : dummy_buf,
                                  (int64_t)len);
    rc = avro_value_read(c->reader, d->resolver != NULL ? &d->rvalue : &d->evalue);
    if (rc != 0) {
        return recd_seterr(errstr, errlen, rc == ENOMEM ? RECD_ENOMEM : RECD_EDECODE,
                           "avro: %s", avro_strerror());
    }
    return RECD_OK;
}

/* Copy-out context: the decoder, the arena, and where to report. */
struct out {
    struct wdec *d;
    struct recd_arena *arena;
    char *errstr;
    size_t errlen;
};

static int out_avro_err(struct out *o, const char *what)
{
    return recd_seterr(o->errstr, o->errlen, RECD_EDECODE, "avro: cannot read %s: %s", what,
                       avro_strerror());
}

static int out_nomem(struct out *o)
{
    return recd_seterr(o->errstr, o->errlen, RECD_ENOMEM, "out of memory (arena)");
}

/* Reader field i of the decoded record: the decoded value, or the default. Borrowed. */
static int get_field(struct out *o, int i, avro_value_t *v)
{
    if (o->d->fidx[i] >= 0) {
        if (avro_value_get_by_index(&o->d->evalue, (size_t)o->d->fidx[i], v, NULL) != 0) {
            return out_avro_err(o, "field");
        }
        return RECD_OK;
    }
    *v = o->d->dflt[i];
    return RECD_OK;
}

/* String value -> arena copy (embedded NULs cut the C string short). */
static int copy_str(struct out *o, avro_value_t *v, const char **dst)
{
    const char *p = NULL;
    size_t sz = 0;

    if (avro_value_get_string(v, &p, &sz) != 0) {
        return out_avro_err(o, "string");
    }
    *dst = recd_arena_strndup(o->arena, p != NULL ? p : "", sz > 0 && p != NULL ? sz - 1 : 0);
    return *dst != NULL ? RECD_OK : out_nomem(o);
}

/* ["null", string] -> NULL or an arena copy. */
static int copy_opt_str(struct out *o, avro_value_t *v, const char **dst)
{
    avro_value_t b;

    if (avro_value_get_current_branch(v, &b) != 0) {
        return out_avro_err(o, "union");
    }
    if (avro_value_get_type(&b) == AVRO_NULL) {
        *dst = NULL;
        return RECD_OK;
    }
    return copy_str(o, &b, dst);
}

static int field_str(struct out *o, int i, const char **dst)
{
    avro_value_t v;
    int rc = get_field(o, i, &v);

    return rc != RECD_OK ? rc : copy_str(o, &v, dst);
}

static int field_opt_str(struct out *o, int i, const char **dst)
{
    avro_value_t v;
    int rc = get_field(o, i, &v);

    return rc != RECD_OK ? rc : copy_opt_str(o, &v, dst);
}

static int field_long(struct out *o, int i, int64_t *dst)
{
    avro_value_t v;
    int rc = get_field(o, i, &v);

    if (rc != RECD_OK) {
        return rc;
    }
    return avro_value_get_long(&v, dst) != 0 ? out_avro_err(o, "long") : RECD_OK;
}

static int field_double(struct out *o, int i, double *dst)
{
    avro_value_t v;
    int rc = get_field(o, i, &v);

    if (rc != RECD_OK) {
        return rc;
    }
    return avro_value_get_double(&v, dst) != 0 ? out_avro_err(o, "double") : RECD_OK;
}

/* Enum field -> reader symbol index (mapped from the writer's index when they differ). */
static int field_enum(struct out *o, int i, int *dst)
{
    avro_value_t v;
    int rc = get_field(o, i, &v), idx;

    if (rc != RECD_OK) {
        return rc;
    }
    if (avro_value_get_enum(&v, &idx) != 0) {
        return out_avro_err(o, "enum");
    }
    if (o->d->fidx[i] >= 0 && o->d->emap[i] != NULL) {
        if (idx < 0 || idx >= o->d->emap_n[i] || o->d->emap[i][idx] < 0) {
            return recd_seterr(o->errstr, o->errlen, RECD_EDECODE,
                               "avro: enum symbol %d of field %s unknown to the reader", idx,
                               avro_schema_record_field_name(
                                   avro_value_get_schema(&o->d->evalue), o->d->fidx[i]));
        }
        idx = o->d->emap[i][idx];
    }
    *dst = idx;
    return RECD_OK;
}

/* Array of strings -> arena array of arena strings. */
static int copy_str_array(struct out *o, avro_value_t *arr, const char ***dst, uint32_t *n)
{
    size_t cnt = 0, k;
    const char **a;
    avro_value_t e;
    int rc;

    if (avro_value_get_size(arr, &cnt) != 0) {
        return out_avro_err(o, "array");
    }
    *dst = NULL;
    *n = 0;
    if (cnt == 0) {
        return RECD_OK;
    }
    a = recd_arena_alloc(o->arena, cnt * sizeof(*a));
    if (a == NULL) {
        return out_nomem(o);
    }
    for (k = 0; k < cnt; k++) {
        if (avro_value_get_by_index(arr, k, &e, NULL) != 0) {
            return out_avro_err(o, "array item");
        }
        rc = copy_str(o, &e, &a[k]);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    *dst = a;
    *n = (uint32_t)cnt;
    return RECD_OK;
}

static int out_click(struct out *o, struct recd_event *ev)
{
    struct recd_click *ck = &ev->u.click;
    avro_value_t map, e;
    size_t cnt = 0, k;
    const char *key;
    int rc;

    if ((rc = field_str(o, CF_EVENT_ID, &ev->event_id)) != RECD_OK
        || (rc = field_str(o, CF_USER_ID, &ev->user_id)) != RECD_OK
        || (rc = field_str(o, CF_ITEM_ID, &ck->item_id)) != RECD_OK
        || (rc = field_long(o, CF_TS, &ev->ts_ms)) != RECD_OK
        || (rc = field_enum(o, CF_KIND, &ck->type)) != RECD_OK
        || (rc = field_opt_str(o, CF_SESSION_ID, &ck->session_id)) != RECD_OK
        || (rc = field_enum(o, CF_SOURCE, &ck->source)) != RECD_OK
        || (rc = field_opt_str(o, CF_QUERY_ID, &ck->query_id)) != RECD_OK
        || (rc = get_field(o, CF_CONTEXT, &map)) != RECD_OK) {
        return rc;
    }
    if (avro_value_get_size(&map, &cnt) != 0) {
        return out_avro_err(o, "map");
    }
    if (cnt > 0) {
        ck->context = recd_arena_alloc(o->arena, cnt * sizeof(*ck->context));
        if (ck->context == NULL) {
            return out_nomem(o);
        }
        for (k = 0; k < cnt; k++) {
            if (avro_value_get_by_index(&map, k, &e, &key) != 0) {
                return out_avro_err(o, "map entry");
            }
            ck->context[k].key = recd_arena_strndup(o->arena, key, strlen(key));
            if (ck->context[k].key == NULL) {
                return out_nomem(o);
            }
            rc = copy_str(o, &e, &ck->context[k].value);
            if (rc != RECD_OK) {
                return rc;
            }
        }
        ck->n_context = (uint32_t)cnt;
    }
    return RECD_OK;
}

static int out_purchase(struct out *o, struct recd_event *ev)
{
    struct recd_purchase *pu = &ev->u.purchase;
    avro_value_t arr, line, f;
    size_t cnt = 0, k;
    int rc;

    if ((rc = field_str(o, PF_EVENT_ID, &ev->event_id)) != RECD_OK
        || (rc = field_str(o, PF_USER_ID, &ev->user_id)) != RECD_OK
        || (rc = field_str(o, PF_ORDER_ID, &pu->order_id)) != RECD_OK
        || (rc = field_long(o, PF_TS, &ev->ts_ms)) != RECD_OK
        || (rc = field_str(o, PF_CURRENCY, &pu->currency)) != RECD_OK
        || (rc = get_field(o, PF_LINES, &arr)) != RECD_OK) {
        return rc;
    }
    if (avro_value_get_size(&arr, &cnt) != 0) {
        return out_avro_err(o, "lines");
    }
    if (cnt == 0) {
        return RECD_OK;
    }
    pu->lines = recd_arena_alloc(o->arena, cnt * sizeof(*pu->lines));
    if (pu->lines == NULL) {
        return out_nomem(o);
    }
    for (k = 0; k < cnt; k++) {
        struct recd_purchase_line *l = &pu->lines[k];

        if (avro_value_get_by_index(&arr, k, &line, NULL) != 0
            || avro_value_get_by_index(&line, PL_QUANTITY, &f, NULL) != 0
            || avro_value_get_int(&f, &l->quantity) != 0
            || avro_value_get_by_index(&line, PL_UNIT_PRICE, &f, NULL) != 0
            || avro_value_get_double(&f, &l->unit_price) != 0
            || avro_value_get_by_index(&line, PL_ITEM_ID, &f, NULL) != 0) {
            return out_avro_err(o, "purchase line");
        }
        rc = copy_str(o, &f, &l->item_id);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    pu->n_lines = (uint32_t)cnt;
    return RECD_OK;
}

static int out_query(struct out *o, struct recd_event *ev)
{
    struct recd_query *q = &ev->u.query;
    avro_value_t u, b;
    int rc;

    if ((rc = field_str(o, QF_EVENT_ID, &ev->event_id)) != RECD_OK
        || (rc = field_str(o, QF_USER_ID, &ev->user_id)) != RECD_OK
        || (rc = field_long(o, QF_TS, &ev->ts_ms)) != RECD_OK
        || (rc = field_str(o, QF_TEXT, &q->text)) != RECD_OK
        || (rc = get_field(o, QF_SHOWN, &u)) != RECD_OK) {
        return rc;
    }
    if (avro_value_get_current_branch(&u, &b) != 0) {
        return out_avro_err(o, "shown_item_ids");
    }
    if (avro_value_get_type(&b) == AVRO_NULL) {
        return RECD_OK;
    }
    return copy_str_array(o, &b, &q->shown, &q->n_shown);
}

static int out_item(struct out *o, struct recd_event *ev)
{
    struct recd_item *it = &ev->u.item;
    avro_value_t v;
    int rc, b = 0;

    if ((rc = field_str(o, IF_ITEM_ID, &it->item_id)) != RECD_OK
        || (rc = field_str(o, IF_TITLE, &it->title)) != RECD_OK
        || (rc = field_str(o, IF_DESCRIPTION, &it->description)) != RECD_OK
        || (rc = field_opt_str(o, IF_BRAND, &it->brand)) != RECD_OK
        || (rc = field_double(o, IF_PRICE, &it->price)) != RECD_OK
        || (rc = field_long(o, IF_UPDATED_TS, &it->updated_ts)) != RECD_OK
        || (rc = get_field(o, IF_IN_STOCK, &v)) != RECD_OK) {
        return rc;
    }
    if (avro_value_get_boolean(&v, &b) != 0) {
        return out_avro_err(o, "in_stock");
    }
    it->in_stock = b != 0;
    if ((rc = get_field(o, IF_CATEGORY, &v)) != RECD_OK
        || (rc = copy_str_array(o, &v, &it->category, &it->n_category)) != RECD_OK) {
        return rc;
    }
    ev->event_id = it->item_id;
    ev->user_id = NULL;
    ev->ts_ms = it->updated_ts;
    return RECD_OK;
}

static int out_deletion(struct out *o, struct recd_event *ev)
{
    struct recd_deletion *dl = &ev->u.deletion;
    char *id;
    size_t n;
    int rc;

    if ((rc = field_str(o, DF_USER_ID, &ev->user_id)) != RECD_OK
        || (rc = field_long(o, DF_REQUESTED_TS, &dl->requested_ts)) != RECD_OK
        || (rc = field_opt_str(o, DF_REASON, &dl->reason)) != RECD_OK) {
        return rc;
    }
    /* "del:" + user_id + ":" + requested_ts: deterministic, unique per request */
    n = strlen(ev->user_id) + 4 + 1 + 21 + 1;
    id = recd_arena_alloc(o->arena, n);
    if (id == NULL) {
        return out_nomem(o);
    }
    snprintf(id, n, "del:%s:%lld", ev->user_id, (long long)dl->requested_ts);
    ev->event_id = id;
    ev->ts_ms = dl->requested_ts;
    return RECD_OK;
}

static struct wdec *find_id(struct recd_codec *c, int32_t id)
{
    size_t lo = 0, hi = c->n_ids;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->ids[mid].id == id) {
            return c->ids[mid].dec;
        }
        if (c->ids[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int32_t be32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8)
                     | (uint32_t)p[4]);
}

/* Decode body with d and copy the fields out into ev. */
static int decode_with(struct recd_codec *c, struct wdec *d, const uint8_t *body, size_t len,
                       struct recd_arena *arena, struct recd_event *ev, char *errstr,
                       size_t errlen)
{
    struct out o = { d, arena, errstr, errlen };
    int rc;

    rc = decode_body(c, d, body, len, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    switch (d->kind) {
    case RECD_KIND_CLICK:
        return out_click(&o, ev);
    case RECD_KIND_PURCHASE:
        return out_purchase(&o, ev);
    case RECD_KIND_QUERY:
        return out_query(&o, ev);
    case RECD_KIND_ITEM:
        return out_item(&o, ev);
    case RECD_KIND_DELETION:
        return out_deletion(&o, ev);
    default:
        return recd_seterr(errstr, errlen, RECD_EINVAL, "bad kind %d", d->kind);
    }
}

static void event_clear(struct recd_event *ev, int kind)
{
    const char *topic = ev->topic;
    int32_t partition = ev->partition;
    int64_t offset = ev->offset;

    memset(ev, 0, sizeof(*ev));
    ev->topic = topic;
    ev->partition = partition;
    ev->offset = offset;
    ev->kind = kind;
}

int recd_codec_decode(struct recd_codec *c, int kind, const void *key, size_t keylen,
                      const void *val, size_t len, struct recd_arena *arena,
                      struct recd_event *ev, char *errstr, size_t errlen)
{
    const uint8_t *v = val;
    struct wdec *d;
    int32_t id;
    int rc;
    char perr[256];

    if (c == NULL || ev == NULL || arena == NULL || kind < 0 || kind >= RECD_KIND__NINPUT) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_decode: bad argument");
    }
    event_clear(ev, kind);

    if (val == NULL || len == 0) {
        char *id_copy;

        if (kind != RECD_KIND_ITEM) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "framing: empty value");
        }
        /* a null item value is a removal, identified by the key */
        if (key == NULL || keylen == 0) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: item removal (null value) without a key");
        }
        id_copy = recd_arena_strndup(arena, key, keylen);
        if (id_copy == NULL) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory (arena)");
        }
        ev->u.item.item_id = id_copy;
        ev->u.item.removed = 1;
        ev->event_id = id_copy;
        return RECD_OK;
    }
    if (len > CODEC_MAX_VALUE) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "too_large: value of %zu bytes exceeds %u bytes", len,
                           CODEC_MAX_VALUE);
    }

    switch (c->format) {
    case RECD_WIRE_CONFLUENT:
        if (len < CONFLUENT_HDR) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: %zu-byte value is shorter than the Confluent header",
                               len);
        }
        if (v[0] != 0) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: magic byte 0x%02x, expected 0x00", v[0]);
        }
        id = be32(v);
        d = find_id(c, id);
        if (d == NULL) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "unknown_schema_id: %d",
                               (int)id);
        }
        break;
    case RECD_WIRE_AUTO:
        if (len >= CONFLUENT_HDR && v[0] == 0) {
            id = be32(v);
            d = find_id(c, id);
            if (d == NULL) {
                /* not a known id: maybe a plain record starting with an empty string */
                rc = decode_with(c, c->plain[kind], v, len, arena, ev, perr, sizeof(perr));
                if (rc == RECD_OK) {
                    return RECD_OK;
                }
                event_clear(ev, kind);
                if (rc != RECD_EDECODE) {
                    return recd_seterr(errstr, errlen, rc, "%s", perr);
                }
                return recd_seterr(errstr, errlen, RECD_EDECODE,
                                   "unknown_schema_id: %d (nor plain Avro: %s)", (int)id, perr);
            }
            break;
        }
        d = NULL;
        break;
    default:
        d = NULL;
        break;
    }

    if (d == NULL) {
        rc = decode_with(c, c->plain[kind], v, len, arena, ev, errstr, errlen);
    } else if (d->kind != kind) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "unknown_schema_id: %d is a %s schema, expected %s", (int)be32(v),
                           recd_kind_name(d->kind), recd_kind_name(kind));
    } else {
        rc = decode_with(c, d, v + CONFLUENT_HDR, len - CONFLUENT_HDR, arena, ev, errstr,
                         errlen);
    }
    if (rc != RECD_OK) {
        event_clear(ev, kind);
    }
    return rc;
}

int recd_codec_decode_recs(struct recd_codec *c, const void *val, size_t len,
                           struct recd_arena *arena, struct recd_recs *r,
                           char *errstr, size_t errlen)
{
    struct out o = { NULL, arena, errstr, errlen };
    avro_value_t arr, it, f;
    size_t cnt = 0, k;
    int rc;

    if (c == NULL || r == NULL || arena == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_decode_recs: bad argument");
    }
    memset(r, 0, sizeof(*r));
    o.d = c->recs;
    if (val == NULL || len == 0) {
        return recd_seterr(errstr, errlen, RECD_EDECODE, "framing: empty value (tombstone)");
    }
    if (len > CODEC_MAX_VALUE) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "too_large: value of %zu bytes exceeds %u bytes", len,
                           CODEC_MAX_VALUE);
    }
    rc = decode_body(c, c->recs, val, len, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    if ((rc = field_str(&o, RF_USER_ID, &r->user_id)) != RECD_OK
        || (rc = field_long(&o, RF_SEQ, &r->seq)) != RECD_OK
        || (rc = field_str(&o, RF_MODEL_VERSION, &r->model_version)) != RECD_OK
        || (rc = field_long(&o, RF_GENERATED_TS, &r->generated_ts)) != RECD_OK
        || (rc = field_opt_str(&o, RF_TRIGGER, &r->trigger_event_id)) != RECD_OK
        || (rc = get_field(&o, RF_ITEMS, &arr)) != RECD_OK) {
        goto cleanup;
    }
    if (avro_value_get_size(&arr, &cnt) != 0) {
        rc = out_avro_err(&o, "items");
        goto cleanup;
    }
    if (cnt > 0) {
        r->items = recd_arena_alloc(arena, cnt * sizeof(*r->items));
        if (r->items == NULL) {
            rc = out_nomem(&o);
            goto cleanup;
        }
        for (k = 0; k < cnt; k++) {
            struct recd_rec_item *ri = &r->items[k];

            if (avro_value_get_by_index(&arr, k, &it, NULL) != 0
                || avro_value_get_by_index(&it, RI_SCORE, &f, NULL) != 0
                || avro_value_get_float(&f, &ri->score) != 0
                || avro_value_get_by_index(&it, RI_ITEM_ID, &f, NULL) != 0) {
                rc = out_avro_err(&o, "recommended item");
                goto cleanup;
            }
            if ((rc = copy_str(&o, &f, &ri->item_id)) != RECD_OK) {
                goto cleanup;
            }
            if (avro_value_get_by_index(&it, RI_REASON, &f, NULL) != 0) {
                rc = out_avro_err(&o, "reason");
                goto cleanup;
            }
            if ((rc = copy_str(&o, &f, &ri->reason)) != RECD_OK) {
                goto cleanup;
            }
            if (avro_value_get_by_index(&it, RI_BECAUSE, &f, NULL) != 0) {
                rc = out_avro_err(&o, "because_item_id");
                goto cleanup;
            }
            if ((rc = copy_opt_str(&o, &f, &ri->because_item_id)) != RECD_OK) {
                goto cleanup;
            }
        }
        r->n_items = (uint32_t)cnt;
    }

cleanup:
    if (rc != RECD_OK) {
        memset(r, 0, sizeof(*r));
    }
    return rc;
}

/* ---- encoding ---------------------------------------------------------------------------- */

struct enc {
    char *errstr;
    size_t errlen;
    const char *field;           /* set on failure, for the message */
};

static int enc_fail(struct enc *e, const char *field)
{
    e->field = field;
    return -1;
}

/* Point string value v at s without copying it: a wrapped buffer with no free function, so
 * avro-c neither mallocs a copy nor frees s. s is borrowed: it must stay valid until v is
 * reset, which both encode entry points do right after writing ("encode_done" below), so no value
 * holds a borrowed pointer between calls. A copy per string (avro_value_set_string) was a
 * malloc, a free and a memcpy for each of a list's ~60 strings. */
static int borrow_str(avro_value_t *v, const char *s)
{
    avro_wrapped_buffer_t wb;

    return avro_wrapped_buffer_new_string(&wb, s) != 0 || avro_value_give_string_len(v, &wb) != 0
               ? -1
               : 0;
}

static int set_str(struct enc *e, avro_value_t *rec, int i, const char *s, const char *name)
{
    avro_value_t f;

    if (s == NULL) {
        return enc_fail(e, name);
    }
    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0
        || borrow_str(&f, s) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

/* ["null", string] */
static int set_opt_str(struct enc *e, avro_value_t *rec, int i, const char *s, const char *name)
{
    avro_value_t f, b;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0
        || avro_value_set_branch(&f, s != NULL ? 1 : 0, &b) != 0
        || (s != NULL ? borrow_str(&b, s) : avro_value_set_null(&b)) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_long(struct enc *e, avro_value_t *rec, int i, int64_t x, const char *name)
{
    avro_value_t f;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0
        || avro_value_set_long(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_double(struct enc *e, avro_value_t *rec, int i, double x, const char *name)
{
    avro_value_t f;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0
        || avro_value_set_double(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_enum(struct enc *e, avro_value_t *rec, int i, int x, int n, const char *name)
{
    avro_value_t f;

    if (x < 0 || x >= n || avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0
        || avro_value_set_enum(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_str_array(struct enc *e, avro_value_t *arr, const char *const *a, uint32_t n,
                         const char *name)
{
    avro_value_t x;
    uint32_t k;

    if (n > 0 && a == NULL) {
        return enc_fail(e, name);
    }
    for (k = 0; k < n; k++) {
        if (a[k] == NULL || avro_value_append(arr, &x, NULL) != 0
            || borrow_str(&x, a[k]) != 0) {
            return enc_fail(e, name);
        }
    }
    return 0;
}

static int enc_click(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_click *ck = &ev->u.click;
    avro_value_t map, x;
    uint32_t k;

    if (set_str(e, rec, CF_EVENT_ID, ev->event_id, "event_id") != 0
        || set_str(e, rec, CF_USER_ID, ev->user_id, "user_id") != 0
        || set_str(e, rec, CF_ITEM_ID, ck->item_id, "item_id") != 0
        || set_long(e, rec, CF_TS, ev->ts_ms, "ts") != 0
        || set_enum(e, rec, CF_KIND, ck->type, 2, "kind") != 0
        || set_opt_str(e, rec, CF_SESSION_ID, ck->session_id, "session_id") != 0
        || set_enum(e, rec, CF_SOURCE, ck->source, 3, "source") != 0
        || set_opt_str(e, rec, CF_QUERY_ID, ck->query_id, "query_id") != 0
        || avro_value_get_by_index(rec, CF_CONTEXT, &map, NULL) != 0) {
        return -1;
    }
    if (ck->n_context > 0 && ck->context == NULL) {
        return enc_fail(e, "context");
    }
    for (k = 0; k < ck->n_context; k++) {
        if (ck->context[k].key == NULL || ck->context[k].value == NULL
            || avro_value_add(&map, ck->context[k].key, &x, NULL, NULL) != 0
            || borrow_str(&x, ck->context[k].value) != 0) {
            return enc_fail(e, "context");
        }
    }
    return 0;
}

static int enc_purchase(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_purchase *pu = &ev->u.purchase;
    avro_value_t arr, line, f;
    uint32_t k;

    if (set_str(e, rec, PF_EVENT_ID, ev->event_id, "event_id") != 0
        || set_str(e, rec, PF_USER_ID, ev->user_id, "user_id") != 0
        || set_str(e, rec, PF_ORDER_ID, pu->order_id, "order_id") != 0
        || set_long(e, rec, PF_TS, ev->ts_ms, "ts") != 0
        || set_str(e, rec, PF_CURRENCY, pu->currency != NULL ? pu->currency : "EUR",
                   "currency") != 0
        || avro_value_get_by_index(rec, PF_LINES, &arr, NULL) != 0) {
        return -1;
    }
    if (pu->n_lines > 0 && pu->lines == NULL) {
        return enc_fail(e, "lines");
    }
    for (k = 0; k < pu->n_lines; k++) {
        const struct recd_purchase_line *l = &pu->lines[k];

        if (avro_value_append(&arr, &line, NULL) != 0
            || set_str(e, &line, PL_ITEM_ID, l->item_id, "lines.item_id") != 0
            || avro_value_get_by_index(&line, PL_QUANTITY, &f, NULL) != 0
            || avro_value_set_int(&f, l->quantity) != 0
            || set_double(e, &line, PL_UNIT_PRICE, l->unit_price, "lines.unit_price") != 0) {
            return enc_fail(e, "lines");
        }
    }
    return 0;
}

static int enc_query(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_query *q = &ev->u.query;
    avro_value_t f, b;

    if (set_str(e, rec, QF_EVENT_ID, ev->event_id, "event_id") != 0
        || set_str(e, rec, QF_USER_ID, ev->user_id, "user_id") != 0
        || set_long(e, rec, QF_TS, ev->ts_ms, "ts") != 0
        || set_str(e, rec, QF_TEXT, q->text, "text") != 0
        || avro_value_get_by_index(rec, QF_SHOWN, &f, NULL) != 0) {
        return -1;
    }
    /* NULL shown list = null; a non-NULL list (even empty) = an array */
    if (q->shown == NULL && q->n_shown == 0) {
        if (avro_value_set_branch(&f, 0, &b) != 0 || avro_value_set_null(&b) != 0) {
            return enc_fail(e, "shown_item_ids");
        }
        return 0;
    }
    if (avro_value_set_branch(&f, 1, &b) != 0) {
        return enc_fail(e, "shown_item_ids");
    }
    return set_str_array(e, &b, q->shown, q->n_shown, "shown_item_ids");
}

static int enc_item(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_item *it = &ev->u.item;
    const char *id = it->item_id != NULL ? it->item_id : ev->event_id;
    avro_value_t f;

    if (set_str(e, rec, IF_ITEM_ID, id, "item_id") != 0
        || set_str(e, rec, IF_TITLE, it->title, "title") != 0
        || set_str(e, rec, IF_DESCRIPTION, it->description != NULL ? it->description : "",
                   "description") != 0
        || avro_value_get_by_index(rec, IF_CATEGORY, &f, NULL) != 0
        || set_str_array(e, &f, it->category, it->n_category, "category") != 0
        || set_opt_str(e, rec, IF_BRAND, it->brand, "brand") != 0
        || set_double(e, rec, IF_PRICE, it->price, "price") != 0
        || avro_value_get_by_index(rec, IF_IN_STOCK, &f, NULL) != 0
        || avro_value_set_boolean(&f, it->in_stock != 0) != 0
        || set_long(e, rec, IF_UPDATED_TS, it->updated_ts, "updated_ts") != 0) {
        return e->field != NULL ? -1 : enc_fail(e, "item");
    }
    return 0;
}

static int enc_deletion(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_deletion *dl = &ev->u.deletion;

    if (set_str(e, rec, DF_USER_ID, ev->user_id, "user_id") != 0
        || set_long(e, rec, DF_REQUESTED_TS, dl->requested_ts, "requested_ts") != 0
        || set_opt_str(e, rec, DF_REASON, dl->reason, "reason") != 0) {
        return -1;
    }
    return 0;
}

static int enc_recs(struct enc *e, avro_value_t *rec, const struct recd_recs *r)
{
    avro_value_t arr, it, f;
    uint32_t k;

    if (set_str(e, rec, RF_USER_ID, r->user_id, "user_id") != 0
        || set_long(e, rec, RF_SEQ, r->seq, "seq") != 0
        || set_str(e, rec, RF_MODEL_VERSION, r->model_version, "model_version") != 0
        || set_long(e, rec, RF_GENERATED_TS, r->generated_ts, "generated_ts") != 0
        || set_opt_str(e, rec, RF_TRIGGER, r->trigger_event_id, "trigger_event_id") != 0
        || avro_value_get_by_index(rec, RF_ITEMS, &arr, NULL) != 0) {
        return -1;
    }
    if (r->n_items > 0 && r->items == NULL) {
        return enc_fail(e, "items");
    }
    for (k = 0; k < r->n_items; k++) {
        const struct recd_rec_item *ri = &r->items[k];

        if (avro_value_append(&arr, &it, NULL) != 0
            || set_str(e, &it, RI_ITEM_ID, ri->item_id, "items.item_id") != 0
            || avro_value_get_by_index(&it, RI_SCORE, &f, NULL) != 0
            || avro_value_set_float(&f, ri->score) != 0
            || set_str(e, &it, RI_REASON, ri->reason, "items.reason") != 0
            || set_opt_str(e, &it, RI_BECAUSE, ri->because_item_id,
                           "items.because_item_id") != 0) {
            return e->field != NULL ? -1 : enc_fail(e, "items");
        }
    }
    return 0;
}

/* Serialize v (after an optional Confluent header) onto the end of out. */
static int write_value(struct recd_codec *c, avro_value_t *v, int32_t confluent_id,
                       struct recd_buf *out, char *errstr, size_t errlen)
{
    size_t sz = 0, hdr = confluent_id >= 0 ? CONFLUENT_HDR : 0;
    uint8_t *p;

    if (avro_value_sizeof(v, &sz) != 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "encode: %s", avro_strerror());
    }
    if (recd_buf_reserve(out, hdr + sz) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "encode: out of memory");
    }
    p = out->data + out->len;
    if (hdr > 0) {
        uint32_t id = (uint32_t)confluent_id;

        p[0] = 0;
        p[1] = (uint8_t)(id >> 24);
        p[2] = (uint8_t)(id >> 16);
        p[3] = (uint8_t)(id >> 8);
        p[4] = (uint8_t)id;
    }
    if (sz > 0) {
        avro_writer_memory_set_dest(c->writer, (const char *)p + hdr, (int64_t)sz);
        if (avro_value_write(c->writer, v) != 0) {
            return recd_seterr(errstr, errlen, RECD_EINVAL, "encode: %s", avro_strerror());
        }
    }
    out->len += hdr + sz;
    return RECD_OK;
}

int recd_codec_encode_event(struct recd_codec *c, const struct recd_event *ev,
                            int32_t confluent_id, struct recd_buf *out,
                            char *errstr, size_t errlen)
{
    struct enc e = { errstr, errlen, NULL };
    avro_value_t *rec;
    int r;

    if (c == NULL || ev == NULL || out == NULL || ev->kind < 0
        || ev->kind >= RECD_KIND__NINPUT) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_encode_event: bad argument");
    }
    if (ev->kind == RECD_KIND_ITEM && ev->u.item.removed) {
        return RECD_OK;   /* a removal is a NULL value: nothing to append */
    }
    rec = &c->enc[ev->kind];   /* reset: every encode resets it before returning */
    switch (ev->kind) {
    case RECD_KIND_CLICK:
        r = enc_click(&e, rec, ev);
        break;
    case RECD_KIND_PURCHASE:
        r = enc_purchase(&e, rec, ev);
        break;
    case RECD_KIND_QUERY:
        r = enc_query(&e, rec, ev);
        break;
    case RECD_KIND_ITEM:
        r = enc_item(&e, rec, ev);
        break;
    default:
        r = enc_deletion(&e, rec, ev);
        break;
    }
    if (r != 0) {
        r = recd_seterr(errstr, errlen, RECD_EINVAL, "encode %s: missing or bad field %s",
                        recd_kind_name(ev->kind), e.field != NULL ? e.field : "?");
    } else {
        r = write_value(c, rec, confluent_id, out, errstr, errlen);
    }
    avro_value_reset(rec);   /* encode_done: rec lets go of the borrowed strings */
    return r;
}

int recd_codec_encode_recs(struct recd_codec *c, const struct recd_recs *r,
                           struct recd_buf *out, char *errstr, size_t errlen)
{
    struct enc e = { errstr, errlen, NULL };
    avro_value_t *rec;
    int rc;

    if (c == NULL || r == NULL || out == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_encode_recs: bad argument");
    }
    rec = &c->enc[RECD_KIND_RECS];   /* reset: every encode resets it before returning */
    if (enc_recs(&e, rec, r) != 0) {
        rc = recd_seterr(errstr, errlen, RECD_EINVAL,
                         "encode recommendations: missing or bad field %s",
                         e.field != NULL ? e.field : "?");
    } else {
        rc = write_value(c, rec, -1, out, errstr, errlen);
    }
    avro_value_reset(rec);   /* encode_done: rec lets go of the borrowed strings */
    return rc;
}
