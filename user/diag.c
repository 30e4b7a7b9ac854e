/* SPDX-License-Identifier: GPL-2.0-only */
/* STUB: to be replaced by the parser owner. */
#include "sl.h"
void sl_diag_add(struct sl_diags *d, enum sl_sev sev, struct sl_pos pos, const char *hint, const char *fmt, ...) { (void)d; (void)sev; (void)pos; (void)hint; (void)fmt; }
void sl_diag_print(const struct sl_diags *d, FILE *out) { (void)d; (void)out; }
void sl_diag_free(struct sl_diags *d) { (void)d; }
