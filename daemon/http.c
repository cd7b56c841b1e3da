/*
 * http.c — the process's HTTP endpoint (http.h) on libmicrohttpd: the request handler and the
 * server's start and stop. What it serves comes from the metrics registry (core/metrics.h);
 * the endpoint owns only the libmicrohttpd daemon, and borrows the registry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "recd.h"

struct recd_http {
    struct MHD_Daemon *httpd;   /* owned; its handler borrows the registry */
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                               char *body /* malloc'd, freed by MHD */)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
                                                             MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct recd_metrics *m = cls;
    char *body;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return respond(c, 405, "text/plain", recd_strdup("method not allowed\n"));
    }
    if (strcmp(url, "/metrics") == 0) {
        body = recd_metrics_render(m);
        return body ? respond(c, 200, "text/plain; version=0.0.4", body) : MHD_NO;
    }
    if (strcmp(url, "/healthz") == 0) {
        int64_t age_ms = recd_metrics_heartbeat_age_ms(m);
        char tmp[128];

        snprintf(tmp, sizeof(tmp), "%s: loop heartbeat %lld ms ago\n",
                 age_ms < 30000 ? "ok" : "stalled", (long long)age_ms);
        return respond(c, age_ms < 30000 ? 200 : 503, "text/plain", recd_strdup(tmp));
    }
    if (strcmp(url, "/readyz") == 0) {
        char tmp[192], why[128];
        int ready = recd_metrics_readiness(m, why, sizeof(why));

        snprintf(tmp, sizeof(tmp), "%s: %s\n", ready ? "ready" : "not ready", why);
        return respond(c, ready ? 200 : 503, "text/plain", recd_strdup(tmp));
    }
    return respond(c, 404, "text/plain",
                   recd_strdup("not found: try /metrics, /healthz, /readyz\n"));
}

/* libmicrohttpd's own messages go to recd's log (its stderr lines, e.g. "Failed to bind to
 * port 0", named neither the address nor the cause) */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    RLOG_DEBUG(RECD_LOG_METRICS, "libmicrohttpd: %s", msg);
}

/* Why the address cannot be served: bind it once more to read errno. */
static const char *bind_error(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;

    if (fd < 0) {
        return strerror(errno);
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        e = errno;
    }
    close(fd);
    return e ? strerror(e) : "libmicrohttpd could not start (see the debug log)";
}

int recd_http_serve(struct recd_metrics *m, const char *listen, struct recd_http **out,
                    int *port_out, char *errstr, size_t errlen)
{
    struct sockaddr_in sa;
    char host[128], err[512];
    int port = 0;
    const union MHD_DaemonInfo *info;
    struct recd_http *h;

    *out = NULL;
    if (recd_listen_parse(listen, host, sizeof(host), &port, err, sizeof(err)) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "metrics.listen: %s", err);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "metrics.listen: \"%s\" is not an IPv4 address", host);
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "cannot serve metrics on %s: out of memory",
                           listen);
    }
    h->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                handler, m, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (h->httpd == NULL) {
        free(h);
        return recd_seterr(errstr, errlen, RECD_EIO,
                           "cannot serve metrics on %s: %s (metrics.listen; another process may "
                           "listen there)",
                           listen, bind_error(&sa));
    }
    info = MHD_get_daemon_info(h->httpd, MHD_DAEMON_INFO_BIND_PORT);
    if (port_out) {
        *port_out = info ? info->port : (int)port;
    }
    *out = h;
    return RECD_OK;
}

void recd_http_stop(struct recd_http *h)
{
    if (h == NULL) {
        return;
    }
    MHD_stop_daemon(h->httpd);
    free(h);
}
