// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - SLUICE_FAULT=STEP[:N]: SIGKILL at the N-th STEP (tests/e2e/crash.sh).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fault.h"

void sl_fault(const char *step)
{
	static unsigned long seen;
	const char *f = getenv("SLUICE_FAULT"), *colon;
	size_t n;

	if (!f || !*f)
		return;
	colon = strchr(f, ':');
	n = colon ? (size_t)(colon - f) : strlen(f);
	if (strlen(step) != n || strncmp(f, step, n))
		return;
	if (++seen < (colon ? strtoul(colon + 1, NULL, 10) : 1))
		return;
	raise(SIGKILL);
}
