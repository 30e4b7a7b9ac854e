/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * snapshot.h - read an instance's counters, ruleset figures and map fill
 * for the Prometheus exposition (util/prom.h), read-only and without the
 * instance lock that apply holds: pins are opened, maps read in batches,
 * and the result is checked against the pins again, so that a re-apply
 * during a read gives either the old generation's figures or the new
 * one's, never a mix (a read that raced a commit is retried).
 */
#ifndef SL_SNAPSHOT_H
#define SL_SNAPSHOT_H

#include "util/prom.h"

/* Snapshot instance @inst into @out (out->rules is allocated: free with
 * sl_snapshot_free).  Returns 0 or a negative errno (-ENOENT: not loaded). */
int sl_snapshot_read(const char *inst, struct sl_prom_inst *out);
void sl_snapshot_free(struct sl_prom_inst *s);

/*
 * The exposition of instance @inst, or of every instance when @inst is
 * NULL, appended to @b.  Returns 0, or a negative errno (printed, naming
 * the instance); with @inst NULL an instance that goes away meanwhile is
 * left out.
 */
int sl_prom_collect(const char *inst, struct sl_buf *b);

/* Statistics of the reads so far in this process (for make bench). */
struct sl_snapshot_stats {
	uint64_t reads, retries;
};
void sl_snapshot_stats(struct sl_snapshot_stats *st);

#endif
