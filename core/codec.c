/*
 * codec.c — Avro decoding of input records and encoding of events and Recommendations
 * (codec.h), on avro-c's value API. This file: recd_codec_new/destroy and the decoders (one per
 * kind and writer schema); codec_schema.c: the reader schemas' layout, checks and defaults;
 * codec_decode.c: the pre-check walker and decoding; codec_encode.c: encoding;
 * codec_internal.h: what they share.
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
#include "codec_internal.h"

const char codec_dummy_buf[1];

/* ---- small helpers ---------------------------------------------------------------------- */

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
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema file %s: %s", path, strerror(errno));
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
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "schema file %s: larger than %d bytes", path,
                         CODEC_MAX_SCHEMA_FILE);
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

    s = codec_skip_links(s);
    if (s == NULL || depth > CODEC_MAX_DEPTH) {
        return 0;
    }
    switch (avro_typeof(s)) {
    case AVRO_MAP:   return 1;
    case AVRO_ARRAY: return has_map(avro_schema_array_items(s), depth + 1);
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
    default: return 0;
    }
}

/* (Re)create d's resolved-writer value around evalue. */
int codec_wdec_new_rvalue(struct wdec *d)
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
    if (avro_typeof(codec_skip_links(d->wschema)) != AVRO_RECORD) {
        rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: not a record schema", origin);
        goto cleanup;
    }
    nf = (int)avro_schema_record_size(rs);
    d->nfields = nf;

    /* 1. which reader fields does the writer have? */
    for (i = 0; i < nf; i++) {
        const char *name = avro_schema_record_field_name(rs, i);

        if (avro_schema_record_field_get_index(codec_skip_links(d->wschema), name) < 0) {
            if (json_object_get(json_array_get(rfields, (size_t)i), "default") == NULL) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "%s: field %s is missing and has no default in the reader "
                                 "schema %s",
                                 origin, name, recd_kind_schema_file(kind));
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
        if (etext == NULL || avro_schema_from_json_length(etext, strlen(etext), &d->eschema) != 0) {
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
                             "%s: cannot be resolved against the reader schema %s: %s", origin,
                             recd_kind_schema_file(kind), avro_strerror());
            goto cleanup;
        }
        if (codec_wdec_new_rvalue(d) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "%s: %s", origin, avro_strerror());
            goto cleanup;
        }
        d->renew_rvalue = has_map(d->wschema, 0);
    }

    /* 4. defaults of missing fields; enum maps of present enum fields */
    for (i = 0; i < nf; i++) {
        avro_schema_t rf = codec_skip_links(avro_schema_record_field_get_by_index(rs, i));
        json_t *jf = json_array_get(rfields, (size_t)i);

        if (d->fidx[i] < 0) {
            d->dclass[i] = avro_generic_class_from_schema(rf);
            if (d->dclass[i] == NULL || avro_generic_value_new(d->dclass[i], &d->dflt[i]) != 0 ||
                codec_fill_default(&d->dflt[i], json_object_get(jf, "default"), 0) != 0) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                                 "reader schema %s: unsupported default for field %s",
                                 recd_kind_schema_file(kind), avro_schema_record_field_name(rs, i));
                goto cleanup;
            }
        } else if (avro_typeof(rf) == AVRO_ENUM && d->resolver != NULL) {
            avro_schema_t wf = codec_skip_links(avro_schema_record_field_get(
                codec_skip_links(d->wschema), avro_schema_record_field_name(rs, i)));

            if (wf == NULL || avro_typeof(wf) != AVRO_ENUM) {
                rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: field %s must be an enum",
                                 origin, avro_schema_record_field_name(rs, i));
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

int recd_codec_new(const struct recd_codec_conf *conf, struct recd_codec **out, char *errstr,
                   size_t errlen)
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

        if (avro_schema_from_json_length(codec_kinds[k].json, strlen(codec_kinds[k].json),
                                         &c->rschema[k]) != 0) {
            c->rschema[k] = NULL;
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "reader schema %s: %s", file,
                             avro_strerror());
            goto cleanup;
        }
        c->rjson[k] = json_loads(codec_kinds[k].json, 0, &jerr);
        if (c->rjson[k] == NULL || !json_is_array(json_object_get(c->rjson[k], "fields"))) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "reader schema %s: %s", file,
                             c->rjson[k] == NULL ? jerr.text : "no fields");
            goto cleanup;
        }
        rc = codec_check_fields(c->rschema[k], codec_kinds[k].spec, codec_kinds[k].nspec, file,
                                errstr, errlen);
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
    c->reader = avro_reader_memory(codec_dummy_buf, 0);
    c->writer = avro_writer_memory(codec_dummy_buf, 0);
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
