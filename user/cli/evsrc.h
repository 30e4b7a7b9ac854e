/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evsrc.h - where `sluice log` and `sluice top` get events from: the
 * socket of `sluice run` when it runs for the instance (it is the ring
 * buffer's reader), else the ring buffer itself (kernel/events.c).
 */
#ifndef SL_EVSRC_H
#define SL_EVSRC_H

#include <stdbool.h>

#include "kernel/kernel.h"

struct sl_evsrc_opts {
	const char *inst;
	bool follow;            /* until SIGINT / SIGTERM */
	unsigned window_s;      /* else: what is buffered, then this many seconds more */
};

/* Hand every event to @cb; returns 0, or an exit status (1) after a message. */
int sl_evsrc_run(const struct sl_evsrc_opts *o, sl_ev_cb cb, void *arg);

/* The commands (cmd_log.c, cmd_top.c) and their help (cli.c's table). */
int sl_cmd_log(int argc, char **argv);
int sl_cmd_top(int argc, char **argv);
extern const char sl_log_args[], sl_log_summary[], sl_log_help[];
extern const char sl_top_args[], sl_top_summary[], sl_top_help[];
/* The "events" part of `sluice stats` (text line, or the JSON key with --json). */
struct sl_json;
void sl_events_stats(const char *inst, struct sl_json *j);

#endif
