/*
 * topics.c — recctl topics create: create recd's topics (idempotent).
 */
#include <string.h>
#include <time.h>

#include "recctl.h"
#include "topics.h"

const char USAGE_TOPICS[] =
    "usage: recctl topics create [--partitions N] [--replication-factor N] [--timeout-ms MS]\n"
    "\n"
    "Creates all of recd's topics (the seven topic names, with the --topic-* overrides):\n"
    "shop.items and shop.recommendations with cleanup.policy=compact, the others with the\n"
    "broker's defaults. Existing topics are left as they are; an existing items or\n"
    "recommendations topic that is not compacted is reported with the command that fixes it,\n"
    "and the exit status is 1.\n"
    "  --partitions N           partitions per topic (default 4)\n"
    "  --replication-factor N   (default -1: the broker's default)\n"
    "  --timeout-ms MS          (default 30000)\n"
    "\n";

/* ---- topics create --------------------------------------------------------------------------- */
/* An existing topic: the items and recommendations topics must be compacted (recd refuses to
 * start on a recommendations topic that is not; an items topic that is not loses the
 * catalogue to retention). Prints the finding; RECD_OK unless such a topic is not compacted. */
static int check_existing(rd_kafka_t *rk, const struct common *c, const char *name, int timeout)
{
    char policy[128], why[512];

    if (strcmp(name, c->topic[T_ITEMS]) != 0 && strcmp(name, c->topic[T_RECS]) != 0) {
        printf("exists  %s\n", name);
        return RECD_OK;
    }
    if (recd_topics_cleanup_policy(rk, name, timeout, policy, sizeof policy, why, sizeof why) !=
        RECD_OK) {
        printf("exists  %s (cleanup.policy not checked: %s)\n", name, why);
        return RECD_OK;
    }
    if (strstr(policy, "compact") != NULL) {
        printf("exists  %s (cleanup.policy=%s)\n", name, policy);
        return RECD_OK;
    }
    printf("exists  %s (cleanup.policy=%s, NOT compacted)\n", name, policy[0] ? policy : "?");
    fprintf(stderr,
            "recctl topics: %s exists with cleanup.policy=%s but must be compacted (%s); fix: "
            "kafka-configs.sh --bootstrap-server %s --alter --entity-type topics --entity-name "
            "%s --add-config cleanup.policy=compact\n",
            name, policy[0] ? policy : "?",
            strcmp(name, c->topic[T_RECS]) == 0
                ? "recd does not start on it, and retention would drop idle users' lists"
                : "retention would drop items from the catalogue recd reads at every start",
            c->brokers, name);
    return RECD_EKAFKA;
}

/* Topics the broker has created are not at once in every broker's metadata (the controller
 * answers first): wait, up to timeout ms, until each of names[0..n-1] is there with a leader
 * for every partition, so that a command after this one finds them. RECD_OK or RECD_EKAFKA
 * (named on stderr). */
static int wait_visible(rd_kafka_t *rk, const char *const *names, int n, long long timeout)
{
    int64_t deadline = recd_now_mono_ns() + timeout * 1000000LL;
    const char *missing = NULL;

    for (;;) {
        const struct rd_kafka_metadata *md = NULL;

        missing = NULL;
        if (rd_kafka_metadata(rk, 1, NULL, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            missing = names[0];
        }
        for (int i = 0; md != NULL && missing == NULL && i < n; i++) {
            int ok = 0;

            for (int t = 0; t < md->topic_cnt && !ok; t++) {
                const struct rd_kafka_metadata_topic *mt = &md->topics[t];

                if (strcmp(mt->topic, names[i]) != 0 || mt->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    mt->partition_cnt == 0) {
                    continue;
                }
                ok = 1;
                for (int p = 0; p < mt->partition_cnt; p++) {
                    ok &= mt->partitions[p].leader >= 0;
                }
            }
            if (!ok) {
                missing = names[i];
            }
        }
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
        }
        if (missing == NULL) {
            return RECD_OK;
        }
        if (recd_now_mono_ns() >= deadline) {
            fprintf(stderr,
                    "recctl topics: %s was created but is not in the broker's metadata with a "
                    "leader for every partition after %lld ms\n",
                    missing, timeout);
            return RECD_EKAFKA;
        }
        nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
    }
}

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
        const char *made[T__N];
        int n_made = 0;

        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            const char *name = rd_kafka_topic_result_name(tr[i]);
            if (te == RD_KAFKA_RESP_ERR_NO_ERROR) {
                printf("created %s (%lld partitions)\n", name, partitions);
                if (n_made < T__N) {
                    made[n_made++] = name;
                }
            } else if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                if (check_existing(rk, c, name, (int)timeout) != RECD_OK) {
                    exit_code = RECD_EXIT_FAILURE;
                }
            } else {
                const char *es = rd_kafka_topic_result_error_string(tr[i]);
                fprintf(stderr, "recctl topics: %s: %s\n", name, es ? es : rd_kafka_err2str(te));
                exit_code = RECD_EXIT_FAILURE;
            }
        }
        if (n_made > 0 && wait_visible(rk, made, n_made, timeout) != RECD_OK) {
            exit_code = RECD_EXIT_FAILURE;
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
