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
 * classify.h (maps.h declares the learning maps only then).
 */
#ifndef SL_LEARN_H
#define SL_LEARN_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "classify.h"

#ifndef SL_LEARN
#error "define SL_LEARN before including classify.h and learn.h"
#endif

#define SL_DNS_MASK   (SL_DNS_BUF - 1)
#define SL_NAME_STEPS (SL_DNS_LABELS + 16)
#define SL_FNV_OFF    0xcbf29ce484222325ULL
#define SL_FNV_PRIME  0x100000001b3ULL

_Static_assert((SL_DNS_BUF & SL_DNS_MASK) == 0, "SL_DNS_BUF is a power of two");

/*
 * Loop state lives in the per-CPU scratch map, not on the stack: the
 * verifier does not track map-value contents, so a bpf_loop callback's
 * states converge after one pass instead of being explored once per
 * iteration (stack scalars used in indexes become "precise" and never
 * converge).  The callbacks get {sc, nv, lc} pointers only.
 */
struct sl_walk_ctx {
	__u32 len, off, n, wire, e;
	int rc;                 /* 1 done, -1 malformed, 0 running */
};
struct sl_hash_ctx {
	__u64 h;
	__u32 nlab, k, pos, j, L;
	__u32 pad;
};
struct sl_same_ctx {
	__u32 nlab, k, w, pos, j, L;
	int rc;                 /* 1 equal, -1 different */
	__u32 pad;
};
struct sl_wild_ctx {
	__u32 nlab, k;
	long ncls;
};
struct sl_rr_ctx {
	__u32 len;
	__u32 off;
	__u32 left;             /* answer records still to read */
	__u32 ncls;
	__u32 nchain;
	__u32 learned;
	int err;
	__u32 pad;
};

struct sl_cb {
	struct sl_dns_scratch *sc;
	const struct sl_name_val *nv;
	struct sl_learn_cfg *lc;
};

/* Where a DNS message is in an skb. */
struct sl_dns_loc {
	__u32 off;              /* of the DNS header */
	__u32 len;              /* message length */
	__u8  family, proto;
	__u16 sport, dport;     /* network order */
	__u8  saddr[16], daddr[16];
};

struct sl_dns_scratch {
	__u8  msg[SL_DNS_BUF];
	__u16 lab[SL_DNS_LABELS];       /* offset of each label's length byte */
	__u64 sufh[256];                /* sufh[k]: hash of the name from label k (k <= 127; 256 for the mask) */
	__u64 chain[SL_DNS_CHAIN];      /* owner names accepted: question + CNAME targets */
	struct sl_walk_ctx walk;
	struct sl_hash_ctx hash;
	struct sl_same_ctx same;
	struct sl_wild_ctx wild;
	struct sl_rr_ctx rr;
	struct sl_dns_loc loc;          /* the answer being learned from */
	struct sl_pending_key pk;
	struct sl_learned_val nv;       /* a new "learned" value */
};

/* scratch: per-CPU working memory of the DNS parser (BPF side only). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_dns_scratch);
} dns_scratch SEC(".maps");

static __always_inline void sl_lctr(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&learn_ctr, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u8 sl_b(const struct sl_dns_scratch *sc, __u32 off)
{
	return sc->msg[off & SL_DNS_MASK];
}

static __always_inline __u8 sl_lower(__u8 b)
{
	return (b >= 'A' && b <= 'Z') ? b + 32 : b;
}


enum { SL_DL_NONE = 0, SL_DL_OK, SL_DL_BIG, SL_DL_FRAG };

/*
 * Find the DNS message of a UDP or TCP packet with @port (network order) as
 * source (@src = 1, answers) or destination port (queries).  Returns
 * SL_DL_OK, SL_DL_NONE (not DNS, or no payload), SL_DL_BIG (a TCP message
 * longer than this segment) or SL_DL_FRAG (an IP fragment).
 */
static __always_inline int sl_dns_locate(struct __sk_buff *skb, int src, struct sl_dns_loc *l)
{
	__u32 off = 14, plen;
	__be16 proto;
	__u8 l4;
	int i;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return SL_DL_NONE;
#pragma unroll
	for (i = 0; i < SL_MAX_VLANS; i++) {
		if (!sl_proto_is_vlan(proto))
			break;
		if (bpf_skb_load_bytes(skb, off + 2, &proto, 2))
			return SL_DL_NONE;
		off += 4;
	}
	__builtin_memset(l->saddr, 0, 16);
	__builtin_memset(l->daddr, 0, 16);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return SL_DL_NONE;
		l4 = ip.protocol;
		if (ip.frag_off & bpf_htons(0x3fff))
			return (l4 == IPPROTO_UDP || l4 == IPPROTO_TCP) ? SL_DL_FRAG : SL_DL_NONE;
		l->family = 4;
		__builtin_memcpy(l->saddr, &ip.saddr, 4);
		__builtin_memcpy(l->daddr, &ip.daddr, 4);
		off += ip.ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) || ip6.version != 6)
			return SL_DL_NONE;
		l4 = ip6.nexthdr;       /* DNS with extension headers is not learned */
		if (l4 == SL_NEXTHDR_FRAGMENT)
			return SL_DL_FRAG;
		l->family = 6;
		__builtin_memcpy(l->saddr, &ip6.saddr, 16);
		__builtin_memcpy(l->daddr, &ip6.daddr, 16);
		off += sizeof(ip6);
	} else {
		return SL_DL_NONE;
	}
	l->proto = l4;
	if (l4 == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
			return SL_DL_NONE;
		if ((src ? uh.source : uh.dest) != bpf_htons(53))
			return SL_DL_NONE;
		l->sport = uh.source;
		l->dport = uh.dest;
		off += sizeof(uh);
		plen = bpf_ntohs(uh.len);
		if (plen < sizeof(uh) || off + (plen - sizeof(uh)) > skb->len)
			plen = skb->len > off ? skb->len - off : 0;     /* malformed later */
		else
			plen -= sizeof(uh);
	} else if (l4 == IPPROTO_TCP) {
		struct tcphdr th;
		__be16 mlen;

		if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
			return SL_DL_NONE;
		if ((src ? th.source : th.dest) != bpf_htons(53))
			return SL_DL_NONE;
		l->sport = th.source;
		l->dport = th.dest;
		off += th.doff * 4;
		if (skb->len <= off + 2)
			return SL_DL_NONE;      /* handshake, ACK: no message */
		if (bpf_skb_load_bytes(skb, off, &mlen, 2))
			return SL_DL_NONE;
		off += 2;
		plen = bpf_ntohs(mlen);
		if (plen > skb->len - off) {
			l->off = off;
			l->len = plen;
			return SL_DL_BIG;       /* continues in later segments */
		}
	} else {
		return SL_DL_NONE;
	}
	l->off = off;
	l->len = plen;
	return plen > SL_DNS_BUF ? SL_DL_BIG : SL_DL_OK;
}

/* Copy @n bytes of the message at @off into the scratch buffer. */
static __always_inline int sl_dns_copy_n(struct __sk_buff *skb, __u32 off, __u32 n,
					 struct sl_dns_scratch *sc)
{
	if (n < 12 || n > SL_DNS_BUF)
		return -1;
	/* ((n - 1) & mask) + 1 == n here; it shows the verifier 1 <= n <= BUF */
	return bpf_skb_load_bytes(skb, off, sc->msg, ((n - 1) & SL_DNS_MASK) + 1) ? -1 : 0;
}

/* Copy the message into the scratch buffer. */
static __always_inline int sl_dns_copy(struct __sk_buff *skb, const struct sl_dns_loc *l,
				       struct sl_dns_scratch *sc)
{
	return sl_dns_copy_n(skb, l->off, l->len, sc);
}

/* Of a message too big for BPF (SL_DL_BIG), the bytes this skb holds, at
 * most SL_DNS_BUF: enough for the header and question (trust) and, for
 * user space, every record that fits. */
static __always_inline __u32 sl_dns_caplen(const struct __sk_buff *skb, const struct sl_dns_loc *l)
{
	__u32 n = l->len;

	if (l->off >= skb->len)
		return 0;
	if (n > skb->len - l->off)
		n = skb->len - l->off;
	return n > SL_DNS_BUF ? SL_DNS_BUF : n;
}

/*
 * Walk the name at @off: sc->lab[0..*nlab) get the offsets of its labels
 * (root excluded), *end the offset after the name where it was written.
 * Returns 0, or -1 if malformed (label type 01/10, label past the end,
 * forward or self pointer, more than 255 bytes or too many steps).
 * One bpf_loop step per label or pointer (the verifier sees one step).
 */

static long sl_walk_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_walk_ctx *w = &sc->walk;
	__u32 off = w->off, c;

	(void)idx;
	if (off >= w->len)
		goto bad;
	c = sl_b(sc, off);
	if (c == 0) {
		if (!w->e)
			w->e = off + 1;
		w->rc = 1;
		return 1;
	}
	if ((c & 0xc0) == 0xc0) {
		__u32 t;

		if (off + 1 >= w->len)
			goto bad;
		t = ((c & 0x3f) << 8) | sl_b(sc, off + 1);
		if (t >= off)
			goto bad;       /* forward or self pointer: loops impossible */
		if (!w->e)
			w->e = off + 2;
		w->off = t;
		return 0;
	}
	if (c & 0xc0)
		goto bad;               /* 01 / 10 label types */
	w->wire += c + 1;
	if (w->wire > SL_DNS_NAME_MAX || w->n >= SL_DNS_LABELS - 1)
		goto bad;
	if (off + 1 + c >= w->len)
		goto bad;               /* the label or the name's end is past the message */
	sc->lab[w->n & (SL_DNS_LABELS - 1)] = (__u16)off;
	w->n++;
	w->off = off + 1 + c;
	return 0;
bad:
	w->rc = -1;
	return 1;
}

static __always_inline int sl_dns_walk(struct sl_dns_scratch *sc, __u32 len, __u32 off,
				       __u32 *nlab, __u32 *end)
{
	struct sl_walk_ctx *w = &sc->walk;
	struct sl_cb cb = { .sc = sc };

	w->len = len;
	w->off = off;
	w->n = 0;
	w->wire = 1;
	w->e = 0;
	w->rc = 0;
	bpf_loop(SL_NAME_STEPS, sl_walk_step, &cb, 0);
	if (w->rc != 1)
		return -1;              /* malformed, or more steps than any name needs */
	*nlab = w->n;
	*end = w->e;
	return 0;
}

/*
 * sl_name_hash over labels [0, nlab): from the last label to the first,
 * h = (h ^ len) * P then (h ^ lower(byte)) * P for each byte (FNV-1a
 * steps).  sufh[k] is the hash of the name from label k (sufh[nlab] = the
 * root = the seed).  One bpf_loop step per byte.
 */

static long sl_hash_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_hash_ctx *x = &sc->hash;

	(void)idx;
	if (x->j > x->L) {
		sc->sufh[x->k & 0xff] = x->h;  /* the suffix from label k */
		if (x->k == 0)
			return 1;
		x->k--;
		x->pos = sc->lab[x->k & (SL_DNS_LABELS - 1)];
		x->L = sl_b(sc, x->pos);
		x->h = (x->h ^ x->L) * SL_FNV_PRIME;
		x->j = 1;
		return 0;
	}
	x->h = (x->h ^ sl_lower(sl_b(sc, x->pos + x->j))) * SL_FNV_PRIME;
	x->j++;
	return 0;
}

static __always_inline __u64 sl_dns_hash(struct sl_dns_scratch *sc, __u32 nlab, __u64 seed)
{
	struct sl_hash_ctx *x = &sc->hash;
	struct sl_cb cb = { .sc = sc };

	x->h = SL_FNV_OFF ^ seed;
	x->nlab = nlab;
	x->k = nlab;
	x->j = 1;
	x->L = 0;

	/* bytes + labels + 1 <= 255 + 128 + 1 steps */
	bpf_loop(SL_DNS_NAME_MAX + SL_DNS_LABELS + 1, sl_hash_step, &cb, 0);
	return sc->sufh[0];
}

/* The name from label @k (labels in sc->lab) equals @nv->wire (lower case)? */

static long sl_same_step(__u32 idx, void *arg)
{
	const struct sl_cb *cb = arg;
	const struct sl_dns_scratch *sc0 = cb->sc;
	struct sl_same_ctx *x = &cb->sc->same;
	const struct sl_name_val *nv = cb->nv;
	__u8 c;

	(void)idx;
	if (x->j > x->L) {
		if (x->k >= x->nlab) {
			x->rc = x->w == nv->wlen ? 1 : -1;
			return 1;
		}
		x->pos = sc0->lab[x->k & (SL_DNS_LABELS - 1)];
		x->k++;
		x->L = sl_b(sc0, x->pos);
		c = (__u8)x->L;
		x->j = 1;
	} else {
		c = sl_lower(sl_b(sc0, x->pos + x->j));
		x->j++;
	}
	if (x->w >= nv->wlen || nv->wire[x->w & 0xff] != c) {
		x->rc = -1;
		return 1;
	}
	x->w++;
	return 0;
}

static __always_inline int sl_dns_same(const struct sl_dns_scratch *sc, __u32 nlab, __u32 k,
				       const struct sl_name_val *nv)
{
	struct sl_cb cb = { .sc = (struct sl_dns_scratch *)sc, .nv = nv };
	struct sl_same_ctx *x = &cb.sc->same;

	if (nlab - k != nv->nlabels)
		return 0;
	x->nlab = nlab;
	x->k = k;
	x->w = 0;
	x->pos = 0;
	x->j = 1;
	x->L = 0;
	x->rc = 0;
	bpf_loop(SL_DNS_NAME_MAX + 2, sl_same_step, &cb, 0);
	return x->rc == 1;
}

static __always_inline struct sl_learn_cfg *sl_lcfg(void)
{
	return bpf_map_lookup_elem(&learn_cfg, &(__u32){ 0 });
}

/* ---------------------------------------------------------------- egress */

/*
 * A DNS query leaving for a configured resolver: remember (resolver,
 * client, client port, txid) -> hash of the question name.  Called for
 * packets the classifier let pass.
 */
static __always_inline void sl_learn_query(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc;
	struct sl_dns_loc l;
	struct sl_addr_key rk = {};
	struct sl_pending_key pk = {};
	struct sl_pending_val pv;
	__u32 nlab, end;
	__u8 flags;

	if (!lc || !lc->enabled)
		return;
	if (sl_dns_locate(skb, 0, &l) != SL_DL_OK)
		return;
	rk.family = l.family;
	__builtin_memcpy(rk.addr, l.daddr, 16);
	if (!bpf_map_lookup_elem(&resolvers, &rk))
		return;
	sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	if (!sc || sl_dns_copy(skb, &l, sc))
		return;
	flags = sl_b(sc, 2);
	if ((flags & 0x80) || sl_b(sc, 4) != 0 || sl_b(sc, 5) != 1)
		return;         /* not a query, or not exactly one question */
	if (sl_dns_walk(sc, l.len, 12, &nlab, &end))
		return;
	pk.family = l.family;
	pk.proto = l.proto;
	pk.cport = l.sport;
	pk.txid = (__u16)sl_b(sc, 0) | (__u16)sl_b(sc, 1) << 8;    /* network order */
	__builtin_memcpy(pk.resolver, l.daddr, 16);
	__builtin_memcpy(pk.client, l.saddr, 16);
	pv.qhash = sl_dns_hash(sc, nlab, lc->hash_seed);
	pv.sent_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&pending, &pk, &pv, BPF_ANY);
	sl_lctr(SL_L_QUERIES);
}

/* ---------------------------------------------------------------- ingress */

static __always_inline void sl_live_add(__s64 d, struct sl_learn_cfg *lc)
{
	__u64 *live = bpf_map_lookup_elem(&learn_live, &(__u32){ 0 });

	if (!live)
		return;
	if (d > 0) {
		if (*live >= lc->learned_cap)
			sl_lctr(SL_L_CAP_TOTAL);        /* the LRU evicted an entry for this one */
		else
			__sync_fetch_and_add(live, 1);
	} else if (*live > 0) {
		__sync_fetch_and_add(live, -1);
	}
}

/* Forget (addr, ncls) if it is still the pair with @stamp (per-name cap). */
static __always_inline void sl_forget(const struct sl_addr_key *a, __u32 ncls, __u32 stamp,
				      struct sl_learn_cfg *lc)
{
	struct sl_learned_val *v = bpf_map_lookup_elem(&learned, a);
	int i, live = 0;

	if (!v)
		return;
#pragma unroll
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		if (v->s[i].expires_ns && v->s[i].ncls == ncls && v->s[i].stamp == stamp)
			v->s[i].expires_ns = 0;
		if (v->s[i].expires_ns)
			live = 1;
	}
	if (!live && !bpf_map_delete_elem(&learned, a))
		sl_live_add(-1, lc);
}

/* A stamp for a new (addr, ncls) pair; evicts the class's oldest pair at the cap. */
static __always_inline __u32 sl_ring_push(const struct sl_addr_key *a, __u32 ncls,
					  struct sl_learn_cfg *lc)
{
	struct sl_name_ring *r = bpf_map_lookup_elem(&name_ring, &ncls);
	__u32 cap = lc->name_cap, idx, at;

	if (!r)
		return 0;       /* user space creates a ring per name class */
	if (cap == 0 || cap > SL_NAME_RING)
		cap = SL_NAME_RING;
	/* read, then add: without -mcpu=v3 clang cannot use the fetched value.
	 * Two CPUs may get the same stamp: one pair then escapes the ring (the
	 * cap is exceeded by one until it expires), nothing worse. */
	idx = r->next;
	__sync_fetch_and_add(&r->next, 1);
	at = idx % cap;
	asm volatile("" : "+r"(at));    /* keep the mask: the verifier does not track % */
	at &= SL_NAME_RING - 1;
	if (idx >= cap) {
		struct sl_name_ring_ent old = r->e[at];

		sl_lctr(SL_L_CAP_NAME);
		sl_forget(&old.a, ncls, old.stamp, lc);
	}
	r->e[at].a = *a;
	r->e[at].stamp = idx;
	return idx;
}

/* Set the bloom bit of @a (classify.h reads it before "learned"). */
static __always_inline void sl_bloom_set(const struct sl_addr_key *a)
{
	__u32 w[4], bit;
	__u64 *bw;

	__builtin_memcpy(w, a->addr, 16);
	bit = sl_bloom_bit(w[0], w[1], w[2], w[3]);
	bw = bpf_map_lookup_elem(&learn_bloom, &(__u32){ bit >> 6 });
	if (bw && !(*bw & (1ULL << (bit & 63))))
		__sync_fetch_and_or(bw, 1ULL << (bit & 63));
}

/* Insert or refresh (addr, ncls) with @ttl seconds. */
static __always_inline void sl_learn_addr(const struct sl_addr_key *a, __u32 ncls, __u32 ttl,
					  struct sl_learn_cfg *lc)
{
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	struct sl_learned_val *v, *nv;
	__u64 now = bpf_ktime_get_ns(), exp;
	__u32 t = ttl, i, pick = SL_LEARN_SLOTS;

	if (t < lc->ttl_floor_s)
		t = lc->ttl_floor_s;
	if (lc->ttl_max_s && t > lc->ttl_max_s)
		t = lc->ttl_max_s;
	exp = now + ((__u64)t + lc->grace_s) * 1000000000ULL;
	sl_lctr(SL_L_LEARNED);
	sl_bloom_set(a);        /* before the address becomes visible in "learned" */

	v = bpf_map_lookup_elem(&learned, a);
	if (!v) {
		if (!sc)
			return;
		nv = &sc->nv;
		__builtin_memset(nv, 0, sizeof(*nv));
		nv->s[0].ncls = ncls;
		nv->s[0].stamp = sl_ring_push(a, ncls, lc);
		nv->s[0].expires_ns = exp;
		nv->learned_ns = now;
		nv->ttl = ttl;
		if (!bpf_map_update_elem(&learned, a, nv, BPF_NOEXIST))
			sl_live_add(1, lc);
		return;
	}
	v->learned_ns = now;
	v->ttl = ttl;
#pragma unroll
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		if (v->s[i].expires_ns && v->s[i].ncls == ncls) {
			if (v->s[i].expires_ns > now) {
				if (exp > v->s[i].expires_ns)
					v->s[i].expires_ns = exp;
				return;
			}
			pick = i;       /* expired: a new pair */
			break;
		}
	}
	if (pick == SL_LEARN_SLOTS) {
#pragma unroll
		for (i = 0; i < SL_LEARN_SLOTS; i++) {
			if (v->s[i].expires_ns <= now) {
				pick = i;
				break;
			}
		}
	}
	if (pick == SL_LEARN_SLOTS) {
		sl_lctr(SL_L_SLOTS_FULL);
		pick = 0;
#pragma unroll
		for (i = 1; i < SL_LEARN_SLOTS; i++)
			if (v->s[i].expires_ns < v->s[pick].expires_ns)
				pick = i;
	}
	pick &= SL_LEARN_SLOTS - 1;
	v->s[pick].ncls = ncls;
	v->s[pick].stamp = sl_ring_push(a, ncls, lc);
	v->s[pick].expires_ns = exp;
}

/* State of the answer-record walk (bpf_loop context). */

static __always_inline int sl_in_chain(const struct sl_dns_scratch *sc, __u32 n, __u64 h)
{
	int i;

#pragma unroll
	for (i = 0; i < SL_DNS_CHAIN; i++)
		if ((__u32)i < n && sc->chain[i] == h)
			return 1;
	return 0;
}

static long sl_rr_one(__u32 idx, void *arg)
{
	struct sl_cb *cb = arg;
	struct sl_dns_scratch *sc = cb->sc;
	struct sl_rr_ctx *x = &sc->rr;
	__u32 nlab, end, type, cls, ttl, rdlen, rd;
	__u64 h;

	(void)idx;
	if (!x->left)
		return 1;
	x->left--;
	if (sl_dns_walk(sc, x->len, x->off, &nlab, &end) || end + 10 > x->len) {
		x->err = 1;
		return 1;
	}
	type = (__u32)sl_b(sc, end) << 8 | sl_b(sc, end + 1);
	cls = (__u32)sl_b(sc, end + 2) << 8 | sl_b(sc, end + 3);
	ttl = (__u32)sl_b(sc, end + 4) << 24 | (__u32)sl_b(sc, end + 5) << 16 |
	      (__u32)sl_b(sc, end + 6) << 8 | sl_b(sc, end + 7);
	rdlen = (__u32)sl_b(sc, end + 8) << 8 | sl_b(sc, end + 9);
	rd = end + 10;
	if (rd + rdlen > x->len) {
		x->err = 1;
		return 1;
	}
	x->off = rd + rdlen;
	if (cls != 1 || (type != 1 && type != 28 && type != 5))
		return 0;
	h = sl_dns_hash(sc, nlab, cb->lc->hash_seed);
	if (!sl_in_chain(sc, x->nchain, h))
		return 0;               /* not about the question or its aliases */
	if (type == 5) {                /* CNAME: its target joins the chain */
		__u32 tn, te;

		if (sl_dns_walk(sc, x->len, rd, &tn, &te) || te != rd + rdlen) {
			x->err = 1;
			return 1;
		}
		h = sl_dns_hash(sc, tn, cb->lc->hash_seed);
		if (x->nchain >= SL_DNS_CHAIN) {
			sl_lctr(SL_L_CHAIN_LONG);
			return 0;
		}
		sc->chain[x->nchain & (SL_DNS_CHAIN - 1)] = h;
		x->nchain++;
		return 0;
	}
	{
		struct sl_addr_key a = {};
		int i;

		if (type == 1 && rdlen == 4) {
			a.family = 4;
#pragma unroll
			for (i = 0; i < 4; i++)
				a.addr[i] = sl_b(sc, rd + i);
		} else if (type == 28 && rdlen == 16) {
			a.family = 6;
#pragma unroll
			for (i = 0; i < 16; i++)
				a.addr[i] = sl_b(sc, rd + i);
		} else {
			x->err = 1;
			return 1;
		}
		sl_learn_addr(&a, x->ncls, ttl > 0x7fffffff ? 0 : ttl, cb->lc);
		x->learned++;
	}
	return 0;
}

/* The rule pattern the question name @nlab labels belongs to: ncls, or -1. */

static long sl_wild_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_wild_ctx *x = &sc->wild;
	struct sl_name_val *nv;
	__u64 h;

	(void)idx;
	if (x->k >= x->nlab)
		return 1;
	h = sc->sufh[x->k & 0xff];
	nv = bpf_map_lookup_elem(&wilds, &h);
	if (nv && sl_dns_same(sc, x->nlab, x->k, nv)) {
		x->ncls = nv->ncls;
		return 1;
	}
	x->k++;
	return 0;
}

static __always_inline long sl_name_class(struct sl_dns_scratch *sc, __u32 nlab,
					  struct sl_learn_cfg *lc)
{
	struct sl_wild_ctx *x = &sc->wild;
	struct sl_cb cb = { .sc = sc };
	struct sl_name_val *nv;
	__u64 h = sc->sufh[0];

	nv = bpf_map_lookup_elem(&names, &h);
	if (nv && sl_dns_same(sc, nlab, 0, nv))
		return nv->ncls;
	/* "*.S" matches names strictly below S; S has 1..max_wild_labels labels:
	 * strip leading labels, longest suffix (most specific wildcard) first */
	x->nlab = nlab;
	x->ncls = -1;
	x->k = nlab > lc->max_wild_labels ? nlab - lc->max_wild_labels : 1;
	if (x->k == 0)
		x->k = 1;
	bpf_loop(SL_DNS_LABELS, sl_wild_step, &cb, 0);
	return x->ncls;
}

static __always_inline void sl_fallback(struct __sk_buff *skb, const struct sl_dns_loc *l,
					__u32 caplen, __u32 walked)
{
	struct sl_dns_event *ev;
	__u32 n = caplen;

	sl_lctr(SL_L_FALLBACK);
	ev = bpf_ringbuf_reserve(&dns_fallback, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ifindex = skb->ifindex;
	ev->len = (__u16)l->len;
	ev->family = l->family;
	ev->proto = l->proto;
	__builtin_memcpy(ev->saddr, l->saddr, 16);
	__builtin_memcpy(ev->daddr, l->daddr, 16);
	ev->walked = (__u16)walked;
	ev->pad = 0;
	if (n > SL_DNS_BUF)
		n = SL_DNS_BUF;
	if (n < 1 || bpf_skb_load_bytes(skb, l->off, ev->msg, ((n - 1) & SL_DNS_MASK) + 1))
		n = 0;
	ev->caplen = (__u16)n;
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Header and question of the message in the scratch buffer (@len bytes):
 * a standard-query response, no TC bit, one well-formed question.
 * Returns -1 if so (*nlab, *end: the question name's labels and end), else
 * the counter that says why not.
 */
static __always_inline int sl_dns_head(struct sl_dns_scratch *sc, __u32 len, __u32 *nlab,
				       __u32 *end)
{
	__u8 flags = sl_b(sc, 2);

	if (!(flags & 0x80) || (flags & 0x78))
		return SL_L_MALFORMED;  /* not a response, or not a standard query */
	if (flags & 0x02)
		return SL_L_TRUNCATED;
	if (sl_b(sc, 4) != 0 || sl_b(sc, 5) != 1)
		return SL_L_MALFORMED;
	if (sl_dns_walk(sc, len, 12, nlab, end) || *end + 4 > len)
		return SL_L_MALFORMED;
	return -1;
}

/*
 * A trusted answer (header and question checked, question hashed into
 * sc->sufh): rcode, the question's name class, then the walk over at most
 * SL_DNS_MAX_RR answer records (@walk = 0: checks only, sc->rr.left = all
 * records).  Returns the number of addresses learned, or -1 - the counter
 * that says why nothing was (already counted).
 */
static __always_inline int sl_dns_learn(struct sl_dns_scratch *sc, __u32 len, __u32 nlab,
					__u32 end, __u64 qh, struct sl_learn_cfg *lc, int walk)
{
	struct sl_rr_ctx *x = &sc->rr;
	struct sl_cb cb = {};
	long ncls;

	if (sl_b(sc, 3) & 0x0f) {
		sl_lctr(SL_L_RCODE);
		return -1 - SL_L_RCODE;
	}
	ncls = sl_name_class(sc, nlab, lc);
	if (ncls < 0) {
		sl_lctr(SL_L_NO_RULE);
		return -1 - SL_L_NO_RULE;
	}
	sc->chain[0] = qh;
	x->len = len;
	x->off = end + 4;
	x->left = (__u32)sl_b(sc, 6) << 8 | sl_b(sc, 7);
	x->ncls = (__u32)ncls;
	x->nchain = 1;
	x->learned = 0;
	x->err = 0;
	if (!walk)
		return 0;
	cb.sc = sc;
	cb.lc = lc;
	bpf_loop(SL_DNS_MAX_RR, sl_rr_one, &cb, 0);
	if (x->err) {
		sl_lctr(SL_L_MALFORMED);
		x->left = 0;            /* nothing more to hand user space */
	}
	return (int)x->learned;
}

/*
 * A DNS response entering the interface.  Never drops: the learner only
 * learns (the packet's verdict, if any, is the classifier's business).
 * Answers it cannot finish (more than SL_DNS_MAX_RR records; a message over
 * SL_DNS_BUF bytes or one spanning TCP segments: SL_DL_BIG) go to user
 * space (dns_fallback) only after the same trust checks as any other:
 * resolver, pending query (txid, ports, question name), rcode, a rule for
 * the name.  Returns the number of addresses learned (tests), or -1 if ignored.
 */
static __always_inline int sl_learn_answer(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	struct sl_dns_loc *lp;
	struct sl_addr_key rk = {};
	struct sl_pending_key *pk;
	struct sl_pending_val *pv;
	__u32 nlab, end, caplen;
	__u64 qh;
	int rc, c, big;

	if (!lc || !lc->enabled || !sc)
		return -1;
	lp = &sc->loc;
	pk = &sc->pk;
	rc = sl_dns_locate(skb, 1, lp);
	if (rc == SL_DL_NONE)
		return -1;
	rk.family = lp->family;
	__builtin_memcpy(rk.addr, lp->saddr, 16);
	if (rc == SL_DL_FRAG) {
		/* a fragmented answer (no ports in later fragments): not learned */
		if (bpf_map_lookup_elem(&resolvers, &rk))
			sl_lctr(SL_L_FALLBACK);
		return -1;
	}
	if (!bpf_map_lookup_elem(&resolvers, &rk)) {
		sl_lctr(SL_L_SPOOFED);
		return -1;
	}
	sl_lctr(SL_L_ANSWERS);
	big = rc == SL_DL_BIG;
	caplen = big ? sl_dns_caplen(skb, lp) : lp->len;
	if (caplen < 12 && big) {
		sl_lctr(SL_L_FALLBACK);         /* not even a header in this segment */
		return -1;
	}
	if (sl_dns_copy_n(skb, lp->off, caplen, sc)) {
		sl_lctr(SL_L_MALFORMED);
		return -1;
	}
	c = sl_dns_head(sc, caplen, &nlab, &end);
	if (c >= 0) {
		sl_lctr((__u32)c);
		return -1;
	}
	qh = sl_dns_hash(sc, nlab, lc->hash_seed);

	__builtin_memset(pk, 0, sizeof(*pk));
	pk->family = lp->family;
	pk->proto = lp->proto;
	pk->cport = lp->dport;
	pk->txid = (__u16)sl_b(sc, 0) | (__u16)sl_b(sc, 1) << 8;
	__builtin_memcpy(pk->resolver, lp->saddr, 16);
	__builtin_memcpy(pk->client, lp->daddr, 16);
	pv = bpf_map_lookup_elem(&pending, pk);
	if (!pv || pv->qhash != qh ||
	    bpf_ktime_get_ns() - pv->sent_ns > (__u64)lc->pending_ms * 1000000ULL) {
		sl_lctr(SL_L_UNSOLICITED);
		return -1;
	}
	bpf_map_delete_elem(&pending, pk);

	rc = sl_dns_learn(sc, caplen, nlab, end, qh, lc, !big);
	if (rc < 0)
		return -1;
	if (sc->rr.left) {
		/* more answers than the BPF walk takes, or a message too big: user space */
		__u32 an = (__u32)sl_b(sc, 6) << 8 | sl_b(sc, 7);

		sl_fallback(skb, lp, caplen, an - sc->rr.left);
	}
	return rc;
}

/*
 * sluice_inject: a DNS response handed over by user space (`sluice run`)
 * through BPF_PROG_TEST_RUN, after a 14-byte dummy Ethernet header.  User
 * space established trust (its own query to a configured resolver, or a
 * fallback event that passed the checks above), so the resolver and
 * pending checks are skipped; everything else - rcode, name class, record
 * walk, caps, LRU, slots, counters - is the learner's own.  Returns the
 * number of addresses learned, or -1 - the counter that says why not
 * (SL_L_FALLBACK: more than SL_DNS_MAX_RR records; user space sends at
 * most that many).
 */
static __always_inline int sl_learn_inject(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	__u32 len = skb->len, nlab, end;
	__u64 qh;
	int c, rc;

	if (!lc || !lc->enabled || !sc)
		return -1 - SL_L_MAX;
	sl_lctr(SL_L_INJECTED);
	if (len < 14 + 12 || len > 14 + SL_DNS_BUF || sl_dns_copy_n(skb, 14, len - 14, sc)) {
		sl_lctr(SL_L_MALFORMED);
		return -1 - SL_L_MALFORMED;
	}
	len -= 14;
	c = sl_dns_head(sc, len, &nlab, &end);
	if (c >= 0) {
		sl_lctr((__u32)c);
		return -1 - c;
	}
	qh = sl_dns_hash(sc, nlab, lc->hash_seed);
	rc = sl_dns_learn(sc, len, nlab, end, qh, lc, 1);
	if (rc >= 0 && sc->rr.left)
		return -1 - SL_L_FALLBACK;
	return rc;
}

#endif /* SL_LEARN_H */
