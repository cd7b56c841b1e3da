/* demo.c — the embedded demo (demo.h). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "codec.h"
#include "daemon.h"
#include "dataset.h"
#include "demo.h"
#include "log.h"
#include "recd.h"
#include "shopgen.h"
#include "state.h"
#include "strmap.h"
#include "units.h"

#define DEMO_SHOW_USERS 5
#define DEMO_SHOW_ITEMS 5

static const char *const demo_topics[] = {
    "shop.clicks",         "shop.purchases",       "shop.queries", "shop.items",
    "shop.user-deletions", "shop.recommendations", "recd.dlq"
};

static const char *topic_for(int kind)
{
    return demo_topics[kind];   /* kinds 0..4 map to the first five topics */
}

/* Produce the whole input into the mock cluster. titles: item_id -> title (owned strings). */
static int fill(rd_kafka_t *p, struct recd_codec *codec, const char *dataset_dir,
                long long n_events, struct recd_strmap *titles, long long *produced)
{
    struct recd_arena *arena = recd_arena_new(1 << 16);
    struct recd_shopgen *g = NULL;
    struct recd_dataset *ds = NULL;
    struct recd_buf buf;
    struct recd_event ev;
    struct recd_dataset_meta meta;
    char err[512];
    int rc = RECD_OK, more;

    recd_buf_init(&buf);
    if (arena == NULL) {
        return RECD_ENOMEM;
    }
    if (dataset_dir != NULL) {
        struct recd_dataset_conf dc;

        recd_dataset_conf_init(&dc);
        dc.dir = dataset_dir;
        dc.limit = n_events;
        rc = recd_dataset_open(&dc, &ds, err, sizeof(err));
    } else {
        struct recd_shopgen_conf gc;

        recd_shopgen_conf_init(&gc);
        gc.seed = 42;
        gc.n_users = n_events / 20 > 10 ? n_events / 20 : 10;
        gc.n_items = n_events / 10 > 50 ? n_events / 10 : 50;
        gc.n_events = n_events;
        rc = recd_shopgen_new(&gc, &g, err, sizeof(err));
    }
    if (rc != RECD_OK) {
        fprintf(stderr, "recd --demo: %s\n", err);
        goto out;
    }
    *produced = 0;
    for (;;) {
        const char *key;

        recd_arena_reset(arena);
        memset(&ev, 0, sizeof(ev));
        more = ds ? recd_dataset_next(ds, arena, &ev, &meta) : recd_shopgen_next(g, arena, &ev);
        if (more <= 0) {
            rc = more < 0 ? RECD_ERR : RECD_OK;
            break;
        }
        buf.len = 0;
        rc = recd_codec_encode_event(codec, &ev, -1, &buf, err, sizeof(err));
        if (rc != RECD_OK) {
            fprintf(stderr, "recd --demo: encode: %s\n", err);
            break;
        }
        if (ev.kind == RECD_KIND_ITEM && ev.u.item.title != NULL) {
            char *t = recd_strdup(ev.u.item.title);

            if (t == NULL || recd_strmap_put(titles, ev.u.item.item_id, t) != RECD_OK) {
                free(t);
                rc = RECD_ENOMEM;
                break;
            }
        }
        key = ev.kind == RECD_KIND_ITEM ? ev.u.item.item_id : ev.user_id;
        while (rd_kafka_producev(
                   p, RD_KAFKA_V_TOPIC(topic_for(ev.kind)), RD_KAFKA_V_KEY(key, strlen(key)),
                   RD_KAFKA_V_VALUE(buf.data, buf.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                   RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p, 10);
        }
        (*produced)++;
    }
    rd_kafka_flush(p, 30000);
out:
    recd_shopgen_destroy(g);
    recd_dataset_close(ds);
    recd_buf_free(&buf);
    recd_arena_destroy(arena);
    return rc;
}

static void show(const char *state_dir, struct recd_codec *codec, struct recd_strmap *titles)
{
    struct recd_state_conf sc = { 0 };
    struct recd_state *st = NULL;
    struct recd_state_iter *it = NULL;
    struct recd_arena *arena = recd_arena_new(1 << 16);
    const void *k, *v;
    size_t kl, vl, shown = 0, total = 0;
    char err[512];

    sc.dir = state_dir;
    sc.compression = "lz4";
    sc.read_only = 1;
    if (arena == NULL || recd_state_open(&sc, &st, err, sizeof(err)) != RECD_OK ||
        recd_state_iter_new(st, RECD_CF_OUTPUTS, NULL, 0, &it) != RECD_OK) {
        fprintf(stderr, "recd --demo: cannot read the results: %s\n", err);
        goto out;
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        struct recd_recs r;

        if (kl > 0 && ((const char *)k)[0] == '\0') {
            continue;   /* the outbox (pipeline.h), not a user's list */
        }
        total++;
        if (shown >= DEMO_SHOW_USERS || total % 7 != 1) {
            continue;   /* a spread of users, not just the first ids */
        }
        recd_arena_reset(arena);
        if (recd_codec_decode_recs(codec, v, vl, arena, &r, err, sizeof(err)) != RECD_OK) {
            continue;
        }
        printf("\nuser %s  (seq %lld, after event %s)\n", r.user_id, (long long)r.seq,
               r.trigger_event_id ? r.trigger_event_id : "-");
        for (uint32_t i = 0; i < r.n_items && i < DEMO_SHOW_ITEMS; i++) {
            const char *t = recd_strmap_get(titles, r.items[i].item_id);

            printf("  %u. %-12s %-48.48s score %8.3f  reason %s%s%s\n", i + 1, r.items[i].item_id,
                   t ? t : "", r.items[i].score, r.items[i].reason,
                   r.items[i].because_item_id ? " because of " : "",
                   r.items[i].because_item_id ? r.items[i].because_item_id : "");
        }
        shown++;
    }
    printf("\n%zu users have recommendations.\n", total);
out:
    recd_state_iter_destroy(it);
    recd_state_close(st);
    recd_arena_destroy(arena);
}

int recd_demo_main(const char *dataset_dir, long long n_events)
{
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rd_kafka_t *p = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_strmap *titles = recd_strmap_new(1024, free);
    struct recd_conf *conf = NULL;
    struct recd_daemon_opts opts;
    char err[1024], dir[] = "/tmp/recd-demo-XXXXXX", text[2048];
    long long produced = 0;
    int code = RECD_EXIT_FAILURE;
    size_t i;

    memset(&cc, 0, sizeof(cc));
    if (titles == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "recd --demo: cannot create a state directory\n");
        rd_kafka_conf_destroy(pc);
        recd_strmap_destroy(titles);
        return RECD_EXIT_FAILURE;
    }
    if (recd_codec_new(&cc, &codec, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "recd --demo: %s\n", err);
        rd_kafka_conf_destroy(pc);
        goto out;
    }
    rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(pc, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(pc, "log_level", "3", err, sizeof(err));
    p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
    if (p == NULL) {
        fprintf(stderr, "recd --demo: %s\n", err);
        rd_kafka_conf_destroy(pc);
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(p, 1);
    if (mc == NULL) {
        fprintf(stderr, "recd --demo: cannot start librdkafka's mock cluster\n");
        goto out;
    }
    for (i = 0; i < RECD_ARRAY_SIZE(demo_topics); i++) {
        rd_kafka_mock_topic_create(mc, demo_topics[i], 1, 1);
    }
    rd_kafka_conf_t *bc = rd_kafka_conf_new();
    rd_kafka_conf_set(bc, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err,
                      sizeof(err));
    rd_kafka_conf_set(bc, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(bc, "linger.ms", "20", err, sizeof(err));
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, bc, err, sizeof(err));
    if (prod == NULL) {
        fprintf(stderr, "recd --demo: %s\n", err);
        rd_kafka_conf_destroy(bc);
        goto out;
    }
    printf("recd demo: in-process Kafka mock cluster at %s\n",
           rd_kafka_mock_cluster_bootstraps(mc));
    printf("recd demo: producing %s ...\n", dataset_dir ? dataset_dir : "a synthetic shop");
    fflush(stdout);
    if (fill(prod, codec, dataset_dir, n_events, titles, &produced) != RECD_OK) {
        rd_kafka_destroy(prod);
        goto out;
    }
    rd_kafka_destroy(prod);
    printf("recd demo: %lld records produced; running recd (state in %s) ...\n", produced, dir);
    fflush(stdout);

    snprintf(text, sizeof(text),
             "daemon = { log_level = \"notice\"; };\n"
             "kafka = { brokers = \"%s\"; group_id = \"recd-demo\";\n"
             "          require_compacted_output = false; };\n"
             "state = { dir = \"%s\"; };\n"
             "metrics = { enabled = false; };\n"
             "batch = { max_records = 1000; max_wait_ms = 50; };\n",
             rd_kafka_mock_cluster_bootstraps(mc), dir);
    if (recd_config_load_string(text, "<demo>", &conf, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "recd --demo: %s\n", err);
        goto out;
    }
    memset(&opts, 0, sizeof(opts));
    opts.exit_idle_ms = 3000;
    code = recd_daemon_run(conf, &opts);   /* takes conf */
    if (code == RECD_EXIT_OK) {
        show(dir, codec, titles);
    }
out:
    if (mc) {
        rd_kafka_mock_cluster_destroy(mc);
    }
    if (p) {
        rd_kafka_destroy(p);
    }
    recd_codec_destroy(codec);
    recd_strmap_destroy(titles);
    (void)recd_rmtree(dir);
    return code;
}
