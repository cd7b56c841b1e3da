/*
 * minilm_model.c — all-MiniLM-L6-v2 forward pass on OpenBLAS.
 *
 * Loading: config.json, sentence_bert_config.json (max_seq_length), 1_Pooling/config.json and
 * the safetensors header are parsed with jansson; every tensor is checked for name, dtype F32,
 * shape and extent, then read into one 64-byte-aligned weight arena, linear weights transposed
 * to [in x out] (Q, K and V of a layer side by side as one [H x 3H] matrix).
 *
 * Forward pass for a batch of n sequences of lengths L_i (T = sum L_i tokens):
 *   the tokens of all sequences are packed into one [T x H] matrix X (no padding rows);
 *   per layer:  QKV = X Wqkv + b                     one SGEMM [T x 3H]
 *               per sequence, per head: S = Q K^T / sqrt(d) (SGEMM [L x L]), softmax rows,
 *               C = S V (SGEMM [L x d]) into the head's columns of CTX [T x H]; each sequence
 *               attends only to its own L_i tokens, which is exactly the reference's padding
 *               mask (masked keys get weight exp(-inf) = 0) without computing padded rows
 *               X = LN(X + CTX Wo + bo)              one SGEMM [T x H]
 *               X = LN(X + GELU(X W1 + b1) W2 + b2)  SGEMMs [T x I] and [T x H]
 *   (the linear weights are kept transposed, [in x out], see struct layer)
 *   mean pooling over each sequence's tokens (all of them are unmasked), L2 normalisation.
 * Scratch buffers are sized for the largest token count seen (grown by doubling, never per
 * token); the tokenizer writes into a preallocated [max_batch x max_seq_len] id buffer.
 */
#include "minilm.h"
#include "minilm_kernels.h"
#include "recd.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cblas.h pulls in <complex.h>, whose macro I (the imaginary unit) is not used here and would
 * clash with the intermediate size I below. */
#undef I

#define ALIGN_FLOATS  16   /* 64 bytes */
#define DEFAULT_BATCH 32

typedef struct layer {
    /* Weights are stored transposed ([in x out], so Y = X W is a plain NN product, which
     * OpenBLAS runs faster than X W^T for the few-token matrices of small batches). */
    const float *wqkv, *bqkv;   /* [H x 3H], [3H] : query, key, value columns side by side */
    const float *wo, *bo;       /* [H x H], [H] */
    const float *ln1_g, *ln1_b; /* attention output LayerNorm */
    const float *w1, *b1;       /* [H x I], [I] */
    const float *w2, *b2;       /* [I x H], [H] */
    const float *ln2_g, *ln2_b; /* output LayerNorm */
} layer;

struct recd_minilm {
    recd_minilm_tokenizer *tok;  /* owned */
    size_t H, I, nlayers, nheads, dhead, vocab, maxpos, ntypes;
    size_t max_seq, max_batch;
    float eps;
    float *arena;                /* owned: all weights */
    const float *wemb, *pemb, *temb, *eln_g, *eln_b;
    layer *layers;               /* owned: nlayers */
    /* scratch, owned */
    int32_t *ids;                /* [max_batch x max_seq] token ids of the current chunk */
    size_t *lens;                /* [max_batch] */
    const int32_t **idp;         /* [max_batch] row pointers into ids */
    size_t cap_tokens;           /* rows the float scratch below holds */
    float *x, *qkv, *ctx, *tmp, *hid;
    float *scores;               /* [max_seq x max_seq] */
    int small_h, small_i;        /* projections with K = H / K = I may take the small-matrix
                                  * path (proj()): set at open by probe_small() */
    int packed;                  /* 1: the texts of a call share forward passes (their tokens
                                  * packed into one matrix); 0: one text per forward pass. Set
                                  * at open by probe_packed() */
    recd_minilm_stats st;
};

static int seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int probe_small(size_t N, size_t K, const float *W);
static int probe_packed(const recd_minilm *m);
static int seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
{
    va_list ap;

    if (errstr != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errstr, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

static double clock_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t round_up(size_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static float *falloc(size_t n)
{
    size_t bytes = round_up(n ? n : 1) * sizeof(float);
    return aligned_alloc(64, bytes);
}

/* ---- configuration -------------------------------------------------------------------- */

static int json_size(json_t *o, const char *key, size_t lo, size_t hi, size_t *v, const char *file,
                     char *errstr, size_t errlen)
{
    json_t *j = json_object_get(o, key);

    if (!json_is_integer(j) || json_integer_value(j) < (json_int_t)lo ||
        json_integer_value(j) > (json_int_t)hi) {
        return seterr(errstr, errlen, RECD_ECONFIG,
                      "minilm: %s: \"%s\" missing or not an integer in [%zu, %zu]", file, key, lo,
                      hi);
    }
    *v = (size_t)json_integer_value(j);
    return RECD_OK;
}

static int read_config(recd_minilm *m, const char *dir, const recd_minilm_opts *opts, char *errstr,
                       size_t errlen)
{
    char path[4096];
    json_error_t jerr;
    json_t *cfg = NULL, *st = NULL, *pool = NULL, *j;
    size_t st_max = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/config.json", dir);
    errno = 0;
    cfg = json_load_file(path, 0, &jerr);
    if (cfg == NULL) {
        rc = seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EDECODE,
                    "minilm: cannot read %s: %s (run scripts/install-model.sh)", path, jerr.text);
        goto cleanup;
    }
    if ((rc = json_size(cfg, "hidden_size", 8, 4096, &m->H, path, errstr, errlen)) != RECD_OK ||
        (rc = json_size(cfg, "intermediate_size", 8, 16384, &m->I, path, errstr, errlen)) !=
            RECD_OK ||
        (rc = json_size(cfg, "num_hidden_layers", 1, 64, &m->nlayers, path, errstr, errlen)) !=
            RECD_OK ||
        (rc = json_size(cfg, "num_attention_heads", 1, 256, &m->nheads, path, errstr, errlen)) !=
            RECD_OK ||
        (rc = json_size(cfg, "vocab_size", 5, 1000000, &m->vocab, path, errstr, errlen)) !=
            RECD_OK ||
        (rc = json_size(cfg, "max_position_embeddings", 2, 8192, &m->maxpos, path, errstr,
                        errlen)) != RECD_OK ||
        (rc = json_size(cfg, "type_vocab_size", 1, 16, &m->ntypes, path, errstr, errlen)) !=
            RECD_OK) {
        goto cleanup;
    }
    if (m->H % m->nheads != 0) {
        rc = seterr(errstr, errlen, RECD_ECONFIG,
                    "minilm: %s: hidden_size %zu not a multiple of "
                    "num_attention_heads %zu",
                    path, m->H, m->nheads);
        goto cleanup;
    }
    m->dhead = m->H / m->nheads;
    j = json_object_get(cfg, "layer_norm_eps");
    m->eps = json_is_number(j) ? (float)json_number_value(j) : 1e-12f;
    j = json_object_get(cfg, "hidden_act");
    if (!json_is_string(j) || strcmp(json_string_value(j), "gelu") != 0) {
        rc = seterr(errstr, errlen, RECD_ECONFIG,
                    "minilm: %s: hidden_act must be \"gelu\" (exact erf GELU)", path);
        goto cleanup;
    }
    j = json_object_get(cfg, "position_embedding_type");
    if (j != NULL && (!json_is_string(j) || strcmp(json_string_value(j), "absolute") != 0)) {
        rc = seterr(errstr, errlen, RECD_ECONFIG,
                    "minilm: %s: only absolute position embeddings are supported", path);
        goto cleanup;
    }

    snprintf(path, sizeof(path), "%s/sentence_bert_config.json", dir);
    errno = 0;
    st = json_load_file(path, 0, &jerr);
    if (st == NULL) {
        rc = seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EDECODE,
                    "minilm: cannot read %s: %s (run scripts/install-model.sh)", path, jerr.text);
        goto cleanup;
    }
    if ((rc = json_size(st, "max_seq_length", 2, m->maxpos, &st_max, path, errstr, errlen)) !=
        RECD_OK) {
        goto cleanup;
    }
    m->max_seq = st_max;
    if (opts != NULL && opts->max_seq_len != 0) {
        if (opts->max_seq_len < 2 || opts->max_seq_len > st_max) {
            rc = seterr(errstr, errlen, RECD_EINVAL,
                        "minilm: max_seq_len %zu out of range "
                        "[2, %zu] (the model's max_seq_length)",
                        opts->max_seq_len, st_max);
            goto cleanup;
        }
        m->max_seq = opts->max_seq_len;
    }
    m->max_batch = (opts != NULL && opts->max_batch != 0) ? opts->max_batch : DEFAULT_BATCH;
    if (opts != NULL &&
        (opts->batching < RECD_MINILM_BATCH_AUTO || opts->batching > RECD_MINILM_BATCH_PER_TEXT)) {
        rc = seterr(errstr, errlen, RECD_EINVAL,
                    "minilm: batching %d is not one of auto (0), "
                    "packed (1), per_text (2)",
                    (int)opts->batching);
        goto cleanup;
    }
    if (m->max_batch > 4096) {
        rc = seterr(errstr, errlen, RECD_EINVAL, "minilm: max_batch %zu > 4096", m->max_batch);
        goto cleanup;
    }

    snprintf(path, sizeof(path), "%s/1_Pooling/config.json", dir);
    pool = json_load_file(path, 0, &jerr);
    if (pool != NULL) {
        j = json_object_get(pool, "pooling_mode_mean_tokens");
        if (!json_is_true(j) || json_is_true(json_object_get(pool, "pooling_mode_cls_token")) ||
            json_is_true(json_object_get(pool, "pooling_mode_max_tokens"))) {
            rc = seterr(errstr, errlen, RECD_ECONFIG, "minilm: %s: only mean pooling is supported",
                        path);
            goto cleanup;
        }
    }
    rc = RECD_OK;
cleanup:
    json_decref(cfg);
    json_decref(st);
    json_decref(pool);
    return rc;
}

/* ---- safetensors ---------------------------------------------------------------------- */

typedef struct st_file {
    FILE *f;
    json_t *hdr;
    uint64_t data_start, data_len;
    const char *path;
} st_file;

static int st_open(st_file *s, const char *path, char *errstr, size_t errlen)
{
    unsigned char b[8];
    uint64_t hlen = 0;
    long long fsize;
    char *h = NULL;
    json_error_t jerr;
    int i, rc;

    memset(s, 0, sizeof(*s));
    s->path = path;
    s->f = fopen(path, "rb");
    if (s->f == NULL) {
        return seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO,
                      "minilm: cannot open %s: %s (run scripts/install-model.sh)", path,
                      strerror(errno));
    }
    if (fseeko(s->f, 0, SEEK_END) != 0 || (fsize = (long long)ftello(s->f)) < 0 ||
        fseeko(s->f, 0, SEEK_SET) != 0) {
        rc = seterr(errstr, errlen, RECD_EIO, "minilm: cannot size %s", path);
        goto fail;
    }
    if (fsize < 8 || fread(b, 1, 8, s->f) != 8) {
        rc = seterr(errstr, errlen, RECD_EDECODE, "minilm: %s: truncated safetensors file", path);
        goto fail;
    }
    for (i = 7; i >= 0; i--) {
        hlen = (hlen << 8) | b[i];
    }
    if (hlen < 2 || hlen > (100u << 20) || hlen > (uint64_t)fsize - 8) {
        rc = seterr(errstr, errlen, RECD_EDECODE, "minilm: %s: bad safetensors header length %llu",
                    path, (unsigned long long)hlen);
        goto fail;
    }
    h = malloc((size_t)hlen);
    if (h == NULL) {
        rc = seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory");
        goto fail;
    }
    if (fread(h, 1, (size_t)hlen, s->f) != hlen) {
        rc = seterr(errstr, errlen, RECD_EIO, "minilm: %s: short read", path);
        goto fail;
    }
    s->hdr = json_loadb(h, (size_t)hlen, 0, &jerr);
    if (!json_is_object(s->hdr)) {
        rc = seterr(errstr, errlen, RECD_EDECODE,
                    "minilm: %s: safetensors header is not a JSON "
                    "object (%s)",
                    path, jerr.text);
        goto fail;
    }
    free(h);
    s->data_start = 8 + hlen;
    s->data_len = (uint64_t)fsize - s->data_start;
    return RECD_OK;
fail:
    free(h);
    json_decref(s->hdr);
    if (s->f != NULL) {
        fclose(s->f);
    }
    memset(s, 0, sizeof(*s));
    return rc;
}

static void st_close(st_file *s)
{
    json_decref(s->hdr);
    if (s->f != NULL) {
        fclose(s->f);
    }
    memset(s, 0, sizeof(*s));
}

/* Read tensor `name` of shape [d0] or [d0 x d1] (d1 == 0 for 1-D) into dst. */
static int st_read(st_file *s, const char *name, size_t d0, size_t d1, float *dst, char *errstr,
                   size_t errlen)
{
    json_t *t = json_object_get(s->hdr, name), *shape, *offs;
    size_t ndim = d1 ? 2 : 1, count = d1 ? d0 * d1 : d0;
    json_int_t b, e;
    size_t i;

    if (!json_is_object(t)) {
        return seterr(errstr, errlen, RECD_EDECODE, "minilm: %s: tensor %s missing", s->path, name);
    }
    if (!json_is_string(json_object_get(t, "dtype")) ||
        strcmp(json_string_value(json_object_get(t, "dtype")), "F32") != 0) {
        return seterr(errstr, errlen, RECD_EDECODE,
                      "minilm: %s: tensor %s is not F32 "
                      "(convert the model to float32 safetensors)",
                      s->path, name);
    }
    shape = json_object_get(t, "shape");
    if (!json_is_array(shape) || json_array_size(shape) != ndim ||
        json_integer_value(json_array_get(shape, 0)) != (json_int_t)d0 ||
        (d1 && json_integer_value(json_array_get(shape, 1)) != (json_int_t)d1)) {
        return seterr(errstr, errlen, RECD_EDECODE,
                      "minilm: %s: tensor %s does not have shape [%zu%s%zu]", s->path, name, d0,
                      d1 ? ", " : "", d1 ? d1 : (size_t)0);
    }
    offs = json_object_get(t, "data_offsets");
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1))) {
        return seterr(errstr, errlen, RECD_EDECODE, "minilm: %s: tensor %s has no data_offsets",
                      s->path, name);
    }
    b = json_integer_value(json_array_get(offs, 0));
    e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b || (uint64_t)e > s->data_len || (uint64_t)(e - b) != count * sizeof(float)) {
        return seterr(errstr, errlen, RECD_EDECODE,
                      "minilm: %s: tensor %s data [%lld, %lld) is out of the file or of the "
                      "wrong size (file truncated?)",
                      s->path, name, (long long)b, (long long)e);
    }
    if (fseeko(s->f, (off_t)(s->data_start + (uint64_t)b), SEEK_SET) != 0 ||
        fread(dst, sizeof(float), count, s->f) != count) {
        return seterr(errstr, errlen, RECD_EIO, "minilm: %s: cannot read tensor %s", s->path, name);
    }
    for (i = 0; i < count; i++) {
        if (!isfinite(dst[i])) {
            return seterr(errstr, errlen, RECD_EDECODE,
                          "minilm: %s: tensor %s holds a non-finite value", s->path, name);
        }
    }
    return RECD_OK;
}

/* Read a PyTorch Linear weight [out x in] and store it transposed into dst[in x ldd] at
 * column offset col (dst already offset by the caller). tmp holds out*in floats. */
static int st_read_t(st_file *s, const char *name, size_t out, size_t in, float *dst, size_t ldd,
                     float *tmp, char *errstr, size_t errlen)
{
    size_t o, i;
    int rc = st_read(s, name, out, in, tmp, errstr, errlen);

    if (rc != RECD_OK) {
        return rc;
    }
    for (o = 0; o < out; o++) {
        for (i = 0; i < in; i++) {
            dst[i * ldd + o] = tmp[o * in + i];
        }
    }
    return RECD_OK;
}

/* ---- open / close --------------------------------------------------------------------- */

void recd_minilm_close(recd_minilm *m)
{
    if (m == NULL) {
        return;
    }
    recd_minilm_tokenizer_close(m->tok);
    free(m->arena);
    free(m->layers);
    free(m->ids);
    free(m->lens);
    free(m->idp);
    free(m->x);
    free(m->qkv);
    free(m->ctx);
    free(m->tmp);
    free(m->hid);
    free(m->scores);
    free(m);
}

int recd_minilm_open(const char *model_dir, recd_minilm **out, char *errstr, size_t errlen)
{
    return recd_minilm_open_opts(model_dir, NULL, out, errstr, errlen);
}

/* The weights being loaded: the safetensors file, the next free place of the arena, a
 * buffer for transposing, and where errors go. */
typedef struct wload {
    st_file sf;
    float *next;
    float *tmpw;
    char *errstr;
    size_t errlen;
} wload;

/* The next n floats of the arena (each tensor starts aligned). */
static float *wl_take(wload *w, size_t n)
{
    float *p = w->next;

    w->next += round_up(n);
    return p;
}

/* Tensor `name` of shape [d0] (d1 == 0) or [d0 x d1] into the next place; *dst on success. */
static int wl_read(wload *w, const char *name, size_t d0, size_t d1, const float **dst)
{
    float *p = wl_take(w, d1 ? d0 * d1 : d0);
    int rc = st_read(&w->sf, name, d0, d1, p, w->errstr, w->errlen);

    if (rc == RECD_OK) {
        *dst = p;
    }
    return rc;
}

/* Linear weight `name` [out x in] transposed into the next place; *dst on success. */
static int wl_read_t(wload *w, const char *name, size_t out, size_t in, const float **dst)
{
    float *p = wl_take(w, out * in);
    int rc = st_read_t(&w->sf, name, out, in, p, out, w->tmpw, w->errstr, w->errlen);

    if (rc == RECD_OK) {
        *dst = p;
    }
    return rc;
}

/* Floats of the weight arena: embeddings, then every layer (each tensor aligned). */
static size_t arena_floats(const recd_minilm *m)
{
    size_t H = m->H, I = m->I;
    size_t total = round_up(m->vocab * H) + round_up(m->maxpos * H) + round_up(m->ntypes * H) +
        2 * round_up(H);

    total += m->nlayers *
        (round_up(3 * H * H) + round_up(3 * H) + round_up(H * H) + round_up(H) + 4 * round_up(H) +
         round_up(I * H) + round_up(I) + round_up(H * I) + round_up(H));
    return total;
}

/* vocab.txt, which must have config.json's vocab_size tokens. */
static int open_tokenizer(recd_minilm *m, const char *model_dir, char *errstr, size_t errlen)
{
    char path[4096];
    int rc;

    snprintf(path, sizeof(path), "%s/vocab.txt", model_dir);
    if ((rc = recd_minilm_tokenizer_open(path, m->max_seq, &m->tok, errstr, errlen)) != RECD_OK) {
        return rc;
    }
    if (recd_minilm_tokenizer_vocab_size(m->tok) != m->vocab) {
        return seterr(errstr, errlen, RECD_ECONFIG,
                      "minilm: %s has %zu tokens but config.json "
                      "says vocab_size %zu",
                      path, recd_minilm_tokenizer_vocab_size(m->tok), m->vocab);
    }
    return RECD_OK;
}

/* The embedding tables and their LayerNorm. */
static int load_embeddings(recd_minilm *m, wload *w)
{
    size_t H = m->H;
    int rc;

    if ((rc = wl_read(w, "embeddings.word_embeddings.weight", m->vocab, H, &m->wemb)) ||
        (rc = wl_read(w, "embeddings.position_embeddings.weight", m->maxpos, H, &m->pemb)) ||
        (rc = wl_read(w, "embeddings.token_type_embeddings.weight", m->ntypes, H, &m->temb)) ||
        (rc = wl_read(w, "embeddings.LayerNorm.weight", H, 0, &m->eln_g)) ||
        (rc = wl_read(w, "embeddings.LayerNorm.bias", H, 0, &m->eln_b))) {
        return rc;
    }
    return RECD_OK;
}

/* Layer l's query, key and value projections, side by side in one [H x 3H] matrix. */
static int load_qkv(recd_minilm *m, wload *w, size_t l)
{
    static const char *const qkv[3] = { "query", "key", "value" };
    size_t H = m->H;
    float *wq = wl_take(w, 3 * H * H), *bq = wl_take(w, 3 * H);
    char name[256];
    int k, rc;

    for (k = 0; k < 3; k++) {
        snprintf(name, sizeof(name), "encoder.layer.%zu.attention.self.%s.weight", l, qkv[k]);
        if ((rc = st_read_t(&w->sf, name, H, H, wq + (size_t)k * H, 3 * H, w->tmpw, w->errstr,
                            w->errlen)) != RECD_OK) {
            return rc;
        }
        snprintf(name, sizeof(name), "encoder.layer.%zu.attention.self.%s.bias", l, qkv[k]);
        if ((rc = st_read(&w->sf, name, H, 0, bq + (size_t)k * H, w->errstr, w->errlen)) !=
            RECD_OK) {
            return rc;
        }
    }
    m->layers[l].wqkv = wq;
    m->layers[l].bqkv = bq;
    return RECD_OK;
}

/* Tensor "encoder.layer.<l>.<suffix>": a Linear weight [d0 x d1] transposed when transpose,
 * else as stored ([d0] when d1 == 0). */
static int load_layer_tensor(wload *w, size_t l, const char *suffix, int transpose, size_t d0,
                             size_t d1, const float **dst)
{
    char name[256];

    snprintf(name, sizeof(name), "encoder.layer.%zu.%s", l, suffix);
    return transpose ? wl_read_t(w, name, d0, d1, dst) : wl_read(w, name, d0, d1, dst);
}

/* Layer l: attention, its output projection and LayerNorm, the feed-forward block. */
static int load_layer(recd_minilm *m, wload *w, size_t l)
{
    layer *ly = &m->layers[l];
    size_t H = m->H, I = m->I;
    int rc;

    if ((rc = load_qkv(m, w, l)) ||
        (rc = load_layer_tensor(w, l, "attention.output.dense.weight", 1, H, H, &ly->wo)) ||
        (rc = load_layer_tensor(w, l, "attention.output.dense.bias", 0, H, 0, &ly->bo)) ||
        (rc = load_layer_tensor(w, l, "attention.output.LayerNorm.weight", 0, H, 0, &ly->ln1_g)) ||
        (rc = load_layer_tensor(w, l, "attention.output.LayerNorm.bias", 0, H, 0, &ly->ln1_b)) ||
        (rc = load_layer_tensor(w, l, "intermediate.dense.weight", 1, I, H, &ly->w1)) ||
        (rc = load_layer_tensor(w, l, "intermediate.dense.bias", 0, I, 0, &ly->b1)) ||
        (rc = load_layer_tensor(w, l, "output.dense.weight", 1, H, I, &ly->w2)) ||
        (rc = load_layer_tensor(w, l, "output.dense.bias", 0, H, 0, &ly->b2)) ||
        (rc = load_layer_tensor(w, l, "output.LayerNorm.weight", 0, H, 0, &ly->ln2_g)) ||
        (rc = load_layer_tensor(w, l, "output.LayerNorm.bias", 0, H, 0, &ly->ln2_b))) {
        return rc;
    }
    return RECD_OK;
}

/* Every weight from model.safetensors into one arena. */
static int load_weights(recd_minilm *m, const char *model_dir, char *errstr, size_t errlen)
{
    size_t total = arena_floats(m), H = m->H, I = m->I, l;
    char path[4096];
    wload w;
    int rc;

    memset(&w, 0, sizeof(w));
    w.errstr = errstr;
    w.errlen = errlen;
    m->arena = falloc(total);
    m->layers = calloc(m->nlayers, sizeof(*m->layers));
    w.tmpw = falloc(H * (I > 3 * H ? I : 3 * H));
    if (m->arena == NULL || m->layers == NULL || w.tmpw == NULL) {
        rc = seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory for %zu weights", total);
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/model.safetensors", model_dir);
    if ((rc = st_open(&w.sf, path, errstr, errlen)) != RECD_OK) {
        goto cleanup;
    }
    w.next = m->arena;
    if ((rc = load_embeddings(m, &w)) != RECD_OK) {
        goto cleanup;
    }
    for (l = 0; l < m->nlayers; l++) {
        if ((rc = load_layer(m, &w, l)) != RECD_OK) {
            goto cleanup;
        }
    }
    rc = RECD_OK;
cleanup:
    free(w.tmpw);
    st_close(&w.sf);
    return rc;
}

/* Scratch for a chunk of texts, the small-matrix probes and the batching mode. */
static int prepare_runtime(recd_minilm *m, const recd_minilm_opts *opts, char *errstr,
                           size_t errlen)
{
    m->ids = malloc(m->max_batch * m->max_seq * sizeof(*m->ids));
    m->lens = malloc(m->max_batch * sizeof(*m->lens));
    m->idp = malloc(m->max_batch * sizeof(*m->idp));
    m->scores = falloc(m->max_seq * m->max_seq);
    if (m->ids == NULL || m->lens == NULL || m->idp == NULL || m->scores == NULL) {
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory");
    }
    m->small_h = probe_small(3 * m->H, m->H, m->layers[0].wqkv);
    m->small_i = probe_small(m->H, m->I, m->layers[0].w2);
    if (m->small_h < 0 || m->small_i < 0) {
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory");
    }
    if (opts != NULL && opts->batching == RECD_MINILM_BATCH_PACKED) {
        m->packed = 1;
    } else if (opts != NULL && opts->batching == RECD_MINILM_BATCH_PER_TEXT) {
        m->packed = 0;
    } else if ((m->packed = probe_packed(m)) < 0) {
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory");
    }
    return RECD_OK;
}

int recd_minilm_open_opts(const char *model_dir, const recd_minilm_opts *opts, recd_minilm **out,
                          char *errstr, size_t errlen)
{
    recd_minilm *m = NULL;
    int rc;

    if (out == NULL || model_dir == NULL) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm: NULL argument");
    }
    *out = NULL;
    if (strlen(model_dir) > 3000) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm: model dir path too long");
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory");
    }
    if ((rc = read_config(m, model_dir, opts, errstr, errlen)) != RECD_OK ||
        (rc = open_tokenizer(m, model_dir, errstr, errlen)) != RECD_OK ||
        (rc = load_weights(m, model_dir, errstr, errlen)) != RECD_OK ||
        (rc = prepare_runtime(m, opts, errstr, errlen)) != RECD_OK) {
        goto cleanup;
    }
    *out = m;
    m = NULL;
    rc = RECD_OK;
cleanup:
    recd_minilm_close(m);
    return rc;
}

size_t recd_minilm_dim(const recd_minilm *m)
{
    return m ? m->H : 0;
}

size_t recd_minilm_max_seq_len(const recd_minilm *m)
{
    return m ? m->max_seq : 0;
}

const recd_minilm_tokenizer *recd_minilm_get_tokenizer(const recd_minilm *m)
{
    return m ? m->tok : NULL;
}

void recd_minilm_get_stats(const recd_minilm *m, recd_minilm_stats *st)
{
    if (m != NULL && st != NULL) {
        *st = m->st;
    }
}

void recd_minilm_reset_stats(recd_minilm *m)
{
    if (m != NULL) {
        memset(&m->st, 0, sizeof(m->st));
    }
}

/* ---- the BLAS in use --------------------------------------------------------------------- */

extern char *openblas_get_corename(void);

const char *recd_minilm_blas_core(void)
{
    return openblas_get_corename();
}

/* OpenBLAS picks its kernels from the CPU's model number; a release older than the CPU falls
 * back to its generic SSE3 kernels (Prescott: OpenBLAS 0.3.21 on a Xeon of family 6 model
 * 207), 3-4x slower here, although the CPU could run the AVX2 or AVX-512 ones. */
int recd_minilm_blas_advice(char *buf, size_t len)
{
    static const char *const weak[] = { "Prescott",  "Core2",  "Penryn",  "Dunnington",
                                        "Nehalem",   "Atom",   "Katmai",  "Coppermine",
                                        "Northwood", "Banias", "Opteron", "Barcelona",
                                        "Bobcat",    "Nano",   NULL };
    const char *core = openblas_get_corename(), *better = NULL;
    size_t i;

    if (core == NULL) {
        return 0;
    }
    for (i = 0; weak[i] != NULL && strcmp(core, weak[i]) != 0; i++)
        ;
    if (weak[i] == NULL) {
        return 0;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
        better = "SkylakeX";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        better = "Haswell";
    } else if (__builtin_cpu_supports("avx")) {
        better = "Sandybridge";
    }
#endif
    if (better == NULL) {
        return 0;
    }
    snprintf(buf, len,
             "OpenBLAS runs its %s kernels on a CPU that can run its %s ones (an "
             "OpenBLAS older than the CPU model); the MiniLM encoder is several times faster "
             "with OPENBLAS_CORETYPE=%s in the service's environment (docs/OPERATIONS.md)",
             core, better, better);
    return 1;
}

/* ---- forward -------------------------------------------------------------------------- */

static int ensure_scratch(recd_minilm *m, size_t T, char *errstr, size_t errlen)
{
    size_t cap;

    if (T <= m->cap_tokens) {
        return RECD_OK;
    }
    cap = m->cap_tokens ? m->cap_tokens : 64;
    while (cap < T) {
        cap *= 2;
    }
    free(m->x);
    free(m->qkv);
    free(m->ctx);
    free(m->tmp);
    free(m->hid);
    m->x = falloc(cap * m->H);
    m->qkv = falloc(cap * 3 * m->H);
    m->ctx = falloc(cap * m->H);
    m->tmp = falloc(cap * m->H);
    m->hid = falloc(cap * m->I);
    if (m->x == NULL || m->qkv == NULL || m->ctx == NULL || m->tmp == NULL || m->hid == NULL) {
        m->cap_tokens = 0;
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm: out of memory for %zu tokens", cap);
    }
    m->cap_tokens = cap;
    return RECD_OK;
}

/* C[M x N] = alpha A[M x K] op(B), row-major; op(B) = B^T with B stored [N x K] if bt */
static void gemm(int bt, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
                (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, 0.0f, C, (blasint)ldc);
}

/* ---- projections: the small-matrix path ----------------------------------------------------
 * OpenBLAS (0.3.21, AVX-512 core types) runs a product with M*N*K <= 10^6 through its
 * small-matrix kernel, which reads both operands in place. Above that bound the regular path
 * packs both operands into buffers on every call, and for a few token rows the packing of the
 * weights dominates: in a profile of batch-1 encoding on a Xeon (Sapphire Rapids, OpenBLAS
 * SkylakeX kernels) 61 % of the time was sgemm_itcopy (the copy of the weights, 42 MB per
 * forward pass) and 32 % the kernel. So a projection of at most SMALL_T_MAX token rows is
 * issued as blocks that each stay under the bound: row blocks of at most SMALL_ROWS rows,
 * column blocks of SMALL_NB columns of the weights, and for K > SMALL_KQ the K
 * dimension split exactly as OpenBLAS's level-3 driver splits it
 * (blocks of GEMM_Q = 448 on these cores; the last two halved), accumulated with beta = 1.
 * Every block is one cblas_sgemm call, and every output element is the same sequence of
 * fused multiply-adds as in the regular path, so an embedding stays bit-identical alone and in
 * any batch — which is not a property OpenBLAS documents: probe_small() checks it at open with
 * the model's own weights and uses the small path only for the K it verified
 * (test_minilm_encoder checks it again on the fixture). */
#define SMALL_MNK  1000000.0
#define SMALL_ROWS 32      /* rows per call */
#define SMALL_NB \
    64        /* columns per call (measured: 64 beats 32, 48, 96, 128, 192 at 12 and
                            * 40 rows; 32 x 64 x 448 < 10^6) */
#ifndef SMALL_T_MAX
#define SMALL_T_MAX \
    128   /* measured: above ~128 rows the regular path (packing amortised
                           * over the rows) is as fast or faster */
#endif
#define SMALL_KQ 448

/* the length of the next K block from k0 (OpenBLAS driver/level3 rule for GEMM_Q) */
static size_t kblock(size_t K, size_t k0)
{
    size_t l = K - k0;

    if (l >= 2 * SMALL_KQ) {
        return SMALL_KQ;
    }
    if (l > SMALL_KQ) {
        return (l / 2 + 15) / 16 * 16;
    }
    return l;
}

/* Y[T x N] = X[T x K] W, W stored [K x N]; small != 0: the small-matrix path for T <=
 * SMALL_T_MAX, in row blocks of at most SMALL_ROWS (column block outermost, so that the
 * block of weights stays in cache for all row blocks) */
static void proj(int small, size_t T, size_t N, size_t K, const float *X, const float *W, float *Y)
{
    size_t kq = K < SMALL_KQ ? K : SMALL_KQ, rb = T < SMALL_ROWS ? T : SMALL_ROWS;
    size_t nb = SMALL_NB, n0, t0, k0, kl, nn, tt;

    if (!small || T > SMALL_T_MAX || (double)rb * (double)nb * (double)kq > SMALL_MNK) {
        gemm(0, T, N, K, 1.0f, X, K, W, N, Y, N);
        return;
    }
    for (n0 = 0; n0 < N; n0 += nb) {
        nn = N - n0 < nb ? N - n0 : nb;
        for (t0 = 0; t0 < T; t0 += rb) {
            tt = T - t0 < rb ? T - t0 : rb;
            for (k0 = 0; k0 < K; k0 += kl) {
                kl = kblock(K, k0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)tt, (blasint)nn,
                            (blasint)kl, 1.0f, X + t0 * K + k0, (blasint)K, W + k0 * N + n0,
                            (blasint)N, k0 == 0 ? 0.0f : 1.0f, Y + t0 * N + n0, (blasint)N);
            }
        }
    }
}

/* x[0..n) = pseudo-random values in [-0.5, 0.5) from seed (an LCG): the probes' inputs (the
 * order of a product's operations does not depend on the values) */
static void probe_input(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

/* 1 if proj()'s small path gives bit-identical rows to the regular path for the weights W
 * [K x N] on this machine's OpenBLAS (pseudo-random inputs; the order of the operations does
 * not depend on the values), 0 if not; -1 out of memory. */
static int probe_small(size_t N, size_t K, const float *W)
{
    const size_t big = 2 * SMALL_ROWS + 8, rows[4] = { 1, 9, SMALL_ROWS, big };
    float *x = falloc(big * K), *ref = falloc(big * N), *y = falloc(big * N);
    size_t j;
    int ok = 1;

    if (x == NULL || ref == NULL || y == NULL) {
        ok = -1;
        goto cleanup;
    }
    probe_input(x, big * K, 12345u);
    proj(0, big, N, K, x, W, ref);
    for (j = 0; j < 4 && ok; j++) {
        proj(1, rows[j], N, K, x, W, y);
        ok = memcmp(y, ref, rows[j] * N * sizeof(float)) == 0;
    }
cleanup:
    free(x);
    free(ref);
    free(y);
    return ok;
}

/* 1 if a token row's projection does not depend on the rows around it in this machine's
 * OpenBLAS: for each projection of a layer (layer 0's weights; the shapes are those of every
 * layer), rows computed in calls of 1..17 rows and of the sizes around the kernels' tile and
 * blocking edges (and at a few row offsets) equal the same rows computed in one call of
 * PROBE_BIG rows, bit for bit, through the path forward() takes (proj() with the small flag
 * probe_small() set). 0 if any row differs; -1 out of memory.
 *
 * Why: packing the tokens of several texts into one matrix keeps an embedding independent of
 * its batch only if the BLAS computes each output row the same way whatever the number of rows
 * and the row's place among them. OpenBLAS does not promise that, and several of the kernels
 * Debian's DYNAMIC_ARCH build selects break it: with OpenBLAS 0.3.21's Haswell/Zen SGEMM the
 * rows of a last, partial block of 12 rows (the row-major M is the kernel's N dimension, unroll
 * 12) come out of edge kernels that differ in the last bits from the full-block kernel; with
 * the Prescott/Core2/Atom kernels (also the fallback for CPUs that 0.3.21 does not recognise,
 * e.g. a Xeon of model 207) the last row of an odd count differs. Where the probe fails,
 * encode_*() runs one text per forward pass, so a text's products always have the same shapes
 * and an embedding is identical alone and in any batch by construction, at the cost of the
 * batching speed-up (docs/ENCODER.md). */
#define PROBE_BIG 144   /* > SMALL_T_MAX: the reference takes the regular path */
static int probe_packed(const recd_minilm *m)
{
    static const size_t rows[] = { 1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11, 12, 13,
                                   14, 15, 16, 17, 23, 24, 25, 31,  32,  33,  47, 48, 49,
                                   63, 64, 65, 72, 95, 96, 97, 127, 128, 129, 143 };
    static const size_t offs[][2] = {
        { 1, 1 }, { 3, 7 }, { 13, 12 }, { 5, 40 }
    };  /* {offset, rows} */
    const layer *ly = &m->layers[0];
    const struct {
        size_t N, K;
        const float *W;
        int small;
    } sh[4] = { { 3 * m->H, m->H, ly->wqkv, m->small_h },
                { m->H, m->H, ly->wo, m->small_h },
                { m->I, m->H, ly->w1, m->small_h },
                { m->H, m->I, ly->w2, m->small_i } };
    const size_t maxn = m->I > 3 * m->H ? m->I : 3 * m->H, maxk = m->I > m->H ? m->I : m->H;
    float *x = falloc(PROBE_BIG * maxk), *ref = falloc(PROBE_BIG * maxn),
          *y = falloc(PROBE_BIG * maxn);
    size_t j, s;
    int ok = 1;

    if (x == NULL || ref == NULL || y == NULL) {
        ok = -1;
        goto cleanup;
    }
    probe_input(x, PROBE_BIG * maxk, 2463534242u);
    for (s = 0; s < 4 && ok; s++) {
        const size_t N = sh[s].N, K = sh[s].K;
        proj(sh[s].small, PROBE_BIG, N, K, x, sh[s].W, ref);
        for (j = 0; j < sizeof(rows) / sizeof(rows[0]) && ok; j++) {
            proj(sh[s].small, rows[j], N, K, x, sh[s].W, y);
            ok = memcmp(y, ref, rows[j] * N * sizeof(float)) == 0;
        }
        for (j = 0; j < sizeof(offs) / sizeof(offs[0]) && ok; j++) {
            proj(sh[s].small, offs[j][1], N, K, x + offs[j][0] * K, sh[s].W, y);
            ok = memcmp(y, ref + offs[j][0] * N, offs[j][1] * N * sizeof(float)) == 0;
        }
    }
cleanup:
    free(x);
    free(ref);
    free(y);
    return ok;
}

/* The packed token matrix has at least ROW_MIN rows (zero rows are added to a smaller batch).
 * OpenBLAS takes its small-matrix kernel, with another summation order, for products below
 * M*N*K = 10^6 — a text of a few tokens encoded alone — so without this a text's embedding
 * would differ in the last bits with the batch it is in. With 8 x 384 x 384 > 10^6 every
 * projection runs the same kernel path (its edge kernels keep the summation order) and an
 * embedding is bit-identical whether encoded alone or in any batch: recd's state must not
 * depend on micro-batch boundaries (tests/test_minilm_encoder.c checks it). Padding rows never
 * reach attention or pooling. (Where probe_small() verified the small path, it already sums in
 * the regular order; the padding matters for the K it did not verify.) */
#ifndef ROW_MIN
#define ROW_MIN 8
#endif

/* One forward pass over n <= max_batch sequences. */
static int forward(recd_minilm *m, const int32_t *const *ids, const size_t *lens, size_t n,
                   float *out, char *errstr, size_t errlen)
{
    const size_t H = m->H, I = m->I, H3 = 3 * m->H, dh = m->dhead;
    const float scale = 1.0f / sqrtf((float)m->dhead);
    size_t T = 0, Tp, s, t, l, h, c, off;
    double t0, t1;
    int rc;

    for (s = 0; s < n; s++) {
        if (lens[s] == 0 || lens[s] > m->max_seq) {
            return seterr(errstr, errlen, RECD_EINVAL,
                          "minilm: sequence %zu has %zu tokens "
                          "(1..%zu allowed)",
                          s, lens[s], m->max_seq);
        }
        for (t = 0; t < lens[s]; t++) {
            if (ids[s][t] < 0 || (size_t)ids[s][t] >= m->vocab) {
                return seterr(errstr, errlen, RECD_EINVAL, "minilm: token id %d out of range",
                              (int)ids[s][t]);
            }
        }
        T += lens[s];
    }
    if (n == 0) {
        return RECD_OK;
    }
    Tp = T < ROW_MIN ? ROW_MIN : T;
    if ((rc = ensure_scratch(m, Tp, errstr, errlen)) != RECD_OK) {
        return rc;
    }

    /* embeddings: word + position + token type 0, then LayerNorm; padding rows are zero */
    t0 = clock_s();
    off = 0;
    for (s = 0; s < n; s++) {
        for (t = 0; t < lens[s]; t++) {
            float *xr = m->tmp + (off + t) * H;
            const float *we = m->wemb + (size_t)ids[s][t] * H, *pe = m->pemb + t * H;
            for (c = 0; c < H; c++) {
                xr[c] = we[c] + pe[c];
            }
        }
        off += lens[s];
    }
    memset(m->tmp + T * H, 0, (Tp - T) * H * sizeof(float));     /* no-ops unless T < ROW_MIN */
    memset(m->ctx + T * H, 0, (Tp - T) * H * sizeof(float));  /* attention skips these rows */
    memset(m->x, 0, Tp * H * sizeof(float));
    minilm_bias_res_layernorm(m->x, m->temb, m->tmp, m->eln_g, m->eln_b, m->eps, Tp, H);
    t1 = clock_s();
    m->st.other_s += t1 - t0;

    for (l = 0; l < m->nlayers; l++) {
        const layer *ly = &m->layers[l];

        t0 = clock_s();
        proj(m->small_h, Tp, H3, H, m->x, ly->wqkv, m->qkv);
        t1 = clock_s();
        m->st.gemm_s += t1 - t0;
        minilm_bias(m->qkv, ly->bqkv, T, H3);
        m->st.other_s += clock_s() - t1;

        off = 0;
        for (s = 0; s < n; s++) {
            const size_t L = lens[s];
            for (h = 0; h < m->nheads; h++) {
                const float *q = m->qkv + off * H3 + h * dh;
                const float *k = q + H, *v = q + 2 * H;
                double a0 = clock_s(), a1, a2;
                gemm(1, L, L, dh, scale, q, H3, k, H3, m->scores, L);
                a1 = clock_s();
                minilm_softmax_rows(m->scores, L, L);
                a2 = clock_s();
                gemm(0, L, dh, L, 1.0f, m->scores, L, v, H3, m->ctx + off * H + h * dh, H);
                m->st.attn_s += (a1 - a0) + (clock_s() - a2);
                m->st.other_s += a2 - a1;
                m->st.attn_flops += 4.0 * (double)L * (double)L * (double)dh;
            }
            off += L;
        }

        t0 = clock_s();
        proj(m->small_h, Tp, H, H, m->ctx, ly->wo, m->tmp);
        t1 = clock_s();
        m->st.gemm_s += t1 - t0;
        minilm_bias_res_layernorm(m->tmp, ly->bo, m->x, ly->ln1_g, ly->ln1_b, m->eps, Tp, H);
        t0 = clock_s();
        m->st.other_s += t0 - t1;
        proj(m->small_h, Tp, I, H, m->tmp, ly->w1, m->hid);
        t1 = clock_s();
        m->st.gemm_s += t1 - t0;
        minilm_bias_gelu(m->hid, ly->b1, Tp, I);
        t0 = clock_s();
        m->st.other_s += t0 - t1;
        proj(m->small_i, Tp, H, I, m->hid, ly->w2, m->x);
        t1 = clock_s();
        m->st.gemm_s += t1 - t0;
        minilm_bias_res_layernorm(m->x, ly->b2, m->tmp, ly->ln2_g, ly->ln2_b, m->eps, Tp, H);
        m->st.other_s += clock_s() - t1;
        /* useful work only: padding rows are not counted */
        m->st.gemm_flops += 2.0 * (double)T * (double)H *
            (3.0 * (double)H + (double)H + 2.0 * (double)I);
    }

    /* mean pooling and L2 normalisation */
    t0 = clock_s();
    off = 0;
    for (s = 0; s < n; s++) {
        float *o = out + s * H;
        double norm = 0.0;
        float inv;
        for (c = 0; c < H; c++) {
            o[c] = 0.0f;
        }
        for (t = 0; t < lens[s]; t++) {
            const float *xr = m->x + (off + t) * H;
            for (c = 0; c < H; c++) {
                o[c] += xr[c];
            }
        }
        for (c = 0; c < H; c++) {
            o[c] /= (float)lens[s];
            norm += (double)o[c] * (double)o[c];
        }
        norm = sqrt(norm);
        inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (c = 0; c < H; c++) {
            o[c] *= inv;
        }
        off += lens[s];
    }
    m->st.other_s += clock_s() - t0;
    m->st.tokens += T;
    m->st.texts += n;
    m->st.forwards++;
    return RECD_OK;
}

/* the texts of the next forward pass: up to max_batch if batches are packed, else one */
static size_t chunk(const recd_minilm *m, size_t left)
{
    if (!m->packed) {
        return 1;
    }
    return left < m->max_batch ? left : m->max_batch;
}

int recd_minilm_packed(const recd_minilm *m)
{
    return m ? m->packed : 0;
}

int recd_minilm_encode_ids(recd_minilm *m, const int32_t *const *ids, const size_t *lens, size_t n,
                           float *out, char *errstr, size_t errlen)
{
    size_t done = 0;
    int rc;

    if (m == NULL || (n > 0 && (ids == NULL || lens == NULL || out == NULL))) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm: NULL argument");
    }
    while (done < n) {
        size_t k = chunk(m, n - done);
        if ((rc = forward(m, ids + done, lens + done, k, out + done * m->H, errstr, errlen)) !=
            RECD_OK) {
            return rc;
        }
        done += k;
    }
    return RECD_OK;
}

int recd_minilm_encode_batch(recd_minilm *m, const char *const *texts, size_t n, float *out,
                             char *errstr, size_t errlen)
{
    size_t done = 0, i;
    int rc;

    if (m == NULL || (n > 0 && (texts == NULL || out == NULL))) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm: NULL argument");
    }
    while (done < n) {
        size_t k = chunk(m, n - done);
        double t0 = clock_s();
        for (i = 0; i < k; i++) {
            const char *txt = texts[done + i] ? texts[done + i] : "";
            int32_t *row = m->ids + i * m->max_seq;
            if ((rc = recd_minilm_tokenize(m->tok, txt, strlen(txt), row, m->max_seq, &m->lens[i],
                                           errstr, errlen)) != RECD_OK) {
                return rc;
            }
            m->idp[i] = row;
        }
        m->st.tokenize_s += clock_s() - t0;
        if ((rc = forward(m, m->idp, m->lens, k, out + done * m->H, errstr, errlen)) != RECD_OK) {
            return rc;
        }
        done += k;
    }
    return RECD_OK;
}
