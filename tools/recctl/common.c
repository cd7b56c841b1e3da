/*
 * common.c — recctl's shared plumbing: topic names and --kind, the common options,
 * signals, number parsing, librdkafka client configuration, usage helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recctl.h"
#include "units.h"

/* ---- topics and kinds ------------------------------------------------------------------------ */
const char *const TOPIC_DEFAULT[T__N] = {
    "shop.clicks",         "shop.purchases",       "shop.queries", "shop.items",
    "shop.user-deletions", "shop.recommendations", "recd.dlq"
};

/* --kind names; index = topic index. "raw" (any topic, printed like the DLQ) is T__N. */
const char *const KIND_NAME[T__N] = { "click",    "purchase", "query", "item",
                                      "deletion", "recs",     "dlq" };

int parse_kind(const char *s)
{
    for (int k = 0; k < T__N; k++) {
        if (strcmp(s, KIND_NAME[k]) == 0) {
            return k;
        }
    }
    if (strcmp(s, "recommendations") == 0) {
        return T_RECS;
    }
    if (strcmp(s, "raw") == 0) {
        return KIND_RAW;
    }
    /* plural forms: clicks, purchases, queries, items, deletions */
    if (strcmp(s, "clicks") == 0) {
        return T_CLICKS;
    }
    if (strcmp(s, "purchases") == 0) {
        return T_PURCHASES;
    }
    if (strcmp(s, "queries") == 0) {
        return T_QUERIES;
    }
    if (strcmp(s, "items") == 0) {
        return T_ITEMS;
    }
    if (strcmp(s, "deletions") == 0) {
        return T_DELETIONS;
    }
    return -1;
}

/* ---- common options -------------------------------------------------------------------------- */

const char COMMON_HELP[] =
    "Common options:\n"
    "  -b, --brokers LIST        bootstrap servers\n"
    "                            (default: $RECD_BOOTSTRAP, else localhost:9092)\n"
    "  -c, --config FILE         recd's configuration (e.g. /etc/recd/recd.conf): brokers,\n"
    "                            topics, kafka.properties, state.dir, metrics.listen,\n"
    "                            kafka.group_id and the input format/schemas come from it;\n"
    "                            options given explicitly win. A file recd -t would refuse\n"
    "                            is refused (exit 78)\n"
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

volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void install_signals(void)
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
int common_opt(struct common *c, const char *cmd, int opt, const char *arg)
{
    if (opt == 'b') {
        c->brokers = arg;
        c->set_brokers = 1;
        return 1;
    }
    if (opt == 'c') {
        return common_config(c, cmd, arg) == RECD_OK ? 1 : -1;
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
        c->set_topic[opt - O_TOPIC0] = 1;
        return 1;
    }
    return 0;
}

int common_opt_exit(const struct common *c)
{
    return c->conf_error ? RECD_EXIT_CONFIG : RECD_EXIT_USAGE;
}

int common_config(struct common *c, const char *cmd, const char *path)
{
    char err[2048];
    const char *sep = *cmd ? " " : "";

    if (c->conf) {
        fprintf(stderr, "recctl%s%s: -c given twice\n", sep, cmd);
        return -1;
    }
    if (recd_config_load(path, &c->conf, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl%s%s: %s\n", sep, cmd, err);
        c->conf = NULL;
        c->conf_error = 1;
        return -1;
    }
    const struct recd_conf_kafka *k = RECD_UNIT(c->conf, "kafka", struct recd_conf_kafka);
    const struct recd_conf_topics *t = RECD_UNIT(c->conf, "topics", struct recd_conf_topics);
    const struct recd_conf_state *st = RECD_UNIT(c->conf, "state", struct recd_conf_state);
    const struct recd_conf_metrics *m = RECD_UNIT(c->conf, "metrics", struct recd_conf_metrics);
    const char *const topic[T__N] = { t->clicks,    t->purchases,       t->queries, t->items,
                                      t->deletions, t->recommendations, t->dlq };

    if (!c->set_brokers) {
        c->brokers = k->brokers;
    }
    for (int i = 0; i < T__N; i++) {
        if (!c->set_topic[i]) {
            c->topic[i] = topic[i];
        }
    }
    c->props = &k->properties;
    c->group_id = k->group_id;
    c->state_dir = st->dir;
    c->metrics_listen = m->listen;
    return RECD_OK;
}

int common_codec(const struct common *c, struct recd_codec **out, char *err, size_t len)
{
    struct recd_codec_conf cc;
    struct recd_codec_schema_id *ids = NULL;
    int rc;

    memset(&cc, 0, sizeof cc);
    cc.format = RECD_WIRE_AUTO;
    if (c->conf && (rc = recd_config_codec(c->conf, &cc, &ids, err, len)) != RECD_OK) {
        return rc;
    }
    rc = recd_codec_new(&cc, out, err, len);
    free(ids);
    return rc;
}

void common_release(struct common *c)
{
    recd_conf_destroy(c->conf);
    c->conf = NULL;
    c->props = NULL;
}

int parse_ll(const char *cmd, const char *opt, const char *arg, long long min, long long max,
             long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "recctl %s: %s: expected an integer in [%lld, %lld], got '%s'\n", cmd, opt,
                min, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_dbl(const char *cmd, const char *opt, const char *arg, double min, double max,
              double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "recctl %s: %s: expected a number in [%g, %g], got '%s'\n", cmd, opt, min,
                max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

double now_s(void)
{
    return (double)recd_now_mono_ns() / 1e9;
}

/* ---- librdkafka ----------------------------------------------------------------------------- */
static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t len)
{
    char e[512];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        return recd_seterr(err, len, RECD_ECONFIG, "%s=%s: %s", k, v, e);
    }
    return RECD_OK;
}

/* A client configuration: bootstrap servers, recctl's defaults (pairs, NULL-terminated), then
 * the -X properties. The result is owned by the caller (or by rd_kafka_new on success). */
rd_kafka_conf_t *make_conf(const struct common *c, const char *const *defaults, char *err,
                           size_t len)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        recd_seterr(err, len, RECD_ENOMEM, "out of memory");
        return NULL;
    }
    if (conf_set(conf, "bootstrap.servers", c->brokers, err, len) != RECD_OK ||
        conf_set(conf, "client.id", "recctl", err, len) != RECD_OK ||
        conf_set(conf, "log.connection.close", "false", err, len) != RECD_OK) {
        goto fail;
    }
    /* as recd builds its clients: kafka.properties of -c first (TLS, SASL, ...) */
    for (size_t i = 0; c->props && i < c->props->n; i++) {
        if (conf_set(conf, c->props->k[i], c->props->v[i], err, len) != RECD_OK) {
            goto fail;
        }
    }
    for (size_t i = 0; defaults && defaults[i]; i += 2) {
        if (conf_set(conf, defaults[i], defaults[i + 1], err, len) != RECD_OK) {
            goto fail;
        }
    }
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
        if (conf_set(conf, key, eq + 1, err, len) != RECD_OK) {
            goto fail;
        }
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* A client for metadata and admin requests (no defaults of its own); NULL with the error
 * printed. */
rd_kafka_t *plain_client(const struct common *c, const char *cmd)
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

/* ---- usage ----------------------------------------------------------------------------------- */
void usage_to(FILE *fp, const char *text)
{
    fputs(text, fp);
    fputs(COMMON_HELP, fp);
}

int bad_usage(const char *cmd)
{
    fprintf(stderr, "Try 'recctl %s --help'.\n", cmd);
    return RECD_EXIT_USAGE;
}
