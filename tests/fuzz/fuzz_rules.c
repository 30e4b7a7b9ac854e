// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_rules - libFuzzer target for the rule front end and the compiler:
 * parse + resolve + lint (sl_ruleset_parse) any text; when it is accepted,
 * compile it and look up, for every destination the rules name (and the
 * addresses just outside it), every protocol and a few ports, comparing
 * the reference classifier with the compiled tables (fuzz_common.h).
 * Run from an empty directory: `include` and `file` are relative to it.
 *   build/fuzz/fuzz_rules tests/fuzz/corpus/fuzz_rules -max_total_time=30
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "fuzz_common.h"

static void probe(const struct sl_image *img, const struct sl_cidr *c, int delta)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	struct sl_pkt p = { .kind = SL_PK_IP, .family = c->family };
	int bytes = c->family == AF_INET ? 4 : 16;

	memcpy(p.dst, c->addr, 16);
	if (delta < 0) {                /* the address just below the prefix */
		for (int i = bytes - 1; i >= 0 && p.dst[i]-- == 0; i--)
			;
	} else if (delta > 0) {         /* the last address of the prefix */
		for (int b = c->plen; b < bytes * 8; b++)
			p.dst[b / 8] |= 0x80 >> (b % 8);
	}
	for (size_t i = 0; i < sizeof(protos); i++) {
		static const uint16_t ports[] = { 0, 1, 53, 443, 8801, 8810, 8811, 10000, 65535 };

		p.proto = protos[i];
		for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
			p.port = (protos[i] == 6 || protos[i] == 17) ? ports[k] : 0;
			p.icmp_type = (uint8_t)ports[k];
			p.fragment = 0;
			fz_compare(img, &p);
			p.fragment = 1;
			p.port = 0;
			fz_compare(img, &p);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_ruleset rs;
	struct sl_diags d = {0};
	struct sl_image img;

	if (size > 1 << 16)
		return 0;
	if (sl_ruleset_parse("fuzz.rules", (const char *)data, size, &rs, &d) == 0) {
		if (sl_compile(&rs, NULL, 1, &img) == 0) {
			size_t n = 0;

			for (size_t r = 0; r < rs.nrules && n < 256; r++)
				for (size_t k = 0; k < rs.rules[r].ndsts && n < 256; k++, n++)
					for (int delta = -1; delta <= 1; delta++)
						probe(&img, &rs.rules[r].dsts[k], delta);
			sl_image_free(&img);
		}
		sl_ruleset_free(&rs);
	}
	sl_diag_free(&d);
	return 0;
}
