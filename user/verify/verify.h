/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * verify.h - user/verify/: the pure half of `sluice verify` (the other
 * half runs the loaded program: kernel/testrun.c).  A requirement (a
 * `require` statement, front/require.c) becomes sample flows: each
 * destination range at its first, middle and last address, each port range
 * at its ends and middle; each flow becomes a crafted frame as the hook
 * sees it (Ethernet for tc and xdp, bare IP for cgroup), outbound (the
 * remote side is the destination) or inbound (the source).  No syscalls.
 */
#ifndef SL_VERIFY_H
#define SL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl.h"

struct sl_vsample {
	uint8_t family;         /* AF_INET / AF_INET6 */
	uint8_t addr[16];       /* the remote address */
	uint8_t proto;          /* IP protocol: 6, 17, 1, 58 */
	uint16_t port;          /* remote port (TCP/UDP) */
};

/* The samples of requirement @req (*out malloc'ed; free()).  Host names are
 * not sampled (they are learned from DNS at run time). */
int sl_verify_samples(const struct sl_rule *req, struct sl_vsample **out, size_t *n);

#define SL_VFRAME_MAX 128
/* The frame of sample @s: @eth (an Ethernet header first) and @inbound
 * (@s is the source); returns its length (<= SL_VFRAME_MAX). */
size_t sl_verify_frame(const struct sl_vsample *s, bool inbound, bool eth, uint8_t *buf);
/* "udp 203.0.113.5:8801", "[2001:db8::1]:443 tcp", "icmp 192.0.2.1" */
void sl_verify_sample_str(const struct sl_vsample *s, char *buf, size_t sz);

#endif
