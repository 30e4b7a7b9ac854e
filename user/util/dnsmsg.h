/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsmsg.h - DNS messages in user space, for `sluice run` (docs/dns.md):
 * parse an answer (the part of it that was captured), build queries, and cut
 * an answer into messages the BPF learner takes whole (sluice_inject): the
 * question, the CNAME chain, and at most SL_DNS_MAX_RR records and
 * SL_INJECT_MAX bytes each.  Pure: no syscalls (unit-tested without root).
 *
 * The parser follows the BPF learner's rules (bpf/learn.h): compression
 * pointers only backwards, labels <= 63 bytes, names <= 255 bytes, names
 * compared in lower case; an answer record whose owner is the question or a
 * CNAME target already reached is used, others are ignored; a bad record
 * ends the walk (the records before it count).
 */
#ifndef SL_DNSMSG_H
#define SL_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

#define SL_DNSM_NAME 256        /* wire name incl. the root label, <= 255 bytes used */

struct sl_dnsm_rr {
	uint8_t  owner[SL_DNSM_NAME];   /* lower-case wire format, root label included */
	uint8_t  olen;
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t  rd[16];                /* A / AAAA address */
	uint8_t  target[SL_DNSM_NAME];  /* CNAME target (lower case, uncompressed) */
	uint8_t  tlen;                  /* 0: not a CNAME, or its target is malformed */
};

struct sl_dnsm {
	uint16_t id, flags, qdcount, ancount;
	uint8_t  qname[SL_DNSM_NAME];   /* lower case */
	uint8_t  qlen;
	uint16_t qtype, qclass;
	struct sl_dnsm_rr *rr;          /* complete answer records, in order */
	size_t   nrr;
	bool     cut;                   /* the bytes ended inside the answer section */
	bool     bad;                   /* a malformed record ended the walk */
};

/*
 * Parse @caplen bytes of a DNS message of @len bytes (caplen < len: the
 * rest was not captured; records cut off are left out and m->cut set).
 * Returns 0, -EBADMSG (header or question malformed) or -ENOMEM.
 * Free with sl_dnsm_free().
 */
int sl_dnsm_parse(const uint8_t *msg, size_t caplen, size_t len, struct sl_dnsm *m);
void sl_dnsm_free(struct sl_dnsm *m);

/* "zoom.us" -> lower-case wire format with root label; returns its length or -EINVAL. */
int sl_dnsm_wire(const char *name, uint8_t *wire, size_t cap);
/* Wire -> "zoom.us" (for messages). */
void sl_dnsm_dotted(const uint8_t *wire, size_t wlen, char *out, size_t cap);

/* A recursive query for @name (wire) of @qtype with an EDNS0 OPT (UDP 1232). Returns its length. */
size_t sl_dnsm_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qwire, size_t qlen,
		     uint16_t qtype);
/* Is @m the response to that query (id, QR, opcode, the same question)? 0 or -EPROTO. */
int sl_dnsm_matches(const struct sl_dnsm *m, uint16_t id, const uint8_t *qwire, size_t qlen,
		    uint16_t qtype);

/* What an answer teaches, in the BPF walk's terms. */
struct sl_dnsm_plan {
	size_t cn[SL_DNS_CHAIN];        /* rr indices of the chain's CNAME records, in order */
	size_t ncn;
	size_t *addr;                   /* rr indices of the A/AAAA records to learn from */
	size_t naddr;
	uint32_t min_ttl;               /* smallest TTL of those records (UINT32_MAX if none) */
	bool chain_long;                /* CNAMEs beyond the chain's SL_DNS_CHAIN names ignored */
};

/*
 * The chain (question, then each CNAME target whose owner is already in
 * it, at most SL_DNS_CHAIN names) and the address records with index >=
 * @walked whose owner was in the chain when they came.  Free plan->addr.
 */
int sl_dnsm_plan(const struct sl_dnsm *m, size_t walked, struct sl_dnsm_plan *plan);

/*
 * Cut the plan into messages for sluice_inject: header (the answer's id,
 * QR RD RA, rcode 0), the question, the chain's CNAMEs, then as many of
 * the address records as fit in SL_DNS_MAX_RR records and SL_INJECT_MAX
 * bytes; @emit gets each (@naddr: address records in it).  Returns the
 * number of messages, -E2BIG if the chain alone does not fit, or what
 * @emit returned if negative.
 */
int sl_dnsm_chunks(const struct sl_dnsm *m, const struct sl_dnsm_plan *plan,
		   int (*emit)(const uint8_t *msg, size_t n, size_t naddr, void *arg), void *arg);

#endif
