/*
 * pipeline.h — one micro-batch from raw Kafka records to committed state and published
 * output, independent of Kafka itself (the daemon feeds it; tests and tools can too):
 *
 *   decode + validate (bad records -> sink->dead_letter)
 *   -> per-user event counts (the Recommendations seq)
 *   -> operators' process() in chain order (split around user deletions)
 *   -> operators' checkpoint() into the batch's state transaction
 *   -> publish outputs and tombstones through the sink; then either flush (wait for acks),
 *      or — when the sink holds the batch (asynchronous publishing) — record the batch's
 *      users in the outbox (CF_OUTPUTS key "\0ob" + big-endian batch number)
 *   -> add the consumed offsets (and the removal of the outbox entries of batches acknowledged
 *      since, recd_pipeline_acked) to the transaction and commit it atomically.
 *
 * If anything fails before the commit, nothing of the batch is committed and the error is
 * returned: the daemon exits non-zero and a restart re-reads from the stored offsets. A held
 * batch is committed before its output is acknowledged; if that output is then lost (crash,
 * delivery failure), the outbox survives in the state and recd_pipeline_recover() republishes
 * the users' stored lists at the next start.
 */
#ifndef RECD_PIPELINE_H
#define RECD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "event.h"

struct recd_state;
struct recd_metrics;
struct recd_codec;

struct recd_raw {
    int kind;                 /* enum recd_kind of the source topic */
    const char *topic;        /* borrowed */
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t klen;
    const void *val;          /* NULL for a null value (tombstone) */
    size_t vlen;
    int64_t ts_ms;            /* Kafka message timestamp (producer create time), 0 if none:
                                 the start of the event -> publish latency */
    int silent;               /* applied to state, but another instance publishes its user's
                                 lists (kafka.learn_from = "all", daemon/ownership.h) */
};

struct recd_sink {
    void *opaque;
    /* Publish a Recommendations value (val NULL: tombstone) keyed by user_id. */
    int (*publish)(void *opaque, const char *user_id, const void *val, size_t len);
    /* Dead-letter a raw record with its error class and message. */
    int (*dead_letter)(void *opaque, const struct recd_raw *r, const char *err_class,
                       const char *message);
    /* Wait until everything published/dead-lettered so far is acknowledged. */
    int (*flush)(void *opaque, char *errstr, size_t errlen);
    /* Optional (NULL: every batch is flushed before its commit). Called once per batch after
     * its last publish() and before its commit, with the batch's number. Returns 1 when the
     * sink takes over waiting for the batch's acknowledgement (it then calls
     * recd_pipeline_acked(batch_no) once everything published for the batch is acknowledged;
     * it may do so from within hold() or flush()), 0 when the pipeline must flush first. A sink
     * with hold() also observes the event -> publish latency itself. */
    int (*hold)(void *opaque, uint64_t batch_no);
    /* Optional: the event time of every decoded click, purchase and query, with its source
     * partition (the daemon paces its consumption by it: kafka.max_event_skew_ms). */
    void (*event_time)(void *opaque, int kind, int32_t partition, int64_t ts_ms);
};

struct recd_pipeline;

/* conf, state, metrics, codec are borrowed and must outlive the pipeline. */
int recd_pipeline_new(const struct recd_conf *conf, struct recd_state *st,
                      struct recd_metrics *metrics, struct recd_codec *codec,
                      struct recd_pipeline **out, char *errstr, size_t errlen);
void recd_pipeline_destroy(struct recd_pipeline *p);
/* A clean stop after the last batch committed: each operator's stop() (e.g. sgd's warm-start
 * image of the model); failures are logged. */
void recd_pipeline_stop(struct recd_pipeline *p);

int recd_pipeline_run_batch(struct recd_pipeline *p, const struct recd_raw *recs, size_t n,
                            const struct recd_sink *sink, char *errstr, size_t errlen);

/* Everything published for batch batch_no is acknowledged: its outbox entry is removed by the
 * next commit. Returns RECD_OK or RECD_ENOMEM. */
int recd_pipeline_acked(struct recd_pipeline *p, uint64_t batch_no);

/* Commit the removal of the outbox entries of batches acknowledged since the last commit
 * (at a clean stop, after the producer was flushed). No-op when there are none. */
int recd_pipeline_commit_acked(struct recd_pipeline *p, char *errstr, size_t errlen);

/* At start, before the first batch: republish the stored list (or a tombstone, for a user
 * forgotten since) of every user in an outbox entry left by a crash, flush, then remove the
 * entries. *n_out (may be NULL) gets the number of records republished. On failure nothing is
 * removed (the next start tries again). Also sets the next batch number past the entries.
 * sink NULL: the entries are only removed (*n_out: the users they named) — with learn_from =
 * all whoever owns the partition next publishes those users again, from a state at least as
 * new (daemon.c, start_publishing), and a list from this state could carry a lower seq. */
int recd_pipeline_recover(struct recd_pipeline *p, const struct recd_sink *sink, size_t *n_out,
                          char *errstr, size_t errlen);

/* Apply the reloadable knobs of a new, already validated config (operators' reconfigure). */
int recd_pipeline_reconfigure(struct recd_pipeline *p, const struct recd_conf *conf, char *errstr,
                              size_t errlen);

/* Counters since start (for the daemon's summary and tests). */
struct recd_pipeline_stats {
    uint64_t batches, records, events, dead_lettered, published, tombstones;
    uint64_t silent_events; /* applied, published by another instance (kafka.learn_from) */
    uint64_t republished;   /* lists published again at a handover (recd_pipeline_republish) */
    uint64_t expiry_skipped; /* delete tombstones the user-expiry sweeps stepped over */
};
/* Scale-out: owns_user(ctx, user) says whether this instance publishes the user's lists, for
 * output that no event carries (tombstones of expired users). NULL (the default): all. */
void recd_pipeline_set_owner(struct recd_pipeline *p,
                             int (*owns_user)(void *ctx, const char *user_id), void *ctx);
/* Scale-out: publish the user's list (from the state then) in the next batch again. */
int recd_pipeline_republish(struct recd_pipeline *p, const char *user_id);
/* Users recd_pipeline_republish queued and no batch has published yet. A batch of no records
 * publishes them. */
size_t recd_pipeline_pending_republish(const struct recd_pipeline *p);
void recd_pipeline_stats(const struct recd_pipeline *p, struct recd_pipeline_stats *out);

#endif
