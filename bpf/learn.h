/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn.h - host-name rules learned from DNS (docs/dns.md).
 *
 *   sl_learn_query(skb)    TC egress, after the classifier passed a packet:
 *                          a DNS query to a configured resolver is recorded
 *                          in "pending" (resolver, client, port, txid -> name hash).
 *   sl_learn_answer(skb)   TC ingress of the same interface: a DNS response
 *                          from a configured resolver that answers a pending
 *                          query for a name some rule lists is parsed (question,
 *                          CNAME chain, A/AAAA, compression pointers) and every
 *                          answered address is inserted into "learned" before the
 *                          packet goes on to the client socket: no race.
 *
 * The DNS message is copied (bpf_skb_load_bytes) into a per-CPU scratch
 * buffer of SL_DNS_BUF bytes, so every read is buf[off & (SL_DNS_BUF-1)]:
 * one shape for the verifier whatever the packet, and no packet pointers.
 * Offsets are checked against the message length before every read, so the
 * mask never changes a value.  Names:
 *   - labels are walked with compression pointers that must point strictly
 *     backwards (RFC 1035 4.1.4 "a prior occurrence"): no loop is possible;
 *     at most SL_DNS_LABELS + 16 steps, 63-byte labels, 255-byte names;
 *   - hashed label by label from the root (sl_name_hash), so the hash of
 *     every suffix falls out of one pass: the exact-name lookup and the
 *     wildcard lookups (strip leading labels) cost one hash-map lookup each;
 *   - a hit is confirmed byte by byte against the stored wire name.
 * The loops over answer records run under bpf_loop, so the verifier sees the
 * record parser once.
 *
 * Included by a program file that defines SL_LEARN before including
 * classify.h (maps.h declares the learning maps only then).  The parts, in
 * the order they are included (each includes the ones it uses):
 *   learn_msg.h     constants, scratch buffer, finding and copying the message
 *   learn_name.h    name walk, suffix hashes, comparison with a stored name
 *   learn_query.h   sl_learn_query: recording queries (egress)
 *   learn_insert.h  inserting learned addresses (ring, bloom, live count)
 *   learn_answer.h  sl_learn_answer, sl_learn_inject: the answer walk (ingress)
 */
#ifndef SL_LEARN_H
#define SL_LEARN_H

#include "learn_query.h"
#include "learn_answer.h"

#endif /* SL_LEARN_H */
