/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics.h - `sluice run --metrics ADDR:PORT`: GET /metrics over HTTP
 * (libmicrohttpd) in threads of its own, away from the daemon's epoll
 * loop, so a slow or broken client never delays DNS work (README
 * "Monitoring").
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

/* Remember the address to serve on ("ADDR:PORT", "[ADDR6]:PORT", ":PORT" or
 * "PORT": 127.0.0.1).  Returns 0 or -EINVAL (not such an address). */
int sl_metrics_set(const char *spec);

/* Bind and start serving, if an address was set (a no-op otherwise).
 * Returns 0 or a negative errno, printed with the address and what to do. */
int sl_metrics_start(void);
void sl_metrics_stop(void);

/* Limits (README "Monitoring"). */
#define SL_METRICS_CONN_LIMIT   512     /* connections at once; more are refused (but see
					 * connguard.h: at most 256 wait for their request) */
#define SL_METRICS_PER_IP       16      /* ... from one client address, unless bound to loopback */
#define SL_METRICS_TIMEOUT_S    10      /* a connection idle this long is closed */
#define SL_METRICS_MEM_LIMIT    16384   /* bytes of request per connection */
#define SL_METRICS_THREADS      2       /* MHD's own threads */
#define SL_METRICS_BACKLOG      1024    /* connections the kernel queues for accept: a burst of
					 * connects must not push a scraper's SYN into a retry */
#define SL_METRICS_CACHE_MS     200     /* scrapes this close share one read of the maps */

#endif
