/*
 * json.c — events and lists as JSON (tail, gen --jsonl) and JSON lines as events (produce).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recctl.h"

/* ---- small encoders -------------------------------------------------------------------------- */
char *base64(const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1), *o = out;
    if (!out) {
        return NULL;
    }
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* Length of a valid UTF-8 sequence at p (of at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80) {
        return 1;
    }
    size_t len;
    uint32_t cp;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/* A JSON string of arbitrary bytes: invalid UTF-8 bytes become U+FFFD. NULL on OOM. */
json_t *jstrn(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j) {
        return j;
    }
    char *buf = malloc(n * 3 + 1);
    size_t o = 0;
    if (!buf) {
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i++;
            continue;
        }
        memcpy(buf + o, s + i, l);
        o += l;
        i += l;
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

json_t *jstr(const char *s)
{
    return s ? jstrn(s, strlen(s)) : json_null();
}

/* Doubles JSON cannot represent are printed as strings. */
static json_t *jreal(double d)
{
    if (isnan(d)) {
        return json_string("NaN");
    }
    if (isinf(d)) {
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    }
    return json_real(d);
}

static const char *const CLICK_TYPE[] = { "VIEW", "CART" };
static const char *const CLICK_SOURCE[] = { "BROWSE", "SEARCH", "RECS" };

/* An input event as a JSON object with the Avro schema's field names (NULL on OOM). A removed
 * item is JSON null. */
json_t *event_to_json(const struct recd_event *ev)
{
    json_t *o, *a;
    if (ev->kind == RECD_KIND_ITEM && ev->u.item.removed) {
        return json_null();
    }
    o = json_object();
    if (!o) {
        return NULL;
    }
    switch (ev->kind) {
    case RECD_KIND_CLICK: {
        const struct recd_click *ck = &ev->u.click;
        json_object_set_new(o, "event_id", jstr(ev->event_id));
        json_object_set_new(o, "user_id", jstr(ev->user_id));
        json_object_set_new(o, "item_id", jstr(ck->item_id));
        json_object_set_new(o, "ts", json_integer(ev->ts_ms));
        json_object_set_new(
            o, "kind", json_string(ck->type >= 0 && ck->type < 2 ? CLICK_TYPE[ck->type] : "?"));
        json_object_set_new(o, "session_id", jstr(ck->session_id));
        json_object_set_new(
            o, "source",
            json_string(ck->source >= 0 && ck->source < 3 ? CLICK_SOURCE[ck->source] : "?"));
        json_object_set_new(o, "query_id", jstr(ck->query_id));
        a = json_object();
        for (uint32_t i = 0; a && i < ck->n_context; i++) {
            json_t *v = jstr(ck->context[i].value);
            json_t *k = jstr(ck->context[i].key);
            if (k && v) {
                json_object_set(a, json_string_value(k), v);
            }
            json_decref(k);
            json_decref(v);
        }
        json_object_set_new(o, "context", a);
        break;
    }
    case RECD_KIND_PURCHASE: {
        const struct recd_purchase *p = &ev->u.purchase;
        json_object_set_new(o, "event_id", jstr(ev->event_id));
        json_object_set_new(o, "user_id", jstr(ev->user_id));
        json_object_set_new(o, "order_id", jstr(p->order_id));
        json_object_set_new(o, "ts", json_integer(ev->ts_ms));
        a = json_array();
        for (uint32_t i = 0; a && i < p->n_lines; i++) {
            json_array_append_new(a,
                                  json_pack("{s:o,s:i,s:o}", "item_id", jstr(p->lines[i].item_id),
                                            "quantity", (int)p->lines[i].quantity, "unit_price",
                                            jreal(p->lines[i].unit_price)));
        }
        json_object_set_new(o, "lines", a);
        json_object_set_new(o, "currency", jstr(p->currency));
        break;
    }
    case RECD_KIND_QUERY: {
        const struct recd_query *q = &ev->u.query;
        json_object_set_new(o, "event_id", jstr(ev->event_id));
        json_object_set_new(o, "user_id", jstr(ev->user_id));
        json_object_set_new(o, "ts", json_integer(ev->ts_ms));
        json_object_set_new(o, "text", jstr(q->text));
        if (q->shown) {
            a = json_array();
            for (uint32_t i = 0; a && i < q->n_shown; i++) {
                json_array_append_new(a, jstr(q->shown[i]));
            }
        } else {
            a = json_null();
        }
        json_object_set_new(o, "shown_item_ids", a);
        break;
    }
    case RECD_KIND_ITEM: {
        const struct recd_item *it = &ev->u.item;
        json_object_set_new(o, "item_id", jstr(it->item_id));
        json_object_set_new(o, "title", jstr(it->title));
        json_object_set_new(o, "description", jstr(it->description ? it->description : ""));
        a = json_array();
        for (uint32_t i = 0; a && i < it->n_category; i++) {
            json_array_append_new(a, jstr(it->category[i]));
        }
        json_object_set_new(o, "category", a);
        json_object_set_new(o, "brand", jstr(it->brand));
        json_object_set_new(o, "price", jreal(it->price));
        json_object_set_new(o, "in_stock", json_boolean(it->in_stock));
        json_object_set_new(o, "updated_ts", json_integer(it->updated_ts));
        break;
    }
    case RECD_KIND_DELETION:
        json_object_set_new(o, "user_id", jstr(ev->user_id));
        json_object_set_new(o, "requested_ts", json_integer(ev->u.deletion.requested_ts));
        json_object_set_new(o, "reason", jstr(ev->u.deletion.reason));
        break;
    default: break;
    }
    return o;
}

json_t *recs_to_json(const struct recd_recs *r)
{
    json_t *o = json_object(), *a = json_array();
    if (!o || !a) {
        json_decref(o);
        json_decref(a);
        return NULL;
    }
    json_object_set_new(o, "user_id", jstr(r->user_id));
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "model_version", jstr(r->model_version));
    json_object_set_new(o, "generated_ts", json_integer(r->generated_ts));
    json_object_set_new(o, "trigger_event_id", jstr(r->trigger_event_id));
    for (uint32_t i = 0; i < r->n_items; i++) {
        json_array_append_new(a,
                              json_pack("{s:o,s:o,s:o,s:o}", "item_id", jstr(r->items[i].item_id),
                                        "score", jreal(r->items[i].score), "reason",
                                        jstr(r->items[i].reason), "because_item_id",
                                        jstr(r->items[i].because_item_id)));
    }
    json_object_set_new(o, "items", a);
    return o;
}

/* Print a JSON value as one line on stdout. */
int print_json_line(json_t *j)
{
    char *s = json_dumps(j, JSON_OUT_FLAGS | JSON_ENCODE_ANY);
    if (!s) {
        return RECD_ENOMEM;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
    return RECD_OK;
}

/* ---- JSON -> event ------------------------------------------------------------------------- */
struct jctx {
    json_t *obj;
    struct recd_arena *arena;
    char *err;
    size_t errlen;
};

static int jfail(struct jctx *j, const char *field, const char *what)
{
    return recd_seterr(j->err, j->errlen, RECD_EINVAL, "field '%s': %s", field, what);
}

/* Required (req=1) or optional string; NULL JSON → NULL (optional only). Borrowed from the
 * JSON tree. */
static int jget_str(struct jctx *j, const char *name, int req, const char **out)
{
    json_t *v = json_object_get(j->obj, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (req) {
            return jfail(j, name, v ? "must not be null" : "missing");
        }
        return RECD_OK;
    }
    if (!json_is_string(v)) {
        return jfail(j, name, "expected a string");
    }
    *out = json_string_value(v);
    return RECD_OK;
}

static int jget_int(struct jctx *j, const char *name, int req, int64_t def, int64_t *out)
{
    json_t *v = json_object_get(j->obj, name);
    *out = def;
    if (!v) {
        if (req) {
            return jfail(j, name, "missing");
        }
        return RECD_OK;
    }
    if (!json_is_integer(v)) {
        return jfail(j, name, "expected an integer");
    }
    *out = (int64_t)json_integer_value(v);
    return RECD_OK;
}

static int jnum(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(s, "Infinity") == 0) {
            *out = INFINITY;
            return 0;
        }
        if (strcmp(s, "-Infinity") == 0) {
            *out = -INFINITY;
            return 0;
        }
    }
    return -1;
}

static int jget_enum(struct jctx *j, const char *name, const char *const *sym, int n, int def,
                     int *out)
{
    json_t *v = json_object_get(j->obj, name);
    *out = def;
    if (!v || json_is_null(v)) {
        return RECD_OK;
    }
    if (json_is_string(v)) {
        for (int i = 0; i < n; i++) {
            if (strcasecmp(json_string_value(v), sym[i]) == 0) {
                *out = i;
                return RECD_OK;
            }
        }
    }
    char what[128];
    size_t off = (size_t)snprintf(what, sizeof what, "expected one of");
    for (int i = 0; i < n && off < sizeof what; i++) {
        off += (size_t)snprintf(what + off, sizeof what - off, " %s", sym[i]);
    }
    return jfail(j, name, what);
}

/* A string array (NULL/absent → NULL, 0 when allow_null). */
static int jget_str_array(struct jctx *j, const char *name, int allow_null, const char ***out,
                          uint32_t *n)
{
    json_t *v = json_object_get(j->obj, name);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v)) {
        if (!allow_null && v) {
            return jfail(j, name, "must not be null");
        }
        return RECD_OK;
    }
    if (!json_is_array(v)) {
        return jfail(j, name, "expected an array of strings");
    }
    size_t cnt = json_array_size(v);
    const char **a = recd_arena_alloc(j->arena, (cnt ? cnt : 1) * sizeof *a);
    if (!a) {
        return recd_seterr(j->err, j->errlen, RECD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            return jfail(j, name, "expected an array of strings");
        }
        a[i] = json_string_value(e);
    }
    *out = a;
    *n = (uint32_t)cnt;
    return RECD_OK;
}

static const char *const CLICK_FIELDS[] = { "event_id",   "user_id", "item_id",  "ts",      "kind",
                                            "session_id", "source",  "query_id", "context", NULL };
static const char *const PURCHASE_FIELDS[] = { "event_id", "user_id",  "order_id", "ts",
                                               "lines",    "currency", NULL };
static const char *const QUERY_FIELDS[] = { "event_id", "user_id",        "ts",
                                            "text",     "shown_item_ids", NULL };
static const char *const ITEM_FIELDS[] = { "item_id", "title", "description", "category",
                                           "brand",   "price", "in_stock",    "updated_ts",
                                           "removed", NULL };
static const char *const DELETION_FIELDS[] = { "user_id", "requested_ts", "reason", NULL };
static const char *const *const KIND_FIELDS[RECD_KIND__NINPUT] = { CLICK_FIELDS, PURCHASE_FIELDS,
                                                                   QUERY_FIELDS, ITEM_FIELDS,
                                                                   DELETION_FIELDS };

/* Convert a JSON object of `kind` into *ev. Strings are borrowed from the JSON tree; arrays
 * are allocated in the arena. */
/* Every key of j->obj must be a field of the kind (or "_kind"). */
static int check_known_fields(struct jctx *j, int kind)
{
    const char *key;
    json_t *v;

    json_object_foreach(j->obj, key, v)
    {
        int known = key[0] == '_' && strcmp(key, "_kind") == 0;
        for (const char *const *f = KIND_FIELDS[kind]; !known && *f; f++) {
            known = strcmp(*f, key) == 0;
        }
        if (!known) {
            return recd_seterr(j->err, j->errlen, RECD_EINVAL, "unknown field '%s' for a %s", key,
                               recd_kind_name(kind));
        }
    }
    return RECD_OK;
}

/* A click's optional "context": an object of strings, into the arena. */
static int click_context(struct jctx *j, struct recd_click *ck)
{
    json_t *v = json_object_get(j->obj, "context");

    if (!v || json_is_null(v)) {
        return RECD_OK;
    }
    if (!json_is_object(v)) {
        return jfail(j, "context", "expected an object of strings");
    }
    size_t n = json_object_size(v);
    ck->context = recd_arena_alloc(j->arena, (n ? n : 1) * sizeof *ck->context);
    if (!ck->context) {
        return recd_seterr(j->err, j->errlen, RECD_ENOMEM, "out of memory");
    }
    const char *ck_key;
    json_t *cv;
    json_object_foreach(v, ck_key, cv)
    {
        if (!json_is_string(cv)) {
            return jfail(j, "context", "expected an object of strings");
        }
        ck->context[ck->n_context].key = ck_key;
        ck->context[ck->n_context].value = json_string_value(cv);
        ck->n_context++;
    }
    return RECD_OK;
}

/* A click event. */
static int click_from_json(struct jctx *j, struct recd_event *ev)
{
    struct recd_click *ck = &ev->u.click;
    int rc;

    if ((rc = jget_str(j, "event_id", 1, &ev->event_id)) ||
        (rc = jget_str(j, "user_id", 1, &ev->user_id)) ||
        (rc = jget_str(j, "item_id", 1, &ck->item_id)) ||
        (rc = jget_int(j, "ts", 1, 0, &ev->ts_ms)) ||
        (rc = jget_enum(j, "kind", CLICK_TYPE, 2, RECD_CLICK_VIEW, &ck->type)) ||
        (rc = jget_str(j, "session_id", 0, &ck->session_id)) ||
        (rc = jget_enum(j, "source", CLICK_SOURCE, 3, RECD_SRC_BROWSE, &ck->source)) ||
        (rc = jget_str(j, "query_id", 0, &ck->query_id))) {
        return rc;
    }
    return click_context(j, ck);
}

/* One purchase line {item_id, quantity (default 1), unit_price}. */
static int purchase_line(struct jctx *j, json_t *ln, struct recd_purchase_line *l)
{
    json_t *f;
    int64_t x;

    if (!json_is_object(ln)) {
        return jfail(j, "lines", "expected objects {item_id, quantity, unit_price}");
    }
    f = json_object_get(ln, "item_id");
    if (!json_is_string(f)) {
        return jfail(j, "lines[].item_id", "expected a string");
    }
    l->item_id = json_string_value(f);
    f = json_object_get(ln, "quantity");
    if (f && !json_is_integer(f)) {
        return jfail(j, "lines[].quantity", "expected an integer");
    }
    x = f ? (int64_t)json_integer_value(f) : 1;
    if (x < INT32_MIN || x > INT32_MAX) {
        return jfail(j, "lines[].quantity", "out of the int range");
    }
    l->quantity = (int32_t)x;
    f = json_object_get(ln, "unit_price");
    if (!f || jnum(f, &l->unit_price) != 0) {
        return jfail(j, "lines[].unit_price", f ? "expected a number" : "missing");
    }
    return RECD_OK;
}

/* A purchase event (currency defaults to EUR; lines into the arena). */
static int purchase_from_json(struct jctx *j, struct recd_event *ev)
{
    struct recd_purchase *p = &ev->u.purchase;
    json_t *v;
    int rc;

    if ((rc = jget_str(j, "event_id", 1, &ev->event_id)) ||
        (rc = jget_str(j, "user_id", 1, &ev->user_id)) ||
        (rc = jget_str(j, "order_id", 1, &p->order_id)) ||
        (rc = jget_int(j, "ts", 1, 0, &ev->ts_ms)) ||
        (rc = jget_str(j, "currency", 0, &p->currency))) {
        return rc;
    }
    if (!p->currency) {
        p->currency = "EUR";
    }
    v = json_object_get(j->obj, "lines");
    if (!v || !json_is_array(v)) {
        return jfail(j, "lines", v ? "expected an array" : "missing");
    }
    size_t n = json_array_size(v);
    p->lines = recd_arena_alloc(j->arena, (n ? n : 1) * sizeof *p->lines);
    if (!p->lines) {
        return recd_seterr(j->err, j->errlen, RECD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = purchase_line(j, json_array_get(v, i), &p->lines[i])) != RECD_OK) {
            return rc;
        }
    }
    p->n_lines = (uint32_t)n;
    return RECD_OK;
}

/* A search query event. */
static int query_from_json(struct jctx *j, struct recd_event *ev)
{
    struct recd_query *q = &ev->u.query;
    int rc;

    if ((rc = jget_str(j, "event_id", 1, &ev->event_id)) ||
        (rc = jget_str(j, "user_id", 1, &ev->user_id)) ||
        (rc = jget_int(j, "ts", 1, 0, &ev->ts_ms)) || (rc = jget_str(j, "text", 1, &q->text)) ||
        (rc = jget_str_array(j, "shown_item_ids", 1, &q->shown, &q->n_shown))) {
        return rc;
    }
    return RECD_OK;
}

/* A catalogue item, or its removal ({"item_id", "removed": true}). */
static int item_from_json(struct jctx *j, struct recd_event *ev)
{
    struct recd_item *it = &ev->u.item;
    json_t *v;
    int rc;

    if ((rc = jget_str(j, "item_id", 1, &it->item_id))) {
        return rc;
    }
    ev->event_id = it->item_id;
    v = json_object_get(j->obj, "removed");
    if (v && !json_is_boolean(v)) {
        return jfail(j, "removed", "expected true or false");
    }
    if (v && json_is_true(v)) {
        it->removed = 1;
        return RECD_OK;
    }
    if ((rc = jget_str(j, "title", 1, &it->title)) ||
        (rc = jget_str(j, "description", 0, &it->description)) ||
        (rc = jget_str_array(j, "category", 0, &it->category, &it->n_category)) ||
        (rc = jget_str(j, "brand", 0, &it->brand)) ||
        (rc = jget_int(j, "updated_ts", 1, 0, &it->updated_ts))) {
        return rc;
    }
    if (!it->description) {
        it->description = "";
    }
    v = json_object_get(j->obj, "price");
    if (!v || jnum(v, &it->price) != 0) {
        return jfail(j, "price", v ? "expected a number" : "missing");
    }
    v = json_object_get(j->obj, "in_stock");
    if (v && !json_is_boolean(v)) {
        return jfail(j, "in_stock", "expected true or false");
    }
    it->in_stock = v ? json_is_true(v) : 1;
    ev->ts_ms = it->updated_ts;
    return RECD_OK;
}

/* A user-deletion request. */
static int deletion_from_json(struct jctx *j, struct recd_event *ev)
{
    int rc;

    if ((rc = jget_str(j, "user_id", 1, &ev->user_id)) ||
        (rc = jget_int(j, "requested_ts", 1, 0, &ev->u.deletion.requested_ts)) ||
        (rc = jget_str(j, "reason", 0, &ev->u.deletion.reason))) {
        return rc;
    }
    ev->ts_ms = ev->u.deletion.requested_ts;
    return RECD_OK;
}

int json_to_event(json_t *obj, int kind, struct recd_arena *arena, struct recd_event *ev, char *err,
                  size_t errlen)
{
    struct jctx j = { obj, arena, err, errlen };
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->partition = -1;
    ev->offset = -1;
    if ((rc = check_known_fields(&j, kind)) != RECD_OK) {
        return rc;
    }
    switch (kind) {
    case RECD_KIND_CLICK:    return click_from_json(&j, ev);
    case RECD_KIND_PURCHASE: return purchase_from_json(&j, ev);
    case RECD_KIND_QUERY:    return query_from_json(&j, ev);
    case RECD_KIND_ITEM:     return item_from_json(&j, ev);
    case RECD_KIND_DELETION: return deletion_from_json(&j, ev);
    default:                 return recd_seterr(err, errlen, RECD_EINVAL, "bad kind");
    }
}
