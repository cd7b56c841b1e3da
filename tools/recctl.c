/*
 * recctl.c — recd's command-line tool.
 *
 *   recctl produce   JSON lines → Avro records on an input topic
 *   recctl replay    a dataset directory → the event topics (optionally with poison records)
 *   recctl gen       the synthetic shop → the topics (or JSON lines)
 *   recctl tail      a topic → one JSON object per record
 *   recctl forget    publish a user-deletion request
 *   recctl metadata  brokers and topics (readiness probe)
 *   recctl topics create   create recd's topics
 *   recctl lag       a consumer group's committed offsets and lag as Kafka records them
 *   recctl state / checkpoint   (tools/recctl_state.c)
 *
 * Common options (before or after the command): -b/--brokers (default $RECD_BOOTSTRAP, else
 * localhost:9092), -X key=value (librdkafka property, applied last), --topic-<name> overrides.
 *
 * Ownership: every command owns what it creates and releases it on its cleanup path; strings
 * of decoded/parsed events live in a per-record arena (or in the JSON tree they came from)
 * until the record has been encoded or printed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "dataset.h"
#include "event.h"
#include "recctl.h"
#include "recd.h"
#include "shopgen.h"

/* ---- topics and kinds ------------------------------------------------------------------------ */
enum {
    T_CLICKS = RECD_KIND_CLICK,
    T_PURCHASES = RECD_KIND_PURCHASE,
    T_QUERIES = RECD_KIND_QUERY,
    T_ITEMS = RECD_KIND_ITEM,
    T_DELETIONS = RECD_KIND_DELETION,
    T_RECS = RECD_KIND_RECS,
    T_DLQ,
    T__N
};

static const char *const TOPIC_DEFAULT[T__N] = {
    "shop.clicks", "shop.purchases", "shop.queries", "shop.items", "shop.user-deletions",
    "shop.recommendations", "recd.dlq"
};

/* --kind names; index = topic index. "raw" (any topic, printed like the DLQ) is T__N. */
static const char *const KIND_NAME[T__N] = {
    "click", "purchase", "query", "item", "deletion", "recs", "dlq"
};
#define KIND_RAW T__N

static int parse_kind(const char *s)
{
    for (int k = 0; k < T__N; k++)
        if (strcmp(s, KIND_NAME[k]) == 0)
            return k;
    if (strcmp(s, "recommendations") == 0)
        return T_RECS;
    if (strcmp(s, "raw") == 0)
        return KIND_RAW;
    /* plural forms: clicks, purchases, queries, items, deletions */
    if (strcmp(s, "clicks") == 0) return T_CLICKS;
    if (strcmp(s, "purchases") == 0) return T_PURCHASES;
    if (strcmp(s, "queries") == 0) return T_QUERIES;
    if (strcmp(s, "items") == 0) return T_ITEMS;
    if (strcmp(s, "deletions") == 0) return T_DELETIONS;
    return -1;
}

/* ---- common options -------------------------------------------------------------------------- */
#define MAX_X 128

struct common {
    const char *brokers;
    const char *topic[T__N];
    const char *x[MAX_X];     /* "key=value", borrowed from argv */
    int n_x;
    int verbose;
};

enum {
    O_TOPIC0 = 1000,          /* O_TOPIC0 + topic index */
    O_KIND = 1100, O_TOPIC, O_CONFLUENT_ID, O_FORMAT, O_RATE, O_CONCURRENCY, O_LIMIT, O_SKIP,
    O_PHASE, O_POISON, O_SEED, O_POISON_LOG, O_UNKNOWN_ITEMS, O_OVERSIZE, O_GAP_MS, O_START_TS,
    O_META_LOG, O_VALID, O_COLD_FRAC,
    O_USERS, O_ITEMS, O_EVENTS, O_CATEGORIES, O_JSONL, O_FROM_BEGINNING, O_MAX, O_IDLE_MS,
    O_TIMEOUT_MS, O_PARTITIONS, O_REPLICATION, O_REASON, O_ALL, O_P_QUERY, O_P_CART,
    O_P_PURCHASE, O_TS, O_GROUP
};

#define COMMON_SHORT "b:X:hv"     /* commands: options anywhere */
#define MAIN_SHORT "+b:X:hv"      /* before the command: stop at the command name */
#define COMMON_LONG \
    {"brokers", required_argument, NULL, 'b'}, \
    {"help", no_argument, NULL, 'h'}, \
    {"verbose", no_argument, NULL, 'v'}, \
    {"topic-clicks", required_argument, NULL, O_TOPIC0 + T_CLICKS}, \
    {"topic-purchases", required_argument, NULL, O_TOPIC0 + T_PURCHASES}, \
    {"topic-queries", required_argument, NULL, O_TOPIC0 + T_QUERIES}, \
    {"topic-items", required_argument, NULL, O_TOPIC0 + T_ITEMS}, \
    {"topic-deletions", required_argument, NULL, O_TOPIC0 + T_DELETIONS}, \
    {"topic-recommendations", required_argument, NULL, O_TOPIC0 + T_RECS}, \
    {"topic-recs", required_argument, NULL, O_TOPIC0 + T_RECS}, \
    {"topic-dlq", required_argument, NULL, O_TOPIC0 + T_DLQ}

static const char COMMON_HELP[] =
    "Common options:\n"
    "  -b, --brokers LIST        bootstrap servers\n"
    "                            (default: $RECD_BOOTSTRAP, else localhost:9092)\n"
    "  -X KEY=VALUE              librdkafka property, applied after recctl's own (repeatable)\n"
    "  --topic-clicks T          (default shop.clicks)\n"
    "  --topic-purchases T       (default shop.purchases)\n"
    "  --topic-queries T         (default shop.queries)\n"
    "  --topic-items T           (default shop.items)\n"
    "  --topic-deletions T       (default shop.user-deletions)\n"
    "  --topic-recommendations T (default shop.recommendations)\n"
    "  --topic-dlq T             (default recd.dlq)\n"
    "  -v, --verbose             progress and details on stderr\n"
    "  -h, --help                this help\n";

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Handles a common option: 1 handled, 0 not a common option, -1 error (printed). */
static int common_opt(struct common *c, const char *cmd, int opt, const char *arg)
{
    if (opt == 'b') {
        c->brokers = arg;
        return 1;
    }
    if (opt == 'v') {
        c->verbose++;
        return 1;
    }
    if (opt == 'X') {
        if (!strchr(arg, '=') || arg[0] == '=') {
            fprintf(stderr, "recctl %s: -X expects KEY=VALUE, got '%s'\n", cmd, arg);
            return -1;
        }
        if (c->n_x >= MAX_X) {
            fprintf(stderr, "recctl %s: too many -X options (max %d)\n", cmd, MAX_X);
            return -1;
        }
        c->x[c->n_x++] = arg;
        return 1;
    }
    if (opt >= O_TOPIC0 && opt < O_TOPIC0 + T__N) {
        if (!*arg) {
            fprintf(stderr, "recctl %s: empty topic name\n", cmd);
            return -1;
        }
        c->topic[opt - O_TOPIC0] = arg;
        return 1;
    }
    return 0;
}

static int parse_ll(const char *cmd, const char *opt, const char *arg, long long min,
                    long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "recctl %s: %s: expected an integer in [%lld, %lld], got '%s'\n", cmd,
                opt, min, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_dbl(const char *cmd, const char *opt, const char *arg, double min, double max,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "recctl %s: %s: expected a number in [%g, %g], got '%s'\n", cmd, opt,
                min, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static double now_s(void)
{
    return (double)recd_now_mono_ns() / 1e9;
}

/* ---- librdkafka ----------------------------------------------------------------------------- */
static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t len)
{
    char e[512];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK)
        return recd_seterr(err, len, RECD_ECONFIG, "%s=%s: %s", k, v, e);
    return RECD_OK;
}

/* A client configuration: bootstrap servers, recctl's defaults (pairs, NULL-terminated), then
 * the -X properties. The result is owned by the caller (or by rd_kafka_new on success). */
static rd_kafka_conf_t *make_conf(const struct common *c, const char *const *defaults, char *err,
                                  size_t len)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        recd_seterr(err, len, RECD_ENOMEM, "out of memory");
        return NULL;
    }
    if (conf_set(conf, "bootstrap.servers", c->brokers, err, len) != RECD_OK ||
        conf_set(conf, "client.id", "recctl", err, len) != RECD_OK ||
        conf_set(conf, "log.connection.close", "false", err, len) != RECD_OK)
        goto fail;
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        if (conf_set(conf, defaults[i], defaults[i + 1], err, len) != RECD_OK)
            goto fail;
    for (int i = 0; i < c->n_x; i++) {
        char key[256];
        const char *eq = strchr(c->x[i], '=');
        size_t kl = (size_t)(eq - c->x[i]);
        if (kl >= sizeof key) {
            recd_seterr(err, len, RECD_ECONFIG, "-X %s: key too long", c->x[i]);
            goto fail;
        }
        memcpy(key, c->x[i], kl);
        key[kl] = '\0';
        if (conf_set(conf, key, eq + 1, err, len) != RECD_OK)
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- small encoders -------------------------------------------------------------------------- */
static char *base64(const void *data, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1), *o = out;
    if (!out)
        return NULL;
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
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
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
    if (p[0] < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if ((p[0] & 0xE0) == 0xC0) { len = 2; cp = p[0] & 0x1F; }
    else if ((p[0] & 0xF0) == 0xE0) { len = 3; cp = p[0] & 0x0F; }
    else if ((p[0] & 0xF8) == 0xF0) { len = 4; cp = p[0] & 0x07; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A JSON string of arbitrary bytes: invalid UTF-8 bytes become U+FFFD. NULL on OOM. */
static json_t *jstrn(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *buf = malloc(n * 3 + 1);
    size_t o = 0;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);   /* U+FFFD */
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

static json_t *jstr(const char *s)
{
    return s ? jstrn(s, strlen(s)) : json_null();
}

/* Doubles JSON cannot represent are printed as strings. */
static json_t *jreal(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static const char *const CLICK_TYPE[] = {"VIEW", "CART"};
static const char *const CLICK_SOURCE[] = {"BROWSE", "SEARCH", "RECS"};

/* An input event as a JSON object with the Avro schema's field names (NULL on OOM). A removed
 * item is JSON null. */
static json_t *event_to_json(const struct recd_event *ev)
{
    json_t *o, *a;
    if (ev->kind == RECD_KIND_ITEM && ev->u.item.removed)
        return json_null();
    o = json_object();
    if (!o)
        return NULL;
    switch (ev->kind) {
    case RECD_KIND_CLICK: {
        const struct recd_click *ck = &ev->u.click;
        json_object_set_new(o, "event_id", jstr(ev->event_id));
        json_object_set_new(o, "user_id", jstr(ev->user_id));
        json_object_set_new(o, "item_id", jstr(ck->item_id));
        json_object_set_new(o, "ts", json_integer(ev->ts_ms));
        json_object_set_new(o, "kind", json_string(ck->type >= 0 && ck->type < 2
                                                       ? CLICK_TYPE[ck->type] : "?"));
        json_object_set_new(o, "session_id", jstr(ck->session_id));
        json_object_set_new(o, "source", json_string(ck->source >= 0 && ck->source < 3
                                                         ? CLICK_SOURCE[ck->source] : "?"));
        json_object_set_new(o, "query_id", jstr(ck->query_id));
        a = json_object();
        for (uint32_t i = 0; a && i < ck->n_context; i++) {
            json_t *v = jstr(ck->context[i].value);
            json_t *k = jstr(ck->context[i].key);
            if (k && v)
                json_object_set(a, json_string_value(k), v);
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
        for (uint32_t i = 0; a && i < p->n_lines; i++)
            json_array_append_new(a, json_pack("{s:o,s:i,s:o}", "item_id",
                                               jstr(p->lines[i].item_id), "quantity",
                                               (int)p->lines[i].quantity, "unit_price",
                                               jreal(p->lines[i].unit_price)));
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
            for (uint32_t i = 0; a && i < q->n_shown; i++)
                json_array_append_new(a, jstr(q->shown[i]));
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
        for (uint32_t i = 0; a && i < it->n_category; i++)
            json_array_append_new(a, jstr(it->category[i]));
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
    default:
        break;
    }
    return o;
}

static json_t *recs_to_json(const struct recd_recs *r)
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
    for (uint32_t i = 0; i < r->n_items; i++)
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "item_id",
                                           jstr(r->items[i].item_id), "score",
                                           jreal(r->items[i].score), "reason",
                                           jstr(r->items[i].reason), "because_item_id",
                                           jstr(r->items[i].because_item_id)));
    json_object_set_new(o, "items", a);
    return o;
}

/* JSON output: compact, doubles with 15 significant digits (exact for any decimal value of up
 * to 15 digits, e.g. prices; 17 would print 129.99 as 129.99000000000001). */
#define JSON_OUT_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Print a JSON value as one line on stdout. */
static int print_json_line(json_t *j)
{
    char *s = json_dumps(j, JSON_OUT_FLAGS | JSON_ENCODE_ANY);
    if (!s)
        return RECD_ENOMEM;
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
        if (req)
            return jfail(j, name, v ? "must not be null" : "missing");
        return RECD_OK;
    }
    if (!json_is_string(v))
        return jfail(j, name, "expected a string");
    *out = json_string_value(v);
    return RECD_OK;
}

static int jget_int(struct jctx *j, const char *name, int req, int64_t def, int64_t *out)
{
    json_t *v = json_object_get(j->obj, name);
    *out = def;
    if (!v) {
        if (req)
            return jfail(j, name, "missing");
        return RECD_OK;
    }
    if (!json_is_integer(v))
        return jfail(j, name, "expected an integer");
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
        if (strcmp(s, "NaN") == 0) { *out = NAN; return 0; }
        if (strcmp(s, "Infinity") == 0) { *out = INFINITY; return 0; }
        if (strcmp(s, "-Infinity") == 0) { *out = -INFINITY; return 0; }
    }
    return -1;
}

static int jget_enum(struct jctx *j, const char *name, const char *const *sym, int n, int def,
                     int *out)
{
    json_t *v = json_object_get(j->obj, name);
    *out = def;
    if (!v || json_is_null(v))
        return RECD_OK;
    if (json_is_string(v))
        for (int i = 0; i < n; i++)
            if (strcasecmp(json_string_value(v), sym[i]) == 0) {
                *out = i;
                return RECD_OK;
            }
    char what[128];
    size_t off = (size_t)snprintf(what, sizeof what, "expected one of");
    for (int i = 0; i < n && off < sizeof what; i++)
        off += (size_t)snprintf(what + off, sizeof what - off, " %s", sym[i]);
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
        if (!allow_null && v)
            return jfail(j, name, "must not be null");
        return RECD_OK;
    }
    if (!json_is_array(v))
        return jfail(j, name, "expected an array of strings");
    size_t cnt = json_array_size(v);
    const char **a = recd_arena_alloc(j->arena, (cnt ? cnt : 1) * sizeof *a);
    if (!a)
        return recd_seterr(j->err, j->errlen, RECD_ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return jfail(j, name, "expected an array of strings");
        a[i] = json_string_value(e);
    }
    *out = a;
    *n = (uint32_t)cnt;
    return RECD_OK;
}

static const char *const CLICK_FIELDS[] = {"event_id", "user_id", "item_id", "ts", "kind",
                                           "session_id", "source", "query_id", "context", NULL};
static const char *const PURCHASE_FIELDS[] = {"event_id", "user_id", "order_id", "ts", "lines",
                                              "currency", NULL};
static const char *const QUERY_FIELDS[] = {"event_id", "user_id", "ts", "text",
                                           "shown_item_ids", NULL};
static const char *const ITEM_FIELDS[] = {"item_id", "title", "description", "category",
                                          "brand", "price", "in_stock", "updated_ts", "removed",
                                          NULL};
static const char *const DELETION_FIELDS[] = {"user_id", "requested_ts", "reason", NULL};
static const char *const *const KIND_FIELDS[RECD_KIND__NINPUT] = {
    CLICK_FIELDS, PURCHASE_FIELDS, QUERY_FIELDS, ITEM_FIELDS, DELETION_FIELDS
};

/* Convert a JSON object of `kind` into *ev. Strings are borrowed from the JSON tree; arrays
 * are allocated in the arena. */
static int json_to_event(json_t *obj, int kind, struct recd_arena *arena, struct recd_event *ev,
                         char *err, size_t errlen)
{
    struct jctx j = {obj, arena, err, errlen};
    const char *key;
    json_t *v;
    int64_t x;
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->partition = -1;
    ev->offset = -1;
    json_object_foreach(obj, key, v) {
        int known = key[0] == '_' && strcmp(key, "_kind") == 0;
        for (const char *const *f = KIND_FIELDS[kind]; !known && *f; f++)
            known = strcmp(*f, key) == 0;
        if (!known)
            return recd_seterr(err, errlen, RECD_EINVAL, "unknown field '%s' for a %s", key,
                               recd_kind_name(kind));
    }
    switch (kind) {
    case RECD_KIND_CLICK: {
        struct recd_click *ck = &ev->u.click;
        if ((rc = jget_str(&j, "event_id", 1, &ev->event_id)) ||
            (rc = jget_str(&j, "user_id", 1, &ev->user_id)) ||
            (rc = jget_str(&j, "item_id", 1, &ck->item_id)) ||
            (rc = jget_int(&j, "ts", 1, 0, &ev->ts_ms)) ||
            (rc = jget_enum(&j, "kind", CLICK_TYPE, 2, RECD_CLICK_VIEW, &ck->type)) ||
            (rc = jget_str(&j, "session_id", 0, &ck->session_id)) ||
            (rc = jget_enum(&j, "source", CLICK_SOURCE, 3, RECD_SRC_BROWSE, &ck->source)) ||
            (rc = jget_str(&j, "query_id", 0, &ck->query_id)))
            return rc;
        v = json_object_get(obj, "context");
        if (v && !json_is_null(v)) {
            if (!json_is_object(v))
                return jfail(&j, "context", "expected an object of strings");
            size_t n = json_object_size(v);
            ck->context = recd_arena_alloc(arena, (n ? n : 1) * sizeof *ck->context);
            if (!ck->context)
                return recd_seterr(err, errlen, RECD_ENOMEM, "out of memory");
            const char *ck_key;
            json_t *cv;
            json_object_foreach(v, ck_key, cv) {
                if (!json_is_string(cv))
                    return jfail(&j, "context", "expected an object of strings");
                ck->context[ck->n_context].key = ck_key;
                ck->context[ck->n_context].value = json_string_value(cv);
                ck->n_context++;
            }
        }
        return RECD_OK;
    }
    case RECD_KIND_PURCHASE: {
        struct recd_purchase *p = &ev->u.purchase;
        if ((rc = jget_str(&j, "event_id", 1, &ev->event_id)) ||
            (rc = jget_str(&j, "user_id", 1, &ev->user_id)) ||
            (rc = jget_str(&j, "order_id", 1, &p->order_id)) ||
            (rc = jget_int(&j, "ts", 1, 0, &ev->ts_ms)) ||
            (rc = jget_str(&j, "currency", 0, &p->currency)))
            return rc;
        if (!p->currency)
            p->currency = "EUR";
        v = json_object_get(obj, "lines");
        if (!v || !json_is_array(v))
            return jfail(&j, "lines", v ? "expected an array" : "missing");
        size_t n = json_array_size(v);
        p->lines = recd_arena_alloc(arena, (n ? n : 1) * sizeof *p->lines);
        if (!p->lines)
            return recd_seterr(err, errlen, RECD_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *ln = json_array_get(v, i), *f;
            struct recd_purchase_line *l = &p->lines[i];
            if (!json_is_object(ln))
                return jfail(&j, "lines", "expected objects {item_id, quantity, unit_price}");
            f = json_object_get(ln, "item_id");
            if (!json_is_string(f))
                return jfail(&j, "lines[].item_id", "expected a string");
            l->item_id = json_string_value(f);
            f = json_object_get(ln, "quantity");
            if (f && !json_is_integer(f))
                return jfail(&j, "lines[].quantity", "expected an integer");
            x = f ? (int64_t)json_integer_value(f) : 1;
            if (x < INT32_MIN || x > INT32_MAX)
                return jfail(&j, "lines[].quantity", "out of the int range");
            l->quantity = (int32_t)x;
            f = json_object_get(ln, "unit_price");
            if (!f || jnum(f, &l->unit_price) != 0)
                return jfail(&j, "lines[].unit_price", f ? "expected a number" : "missing");
        }
        p->n_lines = (uint32_t)n;
        return RECD_OK;
    }
    case RECD_KIND_QUERY: {
        struct recd_query *q = &ev->u.query;
        if ((rc = jget_str(&j, "event_id", 1, &ev->event_id)) ||
            (rc = jget_str(&j, "user_id", 1, &ev->user_id)) ||
            (rc = jget_int(&j, "ts", 1, 0, &ev->ts_ms)) ||
            (rc = jget_str(&j, "text", 1, &q->text)) ||
            (rc = jget_str_array(&j, "shown_item_ids", 1, &q->shown, &q->n_shown)))
            return rc;
        return RECD_OK;
    }
    case RECD_KIND_ITEM: {
        struct recd_item *it = &ev->u.item;
        if ((rc = jget_str(&j, "item_id", 1, &it->item_id)))
            return rc;
        ev->event_id = it->item_id;
        v = json_object_get(obj, "removed");
        if (v && !json_is_boolean(v))
            return jfail(&j, "removed", "expected true or false");
        if (v && json_is_true(v)) {
            it->removed = 1;
            return RECD_OK;
        }
        if ((rc = jget_str(&j, "title", 1, &it->title)) ||
            (rc = jget_str(&j, "description", 0, &it->description)) ||
            (rc = jget_str_array(&j, "category", 0, &it->category, &it->n_category)) ||
            (rc = jget_str(&j, "brand", 0, &it->brand)) ||
            (rc = jget_int(&j, "updated_ts", 1, 0, &it->updated_ts)))
            return rc;
        if (!it->description)
            it->description = "";
        v = json_object_get(obj, "price");
        if (!v || jnum(v, &it->price) != 0)
            return jfail(&j, "price", v ? "expected a number" : "missing");
        v = json_object_get(obj, "in_stock");
        if (v && !json_is_boolean(v))
            return jfail(&j, "in_stock", "expected true or false");
        it->in_stock = v ? json_is_true(v) : 1;
        ev->ts_ms = it->updated_ts;
        return RECD_OK;
    }
    case RECD_KIND_DELETION:
        if ((rc = jget_str(&j, "user_id", 1, &ev->user_id)) ||
            (rc = jget_int(&j, "requested_ts", 1, 0, &ev->u.deletion.requested_ts)) ||
            (rc = jget_str(&j, "reason", 0, &ev->u.deletion.reason)))
            return rc;
        ev->ts_ms = ev->u.deletion.requested_ts;
        return RECD_OK;
    default:
        return recd_seterr(err, errlen, RECD_EINVAL, "bad kind");
    }
}

/* ---- the producing side: a sink with pacing -------------------------------------------------- */
struct sink {
    rd_kafka_t *rk;                 /* owned */
    const struct common *c;
    int64_t produced;               /* records handed to librdkafka */
    int64_t delivered, failed;      /* delivery reports */
    int verbose;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct sink *s = opaque;
    (void)rk;
    if (m->err) {
        if (s->failed < 10)
            fprintf(stderr, "recctl: delivery to %s failed: %s\n",
                    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        s->failed++;
    } else {
        s->delivered++;
    }
}

static int sink_open(struct sink *s, const struct common *c, char *err, size_t len)
{
    static const char *const defaults[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "linger.ms", "5",
        NULL
    };
    char e[512];
    memset(s, 0, sizeof *s);
    s->c = c;
    s->verbose = c->verbose;
    rd_kafka_conf_t *conf = make_conf(c, defaults, err, len);
    if (!conf)
        return RECD_ECONFIG;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, s);
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!s->rk) {
        rd_kafka_conf_destroy(conf);
        return recd_seterr(err, len, RECD_EKAFKA, "producer: %s", e);
    }
    return RECD_OK;
}

/* Produce one record (val NULL = tombstone). Copies key and value. */
static int sink_send(struct sink *s, const char *topic, const void *key, size_t keylen,
                     const void *val, size_t vallen, char *err, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE((void *)val, val ? vallen : 0),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return recd_seterr(err, len, RECD_EKAFKA, "produce to %s: %s", topic,
                               rd_kafka_err2str(e));
        rd_kafka_poll(s->rk, 50);
    }
    s->produced++;
    rd_kafka_poll(s->rk, 0);
    return RECD_OK;
}

/* Flush and destroy; returns the number of records not delivered (failed or still queued). */
static int64_t sink_close(struct sink *s, int timeout_ms)
{
    int64_t pending = 0;
    if (!s->rk)
        return 0;
    double t0 = now_s();
    while (rd_kafka_outq_len(s->rk) > 0 && (now_s() - t0) * 1000 < timeout_ms) {
        rd_kafka_flush(s->rk, 500);
        if (g_stop && (now_s() - t0) > 5)
            break;
    }
    pending = rd_kafka_outq_len(s->rk);
    if (pending > 0)
        fprintf(stderr, "recctl: %" PRId64 " record(s) still undelivered after %d ms\n",
                pending, timeout_ms);
    rd_kafka_destroy(s->rk);
    s->rk = NULL;
    return pending + s->failed;
}

/* Pacing: sleep so that record n is not sent more than PACE_SLACK_S before t0 + n / rate.
 * Serves delivery reports. Records less than PACE_SLACK_S early go out at once: at tens of
 * thousands of records per second a sleep per record (~37 us each at 27k/s) was a timer, a
 * wakeup and a preemption of whatever shared the CPU — the broker, in bench/throughput's
 * latency phase — per record; now the records go in bursts of about a millisecond. */
#define PACE_SLACK_S 0.001
static void pace(struct sink *s, double rate, double t0, int64_t n)
{
    if (rate <= 0)
        return;
    for (;;) {
        double wait = t0 + (double)n / rate - now_s();
        if (wait < PACE_SLACK_S || g_stop)
            return;
        int ms = wait > 0.1 ? 100 : (int)(wait * 1000.0);
        if (s->rk)
            rd_kafka_poll(s->rk, ms);
        else {
            struct timespec ts = {0, (long)ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- event emitter (replay, gen): events -> topics or JSON lines, with poison records ------ */
enum poison_class {
    P_RANDOM_BYTES, P_TRUNCATED, P_UNKNOWN_SCHEMA, P_HUGE_STRING, P_NAN_PRICE, P_INF_PRICE,
    P_NEG_PRICE, P_NEG_TS, P_FUTURE_TS, P_EMPTY_USER, P__N
};
static const char *const POISON_NAME[P__N] = {
    "random_bytes", "truncated_avro", "unknown_schema_id", "huge_string", "nan_price",
    "inf_price", "negative_price", "negative_ts", "future_ts", "empty_user_id"
};
/* What recd must do with it. Every class is dead-lettered; the column is in the poison log so
 * that a class recd should accept (clamp) could be added without changing the format. */
static const char *const POISON_EXPECT[P__N] = {
    "dlq", "dlq", "dlq", "dlq", "dlq", "dlq", "dlq", "dlq", "dlq", "dlq"
};

/* Huge strings: 960 KiB keeps a record (and recd's DLQ copy of it, with headers) under
 * librdkafka's default message.max.bytes (1,000,000) and the broker's 1 MiB limit. */
#define HUGE_STRING_BYTES (960 * 1024)
#define YEAR_2200_MS INT64_C(7258118400000)

struct rng { uint64_t s; };

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct emitter {
    const struct common *c;
    struct sink sink;
    struct recd_codec *codec;       /* owned */
    struct recd_buf buf;            /* owned */
    struct recd_arena *arena;       /* owned: poison events */
    FILE *jsonl;                    /* gen --jsonl (borrowed) */
    int32_t confluent_id;
    /* counts */
    int64_t events, by_kind[RECD_KIND__NINPUT], tombstones;
    /* poison and unknown-item clicks: sorted positions (before event #pos) */
    uint64_t seed;
    int64_t *ppos, *upos, *opos;    /* owned */
    int64_t n_poison, n_unknown, n_oversize, next_poison, next_unknown, next_oversize;
    int class_offset;
    FILE *poison_log;               /* owned (when not stdout/stderr) */
    int64_t last_ts;
    char err[512];
};

static int emitter_oom(struct emitter *em)
{
    return recd_seterr(em->err, sizeof em->err, RECD_ENOMEM, "out of memory");
}

static int emitter_open(struct emitter *em, const struct common *c, FILE *jsonl,
                        int32_t confluent_id)
{
    struct recd_codec_conf cc;
    memset(em, 0, sizeof *em);
    em->c = c;
    em->jsonl = jsonl;
    em->confluent_id = confluent_id;
    recd_buf_init(&em->buf);
    memset(&cc, 0, sizeof cc);
    cc.format = RECD_WIRE_AUTO;
    if (recd_codec_new(&cc, &em->codec, em->err, sizeof em->err) != RECD_OK)
        return RECD_ERR;
    em->arena = recd_arena_new(1 << 16);
    if (!em->arena) {
        snprintf(em->err, sizeof em->err, "out of memory");
        return RECD_ENOMEM;
    }
    if (!jsonl && sink_open(&em->sink, c, em->err, sizeof em->err) != RECD_OK)
        return RECD_EKAFKA;
    return RECD_OK;
}

/* Poison and unknown-item positions over [0, total]. */
static int emitter_plan(struct emitter *em, int64_t total, int64_t n_poison, int64_t n_unknown,
                        int64_t n_oversize, uint64_t seed)
{
    struct rng r = {seed ^ 0x706F69736F6E0000ull};
    em->seed = seed;
    em->n_poison = n_poison;
    em->n_unknown = n_unknown;
    em->ppos = calloc((size_t)(n_poison ? n_poison : 1), sizeof *em->ppos);
    em->upos = calloc((size_t)(n_unknown ? n_unknown : 1), sizeof *em->upos);
    em->opos = calloc((size_t)(n_oversize ? n_oversize : 1), sizeof *em->opos);
    em->n_oversize = n_oversize;
    if (!em->ppos || !em->upos || !em->opos)
        return RECD_ENOMEM;
    for (int64_t i = 0; i < n_poison; i++)
        em->ppos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    for (int64_t i = 0; i < n_unknown; i++)
        em->upos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    qsort(em->ppos, (size_t)n_poison, sizeof *em->ppos, cmp_i64);
    qsort(em->upos, (size_t)n_unknown, sizeof *em->upos, cmp_i64);
    em->class_offset = (int)(rng_next(&r) % P__N);
    for (int64_t i = 0; i < n_oversize; i++)
        em->opos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    qsort(em->opos, (size_t)n_oversize, sizeof *em->opos, cmp_i64);
    return RECD_OK;
}

static int emit_record(struct emitter *em, int topic, const char *key, size_t keylen,
                       const void *val, size_t vallen)
{
    const char *t = em->c->topic[topic];
    return sink_send(&em->sink, t, key, keylen, val, vallen, em->err, sizeof em->err);
}

/* Encode and send (or write as a JSON line) one event. */
static int emit_event(struct emitter *em, const struct recd_event *ev)
{
    const char *key = ev->kind == RECD_KIND_ITEM ? ev->u.item.item_id : ev->user_id;
    if (!key)
        key = "";
    if (em->jsonl) {
        json_t *o = event_to_json(ev);
        if (!o)
            return emitter_oom(em);
        if (json_is_null(o)) {
            json_decref(o);
            o = json_pack("{s:s,s:b}", "item_id", key, "removed", 1);
            if (!o)
                return emitter_oom(em);
        }
        json_object_set_new(o, "_kind", json_string(recd_kind_name(ev->kind)));
        char *s = json_dumps(o, JSON_OUT_FLAGS);
        json_decref(o);
        if (!s)
            return emitter_oom(em);
        int bad = fputs(s, em->jsonl) == EOF || fputc('\n', em->jsonl) == EOF;
        free(s);
        if (bad) {
            snprintf(em->err, sizeof em->err, "write: %s", strerror(errno));
            return RECD_EIO;
        }
    } else {
        int rc;
        em->buf.len = 0;
        rc = recd_codec_encode_event(em->codec, ev, em->confluent_id, &em->buf, em->err,
                                     sizeof em->err);
        if (rc != RECD_OK)
            return rc;
        int tomb = ev->kind == RECD_KIND_ITEM && ev->u.item.removed;
        rc = emit_record(em, ev->kind, key, strlen(key), tomb ? NULL : em->buf.data,
                         em->buf.len);
        if (rc != RECD_OK)
            return rc;
        em->tombstones += tomb;
    }
    return RECD_OK;
}

/* A valid base event of `kind` for poison record j (strings in em->arena). */
static void poison_base(struct emitter *em, int64_t j, int kind, int64_t ts,
                        struct recd_event *ev)
{
    struct recd_arena *a = em->arena;
    char b[96];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    snprintf(b, sizeof b, "poison:%" PRIu64 ":%" PRId64, em->seed, j);
    ev->event_id = recd_arena_strndup(a, b, strlen(b));
    snprintf(b, sizeof b, "poison-u%" PRId64, j);
    ev->user_id = recd_arena_strndup(a, b, strlen(b));
    ev->ts_ms = ts;
    snprintf(b, sizeof b, "poison-i%" PRId64, j);
    const char *item = recd_arena_strndup(a, b, strlen(b));
    switch (kind) {
    case RECD_KIND_CLICK:
        ev->u.click.item_id = item;
        ev->u.click.type = RECD_CLICK_VIEW;
        ev->u.click.source = RECD_SRC_BROWSE;
        break;
    case RECD_KIND_PURCHASE: {
        struct recd_purchase_line *l = recd_arena_alloc(a, sizeof *l);
        if (l) {
            l->item_id = item;
            l->quantity = 1;
            l->unit_price = 9.99;
        }
        ev->u.purchase.lines = l;
        ev->u.purchase.n_lines = l ? 1 : 0;
        ev->u.purchase.order_id = ev->event_id;
        ev->u.purchase.currency = "EUR";
        break;
    }
    case RECD_KIND_QUERY:
        ev->u.query.text = "poison query";
        break;
    case RECD_KIND_ITEM:
        ev->event_id = item;
        ev->user_id = NULL;
        ev->u.item.item_id = item;
        ev->u.item.title = "Poison Test Item";
        ev->u.item.description = "";
        ev->u.item.price = 9.99;
        ev->u.item.in_stock = 1;
        ev->u.item.updated_ts = ts;
        break;
    default:
        break;
    }
}

static int emit_poison(struct emitter *em, int64_t j, int64_t ts)
{
    struct rng r = {em->seed * 0x100000001B3ull + (uint64_t)j};
    int cls = (int)((j + em->class_offset) % P__N);
    struct recd_event ev;
    uint8_t raw[512];
    const void *val = NULL;
    size_t len = 0;
    int topic, rc;
    char *huge = NULL;
    static const int ev_kinds[3] = {RECD_KIND_CLICK, RECD_KIND_PURCHASE, RECD_KIND_QUERY};

    recd_arena_reset(em->arena);
    em->buf.len = 0;
    switch (cls) {
    case P_RANDOM_BYTES: {
        /* the first byte is odd: a negative Avro string length, so no kind can decode it */
        topic = (int)(rng_next(&r) % 4);
        len = 1 + (size_t)(rng_next(&r) % 256);
        for (size_t i = 0; i < len; i++)
            raw[i] = (uint8_t)rng_next(&r);
        raw[0] |= 1;
        val = raw;
        break;
    }
    case P_TRUNCATED:
    case P_UNKNOWN_SCHEMA: {
        topic = ev_kinds[rng_next(&r) % 3];
        poison_base(em, j, topic, ts, &ev);
        int32_t id = cls == P_UNKNOWN_SCHEMA ? 2000000000 + (int32_t)(j % 100000000) : -1;
        rc = recd_codec_encode_event(em->codec, &ev, id, &em->buf, em->err, sizeof em->err);
        if (rc != RECD_OK)
            return rc;
        val = em->buf.data;
        len = cls == P_TRUNCATED ? em->buf.len / 2 : em->buf.len;
        break;
    }
    case P_HUGE_STRING:
        /* a valid click or query whose user_id is 960 KiB: rejected (bad_id); the key stays
         * short so that the record fits the message size limits */
        topic = rng_next(&r) % 2 ? T_CLICKS : T_QUERIES;
        poison_base(em, j, topic, ts, &ev);
        huge = malloc(HUGE_STRING_BYTES + 1);
        if (!huge)
            return emitter_oom(em);
        for (size_t i = 0; i < HUGE_STRING_BYTES; i++)
            huge[i] = "poison-"[i % 7];
        huge[HUGE_STRING_BYTES] = '\0';
        ev.user_id = huge;
        break;
    case P_NAN_PRICE:
    case P_INF_PRICE:
    case P_NEG_PRICE: {
        double p = cls == P_NAN_PRICE ? NAN : cls == P_INF_PRICE ? INFINITY : -5.0;
        topic = rng_next(&r) % 2 ? T_ITEMS : T_PURCHASES;
        poison_base(em, j, topic, ts, &ev);
        if (topic == T_ITEMS)
            ev.u.item.price = p;
        else if (ev.u.purchase.lines)
            ev.u.purchase.lines[0].unit_price = p;
        break;
    }
    case P_NEG_TS:
    case P_FUTURE_TS:
        topic = ev_kinds[rng_next(&r) % 3];
        poison_base(em, j, topic, cls == P_NEG_TS ? -INT64_C(86400000) : YEAR_2200_MS, &ev);
        break;
    default: /* P_EMPTY_USER */
        topic = T_CLICKS;
        poison_base(em, j, RECD_KIND_CLICK, ts, &ev);
        ev.user_id = "";
        break;
    }
    if (!val) {
        if (!ev.event_id || (topic != T_ITEMS && !ev.user_id)) {
            free(huge);
            return emitter_oom(em);
        }
        rc = recd_codec_encode_event(em->codec, &ev, em->confluent_id, &em->buf, em->err,
                                     sizeof em->err);
        free(huge);
        if (rc != RECD_OK)
            return rc;
        val = em->buf.data;
        len = em->buf.len;
    }
    char key[64];
    if (cls == P_EMPTY_USER)
        key[0] = '\0';
    else if (topic == T_ITEMS)
        snprintf(key, sizeof key, "poison-i%" PRId64, j);
    else
        snprintf(key, sizeof key, "poison-u%" PRId64, j);
    rc = emit_record(em, topic, key, strlen(key), val, len);
    if (rc != RECD_OK)
        return rc;
    if (em->poison_log)
        fprintf(em->poison_log, "%s\t%s\t%s\t%" PRId64 "\n", em->c->topic[topic],
                POISON_NAME[cls], POISON_EXPECT[cls], em->events);
    return RECD_OK;
}

static int emit_unknown(struct emitter *em, int64_t j, int64_t ts)
{
    struct recd_event ev;
    char b[96];
    recd_arena_reset(em->arena);
    poison_base(em, j, RECD_KIND_CLICK, ts, &ev);
    snprintf(b, sizeof b, "unknown:%" PRIu64 ":%" PRId64, em->seed, j);
    ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
    snprintf(b, sizeof b, "unknown-u%" PRId64, j);
    ev.user_id = recd_arena_strndup(em->arena, b, strlen(b));
    snprintf(b, sizeof b, "unknown-%" PRIu64 "-%" PRId64, em->seed, j);
    ev.u.click.item_id = recd_arena_strndup(em->arena, b, strlen(b));
    if (!ev.event_id || !ev.user_id || !ev.u.click.item_id)
        return emitter_oom(em);
    return emit_event(em, &ev);
}

/* A valid record with a 960 KiB free-text field (query text or item title) that recd keeps,
 * clamping the text (not poison). */
static int emit_oversize(struct emitter *em, int64_t j, int64_t ts)
{
    struct recd_event ev;
    char b[96];
    int rc;
    char *huge = malloc(HUGE_STRING_BYTES + 1);
    if (!huge)
        return emitter_oom(em);
    for (size_t i = 0; i < HUGE_STRING_BYTES; i++)
        huge[i] = "oversize "[i % 9];
    huge[HUGE_STRING_BYTES] = '\0';
    recd_arena_reset(em->arena);
    poison_base(em, j, j % 2 ? RECD_KIND_ITEM : RECD_KIND_QUERY, ts, &ev);
    if (ev.kind == RECD_KIND_ITEM) {
        snprintf(b, sizeof b, "oversize-i%" PRId64, j);
        ev.u.item.item_id = ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
        ev.u.item.title = huge;
    } else {
        snprintf(b, sizeof b, "oversize:%" PRIu64 ":%" PRId64, em->seed, j);
        ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
        snprintf(b, sizeof b, "oversize-u%" PRId64, j);
        ev.user_id = recd_arena_strndup(em->arena, b, strlen(b));
        ev.u.query.text = huge;
    }
    if (!ev.event_id || (ev.kind != RECD_KIND_ITEM && !ev.user_id))
        rc = emitter_oom(em);
    else
        rc = emit_event(em, &ev);
    free(huge);
    return rc;
}

/* Inject what is due before event number em->events (ts: time to give the records). */
static int emit_due(struct emitter *em, int64_t ts, int at_end)
{
    int rc;
    while (em->next_poison < em->n_poison &&
           (at_end || em->ppos[em->next_poison] <= em->events)) {
        if ((rc = emit_poison(em, em->next_poison, ts)) != RECD_OK)
            return rc;
        em->next_poison++;
    }
    while (em->next_unknown < em->n_unknown &&
           (at_end || em->upos[em->next_unknown] <= em->events)) {
        if ((rc = emit_unknown(em, em->next_unknown, ts)) != RECD_OK)
            return rc;
        em->next_unknown++;
    }
    while (em->next_oversize < em->n_oversize &&
           (at_end || em->opos[em->next_oversize] <= em->events)) {
        if ((rc = emit_oversize(em, em->next_oversize, ts)) != RECD_OK)
            return rc;
        em->next_oversize++;
    }
    return RECD_OK;
}

/* One stream event: first what is due, then the event. */
static int emit_stream_event(struct emitter *em, const struct recd_event *ev)
{
    int rc = emit_due(em, ev->ts_ms, 0);
    if (rc != RECD_OK)
        return rc;
    rc = emit_event(em, ev);
    if (rc != RECD_OK)
        return rc;
    em->events++;
    if (ev->kind >= 0 && ev->kind < RECD_KIND__NINPUT)
        em->by_kind[ev->kind]++;
    em->last_ts = ev->ts_ms;
    return RECD_OK;
}

/* Returns records not delivered (>= 0). */
static int64_t emitter_close(struct emitter *em)
{
    int64_t undelivered = 0;
    if (!em->jsonl)
        undelivered = sink_close(&em->sink, 120000);
    recd_codec_destroy(em->codec);
    em->codec = NULL;
    recd_buf_free(&em->buf);
    recd_arena_destroy(em->arena);
    em->arena = NULL;
    free(em->ppos);
    free(em->upos);
    free(em->opos);
    em->ppos = em->upos = em->opos = NULL;
    if (em->poison_log && em->poison_log != stdout && em->poison_log != stderr)
        fclose(em->poison_log);
    em->poison_log = NULL;
    return undelivered;
}

static void print_summary(const struct emitter *em, const char *verb, double secs)
{
    printf("%s %" PRId64 " events (%" PRId64 " clicks, %" PRId64 " purchases, %" PRId64
           " queries, %" PRId64 " items, %" PRId64 " deletions), %" PRId64 " poison records, %"
           PRId64 " unknown-item clicks, %" PRId64 " oversize-text records, in %.2f s"
           " (%.0f events/s)\n",
           verb, em->events, em->by_kind[RECD_KIND_CLICK], em->by_kind[RECD_KIND_PURCHASE],
           em->by_kind[RECD_KIND_QUERY], em->by_kind[RECD_KIND_ITEM],
           em->by_kind[RECD_KIND_DELETION], em->next_poison, em->next_unknown,
           em->next_oversize, secs,
           secs > 0 ? (double)em->events / secs : 0.0);
}

/* ---- usage ----------------------------------------------------------------------------------- */
static const char USAGE_MAIN[] =
    "usage: recctl [COMMON OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "recd's command-line tool. Commands:\n"
    "  produce      JSON lines -> Avro records on an input topic\n"
    "  replay       replay a dataset directory into the event topics (with optional poison)\n"
    "  gen          the synthetic shop -> the topics (or JSON lines)\n"
    "  tail         print a topic's records as JSON lines\n"
    "  forget       ask recd to forget a user (publishes a user-deletion record)\n"
    "  metadata     print brokers and topics; exit 0 iff the cluster answered (readiness)\n"
    "  topics create  create recd's topics (idempotent)\n"
    "  state        state digest / show a user's state (reads the state directory)\n"
    "  checkpoint   take a consistent checkpoint of the state\n"
    "  status       readiness, lag and record totals of a running recd (metrics endpoint)\n"
    "  lag          a consumer group's committed offsets and lag as Kafka records them\n"
    "  help [CMD]   help for a command (also: recctl CMD --help)\n"
    "\n";

static const char USAGE_PRODUCE[] =
    "usage: recctl produce [--kind KIND] [--topic T] [--confluent-id N] [FILE|-]\n"
    "\n"
    "Reads JSON lines (FILE, or stdin for '-' or no FILE) and produces one Avro record per line\n"
    "to the kind's topic. Field names are the Avro schemas' (schemas/*.avsc), timestamps are\n"
    "integers in ms since the epoch, enums are strings (\"VIEW\", \"SEARCH\"), optional fields\n"
    "may be omitted or null. The record key is user_id (item_id for items).\n"
    "  click:    {\"event_id\",\"user_id\",\"item_id\",\"ts\",\"kind\":\"VIEW|CART\",\n"
    "             \"session_id\",\"source\":\"BROWSE|SEARCH|RECS\",\"query_id\",\n"
    "             \"context\":{\"channel\":\"web\"}}\n"
    "  purchase: {\"event_id\",\"user_id\",\"order_id\",\"ts\",\n"
    "             \"lines\":[{\"item_id\",\"quantity\",\"unit_price\"}],\"currency\":\"EUR\"}\n"
    "  query:    {\"event_id\",\"user_id\",\"ts\",\"text\",\"shown_item_ids\":[...]}\n"
    "  item:     {\"item_id\",\"title\",\"description\",\"category\":[root,...],\"brand\",\n"
    "             \"price\",\"in_stock\",\"updated_ts\"}\n"
    "             {\"item_id\":\"x\",\"removed\":true} = tombstone (item removed)\n"
    "  deletion: {\"user_id\",\"requested_ts\",\"reason\"}\n"
    "Any kind: {\"key\":\"k\",\"value\":null} sends a tombstone with key k.\n"
    "Prices may be \"NaN\", \"Infinity\", \"-Infinity\" (for testing validation).\n"
    "\n"
    "Options:\n"
    "  --kind KIND        click, purchase, query, item, deletion; default: each line names its\n"
    "                     kind in a \"_kind\" field (as written by recctl gen --jsonl)\n"
    "  --topic T          produce to T instead of the kind's topic\n"
    "  --confluent-id N   Confluent wire format with schema id N (default: plain Avro)\n"
    "\n"
    "Bad lines are reported as FILE:LINE: message and skipped; the exit status is 1 if any line\n"
    "was bad or any record was not delivered, else 0.\n"
    "\n";

static const char USAGE_REPLAY[] =
    "usage: recctl replay DIR [--format F] [--rate N] [--concurrency K] [--limit N] [--skip N]\n"
    "                     [--phase train|test|catalog|all] [--valid] [--cold-frac F]\n"
    "                     [--poison N --seed S [--poison-log FILE]]\n"
    "\n"
    "Streams a dataset directory (../shared/data/...) into the event topics: clicks to the\n"
    "clicks topic, purchases to the purchases topic, catalogue records (datasets with item\n"
    "text) to the items topic before any click. Each session is one user\n"
    "(user_id = session_id = \"train-<n>\" / \"test-<n>\"); event ids are\n"
    "\"<format>:<phase>:<session>:<position>\". Sessions without timestamps get synthetic\n"
    "deterministic times (sessions --gap-ms apart, clicks 30-120 s apart).\n"
    "amazon-recbole (RecBole leave-one-out files, e.g. amazon-scientific): one user =\n"
    "one session (\"user-<index>\") across both phases; train = each user's history before\n"
    "the held-out item, test = the held-out item (one test case per user); the catalogue\n"
    "(item id = item index, title = the item text) comes first; synthetic times with the\n"
    "histories aligned at their end, a user's clicks --gap-ms apart (tools/dataset.h).\n"
    "\n"
    "Options:\n"
    "  --format F         diginetica-srgnn, retailrocket-sbr, yoochoose, diginetica-raw,\n"
    "                     amazon-recbole, auto (default auto: detected from the files)\n"
    "  --phase P          train, test, catalog or all, or a comma-separated list (default all:\n"
    "                     the catalogue, then train, then test)\n"
    "  --valid            amazon-recbole: hold out the validation item instead of the test\n"
    "                     item (for tuning; the test items are not read)\n"
    "  --cold-frac F      amazon-recbole: hold the fraction F of the items (a fixed hash of\n"
    "                     the item index) out of training: their train clicks are dropped,\n"
    "                     their catalogue text and held-out clicks kept (cold-start cases)\n"
    "  --concurrency K    sessions open at once, events merged by event time (default 8 for\n"
    "                     synthetic times, unlimited for real timestamps; 1 = one session after\n"
    "                     another; 0 = unlimited)\n"
    "  --limit N          stop after N events (default: all)\n"
    "  --skip N           skip the first N events\n"
    "  --rate N           at most N events per second (default: as fast as possible)\n"
    "  --gap-ms MS        spacing of synthetic session starts (default 60000; amazon-recbole:\n"
    "                     of a user's consecutive clicks)\n"
    "  --start-ts MS      start of the synthetic timeline (ms since the epoch)\n"
    "  --confluent-id N   Confluent wire format with schema id N (default: plain Avro)\n"
    "  --poison N         interleave N malformed records at pseudo-random positions, cycling\n"
    "                     through the classes random_bytes, truncated_avro, unknown_schema_id\n"
    "                     (Confluent framing, schema id >= 2000000000), huge_string (valid\n"
    "                     Avro, a 960 KiB user_id), nan_price, inf_price, negative_price\n"
    "                     (items or purchases), negative_ts, future_ts (year 2200),\n"
    "                     empty_user_id. recd must dead-letter every one of them.\n"
    "                     Keys: poison-u<j> / poison-i<j> (empty for empty_user_id).\n"
    "  --seed S           seed of the poison positions and contents (default 1)\n"
    "  --poison-log FILE  one line per poison record: topic<TAB>class<TAB>expect<TAB>position,\n"
    "                     expect = dlq (must be dead-lettered; every current class);\n"
    "                     position = the number of dataset events sent before it\n"
    "  --unknown-items N  also send N valid clicks on item ids never in any catalogue\n"
    "                     (\"unknown-<seed>-<j>\", users \"unknown-u<j>\"; not poison)\n"
    "  --oversize-text N  also send N valid records with a 960 KiB free text (query text or\n"
    "                     item title; users oversize-u<j>, items oversize-i<j>): recd keeps\n"
    "                     them and clamps the text (not poison)\n"
    "  --meta-log FILE    one line per dataset event: event_id<TAB>user_id<TAB>item_id<TAB>\n"
    "                     phase<TAB>session_index<TAB>position<TAB>test_case\n"
    "                     (test_case 1 = a published test case of the dataset; catalogue\n"
    "                     records: user_id -, item_id, phase catalog, session_index = index)\n"
    "\n"
    "Prints a summary line at the end; exits 1 if any record was not delivered.\n"
    "\n";

static const char USAGE_GEN[] =
    "usage: recctl gen [--users N] [--items N] [--events N] [--seed S] [--rate R] [--jsonl FILE]\n"
    "\n"
    "The deterministic synthetic shop (tools/shopgen.h): first the catalogue (items topic), then\n"
    "interleaved user sessions of views, searches, add-to-carts and purchases in event-time\n"
    "order. Same options = same events.\n"
    "\n"
    "Options:\n"
    "  --users N          users (default 1000)\n"
    "  --items N          catalogue size (default 500)\n"
    "  --events N         user-activity events after the catalogue (default 10000)\n"
    "  --seed S           (default 1)\n"
    "  --categories N     leaf categories (default 16)\n"
    "  --concurrency K    sessions open at once (default 16)\n"
    "  --start-ts MS      catalogue time; activity follows (default 2024-01-01T00:00:00Z)\n"
    "  --p-query P, --p-cart P, --p-purchase P   behaviour probabilities (0..1)\n"
    "  --rate R           at most R events per second\n"
    "  --jsonl FILE       write JSON lines (with a \"_kind\" field, accepted by recctl produce)\n"
    "                     to FILE ('-' = stdout) instead of producing to Kafka\n"
    "  --confluent-id N, --poison N, --seed S, --poison-log FILE, --unknown-items N,\n"
    "  --oversize-text N\n"
    "                     as for replay (not with --jsonl)\n"
    "\n";

static const char USAGE_TAIL[] =
    "usage: recctl tail --kind KIND [--topic T] [--from-beginning] [--max N] [--idle-ms MS]\n"
    "\n"
    "Consumes a topic (all partitions, no consumer group, nothing committed) and prints one\n"
    "JSON object per record:\n"
    "  {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"headers\":{...},\n"
    "   \"value\":{...}|null}\n"
    "value holds the decoded fields (null = tombstone). A value that fails to decode is printed\n"
    "as \"error\":\"<class>: <detail>\" with \"value_base64\". For the DLQ (--kind dlq) and\n"
    "--kind raw the value is printed as \"value_base64\". Keys and header values that are not\n"
    "UTF-8 get U+FFFD replacements.\n"
    "\n"
    "Options:\n"
    "  --kind KIND        click, purchase, query, item, deletion, recs, dlq, raw\n"
    "  --topic T          topic (default: the kind's topic)\n"
    "  --from-beginning   start at the earliest offsets (default: only new records)\n"
    "  --max N            exit after N records\n"
    "  --idle-ms MS       exit when no record arrived for MS ms (default 5000; 0 = never)\n"
    "\n"
    "Exits 0 after --max records or the idle timeout, 1 on errors.\n"
    "\n";

static const char USAGE_FORGET[] =
    "usage: recctl forget USER_ID [--reason TEXT] [--ts MS]\n"
    "\n"
    "Publishes a UserDeletion record (key USER_ID) to the deletions topic: recd deletes all of\n"
    "the user's state and publishes a tombstone for the user's recommendations.\n"
    "  --reason TEXT      stored with the request (e.g. \"gdpr\")\n"
    "  --ts MS            requested_ts (default: now)\n"
    "\n";

static const char USAGE_METADATA[] =
    "usage: recctl metadata [--timeout-ms MS] [--all]\n"
    "\n"
    "Prints the brokers and the topics with their partition counts. Exits 0 iff a broker\n"
    "answered within the timeout (default 5000 ms) — usable as a readiness probe.\n"
    "  --all              include internal topics (__consumer_offsets, ...)\n"
    "\n";

static const char USAGE_LAG[] =
    "usage: recctl lag [--group G] [--timeout-ms MS]\n"
    "\n"
    "Kafka's view of a consumer group on recd's input topics (clicks, purchases, queries,\n"
    "deletions, with the --topic-* overrides): per partition the group's committed offset,\n"
    "the end offset (high watermark) and the difference, then the total. recd commits these\n"
    "offsets every kafka.commit_interval_ms and when it stops; they are informational (recd\n"
    "resumes from the offsets in its state) — the recd_consumer_lag metric is the live view.\n"
    "A partition the group never committed shows committed = -.\n"
    "  --group G          consumer group (default recd, kafka.group_id's default)\n"
    "  --timeout-ms MS    (default 10000)\n"
    "\n";

static const char USAGE_TOPICS[] =
    "usage: recctl topics create [--partitions N] [--replication-factor N] [--timeout-ms MS]\n"
    "\n"
    "Creates all of recd's topics (the seven topic names, with the --topic-* overrides):\n"
    "shop.items and shop.recommendations with cleanup.policy=compact, the others with the\n"
    "broker's defaults. Existing topics are left as they are (not an error).\n"
    "  --partitions N           partitions per topic (default 4)\n"
    "  --replication-factor N   (default -1: the broker's default)\n"
    "  --timeout-ms MS          (default 30000)\n"
    "\n";

static void usage_to(FILE *fp, const char *text)
{
    fputs(text, fp);
    fputs(COMMON_HELP, fp);
}

/* getopt_long over a command's arguments (argv[0] = the command). */
#define GETOPT(argc, argv, shortopts, longopts) \
    getopt_long((argc), (argv), (shortopts), (longopts), NULL)

static int bad_usage(const char *cmd)
{
    fprintf(stderr, "Try 'recctl %s --help'.\n", cmd);
    return RECD_EXIT_USAGE;
}

/* ---- produce --------------------------------------------------------------------------------- */
static int cmd_produce(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"kind", required_argument, NULL, O_KIND},
        {"topic", required_argument, NULL, O_TOPIC},
        {"confluent-id", required_argument, NULL, O_CONFLUENT_ID},
        {NULL, 0, NULL, 0}
    };
    int kind = -1, opt, rc, exit_code = RECD_EXIT_OK;
    const char *topic = NULL, *path = "-";
    long long cid = -1;
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t lineno = 0, bad = 0, sent = 0, tombs = 0;
    struct sink sink;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_arena *arena = NULL;
    struct recd_buf buf;
    char err[1024];

    memset(&sink, 0, sizeof sink);
    recd_buf_init(&buf);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "produce", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_PRODUCE);
            return RECD_EXIT_OK;
        case O_KIND:
            kind = parse_kind(optarg);
            if (kind < 0 || kind >= RECD_KIND__NINPUT) {
                fprintf(stderr, "recctl produce: --kind: expected click, purchase, query, item "
                                "or deletion, got '%s'\n", optarg);
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TOPIC:
            topic = optarg;
            break;
        case O_CONFLUENT_ID:
            if (parse_ll("produce", "--confluent-id", optarg, 0, INT32_MAX, &cid))
                return RECD_EXIT_USAGE;
            break;
        default:
            return bad_usage("produce");
        }
    }
    if (optind < argc)
        path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "recctl produce: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("produce");
    }
    if (strcmp(path, "-") == 0) {
        fp = stdin;
        path = "<stdin>";
    } else if (!(fp = fopen(path, "r"))) {
        fprintf(stderr, "recctl produce: %s: %s\n", path, strerror(errno));
        return RECD_EXIT_FAILURE;
    }

    memset(&cc, 0, sizeof cc);
    if (recd_codec_new(&cc, &codec, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl produce: %s\n", err);
        exit_code = RECD_EXIT_SOFTWARE;
        goto cleanup;
    }
    arena = recd_arena_new(1 << 14);
    if (!arena || sink_open(&sink, c, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl produce: %s\n", arena ? err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();
    while (!g_stop && (len = getline(&line, &cap, fp)) >= 0) {
        json_error_t je;
        json_t *o;
        struct recd_event ev;
        int k = kind;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            continue;
        o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            fprintf(stderr, "%s:%" PRId64 ": bad JSON: %s (column %d)\n", path, lineno, je.text,
                    je.column);
            bad++;
            continue;
        }
        if (!json_is_object(o)) {
            fprintf(stderr, "%s:%" PRId64 ": expected a JSON object\n", path, lineno);
            goto bad_line;
        }
        json_t *jk = json_object_get(o, "_kind");
        if (jk) {
            int lk = json_is_string(jk) ? parse_kind(json_string_value(jk)) : -1;
            if (lk < 0 || lk >= RECD_KIND__NINPUT) {
                fprintf(stderr, "%s:%" PRId64 ": \"_kind\": expected click, purchase, query, "
                                "item or deletion\n", path, lineno);
                goto bad_line;
            }
            if (kind >= 0 && lk != kind) {
                fprintf(stderr, "%s:%" PRId64 ": \"_kind\" is %s but --kind is %s\n", path,
                        lineno, KIND_NAME[lk], KIND_NAME[kind]);
                goto bad_line;
            }
            k = lk;
        }
        if (k < 0) {
            fprintf(stderr, "%s:%" PRId64 ": no kind: give --kind or a \"_kind\" field\n", path,
                    lineno);
            goto bad_line;
        }
        const char *t = topic ? topic : c->topic[k];
        /* {"key": "...", "value": null}: a tombstone */
        json_t *jv = json_object_get(o, "value"), *jkey = json_object_get(o, "key");
        if (jkey || jv) {
            size_t extra = json_object_size(o) - (jk ? 1 : 0);
            if (!json_is_string(jkey) || !jv || !json_is_null(jv) || extra != 2) {
                fprintf(stderr, "%s:%" PRId64 ": a tombstone is {\"key\": \"...\", \"value\": "
                                "null}\n", path, lineno);
                goto bad_line;
            }
            const char *ks = json_string_value(jkey);
            rc = sink_send(&sink, t, ks, strlen(ks), NULL, 0, err, sizeof err);
            if (rc != RECD_OK)
                goto kafka_error;
            tombs++;
            sent++;
            json_decref(o);
            continue;
        }
        recd_arena_reset(arena);
        rc = json_to_event(o, k, arena, &ev, err, sizeof err);
        if (rc != RECD_OK) {
            fprintf(stderr, "%s:%" PRId64 ": %s\n", path, lineno, err);
            goto bad_line;
        }
        buf.len = 0;
        rc = recd_codec_encode_event(codec, &ev, (int32_t)cid, &buf, err, sizeof err);
        if (rc != RECD_OK) {
            fprintf(stderr, "%s:%" PRId64 ": %s\n", path, lineno, err);
            goto bad_line;
        }
        {
            const char *key = k == RECD_KIND_ITEM ? ev.u.item.item_id : ev.user_id;
            int tomb = k == RECD_KIND_ITEM && ev.u.item.removed;
            rc = sink_send(&sink, t, key, strlen(key), tomb ? NULL : buf.data, buf.len, err,
                           sizeof err);
            if (rc != RECD_OK)
                goto kafka_error;
            tombs += tomb;
            sent++;
        }
        json_decref(o);
        continue;
bad_line:
        json_decref(o);
        bad++;
        continue;
kafka_error:
        json_decref(o);
        fprintf(stderr, "recctl produce: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
        break;
    }
    if (ferror(fp)) {
        fprintf(stderr, "recctl produce: %s: read error\n", path);
        exit_code = RECD_EXIT_FAILURE;
    }
cleanup:
    {
        int64_t undelivered = sink_close(&sink, 60000);
        if (codec || sent) {
            fprintf(stderr, "recctl produce: %" PRId64 " record(s) produced (%" PRId64
                    " tombstone(s)), %" PRId64 " bad line(s), %" PRId64 " not delivered\n",
                    sent, tombs, bad, undelivered);
        }
        if ((bad || undelivered) && exit_code == RECD_EXIT_OK)
            exit_code = RECD_EXIT_FAILURE;
    }
    free(line);
    if (fp && fp != stdin)
        fclose(fp);
    recd_buf_free(&buf);
    recd_arena_destroy(arena);
    recd_codec_destroy(codec);
    return exit_code;
}

/* ---- replay / gen shared options ------------------------------------------------------------- */
struct stream_opts {
    double rate;
    long long poison, unknown, oversize, seed, confluent_id;
    const char *poison_log;
};

static int stream_opt(struct stream_opts *so, const char *cmd, int opt, const char *arg)
{
    switch (opt) {
    case O_RATE:
        return parse_dbl(cmd, "--rate", arg, 0, 1e9, &so->rate) ? -1 : 1;
    case O_POISON:
        return parse_ll(cmd, "--poison", arg, 0, 100000000, &so->poison) ? -1 : 1;
    case O_UNKNOWN_ITEMS:
        return parse_ll(cmd, "--unknown-items", arg, 0, 100000000, &so->unknown) ? -1 : 1;
    case O_OVERSIZE:
        return parse_ll(cmd, "--oversize-text", arg, 0, 1000000, &so->oversize) ? -1 : 1;
    case O_SEED:
        return parse_ll(cmd, "--seed", arg, 0, LLONG_MAX, &so->seed) ? -1 : 1;
    case O_CONFLUENT_ID:
        return parse_ll(cmd, "--confluent-id", arg, 0, INT32_MAX, &so->confluent_id) ? -1 : 1;
    case O_POISON_LOG:
        so->poison_log = arg;
        return 1;
    default:
        return 0;
    }
}

#define STREAM_LONG \
    {"rate", required_argument, NULL, O_RATE}, \
    {"poison", required_argument, NULL, O_POISON}, \
    {"unknown-items", required_argument, NULL, O_UNKNOWN_ITEMS}, \
    {"oversize-text", required_argument, NULL, O_OVERSIZE}, \
    {"seed", required_argument, NULL, O_SEED}, \
    {"confluent-id", required_argument, NULL, O_CONFLUENT_ID}, \
    {"poison-log", required_argument, NULL, O_POISON_LOG}

static int stream_setup(struct emitter *em, const struct stream_opts *so, int64_t total,
                        const char *cmd)
{
    if (emitter_plan(em, total, so->poison, so->unknown, so->oversize,
                     (uint64_t)so->seed) != RECD_OK) {
        fprintf(stderr, "recctl %s: out of memory\n", cmd);
        return -1;
    }
    if (so->poison_log) {
        em->poison_log = strcmp(so->poison_log, "-") == 0 ? stderr : fopen(so->poison_log, "w");
        if (!em->poison_log) {
            fprintf(stderr, "recctl %s: %s: %s\n", cmd, so->poison_log, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- the stream runner behind replay and gen ------------------------------------------------- */
/* Where a stream's events come from. `next` returns 1 with an event (strings in `arena`), 0 at
 * the end, a negative RECD_E* code on error; `emitted` (may be NULL) sees each event after it
 * has been emitted. */
struct stream_source {
    const char *cmd;              /* "replay", "gen": the prefix of messages */
    const char *verb;             /* "replayed", "generated": the summary's verb */
    const char *next_err;         /* prefix of a `next` error message ("dataset: " or "") */
    int (*next)(void *src, struct recd_arena *arena, struct recd_event *ev);
    void (*emitted)(void *src, const struct recd_event *ev);
    void *src;                    /* borrowed */
    int64_t total;                /* events planned (poison records are spread over them) */
    int progress;                 /* with -v, a progress line every 5 s */
    FILE *jsonl;                  /* borrowed: JSON lines instead of Kafka, or NULL */
    const char *jsonl_path;
};

/* Emit the source's events to the topics (or JSON lines), paced and with the planned poison
 * records; print the summary. Returns the process exit code. */
static int run_stream(struct common *c, const struct stream_opts *so,
                      const struct stream_source *s)
{
    struct recd_arena *arena = NULL;
    struct emitter em;
    struct recd_event ev;
    double t0, next_progress;
    int rc, exit_code = RECD_EXIT_OK, em_open = 0;

    memset(&em, 0, sizeof em);
    arena = recd_arena_new(1 << 16);
    rc = emitter_open(&em, c, s->jsonl, (int32_t)so->confluent_id);
    em_open = 1;
    if (!arena || rc != RECD_OK) {
        fprintf(stderr, "recctl %s: %s\n", s->cmd, arena ? em.err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    if (stream_setup(&em, so, s->total, s->cmd) != 0) {
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();
    t0 = now_s();
    next_progress = t0 + 5;
    while (!g_stop) {
        recd_arena_reset(arena);
        rc = s->next(s->src, arena, &ev);
        if (rc == 0)
            break;
        if (rc < 0) {
            fprintf(stderr, "recctl %s: %s%s\n", s->cmd, s->next_err, recd_strerror(rc));
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
        pace(&em.sink, so->rate, t0, em.events);
        rc = emit_stream_event(&em, &ev);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl %s: %s\n", s->cmd, em.err);
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
        if (s->emitted)
            s->emitted(s->src, &ev);
        if (s->progress && c->verbose && now_s() >= next_progress) {
            next_progress += 5;
            fprintf(stderr, "recctl %s: %" PRId64 "/%" PRId64 " events\n", s->cmd, em.events,
                    s->total);
        }
    }
    if (exit_code == RECD_EXIT_OK && !g_stop) {
        rc = emit_due(&em, em.last_ts, 1);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl %s: %s\n", s->cmd, em.err);
            exit_code = RECD_EXIT_FAILURE;
        }
    }
    if (s->jsonl && fflush(s->jsonl) != 0) {
        fprintf(stderr, "recctl %s: %s: %s\n", s->cmd, s->jsonl_path, strerror(errno));
        exit_code = RECD_EXIT_FAILURE;
    }
    {
        int64_t undelivered = emitter_close(&em);
        em_open = 0;
        /* with --jsonl to stdout the summary goes to stderr */
        if (s->jsonl == stdout) {
            fprintf(stderr, "%s %" PRId64 " events\n", s->verb, em.events);
        } else {
            print_summary(&em, g_stop ? "interrupted after" : s->verb, now_s() - t0);
        }
        if (undelivered) {
            fprintf(stderr, "recctl %s: %" PRId64 " record(s) not delivered\n", s->cmd,
                    undelivered);
            exit_code = RECD_EXIT_FAILURE;
        }
        if (g_stop && exit_code == RECD_EXIT_OK)
            exit_code = RECD_EXIT_FAILURE;
    }
cleanup:
    if (em_open)
        emitter_close(&em);
    recd_arena_destroy(arena);
    return exit_code;
}

/* ---- replay ---------------------------------------------------------------------------------- */
/* "train", "test", "catalog", "all" or a comma-separated list of them → RECD_DS_PHASE_* bits. */
static int parse_phases(const char *arg, unsigned *out)
{
    unsigned bits = 0;
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 5 && strncmp(p, "train", 5) == 0)
            bits |= RECD_DS_PHASE_TRAIN;
        else if (n == 4 && strncmp(p, "test", 4) == 0)
            bits |= RECD_DS_PHASE_TEST;
        else if (n == 7 && strncmp(p, "catalog", 7) == 0)
            bits |= RECD_DS_PHASE_CATALOG;
        else if (n == 3 && strncmp(p, "all", 3) == 0)
            bits |= RECD_DS_PHASE_ALL;
        else
            return -1;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *out = bits;
    return 0;
}

/* The dataset as a stream source; with --meta-log, a line per event: event id, user, item,
 * phase, session index, position, test case. */
struct replay_src {
    struct recd_dataset *ds;      /* borrowed */
    struct recd_dataset_meta m;   /* of the last event */
    FILE *meta;                   /* owned unless stdout; NULL without --meta-log */
};

static int replay_next(void *src, struct recd_arena *arena, struct recd_event *ev)
{
    struct replay_src *rs = src;

    return recd_dataset_next(rs->ds, arena, ev, &rs->m);
}

static void replay_emitted(void *src, const struct recd_event *ev)
{
    const struct replay_src *rs = src;
    const struct recd_dataset_meta *m = &rs->m;

    if (rs->meta)
        fprintf(rs->meta, "%s\t%s\t%s\t%s\t%" PRId64 "\t%d\t%d\n", ev->event_id,
                ev->user_id ? ev->user_id : "-",
                ev->kind == RECD_KIND_CLICK ? ev->u.click.item_id :
                ev->kind == RECD_KIND_ITEM ? ev->u.item.item_id : "-",
                m->phase == RECD_DS_TEST ? "test" : m->phase == RECD_DS_CATALOG ? "catalog" :
                "train", m->session_index, m->position, m->test_case);
}

static int cmd_replay(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        STREAM_LONG,
        {"format", required_argument, NULL, O_FORMAT},
        {"concurrency", required_argument, NULL, O_CONCURRENCY},
        {"limit", required_argument, NULL, O_LIMIT},
        {"skip", required_argument, NULL, O_SKIP},
        {"phase", required_argument, NULL, O_PHASE},
        {"gap-ms", required_argument, NULL, O_GAP_MS},
        {"start-ts", required_argument, NULL, O_START_TS},
        {"meta-log", required_argument, NULL, O_META_LOG},
        {"valid", no_argument, NULL, O_VALID},
        {"cold-frac", required_argument, NULL, O_COLD_FRAC},
        {NULL, 0, NULL, 0}
    };
    struct stream_opts so = {0, 0, 0, 0, 1, -1, NULL};
    struct recd_dataset_conf dc;
    struct recd_dataset *ds = NULL;
    struct replay_src rs = {NULL, {0}, NULL};
    struct stream_source s = {"replay", "replayed", "dataset: ", replay_next, replay_emitted,
                              NULL, 0, 1, NULL, NULL};
    const char *meta_path = NULL;
    int opt, rc, exit_code = RECD_EXIT_OK;
    long long v;
    char err[1024];

    recd_dataset_conf_init(&dc);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "replay", opt, optarg);
        if (h == 0)
            h = stream_opt(&so, "replay", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_REPLAY);
            return RECD_EXIT_OK;
        case O_FORMAT:
            dc.format = recd_dataset_format_parse(optarg);
            if (dc.format < 0) {
                fprintf(stderr, "recctl replay: --format: expected diginetica-srgnn, "
                                "retailrocket-sbr, yoochoose, diginetica-raw, amazon-recbole "
                                "or auto\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_CONCURRENCY:
            if (parse_ll("replay", "--concurrency", optarg, 0, 100000000, &v))
                return RECD_EXIT_USAGE;
            dc.concurrency = v == 0 ? RECD_DS_CONCURRENCY_UNLIMITED : (int)v;
            break;
        case O_LIMIT:
            if (parse_ll("replay", "--limit", optarg, 0, LLONG_MAX, &v))
                return RECD_EXIT_USAGE;
            dc.limit = v;
            break;
        case O_SKIP:
            if (parse_ll("replay", "--skip", optarg, 0, LLONG_MAX, &v))
                return RECD_EXIT_USAGE;
            dc.skip = v;
            break;
        case O_PHASE:
            if (parse_phases(optarg, &dc.phases) != 0) {
                fprintf(stderr, "recctl replay: --phase: expected train, test, catalog or all "
                                "(or a comma-separated list, e.g. catalog,train)\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_VALID:
            dc.valid = 1;
            break;
        case O_COLD_FRAC: {
            char *end = NULL;
            double f = strtod(optarg, &end);

            if (end == optarg || *end != '\0' || !(f >= 0 && f <= 1)) {
                fprintf(stderr, "recctl replay: --cold-frac: expected a number in [0, 1]\n");
                return RECD_EXIT_USAGE;
            }
            dc.cold_frac = f;
            break;
        }
        case O_GAP_MS:
            if (parse_ll("replay", "--gap-ms", optarg, 1, INT64_C(86400000) * 365, &v))
                return RECD_EXIT_USAGE;
            dc.session_gap_ms = v;
            break;
        case O_START_TS:
            if (parse_ll("replay", "--start-ts", optarg, 1, INT64_C(4102444800000), &v))
                return RECD_EXIT_USAGE;
            dc.start_ts_ms = v;
            break;
        case O_META_LOG:
            meta_path = optarg;
            break;
        default:
            return bad_usage("replay");
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "recctl replay: missing the dataset directory\n");
        return bad_usage("replay");
    }
    dc.dir = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "recctl replay: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("replay");
    }

    rc = recd_dataset_open(&dc, &ds, err, sizeof err);
    if (rc != RECD_OK) {
        fprintf(stderr, "recctl replay: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    if (c->verbose)
        fprintf(stderr, "recctl replay: %s, %" PRId64 " events to replay\n",
                recd_dataset_format_name(recd_dataset_format(ds)), recd_dataset_total(ds));
    if (meta_path && !(rs.meta = strcmp(meta_path, "-") == 0 ? stdout : fopen(meta_path, "w"))) {
        fprintf(stderr, "recctl replay: %s: %s\n", meta_path, strerror(errno));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rs.ds = ds;
    s.src = &rs;
    s.total = recd_dataset_total(ds);
    exit_code = run_stream(c, &so, &s);
cleanup:
    if (rs.meta && rs.meta != stdout)
        fclose(rs.meta);
    recd_dataset_close(ds);
    return exit_code;
}

/* ---- gen ------------------------------------------------------------------------------------- */
static int gen_next(void *src, struct recd_arena *arena, struct recd_event *ev)
{
    return recd_shopgen_next(src, arena, ev);
}

static int cmd_gen(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        STREAM_LONG,
        {"users", required_argument, NULL, O_USERS},
        {"items", required_argument, NULL, O_ITEMS},
        {"events", required_argument, NULL, O_EVENTS},
        {"categories", required_argument, NULL, O_CATEGORIES},
        {"concurrency", required_argument, NULL, O_CONCURRENCY},
        {"start-ts", required_argument, NULL, O_START_TS},
        {"p-query", required_argument, NULL, O_P_QUERY},
        {"p-cart", required_argument, NULL, O_P_CART},
        {"p-purchase", required_argument, NULL, O_P_PURCHASE},
        {"jsonl", required_argument, NULL, O_JSONL},
        {NULL, 0, NULL, 0}
    };
    struct stream_opts so = {0, 0, 0, 0, 1, -1, NULL};
    struct recd_shopgen_conf gc;
    struct recd_shopgen *g = NULL;
    struct stream_source s = {"gen", "generated", "", gen_next, NULL, NULL, 0, 0, NULL, NULL};
    const char *jsonl_path = NULL;
    int opt, rc, exit_code = RECD_EXIT_OK, seed_set = 0;
    long long v;
    char err[1024];

    recd_shopgen_conf_init(&gc);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "gen", opt, optarg);
        if (h == 0)
            h = stream_opt(&so, "gen", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (opt == O_SEED)
            seed_set = 1;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_GEN);
            return RECD_EXIT_OK;
        case O_USERS:
            if (parse_ll("gen", "--users", optarg, 1, INT32_MAX / 2, &v))
                return RECD_EXIT_USAGE;
            gc.n_users = v;
            break;
        case O_ITEMS:
            if (parse_ll("gen", "--items", optarg, 1, INT32_MAX / 2, &v))
                return RECD_EXIT_USAGE;
            gc.n_items = v;
            break;
        case O_EVENTS:
            if (parse_ll("gen", "--events", optarg, 0, LLONG_MAX, &v))
                return RECD_EXIT_USAGE;
            gc.n_events = v;
            break;
        case O_CATEGORIES:
            if (parse_ll("gen", "--categories", optarg, 1, RECD_SHOPGEN_MAX_CATEGORIES, &v))
                return RECD_EXIT_USAGE;
            gc.n_categories = (int)v;
            break;
        case O_CONCURRENCY:
            if (parse_ll("gen", "--concurrency", optarg, 1, 1000000, &v))
                return RECD_EXIT_USAGE;
            gc.concurrency = (int)v;
            break;
        case O_START_TS:
            if (parse_ll("gen", "--start-ts", optarg, 0, INT64_C(4102444800000), &v))
                return RECD_EXIT_USAGE;
            gc.start_ts_ms = v;
            break;
        case O_P_QUERY:
            if (parse_dbl("gen", "--p-query", optarg, 0, 1, &gc.p_query))
                return RECD_EXIT_USAGE;
            break;
        case O_P_CART:
            if (parse_dbl("gen", "--p-cart", optarg, 0, 1, &gc.p_cart))
                return RECD_EXIT_USAGE;
            break;
        case O_P_PURCHASE:
            if (parse_dbl("gen", "--p-purchase", optarg, 0, 1, &gc.p_purchase))
                return RECD_EXIT_USAGE;
            break;
        case O_JSONL:
            jsonl_path = optarg;
            break;
        default:
            return bad_usage("gen");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl gen: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("gen");
    }
    if (jsonl_path && (so.poison || so.unknown || so.oversize || so.confluent_id >= 0)) {
        fprintf(stderr, "recctl gen: --poison, --unknown-items, --oversize-text and "
                        "--confluent-id need Kafka (not --jsonl)\n");
        return RECD_EXIT_USAGE;
    }
    if (seed_set)
        gc.seed = (uint64_t)so.seed;
    rc = recd_shopgen_new(&gc, &g, err, sizeof err);
    if (rc != RECD_OK) {
        fprintf(stderr, "recctl gen: %s\n", err);
        return RECD_EXIT_USAGE;
    }
    if (jsonl_path) {
        s.jsonl = strcmp(jsonl_path, "-") == 0 ? stdout : fopen(jsonl_path, "w");
        if (!s.jsonl) {
            fprintf(stderr, "recctl gen: %s: %s\n", jsonl_path, strerror(errno));
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        s.jsonl_path = jsonl_path;
    }
    s.src = g;
    s.total = gc.n_items + gc.n_events;
    exit_code = run_stream(c, &so, &s);
cleanup:
    if (s.jsonl && s.jsonl != stdout)
        fclose(s.jsonl);
    recd_shopgen_destroy(g);
    return exit_code;
}

/* ---- forget ---------------------------------------------------------------------------------- */
static int cmd_forget(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"reason", required_argument, NULL, O_REASON},
        {"ts", required_argument, NULL, O_TS},
        {NULL, 0, NULL, 0}
    };
    struct recd_event ev;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_buf buf;
    struct sink sink;
    const char *reason = NULL;
    long long ts = -1;
    int opt, exit_code = RECD_EXIT_OK;
    char err[1024];

    memset(&sink, 0, sizeof sink);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "forget", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_FORGET);
            return RECD_EXIT_OK;
        case O_REASON:
            reason = optarg;
            break;
        case O_TS:
            if (parse_ll("forget", "--ts", optarg, 0, LLONG_MAX, &ts))
                return RECD_EXIT_USAGE;
            break;
        default:
            return bad_usage("forget");
        }
    }
    if (optind + 1 != argc || !argv[optind][0]) {
        fprintf(stderr, "recctl forget: expected exactly one USER_ID\n");
        return bad_usage("forget");
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = RECD_KIND_DELETION;
    ev.user_id = argv[optind];
    ev.u.deletion.requested_ts = ts >= 0 ? ts : recd_now_wall_ms();
    ev.u.deletion.reason = reason;
    ev.ts_ms = ev.u.deletion.requested_ts;
    recd_buf_init(&buf);
    memset(&cc, 0, sizeof cc);
    if (recd_codec_new(&cc, &codec, err, sizeof err) != RECD_OK ||
        recd_codec_encode_event(codec, &ev, -1, &buf, err, sizeof err) != RECD_OK ||
        sink_open(&sink, c, err, sizeof err) != RECD_OK ||
        sink_send(&sink, c->topic[T_DELETIONS], ev.user_id, strlen(ev.user_id), buf.data,
                  buf.len, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl forget: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
    }
    if (sink_close(&sink, 30000) != 0)
        exit_code = RECD_EXIT_FAILURE;
    else if (exit_code == RECD_EXIT_OK)
        printf("deletion of user %s requested on %s\n", ev.user_id, c->topic[T_DELETIONS]);
    recd_buf_free(&buf);
    recd_codec_destroy(codec);
    return exit_code;
}

/* ---- tail ------------------------------------------------------------------------------------ */
static json_t *bytes_json(const void *p, size_t n)
{
    return p ? jstrn(p, n) : json_null();
}

static json_t *headers_json(const rd_kafka_message_t *m)
{
    json_t *o = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (!o || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return o;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        json_t *v = bytes_json(val, size);
        json_t *k = jstr(name);
        if (k && v)
            json_object_set(o, json_string_value(k), v);
        json_decref(k);
        json_decref(v);
    }
    return o;
}

static void set_base64(json_t *o, const char *field, const void *p, size_t n)
{
    char *b = base64(p ? p : "", p ? n : 0);
    if (b) {
        json_object_set_new(o, field, json_string(b));
        free(b);
    }
}

static int print_record(const rd_kafka_message_t *m, int kind, struct recd_codec *codec,
                        struct recd_arena *arena)
{
    json_t *o = json_object();
    char err[512];
    rd_kafka_timestamp_type_t tst;
    int rc;

    if (!o)
        return RECD_ENOMEM;
    json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(m->rkt)));
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    int64_t ts = rd_kafka_message_timestamp(m, &tst);
    json_object_set_new(o, "timestamp", ts >= 0 ? json_integer(ts) : json_null());
    json_object_set_new(o, "key", bytes_json(m->key, m->key_len));
    json_object_set_new(o, "headers", headers_json(m));
    if (kind == T_DLQ || kind == KIND_RAW) {
        if (m->payload)
            set_base64(o, "value_base64", m->payload, m->len);
        else
            json_object_set_new(o, "value", json_null());
    } else if (kind == T_RECS) {
        struct recd_recs r;
        if (!m->payload) {
            json_object_set_new(o, "value", json_null());
        } else if (recd_codec_decode_recs(codec, m->payload, m->len, arena, &r, err,
                                          sizeof err) == RECD_OK) {
            json_object_set_new(o, "value", recs_to_json(&r));
        } else {
            json_object_set_new(o, "error", jstr(err));
            set_base64(o, "value_base64", m->payload, m->len);
        }
    } else {
        struct recd_event ev;
        memset(&ev, 0, sizeof ev);
        if (!m->payload && kind != T_ITEMS) {
            json_object_set_new(o, "value", json_null());
        } else if (recd_codec_decode(codec, kind, m->key, m->key_len, m->payload,
                                     m->payload ? m->len : 0, arena, &ev, err,
                                     sizeof err) == RECD_OK) {
            json_object_set_new(o, "value", event_to_json(&ev));
        } else {
            json_object_set_new(o, "error", jstr(err));
            set_base64(o, "value_base64", m->payload, m->len);
        }
    }
    rc = print_json_line(o);
    json_decref(o);
    return rc;
}

static int cmd_tail(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"kind", required_argument, NULL, O_KIND},
        {"topic", required_argument, NULL, O_TOPIC},
        {"from-beginning", no_argument, NULL, O_FROM_BEGINNING},
        {"max", required_argument, NULL, O_MAX},
        {"idle-ms", required_argument, NULL, O_IDLE_MS},
        {NULL, 0, NULL, 0}
    };
    static const char *const defaults[] = {
        "group.id", "recctl-tail",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "false",
        NULL
    };
    int kind = -1, opt, from_beginning = 0, exit_code = RECD_EXIT_OK;
    const char *topic = NULL;
    long long max = -1, idle_ms = 5000;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_arena *arena = NULL;
    int64_t printed = 0;
    char err[1024];

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "tail", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_TAIL);
            return RECD_EXIT_OK;
        case O_KIND:
            kind = parse_kind(optarg);
            if (kind < 0) {
                fprintf(stderr, "recctl tail: --kind: expected click, purchase, query, item, "
                                "deletion, recs, dlq or raw, got '%s'\n", optarg);
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TOPIC:
            topic = optarg;
            break;
        case O_FROM_BEGINNING:
            from_beginning = 1;
            break;
        case O_MAX:
            if (parse_ll("tail", "--max", optarg, 1, LLONG_MAX, &max))
                return RECD_EXIT_USAGE;
            break;
        case O_IDLE_MS:
            if (parse_ll("tail", "--idle-ms", optarg, 0, INT32_MAX, &idle_ms))
                return RECD_EXIT_USAGE;
            break;
        default:
            return bad_usage("tail");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl tail: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("tail");
    }
    if (kind < 0) {
        fprintf(stderr, "recctl tail: --kind is required\n");
        return bad_usage("tail");
    }
    if (!topic)
        topic = kind == KIND_RAW ? NULL : c->topic[kind];
    if (!topic) {
        fprintf(stderr, "recctl tail: --kind raw needs --topic\n");
        return RECD_EXIT_USAGE;
    }

    memset(&cc, 0, sizeof cc);
    cc.format = RECD_WIRE_AUTO;
    if (recd_codec_new(&cc, &codec, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl tail: %s\n", err);
        return RECD_EXIT_SOFTWARE;
    }
    arena = recd_arena_new(1 << 16);
    rd_kafka_conf_t *conf = make_conf(c, defaults, err, sizeof err);
    if (!arena || !conf) {
        fprintf(stderr, "recctl tail: %s\n", arena ? err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl tail: consumer: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();

    /* partitions: wait for the topic to exist, up to the idle timeout */
    double t0 = now_s();
    int n_parts = 0;
    for (;;) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 5000)
                                    : RD_KAFKA_RESP_ERR__INVALID_ARG;
        if (rkt)
            rd_kafka_topic_destroy(rkt);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0) {
            n_parts = md->topics[0].partition_cnt;
            break;
        }
        const char *why = e ? rd_kafka_err2str(e)
                            : md->topic_cnt == 1 && md->topics[0].err
                                  ? rd_kafka_err2str(md->topics[0].err) : "no partitions";
        if (md) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT) {
            fprintf(stderr, "recctl tail: metadata for %s: %s\n", topic, why);
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        if (g_stop || (idle_ms > 0 && (now_s() - t0) * 1000 >= (double)idle_ms)) {
            fprintf(stderr, "recctl tail: topic %s: %s\n", topic, why);
            goto cleanup;    /* nothing to print: idle timeout */
        }
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_metadata_destroy(md);
    md = NULL;
    parts = rd_kafka_topic_partition_list_new(n_parts);
    for (int p = 0; p < n_parts; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
            from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts);
    if (ae) {
        fprintf(stderr, "recctl tail: assign: %s\n", rd_kafka_err2str(ae));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    double last = now_s();
    while (!g_stop && (max < 0 || printed < max)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (idle_ms > 0 && (now_s() - last) * 1000 >= (double)idle_ms)
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "recctl tail: %s\n", rd_kafka_message_errstr(m));
                if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                    rd_kafka_message_destroy(m);
                    exit_code = RECD_EXIT_FAILURE;
                    break;
                }
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        last = now_s();
        recd_arena_reset(arena);
        int rc = print_record(m, kind, codec, arena);
        rd_kafka_message_destroy(m);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl tail: out of memory\n");
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
        printed++;
    }
    fflush(stdout);
    if (c->verbose)
        fprintf(stderr, "recctl tail: %" PRId64 " record(s)\n", printed);
cleanup:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    recd_arena_destroy(arena);
    recd_codec_destroy(codec);
    return exit_code;
}

/* ---- metadata -------------------------------------------------------------------------------- */
static int cmp_topic_md(const void *a, const void *b)
{
    return strcmp(((const rd_kafka_metadata_topic_t *)a)->topic,
                  ((const rd_kafka_metadata_topic_t *)b)->topic);
}

static rd_kafka_t *plain_client(const struct common *c, const char *cmd)
{
    char err[1024];
    rd_kafka_conf_t *conf = make_conf(c, NULL, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "recctl %s: %s\n", cmd, err);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl %s: %s\n", cmd, err);
    }
    return rk;
}

static int cmd_metadata(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"timeout-ms", required_argument, NULL, O_TIMEOUT_MS},
        {"all", no_argument, NULL, O_ALL},
        {NULL, 0, NULL, 0}
    };
    long long timeout = 5000;
    int opt, all = 0;
    const struct rd_kafka_metadata *md = NULL;

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "metadata", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_METADATA);
            return RECD_EXIT_OK;
        case O_TIMEOUT_MS:
            if (parse_ll("metadata", "--timeout-ms", optarg, 1, INT32_MAX, &timeout))
                return RECD_EXIT_USAGE;
            break;
        case O_ALL:
            all = 1;
            break;
        default:
            return bad_usage("metadata");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl metadata: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("metadata");
    }
    rd_kafka_t *rk = plain_client(c, "metadata");
    if (!rk)
        return RECD_EXIT_FAILURE;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, (int)timeout);
    if (e) {
        fprintf(stderr, "recctl metadata: %s: %s\n", c->brokers, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return RECD_EXIT_FAILURE;
    }
    printf("brokers: (%d)\n", md->broker_cnt);
    for (int i = 0; i < md->broker_cnt; i++)
        printf("  %" PRId32 " %s:%d%s\n", md->brokers[i].id, md->brokers[i].host,
               md->brokers[i].port, md->brokers[i].id == md->orig_broker_id ? " (answered)" : "");
    rd_kafka_metadata_topic_t *tv = NULL;
    if (md->topic_cnt > 0) {
        tv = malloc((size_t)md->topic_cnt * sizeof *tv);
        if (tv) {
            memcpy(tv, md->topics, (size_t)md->topic_cnt * sizeof *tv);
            qsort(tv, (size_t)md->topic_cnt, sizeof *tv, cmp_topic_md);
        }
    }
    int shown = 0;
    for (int i = 0; tv && i < md->topic_cnt; i++)
        shown += all || tv[i].topic[0] != '_';
    printf("topics: (%d)\n", shown);
    for (int i = 0; tv && i < md->topic_cnt; i++) {
        if (!all && tv[i].topic[0] == '_')
            continue;
        printf("  %-28s partitions=%d%s%s\n", tv[i].topic, tv[i].partition_cnt,
               tv[i].err ? " error=" : "", tv[i].err ? rd_kafka_err2str(tv[i].err) : "");
    }
    free(tv);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return RECD_EXIT_OK;
}

/* ---- lag ------------------------------------------------------------------------------------- */
static int cmd_lag(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"group", required_argument, NULL, O_GROUP},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT_MS},
        {NULL, 0, NULL, 0}
    };
    static const int inputs[] = {T_CLICKS, T_PURCHASES, T_QUERIES, T_DELETIONS};
    long long timeout = 10000, total = 0;
    const char *group = "recd";
    int opt, rc = RECD_EXIT_FAILURE;
    char err[1024];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t e;

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "lag", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_LAG);
            return RECD_EXIT_OK;
        case O_GROUP:
            group = optarg;
            break;
        case O_TIMEOUT_MS:
            if (parse_ll("lag", "--timeout-ms", optarg, 1, INT32_MAX, &timeout))
                return RECD_EXIT_USAGE;
            break;
        default:
            return bad_usage("lag");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl lag: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("lag");
    }
    conf = make_conf(c, NULL, err, sizeof err);
    if (!conf || rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) != RD_KAFKA_CONF_OK) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl lag: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    /* a consumer handle that never subscribes: it only asks the group coordinator */
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl lag: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    e = rd_kafka_metadata(rk, 1, NULL, &md, (int)timeout);
    if (e) {
        fprintf(stderr, "recctl lag: %s: %s\n", c->brokers, rd_kafka_err2str(e));
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(8);
    for (size_t k = 0; k < RECD_ARRAY_SIZE(inputs); k++) {
        for (int i = 0; i < md->topic_cnt; i++) {
            if (strcmp(md->topics[i].topic, c->topic[inputs[k]]) != 0 || md->topics[i].err)
                continue;
            for (int j = 0; j < md->topics[i].partition_cnt; j++)
                rd_kafka_topic_partition_list_add(parts, md->topics[i].topic,
                                                  md->topics[i].partitions[j].id);
        }
    }
    if (parts->cnt > 0) {
        e = rd_kafka_committed(rk, parts, (int)timeout);
        if (e) {
            fprintf(stderr, "recctl lag: committed offsets of group %s: %s\n", group,
                    rd_kafka_err2str(e));
            goto out;
        }
    }
    printf("group %s\n%-28s %9s %12s %12s %12s\n", group, "topic", "partition", "committed",
           "end", "lag");
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t low = 0, hi = 0, lag;
        char cbuf[24];

        e = rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &hi, (int)timeout);
        if (e) {
            fprintf(stderr, "recctl lag: end offset of %s[%d]: %s\n", tp->topic, (int)tp->partition,
                    rd_kafka_err2str(e));
            goto out;
        }
        /* never committed: everything still in the log is behind */
        lag = tp->offset >= 0 ? hi - tp->offset : hi - low;
        if (lag < 0)
            lag = 0;
        total += lag;
        if (tp->offset >= 0)
            snprintf(cbuf, sizeof cbuf, "%" PRId64, tp->offset);
        else
            snprintf(cbuf, sizeof cbuf, "-");
        printf("%-28s %9d %12s %12" PRId64 " %12" PRId64 "\n", tp->topic, (int)tp->partition,
               cbuf, hi, lag);
    }
    printf("total lag %lld\n", total);
    rc = RECD_EXIT_OK;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- topics create --------------------------------------------------------------------------- */
static int cmd_topics(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = {
        COMMON_LONG,
        {"partitions", required_argument, NULL, O_PARTITIONS},
        {"replication-factor", required_argument, NULL, O_REPLICATION},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT_MS},
        {NULL, 0, NULL, 0}
    };
    long long partitions = 4, replication = -1, timeout = 30000;
    int opt, exit_code = RECD_EXIT_OK, n_new = 0;
    rd_kafka_t *rk = NULL;
    rd_kafka_NewTopic_t *nt[T__N] = {NULL};
    rd_kafka_AdminOptions_t *ao = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *rkev = NULL;
    char err[512];

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "topics", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        switch (opt) {
        case 'h':
            usage_to(stdout, USAGE_TOPICS);
            return RECD_EXIT_OK;
        case O_PARTITIONS:
            if (parse_ll("topics", "--partitions", optarg, 1, 100000, &partitions))
                return RECD_EXIT_USAGE;
            break;
        case O_REPLICATION:
            if (parse_ll("topics", "--replication-factor", optarg, -1, 1000, &replication) ||
                replication == 0) {
                fprintf(stderr, "recctl topics: --replication-factor: -1 or >= 1\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TIMEOUT_MS:
            if (parse_ll("topics", "--timeout-ms", optarg, 1, INT32_MAX, &timeout))
                return RECD_EXIT_USAGE;
            break;
        default:
            return bad_usage("topics");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "create") != 0 || optind + 1 != argc) {
        fprintf(stderr, "recctl topics: expected 'create'\n");
        return bad_usage("topics");
    }
    rk = plain_client(c, "topics");
    if (!rk)
        return RECD_EXIT_FAILURE;
    for (int t = 0; t < T__N; t++) {
        /* skip duplicates (two overrides naming the same topic) */
        int dup = 0;
        for (int u = 0; u < t; u++)
            dup |= strcmp(c->topic[u], c->topic[t]) == 0;
        if (dup)
            continue;
        nt[n_new] = rd_kafka_NewTopic_new(c->topic[t], (int)partitions, (int)replication, err,
                                          sizeof err);
        if (!nt[n_new]) {
            fprintf(stderr, "recctl topics: %s: %s\n", c->topic[t], err);
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        if ((t == T_ITEMS || t == T_RECS) &&
            rd_kafka_NewTopic_set_config(nt[n_new], "cleanup.policy", "compact")) {
            fprintf(stderr, "recctl topics: %s: cannot set cleanup.policy\n", c->topic[t]);
            n_new++;
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        n_new++;
    }
    ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    q = rd_kafka_queue_new(rk);
    if (!ao || !q ||
        rd_kafka_AdminOptions_set_operation_timeout(ao, (int)timeout, err, sizeof err) ||
        rd_kafka_AdminOptions_set_request_timeout(ao, (int)timeout, err, sizeof err)) {
        fprintf(stderr, "recctl topics: admin options: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rd_kafka_CreateTopics(rk, nt, (size_t)n_new, ao, q);
    rkev = rd_kafka_queue_poll(q, (int)timeout + 5000);
    if (!rkev) {
        fprintf(stderr, "recctl topics: no answer from %s within %lld ms\n", c->brokers,
                timeout + 5000);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    if (rd_kafka_event_error(rkev)) {
        fprintf(stderr, "recctl topics: %s\n", rd_kafka_event_error_string(rkev));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(rkev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n)
                                                 : NULL;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            const char *name = rd_kafka_topic_result_name(tr[i]);
            if (te == RD_KAFKA_RESP_ERR_NO_ERROR) {
                printf("created %s (%lld partitions)\n", name, partitions);
            } else if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                printf("exists  %s\n", name);
            } else {
                const char *es = rd_kafka_topic_result_error_string(tr[i]);
                fprintf(stderr, "recctl topics: %s: %s\n", name, es ? es : rd_kafka_err2str(te));
                exit_code = RECD_EXIT_FAILURE;
            }
        }
    }
cleanup:
    if (rkev)
        rd_kafka_event_destroy(rkev);
    for (int i = 0; i < n_new; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    if (ao)
        rd_kafka_AdminOptions_destroy(ao);
    if (q)
        rd_kafka_queue_destroy(q);
    if (rk)
        rd_kafka_destroy(rk);
    return exit_code;
}

/* ---- dispatch -------------------------------------------------------------------------------- */
struct command {
    const char *name;
    int (*fn)(struct common *c, int argc, char **argv);
    const char *usage;
};

static int cmd_state(struct common *c, int argc, char **argv)
{
    (void)c;
    return recctl_state_main(argc, argv);
}

static int cmd_checkpoint(struct common *c, int argc, char **argv)
{
    (void)c;
    return recctl_checkpoint_main(argc, argv);
}

static int cmd_status(struct common *c, int argc, char **argv)
{
    (void)c;
    return recctl_status_main(argc, argv);
}

static const struct command COMMANDS[] = {
    {"produce", cmd_produce, USAGE_PRODUCE},
    {"replay", cmd_replay, USAGE_REPLAY},
    {"gen", cmd_gen, USAGE_GEN},
    {"tail", cmd_tail, USAGE_TAIL},
    {"forget", cmd_forget, USAGE_FORGET},
    {"metadata", cmd_metadata, USAGE_METADATA},
    {"topics", cmd_topics, USAGE_TOPICS},
    {"lag", cmd_lag, USAGE_LAG},
    {"state", cmd_state, NULL},
    {"checkpoint", cmd_checkpoint, NULL},
    {"status", cmd_status, NULL},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < RECD_ARRAY_SIZE(COMMANDS); i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* glibc keeps getopt's ordering mode (REQUIRE_ORDER, from the "+" of MAIN_SHORT) until a call
 * made with optind = 0. Reinitialise it with a no-op parse so that command parsers which
 * start with optind = 1 (recctl_state.c) get the default permuting mode, i.e. options may
 * follow positional arguments. */
static void reset_getopt(void)
{
    static char arg0[] = "recctl";
    char *av[] = {arg0, NULL};
    optind = 0;
    (void)getopt(1, av, "");
    optind = 1;
}

static void usage_main(FILE *fp)
{
    fputs(USAGE_MAIN, fp);
    fputs(COMMON_HELP, fp);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {COMMON_LONG, {NULL, 0, NULL, 0}};
    struct common c;
    int opt;

    memset(&c, 0, sizeof c);
    c.brokers = getenv("RECD_BOOTSTRAP");
    if (!c.brokers || !*c.brokers)
        c.brokers = "localhost:9092";
    for (int t = 0; t < T__N; t++)
        c.topic[t] = TOPIC_DEFAULT[t];

    /* common options before the command ("+": stop at the first non-option) */
    while ((opt = GETOPT(argc, argv, MAIN_SHORT, lo)) != -1) {
        int h = common_opt(&c, "", opt, optarg);
        if (h < 0)
            return RECD_EXIT_USAGE;
        if (h > 0)
            continue;
        if (opt == 'h') {
            usage_main(stdout);
            return RECD_EXIT_OK;
        }
        usage_main(stderr);
        return RECD_EXIT_USAGE;
    }
    if (optind >= argc) {
        usage_main(stderr);
        return RECD_EXIT_USAGE;
    }
    const char *name = argv[optind];
    int first = optind;
    reset_getopt();
    optind = first;
    if (strcmp(name, "help") == 0) {
        if (first + 1 >= argc) {
            usage_main(stdout);
            return RECD_EXIT_OK;
        }
        const struct command *hc = find_command(argv[first + 1]);
        if (!hc) {
            fprintf(stderr, "recctl: unknown command '%s'\n", argv[first + 1]);
            return RECD_EXIT_USAGE;
        }
        if (!hc->usage) {
            char help_opt[] = "--help";
            char *hargv[] = {argv[first + 1], help_opt, NULL};
            return hc->fn(&c, 2, hargv);
        }
        usage_to(stdout, hc->usage);
        return RECD_EXIT_OK;
    }
    const struct command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "recctl: unknown command '%s'\n\n", name);
        usage_main(stderr);
        return RECD_EXIT_USAGE;
    }
    return cmd->fn(&c, argc - first, argv + first);
}
