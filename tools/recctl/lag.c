/*
 * lag.c — recctl lag: a consumer group's committed offsets and lag as Kafka records them.
 */
#include <inttypes.h>
#include <string.h>

#include "recctl.h"

const char USAGE_LAG[] =
    "usage: recctl lag [--group G] [--timeout-ms MS]\n"
    "\n"
    "Kafka's view of a consumer group on recd's input topics (clicks, purchases, queries,\n"
    "deletions, with the --topic-* overrides): per partition the group's committed offset,\n"
    "the end offset (high watermark) and the difference, then the total. recd commits these\n"
    "offsets every kafka.commit_interval_ms and when it stops; they are informational (recd\n"
    "resumes from the offsets in its state) — the recd_consumer_lag metric is the live view.\n"
    "A partition the group never committed shows committed = -.\n"
    "  --group G          consumer group (default: kafka.group_id of -c, else recd)\n"
    "  --timeout-ms MS    (default 10000)\n"
    "\n";

/* ---- lag ------------------------------------------------------------------------------------- */
int cmd_lag(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "group", required_argument, NULL, O_GROUP },
                                        { "timeout-ms", required_argument, NULL, O_TIMEOUT_MS },
                                        { NULL, 0, NULL, 0 } };
    static const int inputs[] = { T_CLICKS, T_PURCHASES, T_QUERIES, T_DELETIONS };
    long long timeout = 10000, total = 0;
    const char *group = NULL;
    int opt, rc = RECD_EXIT_FAILURE;
    char err[1024];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t e;

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "lag", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h':     usage_to(stdout, USAGE_LAG); return RECD_EXIT_OK;
        case O_GROUP: group = optarg; break;
        case O_TIMEOUT_MS:
            if (parse_ll("lag", "--timeout-ms", optarg, 1, INT32_MAX, &timeout)) {
                return RECD_EXIT_USAGE;
            }
            break;
        default: return bad_usage("lag");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl lag: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("lag");
    }
    if (!group) {
        group = c->group_id ? c->group_id : "recd";
    }
    conf = make_conf(c, NULL, err, sizeof err);
    if (!conf || rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) != RD_KAFKA_CONF_OK) {
        if (conf) {
            rd_kafka_conf_destroy(conf);
        }
        fprintf(stderr, "recctl lag: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    /* a consumer handle that never subscribes: it only asks the group coordinator */
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl lag: %s\n", err);
        return RECD_EXIT_FAILURE;
    }
    e = rd_kafka_metadata(rk, 1, NULL, &md, (int)timeout);
    if (e) {
        fprintf(stderr, "recctl lag: %s: %s\n", c->brokers, rd_kafka_err2str(e));
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(8);
    for (size_t k = 0; k < RECD_ARRAY_SIZE(inputs); k++) {
        for (int i = 0; i < md->topic_cnt; i++) {
            if (strcmp(md->topics[i].topic, c->topic[inputs[k]]) != 0 || md->topics[i].err) {
                continue;
            }
            for (int j = 0; j < md->topics[i].partition_cnt; j++) {
                rd_kafka_topic_partition_list_add(parts, md->topics[i].topic,
                                                  md->topics[i].partitions[j].id);
            }
        }
    }
    if (parts->cnt > 0) {
        e = rd_kafka_committed(rk, parts, (int)timeout);
        if (e) {
            fprintf(stderr, "recctl lag: committed offsets of group %s: %s\n", group,
                    rd_kafka_err2str(e));
            goto out;
        }
    }
    printf("group %s\n%-28s %9s %12s %12s %12s\n", group, "topic", "partition", "committed", "end",
           "lag");
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t low = 0, hi = 0, lag;
        char cbuf[24];

        e = rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &hi, (int)timeout);
        if (e) {
            fprintf(stderr, "recctl lag: end offset of %s[%d]: %s\n", tp->topic, (int)tp->partition,
                    rd_kafka_err2str(e));
            goto out;
        }
        /* never committed: everything still in the log is behind */
        lag = tp->offset >= 0 ? hi - tp->offset : hi - low;
        if (lag < 0) {
            lag = 0;
        }
        total += lag;
        if (tp->offset >= 0) {
            snprintf(cbuf, sizeof cbuf, "%" PRId64, tp->offset);
        } else {
            snprintf(cbuf, sizeof cbuf, "-");
        }
        printf("%-28s %9d %12s %12" PRId64 " %12" PRId64 "\n", tp->topic, (int)tp->partition, cbuf,
               hi, lag);
    }
    printf("total lag %lld\n", total);
    rc = RECD_EXIT_OK;
out:
    if (parts) {
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (md) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}
