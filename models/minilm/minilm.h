/*
 * minilm.h — recd's transformer sentence encoder: sentence-transformers/all-MiniLM-L6-v2
 * (BERT WordPiece tokenizer + 6-layer BERT encoder + mean pooling + L2 normalisation) in C,
 * every matrix product through OpenBLAS cblas_sgemm. docs/ENCODER.md describes the model
 * directory, how it is installed (scripts/install-model.sh) and how it is verified.
 *
 * Two types:
 *   recd_minilm_tokenizer  the uncased BERT tokenizer (vocab.txt); read-only after open, so one
 *                          tokenizer may be shared by any number of threads.
 *   recd_minilm            the encoder (weights + its own tokenizer + scratch buffers). Not
 *                          thread-safe: one per thread (each holds ~90 MB of weights).
 *
 * Errors: functions return RECD_OK (0) or a negative RECD_E* code from core/recd.h and, when
 * errstr is non-NULL, write one human sentence into errstr[errlen]. A missing or corrupt model is
 * an error (RECD_ENOENT / RECD_EIO / RECD_EDECODE / RECD_ECONFIG), never a crash.
 *
 * Ownership: *_open returns an object the caller owns and frees with the matching *_close
 * (which accepts NULL). Input strings and id arrays are borrowed for the call only; output
 * buffers are the caller's.
 */
#ifndef RECD_MINILM_H
#define RECD_MINILM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tokenizer ------------------------------------------------------------------------ */

typedef struct recd_minilm_tokenizer recd_minilm_tokenizer;

/* Special token ids of the uncased BERT vocabulary are looked up by name at open. */

/* Open a tokenizer on a WordPiece vocabulary file (one token a line; line i is id i).
 * max_len is the maximum sequence length including [CLS] and [SEP] (>= 2); the reference
 * model uses 256 (sentence_bert_config.json max_seq_length). */
int recd_minilm_tokenizer_open(const char *vocab_path, size_t max_len, recd_minilm_tokenizer **out,
                               char *errstr, size_t errlen);
void recd_minilm_tokenizer_close(recd_minilm_tokenizer *t);

/* Tokenize one UTF-8 text of len bytes exactly as the reference (HF tokenizers BertNormalizer
 * with lowercase + accent stripping + CJK splitting + text cleaning, BertPreTokenizer, WordPiece
 * with max 100 chars per word, the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] matched in the
 * raw text), truncated to max_len - 2 pieces and framed as [CLS] ... [SEP].
 * Writes the ids to ids[0..*n) (cap must be >= max_len) and the count to *n (>= 2).
 * Invalid UTF-8 bytes are dropped (the reference cannot receive them).
 * Allocates nothing; thread-safe. text may be NULL only when len == 0. */
int recd_minilm_tokenize(const recd_minilm_tokenizer *t, const char *text, size_t len, int32_t *ids,
                         size_t cap, size_t *n, char *errstr, size_t errlen);

size_t recd_minilm_tokenizer_max_len(const recd_minilm_tokenizer *t);
size_t recd_minilm_tokenizer_vocab_size(const recd_minilm_tokenizer *t);
/* The token string of an id (borrowed, NUL-terminated), or NULL if out of range. */
const char *recd_minilm_token_str(const recd_minilm_tokenizer *t, int32_t id);
/* The id of a whole vocabulary entry ("##ing" included), or -1. */
int32_t recd_minilm_token_id(const recd_minilm_tokenizer *t, const char *token, size_t len);

/* ---- encoder -------------------------------------------------------------------------- */

typedef struct recd_minilm recd_minilm;

typedef struct recd_minilm_opts {
    size_t max_seq_len;  /* 0 = the model's max_seq_length (256); at most that and 512 */
    size_t max_batch;    /* texts per forward pass (larger calls are split); 0 = 32 */
    int batching;        /* RECD_MINILM_BATCH_*: 0 = auto */
} recd_minilm_opts;

/* How the texts of one encode call are grouped into forward passes. AUTO (the default): packed
 * where an open-time check finds this machine's OpenBLAS kernels compute each token row alike
 * whatever the rows around it, else one text per pass — an embedding is bit-identical alone
 * and in any batch either way. PACKED and PER_TEXT force one (measurement and tests; PACKED
 * gives up that guarantee on kernels that fail the check). */
enum { RECD_MINILM_BATCH_AUTO = 0, RECD_MINILM_BATCH_PACKED = 1, RECD_MINILM_BATCH_PER_TEXT = 2 };

/* Open the model directory written by scripts/install-model.sh: model.safetensors (F32),
 * vocab.txt, config.json, sentence_bert_config.json, 1_Pooling/config.json (optional; must say
 * mean pooling if present). Checks every tensor's name, dtype, shape and extent. */
int recd_minilm_open(const char *model_dir, recd_minilm **out, char *errstr, size_t errlen);
int recd_minilm_open_opts(const char *model_dir, const recd_minilm_opts *opts, recd_minilm **out,
                          char *errstr, size_t errlen);
void recd_minilm_close(recd_minilm *m);

/* Sentence embeddings of n UTF-8 texts (NUL-terminated; NULL counts as "") into
 * out[n * dim], row i for texts[i], each L2-normalised (the all-zero input cannot occur: every
 * text has at least [CLS] [SEP]). Texts of different lengths share one forward pass without
 * padding to the longest; a text's vector is bit-identical whatever batch it is in. Scratch
 * buffers grow to the largest batch seen and are reused. */
int recd_minilm_encode_batch(recd_minilm *m, const char *const *texts, size_t n, float *out,
                             char *errstr, size_t errlen);
/* Same from token ids (each sequence 1..max_seq_len ids, normally [CLS] ... [SEP]); used by
 * the tests and the benchmark to time the forward pass alone. */
int recd_minilm_encode_ids(recd_minilm *m, const int32_t *const *ids, const size_t *lens, size_t n,
                           float *out, char *errstr, size_t errlen);

size_t recd_minilm_dim(const recd_minilm *m);            /* 384 */
size_t recd_minilm_max_seq_len(const recd_minilm *m);    /* 256 unless opts said less */
const recd_minilm_tokenizer *recd_minilm_get_tokenizer(const recd_minilm *m); /* borrowed */

/* Per-phase wall-clock time and floating-point operation counters, accumulated over every
 * forward pass since open or the last reset (for bench/encoder). "gemm" is the four projection
 * products (QKV, attention output, FFN in, FFN out); "attn" the per-head score and context
 * products; "other" embeddings, softmax, bias, GELU, LayerNorm, pooling; "tokenize" the
 * tokenizer. flops counts 2*M*N*K per product. */
typedef struct recd_minilm_stats {
    double gemm_s, attn_s, other_s, tokenize_s;
    double gemm_flops, attn_flops;
    uint64_t tokens, texts, forwards;
} recd_minilm_stats;
/* 1 if this machine's OpenBLAS passed the open-time check that lets the texts of one call share
 * forward passes (packed batches, faster); 0 if every text gets its own forward pass. Either
 * way an embedding is bit-identical alone and in any batch (docs/ENCODER.md). */
int recd_minilm_packed(const recd_minilm *m);

/* The OpenBLAS core type in use (e.g. "SkylakeX"; OPENBLAS_CORETYPE or OpenBLAS's choice). */
const char *recd_minilm_blas_core(void);
/* 1 and a message in buf if OpenBLAS runs generic kernels on a CPU that has faster ones (an
 * OpenBLAS release that does not know the CPU model), else 0. */
int recd_minilm_blas_advice(char *buf, size_t len);
void recd_minilm_get_stats(const recd_minilm *m, recd_minilm_stats *st);
void recd_minilm_reset_stats(recd_minilm *m);

#ifdef __cplusplus
}
#endif
#endif /* RECD_MINILM_H */
