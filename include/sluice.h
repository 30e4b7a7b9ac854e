/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice.h - every structure that both the BPF data path (bpf/) and user
 * space (user/) see: map keys and values, counters, the program config.
 *
 * Rules are identified on the data path by their *counter slot* (0 ..
 * SL_MAX_RULES-1), not by their position in the file: slots are stable
 * across reloads for rules whose name is unchanged, so counters survive.
 *
 * Layout rules: fixed-width types only, explicit padding, sizes pinned by
 * _Static_assert below so a change on one side cannot silently diverge.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <linux/types.h>
#include <linux/bpf.h>         /* struct bpf_spin_lock */

#define SL_MAX_RULES    4096    /* rules per ruleset */
#define SL_MAX_SLOTS    (2 * SL_MAX_RULES) /* counter slots: the running and the next generation's (docs/operations.md) */
#define SL_NAME_LEN     48      /* rule name incl. NUL */
#define SL_NO_RULE      0xffff  /* "no rule" in a __u16 rule slot */
#define SL_MAX_VLANS    2       /* VLAN tags walked */
#define SL_MAX_EXTHDRS  8       /* IPv6 extension headers walked */

/* Protocol slots: the data path maps the IP protocol to one of these. */
enum sl_pslot {
	SL_P_OTHER = 0,         /* any protocol but the four below (port 0) */
	SL_P_TCP   = 1,
	SL_P_UDP   = 2,
	SL_P_ICMP  = 3,         /* IPPROTO_ICMP (IPv4 only) */
	SL_P_ICMP6 = 4,         /* IPPROTO_ICMPV6 (IPv6 only) */
	SL_PSLOTS  = 5,
};

enum sl_action {
	SL_ACT_NONE  = 0,       /* no rule decided */
	SL_ACT_ALLOW = 1,
	SL_ACT_DENY  = 2,
};

enum sl_policy { SL_POLICY_DROP = 0, SL_POLICY_ALLOW = 1 };
enum sl_mode   { SL_MODE_ENFORCE = 0, SL_MODE_AUDIT = 1 };

/* A decision: which rule (slot) decided and how. */
struct sl_decision {
	__u16 rule;             /* counter slot, SL_NO_RULE if none */
	__u8  action;           /* enum sl_action */
	__u8  pad;
};

/* dst4 / dst6: LPM tries on the destination address. */
struct sl_lpm4_key {
	__u32 prefixlen;
	__u8  addr[4];          /* network order */
};

struct sl_lpm6_key {
	__u32 prefixlen;
	__u8  addr[16];         /* network order */
};

/*
 * The value of a destination prefix: its policy class (the ordered set of
 * rules whose destinations cover the prefix), the first of those rules
 * (credited with near-miss drops), and the decision for non-first
 * fragments per protocol slot (first rule matching destination and
 * protocol, ports ignored).
 */
struct sl_dst_val {
	__u32 class_id;         /* key of the class in "ports" */
	__u16 near_rule;        /* first covering rule's slot */
	__u16 pad;
	struct sl_decision frag[SL_PSLOTS];
	__u32 cidx;             /* index of the class in "classes" */
};

/*
 * ports: an LPM trie keyed by (class, protocol slot, port), all in network
 * order, so a port interval becomes a handful of prefixes and the port
 * check is one lookup whatever the number of rules.  prefixlen counts the
 * bits of class_be (32) + pslot (8) + port_be (16): 40 .. 56.
 */
struct sl_port_key {
	__u32 prefixlen;
	__u8  class_be[4];
	__u8  pslot;
	__u8  port_be[2];
	__u8  pad;
};
#define SL_PORT_KEY_FIXED_BITS 40   /* class + pslot */

/*
 * classes: the policy class of every static and name class id, as the fast
 * path reads it (docs/datapath.md §4).  The port decision of TCP and UDP is
 * held inline as up to SL_CLS_IVALS sorted intervals (a 4-step binary
 * search); a class with more intervals on a slot sets SL_CF_TRIE(slot) and
 * the data path asks the "ports" trie (which holds every class, the source
 * of truth) instead.
 */
#define SL_CLS_IVALS    16
#define SL_CF_TRIE(s)   (1u << (s))     /* slot s (SL_P_TCP / SL_P_UDP) is in "ports" only */

struct sl_ivals {
	__u16 hi[SL_CLS_IVALS];         /* inclusive upper bounds, ascending; padded with 0xffff */
	struct sl_decision d[SL_CLS_IVALS]; /* decision of [hi[i-1]+1, hi[i]] */
};

struct sl_class {
	__u32 class_id;
	__u16 near_rule;                /* first covering rule's slot */
	__u8  flags;                    /* SL_CF_TRIE() */
	__u8  pad;
	struct sl_decision frag[SL_PSLOTS];  /* non-first fragments, per slot */
	struct sl_decision p0[SL_PSLOTS];    /* OTHER, ICMP, ICMP6 (port-less) */
	struct sl_ivals iv[2];          /* [0] TCP, [1] UDP */
};

/* Index of the interval of @iv holding @port: the data path's 4-step binary
 * search (classify.h), shared with user space (user/fast.c). */
static inline __attribute__((always_inline)) __u32 sl_ival_index(const struct sl_ivals *iv,
								  __u16 port)
{
	__u32 i = port > iv->hi[7] ? 8 : 0;

	if (port > iv->hi[(i + 3) & 15])
		i += 4;
	if (port > iv->hi[(i + 1) & 15])
		i += 2;
	if (port > iv->hi[i & 15])
		i += 1;
	return i & 15;
}

/*
 * Fast tables: dir16 (IPv4 and, as dir6, IPv6) is indexed by the top 16 bits
 * of the destination (as 256 groups of 256 32-bit entries).  An entry is 0
 * (no prefix), class index + 1 (a leaf) or a pointer (IPv4: SL_DIR4_PTR,
 * IPv6: a node6 kind; see further down).  SL_DIR_GROUP marks a build-time
 * group of fast4.c.
 */
#define SL_DIR_GROUP    0x80000000u
#define SL_DIR16_SIZE   65536

/* One map value of dir16/dir6 (key: top byte): 256 entries.
 * (Array elements are 8-byte aligned, so a u32 per element would double the
 * memory; a 1 KiB group is dense and is one inlined array lookup.) */
struct sl_dir_grp {
	__u32 e[256];
};

/*
 * IPv4 below the top 16 bits (user/image/fast4.c builds it from dst4, the
 * source of truth; bpf/fast4.h walks it): the nodes of the 3rd byte (one per
 * /16 holding longer prefixes) and of the 4th (one per /24 holding longer
 * prefixes) live in one array of 64-byte lines, dir8, with 16-bit entries.
 * A node is compact (one line: at most SL_DIR4_CN ranges of the byte, a
 * 4-step binary search), wide (three lines: at most SL_DIR4_WN ranges, a
 * 6-step search over the first line's 64 upper bounds, the entry in line
 * 1 + i / 32) or full (256 entries in 8 lines, byte b's in line b / 32).
 * A dir16 entry with SL_DIR4_PTR names the /16's node: its kind
 * (SL_DIR4_KIND) and line (SL_DIR4_LINE).  A 16-bit entry is 0 (no prefix),
 * class index + 1 up to SL_DIR4_LEAF_MAX, SL_DIR4_TRIE (a class above that:
 * look the address up in dst4), or, in a /16's node only, SL_E4_PTR: the
 * /24's node (kind SL_E4_KIND) at SL_E4_OFF lines after the end of the /16's
 * node.  A /16's /24 nodes follow it, so that most lookups stay in a page.
 */
#define SL_DIR4_PTR     0x80000000u     /* dir16 entry: a dir8 node */
#define SL_DIR4_KIND(x) (((x) >> 29) & 3)       /* SL_K4_* */
#define SL_DIR4_LINE    0x1fffffffu     /* ... at this line of dir8 */
#define SL_E4_PTR       0x8000u         /* 16-bit entry: a /24's node */
#define SL_E4_KIND(x)   (((x) >> 13) & 3)
#define SL_E4_OFF       0x1fffu         /* ... lines after the /16's node */
#define SL_DIR4_TRIE    0x7fffu         /* 16-bit leaf: ask dst4 */
#define SL_DIR4_LEAF_MAX 0x7ffeu        /* largest class index + 1 in a 16-bit leaf */
#define SL_DIR4_CN      16              /* ranges of a compact node */
#define SL_DIR4_WN      64              /* ranges of a wide node */
enum { SL_K4_COMPACT = 0, SL_K4_WIDE = 1, SL_K4_FULL = 2 };
/* lines of a node of kind k */
#define SL_K4_LINES(k)  ((k) == SL_K4_COMPACT ? 1u : (k) == SL_K4_WIDE ? 3u : 8u)

struct sl_dir_line {
	union {
		struct {                /* a compact node */
			__u8  hi[SL_DIR4_CN];   /* range i is [hi[i-1]+1, hi[i]]; unused repeat 255 */
			__u16 e[SL_DIR4_CN];
			__u8  pad[16];
		} c;
		__u8  h[64];            /* a wide node's first line: its upper bounds */
		__u16 f[32];            /* a line of entries of a full or wide node */
	};
};

/*
 * @bit if @b > @h (both bytes), else 0, without a branch: the compiler
 * does not see a comparison through the empty asm, so that the searches
 * below stay straight-line code (each branch on the data would split the
 * verifier's states: 2^6 paths through a wide node).
 */
static inline __attribute__((always_inline)) __u32 sl_gt_bit(__u32 b, __u32 h, __u32 bit)
{
	__u32 d = h - b;        /* wraps to >= 0xffffff01 when b > h */

	__asm__ __volatile__("" : "+r"(d));
	return (d >> 24) & bit;
}

/* Entry of byte @b in the compact node @l (4-step binary search; shared
 * with user space). */
static inline __attribute__((always_inline)) __u16 sl_dir_line_entry(const struct sl_dir_line *l,
								      __u8 b)
{
	__u32 i = sl_gt_bit(b, l->c.hi[7], 8);

	i += sl_gt_bit(b, l->c.hi[(i + 3) & 15], 4);
	i += sl_gt_bit(b, l->c.hi[(i + 1) & 15], 2);
	i += sl_gt_bit(b, l->c.hi[i & 15], 1);
	return l->c.e[i & 15];
}

/* Range of byte @b in the wide node whose first line is @l (6 steps). */
static inline __attribute__((always_inline)) __u32 sl_dir_wide_index(const struct sl_dir_line *l,
								       __u8 b)
{
	__u32 i = sl_gt_bit(b, l->h[31], 32);

	i += sl_gt_bit(b, l->h[(i + 15) & 63], 16);
	i += sl_gt_bit(b, l->h[(i + 7) & 63], 8);
	i += sl_gt_bit(b, l->h[(i + 3) & 63], 4);
	i += sl_gt_bit(b, l->h[(i + 1) & 63], 2);
	i += sl_gt_bit(b, l->h[i & 63], 1);
	return i & 63;
}

/*
 * IPv6 fast path (dir6 and node6; user/image/fast6.c, bpf/fast6.h): dir6
 * holds the entries of the top 16 bits (as dir16, 256 values of 256), every
 * node below lives in node6, one pool of 16-byte units in 64-byte values
 * (a node's children
 * are laid out just before it, so that one lookup's nodes share pages).  An
 * entry is a leaf (class index + 1, 0 for none: below 1 << SL_N6_SHIFT) or
 * (kind << SL_N6_SHIFT) | unit:
 *  - SL_N6_SKIP: one unit, a chain of up to SL_N6_SKIP_MAX single-child
 *    levels (path compression): if the next len bytes of the address are
 *    key's, go on with next, else the entry is miss;
 *  - SL_N6_C8 / SL_N6_C32: a compact group of the next byte with at most 8
 *    / 32 ranges: hi[8] / hi[32] (sorted upper bounds, unused ones 255),
 *    then one u32 entry per range (8 + 4n / 32 + 4n bytes), a 3- / 5-step
 *    search; a node of up to 64 bytes lies in one cache line, a larger one
 *    starts on a line (so a C32's bounds are one line);
 *  - SL_N6_FULL: 256 entries (64 units, on 64 bytes) indexed by the next byte;
 *  - SL_N6_F16: 65536 entries (16384 units) indexed by the next two bytes
 *    (a 16-bit stride where a /32 or /40 is dense);
 *  - SL_N6_L8 / SL_N6_L16: a list of at most 7 / 15 prefixes of up to 56 bits
 *    below the node's byte (2 / 4 lines, every line read at once, no
 *    dependent read): unit 0 holds the default entry (w[0]) and the count
 *    (w[1]); unit k the prefix as a skip's key with 64 - its length in bits
 *    (8..63) in the low byte, and its entry in w[2]; by ascending length,
 *    the last one that matches wins (unused units repeat the last prefix);
 *    the walk goes on 7 bytes further.
 */
#define SL_N6_SHIFT     29
#define SL_N6_UNIT_MAX  ((1u << SL_N6_SHIFT) - 1)
#define SL_N6_SKIP      1u
#define SL_N6_C8        2u
#define SL_N6_C32       3u
#define SL_N6_FULL      4u
#define SL_N6_F16       5u
#define SL_N6_L8        6u
#define SL_N6_L16       7u
#define SL_N6_LIST_MAX  15
#define SL_N6_SKIP_MAX  7

/* One unit of node6.  A skip: q[0] = the key bytes from the top (byte 0 in
 * bits 63..56, host order) with 64 - 8 len (len 1..SL_N6_SKIP_MAX bytes: the
 * shift that drops what is not compared) in the low byte, w[2] = miss,
 * w[3] = next. */
struct sl_n6unit {
	union {
		__u8  b[16];
		__u32 w[4];
		__u64 q[2];
	};
};

/* One value of node6: a 64-byte line of 4 units (unit u is in value u / 4),
 * so that one inlined lookup reads any node of up to a line. */
struct sl_node6 {
	union {
		struct sl_n6unit u[4];
		__u8  b[64];
		__u32 w[16];
		__u64 q[8];
	};
};

/* learn_bloom: a 2^SL_BLOOM_LOG-bit filter over learned addresses; the
 * learner sets an address's bit before it inserts the address, the
 * classifier looks the address up in "learned" only if its bit is set.
 * Bits are never cleared (a stale bit costs one hash lookup). */
#define SL_BLOOM_LOG    20
#define SL_BLOOM_WORDS  (1u << (SL_BLOOM_LOG - 6))

/* Bit of an address (4 words, network order as in the packet; IPv4 in [0]). */
static inline __u32 sl_bloom_bit(__u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	__u32 w = a0 ^ (a1 * 0x85ebca6bu) ^ (a2 * 0xc2b2ae35u) ^ (a3 * 0x27d4eb2fu);

	return (w * 0x9e3779b1u) >> (32 - SL_BLOOM_LOG);
}

/* counters: per-CPU array indexed by rule slot. */
struct sl_rule_ctr {
	__u64 pass_packets;
	__u64 pass_bytes;
	__u64 drop_packets;         /* deny-rule drops + near-miss drops */
	__u64 drop_bytes;
	__u64 near_miss_packets;    /* policy drops whose address hit this rule */
	__u64 near_miss_bytes;
	__u64 last_miss_ns;         /* when the last near miss was (bpf_ktime_get_coarse_ns, CLOCK_MONOTONIC_COARSE) */
	__u16 last_miss_port;       /* its port (host order), per CPU */
	__u8  last_miss_proto;      /* its IP protocol number */
	__u8  pad;
	__u32 last_miss_tick;       /* data path only: low 32 bits of jiffies when last_miss_ns was read */
};

/* globals: per-CPU array indexed by enum sl_global. */
enum sl_global {
	SL_G_POLICY_PASS = 0,   /* no rule matched, policy allow */
	SL_G_POLICY_DROP,       /* no rule matched, policy drop */
	SL_G_MALFORMED,         /* truncated / bad IP headers: dropped */
	SL_G_NON_IP,            /* ARP, LLDP, ...: passed */
	SL_G_FRAGMENTS,         /* non-first fragments judged without ports */
	SL_G_CONTROL,           /* link-local control traffic passed unjudged */
	SL_G_AUDIT_PASS,        /* would-be drops passed because mode audit */
	SL_G_UNKNOWN_IF,        /* a shared program on an interface att_ifx does not name: dropped */
	SL_G_ND,                /* neighbour/router discovery passed unjudged (a kind of control) */
	SL_G_MAX,
};

struct sl_global_ctr {
	__u64 packets;
	__u64 bytes;
};

/* rules: array indexed by slot; names for bpftool users. */
struct sl_rule_meta {
	char  name[SL_NAME_LEN];
	__u8  action;           /* enum sl_action; SL_ACT_NONE = free slot */
	__u8  flags;            /* SL_RMF_* */
	__u16 index;            /* position in the ruleset (first-match order) */
	__u32 generation;       /* generation that last wrote this slot */
};

#define SL_RMF_LOG      0x01    /* rule has `log;`: its passes are events too */

/* The program's configuration, a read-only global (map "config"). */
struct sl_config {
	__u8  policy;           /* enum sl_policy */
	__u8  mode;             /* enum sl_mode */
	__u8  control_pass;     /* 1: pass link-local control traffic unjudged */
	__u8  record;           /* 1: write each result to "last" (tests only) */
	__u32 generation;
	__u8  log_drops;        /* 1: an event per drop and would-be drop (`log drops;`) */
	__u8  log_pass;         /* enum sl_log_pass */
	__u16 log_snap;         /* packet bytes an event carries (<= SL_SNAP_MAX) */
	__u32 log_rate;         /* events per second per instance (token bucket); 0 = no limit */
};

/* ------------------------------------------------------------------
 * Events (docs/events.md): one ring buffer "events" per instance, kept
 * across applies.  An event per drop / would-be drop (`log drops;`, the
 * default) and per pass of a rule marked `log;` (or every pass: `log all;`).
 */
enum sl_log_pass { SL_LOGP_NONE = 0, SL_LOGP_RULES = 1, SL_LOGP_ALL = 2 };
#define SL_SNAP_MAX     256     /* largest snap length */
#define SL_SNAP_DEFAULT 128
#define SL_SNAP_HDR     96      /* bytes copied at least (user space reads the source address and port there) */
#define SL_LOG_RATE_DEFAULT 1000

/* Result flags of the event path: set after the result is recorded, never in "last". */
#define SL_RF_LOG       0x80    /* this result is an event */
#define SL_RF_WDROP     0x40    /* ... of a drop or would-be drop (before audit mode) */

enum sl_ev_verdict { SL_EV_DROP = 0, SL_EV_AUDIT_DROP = 1, SL_EV_PASS = 2 };
enum sl_ev_prog { SL_EVP_TC = 1, SL_EVP_XDP = 2, SL_EVP_CGROUP = 3 };

/* ev_ctr: per-CPU event counters by enum sl_ev_ctr (kept across applies). */
enum sl_ev_ctr {
	SL_EC_EMITTED = 0,      /* written to the ring buffer */
	SL_EC_SUPPRESSED,       /* refused by the rate limit */
	SL_EC_LOST,             /* ring buffer full */
	SL_EC_MAX,
};

/* ev_bucket: the instance's token bucket (one, shared by every CPU). */
struct sl_ev_bucket {
	struct bpf_spin_lock lock;
	__u32 last_tick;        /* low 32 bits of jiffies at the last refill */
	__u64 last_ns;          /* bpf_ktime_get_coarse_ns() of the last refill */
	__u64 tokens;           /* in 1e-9 events (a full bucket: log_rate * 1e9) */
};

/* One event in the "events" ring buffer. */
struct sl_event {
	__u64 ts_ns;            /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 att;              /* attachment record (index in "attachments") */
	__u32 ifindex;          /* skb->ifindex / XDP ingress ifindex (0: cgroup) */
	__u32 len;              /* packet length */
	__u32 ncls;             /* name class the destination was learned for; 0 = none */
	__u8  verdict;          /* enum sl_ev_verdict */
	__u8  reason;           /* enum sl_reason */
	__u8  flags;            /* SL_RF_FRAGMENT */
	__u8  family;           /* 4, 6; 0 if malformed */
	__u8  proto;            /* IP protocol */
	__u8  prog;             /* enum sl_ev_prog: the data starts at Ethernet (tc, xdp) or IP (cgroup) */
	__u16 rule;             /* deciding or near-miss slot, SL_NO_RULE */
	__u16 dport;            /* destination port judged (host order); ICMP: type */
	__u16 caplen;           /* bytes in data[] */
	__u16 snap;             /* of which the configured snap length (pcap) */
	__u8  dir;              /* enum sl_dir of the attachment: inbound judges the source */
	__u8  pad;
	__u8  daddr[16];        /* network order; IPv4 in [0..3] */
	__u8  data[SL_SNAP_MAX];        /* the first bytes of the packet */
};

/* attachments: one record per hook the instance is attached to (user side
 * writes it; the BPF side never reads it, it is declared with the other maps
 * so that bpftool prints its fields). */
enum sl_hook { SL_HOOK_NONE = 0, SL_HOOK_TC_EGRESS, SL_HOOK_TC_INGRESS, SL_HOOK_XDP, SL_HOOK_CGROUP,
	       SL_HOOK_DNS /* the DNS learner, TC ingress */ };
enum sl_att_kind { SL_ATT_TCX = 1, SL_ATT_CLSACT = 2, SL_ATT_XDP = 3, SL_ATT_CGROUP = 4 };
#define SL_MAX_ATTACH 1024      /* attachment records of one instance (sluice-cni: one per container) */
/* Per-attachment program flags (rodata att_flags; docs/operations.md, docs/rules.md "host"). */
#define SL_AF_HOST        0x1   /* xdp, tc-ingress: pass to the host's own addresses and 255.255.255.255 */
#define SL_AF_COUNT_LOCAL 0x2   /* tc-egress beside ingress attachments: rule totals count only
				 * locally originated packets (forwarded ones were counted on ingress) */
#define SL_HOST_ADDRS     256   /* entries of host_addrs */
/* rodata att_index of a program shared by several attachments of one hook,
 * direction, flags and network namespace (a "group"): the record is looked
 * up in att_ifx at att_ifx_base + (ifindex & att_ifx_mask), the group's
 * table (a power of two the loader chose so that its interfaces' slots
 * differ), and is valid only if the slot names that very ifindex. */
#define SL_ATT_BY_IFINDEX 0xffffffffu
#define SL_IFX_SLOTS      4096  /* entries of att_ifx (every group's table) */
#define SL_IFX_GROUP_MAX  1024  /* the largest table of one group */

/* att_ifx: slot -> the interface it stands for and its attachment record. */
struct sl_ifx_val {
	__u32 ifindex;          /* tc: skb->ifindex; xdp: ingress_ifindex; 0: free */
	__u32 att;              /* attachment record */
};
#define SL_IFNAME_LEN 16

#define SL_CGPATH_LEN 64

struct sl_attach {
	__u8  hook;             /* enum sl_hook; SL_HOOK_NONE = free record */
	__u8  kind;             /* enum sl_att_kind */
	__u8  qdisc_created;    /* clsact: sluice created the qdisc */
	__u8  xdp_mode;         /* XDP: 1 native (driver), 2 generic (skb) */
	__u32 ifindex;
	__u32 handle;           /* clsact filter handle */
	__u32 priority;         /* clsact filter priority */
	__u32 link_id;          /* TCX/XDP/cgroup link id */
	__u8  dir;              /* enum sl_dir this attachment judges */
	__u8  pad[3];
	__u64 since;            /* attach time, seconds since the epoch */
	__u64 cgroup_id;        /* cgroup: the cgroup v2 id (inode number) */
	char  ifname[SL_IFNAME_LEN];
	char  netns[SL_IFNAME_LEN]; /* named network namespace ("" = sluice's own) */
	char  cgroup[SL_CGPATH_LEN]; /* cgroup: path below the cgroup2 mount */
};

/* att_counters: per attachment (record index), what it passed and dropped. */
struct sl_att_ctr {
	__u64 pass_packets;
	__u64 pass_bytes;
	__u64 drop_packets;
	__u64 drop_bytes;
};

/* Why a verdict was reached (reference classifier and "last" map). */
enum sl_reason {
	SL_R_RULE = 0,          /* a rule matched (allow or deny) */
	SL_R_POLICY,            /* no rule's address matched: policy */
	SL_R_NEAR_MISS,         /* address matched rule(s), proto/port did not: policy */
	SL_R_MALFORMED,
	SL_R_NON_IP,
	SL_R_CONTROL,
};

#define SL_RF_FRAGMENT  0x01    /* non-first fragment, judged without ports */
#define SL_RF_ICMP_ERR  0x02    /* ICMP error, judged by the packet it quotes */
#define SL_RF_ND        0x04    /* control: neighbour/router discovery (counted as SL_G_ND) */
/*
 * What can be neighbour or router discovery (RFC 4861 §6.1, §7.1, §8.1;
 * docs/datapath.md §2 step 3): ICMPv6 133-137 with hop limit 255, no
 * extension header, nothing after the IPv6 payload length, an ICMPv6
 * message (the IPv6 payload) of
 *   link-local destination (fe80::/10, ff02::/16): SL_ND_MIN..SL_ND_MAX_LINK
 *     bytes, the payload of the minimum IPv6 MTU (1280 - 40);
 *   any other unicast destination: NS (135) or NA (136) only (NUD probes and
 *     solicited advertisements; RS, RA and redirects never go there), of
 *     SL_ND_MIN_NSNA..SL_ND_MAX_UNICAST bytes: the 24-byte message, a
 *     link-layer address option (8 bytes on Ethernet, 24 on InfiniBand) and
 *     a nonce (8).
 */
#define SL_ND_MIN          8
#define SL_ND_MIN_NSNA     24
#define SL_ND_MAX_LINK     1240
#define SL_ND_MAX_UNICAST  64
/*
 * Direction of an attachment (docs/datapath.md §1): rules name remote
 * services; outbound judges the destination address and port, inbound the
 * source address and port.  An ICMP error is judged by its quote, in the
 * opposite direction.
 */
enum sl_dir { SL_DIR_OUT = 0, SL_DIR_IN = 1 };

enum sl_verdict { SL_V_DROP = 0, SL_V_PASS = 1 };

/* One classification result. */
struct sl_result {
	__u8  verdict;          /* enum sl_verdict, after audit mode */
	__u8  reason;           /* enum sl_reason */
	__u8  flags;            /* SL_RF_* */
	__u8  proto;            /* IP protocol (0 if not IP) */
	__u16 rule;             /* credited slot (rule or near-miss), SL_NO_RULE */
	__u16 port;             /* remote port judged, host order (0 if none) */
	__u32 packets;          /* packets counted (gso_segs or 1) */
};

/* ------------------------------------------------------------------
 * Host names learned from DNS (docs/dns.md).  A *name class* is the set of
 * rules a DNS question name matches (rules naming it exactly, rules with a
 * wildcard above it); it gets a class id after the static ones, its port
 * entries live in the same "ports" table, and learned addresses point to it.
 */
#define SL_LEARN_SLOTS    4     /* name classes one learned address can carry */
#define SL_NAME_RING      64    /* per-name cap on learned addresses (the name's ring) */
#define SL_NAME_RINGS     8192  /* names with a ring at once (name_rings; beyond: SL_L_RINGS_FULL) */
#define SL_CLASS_CAP      4096  /* addresses per name class (a quarter of "learned"), default */
#define SL_CLASS_BIG      4     /* the largest names a class remembers, to evict from first */
#define SL_DNS_NAME_MAX   255   /* a DNS name in wire format, root label included */
#define SL_DNS_LABELS     128   /* labels of a name (127 + root) */
#define SL_DNS_BUF        4096  /* DNS message bytes the BPF learner parses (power of 2) */
#define SL_DNS_MAX_RR     64    /* answer records walked per message */
#define SL_DNS_CHAIN      16    /* names accepted as owners: the question + CNAME targets */

/* names (exact) / wilds (suffix of "*.S"): key = sl_name_hash() of the name. */
struct sl_name_val {
	__u32 ncls;             /* name class id (ports table class) */
	__u8  wlen;             /* bytes of wire[] used, root label excluded */
	__u8  nlabels;
	__u16 pad;
	__u8  wire[256];        /* lower-case wire-format name (collision check) */
};

/* learned / resolvers key: an address of either family. */
struct sl_addr_key {
	__u8  family;           /* 4 or 6 */
	__u8  pad[3];
	__u8  addr[16];         /* network order; IPv4 in addr[0..3], rest zero */
};

struct sl_learn_slot {
	__u32 ncls;             /* name class */
	__u32 stamp;            /* position in the class's ring (per-name cap) */
	__u64 expires_ns;       /* bpf_ktime_get_ns() deadline incl. grace; 0 = free */
};

/* learned: address -> the name classes it was learned for. */
struct sl_learned_val {
	struct sl_learn_slot s[SL_LEARN_SLOTS];
	__u64 learned_ns;       /* last answer that (re)taught it */
	__u32 ttl;              /* that answer's TTL (seconds, as received) */
	__u32 pad;
};

/*
 * The caps of learned addresses (docs/dns.md "Caps and counters"):
 *   per question name: its ring in name_rings (key: name class and the
 *     name's hash), at most learn_cfg.name_cap; a new address beyond that
 *     drops the name's oldest (SL_L_CAP_NAME);
 *   per name class: name_ring (key: the class) counts the addresses its
 *     names' rings hold ("live") and the rings ("names"); at learn_cfg.class_cap
 *     a new address of a name drops an oldest address of a name over its fair
 *     share (class_cap / names): its own if it is over, else that of the
 *     largest name the class remembers (big[]) (SL_L_CAP_CLASS).  A name
 *     under its fair share is never evicted for another; if no name over
 *     it is known the class may go over its cap, by at most the fair shares
 *     of the names under it (< 2 x class_cap in all).
 * Stamps are per class (name_ring.next), so a ring forgets only its own pair.
 */
struct sl_name_ring_ent {
	struct sl_addr_key a;
	__u32 stamp;
};
struct sl_cls_big {
	__u64 qhash;            /* a name of the class (0: none) */
	__u32 count;            /* its ring's count when last seen */
	__u32 pad;
};
struct sl_name_ring {           /* name_ring: per name class */
	__u32 next;             /* stamps handed out so far */
	__u32 live;             /* addresses the class's rings hold */
	__u32 names;            /* rings of the class */
	__u32 pad;
	struct sl_cls_big big[SL_CLASS_BIG];
};
struct sl_nring_key {           /* name_rings: per question name of a class */
	__u32 ncls;
	__u32 pad;
	__u64 qhash;            /* sl_name_hash of the question */
};
struct sl_nring {
	__u32 head;             /* oldest entry: e[head % SL_NAME_RING] */
	__u32 count;            /* entries held */
	struct sl_name_ring_ent e[SL_NAME_RING];
};

/* pending: a query seen on egress, waiting for its answer. */
struct sl_pending_key {
	__u8  family;
	__u8  proto;            /* 17 or 6 */
	__u16 cport;            /* client port, network order */
	__u16 txid;             /* network order */
	__u16 pad;
	__u8  resolver[16];
	__u8  client[16];
};
struct sl_pending_val {
	__u64 qhash;            /* sl_name_hash of the question */
	__u64 sent_ns;
};

/*
 * pending_cl: the pending queries of one client, so that a client can
 * displace only its own (docs/dns.md "Caps and counters").  A client is a
 * source address and, for the host's own sockets, the socket's uid
 * (SL_PCL_NO_UID for packets without a local socket: forwarded, another
 * namespace's).  Its last SL_PENDING_PER_CLIENT queries stay in "pending";
 * an older one still unanswered is deleted there (SL_L_PENDING_CLIENT).
 */
#define SL_PENDING_PER_CLIENT 64
#define SL_PENDING_CLIENTS    1024
#define SL_PCL_NO_UID         0xffffffffu
struct sl_pcl_key {
	__u8  family;
	__u8  pad[3];
	__u32 uid;              /* the local socket's uid, or SL_PCL_NO_UID */
	__u8  addr[16];         /* the query's source address */
};
struct sl_pcl_ent {             /* a pending key but the client's address */
	__u8  resolver[16];
	__u16 cport;
	__u16 txid;
	__u8  proto;
	__u8  pad[3];
};
struct sl_pcl {
	__u32 next;             /* queries recorded so far; slot next % SL_PENDING_PER_CLIENT */
	__u32 pad;
	struct sl_pcl_ent e[SL_PENDING_PER_CLIENT];
};

/* learn_cfg: the learner's knobs (array of one, written by user space). */
struct sl_learn_cfg {
	__u32 enabled;          /* 1: classifier consults "learned"; learner runs */
	__u32 ttl_floor_s;      /* TTLs below this count as this */
	__u32 ttl_max_s;        /* TTLs above this count as this */
	__u32 grace_s;          /* added to every TTL */
	__u32 pending_ms;       /* an answer later than this after its query is unsolicited */
	__u32 name_cap;         /* addresses per name class, <= SL_NAME_RING */
	__u32 learned_cap;      /* max_entries of "learned" (for the cap counter) */
	__u8  max_wild_labels;  /* labels of the deepest wildcard suffix S (of "*.S") */
	__u8  pad[3];
	__u64 hash_seed;        /* sl_name_hash seed, random per generation */
	__u32 class_cap;        /* addresses per name class (SL_CLASS_CAP) */
	__u32 pad2;
};

/* learn_ctr: per-CPU learner counters. */
enum sl_learn_ctr {
	SL_L_QUERIES = 0,       /* queries to resolvers recorded on egress */
	SL_L_ANSWERS,           /* DNS responses from a resolver examined */
	SL_L_LEARNED,           /* (address, name class) pairs inserted or refreshed */
	SL_L_NO_RULE,           /* answered name matches no rule */
	SL_L_SPOOFED,           /* port-53 response from a non-resolver */
	SL_L_UNSOLICITED,       /* no matching query (txid, ports, name) */
	SL_L_MALFORMED,         /* bad header, label, pointer, length */
	SL_L_TRUNCATED,         /* TC bit set: not learned (the client retries over TCP) */
	SL_L_CAP_NAME,          /* per-name cap hit: oldest address of the name dropped */
	SL_L_CAP_TOTAL,         /* learned map full: LRU evicted an address */
	SL_L_SLOTS_FULL,        /* address already carried SL_LEARN_SLOTS names: soonest-expiring replaced */
	SL_L_FALLBACK,          /* could not be parsed in BPF: sent to user space (ring buffer) */
	SL_L_CHAIN_LONG,        /* CNAME chain longer than SL_DNS_CHAIN: rest ignored */
	SL_L_RCODE,             /* error responses (NXDOMAIN, SERVFAIL, ...): nothing to learn */
	SL_L_INJECTED,          /* answers handed to the learner by `sluice run` (sluice_inject) */
	SL_L_PENDING_CLIENT,    /* a client's unanswered query displaced by its own newer ones */
	SL_L_CAP_CLASS,         /* name class at its total: the oldest address of a name over
				 * its fair share dropped */
	SL_L_RINGS_FULL,        /* no ring left for a new name: learned without a per-name cap */
	SL_L_MAX,
};

/* dns_fallback ring buffer record: an answer to a pending query (trust
 * established in BPF) that the BPF walk could not finish. */
struct sl_dns_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u16 len;              /* DNS message length */
	__u8  family;
	__u8  proto;
	__u8  saddr[16];        /* the resolver */
	__u8  daddr[16];        /* the client */
	__u16 caplen;           /* bytes in msg[]: min(len, SL_DNS_BUF, what this packet holds) */
	__u16 walked;           /* answer records the BPF walk already learned from */
	__u32 pad;
	__u8  msg[SL_DNS_BUF];
};
/* Largest DNS message user space hands sluice_inject (BPF_PROG_TEST_RUN
 * takes about a page minus skb overhead). */
#define SL_INJECT_MAX     3072

_Static_assert(sizeof(struct sl_decision) == 4, "sl_decision");
_Static_assert(sizeof(struct sl_lpm4_key) == 8, "sl_lpm4_key");
_Static_assert(sizeof(struct sl_lpm6_key) == 20, "sl_lpm6_key");
_Static_assert(sizeof(struct sl_dst_val) == 32, "sl_dst_val");
_Static_assert(sizeof(struct sl_port_key) == 12, "sl_port_key");
_Static_assert(sizeof(struct sl_ivals) == 96, "sl_ivals");
_Static_assert(sizeof(struct sl_class) == 240, "sl_class");
_Static_assert(sizeof(struct sl_dir_grp) == 1024, "sl_dir_grp");
_Static_assert(sizeof(struct sl_dir_line) == 64, "sl_dir_line");
_Static_assert(sizeof(struct sl_n6unit) == 16, "sl_n6unit");
_Static_assert(sizeof(struct sl_node6) == 64, "sl_node6");
_Static_assert(sizeof(struct sl_rule_ctr) == 64, "sl_rule_ctr");
_Static_assert(sizeof(struct sl_global_ctr) == 16, "sl_global_ctr");
_Static_assert(sizeof(struct sl_rule_meta) == 56, "sl_rule_meta");
_Static_assert(sizeof(struct sl_config) == 16, "sl_config");
_Static_assert(sizeof(struct sl_ev_bucket) == 24, "sl_ev_bucket");
_Static_assert(sizeof(struct sl_event) == 56 + SL_SNAP_MAX, "sl_event");
_Static_assert(sizeof(struct sl_result) == 12, "sl_result");
_Static_assert(sizeof(struct sl_attach) == 136, "sl_attach");
_Static_assert(sizeof(struct sl_att_ctr) == 32, "sl_att_ctr");
_Static_assert(sizeof(struct sl_ifx_val) == 8, "sl_ifx_val");

_Static_assert(sizeof(struct sl_name_val) == 264, "sl_name_val");
_Static_assert(sizeof(struct sl_addr_key) == 20, "sl_addr_key");
_Static_assert(sizeof(struct sl_learn_slot) == 16, "sl_learn_slot");
_Static_assert(sizeof(struct sl_learned_val) == 80, "sl_learned_val");
_Static_assert(sizeof(struct sl_name_ring_ent) == 24, "sl_name_ring_ent");
_Static_assert(sizeof(struct sl_name_ring) == 16 + 16 * SL_CLASS_BIG, "sl_name_ring");
_Static_assert(sizeof(struct sl_nring_key) == 16, "sl_nring_key");
_Static_assert(sizeof(struct sl_nring) == 8 + 24 * SL_NAME_RING, "sl_nring");
_Static_assert(sizeof(struct sl_pending_key) == 40, "sl_pending_key");
_Static_assert(sizeof(struct sl_pending_val) == 16, "sl_pending_val");
_Static_assert(sizeof(struct sl_pcl_key) == 24, "sl_pcl_key");
_Static_assert(sizeof(struct sl_pcl_ent) == 24, "sl_pcl_ent");
_Static_assert(sizeof(struct sl_pcl) == 8 + 24 * SL_PENDING_PER_CLIENT, "sl_pcl");
_Static_assert(sizeof(struct sl_learn_cfg) == 48, "sl_learn_cfg");
_Static_assert(sizeof(struct sl_dns_event) == 56 + SL_DNS_BUF, "sl_dns_event");

#endif /* SLUICE_H */
