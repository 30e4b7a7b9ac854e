/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * image_int.h - internals shared by compile.c (classes, LPM entries) and
 * partition.c (port tables).  Internal to user/image; the API is sl.h.
 * compile.c -> image_int.h <- partition.c; lookup.c needs only sl.h.
 */
#ifndef SL_IMAGE_INT_H
#define SL_IMAGE_INT_H

#include "sl.h"

/* Port entries being built, and the scratch of the partition. */
struct pbuf {
	struct sl_port_entry *v;
	size_t n, cap;
	uint32_t *bnd;          /* segment boundaries */
	size_t nbnd, capbnd;
	int32_t *owner;         /* segment -> rule index, -1 free */
	uint32_t *next;         /* union-find: next free segment */
	size_t capseg;
};

/* Fragment decisions of a class: per slot, its first rule with that protocol. */
void sl__class_frags(const struct sl_ruleset *rs, const uint16_t *slots,
		     const uint16_t *list, uint32_t nl, struct sl_dst_val *val);
/*
 * Port entries of one class (rules @list, in order) into @pb, slot by slot.
 * 0 or -ENOMEM.
 */
int sl__class_ports(const struct sl_ruleset *rs, const uint16_t *slots,
		    const uint16_t *list, uint32_t nl, uint32_t cls, struct pbuf *pb);

#endif
