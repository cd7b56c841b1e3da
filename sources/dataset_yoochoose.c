/*
 * dataset_yoochoose.c — the yoochoose reader (dataset.h "Formats"): TSV files of
 * SessionId<TAB>ItemId<TAB>Time clicks with real timestamps, *train_full* the train phase and
 * *test* the test phase (without a train_full file every file is train).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

/* The rows of one file appended to *rows (n, cap: its length and capacity). */
static int load_yoochoose_file(const char *dir, const char *name, struct ds_row **rows, size_t *n,
                               size_t *cap, char *errstr, size_t errlen)
{
    struct ds_reader rd;
    char *f[3], *fe[3];
    int nf;
    int rc = ds_reader_open(&rd, dir, name, "", RECD_EIO, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    while ((nf = ds_reader_fields(&rd, '\t', f, fe, 3)) > 0) {
        if (rd.lineno == 1 && strncmp(rd.line, "SessionId", 9) == 0) {
            continue;
        }
        struct ds_row r = { 0 };
        if (nf != 3 || ds_parse_i64(f[0], fe[0], &r.sess) != 0 ||
            ds_parse_i64(f[1], fe[1], &r.ref) != 0 || ds_parse_secs_ms(f[2], fe[2], &r.ts) != 0) {
            rc = recd_seterr(errstr, errlen, RECD_EDECODE,
                             "%s:%" PRId64 ": expected SessionId<TAB>ItemId<TAB>Time", rd.path,
                             rd.lineno);
            goto cleanup;
        }
        r.user = -1;
        r.seq = (int64_t)*n;
        if (GROW(*rows, *cap, *n + 1) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
        (*rows)[(*n)++] = r;
    }
    rc = ds_reader_status(&rd, errstr, errlen);
cleanup:
    ds_reader_close(&rd);
    return rc;
}

int ds_load_yoochoose(struct recd_dataset *ds, const char *dir, char *errstr, size_t errlen)
{
    char **names = NULL;
    size_t nn = 0;
    struct ds_row *rows[RECD_DS__NPHASES] = { NULL, NULL };
    size_t n[RECD_DS__NPHASES] = { 0, 0 }, cap[RECD_DS__NPHASES] = { 0, 0 };
    int have_full = 0, rc;

    rc = ds_list_files(dir, ".txt", &names, &nn, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    for (size_t i = 0; i < nn; i++) {
        have_full |= strstr(names[i], "train_full") != NULL;
    }
    for (size_t i = 0; i < nn; i++) {
        int phase;
        if (!ds_is_yoochoose_file(dir, names[i])) {
            continue;
        }
        if (have_full) {
            if (strstr(names[i], "train_full")) {
                phase = RECD_DS_TRAIN;
            } else if (strstr(names[i], "test")) {
                phase = RECD_DS_TEST;
            } else {
                continue; /* train_tr / train_valid re-split train_full */
            }
        } else {
            phase = RECD_DS_TRAIN;
        }
        rc = load_yoochoose_file(dir, names[i], &rows[phase], &n[phase], &cap[phase], errstr,
                                 errlen);
        if (rc != RECD_OK) {
            goto cleanup;
        }
    }
    for (int p = 0; p < RECD_DS__NPHASES; p++) {
        if (n[p] && ds_rows_to_sessions(ds, p, rows[p], n[p]) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    rc = RECD_OK;
cleanup:
    ds_free_names(names, nn);
    free(rows[0]);
    free(rows[1]);
    return rc;
}
