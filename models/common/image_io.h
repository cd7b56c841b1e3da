/* image_io.h — writing and reading a model's binary image (a snapshot) field by field.
 *
 * Writing goes through the caller's write function; the first failure sticks (err), later puts
 * do nothing, and the caller checks err once at the end. Reading walks a buffer the caller owns;
 * a read past its end sets err (-1), copies nothing, and so does every read after it: a
 * truncated image is found by one check of err at the end, never by reading out of bounds.
 * The layout (byte order, padding) is the caller's: these helpers copy bytes as they are.
 *
 * Ownership: neither struct owns anything; `in.p` points into the caller's buffer. */
#ifndef RECD_IMAGE_IO_H
#define RECD_IMAGE_IO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 0 on success; anything else stops the image (the models' sessrec_write_fn, mf_write_fn) */
typedef int (*recd_img_write_fn)(void *ctx, const void *p, size_t n);

struct recd_img_out {
    recd_img_write_fn fn;
    void *ctx;
    int err; /* 0, or -1 once fn failed */
};

struct recd_img_in {
    const unsigned char *p; /* the next byte to read */
    size_t left;            /* bytes left after p */
    int err;                /* 0; -1 once a read went past the end (the caller may set others) */
};

/* n bytes from p to the image (nothing once err is set) */
void recd_img_put(struct recd_img_out *o, const void *p, size_t n);
#define RECD_IMG_PUTV(o, v) recd_img_put((o), &(v), sizeof(v))

/* the next n bytes of the image, consumed; NULL (and err = -1) when fewer are left or err is
 * already set */
const void *recd_img_take(struct recd_img_in *c, size_t n);

/* the next n bytes into dst (dst untouched on error) */
void recd_img_get(struct recd_img_in *c, void *dst, size_t n);
#define RECD_IMG_GETV(c, v) recd_img_get((c), &(v), sizeof(v))

/* The image's closing 4-byte magic, read and checked, then the outcome of the whole read: 0,
 * or -1 with "out of memory" (err -2, set by the caller) or "truncated or corrupt image" in
 * errstr. */
int recd_img_end(struct recd_img_in *c, const char magic[4], char *errstr, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
