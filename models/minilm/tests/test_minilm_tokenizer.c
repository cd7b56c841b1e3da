/*
 * test_minilm_tokenizer.c — the MiniLM WordPiece tokenizer: token ids identical to the
 * reference tokenizer for every fixture text (tests/fixtures/minilm, made by
 * scripts/minilm_fixture.py), plus behaviour on a small synthetic vocabulary and errors.
 * Needs the installed model's vocab.txt (scripts/install-model.sh); fails if it is missing.
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

static char tmpdir[256];

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    fclose(f);
}

/* ids of text with a tokenizer, as a space-separated string of token strings */
static void pieces(const recd_minilm_tokenizer *t, const char *text, char *out, size_t outlen)
{
    int32_t ids[64];
    size_t n = 0, i, pos = 0;
    char err[256];

    assert_int_equal(recd_minilm_tokenize(t, text, strlen(text), ids, 64, &n, err, sizeof(err)),
                     RECD_OK);
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        pos += (size_t)snprintf(out + pos, outlen - pos, "%s%s", i ? " " : "",
                                recd_minilm_token_str(t, ids[i]));
    }
}

static const char *SYN_VOCAB =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nhello\n!\na\n##b\n,\n\xe4\xb8\xad\n"
    "cafe\nx\n##x\ni\n##i\n\xe1\x84\x92\n##\xe1\x85\xa1\n##\xe1\x86\xab\n";

static void test_synthetic_vocab(void **state)
{
    recd_minilm_tokenizer *t = NULL;
    char path[512], err[256], out[1024], longw[300];
    (void)state;

    snprintf(path, sizeof(path), "%s/vocab.txt", tmpdir);
    write_file(path, SYN_VOCAB);
    assert_int_equal(recd_minilm_tokenizer_open(path, 16, &t, err, sizeof(err)), RECD_OK);
    assert_int_equal(recd_minilm_tokenizer_vocab_size(t), 22);
    assert_int_equal(recd_minilm_tokenizer_max_len(t), 16);
    assert_int_equal(recd_minilm_token_id(t, "##able", 6), 7);
    assert_int_equal(recd_minilm_token_id(t, "able", 4), -1);
    assert_string_equal(recd_minilm_token_str(t, 5), "un");
    assert_null(recd_minilm_token_str(t, 22));

    pieces(t, "unaffable!", out, sizeof(out));
    assert_string_equal(out, "[CLS] un ##aff ##able ! [SEP]");
    pieces(t, "  UNAFFABLE ,Hello  ", out, sizeof(out));        /* lowercase, whitespace */
    assert_string_equal(out, "[CLS] un ##aff ##able , hello [SEP]");
    pieces(t, "Caf\xc3\xa9 CAFE\xcc\x81", out, sizeof(out));      /* accents stripped (NFD) */
    assert_string_equal(out, "[CLS] cafe cafe [SEP]");
    pieces(t,
           "a\xff\xfe"
           "b",
           out, sizeof(out));                 /* invalid UTF-8 dropped */
    assert_string_equal(out, "[CLS] a ##b [SEP]");
    pieces(t, "zzz", out, sizeof(out));                           /* no piece matches */
    assert_string_equal(out, "[CLS] [UNK] [SEP]");
    pieces(t, "abz", out, sizeof(out));                           /* rest unmatchable */
    assert_string_equal(out, "[CLS] [UNK] [SEP]");
    pieces(t,
           "a\xe4\xb8\xad"
           "a",
           out, sizeof(out));             /* CJK split off */
    assert_string_equal(out, "[CLS] a \xe4\xb8\xad a [SEP]");
    pieces(t, "x[SEP]x [MASK]", out, sizeof(out));                /* raw special tokens */
    assert_string_equal(out, "[CLS] x [SEP] x [MASK] [SEP]");
    pieces(t, "[sep]", out, sizeof(out));                         /* only exact case */
    assert_string_equal(out, "[CLS] [UNK] [UNK] [UNK] [SEP]");
    pieces(t, "\xed\x95\x9c", out, sizeof(out));                  /* Hangul -> jamo */
    assert_string_equal(out, "[CLS] \xe1\x84\x92 ##\xe1\x85\xa1 ##\xe1\x86\xab [SEP]");
    pieces(t, "\xc4\xb0", out, sizeof(out));                      /* U+0130 -> i */
    assert_string_equal(out, "[CLS] i [SEP]");
    pieces(t,
           "a\tb\x01\xe2\x80\x8b"
           "b",
           out, sizeof(out));      /* controls / format dropped */
    assert_string_equal(out, "[CLS] a [UNK] [SEP]");
    pieces(t, "", out, sizeof(out));
    assert_string_equal(out, "[CLS] [SEP]");
    pieces(t, " \t\r\n\xc2\xa0\xe3\x80\x80", out, sizeof(out));
    assert_string_equal(out, "[CLS] [SEP]");
    /* 100 characters is a word, 101 is [UNK] */
    memset(longw, 'x', 100);
    longw[100] = '\0';
    {
        int32_t ids[16];
        size_t n;
        assert_int_equal(recd_minilm_tokenize(t, longw, 100, ids, 16, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 16);                                   /* truncated to max_len */
        assert_int_equal(ids[1], 15);
        assert_int_equal(ids[2], 16);
        assert_int_equal(ids[15], 3);
        longw[100] = 'x';
        longw[101] = '\0';
        assert_int_equal(recd_minilm_tokenize(t, longw, 101, ids, 16, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 3);
        assert_int_equal(ids[1], 1);
        /* capacity below max_len is an error, not an overflow */
        assert_int_equal(recd_minilm_tokenize(t, "a", 1, ids, 15, &n, err, sizeof(err)),
                         RECD_EINVAL);
        assert_int_equal(recd_minilm_tokenize(t, NULL, 3, ids, 16, &n, err, sizeof(err)),
                         RECD_EINVAL);
        assert_int_equal(recd_minilm_tokenize(t, NULL, 0, ids, 16, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 2);
    }
    recd_minilm_tokenizer_close(t);
}

static void test_open_errors(void **state)
{
    recd_minilm_tokenizer *t = NULL;
    char path[512], err[256];
    (void)state;

    snprintf(path, sizeof(path), "%s/no-such-vocab.txt", tmpdir);
    assert_int_equal(recd_minilm_tokenizer_open(path, 16, &t, err, sizeof(err)), RECD_ENOENT);
    assert_null(t);
    assert_non_null(strstr(err, "no-such-vocab.txt"));
    snprintf(path, sizeof(path), "%s/empty.txt", tmpdir);
    write_file(path, "");
    assert_int_equal(recd_minilm_tokenizer_open(path, 16, &t, err, sizeof(err)), RECD_EDECODE);
    snprintf(path, sizeof(path), "%s/nounk.txt", tmpdir);
    write_file(path, "[PAD]\n[CLS]\n[SEP]\na\nb\nc\n");
    assert_int_equal(recd_minilm_tokenizer_open(path, 16, &t, err, sizeof(err)), RECD_EDECODE);
    assert_non_null(strstr(err, "[UNK]"));
    assert_int_equal(recd_minilm_tokenizer_open(path, 1, &t, err, sizeof(err)), RECD_EINVAL);
    assert_int_equal(recd_minilm_tokenizer_open(NULL, 16, &t, err, sizeof(err)), RECD_EINVAL);
    recd_minilm_tokenizer_close(NULL);
}

/* Every fixture text: ids identical to the reference. */
static void test_fixture_ids(void **state)
{
    char dir[4096], path[4200], err[256];
    recd_minilm_tokenizer *t = NULL;
    mt_fixture *fx;
    int32_t *ids;
    size_t i, j, n, bad = 0;
    (void)state;

    mt_model_dir(dir, sizeof(dir));
    if (!mt_model_present(dir)) {
        fail_msg("model missing at %s: run scripts/install-model.sh", dir);
    }
    fx = mt_fixture_load();
    assert_non_null(fx);
    assert_true(fx->n >= 300);
    snprintf(path, sizeof(path), "%s/vocab.txt", dir);
    assert_int_equal(recd_minilm_tokenizer_open(path, fx->max_seq, &t, err, sizeof(err)), 0);
    ids = malloc(fx->max_seq * sizeof(*ids));
    assert_non_null(ids);
    for (i = 0; i < fx->n; i++) {
        const mt_text *tx = &fx->texts[i];
        int same;
        assert_int_equal(
            recd_minilm_tokenize(t, tx->text, tx->len, ids, fx->max_seq, &n, err, sizeof(err)),
            RECD_OK);
        same = n == tx->nids;
        for (j = 0; same && j < n; j++) {
            same = ids[j] == tx->ids[j];
        }
        if (!same) {
            bad++;
            if (bad <= 10) {
                fprintf(stderr, "MISMATCH text %zu (%s) \"%.60s\": got %zu ids, want %zu\n  got ",
                        i, tx->group, tx->text, n, tx->nids);
                for (j = 0; j < n && j < 24; j++) {
                    fprintf(stderr, " %d", ids[j]);
                }
                fprintf(stderr, "\n  want");
                for (j = 0; j < tx->nids && j < 24; j++) {
                    fprintf(stderr, " %d", tx->ids[j]);
                }
                fprintf(stderr, "\n");
            }
        }
    }
    fprintf(stderr, "minilm tokenizer: %zu fixture texts, %zu token-id mismatches\n", fx->n, bad);
    free(ids);
    recd_minilm_tokenizer_close(t);
    mt_fixture_free(fx);
    assert_int_equal(bad, 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/minilm-tok-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_vocab),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_fixture_ids),
    };
    return cmocka_run_group_tests_name("minilm_tokenizer", tests, setup, teardown);
}
