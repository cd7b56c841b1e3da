/*
 * state.c — recctl's state tools:
 *
 *   recctl state digest [--state DIR] [--no-offsets]
 *                                            stable digest of all state (outputs excluded;
 *                                            --no-offsets: input offsets excluded too)
 *   recctl state offsets [--state DIR]       the stored input offsets, one per line
 *   recctl state show USER [--state DIR]     a user's state and last published list, as JSON
 *   recctl checkpoint DIR [--state SDIR]     RocksDB checkpoint (consistent copy) into DIR
 *
 * digest and show open the store read-only, so they work while recd runs (they see the last
 * committed batch). checkpoint asks the running recd (pid from SDIR/recd.lock) to take it
 * between two batches — via SDIR/checkpoint.request and SIGUSR1 — and waits for
 * SDIR/checkpoint.done; when no recd holds the store it opens the store itself.
 * Restore = stop recd, replace the state directory with the checkpoint, start recd: it
 * resumes from the offsets stored in the checkpoint (docs/OPERATIONS.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "codec.h"
#include "metrics.h"
#include "recctl.h"
#include "recd.h"
#include "state.h"

#define DEFAULT_STATE_DIR "/var/lib/recd/state"

static int open_ro(const char *dir, struct recd_state **st)
{
    struct recd_state_conf sc;
    char err[512];

    memset(&sc, 0, sizeof(sc));
    sc.dir = dir;
    sc.compression = "lz4";
    sc.read_only = 1;
    if (recd_state_open(&sc, st, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "recctl: %s\n", err);
        return -1;
    }
    return 0;
}

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static int state_show(struct recd_state *st, const char *user)
{
    static const int cfs[] = { RECD_CF_USERS, RECD_CF_SESSIONS };
    struct recd_buf prefix;
    struct recd_codec *codec = NULL;
    struct recd_codec_conf cc;
    struct recd_arena *arena = recd_arena_new(1 << 16);
    char err[512];
    int found = 0, first;

    recd_buf_init(&prefix);
    memset(&cc, 0, sizeof(cc));
    if (arena == NULL || recd_buf_append(&prefix, user, strlen(user) + 1) != RECD_OK ||
        recd_codec_new(&cc, &codec, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "recctl: cannot set up: %s\n", err);
        recd_arena_destroy(arena);
        recd_buf_free(&prefix);
        return 1;
    }
    printf("{\"user_id\": ");
    json_str(user, strlen(user));
    for (size_t c = 0; c < RECD_ARRAY_SIZE(cfs); c++) {
        struct recd_state_iter *it;
        const void *k, *v;
        size_t kl, vl;

        printf(", \"%s\": {", recd_cf_name(cfs[c]));
        first = 1;
        if (recd_state_iter_new(st, cfs[c], prefix.data, prefix.len, &it) == RECD_OK) {
            while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
                const char *sub = (const char *)k + prefix.len;
                size_t sl = kl - prefix.len;

                printf("%s", first ? "" : ", ");
                first = 0;
                found = 1;
                json_str(sub, sl);
                printf(": ");
                if (sl == 3 && memcmp(sub, "seq", 3) == 0 && (vl == 8 || vl == 16)) {
                    int64_t x, ts = 0;

                    memcpy(&x, v, 8);
                    if (vl == 16) {
                        memcpy(&ts, (const char *)v + 8, 8);
                    }
                    printf("%lld", (long long)x);
                    if (vl == 16) { /* the pipeline's {count, newest event time} */
                        printf(", \"last_event_ts\": %lld", (long long)ts);
                    }
                } else if (sl == strlen(RECD_SUB_LAST_LIST) &&
                           memcmp(sub, RECD_SUB_LAST_LIST, sl) == 0 && vl >= 12) {
                    int64_t lseq;
                    uint32_t n;

                    /* the pipeline's digest of the last list (state.h) */
                    memcpy(&lseq, v, 8);
                    memcpy(&n, (const char *)v + 8, 4);
                    printf("{\"seq\": %lld, \"items\": %u}", (long long)lseq, n);
                } else {
                    json_str(v, vl);
                }
            }
            recd_state_iter_destroy(it);
        }
        printf("}");
    }
    {
        struct recd_buf val;
        struct recd_recs r;

        recd_buf_init(&val);
        printf(", \"last_published\": ");
        if (recd_state_get(st, RECD_CF_OUTPUTS, prefix.data, prefix.len, &val) == RECD_OK &&
            recd_codec_decode_recs(codec, val.data, val.len, arena, &r, err, sizeof(err)) ==
                RECD_OK) {
            found = 1;
            printf("{\"seq\": %lld, \"model_version\": ", (long long)r.seq);
            json_str(r.model_version, strlen(r.model_version));
            printf(", \"generated_ts\": %lld, \"items\": [", (long long)r.generated_ts);
            for (uint32_t i = 0; i < r.n_items; i++) {
                printf("%s{\"item_id\": ", i ? ", " : "");
                json_str(r.items[i].item_id, strlen(r.items[i].item_id));
                printf(", \"score\": %.6g, \"reason\": ", (double)r.items[i].score);
                json_str(r.items[i].reason, strlen(r.items[i].reason));
                if (r.items[i].because_item_id) {
                    printf(", \"because_item_id\": ");
                    json_str(r.items[i].because_item_id, strlen(r.items[i].because_item_id));
                }
                printf("}");
            }
            printf("]}");
        } else {
            printf("null");
        }
        recd_buf_free(&val);
    }
    printf("}\n");
    recd_codec_destroy(codec);
    recd_arena_destroy(arena);
    recd_buf_free(&prefix);
    if (!found) {
        fprintf(stderr, "recctl: no state for user %s\n", user);
        return 2;
    }
    return 0;
}

static int print_offset(void *arg, const char *topic, int32_t partition, int64_t next)
{
    printf("%s\t%d\t%lld\n", topic, (int)partition, (long long)next);
    return 0;
}

/* ---- compact and audit ------------------------------------------------------------------ */

static int state_compact(const char *dir)
{
    struct recd_state_conf sc;
    struct recd_state *st;
    char err[512];
    int rc;

    memset(&sc, 0, sizeof(sc));
    sc.dir = dir;
    sc.compression = "lz4";
    sc.must_exist = 1;
    if (recd_state_open(&sc, &st, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "recctl: %s\n", err);
        return 1;
    }
    rc = recd_state_compact(st, err, sizeof(err));
    recd_state_close(st);
    /* RocksDB's MANIFEST is a log of file metadata, the key range of every file that ever
     * existed included: an open writes a new one holding only the live files and deletes
     * the old one */
    if (rc == RECD_OK && (rc = recd_state_open(&sc, &st, err, sizeof(err))) == RECD_OK) {
        recd_state_close(st);
    }
    if (rc != RECD_OK) {
        fprintf(stderr, "recctl: %s\n", err);
        return 1;
    }
    return 0;
}

/* what audit looks for: the user id's bytes and the 8 bytes of each of its session keys */
struct audit {
    const char *user;
    uint64_t *keys; /* sorted */
    uint32_t n_keys;
    int found;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void audit_file(struct audit *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t ulen = strlen(a->user), n = 0, cap = 0;
    unsigned char *buf = NULL;

    if (f == NULL) {
        fprintf(stderr, "recctl: cannot read %s: %s\n", path, strerror(errno));
        a->found = -1;
        return;
    }
    for (;;) { /* the whole file: RocksDB's files are at most a few hundred MB */
        if (n == cap) {
            unsigned char *p = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

            if (p == NULL) {
                fprintf(stderr, "recctl: out of memory reading %s\n", path);
                a->found = -1;
                goto out;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) {
            break;
        }
        n += r;
    }
    if (memmem(buf, n, a->user, ulen) != NULL) {
        printf("%s: the user id\n", path);
        a->found = a->found < 0 ? -1 : 1;
    }
    for (size_t i = 0; i + 8 <= n; i++) {
        uint64_t v;

        memcpy(&v, buf + i, 8);
        if (bsearch(&v, a->keys, a->n_keys, sizeof(v), cmp_u64) != NULL) {
            printf("%s: a session key of the user at byte %zu\n", path, i);
            a->found = a->found < 0 ? -1 : 1;
            break;
        }
    }
out:
    free(buf);
    fclose(f);
}

static void audit_dir(struct audit *a, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat sb;

    if (d == NULL) {
        fprintf(stderr, "recctl: cannot open %s: %s\n", dir, strerror(errno));
        a->found = -1;
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) != 0) {
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            audit_dir(a, path);
        } else if (S_ISREG(sb.st_mode)) {
            audit_file(a, path);
        }
    }
    closedir(d);
}

/* every byte of every file under dir: exit 0 when neither the user id nor one of its first
 * `sessions` session keys occurs, 3 when one does (printed), 1 on an error */
static int state_audit(const char *dir, const char *user, uint32_t sessions)
{
    struct audit a = { user, NULL, sessions, 0 };

    a.keys = calloc(sessions ? sessions : 1, sizeof(*a.keys));
    if (a.keys == NULL) {
        fprintf(stderr, "recctl: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < sessions; i++) {
        a.keys[i] = recd_session_key(user, i + 1);
    }
    qsort(a.keys, sessions, sizeof(*a.keys), cmp_u64);
    audit_dir(&a, dir);
    free(a.keys);
    return a.found < 0 ? 1 : a.found ? 3 : 0;
}

static void state_usage(FILE *out)
{
    fprintf(out,
            "usage: recctl state digest [--state DIR] [--no-offsets]\n"
            "       recctl state offsets [--state DIR]\n"
            "       recctl state show USER [--state DIR]\n"
            "       recctl state compact [--state DIR]\n"
            "       recctl state audit USER [--sessions N] [--state DIR]\n"
            "  --state DIR    recd's state directory (default: state.dir of -c RECD_CONF, else\n"
            "                 " DEFAULT_STATE_DIR ")\n"
            "  -c RECD_CONF   recd's configuration file (for state.dir)\n"
            "  --no-offsets   digest: leave out the stored input offsets\n"
            "digest prints a stable hash of all state (published lists excluded): two stores that\n"
            "applied the same input have the same digest. With --no-offsets, two stores that\n"
            "applied the same events from different topics or at different offsets (e.g. with\n"
            "and without interleaved dead-lettered records) have the same digest too.\n"
            "offsets prints topic<TAB>partition<TAB>next offset to consume, per stored partition.\n"
            "show prints a user's state and last published recommendations as JSON (exit 2 when\n"
            "the user has no state).\n"
            "compact (recd stopped) flushes the store and rewrites all its files, so that deleted\n"
            "bytes (a forgotten user's) leave the disk.\n"
            "audit reads every byte of every file under the state directory for the user id and\n"
            "the user's first N session keys (default 10000; hashes of the id and a counter):\n"
            "exit 0 when none occurs, 3 when one does (each file named), 1 on an error.\n");
}

int recctl_state_main(struct common *cm, int argc, char **argv)
{
    static const struct option lo[] = { { "state", required_argument, NULL, 's' },
                                        { "config", required_argument, NULL, 'c' },
                                        { "no-offsets", no_argument, NULL, 'n' },
                                        { "sessions", required_argument, NULL, 'S' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    unsigned flags = 0;
    uint32_t sessions = 10000;
    long long ll;
    const char *dir = NULL, *verb;
    struct recd_state *st = NULL;
    int c, rc = 1;
    char digest[33], err[512];

    optind = 0;
    while ((c = getopt_long(argc, argv, "s:c:h", lo, NULL)) != -1) {
        switch (c) {
        case 's': dir = optarg; break;
        case 'c':
            if (common_config(cm, "state", optarg) != RECD_OK) {
                return common_opt_exit(cm);
            }
            break;
        case 'n': flags |= RECD_DIGEST_NO_OFFSETS; break;
        case 'S':
            if (parse_ll("state", "--sessions", optarg, 1, 100000000, &ll) != 0) {
                return 64;
            }
            sessions = (uint32_t)ll;
            break;
        case 'h': state_usage(stdout); return 0;
        default:  state_usage(stderr); return 64;
        }
    }
    if (optind >= argc) {
        state_usage(stderr);
        return 64;
    }
    verb = argv[optind];
    if (!dir) {
        dir = cm->state_dir ? cm->state_dir : DEFAULT_STATE_DIR;
    }
    if (strcmp(verb, "compact") == 0) {
        return state_compact(dir);
    }
    if (strcmp(verb, "audit") == 0) {
        if (optind + 1 >= argc) {
            fprintf(stderr, "recctl state audit: USER is required\n");
            return 64;
        }
        return state_audit(dir, argv[optind + 1], sessions);
    }
    if (strcmp(verb, "digest") != 0 && strcmp(verb, "show") != 0 && strcmp(verb, "offsets") != 0) {
        fprintf(stderr, "recctl state: unknown command \"%s\"\n", verb);
        state_usage(stderr);
        return 64;
    }
    if (strcmp(verb, "show") == 0 && optind + 1 >= argc) {
        fprintf(stderr, "recctl state show: USER is required\n");
        return 64;
    }
    if (open_ro(dir, &st) != 0) {
        return 1;
    }
    if (strcmp(verb, "digest") == 0) {
        if (recd_state_digest_ex(st, flags, digest, err, sizeof(err)) == RECD_OK) {
            printf("%s\n", digest);
            rc = 0;
        } else {
            fprintf(stderr, "recctl: %s\n", err);
        }
    } else if (strcmp(verb, "offsets") == 0) {
        rc = recd_state_offsets(st, print_offset, NULL) == RECD_OK ? 0 : 1;
    } else {
        rc = state_show(st, argv[optind + 1]);
    }
    recd_state_close(st);
    return rc;
}

/* ---- checkpoint ------------------------------------------------------------------------- */

static long running_pid(const char *sdir)
{
    char path[4096], buf[32];
    int fd;
    ssize_t n;
    long pid = 0;

    snprintf(path, sizeof(path), "%s/recd.lock", sdir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {   /* nobody holds it: recd is not running */
        close(fd);
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = '\0';
        pid = strtol(buf, NULL, 10);
    }
    close(fd);
    return pid;
}

/* ---- moving a staged checkpoint to its destination ------------------------------------------ */
/* nftw has no user pointer: the copy in progress */
static struct {
    const char *src, *dst;
    size_t src_len;
    int as_root;
    char err[8400];   /* two paths and a reason */
} g_copy;

static int copy_file(const char *from, const char *to, const struct stat *sb)
{
    char buf[1 << 16];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;

    if (in < 0 ||
        (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, sb->st_mode & 07777)) < 0) {
        goto done;
    }
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0) {
                goto done;
            }
            w += k;
        }
    }
    if (n < 0 || fsync(out) != 0 || (g_copy.as_root && fchown(out, sb->st_uid, sb->st_gid))) {
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        snprintf(g_copy.err, sizeof g_copy.err, "copying %s to %s: %s", from, to, strerror(errno));
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(g_copy.err, sizeof g_copy.err, "writing %s: %s", to, strerror(errno));
        rc = -1;
    }
    return rc;
}

static int copy_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    char to[4096];

    (void)ftw;
    if ((size_t)snprintf(to, sizeof to, "%s%s", g_copy.dst, p + g_copy.src_len) >= sizeof to) {
        snprintf(g_copy.err, sizeof g_copy.err, "%s: path too long", g_copy.dst);
        return -1;
    }
    if (flag == FTW_D) {
        if (mkdir(to, sb->st_mode & 07777) != 0 ||
            (g_copy.as_root && chown(to, sb->st_uid, sb->st_gid) != 0)) {
            snprintf(g_copy.err, sizeof g_copy.err, "creating %s: %s", to, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (flag == FTW_F) {
        return copy_file(p, to, sb);
    }
    snprintf(g_copy.err, sizeof g_copy.err, "%s: not a file or directory", p);
    return -1;
}

/* Move the staged checkpoint to dst: a rename on the same filesystem, else a copy (modes kept,
 * and owners when run as root) and the removal of the staged one. RECD_OK or err printed. */
static int take_checkpoint(const char *staged, const char *dst)
{
    if (rename(staged, dst) == 0) {
        return RECD_OK;
    }
    if (errno != EXDEV) {
        fprintf(stderr, "recctl: moving the checkpoint %s to %s: %s\n", staged, dst,
                strerror(errno));
        return RECD_EIO;
    }
    g_copy.src = staged;
    g_copy.src_len = strlen(staged);
    g_copy.dst = dst;
    g_copy.as_root = geteuid() == 0;
    g_copy.err[0] = '\0';
    if (nftw(staged, copy_cb, 16, FTW_PHYS) != 0) {
        fprintf(stderr, "recctl: %s\n", g_copy.err[0] ? g_copy.err : strerror(errno));
        (void)recd_rmtree(dst);
        return RECD_EIO;
    }
    return RECD_OK;
}

int recctl_checkpoint_main(struct common *cm, int argc, char **argv)
{
    static const struct option lo[] = { { "state", required_argument, NULL, 's' },
                                        { "config", required_argument, NULL, 'c' },
                                        { "timeout", required_argument, NULL, 't' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    const char *sdir = NULL, *dst;
    char path[4096], done[4096], err[512], absdst[4096], staged[4096];
    long pid, timeout_s = 60;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "s:c:t:h", lo, NULL)) != -1) {
        switch (c) {
        case 's': sdir = optarg; break;
        case 'c':
            if (common_config(cm, "checkpoint", optarg) != RECD_OK) {
                return common_opt_exit(cm);
            }
            break;
        case 't': {
            char *end;

            errno = 0;
            timeout_s = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || timeout_s < 1 || timeout_s > 86400) {
                fprintf(stderr,
                        "recctl checkpoint: --timeout: expected seconds in [1, 86400], "
                        "got '%s'\n",
                        optarg);
                return 64;
            }
            break;
        }
        case 'h':
            printf(
                "usage: recctl checkpoint DIR [--state SDIR | -c RECD_CONF] [--timeout S]\n"
                "Takes a consistent RocksDB checkpoint of recd's state (and its input offsets)\n"
                "into DIR, which must not exist. Works while recd runs (it takes the checkpoint\n"
                "between two batches). Restore: stop recd, move DIR to state.dir, start recd.\n");
            return 0;
        default: return 64;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: recctl checkpoint DIR [--state SDIR | -c RECD_CONF]\n");
        return 64;
    }
    dst = argv[optind];
    if (!sdir) {
        sdir = cm->state_dir ? cm->state_dir : DEFAULT_STATE_DIR;
    }
    if (dst[0] != '/') {
        if (getcwd(absdst, sizeof(absdst) - 1) == NULL) {
            return 1;
        }
        snprintf(absdst + strlen(absdst), sizeof(absdst) - strlen(absdst), "/%s", dst);
        dst = absdst;
    }
    pid = running_pid(sdir);
    if (pid <= 0) {
        struct recd_state_conf sc;
        struct recd_state *st;

        memset(&sc, 0, sizeof(sc));
        sc.dir = sdir;
        sc.compression = "lz4";
        sc.must_exist = 1;      /* a mistyped --state must not become an empty store */
        if (recd_state_open(&sc, &st, err, sizeof(err)) != RECD_OK) {
            fprintf(stderr, "recctl: %s\n", err);
            return 1;
        }
        c = recd_state_checkpoint(st, dst, err, sizeof(err));
        recd_state_close(st);
        if (c != RECD_OK) {
            fprintf(stderr, "recctl: %s\n", err);
            return 1;
        }
        printf("checkpoint written to %s\n", dst);
        return 0;
    }
    /* The running recd writes the checkpoint inside its state directory (the one place its
     * unit lets it write; hard links), and recctl moves it to dst. */
    {
        struct stat sb;

        if (stat(dst, &sb) == 0 || errno != ENOENT) {
            fprintf(stderr, "recctl: %s: %s\n", dst,
                    errno == ENOENT ? "already exists" : strerror(errno));
            return 1;
        }
    }
    snprintf(staged, sizeof(staged), "%s/%s.%ld", sdir, RECD_CHECKPOINT_STAGING, (long)getpid());
    (void)recd_rmtree(staged);
    snprintf(path, sizeof(path), "%s/checkpoint.request", sdir);
    snprintf(done, sizeof(done), "%s/checkpoint.done", sdir);
    unlink(done);
    {
        FILE *f = fopen(path, "w");

        if (f == NULL || fprintf(f, "%s\n", staged) < 0 || fclose(f) != 0) {
            fprintf(stderr, "recctl: cannot write %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    if (kill((pid_t)pid, SIGUSR1) == -1) {
        fprintf(stderr, "recctl: cannot signal recd (pid %ld): %s\n", pid, strerror(errno));
        return 1;
    }
    for (long waited = 0; waited < timeout_s * 10; waited++) {
        FILE *f = fopen(done, "r");

        if (f != NULL) {
            char line[1024] = "";

            if (fgets(line, sizeof(line), f) == NULL) {
                line[0] = '\0';
            }
            fclose(f);
            unlink(done);
            if (strncmp(line, "ok", 2) != 0) {
                fprintf(stderr, "recctl: recd could not checkpoint: %s", line);
                (void)recd_rmtree(staged);
                return 1;
            }
            c = take_checkpoint(staged, dst);
            (void)recd_rmtree(staged);
            if (c != RECD_OK) {
                return 1;
            }
            printf("checkpoint written to %s\n", dst);
            return 0;
        }
        struct timespec ts = { 0, 100000000 };

        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "recctl: recd (pid %ld) did not answer within %ld s\n", pid, timeout_s);
    return 1;
}

/* ---- status --------------------------------------------------------------------------------- */

/* GET path from host:port over loopback HTTP/1.0; body into out (malloc'd). Returns the HTTP
 * status or -1. */
static int http_get(const char *hostport, const char *path, char **out)
{
    char host[128], req[256];
    struct sockaddr_in sa;
    struct recd_buf b;
    char buf[4096];
    ssize_t n;
    int fd, port, status = -1;
    char *body;

    *out = NULL;
    if (recd_listen_parse(hostport, host, sizeof(host), &port, NULL, 0) != RECD_OK) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
        close(fd);
        return -1;
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, hostport);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    recd_buf_init(&b);
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (recd_buf_append(&b, buf, (size_t)n) != RECD_OK) {
            break;
        }
    }
    close(fd);
    if (recd_buf_append(&b, "", 1) != RECD_OK) {
        recd_buf_free(&b);
        return -1;
    }
    if (sscanf((char *)b.data, "HTTP/%*s %d", &status) != 1) {
        status = -1;
    }
    body = strstr((char *)b.data, "\r\n\r\n");
    *out = recd_strdup(body ? body + 4 : "");
    recd_buf_free(&b);
    return status;
}

int recctl_status_main(struct common *cm, int argc, char **argv)
{
    static const struct option lo[] = { { "metrics", required_argument, NULL, 'm' },
                                        { "config", required_argument, NULL, 'c' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    const char *addr = NULL;
    char *ready = NULL, *metrics = NULL, *line, *save = NULL;
    int c, rs, ms;
    double lag = 0, consumed = 0, dead = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "m:c:h", lo, NULL)) != -1) {
        switch (c) {
        case 'm': addr = optarg; break;
        case 'c':
            if (common_config(cm, "status", optarg) != RECD_OK) {
                return common_opt_exit(cm);
            }
            break;
        case 'h':
            printf(
                "usage: recctl status [--metrics HOST:PORT] [-c RECD_CONF]\n"
                "Asks a running recd (its metrics.listen address: -c's, else 127.0.0.1:9464) whether\n"
                "it is ready, and prints its consumer lag per partition, records consumed and\n"
                "dead-lettered. Exit 0 when ready, 1 when not ready, 2 when unreachable.\n");
            return 0;
        default: return 64;
        }
    }
    if (!addr) {
        addr = cm->metrics_listen ? cm->metrics_listen : "127.0.0.1:9464";
    }
    {
        char host[128], perr[512];
        int port;

        /* the parser recd uses for metrics.listen: a bad address is a usage error, not an
         * unreachable recd */
        if (recd_listen_parse(addr, host, sizeof(host), &port, perr, sizeof(perr)) != RECD_OK) {
            fprintf(stderr, "recctl status: --metrics: %s\n", perr);
            return 64;
        }
        if (port == 0) {
            fprintf(stderr,
                    "recctl status: --metrics: \"%s\": port 0 is not an address to "
                    "connect to\n",
                    addr);
            return 64;
        }
    }
    rs = http_get(addr, "/readyz", &ready);
    if (rs < 0) {
        fprintf(stderr, "recctl status: cannot reach recd's metrics endpoint at %s\n", addr);
        return 2;
    }
    printf("readiness: %s", ready ? ready : "?\n");
    ms = http_get(addr, "/metrics", &metrics);
    if (ms == 200 && metrics != NULL) {
        for (line = strtok_r(metrics, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            const char *sp = strrchr(line, ' ');
            double v = sp ? atof(sp + 1) : 0;

            if (strncmp(line, "recd_consumer_lag{", 18) == 0) {
                printf("lag: %s\n", line + 17);
                lag += v;
            } else if (strncmp(line, "recd_records_consumed_total", 27) == 0) {
                consumed += v;
            } else if (strncmp(line, "recd_records_dead_lettered_total", 32) == 0) {
                dead += v;
            }
        }
        printf("total lag: %.0f records; consumed %.0f, dead-lettered %.0f\n", lag, consumed, dead);
    }
    free(ready);
    free(metrics);
    return rs == 200 ? 0 : 1;
}
