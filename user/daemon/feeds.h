/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * feeds.h - `sluice run` keeps URL sets current (feeds.c, docs/feeds.md):
 * each set is fetched on its schedule (refresh, with jitter) into the
 * last-good cache (user/feed/); when a copy changed, run re-applies the
 * file (atomically, counters carried by rule name).  The metrics endpoint
 * reads the sets' state files (sluice_feed_*).
 */
#ifndef SL_DAEMON_FEEDS_H
#define SL_DAEMON_FEEDS_H

#include <stdbool.h>
#include <stdint.h>

#include "sl.h"
#include "util/prom.h"

/* Before the first apply: fetch every URL set of @file that has no copy yet. */
void sl_run_feeds_prime(const char *file);
/* After each apply: the sets of @rs are the ones to keep current (a set
 * still there keeps its schedule).  0 or -ENOMEM. */
int sl_run_feeds_set(const struct sl_ruleset *rs, const char *inst);
/* Fetch the sets that are due at @now_ms (CLOCK_MONOTONIC); true if a copy
 * changed (the caller re-applies).  *next_ms: the earliest due time. */
bool sl_run_feeds_tick(uint64_t now_ms, uint64_t *next_ms);
void sl_run_feeds_free(void);
/* The sluice_feed_* families of the sets (metrics thread). */
void sl_run_feeds_prom(struct sl_buf *b);

#endif
