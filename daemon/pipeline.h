/*
 * pipeline.h — one micro-batch from raw Kafka records to committed state and published
 * output, independent of Kafka itself (the daemon feeds it; tests and tools can too):
 *
 *   decode + validate (bad records -> sink->dead_letter)
 *   -> per-user event counts (the Recommendations seq)
 *   -> operators' process() in chain order (split around user deletions)
 *   -> operators' checkpoint() into the batch's state transaction
 *   -> publish outputs and tombstones through the sink, flush (wait for acks)
 *   -> add the consumed offsets to the transaction and commit it atomically.
 *
 * If anything fails before the commit, nothing of the batch is committed and the error is
 * returned: the daemon exits non-zero and a restart re-reads from the stored offsets.
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
};

struct recd_pipeline;

/* conf, state, metrics, codec are borrowed and must outlive the pipeline. */
int recd_pipeline_new(const struct recd_conf *conf, struct recd_state *st,
                      struct recd_metrics *metrics, struct recd_codec *codec,
                      struct recd_pipeline **out, char *errstr, size_t errlen);
void recd_pipeline_destroy(struct recd_pipeline *p);

int recd_pipeline_run_batch(struct recd_pipeline *p, const struct recd_raw *recs, size_t n,
                            const struct recd_sink *sink, char *errstr, size_t errlen);

/* Apply the reloadable knobs of a new, already validated config (operators' reconfigure). */
int recd_pipeline_reconfigure(struct recd_pipeline *p, const struct recd_conf *conf,
                              char *errstr, size_t errlen);

/* Counters since start (for the daemon's summary and tests). */
struct recd_pipeline_stats {
    uint64_t batches, records, events, dead_lettered, published, tombstones;
};
void recd_pipeline_stats(const struct recd_pipeline *p, struct recd_pipeline_stats *out);

#endif
