/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test.h - the smallest harness that does the job: every check prints one
 * line, "PASS name" or "FAIL name: why (file:line)", and a test binary
 * exits 1 if any check failed.  tests/run sums the lines of every layer
 * into the final "N passed, N failed, N skipped".
 */
#ifndef SL_TEST_H
#define SL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_skipped;

#define T_PASS(name) do { t_passed++; printf("PASS %s\n", (name)); } while (0)
#define T_FAIL(name, ...) do { t_failed++; printf("FAIL %s: ", (name)); \
	printf(__VA_ARGS__); printf(" (%s:%d)\n", __FILE__, __LINE__); } while (0)
#define T_SKIP(name, ...) do { t_skipped++; printf("SKIP %s: ", (name)); \
	printf(__VA_ARGS__); printf("\n"); } while (0)

/* One named check: passes if cond holds. */
#define T_CHECK(name, cond, ...) do { if (cond) T_PASS(name); \
	else T_FAIL(name, __VA_ARGS__); } while (0)

/* Exit status for main(). */
#define T_DONE() (fflush(stdout), t_failed ? 1 : 0)

#endif
