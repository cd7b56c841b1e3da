/*
 * produce.c — recctl produce: JSON lines -> Avro records on an input topic.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "recctl.h"

const char USAGE_PRODUCE[] =
    "usage: recctl produce [--kind KIND] [--topic T] [--confluent-id N] [FILE|-]\n"
    "\n"
    "Reads JSON lines (FILE, or stdin for '-' or no FILE) and produces one Avro record per line\n"
    "to the kind's topic. Field names are the Avro schemas' (schemas/*.avsc), timestamps are\n"
    "integers in ms since the epoch, enums are strings (\"VIEW\", \"SEARCH\"), optional fields\n"
    "may be omitted or null. The record key is user_id (item_id for items).\n"
    "  click:    {\"event_id\",\"user_id\",\"item_id\",\"ts\",\"kind\":\"VIEW|CART\",\n"
    "             \"session_id\",\"source\":\"BROWSE|SEARCH|RECS\",\"query_id\",\n"
    "             \"context\":{\"channel\":\"web\"}}\n"
    "  purchase: {\"event_id\",\"user_id\",\"order_id\",\"ts\",\n"
    "             \"lines\":[{\"item_id\",\"quantity\",\"unit_price\"}],\"currency\":\"EUR\"}\n"
    "  query:    {\"event_id\",\"user_id\",\"ts\",\"text\",\"shown_item_ids\":[...]}\n"
    "  item:     {\"item_id\",\"title\",\"description\",\"category\":[root,...],\"brand\",\n"
    "             \"price\",\"in_stock\",\"updated_ts\"}\n"
    "             {\"item_id\":\"x\",\"removed\":true} = tombstone (item removed)\n"
    "  deletion: {\"user_id\",\"requested_ts\",\"reason\"}\n"
    "Any kind: {\"key\":\"k\",\"value\":null} sends a tombstone with key k.\n"
    "Prices may be \"NaN\", \"Infinity\", \"-Infinity\" (for testing validation).\n"
    "\n"
    "Options:\n"
    "  --kind KIND        click, purchase, query, item, deletion; default: each line names its\n"
    "                     kind in a \"_kind\" field (as written by recctl gen --jsonl)\n"
    "  --topic T          produce to T instead of the kind's topic\n"
    "  --confluent-id N   Confluent wire format with schema id N (default: plain Avro)\n"
    "\n"
    "Bad lines are reported as FILE:LINE: message and skipped; the exit status is 1 if any line\n"
    "was bad or any record was not delivered, else 0.\n"
    "\n";

/* ---- produce --------------------------------------------------------------------------------- */
/* What produce carries from line to line. */
struct produce_run {
    const struct common *c;
    int kind; /* --kind, or -1: each line's "_kind" */
    const char *topic; /* --topic, or NULL: the kind's topic */
    int32_t cid; /* --confluent-id, or -1 */
    const char *path; /* the input, for messages */
    int64_t lineno, bad, sent, tombs;
    struct sink sink;
    struct recd_codec *codec; /* owned */
    struct recd_arena *arena; /* owned: the strings of the line's event */
    struct recd_buf buf; /* owned: the encoded record */
    char err[1024];
};

enum { LINE_OK, LINE_BAD, LINE_KAFKA_ERROR };

/* The kind of a line's object: its "_kind" field, else --kind; -1 with the message printed. */
static int line_kind(const struct produce_run *pr, json_t *o)
{
    json_t *jk = json_object_get(o, "_kind");
    int k = pr->kind;

    if (jk) {
        int lk = json_is_string(jk) ? parse_kind(json_string_value(jk)) : -1;
        if (lk < 0 || lk >= RECD_KIND__NINPUT) {
            fprintf(stderr,
                    "%s:%" PRId64 ": \"_kind\": expected click, purchase, query, "
                    "item or deletion\n",
                    pr->path, pr->lineno);
            return -1;
        }
        if (pr->kind >= 0 && lk != pr->kind) {
            fprintf(stderr, "%s:%" PRId64 ": \"_kind\" is %s but --kind is %s\n", pr->path,
                    pr->lineno, KIND_NAME[lk], KIND_NAME[pr->kind]);
            return -1;
        }
        k = lk;
    }
    if (k < 0) {
        fprintf(stderr, "%s:%" PRId64 ": no kind: give --kind or a \"_kind\" field\n", pr->path,
                pr->lineno);
        return -1;
    }
    return k;
}

/* One JSON object -> a record on its topic (or a tombstone). LINE_BAD with the message
 * printed; LINE_KAFKA_ERROR with pr->err set. */
static int produce_object(struct produce_run *pr, json_t *o)
{
    struct recd_event ev;
    int k, rc;

    if (!json_is_object(o)) {
        fprintf(stderr, "%s:%" PRId64 ": expected a JSON object\n", pr->path, pr->lineno);
        return LINE_BAD;
    }
    if ((k = line_kind(pr, o)) < 0) {
        return LINE_BAD;
    }
    const char *t = pr->topic ? pr->topic : pr->c->topic[k];
    /* {"key": "...", "value": null}: a tombstone */
    json_t *jv = json_object_get(o, "value"), *jkey = json_object_get(o, "key");
    if (jkey || jv) {
        size_t extra = json_object_size(o) - (json_object_get(o, "_kind") ? 1 : 0);
        if (!json_is_string(jkey) || !jv || !json_is_null(jv) || extra != 2) {
            fprintf(stderr,
                    "%s:%" PRId64 ": a tombstone is {\"key\": \"...\", \"value\": "
                    "null}\n",
                    pr->path, pr->lineno);
            return LINE_BAD;
        }
        const char *ks = json_string_value(jkey);
        rc = sink_send(&pr->sink, t, ks, strlen(ks), NULL, 0, pr->err, sizeof pr->err);
        if (rc != RECD_OK) {
            return LINE_KAFKA_ERROR;
        }
        pr->tombs++;
        pr->sent++;
        return LINE_OK;
    }
    recd_arena_reset(pr->arena);
    rc = json_to_event(o, k, pr->arena, &ev, pr->err, sizeof pr->err);
    if (rc == RECD_OK) {
        pr->buf.len = 0;
        rc = recd_codec_encode_event(pr->codec, &ev, pr->cid, &pr->buf, pr->err, sizeof pr->err);
    }
    if (rc != RECD_OK) {
        fprintf(stderr, "%s:%" PRId64 ": %s\n", pr->path, pr->lineno, pr->err);
        return LINE_BAD;
    }
    const char *key = k == RECD_KIND_ITEM ? ev.u.item.item_id : ev.user_id;
    int tomb = k == RECD_KIND_ITEM && ev.u.item.removed;
    rc = sink_send(&pr->sink, t, key, strlen(key), tomb ? NULL : pr->buf.data, pr->buf.len, pr->err,
                   sizeof pr->err);
    if (rc != RECD_OK) {
        return LINE_KAFKA_ERROR;
    }
    pr->tombs += tomb;
    pr->sent++;
    return LINE_OK;
}

/* One input line (newline stripped; blank lines are skipped). */
static int produce_line(struct produce_run *pr, const char *line, size_t len)
{
    json_error_t je;
    json_t *o;
    const char *p = line;
    int rc;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!*p) {
        return LINE_OK;
    }
    o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        fprintf(stderr, "%s:%" PRId64 ": bad JSON: %s (column %d)\n", pr->path, pr->lineno, je.text,
                je.column);
        return LINE_BAD;
    }
    rc = produce_object(pr, o);
    json_decref(o);
    return rc;
}

int cmd_produce(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "kind", required_argument, NULL, O_KIND },
                                        { "topic", required_argument, NULL, O_TOPIC },
                                        { "confluent-id", required_argument, NULL, O_CONFLUENT_ID },
                                        { NULL, 0, NULL, 0 } };
    int opt, exit_code = RECD_EXIT_OK;
    const char *path = "-";
    long long cid = -1;
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    struct produce_run pr;
    struct recd_codec_conf cc;

    memset(&pr, 0, sizeof pr);
    pr.c = c;
    pr.kind = -1;
    recd_buf_init(&pr.buf);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "produce", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h': usage_to(stdout, USAGE_PRODUCE); return RECD_EXIT_OK;
        case O_KIND:
            pr.kind = parse_kind(optarg);
            if (pr.kind < 0 || pr.kind >= RECD_KIND__NINPUT) {
                fprintf(stderr,
                        "recctl produce: --kind: expected click, purchase, query, item "
                        "or deletion, got '%s'\n",
                        optarg);
                return RECD_EXIT_USAGE;
            }
            break;
        case O_TOPIC: pr.topic = optarg; break;
        case O_CONFLUENT_ID:
            if (parse_ll("produce", "--confluent-id", optarg, 0, INT32_MAX, &cid)) {
                return RECD_EXIT_USAGE;
            }
            break;
        default: return bad_usage("produce");
        }
    }
    pr.cid = (int32_t)cid;
    if (optind < argc) {
        path = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "recctl produce: unexpected argument '%s'\n", argv[optind]);
        return bad_usage("produce");
    }
    if (strcmp(path, "-") == 0) {
        fp = stdin;
        path = "<stdin>";
    } else if (!(fp = fopen(path, "r"))) {
        fprintf(stderr, "recctl produce: %s: %s\n", path, strerror(errno));
        return RECD_EXIT_FAILURE;
    }
    pr.path = path;

    memset(&cc, 0, sizeof cc);
    if (recd_codec_new(&cc, &pr.codec, pr.err, sizeof pr.err) != RECD_OK) {
        fprintf(stderr, "recctl produce: %s\n", pr.err);
        exit_code = RECD_EXIT_SOFTWARE;
        goto cleanup;
    }
    pr.arena = recd_arena_new(1 << 14);
    if (!pr.arena || sink_open(&pr.sink, c, pr.err, sizeof pr.err) != RECD_OK) {
        fprintf(stderr, "recctl produce: %s\n", pr.arena ? pr.err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();
    while (!g_stop && (len = getline(&line, &cap, fp)) >= 0) {
        int rc;

        pr.lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        rc = produce_line(&pr, line, (size_t)len);
        if (rc == LINE_BAD) {
            pr.bad++;
        }
        if (rc == LINE_KAFKA_ERROR) {
            fprintf(stderr, "recctl produce: %s\n", pr.err);
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "recctl produce: %s: read error\n", path);
        exit_code = RECD_EXIT_FAILURE;
    }
cleanup: {
    int64_t undelivered = sink_close(&pr.sink, 60000);
    if (pr.codec || pr.sent) {
        fprintf(stderr,
                "recctl produce: %" PRId64 " record(s) produced (%" PRId64
                " tombstone(s)), %" PRId64 " bad line(s), %" PRId64 " not delivered\n",
                pr.sent, pr.tombs, pr.bad, undelivered);
    }
    if ((pr.bad || undelivered) && exit_code == RECD_EXIT_OK) {
        exit_code = RECD_EXIT_FAILURE;
    }
}
    free(line);
    if (fp && fp != stdin) {
        fclose(fp);
    }
    recd_buf_free(&pr.buf);
    recd_arena_destroy(pr.arena);
    recd_codec_destroy(pr.codec);
    return exit_code;
}
