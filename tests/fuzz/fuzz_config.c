/*
 * fuzz_config.c — libFuzzer target for the configuration loader (core/conf.c) on libconfig.
 *
 * The input is configuration text. It is loaded with recd_conf_load_string against
 *   - recd's real tables (recd_units_all(): the core units and every registered operator's),
 *     then, when it loads, put through the cross-unit helpers (recd_config_codec,
 *     recd_config_validate_conf), recd_conf_write_example and recd_conf_check_reload
 *     against the defaults and against itself;
 *   - a small test table (a copy of tests/unit/test_conf.c's units: every type, bounds,
 *     choices, a secret, a check callback, a 64-bit default and nested "ops.*" units).
 * Oracles, besides ASan/UBSan/LSan:
 *   - the result is RECD_OK or RECD_ECONFIG (never another code), and a failure's message is
 *     non-empty and starts with the name given to the loader ("fuzz:") or "unit.key:";
 *   - check_reload of a configuration against itself is RECD_OK;
 *   - dump round trip: recd_conf_dump's text of a loaded configuration loads again, and its own
 *     dump is the same text (a fixed point). Masked secrets ("********") can legitimately fail
 *     a bound or check, so a dump that contains the mask is only required to load when it does.
 * Inputs containing "@include" are skipped: an include reads a file by path (the loader's file
 * handling is not what this target is about, and a path such as /dev/stdin would block).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conf.h"
#include "recd.h"
#include "units.h"

#include "fuzz_common.h"

/* ---- the small test table (mirrors tests/unit/test_conf.c) -------------------------------- */

struct core_conf {
    char *log_level;
    int64_t workers;
    int64_t big;
    double ratio;
    int fast;
    char *token;
    char *name;
};

struct kafka_conf {
    struct recd_strlist topics;
    struct recd_strlist modes;
    struct recd_kvlist properties;
    char *brokers;
};

struct pop_conf {
    int64_t window;
    double decay;
};

struct cooc_conf {
    int64_t k;
};

static const char *const levels[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const modes[] = { "a", "b", "c", NULL };

static int check_no_space(const struct recd_conf_decl *d, const void *value, char *errstr,
                          size_t errlen)
{
    const char *s = *(char *const *)value;

    (void)d;
    if (strchr(s, ' ') != NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "must not contain spaces");
    }
    return 0;
}

#define R RECD_CF_RELOADABLE
#define S RECD_CF_SECRET

static const struct recd_conf_decl core_decls[] = {
    { "log_level", RECD_CT_STRING, "\"info\"", 1, 0, R, offsetof(struct core_conf, log_level),
      "Log level.", levels, NULL },
    { "workers", RECD_CT_INT, "4", 1, 64, 0, offsetof(struct core_conf, workers), "Worker threads.",
      NULL, NULL },
    { "big", RECD_CT_INT, "5000000000L", 1, 0, 0, offsetof(struct core_conf, big),
      "A 64-bit value.", NULL, NULL },
    { "ratio", RECD_CT_DOUBLE, "0.5", 0, 1, R, offsetof(struct core_conf, ratio), "A fraction.",
      NULL, NULL },
    { "fast", RECD_CT_BOOL, "false", 1, 0, R, offsetof(struct core_conf, fast), "Go fast.", NULL,
      NULL },
    { "token", RECD_CT_STRING, NULL, 0, 64, R | S, offsetof(struct core_conf, token),
      "An access token.", NULL, NULL },
    { "name", RECD_CT_STRING, "\"recd\"", 1, 16, 0, offsetof(struct core_conf, name),
      "Instance name.", NULL, check_no_space },
};

static const struct recd_conf_decl kafka_decls[] = {
    { "topics", RECD_CT_STRLIST, "[\"events\"]", 1, 4, 0, offsetof(struct kafka_conf, topics),
      "Input topics.", NULL, NULL },
    { "modes", RECD_CT_STRLIST, "[]", 0, 2, R, offsetof(struct kafka_conf, modes), "Modes.", modes,
      NULL },
    { "properties", RECD_CT_MAP, "{ client_id = \"recd\"; }", 1, 0, 0,
      offsetof(struct kafka_conf, properties), "Properties.", NULL, NULL },
    { "brokers", RECD_CT_STRING, "\"localhost:9092\"", 1, 0, 0,
      offsetof(struct kafka_conf, brokers), "Bootstrap servers.", NULL, NULL },
};

static const struct recd_conf_decl pop_decls[] = {
    { "window", RECD_CT_INT, "10", 1, 1000, R, offsetof(struct pop_conf, window), "Window.", NULL,
      NULL },
    { "decay", RECD_CT_DOUBLE, "1.0", 1, 0, R, offsetof(struct pop_conf, decay), "Decay.", NULL,
      NULL },
};

static const struct recd_conf_decl cooc_decls[] = {
    { "k", RECD_CT_INT, "20", 1, 100, 0, offsetof(struct cooc_conf, k), "Neighbours.", NULL, NULL },
};

#undef R
#undef S

static const struct recd_conf_unit core_unit = { "core", "The core.", core_decls,
                                                 RECD_ARRAY_SIZE(core_decls),
                                                 sizeof(struct core_conf) };
static const struct recd_conf_unit kafka_unit = { "kafka", "Kafka.", kafka_decls,
                                                  RECD_ARRAY_SIZE(kafka_decls),
                                                  sizeof(struct kafka_conf) };
static const struct recd_conf_unit pop_unit = { "ops.pop", "Popularity.", pop_decls,
                                                RECD_ARRAY_SIZE(pop_decls),
                                                sizeof(struct pop_conf) };
static const struct recd_conf_unit cooc_unit = { "ops.cooc", "Co-occurrence.", cooc_decls,
                                                 RECD_ARRAY_SIZE(cooc_decls),
                                                 sizeof(struct cooc_conf) };
static const struct recd_conf_unit *const test_units[] = { &core_unit, &pop_unit, &kafka_unit,
                                                           &cooc_unit };

/* ---- state -------------------------------------------------------------------------------- */

static const struct recd_conf_unit *const *real_units;
static size_t n_real_units;
static struct recd_conf *real_defaults, *test_defaults;
static FILE *devnull;

/* At exit, so that LeakSanitizer's exit check sees only what the inputs leaked. */
static void cleanup(void)
{
    recd_conf_destroy(real_defaults);
    recd_conf_destroy(test_defaults);
    real_defaults = test_defaults = NULL;
    if (devnull != NULL) {
        fclose(devnull);
        devnull = NULL;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];

    (void)argc;
    (void)argv;
    atexit(cleanup);
    real_units = recd_units_all(&n_real_units);
    if (recd_conf_defaults(real_units, n_real_units, &real_defaults, err, sizeof(err)) != RECD_OK ||
        recd_conf_defaults(test_units, RECD_ARRAY_SIZE(test_units), &test_defaults, err,
                           sizeof(err)) != RECD_OK) {
        fprintf(stderr, "fuzz_config: defaults do not load: %s\n", err);
        exit(1);
    }
    devnull = fopen("/dev/null", "w");
    if (devnull == NULL) {
        fprintf(stderr, "fuzz_config: cannot open /dev/null\n");
        exit(1);
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* recd_conf_dump's text, malloc'ed. */
static char *dump_text(const struct recd_conf *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    FUZZ_CHECK(f != NULL, "open_memstream failed");
    recd_conf_dump(c, f);
    FUZZ_CHECK(fclose(f) == 0 && text != NULL, "dump into memory failed");
    return text;
}

static void check_load_result(int rc, const char *err, const struct recd_conf *c, const char *which)
{
    if (rc == RECD_OK) {
        FUZZ_CHECK(c != NULL, "%s: RECD_OK without a configuration", which);
        return;
    }
    FUZZ_CHECK(c == NULL, "%s: failure (%d) but a configuration was returned", which, rc);
    FUZZ_CHECK(rc == RECD_ECONFIG, "%s: load returned %d (%s), expected RECD_ECONFIG", which, rc,
               err);
    FUZZ_CHECK(err[0] != '\0', "%s: failure without a message", which);
    /* "fuzz:LINE: ..." for anything from the text; "unit.key: ..." only for broken defaults,
     * which cannot happen here (the defaults loaded in LLVMFuzzerInitialize) */
    FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0, "%s: message does not name the source: \"%s\"", which,
               err);
}

/* Load text against units; on success exercise the loaded configuration. */
static void fuzz_units(const char *text, const struct recd_conf_unit *const *units, size_t n,
                       const struct recd_conf *defaults, int real, const char *which)
{
    struct recd_conf *c = NULL, *c2 = NULL;
    char err[1024], err2[1024];
    char *d1 = NULL, *d2 = NULL;
    int rc;

    err[0] = '\0';
    rc = recd_conf_load_string(text, "fuzz", units, n, &c, err, sizeof(err));
    check_load_result(rc, err, c, which);
    if (rc != RECD_OK) {
        return;
    }
    FUZZ_CHECK(recd_conf_check_reload(c, c, err, sizeof(err)) == RECD_OK,
               "%s: check_reload of a configuration against itself: %s", which, err);
    rc = recd_conf_check_reload(defaults, c, err, sizeof(err));
    FUZZ_CHECK(rc == RECD_OK || rc == RECD_ECONFIG, "%s: check_reload returned %d", which, rc);
    recd_conf_write_example(c, devnull);
    if (real) {
        struct recd_codec_conf cc;
        struct recd_codec_schema_id *ids = NULL;
        struct recd_validate_conf vc;

        rc = recd_config_codec(c, &cc, &ids, err, sizeof(err));
        FUZZ_CHECK(rc == RECD_OK || rc == RECD_ECONFIG, "recd_config_codec returned %d", rc);
        free(ids);
        recd_config_validate_conf(c, &vc);
    }

    /* dump round trip */
    d1 = dump_text(c);
    err2[0] = '\0';
    rc = recd_conf_load_string(d1, "fuzz", units, n, &c2, err2, sizeof(err2));
    if (rc != RECD_OK) {
        FUZZ_CHECK(strstr(d1, "********") != NULL,
                   "%s: the dump of a loaded configuration does not load: %s\n--- dump:\n%s", which,
                   err2, d1);
        goto cleanup;
    }
    d2 = dump_text(c2);
    FUZZ_CHECK(strcmp(d1, d2) == 0,
               "%s: dump is not a fixed point\n--- first:\n%s\n--- second:\n%s", which, d1, d2);

cleanup:
    free(d1);
    free(d2);
    recd_conf_destroy(c2);
    recd_conf_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    if (strcasestr(text, "@include") == NULL) {
        fuzz_units(text, real_units, n_real_units, real_defaults, 1, "real units");
        fuzz_units(text, test_units, RECD_ARRAY_SIZE(test_units), test_defaults, 0, "test units");
    }
    free(text);
    return 0;
}
