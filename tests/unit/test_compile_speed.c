/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_compile_speed.c - compile speed (user/image/compile.c,
 * partition.c): 1e6 IPv4 prefixes in 4 rules, and 4096 rules; each image
 * spot-checked against the reference classifier.
 *
 * SL_TEST_SPEED_LIMIT_MS changes the limit (3000 ms: this build is
 * sanitized).
 */
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "sl.h"
#include "test.h"
#include "compile_util.h"

/* ---------------------------------------------------------- speed */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_speed(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	double t0, t1;
	int err;
	/* Sanitizers slow this build ~3x; the release target is well under 1 s. */
	double limit = env_ul("SL_TEST_SPEED_LIMIT_MS", 3000) / 1000.0;

	rs_init(&rs);
	rng_state = 42;
	for (int i = 0; i < 4; i++) {
		char name[8];
		struct sl_rule *r;
		size_t n = 250000;

		snprintf(name, sizeof(name), "big%d", i);
		r = add_rule(&rs, name, i == 3 ? SL_ACT_DENY : SL_ACT_ALLOW);
		add_line(r, SL_PROTO_TCP, "443,8801-8802");
		add_line(r, SL_PROTO_UDP, "3478-3479,8801-8810");
		r->dsts = calloc(n, sizeof(*r->dsts));
		r->ndsts = n;
		for (size_t k = 0; k < n; k++) {
			uint32_t a = (uint32_t)rnd();
			unsigned plen = 16 + rn(17);

			a &= plen ? ~0u << (32 - plen) : 0;
			r->dsts[k].family = AF_INET;
			r->dsts[k].plen = (uint8_t)plen;
			r->dsts[k].addr[0] = (uint8_t)(a >> 24);
			r->dsts[k].addr[1] = (uint8_t)(a >> 16);
			r->dsts[k].addr[2] = (uint8_t)(a >> 8);
			r->dsts[k].addr[3] = (uint8_t)a;
		}
	}
	t0 = now();
	err = sl_compile(&rs, NULL, 0, &img);
	t1 = now();
	printf("# compile 1e6 IPv4 prefixes / 4 rules: %.3f s, %zu dst4, %u classes, %zu ports\n",
	       t1 - t0, img.ndst4, img.nclasses, img.nports);
	T_CHECK("speed: 1e6 prefixes compile", err == 0 && t1 - t0 < limit,
		"err %d, %.3f s (limit %.1f s)", err, t1 - t0, limit);
	if (!err) {
		/* Spot-check the big image against the classifier. */
		unsigned long bad = 0;

		for (int k = 0; k < 300; k++) {
			const struct sl_rule *r = &rs.rules[rn(4)];
			const struct sl_cidr *c = &r->dsts[rn((uint32_t)r->ndsts)];
			struct sl_pkt p = { .kind = SL_PK_IP, .family = AF_INET,
					    .proto = rn(2) ? 6 : 17, .port = rand_port() };
			struct sl_result a, b;

			memcpy(p.dst, c->addr, 4);
			p.dst[3] ^= (uint8_t)rn(4);
			sl_image_lookup(&img, &p, &a);
			sl_classify_pkt(&img, &p, 0, &b);
			bad += memcmp(&a, &b, sizeof(a)) != 0;
		}
		T_CHECK("speed: big image agrees with classifier", bad == 0, "%lu mismatches", bad);
		sl_image_free(&img);
	}
	rs_free(&rs);

	/* 4096 rules with a few prefixes each, all under one /8 plus a 0/0 rule. */
	rs_init(&rs);
	for (int i = 0; i < SL_MAX_RULES; i++) {
		char name[16];
		struct sl_rule *r;

		snprintf(name, sizeof(name), "r%d", i);
		r = add_rule(&rs, name, i % 3 ? SL_ACT_ALLOW : SL_ACT_DENY);
		if (i == 0) {
			add_line(r, SL_PROTO_ICMP, NULL);
			add_dst(r, "0.0.0.0/0");
			continue;
		}
		{
			char ports[32];

			snprintf(ports, sizeof(ports), "%d,%d-%d", i, 10000 + i, 10000 + 2 * i);
			add_line(r, SL_PROTO_TCP, ports);
			add_line(r, SL_PROTO_UDP, ports);
		}
		for (int k = 0; k < 4; k++) {
			uint8_t a[4] = { 10, (uint8_t)(i >> 4), (uint8_t)((i & 15) << 4 | k), 0 };

			add_cidr(r, AF_INET, a, k == 0 ? 12 + rn(4) : 24);
		}
	}
	t0 = now();
	err = sl_compile(&rs, NULL, 0, &img);
	t1 = now();
	printf("# compile 4096 rules: %.3f s, %zu dst4, %u classes, %zu ports\n",
	       t1 - t0, img.ndst4, img.nclasses, img.nports);
	T_CHECK("speed: 4096 rules compile", err == 0 && t1 - t0 < limit,
		"err %d, %.3f s", err, t1 - t0);
	if (!err) {
		unsigned long bad = 0;

		for (int k = 0; k < 300; k++) {
			struct sl_pkt p = { .kind = SL_PK_IP, .family = AF_INET,
					    .proto = rn(2) ? 6 : 17, .port = (uint16_t)rn(20000) };
			struct sl_result a, b;

			p.dst[0] = 10;
			p.dst[1] = (uint8_t)rn(256);
			p.dst[2] = (uint8_t)rn(256);
			sl_image_lookup(&img, &p, &a);
			sl_classify_pkt(&img, &p, 0, &b);
			bad += memcmp(&a, &b, sizeof(a)) != 0;
		}
		T_CHECK("speed: 4096-rule image agrees with classifier", bad == 0,
			"%lu mismatches", bad);
		sl_image_free(&img);
	}
	rs_free(&rs);
}

int main(void)
{
	(void)t_skipped;
	test_speed();
	return T_DONE();
}
