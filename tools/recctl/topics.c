/*
 * topics.c — recctl topics create: create recd's topics (idempotent).
 */
#include <string.h>

#include "recctl.h"

const char USAGE_TOPICS[] =
    "usage: recctl topics create [--partitions N] [--replication-factor N] [--timeout-ms MS]\n"
    "\n"
    "Creates all of recd's topics (the seven topic names, with the --topic-* overrides):\n"
    "shop.items and shop.recommendations with cleanup.policy=compact, the others with the\n"
    "broker's defaults. Existing topics are left as they are (not an error).\n"
    "  --partitions N           partitions per topic (default 4)\n"
    "  --replication-factor N   (default -1: the broker's default)\n"
    "  --timeout-ms MS          (default 30000)\n"
    "\n";

/* ---- topics create --------------------------------------------------------------------------- */
int cmd_topics(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "partitions", required_argument, NULL, O_PARTITIONS },
                                        { "replication-factor", required_argument, NULL,
                                          O_REPLICATION },
                                        { "timeout-ms", required_argument, NULL, O_TIMEOUT_MS },
                                        { NULL, 0, NULL, 0 } };
    long long partitions = 4, replication = -1, timeout = 30000;
    int opt, exit_code = RECD_EXIT_OK, n_new = 0;
    rd_kafka_t *rk = NULL;
    rd_kafka_NewTopic_t *nt[T__N] = { NULL };
    rd_kafka_AdminOptions_t *ao = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *rkev = NULL;
    char err[512];

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "topics", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_TOPICS); return RECD_EXIT_OK;
        case O_PARTITIONS:
            if (parse_ll("topics", "--partitions", optarg, 1, 100000, &partitions)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_REPLICATION:
            if (parse_ll("topics", "--replication-factor", optarg, -1, 1000, &replication) ||
                replication == 0) {
                fprintf(stderr, "recctl topics: --replication-factor: -1 or >= 1\n");
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TIMEOUT_MS:
            if (parse_ll("topics", "--timeout-ms", optarg, 1, INT32_MAX, &timeout)) {
                return RECD_EXIT_USAGE;
            }
            break;
        default: return bad_usage("topics");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "create") != 0 || optind + 1 != argc) {
        fprintf(stderr, "recctl topics: expected 'create'\n");
        return bad_usage("topics");
    }
    rk = plain_client(c, "topics");
    if (!rk) {
        return RECD_EXIT_FAILURE;
    }
    for (int t = 0; t < T__N; t++) {
        /* skip duplicates (two overrides naming the same topic) */
        int dup = 0;
        for (int u = 0; u < t; u++) {
            dup |= strcmp(c->topic[u], c->topic[t]) == 0;
        }
        if (dup) {
            continue;
        }
        nt[n_new] = rd_kafka_NewTopic_new(c->topic[t], (int)partitions, (int)replication, err,
                                          sizeof err);
        if (!nt[n_new]) {
            fprintf(stderr, "recctl topics: %s: %s\n", c->topic[t], err);
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        if ((t == T_ITEMS || t == T_RECS) &&
            rd_kafka_NewTopic_set_config(nt[n_new], "cleanup.policy", "compact")) {
            fprintf(stderr, "recctl topics: %s: cannot set cleanup.policy\n", c->topic[t]);
            n_new++;
            exit_code = RECD_EXIT_FAILURE;
            goto cleanup;
        }
        n_new++;
    }
    ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    q = rd_kafka_queue_new(rk);
    if (!ao || !q ||
        rd_kafka_AdminOptions_set_operation_timeout(ao, (int)timeout, err, sizeof err) ||
        rd_kafka_AdminOptions_set_request_timeout(ao, (int)timeout, err, sizeof err)) {
        fprintf(stderr, "recctl topics: admin options: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rd_kafka_CreateTopics(rk, nt, (size_t)n_new, ao, q);
    rkev = rd_kafka_queue_poll(q, (int)timeout + 5000);
    if (!rkev) {
        fprintf(stderr, "recctl topics: no answer from %s within %lld ms\n", c->brokers,
                timeout + 5000);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    if (rd_kafka_event_error(rkev)) {
        fprintf(stderr, "recctl topics: %s\n", rd_kafka_event_error_string(rkev));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(rkev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n)
                                                 : NULL;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            const char *name = rd_kafka_topic_result_name(tr[i]);
            if (te == RD_KAFKA_RESP_ERR_NO_ERROR) {
                printf("created %s (%lld partitions)\n", name, partitions);
            } else if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                printf("exists  %s\n", name);
            } else {
                const char *es = rd_kafka_topic_result_error_string(tr[i]);
                fprintf(stderr, "recctl topics: %s: %s\n", name, es ? es : rd_kafka_err2str(te));
                exit_code = RECD_EXIT_FAILURE;
            }
        }
    }
cleanup:
    if (rkev) {
        rd_kafka_event_destroy(rkev);
    }
    for (int i = 0; i < n_new; i++) {
        rd_kafka_NewTopic_destroy(nt[i]);
    }
    if (ao) {
        rd_kafka_AdminOptions_destroy(ao);
    }
    if (q) {
        rd_kafka_queue_destroy(q);
    }
    if (rk) {
        rd_kafka_destroy(rk);
    }
    return exit_code;
}
