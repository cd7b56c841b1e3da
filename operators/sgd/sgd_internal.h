/*
 * sgd_internal.h — what the files of the sgd operator share: the operator's struct, the event
 * log's record, and the persistence entry points (sgd_store.c: the event log and the model
 * snapshots in the MODEL column family). Not included outside operators/sgd.
 */
#ifndef RECD_SGD_INTERNAL_H
#define RECD_SGD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "recd.h"
#include "sessrec.h"
#include "mf.h"
#include "services/sessrec.h"
#include "sgd.h"

struct recd_state;
struct recd_txn;
struct recd_embed;
struct recd_catalog;
struct recd_metrics;

#pragma pack(push, 1)
struct log_rec {
    uint64_t session_key;
    int32_t item;            /* -1: the session ended (user forgotten); else the item index
                              * in bits 0..27 and the kind (enum log_kind) in bits 28..30 */
    int64_t ts;
};
#pragma pack(pop)

#define LOG_CHUNK     256
#define LOG_ITEM_MASK 0x0FFFFFFF
/* kinds of logged events; 0 is what logs written before purchases were logged hold */
enum log_kind { LOG_CLICK = 0, LOG_CART = 1, LOG_PURCHASE = 2, LOG_RETIRE = 3 };
/* LOG_RETIRE: the catalogue retired the item (session_key 0): the model drops it */

struct sgd {
    struct sessrec_params params;
    int learn;
    struct sessrec *model;          /* owned */
    struct recd_sessrec_ref ref;    /* offered as service "sessrec" */
    struct recd_state *state;       /* borrowed */
    uint64_t n_events;              /* events logged (committed + pending) */
    uint64_t n_committed;
    struct log_rec *pending;        /* this batch's log records */
    size_t n_pending, cap_pending;
    /* the event log holds the committed events [base, n_committed); the model snapshot is
     * the model after the first `base` events (none while base is 0), in blob snap_name */
    uint64_t base;
    char snap_name[48];             /* "" while there is none */
    uint64_t snapshot_every;        /* operators.sgd.snapshot_every (a multiple of LOG_CHUNK) */
    uint64_t snapshot_delay;        /* operators.sgd.snapshot_commit_after */
    uint64_t warm_min;              /* operators.sgd.snapshot_at_stop (0: no warm image) */
    struct recd_metrics *metrics;   /* borrowed, may be NULL */
    struct sgd_snap_job {           /* the snapshot being written, or written and not committed */
        int active;
        int sync;                   /* written in this batch (after a deletion) */
        int ready;                  /* written: name, bytes, hash are valid */
        int pid;                    /* the child process writing it (0: none) */
        int report_fd;              /* the child's report (-1: none) */
        uint64_t pos;               /* events it covers */
        uint64_t commit_at;         /* events after which its batch commits it (async) */
        uint64_t bytes, hash;       /* the image's size and XXH3-64 */
        char name[48];              /* its blob */
        int64_t t0_ns, made_ns;     /* started, time to write it (async: to fork it) */
        int64_t wait_ns;            /* async: time its commit point waited for the child */
    } job, ready;                   /* job: being written; ready: written, committed by this
                                     * batch's write (a later one supersedes it) */
    struct log_rec tail[LOG_CHUNK]; /* committed records of the last, partial chunk (>= base) */
    size_t n_tail;
    struct log_rec next_tail[LOG_CHUNK]; /* the same after this batch commits */
    size_t n_next_tail;
    int32_t *scratch_items;
    int32_t *cand;                  /* learn_topn scratch */
    float *cand_score;
    struct mf *mf;                  /* owned, NULL when operators.sgd.mf is off */
    struct mf_params mf_params;
    const struct recd_embed *embed; /* borrowed service (text vectors), NULL: no text tie */
    struct recd_catalog *cat;       /* borrowed service: purchase lines' item indices */
    float weight[3];                /* by enum log_kind */
    int32_t *retiring;              /* owned: items of LOG_RETIRE records applied, not yet
                                     * dropped from the model (sgd_retire_flush) */
    size_t n_retiring, cap_retiring;
    size_t retired_batch;           /* items dropped by this batch's flushes, and their time */
    int64_t retired_batch_ns;
};

/* sgd.c: drop the items of the LOG_RETIRE records applied so far from the model and MF (one
 * pass over the model for a run of them). Called before any other record is applied, at the
 * end of a batch or replay, and before the model is written; the model after it does not
 * depend on when it ran. Allocates nothing. */
void sgd_retire_flush(struct sgd *op);

/* sgd.c: learn one logged event (the one code path for live events and log replay). RECD_OK,
 * RECD_ENOMEM, or RECD_ESTATE for a record that cannot be from a log. */
int sgd_apply(struct sgd *op, const struct log_rec *r);
/* sgd.c: a new, empty model and MF for the operator's parameters. RECD_OK or RECD_ENOMEM. */
int sgd_model_new(struct sgd *op, struct sessrec **model, struct mf **mf);

/* sgd_store.c: the model from the newest snapshot and the log after it (replaces op->model
 * and op->mf). RECD_OK, or an error with errstr set (a corrupt log or snapshot). */
int sgd_store_load(struct sgd *op, char *errstr, size_t errlen);
/* sgd_store.c: after the record that made the log reach `pos` events: a snapshot is started
 * (a multiple of snapshot_every: written by a child process, committed snapshot_commit_after
 * events later) or written now (`deletion`: committed in this batch), or a pending one becomes
 * due. RECD_OK, or an error (a snapshot that cannot be written after a deletion). */
int sgd_store_after(struct sgd *op, uint64_t pos, int deletion);
/* sgd_store.c: stop a snapshot being written (its child killed, its files removed). */
void sgd_store_abort(struct sgd *op);
/* A clean stop: the warm-start image of the model (operators.sgd.snapshot_at_stop). */
int sgd_store_stop(struct sgd *op, char *errstr, size_t errlen);
/* sgd_store.c: this batch's log records, and the snapshot if one was taken, into the batch's
 * write. */
int sgd_store_checkpoint(struct sgd *op, struct recd_txn *txn, char *errstr, size_t errlen);
/* sgd_store.c: the batch's write committed (ok) or not. */
void sgd_store_committed(struct sgd *op, int ok);

#endif
