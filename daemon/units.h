/*
 * units.h — the daemon core's configuration units (config structs + tables in units.c) and
 * the list of every unit recd knows (core + each registered operator's).
 */
#ifndef RECD_UNITS_H
#define RECD_UNITS_H

#include <stdint.h>

#include "conf.h"
#include "codec.h"

struct recd_conf_daemon {
    char *log_level;                /* default level of every subsystem */
    struct recd_kvlist log_levels;  /* per subsystem overrides: kafka = "debug" */
    int64_t log_ratelimit_ms;
    int64_t log_ratelimit_burst;
    char *model_version;
    int64_t watchdog_divisor;
};

struct recd_conf_kafka {
    char *brokers;
    char *group_id;
    char *client_id;
    char *start_from;               /* "earliest" | "latest": where a partition with no
                                       stored offset starts */
    struct recd_kvlist properties;  /* passed through to librdkafka (all clients) */
    int64_t flush_timeout_ms;
    int64_t publish_inflight;
    int64_t commit_interval_ms;     /* Kafka offset commits (informational), auto-commit */
    int64_t stats_interval_ms;      /* librdkafka statistics (consumer lag metrics); 0 = off */
    char *learn_from;               /* "owned" | "all" (scale-out, daemon/ownership.h) */
    int64_t follow_interval_ms;     /* learn_from = all: committed-offset reads */
    int64_t join_max_lag;           /* learn_from = all: records behind before joining */
    int64_t follow_ahead;           /* learn_from = all: records applied past owners' commits */
    int64_t handover_settle_ms;     /* learn_from = all: wait before publishing a new partition */
    int require_compacted_output;   /* start only once the recommendations topic is compacted */
    int64_t max_event_skew_ms;      /* pacing: event-time lead of a partition before its pause */
    int64_t pace_first_wait_ms;     /* pacing: how long a new partition's first records are awaited */
    int64_t pace_buffer_records;    /* pacing: records parked per paced partition before a pause */
    int64_t pace_buffer_mb;         /* pacing: payload MiB parked per paced partition, ditto */
    int64_t hold_buffer_records;    /* learn_from = all: records held per partition */
    int64_t hold_buffer_mb;         /* learn_from = all: payload MiB held per partition */
};

struct recd_conf_topics {
    char *clicks, *purchases, *queries, *items, *deletions, *recommendations, *dlq;
};

struct recd_conf_batch {
    int64_t max_records;
    int64_t max_wait_ms;
};

struct recd_conf_input {
    char *format;                   /* auto | plain | confluent */
    char *writer_click, *writer_purchase, *writer_query, *writer_item, *writer_deletion;
    struct recd_strlist confluent_ids;   /* "ID:kind:path" */
    int64_t min_ts_ms, max_ts_ms, max_id_bytes, max_text_bytes, max_lines, max_quantity;
    double max_price;
};

struct recd_conf_state {
    char *dir;
    int64_t block_cache_mb;
    int64_t write_buffer_mb;
    char *compression;
    int sync_commit;
    int64_t max_wal_mb;
};

struct recd_conf_metrics {
    int enabled;
    char *listen;                   /* "127.0.0.1:9464" */
    int64_t hit_k;                  /* K of the online HR@K / MRR@K */
};

struct recd_conf_pipeline {
    struct recd_strlist chain;
    double user_ttl_days;     /* 0: users never expire */
    int64_t expire_per_batch; /* most users expired per batch */
};

struct recd_conf_output {
    int64_t confluent_id;     /* -1: plain Avro; else Confluent framing with this schema id */
};

extern const struct recd_conf_unit recd_unit_daemon, recd_unit_kafka, recd_unit_topics,
    recd_unit_batch, recd_unit_input, recd_unit_state, recd_unit_metrics, recd_unit_pipeline,
    recd_unit_output;

/* Every unit: core units, then each registered operator's unit. Static storage. */
const struct recd_conf_unit *const *recd_units_all(size_t *n);

/* Load a config file against recd_units_all() and run the cross-unit checks (the chain names
 * known operators, Confluent id entries parse, ...). */
int recd_config_load(const char *path, struct recd_conf **out, char *errstr, size_t errlen);
int recd_config_load_string(const char *text, const char *name, struct recd_conf **out,
                            char *errstr, size_t errlen);

/* Fill a codec / validation config from the input unit (strings borrowed from c). ids is an
 * array the caller frees. */
int recd_config_codec(const struct recd_conf *c, struct recd_codec_conf *cc,
                      struct recd_codec_schema_id **ids, char *errstr, size_t errlen);
void recd_config_validate_conf(const struct recd_conf *c, struct recd_validate_conf *vc);

#define RECD_UNIT(c, name, type) ((const type *)recd_conf_unit_data((c), (name)))

#endif
