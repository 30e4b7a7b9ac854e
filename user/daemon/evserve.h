/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evserve.h - `sluice run` as the reader of its instance's events
 * (docs/events.md): it holds the reader lock, reads the ring buffer in its
 * epoll loop, keeps the last SL_EVD_BACKLOG events, serves `sluice log` /
 * `sluice top` on a Unix socket (SL_RUN_DIR/<instance>.sock), appends JSON
 * lines to --log-file (reopened on SIGHUP and SIGUSR1, for logrotate) and
 * sends a line per event to syslog with --syslog.
 */
#ifndef SL_DAEMON_EVENTS_H
#define SL_DAEMON_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#define SL_EVD_BACKLOG  4096            /* events kept for a `sluice log` without --follow */
#define SL_EVD_CLIENTS  16
#define SL_EVD_TAG      (1ULL << 48)    /* epoll tags of this module: SL_EVD_TAG | n */

struct sl_evd;
struct sl_run_opts;
/* Become the reader of @inst's events and listen on its socket; registers its fds in @ep;
 * @ro: --log-file, --syslog (may be NULL).  If another process holds the reader lock,
 * retries in sl_evd_tick().  0 or -errno (the log file cannot be opened). */
int sl_evd_open(const char *inst, int ep, const struct sl_run_opts *ro, struct sl_evd **out);
static inline bool sl_evd_owns(uint64_t tag) { return tag & SL_EVD_TAG; }
void sl_evd_on(struct sl_evd *d, uint64_t tag);
/* Once a second: the reader lock if not held yet, a new ring buffer after detach + apply. */
void sl_evd_tick(struct sl_evd *d);
/* SIGHUP / SIGUSR1: reopen the log file. */
void sl_evd_reopen(struct sl_evd *d);
void sl_evd_close(struct sl_evd *d);

#endif
