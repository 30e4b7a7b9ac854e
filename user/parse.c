/* SPDX-License-Identifier: GPL-2.0-only */
/* STUB: to be replaced by the parser owner. */
#include <errno.h>
#include "sl.h"
int sl_ruleset_load(const char *path, struct sl_ruleset *rs, struct sl_diags *d) { (void)path; (void)rs; (void)d; return -ENOSYS; }
int sl_ruleset_parse(const char *name, const char *text, size_t len, struct sl_ruleset *rs, struct sl_diags *d) { (void)name; (void)text; (void)len; (void)rs; (void)d; return -ENOSYS; }
void sl_ruleset_free(struct sl_ruleset *rs) { (void)rs; }
const char *sl_proto_name(enum sl_proto p) { (void)p; return "?"; }
