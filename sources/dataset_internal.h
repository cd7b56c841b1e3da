/*
 * dataset_internal.h — private to the dataset readers (dataset.c, dataset_common.c,
 * dataset_detect.c, dataset_session_lines.c, dataset_yoochoose.c, dataset_diginetica_raw.c,
 * dataset_amazon.c, dataset_replay.c): the layout of a loaded dataset, the parsing and loading
 * helpers the readers share, each reader's entry point and the replay order. Not for use outside
 * them; the API is dataset.h.
 *
 * The whole dataset is loaded into compact arrays (item ids are numeric in every supported
 * format and are kept as int64), then replayed by a per-phase merge: a min-heap of the open
 * sessions keyed by (time of the session's next event, order the session was opened).
 */
#ifndef RECD_DATASET_INTERNAL_H
#define RECD_DATASET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "recd.h"

#define DS_DEFAULT_GAP_MS      INT64_C(60000)
#define DS_DEFAULT_START_MS    INT64_C(1451606400000)   /* 2016-01-01T00:00:00Z */
#define DS_DEFAULT_CONCURRENCY 8
#define DS_DAY_MS              INT64_C(86400000)
#define DS_DWELL_MIN_MS        INT64_C(30000)
#define DS_DWELL_SPAN_MS       INT64_C(90001)          /* dwell in [30 s, 120 s] */
#define DS_PATH_MAX            4096

enum ds_timing {
    TIME_NONE = 0,    /* no timestamps: synthetic session starts and offsets */
    TIME_START,       /* real session start, synthetic offsets */
    TIME_FULL         /* real time for every event */
};

struct ds_ev {
    int64_t ts;       /* real time (TIME_FULL), else unused */
    int64_t ref;      /* >= 0: click on item `ref`; < 0: purchase, order index -ref-1 */
};

struct ds_order {
    int64_t order_no;
    int64_t first_line;
    int32_t n_lines;
};

struct ds_line {
    int64_t item;
    int32_t qty;
};

struct ds_sess {
    int64_t key;      /* the dataset's session id, or the index in the file */
    int64_t user;     /* known user id, or -1 */
    int64_t first;    /* first event in ds->ev */
    int32_t n;        /* events */
    int32_t pos0;     /* position of the first event in the user's history (amazon-recbole:
                         a user's test click continues their train history), else 0 */
    int64_t start;    /* real start (TIME_START / TIME_FULL) */
};

struct ds_phase {
    struct ds_sess *s;    /* owned */
    size_t n, cap;
    int timing;           /* enum ds_timing */
    int64_t base;         /* synthetic base (TIME_NONE) */
    int concurrency;      /* effective, >= 1 (INT_MAX = unlimited) */
    int64_t events, clicks, purchases, test_cases;
};

struct heap_ent {
    int64_t ts;       /* time of the session's next event */
    int64_t order;    /* open order (tie-break) */
    int64_t sess;     /* index in the phase */
    int32_t pos;      /* next event's position */
};

struct ds_iter {
    int phase;
    struct heap_ent *heap;  /* owned */
    size_t n_heap, cap;
    int64_t next_open;      /* next session (index) to open */
    int64_t clock;          /* time of the last event popped */
    int clock_set;
    int64_t opened;
};

struct recd_dataset {
    int format;
    struct recd_dataset_conf conf;    /* dir cleared */
    struct ds_phase ph[RECD_DS__NPHASES];
    struct ds_ev *ev;                 /* owned */
    size_t n_ev, cap_ev;
    struct ds_order *orders;          /* owned */
    size_t n_orders, cap_orders;
    struct ds_line *lines;            /* owned */
    size_t n_lines, cap_lines;
    char **titles;                    /* catalogue (owned): item index -> text ("" none) */
    size_t n_items;
    int64_t catalog_ts;               /* event time of the catalogue records */
    int user_sessions;                /* session id = user id in every phase (amazon-recbole) */
    /* iteration */
    int cur;                          /* current phase, RECD_DS__NPHASES at the end */
    struct ds_iter it;
    int it_live;
    size_t cat_next;                  /* next catalogue record */
    int64_t passed;                   /* events passed (skipped or returned) */
    int64_t returned;
    int64_t total;
};

/* A row of the timestamped formats, before grouping into sessions. */
struct ds_row {
    int64_t sess;
    int64_t ts;
    int64_t ref; /* item, or -(order index)-1 */
    int64_t user; /* -1 unknown */
    int64_t seq; /* file order */
    int kind; /* 0 view, 1 purchase (views first on equal times) */
};

/* A text file read line by line, with its path and the current line number for messages. */
struct ds_reader {
    char path[DS_PATH_MAX];
    FILE *fp;         /* owned */
    char *line;       /* owned (getline's buffer): the current line */
    size_t cap;
    int64_t lineno;   /* of the current line, from 1 */
};

/* The format names, indexed by enum recd_dataset_format (dataset_detect.c). */
extern const char *const ds_format_names[RECD_DS__NFORMATS];

/* ---- small helpers (dataset_common.c) ------------------------------------------------------ */
uint64_t ds_mix64(uint64_t z);

int ds_grow(void **p, size_t *cap, size_t need, size_t elem);
#define GROW(arr, cap, need) ds_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* Strict non-negative decimal integer in [s, e). */
int ds_parse_i64(const char *s, const char *e, int64_t *out);
/* Unix seconds with an optional fraction ("1396860669.277") → ms, without floating point. */
int ds_parse_secs_ms(const char *s, const char *e, int64_t *out);
/* "YYYY-MM-DD" → ms at UTC midnight (days_from_civil, H. Hinnant). */
int ds_parse_date_ms(const char *s, const char *e, int64_t *out);
/* Split a line at `sep` into at most `max` fields; returns the count. Strips a trailing \r\n. */
int ds_split_fields(char *line, char sep, char **f, char **fe, int max);
/* The next token of the string at *p: separators (any char of `seps`) are skipped, then the
 * token is [*tok, *tok_end) and *p moves to its end; 0 when the string has no token left. */
int ds_next_token(char **p, const char *seps, char **tok, char **tok_end);

int ds_path_join(char *out, size_t outlen, const char *dir, const char *name);
int ds_file_exists(const char *dir, const char *name);
/* The regular files of dir whose names end in `suffix`, sorted; *names owned by the caller
 * (ds_free_names). */
int ds_list_files(const char *dir, const char *suffix, char ***names, size_t *n, char *errstr,
                  size_t errlen);
/* Frees v[0..n) and v. */
void ds_free_names(char **v, size_t n);

/* ---- line reader (dataset_common.c) ------------------------------------------------------- */
/* Opens dir/<name><suffix> into *r (zeroed first). A file that is not there fails with
 * `missing_rc` (RECD_ENOENT; RECD_EIO for a file found a moment ago), another open failure with
 * RECD_EIO, a path too long with RECD_EINVAL; *r then holds nothing to close. */
int ds_reader_open(struct ds_reader *r, const char *dir, const char *name, const char *suffix,
                   int missing_rc, char *errstr, size_t errlen);
/* The next line (its newline kept), r->lineno advanced; NULL at the end of the file. */
char *ds_reader_line(struct ds_reader *r);
/* The next line that is not empty, split at `sep` (ds_split_fields): the field count (>= 1), or
 * 0 at the end of the file. Empty lines still count in r->lineno. */
int ds_reader_fields(struct ds_reader *r, char sep, char **f, char **fe, int max);
/* RECD_OK, or RECD_EIO ("<path>: read error") when the reading stopped on an error. */
int ds_reader_status(struct ds_reader *r, char *errstr, size_t errlen);
/* Frees what r owns; harmless on a reader that is not open (zeroed). */
void ds_reader_close(struct ds_reader *r);

/* ---- loading (dataset_common.c) ----------------------------------------------------------- */
int ds_add_session(struct recd_dataset *ds, int phase, int64_t key, int64_t user, int64_t first,
                   int32_t n, int64_t start);
int ds_add_ev(struct recd_dataset *ds, int64_t ts, int64_t ref);
/* Rows (any order) → events and sessions of a TIME_FULL phase, sessions in start order. */
int ds_rows_to_sessions(struct recd_dataset *ds, int phase, struct ds_row *rows, size_t n);

/* ---- the readers: each fills ds from the files of dir ------------------------------------ */
/* dataset_detect.c: whether dir/name starts like a yoochoose TSV file. */
int ds_is_yoochoose_file(const char *dir, const char *name);
/* dataset_session_lines.c (diginetica-srgnn, retailrocket-sbr): train_sessions.txt, then the
 * test file if there is one, `test_cols` as load_session_lines's cols (1: items; 3: with a
 * session id and a start time). */
int ds_load_session_files(struct recd_dataset *ds, const char *dir, const char *test_name,
                          int test_cols, char *errstr, size_t errlen);
int ds_load_yoochoose(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen);
int ds_load_diginetica_raw(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen);
int ds_load_amazon_recbole(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen);

/* ---- replay order (dataset_replay.c) ------------------------------------------------------ */
int ds_is_test_case(int format, int phase, int32_t pos);
int ds_iter_init(const struct recd_dataset *ds, struct ds_iter *it, int phase);
/* Next (session, position, time) of the phase; 0 at its end. */
int ds_iter_step(const struct recd_dataset *ds, struct ds_iter *it, int64_t *sess, int32_t *pos,
                 int64_t *ts);
void ds_iter_free(struct ds_iter *it);
/* Each phase's effective concurrency and synthetic base (dataset.h "Event times"). */
int ds_place_phases(struct recd_dataset *ds);

#endif
