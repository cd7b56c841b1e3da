/*
 * ownership.h — which instance publishes which users when several recd instances share a
 * consumer group with kafka.learn_from = "all" (docs/ARCHITECTURE.md, "Scale-out").
 *
 * Every instance reads every partition of the event topics and applies every event to its own
 * state (replicated learning: one model learned from the whole stream on each instance). The
 * consumer group only decides who *publishes*: the owner of partition number p of the clicks
 * topic publishes the lists of the users whose events arrive on partition p of every event
 * topic (all event topics are partitioned by user id with the same partition count). An event
 * is therefore one of
 *
 *   LOUD    owned partition, at or after the offset the previous owner committed: applied and
 *           its user's list is published;
 *   SILENT  applied, nothing published (another instance publishes it, or already did);
 *   HOLD    not owned and more than `ahead` records past what its owner committed: kept in
 *           memory until the owner's committed offset comes closer.
 *
 * A replica applies the events of a partition it does not own up to `ahead` records past the
 * owner's commit (so its model does not trail the owners). When it becomes the partition's
 * owner, the users of the events it applied past the previous owner's final commit are the
 * ones whose lists nobody published: the daemon reads those records' keys back from Kafka (it
 * knows the range: from recd_own_pub_from to recd_own_took) and publishes their lists once
 * more, from the state they have now — also after a restart, which no in-memory journal would
 * survive. With ahead = 0 a replica applies only what the owner committed.
 *
 * The owner commits, per partition, the next offset of everything whose output the broker has
 * acknowledged (recd_own_batch_*), in batch order even when acknowledgements arrive out of order.
 *
 * No librdkafka here: held records are opaque pointers the caller frees through `free_msg`.
 * Not thread-safe; the daemon's loop owns it.
 */
#ifndef RECD_OWNERSHIP_H
#define RECD_OWNERSHIP_H

#include <stddef.h>
#include <stdint.h>

/* Slots indexed by enum recd_kind's input kinds (clicks, purchases, queries, deletions; the
 * items slot is unused: the catalogue is read in full by every instance). */
#define RECD_OWN_NKINDS 5

enum recd_own_class { RECD_OWN_LOUD = 0, RECD_OWN_SILENT = 1, RECD_OWN_HOLD = 2 };

struct recd_own;

/* n_partitions: of every event topic (>= 1). free_msg frees a held record (may be NULL). */
struct recd_own *recd_own_new(int32_t n_partitions, void (*free_msg)(void *msg));
/* Frees every held record. NULL is fine. */
void recd_own_destroy(struct recd_own *o);

int32_t recd_own_n_partitions(const struct recd_own *o);

/* Partition p is now this instance's: events of kind k at offsets >= from[k] are LOUD, earlier
 * ones SILENT (from[k] < 0: nobody committed, everything is LOUD). With settle_until > 0 the
 * partition first *settles*: records at or after from[k] are held, the limit keeps following
 * the group's commits (the previous owner's commit of its last batch may land after the
 * assignment when the group rejected it during the rebalance), and at recd_own_settle(now >=
 * settle_until) the partition publishes from the highest of from[k] and that limit. */
void recd_own_assign(struct recd_own *o, int32_t p, const int64_t from[RECD_OWN_NKINDS],
                     int64_t settle_until);
/* Raise where partition p (owned or settling) publishes from: per kind, to from[k] where that
 * is higher. Used when the output topic shows that a previous owner, killed before it could
 * commit, published further than it committed: records below from[k] are then SILENT, and
 * nothing is LOUD until every topic of p is taken up to them (recd_own_caught_up). */
void recd_own_raise_pub_from(struct recd_own *o, int32_t p, const int64_t from[RECD_OWN_NKINDS]);
/* Whether p publishes and every event topic of p is taken up to where it publishes from. */
int recd_own_caught_up(const struct recd_own *o, int32_t p);
/* End the settling of partitions whose settle_until <= now; returns how many. */
size_t recd_own_settle(struct recd_own *o, int64_t now);
/* Whether p settles (assigned, not yet publishing). */
int recd_own_settling(const struct recd_own *o, int32_t p);
/* The first offset of (kind, p) this instance publishes (< 0: all). */
int64_t recd_own_pub_from(const struct recd_own *o, int kind, int32_t p);
/* Partition p is no longer owned; the caller committed up to next[k] (< 0: unknown), which
 * becomes the follow limit. */
void recd_own_revoke(struct recd_own *o, int32_t p, const int64_t next[RECD_OWN_NKINDS]);
/* Whether p is owned and publishing (not settling). */
int recd_own_owned(const struct recd_own *o, int32_t p);
size_t recd_own_n_owned(const struct recd_own *o);

/* How far past an owner's commit a replica applies (records per partition and topic). */
void recd_own_set_ahead(struct recd_own *o, int64_t ahead);

/* The owner's committed next offset of (k, p): a replica applies below it. Only raises. */
void recd_own_set_limit(struct recd_own *o, int kind, int32_t p, int64_t limit);
int64_t recd_own_limit(const struct recd_own *o, int kind, int32_t p);

/* Records of (kind, p) up to `next` (exclusive) went into batches (or were in the state at the
 * start). A new owner publishes a partition's records only once it has taken every event topic's
 * records of the partition up to where it publishes from: the topics are consumed at their own
 * pace, and a list computed from a state that lacks the previous owner's queries or purchases
 * would carry a lower seq than the previous owner's. */
void recd_own_took(struct recd_own *o, int kind, int32_t p, int64_t next);
int64_t recd_own_took_next(const struct recd_own *o, int kind, int32_t p);

enum recd_own_class recd_own_classify(const struct recd_own *o, int kind, int32_t p,
                                      int64_t offset);

/* Keep a HOLD record (in offset order per partition; takes ownership of msg) of `bytes` bytes
 * (the caller's measure, for recd_own_held_bytes_part). RECD_ENOMEM: the caller keeps msg.
 * *n_held: records now held for (kind, p). */
int recd_own_hold(struct recd_own *o, int kind, int32_t p, int64_t offset, void *msg,
                  size_t bytes, size_t *n_held);
size_t recd_own_n_held(const struct recd_own *o);
size_t recd_own_n_held_part(const struct recd_own *o, int kind, int32_t p);
/* The bytes of the records held for (kind, p): the sum of their recd_own_hold sizes. */
size_t recd_own_held_bytes_part(const struct recd_own *o, int kind, int32_t p);

/* Hand held records that are no longer HOLD to take(), in offset order per partition, with
 * their class, at most `max` of them; take() owns each afterwards. Returns the number
 * released. */
size_t recd_own_release(struct recd_own *o, size_t max,
                        void (*take)(void *ctx, void *msg, int kind, int32_t p,
                                     enum recd_own_class cls),
                        void *ctx);

/* Output acknowledgement, in batch order. A batch's number comes from batch_begin; its
 * offsets (next offset per partition it consumed) from batch_offset; batch_done marks its
 * output acknowledged (or nothing to acknowledge). Offsets of a batch become `acked` once it
 * and every earlier batch are done. batch_abort drops the newest batch (it did not commit). */
int recd_own_batch_begin(struct recd_own *o, uint64_t *seq);
void recd_own_batch_offset(struct recd_own *o, uint64_t seq, int kind, int32_t p, int64_t next);
void recd_own_batch_done(struct recd_own *o, uint64_t seq);
/* A batch's stamp (the daemon: the wall-clock time its output started to be produced), and
 * the stamp of the newest batch folded into `acked` (0: none yet). Every record of a later
 * batch was produced at or after it: a new owner reads the output topic from there. */
void recd_own_batch_stamp(struct recd_own *o, uint64_t seq, int64_t stamp);
int64_t recd_own_acked_stamp(const struct recd_own *o);
void recd_own_batch_abort(struct recd_own *o, uint64_t seq);
/* Next offset of (kind, p) whose output is acknowledged, < 0 if none. */
int64_t recd_own_acked(const struct recd_own *o, int kind, int32_t p);
/* The state already holds `next` for (kind, p) with its output acknowledged (at start, after
 * the outbox is recovered). */
void recd_own_set_acked(struct recd_own *o, int kind, int32_t p, int64_t next);

#endif
