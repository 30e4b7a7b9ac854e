/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guard.h - `sluice run` watches what the kernel runs at its attachments
 * (guard.c, through the live read of kernel/live.c): every change of an
 * attachment's state is logged, a BYPASSED attachment is put first again by
 * an apply, and an instance detached from outside stops the daemon with a
 * non-zero status (docs/operations.md "Co-resident BPF programs").
 */
#ifndef SL_GUARD_H
#define SL_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"

struct sl_guard {
	uint8_t prev[SL_MAX_ATTACH];    /* enum sl_att_state + 1 of each record (0: none) */
	uint64_t retry_ms;              /* no restore before (after one that did not help) */
	uint64_t broken_until;          /* the instance could not be opened: look again then */
	bool restoring;                 /* the last check asked for a restore */
};

enum sl_guard_verdict {
	SL_GUARD_OK = 0,        /* nothing to do */
	SL_GUARD_RESTORE,       /* an attachment is BYPASSED: apply again (it restores first place) */
	SL_GUARD_DETACHED,      /* the instance is gone: detached from outside */
};

/* One look at instance @inst (logs what changed); @now in ms. */
enum sl_guard_verdict sl_guard_check(struct sl_guard *g, const char *inst, uint64_t now);
#endif
