/* SPDX-License-Identifier: GPL-2.0-only */
/* STUB: to be replaced by the compiler owner. */
#include <errno.h>
#include "sl.h"
int sl_compile(const struct sl_ruleset *rs, const uint16_t *slots, uint32_t generation, struct sl_image *img) { (void)rs; (void)slots; (void)generation; (void)img; return -ENOSYS; }
void sl_image_free(struct sl_image *img) { (void)img; }
int sl_image_rule_of_slot(const struct sl_image *img, uint16_t slot) { (void)img; (void)slot; return -1; }
void sl_image_lookup(const struct sl_image *img, const struct sl_pkt *p, struct sl_result *res) { (void)img; (void)p; (void)res; }
