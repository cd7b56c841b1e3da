/*
 * dataset_detect.c — the dataset format names and the detection of a directory's format from
 * the files it holds (dataset.h "Formats").
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_internal.h"

const char *const ds_format_names[RECD_DS__NFORMATS] = {
    "auto", "diginetica-srgnn", "retailrocket-sbr", "yoochoose", "diginetica-raw", "amazon-recbole"
};

/* ---- format names and detection ------------------------------------------------------------ */
const char *recd_dataset_format_name(int format)
{
    if (format < 0 || format >= RECD_DS__NFORMATS) {
        return "unknown";
    }
    return ds_format_names[format];
}

int recd_dataset_format_parse(const char *name)
{
    for (int f = 0; f < RECD_DS__NFORMATS; f++) {
        if (strcmp(name, ds_format_names[f]) == 0) {
            return f;
        }
    }
    return -1;
}

int ds_is_yoochoose_file(const char *dir, const char *name)
{
    char p[DS_PATH_MAX], line[256];
    FILE *fp;
    int ok = 0;
    if (ds_path_join(p, sizeof p, dir, name) != 0 || !(fp = fopen(p, "r"))) {
        return 0;
    }
    if (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "SessionId\tItemId\tTime", 21) == 0) {
            ok = 1;
        } else {
            char *f[4], *fe[4];
            int64_t a, b, c;
            if (ds_split_fields(line, '\t', f, fe, 4) == 3 && ds_parse_i64(f[0], fe[0], &a) == 0 &&
                ds_parse_i64(f[1], fe[1], &b) == 0 && ds_parse_secs_ms(f[2], fe[2], &c) == 0) {
                ok = 1;
            }
        }
    }
    fclose(fp);
    return ok;
}

int recd_dataset_detect(const char *dir, char *errstr, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        return recd_seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO, "%s: %s", dir,
                           strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "%s: not a directory", dir);
    }
    if (ds_file_exists(dir, "train_sessions.txt") && ds_file_exists(dir, "test_sessions.tsv")) {
        return RECD_DS_RETAILROCKET_SBR;
    }
    if (ds_file_exists(dir, "train_sessions.txt")) {
        return RECD_DS_DIGINETICA_SRGNN;
    }
    if (ds_file_exists(dir, "sample_train-item-views.csv") ||
        ds_file_exists(dir, "train-item-views.csv") || ds_file_exists(dir, "train-purchases.csv")) {
        return RECD_DS_DIGINETICA_RAW;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = ds_list_files(dir, ".test.inter", &names, &n, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    ds_free_names(names, n);
    if (n > 0) {
        return RECD_DS_AMAZON_RECBOLE;
    }
    rc = ds_list_files(dir, ".txt", &names, &n, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        found = ds_is_yoochoose_file(dir, names[i]);
    }
    ds_free_names(names, n);
    if (found) {
        return RECD_DS_YOOCHOOSE;
    }
    return recd_seterr(errstr, errlen, RECD_ENOENT,
                       "%s: no dataset recognised (expected train_sessions.txt, "
                       "yoochoose *.txt, diginetica-raw *.csv or RecBole *.test.inter files)",
                       dir);
}
