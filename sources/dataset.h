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
 *   amazon-recbole    RecBole atomic files of a leave-one-out split (e.g. amazon-scientific):
 *                     <P>.test.inter and <P>.valid.inter "user_index<TAB>item_index_list<TAB>
 *                     next_item_index" (one header line, one row per user), <P>.item2index
 *                     "ASIN<TAB>item_index" (header optional) and <P>.text "ASIN<TAB>text" (one
 *                     header line). <P>.train.inter (one row per training prefix) is not read:
 *                     a user's test.inter prefix is already their whole history before the
 *                     test item (train prefixes + the valid item). See "amazon-recbole" below.
 *
 * Each session becomes one user: user_id = session_id = "<phase>-<session>" where <phase> is
 * "train" or "test" and <session> is the dataset's session id when it has one (retailrocket
 * test, yoochoose, diginetica-raw), else the 0-based index of the session in its file
 * (diginetica-raw: user_id "user-<userId>" when the data knows the user; amazon-recbole: see
 * below, one user spans both phases). Clicks are
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
 * >= 2, = test_examples.tsv); yoochoose test: every click after the first; amazon-recbole:
 * every test click (the held-out next item of each user).
 *
 * amazon-recbole (users with histories, not anonymous sessions):
 *   - one user = one session: user_id = session_id = "user-<user_index>" in both phases, item
 *     ids are the item indexes ("17"); event ids "amazon-recbole:<phase>:<user>:<position>" with
 *     position = the 0-based position in the user's whole history (so the test click of a user
 *     with 6 earlier clicks has position 6 = the number of the user's events before it);
 *   - train phase = each user's history up to, not including, the held-out next item; test
 *     phase = the held-out next item, one click per user, every one a test case. The held-out
 *     item is the test one (test.inter), or with conf.valid the validation one (valid.inter:
 *     its prefix ends before the valid item and the test item is never read) — for tuning;
 *   - cold start (conf.cold_frac > 0): the items with recd_dataset_cold_item(cold_frac, index)
 *     are held out of training: their clicks are removed from every train history (the
 *     remaining clicks keep their order; positions and rounds are those of the shortened
 *     history), their Item records and the held-out clicks on them are kept, so a test case
 *     whose target is held out has an item no training click ever touched (a user whose whole
 *     history is held out has no train session, only the test click at position 0);
 *   - catalogue: one Item per line of item2index, in index order, before every click (phase
 *     bit RECD_DS_PHASE_CATALOG, meta.phase RECD_DS_CATALOG, meta.session_index = the item
 *     index): item_id = the index, title = the item's text from <P>.text (title, categories
 *     and brand as one English string; "" when the item has no text), no categories, price 0,
 *     in stock, updated_ts = event time = the start of the timeline;
 *   - synthetic times, aligned at the end of the histories: with R = the longest train
 *     history, a user with L train clicks makes click k (0-based) in round R - L + k and the
 *     held-out click in round R; round r is at start + (r + 1) * G with G = session_gap_ms
 *     (default 60 s; at least one ms per user), and inside a round users follow in user-index
 *     order 1 ms apart (user i at + i ms). So a user's consecutive clicks are G apart (one
 *     session for recd as long as G < operators.sessionize.gap_s), every user's history ends in
 *     the last train round, the held-out clicks all come in round R, and event time strictly
 *     increases over the whole stream (unlimited concurrency: pure event-time order).
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
    RECD_DS_AMAZON_RECBOLE,
    RECD_DS__NFORMATS
};

/* The session phases. The catalogue (Item records, formats that have one) is not a session
 * phase: its events carry meta.phase RECD_DS_CATALOG and come before every click. */
enum recd_dataset_phase {
    RECD_DS_TRAIN = 0,
    RECD_DS_TEST = 1,
    RECD_DS__NPHASES,
    RECD_DS_CATALOG = RECD_DS__NPHASES
};

/* Phase selection bits. */
#define RECD_DS_PHASE_TRAIN   (1u << RECD_DS_TRAIN)
#define RECD_DS_PHASE_TEST    (1u << RECD_DS_TEST)
#define RECD_DS_PHASE_CATALOG (1u << RECD_DS_CATALOG)
#define RECD_DS_PHASE_ALL     (RECD_DS_PHASE_TRAIN | RECD_DS_PHASE_TEST | RECD_DS_PHASE_CATALOG)

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
    int valid;                /* amazon-recbole: 1 = hold out the validation item instead of
                                 the test item (tuning; the test items are not read) */
    double cold_frac;         /* amazon-recbole: hold this fraction of the items out of
                                 training (0 = none; see recd_dataset_cold_item): every train
                                 click on them is dropped, their catalogue text and the
                                 held-out (test/valid) clicks on them are kept, so the test
                                 cases whose target is one of them are cold-start cases */
};

/* Per-event provenance. */
struct recd_dataset_meta {
    int phase;                /* enum recd_dataset_phase (RECD_DS_CATALOG for Item records) */
    int64_t session_index;    /* 0-based index of the session in its phase: file order, or
                                 start-time order for phases with real timestamps (ties:
                                 file order); amazon-recbole: user-index order; catalogue:
                                 the item's index */
    int position;             /* 0-based position of the event in its session (amazon-recbole:
                                 in the user's whole history, across phases) */
    int session_len;          /* events in the session (amazon-recbole: the user's events up to
                                 the end of this phase) */
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
    int64_t items;                         /* catalogue records */
};

struct recd_dataset;

void recd_dataset_conf_init(struct recd_dataset_conf *c);

/* "diginetica-srgnn", "retailrocket-sbr", "yoochoose", "diginetica-raw", "amazon-recbole"
 * ("auto" for 0). */
const char *recd_dataset_format_name(int format);
/* Name → format, or -1. Accepts "auto". */
int recd_dataset_format_parse(const char *name);
/* Detect the format of a directory: a format (> 0), or RECD_ENOENT / RECD_EIO with errstr. */
int recd_dataset_detect(const char *dir, char *errstr, size_t errlen);

/* Load a dataset. RECD_EINVAL (bad conf), RECD_ENOENT (no recognisable files), RECD_EIO,
 * RECD_EDECODE ("file:line: message" for a malformed line), RECD_ENOMEM; errstr says more.
 * *out is owned by the caller (recd_dataset_close). */
int recd_dataset_open(const struct recd_dataset_conf *conf, struct recd_dataset **out, char *errstr,
                      size_t errlen);

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

/* 1 if item index `item` is among the items held out of training by cold_frac = frac: a
 * deterministic hash of the index (splitmix64) mapped to [0, 1) is below frac. The set for a
 * smaller fraction is a subset of the set for a larger one. */
int recd_dataset_cold_item(double frac, int64_t item);

#endif
