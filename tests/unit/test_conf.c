/*
 * test_conf.c — unit tests of the declarative config loader (core/conf.c).
 *
 * The units below are defined here (not the daemon's real ones) so that every type, bound,
 * flag and error class is exercised. Fixture files live in RECD_TEST_DATA "/conf".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "recd.h"

#ifndef RECD_TEST_DATA
#error "RECD_TEST_DATA must be defined (the tests/ directory)"
#endif
#define CONF_DIR RECD_TEST_DATA "/conf"

/* ---- test units ------------------------------------------------------------------------- */

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
    { "ratio", RECD_CT_DOUBLE, "0.5", 0, 1, R, offsetof(struct core_conf, ratio),
      "A fraction | with a pipe.", NULL, NULL },
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
      offsetof(struct kafka_conf, properties), "librdkafka properties.", NULL, NULL },
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

static const struct recd_conf_unit core_unit = { "core", "The core.", core_decls,
                                                 RECD_ARRAY_SIZE(core_decls),
                                                 sizeof(struct core_conf) };
static const struct recd_conf_unit kafka_unit = { "kafka", "Kafka.", kafka_decls,
                                                  RECD_ARRAY_SIZE(kafka_decls),
                                                  sizeof(struct kafka_conf) };
/* ops.pop and ops.cooc are separated by kafka on purpose: dump must still nest them. */
static const struct recd_conf_unit pop_unit = { "ops.pop", "Popularity.", pop_decls,
                                                RECD_ARRAY_SIZE(pop_decls),
                                                sizeof(struct pop_conf) };
static const struct recd_conf_unit cooc_unit = { "ops.cooc", "Co-occurrence.", cooc_decls,
                                                 RECD_ARRAY_SIZE(cooc_decls),
                                                 sizeof(struct cooc_conf) };

static const struct recd_conf_unit *const units[] = { &core_unit, &pop_unit, &kafka_unit,
                                                      &cooc_unit };
#define N_UNITS RECD_ARRAY_SIZE(units)

/* ---- helpers ---------------------------------------------------------------------------- */

static struct recd_conf *load_ok(const char *text)
{
    struct recd_conf *c = NULL;
    char err[512] = "";
    int rc = recd_conf_load_string(text, "t.conf", units, N_UNITS, &c, err, sizeof err);

    if (rc != RECD_OK) {
        print_error("unexpected error: %s\n", err);
    }
    assert_int_equal(rc, RECD_OK);
    assert_non_null(c);
    return c;
}

static void expect_err(const char *text, const char *msg)
{
    struct recd_conf *c = (struct recd_conf *)1;
    char err[512] = "";
    int rc = recd_conf_load_string(text, "t.conf", units, N_UNITS, &c, err, sizeof err);

    assert_int_equal(rc, RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err, msg);
}

__attribute__((noinline)) static char *mem_dump(const struct recd_conf *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    recd_conf_dump(c, f);
    fclose(f);
    return buf;
}

static const struct core_conf *core(const struct recd_conf *c)
{
    const struct core_conf *p = recd_conf_unit_data(c, "core");
    assert_non_null(p);
    return p;
}

static const struct kafka_conf *kafka(const struct recd_conf *c)
{
    const struct kafka_conf *p = recd_conf_unit_data(c, "kafka");
    assert_non_null(p);
    return p;
}

static const struct pop_conf *pop(const struct recd_conf *c)
{
    const struct pop_conf *p = recd_conf_unit_data(c, "ops.pop");
    assert_non_null(p);
    return p;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    struct recd_conf *c = NULL;
    char err[256] = "";
    const struct core_conf *co;
    const struct kafka_conf *k;

    assert_int_equal(recd_conf_defaults(units, N_UNITS, &c, err, sizeof err), RECD_OK);
    co = core(c);
    assert_string_equal(co->log_level, "info");
    assert_int_equal(co->workers, 4);
    assert_true(co->big == INT64_C(5000000000));
    assert_true(co->ratio == 0.5);
    assert_int_equal(co->fast, 0);
    assert_non_null(co->token);
    assert_string_equal(co->token, "");
    assert_string_equal(co->name, "recd");
    k = kafka(c);
    assert_int_equal(k->topics.n, 1);
    assert_string_equal(k->topics.v[0], "events");
    assert_int_equal(k->modes.n, 0);
    assert_int_equal(k->properties.n, 1);
    assert_string_equal(recd_kvlist_get(&k->properties, "client.id"), "recd");
    assert_int_equal(k->properties.line[0], 0);
    assert_null(recd_kvlist_get(&k->properties, "client_id"));
    assert_int_equal(pop(c)->window, 10);
    assert_true(pop(c)->decay == 1.0);
    assert_int_equal(((const struct cooc_conf *)recd_conf_unit_data(c, "ops.cooc"))->k, 20);
    assert_null(recd_conf_unit_data(c, "ops"));
    assert_null(recd_conf_unit_data(c, "nope"));
    assert_int_equal(recd_conf_unit_present(c, "core"), 0);
    assert_null(recd_conf_path(c));
    recd_conf_destroy(c);

    /* An empty file is the defaults. */
    c = load_ok("# nothing\n");
    assert_int_equal(core(c)->workers, 4);
    assert_string_equal(recd_conf_path(c), "t.conf");
    recd_conf_destroy(c);
}

static void test_good_file(void **state)
{
    struct recd_conf *c = NULL;
    char err[512] = "";
    const struct core_conf *co;
    const struct kafka_conf *k;

    assert_int_equal(recd_conf_load(CONF_DIR "/good.conf", units, N_UNITS, &c, err, sizeof err),
                     RECD_OK);
    assert_string_equal(recd_conf_path(c), CONF_DIR "/good.conf");
    co = core(c);
    assert_string_equal(co->log_level, "debug");
    assert_int_equal(co->workers, 8);
    assert_true(co->big == -INT64_C(6000000000));
    assert_true(co->ratio == 1.0);
    assert_int_equal(co->fast, 1);
    assert_string_equal(co->token, "s3cr3t-token");
    assert_string_equal(co->name, "unit-test");
    k = kafka(c);
    assert_int_equal(k->topics.n, 2);
    assert_string_equal(k->topics.v[0], "events");
    assert_string_equal(k->topics.v[1], "items");
    assert_int_equal(k->modes.n, 2);
    assert_string_equal(k->modes.v[1], "b");
    /* The file's map replaces the default map. */
    assert_int_equal(k->properties.n, 3);
    assert_string_equal(k->properties.k[0], "security.protocol");
    assert_int_equal(k->properties.line[0], 16);
    assert_string_equal(recd_kvlist_get(&k->properties, "sasl.password"), "hunter2");
    assert_string_equal(recd_kvlist_get(&k->properties, "client.id"), "recd-test");
    assert_null(recd_kvlist_get(&k->properties, "nope"));
    assert_string_equal(k->brokers, "localhost:9092");
    assert_int_equal(pop(c)->window, 50);
    assert_true(pop(c)->decay == 0.25);
    assert_true(recd_conf_unit_present(c, "core"));
    assert_true(recd_conf_unit_present(c, "kafka"));
    assert_true(recd_conf_unit_present(c, "ops.pop"));
    assert_false(recd_conf_unit_present(c, "ops.cooc"));
    assert_false(recd_conf_unit_present(c, "ops"));
    recd_conf_destroy(c);
}

static void test_include(void **state)
{
    struct recd_conf *c = NULL;
    char err[512] = "";

    /* @include paths are used as written (absolute here). */
    c = load_ok("core = {\n    workers = 3;\n};\n@include \"" CONF_DIR "/include_part.conf\"\n");
    assert_int_equal(core(c)->workers, 3);
    assert_int_equal(kafka(c)->topics.n, 1);
    assert_string_equal(kafka(c)->topics.v[0], "included");
    recd_conf_destroy(c);

    /* Errors inside an included file name that file. */
    assert_int_equal(recd_conf_load_string("core = { workers = 2; };\n@include \"" CONF_DIR
                                           "/include_bad_part.conf\"\n",
                                           "t.conf", units, N_UNITS, &c, err, sizeof err),
                     RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err, CONF_DIR "/include_bad_part.conf:4: kafka.bogus: unknown key");
    /* The message names the include file and why it cannot be opened. */
    expect_err("core = { workers = 2; };\n@include \"/nonexistent/x.conf\"\n",
               "t.conf:2: cannot open include file /nonexistent/x.conf: No such file or directory");
}

/* Relative @include paths resolve against the including (main) file's directory, not the
 * working directory (under systemd that is /). */
static void test_include_relative(void **state)
{
    struct recd_conf *c = NULL;
    char err[512] = "";

    assert_int_equal(
        recd_conf_load(CONF_DIR "/incdir/main.conf", units, N_UNITS, &c, err, sizeof err), RECD_OK);
    assert_int_equal(core(c)->workers, 5);
    assert_int_equal(kafka(c)->topics.n, 1);
    assert_string_equal(kafka(c)->topics.v[0], "from-sub");
    recd_conf_destroy(c);
    assert_int_equal(
        recd_conf_load(CONF_DIR "/incdir/missing.conf", units, N_UNITS, &c, err, sizeof err),
        RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err,
                        CONF_DIR "/incdir/missing.conf:3: cannot open include file " CONF_DIR
                                 "/incdir/no-such-part.conf: No such file or directory");
    /* a relative @include inside an included file (libconfig would resolve it against the
     * working directory) is refused, naming the file and line */
    assert_int_equal(
        recd_conf_load(CONF_DIR "/incdir/nested.conf", units, N_UNITS, &c, err, sizeof err),
        RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err,
                        CONF_DIR "/incdir/sub/nest_part.conf:2: @include \"part.conf\" in an "
                                 "included file: use an absolute path (libconfig would resolve it "
                                 "against the working directory)");
    /* a wrapped integer inside an included file is found in that file */
    assert_int_equal(
        recd_conf_load(CONF_DIR "/incdir/wrapped.conf", units, N_UNITS, &c, err, sizeof err),
        RECD_ECONFIG);
    assert_string_equal(err,
                        CONF_DIR
                        "/incdir/wrapped_part.conf:2: core.big: 5000000000 needs "
                        "the L suffix (5000000000L): without it libconfig reads 705032704");
}

/* libconfig 1.5 wraps integer literals without the L suffix modulo 2^32; the loader compares
 * each integer with its literal and refuses a wrapped one. */
static void test_wrapped_integers(void **state)
{
    struct recd_conf *c;

    expect_err("core = { big = 4102444800000; };\n",
               "t.conf:1: core.big: 4102444800000 needs the L suffix (4102444800000L): without it "
               "libconfig reads 751032320");
    expect_err("core = {\n  big =\n    -4102444800000;\n};\n",
               "t.conf:2: core.big: -4102444800000 needs the L suffix (-4102444800000L): without "
               "it libconfig reads -751032320");
    expect_err("core = { big = 0x80000000; };\n",
               "t.conf:1: core.big: 0x80000000 needs the L suffix (0x80000000L): without it "
               "libconfig reads -2147483648");
    /* out of the decl's bounds: the bound message with the value as written */
    expect_err("core = { workers = 3000000000; };\n",
               "t.conf:1: core.workers: value 3000000000 out of range [1, 64]");
    expect_err("core = { workers = 4294967297; };\n",
               "t.conf:1: core.workers: value 4294967297 out of range [1, 64]");
    expect_err("core = { big = 99999999999999999999; };\n",
               "t.conf:1: core.big: 99999999999999999999 does not fit in a 64-bit integer");
    /* a double written as a wrapping integer */
    expect_err("core = { ratio = 4294967296; };\n",
               "t.conf:1: core.ratio: value 4294967296 out of range [0, 1]");
    expect_err("ops = { pop = { decay = 5000000000; }; };\n",
               "t.conf:1: ops.pop.decay: 5000000000 needs the L suffix (5000000000L): without it "
               "libconfig reads 705032704");
    /* same name elsewhere on the line; the L suffix; 32-bit extremes; names in comments */
    c = load_ok("core = { workers = 3; big = 5000000000L; }; # big = 7000000000\n"
                "ops = { pop = { window = 5; decay = 2147483647; }; cooc = { k = 9; }; };\n"
                "kafka = { topics = [ \"big = 9999999999\" ]; };\n");
    assert_true(core(c)->big == INT64_C(5000000000));
    assert_true(pop(c)->decay == 2147483647.0);
    recd_conf_destroy(c);
    /* wrapped into the bounds (4294967301 reads as 5): still found */
    expect_err("ops = { pop = { window = 5; }; cooc = { k = 4294967301; }; };\n",
               "t.conf:1: ops.cooc.k: value 4294967301 out of range [1, 100]");
    c = load_ok("core = { big = -2147483648; };\n");
    assert_true(core(c)->big == INT32_MIN);
    recd_conf_destroy(c);
}

/* Where a key was set, for checks across keys. */
static void test_where(void **state)
{
    struct recd_conf *c = load_ok("core = {\n  workers = 3;\n};\n");
    char buf[256], err[256];

    assert_string_equal(recd_conf_where(c, "core", "workers", buf, sizeof buf), "t.conf:2");
    assert_string_equal(recd_conf_where(c, "core", "big", buf, sizeof buf), "t.conf");
    assert_int_equal(recd_conf_line(c, "core", "workers"), 2);
    assert_int_equal(recd_conf_line(c, "core", "big"), 0);
    assert_int_equal(recd_conf_error(c, "core", "workers", err, sizeof err, "bad %d", 7),
                     RECD_ECONFIG);
    assert_string_equal(err, "t.conf:2: core.workers: bad 7");
    /* a field through the tables, only with the right type */
    assert_true(*(const int64_t *)recd_conf_field(c, "core", "workers", RECD_CT_INT) == 3);
    assert_true(*(const double *)recd_conf_field(c, "core", "ratio", RECD_CT_DOUBLE) == 0.5);
    assert_null(recd_conf_field(c, "core", "workers", RECD_CT_DOUBLE));
    assert_null(recd_conf_field(c, "core", "nope", RECD_CT_INT));
    assert_null(recd_conf_field(c, "nope", "workers", RECD_CT_INT));
    recd_conf_destroy(c);
}

static void test_unknown(void **state)
{
    expect_err("core = {\n  workers = 2;\n  bogus = 1;\n};\n", "t.conf:3: core.bogus: unknown key");
    expect_err("\n\nfrobnicate = { a = 1; };\n", "t.conf:3: frobnicate: unknown section");
    expect_err("frobnicate = 1;\n", "t.conf:1: frobnicate: unknown section");
    expect_err("ops = {\n  pop = { window = 5; };\n  nope = { };\n};\n",
               "t.conf:3: ops.nope: unknown section");
    expect_err("ops = { x = 1; };\n", "t.conf:1: ops.x: unknown section");
    expect_err("ops = { pop = { window = 5; k = 1; }; };\n", "t.conf:1: ops.pop.k: unknown key");
    /* A unit (or a parent of units) must be a group. */
    expect_err("\ncore = 1;\n", "t.conf:2: core: expected a group, got an integer");
    expect_err("ops = [ \"a\" ];\n", "t.conf:1: ops: expected a group, got an array");
    expect_err("ops = { pop = ( ); };\n", "t.conf:1: ops.pop: expected a group, got a list");
    /* A group named like a key of a nested unit is not a unit. */
    expect_err("pop = { window = 1; };\n", "t.conf:1: pop: unknown section");
}

static void test_range(void **state)
{
    struct recd_conf *c;

    expect_err("core = {\n  workers = 0;\n};\n",
               "t.conf:2: core.workers: value 0 out of range [1, 64]");
    expect_err("core = { workers = 65; };\n",
               "t.conf:1: core.workers: value 65 out of range [1, 64]");
    expect_err("core = { ratio = 1.5; };\n", "t.conf:1: core.ratio: value 1.5 out of range [0, 1]");
    expect_err("core = { ratio = -0.25; };\n",
               "t.conf:1: core.ratio: value -0.25 out of range [0, 1]");
    expect_err("core = { ratio = 1e999; };\n",
               "t.conf:1: core.ratio: value inf is not a finite number");
    expect_err("ops = { pop = { decay = -1e999; }; };\n",
               "t.conf:1: ops.pop.decay: value -inf is not a finite number");
    expect_err("core = { name = \"\"; };\n", "t.conf:1: core.name: length 0 out of range [1, 16]");
    expect_err("core = { name = \"12345678901234567\"; };\n",
               "t.conf:1: core.name: length 17 out of range [1, 16]");
    /* Bounds are inclusive; unbounded decls take anything. */
    c = load_ok("core = { workers = 64; ratio = 0; big = -9223372036854775808L; };\n"
                "ops = { pop = { decay = -1e300; }; };\n");
    assert_int_equal(core(c)->workers, 64);
    assert_true(core(c)->ratio == 0.0);
    assert_true(core(c)->big == INT64_MIN);
    assert_true(pop(c)->decay == -1e300);
    recd_conf_destroy(c);
}

static void test_wrong_type(void **state)
{
    struct recd_conf *c;

    expect_err("core = {\n\n\n  workers = \"4\";\n};\n",
               "t.conf:4: core.workers: expected an integer, got a string");
    expect_err("core = { workers = 4.0; };\n",
               "t.conf:1: core.workers: expected an integer, got a float");
    expect_err("core = { ratio = \"x\"; };\n",
               "t.conf:1: core.ratio: expected a number, got a string");
    expect_err("core = { fast = 1; };\n",
               "t.conf:1: core.fast: expected a boolean, got an integer");
    expect_err("core = { name = [ \"a\" ]; };\n",
               "t.conf:1: core.name: expected a string, got an array");
    expect_err("kafka = { topics = \"events\"; };\n",
               "t.conf:1: kafka.topics: expected a list of strings, got a string");
    expect_err("kafka = { topics = [ 1, 2 ]; };\n",
               "t.conf:1: kafka.topics[0]: expected a string, got an integer");
    expect_err("kafka = { topics = ( \"a\",\n \"b\",\n 3 ); };\n",
               "t.conf:3: kafka.topics[2]: expected a string, got an integer");
    expect_err("kafka = { properties = [ \"a\" ]; };\n",
               "t.conf:1: kafka.properties: expected a group of strings, got an array");
    /* 64-bit integers are accepted for INT, integers for DOUBLE. */
    c = load_ok("core = { big = 7L; ratio = 0; };\nops = { pop = { decay = 3; }; };\n");
    assert_true(core(c)->big == 7);
    assert_true(pop(c)->decay == 3.0);
    recd_conf_destroy(c);
}

static void test_choices(void **state)
{
    expect_err(
        "core = {\n  log_level = \"loud\";\n};\n",
        "t.conf:2: core.log_level: \"loud\" is not one of: err, warning, notice, info, debug");
    expect_err("kafka = { modes = [ \"a\", \"z\" ]; };\n",
               "t.conf:1: kafka.modes[1]: \"z\" is not one of: a, b, c");
}

static void test_strlist_bounds(void **state)
{
    struct recd_conf *c;

    expect_err("kafka = { topics = [ ]; };\n",
               "t.conf:1: kafka.topics: number of elements 0 out of range [1, 4]");
    expect_err("kafka = { topics = [ \"a\", \"b\", \"c\", \"d\", \"e\" ]; };\n",
               "t.conf:1: kafka.topics: number of elements 5 out of range [1, 4]");
    expect_err("kafka = { modes = ( \"a\", \"b\", \"c\" ); };\n",
               "t.conf:1: kafka.modes: number of elements 3 out of range [0, 2]");
    c = load_ok("kafka = { topics = [ \"a\", \"b\", \"c\", \"d\" ]; modes = (); };\n");
    assert_int_equal(kafka(c)->topics.n, 4);
    assert_int_equal(kafka(c)->modes.n, 0);
    recd_conf_destroy(c);
}

static void test_map(void **state)
{
    struct recd_conf *c;

    expect_err(
        "kafka = {\n  properties = {\n    client_id = \"x\";\n    linger_ms = 5;\n  };\n};\n",
        "t.conf:4: kafka.properties.linger_ms: expected a string, got an integer");
    c = load_ok("kafka = { properties = { }; };\n");
    assert_int_equal(kafka(c)->properties.n, 0);
    assert_null(recd_kvlist_get(&kafka(c)->properties, "client.id"));
    recd_conf_destroy(c);
}

static void test_check_callback(void **state)
{
    expect_err("core = { name = \"two words\"; };\n",
               "t.conf:1: core.name: must not contain spaces");
}

static void test_syntax(void **state)
{
    struct recd_conf *c = (struct recd_conf *)1;
    char err[512] = "";

    expect_err("core = {\n  workers = 4;\n  ratio = ;\n};\n", "t.conf:3: syntax error");
    expect_err("core = {\n  workers = 4;\n", "t.conf:3: syntax error");
    expect_err("core = {\n  workers = 4;\n  workers = 5;\n};\n",
               "t.conf:3: workers: duplicate setting name");
    expect_err("core = { workers = 4; fast = true; workers = 5; };\n",
               "t.conf:1: workers: duplicate setting name");
    assert_int_equal(recd_conf_load(CONF_DIR "/syntax.conf", units, N_UNITS, &c, err, sizeof err),
                     RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err, CONF_DIR "/syntax.conf:3: syntax error");
    assert_int_equal(
        recd_conf_load(CONF_DIR "/bad_range.conf", units, N_UNITS, &c, err, sizeof err),
        RECD_ECONFIG);
    assert_string_equal(err,
                        CONF_DIR "/bad_range.conf:5: core.workers: value 0 out of range [1, 64]");
    /* NULL name. */
    assert_int_equal(recd_conf_load_string("x = ;", NULL, units, N_UNITS, &c, err, sizeof err),
                     RECD_ECONFIG);
    assert_string_equal(err, "<string>:1: syntax error");
}

static void test_io_errors(void **state)
{
    struct recd_conf *c = (struct recd_conf *)1;
    char err[512] = "";

    assert_int_equal(recd_conf_load("/nonexistent/recd.conf", units, N_UNITS, &c, err, sizeof err),
                     RECD_EIO);
    assert_null(c);
    assert_string_equal(err, "/nonexistent/recd.conf: cannot read: No such file or directory");
    assert_int_equal(recd_conf_load(CONF_DIR, units, N_UNITS, &c, err, sizeof err), RECD_EIO);
    assert_string_equal(err, CONF_DIR ": cannot read: Is a directory");
    /* A NULL errstr is allowed. */
    assert_int_equal(recd_conf_load("/nonexistent/recd.conf", units, N_UNITS, &c, NULL, 0),
                     RECD_EIO);
    /* An empty name says so (it printed ": cannot read"). */
    assert_int_equal(recd_conf_load("", units, N_UNITS, &c, err, sizeof err), RECD_EIO);
    assert_string_equal(err, "an empty configuration file name");
    /* A file larger than RECD_CONF_MAX_BYTES is refused before parsing (libconfig's scanner
     * takes seconds per MiB of one string). */
    {
        char path[] = "/tmp/test_conf_big.XXXXXX", want[256];
        int fd = mkstemp(path);
        FILE *f;
        size_t i;

        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        fputs("core = { name = \"", f);
        for (i = 0; i < RECD_CONF_MAX_BYTES; i++) {
            fputc('x', f);
        }
        fputs("\"; };\n", f);
        fclose(f);
        assert_int_equal(recd_conf_load(path, units, N_UNITS, &c, err, sizeof err), RECD_ECONFIG);
        assert_null(c);
        snprintf(want, sizeof want, "%s: larger than %d bytes: not a configuration file", path,
                 RECD_CONF_MAX_BYTES);
        assert_string_equal(err, want);
        /* ... and so is a file it includes (libconfig reads those through stdio, quadratic
         * in a string's length) */
        {
            char main_path[64], msg[512];
            FILE *m;

            snprintf(main_path, sizeof main_path, "%s.main", path);
            m = fopen(main_path, "w");
            assert_non_null(m);
            fprintf(m, "core = { workers = 2; };\n@include \"%s\"\n", path);
            fclose(m);
            assert_int_equal(recd_conf_load(main_path, units, N_UNITS, &c, err, sizeof err),
                             RECD_ECONFIG);
            snprintf(msg, sizeof msg,
                     "%s:2: included file %s: larger than %d bytes: not a "
                     "configuration file",
                     main_path, path, RECD_CONF_MAX_BYTES);
            assert_string_equal(err, msg);
            unlink(main_path);
        }
        unlink(path);
    }
}

static void test_bad_tables(void **state)
{
    static const struct recd_conf_decl bad_def[] = {
        { "n", RECD_CT_INT, "0", 1, 10, 0, 0, "n", NULL, NULL },
    };
    static const struct recd_conf_decl bad_syntax[] = {
        { "s", RECD_CT_STRING, "unquoted", 1, 0, 0, 0, "s", NULL, NULL },
    };
    static const struct recd_conf_decl bad_off[] = {
        { "n", RECD_CT_INT, "1", 1, 0, 0, 4, "n", NULL, NULL },
    };
    static const struct recd_conf_unit u1 = { "x", "x", bad_def, 1, sizeof(int64_t) };
    static const struct recd_conf_unit u2 = { "y", "y", bad_syntax, 1, sizeof(char *) };
    static const struct recd_conf_unit u3 = { "z", "z", bad_off, 1, sizeof(int64_t) };
    static const struct recd_conf_unit u4 = { "a..b", "a", NULL, 0, 1 };
    const struct recd_conf_unit *l1[] = { &u1 }, *l2[] = { &u2 }, *l3[] = { &u3 }, *l4[] = { &u4 },
                                *l5[] = { &u1, &u1 };
    struct recd_conf *c = NULL;
    char err[256];

    assert_int_equal(recd_conf_defaults(l1, 1, &c, err, sizeof err), RECD_ECONFIG);
    assert_null(c);
    assert_string_equal(err, "x.n: invalid default: value 0 out of range [1, 10]");
    assert_int_equal(recd_conf_defaults(l2, 1, &c, err, sizeof err), RECD_ECONFIG);
    assert_string_equal(err, "y.s: invalid default: syntax error");
    assert_int_equal(recd_conf_defaults(l3, 1, &c, err, sizeof err), RECD_EINVAL);
    assert_string_equal(err, "z.n: field outside the unit struct");
    assert_int_equal(recd_conf_defaults(l4, 1, &c, err, sizeof err), RECD_EINVAL);
    assert_string_equal(err, "a..b: invalid unit name");
    assert_int_equal(recd_conf_defaults(l5, 2, &c, err, sizeof err), RECD_EINVAL);
    assert_string_equal(err, "x: registered twice");
    assert_null(c);
}

static void test_int_bounds_exact(void **state)
{
    /* 2^53 + 1 is not a double; the comparison with the bound must not round the value. */
    static const struct recd_conf_decl decls[] = {
        { "n", RECD_CT_INT, "0", -9007199254740992.0, 9007199254740992.0, 0, 0, "n", NULL, NULL },
    };
    static const struct recd_conf_unit u = { "x", "x", decls, 1, sizeof(int64_t) };
    const struct recd_conf_unit *l[] = { &u };
    struct recd_conf *c = NULL;
    char err[256] = "";

    assert_int_equal(recd_conf_load_string("x = { n = 9007199254740993L; };", "t.conf", l, 1, &c,
                                           err, sizeof err),
                     RECD_ECONFIG);
    assert_string_equal(err,
                        "t.conf:1: x.n: value 9007199254740993 out of range "
                        "[-9007199254740992, 9007199254740992]");
    assert_int_equal(recd_conf_load_string("x = { n = -9007199254740993L; };", "t.conf", l, 1, &c,
                                           err, sizeof err),
                     RECD_ECONFIG);
    assert_int_equal(recd_conf_load_string("x = { n = 9007199254740992L; };", "t.conf", l, 1, &c,
                                           err, sizeof err),
                     RECD_OK);
    assert_true(*(const int64_t *)recd_conf_unit_data(c, "x") == INT64_C(9007199254740992));
    recd_conf_destroy(c);
}

static void test_reload(void **state)
{
    struct recd_conf *a, *b;
    char err[256] = "";

    a = load_ok("core = { workers = 4; ratio = 0.5; log_level = \"info\"; };\n");
    /* Only reloadable keys differ. */
    b = load_ok("core = { workers = 4; ratio = 0.75; log_level = \"debug\"; fast = true;"
                " token = \"t\"; };\nkafka = { modes = [ \"a\" ]; };\n"
                "ops = { pop = { window = 99; decay = 0.5; }; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_OK);
    {
        /* what the reload line says changed */
        char ch[1024];

        recd_conf_describe_changes(a, b, ch, sizeof ch);
        print_message("changes: %s\n", ch);
        assert_non_null(strstr(ch, "core.ratio 0.5 -> 0.75"));
        assert_non_null(strstr(ch, "core.log_level \"info\" -> \"debug\""));
        assert_non_null(strstr(ch, "ops.pop.window "));
        assert_null(strstr(ch, "core.workers"));
        recd_conf_describe_changes(a, a, ch, sizeof ch);
        assert_string_equal(ch, "nothing");
    }
    recd_conf_destroy(b);
    /* Writing a default explicitly is no change. */
    b = load_ok("core = { workers = 4; };\nkafka = { topics = [ \"events\" ];"
                " properties = { client_id = \"recd\"; }; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_OK);
    recd_conf_destroy(b);
    /* A non-reloadable key changed. */
    b = load_ok("core = { workers = 5; ratio = 0.75; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_ECONFIG);
    assert_string_equal(err, "core.workers: cannot be changed by reload (restart required)");
    recd_conf_destroy(b);
    b = load_ok("kafka = { properties = { client_id = \"other\"; }; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_ECONFIG);
    assert_string_equal(err, "kafka.properties: cannot be changed by reload (restart required)");
    recd_conf_destroy(b);
    b = load_ok("kafka = { topics = [ \"events\", \"more\" ]; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_ECONFIG);
    assert_string_equal(err, "kafka.topics: cannot be changed by reload (restart required)");
    recd_conf_destroy(b);
    b = load_ok("ops = { cooc = { k = 21; }; };\n");
    assert_int_equal(recd_conf_check_reload(a, b, err, sizeof err), RECD_ECONFIG);
    assert_string_equal(err, "ops.cooc.k: cannot be changed by reload (restart required)");
    recd_conf_destroy(b);
    recd_conf_destroy(a);
}

static void assert_same(const struct recd_conf *a, const struct recd_conf *b, int with_secrets)
{
    const struct core_conf *ca = core(a), *cb = core(b);
    const struct kafka_conf *ka = kafka(a), *kb = kafka(b);
    size_t i;

    assert_string_equal(ca->log_level, cb->log_level);
    assert_true(ca->workers == cb->workers);
    assert_true(ca->big == cb->big);
    assert_true(ca->ratio == cb->ratio);
    assert_int_equal(ca->fast, cb->fast);
    if (with_secrets) {
        assert_string_equal(ca->token, cb->token);
    }
    assert_string_equal(ca->name, cb->name);
    assert_int_equal(ka->topics.n, kb->topics.n);
    for (i = 0; i < ka->topics.n; i++) {
        assert_string_equal(ka->topics.v[i], kb->topics.v[i]);
    }
    assert_int_equal(ka->modes.n, kb->modes.n);
    for (i = 0; i < ka->modes.n; i++) {
        assert_string_equal(ka->modes.v[i], kb->modes.v[i]);
    }
    assert_int_equal(ka->properties.n, kb->properties.n);
    for (i = 0; i < ka->properties.n; i++) {
        assert_string_equal(ka->properties.k[i], kb->properties.k[i]);
        if (with_secrets) {
            assert_string_equal(ka->properties.v[i], kb->properties.v[i]);
        }
    }
    assert_string_equal(ka->brokers, kb->brokers);
    assert_true(pop(a)->window == pop(b)->window);
    assert_true(pop(a)->decay == pop(b)->decay);
    assert_true(((const struct cooc_conf *)recd_conf_unit_data(a, "ops.cooc"))->k ==
                ((const struct cooc_conf *)recd_conf_unit_data(b, "ops.cooc"))->k);
}

static void test_dump_roundtrip(void **state)
{
    /* Tricky values: escapes, 64-bit integers, doubles that need 17 digits, -0.0. */
    static const char text[] =
        "core = { big = -9223372036854775808L; ratio = 0.1; name = \"q\\\"b\\\\s\\tx\\x01\"; };\n"
        "kafka = { topics = [ \"a \\\"b\\\"\", \"\\n\" ]; brokers = \"h\\x7f\";\n"
        "          properties = { security_protocol = \"ssl\"; queue_buffering_max_ms = \"5\"; }; "
        "};\n"
        "ops = { pop = { decay = 2.2250738585072014e-308; }; cooc = { k = 100; }; };\n";
    struct recd_conf *a, *b;
    char *dump, *dump2;

    /* name contains a tab, which the check accepts (only spaces are refused). */
    a = load_ok(text);
    dump = mem_dump(a);
    b = load_ok(dump);
    assert_same(a, b, 1);
    assert_true(core(b)->big == INT64_MIN);
    assert_string_equal(core(b)->name, "q\"b\\s\tx\x01");
    /* The dump of the reloaded config is identical. */
    dump2 = mem_dump(b);
    assert_string_equal(dump, dump2);
    /* Nested groups are emitted once, in order of first appearance. */
    assert_non_null(strstr(dump, "ops = {\n    pop = {\n"));
    assert_null(strstr(strstr(dump, "ops = {") + 1, "ops = {"));
    recd_conf_destroy(a);
    recd_conf_destroy(b);
    free(dump);
    free(dump2);

    /* -0.0 and integers outside 32 bits. */
    a = load_ok("core = { ratio = -0.0; big = 4294967296L; };\n");
    dump = mem_dump(a);
    assert_non_null(strstr(dump, "    ratio = -0.0;\n"));
    assert_non_null(strstr(dump, "    big = 4294967296L;\n"));
    assert_non_null(strstr(dump, "    workers = 4;\n"));
    /* An unset (empty) secret is not masked. */
    assert_non_null(strstr(dump, "    token = \"\";\n"));
    b = load_ok(dump);
    assert_same(a, b, 1);
    recd_conf_destroy(a);
    recd_conf_destroy(b);
    free(dump);
}

static void test_dump_masks_secrets(void **state)
{
    struct recd_conf *a = NULL, *b;
    char err[512] = "";
    char *dump;

    assert_int_equal(recd_conf_load(CONF_DIR "/good.conf", units, N_UNITS, &a, err, sizeof err),
                     RECD_OK);
    dump = mem_dump(a);
    assert_null(strstr(dump, "s3cr3t"));
    assert_null(strstr(dump, "hunter2"));
    assert_non_null(strstr(dump, "    token = \"********\";\n"));
    assert_non_null(strstr(dump, "sasl_password = \"********\";"));
    assert_non_null(strstr(dump, "security_protocol = \"ssl\";"));
    assert_non_null(strstr(dump, "client_id = \"recd-test\";"));
    assert_non_null(strstr(dump, "    log_level = \"debug\";\n"));
    /* The masked dump does not load as it is: the mask would become the password. */
    {
        char *p, want[256];
        int line = 1;

        b = (struct recd_conf *)1;
        assert_int_equal(recd_conf_load_string(dump, "t.conf", units, N_UNITS, &b, err, sizeof err),
                         RECD_ECONFIG);
        assert_null(b);
        for (p = dump; p < strstr(dump, "    token = "); p++) {
            line += *p == '\n';
        }
        snprintf(want, sizeof want,
                 "t.conf:%d: core.token: \"********\" is the mask "
                 "--dump-config prints, not the secret: write the real value",
                 line);
        assert_string_equal(err, want);
        expect_err("kafka = { properties = { ssl_key_password = \"********\"; }; };\n",
                   "t.conf:1: kafka.properties.ssl_key_password: \"********\" is the mask "
                   "--dump-config prints, not the secret: write the real value");
        /* with the secrets written in, everything else is the same */
        while ((p = strstr(dump, "\"********\"")) != NULL) {
            memcpy(p, "\"xxxxxxx\" ", 10);
        }
    }
    b = load_ok(dump);
    assert_same(a, b, 0);
    assert_string_equal(core(b)->token, "xxxxxxx");
    recd_conf_destroy(a);
    recd_conf_destroy(b);
    free(dump);
}

static void test_markdown(void **state)
{
    char *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0, i, j;
    FILE *f = open_memstream(&buf, &len);
    char cell[128];

    assert_non_null(f);
    recd_conf_write_markdown(units, N_UNITS, f);
    fclose(f);
    assert_true(strncmp(buf, "# recd configuration reference\n", 31) == 0);
    assert_non_null(strstr(buf, "recd --config-doc"));
    assert_non_null(strstr(buf, "| key | type | default | bounds | reload | description |"));
    for (i = 0; i < N_UNITS; i++) {
        snprintf(cell, sizeof cell, "\n## %s\n\n%s\n", units[i]->name, units[i]->desc);
        assert_non_null(strstr(buf, cell));
        for (j = 0; j < units[i]->n_decls; j++) {
            snprintf(cell, sizeof cell, "\n| `%s` | ", units[i]->decls[j].name);
            assert_non_null(strstr(buf, cell));
        }
    }
    assert_non_null(strstr(buf, "| `workers` | int | `4` | [1, 64] | no | Worker threads. |"));
    assert_non_null(
        strstr(buf, "| `ratio` | double | `0.5` | [0, 1] | yes | A fraction \\| with a pipe. |"));
    assert_non_null(strstr(buf, "one of: `err`, `warning`, `notice`, `info`, `debug`"));
    assert_non_null(
        strstr(buf, "| `topics` | string list | `[\"events\"]` | [1, 4] elements | no |"));
    /* Units in the given order. */
    assert_true(strstr(buf, "## ops.pop") < strstr(buf, "## kafka"));
    /* Deterministic. */
    f = open_memstream(&buf2, &len2);
    assert_non_null(f);
    recd_conf_write_markdown(units, N_UNITS, f);
    fclose(f);
    assert_string_equal(buf, buf2);
    free(buf);
    free(buf2);
}

static void test_list_helpers(void **state)
{
    struct recd_strlist l = { 0, NULL };
    struct recd_kvlist kv = { 0, NULL, NULL, NULL };

    recd_strlist_free(&l);
    recd_strlist_free(NULL);
    recd_kvlist_free(&kv);
    recd_kvlist_free(NULL);
    assert_null(recd_kvlist_get(&kv, "x"));
    assert_null(recd_kvlist_get(NULL, "x"));
    l.n = 1;
    l.v = malloc(sizeof *l.v);
    assert_non_null(l.v);
    l.v[0] = recd_strdup("x");
    recd_strlist_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    recd_conf_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_include),          cmocka_unit_test(test_include_relative),
        cmocka_unit_test(test_wrapped_integers), cmocka_unit_test(test_where),
        cmocka_unit_test(test_unknown),          cmocka_unit_test(test_range),
        cmocka_unit_test(test_wrong_type),       cmocka_unit_test(test_choices),
        cmocka_unit_test(test_strlist_bounds),   cmocka_unit_test(test_map),
        cmocka_unit_test(test_check_callback),   cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_io_errors),        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_int_bounds_exact), cmocka_unit_test(test_reload),
        cmocka_unit_test(test_dump_roundtrip),   cmocka_unit_test(test_dump_masks_secrets),
        cmocka_unit_test(test_markdown),         cmocka_unit_test(test_list_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
