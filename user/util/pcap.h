/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pcap.h - events' captured bytes as a pcap file (libpcap's own writer:
 * pcap_open_dead + pcap_dump_open), Ethernet link type; events captured
 * on cgroup_skb (from the IP header) get a zero Ethernet header.
 */
#ifndef SL_PCAP_H
#define SL_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PCAP_SNAP_MAX 256    /* = SL_SNAP_MAX (pcap.h and linux/bpf.h do not mix) */

struct sl_pcap;
/* Create (truncate) @path; "-" is stdout.  0 or -errno (message on stderr). */
int sl_pcap_open(const char *path, struct sl_pcap **out);
/* Append @n captured bytes (@l3: from the IP header) of a packet of @len bytes seen at @time_ns. */
int sl_pcap_write(struct sl_pcap *p, uint64_t time_ns, bool l3, const uint8_t *data, size_t n,
		  uint32_t len);
void sl_pcap_flush(struct sl_pcap *p);
void sl_pcap_close(struct sl_pcap *p);

#endif
