/*
 * http.h — the process's HTTP endpoint: /metrics (the registry's text exposition,
 * recd_metrics_render), /healthz (loop heartbeat) and /readyz (ready flag and reason), served
 * by libmicrohttpd on its own thread.
 *
 * Ownership: the endpoint (struct recd_http) is owned by whoever started it and freed by
 * recd_http_stop; it borrows the registry, which must outlive it (stop the endpoint before
 * recd_metrics_destroy).
 */
#ifndef RECD_HTTP_H
#define RECD_HTTP_H

#include <stddef.h>

#include "metrics.h"

struct recd_http;

/* Serve /metrics, /healthz, /readyz of m on listen ("IPV4:PORT", metrics.listen). The bound
 * port is written to *port_out (useful with port 0). RECD_ECONFIG for a malformed address,
 * RECD_EIO when the server cannot start (e.g. the port is in use). */
int recd_http_serve(struct recd_metrics *m, const char *listen, struct recd_http **out,
                    int *port_out, char *errstr, size_t errlen);
/* Stop serving (waits for the server's thread) and free h. NULL is a no-op. */
void recd_http_stop(struct recd_http *h);

#endif
