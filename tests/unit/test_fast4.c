/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_fast4.c - the fast tables of the IPv4 data path (user/image/fast.c:
 * classes and their port intervals; fast4.c: dir16/dir8) against the LPM
 * tables they are derived from (dst4, ports), as docs/datapath.md section 4
 * describes: 400 random rulesets (compile_util.h: rand_ruleset), half
 * built dense, half with the compact node kinds, a quarter again with
 * 16-bit leaves for the first class indexes only (the others ask dst4,
 * SL_DIR4_TRIE); crafted rulesets holding every node kind; a class with
 * more port intervals than SL_CLS_IVALS (the trie fallback).  The IPv6
 * table: test_fast6.c.
 */
#include <stdint.h>
#include <sys/socket.h>

#include "sl.h"
#include "test.h"
#include "compile_util.h"

/* What the fast-table checks saw, summed over rulesets. */
struct fast_seen {
	unsigned long ntrie, n16[3], n24[3], ntrie4, naddr, nport;
};

/*
 * The fast tables (user/image/fast.c, fast4.c: dir16/dir8, class intervals)
 * against the LPM tables they are derived from: every prefix's first and
 * last address and their outside neighbours, random addresses, every port
 * boundary; and the loader's bound of dir8 (sl_fast_bounds) holds.
 */
static bool fast_check_image(const struct sl_image *img, unsigned long seed, struct fast_seen *fs)
{
	unsigned long *naddr = &fs->naddr, *nport = &fs->nport;
	struct sl_fast f;
	bool ok = true;
	uint32_t bound = sl_fast_bounds(img);

	if (sl_fast_build(img, &f)) {
		printf("# seed %lu: sl_fast_build failed\n", seed);
		return false;
	}
	fs->ntrie += f.ntrie;
	for (int k = 0; k < 3; k++) {
		fs->n16[k] += f.n16[k];
		fs->n24[k] += f.n24[k];
	}
	fs->ntrie4 += f.ntrie4;
	if (f.nlines > bound) {
		printf("# seed %lu: %u lines of dir8, bound %u\n", seed, f.nlines, bound);
		ok = false;
	}
	for (size_t i = 0; i < img->ndst4 + 64 && ok; i++) {
		uint32_t cand[4];
		int nc = 0;

		if (i < img->ndst4) {
			const uint8_t *a = img->dst4[i].key.addr;
			uint32_t base = (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
			uint32_t plen = img->dst4[i].key.prefixlen;
			uint32_t last = base | (plen >= 32 ? 0 : (uint32_t)(0xffffffffu >> plen));
			cand[nc++] = base;
			cand[nc++] = last;
			cand[nc++] = base - 1;
			cand[nc++] = last + 1;
		} else {
			cand[nc++] = (uint32_t)rnd();
		}
		for (int c = 0; c < nc; c++) {
			uint8_t b[4] = { (uint8_t)(cand[c] >> 24), (uint8_t)(cand[c] >> 16),
					 (uint8_t)(cand[c] >> 8), (uint8_t)cand[c] };
			const struct sl_dst_val *v = sl_image_dst(img, AF_INET, b);
			int64_t x = sl_fast_class4(&f, img, b);

			(*naddr)++;
			if ((v ? (int64_t)v->cidx : -1) != x) {
				printf("# seed %lu: %u.%u.%u.%u: lpm class %lld, dir %lld\n", seed,
				       b[0], b[1], b[2], b[3], v ? (long long)v->cidx : -1LL,
				       (long long)x);
				ok = false;
			}
		}
	}
	for (uint32_t c = 0; c < f.ncls && ok; c++)
		for (int slot = 0; slot < SL_PSLOTS && ok; slot++) {
			uint32_t pts[64];
			int np = 0;

			pts[np++] = 0;
			pts[np++] = 65535;
			for (int i = 0; i < 8; i++)
				pts[np++] = rand_port();
			for (size_t i = 0; i < img->nports + img->nname_ports && np < 60; i++) {
				const struct sl_port_entry *e = i < img->nports ? &img->ports[i]
						: &img->name_ports[i - img->nports];
				uint32_t bits = e->key.prefixlen - SL_PORT_KEY_FIXED_BITS;
				uint32_t lo = pk_port(&e->key), hi = lo + (1u << (16 - bits)) - 1;

				if (pk_class(&e->key) != f.cls[c].class_id || e->key.pslot != slot)
					continue;
				pts[np++] = lo;
				pts[np++] = hi;
				if (lo)
					pts[np++] = lo - 1;
				if (hi < 65535)
					pts[np++] = hi + 1;
			}
			for (int i = 0; i < np; i++) {
				uint16_t port = slot == SL_P_TCP || slot == SL_P_UDP ? (uint16_t)pts[i] : 0;
				const struct sl_decision *d =
					sl_image_port_decision(img, f.cls[c].class_id, slot, port);
				struct sl_decision x = sl_fast_port(img, &f.cls[c], slot, port);
				uint8_t act = d ? d->action : SL_ACT_NONE;
				uint16_t rule = act != SL_ACT_NONE ? d->rule : SL_NO_RULE;

				(*nport)++;
				if (act != x.action || (act != SL_ACT_NONE && rule != x.rule)) {
					printf("# seed %lu: class %u slot %d port %u: lpm %u/%u, fast %u/%u\n",
					       seed, c, slot, port, rule, act, x.rule, x.action);
					ok = false;
					break;
				}
			}
		}
	sl_fast_free(&f);
	return ok;
}

/* A ruleset of @n destinations @dst[] (one rule per destination, rule i
 * allowing UDP port 7000 + i % 5), compiled and checked against the LPM. */
static bool fast_check_dsts(const char *const *dst, int n, struct fast_seen *fs)
{
	struct sl_ruleset rs;
	struct sl_image img;
	bool ok;

	rs_init(&rs);
	for (int i = 0; i < n; i++) {
		char name[32], port[16];
		struct sl_rule *r;

		snprintf(name, sizeof(name), "r%d", i);
		snprintf(port, sizeof(port), "%d", 7000 + i % 5);
		r = add_rule(&rs, name, SL_ACT_ALLOW);
		add_line(r, SL_PROTO_UDP, port);
		add_dst(r, dst[i]);
	}
	ok = sl_compile(&rs, NULL, 1, &img) == 0;
	if (ok) {
		ok = fast_check_image(&img, 1, fs);
		sl_image_free(&img);
	}
	rs_free(&rs);
	return ok;
}

static void test_fast_tables(void)
{
	struct fast_seen fs = { 0 }, lo = { 0 };
	unsigned long bad = 0, badlo = 0;

	for (unsigned long seed = 7000; seed < 7400; seed++) {
		struct sl_ruleset rs;
		struct anchors an;
		struct sl_image img;

		rng_state = seed * 0x9e3779b97f4a7c15ULL;
		rand_ruleset(&rs, &an, seed % 4 == 3 ? 60 : 12);
		if (sl_compile(&rs, NULL, 1, &img)) {
			bad++;
			rs_free(&rs);
			continue;
		}
		/* odd seeds: the compact kinds (as large tables), even: dense */
		sl_fast4_dense_lines = seed % 2 ? 0 : SL_FAST4_DENSE_LINES;
		if (!fast_check_image(&img, seed, &fs))
			bad++;
		/* the same with 16-bit leaves for class indexes < 2 only: the
		 * others ask dst4 (SL_DIR4_TRIE, as beyond 32,765 classes) */
		if (seed % 4 == 0) {
			sl_fast4_leaf_max = 2;
			if (!fast_check_image(&img, seed, &lo))
				badlo++;
			sl_fast4_leaf_max = SL_DIR4_LEAF_MAX;
		}
		sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
		sl_image_free(&img);
		rs_free(&rs);
	}
	printf("# fast tables: %lu addresses, %lu ports compared; %lu slots in the trie; "
	       "nodes (compact/wide/full): /16 %lu/%lu/%lu, /24 %lu/%lu/%lu\n", fs.naddr, fs.nport,
	       fs.ntrie, fs.n16[0], fs.n16[1], fs.n16[2], fs.n24[0], fs.n24[1], fs.n24[2]);
	T_CHECK("fast tables (dir16/dir8, class intervals) == LPM tables on 400 rulesets",
		bad == 0, "%lu rulesets differ", bad);
	T_CHECK("fast tables: 16-bit leaves above the limit ask dst4 (SL_DIR4_TRIE) == LPM on 100 rulesets",
		badlo == 0 && lo.ntrie4 > 0, "%lu rulesets differ, %lu trie leaves", badlo, lo.ntrie4);
	/* the cases below: the compact kinds (as large tables) */
	sl_fast4_dense_lines = 0;
	/* Ten hosts and a /25 in one /24: 21 ranges, a wide /24 node. */
	{
		static const char *const d[] = {
			"203.0.113.1/32", "203.0.113.3/32", "203.0.113.5/32", "203.0.113.7/32",
			"203.0.113.9/32", "203.0.113.11/32", "203.0.113.13/32", "203.0.113.15/32",
			"203.0.113.17/32", "203.0.113.19/32", "203.0.113.128/25",
		};
		unsigned long w0 = fs.n24[SL_K4_WIDE];

		T_CHECK("fast tables: ten hosts in a /24 -> a wide /24 node == LPM",
			fast_check_dsts(d, 11, &fs) && fs.n24[SL_K4_WIDE] > w0, "differs (%lu wide)",
			fs.n24[SL_K4_WIDE] - w0);
	}
	/* Nine /24s, a /20 and hosts in one /16: more than 16 ranges, a wide /16
	 * node whose /24s have nodes. */
	{
		static const char *const d[] = {
			"198.18.1.0/24", "198.18.3.0/24", "198.18.5.0/24", "198.18.7.0/24",
			"198.18.9.0/24", "198.18.11.0/24", "198.18.13.0/24", "198.18.15.0/24",
			"198.18.17.0/24", "198.18.64.0/20", "198.18.3.77/32", "198.18.255.255/32",
			"198.18.200.0/25", "198.18.200.128/26", "198.18.200.192/27",
			"198.18.200.224/28", "198.18.200.240/29", "198.18.200.248/30",
			"198.18.200.252/31", "198.18.200.254/32", "198.18.200.1/32",
			"198.19.0.0/16", "198.19.1.0/24",
		};
		unsigned long w0 = fs.n16[SL_K4_WIDE];

		T_CHECK("fast tables: a /16 of 17-64 ranges -> a wide /16 node with /24 nodes == LPM",
			fast_check_dsts(d, 23, &fs) && fs.n16[SL_K4_WIDE] > w0, "differs (%lu wide)",
			fs.n16[SL_K4_WIDE] - w0);
	}
	/* 40 /24s apart in one /16 (81 ranges: a full /16 node), 40 hosts apart
	 * in one of them (a full /24 node) and a /25 in another (compact). */
	{
		static char buf[82][24];
		const char *d[82];
		unsigned long f16 = fs.n16[SL_K4_FULL], f24 = fs.n24[SL_K4_FULL];

		for (int i = 0; i < 40; i++) {
			snprintf(buf[i], sizeof(buf[i]), "198.18.%d.0/24", 1 + 2 * i);
			snprintf(buf[40 + i], sizeof(buf[i]), "198.18.3.%d/32", 1 + 2 * i);
		}
		snprintf(buf[80], sizeof(buf[80]), "198.18.5.128/25");
		snprintf(buf[81], sizeof(buf[81]), "198.18.200.0/22");
		for (int i = 0; i < 82; i++)
			d[i] = buf[i];
		T_CHECK("fast tables: 81 ranges in a /16 and in a /24 -> full /16 and /24 nodes == LPM",
			fast_check_dsts(d, 82, &fs) && fs.n16[SL_K4_FULL] > f16 && fs.n24[SL_K4_FULL] > f24,
			"differs (%lu full /16, %lu full /24)", fs.n16[SL_K4_FULL] - f16,
			fs.n24[SL_K4_FULL] - f24);
	}
	sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
	T_CHECK("fast tables: every node kind exercised (/16 and /24; compact, wide, full)",
		fs.n16[0] && fs.n16[1] && fs.n16[2] && fs.n24[0] && fs.n24[1] && fs.n24[2],
		"/16 %lu/%lu/%lu, /24 %lu/%lu/%lu", fs.n16[0], fs.n16[1], fs.n16[2],
		fs.n24[0], fs.n24[1], fs.n24[2]);

	/* A class with more than SL_CLS_IVALS port intervals stays in the trie. */
	{
		struct sl_ruleset rs;
		struct sl_image img;
		struct sl_fast f;
		struct sl_port_range pr[20];
		struct sl_rule *r;
		bool ok;

		rs_init(&rs);
		for (int i = 0; i < 20; i++)
			pr[i].lo = pr[i].hi = (uint16_t)(1000 + 2 * i);
		r = add_rule(&rs, "many", SL_ACT_ALLOW);
		add_line_ranges(r, SL_PROTO_TCP, pr, 20);
		add_line(r, SL_PROTO_UDP, "53");
		add_dst(r, "192.0.2.0/24");
		ok = sl_compile(&rs, NULL, 1, &img) == 0;
		T_CHECK("fast tables: 20 TCP ports compile", ok, "sl_compile failed");
		if (ok) {
			ok = sl_fast_build(&img, &f) == 0;
			T_CHECK("fast tables: 20 TCP ports -> TCP in the trie, UDP inline",
				ok && f.ncls == 1 && (f.cls[0].flags & SL_CF_TRIE(SL_P_TCP)) &&
				!(f.cls[0].flags & SL_CF_TRIE(SL_P_UDP)) && f.ntrie == 1,
				"flags %#x ntrie %zu", ok ? f.cls[0].flags : 0, ok ? f.ntrie : 0);
			if (ok)
				sl_fast_free(&f);
			T_CHECK("fast tables: trie fallback agrees with the LPM",
				fast_check_image(&img, 0, &fs), "differs");
			sl_image_free(&img);
		}
		rs_free(&rs);
	}
}

int main(void)
{
	(void)t_skipped;
	test_fast_tables();
	return T_DONE();
}
