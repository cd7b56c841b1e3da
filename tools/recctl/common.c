/*
 * common.c — recctl's shared plumbing: topic names and --kind, the common options,
 * signals, number parsing, librdkafka client configuration, usage helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recctl.h"

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
