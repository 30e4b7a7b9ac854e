/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault.h - fault injection for the crash tests (docs/operations.md section 5).
 * SLUICE_FAULT=STEP[:N] kills the process (SIGKILL) the N-th time it
 * reaches STEP (default: the first).  Test-only, present in every build.
 *
 * Steps of an apply:   apply-prepared  (every next-* pinned, next-config last)
 *                      apply-recorded  (a new attachment record written, not attached yet)
 *                      apply-attached  (one new attachment made)
 *                      apply-switched  (one running attachment switched)
 *                      apply-zeroed    (the freed slots zeroed)
 *                      apply-renamed   (one next-X renamed over X)
 * Steps of a detach:   detach-one      (one attachment removed)
 *                      detach-unpin    (one pin of a removed instance unpinned)
 */
#ifndef SL_FAULT_H
#define SL_FAULT_H

void sl_fault(const char *step);

#endif
