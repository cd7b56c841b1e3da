/*
 * units.c — configuration tables of the daemon core. These rows are the only place a default
 * lives: conf/recd.conf and docs/CONFIGURATION.md are generated from them
 * (recd --config-doc, recd --dump-config) and tests fail when those files are stale.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "daemon.h"
#include "metrics.h"
#include "log.h"
#include "operator.h"
#include "recd.h"
#include "units.h"

/* ---- checks ------------------------------------------------------------------------------ */

static int check_log_levels(const struct recd_conf_decl *d, const void *value, char *errstr,
                            size_t errlen)
{
    const struct recd_kvlist *kv = value;
    size_t i;
    int s;

    for (i = 0; i < kv->n; i++) {
        for (s = 0; s < RECD_LOG__N; s++) {
            if (strcmp(kv->k[i], recd_log_sub_name(s)) == 0) {
                break;
            }
        }
        if (s == RECD_LOG__N) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "unknown subsystem \"%s\" (known: main, kafka, state, operator, "
                               "config, codec, metrics)",
                               kv->k[i]);
        }
        if (recd_log_level_parse(kv->v[i]) < 0) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "%s: unknown level \"%s\" (err, warning, notice, info, debug)",
                               kv->k[i], kv->v[i]);
        }
    }
    return RECD_OK;
}

/* Every property must be one librdkafka accepts (it validates names and values itself). */
static int check_rdkafka_props(const struct recd_conf_decl *d, const void *value, char *errstr,
                               size_t errlen)
{
    const struct recd_kvlist *kv = value;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    size_t i;
    int rc = RECD_OK;

    for (i = 0; i < kv->n; i++) {
        if (rd_kafka_conf_set(conf, kv->k[i], kv->v[i], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG, "librdkafka property %s: %s", kv->k[i],
                             err);
            break;
        }
    }
    rd_kafka_conf_destroy(conf);
    return rc;
}

static int check_chain(const struct recd_conf_decl *d, const void *value, char *errstr,
                       size_t errlen)
{
    const struct recd_strlist *l = value;
    size_t i, j;

    for (i = 0; i < l->n; i++) {
        if (recd_operator_find(l->v[i]) == NULL) {
            char known[512] = "";

            for (j = 0; j < recd_operator_count(); j++) {
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                         j ? ", " : "", recd_operator_at(j)->name);
            }
            return recd_seterr(errstr, errlen, RECD_ECONFIG, "unknown operator \"%s\" (known: %s)",
                               l->v[i], known);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(l->v[i], l->v[j]) == 0) {
                return recd_seterr(errstr, errlen, RECD_ECONFIG, "operator \"%s\" listed twice",
                                   l->v[i]);
            }
        }
    }
    return RECD_OK;
}

static int entry_kind(const char *s, size_t n)
{
    for (int k = 0; k < RECD_KIND__NINPUT; k++) {
        if (strlen(recd_kind_name(k)) == n && strncmp(recd_kind_name(k), s, n) == 0) {
            return k;
        }
    }
    return -1;
}

/* "ID:kind:path" */
static int parse_id_entry(const char *s, struct recd_codec_schema_id *out)
{
    const char *c1 = strchr(s, ':'), *c2;
    char *end;
    long id;

    if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL || c2[1] == '\0') {
        return RECD_EINVAL;
    }
    id = strtol(s, &end, 10);
    if (end != c1 || id < 0 || id > 0x7fffffffL) {
        return RECD_EINVAL;
    }
    out->id = (int32_t)id;
    out->kind = entry_kind(c1 + 1, (size_t)(c2 - c1 - 1));
    out->path = c2 + 1;
    return out->kind < 0 ? RECD_EINVAL : RECD_OK;
}

static int check_confluent_ids(const struct recd_conf_decl *d, const void *value, char *errstr,
                               size_t errlen)
{
    const struct recd_strlist *l = value;
    struct recd_codec_schema_id e;
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (parse_id_entry(l->v[i], &e) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "\"%s\" is not \"ID:kind:path\" with kind one of click, purchase, "
                               "query, item, deletion",
                               l->v[i]);
        }
    }
    return RECD_OK;
}

/* Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..". */
static int check_topic(const struct recd_conf_decl *d, const void *value, char *errstr,
                       size_t errlen)
{
    const char *t = *(char *const *)value;
    size_t i, n = strlen(t);

    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "\"%s\" is not a Kafka topic name (1 to 249 characters, not \".\" "
                           "or \"..\")",
                           t);
    }
    for (i = 0; i < n; i++) {
        char ch = t[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "\"%s\" is not a Kafka topic name (only letters, digits, '.', "
                               "'_' and '-')",
                               t);
        }
    }
    return RECD_OK;
}

static int check_listen(const struct recd_conf_decl *d, const void *value, char *errstr,
                        size_t errlen)
{
    char host[128];
    int port;

    return recd_listen_parse(*(char *const *)value, host, sizeof(host), &port, errstr, errlen);
}

/* The pipeline unit's struct: the public one (units.h) and what only the checks here read. */
struct pipeline_conf {
    struct recd_conf_pipeline pub;      /* first: RECD_UNIT(c, "pipeline", ...) sees it */
    int require_output;
};

/* ---- checks across keys ------------------------------------------------------------------ */

/* What the operators need from each other and whether they publish: the same rules their
 * init() enforces at a start (services they look up), checked without state so that recd -t
 * refuses a chain that cannot start. An operator missing here is not checked. */
static const struct op_rule {
    const char *name;
    const char *needs[3];       /* operators that must come before it */
    const char *msg;            /* the message its init() gives */
    int publishes;              /* adds recommendation lists to the output */
} op_rules[] = {
    { "sessionize", { NULL }, NULL, 0 },
    { "embed",
      { "sessionize", NULL },
      "operator embed needs sessionize before it in pipeline.chain",
      0 },
    { "sgd",
      { "sessionize", NULL },
      "operator sgd needs sessionize before it in pipeline.chain",
      0 },
    { "rerank",
      { "sessionize", "sgd", NULL },
      "operator rerank needs sessionize and sgd before it in pipeline.chain",
      1 },
    { "popular", { NULL }, NULL, 1 },
};

static int check_chain_order(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_pipeline *pc = RECD_UNIT(c, "pipeline", struct recd_conf_pipeline);
    const char *publisher = NULL;
    size_t i, j, k;

    for (i = 0; i < pc->chain.n; i++) {
        const struct op_rule *r = NULL;

        for (j = 0; j < RECD_ARRAY_SIZE(op_rules); j++) {
            if (strcmp(op_rules[j].name, pc->chain.v[i]) == 0) {
                r = &op_rules[j];
            }
        }
        if (r == NULL) {
            continue;
        }
        for (j = 0; j < RECD_ARRAY_SIZE(r->needs) && r->needs[j] != NULL; j++) {
            for (k = 0; k < i && strcmp(pc->chain.v[k], r->needs[j]) != 0; k++) {
            }
            if (k == i) {
                return recd_conf_error(c, "pipeline", "chain", errstr, errlen, "%s", r->msg);
            }
        }
        if (r->publishes) {
            if (publisher != NULL) {
                return recd_conf_error(c, "pipeline", "chain", errstr, errlen,
                                       "%s and %s both publish recommendations (the later one "
                                       "would replace every list of the earlier): keep one",
                                       publisher, r->name);
            }
            publisher = r->name;
        }
    }
    if (publisher == NULL &&
        ((const struct pipeline_conf *)recd_conf_unit_data(c, "pipeline"))->require_output) {
        return recd_conf_error(c, "pipeline", "chain", errstr, errlen,
                               "no operator publishes recommendations: end the chain with rerank "
                               "(after sessionize and sgd) or popular (or set "
                               "pipeline.require_output = false)");
    }
    return RECD_OK;
}

static int check_topic_roles(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_topics *t = RECD_UNIT(c, "topics", struct recd_conf_topics);
    const struct {
        const char *key, *name;
        int input;
    } r[] = {
        { "clicks", t->clicks, 1 },
        { "purchases", t->purchases, 1 },
        { "queries", t->queries, 1 },
        { "items", t->items, 1 },
        { "deletions", t->deletions, 1 },
        { "recommendations", t->recommendations, 0 },
        { "dlq", t->dlq, 0 },
    };
    size_t i, j;

    /* each pair once; the message goes to the key set later in the file */
    for (i = 0; i < RECD_ARRAY_SIZE(r); i++) {
        for (j = i + 1; j < RECD_ARRAY_SIZE(r); j++) {
            const char *at, *other;

            if (strcmp(r[i].name, r[j].name) != 0) {
                continue;
            }
            if (recd_conf_line(c, "topics", r[j].key) >= recd_conf_line(c, "topics", r[i].key)) {
                at = r[j].key;
                other = r[i].key;
            } else {
                at = r[i].key;
                other = r[j].key;
            }
            return recd_conf_error(c, "topics", at, errstr, errlen, "\"%s\" is also topics.%s: %s",
                                   r[i].name, other,
                                   r[i].input && r[j].input ? "every input needs its own topic"
                                       : !r[i].input && !r[j].input
                                       ? "the dead-letter queue and the output must differ"
                                       : "an output topic must not be an input (recd would read "
                                         "back what it writes, forever)");
        }
    }
    return RECD_OK;
}

static int check_ts_bounds(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_input *in = RECD_UNIT(c, "input", struct recd_conf_input);

    if (in->min_ts_ms >= in->max_ts_ms) {
        const char *key = recd_conf_line(c, "input", "max_ts_ms") >=
                recd_conf_line(c, "input", "min_ts_ms")
            ? "max_ts_ms"
            : "min_ts_ms";

        if (strcmp(key, "max_ts_ms") == 0) {
            return recd_conf_error(c, "input", key, errstr, errlen,
                                   "%lld is not above input.min_ts_ms (%lld): every event would "
                                   "be dead-lettered",
                                   (long long)in->max_ts_ms, (long long)in->min_ts_ms);
        }
        return recd_conf_error(c, "input", key, errstr, errlen,
                               "%lld is not below input.max_ts_ms (%lld): every event would be "
                               "dead-lettered",
                               (long long)in->min_ts_ms, (long long)in->max_ts_ms);
    }
    return RECD_OK;
}

/* recd sets these librdkafka properties itself; in kafka.properties they would be silently
 * overridden or would silently override a kafka.* key. */
static const struct {
    const char *prop, *why;
} owned_props[] = {
    { "bootstrap.servers", "set kafka.brokers instead" },
    { "metadata.broker.list", "set kafka.brokers instead" },
    { "client.id", "set kafka.client_id instead" },
    { "group.id", "set kafka.group_id instead" },
    { "enable.auto.commit", "recd commits offsets itself (kafka.commit_interval_ms)" },
    { "auto.commit.interval.ms", "set kafka.commit_interval_ms instead" },
    { "enable.auto.offset.store", "recd stores offsets itself" },
    { "auto.offset.reset", "recd resumes from its state (kafka.start_from)" },
    { "enable.idempotence", "recd's producer is always idempotent (exactly-once output)" },
    { "statistics.interval.ms", "set kafka.stats_interval_ms instead" },
};

static int check_kafka_props(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(c, "kafka", struct recd_conf_kafka);
    size_t i, j;

    for (i = 0; i < kc->properties.n; i++) {
        const char *k = kc->properties.k[i], *v = kc->properties.v[i];

        for (j = 0; j < RECD_ARRAY_SIZE(owned_props); j++) {
            if (strcmp(k, owned_props[j].prop) == 0) {
                return recd_conf_error(c, "kafka", "properties", errstr, errlen,
                                       "%s is set by recd: %s", k, owned_props[j].why);
            }
        }
        if ((strcmp(k, "acks") == 0 || strcmp(k, "request.required.acks") == 0) &&
            strcmp(v, "all") != 0 && strcmp(v, "-1") != 0) {
            return recd_conf_error(c, "kafka", "properties", errstr, errlen,
                                   "%s = \"%s\": recd's idempotent producer needs acks=all "
                                   "(exactly-once output)",
                                   k, v);
        }
    }
    return RECD_OK;
}

/* Checks an operator's init() makes on its own configuration, made here too so that recd -t
 * finds them (the operators' structs are private: read through the tables). */
static int check_operator_confs(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const double *gap = recd_conf_field(c, "operators.sessionize", "gap_s", RECD_CT_DOUBLE);
    const double *ttl = recd_conf_field(c, "operators.sessionize", "session_ttl_s", RECD_CT_DOUBLE);

    if (gap != NULL && ttl != NULL && *ttl <= *gap) {
        return recd_conf_error(c, "operators.sessionize", "session_ttl_s", errstr, errlen,
                               "%g must exceed operators.sessionize.gap_s (%g)", *ttl, *gap);
    }
    /* a retired item's index waits retire_removed_days before a new item takes it: no session
     * and no purchase filter may still name the old item by then */
    {
        const double *days = recd_conf_field(c, "operators.sessionize", "retire_removed_days",
                                             RECD_CT_DOUBLE);
        const double *bought = recd_conf_field(c, "operators.rerank", "exclude_purchased_s",
                                               RECD_CT_DOUBLE);

        if (days != NULL && *days > 0 && ttl != NULL && *days * 86400.0 < *ttl) {
            return recd_conf_error(c, "operators.sessionize", "retire_removed_days", errstr,
                                   errlen,
                                   "%g days is less than operators.sessionize.session_ttl_s "
                                   "(%g s): 0 or at least that",
                                   *days, *ttl);
        }
        if (days != NULL && *days > 0 && bought != NULL && 2.0 * *days * 86400.0 < *bought) {
            return recd_conf_error(c, "operators.sessionize", "retire_removed_days", errstr,
                                   errlen,
                                   "%g days is less than half of "
                                   "operators.rerank.exclude_purchased_s (%g s): 0 or at least "
                                   "that",
                                   *days, *bought);
        }
    }
    return RECD_OK;
}

/* Every check across keys; run after each load (start, recd -t, reload). */
static int config_check(const struct recd_conf *c, char *errstr, size_t errlen)
{
    int rc = check_ts_bounds(c, errstr, errlen);

    if (rc == RECD_OK) {
        rc = check_topic_roles(c, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = check_kafka_props(c, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = check_chain_order(c, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = check_operator_confs(c, errstr, errlen);
    }
    return rc;
}

/* ---- tables ------------------------------------------------------------------------------ */

static const char *const levels[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const start_from[] = { "earliest", "latest", NULL };
static const char *const learn_from[] = { "owned", "all", NULL };
static const char *const formats[] = { "auto", "plain", "confluent", NULL };
static const char *const compressions[] = { "none", "lz4", "zstd", "snappy", NULL };

#define D(f) offsetof(struct recd_conf_daemon, f)
static const struct recd_conf_decl daemon_decls[] = {
    { "log_level", RECD_CT_STRING, "\"info\"", 1, 16, RECD_CF_RELOADABLE, D(log_level),
      "Default log level of every subsystem: err, warning, notice, info or debug.", levels, NULL },
    { "log_levels", RECD_CT_MAP, "{}", 1, 0, RECD_CF_RELOADABLE, D(log_levels),
      "Per-subsystem log levels, e.g. { kafka = \"debug\"; }. Subsystems: main, kafka, state, "
      "operator, config, codec, metrics.",
      NULL, check_log_levels },
    { "log_ratelimit_ms", RECD_CT_INT, "10000", 100, 3600000, RECD_CF_RELOADABLE,
      D(log_ratelimit_ms), "Window of the per-record log rate limit, in milliseconds.", NULL,
      NULL },
    { "log_ratelimit_burst", RECD_CT_INT, "10", 1, 100000, RECD_CF_RELOADABLE,
      D(log_ratelimit_burst),
      "Per-record messages of one kind logged per window; the rest are counted and reported "
      "as suppressed.",
      NULL, NULL },
    { "model_version", RECD_CT_STRING, "\"recd-0.1\"", 1, 128, 0, D(model_version),
      "Model version stamped on every published Recommendations record.", NULL, NULL },
    { "watchdog_divisor", RECD_CT_INT, "2", 2, 100, 0, D(watchdog_divisor),
      "Under systemd with WatchdogSec, ping at WatchdogSec/divisor from the processing loop.", NULL,
      NULL },
};
#undef D

#define K(f) offsetof(struct recd_conf_kafka, f)
static const struct recd_conf_decl kafka_decls[] = {
    { "brokers", RECD_CT_STRING, "\"127.0.0.1:9092\"", 1, 4096, 0, K(brokers),
      "Bootstrap brokers (librdkafka bootstrap.servers).", NULL, NULL },
    { "group_id", RECD_CT_STRING, "\"recd\"", 1, 255, 0, K(group_id),
      "Consumer group of the recd instances.", NULL, NULL },
    { "client_id", RECD_CT_STRING, "\"recd\"", 1, 255, 0, K(client_id), "Kafka client.id.", NULL,
      NULL },
    { "start_from", RECD_CT_STRING, "\"earliest\"", 1, 16, 0, K(start_from),
      "Where an event topic's partition with no offset stored in recd's state starts: "
      "earliest or latest (the items topic is always read from the beginning: a global "
      "table). Kafka's committed offsets are informational; recd resumes from its own state.",
      start_from, NULL },
    { "properties", RECD_CT_MAP, "{}", 1, 0, RECD_CF_SECRET, K(properties),
      "librdkafka properties for every client (TLS, SASL, timeouts). Write dots as "
      "underscores: security_protocol = \"ssl\"; becomes security.protocol. Unknown "
      "properties are errors.",
      NULL, check_rdkafka_props },
    { "flush_timeout_ms", RECD_CT_INT, "30000", 100, 600000, RECD_CF_RELOADABLE,
      K(flush_timeout_ms),
      "How long recd waits for output to be acknowledged: a batch that must wait before its "
      "commit (publish_inflight = 0, or it dead-lettered records) fails without committing; "
      "with publish_inflight > 0, the oldest unacknowledged batch. Either way recd then exits "
      "non-zero and nothing is lost (docs/ARCHITECTURE.md).",
      NULL, NULL },
    { "publish_inflight", RECD_CT_INT, "4", 0, 64, RECD_CF_RELOADABLE, K(publish_inflight),
      "Batches whose published lists may still await the broker's acknowledgement while recd "
      "commits them and goes on with the next ones. Their users are kept in an outbox in the "
      "state (committed with the batch, dropped once acknowledged) and their stored lists are "
      "republished at the next start after a crash. 0: every batch waits for its output's "
      "acknowledgement before it commits (one broker round trip per batch). A batch that "
      "dead-lettered records always waits (the DLQ copy is the only one).",
      NULL, NULL },
    { "commit_interval_ms", RECD_CT_INT, "1000", 10, 3600000, 0, K(commit_interval_ms),
      "How often the consumer group's offsets in Kafka are brought up to what recd has "
      "committed (librdkafka auto.commit.interval.ms over the offsets each batch stores; and "
      "once more at a stop). Informational only: recd resumes from the offsets in its state. "
      "One Kafka commit per batch instead queued tens of thousands of requests with small "
      "batches, starving the group's heartbeats and stalling shutdown for minutes.",
      NULL, NULL },
    { "stats_interval_ms", RECD_CT_INT, "5000", 0, 3600000, 0, K(stats_interval_ms),
      "Interval of librdkafka statistics, the source of the recd_consumer_lag metric (0: off).",
      NULL, NULL },
    { "learn_from", RECD_CT_STRING, "\"owned\"", 1, 16, 0, K(learn_from),
      "Which partitions of the event topics an instance applies to its state and model. "
      "owned: the partitions the consumer group assigns it (one instance only: with more, "
      "each model learns from its share of the stream and partitions that move restart from "
      "the new owner's state). all: every instance reads every partition and learns one model "
      "from the whole stream; the group only assigns who publishes which users, handing over "
      "at the offsets the previous owner committed (docs/OPERATIONS.md, \"Several "
      "instances\").",
      learn_from, NULL },
    { "follow_interval_ms", RECD_CT_INT, "200", 10, 60000, 0, K(follow_interval_ms),
      "learn_from = all: how often an instance reads the offsets the owners of its other "
      "partitions committed (it applies their events up to kafka.follow_ahead past them), and "
      "retries a handover commit the group refused.",
      NULL, NULL },
    { "follow_ahead", RECD_CT_INT, "50000", 0, 100000000, 0, K(follow_ahead),
      "learn_from = all: how many records past an owner's committed offset an instance applies "
      "from each partition it does not own (per topic), so that its model does not trail the "
      "owners by their commit interval. Should the partition come to it, it reads those "
      "records' keys back from Kafka and publishes their users' lists again; beyond this many "
      "it waits for the owner's commit. 0: apply only what the owners committed.",
      NULL, NULL },
    { "handover_settle_ms", RECD_CT_INT, "1000", 0, 60000, 0, K(handover_settle_ms),
      "learn_from = all: a partition this instance is assigned publishes only after this long, "
      "from the highest offsets the group committed meanwhile: the previous owner's last "
      "commit, refused while the group completes its rebalance, is retried then. Longer than "
      "that retry needs: no list is published twice; 0: publish from the offsets committed "
      "at the assignment.",
      NULL, NULL },
    { "max_event_skew_ms", RECD_CT_INT, "86400000", 0, 31536000000LL, 0, K(max_event_skew_ms),
      "Pacing: an input partition (clicks, purchases, queries) whose newest event time is more "
      "than this ahead of the least advanced partition that still has records to fetch is "
      "paused until that one is within half of it. Without it a backlog (a catch-up, a "
      "restore, a new instance) is consumed faster from small topics, and event time read "
      "from them expires users and sessions of the lagging topic months too early. During a "
      "catch-up, expiry (pipeline.user_ttl_days, operators.sessionize.session_ttl_s) can come "
      "this much (plus one batch of the sparsest partition) early. A paced partition's "
      "records fetched meanwhile wait in memory (pace_buffer_records). 0 = off.",
      NULL, NULL },
    { "pace_buffer_records", RECD_CT_INT, "20000", 0, 10000000, 0, K(pace_buffer_records),
      "Pacing: records a paced partition may fetch ahead into memory (its parking buffer) "
      "before its fetching is paused. Pausing makes the client drop what it prefetched for "
      "the partition and fetch it again on resume: where one fetch spans more event time than "
      "max_event_skew_ms, a backlog was consumed several times slower. Memory: up to this many "
      "records (their payload plus ~100 B) per paced partition, and at most pace_buffer_mb. "
      "0: pause at once.",
      NULL, NULL },
    { "pace_buffer_mb", RECD_CT_INT, "8", 1, 65536, 0, K(pace_buffer_mb),
      "Pacing: the most record payload (MiB) a paced partition's parking buffer holds; "
      "fetching pauses at this or at pace_buffer_records, whichever comes first. Bounds the "
      "buffer's memory where records are large: counted in records alone, a paced partition "
      "of 960 KiB records parked hundreds of MiB. Memory: up to this much per paced "
      "partition.",
      NULL, NULL },
    { "pace_first_wait_ms", RECD_CT_INT, "2000", 0, 600000, 0, K(pace_first_wait_ms),
      "Pacing: after an assignment, the partitions that delivered records wait at most this "
      "long (wall time) for those that have records but delivered none yet, whose first ones "
      "may be the oldest.",
      NULL, NULL },
    { "require_compacted_output", RECD_CT_BOOL, "true", 1, 0, 0, K(require_compacted_output),
      "At start, check the recommendations topic's cleanup.policy: when it is not compact, recd "
      "stays not ready (the reason in /readyz and the unit's status) and checks again every 10 "
      "s; false: not checked. A missing recommendations topic is created compacted, "
      "with the clicks topic's partition count, either way.",
      NULL, NULL },
    { "join_max_lag", RECD_CT_INT, "20000", 0, 1000000000, 0, K(join_max_lag),
      "learn_from = all: an instance joins the consumer group (and so takes over publishing for "
      "some users) only once it has applied the events up to the group's committed offsets "
      "but at most this many, so a new or long-stopped instance catches up first.",
      NULL, NULL },
    { "hold_buffer_records", RECD_CT_INT, "50000", 2, 10000000, 0, K(hold_buffer_records),
      "learn_from = all: the most records an instance holds in memory for one partition while "
      "it waits for the partition's owner to commit (or, newly assigned, for the handover to "
      "settle); fetching of the partition pauses at this or at hold_buffer_mb, whichever comes "
      "first, and resumes at half. Memory: up to this many records (their payload plus "
      "~100 B) per input partition, and at most hold_buffer_mb.",
      NULL, NULL },
    { "hold_buffer_mb", RECD_CT_INT, "64", 1, 65536, 0, K(hold_buffer_mb),
      "learn_from = all: the most record payload (MiB) an instance holds in memory for one "
      "partition while it waits for the partition's owner to commit (or, newly assigned, for "
      "the handover to settle); fetching of the partition pauses at this or at "
      "hold_buffer_records, whichever comes first, and resumes at half. Memory: up to this much "
      "per input partition.",
      NULL, NULL },
};
#undef K

#define T(f) offsetof(struct recd_conf_topics, f)
static const struct recd_conf_decl topics_decls[] = {
    { "clicks", RECD_CT_STRING, "\"shop.clicks\"", 1, 249, 0, T(clicks), "Click events (input).",
      NULL, check_topic },
    { "purchases", RECD_CT_STRING, "\"shop.purchases\"", 1, 249, 0, T(purchases),
      "Purchase events (input).", NULL, check_topic },
    { "queries", RECD_CT_STRING, "\"shop.queries\"", 1, 249, 0, T(queries),
      "Search queries (input).", NULL, check_topic },
    { "items", RECD_CT_STRING, "\"shop.items\"", 1, 249, 0, T(items),
      "Item catalogue (input, compacted, read in full by every instance).", NULL, check_topic },
    { "deletions", RECD_CT_STRING, "\"shop.user-deletions\"", 1, 249, 0, T(deletions),
      "User deletion requests (input).", NULL, check_topic },
    { "recommendations", RECD_CT_STRING, "\"shop.recommendations\"", 1, 249, 0, T(recommendations),
      "Recommendations (output, compacted upsert stream keyed by user).", NULL, check_topic },
    { "dlq", RECD_CT_STRING, "\"recd.dlq\"", 1, 249, 0, T(dlq),
      "Dead-letter queue for records that cannot be decoded or validated.", NULL, check_topic },
};
#undef T

#define B(f) offsetof(struct recd_conf_batch, f)
static const struct recd_conf_decl batch_decls[] = {
    { "max_records", RECD_CT_INT, "500", 1, 100000, RECD_CF_RELOADABLE, B(max_records),
      "Most records in one micro-batch.", NULL, NULL },
    { "max_wait_ms", RECD_CT_INT, "100", 0, 60000, RECD_CF_RELOADABLE, B(max_wait_ms),
      "Longest time a micro-batch waits to fill before it is processed.", NULL, NULL },
};
#undef B

#define I(f) offsetof(struct recd_conf_input, f)
static const struct recd_conf_decl input_decls[] = {
    { "format", RECD_CT_STRING, "\"auto\"", 1, 16, 0, I(format),
      "Wire format of input values: plain (Avro binary), confluent (0x00 + schema id + Avro) "
      "or auto (Confluent when the value starts with 0x00 and a known id).",
      formats, NULL },
    { "writer_click", RECD_CT_STRING, "\"\"", 0, 4096, 0, I(writer_click),
      "Writer schema file of plain-format clicks (empty: recd's own schema).", NULL, NULL },
    { "writer_purchase", RECD_CT_STRING, "\"\"", 0, 4096, 0, I(writer_purchase),
      "Writer schema file of plain-format purchases (empty: recd's own).", NULL, NULL },
    { "writer_query", RECD_CT_STRING, "\"\"", 0, 4096, 0, I(writer_query),
      "Writer schema file of plain-format queries (empty: recd's own).", NULL, NULL },
    { "writer_item", RECD_CT_STRING, "\"\"", 0, 4096, 0, I(writer_item),
      "Writer schema file of plain-format items (empty: recd's own).", NULL, NULL },
    { "writer_deletion", RECD_CT_STRING, "\"\"", 0, 4096, 0, I(writer_deletion),
      "Writer schema file of plain-format user deletions (empty: recd's own).", NULL, NULL },
    { "confluent_ids", RECD_CT_STRLIST, "[]", 0, 10000, 0, I(confluent_ids),
      "Confluent schema ids: entries \"ID:kind:path\" map a schema id to the writer schema file "
      "of that kind (click, purchase, query, item, deletion).",
      NULL, check_confluent_ids },
    { "min_ts_ms", RECD_CT_INT, "946684800000L", 0, 1e15, RECD_CF_RELOADABLE, I(min_ts_ms),
      "Events older than this (ms since the epoch; default 2000-01-01) are dead-lettered "
      "as bad_timestamp.",
      NULL, NULL },
    { "max_ts_ms", RECD_CT_INT, "4102444800000L", 0, 1e15, RECD_CF_RELOADABLE, I(max_ts_ms),
      "Events newer than this (default 2100-01-01) are dead-lettered as bad_timestamp. A fixed "
      "bound, not 'now + x', so that processing stays deterministic.",
      NULL, NULL },
    { "max_id_bytes", RECD_CT_INT, "256", 1, 65536, RECD_CF_RELOADABLE, I(max_id_bytes),
      "Longer user, item, event or order ids are dead-lettered as bad_id.", NULL, NULL },
    { "max_text_bytes", RECD_CT_INT, "2048", 16, 1048576, RECD_CF_RELOADABLE, I(max_text_bytes),
      "Titles, descriptions and query texts are truncated to this many bytes (at a UTF-8 "
      "boundary).",
      NULL, NULL },
    { "max_price", RECD_CT_DOUBLE, "1e7", 0, 1e15, RECD_CF_RELOADABLE, I(max_price),
      "Prices above this (or negative, NaN, infinite) are dead-lettered as bad_price.", NULL,
      NULL },
    { "max_lines", RECD_CT_INT, "1000", 1, 100000, RECD_CF_RELOADABLE, I(max_lines),
      "Purchases with more lines are dead-lettered as bad_purchase.", NULL, NULL },
    { "max_quantity", RECD_CT_INT, "10000", 1, 1e9, RECD_CF_RELOADABLE, I(max_quantity),
      "Purchase lines with a larger quantity are dead-lettered as bad_purchase.", NULL, NULL },
};
#undef I

#define S(f) offsetof(struct recd_conf_state, f)
static const struct recd_conf_decl state_decls[] = {
    { "dir", RECD_CT_STRING, "\"/var/lib/recd/state\"", 1, 4096, 0, S(dir),
      "State directory (RocksDB); created when missing; one recd per directory.", NULL, NULL },
    { "block_cache_mb", RECD_CT_INT, "256", 1, 1048576, 0, S(block_cache_mb),
      "RocksDB block cache in MiB.", NULL, NULL },
    { "write_buffer_mb", RECD_CT_INT, "64", 1, 65536, 0, S(write_buffer_mb),
      "RocksDB memtable size in MiB per column family.", NULL, NULL },
    { "compression", RECD_CT_STRING, "\"lz4\"", 1, 16, 0, S(compression),
      "SST compression: none, lz4, zstd or snappy.", compressions, NULL },
    { "max_wal_mb", RECD_CT_INT, "128", 16, 65536, 0, S(max_wal_mb),
      "Bound of RocksDB's write-ahead log in MiB: past it, the column families whose data is "
      "only in the oldest log files are flushed. A start after a crash replays at most this "
      "much log (about 1 s per 100 MiB); a clean stop flushes everything and replays none.",
      NULL, NULL },
    { "sync_commit", RECD_CT_BOOL, "false", 1, 0, 0, S(sync_commit),
      "fsync the write-ahead log on every batch commit. Off: a process crash loses nothing, a "
      "power loss may roll state and offsets back together to an earlier batch (still "
      "exactly-once).",
      NULL, NULL },
};
#undef S

#define M(f) offsetof(struct recd_conf_metrics, f)
static const struct recd_conf_decl metrics_decls[] = {
    { "enabled", RECD_CT_BOOL, "true", 1, 0, 0, M(enabled),
      "Serve Prometheus metrics and health endpoints.", NULL, NULL },
    { "listen", RECD_CT_STRING, "\"127.0.0.1:9464\"", 1, 256, 0, M(listen),
      "Address:port of /metrics, /healthz and /readyz (port 0 picks a free port).", NULL,
      check_listen },
    { "hit_k", RECD_CT_INT, "20", 1, 1000, RECD_CF_RELOADABLE, M(hit_k),
      "K of the online quality metrics HR@K and MRR@K.", NULL, NULL },
};
#undef M

static const struct recd_conf_decl pipeline_decls[] = {
    { "chain", RECD_CT_STRLIST, "[\"sessionize\", \"embed\", \"sgd\", \"rerank\"]", 1, 16, 0,
      offsetof(struct pipeline_conf, pub.chain),
      "Operators every micro-batch runs through, in order. An operator must come after those it "
      "needs (embed and sgd after sessionize; rerank after sessionize and sgd) and exactly one "
      "publishes (rerank or popular).",
      NULL, check_chain },
    { "user_ttl_days", RECD_CT_DOUBLE, "180.0", 0, 36500, 0,
      offsetof(struct pipeline_conf, pub.user_ttl_days),
      "A user with no event for this many days of event time (the stream's high-water mark) "
      "expires: all of the user's state is deleted and a tombstone is published, as for a "
      "deletion (a later event starts a new user, seq from 1). Bounds the per-user state by "
      "the users active in this window. 0: users never expire.",
      NULL, NULL },
    { "expire_per_batch", RECD_CT_INT, "256", 1, 100000, 0,
      offsetof(struct pipeline_conf, pub.expire_per_batch),
      "Most users expired in one batch (the rest in the following batches): bounds the work an "
      "expiry adds to a batch.",
      NULL, NULL },
    { "require_output", RECD_CT_BOOL, "true", 1, 0, 0,
      offsetof(struct pipeline_conf, require_output),
      "Refuse a chain in which no operator publishes recommendations. false only to measure the "
      "learning operators alone (bench/throughput's rerank-off run).",
      NULL, NULL },
};

static const struct recd_conf_decl output_decls[] = {
    { "confluent_id", RECD_CT_INT, "-1", -1, 2147483647, 0,
      offsetof(struct recd_conf_output, confluent_id),
      "Wire format of the published lists. -1: plain Avro (schemas/recommendations.avsc, shipped "
      "in /usr/share/recd/schemas). An id >= 0: Confluent's wire format — 0x00, the id as 4 "
      "bytes big-endian, then the same Avro body — for consumers that resolve schemas through "
      "a registry: register schemas/recommendations.avsc under the recommendations topic's "
      "value subject and give its id here. recd never contacts the registry. Lists stored "
      "before a change keep their old framing if they are republished (after an unclean "
      "stop); tombstones are null values either way.",
      NULL, NULL },
};

#define UNIT(var, name, desc, decls, type) \
    const struct recd_conf_unit var = { name, desc, decls, RECD_ARRAY_SIZE(decls), sizeof(type) }
UNIT(recd_unit_daemon, "daemon", "Process-wide settings: logging, model version, watchdog.",
     daemon_decls, struct recd_conf_daemon);
UNIT(recd_unit_kafka, "kafka", "Kafka clients (consumer group, producer, librdkafka properties).",
     kafka_decls, struct recd_conf_kafka);
UNIT(recd_unit_topics, "topics", "Topic names.", topics_decls, struct recd_conf_topics);
UNIT(recd_unit_batch, "batch", "Micro-batching.", batch_decls, struct recd_conf_batch);
UNIT(recd_unit_input, "input", "Input decoding and validation rules.", input_decls,
     struct recd_conf_input);
UNIT(recd_unit_state, "state", "State store (RocksDB).", state_decls, struct recd_conf_state);
UNIT(recd_unit_metrics, "metrics", "Metrics and health endpoints.", metrics_decls,
     struct recd_conf_metrics);
UNIT(recd_unit_pipeline, "pipeline", "The operator chain.", pipeline_decls, struct pipeline_conf);
UNIT(recd_unit_output, "output", "The published recommendations' wire format.", output_decls,
     struct recd_conf_output);
#undef UNIT

#define MAX_UNITS 64
static const struct recd_conf_unit *all_units[MAX_UNITS];
static size_t n_all_units;

const struct recd_conf_unit *const *recd_units_all(size_t *n)
{
    if (n_all_units == 0) {
        static const struct recd_conf_unit *const core[] = {
            &recd_unit_daemon, &recd_unit_kafka, &recd_unit_topics,  &recd_unit_batch,
            &recd_unit_input,  &recd_unit_state, &recd_unit_metrics, &recd_unit_pipeline,
            &recd_unit_output
        };
        size_t i;

        for (i = 0; i < RECD_ARRAY_SIZE(core); i++) {
            all_units[n_all_units++] = core[i];
        }
        for (i = 0; i < recd_operator_count() && n_all_units < MAX_UNITS; i++) {
            if (recd_operator_at(i)->conf != NULL) {
                all_units[n_all_units++] = recd_operator_at(i)->conf;
            }
        }
    }
    *n = n_all_units;
    return all_units;
}

int recd_config_load(const char *path, struct recd_conf **out, char *errstr, size_t errlen)
{
    size_t n;
    const struct recd_conf_unit *const *u = recd_units_all(&n);

    int rc = recd_conf_load(path, u, n, out, errstr, errlen);

    if (rc == RECD_OK && (rc = config_check(*out, errstr, errlen)) != RECD_OK) {
        recd_conf_destroy(*out);
        *out = NULL;
    }
    return rc;
}

int recd_config_load_string(const char *text, const char *name, struct recd_conf **out,
                            char *errstr, size_t errlen)
{
    size_t n;
    const struct recd_conf_unit *const *u = recd_units_all(&n);

    int rc = recd_conf_load_string(text, name, u, n, out, errstr, errlen);

    if (rc == RECD_OK && (rc = config_check(*out, errstr, errlen)) != RECD_OK) {
        recd_conf_destroy(*out);
        *out = NULL;
    }
    return rc;
}

int recd_config_codec(const struct recd_conf *c, struct recd_codec_conf *cc,
                      struct recd_codec_schema_id **ids, char *errstr, size_t errlen)
{
    const struct recd_conf_input *in = RECD_UNIT(c, "input", struct recd_conf_input);
    const char *w[RECD_KIND__NINPUT] = { in->writer_click, in->writer_purchase, in->writer_query,
                                         in->writer_item, in->writer_deletion };
    size_t i;

    memset(cc, 0, sizeof(*cc));
    cc->format = strcmp(in->format, "plain") == 0 ? RECD_WIRE_PLAIN
        : strcmp(in->format, "confluent") == 0    ? RECD_WIRE_CONFLUENT
                                                  : RECD_WIRE_AUTO;
    for (i = 0; i < RECD_KIND__NINPUT; i++) {
        cc->writer_schema[i] = (w[i] != NULL && w[i][0] != '\0') ? w[i] : NULL;
    }
    *ids = NULL;
    if (in->confluent_ids.n > 0) {
        *ids = calloc(in->confluent_ids.n, sizeof(**ids));
        if (*ids == NULL) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        for (i = 0; i < in->confluent_ids.n; i++) {
            if (parse_id_entry(in->confluent_ids.v[i], &(*ids)[i]) != RECD_OK) {
                free(*ids);
                *ids = NULL;
                return recd_seterr(errstr, errlen, RECD_ECONFIG, "input.confluent_ids: bad entry");
            }
        }
        cc->ids = *ids;
        cc->n_ids = in->confluent_ids.n;
    }
    return RECD_OK;
}

void recd_config_validate_conf(const struct recd_conf *c, struct recd_validate_conf *vc)
{
    const struct recd_conf_input *in = RECD_UNIT(c, "input", struct recd_conf_input);

    vc->min_ts_ms = in->min_ts_ms;
    vc->max_ts_ms = in->max_ts_ms;
    vc->max_id_bytes = in->max_id_bytes;
    vc->max_text_bytes = in->max_text_bytes;
    vc->max_price = in->max_price;
    vc->max_lines = in->max_lines;
    vc->max_quantity = in->max_quantity;
}
