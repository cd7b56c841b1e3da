/*
 * replay.c — recctl replay: a dataset directory -> the event topics (see stream.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "recctl.h"

const char USAGE_REPLAY[] =
    "usage: recctl replay DIR [--format F] [--rate N] [--concurrency K] [--limit N] [--skip N]\n"
    "                     [--phase train|test|catalog|all] [--valid] [--cold-frac F]\n"
    "                     [--poison N --seed S [--poison-log FILE]]\n"
    "\n"
    "Streams a dataset directory (../shared/data/...) into the event topics: clicks to the\n"
    "clicks topic, purchases to the purchases topic, catalogue records (datasets with item\n"
    "text) to the items topic before any click. Each session is one user\n"
    "(user_id = session_id = \"train-<n>\" / \"test-<n>\"); event ids are\n"
    "\"<format>:<phase>:<session>:<position>\". Sessions without timestamps get synthetic\n"
    "deterministic times (sessions --gap-ms apart, clicks 30-120 s apart).\n"
    "amazon-recbole (RecBole leave-one-out files, e.g. amazon-scientific): one user =\n"
    "one session (\"user-<index>\") across both phases; train = each user's history before\n"
    "the held-out item, test = the held-out item (one test case per user); the catalogue\n"
    "(item id = item index, title = the item text) comes first; synthetic times with the\n"
    "histories aligned at their end, a user's clicks --gap-ms apart (sources/dataset.h).\n"
    "\n"
    "Options:\n"
    "  --format F         diginetica-srgnn, retailrocket-sbr, yoochoose, diginetica-raw,\n"
    "                     amazon-recbole, auto (default auto: detected from the files)\n"
    "  --phase P          train, test, catalog or all, or a comma-separated list (default all:\n"
    "                     the catalogue, then train, then test)\n"
    "  --valid            amazon-recbole: hold out the validation item instead of the test\n"
    "                     item (for tuning; the test items are not read)\n"
    "  --cold-frac F      amazon-recbole: hold the fraction F of the items (a fixed hash of\n"
    "                     the item index) out of training: their train clicks are dropped,\n"
    "                     their catalogue text and held-out clicks kept (cold-start cases)\n"
    "  --concurrency K    sessions open at once, events merged by event time (default 8 for\n"
    "                     synthetic times, unlimited for real timestamps; 1 = one session after\n"
    "                     another; 0 = unlimited)\n"
    "  --limit N          stop after N events (default: all)\n"
    "  --skip N           skip the first N events\n"
    "  --rate N           at most N events per second (default: as fast as possible)\n"
    "  --gap-ms MS        spacing of synthetic session starts (default 60000; amazon-recbole:\n"
    "                     of a user's consecutive clicks)\n"
    "  --start-ts MS      start of the synthetic timeline (ms since the epoch)\n"
    "  --confluent-id N   Confluent wire format with schema id N (default: plain Avro)\n"
    "  --poison N         interleave N malformed records at pseudo-random positions, cycling\n"
    "                     through the classes random_bytes, truncated_avro, unknown_schema_id\n"
    "                     (Confluent framing, schema id >= 2000000000), huge_string (valid\n"
    "                     Avro, a 960 KiB user_id), nan_price, inf_price, negative_price\n"
    "                     (items or purchases), negative_ts, future_ts (year 2200),\n"
    "                     empty_user_id. recd must dead-letter every one of them.\n"
    "                     Keys: poison-u<j> / poison-i<j> (empty for empty_user_id).\n"
    "  --seed S           seed of the poison positions and contents (default 1)\n"
    "  --poison-log FILE  one line per poison record: topic<TAB>class<TAB>expect<TAB>position,\n"
    "                     expect = dlq (must be dead-lettered; every current class);\n"
    "                     position = the number of dataset events sent before it\n"
    "  --unknown-items N  also send N valid clicks on item ids never in any catalogue\n"
    "                     (\"unknown-<seed>-<j>\", users \"unknown-u<j>\"; not poison)\n"
    "  --oversize-text N  also send N valid records with a 960 KiB free text (query text or\n"
    "                     item title; users oversize-u<j>, items oversize-i<j>): recd keeps\n"
    "                     them and clamps the text (not poison)\n"
    "  --meta-log FILE    one line per dataset event: event_id<TAB>user_id<TAB>item_id<TAB>\n"
    "                     phase<TAB>session_index<TAB>position<TAB>test_case\n"
    "                     (test_case 1 = a published test case of the dataset; catalogue\n"
    "                     records: user_id -, item_id, phase catalog, session_index = index)\n"
    "\n"
    "Prints a summary line at the end; exits 1 if any record was not delivered.\n"
    "\n";

/* ---- replay ---------------------------------------------------------------------------------- */
/* "train", "test", "catalog", "all" or a comma-separated list of them → RECD_DS_PHASE_* bits. */
static int parse_phases(const char *arg, unsigned *out)
{
    unsigned bits = 0;
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 5 && strncmp(p, "train", 5) == 0) {
            bits |= RECD_DS_PHASE_TRAIN;
        } else if (n == 4 && strncmp(p, "test", 4) == 0) {
            bits |= RECD_DS_PHASE_TEST;
        } else if (n == 7 && strncmp(p, "catalog", 7) == 0) {
            bits |= RECD_DS_PHASE_CATALOG;
        } else if (n == 3 && strncmp(p, "all", 3) == 0) {
            bits |= RECD_DS_PHASE_ALL;
        } else {
            return -1;
        }
        if (p[n] == '\0') {
            break;
        }
        p += n + 1;
    }
    *out = bits;
    return 0;
}

/* The dataset as a stream source; with --meta-log, a line per event: event id, user, item,
 * phase, session index, position, test case. */
struct replay_src {
    struct recd_dataset *ds; /* borrowed */
    struct recd_dataset_meta m; /* of the last event */
    FILE *meta; /* owned unless stdout; NULL without --meta-log */
};

static int replay_next(void *src, struct recd_arena *arena, struct recd_event *ev)
{
    struct replay_src *rs = src;

    return recd_dataset_next(rs->ds, arena, ev, &rs->m);
}

static void replay_emitted(void *src, const struct recd_event *ev)
{
    const struct replay_src *rs = src;
    const struct recd_dataset_meta *m = &rs->m;

    if (rs->meta) {
        fprintf(rs->meta, "%s\t%s\t%s\t%s\t%" PRId64 "\t%d\t%d\n", ev->event_id,
                ev->user_id ? ev->user_id : "-",
                ev->kind == RECD_KIND_CLICK      ? ev->u.click.item_id
                    : ev->kind == RECD_KIND_ITEM ? ev->u.item.item_id
                                                 : "-",
                m->phase == RECD_DS_TEST          ? "test"
                    : m->phase == RECD_DS_CATALOG ? "catalog"
                                                  : "train",
                m->session_index, m->position, m->test_case);
    }
}

int cmd_replay(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        STREAM_LONG,
                                        { "format", required_argument, NULL, O_FORMAT },
                                        { "concurrency", required_argument, NULL, O_CONCURRENCY },
                                        { "limit", required_argument, NULL, O_LIMIT },
                                        { "skip", required_argument, NULL, O_SKIP },
                                        { "phase", required_argument, NULL, O_PHASE },
                                        { "gap-ms", required_argument, NULL, O_GAP_MS },
                                        { "start-ts", required_argument, NULL, O_START_TS },
                                        { "meta-log", required_argument, NULL, O_META_LOG },
                                        { "valid", no_argument, NULL, O_VALID },
                                        { "cold-frac", required_argument, NULL, O_COLD_FRAC },
                                        { NULL, 0, NULL, 0 } };
    struct stream_opts so = { 0, 0, 0, 0, 1, -1, NULL };
    struct recd_dataset_conf dc;
    struct recd_dataset *ds = NULL;
    struct replay_src rs = { NULL, { 0 }, NULL };
    struct stream_source s = { "replay", "replayed", "dataset: ", replay_next, replay_emitted,
                               NULL,     0,          1,           NULL,        NULL };
    const char *meta_path = NULL;
    int opt, rc, exit_code = RECD_EXIT_OK;
    long long v;
    char err[1024];

    recd_dataset_conf_init(&dc);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "replay", opt, optarg);
        if (h == 0) {
            h = stream_opt(&so, "replay", opt, optarg);
        }
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_REPLAY); return RECD_EXIT_OK;
        case O_FORMAT:
            dc.format = recd_dataset_format_parse(optarg);
            if (dc.format < 0) {
                fprintf(stderr,
                        "recctl replay: --format: expected diginetica-srgnn, "
                        "retailrocket-sbr, yoochoose, diginetica-raw, amazon-recbole "
                        "or auto\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_CONCURRENCY:
            if (parse_ll("replay", "--concurrency", optarg, 0, 100000000, &v)) {
                return RECD_EXIT_USAGE;
            }
            dc.concurrency = v == 0 ? RECD_DS_CONCURRENCY_UNLIMITED : (int)v;
            break;
        case O_LIMIT:
            if (parse_ll("replay", "--limit", optarg, 0, LLONG_MAX, &v)) {
                return RECD_EXIT_USAGE;
            }
            dc.limit = v;
            break;
        case O_SKIP:
            if (parse_ll("replay", "--skip", optarg, 0, LLONG_MAX, &v)) {
                return RECD_EXIT_USAGE;
            }
            dc.skip = v;
            break;
        case O_PHASE:
            if (parse_phases(optarg, &dc.phases) != 0) {
                fprintf(stderr,
                        "recctl replay: --phase: expected train, test, catalog or all "
                        "(or a comma-separated list, e.g. catalog,train)\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_VALID:     dc.valid = 1; break;
        case O_COLD_FRAC: {
            char *end = NULL;
            double f = strtod(optarg, &end);

            if (end == optarg || *end != '\0' || !(f >= 0 && f <= 1)) {
                fprintf(stderr, "recctl replay: --cold-frac: expected a number in [0, 1]\n");
                return RECD_EXIT_USAGE;
            }
            dc.cold_frac = f;
            break;
        }
        case O_GAP_MS:
            if (parse_ll("replay", "--gap-ms", optarg, 1, INT64_C(86400000) * 365, &v)) {
                return RECD_EXIT_USAGE;
            }
            dc.session_gap_ms = v;
            break;
        case O_START_TS:
            if (parse_ll("replay", "--start-ts", optarg, 1, INT64_C(4102444800000), &v)) {
                return RECD_EXIT_USAGE;
            }
            dc.start_ts_ms = v;
            break;
        case O_META_LOG: meta_path = optarg; break;
        default:         return bad_usage("replay");
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "recctl replay: missing the dataset directory\n");
        return bad_usage("replay");
    }
    dc.dir = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "recctl replay: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("replay");
    }

    rc = recd_dataset_open(&dc, &ds, err, sizeof err);
    if (rc != RECD_OK) {
        fprintf(stderr, "recctl replay: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    if (c->verbose) {
        fprintf(stderr, "recctl replay: %s, %" PRId64 " events to replay\n",
                recd_dataset_format_name(recd_dataset_format(ds)), recd_dataset_total(ds));
    }
    if (meta_path && !(rs.meta = strcmp(meta_path, "-") == 0 ? stdout : fopen(meta_path, "w"))) {
        fprintf(stderr, "recctl replay: %s: %s\n", meta_path, strerror(errno));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rs.ds = ds;
    s.src = &rs;
    s.total = recd_dataset_total(ds);
    exit_code = run_stream(c, &so, &s);
cleanup:
    if (rs.meta && rs.meta != stdout) {
        fclose(rs.meta);
    }
    recd_dataset_close(ds);
    return exit_code;
}
