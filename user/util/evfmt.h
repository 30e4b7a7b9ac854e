/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evfmt.h - an event as `sluice log` prints it (docs/events.md): the
 * decoded record (names instead of slots and indexes), its text line and
 * JSON line, the filters of `sluice log`, and the JSON line read back
 * (`sluice top --from FILE`).  Pure.
 */
#ifndef SL_EVFMT_H
#define SL_EVFMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice.h"

#define SL_EV_MAGIC 0x736c6576u         /* "slev": a record on the run socket */
#define SL_EV_STR   64

/* A decoded event ("" / -1 = null in the JSON line). */
struct sl_ev {
	uint32_t magic;                 /* SL_EV_MAGIC */
	uint32_t size;                  /* sizeof(struct sl_ev) */
	uint64_t time_ns;               /* wall clock, ns since the epoch */
	char instance[SL_EV_STR];
	char hook[16];                  /* "tc-egress", ... */
	char dev[SL_EV_STR + SL_IFNAME_LEN];    /* interface, or the cgroup path */
	uint8_t verdict;                /* enum sl_ev_verdict */
	uint8_t family;                 /* 4, 6, 0 */
	uint8_t proto;                  /* IP protocol */
	uint8_t l3;                     /* data[] starts at the IP header (cgroup) */
	uint8_t inbound;                /* an inbound attachment: the remote end is src, sport */
	char reason[16];                /* "deny", "policy", "near-miss", "malformed", "fragment", "allow" */
	char rule[SL_NAME_LEN];
	char src[48], dst[48];
	int32_t sport, dport;           /* ICMP: type and code */
	uint32_t len;
	char name[SL_DNS_NAME_MAX + 3]; /* learned host name ("*.zoom.us" for a wildcard class) */
	char container[128];            /* sluice-cni: the container of the attachment (its id) */
	char pod_ns[64], pod_name[128]; /* and its pod, when the runtime passed K8S_POD_* */
	uint16_t caplen;                /* bytes in data[] */
	uint16_t snap;                  /* of which go to a pcap file */
	uint8_t data[SL_SNAP_MAX];
};

const char *sl_ev_proto_name(uint8_t proto, char *buf, size_t n);      /* "tcp", "udp", "icmp", "47" */

/* One line "2026-12-01T08:30:00.123Z drop near-miss zoom-media tcp 192.0.2.1:40000 -> ..." */
void sl_ev_text(const struct sl_ev *e, FILE *out);
/* One JSON object and a newline: time, instance, hook, dev, verdict, reason, rule,
 * family, src, dst, proto, sport, dport, len, name, container, pod_namespace, pod_name. */
void sl_ev_json(const struct sl_ev *e, FILE *out);

/* The filters of `sluice log` / `sluice top`. */
struct sl_ev_filter {
	const char *rule;               /* NULL: any */
	int verdict;                    /* -1: any; else enum sl_ev_verdict */
	bool has_dst;
	uint8_t dst_family;
	uint8_t dst_addr[16], dst_plen;
};
/* Parse "--dst CIDR" / "--verdict V" values; 0 or -EINVAL. */
int sl_ev_filter_dst(struct sl_ev_filter *f, const char *cidr);
int sl_ev_verdict_parse(const char *s);         /* enum sl_ev_verdict, or -1 */
bool sl_ev_match(const struct sl_ev_filter *f, const struct sl_ev *e);

/* Read one JSON line of sl_ev_json (a log file) back; 0 or -EINVAL. */
int sl_ev_parse_json(const char *line, struct sl_ev *e);

#endif
