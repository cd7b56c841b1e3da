/*
 * fault_tool.c — helpers of recd's fault tests (tests/integration/fault_*.sh):
 *
 *   fault_tool mock [--brokers N] [--topic NAME:PARTITIONS:REPLICAS]...
 *       A librdkafka mock cluster (rdkafka_mock.h) in this process. Prints
 *       "BOOTSTRAP=host:port,..." and then executes fault commands read from stdin, one per
 *       line, answering each with one line "ok ..." or "error ...":
 *         err API ERR...          the next requests of type API (name or number, any client,
 *                                 any broker) fail with these errors in turn (librdkafka
 *                                 names: NOT_COORDINATOR, _TRANSPORT = disconnect, ...)
 *         berr ID API ERR...      the same for the requests to broker ID only
 *         clear API               forget the pending errors of API
 *         pending                 forget all pending cluster-wide errors; answers
 *                                 "ok pending N", N = per-broker errors not used yet
 *         down ID / up ID         broker ID refuses connections / accepts them again
 *         rtt ID MS               broker ID answers MS later
 *         coord group KEY ID      move the coordinator of group KEY to broker ID
 *         leader TOPIC PART ID    move the partition's leader to broker ID (-1: none)
 *         topic NAME PARTS REPL   create a topic
 *         quit
 *       Exits at "quit" or end of input, destroying the cluster.
 *
 *   fault_tool copy -b BROKERS --from TOPIC --to TOPIC [--drop-log FILE]
 *       Copy every record of a topic up to its current end into another topic, partition by
 *       partition, byte for byte (key, value, timestamp), leaving out the records a fault
 *       test injected as poison: an empty key or a key starting with "poison-" (recctl
 *       replay --poison). FILE gets "topic<TAB>partition<TAB>offset" of every record left
 *       out, with the value's length and CRC-32 ("<TAB>length<TAB>crc32"). This builds "the
 *       good records alone" in the order of the poisoned stream.
 *
 *   fault_tool flood -b BROKERS --users N [--topic T] [--items K] [--first U] [--ts MS]
 *       Produce N clicks of N distinct users ("flood-u<i>", i = U .. U+N-1) on K items.
 *
 *   fault_tool hwm -b BROKERS --topic T
 *       Print "partition<TAB>high watermark<TAB>low watermark" for every partition of T.
 *
 * Exit status 0 on success, 1 on failure, 64 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <zlib.h>

#include "codec.h"
#include "event.h"
#include "recd.h"

#define MAX_PARTS 256

static void die_usage(const char *msg)
{
    fprintf(stderr,
            "fault_tool: %s\n"
            "usage: fault_tool mock [--brokers N] [--topic NAME:PARTITIONS:REPLICAS]...\n"
            "       fault_tool copy -b BROKERS --from TOPIC --to TOPIC [--drop-log FILE]\n"
            "       fault_tool flood -b BROKERS --users N [--topic T] [--items K] [--first U]"
            " [--ts MS]\n"
            "       fault_tool hwm -b BROKERS --topic T\n",
            msg);
    exit(64);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *brokers, const char *const *kv)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_t *rk;

    if (brokers != NULL &&
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
        goto fail;
    }
    for (; kv != NULL && kv[0] != NULL; kv += 2) {
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            goto fail;
        }
    }
    rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == NULL) {
        goto fail;
    }
    return rk;
fail:
    fprintf(stderr, "fault_tool: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- mock ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int16_t key;
} API_KEYS[] = {
    { "Produce", 0 },         { "Fetch", 1 },       { "ListOffsets", 2 },      { "Metadata", 3 },
    { "OffsetCommit", 8 },    { "OffsetFetch", 9 }, { "FindCoordinator", 10 }, { "JoinGroup", 11 },
    { "Heartbeat", 12 },      { "LeaveGroup", 13 }, { "SyncGroup", 14 },       { "ApiVersion", 18 },
    { "InitProducerId", 22 },
};

static int api_key(const char *s, int16_t *out)
{
    char *end;
    long v;

    for (size_t i = 0; i < sizeof(API_KEYS) / sizeof(API_KEYS[0]); i++) {
        if (strcmp(API_KEYS[i].name, s) == 0) {
            *out = API_KEYS[i].key;
            return 0;
        }
    }
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 100) {
        return -1;
    }
    *out = (int16_t)v;
    return 0;
}

/* An error code by librdkafka name ("NOT_COORDINATOR", "_TRANSPORT") or number. */
static int err_code(const char *s, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t n;
    char *end;
    long v;

    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name != NULL && strcmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        return -1;
    }
    *out = (rd_kafka_resp_err_t)v;
    return 0;
}

static void reply(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* One command line: returns 1 to quit. */
static int mock_command(rd_kafka_mock_cluster_t *mc, char *line)
{
    char *argv[64];
    int argc = 0;
    char *save = NULL, *tok;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && argc < 64;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        argv[argc++] = tok;
    }
    if (argc == 0 || argv[0][0] == '#') {
        return 0;
    }
    if (strcmp(argv[0], "quit") == 0) {
        reply("ok quit");
        return 1;
    }
    if (strcmp(argv[0], "err") == 0 && argc >= 3) {
        /* err API ERROR... : the next requests of that type (any client) fail in turn */
        rd_kafka_resp_err_t errs[62];
        int16_t key;

        if (api_key(argv[1], &key) != 0) {
            reply("error unknown api %s", argv[1]);
            return 0;
        }
        for (int i = 2; i < argc; i++) {
            if (err_code(argv[i], &errs[i - 2]) != 0) {
                reply("error unknown error code %s", argv[i]);
                return 0;
            }
        }
        rd_kafka_mock_push_request_errors_array(mc, key, (size_t)(argc - 2), errs);
        reply("ok err %s x%d", argv[1], argc - 2);
        return 0;
    }
    if (strcmp(argv[0], "berr") == 0 && argc >= 4) {
        /* berr BROKER API ERROR... : the next requests of that type to one broker fail */
        int32_t id = (int32_t)strtol(argv[1], NULL, 10);
        int16_t key;

        if (api_key(argv[2], &key) != 0) {
            reply("error unknown api %s", argv[2]);
            return 0;
        }
        for (int i = 3; i < argc; i++) {
            rd_kafka_resp_err_t code;

            if (err_code(argv[i], &code) != 0) {
                reply("error unknown error code %s", argv[i]);
                return 0;
            }
            e = rd_kafka_mock_broker_push_request_error_rtts(mc, id, key, 1, code, 0);
            if (e) {
                reply("error berr: %s", rd_kafka_err2str(e));
                return 0;
            }
        }
        reply("ok berr %d %s x%d", (int)id, argv[2], argc - 3);
        return 0;
    }
    if (strcmp(argv[0], "pending") == 0 && argc == 1) {
        /* pending: forget the cluster-wide errors not used yet; report the per-broker
         * errors (berr) not used yet (there is no call to drop those) */
        size_t total = 0, cnt;

        for (int16_t k = 0; k <= 70; k++) {
            rd_kafka_mock_clear_request_errors(mc, k);
            for (int32_t id = 1; id <= 16; id++) {
                cnt = 0;
                if (rd_kafka_mock_broker_error_stack_cnt(mc, id, k, &cnt) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                    total += cnt;
                }
            }
        }
        reply("ok pending %zu", total);
        return 0;
    }
    if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        int16_t key;

        if (api_key(argv[1], &key) != 0) {
            reply("error unknown api %s", argv[1]);
            return 0;
        }
        rd_kafka_mock_clear_request_errors(mc, key);
        reply("ok clear %s", argv[1]);
        return 0;
    }
    if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
        int32_t id = (int32_t)strtol(argv[1], NULL, 10);

        e = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, id)
                              : rd_kafka_mock_broker_set_up(mc, id);
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)strtol(argv[1], NULL, 10),
                                         (int)strtol(argv[2], NULL, 10));
    } else if (strcmp(argv[0], "coord") == 0 && argc == 4) {
        /* coord group|transaction KEY BROKER */
        e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)strtol(argv[3], NULL, 10));
    } else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
        /* leader TOPIC PARTITION BROKER (-1: no leader) */
        e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)strtol(argv[2], NULL, 10),
                                               (int32_t)strtol(argv[3], NULL, 10));
    } else if (strcmp(argv[0], "topic") == 0 && argc == 4) {
        e = rd_kafka_mock_topic_create(mc, argv[1], (int)strtol(argv[2], NULL, 10),
                                       (int)strtol(argv[3], NULL, 10));
    } else {
        reply("error unknown command %s (err API ERR..., berr ID API ERR..., clear API, pending, "
              "down ID, "
              "up ID, rtt ID MS, "
              "coord group KEY ID, leader TOPIC PART ID, topic NAME PARTS REPLICAS, quit)",
              argv[0]);
        return 0;
    }
    if (e) {
        reply("error %s: %s", argv[0], rd_kafka_err2str(e));
    } else {
        reply("ok %s", argv[0]);
    }
    return 0;
}

static int cmd_mock(int argc, char **argv)
{
    static const struct option lo[] = { { "brokers", required_argument, NULL, 'n' },
                                        { "topic", required_argument, NULL, 't' },
                                        { NULL, 0, NULL, 0 } };
    char *topics[64];
    int nt = 0, nb = 3, c, rc = 1;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    char line[4096];

    while ((c = getopt_long(argc, argv, "n:t:", lo, NULL)) != -1) {
        if (c == 'n') {
            nb = atoi(optarg);
        } else if (c == 't' && nt < 64) {
            topics[nt++] = optarg;
        } else {
            die_usage("mock: bad option");
        }
    }
    if (nb < 1 || nb > 16) {
        die_usage("mock: --brokers must be 1..16");
    }
    rk = new_client(RD_KAFKA_PRODUCER, NULL, NULL);
    if (rk == NULL) {
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(rk, nb);
    if (mc == NULL) {
        fprintf(stderr, "fault_tool: cannot create the mock cluster\n");
        goto out;
    }
    for (int i = 0; i < nt; i++) {
        char name[256];
        int parts = 1, repl = 1;

        if (sscanf(topics[i], "%255[^:]:%d:%d", name, &parts, &repl) < 1 ||
            rd_kafka_mock_topic_create(mc, name, parts, repl) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "fault_tool: cannot create topic %s\n", topics[i]);
            goto out;
        }
    }
    printf("BOOTSTRAP=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (mock_command(mc, line)) {
            break;
        }
    }
    rc = 0;
out:
    if (mc != NULL) {
        rd_kafka_mock_cluster_destroy(mc);
    }
    if (rk != NULL) {
        rd_kafka_destroy(rk);
    }
    return rc;
}

/* ---- shared: partitions and watermarks ---------------------------------------------------- */

static int topic_partitions(rd_kafka_t *rk, const char *topic, int32_t *ids, int *n)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e;
    int rc = -1;

    if (rkt == NULL) {
        return -1;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0) {
            break;
        }
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
    }
    if (md != NULL) {
        *n = md->topics[0].partition_cnt < MAX_PARTS ? md->topics[0].partition_cnt : MAX_PARTS;
        for (int i = 0; i < *n; i++) {
            ids[i] = md->topics[0].partitions[i].id;
        }
        rd_kafka_metadata_destroy(md);
        rc = 0;
    } else {
        fprintf(stderr, "fault_tool: no metadata for topic %s\n", topic);
    }
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static int watermarks(rd_kafka_t *rk, const char *topic, int32_t p, int64_t *lo, int64_t *hi)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    for (int attempt = 0; attempt < 20; attempt++) {
        e = rd_kafka_query_watermark_offsets(rk, topic, p, lo, hi, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return 0;
        }
    }
    fprintf(stderr, "fault_tool: watermarks of %s[%d]: %s\n", topic, (int)p, rd_kafka_err2str(e));
    return -1;
}

static int cmd_hwm(int argc, char **argv)
{
    static const struct option lo[] = { { "brokers", required_argument, NULL, 'b' },
                                        { "topic", required_argument, NULL, 't' },
                                        { NULL, 0, NULL, 0 } };
    const char *brokers = NULL, *topic = NULL;
    static const char *const kv[] = { "group.id", "fault-tool-hwm", NULL };
    int32_t ids[MAX_PARTS];
    int n = 0, c, rc = 1;
    rd_kafka_t *rk;

    while ((c = getopt_long(argc, argv, "b:t:", lo, NULL)) != -1) {
        if (c == 'b') {
            brokers = optarg;
        } else if (c == 't') {
            topic = optarg;
        } else {
            die_usage("hwm: bad option");
        }
    }
    if (brokers == NULL || topic == NULL) {
        die_usage("hwm: -b and --topic are required");
    }
    rk = new_client(RD_KAFKA_CONSUMER, brokers, kv);
    if (rk == NULL) {
        return 1;
    }
    if (topic_partitions(rk, topic, ids, &n) == 0) {
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            int64_t l, h;

            if (watermarks(rk, topic, ids[i], &l, &h) != 0) {
                rc = 1;
            } else {
                printf("%d\t%" PRId64 "\t%" PRId64 "\n", (int)ids[i], h, l);
            }
        }
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- copy ---------------------------------------------------------------------------------- */

static int64_t delivery_errors;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        if (delivery_errors++ == 0) {
            fprintf(stderr, "fault_tool: delivery failed: %s\n", rd_kafka_err2str(m->err));
        }
    }
}

static rd_kafka_t *new_producer(const char *brokers)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "message.max.bytes", "4000000", err, sizeof(err))) {
        fprintf(stderr, "fault_tool: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "fault_tool: %s\n", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int produce(rd_kafka_t *p, const char *topic, int32_t part, const void *key, size_t klen,
                   const void *val, size_t vlen, int64_t ts)
{
    rd_kafka_resp_err_t e;

    for (;;) {
        e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY((void *)key, klen),
                              RD_KAFKA_V_VALUE((void *)val, vlen),
                              RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(p, 50);
    }
    if (e) {
        fprintf(stderr, "fault_tool: produce to %s: %s\n", topic, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(p, 0);
    return 0;
}

static int finish_producer(rd_kafka_t *p)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p, 120000);

    if (e) {
        fprintf(stderr, "fault_tool: flush: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    return delivery_errors ? -1 : 0;
}

static int is_poison_key(const void *key, size_t klen)
{
    return klen == 0 || (klen >= 7 && memcmp(key, "poison-", 7) == 0);
}

static int cmd_copy(int argc, char **argv)
{
    static const struct option lo[] = { { "brokers", required_argument, NULL, 'b' },
                                        { "from", required_argument, NULL, 'f' },
                                        { "to", required_argument, NULL, 't' },
                                        { "drop-log", required_argument, NULL, 'd' },
                                        { NULL, 0, NULL, 0 } };
    static const char *const kv[] = { "group.id",
                                      "fault-tool-copy",
                                      "enable.auto.commit",
                                      "false",
                                      "enable.partition.eof",
                                      "false",
                                      "fetch.message.max.bytes",
                                      "4000000",
                                      NULL };
    const char *brokers = NULL, *from = NULL, *to = NULL, *drop_path = NULL;
    int32_t ids[MAX_PARTS];
    int64_t hi[MAX_PARTS], next[MAX_PARTS];
    int n = 0, c, rc = 1, left = 0;
    int64_t copied = 0, dropped = 0;
    rd_kafka_t *cons = NULL, *prod = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    FILE *drop = NULL;

    while ((c = getopt_long(argc, argv, "b:f:t:d:", lo, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'd': drop_path = optarg; break;
        default:  die_usage("copy: bad option");
        }
    }
    if (brokers == NULL || from == NULL || to == NULL) {
        die_usage("copy: -b, --from and --to are required");
    }
    if (drop_path != NULL && (drop = fopen(drop_path, "a")) == NULL) {
        fprintf(stderr, "fault_tool: %s: %s\n", drop_path, strerror(errno));
        return 1;
    }
    cons = new_client(RD_KAFKA_CONSUMER, brokers, kv);
    prod = new_producer(brokers);
    if (cons == NULL || prod == NULL || topic_partitions(cons, from, ids, &n) != 0) {
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        int64_t lo_off;

        if (watermarks(cons, from, ids[i], &lo_off, &hi[i]) != 0) {
            goto out;
        }
        next[i] = lo_off;
        if (hi[i] > lo_off) {
            rd_kafka_topic_partition_list_add(parts, from, ids[i])->offset = lo_off;
            left++;
        }
    }
    if (rd_kafka_assign(cons, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "fault_tool: cannot assign %s\n", from);
        goto out;
    }
    while (left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 30000);
        int i;

        if (m == NULL) {
            fprintf(stderr, "fault_tool: copy %s: no record for 30 s\n", from);
            goto out;
        }
        if (m->err) {
            fprintf(stderr, "fault_tool: consume %s: %s\n", from, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        for (i = 0; i < n && ids[i] != m->partition; i++) {
        }
        if (i == n || m->offset >= hi[i] || m->offset < next[i]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        next[i] = m->offset + 1;
        if (is_poison_key(m->key, m->key_len)) {
            dropped++;
            if (drop != NULL) {
                uLong crc = crc32(0L, Z_NULL, 0);

                if (m->payload != NULL && m->len > 0) {
                    crc = crc32(crc, m->payload, (uInt)m->len);
                }
                fprintf(drop, "%s\t%d\t%" PRId64 "\t%zu\t%lu\n", from, (int)m->partition, m->offset,
                        m->len, (unsigned long)crc);
            }
        } else {
            if (produce(prod, to, m->partition, m->key, m->key_len, m->payload, m->len,
                        rd_kafka_message_timestamp(m, NULL)) != 0) {
                rd_kafka_message_destroy(m);
                goto out;
            }
            copied++;
        }
        if (next[i] >= hi[i]) {
            left--;
        }
        rd_kafka_message_destroy(m);
    }
    if (finish_producer(prod) != 0) {
        goto out;
    }
    printf("copied %" PRId64 " records from %s to %s, left out %" PRId64 "\n", copied, from, to,
           dropped);
    rc = 0;
out:
    if (parts != NULL) {
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (cons != NULL) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (prod != NULL) {
        rd_kafka_destroy(prod);
    }
    if (drop != NULL && fclose(drop) != 0) {
        rc = 1;
    }
    return rc;
}

/* ---- flood --------------------------------------------------------------------------------- */

static int cmd_flood(int argc, char **argv)
{
    static const struct option lo[] = { { "brokers", required_argument, NULL, 'b' },
                                        { "topic", required_argument, NULL, 't' },
                                        { "users", required_argument, NULL, 'u' },
                                        { "items", required_argument, NULL, 'i' },
                                        { "first", required_argument, NULL, 'f' },
                                        { "ts", required_argument, NULL, 's' },
                                        { NULL, 0, NULL, 0 } };
    const char *brokers = NULL, *topic = "shop.clicks";
    long long users = 0, items = 1000, first = 0, ts0 = 1700000000000LL;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_buf buf;
    rd_kafka_t *prod = NULL;
    char err[512];
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "b:t:u:i:f:s:", lo, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'u': users = atoll(optarg); break;
        case 'i': items = atoll(optarg); break;
        case 'f': first = atoll(optarg); break;
        case 's': ts0 = atoll(optarg); break;
        default:  die_usage("flood: bad option");
        }
    }
    if (brokers == NULL || users <= 0 || items <= 0 || first < 0) {
        die_usage("flood: -b and --users N > 0 are required");
    }
    recd_buf_init(&buf);
    memset(&cc, 0, sizeof(cc));
    if (recd_codec_new(&cc, &codec, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "fault_tool: %s\n", err);
        goto out;
    }
    prod = new_producer(brokers);
    if (prod == NULL) {
        goto out;
    }
    for (long long i = first; i < first + users; i++) {
        char user[48], item[48], eid[48];
        struct recd_event ev;

        snprintf(user, sizeof(user), "flood-u%lld", i);
        snprintf(item, sizeof(item), "flood-i%lld", i % items);
        snprintf(eid, sizeof(eid), "flood:%lld", i);
        memset(&ev, 0, sizeof(ev));
        ev.kind = RECD_KIND_CLICK;
        ev.event_id = eid;
        ev.user_id = user;
        ev.ts_ms = ts0 + i * 10;
        ev.u.click.item_id = item;
        ev.u.click.type = RECD_CLICK_VIEW;
        ev.u.click.source = RECD_SRC_BROWSE;
        buf.len = 0;
        if (recd_codec_encode_event(codec, &ev, -1, &buf, err, sizeof(err)) != RECD_OK) {
            fprintf(stderr, "fault_tool: encode: %s\n", err);
            goto out;
        }
        if (produce(prod, topic, RD_KAFKA_PARTITION_UA, user, strlen(user), buf.data, buf.len, 0) !=
            0) {
            goto out;
        }
    }
    if (finish_producer(prod) != 0) {
        goto out;
    }
    printf("flooded %lld clicks of distinct users into %s\n", users, topic);
    rc = 0;
out:
    if (prod != NULL) {
        rd_kafka_destroy(prod);
    }
    recd_codec_destroy(codec);
    recd_buf_free(&buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        die_usage("a command is required");
    }
    if (strcmp(argv[1], "mock") == 0) {
        return cmd_mock(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "copy") == 0) {
        return cmd_copy(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "flood") == 0) {
        return cmd_flood(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "hwm") == 0) {
        return cmd_hwm(argc - 1, argv + 1);
    }
    die_usage("unknown command");
    return 64;
}
