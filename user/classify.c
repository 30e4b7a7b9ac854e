/* SPDX-License-Identifier: GPL-2.0-only */
/* STUB: to be replaced by the compiler owner. */
#include <errno.h>
#include "sl.h"
int sl_pkt_parse(const void *frame, size_t len, struct sl_pkt *p) { (void)frame; (void)len; (void)p; return -ENOSYS; }
void sl_classify_pkt(const struct sl_image *img, const struct sl_pkt *p, uint32_t gso_segs, struct sl_result *res) { (void)img; (void)p; (void)gso_segs; (void)res; }
void sl_classify_frame(const struct sl_image *img, const void *frame, size_t len, uint32_t gso_segs, struct sl_result *res) { (void)img; (void)frame; (void)len; (void)gso_segs; (void)res; }
const char *sl_reason_name(enum sl_reason r) { (void)r; return "?"; }
