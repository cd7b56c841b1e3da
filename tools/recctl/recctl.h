/*
 * recctl.h — what the files of recctl (tools/recctl/) share: the common options and topics
 * (common.c), JSON (json.c), the producing sink (sink.c), the stream runner behind replay and
 * gen (stream.c), and the subcommands main.c dispatches to (one file each).
 *
 * Ownership: every command owns what it creates and releases it on its cleanup path; strings
 * of decoded/parsed events live in a per-record arena (or in the JSON tree they came from)
 * until the record has been encoded or printed.
 */
#ifndef RECD_RECCTL_H
#define RECD_RECCTL_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "conf.h"
#include "event.h"
#include "recd.h"

/* ---- topics and kinds (common.c) --------------------------------------------------------- */
enum {
    T_CLICKS = RECD_KIND_CLICK,
    T_PURCHASES = RECD_KIND_PURCHASE,
    T_QUERIES = RECD_KIND_QUERY,
    T_ITEMS = RECD_KIND_ITEM,
    T_DELETIONS = RECD_KIND_DELETION,
    T_RECS = RECD_KIND_RECS,
    T_DLQ,
    T__N
};
#define KIND_RAW T__N   /* --kind raw: any topic, printed like the DLQ */

extern const char *const TOPIC_DEFAULT[T__N];
extern const char *const KIND_NAME[T__N];   /* --kind names; index = topic index */
/* A --kind name (singular or plural) -> topic index, KIND_RAW, or -1. */
int parse_kind(const char *s);

/* ---- common options (common.c) ----------------------------------------------------------- */
#define MAX_X 128

struct common {
    const char *brokers;
    const char *topic[T__N];
    const char *x[MAX_X];     /* "key=value", borrowed from argv */
    int n_x;
    int verbose;
    /* -c FILE: recd's configuration, read with recd's own tables and checks (recd -t). Its
     * values are defaults: an explicit option wins wherever it stands on the command line. */
    struct recd_conf *conf;   /* owned (common_release), or NULL */
    const struct recd_kvlist *props;   /* kafka.properties of conf (borrowed), or NULL */
    const char *state_dir;    /* state.dir of conf (borrowed), or NULL */
    const char *metrics_listen;        /* metrics.listen of conf (borrowed), or NULL */
    const char *group_id;     /* kafka.group_id of conf (borrowed), or NULL */
    unsigned char set_brokers, set_topic[T__N];   /* given as options */
    int conf_error;           /* the -c file was refused: exit RECD_EXIT_CONFIG */
};

enum {
    O_TOPIC0 = 1000,          /* O_TOPIC0 + topic index */
    O_KIND = 1100,
    O_TOPIC,
    O_CONFLUENT_ID,
    O_FORMAT,
    O_RATE,
    O_CONCURRENCY,
    O_LIMIT,
    O_SKIP,
    O_PHASE,
    O_POISON,
    O_SEED,
    O_POISON_LOG,
    O_UNKNOWN_ITEMS,
    O_OVERSIZE,
    O_GAP_MS,
    O_START_TS,
    O_META_LOG,
    O_VALID,
    O_COLD_FRAC,
    O_USERS,
    O_ITEMS,
    O_EVENTS,
    O_CATEGORIES,
    O_JSONL,
    O_FROM_BEGINNING,
    O_MAX,
    O_IDLE_MS,
    O_TIMEOUT_MS,
    O_PARTITIONS,
    O_REPLICATION,
    O_REASON,
    O_ALL,
    O_P_QUERY,
    O_P_CART,
    O_P_PURCHASE,
    O_TS,
    O_GROUP,
    O_TURNOVER
};

#define COMMON_SHORT "b:c:X:hv"     /* commands: options anywhere */
#define MAIN_SHORT   "+b:c:X:hv"      /* before the command: stop at the command name */
#define COMMON_LONG                                                                  \
    { "brokers", required_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' }, \
        { "verbose", no_argument, NULL, 'v' },                                       \
        { "config", required_argument, NULL, 'c' },                                  \
        { "topic-clicks", required_argument, NULL, O_TOPIC0 + T_CLICKS },            \
        { "topic-purchases", required_argument, NULL, O_TOPIC0 + T_PURCHASES },      \
        { "topic-queries", required_argument, NULL, O_TOPIC0 + T_QUERIES },          \
        { "topic-items", required_argument, NULL, O_TOPIC0 + T_ITEMS },              \
        { "topic-deletions", required_argument, NULL, O_TOPIC0 + T_DELETIONS },      \
        { "topic-recommendations", required_argument, NULL, O_TOPIC0 + T_RECS },     \
        { "topic-recs", required_argument, NULL, O_TOPIC0 + T_RECS },                \
    {                                                                                \
        "topic-dlq", required_argument, NULL, O_TOPIC0 + T_DLQ                       \
    }

extern const char COMMON_HELP[];
extern volatile sig_atomic_t g_stop;   /* set by SIGINT/SIGTERM once install_signals ran */

void install_signals(void);
/* Handles a common option: 1 handled, 0 not a common option, -1 error (printed; exit with
 * common_opt_exit). */
int common_opt(struct common *c, const char *cmd, int opt, const char *arg);
/* -c FILE: load recd's configuration and take brokers, topics, kafka.properties, state.dir,
 * metrics.listen, kafka.group_id and the input codec from it (options given explicitly keep
 * their values). RECD_OK, or -1 with the message printed and c->conf_error set. */
int common_config(struct common *c, const char *cmd, const char *path);
/* The exit code a failed common option asks for: RECD_EXIT_CONFIG after a config file
 * recd would refuse, RECD_EXIT_USAGE otherwise. */
int common_opt_exit(const struct common *c);
/* The input codec recd would use (-c: input.format, writer schemas, confluent_ids), else
 * auto-detection with the compiled-in schemas. *out owned by the caller. */
int common_codec(const struct common *c, struct recd_codec **out, char *err, size_t len);
void common_release(struct common *c);
/* An integer (a number) in [min, max]; -1 with the message printed. */
int parse_ll(const char *cmd, const char *opt, const char *arg, long long min, long long max,
             long long *out);
int parse_dbl(const char *cmd, const char *opt, const char *arg, double min, double max,
              double *out);
double now_s(void);

/* ---- librdkafka (common.c) --------------------------------------------------------------- */
/* A client configuration: bootstrap servers, recctl's defaults (pairs, NULL-terminated), then
 * the -X properties. The result is owned by the caller (or by rd_kafka_new on success). */
rd_kafka_conf_t *make_conf(const struct common *c, const char *const *defaults, char *err,
                           size_t len);
/* A client for metadata and admin requests; NULL with the error printed. */
rd_kafka_t *plain_client(const struct common *c, const char *cmd);

/* ---- usage (common.c) -------------------------------------------------------------------- */
/* getopt_long over a command's arguments (argv[0] = the command). */
#define GETOPT(argc, argv, shortopts, longopts) \
    getopt_long((argc), (argv), (shortopts), (longopts), NULL)

/* The usage texts, each next to its command. */
extern const char USAGE_PRODUCE[], USAGE_REPLAY[], USAGE_GEN[], USAGE_TAIL[], USAGE_FORGET[],
    USAGE_METADATA[], USAGE_LAG[], USAGE_TOPICS[];
/* `text`, then the common options' help. */
void usage_to(FILE *fp, const char *text);
/* "Try 'recctl CMD --help'." on stderr; returns RECD_EXIT_USAGE. */
int bad_usage(const char *cmd);

/* ---- the producing side: a sink with pacing (sink.c) ------------------------------------- */
struct sink {
    rd_kafka_t *rk;                 /* owned */
    const struct common *c;
    int64_t produced;               /* records handed to librdkafka */
    int64_t delivered, failed;      /* delivery reports */
    int verbose;
};

/* An idempotent producer (acks=all) with delivery reports counted in `s`; RECD_OK or an error
 * in err. */
int sink_open(struct sink *s, const struct common *c, char *err, size_t len);
/* Produce one record (val NULL = tombstone). Copies key and value. */
int sink_send(struct sink *s, const char *topic, const void *key, size_t keylen, const void *val,
              size_t vallen, char *err, size_t len);
/* Flush and destroy; returns the number of records not delivered (failed or still queued). */
int64_t sink_close(struct sink *s, int timeout_ms);
/* Sleep so that record n is not sent much before t0 + n / rate (rate 0: no pacing); serves
 * delivery reports. */
void pace(struct sink *s, double rate, double t0, int64_t n);

/* ---- replay / gen: the stream runner (stream.c) ------------------------------------------ */
struct stream_opts {
    double rate;
    long long poison, unknown, oversize, seed, confluent_id;
    const char *poison_log;
};

#define STREAM_LONG                                                                               \
    { "rate", required_argument, NULL, O_RATE }, { "poison", required_argument, NULL, O_POISON }, \
        { "unknown-items", required_argument, NULL, O_UNKNOWN_ITEMS },                            \
        { "oversize-text", required_argument, NULL, O_OVERSIZE },                                 \
        { "seed", required_argument, NULL, O_SEED },                                              \
        { "confluent-id", required_argument, NULL, O_CONFLUENT_ID },                              \
    {                                                                                             \
        "poison-log", required_argument, NULL, O_POISON_LOG                                       \
    }

/* A --rate/--poison/... option of replay or gen: 1 handled, 0 not one, -1 error (printed). */
int stream_opt(struct stream_opts *so, const char *cmd, int opt, const char *arg);

/* Where a stream's events come from. `next` returns 1 with an event (strings in `arena`), 0 at
 * the end, a negative RECD_E* code on error; `emitted` (may be NULL) sees each event after it
 * has been emitted. */
struct stream_source {
    const char *cmd;              /* "replay", "gen": the prefix of messages */
    const char *verb;             /* "replayed", "generated": the summary's verb */
    const char *next_err;         /* prefix of a `next` error message ("dataset: " or "") */
    int (*next)(void *src, struct recd_arena *arena, struct recd_event *ev);
    void (*emitted)(void *src, const struct recd_event *ev);
    void *src;                    /* borrowed */
    int64_t total;                /* events planned (poison records are spread over them) */
    int progress;                 /* with -v, a progress line every 5 s */
    FILE *jsonl;                  /* borrowed: JSON lines instead of Kafka, or NULL */
    const char *jsonl_path;
};

/* Emit the source's events to the topics (or JSON lines), paced and with the planned poison
 * records; print the summary. Returns the process exit code. */
int run_stream(struct common *c, const struct stream_opts *so, const struct stream_source *s);

/* ---- JSON (json.c) ----------------------------------------------------------------------- */
/* JSON output: compact, doubles with 15 significant digits (exact for any decimal value of up
 * to 15 digits, e.g. prices; 17 would print 129.99 as 129.99000000000001). */
#define JSON_OUT_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
char *base64(const void *data, size_t len);
json_t *jstrn(const char *s, size_t n);
json_t *jstr(const char *s);
json_t *event_to_json(const struct recd_event *ev);
json_t *recs_to_json(const struct recd_recs *r);
int print_json_line(json_t *j);
int json_to_event(json_t *obj, int kind, struct recd_arena *arena, struct recd_event *ev, char *err,
                  size_t errlen);

/* ---- subcommands (one file each) --------------------------------------------------------- */
/* Each takes the arguments after the common options (argv[0] = the subcommand) and returns
 * a process exit code. */
int cmd_produce(struct common *c, int argc, char **argv);
int cmd_replay(struct common *c, int argc, char **argv);
int cmd_gen(struct common *c, int argc, char **argv);
int cmd_forget(struct common *c, int argc, char **argv);
int cmd_tail(struct common *c, int argc, char **argv);
int cmd_metadata(struct common *c, int argc, char **argv);
int cmd_lag(struct common *c, int argc, char **argv);
int cmd_topics(struct common *c, int argc, char **argv);

/* recctl state digest|show ...  (state.c) */
int recctl_state_main(struct common *c, int argc, char **argv);
/* recctl checkpoint DIR ...       (state.c) */
int recctl_checkpoint_main(struct common *c, int argc, char **argv);
/* recctl status [--metrics HOST:PORT]  (state.c) */
int recctl_status_main(struct common *c, int argc, char **argv);

#endif
