/*
 * shopgen.c — the deterministic synthetic shop (see shopgen.h).
 *
 * Structure: the catalogue and the users are built once in recd_shopgen_new() from their own
 * RNG streams (so changing n_events does not change the catalogue); the activity is produced
 * lazily by recd_shopgen_next() from a min-heap of open sessions keyed by (next event time,
 * session number). Popping a session emits exactly one event and schedules the session's next
 * action, or replaces the session by a new one when it ends.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recd.h"
#include "shopgen.h"

/* ---- RNG: splitmix64 seeding, xoshiro256** ------------------------------------------------- */
struct sg_rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(struct sg_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_u64(struct sg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1) */
static double rng_unif(struct sg_rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

/* uniform integer in [0, n), n >= 1 (Lemire's multiply-shift, bias < 2^-32 for our n) */
static int64_t rng_below(struct sg_rng *r, int64_t n)
{
    if (n <= 1) {
        return 0;
    }
    return (int64_t)((rng_u64(r) >> 11) % (uint64_t)n);
}

static double rng_normal(struct sg_rng *r)
{
    double u1 = 1.0 - rng_unif(r);     /* (0, 1] */
    double u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double rng_exp(struct sg_rng *r, double mean)
{
    return -log(1.0 - rng_unif(r)) * mean;
}

/* Index into a cumulative weight array (cum[n-1] = total). */
static int32_t pick_cum(struct sg_rng *r, const double *cum, int32_t n)
{
    double x = rng_unif(r) * cum[n - 1];
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* ---- vocabulary ------------------------------------------------------------------------------ */
struct leaf_def {
    const char *path[3]; /* 2 or 3 levels, unused NULL */
    const char *nouns[5];
    const char *features[5];
    const char *variants[6];
    const char *brands[5];
    double median; /* median price, EUR */
    double sigma; /* log-normal sigma */
};

static const struct leaf_def LEAVES[] = {
    { { "Sports", "Running", "Shoes" },
      { "Running Shoe", "Trail Running Shoe", "Racing Flat", "Walking Shoe" },
      { "Waterproof", "Lightweight", "Cushioned", "Breathable" },
      { "Blue", "Black", "Red", "Neon Yellow", "Grey" },
      { "Acme", "Stridex", "Velora", "Peakline" },
      89.0,
      0.35 },
    { { "Sports", "Running", "Apparel" },
      { "Running Jacket", "Running Tights", "Running Shorts", "Base Layer Top" },
      { "Reflective", "Thermal", "Quick-Dry", "Windproof" },
      { "Black", "Navy", "Orange", "Olive", "White" },
      { "Acme", "Stridex", "Velora", "Peakline" },
      45.0,
      0.4 },
    { { "Sports", "Cycling", "Helmets" },
      { "Road Helmet", "MTB Helmet", "Commuter Helmet" },
      { "MIPS", "Ventilated", "Aero", "LED Light" },
      { "Matte Black", "White", "Red", "Silver" },
      { "Velotek", "Cranx", "Acme" },
      75.0,
      0.45 },
    { { "Sports", "Camping", "Tents" },
      { "Dome Tent", "Backpacking Tent", "Family Tent", "Pop-Up Tent" },
      { "2-Person", "4-Person", "Ultralight", "Waterproof" },
      { "Green", "Orange", "Sand", "Grey" },
      { "Northridge", "Trailmark", "Acme" },
      180.0,
      0.5 },
    { { "Sports", "Camping", "Sleeping Bags" },
      { "Sleeping Bag", "Mummy Sleeping Bag", "Sleeping Pad", "Camping Pillow" },
      { "Down", "Synthetic", "3-Season", "Compact" },
      { "Blue", "Red", "Green", "Black" },
      { "Northridge", "Trailmark", "Summitco" },
      95.0,
      0.5 },
    { { "Sports", "Fitness" },
      { "Yoga Mat", "Dumbbell Set", "Kettlebell", "Resistance Band", "Foam Roller" },
      { "Non-Slip", "Adjustable", "Eco", "Heavy-Duty" },
      { "Purple", "Black", "Teal", "Pink" },
      { "Flexa", "Ironform", "Acme" },
      35.0,
      0.6 },
    { { "Electronics", "Audio", "Headphones" },
      { "Wireless Headphones", "Earbuds", "Studio Headphones", "Gaming Headset" },
      { "Noise Cancelling", "Bluetooth", "Over-Ear", "Sport" },
      { "Black", "White", "Silver", "Midnight Blue" },
      { "Sonara", "Voxel", "Auralis", "Beatline" },
      120.0,
      0.6 },
    { { "Electronics", "Audio", "Speakers" },
      { "Bluetooth Speaker", "Smart Speaker", "Soundbar", "Bookshelf Speaker" },
      { "Portable", "Waterproof", "Stereo", "Voice Control" },
      { "Black", "Grey", "Blue", "Sand" },
      { "Sonara", "Voxel", "Auralis" },
      150.0,
      0.6 },
    { { "Electronics", "Computers", "Laptops" },
      { "Laptop", "Ultrabook", "Gaming Laptop", "2-in-1 Laptop" },
      { "14-inch", "16GB RAM", "1TB SSD", "OLED" },
      { "Silver", "Space Grey", "Black" },
      { "Lumen", "Corvex", "Nexa" },
      1100.0,
      0.35 },
    { { "Electronics", "Computers", "Accessories" },
      { "Wireless Mouse", "Mechanical Keyboard", "USB-C Hub", "Laptop Stand", "Webcam" },
      { "Ergonomic", "Rechargeable", "Compact", "RGB" },
      { "Black", "White", "Grey" },
      { "Lumen", "Corvex", "Keyra", "Nexa" },
      40.0,
      0.55 },
    { { "Electronics", "Phones", "Accessories" },
      { "Phone Case", "Screen Protector", "Charging Cable", "Power Bank", "Car Mount" },
      { "Shockproof", "Fast Charge", "Magnetic", "Slim" },
      { "Clear", "Black", "Rose", "Blue" },
      { "Voltix", "Keyra", "Nexa" },
      19.0,
      0.6 },
    { { "Electronics", "Cameras" },
      { "Mirrorless Camera", "Action Camera", "Instant Camera", "Camera Lens" },
      { "4K", "Stabilized", "Wide Angle", "Weather-Sealed" },
      { "Black", "Silver", "Mint" },
      { "Optika", "Lumen", "Fotex" },
      450.0,
      0.7 },
    { { "Home & Kitchen", "Cookware" },
      { "Frying Pan", "Saucepan", "Dutch Oven", "Wok", "Stock Pot" },
      { "Non-Stick", "Cast Iron", "Stainless Steel", "Induction" },
      { "24cm", "28cm", "5L", "Red", "Black" },
      { "Cucina", "Ferro", "Acme" },
      55.0,
      0.5 },
    { { "Home & Kitchen", "Coffee" },
      { "Espresso Machine", "Coffee Grinder", "French Press", "Pour-Over Kettle" },
      { "Automatic", "Burr", "Gooseneck", "Double-Wall" },
      { "Black", "Steel", "Cream", "Copper" },
      { "Barista Co", "Cucina", "Moka House" },
      90.0,
      0.8 },
    { { "Home & Kitchen", "Bedding" },
      { "Duvet Cover", "Pillow", "Fitted Sheet", "Weighted Blanket" },
      { "Cotton", "Linen", "Cooling", "Hypoallergenic" },
      { "White", "Grey", "Sage", "Navy", "Blush" },
      { "Dreamwell", "Nordhem", "Casa" },
      49.0,
      0.45 },
    { { "Home & Kitchen", "Lighting" },
      { "Desk Lamp", "Floor Lamp", "LED Strip", "Pendant Light" },
      { "Dimmable", "Smart", "Warm White", "Rechargeable" },
      { "Black", "Brass", "White", "Oak" },
      { "Lumio", "Nordhem", "Casa" },
      60.0,
      0.55 },
    { { "Fashion", "Women", "Dresses" },
      { "Summer Dress", "Maxi Dress", "Wrap Dress", "Shirt Dress" },
      { "Floral", "Linen", "Midi", "Pleated" },
      { "Black", "Navy", "Red", "Emerald", "Ivory" },
      { "Mira", "Atelier Nord", "Sola" },
      59.0,
      0.45 },
    { { "Fashion", "Men", "Shirts" },
      { "Oxford Shirt", "Flannel Shirt", "Polo Shirt", "Linen Shirt" },
      { "Slim Fit", "Regular Fit", "Short Sleeve", "Non-Iron" },
      { "White", "Light Blue", "Checked", "Olive" },
      { "Harlow", "Atelier Nord", "Brixton Lane" },
      45.0,
      0.4 },
    { { "Fashion", "Accessories", "Bags" },
      { "Backpack", "Tote Bag", "Messenger Bag", "Wallet", "Duffel Bag" },
      { "Leather", "Water-Resistant", "Laptop", "Travel" },
      { "Brown", "Black", "Tan", "Navy" },
      { "Harlow", "Voyagr", "Acme" },
      70.0,
      0.6 },
    { { "Beauty", "Skincare" },
      { "Moisturizer", "Face Serum", "Sunscreen", "Cleanser", "Eye Cream" },
      { "Hydrating", "SPF 50", "Vitamin C", "Fragrance-Free" },
      { "50ml", "100ml", "200ml", "30ml" },
      { "Derma Lab", "Glowa", "Purely" },
      22.0,
      0.5 },
    { { "Toys", "Building" },
      { "Building Set", "Construction Kit", "Marble Run", "Magnetic Tiles" },
      { "Starter", "Deluxe", "STEM", "Motorized" },
      { "100 Pieces", "250 Pieces", "500 Pieces", "Classic" },
      { "Brixo", "Playmakers", "Tinkerly" },
      39.0,
      0.55 },
    { { "Books", "Fiction" },
      { "Mystery Novel", "Fantasy Novel", "Science Fiction Novel", "Thriller" },
      { "Hardcover", "Paperback", "Illustrated", "Box Set" },
      { "Volume 1", "Volume 2", "Collector's Edition", "Anniversary Edition" },
      { "Inkwell Press", "Harbor Books", "Lantern House" },
      16.0,
      0.4 },
    { { "Garden", "Tools" },
      { "Pruning Shears", "Garden Hose", "Lawn Mower", "Leaf Blower", "Trowel" },
      { "Cordless", "Telescopic", "Heavy-Duty", "Ergonomic" },
      { "Green", "Orange", "Black" },
      { "Greenway", "Ferro", "Yardly" },
      65.0,
      0.8 },
    { { "Pet Supplies", "Dogs" },
      { "Dog Bed", "Dog Leash", "Chew Toy", "Dog Harness", "Dog Food" },
      { "Orthopedic", "Reflective", "Durable", "Grain-Free" },
      { "Small", "Medium", "Large", "Brown", "Grey" },
      { "Pawsome", "Barkley", "Acme" },
      29.0,
      0.6 },
};
#define N_LEAVES ((int)RECD_ARRAY_SIZE(LEAVES))

#define COUNT_NONNULL(arr) count_nonnull((arr), RECD_ARRAY_SIZE(arr))
static int count_nonnull(const char *const *a, size_t n)
{
    int k = 0;
    while ((size_t)k < n && a[k]) {
        k++;
    }
    return k;
}

static const char *const DEVICES[] = { "desktop", "mobile", "tablet" };
static const char *const CHANNELS[] = { "web", "app" };

/* ---- generator state --------------------------------------------------------------------- */
struct sg_item {
    int32_t cat;
    int32_t pos; /* position in its category's attribute-sorted list */
    uint8_t noun, feat, var, brand;
    uint8_t in_stock;
    double price;
    double z; /* standardised log price (the normal draw) */
};

struct sg_cat {
    const struct leaf_def *leaf;
    char *leaf_name; /* owned: last path level, with a suffix when the leaf repeats */
    int n_path;
    int32_t n; /* items in the category */
    int32_t *sorted; /* owned: item indices sorted by (noun, feature, brand, variant) */
    int32_t *bypop; /* owned: item indices by popularity rank */
    double *cum; /* owned: cumulative Zipf weights over bypop */
};

struct sg_user {
    int32_t taste[3];
    double taste_cum[3];
    uint8_t n_taste;
    int8_t band; /* -1 budget, 0 mid, +1 premium (in units of the category sigma) */
    uint8_t device, channel;
    int8_t tz; /* hours from UTC */
    int32_t active; /* open sessions of the user */
};

enum sg_action { ACT_VIEW = 0, ACT_QUERY, ACT_SEARCH_CLICK, ACT_CART, ACT_PURCHASE };

#define SG_MAX_CART   8
#define SG_MAX_SHOWN  10
#define SG_MAX_VIEWED 16

struct sg_session {
    int64_t next_ts;
    int64_t sess_no; /* also the heap tie-break */
    int32_t user;
    int32_t steps_left;
    int action; /* enum sg_action */
    int32_t prev_item; /* -1 */
    int32_t cart_item; /* item of a pending ACT_CART */
    int32_t cart[SG_MAX_CART];
    int n_cart;
    int64_t query_no; /* event number of the last query, -1 */
    int32_t shown[SG_MAX_SHOWN];
    int n_shown;
    int search_left;
    int32_t viewed[SG_MAX_VIEWED];
    int n_viewed;
    uint8_t device, channel;
};

struct recd_shopgen {
    struct recd_shopgen_conf conf;
    struct sg_item *items; /* owned, n_items */
    struct sg_cat *cats; /* owned, n_categories */
    int32_t *live_cats; /* owned: categories with items, by popularity */
    double *live_cum; /* owned: cumulative popularity over live_cats */
    int32_t n_live;
    struct sg_user *users; /* owned, n_users */
    double *user_cum; /* owned: activity skew over users */
    struct sg_session *sess; /* owned, concurrency slots */
    int32_t *heap; /* owned: slot indices, min-heap on (next_ts, sess_no) */
    int32_t n_heap;
    struct sg_rng rng; /* activity stream */
    int64_t emitted; /* events returned so far */
    int64_t act_no; /* activity events returned so far */
    int64_t next_sess_no;
    int64_t next_order_no;
    /* catalogue turnover (turnover_per_day > 0) */
    uint32_t *gen; /* owned, n_items: replacements of each slot so far (its id's version) */
    struct sg_rng trng; /* the slots replaced */
    int64_t next_turn_ts; /* the next day boundary */
    int32_t *turn; /* owned: the slots replaced at the current boundary */
    int32_t n_turn, turn_pos; /* events of the boundary: 2 per slot (tombstone, new item) */
    int64_t turn_ts;
    int64_t replaced; /* replacements so far */
};

/* ---- helpers ------------------------------------------------------------------------------- */
static char *a_printf(struct recd_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *a_printf(struct recd_arena *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    if ((size_t)n < sizeof buf) {
        return recd_arena_strndup(a, buf, (size_t)n);
    }
    char *p = recd_arena_alloc(a, (size_t)n + 1);
    if (!p) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static char *a_str(struct recd_arena *a, const char *s)
{
    return recd_arena_strndup(a, s, strlen(s));
}

/* Lower-case ASCII copy in the arena. */
static char *a_lower(struct recd_arena *a, const char *s)
{
    char *p = a_str(a, s);
    if (p) {
        for (char *q = p; *q; q++) {
            if (*q >= 'A' && *q <= 'Z') {
                *q = (char)(*q - 'A' + 'a');
            }
        }
    }
    return p;
}

static char *item_id(const struct recd_shopgen *g, struct recd_arena *a, int32_t it)
{
    if (g->gen != NULL && g->gen[it] > 0) {
        return a_printf(a, "i%" PRId32 "v%" PRIu32, it, g->gen[it]);
    }
    return a_printf(a, "i%" PRId32, it);
}

/* Category items are sorted as packed 64-bit keys (attributes << 32 | item index), so the
 * comparator needs no context. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- construction ---------------------------------------------------------------------------- */
void recd_shopgen_conf_init(struct recd_shopgen_conf *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->n_users = 1000;
    c->n_items = 500;
    c->n_events = 10000;
    c->start_ts_ms = INT64_C(1704067200000); /* 2024-01-01T00:00:00Z */
    c->n_categories = 16;
    c->p_query = 0.1;
    c->p_cart = 0.08;
    c->p_purchase = 0.5;
    c->concurrency = 16;
    c->mean_dwell_s = 40.0;
    c->turnover_per_day = 0.0;
}

static int check_conf(const struct recd_shopgen_conf *c, char *errstr, size_t errlen)
{
    if (c->n_users < 1 || c->n_users > INT32_MAX / 2) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: n_users must be 1..%d",
                           INT32_MAX / 2);
    }
    if (c->n_items < 1 || c->n_items > INT32_MAX / 2) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: n_items must be 1..%d",
                           INT32_MAX / 2);
    }
    if (c->n_events < 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: n_events must be >= 0");
    }
    if (c->n_categories < 1 || c->n_categories > RECD_SHOPGEN_MAX_CATEGORIES) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: n_categories must be 1..%d",
                           RECD_SHOPGEN_MAX_CATEGORIES);
    }
    if (c->concurrency < 1 || c->concurrency > 1000000) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: concurrency must be 1..1000000");
    }
    if (c->start_ts_ms < 0 || c->start_ts_ms > INT64_C(4102444800000)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL,
                           "shopgen: start_ts_ms must be between 1970 and 2100");
    }
    const double p[3] = { c->p_query, c->p_cart, c->p_purchase };
    const char *pn[3] = { "p_query", "p_cart", "p_purchase" };
    for (int i = 0; i < 3; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
            return recd_seterr(errstr, errlen, RECD_EINVAL, "shopgen: %s must be in [0, 1]", pn[i]);
        }
    }
    if (!(c->mean_dwell_s > 0.0 && c->mean_dwell_s <= 86400.0)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL,
                           "shopgen: mean_dwell_s must be in (0, 86400]");
    }
    if (!(c->turnover_per_day >= 0.0 && c->turnover_per_day <= 1.0)) {
        return recd_seterr(errstr, errlen, RECD_EINVAL,
                           "shopgen: turnover_per_day must be in [0, 1]");
    }
    return RECD_OK;
}

/* Shuffle v[0..n) in place (Fisher-Yates, from the end). */
static void shuffle_i32(struct sg_rng *r, int32_t *v, int32_t n)
{
    for (int32_t k = n - 1; k > 0; k--) {
        int32_t j = (int32_t)rng_below(r, k + 1);
        int32_t t = v[k];
        v[k] = v[j];
        v[j] = t;
    }
}

/* Each category's leaf of the vocabulary and name (repeated leaves get a numeric suffix). */
static int name_categories(struct recd_shopgen *g)
{
    for (int32_t k = 0; k < g->conf.n_categories; k++) {
        struct sg_cat *cat = &g->cats[k];
        cat->leaf = &LEAVES[k % N_LEAVES];
        cat->n_path = COUNT_NONNULL(cat->leaf->path);
        const char *base = cat->leaf->path[cat->n_path - 1];
        char tmp[128];
        if (k < N_LEAVES) {
            snprintf(tmp, sizeof tmp, "%s", base);
        } else {
            snprintf(tmp, sizeof tmp, "%s %d", base, k / N_LEAVES + 1);
        }
        cat->leaf_name = recd_strdup(tmp);
        if (!cat->leaf_name) {
            return RECD_ENOMEM;
        }
    }
    return RECD_OK;
}

/* Category popularity weights (1/rank^0.7 of a random rank) and their cumulative sums. */
static int weigh_categories(struct sg_rng *r, int32_t nc, double *cat_w, double *cat_cum)
{
    int32_t *perm = malloc((size_t)nc * sizeof *perm);
    if (!perm) {
        return RECD_ENOMEM;
    }
    for (int32_t k = 0; k < nc; k++) {
        perm[k] = k;
    }
    shuffle_i32(r, perm, nc);
    for (int32_t k = 0; k < nc; k++) {
        cat_w[perm[k]] = 1.0 / pow((double)k + 1.0, 0.7);
    }
    free(perm);
    double acc = 0;
    for (int32_t k = 0; k < nc; k++) {
        acc += cat_w[k];
        cat_cum[k] = acc;
    }
    return RECD_OK;
}

/* Item i: its category (the first nc seed one each, the rest follow category popularity),
 * attributes, stock and a log-normal price around the category's median. */
static void make_item(struct recd_shopgen *g, struct sg_rng *r, const double *cat_cum, int32_t i)
{
    int32_t nc = g->conf.n_categories;
    struct sg_item *it = &g->items[i];
    it->cat = i < nc ? i : pick_cum(r, cat_cum, nc);
    const struct leaf_def *L = g->cats[it->cat].leaf;
    it->noun = (uint8_t)rng_below(r, COUNT_NONNULL(L->nouns));
    it->feat = (uint8_t)rng_below(r, COUNT_NONNULL(L->features));
    it->var = (uint8_t)rng_below(r, COUNT_NONNULL(L->variants));
    it->brand = (uint8_t)rng_below(r, COUNT_NONNULL(L->brands));
    it->in_stock = rng_unif(r) < 0.93;
    double z = rng_normal(r);
    if (z > 4.0) {
        z = 4.0;
    }
    if (z < -4.0) {
        z = -4.0;
    }
    it->z = z;
    double p = L->median * exp(L->sigma * z);
    if (p >= 10.0) {
        p = floor(p) + 0.99;
    } else {
        p = round(p * 100.0) / 100.0;
    }
    if (p < 0.99) {
        p = 0.99;
    }
    it->price = p;
    g->cats[it->cat].n++;
}

/* Allocate each non-empty category's lists and fill bypop with its items in index order. */
static int fill_category_lists(struct recd_shopgen *g)
{
    int32_t nc = g->conf.n_categories, ni = (int32_t)g->conf.n_items;

    for (int32_t k = 0; k < nc; k++) {
        struct sg_cat *cat = &g->cats[k];
        if (cat->n == 0) {
            continue;
        }
        cat->sorted = malloc((size_t)cat->n * sizeof *cat->sorted);
        cat->bypop = malloc((size_t)cat->n * sizeof *cat->bypop);
        cat->cum = malloc((size_t)cat->n * sizeof *cat->cum);
        if (!cat->sorted || !cat->bypop || !cat->cum) {
            return RECD_ENOMEM;
        }
        cat->n = 0;
    }
    for (int32_t i = 0; i < ni; i++) {
        struct sg_cat *cat = &g->cats[g->items[i].cat];
        cat->bypop[cat->n++] = i;
    }
    return RECD_OK;
}

/* One category's attribute-sorted list (neighbours = same product family) and Zipf
 * popularity order; keys is scratch for cat->n entries. */
static void order_category(struct recd_shopgen *g, struct sg_rng *r, struct sg_cat *cat,
                           uint64_t *keys)
{
    for (int32_t j = 0; j < cat->n; j++) {
        const struct sg_item *it = &g->items[cat->bypop[j]];
        keys[j] = ((uint64_t)it->noun << 56) | ((uint64_t)it->feat << 48) |
            ((uint64_t)it->brand << 40) | ((uint64_t)it->var << 32) |
            (uint64_t)(uint32_t)cat->bypop[j];
    }
    qsort(keys, (size_t)cat->n, sizeof *keys, cmp_u64);
    for (int32_t j = 0; j < cat->n; j++) {
        cat->sorted[j] = (int32_t)(uint32_t)(keys[j] & 0xFFFFFFFFu);
        g->items[cat->sorted[j]].pos = j;
    }
    /* popularity: shuffle, Zipf(1.0) weights by rank */
    shuffle_i32(r, cat->bypop, cat->n);
    double acc = 0;
    for (int32_t j = 0; j < cat->n; j++) {
        acc += 1.0 / ((double)j + 1.0);
        cat->cum[j] = acc;
    }
}

/* The live categories (with items), weighted by popularity. */
static int build_live_categories(struct recd_shopgen *g, const double *cat_w)
{
    int32_t nc = g->conf.n_categories;
    double acc = 0;

    g->live_cats = malloc((size_t)nc * sizeof *g->live_cats);
    g->live_cum = malloc((size_t)nc * sizeof *g->live_cum);
    if (!g->live_cats || !g->live_cum) {
        return RECD_ENOMEM;
    }
    g->n_live = 0;
    for (int32_t k = 0; k < nc; k++) {
        if (g->cats[k].n == 0) {
            continue;
        }
        acc += cat_w[k];
        g->live_cats[g->n_live] = k;
        g->live_cum[g->n_live] = acc;
        g->n_live++;
    }
    return RECD_OK;
}

/* The catalogue: categories, items, per-category orders and the live categories. All draws
 * come from one stream seeded by conf.seed, in this order. */
static int build_catalogue(struct recd_shopgen *g)
{
    const struct recd_shopgen_conf *c = &g->conf;
    int32_t nc = c->n_categories, ni = (int32_t)c->n_items;
    struct sg_rng r;
    double *cat_w = NULL, *cat_cum = NULL;
    uint64_t *keys = NULL;
    int rc = RECD_ENOMEM;

    rng_seed(&r, c->seed, 1);
    g->cats = calloc((size_t)nc, sizeof *g->cats);
    g->items = calloc((size_t)ni, sizeof *g->items);
    cat_w = calloc((size_t)nc, sizeof *cat_w);
    cat_cum = calloc((size_t)nc, sizeof *cat_cum);
    if (!g->cats || !g->items || !cat_w || !cat_cum) {
        goto cleanup;
    }
    if (name_categories(g) != RECD_OK || weigh_categories(&r, nc, cat_w, cat_cum) != RECD_OK) {
        goto cleanup;
    }
    for (int32_t i = 0; i < ni; i++) {
        make_item(g, &r, cat_cum, i);
    }
    keys = malloc((size_t)ni * sizeof *keys);
    if (!keys || fill_category_lists(g) != RECD_OK) {
        goto cleanup;
    }
    for (int32_t k = 0; k < nc; k++) {
        if (g->cats[k].n > 0) {
            order_category(g, &r, &g->cats[k], keys);
        }
    }
    if (build_live_categories(g, cat_w) != RECD_OK) {
        goto cleanup;
    }
    rc = RECD_OK;
cleanup:
    free(keys);
    free(cat_w);
    free(cat_cum);
    return rc;
}

static int32_t pick_live_cat(struct recd_shopgen *g, struct sg_rng *r)
{
    return g->live_cats[pick_cum(r, g->live_cum, g->n_live)];
}

static int build_users(struct recd_shopgen *g)
{
    const struct recd_shopgen_conf *c = &g->conf;
    int32_t nu = (int32_t)c->n_users;
    struct sg_rng r;

    rng_seed(&r, c->seed, 2);
    g->users = calloc((size_t)nu, sizeof *g->users);
    g->user_cum = malloc((size_t)nu * sizeof *g->user_cum);
    if (!g->users || !g->user_cum) {
        return RECD_ENOMEM;
    }
    double acc = 0;
    for (int32_t u = 0; u < nu; u++) {
        struct sg_user *us = &g->users[u];
        int want = 1 + (int)rng_below(&r, 3);
        us->n_taste = 0;
        for (int t = 0; t < want; t++) {
            int32_t cat = pick_live_cat(g, &r);
            int dup = 0;
            for (int j = 0; j < us->n_taste; j++) {
                dup |= us->taste[j] == cat;
            }
            if (!dup) {
                us->taste[us->n_taste++] = cat;
            }
        }
        static const double tw[3] = { 0.6, 0.3, 0.1 };
        double tacc = 0;
        for (int j = 0; j < us->n_taste; j++) {
            tacc += tw[j];
            us->taste_cum[j] = tacc;
        }
        double b = rng_unif(&r);
        us->band = (int8_t)(b < 0.3 ? -1 : b < 0.8 ? 0 : 1);
        double d = rng_unif(&r);
        if (d < 0.55) {
            us->channel = 0;
            us->device = 0;
        } /* web desktop */
        else if (d < 0.80) {
            us->channel = 1;
            us->device = 1;
        } /* app mobile */
        else if (d < 0.95) {
            us->channel = 0;
            us->device = 1;
        } /* web mobile */
        else {
            us->channel = 0;
            us->device = 2;
        } /* web tablet */
        us->tz = (int8_t)(-8 + (int)rng_below(&r, 12));
        /* activity skew: mild Zipf over user index */
        acc += 1.0 / pow((double)u + 1.0, 0.5);
        g->user_cum[u] = acc;
    }
    return RECD_OK;
}

/* ---- the session heap ----------------------------------------------------------------------- */
static int sess_less(const struct recd_shopgen *g, int32_t a, int32_t b)
{
    const struct sg_session *x = &g->sess[a], *y = &g->sess[b];
    if (x->next_ts != y->next_ts) {
        return x->next_ts < y->next_ts;
    }
    return x->sess_no < y->sess_no;
}

static void heap_down(struct recd_shopgen *g, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < g->n_heap && sess_less(g, g->heap[l], g->heap[m])) {
            m = l;
        }
        if (r < g->n_heap && sess_less(g, g->heap[r], g->heap[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        int32_t t = g->heap[i];
        g->heap[i] = g->heap[m];
        g->heap[m] = t;
        i = m;
    }
}

static void heap_up(struct recd_shopgen *g, int32_t i)
{
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!sess_less(g, g->heap[i], g->heap[p])) {
            return;
        }
        int32_t t = g->heap[i];
        g->heap[i] = g->heap[p];
        g->heap[p] = t;
        i = p;
    }
}

static void start_session(struct recd_shopgen *g, struct sg_session *s, int64_t ts)
{
    struct sg_rng *r = &g->rng;
    int32_t u = -1;
    /* prefer a user without an open session */
    for (int tries = 0; tries < 8; tries++) {
        u = pick_cum(r, g->user_cum, (int32_t)g->conf.n_users);
        if (!g->users[u].active) {
            break;
        }
    }
    memset(s, 0, sizeof *s);
    s->user = u;
    g->users[u].active++;
    s->sess_no = g->next_sess_no++;
    s->next_ts = ts;
    s->prev_item = -1;
    s->cart_item = -1;
    s->query_no = -1;
    /* geometric number of browse steps, mean ~6 */
    s->steps_left = 1;
    while (s->steps_left < 50 && rng_unif(r) < 0.83) {
        s->steps_left++;
    }
    s->action = rng_unif(r) < g->conf.p_query * 1.5 ? ACT_QUERY : ACT_VIEW;
    s->device = g->users[u].device;
    s->channel = g->users[u].channel;
    if (rng_unif(r) < 0.1) {
        s->device = (uint8_t)rng_below(r, 3);
        s->channel = s->device == 2 ? 0 : (uint8_t)rng_below(r, 2);
    }
}

static int64_t dwell_ms(struct recd_shopgen *g, double mean_s)
{
    double ms = 1000.0 + rng_exp(&g->rng, mean_s * 1000.0);
    if (ms > 3600000.0) {
        ms = 3600000.0;
    }
    return (int64_t)ms;
}

/* ---- item choice ----------------------------------------------------------------------------- */
static int32_t pick_in_cat(struct recd_shopgen *g, int32_t cat, int band)
{
    struct sg_rng *r = &g->rng;
    const struct sg_cat *c = &g->cats[cat];
    int32_t a = c->bypop[pick_cum(r, c->cum, c->n)];
    int32_t b = c->bypop[pick_cum(r, c->cum, c->n)];
    double da = fabs(g->items[a].z - band), db = fabs(g->items[b].z - band);
    return db < da ? b : a;
}

static int32_t taste_cat(struct recd_shopgen *g, const struct sg_user *u)
{
    struct sg_rng *r = &g->rng;
    if (rng_unif(r) < 0.08 || u->n_taste == 0) {
        return pick_live_cat(g, r);
    }
    double x = rng_unif(r) * u->taste_cum[u->n_taste - 1];
    for (int j = 0; j < u->n_taste; j++) {
        if (x < u->taste_cum[j]) {
            return u->taste[j];
        }
    }
    return u->taste[u->n_taste - 1];
}

static int32_t choose_view_item(struct recd_shopgen *g, struct sg_session *s)
{
    struct sg_rng *r = &g->rng;
    const struct sg_user *u = &g->users[s->user];
    double x = rng_unif(r);
    if (s->prev_item >= 0) {
        const struct sg_item *prev = &g->items[s->prev_item];
        const struct sg_cat *c = &g->cats[prev->cat];
        if (x < 0.08 && s->n_viewed > 1) {
            return s->viewed[rng_below(r, s->n_viewed)];
        }
        if (x < 0.50 && c->n > 1) {
            int32_t off = 1 + (int32_t)rng_below(r, 2);
            int32_t pos = prev->pos + (rng_unif(r) < 0.5 ? -off : off);
            if (pos < 0) {
                pos = prev->pos + off;
            }
            if (pos >= c->n) {
                pos = prev->pos - off;
            }
            if (pos < 0) {
                pos = 0;
            }
            if (pos >= c->n) {
                pos = c->n - 1;
            }
            return c->sorted[pos];
        }
        if (x < 0.72) {
            return pick_in_cat(g, prev->cat, u->band);
        }
    }
    return pick_in_cat(g, taste_cat(g, u), u->band);
}

static void remember_view(struct sg_session *s, int32_t item)
{
    s->prev_item = item;
    if (s->n_viewed < SG_MAX_VIEWED) {
        s->viewed[s->n_viewed++] = item;
    } else {
        s->viewed[item % SG_MAX_VIEWED] = item;
    }
}

/* ---- event building -------------------------------------------------------------------------- */
static int fill_context(struct recd_shopgen *g, const struct sg_session *s, int64_t ts,
                        struct recd_arena *a, struct recd_click *ck)
{
    struct recd_kv *kv = recd_arena_alloc(a, 3 * sizeof *kv);
    if (!kv) {
        return RECD_ENOMEM;
    }
    int64_t h = (ts / 3600000 + g->users[s->user].tz) % 24;
    if (h < 0) {
        h += 24;
    }
    kv[0].key = a_str(a, "channel");
    kv[0].value = a_str(a, CHANNELS[s->channel]);
    kv[1].key = a_str(a, "device");
    kv[1].value = a_str(a, DEVICES[s->device]);
    kv[2].key = a_str(a, "local_hour");
    kv[2].value = a_printf(a, "%d", (int)h);
    for (int i = 0; i < 3; i++) {
        if (!kv[i].key || !kv[i].value) {
            return RECD_ENOMEM;
        }
    }
    ck->context = kv;
    ck->n_context = 3;
    return RECD_OK;
}

static int emit_item(struct recd_shopgen *g, int32_t i, int64_t ts, struct recd_arena *a,
                     struct recd_event *ev)
{
    const struct sg_item *it = &g->items[i];
    const struct sg_cat *c = &g->cats[it->cat];
    const struct leaf_def *L = c->leaf;
    struct recd_item *o = &ev->u.item;

    ev->kind = RECD_KIND_ITEM;
    ev->ts_ms = ts;
    o->item_id = item_id(g, a, i);
    ev->event_id = o->item_id;
    o->title = a_printf(a, "%s %s %s %s", L->brands[it->brand], L->nouns[it->noun],
                        L->features[it->feat], L->variants[it->var]);
    o->description = a_printf(a, "%s %s by %s, %s. Part of our %s range.", L->features[it->feat],
                              L->nouns[it->noun], L->brands[it->brand], L->variants[it->var],
                              c->leaf_name);
    o->category = recd_arena_alloc(a, (size_t)c->n_path * sizeof *o->category);
    if (!o->item_id || !o->title || !o->description || !o->category) {
        return RECD_ENOMEM;
    }
    for (int k = 0; k < c->n_path; k++) {
        o->category[k] = a_str(a, k == c->n_path - 1 ? c->leaf_name : L->path[k]);
        if (!o->category[k]) {
            return RECD_ENOMEM;
        }
    }
    o->n_category = (uint32_t)c->n_path;
    o->brand = a_str(a, L->brands[it->brand]);
    if (!o->brand) {
        return RECD_ENOMEM;
    }
    o->price = it->price;
    o->in_stock = it->in_stock;
    o->updated_ts = ts;
    o->removed = 0;
    return RECD_OK;
}

static int emit_common(struct recd_shopgen *g, const struct sg_session *s, struct recd_arena *a,
                       struct recd_event *ev, int kind)
{
    ev->kind = kind;
    ev->ts_ms = s->next_ts;
    ev->event_id = a_printf(a, "g%" PRIu64 "-%" PRId64, g->conf.seed, g->act_no);
    ev->user_id = a_printf(a, "u%" PRId32, s->user);
    return ev->event_id && ev->user_id ? RECD_OK : RECD_ENOMEM;
}

static int emit_click(struct recd_shopgen *g, const struct sg_session *s, int32_t item, int type,
                      int source, struct recd_arena *a, struct recd_event *ev)
{
    struct recd_click *ck = &ev->u.click;
    if (emit_common(g, s, a, ev, RECD_KIND_CLICK) != RECD_OK) {
        return RECD_ENOMEM;
    }
    ck->item_id = item_id(g, a, item);
    ck->type = type;
    ck->source = source;
    ck->session_id = a_printf(a, "g%" PRIu64 "-s%" PRId64, g->conf.seed, s->sess_no);
    ck->query_id = NULL;
    if (source == RECD_SRC_SEARCH && s->query_no >= 0) {
        ck->query_id = a_printf(a, "g%" PRIu64 "-%" PRId64, g->conf.seed, s->query_no);
        if (!ck->query_id) {
            return RECD_ENOMEM;
        }
    }
    if (!ck->item_id || !ck->session_id) {
        return RECD_ENOMEM;
    }
    return fill_context(g, s, s->next_ts, a, ck);
}

static int emit_query(struct recd_shopgen *g, struct sg_session *s, struct recd_arena *a,
                      struct recd_event *ev)
{
    struct sg_rng *r = &g->rng;
    const struct sg_user *u = &g->users[s->user];
    int32_t cat = (s->prev_item >= 0 && rng_unif(r) < 0.5) ? g->items[s->prev_item].cat
                                                           : taste_cat(g, u);
    int32_t target = pick_in_cat(g, cat, u->band);
    const struct sg_item *it = &g->items[target];
    const struct sg_cat *c = &g->cats[it->cat];
    const struct leaf_def *L = c->leaf;
    char buf[256];

    switch (rng_below(r, 4)) {
    case 0:  snprintf(buf, sizeof buf, "%s", L->nouns[it->noun]); break;
    case 1:  snprintf(buf, sizeof buf, "%s %s", L->features[it->feat], L->nouns[it->noun]); break;
    case 2:  snprintf(buf, sizeof buf, "%s %s", L->brands[it->brand], L->nouns[it->noun]); break;
    default: snprintf(buf, sizeof buf, "%s %s", L->nouns[it->noun], L->variants[it->var]); break;
    }
    if (emit_common(g, s, a, ev, RECD_KIND_QUERY) != RECD_OK) {
        return RECD_ENOMEM;
    }
    ev->u.query.text = a_lower(a, buf);
    if (!ev->u.query.text) {
        return RECD_ENOMEM;
    }

    /* results: the target's product family in the category's attribute order */
    int32_t from = it->pos - 3;
    if (from < 0) {
        from = 0;
    }
    int32_t to = from + SG_MAX_SHOWN;
    if (to > c->n) {
        to = c->n;
    }
    s->n_shown = 0;
    for (int32_t p = from; p < to; p++) {
        s->shown[s->n_shown++] = c->sorted[p];
    }
    ev->u.query.shown = recd_arena_alloc(a, (size_t)s->n_shown * sizeof *ev->u.query.shown);
    if (!ev->u.query.shown) {
        return RECD_ENOMEM;
    }
    for (int k = 0; k < s->n_shown; k++) {
        ev->u.query.shown[k] = item_id(g, a, s->shown[k]);
        if (!ev->u.query.shown[k]) {
            return RECD_ENOMEM;
        }
    }
    ev->u.query.n_shown = (uint32_t)s->n_shown;
    s->query_no = g->act_no;
    s->search_left = 1 + (rng_unif(r) < 0.4);
    return RECD_OK;
}

static int emit_purchase(struct recd_shopgen *g, struct sg_session *s, struct recd_arena *a,
                         struct recd_event *ev)
{
    struct sg_rng *r = &g->rng;
    struct recd_purchase *p = &ev->u.purchase;
    if (emit_common(g, s, a, ev, RECD_KIND_PURCHASE) != RECD_OK) {
        return RECD_ENOMEM;
    }
    p->order_id = a_printf(a, "g%" PRIu64 "-o%" PRId64, g->conf.seed, g->next_order_no++);
    p->currency = a_str(a, "EUR");
    p->lines = recd_arena_alloc(a, (size_t)s->n_cart * sizeof *p->lines);
    if (!p->order_id || !p->currency || !p->lines) {
        return RECD_ENOMEM;
    }
    p->n_lines = 0;
    for (int k = 0; k < s->n_cart; k++) {
        /* merge repeated add-to-carts of one item into its line */
        int merged = 0;
        for (uint32_t j = 0; j < p->n_lines; j++) {
            if (s->cart[j] == s->cart[k]) {
                p->lines[j].quantity++;
                merged = 1;
                break;
            }
        }
        if (merged) {
            continue;
        }
        s->cart[p->n_lines] = s->cart[k];
        struct recd_purchase_line *ln = &p->lines[p->n_lines++];
        ln->item_id = item_id(g, a, s->cart[k]);
        if (!ln->item_id) {
            return RECD_ENOMEM;
        }
        ln->quantity = rng_unif(r) < 0.85 ? 1 : 2;
        ln->unit_price = g->items[s->cart[k]].price;
    }
    return RECD_OK;
}

/* After an event: decide the session's next action and its time, or end it (returns 0). */
static int schedule_next(struct recd_shopgen *g, struct sg_session *s)
{
    struct sg_rng *r = &g->rng;
    double mean = g->conf.mean_dwell_s;
    if (s->action == ACT_PURCHASE) {
        return 0;
    }
    if (s->action == ACT_SEARCH_CLICK && s->search_left > 0 && s->cart_item < 0) {
        s->next_ts += dwell_ms(g, mean * 0.6);
        return 1;
    }
    if (s->cart_item >= 0) {
        s->action = ACT_CART;
        s->next_ts += 2000 + rng_below(r, 18000);
        return 1;
    }
    if (s->action == ACT_QUERY) {
        s->action = ACT_SEARCH_CLICK;
        s->next_ts += 3000 + rng_below(r, 20000);
        return 1;
    }
    if (--s->steps_left <= 0) {
        if (s->n_cart > 0 && rng_unif(r) < g->conf.p_purchase) {
            s->action = ACT_PURCHASE;
            s->next_ts += 30000 + rng_below(r, 150000);
            return 1;
        }
        return 0;
    }
    s->action = rng_unif(r) < g->conf.p_query ? ACT_QUERY : ACT_VIEW;
    s->next_ts += dwell_ms(g, mean);
    return 1;
}

static int emit_activity(struct recd_shopgen *g, struct recd_arena *a, struct recd_event *ev)
{
    struct sg_rng *r = &g->rng;
    int32_t slot = g->heap[0];
    struct sg_session *s = &g->sess[slot];
    int rc = RECD_OK;

    switch (s->action) {
    case ACT_QUERY: rc = emit_query(g, s, a, ev); break;
    case ACT_CART:
        rc = emit_click(g, s, s->cart_item, RECD_CLICK_CART, RECD_SRC_BROWSE, a, ev);
        if (s->n_cart < SG_MAX_CART) {
            s->cart[s->n_cart++] = s->cart_item;
        }
        s->cart_item = -1;
        break;
    case ACT_PURCHASE:     rc = emit_purchase(g, s, a, ev); break;
    case ACT_SEARCH_CLICK:
    case ACT_VIEW:         {
        int32_t item;
        int src;
        if (s->action == ACT_SEARCH_CLICK && s->n_shown > 0) {
            int k = 0;
            while (k < s->n_shown - 1 && rng_unif(r) < 0.45) {
                k++;
            }
            item = s->shown[k];
            src = RECD_SRC_SEARCH;
            s->search_left--;
        } else {
            item = choose_view_item(g, s);
            src = rng_unif(r) < 0.05 ? RECD_SRC_RECS : RECD_SRC_BROWSE;
        }
        rc = emit_click(g, s, item, RECD_CLICK_VIEW, src, a, ev);
        remember_view(s, item);
        if (rng_unif(r) < g->conf.p_cart) {
            s->cart_item = item;
        }
        break;
    }
    default: rc = RECD_ERR;
    }
    if (rc != RECD_OK) {
        return rc;
    }
    g->act_no++;

    if (!schedule_next(g, s)) {
        int64_t now = s->next_ts;
        g->users[s->user].active--;
        start_session(g, s, now + (int64_t)rng_exp(r, g->conf.mean_dwell_s * 500.0));
    }
    heap_down(g, 0);
    return RECD_OK;
}

int recd_shopgen_new(const struct recd_shopgen_conf *conf, struct recd_shopgen **out, char *errstr,
                     size_t errlen)
{
    struct recd_shopgen *g = NULL;
    int rc;

    *out = NULL;
    rc = check_conf(conf, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    g = calloc(1, sizeof *g);
    if (!g) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "shopgen: out of memory");
    }
    g->conf = *conf;
    rc = build_catalogue(g);
    if (rc == RECD_OK) {
        rc = build_users(g);
    }
    if (rc != RECD_OK) {
        goto fail;
    }
    g->sess = calloc((size_t)conf->concurrency, sizeof *g->sess);
    g->heap = malloc((size_t)conf->concurrency * sizeof *g->heap);
    if (!g->sess || !g->heap) {
        rc = RECD_ENOMEM;
        goto fail;
    }
    if (conf->turnover_per_day > 0) {
        g->gen = calloc((size_t)conf->n_items, sizeof *g->gen);
        g->turn = malloc((size_t)conf->n_items * sizeof *g->turn);
        if (!g->gen || !g->turn) {
            rc = RECD_ENOMEM;
            goto fail;
        }
        rng_seed(&g->trng, conf->seed, 4);
        g->next_turn_ts = conf->start_ts_ms + 86400000LL;
    }
    rng_seed(&g->rng, conf->seed, 3);
    for (int k = 0; k < conf->concurrency; k++) {
        /* first sessions start within the first minute after the catalogue */
        start_session(g, &g->sess[k], conf->start_ts_ms + 1000 + rng_below(&g->rng, 60000));
        g->heap[g->n_heap] = k;
        heap_up(g, g->n_heap);
        g->n_heap++;
    }
    *out = g;
    return RECD_OK;
fail:
    recd_shopgen_destroy(g);
    return recd_seterr(errstr, errlen, rc, "shopgen: %s", recd_strerror(rc));
}

/* The next event of a day boundary's replacements (1), or 0 when there is none now: a
 * boundary passed by the next activity event draws its slots first. */
static int emit_turnover(struct recd_shopgen *g, struct recd_arena *a, struct recd_event *ev)
{
    int32_t slot;

    if (g->turn_pos == 2 * g->n_turn) {
        int32_t ni = (int32_t)g->conf.n_items;

        if (g->gen == NULL || g->sess[g->heap[0]].next_ts < g->next_turn_ts) {
            return 0;
        }
        g->turn_ts = g->next_turn_ts;
        g->next_turn_ts += 86400000LL;
        g->n_turn = (int32_t)(g->conf.turnover_per_day * (double)ni + 0.5);
        if (g->n_turn > ni) {
            g->n_turn = ni;
        }
        for (int32_t k = 0; k < g->n_turn; k++) {
            g->turn[k] = (int32_t)rng_below(&g->trng, ni);
        }
        g->turn_pos = 0;
        if (g->n_turn == 0) {
            return 0;
        }
    }
    slot = g->turn[g->turn_pos / 2];
    if (g->turn_pos % 2 == 0) { /* the tombstone of the slot's current item */
        ev->kind = RECD_KIND_ITEM;
        ev->ts_ms = g->turn_ts;
        ev->u.item.item_id = item_id(g, a, slot);
        ev->event_id = ev->u.item.item_id;
        ev->u.item.removed = 1;
        ev->u.item.updated_ts = g->turn_ts;
        if (ev->u.item.item_id == NULL) {
            return RECD_ENOMEM;
        }
    } else {
        g->gen[slot]++;
        g->replaced++;
        if (emit_item(g, slot, g->turn_ts, a, ev) != RECD_OK) {
            return RECD_ENOMEM;
        }
    }
    g->turn_pos++;
    return 1;
}

int recd_shopgen_next(struct recd_shopgen *g, struct recd_arena *arena, struct recd_event *ev)
{
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->partition = -1;
    ev->offset = -1;
    if (g->emitted < g->conf.n_items) {
        if (emit_item(g, (int32_t)g->emitted, g->conf.start_ts_ms, arena, ev) != RECD_OK) {
            return RECD_ENOMEM;
        }
        g->emitted++;
        return 1;
    }
    if (g->act_no >= g->conf.n_events) {
        return 0;
    }
    rc = emit_turnover(g, arena, ev);
    if (rc != 0) {
        if (rc == 1) {
            g->emitted++;
        }
        return rc;
    }
    rc = emit_activity(g, arena, ev);
    if (rc != RECD_OK) {
        return rc;
    }
    g->emitted++;
    return 1;
}

int64_t recd_shopgen_count(const struct recd_shopgen *g)
{
    return g->emitted;
}

int64_t recd_shopgen_item_ids(const struct recd_shopgen *g)
{
    return g->conf.n_items + g->replaced;
}

void recd_shopgen_destroy(struct recd_shopgen *g)
{
    if (!g) {
        return;
    }
    if (g->cats) {
        for (int k = 0; k < g->conf.n_categories; k++) {
            free(g->cats[k].leaf_name);
            free(g->cats[k].sorted);
            free(g->cats[k].bypop);
            free(g->cats[k].cum);
        }
    }
    free(g->cats);
    free(g->items);
    free(g->live_cats);
    free(g->live_cum);
    free(g->users);
    free(g->user_cum);
    free(g->sess);
    free(g->heap);
    free(g->gen);
    free(g->turn);
    free(g);
}
