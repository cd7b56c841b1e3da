/*
 * forget.c — recctl forget: publish a user-deletion request.
 */
#include <limits.h>
#include <string.h>

#include "codec.h"
#include "recctl.h"

const char USAGE_FORGET[] =
    "usage: recctl forget USER_ID [--reason TEXT] [--ts MS]\n"
    "\n"
    "Publishes a UserDeletion record (key USER_ID) to the deletions topic: recd deletes all of\n"
    "the user's state and publishes a tombstone for the user's recommendations.\n"
    "  --reason TEXT      stored with the request (e.g. \"gdpr\")\n"
    "  --ts MS            requested_ts (default: now)\n"
    "\n";

/* ---- forget ---------------------------------------------------------------------------------- */
int cmd_forget(struct common *c, int argc, char **argv)
{
    static const struct option lo[] = { COMMON_LONG,
                                        { "reason", required_argument, NULL, O_REASON },
                                        { "ts", required_argument, NULL, O_TS },
                                        { NULL, 0, NULL, 0 } };
    struct recd_event ev;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_buf buf;
    struct sink sink;
    const char *reason = NULL;
    long long ts = -1;
    int opt, exit_code = RECD_EXIT_OK;
    char err[1024];

    memset(&sink, 0, sizeof sink);
    optind = 0;
    while ((opt = GETOPT(argc, argv, COMMON_SHORT, lo)) != -1) {
        int h = common_opt(c, "forget", opt, optarg);
        if (h < 0) {
            return common_opt_exit(c);
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case 'h':      usage_to(stdout, USAGE_FORGET); return RECD_EXIT_OK;
        case O_REASON: reason = optarg; break;
        case O_TS:
            if (parse_ll("forget", "--ts", optarg, 0, LLONG_MAX, &ts)) {
                return RECD_EXIT_USAGE;
            }
            break;
        default: return bad_usage("forget");
        }
    }
    if (optind + 1 != argc || !argv[optind][0]) {
        fprintf(stderr, "recctl forget: expected exactly one USER_ID\n");
        return bad_usage("forget");
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = RECD_KIND_DELETION;
    ev.user_id = argv[optind];
    ev.u.deletion.requested_ts = ts >= 0 ? ts : recd_now_wall_ms();
    ev.u.deletion.reason = reason;
    ev.ts_ms = ev.u.deletion.requested_ts;
    recd_buf_init(&buf);
    memset(&cc, 0, sizeof cc);
    if (recd_codec_new(&cc, &codec, err, sizeof err) != RECD_OK ||
        recd_codec_encode_event(codec, &ev, -1, &buf, err, sizeof err) != RECD_OK ||
        sink_open(&sink, c, err, sizeof err) != RECD_OK ||
        sink_send(&sink, c->topic[T_DELETIONS], ev.user_id, strlen(ev.user_id), buf.data, buf.len,
                  err, sizeof err) != RECD_OK) {
        fprintf(stderr, "recctl forget: %s\n", err);
        exit_code = RECD_EXIT_FAILURE;
    }
    if (sink_close(&sink, 30000) != 0) {
        exit_code = RECD_EXIT_FAILURE;
    } else if (exit_code == RECD_EXIT_OK) {
        printf("deletion of user %s requested on %s\n", ev.user_id, c->topic[T_DELETIONS]);
    }
    recd_buf_free(&buf);
    recd_codec_destroy(codec);
    return exit_code;
}
