/*
 * daemon.c — recd's lifecycle (daemon.h).
 *
 *   start:   state open (locked) -> codec -> pipeline (operators load their state) ->
 *            metrics endpoint -> producer -> group consumer subscribes to the event topics;
 *            a second consumer reads the items topic in full (a global table)
 *   assign:  every assigned partition starts at the offset stored in recd's state
 *            (Kafka's committed offsets are only updated afterwards, for visibility);
 *            READY=1 goes to systemd after the first assignment
 *   loop:    collect up to batch.max_records, BATCH_MAX_BYTES of payload or
 *            batch.max_wait_ms -> pipeline (process, checkpoint, publish, commit
 *            state+offsets+outbox atomically; the broker's acknowledgements are awaited
 *            for up to kafka.publish_inflight committed batches) -> WATCHDOG=1
 *   fence:   a record below the next offset recd has already consumed from its partition
 *            (state's offset at assignment, then every record taken) is dropped, never applied
 *            again: librdkafka may rewind a partition on its own (auto.offset.reset after
 *            OFFSET_OUT_OF_RANGE, e.g. after a leader change) and that must not apply events
 *            twice
 *   failure: a batch that cannot be committed (output not acknowledged, a state write error,
 *            less free space than 2 x state.write_buffer_mb + 16 MiB on the state filesystem)
 *            or a fatal Kafka client error: nothing of the batch is committed, /readyz answers
 *            503 with the reason (for FAIL_LINGER_MS more), STATUS= tells systemd why, recd
 *            exits 1; a restart resumes from the offsets in state
 *   revoke:  the pending batch is processed and committed before partitions are released
 *   SIGHUP:  RELOADING=1, re-read + validate off to the side, swap reloadable knobs, READY=1
 *   SIGTERM: finish the batch, STOPPING=1, close the consumer, flush the producer, exit 0;
 *            a second SIGTERM/SIGINT exits at once (state stays consistent: it is only
 *            ever changed by whole-batch atomic commits)
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <systemd/sd-daemon.h>

#include "codec.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "recd_revision.h"   /* RECD_GIT_REV, generated at build time */
#include "metrics.h"
#include "minilm.h"
#include "ownership.h"
#include "topics.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"
#include "units.h"

static volatile sig_atomic_t sig_stop;
static volatile sig_atomic_t sig_reload;
static volatile sig_atomic_t sig_checkpoint;

static void on_stop(int sig)
{
    if (sig_stop) {
        _exit(RECD_EXIT_FAILURE);   /* second signal: exit at once (async-signal-safe) */
    }
    sig_stop = sig;
}

static void on_hup(int sig)
{
    sig_reload = sig;
}

static void on_usr1(int sig)
{
    sig_checkpoint = sig;
}

#define MAX_RETIRED 64

/* A batch also ends once it holds this much record payload (keys + values): with records of
 * up to ~1 MiB, batch.max_records alone would let one batch (and the DLQ copies of its bad
 * records, held until they are acknowledged) grow to hundreds of MiB. */
#define BATCH_MAX_BYTES (32u << 20)

/* After a fatal error: how long /readyz reports the failure before recd exits. */
#define FAIL_LINGER_MS 1000

/* Topic checks (topics.h): the longest a check waits for the brokers; how often a start
 * refused for a recommendations topic that is not compacted checks again; how often recd,
 * not yet ready, asks the brokers why (the reason /readyz gives). */
#define TOPIC_CHECK_TIMEOUT_MS 5000
#define TOPIC_RECHECK_MS 10000
#define TOPIC_PROBE_MS 5000
#define TOPIC_PROBE_TIMEOUT_MS 2000

/* The longest a takeover waits for a partition's first offset (stamp_commit): a broker round
 * trip, once per partition that has no stamped commit. */
#define STAMP_WATERMARK_TIMEOUT_MS 5000

/* Output of one batch on its way to the broker (kafka.publish_inflight). A slot is open while
 * its batch publishes, sealed by hold(), and complete once sealed with nothing outstanding. */
#define MAX_SLOTS 65   /* publish_inflight (<= 64) sealed slots + the open one */
struct slot {
    int used;
    int sealed;
    int failed;               /* a record's delivery failed: never acknowledged */
    uint64_t batch_no;
    size_t outstanding;       /* produced, delivery report not yet served */
    int64_t *ts;              /* owned: Kafka timestamps (ms) of the batch's events */
    size_t n_ts, cap_ts;
    int64_t t_produce_ms;     /* wall clock when the batch's first record was produced */
    int64_t max_ack_us;       /* longest produce -> acknowledgement of its records */
    int has_own_seq;          /* learn_from = all: the batch's number in the ownership log */
    uint64_t own_seq;
};

/* Next offset to take from one input partition (the consumption fence). */
struct fence {
    int kind;                   /* enum recd_kind of the topic */
    int32_t partition;
    int64_t next;               /* < 0: nothing stored yet, take anything */
    int paused;                 /* learn_from = all: fetching paused, too many records held */
    /* pacing (pace_partitions(), kafka.max_event_skew_ms) */
    int live;                   /* assigned now (fences outlive their assignment) */
    int at_end;                 /* the last thing fetched was the end of the partition */
    int paced;                  /* paused: too far ahead in event time */
    int fetch_paused;           /* what the consumer was told: paused || paced */
    int64_t ev_ts;              /* newest event time decoded from it (0: none yet) */
    int64_t live_ns;            /* monotonic time of the assignment */
    rd_kafka_message_t *deferred; /* owned: a deletion read before the events it follows in
                                   * event time (pace); its partition is paused meanwhile */
    rd_kafka_message_t **parked;  /* owned: records fetched while the partition is paced,
                                   * parked[park_head..park_n) in offset order; taken once it
                                   * is no longer ahead (release_parked) */
    size_t park_head, park_n, park_cap;
    size_t park_bytes;          /* payload + key bytes of the parked records */
    int park_full;              /* kafka.pace_buffer_records or pace_buffer_mb parked: fetching
                                 * paused */
};

struct daemon {
    struct recd_conf *conf;                 /* owned: current config */
    struct recd_conf *retired[MAX_RETIRED]; /* owned: replaced configs (pointers may linger) */
    size_t n_retired;
    const struct recd_daemon_opts *opts;    /* borrowed */
    char *topic[RECD_KIND__N];              /* owned copies of the topic names; [RECS] output */
    char *dlq_topic;                        /* owned */
    struct recd_state *state;               /* owned */
    struct recd_codec *codec;               /* owned */
    struct recd_codec_schema_id *ids;       /* owned */
    struct recd_pipeline *pipeline;         /* owned */
    struct recd_metrics *metrics;           /* owned */
    struct recd_http *http;                 /* owned: the HTTP endpoint, NULL when off */
    rd_kafka_t *consumer;                   /* owned: group consumer of the event topics */
    rd_kafka_t *items;                      /* owned: reads the items topic in full */
    rd_kafka_t *producer;                   /* owned: recommendations + DLQ */
    rd_kafka_topic_t *out_rkt;              /* owned: keeps the output topic's metadata warm */
    int items_assigned;
    int64_t items_retry_ns;
    rd_kafka_message_t **msgs;              /* pending batch (owned messages) */
    unsigned char *msg_silent;              /* owned: [cap_msgs] the record is silent */
    struct recd_raw *raws;
    size_t n_msgs, cap_msgs;
    size_t batch_bytes;                     /* payload of the pending batch */
    struct fence *fences;                   /* owned */
    size_t n_fences, cap_fences;
    uint64_t skipped;                       /* records below the fence, dropped */
    int assigned;
    int notified_ready;
    int64_t topics_probe_ns;                /* last recd_topics_probe (not ready yet) */
    struct recd_arena *peek;                /* owned: decoding a deletion's time (pace) */
    int n_parts[RECD_KIND__NINPUT];         /* partition count per input topic (0: unknown,
                                               asked again after a rebalance) */
    uint64_t wrong_partition;               /* records whose key hashes to another partition */
    char probe_why[256];                    /* its answer, logged when it changes */
    int fatal;                              /* a batch failed: stop without committing */
    int closing;                            /* stopping: rebalance callbacks only (un)assign */
    int coop;                               /* the group's rebalance protocol is cooperative */
    uint64_t delivery_failures;             /* producer delivery reports with errors */
    char delivery_err[256];
    struct slot slots[MAX_SLOTS];
    struct slot *open_slot;                 /* the batch being published, or NULL */
    size_t n_sealed;                        /* sealed, not yet complete */
    int batch_dlq;                          /* the batch dead-lettered records */
    int64_t last_msg_ns;
    int64_t idle_said_ns;   /* --exit-idle: when the wait for held records was last logged */
    int64_t watchdog_interval_ns;
    int64_t last_watchdog_ns;
    /* kafka.learn_from = all (daemon/ownership.h) */
    int repl;
    rd_kafka_t *events;                     /* owned: reads every event topic partition */
    struct recd_own *own;                   /* owned */
    int events_kinds;                       /* bit per event kind whose topic is assigned */
    int joined;                             /* subscribed to the group */
    int64_t events_retry_ns, follow_next_ns, commit_next_ns;
    int own_batch;                          /* the batch being run has an ownership number */
    unsigned char *retry_part;              /* owned: [partitions] final commit refused: retry */
    int64_t *retry_off;                     /* owned: [partitions x RECD_OWN_NKINDS] */
    unsigned char *part_flag;               /* owned: [partitions] scratch */
    int64_t retry_until_ns;
    uint64_t own_seq;
    int64_t start_wall_ms;                  /* when this process started (commit stamps) */
    unsigned char *republish_due;           /* owned: [partitions] the republication at the
                                               takeover waits until every topic is taken up to
                                               where a killed owner had published */
    int64_t *republish_from;                /* owned: [partitions x RECD_OWN_NKINDS] its range */
};

/* ---- producer sink ------------------------------------------------------------------------ */

/* Everything of a sealed batch is acknowledged: event -> publish latency, outbox removal. */
static void slot_complete(struct daemon *d, struct slot *sl)
{
    /* acknowledged at: produce time + librdkafka's measured produce -> ack latency, so that the
     * figure does not depend on when the delivery report is served */
    int64_t now = sl->max_ack_us > 0 ? sl->t_produce_ms + sl->max_ack_us / 1000
                                     : recd_now_wall_ms();
    size_t i;

    if (sl->n_ts > 0) {
        double *lat = malloc(sl->n_ts * sizeof(*lat));

        for (i = 0; lat != NULL && i < sl->n_ts; i++) {
            lat[i] = now > sl->ts[i] ? (double)(now - sl->ts[i]) / 1000.0 : 0.0;
        }
        if (lat != NULL) {
            recd_metrics_observe_many(d->metrics, "recd_event_publish_latency_seconds", NULL, lat,
                                      sl->n_ts);
        }
        free(lat);
    }
    if (sl->max_ack_us > 0) {
        recd_metrics_observe(d->metrics, "recd_publish_ack_seconds", NULL,
                             (double)sl->max_ack_us / 1e6);
    }
    if (sl->has_own_seq && d->own != NULL) { /* NULL: at teardown */
        recd_own_batch_done(d->own, sl->own_seq);
    }
    if (recd_pipeline_acked(d->pipeline, sl->batch_no) != RECD_OK) {
        /* the entry stays in the outbox: a restart republishes those lists once more */
        RLOG_WARN(RECD_LOG_STATE, "out of memory: outbox entry of batch %llu kept",
                  (unsigned long long)sl->batch_no);
    }
    sl->used = 0;
    sl->sealed = 0;
    d->n_sealed--;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct daemon *d = opaque;
    struct slot *sl = m->_private; /* NULL: DLQ record or a republished list */

    if (m->err) {
        d->delivery_failures++;
        snprintf(d->delivery_err, sizeof(d->delivery_err), "%s", rd_kafka_err2str(m->err));
    }
    if (sl != NULL) {
        int64_t us = rd_kafka_message_latency(m);

        if (us > sl->max_ack_us) {
            sl->max_ack_us = us;
        }
        sl->outstanding--;
        /* a failed delivery never completes its batch: the outbox entry stays */
        if (m->err) {
            sl->failed = 1;
        }
        if (sl->sealed && sl->outstanding == 0) {
            if (sl->failed) {
                sl->used = sl->sealed = 0;
                d->n_sealed--;
            } else {
                slot_complete(d, sl);
            }
        }
    }
}

static int produce_retry(struct daemon *d, rd_kafka_resp_err_t (*fn)(struct daemon *, void *),
                         void *arg)
{
    rd_kafka_resp_err_t err;

    for (;;) {
        err = fn(d, arg);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(d->producer, 10); /* queue full: serve delivery reports, retry */
    }
    if (err) {
        RLOG_ERR(RECD_LOG_KAFKA, "produce failed: %s", rd_kafka_err2str(err));
        return RECD_EKAFKA;
    }
    return RECD_OK;
}

struct pub_arg {
    const char *user;
    const void *val;
    size_t len;
    struct slot *sl;
};

/* With kafka.learn_from = all every list and tombstone carries the header RECD_SOURCE_HEADER:
 * "P:C,U,Q,D", the user's input partition and the next offsets of its clicks, purchases,
 * queries and deletions this instance had applied when it computed the record. A new owner
 * that takes over from a killed one reads them back (published_beyond) to learn how far the
 * dead owner published past its last commit. */
#define RECD_SOURCE_HEADER "recd.source"
/* Each offset committed with learn_from = all carries in its metadata "recd.t=MS": no output
 * record of the partition's later records was produced before that wall-clock time (the start
 * of the newest batch whose output is acknowledged, or of this process). A new owner reads
 * the output topic from there (published_beyond). */
#define RECD_COMMIT_STAMP "recd.t="

static rd_kafka_resp_err_t do_publish(struct daemon *d, void *a)
{
    struct pub_arg *p = a;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_resp_err_t err;

    if (d->own != NULL) {
        int32_t part = rd_kafka_msg_partitioner_murmur2(NULL, p->user, strlen(p->user),
                                                        recd_own_n_partitions(d->own), NULL,
                                                        NULL);
        char v[128];
        int n = snprintf(v, sizeof(v), "%d:%lld,%lld,%lld,%lld", (int)part,
                         (long long)recd_own_took_next(d->own, RECD_KIND_CLICK, part),
                         (long long)recd_own_took_next(d->own, RECD_KIND_PURCHASE, part),
                         (long long)recd_own_took_next(d->own, RECD_KIND_QUERY, part),
                         (long long)recd_own_took_next(d->own, RECD_KIND_DELETION, part));

        h = rd_kafka_headers_new(1);
        if (h == NULL) {
            return RD_KAFKA_RESP_ERR__FAIL;
        }
        rd_kafka_header_add(h, RECD_SOURCE_HEADER, -1, v, n);
        err = rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(d->topic[RECD_KIND_RECS]),
                                RD_KAFKA_V_KEY(p->user, strlen(p->user)),
                                RD_KAFKA_V_VALUE((void *)p->val, p->len),
                                RD_KAFKA_V_OPAQUE(p->sl), RD_KAFKA_V_HEADERS(h),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            rd_kafka_headers_destroy(h); /* ownership passes only on success */
        }
        return err;
    }
    return rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(d->topic[RECD_KIND_RECS]),
                             RD_KAFKA_V_KEY(p->user, strlen(p->user)),
                             RD_KAFKA_V_VALUE((void *)p->val, p->len), RD_KAFKA_V_OPAQUE(p->sl),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
}

static int sink_publish(void *opaque, const char *user_id, const void *val, size_t len)
{
    struct daemon *d = opaque;
    struct pub_arg a = { user_id, val, len, d->open_slot };
    int rc = produce_retry(opaque, do_publish, &a);

    if (rc == RECD_OK && a.sl != NULL) {
        if (a.sl->outstanding++ == 0 && a.sl->t_produce_ms == 0) {
            a.sl->t_produce_ms = recd_now_wall_ms();
        }
    }
    return rc;
}

/* The batch's output is all handed to the producer: seal its slot. Held (committed before
 * acknowledged) unless publishing is synchronous or the batch dead-lettered records. */
static int sink_hold(void *opaque, uint64_t batch_no)
{
    struct daemon *d = opaque;
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    struct slot *sl = d->open_slot;
    size_t i;

    if (sl == NULL) {
        return 0;
    }
    d->open_slot = NULL;
    sl->batch_no = batch_no;
    sl->n_ts = 0;
    if (sl->cap_ts < d->n_msgs) {
        int64_t *nt = realloc(sl->ts, d->n_msgs * sizeof(*nt));

        if (nt != NULL) {
            sl->ts = nt;
            sl->cap_ts = d->n_msgs;
        }
    }
    for (i = 0; sl->cap_ts >= d->n_msgs && i < d->n_msgs; i++) {
        if (d->raws[i].ts_ms > 0 && d->raws[i].kind != RECD_KIND_ITEM) {
            sl->ts[sl->n_ts++] = d->raws[i].ts_ms;
        }
    }
    sl->sealed = 1;
    d->n_sealed++;
    if (sl->outstanding == 0) {
        if (sl->failed) {
            sl->used = sl->sealed = 0;
            d->n_sealed--;
        } else {
            slot_complete(d, sl);
        }
    }
    /* a delivery failed already: flush, which reports it, so that this batch fails before
     * its commit */
    return kc->publish_inflight > 0 && !d->batch_dlq && d->delivery_failures == 0;
}

struct dlq_arg {
    const struct recd_raw *r;
    const char *cls, *msg;
};

static rd_kafka_resp_err_t do_dlq(struct daemon *d, void *a)
{
    struct dlq_arg *x = a;
    rd_kafka_headers_t *h = rd_kafka_headers_new(5);
    char part[16], off[32];
    rd_kafka_resp_err_t err;

    snprintf(part, sizeof(part), "%d", (int)x->r->partition);
    snprintf(off, sizeof(off), "%lld", (long long)x->r->offset);
    rd_kafka_header_add(h, "source.topic", -1, x->r->topic, -1);
    rd_kafka_header_add(h, "source.partition", -1, part, -1);
    rd_kafka_header_add(h, "source.offset", -1, off, -1);
    rd_kafka_header_add(h, "error.class", -1, x->cls, -1);
    rd_kafka_header_add(h, "error.message", -1, x->msg, -1);
    err = rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(d->dlq_topic),
                            RD_KAFKA_V_KEY((void *)x->r->key, x->r->klen),
                            RD_KAFKA_V_VALUE((void *)x->r->val, x->r->vlen), RD_KAFKA_V_HEADERS(h),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(h); /* ownership passes only on success */
    }
    return err;
}

static int sink_dead_letter(void *opaque, const struct recd_raw *r, const char *cls,
                            const char *msg)
{
    struct dlq_arg a = { r, cls, msg };

    ((struct daemon *)opaque)->batch_dlq = 1;
    return produce_retry(opaque, do_dlq, &a);
}

static int sink_flush(void *opaque, char *errstr, size_t errlen)
{
    struct daemon *d = opaque;
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_resp_err_t err = rd_kafka_flush(d->producer, (int)kc->flush_timeout_ms);

    if (err) {
        return recd_seterr(errstr, errlen, RECD_EKAFKA,
                           "output not acknowledged within %lld ms: %s",
                           (long long)kc->flush_timeout_ms, rd_kafka_err2str(err));
    }
    if (d->delivery_failures) {
        return recd_seterr(errstr, errlen, RECD_EKAFKA, "%llu output records failed: %s",
                           (unsigned long long)d->delivery_failures, d->delivery_err);
    }
    return RECD_OK;
}

/* Wait until at most `limit` committed batches await acknowledgement (serving delivery
 * reports). Fails after kafka.flush_timeout_ms or on a failed delivery: the state is committed,
 * the outbox keeps the unacknowledged batches' users for the next start. */
static int wait_inflight(struct daemon *d, size_t limit, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int64_t deadline = recd_now_mono_ns() + kc->flush_timeout_ms * 1000000LL;

    for (;;) {
        rd_kafka_poll(d->producer, d->n_sealed > limit ? 5 : 0);
        if (d->delivery_failures) {
            return recd_seterr(errstr, errlen, RECD_EKAFKA, "%llu output records failed: %s",
                               (unsigned long long)d->delivery_failures, d->delivery_err);
        }
        if (d->n_sealed <= limit) {
            return RECD_OK;
        }
        if (recd_now_mono_ns() >= deadline) {
            return recd_seterr(errstr, errlen, RECD_EKAFKA,
                               "output of %zu committed batch(es) not acknowledged within "
                               "%lld ms (kept in the outbox: republished at the next start)",
                               d->n_sealed, (long long)kc->flush_timeout_ms);
        }
    }
}

static struct slot *slot_open(struct daemon *d)
{
    for (size_t i = 0; i < MAX_SLOTS; i++) {
        if (!d->slots[i].used) {
            d->slots[i].used = 1;
            d->slots[i].sealed = 0;
            d->slots[i].failed = 0;
            d->slots[i].outstanding = 0;
            d->slots[i].t_produce_ms = 0;
            d->slots[i].max_ack_us = 0;
            d->slots[i].has_own_seq = d->own_batch;
            d->slots[i].own_seq = d->own_seq;
            return &d->slots[i];
        }
    }
    return NULL; /* cannot happen: wait_inflight keeps <= 64 sealed */
}

/* ---- start-up ----------------------------------------------------------------------------- */

/* Each progress report of a long load (recd_progress: at most every 250 ms) extends systemd's
 * start timeout by START_EXTEND_US from now and shows the step in STATUS=: a start that keeps
 * making progress is never killed by TimeoutStartSec, one stuck in a step for longer is. */
#define START_EXTEND_US 60000000ULL

static void start_progress(void *ctx, const char *status)
{
    char msg[400];

    (void)ctx;
    snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=starting: %s", START_EXTEND_US,
             status);
    sd_notify(0, msg);
}

/* ---- batches ------------------------------------------------------------------------------ */

static void notify_ready(struct daemon *d)
{
    if (!d->notified_ready) {
        sd_notify(0, "READY=1\nSTATUS=processing");
        d->notified_ready = 1;
        RLOG_NOTICE(RECD_LOG_MAIN, "ready: state open, partitions assigned");
    }
    recd_metrics_set_ready(d->metrics, 1, "state open, partitions assigned, producer healthy");
}

static int kind_of_topic(struct daemon *d, const char *topic)
{
    for (int k = 0; k < RECD_KIND__NINPUT; k++) {
        if (strcmp(d->topic[k], topic) == 0) {
            return k;
        }
    }
    return -1;
}

/* Stop without committing anything more: not ready, tell systemd why, exit 1 after the loop. */
static void set_failed(struct daemon *d, const char *why)
{
    char status[600];

    d->fatal = 1;
    recd_metrics_set_ready(d->metrics, 0, why);
    snprintf(status, sizeof(status), "STATUS=failed, exiting: %.500s", why);
    sd_notify(0, status);
}

static struct fence *fence_find(struct daemon *d, int kind, int32_t partition)
{
    size_t i;

    for (i = 0; i < d->n_fences; i++) {
        if (d->fences[i].partition == partition && d->fences[i].kind == kind) {
            return &d->fences[i];
        }
    }
    return NULL;
}

/* At assignment: the partition continues at `next` (the offset stored in state, or < 0). */
static void fence_set(struct daemon *d, int kind, int32_t partition, int64_t next)
{
    struct fence *f = fence_find(d, kind, partition);

    if (f == NULL) {
        if (d->n_fences == d->cap_fences) {
            size_t nc = d->cap_fences ? d->cap_fences * 2 : 16;
            struct fence *nf = realloc(d->fences, nc * sizeof(*nf));

            if (nf == NULL) {
                return; /* no fence for this partition: records are taken as they come */
            }
            d->fences = nf;
            d->cap_fences = nc;
        }
        f = &d->fences[d->n_fences++];
        memset(f, 0, sizeof(*f));
        f->kind = kind;
        f->partition = partition;
    }
    f->next = next;
    f->live = 1;
    f->live_ns = recd_now_mono_ns();
    f->at_end = 0;
    f->ev_ts = 0;
    f->paced = 0;
    f->park_full = 0;
    f->fetch_paused = f->paused; /* the caller resumes a new assignment (unpace_assigned) */
}

/* What a record costs an in-memory buffer of records (batch, parking, held): payload + key. */
static size_t msg_bytes(const rd_kafka_message_t *m)
{
    return m->len + m->key_len;
}

/* The buffers of records that pause their partition's fetching (parking, held): full at
 * max_n records or max_mb MiB of them; fetching resumes once below half of both. */
static int buf_full(size_t n, size_t bytes, int64_t max_n, int64_t max_mb)
{
    return n >= (size_t)max_n || bytes >= (size_t)max_mb << 20;
}

static int buf_below_half(size_t n, size_t bytes, int64_t max_n, int64_t max_mb)
{
    return n < (size_t)max_n / 2 && bytes < ((size_t)max_mb << 20) / 2;
}

static size_t n_parked(const struct fence *f)
{
    return f->park_n - f->park_head;
}

/* Drop a partition's parked records (revoked, or stopping): they were never taken, so the
 * partition is read again from before them. */
static void drop_parked(struct fence *f)
{
    for (size_t i = f->park_head; i < f->park_n; i++) {
        rd_kafka_message_destroy(f->parked[i]);
    }
    f->park_head = f->park_n = 0;
    f->park_bytes = 0;
    f->park_full = 0;
}

/* Nothing more to take from the partition now: at its end, nothing parked. */
static int drained(const struct fence *f)
{
    return f->at_end && n_parked(f) == 0;
}

/* ---- pacing: consume the input partitions in step by event time ------------------------ */

/* The consumer that fetches the event topics. */
static rd_kafka_t *event_consumer(const struct daemon *d)
{
    return d->repl ? d->events : d->consumer;
}

/* Tell the consumer whether f fetches: paused while records are held (learn_from = all) or
 * while it is too far ahead (pace). */
static void apply_pause(struct daemon *d, struct fence *f)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    /* a paced partition goes on being fetched into its parking buffer until that is full: a
     * pause makes the client drop what it prefetched and fetch it again on resume */
    int want = f->paused || f->park_full || (f->paced && kc->pace_buffer_records == 0);
    rd_kafka_topic_partition_list_t *l;

    if (want == f->fetch_paused) {
        return;
    }
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, d->topic[f->kind], f->partition);
    if (want) {
        rd_kafka_pause_partitions(event_consumer(d), l);
    } else {
        rd_kafka_resume_partitions(event_consumer(d), l);
    }
    rd_kafka_topic_partition_list_destroy(l);
    f->fetch_paused = want;
}

static int paced_kind(int kind)
{
    return kind == RECD_KIND_CLICK || kind == RECD_KIND_PURCHASE || kind == RECD_KIND_QUERY;
}

/* sink->event_time: the newest event time of each partition */
static void sink_event_time(void *opaque, int kind, int32_t partition, int64_t ts_ms)
{
    struct daemon *d = opaque;
    struct fence *f = fence_find(d, kind, partition);

    if (f != NULL && ts_ms > f->ev_ts) {
        f->ev_ts = ts_ms;
    }
}

/* Kafka delivers each partition as fast as it can fetch it, so in a backlog a small topic
 * (purchases) races months ahead in event time of a large one (clicks) and its events set
 * the event-time high-water mark from which users and sessions expire. Like Kafka Streams'
 * timestamp synchronisation: a partition more than max_event_skew_ms ahead of the least
 * advanced one that still has records to fetch is paused until it is within half of that.
 * The least advanced partition is never paused, so consumption always progresses; a
 * partition at its end (live input) does not hold others back, and one without a record yet
 * (just assigned) holds them only for kafka.pace_first_wait_ms. Granularity: the event
 * times are those of the decoded batches, so a partition can run one batch ahead. */
/* The least advanced event time of the click, purchase and query partitions that still have
 * records to fetch (INT64_MAX: none); *pending: one was assigned but delivered nothing yet. */
static int64_t pace_low(const struct daemon *d, int *pending)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int64_t low = INT64_MAX, now = recd_now_mono_ns();

    *pending = 0;
    for (size_t i = 0; i < d->n_fences; i++) {
        const struct fence *f = &d->fences[i];

        if (!f->live || !paced_kind(f->kind) || drained(f)) {
            continue;
        }
        if (f->ev_ts > 0) {
            low = f->ev_ts < low ? f->ev_ts : low;
        } else if (now - f->live_ns < kc->pace_first_wait_ms * 1000000LL) {
            *pending = 1; /* its first records may be the oldest: the others wait for them */
        }
    }
    return low;
}

static int take_msg(struct daemon *d, struct fence *f, int kind, rd_kafka_message_t *m);

/* A deletion forgets what was consumed of its user up to its batch: read before the user's
 * older events in a lagging partition, it would be undone by them. So one whose event time is
 * ahead of the least advanced partition waits, its partition paused, until every partition
 * with records left has passed it or is at its end. Not the skew: within the skew a lagging
 * partition may still hold the user's last clicks before the request. Returns 1 when m was
 * deferred (kept). */
static int defer_deletion(struct daemon *d, struct fence *f, rd_kafka_message_t *m)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    struct recd_event ev;
    char err[256];
    int64_t low;
    int pending;

    if (kc->max_event_skew_ms <= 0 || f == NULL || f->deferred != NULL || d->peek == NULL) {
        return 0;
    }
    recd_arena_reset(d->peek);
    memset(&ev, 0, sizeof(ev));
    if (recd_codec_decode(d->codec, RECD_KIND_DELETION, m->key, m->key_len, m->payload, m->len,
                          d->peek, &ev, err, sizeof(err)) != RECD_OK) {
        return 0; /* the pipeline dead-letters it */
    }
    low = pace_low(d, &pending);
    if (!pending && (low == INT64_MAX || ev.ts_ms <= low)) {
        return 0;
    }
    f->deferred = m;
    f->ev_ts = ev.ts_ms;
    f->paced = 1;
    apply_pause(d, f);
    recd_metrics_add(d->metrics, "recd_partition_pauses_total", "reason=\"deletion_ahead\"", 1);
    RLOG_DEBUG(RECD_LOG_KAFKA, "pacing: a deletion at event time %lld waits in %s[%d] (least "
               "advanced partition: %lld%s)", (long long)ev.ts_ms, d->topic[f->kind],
               (int)f->partition, (long long)(low == INT64_MAX ? -1 : low),
               pending ? ", waiting for a partition's first records" : "");
    return 1;
}

static void pace_partitions(struct daemon *d)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int64_t skew = kc->max_event_skew_ms, low;
    size_t i, n_paced = 0;
    int pending;

    if (skew <= 0) {
        return;
    }
    low = pace_low(d, &pending);
    for (i = 0; i < d->n_fences; i++) {
        struct fence *f = &d->fences[i];
        int want;

        if (!f->live) {
            continue;
        }
        if (f->deferred != NULL) {
            /* a deferred deletion goes once the others have passed it or are at their end */
            if (!pending && (low == INT64_MAX || f->ev_ts <= low)) {
                rd_kafka_message_t *m = f->deferred;

                f->deferred = NULL;
                f->paced = 0;
                apply_pause(d, f);
                RLOG_DEBUG(RECD_LOG_KAFKA, "pacing: the deletion at event time %lld in %s[%d] "
                           "goes (least advanced partition: %lld)", (long long)f->ev_ts,
                           d->topic[f->kind], (int)f->partition,
                           (long long)(low == INT64_MAX ? -1 : low));
                take_msg(d, f, f->kind, m);
            }
            n_paced += (size_t)f->paced;
            continue;
        }
        if (!paced_kind(f->kind)) {
            continue;
        }
        want = !drained(f) && f->ev_ts > 0 &&
               (pending || (low != INT64_MAX && f->ev_ts > low + (f->paced ? skew / 2 : skew)));
        if (want != f->paced) {
            f->paced = want;
            apply_pause(d, f);
            RLOG_DEBUG(RECD_LOG_KAFKA, "pacing: %s %s[%d] at event time %lld (least advanced "
                       "partition: %lld%s)", want ? "paused" : "resumed", d->topic[f->kind],
                       (int)f->partition, (long long)f->ev_ts,
                       (long long)(low == INT64_MAX ? -1 : low), pending ? ", waiting for a "
                       "partition's first records" : "");
            if (want) {
                recd_metrics_add(d->metrics, "recd_partition_pauses_total",
                                 "reason=\"event_time_ahead\"", 1);
            }
        }
        n_paced += (size_t)f->paced;
    }
    recd_metrics_set(d->metrics, "recd_partitions_paced", NULL, (double)n_paced);
}

/* A revoked partition no longer holds others back, and is not left paused in the client
 * (a pause outlives the assignment in librdkafka). */
static void unpace(struct daemon *d, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        struct fence *f = fence_find(d, kind_of_topic(d, parts->elems[i].topic),
                                     parts->elems[i].partition);

        if (f != NULL) {
            f->live = 0;
            f->paced = 0;
            f->at_end = 0;
            drop_parked(f); /* not taken: read again from the stored offset */
            f->fetch_paused = 0; /* resumed below */
            if (f->deferred != NULL) { /* not taken: the next owner reads it */
                rd_kafka_message_destroy(f->deferred);
                f->deferred = NULL;
            }
        }
    }
    rd_kafka_resume_partitions(rk, (rd_kafka_topic_partition_list_t *)parts);
}

/* Run the pending messages through the pipeline; destroys them. */
static int flush_batch(struct daemon *d)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    struct recd_sink sink = { d, sink_publish, sink_dead_letter, sink_flush, sink_hold,
                              sink_event_time };
    char err[512];
    size_t i;
    int rc = RECD_OK;
    int64_t t0 = recd_now_mono_ns();
    rd_kafka_topic_partition_list_t *offs = NULL;

    if ((d->n_msgs == 0 && recd_pipeline_pending_republish(d->pipeline) == 0) || d->fatal) {
        goto out;
    }
    rc = wait_inflight(d, (size_t)kc->publish_inflight, err, sizeof(err));
    recd_metrics_add(d->metrics, "recd_publish_wait_seconds_total", NULL,
                     (double)(recd_now_mono_ns() - t0) / 1e9);
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_MAIN, "stopping before a batch of %zu records: %s", d->n_msgs, err);
        set_failed(d, err);
        goto out;
    }
    d->own_batch = 0;
    if (d->own != NULL) {
        if (recd_own_batch_begin(d->own, &d->own_seq) != RECD_OK) {
            set_failed(d, "out of memory");
            rc = RECD_ENOMEM;
            goto out;
        }
        d->own_batch = 1;
        recd_own_batch_stamp(d->own, d->own_seq, recd_now_wall_ms());
        for (i = 0; i < d->n_msgs; i++) {
            rd_kafka_message_t *m = d->msgs[i];
            int k = kind_of_topic(d, rd_kafka_topic_name(m->rkt));

            if (k != RECD_KIND_ITEM) {
                recd_own_batch_offset(d->own, d->own_seq, k, m->partition, m->offset + 1);
            }
        }
    }
    d->open_slot = slot_open(d);
    d->batch_dlq = 0;
    for (i = 0; i < d->n_msgs; i++) {
        rd_kafka_message_t *m = d->msgs[i];
        struct recd_raw *r = &d->raws[i];

        r->silent = d->msg_silent[i];

        r->kind = kind_of_topic(d, rd_kafka_topic_name(m->rkt)); /* known: accept_msg */
        r->topic = d->topic[r->kind];
        r->partition = m->partition;
        r->offset = m->offset;
        r->key = m->key;
        r->klen = m->key_len;
        r->val = m->payload;
        r->vlen = m->len;
        r->ts_ms = rd_kafka_message_timestamp(m, NULL);
        if (r->ts_ms < 0) {
            r->ts_ms = 0;
        }
    }
    rc = recd_pipeline_run_batch(d->pipeline, d->raws, d->n_msgs, &sink, err, sizeof(err));
    d->open_slot = NULL; /* failed before hold(): the slot stays used (recd stops) */
    if (d->own_batch) {
        d->own_batch = 0;
        if (rc != RECD_OK) {
            recd_own_batch_abort(d->own, d->own_seq);
        }
    }
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_MAIN, "batch of %zu records failed, nothing committed: %s", d->n_msgs,
                 err);
        set_failed(d, err);
        goto out;
    }
    recd_metrics_observe(d->metrics, "recd_batch_duration_seconds", NULL,
                         (double)(recd_now_mono_ns() - t0) / 1e9);
    recd_metrics_add(d->metrics, "recd_batches_total", NULL, 1);
    {
        struct recd_pipeline_stats ps;

        recd_pipeline_stats(d->pipeline, &ps);
        recd_metrics_set(d->metrics, "recd_lists_published_total", NULL, (double)ps.published);
        recd_metrics_set(d->metrics, "recd_tombstones_published_total", NULL,
                         (double)ps.tombstones);
    }
    recd_metrics_set(d->metrics, "recd_state_size_bytes", NULL,
                     (double)recd_state_size_bytes(d->state));
    for (int cf = 0; cf < RECD_CF__N; cf++) {
        char lab[32];

        snprintf(lab, sizeof(lab), "cf=\"%s\"", recd_cf_name(cf));
        recd_metrics_set(d->metrics, "recd_state_point_reads_total", lab,
                         (double)recd_state_gets(d->state, cf));
    }

    /* informational: Kafka's committed offsets follow recd's state (stored here, committed
     * by librdkafka every kafka.commit_interval_ms and at close) */
    offs = rd_kafka_topic_partition_list_new((int)d->n_msgs);
    for (i = 0; i < d->n_msgs; i++) {
        rd_kafka_message_t *m = d->msgs[i];

        if (d->raws[i].kind == RECD_KIND_ITEM) {
            continue; /* the items reader has no group */
        }
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(offs, d->raws[i].topic,
                                                                            m->partition);

        if (tp == NULL) {
            tp = rd_kafka_topic_partition_list_add(offs, d->raws[i].topic, m->partition);
        }
        if (m->offset + 1 > tp->offset) {
            tp->offset = m->offset + 1;
        }
    }
    if (offs->cnt > 0) {
        /* fails only for partitions no longer assigned (their new owner commits); with
         * learn_from = all, the reader of every partition: its lag statistics */
        (void)rd_kafka_offsets_store(d->repl ? d->events : d->consumer, offs);
    }
    rd_kafka_topic_partition_list_destroy(offs);
out:
    for (i = 0; i < d->n_msgs; i++) {
        rd_kafka_message_destroy(d->msgs[i]);
    }
    d->n_msgs = 0;
    d->batch_bytes = 0;
    return rc;
}

/* Wait for the output of every committed batch and commit the removal of their outbox entries
 * (at a stop and before partitions are given up). On failure the entries stay: the next start
 * republishes those lists. */
static void drain_output(struct daemon *d)
{
    char err[512];
    int rc;

    if (d->fatal) {
        return;
    }
    rc = wait_inflight(d, 0, err, sizeof(err));
    if (rc == RECD_OK) {
        rc = recd_pipeline_commit_acked(d->pipeline, err, sizeof(err));
    }
    if (rc != RECD_OK) {
        RLOG_WARN(RECD_LOG_KAFKA, "%s", err);
    }
}

/* librdkafka statistics (kafka.stats_interval_ms): consumer lag per assigned partition. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct daemon *d = opaque;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr), *topics, *t, *parts, *p, *lag;
    const char *tname, *pid;
    char labels[320];

    if (root == NULL) {
        return 0;
    }
    topics = json_object_get(root, "topics");
    json_object_foreach(topics, tname, t)
    {
        parts = json_object_get(t, "partitions");
        json_object_foreach(parts, pid, p)
        {
            /* behind what recd has processed (the stored offset), not behind Kafka's
             * periodic commit; consumer_lag before librdkafka 1.8 */
            lag = json_object_get(p, "consumer_lag_stored");
            if (!json_is_integer(lag)) {
                lag = json_object_get(p, "consumer_lag");
            }
            if (strcmp(pid, "-1") == 0 || !json_is_integer(lag) || json_integer_value(lag) < 0) {
                continue;
            }
            snprintf(labels, sizeof(labels), "topic=\"%.200s\",partition=\"%.16s\"", tname, pid);
            recd_metrics_set(d->metrics, "recd_consumer_lag", labels,
                             (double)json_integer_value(lag));
        }
    }
    json_decref(root);
    return 0; /* librdkafka frees json */
}

/* recd_consumer_lag of an assigned partition is exposed (at 0 until the first statistics)
 * from its assignment, and dropped at its revocation. */
static void lag_series(struct daemon *d, const rd_kafka_topic_partition_t *tp, int assigned)
{
    char labels[320];

    snprintf(labels, sizeof(labels), "topic=\"%.200s\",partition=\"%d\"", tp->topic,
             (int)tp->partition);
    if (assigned) {
        recd_metrics_touch(d->metrics, "recd_consumer_lag", labels);
    } else {
        recd_metrics_remove(d->metrics, "recd_consumer_lag", labels);
    }
}

/* Take (assign = 1) or give back (0) parts in the group consumer's assignment, as the
 * rebalance protocol in use wants: incrementally under cooperative-sticky (coop), the whole
 * assignment otherwise. A refused assignment is logged. */
static void group_assignment(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int assign,
                             int coop)
{
    rd_kafka_error_t *e;

    if (!coop) {
        rd_kafka_assign(rk, assign ? parts : NULL);
        return;
    }
    e = assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
    if (e != NULL) {
        if (assign) {
            RLOG_ERR(RECD_LOG_KAFKA, "assign: %s", rd_kafka_error_string(e));
        } else { /* e.g. partitions the group already took back (lost): nothing to give */
            RLOG_DEBUG(RECD_LOG_KAFKA, "unassign: %s", rd_kafka_error_string(e));
        }
        rd_kafka_error_destroy(e);
    }
}

static void repl_rebalance(struct daemon *d, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *parts, int coop);
static int topic_partitions(struct daemon *d, rd_kafka_t *rk, const char *topic);

/* kafka.learn_from = owned: an assignment of only part of the clicks topic means another
 * instance shares the group, and each learns its model from its share of the stream — said
 * loudly (docs/OPERATIONS.md, "Several instances"). */
static void owned_share(struct daemon *d, rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    int mine = 0, all;

    if (rd_kafka_assignment(rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    for (int i = 0; i < a->cnt; i++) {
        mine += strcmp(a->elems[i].topic, d->topic[RECD_KIND_CLICK]) == 0;
    }
    rd_kafka_topic_partition_list_destroy(a);
    recd_metrics_set(d->metrics, "recd_partitions_owned", NULL, (double)mine);
    all = topic_partitions(d, rk, d->topic[RECD_KIND_CLICK]);
    if (mine > 0 && mine < all) {
        RLOG_WARN(RECD_LOG_KAFKA,
                  "assigned %d of the %d partitions of %s: another instance shares group %s, "
                  "and with kafka.learn_from = \"owned\" each learns its model from its share "
                  "of the stream only and partitions that move restart from the new owner's "
                  "state: set kafka.learn_from = \"all\" on every instance "
                  "(docs/OPERATIONS.md, \"Several instances\")",
                  mine, all, d->topic[RECD_KIND_CLICK],
                  RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka)->group_id);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct daemon *d = opaque;
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    /* NULL once the consumer is closing (librdkafka #4041): the protocol of the last call */
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto != NULL ? strcmp(proto, "COOPERATIVE") == 0 : d->coop;
    int i;

    d->coop = coop;
    recd_metrics_add(d->metrics, "recd_rebalances_total", NULL, 1);
    memset(d->n_parts, 0, sizeof(d->n_parts)); /* partition counts may have changed */
    if (d->repl) {
        repl_rebalance(d, rk, err, parts, coop);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int64_t next;

            if (recd_state_get_offset(d->state, tp->topic, tp->partition, &next) == RECD_OK) {
                tp->offset = next;
            } else {
                tp->offset = strcmp(kc->start_from, "latest") == 0 ? RD_KAFKA_OFFSET_END
                                                                   : RD_KAFKA_OFFSET_BEGINNING;
            }
            fence_set(d, kind_of_topic(d, tp->topic), tp->partition,
                      tp->offset >= 0 ? tp->offset : -1);
            RLOG_INFO(RECD_LOG_KAFKA, "assigned %s[%d] from offset %lld%s", tp->topic,
                      (int)tp->partition, (long long)tp->offset,
                      tp->offset < 0 ? " (no offset in state)" : " (from state)");
            lag_series(d, tp, 1);
        }
        group_assignment(rk, parts, 1, coop);
        d->assigned = 1;
        d->last_msg_ns = recd_now_mono_ns();
        notify_ready(d);
        owned_share(d, rk);
    } else {
        RLOG_INFO(RECD_LOG_KAFKA, "revoking %d partitions: committing the pending batch first",
                  parts->cnt);
        flush_batch(d);
        drain_output(d);
        for (i = 0; i < parts->cnt; i++) {
            lag_series(d, &parts->elems[i], 0);
        }
        unpace(d, rk, parts);
        group_assignment(rk, parts, 0, coop);
        if (!coop) {
            d->assigned = 0;
        }
    }
}

static int push_msg(struct daemon *d, rd_kafka_message_t *m, int silent)
{
    if (d->n_msgs == d->cap_msgs) {
        size_t nc = d->cap_msgs ? d->cap_msgs * 2 : 1024;
        rd_kafka_message_t **nm = realloc(d->msgs, nc * sizeof(*nm));
        unsigned char *ns;
        struct recd_raw *nr;

        if (nm == NULL) {
            return RECD_ENOMEM;
        }
        d->msgs = nm;
        nr = realloc(d->raws, nc * sizeof(*nr));
        if (nr == NULL) {
            return RECD_ENOMEM;
        }
        d->raws = nr;
        ns = realloc(d->msg_silent, nc);
        if (ns == NULL) {
            return RECD_ENOMEM;
        }
        d->msg_silent = ns;
        d->cap_msgs = nc;
    }
    d->msg_silent[d->n_msgs] = (unsigned char)silent;
    d->msgs[d->n_msgs++] = m;
    d->batch_bytes += msg_bytes(m);
    d->last_msg_ns = recd_now_mono_ns();
    return RECD_OK;
}

/* ---- replicated learning (kafka.learn_from = all; daemon/ownership.h) ------------------------ */

/* The event topics (partitioned by user id alike), as enum recd_kind. */
#define N_EVENT_KINDS 4
static const int event_kinds[N_EVENT_KINDS] = { RECD_KIND_CLICK, RECD_KIND_PURCHASE,
                                                RECD_KIND_QUERY, RECD_KIND_DELETION };
#define ALL_EVENT_KINDS                                                                           \
    ((1 << RECD_KIND_CLICK) | (1 << RECD_KIND_PURCHASE) | (1 << RECD_KIND_QUERY) |             \
     (1 << RECD_KIND_DELETION))

static void free_msg(void *m)
{
    rd_kafka_message_destroy(m);
}

static void pause_part(struct daemon *d, struct fence *f, int pause)
{
    f->paused = pause;
    apply_pause(d, f);
}

/* A record into the batch, loud or silent. */
static int take_record(struct daemon *d, rd_kafka_message_t *m, int kind, int32_t p,
                       enum recd_own_class c)
{
    if (push_msg(d, m, c == RECD_OWN_SILENT) != RECD_OK) {
        rd_kafka_message_destroy(m);
        RLOG_ERR(RECD_LOG_MAIN, "out of memory collecting a batch");
        set_failed(d, "out of memory collecting a batch");
        return 0;
    }
    recd_own_took(d->own, kind, p, m->offset + 1);
    return 1;
}

/* An event record of the reader of every partition: into the batch (loud or silent) or held
 * until the partition's owner commits past it. Records of a partition keep their order: once
 * one is held, later ones are held behind it. */
static int accept_replicated(struct daemon *d, struct fence *f, int kind, rd_kafka_message_t *m)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    enum recd_own_class c = recd_own_classify(d->own, kind, m->partition, m->offset);
    size_t n_held = 0, bytes = msg_bytes(m);

    if (f != NULL) {
        f->next = m->offset + 1;
    }
    if (c == RECD_OWN_HOLD || recd_own_n_held_part(d->own, kind, m->partition) > 0) {
        if (recd_own_hold(d->own, kind, m->partition, m->offset, m, bytes, &n_held) !=
            RECD_OK) {
            char msg[160];

            snprintf(msg, sizeof(msg), "out of memory holding %s[%d]@%lld",
                     rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
            rd_kafka_message_destroy(m);
            RLOG_ERR(RECD_LOG_KAFKA, "%s", msg);
            set_failed(d, msg); /* the record is lost to this run: stop before committing */
            return 0;
        }
        if (f != NULL && !f->paused &&
            buf_full(n_held, recd_own_held_bytes_part(d->own, kind, m->partition),
                     kc->hold_buffer_records, kc->hold_buffer_mb)) {
            pause_part(d, f, 1);
            recd_metrics_add(d->metrics, "recd_partition_pauses_total", "reason=\"held_full\"",
                             1);
            RLOG_DEBUG(RECD_LOG_KAFKA, "%s[%d]: %zu records held, fetching paused",
                       rd_kafka_topic_name(m->rkt), (int)m->partition, n_held);
        }
        return 0;
    }
    return take_record(d, m, kind, m->partition, c);
}

static void take_released(void *ctx, void *msg, int kind, int32_t p, enum recd_own_class cls)
{
    (void)take_record(ctx, msg, kind, p, cls);
}

/* Held records the owners have committed past (or that are now ours) join the batch, up to
 * batch.max_records in it. */
static void release_held(struct daemon *d)
{
    const struct recd_conf_batch *bc = RECD_UNIT(d->conf, "batch", struct recd_conf_batch);
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    size_t i, room = d->n_msgs < (size_t)bc->max_records ? (size_t)bc->max_records - d->n_msgs : 0;

    if (d->own == NULL || room == 0 || recd_own_release(d->own, room, take_released, d) == 0) {
        return;
    }
    for (i = 0; i < d->n_fences; i++) {
        struct fence *f = &d->fences[i];

        if (f->paused && f->kind != RECD_KIND_ITEM &&
            buf_below_half(recd_own_n_held_part(d->own, f->kind, f->partition),
                           recd_own_held_bytes_part(d->own, f->kind, f->partition),
                           kc->hold_buffer_records, kc->hold_buffer_mb)) {
            pause_part(d, f, 0);
        }
    }
}

static void republish_user(void *ctx, const char *user)
{
    struct daemon *d = ctx;

    if (recd_pipeline_republish(d->pipeline, user) != RECD_OK) {
        RLOG_WARN(RECD_LOG_MAIN, "out of memory: the list of user \"%.256s\" is not published "
                                 "again at the handover",
                  user);
    }
}

/* A consumer of its own that reads assigned ranges to their end (partition EOF reported),
 * committing nothing: the takeover's reads of the input and output topics. NULL (errstr set)
 * on failure; the caller closes and destroys it. */
static rd_kafka_t *reader_new(struct daemon *d, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_conf_t *rc = NULL;
    rd_kafka_t *rk;

    if (recd_kafka_base_conf(d->conf, &rc, errstr, errlen) != RECD_OK) {
        return NULL;
    }
    if (rd_kafka_conf_set(rc, "enable.auto.commit", "false", errstr, errlen) ||
        rd_kafka_conf_set(rc, "enable.partition.eof", "true", errstr, errlen) ||
        rd_kafka_conf_set(rc, "group.id", kc->group_id, errstr, errlen) ||
        (rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, errstr, errlen)) == NULL) {
        rd_kafka_conf_destroy(rc);
        return NULL;
    }
    return rk; /* rd_kafka_new took rc */
}

/* The users of the records [from, to) of each event topic's partition p (keys read back from
 * Kafka by a consumer of its own) are published again. Returns the records read, or -1 when
 * they could not all be read within kafka.flush_timeout_ms (those users keep the lists the
 * previous owner published until their next event). */
static long reread_users(struct daemon *d, int32_t p, const int64_t from[RECD_OWN_NKINDS],
                         const int64_t to[RECD_OWN_NKINDS])
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    int64_t deadline = recd_now_mono_ns() + kc->flush_timeout_ms * 1000000LL;
    unsigned char done[RECD_OWN_NKINDS] = { 0 };
    int open = 0;
    long n = 0;
    char err[512];

    for (int i = 0; i < N_EVENT_KINDS; i++) {
        int k = event_kinds[i];

        if (to[k] > from[k] && from[k] >= 0) {
            rd_kafka_topic_partition_list_add(l, d->topic[k], p)->offset = from[k];
            open++;
        }
    }
    if (open == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return 0;
    }
    if ((rk = reader_new(d, err, sizeof(err))) == NULL) {
        RLOG_WARN(RECD_LOG_KAFKA, "partition %d: cannot read back the records applied before "
                                  "taking it over: %s",
                  (int)p, err);
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_assign(rk, l);
    while (open > 0 && recd_now_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int k;

        if (m == NULL) {
            continue;
        }
        k = m->rkt != NULL ? kind_of_topic(d, rd_kafka_topic_name(m->rkt)) : -1;
        if (k >= 0 && k < RECD_OWN_NKINDS) {
            if (!done[k] && m->err == 0 && m->offset < to[k] && m->key != NULL) {
                char *u = recd_strndup(m->key, m->key_len);

                if (u != NULL) {
                    republish_user(d, u);
                    n++;
                }
                free(u);
            }
            if (!done[k] && (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                             (m->err == 0 && m->offset + 1 >= to[k]))) {
                rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

                done[k] = 1;
                open--; /* this topic is read up to where this instance had taken it */
                rd_kafka_topic_partition_list_add(one, rd_kafka_topic_name(m->rkt), p);
                rd_kafka_pause_partitions(rk, one);
                rd_kafka_topic_partition_list_destroy(one);
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (open > 0) {
        RLOG_WARN(RECD_LOG_KAFKA, "partition %d: the records applied before taking it over were "
                                  "not all read back within %lld ms",
                  (int)p, (long long)kc->flush_timeout_ms);
        return -1;
    }
    return n;
}

/* The users of partition p's records this instance applied from from[k] up to where it is now
 * get their lists published once more (read back from Kafka: reread_users), before anything is
 * committed past them. */
static void republish_taken(struct daemon *d, int32_t p, const int64_t from_in[RECD_OWN_NKINDS])
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int64_t from[RECD_OWN_NKINDS], to[RECD_OWN_NKINDS], t0;
    long n;

    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        from[k] = from_in[k];
        to[k] = recd_own_took_next(d->own, k, p);
        if (from[k] < 0 && to[k] > 0) {
            /* nothing was ever committed for the partition: what this instance applied of it
             * without publishing is at most its last follow_ahead records */
            from[k] = to[k] > kc->follow_ahead ? to[k] - kc->follow_ahead : 0;
        }
    }
    t0 = recd_now_mono_ns();
    n = reread_users(d, p, from, to);
    if (n > 0) {
        /* published and acknowledged before anything is committed past them: a commit
         * covering their records would hand them to no one */
        flush_batch(d);
        drain_output(d);
    }
    RLOG_NOTICE(RECD_LOG_KAFKA,
                "partition %d: %ld events applied past the previous owner's last commit "
                "(%lld/%lld/%lld/%lld): their users' lists published again (read back and "
                "published in %.0f ms)",
                (int)p, n, (long long)from_in[RECD_KIND_CLICK],
                (long long)from_in[RECD_KIND_PURCHASE], (long long)from_in[RECD_KIND_QUERY],
                (long long)from_in[RECD_KIND_DELETION], (double)(recd_now_mono_ns() - t0) / 1e6);
}

static rd_kafka_topic_partition_list_t *committed(struct daemon *d, int not_owned,
                                                  int32_t only_p);

/* The stamp in the metadata of the group's commit of partition p (RECD_COMMIT_STAMP; the
 * lowest over its topics), or -1: nothing committed, or by a recd that wrote no stamp. */
static int64_t commit_stamp(struct daemon *d, int32_t p)
{
    rd_kafka_topic_partition_list_t *l = committed(d, 0, p);
    const size_t plen = sizeof(RECD_COMMIT_STAMP) - 1;
    int64_t t = -1;

    for (int i = 0; l != NULL && i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        char buf[64];
        long long v;

        if (tp->err || tp->offset < 0 || tp->metadata == NULL || tp->metadata_size <= plen ||
            tp->metadata_size >= sizeof(buf)) {
            continue;
        }
        memcpy(buf, tp->metadata, tp->metadata_size);
        buf[tp->metadata_size] = '\0';
        if (strncmp(buf, RECD_COMMIT_STAMP, plen) == 0 && sscanf(buf + plen, "%lld", &v) == 1 &&
            v > 0 && (t < 0 || v < t)) {
            t = v;
        }
    }
    if (l != NULL) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    return t;
}

/* How far the owners of partition p published: the highest next offsets per event kind in the
 * RECD_SOURCE_HEADER of the output records for p produced since since_ms (every partition of
 * the recommendations topic read from there to its end). y[k] = -1 where none. Returns the
 * output records read, or -1 when they could not all be read within kafka.flush_timeout_ms. */
static long published_beyond(struct daemon *d, int32_t p, int64_t since_ms,
                             int64_t y[RECD_OWN_NKINDS])
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    const char *topic = d->topic[RECD_KIND_RECS];
    int64_t deadline = recd_now_mono_ns() + kc->flush_timeout_ms * 1000000LL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *l = NULL, *a = NULL;
    unsigned char *done = NULL;
    int n_out, open = 0;
    long n = -1, seen = 0;
    char err[512];

    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        y[k] = -1;
    }
    if ((rk = reader_new(d, err, sizeof(err))) == NULL) {
        RLOG_WARN(RECD_LOG_KAFKA, "partition %d: cannot read the recommendations topic: %s",
                  (int)p, err);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    n_out = topic_partitions(d, rk, topic);
    if (n_out <= 0 || (done = calloc((size_t)n_out, 1)) == NULL) {
        goto out;
    }
    l = rd_kafka_topic_partition_list_new(n_out);
    a = rd_kafka_topic_partition_list_new(n_out);
    for (int i = 0; i < n_out; i++) {
        rd_kafka_topic_partition_list_add(l, topic, i)->offset = since_ms;
    }
    if (rd_kafka_offsets_for_times(rk, l, kc->flush_timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        goto out;
    }
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].err == 0 && l->elems[i].offset >= 0) { /* -1: nothing since */
            rd_kafka_topic_partition_list_add(a, topic, l->elems[i].partition)->offset =
                l->elems[i].offset;
            open++;
        }
    }
    if (open > 0) {
        rd_kafka_assign(rk, a);
    }
    while (open > 0 && recd_now_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        rd_kafka_headers_t *h = NULL;
        const void *v = NULL;
        size_t vl = 0;

        if (m == NULL) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->partition >= 0 &&
            m->partition < n_out && !done[m->partition]) {
            rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

            done[m->partition] = 1;
            open--; /* read up to its end as it was then */
            rd_kafka_topic_partition_list_add(one, topic, m->partition);
            rd_kafka_pause_partitions(rk, one);
            rd_kafka_topic_partition_list_destroy(one);
        } else if (m->err == 0) {
            seen++;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(h, RECD_SOURCE_HEADER, &v, &vl) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                v != NULL && vl > 0 && vl < 128) {
                char buf[128];
                int hp;
                long long o[4];

                memcpy(buf, v, vl);
                buf[vl] = '\0';
                if (sscanf(buf, "%d:%lld,%lld,%lld,%lld", &hp, &o[0], &o[1], &o[2], &o[3]) == 5 &&
                    hp == p) {
                    const int kinds[4] = { RECD_KIND_CLICK, RECD_KIND_PURCHASE, RECD_KIND_QUERY,
                                           RECD_KIND_DELETION };

                    for (int i = 0; i < 4; i++) {
                        y[kinds[i]] = o[i] > y[kinds[i]] ? o[i] : y[kinds[i]];
                    }
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    n = open == 0 ? seen : -1;
out:
    if (n < 0) {
        RLOG_WARN(RECD_LOG_KAFKA, "partition %d: the recommendations topic could not be read "
                                  "from %lld within %lld ms: a previous owner killed after its "
                                  "last commit may have published lists with higher seq",
                  (int)p, (long long)since_ms, (long long)kc->flush_timeout_ms);
    }
    if (l != NULL) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (a != NULL) {
        rd_kafka_topic_partition_list_destroy(a);
    }
    free(done);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

static void stamp_commit(struct daemon *d, int32_t p, const int64_t from[RECD_OWN_NKINDS]);

/* Partition p publishes from now on. A previous owner killed after its last commit may have
 * published lists past it; published_beyond reads how far from the output topic, and nothing
 * is published for p until this instance has applied that far: its lists then carry the same
 * or higher seqs. Then the users of the records applied past the commit get their lists once
 * more (republish_taken). */
static void start_publishing(struct daemon *d, int32_t p)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int64_t *from = &d->republish_from[(size_t)p * RECD_OWN_NKINDS];
    int64_t y[RECD_OWN_NKINDS], since = commit_stamp(d, p), t0 = recd_now_mono_ns();
    int ahead = 0;

    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        from[k] = recd_own_pub_from(d->own, k, p);
    }
    if (since < 0) {
        stamp_commit(d, p, from);
    }
    if (since > 0 && published_beyond(d, p, since - kc->commit_interval_ms, y) >= 0) {
        for (int k = 0; k < RECD_OWN_NKINDS; k++) {
            ahead |= y[k] > recd_own_pub_from(d->own, k, p) &&
                     y[k] > recd_own_took_next(d->own, k, p);
        }
        recd_own_raise_pub_from(d->own, p, y);
        if (ahead) {
            recd_metrics_add(d->metrics, "recd_takeovers_behind_total", NULL, 1);
            RLOG_NOTICE(RECD_LOG_KAFKA,
                        "partition %d: its previous owner published up to %lld/%lld/%lld/%lld "
                        "(clicks/purchases/queries/deletions), past its last commit and past "
                        "what this instance applied (%lld/%lld/%lld/%lld): applied up to there "
                        "without publishing first (output topic read in %.0f ms)",
                        (int)p, (long long)y[RECD_KIND_CLICK], (long long)y[RECD_KIND_PURCHASE],
                        (long long)y[RECD_KIND_QUERY], (long long)y[RECD_KIND_DELETION],
                        (long long)recd_own_took_next(d->own, RECD_KIND_CLICK, p),
                        (long long)recd_own_took_next(d->own, RECD_KIND_PURCHASE, p),
                        (long long)recd_own_took_next(d->own, RECD_KIND_QUERY, p),
                        (long long)recd_own_took_next(d->own, RECD_KIND_DELETION, p),
                        (double)(recd_now_mono_ns() - t0) / 1e6);
        }
    }
    d->republish_due[p] = (unsigned char)!recd_own_caught_up(d->own, p);
    RLOG_NOTICE(RECD_LOG_KAFKA,
                "publishing for partition %d from offsets %lld/%lld/%lld/%lld "
                "(clicks/purchases/queries/deletions; -1: from the first)%s",
                (int)p, (long long)recd_own_pub_from(d->own, RECD_KIND_CLICK, p),
                (long long)recd_own_pub_from(d->own, RECD_KIND_PURCHASE, p),
                (long long)recd_own_pub_from(d->own, RECD_KIND_QUERY, p),
                (long long)recd_own_pub_from(d->own, RECD_KIND_DELETION, p),
                d->republish_due[p] ? ", once every topic of it is applied up to there" : "");
    if (!d->republish_due[p]) {
        republish_taken(d, p, from); /* else republish_caught_up() */
    }
}

/* Partitions taken over from a killed owner that published past its commit: once every topic
 * is applied up to where it published, their users' lists go out once more. */
static void republish_caught_up(struct daemon *d)
{
    int32_t np = recd_own_n_partitions(d->own);

    for (int32_t p = 0; p < np; p++) {
        if (!d->republish_due[p]) {
            continue;
        }
        if (!recd_own_owned(d->own, p)) {
            d->republish_due[p] = 0; /* revoked meanwhile: the next owner republishes */
        } else if (recd_own_caught_up(d->own, p)) {
            d->republish_due[p] = 0;
            republish_taken(d, p, &d->republish_from[(size_t)p * RECD_OWN_NKINDS]);
        }
    }
}

/* Whether this instance publishes a user's lists (expired users' tombstones): the partition
 * Kafka's default partitioner gives the user id, as for every event topic. */
static int owns_user(void *ctx, const char *user_id)
{
    struct daemon *d = ctx;
    int32_t p = rd_kafka_msg_partitioner_murmur2(NULL, user_id, strlen(user_id),
                                                 recd_own_n_partitions(d->own), NULL, NULL);

    return recd_own_owned(d->own, p);
}

/* Partitions of a topic, 0 when it does not exist (yet). */
static int topic_partitions(struct daemon *d, rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = 0;

    if (rkt == NULL) {
        return 0;
    }
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == 0) {
        n = md->topics[0].partition_cnt;
    }
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    (void)d;
    return n;
}

/* Every partition of every event topic, from the offsets in the state. The clicks topic
 * decides the partition count; the other event topics must have the same (they are
 * partitioned by user id alike); a topic that does not exist yet is assigned once it does. */
static void events_assign(struct daemon *d)
{
    rd_kafka_topic_partition_list_t *parts;
    int i, added = 0;

    if (d->events_kinds == ALL_EVENT_KINDS || recd_now_mono_ns() < d->events_retry_ns) {
        return;
    }
    d->events_retry_ns = recd_now_mono_ns() + 5000000000LL;
    if (d->own == NULL) {
        int n = topic_partitions(d, d->events, d->topic[RECD_KIND_CLICK]);

        if (n == 0) {
            RLOG_INFO(RECD_LOG_KAFKA, "clicks topic %s not available yet; retrying",
                      d->topic[RECD_KIND_CLICK]);
            return;
        }
        d->own = recd_own_new(n, free_msg);
        d->retry_part = calloc((size_t)n, 1);
        d->part_flag = calloc((size_t)n, 1);
        d->retry_off = calloc((size_t)n * RECD_OWN_NKINDS, sizeof(*d->retry_off));
        d->republish_due = calloc((size_t)n, 1);
        d->republish_from = calloc((size_t)n * RECD_OWN_NKINDS, sizeof(*d->republish_from));
        if (d->own == NULL || d->retry_part == NULL || d->part_flag == NULL ||
            d->retry_off == NULL || d->republish_due == NULL || d->republish_from == NULL) {
            set_failed(d, "out of memory");
            return;
        }
        recd_pipeline_set_owner(d->pipeline, owns_user, d);
    }
    parts = rd_kafka_topic_partition_list_new(4 * recd_own_n_partitions(d->own));
    for (i = 0; i < N_EVENT_KINDS; i++) {
        int k = event_kinds[i], n;

        if (d->events_kinds & (1 << k)) {
            continue;
        }
        n = topic_partitions(d, d->events, d->topic[k]);
        if (n == 0) {
            continue;
        }
        if (n != recd_own_n_partitions(d->own)) {
            char msg[600];

            snprintf(msg, sizeof(msg),
                     "kafka.learn_from = all needs every event topic partitioned alike: %s has "
                     "%d partitions, %s has %d",
                     d->topic[RECD_KIND_CLICK], (int)recd_own_n_partitions(d->own), d->topic[k],
                     n);
            RLOG_ERR(RECD_LOG_KAFKA, "%s", msg);
            set_failed(d, msg);
            break;
        }
        for (int32_t p = 0; p < n; p++) {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(parts, d->topic[k],
                                                                               p);
            const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka",
                                                         struct recd_conf_kafka);
            int64_t next;

            if (recd_state_get_offset(d->state, d->topic[k], p, &next) == RECD_OK) {
                tp->offset = next;
                recd_own_set_acked(d->own, k, p, next); /* the outbox was recovered */
                recd_own_took(d->own, k, p, next);
            } else {
                tp->offset = strcmp(kc->start_from, "latest") == 0 ? RD_KAFKA_OFFSET_END
                                                                   : RD_KAFKA_OFFSET_BEGINNING;
            }
            fence_set(d, k, p, tp->offset >= 0 ? tp->offset : -1);
        }
        d->events_kinds |= 1 << k;
        added = 1;
        RLOG_INFO(RECD_LOG_KAFKA, "reading all %d partitions of %s (kafka.learn_from = all)", n,
                  d->topic[k]);
    }
    if (added) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(d->events, parts);

        if (e != NULL) {
            RLOG_ERR(RECD_LOG_KAFKA, "assign: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        d->assigned = 1;
        d->last_msg_ns = recd_now_mono_ns();
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* kafka.learn_from = all: records are held (waiting for the group's assignment, for an owner's
 * commit, or for the other topics of their partition) or a partition is settling, so the input
 * taken so far is not done with: --exit-idle does not count such a wait as idle. */
static int repl_pending(const struct daemon *d)
{
    int32_t p;

    if (!d->repl || d->own == NULL) {
        return 0;
    }
    if (recd_own_n_held(d->own) > 0) {
        return 1;
    }
    for (p = 0; p < recd_own_n_partitions(d->own); p++) {
        if (recd_own_settling(d->own, p)) {
            return 1;
        }
    }
    return 0;
}

/* The offsets the owners committed (kinds x partitions; only for partitions not owned here
 * when `not_owned`). Returns the list (the caller destroys it) or NULL when the group
 * coordinator did not answer. */
static rd_kafka_topic_partition_list_t *committed(struct daemon *d, int not_owned, int32_t only_p)
{
    int32_t np = recd_own_n_partitions(d->own);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4 * np);
    rd_kafka_resp_err_t err;

    for (int i = 0; i < N_EVENT_KINDS; i++) {
        for (int32_t p = 0; p < np; p++) {
            if ((only_p >= 0 && p != only_p) || (not_owned && recd_own_owned(d->own, p))) {
                continue;
            }
            rd_kafka_topic_partition_list_add(l, d->topic[event_kinds[i]], p);
        }
    }
    if (l->cnt == 0) {
        return l;
    }
    err = rd_kafka_committed(d->consumer, l, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        recd_log_rl(RECD_LOG_KAFKA, RECD_LOG_WARNING, "committed",
                    "cannot read the group's committed offsets: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return NULL;
    }
    return l;
}

static void retry_handover_commits(struct daemon *d);

/* Follow the owners: raise the limits to their committed offsets, release what they cover;
 * before joining, join once caught up. */
static void follow(struct daemon *d)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_topic_partition_list_t *l;
    int64_t now = recd_now_mono_ns(), lag = 0;
    size_t settling = 0;
    int32_t np;
    int i, unknown = 0;

    if (d->own == NULL || now < d->follow_next_ns) {
        return;
    }
    d->follow_next_ns = now + kc->follow_interval_ms * 1000000LL;
    retry_handover_commits(d);
    l = committed(d, 1, -1);
    if (l == NULL) {
        unknown++; /* the settling below goes on: it does not need this answer */
    }
    for (i = 0; l != NULL && i < l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        int k = kind_of_topic(d, tp->topic);
        struct fence *f = fence_find(d, k, tp->partition);

        if (tp->err) {
            unknown++;
            continue;
        }
        if (tp->offset < 0) {
            continue;
        }
        recd_own_set_limit(d->own, k, tp->partition, tp->offset);
        if (f != NULL && f->next >= 0 && tp->offset > f->next) {
            lag += tp->offset - f->next;
        } else if (f != NULL && f->next < 0) {
            lag += tp->offset;
        }
    }
    if (l != NULL) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    np = recd_own_n_partitions(d->own);
    for (int32_t p = 0; p < np; p++) {
        d->part_flag[p] = (unsigned char)(recd_own_settling(d->own, p) ? 1 : 0);
        settling += d->part_flag[p];
    }
    if (settling != 0) {
        (void)recd_own_settle(d->own, now);
    }
    for (int32_t p = 0; settling != 0 && p < np; p++) {
        if (d->part_flag[p] && recd_own_owned(d->own, p)) {
            start_publishing(d, p);
        }
    }
    republish_caught_up(d);
    release_held(d);
    if (unknown == 0) {
        recd_metrics_set(d->metrics, "recd_follow_lag_records", NULL, (double)lag);
    }
    recd_metrics_set(d->metrics, "recd_held_records", NULL, (double)recd_own_n_held(d->own));
    if (!d->joined && d->events_kinds != 0 && unknown == 0 && lag <= kc->join_max_lag) {
        rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);

        rd_kafka_topic_partition_list_add(subs, d->topic[RECD_KIND_CLICK], RD_KAFKA_PARTITION_UA);
        if (rd_kafka_subscribe(d->consumer, subs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            d->joined = 1;
            RLOG_NOTICE(RECD_LOG_KAFKA,
                        "caught up with the group's committed offsets (%lld records behind): "
                        "joining group %s to publish for the partitions it assigns",
                        (long long)lag, kc->group_id);
        }
        rd_kafka_topic_partition_list_destroy(subs);
    }
}

/* Commit offsets of partition p (off[] indexed by kind, < 0: none) to the group. */
static rd_kafka_resp_err_t commit_offsets(struct daemon *d, rd_kafka_topic_partition_list_t *l,
                                          int sync)
{
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (l->cnt > 0) {
        err = rd_kafka_commit(d->consumer, l, !sync);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            recd_log_rl(RECD_LOG_KAFKA, RECD_LOG_WARNING, "commit_owned",
                        "cannot commit the published offsets: %s", rd_kafka_err2str(err));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return err == RD_KAFKA_RESP_ERR__NO_OFFSET ? RD_KAFKA_RESP_ERR_NO_ERROR : err;
}

static void add_offsets(struct daemon *d, rd_kafka_topic_partition_list_t *l, int32_t p,
                        const int64_t off[RECD_OWN_NKINDS])
{
    int64_t stamp = recd_own_acked_stamp(d->own);
    char meta[64];
    int n = snprintf(meta, sizeof(meta), RECD_COMMIT_STAMP "%lld",
                     (long long)(stamp > 0 ? stamp : d->start_wall_ms));

    for (int i = 0; i < N_EVENT_KINDS; i++) {
        int k = event_kinds[i];

        if (off[k] >= 0 && (d->events_kinds & (1 << k))) {
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, d->topic[k], p);

            tp->offset = off[k];
            tp->metadata = malloc((size_t)n); /* freed with the list (librdkafka frees it) */
            if (tp->metadata != NULL) {
                memcpy(tp->metadata, meta, (size_t)n);
                tp->metadata_size = (size_t)n;
            }
        }
    }
}

/* A partition without a stamped commit in the group (a new group, or commits of a recd that
 * wrote no stamp) gets one before this instance publishes its first list for it: the offsets
 * publishing starts from (`from`; the first offset of a topic the group has no commit of),
 * stamped as every commit is (add_offsets: no earlier than this instance's first output for
 * the partition). Without it an owner killed before its first regular commit left nothing
 * that told the next owner to read the output topic (published_beyond): the next owner
 * published from the first offset again, lower seqs than the dead owner's. A refused commit
 * is logged; publishing goes on (the next regular commit stamps the partition). */
static void stamp_commit(struct daemon *d, int32_t p, const int64_t from[RECD_OWN_NKINDS])
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(RECD_OWN_NKINDS);
    int64_t off[RECD_OWN_NKINDS];
    rd_kafka_resp_err_t err;

    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        int64_t lo = -1, hi = -1;

        off[k] = from[k];
        if (off[k] < 0 && (d->events_kinds & (1 << k)) &&
            rd_kafka_query_watermark_offsets(d->consumer, d->topic[k], p, &lo, &hi,
                                             STAMP_WATERMARK_TIMEOUT_MS) ==
                RD_KAFKA_RESP_ERR_NO_ERROR) {
            off[k] = lo;
        }
    }
    add_offsets(d, l, p, off);
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        err = RD_KAFKA_RESP_ERR__NO_OFFSET;
    } else {
        err = commit_offsets(d, l, 1);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        RLOG_WARN(RECD_LOG_KAFKA,
                     "partition %d: cannot stamp the group's offsets before publishing (%s): "
                     "should this instance be killed before its first commit, the next owner "
                     "would publish its users' lists from the first offset again",
                     (int)p, rd_kafka_err2str(err));
    } else {
        RLOG_INFO(RECD_LOG_KAFKA,
                  "partition %d: the group had no stamped commit: committed %lld/%lld/%lld/%lld "
                  "(clicks/purchases/queries/deletions) with a stamp before publishing",
                  (int)p, (long long)off[RECD_KIND_CLICK], (long long)off[RECD_KIND_PURCHASE],
                  (long long)off[RECD_KIND_QUERY], (long long)off[RECD_KIND_DELETION]);
    }
}

/* Where publishing continues after this instance: per kind, the next offset whose output is
 * acknowledged, never below where this instance started publishing (the group's committed
 * offset must not move back while the state here catches up); < 0: nothing to commit. */
static void published_offsets(struct daemon *d, int32_t p, int64_t off[RECD_OWN_NKINDS])
{
    for (int k = 0; k < RECD_OWN_NKINDS; k++) {
        int64_t a = recd_own_acked(d->own, k, p);

        off[k] = a >= 0 && a >= recd_own_pub_from(d->own, k, p) ? a : -1;
    }
}

/* Commit, for the partitions publishing here, the offsets whose output is acknowledged: where
 * the next owner starts publishing. */
static rd_kafka_resp_err_t commit_owned(struct daemon *d, int sync)
{
    rd_kafka_topic_partition_list_t *l;
    int64_t off[RECD_OWN_NKINDS];
    int32_t np;

    if (d->own == NULL || !d->joined) {
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    np = recd_own_n_partitions(d->own);
    l = rd_kafka_topic_partition_list_new(4 * np);
    for (int32_t p = 0; p < np; p++) {
        if (recd_own_owned(d->own, p)) {
            published_offsets(d, p, off);
            add_offsets(d, l, p, off);
        }
    }
    return commit_offsets(d, l, sync);
}

/* A partition handed over whose final commit the group refused (a commit while the group
 * completes a rebalance is refused): committed again — the offsets of the handover, not this
 * instance's later position — for half the new owner's settle time. */
static void retry_handover_commits(struct daemon *d)
{
    int64_t now = recd_now_mono_ns();
    int32_t np;
    size_t left = 0;

    if (d->own == NULL || d->retry_until_ns == 0) {
        return;
    }
    np = recd_own_n_partitions(d->own);
    for (int32_t p = 0; p < np; p++) {
        rd_kafka_topic_partition_list_t *l;

        if (!d->retry_part[p]) {
            continue;
        }
        if (now < d->retry_until_ns && !recd_own_owned(d->own, p) &&
            !recd_own_settling(d->own, p)) {
            l = rd_kafka_topic_partition_list_new(4);
            add_offsets(d, l, p, &d->retry_off[(size_t)p * RECD_OWN_NKINDS]);
            if (commit_offsets(d, l, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                left++;
                continue;
            }
            RLOG_INFO(RECD_LOG_KAFKA, "partition %d: handover offsets committed on retry", (int)p);
        }
        d->retry_part[p] = 0;
    }
    if (left == 0) {
        d->retry_until_ns = 0;
    }
}

/* Publish and commit the pending batch, then give partitions parts up in d->own (the revoke
 * half of repl_rebalance; hand_over_all calls it at a clean stop). lost: fenced by the group,
 * its commits would be refused: they are retried from the next generation. */
static void hand_over(struct daemon *d, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int i;

    /* lost (the group fenced this member, e.g. its generation became invalid): its
     * commits are refused until it rejoins, so the offsets published so far are
     * committed from the next generation on (retry_handover_commits), while the new
     * owner settles */
    RLOG_NOTICE(RECD_LOG_KAFKA, "%s %d partitions: publishing and committing the pending "
                                "batch first",
                lost ? "lost" : "handing over", parts->cnt);
    flush_batch(d);
    drain_output(d);
    for (i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        int64_t next[RECD_OWN_NKINDS] = { -1, -1, -1, -1, -1 };

        if (p < 0 || p >= recd_own_n_partitions(d->own)) {
            continue;
        }
        if (recd_own_owned(d->own, p)) {
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);

            published_offsets(d, p, next);
            add_offsets(d, l, p, next);
            if (lost) {
                rd_kafka_topic_partition_list_destroy(l);
            }
            if (lost || commit_offsets(d, l, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                memcpy(&d->retry_off[(size_t)p * RECD_OWN_NKINDS], next, sizeof(next));
                d->retry_part[p] = 1;
                d->retry_until_ns = recd_now_mono_ns() + kc->handover_settle_ms * 500000LL;
            }
        }
        recd_own_revoke(d->own, p, next);
    }
}

/* A clean stop (learn_from = all): hand every partition over (publish, commit) before the group
 * consumer closes; from then on (d->closing) its rebalance callbacks only (un)assign — a
 * synchronous commit (or committed()) from the callback that rd_kafka_consumer_close() serves
 * can wait forever (seen with a rebalance in progress at the close). */
static void hand_over_all(struct daemon *d)
{
    rd_kafka_topic_partition_list_t *mine = NULL;

    if (d->repl && d->own != NULL && d->consumer != NULL &&
        rd_kafka_assignment(d->consumer, &mine) == 0 && mine->cnt > 0) {
        hand_over(d, mine, rd_kafka_assignment_lost(d->consumer));
    }
    if (mine != NULL) {
        rd_kafka_topic_partition_list_destroy(mine);
    }
    d->closing = 1;
}

static void repl_rebalance(struct daemon *d, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *parts, int coop)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    int i;

    if (d->closing) {
        /* stopping (hand_over_all ran): nothing is published or committed any more; the
         * group's protocol still wants the (un)assignment */
        group_assignment(rk, parts, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, coop);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            int64_t from[RECD_OWN_NKINDS] = { -1, -1, -1, -1, -1 };
            rd_kafka_topic_partition_list_t *c = committed(d, 0, p);

            for (int j = 0; c != NULL && j < c->cnt; j++) {
                int k = kind_of_topic(d, c->elems[j].topic);

                if (k >= 0 && k < RECD_OWN_NKINDS && c->elems[j].err == 0) {
                    from[k] = c->elems[j].offset;
                }
            }
            if (c != NULL) {
                rd_kafka_topic_partition_list_destroy(c);
            }
            for (int x = 0; x < RECD_OWN_NKINDS; x++) {
                from[x] = from[x] < 0 ? -1 : from[x]; /* RD_KAFKA_OFFSET_INVALID: none */
            }
            recd_own_assign(d->own, p, from,
                            kc->handover_settle_ms > 0
                                ? recd_now_mono_ns() + kc->handover_settle_ms * 1000000LL
                                : 0);
            recd_metrics_add(d->metrics, "recd_partition_handovers_total", NULL, 1);
            if (recd_own_owned(d->own, p)) {
                start_publishing(d, p); /* handover_settle_ms = 0 */
            }
            RLOG_NOTICE(RECD_LOG_KAFKA,
                        "assigned partition %d: the group committed %lld/%lld/%lld/%lld "
                        "(clicks/purchases/queries/deletions; -1: nothing); publishing after "
                        "%lld ms of settling",
                        (int)p, (long long)from[RECD_KIND_CLICK],
                        (long long)from[RECD_KIND_PURCHASE], (long long)from[RECD_KIND_QUERY],
                        (long long)from[RECD_KIND_DELETION], (long long)kc->handover_settle_ms);
        }
        group_assignment(rk, parts, 1, coop);
        /* the group consumer fetches nothing: every record comes through the reader of all
         * partitions */
        rd_kafka_pause_partitions(rk, parts);
        /* from the first partition assigned on, apply other partitions ahead of their owners'
         * commits (before it — also in the empty first round of a cooperative rebalance —
         * partitions applied ahead and then handed over as the instances join would be
         * published only as their users' newest lists) */
        if (parts->cnt > 0) {
            recd_own_set_ahead(d->own, kc->follow_ahead);
        }
        release_held(d);
        notify_ready(d);
    } else {
        hand_over(d, parts, rd_kafka_assignment_lost(rk));
        group_assignment(rk, parts, 0, coop);
    }
    recd_metrics_set(d->metrics, "recd_partitions_owned", NULL,
                     (double)recd_own_n_owned(d->own));
}

/* Every producer of the event topics must place a user's records with Kafka's default
 * partitioner (murmur2 of the key, as the Java client): otherwise a user's events are split
 * over partitions (and, with several instances, over owners). Count the records that are not
 * where their key hashes to. */
static void check_partition(struct daemon *d, rd_kafka_t *rk, int kind, const rd_kafka_message_t *m)
{
    int32_t want;

    if (m->key == NULL || m->key_len == 0) {
        return;
    }
    if (d->n_parts[kind] <= 0) {
        d->n_parts[kind] = topic_partitions(d, rk, d->topic[kind]);
        if (d->n_parts[kind] <= 0) {
            return;
        }
    }
    want = rd_kafka_msg_partitioner_murmur2(NULL, m->key, m->key_len, d->n_parts[kind], NULL,
                                            NULL);
    if (want != m->partition && m->partition < d->n_parts[kind]) {
        char labels[300];

        d->wrong_partition++;
        snprintf(labels, sizeof(labels), "topic=\"%.250s\"", d->topic[kind]);
        recd_metrics_add(d->metrics, "recd_records_wrong_partition_total", labels, 1);
        recd_log_rl(RECD_LOG_KAFKA, RECD_LOG_WARNING, "wrong_partition",
                    "%s[%d]@%lld: its key hashes to partition %d of %d (murmur2, Kafka's default "
                    "partitioner): its producer uses another partitioner, so this user's events "
                    "are split over partitions",
                    d->topic[kind], (int)m->partition, (long long)m->offset, (int)want,
                    d->n_parts[kind]);
    }
}

/* Accept a polled message: errors are logged and dropped (a fatal client error stops recd),
 * so are records below the partition's fence. Returns 1 if kept. */
/* A record of a paced partition (or one behind its parked records) waits in the partition's
 * parking buffer; the buffer full, fetching pauses. Returns 1 when m was parked (kept), 0
 * when the caller takes it (buffering off, or out of memory: then the order within the
 * partition is kept by taking the parked ones first). */
static int park_msg(struct daemon *d, struct fence *f, rd_kafka_message_t *m)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);

    if (kc->pace_buffer_records <= 0) {
        return 0;
    }
    if (f->park_head > 0 && f->park_head == f->park_n) {
        f->park_head = f->park_n = 0;
    }
    if (f->park_n == f->park_cap) {
        if (f->park_head > 0) {
            memmove(f->parked, f->parked + f->park_head, n_parked(f) * sizeof(*f->parked));
            f->park_n -= f->park_head;
            f->park_head = 0;
        } else {
            size_t nc = f->park_cap ? f->park_cap * 2 : 1024;
            rd_kafka_message_t **np = realloc(f->parked, nc * sizeof(*np));

            if (np == NULL) {
                return 0;
            }
            f->parked = np;
            f->park_cap = nc;
        }
    }
    f->parked[f->park_n++] = m;
    f->park_bytes += msg_bytes(m);
    if (!f->park_full &&
        buf_full(n_parked(f), f->park_bytes, kc->pace_buffer_records, kc->pace_buffer_mb)) {
        f->park_full = 1;
        apply_pause(d, f);
        recd_metrics_add(d->metrics, "recd_partition_pauses_total", "reason=\"pace_buffer_full\"",
                         1);
    }
    return 1;
}


/* The parked records of partitions no longer paced join the batch, oldest first, up to
 * batch.max_records in it. */
static void release_parked(struct daemon *d)
{
    const struct recd_conf_batch *bc = RECD_UNIT(d->conf, "batch", struct recd_conf_batch);
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);

    for (size_t i = 0; i < d->n_fences && d->n_msgs < (size_t)bc->max_records; i++) {
        struct fence *f = &d->fences[i];

        if (f->paced || n_parked(f) == 0) {
            continue;
        }
        while (n_parked(f) > 0 && d->n_msgs < (size_t)bc->max_records) {
            rd_kafka_message_t *m = f->parked[f->park_head++];

            f->park_bytes -= msg_bytes(m);
            (void)take_msg(d, f, f->kind, m);
        }
        if (f->park_full &&
            buf_below_half(n_parked(f), f->park_bytes, kc->pace_buffer_records,
                           kc->pace_buffer_mb)) {
            f->park_full = 0;
            apply_pause(d, f);
        }
    }
}

static int accept_msg(struct daemon *d, rd_kafka_t *rk, rd_kafka_message_t *m)
{
    struct fence *f;
    int kind;

    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char why[512], msg[600];

            rd_kafka_fatal_error(rk, why, sizeof(why));
            snprintf(msg, sizeof(msg), "fatal Kafka consumer error: %s", why);
            RLOG_ERR(RECD_LOG_KAFKA, "%s", msg);
            set_failed(d, msg);
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* nothing more to fetch there now: it does not hold others back (pace) */
            if (m->rkt != NULL && (kind = kind_of_topic(d, rd_kafka_topic_name(m->rkt))) >= 0 &&
                (f = fence_find(d, kind, m->partition)) != NULL) {
                f->at_end = 1;
            }
        } else {
            recd_log_rl(RECD_LOG_KAFKA, RECD_LOG_WARNING, "consume_error", "consume: %s",
                        rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return 0;
    }
    kind = kind_of_topic(d, rd_kafka_topic_name(m->rkt));
    if (kind < 0) {
        rd_kafka_message_destroy(m);
        return 0;
    }
    f = fence_find(d, kind, m->partition);
    if (f != NULL) {
        f->at_end = 0;
    }
    if (f != NULL && f->next >= 0 && m->offset < f->next) {
        d->skipped++;
        recd_metrics_add(d->metrics, "recd_records_skipped_total", "reason=\"already_consumed\"",
                         1);
        recd_log_rl(RECD_LOG_KAFKA, RECD_LOG_WARNING, "fence",
                    "%s[%d]@%lld is below the next offset %lld recd consumes from that "
                    "partition (the client rewound it): skipped, not applied twice",
                    rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
                    (long long)f->next);
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (kind != RECD_KIND_ITEM) {
        check_partition(d, rk, kind, m);
    }
    if (kind == RECD_KIND_DELETION && defer_deletion(d, f, m)) {
        return 0;
    }
    if (f != NULL && paced_kind(kind) && (f->paced || n_parked(f) > 0) && park_msg(d, f, m)) {
        return 0;
    }
    return take_msg(d, f, kind, m);
}

/* A record into the batch (learn_from = all: through its owner's order). Returns 1 if kept. */
static int take_msg(struct daemon *d, struct fence *f, int kind, rd_kafka_message_t *m)
{
    if (d->repl && kind != RECD_KIND_ITEM) {
        return accept_replicated(d, f, kind, m);
    }
    if (push_msg(d, m, 0) != RECD_OK) {
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (f != NULL) {
        f->next = m->offset + 1;
    }
    return 1;
}

/* The items topic is a global table: every instance reads all of its partitions. */
static void items_assign(struct daemon *d)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    rd_kafka_topic_partition_list_t *parts;
    int i;

    if (d->items_assigned || recd_now_mono_ns() < d->items_retry_ns) {
        return;
    }
    d->items_retry_ns = recd_now_mono_ns() + 5000000000LL;
    rkt = rd_kafka_topic_new(d->items, d->topic[RECD_KIND_ITEM], NULL);
    if (rkt == NULL) {
        return;
    }
    if (rd_kafka_metadata(d->items, 0, rkt, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        RLOG_INFO(RECD_LOG_KAFKA, "items topic %s not available yet; retrying",
                  d->topic[RECD_KIND_ITEM]);
        if (md) {
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        return;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t next;
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(
            parts, d->topic[RECD_KIND_ITEM], p);

        tp->offset = recd_state_get_offset(d->state, tp->topic, p, &next) == RECD_OK
            ? next
            : RD_KAFKA_OFFSET_BEGINNING;
        fence_set(d, RECD_KIND_ITEM, p, tp->offset >= 0 ? tp->offset : -1);
    }
    rd_kafka_assign(d->items, parts);
    RLOG_INFO(RECD_LOG_KAFKA, "reading items topic %s (%d partitions) in full",
              d->topic[RECD_KIND_ITEM], parts->cnt);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    d->items_assigned = 1;
}

static void collect_batch(struct daemon *d)
{
    const struct recd_conf_batch *bc = RECD_UNIT(d->conf, "batch", struct recd_conf_batch);
    int64_t deadline = recd_now_mono_ns() + bc->max_wait_ms * 1000000LL;
    rd_kafka_message_t *m;

    items_assign(d);
    rd_kafka_poll(d->producer, 0); /* delivery reports: in-flight batches complete */
    pace_partitions(d);
    release_parked(d);
    if (d->repl) {
        events_assign(d);
        follow(d);
        release_held(d);
        if (recd_now_mono_ns() >= d->commit_next_ns) {
            const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka",
                                                         struct recd_conf_kafka);

            commit_owned(d, 0);
            d->commit_next_ns = recd_now_mono_ns() + kc->commit_interval_ms * 1000000LL;
        }
    }
    while (!sig_stop && !sig_reload && !sig_checkpoint && !d->fatal &&
           d->n_msgs < (size_t)bc->max_records && d->batch_bytes < BATCH_MAX_BYTES) {
        int64_t left_ms = (deadline - recd_now_mono_ns()) / 1000000;

        if (d->repl) {
            /* the group consumer fetches nothing; polling it serves its rebalances */
            while ((m = rd_kafka_consumer_poll(d->consumer, 0)) != NULL) {
                if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                    accept_msg(d, d->consumer, m); /* reports and stops */
                } else {
                    rd_kafka_message_destroy(m);
                }
            }
            if (d->events_kinds == 0) {
                struct timespec ts = { 0, 50000000L };

                nanosleep(&ts, NULL); /* the event topics do not exist yet */
                if (recd_now_mono_ns() >= deadline) {
                    break;
                }
                continue;
            }
        }

        if (d->items_assigned) {
            while (d->n_msgs < (size_t)bc->max_records && d->batch_bytes < BATCH_MAX_BYTES &&
                   (m = rd_kafka_consumer_poll(d->items, 0)) != NULL) {
                accept_msg(d, d->items, m);
            }
        }
        if (d->n_msgs >= (size_t)bc->max_records || d->batch_bytes >= BATCH_MAX_BYTES) {
            break;
        }
        m = rd_kafka_consumer_poll(d->repl ? d->events : d->consumer,
                                   left_ms > 0 ? (int)(left_ms > 100 ? 100 : left_ms) : 0);
        if (m != NULL) {
            accept_msg(d, d->repl ? d->events : d->consumer, m);
        } else {
            rd_kafka_poll(d->producer, 0);
        }
        if (m == NULL && recd_now_mono_ns() >= deadline) {
            break;
        }
    }
}

/* ---- reload ------------------------------------------------------------------------------ */

static void apply_log_conf(const struct recd_conf *c)
{
    const struct recd_conf_daemon *dc = RECD_UNIT(c, "daemon", struct recd_conf_daemon);
    size_t i;

    recd_log_set_level(-1, recd_log_level_parse(dc->log_level));
    for (i = 0; i < dc->log_levels.n; i++) {
        for (int s = 0; s < RECD_LOG__N; s++) {
            if (strcmp(dc->log_levels.k[i], recd_log_sub_name(s)) == 0) {
                recd_log_set_level(s, recd_log_level_parse(dc->log_levels.v[i]));
            }
        }
    }
    recd_log_set_ratelimit((int)dc->log_ratelimit_ms, (int)dc->log_ratelimit_burst);
}

static void do_reload(struct daemon *d)
{
    struct recd_conf *nc = NULL;
    char err[1024];
    int rc;

    sig_reload = 0;
    if (d->opts->config_path == NULL) {
        RLOG_WARN(RECD_LOG_CONFIG, "SIGHUP ignored: no configuration file");
        return;
    }
    sd_notify(0, "RELOADING=1\nSTATUS=reloading configuration");
    rc = recd_config_load(d->opts->config_path, &nc, err, sizeof(err));
    if (rc == RECD_OK) {
        rc = recd_conf_check_reload(d->conf, nc, err, sizeof(err));
    }
    if (rc == RECD_OK && d->n_retired == MAX_RETIRED) {
        rc = recd_seterr(err, sizeof(err), RECD_ECONFIG, "too many reloads in one run (%d)",
                         MAX_RETIRED);
    }
    if (rc == RECD_OK) {
        rc = recd_pipeline_reconfigure(d->pipeline, nc, err, sizeof(err));
    }
    /* metrics before the log line: observers (tests, SREs) see both once the line is there */
    if (rc != RECD_OK) {
        recd_metrics_add(d->metrics, "recd_config_reloads_total", "result=\"failure\"", 1);
        RLOG_ERR(RECD_LOG_CONFIG, "reload rejected, keeping the running configuration: %s", err);
        recd_conf_destroy(nc);
    } else {
        char changes[2048];

        recd_conf_describe_changes(d->conf, nc, changes, sizeof(changes));
        d->retired[d->n_retired++] = d->conf;
        d->conf = nc;
        apply_log_conf(nc);
        recd_metrics_add(d->metrics, "recd_config_reloads_total", "result=\"success\"", 1);
        RLOG_NOTICE(RECD_LOG_CONFIG, "configuration reloaded from %s; changed: %s",
                    d->opts->config_path, changes);
    }
    sd_notify(0, "READY=1\nSTATUS=processing");
}

/* Checkpoints a recctl staged in the state directory and never took away (it was
 * interrupted): they would keep the data of users forgotten since. */
static void remove_staged_checkpoints(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (dh == NULL) {
        return;
    }
    while ((e = readdir(dh)) != NULL) {
        if (strncmp(e->d_name, RECD_CHECKPOINT_STAGING ".", sizeof(RECD_CHECKPOINT_STAGING)) !=
            0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (recd_rmtree(path) == RECD_OK) {
            RLOG_NOTICE(RECD_LOG_STATE, "removed %s, a checkpoint recctl did not take away", path);
        } else {
            RLOG_WARN(RECD_LOG_STATE, "cannot remove %s (an abandoned checkpoint): %s", path,
                      strerror(errno));
        }
    }
    closedir(dh);
}

/* recctl checkpoint: DIR in <state>/checkpoint.request, answer in <state>/checkpoint.done */
static void do_checkpoint(struct daemon *d)
{
    const struct recd_conf_state *sc = RECD_UNIT(d->conf, "state", struct recd_conf_state);
    char req[4096], done[4096], tmp[4096], dst[4096] = "", err[512] = "";
    FILE *f;
    int rc = RECD_EINVAL;

    sig_checkpoint = 0;
    snprintf(req, sizeof(req), "%s/checkpoint.request", sc->dir);
    snprintf(done, sizeof(done), "%s/checkpoint.done", sc->dir);
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.done.tmp", sc->dir);
    f = fopen(req, "r");
    if (f != NULL) {
        if (fgets(dst, sizeof(dst), f) != NULL) {
            dst[strcspn(dst, "\n")] = '\0';
        }
        fclose(f);
        unlink(req);
    }
    if (dst[0] == '\0') {
        snprintf(err, sizeof(err), "no checkpoint request in %.400s", req);
    } else {
        rc = recd_state_checkpoint(d->state, dst, err, sizeof(err));
    }
    if (rc == RECD_OK) {
        RLOG_NOTICE(RECD_LOG_STATE, "checkpoint written to %s", dst);
    } else {
        RLOG_ERR(RECD_LOG_STATE, "checkpoint failed: %s", err);
    }
    f = fopen(tmp, "w");
    if (f != NULL) {
        fprintf(f, "%s\n", rc == RECD_OK ? "ok" : err);
        if (fclose(f) == 0) {
            rename(tmp, done);
        }
    }
}

/* ---- setup ------------------------------------------------------------------------------- */

/* Every series recd exposes is declared here (HELP/TYPE) before its first use, and every
 * label set known at start is created at 0 (recd_metrics_touch), so that rate(), increase()
 * and alerts see a series from the start rather than from its first event. The process_*
 * series and recd_ready are the registry's own (core/metrics.c). */
static void declare_metrics(struct daemon *d)
{
    /* the reason classes of dead letters: codec.h (decode) and validate.c (validation) */
    static const char *const dlq_reasons[] = { "framing",       "unknown_schema_id", "avro",
                                               "too_large",     "empty_user_id",     "bad_id",
                                               "bad_timestamp", "bad_price",         "bad_purchase",
                                               "bad_item" };
    /* the stages of a batch (pipeline.c, stage()) */
    static const char *const stages[] = { "decode",  "online_quality", "operators", "checkpoint",
                                          "publish", "commit",         "committed", "flush" };
    struct recd_metrics *m = d->metrics;
    const struct recd_conf_pipeline *pc = RECD_UNIT(d->conf, "pipeline", struct recd_conf_pipeline);
    const struct recd_conf_metrics *mc = RECD_UNIT(d->conf, "metrics", struct recd_conf_metrics);
    const struct recd_conf_state *sc = RECD_UNIT(d->conf, "state", struct recd_conf_state);
    char labels[320];
    size_t i, j;
    int k;

    recd_metrics_declare(m, "recd_records_consumed_total", RECD_M_COUNTER,
                         "Records consumed, by topic.");
    recd_metrics_declare(m, "recd_records_decoded_total", RECD_M_COUNTER,
                         "Records decoded and validated, by topic.");
    recd_metrics_declare(m, "recd_records_wrong_partition_total", RECD_M_COUNTER,
                         "Event records on a partition their key (user id) does not hash to with "
                         "Kafka's default partitioner (murmur2): a producer uses another one, and "
                         "the user's events are split over partitions.");
    recd_metrics_declare(m, "recd_records_dead_lettered_total", RECD_M_COUNTER,
                         "Records sent to the DLQ, by topic and reason.");
    for (k = 0; k < RECD_KIND__NINPUT; k++) {
        snprintf(labels, sizeof(labels), "topic=\"%.200s\"", d->topic[k]);
        recd_metrics_touch(m, "recd_records_consumed_total", labels);
        if (k != RECD_KIND_ITEM) {
            recd_metrics_touch(m, "recd_records_wrong_partition_total", labels);
        }
        recd_metrics_touch(m, "recd_records_decoded_total", labels);
        for (i = 0; i < sizeof(dlq_reasons) / sizeof(dlq_reasons[0]); i++) {
            snprintf(labels, sizeof(labels), "topic=\"%.200s\",reason=\"%s\"", d->topic[k],
                     dlq_reasons[i]);
            recd_metrics_touch(m, "recd_records_dead_lettered_total", labels);
        }
    }
    recd_metrics_declare(m, "recd_batches_total", RECD_M_COUNTER, "Micro-batches committed.");
    recd_metrics_touch(m, "recd_batches_total", NULL);
    /* scale-out (kafka.learn_from = all) */
    recd_metrics_declare(m, "recd_partitions_owned", RECD_M_GAUGE,
                         "Partitions whose users this instance publishes (kafka.learn_from = "
                         "all; with owned, see recd_consumer_lag's partitions).");
    recd_metrics_set(m, "recd_partitions_owned", NULL, 0);
    recd_metrics_declare(m, "recd_partition_handovers_total", RECD_M_COUNTER,
                         "Partitions this instance took over publishing for (learn_from = all).");
    recd_metrics_touch(m, "recd_partition_handovers_total", NULL);
    recd_metrics_declare(m, "recd_takeovers_behind_total", RECD_M_COUNTER,
                         "Takeovers where the output topic showed that a killed previous owner "
                         "had published past its last commit and past what this instance had "
                         "applied: it applied up to there before publishing (learn_from = all).");
    recd_metrics_touch(m, "recd_takeovers_behind_total", NULL);
    recd_metrics_declare(m, "recd_follow_lag_records", RECD_M_GAUGE,
                         "Records other instances committed that this one has not applied yet "
                         "(learn_from = all): how far its model trails theirs.");
    recd_metrics_set(m, "recd_follow_lag_records", NULL, 0);
    recd_metrics_declare(m, "recd_held_records", RECD_M_GAUGE,
                         "Records read ahead of their owner's commit, held in memory until it "
                         "commits them (learn_from = all).");
    recd_metrics_set(m, "recd_held_records", NULL, 0);
    recd_metrics_declare(m, "recd_partitions_paced", RECD_M_GAUGE,
                         "Input partitions paused now because their event time is more than "
                         "kafka.max_event_skew_ms ahead of the least advanced one (a backlog).");
    recd_metrics_set(m, "recd_partitions_paced", NULL, 0);
    recd_metrics_declare(m, "recd_partition_pauses_total", RECD_M_COUNTER,
                         "Pauses of an input partition's fetching, by reason (pacing: "
                         "event_time_ahead, a click/purchase/query partition ahead of the others; "
                         "deletion_ahead, a deletion waiting for the events before it; "
                         "pace_buffer_full, its parking buffer full; learn_from = all: "
                         "held_full, kafka.hold_buffer_records or hold_buffer_mb held).");
    recd_metrics_touch(m, "recd_partition_pauses_total", "reason=\"event_time_ahead\"");
    recd_metrics_touch(m, "recd_partition_pauses_total", "reason=\"deletion_ahead\"");
    recd_metrics_touch(m, "recd_partition_pauses_total", "reason=\"pace_buffer_full\"");
    recd_metrics_touch(m, "recd_partition_pauses_total", "reason=\"held_full\"");
    recd_metrics_declare(m, "recd_users_forgotten_total", RECD_M_COUNTER,
                         "User deletions executed (state deleted and tombstone published, "
                         "committed); each also logged.");
    recd_metrics_touch(m, "recd_users_forgotten_total", NULL);
    recd_metrics_declare(m, "recd_lists_published_total", RECD_M_COUNTER,
                         "Recommendation lists handed to the producer by the batches since the "
                         "start (a handover's lists published again included; the outbox a "
                         "start after a crash publishes again is not).");
    recd_metrics_touch(m, "recd_lists_published_total", NULL);
    recd_metrics_declare(m, "recd_tombstones_published_total", RECD_M_COUNTER,
                         "Tombstones (user deletions and expiries) handed to the producer by "
                         "the batches since the start.");
    recd_metrics_touch(m, "recd_tombstones_published_total", NULL);
    recd_metrics_declare(m, "recd_users_expired_total", RECD_M_COUNTER,
                         "Users expired after pipeline.user_ttl_days without events (state "
                         "deleted and tombstone published, committed).");
    recd_metrics_touch(m, "recd_users_expired_total", NULL);
    recd_metrics_declare(m, "recd_records_skipped_total", RECD_M_COUNTER,
                         "Records dropped because recd had already consumed their offset (the "
                         "Kafka client rewound a partition), by reason.");
    recd_metrics_touch(m, "recd_records_skipped_total", "reason=\"already_consumed\"");
    recd_metrics_declare(m, "recd_batch_duration_seconds", RECD_M_HISTOGRAM,
                         "Time from a batch's first record to its commit.");
    recd_metrics_touch(m, "recd_batch_duration_seconds", NULL);
    recd_metrics_declare(m, "recd_operator_duration_seconds", RECD_M_HISTOGRAM,
                         "Time spent in each operator per batch.");
    recd_metrics_declare(m, "recd_stage_duration_seconds_total", RECD_M_COUNTER,
                         "Time spent in each stage of the batches, by stage.");
    recd_metrics_declare(m, "recd_stage_cpu_seconds_total", RECD_M_COUNTER,
                         "CPU time of the batch loop's thread in each stage, by stage (below "
                         "recd_stage_duration_seconds_total when the core runs other work).");
    recd_metrics_declare(m, "recd_operator_cpu_seconds_total", RECD_M_COUNTER,
                         "CPU time of the batch loop's thread in each operator.");
    for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        snprintf(labels, sizeof(labels), "stage=\"%s\"", stages[i]);
        recd_metrics_touch(m, "recd_stage_duration_seconds_total", labels);
        recd_metrics_touch(m, "recd_stage_cpu_seconds_total", labels);
    }
    recd_metrics_declare(m, "recd_rerank_sgemm_seconds_total", RECD_M_COUNTER,
                         "rerank: time spent scoring the catalogue for exploring users.");
    recd_metrics_declare(m, "recd_rerank_sgemm_flop_total", RECD_M_COUNTER,
                         "rerank: floating-point operations of that scoring.");
    recd_metrics_declare(m, "recd_rerank_sgemm_calls_total", RECD_M_COUNTER,
                         "rerank: batches that scored the catalogue.");
    for (j = 0; j < pc->chain.n; j++) {
        snprintf(labels, sizeof(labels), "operator=\"%.200s\"", pc->chain.v[j]);
        recd_metrics_touch(m, "recd_operator_duration_seconds", labels);
        recd_metrics_touch(m, "recd_operator_cpu_seconds_total", labels);
        if (strcmp(pc->chain.v[j], "rerank") == 0) {
            recd_metrics_touch(m, "recd_rerank_sgemm_seconds_total", NULL);
            recd_metrics_touch(m, "recd_rerank_sgemm_flop_total", NULL);
            recd_metrics_touch(m, "recd_rerank_sgemm_calls_total", NULL);
        }
    }
    recd_metrics_declare(m, "recd_query_cache_hit_ratio", RECD_M_GAUGE,
                         "embed: share of query embeddings served from the cache since start.");
    recd_metrics_declare(m, "recd_rebalances_total", RECD_M_COUNTER, "Consumer group rebalances.");
    recd_metrics_touch(m, "recd_rebalances_total", NULL);
    recd_metrics_declare(m, "recd_state_size_bytes", RECD_M_GAUGE,
                         "Live state size reported by RocksDB (SST files + memtables; not the "
                         "WAL), updated after each batch; see recd_state_disk_bytes.");
    recd_metrics_declare(m, "recd_state_point_reads_total", RECD_M_COUNTER,
                         "Point lookups of the state store since the start (the batches', and a "
                         "start's, a rebalance's and a recovery's), by column family (with "
                         "recd_records_decoded_total: the reads an event costs).");
    for (i = 0; i < RECD_CF__N; i++) {
        snprintf(labels, sizeof(labels), "cf=\"%s\"", recd_cf_name((int)i));
        recd_metrics_touch(m, "recd_state_point_reads_total", labels);
    }
    recd_metrics_declare(m, "recd_state_disk_bytes", RECD_M_GAUGE,
                         "Bytes allocated on disk under state.dir (as du counts them: SST "
                         "files, preallocated WAL, MANIFEST, files awaiting deletion), "
                         "recomputed at most every 10 s when scraped.");
    recd_metrics_watch_dir(m, "recd_state_disk_bytes", sc->dir, 10);
    recd_metrics_declare(m, "recd_config_reloads_total", RECD_M_COUNTER,
                         "Configuration reloads by result.");
    recd_metrics_touch(m, "recd_config_reloads_total", "result=\"success\"");
    recd_metrics_touch(m, "recd_config_reloads_total", "result=\"failure\"");
    recd_metrics_declare(m, "recd_consumer_lag", RECD_M_GAUGE,
                         "Records behind the partition's high watermark (librdkafka statistics), "
                         "per assigned partition.");
    recd_metrics_declare(m, "recd_publish_wait_seconds_total", RECD_M_COUNTER,
                         "Time batches waited for the acknowledgement of earlier batches "
                         "(kafka.publish_inflight reached): the broker is the bottleneck.");
    recd_metrics_touch(m, "recd_publish_wait_seconds_total", NULL);
    recd_metrics_declare(m, "recd_publish_ack_seconds", RECD_M_HISTOGRAM,
                         "Per batch: the longest produce -> broker acknowledgement of its lists.");
    recd_metrics_touch(m, "recd_publish_ack_seconds", NULL);
    recd_metrics_declare(m, "recd_event_publish_latency_seconds", RECD_M_HISTOGRAM,
                         "From an event's Kafka timestamp to the acknowledged publication of its "
                         "user's recommendations.");
    recd_metrics_touch(m, "recd_event_publish_latency_seconds", NULL);
    recd_metrics_declare(m, "recd_online_clicks_scored_total", RECD_M_COUNTER,
                         "Clicks scored against the list published for their user before them.");
    recd_metrics_touch(m, "recd_online_clicks_scored_total", NULL);
    recd_metrics_declare(m, "recd_online_hits_total", RECD_M_COUNTER,
                         "Scored clicks whose item was in the top K of that list.");
    recd_metrics_declare(m, "recd_online_reciprocal_rank_sum", RECD_M_COUNTER,
                         "Sum of 1/rank of the clicked item in that list (0 when absent).");
    snprintf(labels, sizeof(labels), "k=\"%lld\"", (long long)mc->hit_k);
    recd_metrics_touch(m, "recd_online_hits_total", labels);
    recd_metrics_touch(m, "recd_online_reciprocal_rank_sum", labels);
    recd_metrics_declare(m, "recd_online_hit_ratio", RECD_M_GAUGE, "Online HR@K since start.");
    recd_metrics_declare(m, "recd_online_mrr", RECD_M_GAUGE, "Online MRR@K since start.");
    recd_metrics_declare(m, "recd_build_info", RECD_M_GAUGE, "Build information.");
    recd_metrics_set(m, "recd_build_info",
                     "version=\"" RECD_VERSION "\",revision=\"" RECD_GIT_REV "\"", 1);
}

static int setup_events_reader(struct daemon *d, char *errstr, size_t errlen);

/* the event topics, clicks first (recd_topics_spec.inputs) */
static void topics_spec(const struct daemon *d, const char *inputs[4], struct recd_topics_spec *t)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);

    inputs[0] = d->topic[RECD_KIND_CLICK];
    inputs[1] = d->topic[RECD_KIND_PURCHASE];
    inputs[2] = d->topic[RECD_KIND_QUERY];
    inputs[3] = d->topic[RECD_KIND_DELETION];
    *t = (struct recd_topics_spec){ kc->brokers, inputs, 4, d->topic[RECD_KIND_RECS],
                                    d->dlq_topic, kc->require_compacted_output };
}

/* Before the producer names the output topics (a broker with auto.create.topics.enable would
 * make them with cleanup.policy=delete): create missing ones, and wait, not ready, while the
 * recommendations topic is not compacted (kafka.require_compacted_output). Unreachable
 * brokers do not stop the start: librdkafka keeps trying and /readyz says why. */
static int prepare_topics(struct daemon *d, char *errstr, size_t errlen)
{
    const char *inputs[4];
    struct recd_topics_spec t;
    char why[1024], msg[1200];
    int said = 0;

    topics_spec(d, inputs, &t);
    while (!sig_stop) {
        int rc = recd_topics_prepare(d->producer, &t, TOPIC_CHECK_TIMEOUT_MS, why, sizeof(why));

        if (rc == RECD_EAGAIN) {
            RLOG_WARN(RECD_LOG_KAFKA, "cannot check the topics: %s", why);
            return RECD_OK;
        }
        if (rc != RECD_ECONFIG) {
            if (said) {
                RLOG_NOTICE(RECD_LOG_KAFKA, "%s is compacted now: starting",
                            d->topic[RECD_KIND_RECS]);
            }
            return rc == RECD_OK ? RECD_OK : recd_seterr(errstr, errlen, rc, "%s", why);
        }
        if (!said) {
            RLOG_ERR(RECD_LOG_KAFKA, "not starting: %s", why);
            said = 1;
        }
        recd_metrics_set_ready(d->metrics, 0, why);
        snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=not starting: %s",
                 START_EXTEND_US, why);
        sd_notify(0, msg);
        for (int i = 0; i < TOPIC_RECHECK_MS / 100 && !sig_stop; i++) {
            usleep(100000);
        }
    }
    return RECD_OK;
}

/* Not ready yet: ask the brokers why, for /readyz (brokers unreachable, a missing input
 * topic, or only the group's assignment). */
static void probe_topics(struct daemon *d)
{
    const char *inputs[4];
    struct recd_topics_spec t;
    char why[256];

    topics_spec(d, inputs, &t);
    if (recd_topics_probe(d->producer, &t, TOPIC_PROBE_TIMEOUT_MS, why, sizeof(why)) == RECD_OK) {
        snprintf(why, sizeof(why), "waiting for partition assignment");
    }
    if (d->notified_ready) {
        return; /* became ready meanwhile (callbacks served while the probe waited) */
    }
    recd_metrics_set_ready(d->metrics, 0, why);
    if (strcmp(why, d->probe_why) != 0) {
        RLOG_NOTICE(RECD_LOG_KAFKA, "not ready: %s", why);
        snprintf(d->probe_why, sizeof(d->probe_why), "%s", why);
    }
}

/* Create a consumer handle from conf (taken: destroyed on failure, owned by *out on success)
 * with d as its opaque, librdkafka statistics every kafka.stats_interval_ms when `stats`
 * (the consumer-lag metrics; one handle per process), and its events on the consumer queue. */
static int new_consumer(struct daemon *d, rd_kafka_conf_t *conf, int stats, const char *what,
                        rd_kafka_t **out, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    char err[512];

    rd_kafka_conf_set_opaque(conf, d);
    if (stats && kc->stats_interval_ms > 0) {
        snprintf(err, sizeof(err), "%lld", (long long)kc->stats_interval_ms);
        if (rd_kafka_conf_set(conf, "statistics.interval.ms", err, err, sizeof(err))) {
            rd_kafka_conf_destroy(conf);
            return recd_seterr(errstr, errlen, RECD_ECONFIG, "%s: %s", what, err);
        }
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (*out == NULL) {
        rd_kafka_conf_destroy(conf);
        return recd_seterr(errstr, errlen, RECD_EKAFKA, "%s: %s", what, err);
    }
    rd_kafka_poll_set_consumer(*out);
    return RECD_OK;
}

static int setup_kafka(struct daemon *d, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_conf_t *pc = NULL, *cc = NULL, *ic = NULL;
    rd_kafka_topic_partition_list_t *subs;
    char err[512], ival[32];
    int rc;

    /* producer: idempotent, acks=all */
    rc = recd_kafka_base_conf(d->conf, &pc, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* recd's producer defaults; kafka.properties (applied in recd_kafka_base_conf) win.
     * linger.ms 1: a batch's lists are produced in one burst and nothing waits for their
     * acknowledgement (kafka.publish_inflight), so lingering only delays them: 5 -> 1 ms took
     * the mean event -> publish latency from ~50 to ~35 ms at 17k events/s (bench/throughput). */
    /* partitioner murmur2_random: Kafka's default (the Java client's), so a user's list lands
     * on the partition every other Kafka client would put that key on (librdkafka's own
     * default, consistent_random, is CRC32-based and disagrees for most keys) */
    if (rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof(err)) ||
        (recd_kvlist_get(&kc->properties, "linger.ms") == NULL &&
         rd_kafka_conf_set(pc, "linger.ms", "1", err, sizeof(err))) ||
        (recd_kvlist_get(&kc->properties, "partitioner") == NULL &&
         rd_kafka_conf_set(pc, "partitioner", "murmur2_random", err, sizeof(err)))) {
        rd_kafka_conf_destroy(pc);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "producer: %s", err);
    }
    rd_kafka_conf_set_opaque(pc, d);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
    if (d->producer == NULL) {
        rd_kafka_conf_destroy(pc);
        return recd_seterr(errstr, errlen, RECD_EKAFKA, "producer: %s", err);
    }
    rc = prepare_topics(d, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* A topic handle makes the producer look the output topic up now, in the background,
     * while state loads and the group joins, instead of at the first batch's produce (whose
     * acknowledgement then took ~1 s, stalling the first batches at publish_inflight). */
    d->out_rkt = rd_kafka_topic_new(d->producer, d->topic[RECD_KIND_RECS], NULL);

    /* group consumer: offsets from state, Kafka commits informational */
    rc = recd_kafka_base_conf(d->conf, &cc, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* Kafka's committed offsets are informational (recd resumes from its state): each batch
     * stores its offsets and librdkafka commits the latest ones every commit_interval_ms and
     * at close — never a request per batch (see kafka.commit_interval_ms) */
    snprintf(ival, sizeof(ival), "%lld", (long long)kc->commit_interval_ms);
    /* learn_from = all: the group only assigns who publishes, recd commits the published
     * offsets itself (commit_owned), and cooperative-sticky moves only what must move */
    if (d->repl &&
        (rd_kafka_conf_set(cc, "enable.auto.commit", "false", err, sizeof(err)) ||
         (recd_kvlist_get(&kc->properties, "partition.assignment.strategy") == NULL &&
          rd_kafka_conf_set(cc, "partition.assignment.strategy", "cooperative-sticky", err,
                            sizeof(err))))) {
        rd_kafka_conf_destroy(cc);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "consumer: %s", err);
    }
    if (rd_kafka_conf_set(cc, "group.id", kc->group_id, err, sizeof(err)) ||
        (!d->repl && rd_kafka_conf_set(cc, "enable.auto.commit", "true", err, sizeof(err))) ||
        rd_kafka_conf_set(cc, "auto.commit.interval.ms", ival, err, sizeof(err)) ||
        rd_kafka_conf_set(cc, "enable.auto.offset.store", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(cc, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        rd_kafka_conf_set(cc, "enable.partition.eof", "true", err, sizeof(err))) {
        rd_kafka_conf_destroy(cc);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "consumer: %s", err);
    }
    rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
    /* the lag metrics come from whichever handle fetches the events */
    rc = new_consumer(d, cc, !d->repl, "consumer", &d->consumer, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }

    /* items reader: no group, assigns every partition itself */
    rc = recd_kafka_base_conf(d->conf, &ic, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* auto.offset.reset: librdkafka's default ("latest") would skip the whole catalogue
     * after an OFFSET_OUT_OF_RANGE fetch error; rewinding is safe (the fence) */
    if (rd_kafka_conf_set(ic, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(ic, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        rd_kafka_conf_set(ic, "group.id", kc->group_id, err, sizeof(err))) {
        rd_kafka_conf_destroy(ic);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "items reader: %s", err);
    }
    rc = new_consumer(d, ic, 0, "items reader", &d->items, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }

    if (d->repl) {
        /* every partition of the event topics (events_assign); the group is joined once
         * caught up (follow) */
        return setup_events_reader(d, errstr, errlen);
    }
    subs = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_partition_list_add(subs, d->topic[RECD_KIND_CLICK], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(subs, d->topic[RECD_KIND_PURCHASE], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(subs, d->topic[RECD_KIND_QUERY], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(subs, d->topic[RECD_KIND_DELETION], RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(d->consumer, subs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(subs);
        return recd_seterr(errstr, errlen, RECD_EKAFKA, "cannot subscribe");
    }
    rd_kafka_topic_partition_list_destroy(subs);
    return RECD_OK;
}

static int setup_events_reader(struct daemon *d, char *errstr, size_t errlen)
{
    const struct recd_conf_kafka *kc = RECD_UNIT(d->conf, "kafka", struct recd_conf_kafka);
    rd_kafka_conf_t *ec = NULL;
    char err[512];
    int rc = recd_kafka_base_conf(d->conf, &ec, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    if (rd_kafka_conf_set(ec, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(ec, "enable.auto.offset.store", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(ec, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        rd_kafka_conf_set(ec, "enable.partition.eof", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(ec, "group.id", kc->group_id, err, sizeof(err))) {
        rd_kafka_conf_destroy(ec);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "event reader: %s", err);
    }
    return new_consumer(d, ec, 1, "event reader", &d->events, errstr, errlen);
}

static void teardown(struct daemon *d)
{
    size_t i;

    for (i = 0; i < d->n_msgs; i++) {
        rd_kafka_message_destroy(d->msgs[i]);
    }
    d->n_msgs = 0;
    for (i = 0; i < d->n_fences; i++) { /* deferred deletions, parked records: before their
                                         * client goes */
        if (d->fences[i].deferred != NULL) {
            rd_kafka_message_destroy(d->fences[i].deferred);
            d->fences[i].deferred = NULL;
        }
        drop_parked(&d->fences[i]);
        free(d->fences[i].parked);
        d->fences[i].parked = NULL;
    }
    if (d->consumer) {
        d->closing = 1; /* the close's rebalance callbacks only (un)assign (hand_over_all) */
        rd_kafka_consumer_close(d->consumer);
        rd_kafka_destroy(d->consumer);
    }
    recd_own_destroy(d->own); /* held records: before their client is destroyed */
    d->own = NULL;
    if (d->events) {
        rd_kafka_consumer_close(d->events);
        rd_kafka_destroy(d->events);
    }
    if (d->items) {
        rd_kafka_consumer_close(d->items);
        rd_kafka_destroy(d->items);
    }
    if (d->producer) {
        if (d->fatal) {
            /* nothing in flight needs waiting for: records of the failed batch are produced
             * again when it is re-consumed, lists of committed batches are in the outbox */
            rd_kafka_purge(d->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_flush(d->producer, 1000); /* serves the purged records' reports */
        } else {
            rd_kafka_flush(d->producer, 10000);
        }
        if (d->out_rkt) {
            rd_kafka_topic_destroy(d->out_rkt);
        }
        rd_kafka_destroy(d->producer);
    }
    recd_http_stop(d->http);
    recd_pipeline_destroy(d->pipeline);
    recd_codec_destroy(d->codec);
    free(d->ids);
    recd_state_close(d->state);
    recd_metrics_destroy(d->metrics);
    for (i = 0; i < RECD_KIND__N; i++) {
        free(d->topic[i]);
    }
    free(d->dlq_topic);
    free(d->msgs);
    free(d->msg_silent);
    free(d->retry_part);
    free(d->retry_off);
    free(d->part_flag);
    free(d->republish_due);
    free(d->republish_from);
    free(d->raws);
    free(d->fences);
    recd_arena_destroy(d->peek);
    for (i = 0; i < MAX_SLOTS; i++) {
        free(d->slots[i].ts);
    }
    for (i = 0; i < d->n_retired; i++) {
        recd_conf_destroy(d->retired[i]);
    }
    recd_conf_destroy(d->conf);
}

/* The state directory: a directory recd can write, or a path that can be created. */
static int preflight_state_dir(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_state *sc = RECD_UNIT(c, "state", struct recd_conf_state);
    char path[4096];
    struct stat sb;
    size_t n;

    if (strlen(sc->dir) >= sizeof(path)) {
        return recd_conf_error(c, "state", "dir", errstr, errlen, "path too long");
    }
    snprintf(path, sizeof(path), "%s", sc->dir);
    if (stat(path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            return recd_conf_error(c, "state", "dir", errstr, errlen,
                                   "%s exists and is not a directory", sc->dir);
        }
        if (access(path, W_OK | X_OK) != 0) {
            return recd_conf_error(c, "state", "dir", errstr, errlen, "%s is not writable: %s",
                                   sc->dir, strerror(errno));
        }
        return RECD_OK;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        return recd_conf_error(c, "state", "dir", errstr, errlen, "%s: %s", sc->dir,
                               strerror(errno));
    }
    /* missing: the nearest existing ancestor must be a directory */
    for (;;) {
        char *slash;

        n = strlen(path);
        while (n > 1 && path[n - 1] == '/') {
            path[--n] = '\0';
        }
        slash = strrchr(path, '/');
        if (slash == NULL) {
            snprintf(path, sizeof(path), ".");
        } else if (slash == path) {
            path[1] = '\0';
        } else {
            *slash = '\0';
        }
        if (stat(path, &sb) == 0) {
            break;
        }
        if ((errno != ENOENT && errno != ENOTDIR) || strcmp(path, ".") == 0 ||
            strcmp(path, "/") == 0) {
            return recd_conf_error(c, "state", "dir", errstr, errlen, "%s: %s", path,
                                   strerror(errno));
        }
    }
    if (!S_ISDIR(sb.st_mode)) {
        return recd_conf_error(c, "state", "dir", errstr, errlen,
                               "%s cannot be created: %s is not a directory", sc->dir, path);
    }
    /* Whether this user may create it there is not checked: under systemd the unit's
     * StateDirectory= makes the parent, and tests run recd -t on the example config (state
     * under /var/lib) as any user. A start that cannot create it exits 78 (state open). */
    return RECD_OK;
}

int recd_config_preflight(const struct recd_conf *c, char *errstr, size_t errlen)
{
    struct recd_codec_conf cc;
    struct recd_codec_schema_id *ids = NULL;
    struct recd_codec *codec = NULL;
    char err[1024], where[600];
    int rc;

    rc = preflight_state_dir(c, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* writer schemas and Confluent id files: the codec a start builds */
    rc = recd_config_codec(c, &cc, &ids, err, sizeof(err));
    if (rc == RECD_OK) {
        rc = recd_codec_new(&cc, &codec, err, sizeof(err));
        recd_codec_destroy(codec);
    }
    free(ids);
    if (rc != RECD_OK && rc != RECD_ENOMEM) {
        /* name the key whose file the codec could not load */
        const struct recd_conf_input *in = RECD_UNIT(c, "input", struct recd_conf_input);
        const struct {
            const char *key, *file;
        } w[] = {
            { "writer_click", in->writer_click },       { "writer_purchase", in->writer_purchase },
            { "writer_query", in->writer_query },       { "writer_item", in->writer_item },
            { "writer_deletion", in->writer_deletion },
        };
        size_t i;

        for (i = 0; i < RECD_ARRAY_SIZE(w); i++) {
            if (w[i].file != NULL && w[i].file[0] != '\0' && strstr(err, w[i].file) != NULL) {
                return recd_conf_error(c, "input", w[i].key, errstr, errlen, "%s", err);
            }
        }
        if (in->confluent_ids.n > 0) {
            return recd_conf_error(c, "input", "confluent_ids", errstr, errlen, "%s", err);
        }
    }
    if (rc != RECD_OK) {
        snprintf(where, sizeof(where), "%s",
                 recd_conf_path(c) != NULL ? recd_conf_path(c) : "(defaults)");
        return recd_seterr(errstr, errlen, rc == RECD_ENOMEM ? rc : RECD_ECONFIG, "%s: input: %s",
                           where, err);
    }
    return recd_kafka_check(c, errstr, errlen);
}

int recd_config_check_models(const struct recd_conf *c, char *errstr, size_t errlen)
{
    const struct recd_conf_pipeline *pc = RECD_UNIT(c, "pipeline", struct recd_conf_pipeline);
    char *const *enc = recd_conf_field(c, "operators.embed", "encoder", RECD_CT_STRING);
    char *const *dir = recd_conf_field(c, "operators.embed", "model_dir", RECD_CT_STRING);
    recd_minilm_opts mo;
    recd_minilm *m = NULL;
    char err[1024];
    size_t i;
    int rc;

    for (i = 0; i < pc->chain.n && strcmp(pc->chain.v[i], "embed") != 0; i++) {
    }
    if (i == pc->chain.n || enc == NULL || dir == NULL || strcmp(*enc, "minilm") != 0) {
        return RECD_OK;
    }
    /* what embed's start opens (every tensor's name, dtype, shape, extent); one text per pass
     * skips the kernel probe, which is about speed, not about the model */
    memset(&mo, 0, sizeof(mo));
    mo.batching = RECD_MINILM_BATCH_PER_TEXT;
    rc = recd_minilm_open_opts(*dir, &mo, &m, err, sizeof(err));
    recd_minilm_close(m);
    if (rc != RECD_OK) {
        return rc == RECD_ENOMEM
            ? recd_seterr(errstr, errlen, rc, "out of memory")
            : recd_conf_error(c, "operators.embed", "model_dir", errstr, errlen, "%s", err);
    }
    return RECD_OK;
}

int recd_daemon_run(struct recd_conf *conf, const struct recd_daemon_opts *opts)
{
    struct daemon dd, *d = &dd;
    const struct recd_conf_topics *tc = RECD_UNIT(conf, "topics", struct recd_conf_topics);
    const struct recd_conf_state *sc = RECD_UNIT(conf, "state", struct recd_conf_state);
    const struct recd_conf_metrics *mc = RECD_UNIT(conf, "metrics", struct recd_conf_metrics);
    const struct recd_conf_daemon *dc = RECD_UNIT(conf, "daemon", struct recd_conf_daemon);
    struct recd_state_conf stc;
    struct recd_codec_conf cc;
    struct sigaction sa;
    char err[1024];
    uint64_t wd_usec = 0;
    int rc, code = RECD_EXIT_FAILURE, port = 0;

    memset(d, 0, sizeof(*d));
    d->conf = conf;
    d->opts = opts;
    d->repl = strcmp(RECD_UNIT(conf, "kafka", struct recd_conf_kafka)->learn_from, "all") == 0;
    apply_log_conf(conf);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    d->topic[RECD_KIND_CLICK] = recd_strdup(tc->clicks);
    d->topic[RECD_KIND_PURCHASE] = recd_strdup(tc->purchases);
    d->topic[RECD_KIND_QUERY] = recd_strdup(tc->queries);
    d->topic[RECD_KIND_ITEM] = recd_strdup(tc->items);
    d->topic[RECD_KIND_DELETION] = recd_strdup(tc->deletions);
    d->topic[RECD_KIND_RECS] = recd_strdup(tc->recommendations);
    d->dlq_topic = recd_strdup(tc->dlq);
    d->metrics = recd_metrics_new();
    if (d->metrics == NULL || d->dlq_topic == NULL) {
        RLOG_ERR(RECD_LOG_MAIN, "out of memory");
        goto out;
    }
    declare_metrics(d);
    recd_metrics_set_ready(d->metrics, 0, "starting: opening state");

    memset(&stc, 0, sizeof(stc));
    stc.dir = sc->dir;
    stc.block_cache_bytes = sc->block_cache_mb << 20;
    stc.write_buffer_bytes = sc->write_buffer_mb << 20;
    stc.compression = sc->compression;
    stc.sync_commit = sc->sync_commit;
    stc.max_wal_bytes = sc->max_wal_mb << 20;
    /* headroom for the WAL and one memtable flush: recd stops before RocksDB hits ENOSPC */
    stc.min_free_bytes = (2 * sc->write_buffer_mb + 16) << 20;
    recd_progress_set(start_progress, NULL);
    start_progress(NULL, "opening the state store");
    rc = recd_state_open(&stc, &d->state, err, sizeof(err));
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_STATE, "%s", err);
        code = rc == RECD_ECONFIG ? RECD_EXIT_CONFIG : RECD_EXIT_FAILURE;
        goto out;
    }
    remove_staged_checkpoints(sc->dir);
    rc = recd_config_codec(conf, &cc, &d->ids, err, sizeof(err));
    if (rc == RECD_OK) {
        rc = recd_codec_new(&cc, &d->codec, err, sizeof(err));
    }
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_CODEC, "%s", err);
        code = rc == RECD_ECONFIG ? RECD_EXIT_CONFIG : RECD_EXIT_FAILURE;
        goto out;
    }
    start_progress(NULL, "loading the operators' state");
    rc = recd_pipeline_new(conf, d->state, d->metrics, d->codec, &d->pipeline, err, sizeof(err));
    recd_progress_set(NULL, NULL);
    sd_notify(0, "STATUS=state loaded, waiting for partitions");
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_OPERATOR, "%s", err);
        code = rc == RECD_ECONFIG ? RECD_EXIT_CONFIG : RECD_EXIT_FAILURE;
        goto out;
    }
    if (mc->enabled) {
        rc = recd_http_serve(d->metrics, mc->listen, &d->http, &port, err, sizeof(err));
        if (rc != RECD_OK) {
            /* a malformed address is configuration (exit 78); a port in use is not */
            RLOG_ERR(RECD_LOG_METRICS, "%s", err);
            code = rc == RECD_ECONFIG ? RECD_EXIT_CONFIG : RECD_EXIT_FAILURE;
            goto out;
        }
        RLOG_INFO(RECD_LOG_METRICS, "metrics on http://%.*s:%d/metrics",
                  (int)strcspn(mc->listen, ":"), mc->listen, port);
    }
    d->start_wall_ms = recd_now_wall_ms();
    d->peek = recd_arena_new(1u << 16); /* NULL: deletions are not deferred */
    rc = setup_kafka(d, err, sizeof(err));
    if (rc != RECD_OK) {
        RLOG_ERR(RECD_LOG_KAFKA, "%s", err);
        code = rc == RECD_ECONFIG ? RECD_EXIT_CONFIG : RECD_EXIT_FAILURE;
        goto out;
    }
    {
        /* lists committed before a crash whose output was never acknowledged */
        struct recd_sink rs = { d, sink_publish, sink_dead_letter, sink_flush, NULL, NULL };
        size_t nrep = 0;

        rc = recd_pipeline_recover(d->pipeline, d->repl ? NULL : &rs, &nrep, err, sizeof(err));
        if (rc != RECD_OK) {
            RLOG_ERR(RECD_LOG_KAFKA, "cannot republish unacknowledged output: %s", err);
            goto out;
        }
        d->delivery_failures = 0;
    }
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
        d->watchdog_interval_ns = (int64_t)wd_usec * 1000 / dc->watchdog_divisor;
    }
    recd_metrics_set_ready(d->metrics, 0, "waiting for partition assignment");
    RLOG_NOTICE(RECD_LOG_MAIN, "recd %s started: state %s, brokers %s, group %s", RECD_VERSION,
                sc->dir, RECD_UNIT(conf, "kafka", struct recd_conf_kafka)->brokers,
                RECD_UNIT(conf, "kafka", struct recd_conf_kafka)->group_id);
    d->last_msg_ns = recd_now_mono_ns();

    while (!sig_stop && !d->fatal) {
        int64_t now;
        int had_input;

        if (sig_reload) {
            do_reload(d);
        }
        if (sig_checkpoint) {
            do_checkpoint(d);
        }
        collect_batch(d);
        had_input = d->n_msgs > 0;
        flush_batch(d);
        now = recd_now_mono_ns();
        if (had_input) {
            d->last_msg_ns = now; /* --exit-idle counts time waiting for input, not working */
        }
        recd_metrics_heartbeat(d->metrics);
        if (!d->notified_ready && now - d->topics_probe_ns >= TOPIC_PROBE_MS * 1000000LL) {
            probe_topics(d);
            d->topics_probe_ns = recd_now_mono_ns();
        }
        if (d->watchdog_interval_ns > 0 && now - d->last_watchdog_ns >= d->watchdog_interval_ns) {
            sd_notify(0, "WATCHDOG=1");
            d->last_watchdog_ns = now;
        }
        if (opts->exit_idle_ms > 0 && d->assigned &&
            now - d->last_msg_ns > opts->exit_idle_ms * 1000000LL) {
            if (!repl_pending(d)) {
                RLOG_NOTICE(RECD_LOG_MAIN, "no input for %lld ms: exiting",
                            (long long)opts->exit_idle_ms);
                break;
            }
            /* idle, but not done: said once per idle period, so that a wait that never ends
             * (an owner that stopped committing) is visible */
            if (now - d->idle_said_ns > opts->exit_idle_ms * 1000000LL) {
                RLOG_NOTICE(RECD_LOG_MAIN,
                            "no input for %lld ms, but %zu records are held for the consumer "
                            "group (or a partition is settling): not exiting yet",
                            (long long)opts->exit_idle_ms, recd_own_n_held(d->own));
                d->idle_said_ns = now;
            }
        }
    }
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    if (!d->fatal) {
        flush_batch(d); /* records polled before the stop signal */
        drain_output(d);
    }
    hand_over_all(d); /* also after a failed batch: what earlier batches published */
    {
        struct recd_pipeline_stats ps;
        struct rusage ru;

        memset(&ru, 0, sizeof(ru));
        getrusage(RUSAGE_SELF, &ru); /* ru_maxrss: peak resident set in KiB (Linux) */
        recd_pipeline_stats(d->pipeline, &ps);
        RLOG_NOTICE(RECD_LOG_MAIN,
                    "stopping: %llu batches, %llu records, %llu events, %llu dead-lettered, "
                    "%llu lists published, %llu tombstones, %llu skipped as already consumed, "
                    "%llu on a partition their key does not hash to; peak RSS %ld KiB",
                    (unsigned long long)ps.batches, (unsigned long long)ps.records,
                    (unsigned long long)ps.events, (unsigned long long)ps.dead_lettered,
                    (unsigned long long)ps.published, (unsigned long long)ps.tombstones,
                    (unsigned long long)d->skipped, (unsigned long long)d->wrong_partition,
                    (long)ru.ru_maxrss);
    }
    if (!d->fatal) {
        recd_pipeline_stop(d->pipeline); /* e.g. the model's warm-start image */
    }
    code = d->fatal ? RECD_EXIT_FAILURE : RECD_EXIT_OK;
    if (d->fatal && mc->enabled && !sig_stop) {
        /* /readyz keeps answering 503 with the reason a little longer, for probes/scrapes */
        struct timespec ts = { FAIL_LINGER_MS / 1000, (FAIL_LINGER_MS % 1000) * 1000000L };

        nanosleep(&ts, NULL);
    }
out:
    teardown(d);
    return code;
}
