/*
 * fuzz_tokenizer.c — libFuzzer target for the WordPiece tokenizer of the MiniLM encoder
 * (models/minilm/minilm_tokenizer.c).
 *
 * The vocabulary is the installed model's vocab.txt: $RECD_MODEL_DIR, else
 * ${RECD_CACHE:-$HOME/.cache/recd}/models/all-MiniLM-L6-v2 (scripts/install-model.sh). Without
 * it the target exits 1 and says what to run.
 *
 * The input is one text of arbitrary bytes (not NUL-terminated, NULs included). It is tokenized
 * with max_len 256 (the model's), 8 and 2. Oracles, besides ASan/UBSan:
 *   - RECD_OK; 2 <= n <= max_len; ids[0] = [CLS], ids[n-1] = [SEP]; every id inside the
 *     vocabulary; the output buffer holds exactly max_len ids (ASan catches a write past it);
 *   - truncation is a prefix: the pieces with max_len 8 are the first pieces of max_len 256;
 *   - tokenizing is deterministic (a second call gives the same ids; texts up to 64 bytes);
 *   - recd_minilm_token_id of the input, when found, maps back through recd_minilm_token_str
 *     to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "minilm.h"
#include "recd.h"

#include "fuzz_common.h"

#define N_TOK 3
static const size_t max_lens[N_TOK] = { 256, 8, 2 };
static recd_minilm_tokenizer *tok[N_TOK];
static int32_t id_cls, id_sep;

/* At exit, so that LeakSanitizer's exit check sees only what the inputs leaked. */
static void cleanup(void)
{
    int i;

    for (i = 0; i < N_TOK; i++) {
        recd_minilm_tokenizer_close(tok[i]);
        tok[i] = NULL;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *d = getenv("RECD_MODEL_DIR"), *c = getenv("RECD_CACHE"), *h = getenv("HOME");
    char dir[4096], vocab[4200], err[512];
    struct stat sb;
    int i;

    (void)argc;
    (void)argv;
    atexit(cleanup);
    if (d != NULL && *d != '\0') {
        snprintf(dir, sizeof(dir), "%s", d);
    } else if (c != NULL && *c != '\0') {
        snprintf(dir, sizeof(dir), "%s/models/all-MiniLM-L6-v2", c);
    } else {
        snprintf(dir, sizeof(dir), "%s/.cache/recd/models/all-MiniLM-L6-v2", h ? h : ".");
    }
    snprintf(vocab, sizeof(vocab), "%s/vocab.txt", dir);
    if (stat(vocab, &sb) != 0) {
        fprintf(stderr,
                "\nfuzz_tokenizer: MODEL MISSING: no vocabulary at %s\n"
                "  run:  scripts/install-model.sh      (from the source tree; installs the\n"
                "        all-MiniLM-L6-v2 model into ${RECD_CACHE:-$HOME/.cache/recd})\n"
                "  or set RECD_MODEL_DIR to an installed model directory.\n\n",
                vocab);
        exit(1);
    }
    for (i = 0; i < N_TOK; i++) {
        if (recd_minilm_tokenizer_open(vocab, max_lens[i], &tok[i], err, sizeof(err)) != RECD_OK) {
            fprintf(stderr, "fuzz_tokenizer: cannot open the tokenizer on %s: %s\n", vocab, err);
            exit(1);
        }
    }
    id_cls = recd_minilm_token_id(tok[0], "[CLS]", 5);
    id_sep = recd_minilm_token_id(tok[0], "[SEP]", 5);
    if (id_cls < 0 || id_sep < 0) {
        fprintf(stderr, "fuzz_tokenizer: %s has no [CLS]/[SEP]\n", vocab);
        exit(1);
    }
    return 0;
}

/* Tokenize into a malloc'ed array of exactly max_len ids; returns it, count in *n. */
static int32_t *tokenize(int i, const char *text, size_t len, size_t *n)
{
    size_t cap = max_lens[i], k, vs = recd_minilm_tokenizer_vocab_size(tok[i]);
    int32_t *ids = malloc(cap * sizeof(*ids));
    char err[512];
    int rc;

    FUZZ_CHECK(ids != NULL, "out of memory");
    err[0] = '\0';
    *n = 0;
    rc = recd_minilm_tokenize(tok[i], text, len, ids, cap, n, err, sizeof(err));
    FUZZ_CHECK(rc == RECD_OK, "tokenize (max_len %zu) returned %d: %s", cap, rc, err);
    FUZZ_CHECK(*n >= 2 && *n <= cap, "tokenize (max_len %zu) gave %zu ids", cap, *n);
    FUZZ_CHECK(ids[0] == id_cls && ids[*n - 1] == id_sep,
               "tokenize (max_len %zu): not framed by [CLS] ... [SEP]", cap);
    for (k = 0; k < *n; k++) {
        FUZZ_CHECK(ids[k] >= 0 && (size_t)ids[k] < vs, "tokenize: id %d at %zu out of range",
                   (int)ids[k], k);
    }
    return ids;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly size bytes: ASan catches a read past the end of the text */
    char *text = malloc(size > 0 ? size : 1);
    int32_t *full, *other, *again;
    size_t nfull, nother, nagain, k;
    int32_t id;
    int i;

    FUZZ_CHECK(text != NULL, "out of memory");
    if (size > 0) {
        memcpy(text, data, size);
    }
    full = tokenize(0, size > 0 ? text : NULL, size, &nfull);
    if (size <= 64) {
        /* (only for short texts: a full tokenization is most of this target's time) */
        again = tokenize(0, size > 0 ? text : NULL, size, &nagain);
        FUZZ_CHECK(nagain == nfull && memcmp(full, again, nfull * sizeof(*full)) == 0,
                   "tokenize is not deterministic");
        free(again);
    }
    for (i = 1; i < N_TOK; i++) {
        other = tokenize(i, size > 0 ? text : NULL, size, &nother);
        /* content pieces: full[1..nfull-1), other[1..nother-1) */
        FUZZ_CHECK(nother - 2 == (nfull - 2 < max_lens[i] - 2 ? nfull - 2 : max_lens[i] - 2),
                   "max_len %zu kept %zu pieces, max_len 256 had %zu", max_lens[i], nother - 2,
                   nfull - 2);
        for (k = 1; k + 1 < nother; k++) {
            FUZZ_CHECK(other[k] == full[k], "max_len %zu: piece %zu is %d, max_len 256 has %d",
                       max_lens[i], k, (int)other[k], (int)full[k]);
        }
        free(other);
    }
    free(full);

    id = recd_minilm_token_id(tok[0], size > 0 ? text : NULL, size);
    if (id >= 0) {
        const char *s = recd_minilm_token_str(tok[0], id);

        FUZZ_CHECK(s != NULL && strlen(s) == size && memcmp(s, text, size) == 0,
                   "token_str(token_id(x)) != x");
    }
    free(text);
    return 0;
}
