/*
 * minilm_tokenizer.c — the uncased BERT tokenizer of all-MiniLM-L6-v2, bit-exact with the
 * reference (HF tokenizers, as sentence-transformers runs it):
 *
 *   1. special tokens [PAD] [UNK] [CLS] [SEP] [MASK] are matched in the raw text first;
 *   2. BertNormalizer on the rest: clean_text (drop U+0000, U+FFFD and control/format
 *      characters, every whitespace becomes ' '), CJK ideographs padded with spaces, NFD with
 *      canonical reordering, non-spacing marks (Mn) dropped, lowercase;
 *   3. BertPreTokenizer: split on whitespace, every punctuation character a word of its own;
 *   4. WordPiece: greedy longest match, "##" continuation, a word longer than 100 characters or
 *      with an unmatchable rest is one [UNK];
 *   5. truncation to max_len - 2 pieces, then [CLS] ... [SEP].
 *
 * The text streams through a small fixed-size state on the stack: no allocation, and the work
 * stops as soon as max_len - 2 pieces exist, so a megabyte title costs no more than its head.
 */
#include "minilm.h"
#include "minilm_unicode.h"
#include "recd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORD_CHARS 100          /* WordPiece max_input_chars_per_word */
#define MAX_CP_BYTES   4
#define RUN_MAX        32                  /* non-Mn combining marks reordered together */

struct recd_minilm_tokenizer {
    char *blob;          /* owned: every token string, NUL-terminated, in id order */
    uint32_t *off;       /* owned: off[id] = start of token id in blob (n entries) */
    uint32_t *klen;      /* owned: key length (token without a "##" prefix) */
    uint8_t *kcont;      /* owned: 1 if the token is a "##" continuation */
    uint32_t *slots;     /* owned: open-addressing hash table of id + 1 (0 = empty) */
    size_t nslots;       /* power of two */
    size_t n;            /* vocabulary size */
    size_t max_len;      /* including [CLS] and [SEP] */
    int32_t id_pad, id_unk, id_cls, id_sep, id_mask;
};

static int seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
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

/* ---- vocabulary ----------------------------------------------------------------------- */

static uint64_t key_hash(int cont, const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(cont ? 0x9e3779b97f4a7c15ull : 0);
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int32_t vocab_find(const recd_minilm_tokenizer *t, int cont, const char *p, size_t len)
{
    size_t i = (size_t)key_hash(cont, p, len) & (t->nslots - 1);

    for (;;) {
        uint32_t s = t->slots[i];
        if (s == 0) {
            return -1;
        }
        s--;
        if (t->kcont[s] == cont && t->klen[s] == len &&
            memcmp(t->blob + t->off[s] + (cont ? 2 : 0), p, len) == 0) {
            return (int32_t)s;
        }
        i = (i + 1) & (t->nslots - 1);
    }
}

int32_t recd_minilm_token_id(const recd_minilm_tokenizer *t, const char *token, size_t len)
{
    if (t == NULL || (token == NULL && len > 0)) {
        return -1;
    }
    if (len > 2 && token[0] == '#' && token[1] == '#') {
        return vocab_find(t, 1, token + 2, len - 2);
    }
    return vocab_find(t, 0, token, len);
}

const char *recd_minilm_token_str(const recd_minilm_tokenizer *t, int32_t id)
{
    if (t == NULL || id < 0 || (size_t)id >= t->n) {
        return NULL;
    }
    return t->blob + t->off[id];
}

size_t recd_minilm_tokenizer_max_len(const recd_minilm_tokenizer *t)
{
    return t ? t->max_len : 0;
}

size_t recd_minilm_tokenizer_vocab_size(const recd_minilm_tokenizer *t)
{
    return t ? t->n : 0;
}

void recd_minilm_tokenizer_close(recd_minilm_tokenizer *t)
{
    if (t == NULL) {
        return;
    }
    free(t->blob);
    free(t->off);
    free(t->klen);
    free(t->kcont);
    free(t->slots);
    free(t);
}

int recd_minilm_tokenizer_open(const char *vocab_path, size_t max_len, recd_minilm_tokenizer **out,
                               char *errstr, size_t errlen)
{
    recd_minilm_tokenizer *t = NULL;
    FILE *f = NULL;
    long fsize;
    size_t i, nread, pos, cap_ids;
    int rc = RECD_OK;

    if (out == NULL || vocab_path == NULL) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm tokenizer: NULL argument");
    }
    *out = NULL;
    if (max_len < 2 || max_len > 4096) {
        return seterr(errstr, errlen, RECD_EINVAL,
                      "minilm tokenizer: max_len %zu out of range [2, 4096]", max_len);
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return seterr(errstr, errlen, RECD_ENOMEM, "minilm tokenizer: out of memory");
    }
    t->max_len = max_len;

    f = fopen(vocab_path, "rb");
    if (f == NULL) {
        rc = seterr(errstr, errlen, errno == ENOENT ? RECD_ENOENT : RECD_EIO,
                    "minilm tokenizer: cannot open vocabulary %s: %s", vocab_path, strerror(errno));
        goto cleanup;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (fsize = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = seterr(errstr, errlen, RECD_EIO, "minilm tokenizer: cannot size %s", vocab_path);
        goto cleanup;
    }
    if (fsize == 0 || fsize > (64l << 20)) {
        rc = seterr(errstr, errlen, RECD_EDECODE,
                    "minilm tokenizer: vocabulary %s has implausible size %ld", vocab_path, fsize);
        goto cleanup;
    }
    t->blob = malloc((size_t)fsize + 1);
    if (t->blob == NULL) {
        rc = seterr(errstr, errlen, RECD_ENOMEM, "minilm tokenizer: out of memory");
        goto cleanup;
    }
    nread = fread(t->blob, 1, (size_t)fsize, f);
    if (nread != (size_t)fsize) {
        rc = seterr(errstr, errlen, RECD_EIO, "minilm tokenizer: short read on %s", vocab_path);
        goto cleanup;
    }
    t->blob[nread] = '\n';
    /* count lines: a final line without '\n' still counts */
    cap_ids = 0;
    for (i = 0; i < nread; i++) {
        cap_ids += t->blob[i] == '\n';
    }
    if (nread > 0 && t->blob[nread - 1] != '\n') {
        cap_ids++;
    }
    t->off = malloc(cap_ids * sizeof(*t->off));
    t->klen = malloc(cap_ids * sizeof(*t->klen));
    t->kcont = malloc(cap_ids);
    if (t->off == NULL || t->klen == NULL || t->kcont == NULL) {
        rc = seterr(errstr, errlen, RECD_ENOMEM, "minilm tokenizer: out of memory");
        goto cleanup;
    }
    pos = 0;
    while (pos < nread && t->n < cap_ids) {
        size_t end = pos, len;
        while (t->blob[end] != '\n') {
            end++;
        }
        len = end;
        if (len > pos && t->blob[len - 1] == '\r') {   /* tolerate CRLF files */
            len--;
        }
        t->blob[len] = '\0';
        if (memchr(t->blob + pos, '\0', len - pos) != NULL) {
            rc = seterr(errstr, errlen, RECD_EDECODE,
                        "minilm tokenizer: %s line %zu contains a NUL byte", vocab_path, t->n + 1);
            goto cleanup;
        }
        t->off[t->n] = (uint32_t)pos;
        if (len - pos > 2 && t->blob[pos] == '#' && t->blob[pos + 1] == '#') {
            t->kcont[t->n] = 1;
            t->klen[t->n] = (uint32_t)(len - pos - 2);
        } else {
            t->kcont[t->n] = 0;
            t->klen[t->n] = (uint32_t)(len - pos);
        }
        t->n++;
        pos = end + 1;
    }
    if (t->n < 5 || t->n > (size_t)INT32_MAX / 2) {
        rc = seterr(errstr, errlen, RECD_EDECODE, "minilm tokenizer: vocabulary %s has %zu entries",
                    vocab_path, t->n);
        goto cleanup;
    }
    t->nslots = 1;
    while (t->nslots < t->n * 2) {
        t->nslots <<= 1;
    }
    t->slots = calloc(t->nslots, sizeof(*t->slots));
    if (t->slots == NULL) {
        rc = seterr(errstr, errlen, RECD_ENOMEM, "minilm tokenizer: out of memory");
        goto cleanup;
    }
    for (i = 0; i < t->n; i++) {
        const char *key = t->blob + t->off[i] + (t->kcont[i] ? 2 : 0);
        size_t h = (size_t)key_hash(t->kcont[i], key, t->klen[i]) & (t->nslots - 1);
        for (;;) {
            uint32_t s = t->slots[h];
            if (s == 0) {
                t->slots[h] = (uint32_t)i + 1;
                break;
            }
            s--;
            if (t->kcont[s] == t->kcont[i] && t->klen[s] == t->klen[i] &&
                memcmp(t->blob + t->off[s], t->blob + t->off[i],
                       t->klen[i] + (t->kcont[i] ? 2u : 0u)) == 0) {
                t->slots[h] = (uint32_t)i + 1;      /* duplicate: the later line wins */
                break;
            }
            h = (h + 1) & (t->nslots - 1);
        }
    }
    t->id_pad = vocab_find(t, 0, "[PAD]", 5);
    t->id_unk = vocab_find(t, 0, "[UNK]", 5);
    t->id_cls = vocab_find(t, 0, "[CLS]", 5);
    t->id_sep = vocab_find(t, 0, "[SEP]", 5);
    t->id_mask = vocab_find(t, 0, "[MASK]", 6);
    if (t->id_unk < 0 || t->id_cls < 0 || t->id_sep < 0) {
        rc = seterr(errstr, errlen, RECD_EDECODE,
                    "minilm tokenizer: vocabulary %s lacks [UNK], [CLS] or [SEP]", vocab_path);
        goto cleanup;
    }
    *out = t;
    t = NULL;
cleanup:
    if (f != NULL) {
        fclose(f);
    }
    recd_minilm_tokenizer_close(t);
    return rc;
}

/* ---- Unicode helpers ------------------------------------------------------------------ */

static const minilm_uc_seq *seq_find(const minilm_uc_seq *tab, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab[mid].cp < cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (lo < n && tab[lo].cp == cp) ? &tab[lo] : NULL;
}

static unsigned ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = minilm_uc_ccc_n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (minilm_uc_ccc_ranges[mid].hi < cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < minilm_uc_ccc_n && minilm_uc_ccc_ranges[lo].lo <= cp) {
        return minilm_uc_ccc_ranges[lo].ccc;
    }
    return 0;
}

/* The reference's CJK ideograph ranges (tokenizers BertNormalizer; note 0x2B920). */
static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
        (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
        (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Decode one UTF-8 sequence at s[0..len); returns its length (>= 1) and the code point in
 * *cp, or UINT32_MAX in *cp for an invalid byte (which is then skipped alone). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t c = s[0];
    size_t n, i;

    *cp = UINT32_MAX;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
    } else {
        return 1;
    }
    if (len < n) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (n == 4 && (c < 0x10000 || c > 0x10FFFF))) {
        return 1;
    }
    *cp = c;
    return n;
}

static size_t utf8_put(char *d, uint32_t c)
{
    if (c < 0x80) {
        d[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        d[0] = (char)(0xC0 | (c >> 6));
        d[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        d[0] = (char)(0xE0 | (c >> 12));
        d[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (c >> 18));
    d[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    d[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- the streaming tokenizer ---------------------------------------------------------- */

typedef struct tok_state {
    const recd_minilm_tokenizer *t;
    int32_t *ids;          /* caller's output */
    size_t n;              /* ids written so far (ids[0] is [CLS]) */
    size_t limit;          /* max ids before [SEP] = max_len - 1 */
    int full;              /* limit reached: stop */
    /* the current word, stored after a 2-byte gap (unused; keys are looked up without "##") */
    char word[MAX_WORD_CHARS * MAX_CP_BYTES + 8];
    uint16_t cstart[MAX_WORD_CHARS + 1];   /* byte offset of each character */
    size_t wchars;         /* characters in the word (may exceed MAX_WORD_CHARS) */
    size_t wbytes;
    /* pending run of non-Mn combining marks (canonical reordering) */
    uint32_t run[RUN_MAX];
    uint8_t runccc[RUN_MAX];
    size_t nrun;
} tok_state;

static void emit_id(tok_state *st, int32_t id)
{
    if (st->n < st->limit) {
        st->ids[st->n++] = id;
    }
    if (st->n >= st->limit) {
        st->full = 1;
    }
}

/* WordPiece on the finished word. */
static void end_word(tok_state *st)
{
    const recd_minilm_tokenizer *t = st->t;
    int32_t pieces[MAX_WORD_CHARS];
    size_t np = 0, start = 0, i;

    if (st->wchars == 0) {
        return;
    }
    if (st->wchars > MAX_WORD_CHARS) {
        emit_id(st, t->id_unk);
        goto done;
    }
    st->cstart[st->wchars] = (uint16_t)st->wbytes;
    while (start < st->wchars) {
        size_t end = st->wchars;
        int32_t id = -1;
        while (end > start) {
            id = vocab_find(t, start > 0, st->word + st->cstart[start],
                            (size_t)(st->cstart[end] - st->cstart[start]));
            if (id >= 0) {
                break;
            }
            end--;
        }
        if (id < 0) {
            emit_id(st, t->id_unk);
            goto done;
        }
        pieces[np++] = id;
        start = end;
    }
    for (i = 0; i < np && !st->full; i++) {
        emit_id(st, pieces[i]);
    }
done:
    st->wchars = 0;
    st->wbytes = 0;
}

/* A character of the normalized text: split on whitespace and punctuation, else append. */
static void put_char(tok_state *st, uint32_t c)
{
    unsigned f = minilm_uc_flags(c);

    if (st->full) {
        return;
    }
    if (c == ' ' || (f & MINILM_UC_WS)) {
        end_word(st);
        return;
    }
    if (f & MINILM_UC_PUNCT) {
        end_word(st);
        st->cstart[0] = 0;
        st->wbytes = utf8_put(st->word, c);
        st->wchars = 1;
        end_word(st);
        return;
    }
    if (st->wchars < MAX_WORD_CHARS) {
        st->cstart[st->wchars] = (uint16_t)st->wbytes;
        st->wbytes += utf8_put(st->word + st->wbytes, c);
    }
    st->wchars++;
}

/* A character after NFD and reordering: drop non-spacing marks, lowercase. */
static void put_nfd(tok_state *st, uint32_t c)
{
    unsigned f = minilm_uc_flags(c);
    const minilm_uc_seq *s;
    size_t i;

    if (f & MINILM_UC_MN) {
        return;
    }
    if ((f & MINILM_UC_LOWER) && (s = seq_find(minilm_uc_lower, minilm_uc_lower_n, c)) != NULL) {
        for (i = 0; i < s->len; i++) {
            put_char(st, minilm_uc_pool[s->off + i]);
        }
        return;
    }
    put_char(st, c);
}

static void flush_run(tok_state *st)
{
    size_t i, j;

    /* stable insertion sort by combining class */
    for (i = 1; i < st->nrun; i++) {
        uint32_t c = st->run[i];
        uint8_t k = st->runccc[i];
        for (j = i; j > 0 && st->runccc[j - 1] > k; j--) {
            st->run[j] = st->run[j - 1];
            st->runccc[j] = st->runccc[j - 1];
        }
        st->run[j] = c;
        st->runccc[j] = k;
    }
    for (i = 0; i < st->nrun; i++) {
        put_nfd(st, st->run[i]);
    }
    st->nrun = 0;
}

/* One character of the fully decomposed stream: canonical reordering of combining marks.
 * Non-spacing marks are dropped later anyway, so only the (rare) other marks are buffered;
 * a mark of class 0 or a starter ends the run. */
static void put_decomposed(tok_state *st, uint32_t c)
{
    unsigned f = minilm_uc_flags(c);
    unsigned k = (f & MINILM_UC_CCC) ? ccc_of(c) : 0;

    if (k == 0) {
        if (st->nrun > 0) {
            flush_run(st);
        }
        put_nfd(st, c);
        return;
    }
    if (f & MINILM_UC_MN) {
        return;
    }
    if (st->nrun == RUN_MAX) {
        flush_run(st);
    }
    st->run[st->nrun] = c;
    st->runccc[st->nrun] = (uint8_t)k;
    st->nrun++;
}

static void put_decomp_of(tok_state *st, uint32_t c, unsigned f)
{
    const minilm_uc_seq *s;
    size_t i;

    if (c >= 0xAC00 && c < 0xAC00 + 11172) {           /* Hangul syllable: L V (T) */
        uint32_t si = c - 0xAC00;
        put_decomposed(st, 0x1100 + si / 588);
        put_decomposed(st, 0x1161 + (si % 588) / 28);
        if (si % 28) {
            put_decomposed(st, 0x11A7 + si % 28);
        }
        return;
    }
    if ((f & MINILM_UC_DECOMP) && (s = seq_find(minilm_uc_decomp, minilm_uc_decomp_n, c)) != NULL) {
        for (i = 0; i < s->len; i++) {
            put_decomposed(st, minilm_uc_pool[s->off + i]);
        }
        return;
    }
    put_decomposed(st, c);
}

/* One raw input character. */
static void put_raw(tok_state *st, uint32_t c)
{
    unsigned f = minilm_uc_flags(c);

    if (f & MINILM_UC_REMOVE) {
        return;
    }
    if (f & MINILM_UC_WS) {
        if (st->nrun > 0) {
            flush_run(st);
        }
        put_char(st, ' ');
        return;
    }
    if (is_cjk(c)) {
        if (st->nrun > 0) {
            flush_run(st);
        }
        put_char(st, ' ');
        put_decomp_of(st, c, f);
        if (st->nrun > 0) {
            flush_run(st);
        }
        put_char(st, ' ');
        return;
    }
    put_decomp_of(st, c, f);
}

static void end_segment(tok_state *st)
{
    if (st->nrun > 0) {
        flush_run(st);
    }
    end_word(st);
}

/* If s[0..len) starts with a special token, return its id and length. */
static int32_t special_at(const recd_minilm_tokenizer *t, const char *s, size_t len, size_t *tlen)
{
    static const char *const names[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    const int32_t ids[] = { t->id_pad, t->id_unk, t->id_cls, t->id_sep, t->id_mask };
    size_t i;

    for (i = 0; i < RECD_ARRAY_SIZE(names); i++) {
        size_t nl = strlen(names[i]);
        if (ids[i] >= 0 && len >= nl && memcmp(s, names[i], nl) == 0) {
            *tlen = nl;
            return ids[i];
        }
    }
    return -1;
}

int recd_minilm_tokenize(const recd_minilm_tokenizer *t, const char *text, size_t len, int32_t *ids,
                         size_t cap, size_t *n, char *errstr, size_t errlen)
{
    tok_state st;
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0;

    if (t == NULL || ids == NULL || n == NULL || (text == NULL && len > 0)) {
        return seterr(errstr, errlen, RECD_EINVAL, "minilm tokenize: NULL argument");
    }
    if (cap < t->max_len) {
        return seterr(errstr, errlen, RECD_EINVAL,
                      "minilm tokenize: output capacity %zu < max_len %zu", cap, t->max_len);
    }
    st.t = t;
    st.ids = ids;
    st.limit = t->max_len - 1;
    st.n = 0;
    st.full = 0;
    st.wchars = 0;
    st.wbytes = 0;
    st.nrun = 0;
    ids[st.n++] = t->id_cls;
    if (st.n >= st.limit) {
        st.full = 1;
    }
    while (pos < len && !st.full) {
        uint32_t c;
        size_t k;
        if (s[pos] == '[') {
            size_t tl;
            int32_t sid = special_at(t, text + pos, len - pos, &tl);
            if (sid >= 0) {
                end_segment(&st);
                emit_id(&st, sid);
                pos += tl;
                continue;
            }
        }
        k = utf8_next(s + pos, len - pos, &c);
        pos += k;
        if (c != UINT32_MAX) {
            put_raw(&st, c);
        }
    }
    if (!st.full) {
        end_segment(&st);
    }
    ids[st.n++] = t->id_sep;
    *n = st.n;
    return RECD_OK;
}
