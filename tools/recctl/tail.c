/*
 * tail.c — recctl tail: a topic -> one JSON object per record.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "recctl.h"

const char USAGE_TAIL[] =
    "usage: recctl tail --kind KIND [--topic T] [--from-beginning] [--max N] [--idle-ms MS]\n"
    "\n"
    "Consumes a topic (all partitions, no consumer group, nothing committed) and prints one\n"
    "JSON object per record:\n"
    "  {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"headers\":{...},\n"
    "   \"value\":{...}|null}\n"
    "value holds the decoded fields (null = tombstone); a Confluent-framed list (recd's\n"
    "output.confluent_id) also has \"schema_id\". Input records are decoded as recd\n"
    "decodes them: with -c RECD_CONF its input.format, writer schemas and confluent_ids\n"
    "(a Confluent-framed record needs its id there, as in recd), else as plain Avro with the\n"
    "compiled-in schemas (a Confluent-framed record then fails with unknown_schema_id: give\n"
    "-c). A value that fails to decode is printed\n"
    "as \"error\":\"<class>: <detail>\" with \"value_base64\". For the DLQ (--kind dlq) and\n"
    "--kind raw the value is printed as \"value_base64\". Keys and header values that are not\n"
    "UTF-8 get U+FFFD replacements.\n"
    "\n"
    "Options:\n"
    "  --kind KIND        click, purchase, query, item, deletion, recs, dlq, raw\n"
    "  --topic T          topic (default: the kind's topic)\n"
    "  --from-beginning   start at the earliest offsets (default: only new records)\n"
    "  --max N            exit after N records\n"
    "  --idle-ms MS       exit when no record arrived for MS ms (default 5000; 0 = never)\n"
    "\n"
    "Exits 0 after --max records or the idle timeout, 1 on errors.\n"
    "\n";

/* ---- tail ------------------------------------------------------------------------------------ */
static json_t *bytes_json(const void *p, size_t n)
{
    return p ? jstrn(p, n) : json_null();
}

static json_t *headers_json(const rd_kafka_message_t *m)
{
    json_t *o = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (!o || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return o;
    }
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        json_t *v = bytes_json(val, size);
        json_t *k = jstr(name);
        if (k && v) {
            json_object_set(o, json_string_value(k), v);
        }
        json_decref(k);
        json_decref(v);
    }
    return o;
}

static void set_base64(json_t *o, const char *field, const void *p, size_t n)
{
    char *b = base64(p ? p : "", p ? n : 0);
    if (b) {
        json_object_set_new(o, field, json_string(b));
        free(b);
    }
}

static int print_record(const rd_kafka_message_t *m, int kind, struct recd_codec *codec,
                        struct recd_arena *arena)
{
    json_t *o = json_object();
    char err[512];
    rd_kafka_timestamp_type_t tst;
    int rc;

    if (!o) {
        return RECD_ENOMEM;
    }
    json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(m->rkt)));
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    int64_t ts = rd_kafka_message_timestamp(m, &tst);
    json_object_set_new(o, "timestamp", ts >= 0 ? json_integer(ts) : json_null());
    json_object_set_new(o, "key", bytes_json(m->key, m->key_len));
    json_object_set_new(o, "headers", headers_json(m));
    if (kind == T_DLQ || kind == KIND_RAW) {
        if (m->payload) {
            set_base64(o, "value_base64", m->payload, m->len);
        } else {
            json_object_set_new(o, "value", json_null());
        }
    } else if (kind == T_RECS) {
        struct recd_recs r;
        if (!m->payload) {
            json_object_set_new(o, "value", json_null());
        } else if (recd_codec_decode_recs(codec, m->payload, m->len, arena, &r, err, sizeof err) ==
                   RECD_OK) {
            const uint8_t *v = m->payload;
            if (m->len >= 5 && v[0] == 0) {   /* Confluent-framed (output.confluent_id) */
                json_object_set_new(o, "schema_id",
                                    json_integer((json_int_t)((uint32_t)v[1] << 24 |
                                                              (uint32_t)v[2] << 16 |
                                                              (uint32_t)v[3] << 8 | v[4])));
            }
            json_object_set_new(o, "value", recs_to_json(&r));
        } else {
            json_object_set_new(o, "error", jstr(err));
            set_base64(o, "value_base64", m->payload, m->len);
        }
    } else {
        struct recd_event ev;
        memset(&ev, 0, sizeof ev);
        if (!m->payload && kind != T_ITEMS) {
            json_object_set_new(o, "value", json_null());
        } else if (recd_codec_decode(codec, kind, m->key, m->key_len, m->payload,
                                     m->payload ? m->len : 0, arena, &ev, err,
                                     sizeof err) == RECD_OK) {
            json_object_set_new(o, "value", event_to_json(&ev));
        } else {
            json_object_set_new(o, "error", jstr(err));
            set_base64(o, "value_base64", m->payload, m->len);
        }
    }
    rc = print_json_line(o);
    json_decref(o);
    return rc;
}

/* The topic's number of partitions, waiting for it to exist up to the idle timeout (idle_ms 0:
 * no timeout) or a stop: 0 when it does not by then, -1 when the cluster does not answer
 * (either with the message printed). */
static int wait_partitions(rd_kafka_t *rk, const char *topic, long long idle_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    double t0 = now_s();
    int n_parts;

    for (;;) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 5000)
                                    : RD_KAFKA_RESP_ERR__INVALID_ARG;
        if (rkt) {
            rd_kafka_topic_destroy(rkt);
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0) {
            n_parts = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            return n_parts;
        }
        const char *why = e                           ? rd_kafka_err2str(e)
            : md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
                                                      : "no partitions";
        if (md) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT) {
            fprintf(stderr, "recctl tail: metadata for %s: %s\n", topic, why);
            return -1;
        }
        if (g_stop || (idle_ms > 0 && (now_s() - t0) * 1000 >= (double)idle_ms)) {
            fprintf(stderr, "recctl tail: topic %s: %s\n", topic, why);
            return 0; /* nothing to print: idle timeout */
        }
        struct timespec ts = { 0, 200000000L };
        nanosleep(&ts, NULL);
    }
}

/* Print the assigned partitions' records until --max records, the idle timeout or a stop;
 * returns the exit code, the records printed in *printed. */
static int consume(rd_kafka_t *rk, int kind, struct recd_codec *codec, struct recd_arena *arena,
                   long long max, long long idle_ms, int64_t *printed)
{
    double last = now_s();
    while (!g_stop && (max < 0 || *printed < max)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (idle_ms > 0 && (now_s() - last) * 1000 >= (double)idle_ms) {
                break;
            }
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "recctl tail: %s\n", rd_kafka_message_errstr(m));
                if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                    rd_kafka_message_destroy(m);
                    return RECD_EXIT_FAILURE;
                }
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        last = now_s();
        recd_arena_reset(arena);
        int rc = print_record(m, kind, codec, arena);
        rd_kafka_message_destroy(m);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl tail: out of memory\n");
            return RECD_EXIT_FAILURE;
        }
        (*printed)++;
    }
    return RECD_EXIT_OK;
}

int cmd_tail(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "kind", required_argument, NULL, O_KIND },
                                        { "topic", required_argument, NULL, O_TOPIC },
                                        { "from-beginning", no_argument, NULL, O_FROM_BEGINNING },
                                        { "max", required_argument, NULL, O_MAX },
                                        { "idle-ms", required_argument, NULL, O_IDLE_MS },
                                        { NULL, 0, NULL, 0 } };
    static const char *const defaults[] = { "group.id",
                                            "recctl-tail",
                                            "enable.auto.commit",
                                            "false",
                                            "enable.auto.offset.store",
                                            "false",
                                            "enable.partition.eof",
                                            "false",
                                            NULL };
    int kind = -1, opt, from_beginning = 0, exit_code = RECD_EXIT_OK;
    const char *topic = NULL;
    long long max = -1, idle_ms = 5000;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    struct recd_codec *codec = NULL;
    struct recd_arena *arena = NULL;
    int64_t printed = 0;
    int n_parts;
    char err[1024];

    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "tail", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_TAIL); return RECD_EXIT_OK;
        case O_KIND:
            kind = parse_kind(optarg);
            if (kind < 0) {
                fprintf(stderr,
                        "recctl tail: --kind: expected click, purchase, query, item, "
                        "deletion, recs, dlq or raw, got '%s'\n",
                        optarg);
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TOPIC:          topic = optarg; break;
        case O_FROM_BEGINNING: from_beginning = 1; break;
        case O_MAX:
            if (parse_ll("tail", "--max", optarg, 1, LLONG_MAX, &max)) {
                return RECD_EXIT_USAGE;
            }
            break;
        case O_IDLE_MS:
            if (parse_ll("tail", "--idle-ms", optarg, 0, INT32_MAX, &idle_ms)) {
                return RECD_EXIT_USAGE;
            }
            break;
        default: return bad_usage("tail");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recctl tail: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("tail");
    }
    if (kind < 0) {
        fprintf(stderr, "recctl tail: --kind is required\n");
        return bad_usage("tail");
    }
    if (!topic) {
        topic = kind == KIND_RAW ? NULL : c->topic[kind];
    }
    if (!topic) {
        fprintf(stderr, "recctl tail: --kind raw needs --topic\n");
        return RECD_EXIT_USAGE;
    }

    if (common_codec(c, &codec, err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl tail: %s\n", err);
        return RECD_EXIT_SOFTWARE;
    }
    arena = recd_arena_new(1 << 16);
    rd_kafka_conf_t *conf = make_conf(c, defaults, err, sizeof err);
    if (!arena || !conf) {
        fprintf(stderr, "recctl tail: %s\n", arena ? err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "recctl tail: consumer: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();

    n_parts = wait_partitions(rk, topic, idle_ms);
    if (n_parts <= 0) {
        if (n_parts < 0) {
            exit_code = RECD_EXIT_FAILURE;
        }
        goto cleanup;
    }
    parts = rd_kafka_topic_partition_list_new(n_parts);
    for (int p = 0; p < n_parts; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = from_beginning
            ? RD_KAFKA_OFFSET_BEGINNING
            : RD_KAFKA_OFFSET_END;
    }
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts);
    if (ae) {
        fprintf(stderr, "recctl tail: assign: %s\n", rd_kafka_err2str(ae));
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    exit_code = consume(rk, kind, codec, arena, max, idle_ms, &printed);
    fflush(stdout);
    if (c->verbose) {
        fprintf(stderr, "recctl tail: %" PRId64 " record(s)\n", printed);
    }
cleanup:
    if (parts) {
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    recd_arena_destroy(arena);
    recd_codec_destroy(codec);
    return exit_code;
}
