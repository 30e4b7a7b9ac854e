/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - `sluice run` (docs/dns.md "sluice run"): apply a rules file, then
 * stay in the foreground: read the learner's dns_fallback ring buffer and
 * learn those answers through sluice_inject, resolve every exact host name
 * of the running ruleset through the configured resolvers and refresh it
 * when its TTL (at least the floor) runs out; SIGHUP re-applies the file,
 * SIGTERM/SIGINT exit and leave the filter in place.
 */
#ifndef SL_RUN_H
#define SL_RUN_H

#include "kernel/kernel.h"

/* The events options of `sluice run` (daemon/evserve.c, docs/events.md). */
struct sl_run_opts {
	const char *log_file;   /* --log-file: append every event as a JSON line; NULL: none */
	bool syslog;            /* --syslog: a line per event to syslog */
};

/* `sluice run FILE [apply options]`: returns the exit status.  @ro may be NULL. */
/* One line "sluice run: ..." on stderr (the journal under systemd). */
void sl_run_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sl_run(const char *file, const struct sl_apply_opts *ao, const struct sl_run_opts *ro);
/* Once a second: a confirmation window of @inst that lapsed without its
 * watchdog (killed, or the host rebooted into a lapsed state) is rolled
 * back here (rollback.c, kernel/confirm.c). */
void sl_run_rollback_check(const char *inst);

#endif
