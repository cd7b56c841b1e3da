/*
 * gen.c — recctl gen: the synthetic shop -> the topics or JSON lines (see stream.c).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "recctl.h"
#include "shopgen.h"

const char USAGE_GEN[] =
    "usage: recctl gen [--users N] [--items N] [--events N] [--seed S] [--rate R] [--jsonl FILE]\n"
    "\n"
    "The deterministic synthetic shop (sources/shopgen.h): first the catalogue (items topic), "
    "then\n"
    "interleaved user sessions of views, searches, add-to-carts and purchases in event-time\n"
    "order. Same options = same events.\n"
    "\n"
    "Options:\n"
    "  --users N          users (default 1000)\n"
    "  --items N          catalogue size (default 500)\n"
    "  --events N         user-activity events after the catalogue (default 10000)\n"
    "  --seed S           (default 1)\n"
    "  --categories N     leaf categories (default 16)\n"
    "  --concurrency K    sessions open at once (default 16)\n"
    "  --start-ts MS      catalogue time; activity follows (default 2024-01-01T00:00:00Z)\n"
    "  --p-query P, --p-cart P, --p-purchase P   behaviour probabilities (0..1)\n"
    "  --turnover F       catalogue turnover: at each day of event time, replace the fraction F\n"
    "                     (0..1) of the items with new ones (a tombstone, then a new id)\n"
    "  --rate R           at most R events per second\n"
    "  --jsonl FILE       write JSON lines (with a \"_kind\" field, accepted by recctl produce)\n"
    "                     to FILE ('-' = stdout) instead of producing to Kafka\n"
    "  --confluent-id N, --poison N, --seed S, --poison-log FILE, --unknown-items N,\n"
    "  --oversize-text N\n"
    "                     as for replay (not with --jsonl)\n"
    "\n";

/* ---- gen ------------------------------------------------------------------------------------- */
static int gen_next(void *src, struct recd_arena *arena, struct recd_event *ev)
{
    return recd_shopgen_next(src, arena, ev);
}

int cmd_gen(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        STREAM_LONG,
                                        { "users", required_argument, NULL, O_USERS },
                                        { "items", required_argument, NULL, O_ITEMS },
                                        { "events", required_argument, NULL, O_EVENTS },
                                        { "categories", required_argument, NULL, O_CATEGORIES },
                                        { "concurrency", required_argument, NULL, O_CONCURRENCY },
                                        { "start-ts", required_argument, NULL, O_START_TS },
                                        { "p-query", required_argument, NULL, O_P_QUERY },
                                        { "p-cart", required_argument, NULL, O_P_CART },
                                        { "p-purchase", required_argument, NULL, O_P_PURCHASE },
                                        { "turnover", required_argument, NULL, O_TURNOVER },
                                        { "jsonl", required_argument, NULL, O_JSONL },
                                        { NULL, 0, NULL, 0 } };
    struct stream_opts so = { 0, 0, 0, 0, 1, -1, NULL };
    struct recd_shopgen_conf gc;
    struct recd_shopgen *g = NULL;
    struct stream_source s = { "gen", "generated", "", gen_next, NULL, NULL, 0, 0, NULL, NULL };
    const char *jsonl_path = NULL;
    int opt, rc, exit_code = RECD_EXIT_OK, seed_set = 0;
    long long v;
    char err[1024];

    recd_shopgen_conf_init(&gc);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "gen", opt, optarg);
        if (h == 0) {
            h = stream_opt(&so, "gen", opt, optarg);
        }
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (opt == O_SEED) {
            seed_set = 1;
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_GEN); return RECD_EXIT_OK;
        case O_USERS:
            if (parse_ll("gen", "--users", optarg, 1, INT32_MAX / 2, &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.n_users = v;
            break;
        case O_ITEMS:
            if (parse_ll("gen", "--items", optarg, 1, INT32_MAX / 2, &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.n_items = v;
            break;
        case O_EVENTS:
            if (parse_ll("gen", "--events", optarg, 0, LLONG_MAX, &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.n_events = v;
            break;
        case O_CATEGORIES:
            if (parse_ll("gen", "--categories", optarg, 1, RECD_SHOPGEN_MAX_CATEGORIES, &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.n_categories = (int)v;
            break;
        case O_CONCURRENCY:
            if (parse_ll("gen", "--concurrency", optarg, 1, 1000000, &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.concurrency = (int)v;
            break;
        case O_START_TS:
            if (parse_ll("gen", "--start-ts", optarg, 0, INT64_C(4102444800000), &v)) {
                return RECD_EXIT_USAGE;
            }
            gc.start_ts_ms = v;
            break;
        case O_P_QUERY:
            if (parse_dbl("gen", "--p-query", optarg, 0, 1, &gc.p_query)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_P_CART:
            if (parse_dbl("gen", "--p-cart", optarg, 0, 1, &gc.p_cart)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_P_PURCHASE:
            if (parse_dbl("gen", "--p-purchase", optarg, 0, 1, &gc.p_purchase)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TURNOVER:
            if (parse_dbl("gen", "--turnover", optarg, 0, 1, &gc.turnover_per_day)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_JSONL: jsonl_path = optarg; break;
        default:      return bad_usage("gen");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl gen: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("gen");
    }
    if (jsonl_path && (so.poison || so.unknown || so.oversize || so.confluent_id >= 0)) {
        fprintf(stderr,
                "recctl gen: --poison, --unknown-items, --oversize-text and "
                "--confluent-id need Kafka (not --jsonl)\n");
        return RECD_EXIT_USAGE;
    }
    if (seed_set) {
        gc.seed = (uint64_t)so.seed;
    }
    rc = recd_shopgen_new(&gc, &g, err, sizeof err);
    if (rc != RECD_OK) {
        fprintf(stderr, "recctl gen: %s\n", err);
        return RECD_EXIT_USAGE;
    }
    if (jsonl_path) {
        s.jsonl = strcmp(jsonl_path, "-") == 0 ? stdout : fopen(jsonl_path, "w");
        if (!s.jsonl) {
            fprintf(stderr, "recctl gen: %s: %s\n", jsonl_path, strerror(errno));
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        s.jsonl_path = jsonl_path;
    }
    s.src = g;
    s.total = gc.n_items + gc.n_events;
    exit_code = run_stream(c, &so, &s);
    if (gc.turnover_per_day > 0) {
        fprintf(stderr, "recctl gen: %lld distinct item ids (%lld replaced)\n",
                (long long)recd_shopgen_item_ids(g), (long long)(recd_shopgen_item_ids(g) - gc.n_items));
    }
cleanup:
    if (s.jsonl && s.jsonl != stdout) {
        fclose(s.jsonl);
    }
    recd_shopgen_destroy(g);
    return exit_code;
}
