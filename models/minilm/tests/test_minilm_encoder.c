/*
 * test_minilm_encoder.c — the MiniLM encoder against the reference: cosine >= 0.9999 to the
 * sentence-transformers embeddings for every fixture text (tests/fixtures/minilm), batch
 * invariance, and clear errors (no crash) for a missing or corrupt model.
 * Needs the installed model (scripts/install-model.sh); fails if it is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "minilm.h"
#include "minilm_test_common.h"
#include "recd.h"

#define MIN_COSINE 0.9999

static char model_dir[4096];
static char tmpdir[256];
static recd_minilm *model;     /* opened once in setup, owned by the group */

static void test_fixture_cosine(void **state)
{
    mt_fixture *fx = mt_fixture_load();
    float *out;
    const char **texts;
    char err[256];
    double minc = 2.0, sum = 0.0;
    size_t i, worst = 0, below = 0, dim, chunk = 32;
    (void)state;

    assert_non_null(fx);
    assert_true(fx->n >= 300);
    dim = recd_minilm_dim(model);
    assert_int_equal(dim, fx->dim);
    out = malloc(fx->n * dim * sizeof(float));
    texts = malloc(fx->n * sizeof(*texts));
    assert_non_null(out);
    assert_non_null(texts);
    for (i = 0; i < fx->n; i++) {
        texts[i] = fx->texts[i].text;
    }
    /* batches of 32 in fixture order: lengths from 2 to 256 tokens mixed in one pass */
    for (i = 0; i < fx->n; i += chunk) {
        size_t k = fx->n - i < chunk ? fx->n - i : chunk;
        assert_int_equal(
            recd_minilm_encode_batch(model, texts + i, k, out + i * dim, err, sizeof(err)),
            RECD_OK);
    }
    for (i = 0; i < fx->n; i++) {
        double c = mt_cosine(out + i * dim, fx->vecs + i * dim, dim);
        sum += c;
        if (c < minc) {
            minc = c;
            worst = i;
        }
        if (c < MIN_COSINE) {
            below++;
            fprintf(stderr, "LOW COSINE %.7f text %zu (%s) \"%.60s\"\n", c, i, fx->texts[i].group,
                    fx->texts[i].text);
        }
    }
    fprintf(stderr,
            "minilm encoder: %zu fixture texts, min cosine %.9f (1 - cos = %.3g, text "
            "%zu, %s), mean %.9f, %zu below %.4f\n",
            fx->n, minc, 1.0 - minc, worst, fx->texts[worst].group, sum / (double)fx->n, below,
            MIN_COSINE);
    free(out);
    free(texts);
    mt_fixture_free(fx);
    assert_int_equal(below, 0);
}

/* Fixture texts: batches of 32, batches of 7 and (every 4th text) alone give bit-identical
 * vectors, so recd's state cannot depend on micro-batch boundaries. */
/* The fixture's texts encoded in batches of 32, of 7 and (every 4th) alone by m: the number
 * of vectors that differ between the batchings. */
static size_t fixture_batch_diffs(recd_minilm *m)
{
    mt_fixture *fx = mt_fixture_load();
    const size_t dim = recd_minilm_dim(m);
    float *a, *b;
    const char **texts;
    char err[256];
    size_t i, k, diff = 0;

    assert_non_null(fx);
    a = malloc(fx->n * dim * sizeof(float));
    b = malloc(fx->n * dim * sizeof(float));
    texts = malloc(fx->n * sizeof(*texts));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(texts);
    for (i = 0; i < fx->n; i++) {
        texts[i] = fx->texts[i].text;
    }
    for (i = 0; i < fx->n; i += 32) {
        k = fx->n - i < 32 ? fx->n - i : 32;
        assert_int_equal(recd_minilm_encode_batch(m, texts + i, k, a + i * dim, err, sizeof(err)),
                         0);
    }
    for (i = 0; i < fx->n; i += 7) {
        k = fx->n - i < 7 ? fx->n - i : 7;
        assert_int_equal(recd_minilm_encode_batch(m, texts + i, k, b + i * dim, err, sizeof(err)),
                         0);
    }
    for (i = 0; i < fx->n; i++) {
        diff += memcmp(a + i * dim, b + i * dim, dim * sizeof(float)) != 0;
    }
    for (i = 0; i < fx->n; i += 4) {
        assert_int_equal(recd_minilm_encode_batch(m, texts + i, 1, b + i * dim, err, sizeof(err)),
                         0);
        diff += memcmp(a + i * dim, b + i * dim, dim * sizeof(float)) != 0;
    }
    free(a);
    free(b);
    free(texts);
    mt_fixture_free(fx);
    return diff;
}

static void test_fixture_batch_invariance(void **state)
{
    size_t diff = fixture_batch_diffs(model);
    (void)state;

    fprintf(stderr, "minilm encoder: %zu vectors differ between batchings (%s)\n", diff,
            recd_minilm_packed(model) ? "packed batches" : "one text per forward pass");
    assert_int_equal(diff, 0);
}

/* The open-time check against the fixture, on whatever OpenBLAS kernels this run uses: one text
 * per forward pass is batch-invariant by construction; if the check chose packed batches,
 * forcing them must be invariant too (else the check passed a kernel it should not have). On a
 * kernel the check refused, forced packing is reported (it differs on every kernel the check
 * refuses today: Haswell, Zen, Prescott). */
static void test_batching_modes(void **state)
{
    recd_minilm_opts o = { 0, 0, RECD_MINILM_BATCH_PER_TEXT };
    recd_minilm *m = NULL;
    char err[256];
    size_t diff;
    (void)state;

    assert_int_equal(recd_minilm_open_opts(model_dir, &o, &m, err, sizeof(err)), 0);
    assert_int_equal(recd_minilm_packed(m), 0);
    assert_int_equal(fixture_batch_diffs(m), 0);
    recd_minilm_close(m);
    m = NULL;
    o.batching = RECD_MINILM_BATCH_PACKED;
    assert_int_equal(recd_minilm_open_opts(model_dir, &o, &m, err, sizeof(err)), 0);
    assert_int_equal(recd_minilm_packed(m), 1);
    diff = fixture_batch_diffs(m);
    fprintf(stderr,
            "minilm encoder: open-time check chose %s; forced packed batches: %zu "
            "fixture vectors differ between batchings\n",
            recd_minilm_packed(model) ? "packed" : "one text per pass", diff);
    if (recd_minilm_packed(model)) {
        assert_int_equal(diff, 0);
    }
    recd_minilm_close(m);
    m = NULL;
    o.batching = 3;
    assert_int_equal(recd_minilm_open_opts(model_dir, &o, &m, err, sizeof(err)), RECD_EINVAL);
    assert_null(m);
}

/* The same text gives the same vector alone or in a batch with others of other lengths. */
static void test_batch_invariance(void **state)
{
    static const char *const texts[] = {
        "gorilla glue",
        "",
        "Nitrile gloves, large, box of 100 (powder-free)",
        "\xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9",
        "a",
        "lab coat white cotton size M",
    };
    const size_t n = RECD_ARRAY_SIZE(texts), dim = recd_minilm_dim(model);
    float *batch = malloc(n * dim * sizeof(float)), *one = malloc(dim * sizeof(float));
    char err[256];
    size_t i, c;
    double maxd = 0.0, norm;
    (void)state;

    assert_non_null(batch);
    assert_non_null(one);
    assert_int_equal(recd_minilm_encode_batch(model, texts, n, batch, err, sizeof(err)), 0);
    for (i = 0; i < n; i++) {
        assert_int_equal(recd_minilm_encode_batch(model, &texts[i], 1, one, err, sizeof(err)), 0);
        norm = 0.0;
        for (c = 0; c < dim; c++) {
            double d = fabs((double)one[c] - batch[i * dim + c]);
            maxd = d > maxd ? d : maxd;
            norm += (double)one[c] * one[c];
        }
        assert_true(fabs(sqrt(norm) - 1.0) < 1e-5);
    }
    fprintf(stderr, "minilm encoder: batch vs single max abs difference %.3g\n", maxd);
    /* bit-identical: an embedding must not depend on the batch it was computed in */
    assert_true(maxd == 0.0);
    free(batch);
    free(one);
}

/* recd_minilm_blas_advice: a generic kernel on a CPU with AVX2 gets the advice (naming both
 * kernels), a kernel that fits the CPU does not. Which branch runs depends on the kernel of the
 * run: scripts/test.sh's kernels tier runs both (Prescott, and SkylakeX/Haswell/...). */
static void test_blas_advice(void **state)
{
    const char *core = recd_minilm_blas_core();
    char buf[400] = "";
    int r = recd_minilm_blas_advice(buf, sizeof(buf));
    (void)state;

    assert_non_null(core);
    fprintf(stderr, "minilm encoder: OpenBLAS core %s, advice: %s\n", core, r ? buf : "none");
    if (strcmp(core, "Prescott") == 0 && __builtin_cpu_supports("avx2")) {
        assert_int_equal(r, 1);
        assert_non_null(strstr(buf, "Prescott"));
        assert_non_null(strstr(buf, "OPENBLAS_CORETYPE="));
    }
    if (strcmp(core, "SkylakeX") == 0 || strcmp(core, "Cooperlake") == 0 ||
        strcmp(core, "Haswell") == 0 || strcmp(core, "Zen") == 0 ||
        strcmp(core, "Sandybridge") == 0) {
        assert_int_equal(r, 0);
    }
}

/* encode_ids == encode_batch on the same tokens; bad ids are errors. */
static void test_encode_ids(void **state)
{
    const recd_minilm_tokenizer *tok = recd_minilm_get_tokenizer(model);
    const size_t dim = recd_minilm_dim(model), ms = recd_minilm_max_seq_len(model);
    const char *text = "digital caliper 6 inch";
    int32_t *ids = malloc(ms * sizeof(int32_t));
    const int32_t *idp[1];
    size_t n, c;
    float *a = malloc(dim * sizeof(float)), *b = malloc(dim * sizeof(float));
    char err[256];
    int32_t bad[3] = { 101, 999999, 102 };
    size_t badn = 3, zero = 0;
    (void)state;

    assert_int_equal(ms, 256);
    assert_int_equal(recd_minilm_tokenize(tok, text, strlen(text), ids, ms, &n, err, sizeof(err)),
                     0);
    idp[0] = ids;
    assert_int_equal(recd_minilm_encode_ids(model, idp, &n, 1, a, err, sizeof(err)), 0);
    assert_int_equal(recd_minilm_encode_batch(model, &text, 1, b, err, sizeof(err)), 0);
    for (c = 0; c < dim; c++) {
        assert_true(fabsf(a[c] - b[c]) < 1e-6f);
    }
    idp[0] = bad;
    assert_int_equal(recd_minilm_encode_ids(model, idp, &badn, 1, a, err, sizeof(err)),
                     RECD_EINVAL);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(recd_minilm_encode_ids(model, idp, &zero, 1, a, err, sizeof(err)),
                     RECD_EINVAL);
    assert_int_equal(recd_minilm_encode_batch(model, NULL, 0, NULL, err, sizeof(err)), 0);
    assert_int_equal(recd_minilm_encode_batch(NULL, &text, 1, a, err, sizeof(err)), RECD_EINVAL);
    free(ids);
    free(a);
    free(b);
}

/* A smaller max_seq_len truncates; a larger one than the model's is refused. */
static void test_opts(void **state)
{
    recd_minilm *m = NULL;
    recd_minilm_opts o = { 16, 4, RECD_MINILM_BATCH_AUTO };
    char err[256];
    const char *texts[5] = { "one", "two two", "three three three", "four", "five" };
    float out[5 * 384];
    (void)state;

    assert_int_equal(recd_minilm_open_opts(model_dir, &o, &m, err, sizeof(err)), 0);
    assert_int_equal(recd_minilm_max_seq_len(m), 16);
    assert_int_equal(recd_minilm_encode_batch(m, texts, 5, out, err, sizeof(err)),
                     0); /* 2 passes */
    recd_minilm_close(m);
    m = NULL;
    o.max_seq_len = 1000;
    assert_int_equal(recd_minilm_open_opts(model_dir, &o, &m, err, sizeof(err)), RECD_EINVAL);
    assert_null(m);
}

static void copy_file(const char *from, const char *to, long max_bytes)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    long done = 0;
    size_t k;

    assert_non_null(a);
    assert_non_null(b);
    while ((max_bytes < 0 || done < max_bytes) && (k = fread(buf, 1, sizeof(buf), a)) > 0) {
        if (max_bytes >= 0 && done + (long)k > max_bytes) {
            k = (size_t)(max_bytes - done);
        }
        assert_int_equal(fwrite(buf, 1, k, b), k);
        done += (long)k;
    }
    fclose(a);
    fclose(b);
}

static void make_model_copy(const char *dst, long st_bytes)
{
    static const char *const files[] = { "config.json", "sentence_bert_config.json", "vocab.txt" };
    char from[4200], to[4200];
    size_t i;

    mkdir(dst, 0755);
    for (i = 0; i < RECD_ARRAY_SIZE(files); i++) {
        snprintf(from, sizeof(from), "%s/%s", model_dir, files[i]);
        snprintf(to, sizeof(to), "%s/%s", dst, files[i]);
        copy_file(from, to, -1);
    }
    snprintf(from, sizeof(from), "%s/model.safetensors", model_dir);
    snprintf(to, sizeof(to), "%s/model.safetensors", dst);
    copy_file(from, to, st_bytes);
}

static void test_missing_and_corrupt_model(void **state)
{
    recd_minilm *m = NULL;
    char err[512], dir[512], path[600];
    FILE *f;
    (void)state;

    assert_int_equal(recd_minilm_open("/nonexistent/model/dir", &m, err, sizeof(err)), RECD_ENOENT);
    assert_null(m);
    assert_non_null(strstr(err, "install-model.sh"));
    fprintf(stderr, "missing: %s\n", err);

    snprintf(dir, sizeof(dir), "%s/truncated", tmpdir);          /* weights cut short */
    make_model_copy(dir, 1 << 20);
    assert_true(recd_minilm_open(dir, &m, err, sizeof(err)) < 0);
    assert_null(m);
    fprintf(stderr, "truncated: %s\n", err);

    snprintf(dir, sizeof(dir), "%s/tiny", tmpdir);               /* shorter than its header */
    make_model_copy(dir, 5);
    assert_int_equal(recd_minilm_open(dir, &m, err, sizeof(err)), RECD_EDECODE);
    fprintf(stderr, "tiny: %s\n", err);

    snprintf(dir, sizeof(dir), "%s/garbage", tmpdir);            /* header is not JSON */
    make_model_copy(dir, 0);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", 1, 24, f);
    fclose(f);
    assert_int_equal(recd_minilm_open(dir, &m, err, sizeof(err)), RECD_EDECODE);
    fprintf(stderr, "garbage: %s\n", err);

    snprintf(dir, sizeof(dir), "%s/badconfig", tmpdir);          /* config.json not JSON */
    make_model_copy(dir, 0);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"hidden_size\": ", f);
    fclose(f);
    assert_int_equal(recd_minilm_open(dir, &m, err, sizeof(err)), RECD_EDECODE);
    assert_null(m);
    fprintf(stderr, "badconfig: %s\n", err);

    snprintf(dir, sizeof(dir), "%s/novocab", tmpdir);            /* vocab.txt missing */
    make_model_copy(dir, 0);
    snprintf(path, sizeof(path), "%s/vocab.txt", dir);
    unlink(path);
    assert_int_equal(recd_minilm_open(dir, &m, err, sizeof(err)), RECD_ENOENT);
    fprintf(stderr, "novocab: %s\n", err);
    recd_minilm_close(NULL);
}

static int setup(void **state)
{
    char err[512];
    (void)state;

    mt_model_dir(model_dir, sizeof(model_dir));
    if (!mt_model_present(model_dir)) {
        return -1;    /* group setup failure = test failure, with the message above */
    }
    if (recd_minilm_open(model_dir, &model, err, sizeof(err)) != 0) {
        fprintf(stderr, "recd_minilm_open(%s): %s\n", model_dir, err);
        return -1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/minilm-enc-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    (void)state;

    recd_minilm_close(model);
    model = NULL;
    if (tmpdir[0] == '\0') {
        return 0;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_cosine),
        cmocka_unit_test(test_batch_invariance),
        cmocka_unit_test(test_fixture_batch_invariance),
        cmocka_unit_test(test_batching_modes),
        cmocka_unit_test(test_blas_advice),
        cmocka_unit_test(test_encode_ids),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_missing_and_corrupt_model),
    };
    return cmocka_run_group_tests_name("minilm_encoder", tests, setup, teardown);
}
