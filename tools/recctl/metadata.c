/*
 * metadata.c — recctl metadata: brokers and topics (readiness probe).
 */
#include <stdlib.h>
#include <string.h>

#include "recctl.h"

const char USAGE_METADATA[] =
    "usage: recctl metadata [--timeout-ms MS] [--all]\n"
    "\n"
    "Prints the brokers and the topics with their partition counts. Exits 0 iff a broker\n"
    "answered within the timeout (default 5000 ms) — usable as a readiness probe.\n"
    "  --all              include internal topics (__consumer_offsets, ...)\n"
    "\n";

/* ---- metadata -------------------------------------------------------------------------------- */
static int cmp_topic_md(const void *a, const void *b)
{
    return strcmp(((const rd_kafka_metadata_topic_t *)a)->topic,
                  ((const rd_kafka_metadata_topic_t *)b)->topic);
}

int cmd_metadata(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "timeout-ms", required_argument, NULL, O_TIMEOUT_MS },
                                        { "all", no_argument, NULL, O_ALL },
                                        { NULL, 0, NULL, 0 } };
    long long timeout = 5000;
    int opt, all = 0;
    const struct rd_kafka_metadata *md = NULL;

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "metadata", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_METADATA); return RECD_EXIT_OK;
        case O_TIMEOUT_MS:
            if (parse_ll("metadata", "--timeout-ms", optarg, 1, INT32_MAX, &timeout)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_ALL: all = 1; break;
        default:    return bad_usage("metadata");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl metadata: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("metadata");
    }
    rd_kafka_t *rk = plain_client(c, "metadata");
    if (!rk) {
        return RECD_EXIT_FAILURE;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, (int)timeout);
    if (e) {
        fprintf(stderr, "recctl metadata: %s: %s\n", c->brokers, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return RECD_EXIT_FAILURE;
    }
    printf("brokers: (%d)\n", md->broker_cnt);
    for (int i = 0; i < md->broker_cnt; i++) {
        printf("  %" PRId32 " %s:%d%s\n", md->brokers[i].id, md->brokers[i].host,
               md->brokers[i].port, md->brokers[i].id == md->orig_broker_id ? " (answered)" : "");
    }
    rd_kafka_metadata_topic_t *tv = NULL;
    if (md->topic_cnt > 0) {
        tv = malloc((size_t)md->topic_cnt * sizeof *tv);
        if (tv) {
            memcpy(tv, md->topics, (size_t)md->topic_cnt * sizeof *tv);
            qsort(tv, (size_t)md->topic_cnt, sizeof *tv, cmp_topic_md);
        }
    }
    int shown = 0;
    for (int i = 0; tv && i < md->topic_cnt; i++) {
        shown += all || tv[i].topic[0] != '_';
    }
    printf("topics: (%d)\n", shown);
    for (int i = 0; tv && i < md->topic_cnt; i++) {
        if (!all && tv[i].topic[0] == '_') {
            continue;
        }
        printf("  %-28s partitions=%d%s%s\n", tv[i].topic, tv[i].partition_cnt,
               tv[i].err ? " error=" : "", tv[i].err ? rd_kafka_err2str(tv[i].err) : "");
    }
    free(tv);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return RECD_EXIT_OK;
}
