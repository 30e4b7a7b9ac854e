/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * connguard.h - keeps the metrics endpoint answering scrapes when clients
 * hold its connections (connguard.c).  Internal to user/daemon.
 */
#ifndef SL_CONNGUARD_H
#define SL_CONNGUARD_H

#include <stdint.h>

/*
 * A connection is "waiting" from its accept until its request is in, and
 * again while it idles between requests; "busy" while a request is served.
 * At most SL_CG_WAITING connections wait at once: a new one beyond that
 * closes the one that has waited longest (a scraper sends its request at
 * once, so it is never the oldest); and no connection waits for its request
 * longer than SL_CG_REQUEST_MS (a client sending a byte a second).
 */
#define SL_CG_WAITING           256
#define SL_CG_REQUEST_MS        2000

struct sl_cg_conn;
/* A new connection on socket @fd; NULL when out of memory (it is closed). */
struct sl_cg_conn *sl_cg_started(int fd);
void sl_cg_busy(struct sl_cg_conn *k);         /* its request is in */
void sl_cg_done(struct sl_cg_conn *k);         /* its response went out; idles */
void sl_cg_closed(struct sl_cg_conn *k);       /* before its socket is closed */
/* Close the connections that waited longer than SL_CG_REQUEST_MS. */
void sl_cg_sweep(void);

struct sl_cg_stats {
	uint64_t open;                  /* connections open now */
	uint64_t closed_full;           /* closed to make room for a new one */
	uint64_t closed_slow;           /* closed: no request within SL_CG_REQUEST_MS */
};
void sl_cg_stats(struct sl_cg_stats *s);

#endif
