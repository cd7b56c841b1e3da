/*
 * sink.c — the producing side of produce, forget, replay and gen: an idempotent
 * producer with delivery accounting and pacing.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "recctl.h"

/* ---- the producing side: a sink with pacing -------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct sink *s = opaque;
    (void)rk;
    if (m->err) {
        if (s->failed < 10) {
            fprintf(stderr, "recctl: delivery to %s failed: %s\n", rd_kafka_topic_name(m->rkt),
                    rd_kafka_err2str(m->err));
        }
        s->failed++;
    } else {
        s->delivered++;
    }
}

int sink_open(struct sink *s, const struct common *c, char *err, size_t len)
{
    static const char *const defaults[] = {
        "enable.idempotence",
        "true",
        "acks",
        "all",
        "linger.ms",
        "5",
        "partitioner",
        "murmur2_random", /* Kafka's (Java client's) default: same partition */
        NULL
    };
    char e[512];
    memset(s, 0, sizeof *s);
    s->c = c;
    s->verbose = c->verbose;
    rd_kafka_conf_t *conf = make_conf(c, defaults, err, len);
    if (!conf) {
        return RECD_ECONFIG;
    }
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
int sink_send(struct sink *s, const char *topic, const void *key, size_t keylen, const void *val,
              size_t vallen, char *err, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE((void *)val, val ? vallen : 0),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            break;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return recd_seterr(err, len, RECD_EKAFKA, "produce to %s: %s", topic,
                               rd_kafka_err2str(e));
        }
        rd_kafka_poll(s->rk, 50);
    }
    s->produced++;
    rd_kafka_poll(s->rk, 0);
    return RECD_OK;
}

/* Flush and destroy; returns the number of records not delivered (failed or still queued). */
int64_t sink_close(struct sink *s, int timeout_ms)
{
    int64_t pending = 0;
    if (!s->rk) {
        return 0;
    }
    double t0 = now_s();
    while (rd_kafka_outq_len(s->rk) > 0 && (now_s() - t0) * 1000 < timeout_ms) {
        rd_kafka_flush(s->rk, 500);
        if (g_stop && (now_s() - t0) > 5) {
            break;
        }
    }
    pending = rd_kafka_outq_len(s->rk);
    if (pending > 0) {
        fprintf(stderr, "recctl: %" PRId64 " record(s) still undelivered after %d ms\n", pending,
                timeout_ms);
    }
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
void pace(struct sink *s, double rate, double t0, int64_t n)
{
    if (rate <= 0) {
        return;
    }
    for (;;) {
        double wait = t0 + (double)n / rate - now_s();
        if (wait < PACE_SLACK_S || g_stop) {
            return;
        }
        int ms = wait > 0.1 ? 100 : (int)(wait * 1000.0);
        if (s->rk) {
            rd_kafka_poll(s->rk, ms);
        } else {
            struct timespec ts = { 0, (long)ms * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
}
