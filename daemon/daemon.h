/*
 * daemon.h — recd's lifecycle: open state, build the pipeline, consume micro-batches from
 * Kafka until SIGTERM/SIGINT, reload tunables on SIGHUP, talk to systemd (sd_notify).
 */
#ifndef RECD_DAEMON_H
#define RECD_DAEMON_H

#include <stdint.h>

#include "conf.h"

struct recd_daemon_opts {
    const char *config_path;   /* re-read on SIGHUP; NULL: reload disabled */
    int64_t exit_idle_ms;      /* > 0: exit 0 once assigned and no record arrived for this long
                                  (demo, tests, benchmarks) */
};

/* Run until stopped. Takes ownership of conf. Returns a process exit code:
 * 0 after a clean stop, 78 for configuration errors found at startup, 1 otherwise. */
int recd_daemon_run(struct recd_conf *conf, const struct recd_daemon_opts *opts);

/* librdkafka configuration shared by recd's clients and recctl: bootstrap servers, client.id,
 * the kafka.properties pass-through and log forwarding. */
struct rd_kafka_conf_s;
int recd_kafka_base_conf(const struct recd_conf *c, struct rd_kafka_conf_s **out, char *errstr,
                         size_t errlen);

/* Create recd's Kafka clients as a start would, without bootstrap servers, and destroy them:
 * librdkafka's checks of the whole configuration (kafka.c). */
int recd_kafka_check(const struct recd_conf *c, char *errstr, size_t errlen);

/* Checks a start makes that need no broker (recd -t runs them, and every start before it
 * opens anything): the state directory is a directory (or can be created) and is writable,
 * the writer schema and Confluent id files load, librdkafka accepts each client's
 * configuration. RECD_ECONFIG with "FILE[:LINE]: unit.key: message" (daemon.c). */
int recd_config_preflight(const struct recd_conf *c, char *errstr, size_t errlen);

/* recd -t only (a start's operator opens the model itself, exit 78): with embed in the chain
 * and operators.embed.encoder = "minilm", open the model in operators.embed.model_dir as embed
 * would (files present, every tensor's name, dtype, shape and extent) and close it. */
int recd_config_check_models(const struct recd_conf *c, char *errstr, size_t errlen);

#endif
