/*
 * topics.c — what the brokers say about recd's topics, through the Admin API of a client
 * recd already has (the producer): whether the brokers answer, whether the input topics
 * exist, and whether the recommendations topic is compacted. It also creates a missing
 * output topic (recommendations: compacted, as many partitions as the clicks topic; DLQ:
 * the broker's defaults) before recd's producer could have a broker with
 * auto.create.topics.enable make it with cleanup.policy=delete.
 *
 * Every call blocks for at most its timeout; nothing here keeps state between calls.
 */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "log.h"
#include "recd.h"
#include "topics.h"

/* the partitions of `topic` in md, -1 when the topic is absent or in error */
static int md_partitions(const struct rd_kafka_metadata *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0) {
            return md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR
                       ? md->topics[i].partition_cnt
                       : -1;
        }
    }
    return -1;
}

/* Wait for one admin result event on q; NULL after timeout_ms (why says so). */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int timeout_ms, const char *what,
                                    char *why, size_t whylen)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);

    if (ev == NULL) {
        snprintf(why, whylen, "%s: no answer from the brokers within %d ms", what, timeout_ms);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(why, whylen, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* One Admin API request's handles; admin_free() releases those that were made. */
struct admin {
    rd_kafka_AdminOptions_t *ao;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
};

static void admin_free(struct admin *a)
{
    if (a->ev) {
        rd_kafka_event_destroy(a->ev);
    }
    if (a->q) {
        rd_kafka_queue_destroy(a->q);
    }
    if (a->ao) {
        rd_kafka_AdminOptions_destroy(a->ao);
    }
}

/* Create `topic` (compacted when compact) with `partitions` (-1: the broker's default).
 * RECD_OK (created, or it appeared meanwhile) or RECD_EKAFKA with why. */
static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int compact,
                        int timeout_ms, char *why, size_t whylen)
{
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, why, whylen);
    struct admin a = { NULL, NULL, NULL };
    int rc = RECD_EKAFKA;

    if (nt == NULL) {
        return RECD_EKAFKA;
    }
    if (compact && rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact")) {
        snprintf(why, whylen, "creating %s: cannot set cleanup.policy", topic);
        goto out;
    }
    a.ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    a.q = rd_kafka_queue_new(rk);
    if (a.ao == NULL || a.q == NULL ||
        rd_kafka_AdminOptions_set_request_timeout(a.ao, timeout_ms, why, whylen)) {
        goto out;
    }
    rd_kafka_CreateTopics(rk, &nt, 1, a.ao, a.q);
    a.ev = admin_wait(a.q, timeout_ms, "creating the topic", why, whylen);
    if (a.ev != NULL) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(a.ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        rd_kafka_resp_err_t te = n == 1 ? rd_kafka_topic_result_error(tr[0])
                                        : RD_KAFKA_RESP_ERR__BAD_MSG;

        if (te == RD_KAFKA_RESP_ERR_NO_ERROR || te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            rc = RECD_OK;
        } else {
            const char *es = n == 1 ? rd_kafka_topic_result_error_string(tr[0]) : NULL;

            snprintf(why, whylen, "creating %s: %s", topic, es ? es : rd_kafka_err2str(te));
        }
    }
out:
    admin_free(&a);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int recd_topics_cleanup_policy(rd_kafka_t *rk, const char *topic, int timeout_ms, char *policy,
                               size_t plen, char *why, size_t whylen)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    struct admin a = { rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS),
                       rd_kafka_queue_new(rk), NULL };
    int rc = RECD_EKAFKA;

    policy[0] = '\0';
    if (cr == NULL || a.ao == NULL || a.q == NULL ||
        rd_kafka_AdminOptions_set_request_timeout(a.ao, timeout_ms, why, whylen)) {
        snprintf(why, whylen, "describing %s: cannot build the request", topic);
        goto out;
    }
    rd_kafka_DescribeConfigs(rk, &cr, 1, a.ao, a.q);
    a.ev = admin_wait(a.q, timeout_ms, "describing the topic's configuration", why, whylen);
    if (a.ev != NULL) {
        const rd_kafka_DescribeConfigs_result_t *res =
            rd_kafka_event_DescribeConfigs_result(a.ev);
        size_t n = 0, nc = 0;
        const rd_kafka_ConfigResource_t **rs =
            res ? rd_kafka_DescribeConfigs_result_resources(res, &n) : NULL;

        if (n != 1 || rd_kafka_ConfigResource_error(rs[0])) {
            const char *es = n == 1 ? rd_kafka_ConfigResource_error_string(rs[0]) : NULL;

            snprintf(why, whylen, "describing %s: %s", topic, es ? es : "no result");
            goto out;
        }
        const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rs[0], &nc);
        for (size_t i = 0; i < nc; i++) {
            const char *v = rd_kafka_ConfigEntry_value(ce[i]);

            if (strcmp(rd_kafka_ConfigEntry_name(ce[i]), "cleanup.policy") == 0 && v) {
                snprintf(policy, plen, "%s", v);
            }
        }
        rc = RECD_OK;
    }
out:
    admin_free(&a);
    if (cr) {
        rd_kafka_ConfigResource_destroy(cr);
    }
    return rc;
}

int recd_topics_probe(rd_kafka_t *rk, const struct recd_topics_spec *t, int timeout_ms,
                      char *why, size_t whylen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    int rc = RECD_OK;

    /* all topics: asking for one by name lets a producer auto-create it */
    err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, whylen, "brokers unreachable (%s): %s", t->brokers, rd_kafka_err2str(err));
        return RECD_EAGAIN;
    }
    for (size_t i = 0; i < t->n_inputs; i++) {
        if (md_partitions(md, t->inputs[i]) < 0) {
            snprintf(why, whylen,
                     "input topic %s does not exist (create the topics: recctl topics create)",
                     t->inputs[i]);
            rc = RECD_ENOENT;
            break;
        }
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

int recd_topics_prepare(rd_kafka_t *rk, const struct recd_topics_spec *t, int timeout_ms,
                        char *why, size_t whylen)
{
    const struct rd_kafka_metadata *md = NULL;
    char policy[128], err[512];
    rd_kafka_resp_err_t e;
    int clicks_parts, rc = RECD_OK;

    e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, whylen, "brokers unreachable (%s): %s", t->brokers, rd_kafka_err2str(e));
        return RECD_EAGAIN;
    }
    clicks_parts = t->n_inputs > 0 ? md_partitions(md, t->inputs[0]) : -1;
    if (t->dlq != NULL && md_partitions(md, t->dlq) < 0) {
        if (create_topic(rk, t->dlq, -1, 0, timeout_ms, err, sizeof(err)) == RECD_OK) {
            RLOG_NOTICE(RECD_LOG_KAFKA, "created the dead-letter topic %s (the broker's defaults)",
                        t->dlq);
        } else {
            RLOG_WARN(RECD_LOG_KAFKA, "the dead-letter topic %s is missing: %s", t->dlq, err);
        }
    }
    if (md_partitions(md, t->output) < 0) {
        if (create_topic(rk, t->output, clicks_parts, 1, timeout_ms, err, sizeof(err)) ==
            RECD_OK) {
            if (clicks_parts < 0) {
                RLOG_NOTICE(RECD_LOG_KAFKA,
                            "created the recommendations topic %s (cleanup.policy=compact, the "
                            "broker's default partitions)",
                            t->output);
            } else {
                RLOG_NOTICE(RECD_LOG_KAFKA,
                            "created the recommendations topic %s (cleanup.policy=compact, %d "
                            "partitions as %s)",
                            t->output, clicks_parts, t->inputs[0]);
            }
        } else {
            RLOG_WARN(RECD_LOG_KAFKA, "the recommendations topic %s is missing: %s",
                         t->output, err);
        }
        goto out;
    }
    if (!t->check_policy) {
        goto out;
    }
    if (recd_topics_cleanup_policy(rk, t->output, timeout_ms, policy, sizeof(policy), err,
                                   sizeof(err)) != RECD_OK) {
        /* a broker (or mock) that cannot describe configurations: nothing known is wrong */
        RLOG_WARN(RECD_LOG_KAFKA, "cannot verify that %s is compacted: %s", t->output, err);
        goto out;
    }
    if (policy[0] == '\0') {
        RLOG_WARN(RECD_LOG_KAFKA, "cannot verify that %s is compacted: the brokers did not "
                  "report its cleanup.policy", t->output);
        goto out;
    }
    if (strstr(policy, "compact") == NULL) {
        snprintf(why, whylen,
                 "the recommendations topic %s has cleanup.policy=%s, not compact: downstream "
                 "would lose the lists of users idle longer than its retention (fix: "
                 "kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config "
                 "cleanup.policy=compact; or set kafka.require_compacted_output = false)",
                 t->output, policy, t->output);
        rc = RECD_ECONFIG;
    }
out:
    rd_kafka_metadata_destroy(md);
    return rc;
}
