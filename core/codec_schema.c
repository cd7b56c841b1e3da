/*
 * codec_schema.c — the reader schemas' expected layout (checked at startup) and the reader
 * fields' defaults (see codec.c for the design).
 */
#include "codec_internal.h"

/* ---- reader schema layout: the field tables (their indexes: codec_internal.h) ------------ */

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

const struct codec_kind codec_kinds[RECD_KIND__N] = {
    [RECD_KIND_CLICK] = { recd_schema_click, click_spec, CF__N },
    [RECD_KIND_PURCHASE] = { recd_schema_purchase, purchase_spec, PF__N },
    [RECD_KIND_QUERY] = { recd_schema_query, query_spec, QF__N },
    [RECD_KIND_ITEM] = { recd_schema_item, item_spec, IF__N },
    [RECD_KIND_DELETION] = { recd_schema_user_deletion, deletion_spec, DF__N },
    [RECD_KIND_RECS] = { recd_schema_recommendations, recs_spec, RF__N },
};

const char *recd_codec_reader_schema_json(int kind)
{
    if (kind < 0 || kind >= RECD_KIND__N) {
        return NULL;
    }
    return codec_kinds[kind].json;
}

avro_schema_t codec_skip_links(avro_schema_t s)
{
    int guard = 0;

    while (s != NULL && is_avro_link(s) && guard++ < CODEC_MAX_DEPTH) {
        s = avro_schema_link_target(s);
    }
    return s;
}

/* ---- reader schema checks and defaults ---------------------------------------------------- */

static int check_field(avro_schema_t fs, const struct fspec *f, const char *file, char *errstr,
                       size_t errlen)
{
    avro_schema_t sub;
    size_t i;

    fs = codec_skip_links(fs);
    if (fs == NULL || avro_typeof(fs) != f->type) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "reader schema %s: field %s has an unexpected type", file, f->name);
    }
    switch (f->type) {
    case AVRO_UNION:
        if (avro_schema_union_size(fs) != 2 ||
            avro_typeof(codec_skip_links(avro_schema_union_branch(fs, 0))) != AVRO_NULL ||
            avro_typeof(codec_skip_links(avro_schema_union_branch(fs, 1))) != f->sub) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: field %s must be [\"null\", %s]", file, f->name,
                               f->sub == AVRO_ARRAY ? "array" : "string");
        }
        return RECD_OK;
    case AVRO_ARRAY:
    case AVRO_MAP:
        sub = codec_skip_links(f->type == AVRO_ARRAY ? avro_schema_array_items(fs)
                                                     : avro_schema_map_values(fs));
        if (sub == NULL || avro_typeof(sub) != f->sub) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: field %s has unexpected items", file, f->name);
        }
        if (f->rec != NULL) {
            return codec_check_fields(sub, f->rec, f->nrec, file, errstr, errlen);
        }
        return RECD_OK;
    case AVRO_ENUM:
        if ((size_t)avro_schema_enum_number_of_symbols(fs) != f->nsymbols) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "reader schema %s: enum %s must have %zu symbols", file, f->name,
                               f->nsymbols);
        }
        for (i = 0; i < f->nsymbols; i++) {
            const char *sym = avro_schema_enum_get(fs, (int)i);

            if (sym == NULL || strcmp(sym, f->symbols[i]) != 0) {
                return recd_seterr(errstr, errlen, RECD_ECONFIG,
                                   "reader schema %s: enum %s symbol %zu must be %s", file, f->name,
                                   i, f->symbols[i]);
            }
        }
        return RECD_OK;
    default: return RECD_OK;
    }
}

int codec_check_fields(avro_schema_t rec, const struct fspec *spec, size_t nspec, const char *file,
                       char *errstr, size_t errlen)
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
        rc = check_field(avro_schema_record_field_get_by_index(rec, (int)i), &spec[i], file, errstr,
                         errlen);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    return RECD_OK;
}

/* Set v (a generic value) from a JSON default. Returns 0 or -1 (unsupported/mismatched). */
int codec_fill_default(avro_value_t *v, json_t *j, int depth)
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
    case AVRO_NULL:    return json_is_null(j) ? avro_value_set_null(v) : -1;
    case AVRO_BOOLEAN: return json_is_boolean(j) ? avro_value_set_boolean(v, json_is_true(j)) : -1;
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX) {
            return -1;
        }
        return avro_value_set_int(v, (int32_t)json_integer_value(j));
    case AVRO_INT64: return json_is_integer(j) ? avro_value_set_long(v, json_integer_value(j)) : -1;
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
            if (avro_value_append(v, &child, NULL) != 0 ||
                codec_fill_default(&child, json_array_get(j, i), depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_MAP:
        if (!json_is_object(j)) {
            return -1;
        }
        json_object_foreach(j, key, jv)
        {
            if (avro_value_add(v, key, &child, NULL, NULL) != 0 ||
                codec_fill_default(&child, jv, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_UNION:
        /* a union's default belongs to its first branch */
        if (avro_value_set_branch(v, 0, &child) != 0) {
            return -1;
        }
        return codec_fill_default(&child, j, depth + 1);
    case AVRO_RECORD:
        if (!json_is_object(j)) {
            return -1;
        }
        s = avro_value_get_schema(v);
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);

            jv = json_object_get(j, fname);
            if (jv == NULL || avro_value_get_by_index(v, i, &child, NULL) != 0 ||
                codec_fill_default(&child, jv, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    default: return -1;
    }
}
