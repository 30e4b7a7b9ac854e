/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sl.h - user-side internal API of sluice: the pure stages of the pipeline
 * (DESIGN.md section 1): parse+resolve -> ruleset, compile -> image,
 * classify (reference classifier).  Nothing here makes a syscall except
 * reading rule files.  Functions return 0 or a negative errno.
 *
 * Module prefixes: sl_diag_* (front/diag.c), sl_ruleset_* (front/ruleset.c
 * over the rest of user/front), sl_name_* / sl_names_* (front/names.c),
 * sl_compile / sl_image_free / sl_image_rule_of_slot (image/compile.c),
 * sl_image_sort and the lookups sl_image_* (image/lookup.c), sl_classify* /
 * sl_pkt_* (image/classify.c), sl_fast_* (image/fast.c).
 */
#ifndef SL_H
#define SL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice.h"

/* ---------------------------------------------------------------- diag */

struct sl_pos {
	const char *file;       /* interned; lives as long as the ruleset */
	int line;               /* 1-based; 0 = no position */
	int col;                /* 1-based */
};

enum sl_sev { SL_SEV_NOTE = 0, SL_SEV_WARNING = 1, SL_SEV_ERROR = 2 };

struct sl_diag {
	enum sl_sev sev;
	struct sl_pos pos;
	char *msg;              /* "expected ';' after port list" */
	char *hint;             /* optional second line, or NULL */
};

struct sl_diags {
	struct sl_diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

void sl_diag_add(struct sl_diags *d, enum sl_sev sev, struct sl_pos pos,
		 const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* "file:line:col: error: msg\n  hint: ...\n" for every diagnostic. */
void sl_diag_print(const struct sl_diags *d, FILE *out);
void sl_diag_free(struct sl_diags *d);

/* ------------------------------------------------------------- ruleset */

enum sl_proto {                 /* protocols of the rule language */
	SL_PROTO_TCP = 0,
	SL_PROTO_UDP,
	SL_PROTO_ICMP,
	SL_PROTO_ICMP6,
	SL_PROTO_ANY,
};

struct sl_cidr {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t plen;           /* 0..32 / 0..128 */
	uint8_t addr[16];       /* network order; host bits are zero */
	struct sl_pos pos;      /* where it was written */
};

struct sl_port_range {
	uint16_t lo, hi;        /* inclusive, lo <= hi */
};

/* One "allow tcp 443, 8801-8802;" line. */
struct sl_proto_line {
	enum sl_proto proto;
	struct sl_port_range *ports;    /* sorted, disjoint, merged */
	size_t nports;                  /* 0 = every port */
	struct sl_pos pos;
};

struct sl_host {
	char *name;             /* lower case, no trailing dot; "zoom.us" */
	bool wildcard;          /* written "*.zoom.us": names below, not itself */
	struct sl_pos pos;
};

struct sl_rule {
	char *name;
	enum sl_action action;          /* SL_ACT_ALLOW or SL_ACT_DENY */
	struct sl_proto_line *lines;
	size_t nlines;
	struct sl_cidr *dsts;           /* resolved CIDRs (ranges split) */
	size_t ndsts;
	struct sl_host *hosts;          /* host names: not compiled yet */
	size_t nhosts;
	struct sl_pos pos;              /* of the name */
	bool log;                       /* `log;`: its passes are events too */
};

struct sl_ruleset {
	enum sl_policy policy;          /* default SL_POLICY_DROP */
	enum sl_mode mode;              /* default SL_MODE_ENFORCE */
	bool control_pass;              /* default true ("control pass;") */
	uint8_t log_drops;              /* `log drops|none|all;`: 1 unless none (default drops) */
	uint8_t log_pass;               /* enum sl_log_pass: all -> SL_LOGP_ALL, else from rules' `log;` */
	uint16_t log_snap;              /* `log snap N;` (default SL_SNAP_DEFAULT) */
	uint32_t log_rate;              /* `log rate N;` (default SL_LOG_RATE_DEFAULT) */
	bool host_pass;                 /* default true ("host pass;"): ingress hooks pass traffic to the host */
	struct sl_cidr *resolvers;      /* "resolvers" statement, host routes */
	size_t nresolvers;
	struct sl_rule *rules;          /* first-match order */
	size_t nrules;
	char **files;                   /* interned file names (for sl_pos) */
	size_t nfiles;
	struct sl_feed *feeds;          /* URL sets (`set NAME url "..."`), file order */
	size_t nfeeds;
	struct sl_rule *reqs;           /* `require` statements (front/require.c): what a */
	size_t nreqs;                   /* pack needs allowed; never compiled (sluice verify) */
};

/*
 * Parse and resolve a rules file (includes expanded in place, sets and
 * address files resolved, ranges split into CIDRs, ports normalized) and
 * run the lints.  Errors and warnings go to @d.  Returns 0, or -EINVAL if
 * @d holds at least one error (then @rs is freed and zeroed), or another
 * negative errno when the top file cannot be read (also reported in @d).
 */
int sl_ruleset_load(const char *path, struct sl_ruleset *rs, struct sl_diags *d);
/*
 * sl_ruleset_load() without its wait: the files are read and stamped once,
 * and *@check is what sl_ruleset_settled() verifies later (a file changed
 * since, or still young) no sooner than the settle time after the read,
 * so that the wait overlaps other work (sluice apply: the verifier).  On an
 * error, or a read that saw its file change, it is sl_ruleset_load() and
 * *@check is NULL.
 */
struct sl_rcheck;
int sl_ruleset_load_unsettled(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			      struct sl_rcheck **check);
/* 1: every file is as it was read (waits out what is left of the settle
 * time); 0: one changed, read the ruleset again.  Frees @check (NULL: 1). */
int sl_ruleset_settled(struct sl_rcheck *check);
void sl_rcheck_free(struct sl_rcheck *check);   /* without checking (NULL: nothing) */
/*
 * The check as sl_apply_opts.still_valid wants it (ctx: a struct sl_settle):
 * 1 if the files are as read (check NULL: settled already), else 0 with
 * changed set; check is consumed.  apply, run and sluice-cni read once, let
 * the settle time run beside the verifier, and read again on a change.
 */
struct sl_settle {
	struct sl_rcheck *check;
	bool changed;
};
int sl_settle_check(void *settle);
/* Same, from a buffer; @name is used in positions, includes are relative to cwd. */
int sl_ruleset_parse(const char *name, const char *text, size_t len,
		     struct sl_ruleset *rs, struct sl_diags *d);
void sl_ruleset_free(struct sl_ruleset *rs);
const char *sl_proto_name(enum sl_proto p);     /* "tcp" ... "any" */

/* ----------------------------------------- URL sets (front/feedset.c) */

/*
 * `set NAME url "https://..." [refresh 6h] [ca "FILE"] [max-shrink 25%]
 * [min-entries N] [max-size 16M] [format text | json "PATH"] [insecure-http];`
 * (docs/feeds.md).  The front end never touches the network: it reads the
 * set's last good copy, DIR/NAME-KEY.list (written by user/feed/), and a set
 * without one is a rule error ("run `sluice fetch FILE`").
 */
enum sl_feed_format { SL_FEED_TEXT = 0, SL_FEED_JSON = 1 };

#define SL_FEED_DIR_DEFAULT     "/var/lib/sluice/feeds"
#define SL_FEED_REFRESH_DEFAULT (6 * 3600)      /* seconds */
#define SL_FEED_SHRINK_DEFAULT  25              /* percent */
#define SL_FEED_SIZE_DEFAULT    (16u << 20)     /* bytes of body */
#define SL_FEED_KEY_LEN         (SL_NAME_LEN + 18)      /* "NAME-" + 16 hex + NUL */

struct sl_feed {
	char *name;                     /* the set's name */
	char *url;
	char *ca;                       /* CA bundle (relative paths joined), or NULL: the system's */
	char *json_path;                /* format json "PATH", or NULL */
	enum sl_feed_format format;
	uint32_t refresh_s;
	uint32_t max_shrink;            /* percent, 0..100 */
	uint32_t min_entries;
	uint32_t max_size;              /* bytes */
	bool insecure_http;
	bool has_copy;                  /* a last good copy was read */
	size_t nentries;                /* ... with this many prefixes */
	char key[SL_FEED_KEY_LEN];      /* cache file stem: NAME-<hash of url and format> */
	struct sl_pos pos;              /* of the set's name */
	struct sl_pos url_pos;
};

/* The cache directory: --feed-dir, else $SLUICE_FEED_DIR, else SL_FEED_DIR_DEFAULT. */
void sl_feed_dir_set(const char *dir);
const char *sl_feed_dir(void);
/* Parse URL sets without a last good copy as empty sets, not errors (sluice fetch). */
void sl_feed_allow_missing(bool yes);
/* The stem of @f's cache files (f->key) from its name, URL and format. */
void sl_feed_make_key(struct sl_feed *f);
void sl_feed_free(struct sl_feed *f);
/*
 * Parse an address list (the format of `file "x"`: addresses, prefixes and
 * ranges separated by ',' or white space, # comments) from a buffer into
 * CIDRs (ranges split); host names are errors.  Diagnostics name @name.
 * 0, -EINVAL (errors in @d) or -ENOMEM.
 */
/*
 * format json "PATH": a JMESPath subset, KEY('.'KEY)* where a KEY may end in
 * [] (every element of an array) or [?FIELD=='VALUE'] (the elements whose
 * FIELD is VALUE), and the last KEY names the prefix strings:
 * "prefixes[].ip_prefix", "prefixes[?service=='AMAZON'].ip_prefix".
 */
#define SL_JPATH_SEGS 8
struct sl_jpath {
	int nseg;
	struct sl_jseg {
		char key[64];
		bool array;             /* KEY[] or KEY[?...] */
		char fkey[64];          /* filter field, "" for none */
		char fval[128];
	} seg[SL_JPATH_SEGS];
};
/* 0, or -EINVAL with what is wrong in @why. */
int sl_jpath_parse(const char *s, struct sl_jpath *p, char *why, size_t n);
int sl_addrs_parse(const char *name, const char *buf, size_t len,
		   struct sl_cidr **out, size_t *n, struct sl_diags *d);

/* --------------------------------------------------------------- image */

struct sl_dst4_entry { struct sl_lpm4_key key; struct sl_dst_val val; };
struct sl_dst6_entry { struct sl_lpm6_key key; struct sl_dst_val val; };
struct sl_port_entry { struct sl_port_key key; struct sl_decision val; };

/* A compiled ruleset: exactly what the maps will hold. */
/* A name class (docs/dns.md): the rules a DNS question name matches. */
struct sl_nameclass {
	char *name;             /* the name, or S of "*.S"; lower case */
	bool wild;              /* pattern "*.S": names strictly below S */
	uint32_t ncls;          /* class id in "ports" (>= SL_NCLS_BASE) */
	uint64_t hash;          /* sl_name_hash(name): key of names / wilds */
	struct sl_name_val nval;        /* value of names / wilds */
	struct sl_dst_val val;          /* value of nclass: near rule, frag[] */
	uint16_t *rules;        /* rule indices, file order */
	size_t nrules;
};
#define SL_NCLS_BASE 0x40000000u        /* name class ids: BASE | hash bits (stable) */

struct sl_image {
	struct sl_config cfg;
	const struct sl_ruleset *rs;    /* the source (not owned) */
	uint16_t *slot;                 /* [rs->nrules]: rule index -> counter slot */
	struct sl_dst4_entry *dst4;  size_t ndst4;
	struct sl_dst6_entry *dst6;  size_t ndst6;
	struct sl_port_entry *ports; size_t nports;
	uint32_t nclasses;
	struct sl_nameclass *names;     /* sorted by ncls */
	struct sl_port_entry *name_ports; size_t nname_ports;  /* their "ports" entries, sorted */
	size_t nnames;
	uint8_t max_wild_labels;        /* labels of the deepest "*.S" suffix S */
	int32_t *slot_index;            /* read back from maps (rs NULL): slot -> rule index, -1 */
};

/*
 * Compile @rs into @img.  @slots maps rule index -> counter slot (NULL:
 * slot = index); every slot must be < SL_MAX_SLOTS and distinct.
 */
int sl_compile(const struct sl_ruleset *rs, const uint16_t *slots,
	       uint32_t generation, struct sl_image *img);
void sl_image_free(struct sl_image *img);
/* A 64-bit fingerprint of what @img puts in the maps (digest.c): equal images, equal digests. */
uint64_t sl_image_digest(const struct sl_image *img);
/* Sort the tables in the order sl_compile emits them and sl_image_lookup
 * expects: dst by (address, prefixlen), ports by (class, slot, port, len).
 * For images read back from maps. */
void sl_image_sort(struct sl_image *img);
/* Rule index of a slot, or -1. */
int sl_image_rule_of_slot(const struct sl_image *img, uint16_t slot);

/* ------------------------------------------------ fast tables (fast.c) */

/* The data path's derived tables (docs/datapath.md §4): built from an image. */
struct sl_fast {
	struct sl_class *cls; uint32_t ncls;    /* indexed by sl_dst_val.cidx */
	uint32_t *dir16;                        /* SL_DIR16_SIZE entries */
	struct sl_dir_line *dir8; uint32_t nlines;      /* the /16 and /24 nodes (fast4.c) */
	uint32_t n16[3], n24[3];                /* /16 and /24 nodes by kind (SL_K4_*) */
	uint32_t ntrie4;                        /* 16-bit leaves that ask dst4 (SL_DIR4_TRIE) */
	size_t ntrie;                           /* TCP/UDP slots left to "ports" */
};
int sl_fast_build(const struct sl_image *img, struct sl_fast *f);
/* An upper bound of nlines for @img (dst4 in sl_compile's order), cheap
 * enough to size dir8 before sl_fast_build() finishes. */
uint32_t sl_fast_bounds(const struct sl_image *img);
void sl_fast_free(struct sl_fast *f);
/* fast4.c, called by sl_fast_build(): dir16 and dir8 from dst4. */
int sl__fast4_build(struct sl_fast *f, const struct sl_image *img);
/* Largest class index + 1 held in a 16-bit leaf (SL_DIR4_LEAF_MAX; tests
 * lower it to exercise the SL_DIR4_TRIE leaves). */
extern uint32_t sl_fast4_leaf_max;
/* Tables whose nodes would all fit this many lines as full nodes are built
 * so (a direct index, no search; 1 MiB); tests set 0 for the compact kinds. */
#define SL_FAST4_DENSE_LINES 16384
extern uint32_t sl_fast4_dense_lines;
/* Class index of an IPv4 address through dir16/dir8 (and dst4 for
 * SL_DIR4_TRIE leaves), -1 if none, -2 if the tables are inconsistent. */
int64_t sl_fast_class4(const struct sl_fast *f, const struct sl_image *img, const uint8_t a[4]);
/* Port decision of class @c as the data path takes it. */
struct sl_decision sl_fast_port(const struct sl_image *img, const struct sl_class *c,
				int slot, uint16_t port);
/* The IPv6 fast table (fast6.c, docs/datapath.md §4), derived from dst6:
 * a 16-bit first level, then 8-bit strides in full or compact groups, chains
 * of single-child levels path-compressed, every node in one pool of 16-byte
 * units (include/sluice.h: SL_N6_*), children before their parent. */
struct sl_fast6 {
	uint32_t *dir6;                         /* SL_DIR16_SIZE entries (top 16 bits) */
	struct sl_n6unit *pool; uint32_t npool; /* npool units (a multiple of 4): node6 holds npool / 4 lines */
	uint32_t nfull, nc8, nc32, nskip, nl8, nl16, nf16;      /* nodes of each kind */
};
int sl_fast6_build(const struct sl_image *img, struct sl_fast6 *f);
void sl_fast6_free(struct sl_fast6 *f);
/* Class index of an IPv6 address through dir6/node6, as bpf/fast6.h walks them, or -1. */
int64_t sl_fast6_class(const struct sl_fast6 *f, const uint8_t a[16]);
/* Number of node6 reads (dir6 not counted) of that walk (for tests and the bench). */
int sl_fast6_depth(const struct sl_fast6 *f, const uint8_t a[16]);
/* Bytes of the two tables as the data path holds them (array values). */
size_t sl_fast6_bytes(const struct sl_fast6 *f);
/* The dst4/dst6 LPM value of @addr (AF_INET / AF_INET6) in @img, or NULL. */
const struct sl_dst_val *sl_image_dst(const struct sl_image *img, uint8_t family,
				     const uint8_t *addr);
/* The "ports" LPM decision of (class id, slot, port) in @img, or NULL. */
const struct sl_decision *sl_image_port_decision(const struct sl_image *img, uint32_t cls,
						 int slot, uint16_t port);

/* ----------------------------------------------- reference classifier */

/* The packet an ICMP error quotes (docs/datapath.md §1 step 7). */
struct sl_pkt_quote {
	uint8_t src[16], dst[16];
	uint8_t proto;
	bool fragment;
	uint16_t sport, dport;  /* TCP/UDP, not for a non-first fragment */
	uint8_t icmp_type;
};

/*
 * A parsed packet: what the classifier judges.  dst/port are the
 * destination; an inbound packet (@inbound, set by the caller: the parser
 * does not know where it runs) is judged by src/sport instead, an ICMP
 * error by its quote in the opposite direction (sl_pkt_judged).
 */
struct sl_pkt {
	int kind;               /* SL_PK_* */
	uint8_t family;         /* AF_INET / AF_INET6 */
	uint8_t dst[16];
	uint8_t proto;          /* IP protocol number (after ext headers) */
	bool fragment;          /* non-first fragment: no ports */
	uint16_t port;          /* destination port, host order (TCP/UDP first fragment) */
	uint8_t icmp_type;      /* ICMP / ICMPv6 type when proto is ICMP */
	uint8_t src[16];        /* source address */
	uint16_t sport;         /* source port, as port */
	bool inbound;           /* judge the source side (SL_DIR_IN) */
	bool icmp_err;          /* an ICMP error (ICMPv4 3, 11, 12; ICMPv6 1-4) */
	bool quote_bad;         /* ... whose quote is truncated or malformed */
	struct sl_pkt_quote q;  /* ... its quote, if !quote_bad */
	uint8_t hop_limit;      /* IPv6: the hop limit */
	uint16_t nd_len;        /* IPv6: the payload length if no extension header and it is
				 * exactly the rest of the frame, else 0 */
};
enum { SL_PK_IP = 0, SL_PK_NON_IP, SL_PK_MALFORMED };

/*
 * Parse an Ethernet frame as the data path does (up to SL_MAX_VLANS
 * VLAN tags, IPv4 options, up to SL_MAX_EXTHDRS IPv6 extension headers).
 */
int sl_pkt_parse(const void *frame, size_t len, struct sl_pkt *p);
/* Is @p link-local control traffic (DESIGN.md §2; inbound adds DHCP replies,
 * IPv6 link-local sources)?  On the packet's own headers, never its quote.
 * SL_PKT_CTL_ND: neighbour or router discovery (counted apart). */
enum { SL_PKT_CTL_NO = 0, SL_PKT_CTL_YES, SL_PKT_CTL_ND };
int sl_pkt_is_control(const struct sl_pkt *p);
/*
 * The tuple the rules judge, as an outbound packet @j: @p's destination
 * side, or its source side if p->inbound; with @quote, for an ICMP error,
 * the quote's side in the opposite direction (j->icmp_err set), or a
 * malformed @j if the quote is bad.
 */
void sl_pkt_judged(const struct sl_pkt *p, bool quote, struct sl_pkt *j);

/*
 * The oracle: decide @p by the *semantics* of DESIGN.md section 2 applied
 * to img->rs (first match over the rules in order), using img->slot for
 * slots and img->cfg for policy, mode, control.  Does not look at the
 * compiled tables.  @gso_segs is the packet count (0 or 1 = one packet).
 */
void sl_classify_pkt(const struct sl_image *img, const struct sl_pkt *p,
		     uint32_t gso_segs, struct sl_result *res);
/*
 * The oracle with learned addresses (docs/dns.md): @learned lists
 * (address, question name, expiry) triples; an entry with expires > @now
 * makes every rule listing the name (exactly, or strictly below a "*.S")
 * cover the address.  Time units are the caller's (tests use ns).
 */
struct sl_learned_addr {
	uint8_t family;         /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	const char *qname;      /* lower case, no trailing dot */
	uint64_t expires;
};
void sl_classify_pkt_learned(const struct sl_image *img, const struct sl_pkt *p,
			     uint32_t gso_segs, const struct sl_learned_addr *learned,
			     size_t nlearned, uint64_t now, struct sl_result *res);
/* Parse + classify a frame (outbound). */
void sl_classify_frame(const struct sl_image *img, const void *frame, size_t len,
		       uint32_t gso_segs, struct sl_result *res);
/* The same in direction @dir (enum sl_dir). */
void sl_classify_frame_dir(const struct sl_image *img, const void *frame, size_t len,
			   int dir, uint32_t gso_segs, struct sl_result *res);
/*
 * Look a tuple up in the compiled tables exactly as the data path does
 * (LPM on dst4/dst6, class, ports), for `sluice lookup` on an image and
 * for cross-checking the compiler.  @proto is an IP protocol number.
 */
void sl_image_lookup(const struct sl_image *img, const struct sl_pkt *p,
		     struct sl_result *res);

const char *sl_reason_name(enum sl_reason r);   /* "rule", "policy", ... */

/* ---------------------------------------------- events (image/event.c) */

/* The event fields of the config (log_drops, log_pass, log_snap, log_rate) from @rs. */
void sl_event_cfg(const struct sl_ruleset *rs, struct sl_config *cfg);
/*
 * The event the data path must emit for result @res of a packet (the
 * reference classifier's, after audit mode, under img->cfg and the rules'
 * `log;`): false if none; else *verdict (enum sl_ev_verdict) and the
 * reason name as `sluice log` prints it ("deny", "policy", "near-miss",
 * "malformed", "fragment", "allow").
 */
bool sl_event_expect(const struct sl_image *img, const struct sl_result *res,
		     uint8_t *verdict);
const char *sl_event_reason(uint8_t verdict, uint8_t reason, uint8_t flags);
const char *sl_event_verdict(uint8_t verdict);  /* "drop", "audit-drop", "pass" */

/* ---------------------------------------------------- names (names.c) */

/* Hash of a lower-case dotted name ("" = the root), label by label from the
 * root: the BPF learner's sl_dns_hash() on the same name gives the same value. */
uint64_t sl_name_hash(const char *name, uint64_t seed);
/* Lower-case wire format without the root label; returns its length or -EINVAL. */
int sl_name_wire(const char *name, uint8_t *wire, size_t cap, uint8_t *nlabels);
/* Does host pattern @h match question name @q (exact, or strictly below "*.S")? */
bool sl_host_matches(const struct sl_host *h, const char *q);
/* Build img->names from img->rs (called by sl_compile; ports entries via @emit). */
int sl_names_build(const struct sl_ruleset *rs, struct sl_nameclass **out, size_t *n,
		   uint8_t *max_wild_labels);
void sl_names_free(struct sl_nameclass *v, size_t n);
/* Name class of question @q in @img (exact, else longest wildcard), or NULL. */
const struct sl_nameclass *sl_names_find(const struct sl_image *img, const char *q);
/*
 * Look a tuple up in the compiled tables with learned name classes @ncls
 * (the live ones of the address), as the data path does (datapath.md §5).
 */
void sl_image_lookup_learned(const struct sl_image *img, const struct sl_pkt *p,
			     const uint32_t *ncls, size_t n, struct sl_result *res);

#endif /* SL_H */
