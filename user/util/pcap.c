// SPDX-License-Identifier: GPL-2.0-only
/* pcap.c - events as a pcap file through libpcap (pcap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include "util/pcap.h"

struct sl_pcap {
	pcap_t *dead;
	pcap_dumper_t *dump;
};

int sl_pcap_open(const char *path, struct sl_pcap **out)
{
	struct sl_pcap *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->dead = pcap_open_dead(DLT_EN10MB, SL_PCAP_SNAP_MAX + 14);
	if (!p->dead) {
		free(p);
		return -ENOMEM;
	}
	p->dump = pcap_dump_open(p->dead, path);
	if (!p->dump) {
		fprintf(stderr, "sluice: %s: cannot write the pcap file: %s\n", path, pcap_geterr(p->dead));
		pcap_close(p->dead);
		free(p);
		return -EIO;
	}
	*out = p;
	return 0;
}

int sl_pcap_write(struct sl_pcap *p, uint64_t time_ns, bool l3, const uint8_t *data, size_t n,
		  uint32_t len)
{
	uint8_t buf[14 + SL_PCAP_SNAP_MAX];
	struct pcap_pkthdr h = { 0 };
	size_t off = 0;

	if (n > SL_PCAP_SNAP_MAX)
		n = SL_PCAP_SNAP_MAX;
	if (l3) {            /* cgroup_skb: from the IP header; a zero Ethernet header in front */
		memset(buf, 0, 12);
		buf[12] = n && (data[0] >> 4) == 6 ? 0x86 : 0x08;
		buf[13] = n && (data[0] >> 4) == 6 ? 0xdd : 0x00;
		off = 14;
	}
	memcpy(buf + off, data, n);
	h.ts.tv_sec = (time_t)(time_ns / 1000000000ULL);
	h.ts.tv_usec = (suseconds_t)(time_ns / 1000ULL % 1000000ULL);
	h.caplen = (bpf_u_int32)(off + n);
	h.len = (bpf_u_int32)(off + len);
	pcap_dump((u_char *)p->dump, &h, buf);
	return 0;
}

void sl_pcap_flush(struct sl_pcap *p)
{
	pcap_dump_flush(p->dump);
}

void sl_pcap_close(struct sl_pcap *p)
{
	if (!p)
		return;
	pcap_dump_close(p->dump);
	pcap_close(p->dead);
	free(p);
}
