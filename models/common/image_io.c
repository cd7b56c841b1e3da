/* image_io.c — see image_io.h. */
#include "image_io.h"

#include <stdio.h>
#include <string.h>

void recd_img_put(struct recd_img_out *o, const void *p, size_t n)
{
    if (o->err == 0 && n > 0 && o->fn(o->ctx, p, n) != 0) {
        o->err = -1;
    }
}

const void *recd_img_take(struct recd_img_in *c, size_t n)
{
    const void *r = c->p;

    if (c->err || n > c->left) {
        c->err = -1;
        return NULL;
    }
    c->p += n;
    c->left -= n;
    return r;
}

void recd_img_get(struct recd_img_in *c, void *dst, size_t n)
{
    const void *s = recd_img_take(c, n);

    if (s != NULL && n > 0) {
        memcpy(dst, s, n);
    }
}

int recd_img_end(struct recd_img_in *c, const char magic[4], char *errstr, size_t errlen)
{
    char m[4];

    recd_img_get(c, m, 4);
    if (c->err == 0 && memcmp(m, magic, 4) != 0) {
        c->err = -1;
    }
    if (c->err != 0) {
        snprintf(errstr, errlen, c->err == -2 ? "out of memory" : "truncated or corrupt image");
        return -1;
    }
    return 0;
}
