/*
 * kafka.c — librdkafka configuration shared by every client recd creates: bootstrap
 * servers, client.id, the kafka.properties pass-through, and log forwarding into recd's log
 * (one line per record, syslog priorities, subsystem "kafka").
 */
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "daemon.h"
#include "log.h"
#include "recd.h"
#include "units.h"

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* librdkafka levels are syslog levels; clamp to ours */
    int l = level <= 3 ? RECD_LOG_ERR : level >= 7 ? RECD_LOG_DEBUG : level;

    recd_log(RECD_LOG_KAFKA, l, "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

int recd_kafka_base_conf(const struct recd_conf *c, struct rd_kafka_conf_s **out, char *errstr,
                         size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(c, "kafka", struct recd_conf_kafka);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    size_t i;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", kc->brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "client.id", kc->client_id, err, sizeof(err))) {
        rd_kafka_conf_destroy(conf);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "kafka: %s", err);
    }
    for (i = 0; i < kc->properties.n; i++) {
        if (rd_kafka_conf_set(conf, kc->properties.k[i], kc->properties.v[i], err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return recd_seterr(errstr, errlen, RECD_ECONFIG, "kafka.properties: %s: %s",
                               kc->properties.k[i], err);
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    *out = conf;
    return RECD_OK;
}

static void quiet_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* librdkafka validates a client's configuration as a whole only in rd_kafka_new (e.g.
 * idempotence with acks, TLS files). Build each client as recd does — properties, then the
 * settings recd forces — with no bootstrap servers (so nothing connects) and create it. */
int recd_kafka_check(const struct recd_conf *c, char *errstr, size_t errlen)
{
    static const struct {
        const char *what;
        rd_kafka_type_t type;
    } clients[] = { { "producer", RD_KAFKA_PRODUCER }, { "consumer", RD_KAFKA_CONSUMER } };
    const struct recd_conf_kafka *kc = RECD_UNIT(c, "kafka", struct recd_conf_kafka);
    char err[512];
    size_t i;

    for (i = 0; i < RECD_ARRAY_SIZE(clients); i++) {
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *rk;
        int rc = recd_kafka_base_conf(c, &conf, errstr, errlen);

        if (rc != RECD_OK) {
            return rc;
        }
        rd_kafka_conf_set_log_cb(conf, quiet_log_cb);   /* e.g. debug = "cgrp": not in -t */
        if (rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof(err)) ||
            (clients[i].type == RD_KAFKA_PRODUCER &&
             rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err))) ||
            (clients[i].type == RD_KAFKA_CONSUMER &&
             (rd_kafka_conf_set(conf, "group.id", kc->group_id, err, sizeof(err)) ||
              rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err))))) {
            rd_kafka_conf_destroy(conf);
            return recd_conf_error(c, "kafka", "properties", errstr, errlen, "%s: %s",
                                   clients[i].what, err);
        }
        rk = rd_kafka_new(clients[i].type, conf, err, sizeof(err));
        if (rk == NULL) {
            rd_kafka_conf_destroy(conf);
            return recd_conf_error(c, "kafka", "properties", errstr, errlen,
                                   "librdkafka refuses the %s: %s", clients[i].what, err);
        }
        rd_kafka_destroy(rk);
    }
    return RECD_OK;
}
