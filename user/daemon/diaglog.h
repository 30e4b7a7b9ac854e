/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * diaglog.h - a rules file's diagnostics into sluice run's log (diaglog.c).
 */
#ifndef SL_DIAGLOG_H
#define SL_DIAGLOG_H

#include <stdint.h>

#include "sl.h"

/*
 * One line per error and warning of @d (notes are apply's business).  The
 * warnings are printed only when they differ from the last load's (*@fp, a
 * fingerprint of their texts, kept by the caller): a reload of an unchanged
 * pack says "N warnings, as at the last load" instead of the list again.
 */
void sl_run_log_diags(const char *file, const struct sl_diags *d, uint64_t *fp);

#endif
