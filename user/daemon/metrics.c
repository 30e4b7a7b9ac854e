// SPDX-License-Identifier: GPL-2.0-only
/*
 * metrics.c - the /metrics endpoint of `sluice run` (metrics.h).
 *
 * libmicrohttpd parses HTTP and runs in a pool of its own threads, each an
 * epoll loop over many connections: a client that sends one byte a second
 * holds one connection slot and nothing else, idle connections are closed
 * after SL_METRICS_TIMEOUT_S, at most SL_METRICS_CONN_LIMIT are open at
 * once.  The daemon's own loop (run.c: signals, the DNS fallback ring,
 * name resolution) never waits for it.  A scrape reads the pinned maps
 * (kernel/snapshot.c) without the instance lock, so neither the data path
 * nor an apply waits for a scrape either.  GET and HEAD on /metrics only;
 * every other path is 404, other methods on /metrics 405.  Scrapes within
 * SL_METRICS_CACHE_MS of one another share one read.
 *
 * A bound on connections alone would let 1,000 idle or slow clients keep
 * every scrape out: connguard.c closes the connection that waited longest
 * for its request when a new one comes, and any that waited too long.
 *
 * The listening socket is bound here, before MHD starts, so that an
 * address in use is reported as such, before anything is applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/connguard.h"
#include "daemon/feeds.h"
#include "daemon/metrics.h"
#include "kernel/kernel.h"
#include "util/prom.h"

static struct sockaddr_storage bind_ss;
static socklen_t bind_len;
static char bind_spec[80];
static struct MHD_Daemon *mhd;
static time_t last_err;

int sl_metrics_set(const char *spec)
{
	char host[64];
	const char *port;
	char *end;
	unsigned long p;

	if (!spec || strlen(spec) >= sizeof(host))
		return -EINVAL;
	if (spec[0] == '[') {                           /* [ADDR6]:PORT */
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - spec - 1), spec + 1);
		port = rb + 2;
	} else if ((port = strrchr(spec, ':'))) {       /* ADDR:PORT, :PORT */
		snprintf(host, sizeof(host), "%.*s", (int)(port - spec), spec);
		port++;
	} else {                                        /* PORT */
		host[0] = '\0';
		port = spec;
	}
	p = strtoul(port, &end, 10);
	if (!*port || *end || p == 0 || p > 65535)
		return -EINVAL;
	memset(&bind_ss, 0, sizeof(bind_ss));
	if (!host[0] || inet_pton(AF_INET, host, &((struct sockaddr_in *)&bind_ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&bind_ss;

		if (!host[0])
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		bind_len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&bind_ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		bind_len = sizeof(*s6);
	}
	{
		char a[INET6_ADDRSTRLEN] = "";

		if (bind_ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&bind_ss)->sin_addr, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bind_ss)->sin6_addr, a, sizeof(a));
		snprintf(bind_spec, sizeof(bind_spec), bind_ss.ss_family == AF_INET ? "%s:%lu" : "[%s]:%lu",
			 a, p);
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The last text, for SL_METRICS_CACHE_MS: a burst of scrapes (200 at once,
 * several Prometheus replicas) costs one read of the maps, not one each.
 * The lock is the metrics threads' own; nothing else waits for it.
 */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sl_buf cache;
static uint64_t cache_ms;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A response holding a copy of the cached text if it is fresh, else NULL. */
static struct MHD_Response *from_cache(void)
{
	struct MHD_Response *r = NULL;

	pthread_mutex_lock(&cache_mu);
	if (cache.p && mono_ms() - cache_ms < SL_METRICS_CACHE_MS)
		r = MHD_create_response_from_buffer(cache.len, cache.p, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&cache_mu);
	return r;
}

static void to_cache(const struct sl_buf *b, uint64_t at)
{
	char *p = malloc(b->len ? b->len : 1);

	if (!p)
		return;
	memcpy(p, b->p, b->len);
	pthread_mutex_lock(&cache_mu);
	free(cache.p);
	cache.p = p;
	cache.len = b->len;
	cache_ms = at;
	pthread_mutex_unlock(&cache_mu);
}

/* The endpoint's own connections (connguard.c), after the instances' families. */
static void guard_metrics(struct sl_buf *b)
{
	struct sl_cg_stats s;

	sl_cg_stats(&s);
	sl_buf_printf(b, "# HELP sluice_metrics_connections Connections open to this metrics endpoint.\n"
		      "# TYPE sluice_metrics_connections gauge\n"
		      "sluice_metrics_connections %" PRIu64 "\n"
		      "# HELP sluice_metrics_connections_closed_total Connections the endpoint closed to keep "
		      "answering scrapes: full (the longest-waiting, to make room), slow (no request within "
		      "%d ms).\n"
		      "# TYPE sluice_metrics_connections_closed_total counter\n"
		      "sluice_metrics_connections_closed_total{reason=\"full\"} %" PRIu64 "\n"
		      "sluice_metrics_connections_closed_total{reason=\"slow\"} %" PRIu64 "\n",
		      s.open, SL_CG_REQUEST_MS, s.closed_full, s.closed_slow);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_sz, void **req)
{
	struct MHD_Response *r;
	struct sl_buf b = {0};
	enum MHD_Result ret;
	uint64_t t0;
	int e;

	(void)cls;
	(void)version;
	(void)upload;
	if (!*req) {                    /* headers are in; the body (if any) follows */
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

		sl_cg_busy(ci ? ci->socket_context : NULL);
		*req = (void *)1;
		return MHD_YES;
	}
	if (*upload_sz) {               /* a body: ignored */
		*upload_sz = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: sluice serves /metrics only\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD /metrics\n");
	if ((r = from_cache()))
		goto send;
	t0 = mono_ms();
	e = sl_prom_collect(NULL, &b);
	if (e) {
		time_t now = time(NULL);

		sl_buf_free(&b);
		if (now - last_err >= 60) {     /* once a minute at most */
			last_err = now;
			fprintf(stderr, "sluice run: metrics: cannot read the counters: %s\n", strerror(-e));
		}
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the counters\n");
	}
	guard_metrics(&b);
	sl_run_feeds_prom(&b);         /* the URL sets (daemon/feeds.c) */
	to_cache(&b, t0);
	r = MHD_create_response_from_buffer(b.len, b.p ? b.p : (void *)"", b.p ? MHD_RESPMEM_MUST_FREE
									: MHD_RESPMEM_PERSISTENT);
	if (!r) {
		sl_buf_free(&b);
		return MHD_NO;
	}
send:
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, SL_PROM_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_conn(void *cls, struct MHD_Connection *c, void **ctx,
		    enum MHD_ConnectionNotificationCode what)
{
	(void)cls;
	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		*ctx = ci ? sl_cg_started(ci->connect_fd) : NULL;
	} else if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		sl_cg_closed(*ctx);
		*ctx = NULL;
	}
}

static void on_done(void *cls, struct MHD_Connection *c, void **req,
		    enum MHD_RequestTerminationCode why)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)cls;
	(void)req;
	if (why == MHD_REQUEST_TERMINATED_COMPLETED_OK && ci)
		sl_cg_done(ci->socket_context);          /* keep-alive: waits again */
}

/* The sweep of connguard.c, four times a second until sl_metrics_stop. */
static pthread_t sweeper;
static bool sweeping;
static volatile int sweep_stop;

static void *sweep_loop(void *arg)
{
	(void)arg;
	while (!sweep_stop) {
		struct timespec d = { 0, 250000000L };

		nanosleep(&d, NULL);
		sl_cg_sweep();
	}
	return NULL;
}

/* Bound to a loopback address: every client is local (no per-address cap). */
static bool loopback(void)
{
	if (bind_ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&bind_ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&bind_ss)->sin6_addr);
}

int sl_metrics_start(void)
{
	int fd, one = 1, e;

	if (!bind_len || mhd)
		return 0;
	fd = socket(bind_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = -errno;
		fprintf(stderr, "sluice run: --metrics %s: cannot open a socket: %s\n", bind_spec, strerror(-e));
		return e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&bind_ss, bind_len) || listen(fd, SL_METRICS_BACKLOG)) {
		e = -errno;
		if (e == -EADDRINUSE)
			fprintf(stderr, "sluice run: --metrics %s: the address is already in use; stop what "
				"listens there (ss -ltnp shows it) or give another port, e.g. --metrics "
				"127.0.0.1:9731\n", bind_spec);
		else if (e == -EADDRNOTAVAIL)
			fprintf(stderr, "sluice run: --metrics %s: no interface has this address; give one "
				"of this host's addresses (ip -br addr), or 127.0.0.1\n", bind_spec);
		else
			fprintf(stderr, "sluice run: --metrics %s: cannot listen: %s\n", bind_spec,
				strerror(-e));
		close(fd);
		return e;
	}
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
			       on_request, NULL,
			       MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			       MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)SL_METRICS_THREADS,
			       MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SL_METRICS_CONN_LIMIT,
			       MHD_OPTION_PER_IP_CONNECTION_LIMIT, loopback() ? 0u : (unsigned int)SL_METRICS_PER_IP,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SL_METRICS_TIMEOUT_S,
			       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SL_METRICS_MEM_LIMIT,
			       MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL,
			       MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
			       MHD_OPTION_END);
	if (!mhd) {
		fprintf(stderr, "sluice run: --metrics %s: cannot start the HTTP server (libmicrohttpd)\n",
			bind_spec);
		close(fd);
		return -EIO;
	}
	sweep_stop = 0;
	sweeping = pthread_create(&sweeper, NULL, sweep_loop, NULL) == 0;
	fprintf(stderr, "sluice run: metrics: serving http://%s/metrics\n", bind_spec);
	return 0;
}

void sl_metrics_stop(void)
{
	if (sweeping) {
		sweep_stop = 1;
		pthread_join(sweeper, NULL);
		sweeping = false;
	}
	if (mhd)
		MHD_stop_daemon(mhd);   /* joins its threads, closes the socket */
	mhd = NULL;
	sl_buf_free(&cache);
}
