/*
 * dataset_session_lines.c — the reader of the session-per-line formats, diginetica-srgnn and
 * retailrocket-sbr (dataset.h "Formats"): item ids separated by spaces, and for retailrocket's
 * test file a session id and a real start time before them.
 */
#include <inttypes.h>

#include "dataset_internal.h"

/* The items of one line → events of a new session; *n = how many (0: a blank line). */
static int parse_items(struct recd_dataset *ds, const struct ds_reader *rd, char *items, int32_t *n,
                       char *errstr, size_t errlen)
{
    char *p = items, *tok, *end;
    *n = 0;
    while (ds_next_token(&p, " \t\n\r", &tok, &end)) {
        int64_t item;
        if (ds_parse_i64(tok, end, &item) != 0) {
            return recd_seterr(errstr, errlen, RECD_EDECODE, "%s:%" PRId64 ": bad item id '%.*s'",
                               rd->path, rd->lineno, (int)(end - tok > 40 ? 40 : end - tok), tok);
        }
        if (*n == INT32_MAX || ds_add_ev(ds, -1, item) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        }
        (*n)++;
    }
    return RECD_OK;
}

/* A file of sessions, one per line. cols: 1 = "items" (space separated);
 * 3 = "session_id<TAB>start_unix_seconds<TAB>items". */
static int load_session_lines(struct recd_dataset *ds, const char *dir, const char *name, int phase,
                              int cols, char *errstr, size_t errlen)
{
    struct ds_reader rd;
    char *line;
    int64_t idx = 0;
    int rc = ds_reader_open(&rd, dir, name, "", RECD_ENOENT, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    while ((line = ds_reader_line(&rd)) != NULL) {
        char *items = line;
        int64_t key = idx, start = -1;
        if (cols == 3) {
            char *f[3], *fe[3];
            if (ds_split_fields(line, '\t', f, fe, 3) != 3) {
                if (line[0] == '\0') {
                    continue;
                }
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": expected session_id<TAB>start<TAB>items", rd.path,
                                 rd.lineno);
                goto cleanup;
            }
            if (ds_parse_i64(f[0], fe[0], &key) != 0 ||
                ds_parse_secs_ms(f[1], fe[1], &start) != 0) {
                rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                                 "%s:%" PRId64 ": bad session id or start time", rd.path,
                                 rd.lineno);
                goto cleanup;
            }
            *fe[2] = '\0';
            items = f[2];
        }
        int64_t first = (int64_t)ds->n_ev;
        int32_t n;
        rc = parse_items(ds, &rd, items, &n, errstr, errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
        if (n == 0) {
            continue; /* blank line: no session */
        }
        if (ds_add_session(ds, phase, key, -1, first, n, start) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        idx++;
    }
    rc = ds_reader_status(&rd, errstr, errlen);
    ds->ph[phase].timing = cols == 3 ? TIME_START : TIME_NONE;
cleanup:
    ds_reader_close(&rd);
    return rc;
}

int ds_load_session_files(struct recd_dataset *ds, const char *dir, const char *test_name,
                          int test_cols, char *errstr, size_t errlen)
{
    int rc = load_session_lines(ds, dir, "train_sessions.txt", RECD_DS_TRAIN, 1, errstr, errlen);
    if (rc == RECD_OK && ds_file_exists(dir, test_name)) {
        rc = load_session_lines(ds, dir, test_name, RECD_DS_TEST, test_cols, errstr, errlen);
    }
    return rc;
}
