/*
 * codec.h — Avro encoding and decoding of recd's records (avro-c).
 *
 * Reader schemas are recd's own (schemas/NAME.avsc, compiled into the binary at build time).
 * An input value is either
 *   - plain Avro binary written with the topic's configured writer schema (default: the
 *     reader schema), or
 *   - Confluent wire format: byte 0x00, 4-byte big-endian schema id, Avro body; the id maps
 *     to a writer schema file through configuration.
 * With format "auto" a value starting with 0x00 whose id is known is treated as Confluent.
 * (A plain Avro record whose first field is a string never starts with 0x00 unless that
 * string is empty, which validation rejects for every event kind.)
 * The writer schema is resolved against the reader schema (avro_resolved_reader), so a
 * producer that adds an optional field, or drops one that has a default, keeps working.
 *
 * Thread-safety: a codec is used by one thread at a time.
 */
#ifndef RECD_CODEC_H
#define RECD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum recd_wire_format {
    RECD_WIRE_AUTO = 0,       /* Confluent if it starts with 0x00 + known id, else plain */
    RECD_WIRE_PLAIN = 1,
    RECD_WIRE_CONFLUENT = 2
};

struct recd_codec_schema_id {
    int32_t id;
    int kind;                 /* enum recd_kind the schema is a version of */
    const char *path;         /* writer schema file (borrowed during recd_codec_new only) */
};

struct recd_codec_conf {
    int format;                                  /* enum recd_wire_format */
    const char *writer_schema[RECD_KIND__NINPUT];/* plain-format writer schema files; NULL =
                                                    the reader schema (borrowed during _new) */
    const struct recd_codec_schema_id *ids;      /* Confluent id map; may be NULL */
    size_t n_ids;
};

struct recd_codec;

/* Create a codec. Schema files that cannot be read/parsed or that cannot be resolved against
 * the reader schema are an error (RECD_ECONFIG, errstr names the file). */
int recd_codec_new(const struct recd_codec_conf *conf, struct recd_codec **out, char *errstr,
                   size_t errlen);
void recd_codec_destroy(struct recd_codec *c);

/* The reader schema JSON text of a kind (compiled in), NUL-terminated, static. */
const char *recd_codec_reader_schema_json(int kind);

/* Decode one Kafka message value of input kind `kind` into *ev (kind and common fields set;
 * topic/partition/offset left for the caller). key/keylen is the Kafka key (used for item
 * removals: a NULL value means "item removed" and needs the key). Strings go into `arena`.
 * Returns RECD_OK, or RECD_EDECODE with errstr = "<class>: <detail>", class one of
 * "framing", "unknown_schema_id", "avro", "too_large". */
int recd_codec_decode(struct recd_codec *c, int kind, const void *key, size_t keylen,
                      const void *val, size_t len, struct recd_arena *arena, struct recd_event *ev,
                      char *errstr, size_t errlen);

/* Decoded strings (and an item removal's key) longer than `cap` bytes are copied into the
 * arena only up to cap bytes; 0 (the default) copies them whole. With
 * cap = recd_validate_string_cap(vc), recd_validate_event decides and clamps every event as
 * it would on whole strings (a too-long id stays too long, free text is cut at the same
 * place), and a batch of records with 1 MiB strings holds their first bytes instead of
 * copies. */
void recd_codec_set_string_cap(struct recd_codec *c, size_t cap);

/* Encode an input event (recctl, tests, the demo generator) with recd's reader schema as the
 * writer schema. confluent_id < 0: plain Avro; otherwise Confluent framing with that id.
 * Appends to out. An item removal encodes to zero bytes (the caller sends a NULL value). */
int recd_codec_encode_event(struct recd_codec *c, const struct recd_event *ev, int32_t confluent_id,
                            struct recd_buf *out, char *errstr, size_t errlen);

/* Encode / decode a Recommendations record (schemas/recommendations.avsc). Encoding:
 * confluent_id < 0 plain Avro, otherwise Confluent framing with that id (output.confluent_id).
 * Decoding takes either: a value starting with 0x00 is Confluent-framed (a plain record starts
 * with the length of user_id, never empty), its id not checked (the schema is recd's own). */
int recd_codec_encode_recs(struct recd_codec *c, const struct recd_recs *r, int32_t confluent_id,
                           struct recd_buf *out, char *errstr, size_t errlen);
int recd_codec_decode_recs(struct recd_codec *c, const void *val, size_t len,
                           struct recd_arena *arena, struct recd_recs *r, char *errstr,
                           size_t errlen);

/* ---- validation (core/validate.c) ------------------------------------------------------- */
struct recd_validate_conf {
    int64_t min_ts_ms;        /* events before are rejected ("bad_timestamp") */
    int64_t max_ts_ms;        /* events after are rejected ("bad_timestamp") */
    int64_t max_id_bytes;     /* user/item/event ids longer are rejected ("bad_id") */
    int64_t max_text_bytes;   /* titles, descriptions, query texts are truncated (clamped) at a
                                 UTF-8 boundary */
    double max_price;         /* prices above are rejected ("bad_price") */
    int64_t max_lines;        /* purchase lines beyond are rejected ("bad_purchase") */
    int64_t max_quantity;     /* quantities above are rejected */
};
/* Validate and clamp a decoded event in place. Returns RECD_OK or RECD_EVALID with errstr =
 * "<class>: <detail>" (classes: "empty_user_id", "bad_id", "bad_timestamp", "bad_price",
 * "bad_purchase", "bad_item"). Clamping rules are documented in docs/RELIABILITY.md. */
int recd_validate_event(const struct recd_validate_conf *vc, struct recd_event *ev, char *errstr,
                        size_t errlen);
/* The longest prefix of a string recd_validate_event reads: max(max_id_bytes,
 * max_text_bytes) + 1 bytes; 0 (no bound) when either limit is off. For
 * recd_codec_set_string_cap. */
size_t recd_validate_string_cap(const struct recd_validate_conf *vc);

#endif
