/*
 * topics.h — checks of recd's topics against the brokers (topics.c): the reason /readyz gives
 * while recd waits, and the output topics made right at start.
 */
#ifndef RECD_DAEMON_TOPICS_H
#define RECD_DAEMON_TOPICS_H

#include <stddef.h>

typedef struct rd_kafka_s rd_kafka_t;

/* The topics to check; every string borrowed from the caller. */
struct recd_topics_spec {
    const char *brokers;          /* for messages */
    const char *const *inputs;    /* the event topics, clicks first */
    size_t n_inputs;
    const char *output;           /* recommendations */
    const char *dlq;              /* NULL: not checked */
    int check_policy;             /* recd_topics_prepare: describe the output's cleanup.policy */
};

/* Why recd would wait: RECD_OK (brokers answer, every input topic exists), RECD_EAGAIN
 * (brokers unreachable) or RECD_ENOENT (an input topic is missing), with why. Lists every
 * topic (never one by name: that lets a producer auto-create it). */
int recd_topics_probe(rd_kafka_t *rk, const struct recd_topics_spec *t, int timeout_ms,
                      char *why, size_t whylen);

/* At start, before the producer names the output topics: create a missing DLQ topic
 * (broker defaults) and a missing recommendations topic (compacted, the clicks topic's
 * partition count); check that an existing recommendations topic is compacted. RECD_OK
 * (also when the brokers cannot describe configurations: logged), RECD_EAGAIN (brokers
 * unreachable) or RECD_ECONFIG (the recommendations topic is not compacted), with why. */
int recd_topics_prepare(rd_kafka_t *rk, const struct recd_topics_spec *t, int timeout_ms,
                        char *why, size_t whylen);

/* The cleanup.policy of an existing topic into policy ("" when the brokers do not say): RECD_OK,
 * or RECD_EKAFKA with why (unreachable, no such topic, DescribeConfigs not served). */
int recd_topics_cleanup_policy(rd_kafka_t *rk, const char *topic, int timeout_ms, char *policy,
                               size_t plen, char *why, size_t whylen);

#endif
