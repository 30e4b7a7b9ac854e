/* SPDX-License-Identifier: GPL-2.0-only */
/* event.h - what user space reads from an event's captured bytes (event.c). */
#ifndef SL_IMAGE_EVENT_H
#define SL_IMAGE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_ev_hdr {
	uint8_t family;         /* 4, 6; 0 if the bytes hold no IP header */
	uint8_t saddr[16];      /* source address, network order */
	uint8_t daddr[16];      /* destination address, network order */
	int sport;              /* TCP/UDP source port, -1 if unknown (fragment, cut short) */
	int dport;              /* TCP/UDP destination port, -1 if unknown */
	int icmp_code;          /* ICMP / ICMPv6 code, -1 if none */
};

/* Read the addresses and ports of a packet from its first @n bytes (@l3: they start at
 * the IP header, as on cgroup_skb; else at Ethernet).  0, or -1 if the
 * bytes hold no IP header (then @h says nothing). */
int sl_event_hdr(const uint8_t *b, size_t n, bool l3, struct sl_ev_hdr *h);

#endif
