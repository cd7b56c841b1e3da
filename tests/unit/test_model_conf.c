/* test_model_conf.c — the model's parameters as keys of operators.sgd: the table
 * (models/sessrec/sessrec_params.h, the MF rows of operators/sgd/sgd.h) is the one place
 * their defaults live, the config loader and sessrec_params_default() agree bit for bit, the
 * learning mode is one enum, and the deprecated learn_blend / learn_order / tuning still work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "operator.h"
#include "recd.h"
#include "sessrec.h"
#include "sessrec_params.h"
#include "sgd.h"

static const struct recd_conf_unit *sgd_unit(void)
{
    const struct recd_operator_desc *d = recd_operator_find("sgd");

    assert_non_null(d);
    assert_non_null(d->conf);
    return d->conf;
}

/* Load `text` against the sgd unit alone; RECD_OK and the model parameters, or the loader's
 * (or sgd_model_params') error code and message. */
static int load(const char *text, struct sessrec_params *p, char *err, size_t errlen)
{
    const struct recd_conf_unit *units[1];
    struct recd_conf *c = NULL;
    int rc;

    units[0] = sgd_unit();
    rc = text != NULL ? recd_conf_load_string(text, "t.conf", units, 1, &c, err, errlen)
                      : recd_conf_defaults(units, 1, &c, err, errlen);
    if (rc == RECD_OK) {
        rc = sgd_model_params(recd_conf_unit_data(c, "operators.sgd"), p, err, errlen);
    }
    recd_conf_destroy(c);
    return rc;
}

static const struct recd_conf_decl *decl(const char *name)
{
    const struct recd_conf_unit *u = sgd_unit();

    for (size_t i = 0; i < u->n_decls; i++) {
        if (strcmp(u->decls[i].name, name) == 0) {
            return &u->decls[i];
        }
    }
    return NULL;
}

/* the daemon's defaults through the config loader are sessrec_params_default(), byte for byte
 * (learn_every 8 and the two-stage learning included: no second set of defaults) */
static void test_defaults_are_the_table(void **s)
{
    struct sessrec_params a, b;
    char err[256];

    (void)s;
    memset(&a, 0xa5, sizeof(a));
    assert_int_equal(load(NULL, &a, err, sizeof(err)), RECD_OK);
    sessrec_params_default(&b);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(b.learning, SESSREC_LEARN_BLEND_AND_ORDER);
    assert_int_equal(b.learn_every, 8);
    assert_int_equal(sessrec_params_check(&b, err, sizeof(err)), 0);
}

/* every row of the tables is a key with its default text, bounds, a one-line description and
 * a --params name */
static void test_every_parameter_is_a_key(void **s)
{
    struct sessrec_params p;
    const struct recd_conf_decl *d;

    (void)s;
    sessrec_params_default(&p);
#define KEY(key, ctype, text)           \
    d = decl(#key);                     \
    assert_non_null(d);                 \
    assert_int_equal(d->type, ctype);   \
    assert_string_equal(d->def, text);  \
    assert_int_equal(d->flags, 0);      \
    assert_null(strchr(d->desc, '\n')); \
    assert_true(strlen(d->desc) <= 200);
#define TU(name, field, def, lo, hi, desc)         \
    KEY(name, RECD_CT_INT, #def)                   \
    assert_true(d->min == (lo) && d->max == (hi)); \
    assert_int_equal(sessrec_params_set(&p, #name, #def), 0);
#define TF(name, field, def, lo, hi, desc)         \
    KEY(name, RECD_CT_DOUBLE, #def)                \
    assert_true(d->min == (lo) && d->max == (hi)); \
    assert_int_equal(sessrec_params_set(&p, #name, #def), 0);
#define TB(name, field, def, lo, hi, desc) \
    KEY(name, RECD_CT_BOOL, #def)          \
    assert_int_equal(sessrec_params_set(&p, #name, #def), 0);
#define TE(name, field, def, lo, hi, desc)   \
    KEY(name, RECD_CT_STRING, "\"" def "\"") \
    assert_int_equal(sessrec_params_set(&p, #name, def), 0);
#define TMU(name, field, def, lo, hi, desc) KEY(name, RECD_CT_INT, #def)
#define TMF(name, field, def, lo, hi, desc) KEY(name, RECD_CT_DOUBLE, #def)
    SESSREC_PARAM_TABLE(TU, TF, TB, TE)
    SGD_MF_PARAM_TABLE(TMU, TMF)
#undef KEY
#undef TU
#undef TF
#undef TB
#undef TE
    {
        struct sessrec_params q;

        sessrec_params_default(&q);
        assert_memory_equal(&p, &q, sizeof(p));   /* each default text sets its default */
    }
    assert_non_null(decl("mf"));
    assert_non_null(decl("weight_purchase"));
}

/* keys set the model's fields; bounds and the enum are the loader's errors (exit 78) */
static void test_keys(void **s)
{
    struct sessrec_params p;
    char err[256];

    (void)s;
    assert_int_equal(load("operators = { sgd = { learning = \"fixed\"; w_next = 0.3; "
                          "trans_norm = true; max_sessions = 1000; signals = 29; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_OK);
    assert_int_equal(p.learning, SESSREC_LEARN_FIXED);
    assert_true(p.w[SESSREC_F_NEXT] == 0.3f);
    assert_int_equal(p.trans_norm, 1);
    assert_int_equal(p.max_sessions, 1000);
    assert_int_equal(p.signals, 29);
    assert_int_equal(
        load("operators = { sgd = { learning = \"blend\"; }; };\n", &p, err, sizeof(err)), RECD_OK);
    assert_int_equal(p.learning, SESSREC_LEARN_BLEND);

    assert_int_equal(
        load("operators = {\n sgd = {\n  pair_cap = 70000;\n };\n};\n", &p, err, sizeof(err)),
        RECD_ECONFIG);
    assert_string_equal(err,
                        "t.conf:3: operators.sgd.pair_cap: value 70000 out of range "
                        "[0, 65535]");
    assert_int_equal(
        load("operators = { sgd = { learning = \"order\"; }; };\n", &p, err, sizeof(err)),
        RECD_ECONFIG);
    assert_string_equal(err,
                        "t.conf:1: operators.sgd.learning: \"order\" is not one of: fixed, "
                        "blend, blend_and_order");
    assert_int_equal(load("operators = { sgd = { w_knn = \"1\"; }; };\n", &p, err, sizeof(err)),
                     RECD_ECONFIG);
    assert_int_equal(load("operators = { sgd = { order_buckets = 9; }; };\n", &p, err, sizeof(err)),
                     RECD_ECONFIG);
}

/* the deprecated keys still work (the loader warns, naming the new key); a contradiction with
 * `learning` is an error naming both */
static void test_deprecated(void **s)
{
    struct sessrec_params p, d;
    char err[256];

    (void)s;
    sessrec_params_default(&d);
    assert_int_equal(
        load("operators = { sgd = { learn_blend = true; }; };\n", &p, err, sizeof(err)), RECD_OK);
    assert_int_equal(p.learning, SESSREC_LEARN_BLEND);
    assert_int_equal(load("operators = { sgd = { learn_blend = false; learn_order = false; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_OK);
    assert_int_equal(p.learning, SESSREC_LEARN_FIXED);
    /* the old defaults written out change nothing */
    assert_int_equal(load("operators = { sgd = { learn_blend = false; learn_order = true; "
                          "tuning = \"\"; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_OK);
    assert_memory_equal(&p, &d, sizeof(p));
    /* agreeing with learning is fine, contradicting it is not */
    assert_int_equal(load("operators = { sgd = { learn_blend = true; learning = \"blend\"; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_OK);
    assert_int_equal(load("operators = { sgd = { learn_blend = true; learning = \"fixed\"; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_ECONFIG);
    assert_string_equal(err,
                        "operators.sgd.learn_blend (deprecated) contradicts "
                        "operators.sgd.learning = \"fixed\": remove it");
    /* tuning: the old names (learn_blend as a number too) over the keys */
    assert_int_equal(load("operators = { sgd = { w_next = 0.5; postings_cap = 40; "
                          "tuning = \"signals=29,w_next=1.5,learn_blend=1\"; }; };\n",
                          &p, err, sizeof(err)),
                     RECD_OK);
    assert_int_equal(p.signals, 29);
    assert_true(p.w[SESSREC_F_NEXT] == 1.5f);
    assert_int_equal(p.postings_cap, 40);
    assert_int_equal(p.learning, SESSREC_LEARN_BLEND);
    assert_int_equal(
        load("operators = {\n sgd = {\n  tuning = \"frob=1\";\n };\n};\n", &p, err, sizeof(err)),
        RECD_ECONFIG);
    assert_string_equal(err, "t.conf:3: operators.sgd.tuning: bad parameter: frob=1");
}

/* the MF defaults of the offline evaluator are what the operator sets from its keys */
static void test_mf_defaults(void **s)
{
    struct mf_params m;

    (void)s;
    sgd_mf_params_default(&m);
    assert_int_equal(m.dim, 32);
    assert_true(m.lr == (float)0.2);
    assert_true(m.reg == (float)0.0001);
    assert_int_equal(m.negatives, 16);
    assert_int_equal(m.ctx, 5);
    assert_true(m.text_lr == (float)0.01);
    assert_true(m.neg_uniform == 0.0f);
    assert_string_equal(decl("mf_lr")->def, "0.2");
}

/* the experiment interface (offline evaluator's --params): the same names, learning by name,
 * the table's bounds */
static void test_params_interface(void **s)
{
    struct sessrec_params p;
    char err[128];

    (void)s;
    sessrec_params_default(&p);
    assert_int_equal(
        sessrec_params_parse(&p, "learning=blend,trans_norm=true,learn_set=0", err, sizeof(err)),
        0);
    assert_int_equal(p.learning, SESSREC_LEARN_BLEND);
    assert_int_equal(p.trans_norm, 1);
    assert_int_equal(p.learn_set, 0);
    assert_int_equal(sessrec_params_set(&p, "learning", "sometimes"), -1);
    assert_int_equal(sessrec_params_set(&p, "learn_blend", "2"), 0);
    assert_int_equal(p.learning, SESSREC_LEARN_BLEND_AND_ORDER);
    assert_string_equal(sessrec_learning_name(p.learning), "blend_and_order");
    assert_null(sessrec_learning_name((enum sessrec_learning)3));
    assert_int_equal(sessrec_params_check(&p, err, sizeof(err)), 0);
    assert_int_equal(sessrec_params_set(&p, "pair_cap", "70000"), 0);
    assert_int_equal(sessrec_params_check(&p, err, sizeof(err)), -1);
    assert_string_equal(err, "pair_cap=70000 out of range [0, 65535]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_table),
        cmocka_unit_test(test_every_parameter_is_a_key),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_deprecated),
        cmocka_unit_test(test_mf_defaults),
        cmocka_unit_test(test_params_interface),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
