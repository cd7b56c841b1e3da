/*
 * metrics.h — the Prometheus metrics registry (counters, gauges, histograms; the text
 * exposition format) and the health flags behind /healthz and /readyz. The registry owns its
 * series; serving them over HTTP is the daemon's (daemon/http.h).
 *
 * Series are identified by name + a label string ("topic=\"shop.clicks\",reason=\"avro\"");
 * no per-user labels ever. Counters and gauges are doubles behind one mutex: the processing
 * loop aggregates per batch, so the lock is taken a few times per batch, not per record.
 */
#ifndef RECD_METRICS_H
#define RECD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct recd_metrics;

enum recd_metric_type { RECD_M_COUNTER, RECD_M_GAUGE, RECD_M_HISTOGRAM };

struct recd_metrics *recd_metrics_new(void);
void recd_metrics_destroy(struct recd_metrics *m);

/* Declare a family (HELP/TYPE). Every family is declared before its first series: one used
 * without a declaration is logged (once) and rendered as untyped. */
void recd_metrics_declare(struct recd_metrics *m, const char *name, int type, const char *help);
/* Create the series if it does not exist yet, at 0 (a histogram when the family is declared
 * as one): known label sets are exposed before their first event, so rate() and alerts see
 * them from the start. An existing series keeps its value. */
void recd_metrics_touch(struct recd_metrics *m, const char *name, const char *labels);
/* Drop a series (e.g. the lag of a partition no longer assigned). */
void recd_metrics_remove(struct recd_metrics *m, const char *name, const char *labels);
/* Gauge `name` (declared by the caller) = bytes allocated on disk under dir (st_blocks, as du
 * counts them, preallocated space included), computed when a scrape renders the registry and
 * the value is older than min_interval_s. At most 4 directories. RECD_OK or RECD_ENOMEM /
 * RECD_EINVAL. */
int recd_metrics_watch_dir(struct recd_metrics *m, const char *name, const char *dir,
                           int min_interval_s);
void recd_metrics_add(struct recd_metrics *m, const char *name, const char *labels, double v);
void recd_metrics_set(struct recd_metrics *m, const char *name, const char *labels, double v);
/* Histogram observation (seconds; fixed exponential buckets 100us..60s). */
void recd_metrics_observe(struct recd_metrics *m, const char *name, const char *labels, double v);
/* n observations under one lock (per-batch aggregation of per-record latencies). */
void recd_metrics_observe_many(struct recd_metrics *m, const char *name, const char *labels,
                               const double *v, size_t n);
double recd_metrics_get(struct recd_metrics *m, const char *name, const char *labels);

/* Health flags read by /healthz (loop alive recently) and /readyz. */
void recd_metrics_heartbeat(struct recd_metrics *m);        /* from the processing loop */
void recd_metrics_set_ready(struct recd_metrics *m, int ready, const char *why);
/* Milliseconds since the last heartbeat (or since recd_metrics_new). */
int64_t recd_metrics_heartbeat_age_ms(struct recd_metrics *m);
/* The ready flag; the reason given with it is copied into why (truncated to whylen). */
int recd_metrics_readiness(struct recd_metrics *m, char *why, size_t whylen);

/* Render the exposition text into a malloc'd string (caller frees). Rendering is a scrape:
 * it first refreshes the process_* series of the Prometheus client libraries from /proc/self
 * (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds) and the watched directories.
 * recd_ready (gauge, 1/0) follows recd_metrics_set_ready. */
char *recd_metrics_render(struct recd_metrics *m);

/* Parse metrics.listen ("IPV4:PORT", port 0..65535, digits only) — the one parser of recd
 * (config check, the HTTP endpoint daemon/http.c) and recctl status. host gets the address
 * text. RECD_ECONFIG with a message naming the value otherwise. */
int recd_listen_parse(const char *listen, char *host, size_t hostlen, int *port, char *errstr,
                      size_t errlen);

#endif
