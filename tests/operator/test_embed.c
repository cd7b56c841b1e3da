/*
 * test_embed.c — the embed operator (operators/embed/embed.c) with the hash encoder, after
 * sessionize, on the in-process harness (harness.h), read back from the state it commits: an
 * item's text vector (title and category path) is stored L2-normalised with the dimension,
 * depends on the text alone, follows a retitled item, is not made for items known only from
 * clicks, and a state of another dimension is refused at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "harness.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"
#include "units.h"

#define DIM 32
#define EMBED(dim)                                                                   \
    "pipeline = { chain = [\"sessionize\", \"embed\"]; require_output = false; };\n" \
    "operators = { embed = { dim = " #dim "; }; };\n"

/* The item's stored vector into v (DIM floats): 1, or 0 when there is none. */
static int vec_of(struct world *w, const char *id, float *v)
{
    struct recd_buf key, val;
    int rc;

    recd_buf_init(&key);
    recd_buf_init(&val);
    assert_int_equal(recd_key_sub(&key, id, "vec"), RECD_OK);
    rc = recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val);
    assert_true(rc == RECD_OK || rc == RECD_ENOENT);
    if (rc == RECD_OK) {
        assert_int_equal(val.len, DIM * sizeof(float));
        memcpy(v, val.data, val.len);
    }
    recd_buf_free(&key);
    recd_buf_free(&val);
    return rc == RECD_OK;
}

static double dot(const float *a, const float *b)
{
    double s = 0;

    for (int i = 0; i < DIM; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

static void test_item_vectors(void **s)
{
    struct world *w = world_new(EMBED(32));
    float a[DIM], a2[DIM], near[DIM], far[DIM], z[DIM];
    struct recd_buf val;
    int32_t dim;

    item(w, "a", "red running shoe", "Shoes", 1);
    item(w, "near", "blue running shoe", "Shoes", 1);
    item(w, "far", "garden hose green", "Garden", 1);
    click(w, "u", "clicked-only", T0);
    run(w, 2);
    item(w, "a2", "red running shoe", "Shoes", 0);      /* same text, another batch and stock */
    run(w, 1);
    assert_true(vec_of(w, "a", a));
    assert_true(vec_of(w, "a2", a2));
    assert_true(vec_of(w, "near", near));
    assert_true(vec_of(w, "far", far));
    assert_false(vec_of(w, "clicked-only", z));
    assert_true(fabs(dot(a, a) - 1.0) < 1e-5);
    assert_true(fabs(dot(far, far) - 1.0) < 1e-5);
    assert_memory_equal(a, a2, sizeof(a));
    assert_true(dot(a, near) > dot(a, far) + 0.2);
    recd_buf_init(&val);
    assert_int_equal(recd_state_get(w->st, RECD_CF_MODEL, "emb.dim", 7, &val), RECD_OK);
    assert_int_equal(val.len, sizeof(dim));
    memcpy(&dim, val.data, sizeof(dim));
    assert_int_equal(dim, DIM);
    recd_buf_free(&val);
    /* retitled: the vector of the new text */
    item(w, "a", "garden hose green", "Garden", 1);
    run(w, 1);
    assert_true(vec_of(w, "a", a));
    assert_memory_equal(a, far, sizeof(a));
    world_free(w);
}

/* vectors of one dimension in the state, an encoder of another: the pipeline does not start */
static void test_dimension_change_refused(void **s)
{
    struct world *w = world_new(EMBED(32));
    struct recd_conf *conf;
    struct recd_pipeline *p = NULL;
    char text[512], err[512];

    item(w, "a", "red running shoe", "Shoes", 1);
    run(w, 1);
    snprintf(text, sizeof(text), "state = { dir = \"%s\"; };\n%s", w->dir, EMBED(64));
    assert_int_equal(recd_config_load_string(text, "<test>", &conf, err, sizeof(err)), RECD_OK);
    err[0] = '\0';
    assert_int_not_equal(recd_pipeline_new(conf, w->st, NULL, w->codec, &p, err, sizeof(err)),
                         RECD_OK);
    assert_null(p);
    assert_non_null(strstr(err, "32-dimensional item vectors"));
    recd_conf_destroy(conf);
    world_reopen(w, NULL);   /* the same dimension starts */
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_vectors),
        cmocka_unit_test(test_dimension_change_refused),
    };
    const char *only = getenv("RECD_TEST_FILTER");

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
