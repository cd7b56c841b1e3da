/*
 * validate.c — validation and clamping of decoded input events (recd_validate_event, codec.h).
 *
 * Rules (copied into docs/RELIABILITY.md). A rejected event gets RECD_EVALID and an errstr
 * "<class>: <detail>"; the pipeline sends it to the DLQ with that class. Checks run in this
 * order and the first failure wins. "Too long" means more bytes than the limit; a limit <= 0
 * in struct recd_validate_conf disables that limit (zero-initialised configs check only the
 * structural rules); the timestamp window is disabled only when min_ts_ms and max_ts_ms are
 * both 0.
 *
 *   empty_user_id  click, purchase, query, deletion: user_id is NULL or "".
 *   bad_id         an empty event_id (click, purchase, query, deletion), item_id (click,
 *                  purchase line, query shown id, item incl. removals) or order_id;
 *                  user_id, event_id, those item ids, order_id, session_id or query_id
 *                  longer than max_id_bytes (a deletion's event_id, "del:<user>:<ts>", is
 *                  built by the codec and exempt from the length limit).
 *   bad_timestamp  ts (click, purchase, query), updated_ts (item) or requested_ts (deletion)
 *                  outside [min_ts_ms, max_ts_ms]. Not checked for item removals.
 *   bad_price      item price or purchase line unit_price NaN, infinite, negative, or above
 *                  max_price (when max_price > 0). A price of 0 is accepted.
 *   bad_purchase   0 lines or more than max_lines; a quantity <= 0 or above max_quantity;
 *                  a currency that is empty or longer than max_id_bytes.
 *   bad_item       an item whose category path has more than RECD_VALIDATE_MAX_CATEGORY
 *                  levels.
 *
 * Clamping (the event is kept): free text longer than max_text_bytes is cut to at most
 * max_text_bytes bytes, at a UTF-8 character boundary (the cut never splits a well-formed
 * multi-byte sequence; it backs off at most 3 continuation bytes). Free text is: item title,
 * description, brand and category names; query text; click context keys and values;
 * deletion reason. Invalid UTF-8 is tolerated everywhere (never a rejection reason); it is
 * passed through unchanged. Clamping writes a NUL into the string, so the event's strings must
 * be writable (true for decoded events, whose strings live in the batch arena).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "recd.h"
#include "event.h"
#include "codec.h"

#define RECD_VALIDATE_MAX_CATEGORY 32

/* Length of s if it is at most max bytes, else max + 1 (never reads past max + 1 bytes). */
static size_t bounded_len(const char *s, int64_t max)
{
    if (max <= 0) {
        return strlen(s);
    }
    return strnlen(s, (size_t)max + 1);
}

static int too_long(const char *s, int64_t max)
{
    return max > 0 && bounded_len(s, max) > (size_t)max;
}

/* Check an id: 0 if fine, else -1 with errstr set. Empty ids are allowed when may_be_empty. */
static int check_id(const struct recd_validate_conf *vc, const char *id, const char *what,
                    int may_be_empty, char *errstr, size_t errlen)
{
    if (id == NULL || id[0] == '\0') {
        if (may_be_empty && id != NULL) {
            return 0;
        }
        recd_seterr(errstr, errlen, RECD_EVALID, "bad_id: empty %s", what);
        return -1;
    }
    if (too_long(id, vc->max_id_bytes)) {
        recd_seterr(errstr, errlen, RECD_EVALID, "bad_id: %s longer than %lld bytes", what,
                    (long long)vc->max_id_bytes);
        return -1;
    }
    return 0;
}

/* Optional id (NULL allowed). */
static int check_opt_id(const struct recd_validate_conf *vc, const char *id, const char *what,
                        char *errstr, size_t errlen)
{
    if (id == NULL) {
        return 0;
    }
    return check_id(vc, id, what, 1, errstr, errlen);
}

/* Truncate free text in place to at most max bytes at a UTF-8 boundary. */
static void clamp_text(const char *s, int64_t max)
{
    size_t cut, back;
    char *w;

    if (s == NULL || max <= 0 || bounded_len(s, max) <= (size_t)max) {
        return;
    }
    cut = (size_t)max;
    /* s[cut] is the first byte dropped; if it continues a sequence, drop its lead too */
    for (back = 0; back < 3 && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80; back++) {
        cut--;
    }
    if (((unsigned char)s[cut] & 0xC0) == 0x80) {
        cut = (size_t)max;   /* not UTF-8 anyway: cut at the byte limit */
    }
    w = (char *)(uintptr_t)s;   /* decoded strings are arena memory the event owns */
    w[cut] = '\0';
}

static int check_ts(const struct recd_validate_conf *vc, int64_t ts, const char *what, char *errstr,
                    size_t errlen)
{
    if (vc->min_ts_ms == 0 && vc->max_ts_ms == 0) {
        return 0;
    }
    if (ts < vc->min_ts_ms || ts > vc->max_ts_ms) {
        recd_seterr(errstr, errlen, RECD_EVALID, "bad_timestamp: %s %lld outside [%lld, %lld]",
                    what, (long long)ts, (long long)vc->min_ts_ms, (long long)vc->max_ts_ms);
        return -1;
    }
    return 0;
}

static int check_price(const struct recd_validate_conf *vc, double p, const char *what,
                       char *errstr, size_t errlen)
{
    if (isnan(p) || isinf(p) || p < 0.0 || (vc->max_price > 0.0 && p > vc->max_price)) {
        recd_seterr(errstr, errlen, RECD_EVALID, "bad_price: %s %g", what, p);
        return -1;
    }
    return 0;
}

static int validate_click(const struct recd_validate_conf *vc, struct recd_event *ev, char *errstr,
                          size_t errlen)
{
    struct recd_click *ck = &ev->u.click;
    uint32_t k;

    if (check_id(vc, ck->item_id, "item_id", 0, errstr, errlen) != 0 ||
        check_opt_id(vc, ck->session_id, "session_id", errstr, errlen) != 0 ||
        check_opt_id(vc, ck->query_id, "query_id", errstr, errlen) != 0 ||
        check_ts(vc, ev->ts_ms, "ts", errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    if (ck->context != NULL) {
        for (k = 0; k < ck->n_context; k++) {
            clamp_text(ck->context[k].key, vc->max_text_bytes);
            clamp_text(ck->context[k].value, vc->max_text_bytes);
        }
    }
    return RECD_OK;
}

static int validate_purchase(const struct recd_validate_conf *vc, struct recd_event *ev,
                             char *errstr, size_t errlen)
{
    struct recd_purchase *pu = &ev->u.purchase;
    uint32_t k;

    if (check_id(vc, pu->order_id, "order_id", 0, errstr, errlen) != 0 ||
        check_ts(vc, ev->ts_ms, "ts", errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    if (pu->n_lines == 0 || pu->lines == NULL) {
        return recd_seterr(errstr, errlen, RECD_EVALID, "bad_purchase: no lines");
    }
    if (vc->max_lines > 0 && (int64_t)pu->n_lines > vc->max_lines) {
        return recd_seterr(errstr, errlen, RECD_EVALID, "bad_purchase: %u lines, more than %lld",
                           (unsigned)pu->n_lines, (long long)vc->max_lines);
    }
    if (pu->currency == NULL || pu->currency[0] == '\0' ||
        too_long(pu->currency, vc->max_id_bytes)) {
        return recd_seterr(errstr, errlen, RECD_EVALID, "bad_purchase: bad currency");
    }
    for (k = 0; k < pu->n_lines; k++) {
        const struct recd_purchase_line *l = &pu->lines[k];

        if (check_id(vc, l->item_id, "line item_id", 0, errstr, errlen) != 0) {
            return RECD_EVALID;
        }
        if (l->quantity <= 0 || (vc->max_quantity > 0 && l->quantity > vc->max_quantity)) {
            return recd_seterr(errstr, errlen, RECD_EVALID, "bad_purchase: line %u quantity %d",
                               (unsigned)k, (int)l->quantity);
        }
        if (check_price(vc, l->unit_price, "unit_price", errstr, errlen) != 0) {
            return RECD_EVALID;
        }
    }
    return RECD_OK;
}

static int validate_query(const struct recd_validate_conf *vc, struct recd_event *ev, char *errstr,
                          size_t errlen)
{
    struct recd_query *q = &ev->u.query;
    uint32_t k;

    if (check_ts(vc, ev->ts_ms, "ts", errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    if (q->n_shown > 0 && q->shown == NULL) {
        return recd_seterr(errstr, errlen, RECD_EVALID, "bad_id: shown ids missing");
    }
    for (k = 0; k < q->n_shown; k++) {
        if (check_id(vc, q->shown[k], "shown item id", 0, errstr, errlen) != 0) {
            return RECD_EVALID;
        }
    }
    if (q->text == NULL) {
        q->text = "";
    }
    clamp_text(q->text, vc->max_text_bytes);
    return RECD_OK;
}

static int validate_item(const struct recd_validate_conf *vc, struct recd_event *ev, char *errstr,
                         size_t errlen)
{
    struct recd_item *it = &ev->u.item;
    uint32_t k;

    if (check_id(vc, it->item_id, "item_id", 0, errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    if (it->removed) {
        return RECD_OK;   /* a removal carries only the id */
    }
    if (check_ts(vc, it->updated_ts, "updated_ts", errstr, errlen) != 0 ||
        check_price(vc, it->price, "price", errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    if (it->n_category > RECD_VALIDATE_MAX_CATEGORY) {
        return recd_seterr(errstr, errlen, RECD_EVALID,
                           "bad_item: category path of %u levels, more than %d",
                           (unsigned)it->n_category, RECD_VALIDATE_MAX_CATEGORY);
    }
    if (it->title == NULL) {
        it->title = "";
    }
    if (it->description == NULL) {
        it->description = "";
    }
    clamp_text(it->title, vc->max_text_bytes);
    clamp_text(it->description, vc->max_text_bytes);
    clamp_text(it->brand, vc->max_text_bytes);
    if (it->category != NULL) {
        for (k = 0; k < it->n_category; k++) {
            clamp_text(it->category[k], vc->max_text_bytes);
        }
    }
    return RECD_OK;
}

int recd_validate_event(const struct recd_validate_conf *vc, struct recd_event *ev, char *errstr,
                        size_t errlen)
{
    if (vc == NULL || ev == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_validate_event: bad argument");
    }
    /* 1. the user, for every kind that has one */
    if (ev->kind != RECD_KIND_ITEM) {
        if (ev->user_id == NULL || ev->user_id[0] == '\0') {
            return recd_seterr(errstr, errlen, RECD_EVALID, "empty_user_id: %s event %s",
                               recd_kind_name(ev->kind),
                               ev->event_id != NULL ? ev->event_id : "(no id)");
        }
        if (check_id(vc, ev->user_id, "user_id", 0, errstr, errlen) != 0) {
            return RECD_EVALID;
        }
    }
    /* 2. the event id (items: the item id, checked with the item; deletions: built by the
     *    codec from the user id, which is checked above, so only emptiness matters) */
    if (ev->kind == RECD_KIND_DELETION) {
        if (ev->event_id == NULL || ev->event_id[0] == '\0') {
            return recd_seterr(errstr, errlen, RECD_EVALID, "bad_id: empty event_id");
        }
    } else if (ev->kind != RECD_KIND_ITEM &&
               check_id(vc, ev->event_id, "event_id", 0, errstr, errlen) != 0) {
        return RECD_EVALID;
    }
    /* 3. per kind */
    switch (ev->kind) {
    case RECD_KIND_CLICK:    return validate_click(vc, ev, errstr, errlen);
    case RECD_KIND_PURCHASE: return validate_purchase(vc, ev, errstr, errlen);
    case RECD_KIND_QUERY:    return validate_query(vc, ev, errstr, errlen);
    case RECD_KIND_ITEM:     return validate_item(vc, ev, errstr, errlen);
    case RECD_KIND_DELETION:
        if (check_ts(vc, ev->u.deletion.requested_ts, "requested_ts", errstr, errlen) != 0) {
            return RECD_EVALID;
        }
        clamp_text(ev->u.deletion.reason, vc->max_text_bytes);
        return RECD_OK;
    default:
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_validate_event: bad kind %d",
                           ev->kind);
    }
}

size_t recd_validate_string_cap(const struct recd_validate_conf *vc)
{
    int64_t m;

    if (vc == NULL || vc->max_id_bytes <= 0 || vc->max_text_bytes <= 0) {
        return 0;
    }
    m = vc->max_id_bytes > vc->max_text_bytes ? vc->max_id_bytes : vc->max_text_bytes;
    return (size_t)m + 1;
}
