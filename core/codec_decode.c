/*
 * codec_decode.c — decoding input records and Recommendations: every value is first walked
 * against its writer schema (the pre-check, see codec.c), then read and copied out into the
 * caller's arena.
 */
#include "codec_internal.h"

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
    s = codec_skip_links(s);
    if (s == NULL) {
        return walk_fail(w, "unresolved schema link");
    }
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
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
    case AVRO_INT64:  return walk_long(w, &v);
    case AVRO_FLOAT:  return walk_skip(w, 4, "truncated float");
    case AVRO_DOUBLE: return walk_skip(w, 8, "truncated double");
    case AVRO_STRING:
    case AVRO_BYTES:  return walk_bytes(w);
    case AVRO_FIXED:  return walk_skip(w, (uint64_t)avro_schema_fixed_size(s), "truncated fixed");
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
            if (walk_value(w, avro_schema_record_field_get_by_index(s, (int)i), depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case AVRO_ARRAY: return walk_blocks(w, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP:   return walk_blocks(w, avro_schema_map_values(s), 1, depth);
    default:         return walk_fail(w, "unsupported schema type");
    }
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
                           w.too_large ? "too_large" : "avro", w.err, (size_t)(w.p - w.start),
                           d->origin);
    }
    if (w.p != w.end) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "avro: trailing bytes (%zu after a %zu-byte record)",
                           (size_t)(w.end - w.p), (size_t)(w.p - w.start));
    }
    if (d->renew_rvalue && codec_wdec_new_rvalue(d) != 0) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "avro: %s", avro_strerror());
    }
    avro_reader_memory_set_source(c->reader, len > 0 ? (const char *)body : codec_dummy_buf,
                                  (int64_t)len);
    rc = avro_value_read(c->reader, d->resolver != NULL ? &d->rvalue : &d->evalue);
    if (rc != 0) {
        return recd_seterr(errstr, errlen, rc == ENOMEM ? RECD_ENOMEM : RECD_EDECODE, "avro: %s",
                           avro_strerror());
    }
    return RECD_OK;
}

/* Copy-out context: the decoder, the arena, and where to report. */
struct out {
    struct wdec *d;
    struct recd_arena *arena;
    char *errstr;
    size_t errlen;
    size_t cap; /* strings copied up to this many bytes (0: whole; recd_codec_set_string_cap) */
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

/* String value -> arena copy of at most o->cap bytes (embedded NULs cut the C string short). */
static int copy_str(struct out *o, avro_value_t *v, const char **dst)
{
    const char *p = NULL;
    size_t sz = 0, n;

    if (avro_value_get_string(v, &p, &sz) != 0) {
        return out_avro_err(o, "string");
    }
    n = sz > 0 && p != NULL ? sz - 1 : 0;
    if (o->cap > 0 && n > o->cap) {
        n = o->cap;
    }
    *dst = recd_arena_strndup(o->arena, p != NULL ? p : "", n);
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
            return recd_seterr(
                o->errstr, o->errlen, RECD_EDECODE,
                "avro: enum symbol %d of field %s unknown to the reader", idx,
                avro_schema_record_field_name(avro_value_get_schema(&o->d->evalue), o->d->fidx[i]));
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

    if ((rc = field_str(o, CF_EVENT_ID, &ev->event_id)) != RECD_OK ||
        (rc = field_str(o, CF_USER_ID, &ev->user_id)) != RECD_OK ||
        (rc = field_str(o, CF_ITEM_ID, &ck->item_id)) != RECD_OK ||
        (rc = field_long(o, CF_TS, &ev->ts_ms)) != RECD_OK ||
        (rc = field_enum(o, CF_KIND, &ck->type)) != RECD_OK ||
        (rc = field_opt_str(o, CF_SESSION_ID, &ck->session_id)) != RECD_OK ||
        (rc = field_enum(o, CF_SOURCE, &ck->source)) != RECD_OK ||
        (rc = field_opt_str(o, CF_QUERY_ID, &ck->query_id)) != RECD_OK ||
        (rc = get_field(o, CF_CONTEXT, &map)) != RECD_OK) {
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

    if ((rc = field_str(o, PF_EVENT_ID, &ev->event_id)) != RECD_OK ||
        (rc = field_str(o, PF_USER_ID, &ev->user_id)) != RECD_OK ||
        (rc = field_str(o, PF_ORDER_ID, &pu->order_id)) != RECD_OK ||
        (rc = field_long(o, PF_TS, &ev->ts_ms)) != RECD_OK ||
        (rc = field_str(o, PF_CURRENCY, &pu->currency)) != RECD_OK ||
        (rc = get_field(o, PF_LINES, &arr)) != RECD_OK) {
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

        if (avro_value_get_by_index(&arr, k, &line, NULL) != 0 ||
            avro_value_get_by_index(&line, PL_QUANTITY, &f, NULL) != 0 ||
            avro_value_get_int(&f, &l->quantity) != 0 ||
            avro_value_get_by_index(&line, PL_UNIT_PRICE, &f, NULL) != 0 ||
            avro_value_get_double(&f, &l->unit_price) != 0 ||
            avro_value_get_by_index(&line, PL_ITEM_ID, &f, NULL) != 0) {
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

    if ((rc = field_str(o, QF_EVENT_ID, &ev->event_id)) != RECD_OK ||
        (rc = field_str(o, QF_USER_ID, &ev->user_id)) != RECD_OK ||
        (rc = field_long(o, QF_TS, &ev->ts_ms)) != RECD_OK ||
        (rc = field_str(o, QF_TEXT, &q->text)) != RECD_OK ||
        (rc = get_field(o, QF_SHOWN, &u)) != RECD_OK) {
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

    if ((rc = field_str(o, IF_ITEM_ID, &it->item_id)) != RECD_OK ||
        (rc = field_str(o, IF_TITLE, &it->title)) != RECD_OK ||
        (rc = field_str(o, IF_DESCRIPTION, &it->description)) != RECD_OK ||
        (rc = field_opt_str(o, IF_BRAND, &it->brand)) != RECD_OK ||
        (rc = field_double(o, IF_PRICE, &it->price)) != RECD_OK ||
        (rc = field_long(o, IF_UPDATED_TS, &it->updated_ts)) != RECD_OK ||
        (rc = get_field(o, IF_IN_STOCK, &v)) != RECD_OK) {
        return rc;
    }
    if (avro_value_get_boolean(&v, &b) != 0) {
        return out_avro_err(o, "in_stock");
    }
    it->in_stock = b != 0;
    if ((rc = get_field(o, IF_CATEGORY, &v)) != RECD_OK ||
        (rc = copy_str_array(o, &v, &it->category, &it->n_category)) != RECD_OK) {
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

    if ((rc = field_str(o, DF_USER_ID, &ev->user_id)) != RECD_OK ||
        (rc = field_long(o, DF_REQUESTED_TS, &dl->requested_ts)) != RECD_OK ||
        (rc = field_opt_str(o, DF_REASON, &dl->reason)) != RECD_OK) {
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
    return (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) |
                     (uint32_t)p[4]);
}

/* Decode body with d and copy the fields out into ev. */
static int decode_with(struct recd_codec *c, struct wdec *d, const uint8_t *body, size_t len,
                       struct recd_arena *arena, struct recd_event *ev, char *errstr, size_t errlen)
{
    struct out o = { d, arena, errstr, errlen, c->str_cap };
    int rc;

    rc = decode_body(c, d, body, len, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    switch (d->kind) {
    case RECD_KIND_CLICK:    return out_click(&o, ev);
    case RECD_KIND_PURCHASE: return out_purchase(&o, ev);
    case RECD_KIND_QUERY:    return out_query(&o, ev);
    case RECD_KIND_ITEM:     return out_item(&o, ev);
    case RECD_KIND_DELETION: return out_deletion(&o, ev);
    default:                 return recd_seterr(errstr, errlen, RECD_EINVAL, "bad kind %d", d->kind);
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

void recd_codec_set_string_cap(struct recd_codec *c, size_t cap)
{
    if (c != NULL) {
        c->str_cap = cap;
    }
}

int recd_codec_decode(struct recd_codec *c, int kind, const void *key, size_t keylen,
                      const void *val, size_t len, struct recd_arena *arena, struct recd_event *ev,
                      char *errstr, size_t errlen)
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
        id_copy = recd_arena_strndup(arena, key,
                                     c->str_cap > 0 && keylen > c->str_cap ? c->str_cap : keylen);
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
                           "too_large: value of %zu bytes exceeds %u bytes", len, CODEC_MAX_VALUE);
    }

    switch (c->format) {
    case RECD_WIRE_CONFLUENT:
        if (len < CONFLUENT_HDR) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: %zu-byte value is shorter than the Confluent header", len);
        }
        if (v[0] != 0) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: magic byte 0x%02x, expected 0x00", v[0]);
        }
        id = be32(v);
        d = find_id(c, id);
        if (d == NULL) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "unknown_schema_id: %d", (int)id);
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
    default: d = NULL; break;
    }

    if (d == NULL) {
        rc = decode_with(c, c->plain[kind], v, len, arena, ev, errstr, errlen);
    } else if (d->kind != kind) {
        return recd_seterr(errstr, errlen, RECD_EDECODE,
                           "unknown_schema_id: %d is a %s schema, expected %s", (int)be32(v),
                           recd_kind_name(d->kind), recd_kind_name(kind));
    } else {
        rc = decode_with(c, d, v + CONFLUENT_HDR, len - CONFLUENT_HDR, arena, ev, errstr, errlen);
    }
    if (rc != RECD_OK) {
        event_clear(ev, kind);
    }
    return rc;
}

int recd_codec_decode_recs(struct recd_codec *c, const void *val, size_t len,
                           struct recd_arena *arena, struct recd_recs *r, char *errstr,
                           size_t errlen)
{
    struct out o = { NULL, arena, errstr, errlen, 0 };
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
                           "too_large: value of %zu bytes exceeds %u bytes", len, CODEC_MAX_VALUE);
    }
    if (((const uint8_t *)val)[0] == 0) {
        /* Confluent framing (output.confluent_id): a plain record starts with the zigzag
         * length of user_id, which is never empty */
        if (len < CONFLUENT_HDR) {
            return recd_seterr(errstr, errlen, RECD_EDECODE,
                               "framing: %zu-byte value is shorter than the Confluent header", len);
        }
        val = (const uint8_t *)val + CONFLUENT_HDR;
        len -= CONFLUENT_HDR;
    }
    rc = decode_body(c, c->recs, val, len, errstr, errlen);
    if (rc != RECD_OK) {
        goto cleanup;
    }
    if ((rc = field_str(&o, RF_USER_ID, &r->user_id)) != RECD_OK ||
        (rc = field_long(&o, RF_SEQ, &r->seq)) != RECD_OK ||
        (rc = field_str(&o, RF_MODEL_VERSION, &r->model_version)) != RECD_OK ||
        (rc = field_long(&o, RF_GENERATED_TS, &r->generated_ts)) != RECD_OK ||
        (rc = field_opt_str(&o, RF_TRIGGER, &r->trigger_event_id)) != RECD_OK ||
        (rc = get_field(&o, RF_ITEMS, &arr)) != RECD_OK) {
        goto cleanup;
    }
    if (r->user_id[0] == '\0') {
        /* recd never publishes one, and a plain record with one would start with 0x00, the
         * Confluent magic byte: refused, so that the framing is never ambiguous */
        rc = recd_seterr(errstr, errlen, RECD_EDECODE, "avro: empty user_id");
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

            if (avro_value_get_by_index(&arr, k, &it, NULL) != 0 ||
                avro_value_get_by_index(&it, RI_SCORE, &f, NULL) != 0 ||
                avro_value_get_float(&f, &ri->score) != 0 ||
                avro_value_get_by_index(&it, RI_ITEM_ID, &f, NULL) != 0) {
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
