/*
 * dataset.h — readers for the public session datasets (../shared/data, see its README) that
 * yield recd_events in replay order.
 *
 * Formats (auto-detected from the files in the directory, or forced):
 *   diginetica-srgnn  train_sessions.txt, test_sessions.txt: one session per line, item ids
 *                     separated by spaces; no timestamps.
 *   retailrocket-sbr  train_sessions.txt as above; test_sessions.tsv
 *                     "session_id<TAB>start_unix_seconds<TAB>items" (real session starts).
 *   yoochoose         TSV "SessionId ItemId Time" (unix seconds, fractional; header line
 *                     optional): *train_full*.txt is the train phase and *test*.txt the test
 *                     phase; without a train_full file every .txt file (name order) is train.
 *   diginetica-raw    sample_train-item-views.csv (views) and train-purchases.csv (orders),
 *                     ';'-separated with a header; time = eventdate (UTC midnight) + timeframe
 *                     ms. Purchases are grouped by (session, ordernumber) into one event whose
 *                     lines have quantity = the number of rows and unit_price 0 (the data has
 *                     no prices). Everything is train. No catalogue (no titles or prices).
 *
 * Each session becomes one user: user_id = session_id = "<phase>-<session>" where <phase> is
 * "train" or "test" and <session> is the dataset's session id when it has one (retailrocket
 * test, yoochoose, diginetica-raw), else the 0-based index of the session in its file
 * (diginetica-raw: user_id "user-<userId>" when the data knows the user). Clicks are
 * RECD_CLICK_VIEW / RECD_SRC_BROWSE without context. Event ids are
 * "<format>:<phase>:<session>:<position>".
 *
 * Event times:
 *   - real timestamps are used as they are (yoochoose, diginetica-raw); sessions with only a
 *     real start (retailrocket test) get synthetic in-session offsets;
 *   - sessions without timestamps start in file order, session i of a phase nominally at
 *     base + i * session_gap_ms, but never before the last event already emitted (so time
 *     never goes backwards); clicks inside a session are 30–120 s apart, a deterministic
 *     function of (phase, session, position).
 *   - phase bases: diginetica-srgnn train starts at start_ts_ms (default 2016-01-01), its test
 *     phase one session_gap after the train phase's last event; retailrocket train is placed
 *     so that it ends one day before the first test session (unless start_ts_ms is set).
 *     Times do not depend on which phases are selected, nor on skip/limit.
 * Interleaving: up to `concurrency` sessions of a phase are open at once (opened in file order,
 * or in order of their start time when the phase has real times); their events are emitted
 * merged by event time, ties broken by the order the sessions were opened. A session's own
 * events keep their order. Concurrency 1 = one session after another. With synthetic times
 * event time never decreases; with real times and a bounded concurrency it may (a session
 * opened late keeps its real times), so real-time phases default to unlimited concurrency
 * (pure event-time order). The phases are replayed one after the other (train, then test).
 *
 * Test cases (meta.test_case): the clicks the published protocol scores, i.e. the next item
 * after a prefix — diginetica-srgnn test sessions: every click after the first (= the lines of
 * test_examples.tsv); retailrocket-sbr: every click from the third on (prefixes of length
 * >= 2, = test_examples.tsv); yoochoose test: every click after the first.
 *
 * Ownership: the dataset is loaded into memory by recd_dataset_open() and owned by the
 * handle; events returned by recd_dataset_next() have their strings in the caller's arena.
 */
#ifndef RECD_DATASET_H
#define RECD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum recd_dataset_format {
    RECD_DS_AUTO = 0,
    RECD_DS_DIGINETICA_SRGNN,
    RECD_DS_RETAILROCKET_SBR,
    RECD_DS_YOOCHOOSE,
    RECD_DS_DIGINETICA_RAW,
    RECD_DS__NFORMATS
};

enum recd_dataset_phase { RECD_DS_TRAIN = 0, RECD_DS_TEST = 1, RECD_DS__NPHASES };

/* Phase selection bits. */
#define RECD_DS_PHASE_TRAIN (1u << RECD_DS_TRAIN)
#define RECD_DS_PHASE_TEST  (1u << RECD_DS_TEST)
#define RECD_DS_PHASE_ALL   (RECD_DS_PHASE_TRAIN | RECD_DS_PHASE_TEST)

#define RECD_DS_CONCURRENCY_UNLIMITED (-1)

struct recd_dataset_conf {
    const char *dir;          /* dataset directory (borrowed during open) */
    int format;               /* enum recd_dataset_format; RECD_DS_AUTO detects */
    unsigned phases;          /* RECD_DS_PHASE_* bits; 0 = all */
    int concurrency;          /* sessions open at once; 0 = default (8 for phases without
                                 real times, unlimited for phases with real times);
                                 RECD_DS_CONCURRENCY_UNLIMITED = pure event-time order */
    int64_t session_gap_ms;   /* nominal spacing of synthetic session starts (default 60 s) */
    int64_t start_ts_ms;      /* base of the first synthetic phase; 0 = format default */
    int64_t skip;             /* events to skip first (after phase selection) */
    int64_t limit;            /* max events returned (after skip); 0 = no limit */
};

/* Per-event provenance. */
struct recd_dataset_meta {
    int phase;                /* enum recd_dataset_phase */
    int64_t session_index;    /* 0-based index of the session in its phase: file order, or
                                 start-time order for phases with real timestamps (ties:
                                 file order) */
    int position;             /* 0-based position of the event in its session */
    int session_len;          /* events in the session */
    int test_case;            /* 1: a published test case: score the recommendation list
                                 published before this click against its item */
};

/* Counts of a phase (whole dataset, independent of selection/skip/limit). */
struct recd_dataset_stats {
    int64_t sessions[RECD_DS__NPHASES];
    int64_t events[RECD_DS__NPHASES];      /* clicks + purchases */
    int64_t clicks[RECD_DS__NPHASES];
    int64_t purchases[RECD_DS__NPHASES];
    int64_t test_cases[RECD_DS__NPHASES];
};

struct recd_dataset;

void recd_dataset_conf_init(struct recd_dataset_conf *c);

/* "diginetica-srgnn", "retailrocket-sbr", "yoochoose", "diginetica-raw" ("auto" for 0). */
const char *recd_dataset_format_name(int format);
/* Name → format, or -1. Accepts "auto". */
int recd_dataset_format_parse(const char *name);
/* Detect the format of a directory: a format (> 0), or RECD_ENOENT / RECD_EIO with errstr. */
int recd_dataset_detect(const char *dir, char *errstr, size_t errlen);

/* Load a dataset. RECD_EINVAL (bad conf), RECD_ENOENT (no recognisable files), RECD_EIO,
 * RECD_EDECODE ("file:line: message" for a malformed line), RECD_ENOMEM; errstr says more.
 * *out is owned by the caller (recd_dataset_close). */
int recd_dataset_open(const struct recd_dataset_conf *conf, struct recd_dataset **out,
                      char *errstr, size_t errlen);

/* The next event in replay order: 1 with *ev (topic NULL, partition -1, offset -1; strings in
 * `arena`) and *meta (if meta is non-NULL), 0 at the end, RECD_ENOMEM. */
int recd_dataset_next(struct recd_dataset *ds, struct recd_arena *arena, struct recd_event *ev,
                      struct recd_dataset_meta *meta);

/* Restart the iteration from the beginning (same conf). */
void recd_dataset_rewind(struct recd_dataset *ds);

int recd_dataset_format(const struct recd_dataset *ds);
void recd_dataset_stats(const struct recd_dataset *ds, struct recd_dataset_stats *st);
/* Events the iteration yields in total (after phase selection, skip and limit). */
int64_t recd_dataset_total(const struct recd_dataset *ds);

void recd_dataset_close(struct recd_dataset *ds);

#endif
