/*
 * main.c — recd's command-line tool, recctl: the common options and the dispatch to the
 * subcommands, one file each in tools/recctl/ (see recctl.h).
 *
 *   recctl produce   JSON lines → Avro records on an input topic
 *   recctl replay    a dataset directory → the event topics (optionally with poison records)
 *   recctl gen       the synthetic shop → the topics (or JSON lines)
 *   recctl tail      a topic → one JSON object per record
 *   recctl forget    publish a user-deletion request
 *   recctl metadata  brokers and topics (readiness probe)
 *   recctl topics create   create recd's topics
 *   recctl lag       a consumer group's committed offsets and lag as Kafka records them
 *   recctl state / checkpoint / status   (state.c)
 *
 * Common options (before or after the command): -c/--config recd.conf (brokers, topics,
 * properties, state dir, metrics address, group and input codec from recd's own configuration),
 * -b/--brokers (default $RECD_BOOTSTRAP, else localhost:9092), -X key=value (librdkafka
 * property, applied last), --topic-<name> overrides.
 *
 * Ownership: every command owns what it creates and releases it on its cleanup path; strings
 * of decoded/parsed events live in a per-record arena (or in the JSON tree they came from)
 * until the record has been encoded or printed.
 */
#include <stdlib.h>
#include <string.h>

#include "recctl.h"

static const char USAGE_MAIN[] =
    "usage: recctl [COMMON OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "recd's command-line tool. Commands:\n"
    "  produce      JSON lines -> Avro records on an input topic\n"
    "  replay       replay a dataset directory into the event topics (with optional poison)\n"
    "  gen          the synthetic shop -> the topics (or JSON lines)\n"
    "  tail         print a topic's records as JSON lines\n"
    "  forget       ask recd to forget a user (publishes a user-deletion record)\n"
    "  metadata     print brokers and topics; exit 0 iff the cluster answered (readiness)\n"
    "  topics create  create recd's topics (idempotent)\n"
    "  state        state digest / show a user's state (reads the state directory)\n"
    "  checkpoint   take a consistent checkpoint of the state\n"
    "  status       readiness, lag and record totals of a running recd (metrics endpoint)\n"
    "  lag          a consumer group's committed offsets and lag as Kafka records them\n"
    "  help [CMD]   help for a command (also: recctl CMD --help)\n"
    "\n";

/* ---- dispatch -------------------------------------------------------------------------------- */
struct command {
    const char *name;
    int (*fn)(struct common *c, int argc, char **argv);
    const char *usage;
};

static int cmd_state(struct common *c, int argc, char **argv)
{
    return recctl_state_main(c, argc, argv);
}

static int cmd_checkpoint(struct common *c, int argc, char **argv)
{
    return recctl_checkpoint_main(c, argc, argv);
}

static int cmd_status(struct common *c, int argc, char **argv)
{
    return recctl_status_main(c, argc, argv);
}

static const struct command COMMANDS[] = {
    { "produce", cmd_produce, USAGE_PRODUCE },
    { "replay", cmd_replay, USAGE_REPLAY },
    { "gen", cmd_gen, USAGE_GEN },
    { "tail", cmd_tail, USAGE_TAIL },
    { "forget", cmd_forget, USAGE_FORGET },
    { "metadata", cmd_metadata, USAGE_METADATA },
    { "topics", cmd_topics, USAGE_TOPICS },
    { "lag", cmd_lag, USAGE_LAG },
    { "state", cmd_state, NULL },
    { "checkpoint", cmd_checkpoint, NULL },
    { "status", cmd_status, NULL },
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < RECD_ARRAY_SIZE(COMMANDS); i++) {
        if (strcmp(COMMANDS[i].name, name) == 0) {
            return &COMMANDS[i];
        }
    }
    return NULL;
}

/* glibc keeps getopt's ordering mode (REQUIRE_ORDER, from the "+" of MAIN_SHORT) until a call
 * made with optind = 0. Reinitialise it with a no-op parse so that command parsers which
 * start with optind = 1 (recctl_state.c) get the default permuting mode, i.e. options may
 * follow positional arguments. */
static void reset_getopt(void)
{
    static char arg0[] = "recctl";
    char *av[] = { arg0, NULL };
    optind = 0;
    (void)getopt(1, av, "");
    optind = 1;
}

static void usage_main(FILE *fp)
{
    fputs(USAGE_MAIN, fp);
    fputs(COMMON_HELP, fp);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG, { NULL, 0, NULL, 0 } };
    struct common c;
    int opt, rc = RECD_EXIT_USAGE;

    memset(&c, 0, sizeof c);
    c.brokers = getenv("RECD_BOOTSTRAP");
    if (!c.brokers || !*c.brokers) {
        c.brokers = "localhost:9092";
    }
    for (int t = 0; t < T__N; t++) {
        c.topic[t] = TOPIC_DEFAULT[t];
    }

    /* common options before the command ("+": stop at the first non-option) */
    while ((opt = GETOPT(argc, argv, MAIN_SHORT, lo)) != -1) {
        int h = common_opt(&c, "", opt, optarg);
        if (h < 0) {
            rc = common_opt_exit(&c);
            goto out;
        }
        if (h > 0) {
            continue;
        }
        if (opt == 'h') {
            usage_main(stdout);
            rc = RECD_EXIT_OK;
            goto out;
        }
        usage_main(stderr);
        goto out;
    }
    if (optind >= argc) {
        usage_main(stderr);
        goto out;
    }
    const char *name = argv[optind];
    int first = optind;
    reset_getopt();
    optind = first;
    if (strcmp(name, "help") == 0) {
        if (first + 1 >= argc) {
            usage_main(stdout);
            rc = RECD_EXIT_OK;
            goto out;
        }
        const struct command *hc = find_command(argv[first + 1]);
        if (!hc) {
            fprintf(stderr, "recctl: unknown command '%s'\n", argv[first + 1]);
            goto out;
        }
        if (!hc->usage) {
            char help_opt[] = "--help";
            char *hargv[] = { argv[first + 1], help_opt, NULL };
            rc = hc->fn(&c, 2, hargv);
            goto out;
        }
        usage_to(stdout, hc->usage);
        rc = RECD_EXIT_OK;
        goto out;
    }
    const struct command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "recctl: unknown command '%s'\n\n", name);
        usage_main(stderr);
        goto out;
    }
    rc = cmd->fn(&c, argc - first, argv + first);
out:
    common_release(&c);
    return rc;
}
