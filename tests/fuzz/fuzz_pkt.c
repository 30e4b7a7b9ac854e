// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_pkt - libFuzzer target for the packet parser of the reference
 * classifier (sl_pkt_parse: Ethernet, VLAN tags, IPv4 options, IPv6
 * extension headers, fragments, L4) and the decision on it: every input is
 * an Ethernet frame, parsed and judged by the reference classifier and by
 * the compiled tables of a fixed ruleset (nested prefixes, deny and allow
 * rules, every protocol, IPv4 and IPv6), which must agree.
 *   build/fuzz/fuzz_pkt tests/fuzz/corpus/fuzz_pkt -max_total_time=30
 */
#include <stdint.h>
#include <string.h>
#include "fuzz_common.h"

static const char rules[] =
	"policy drop;\n"
	"set media { 192.0.2.0/25, 2001:db8:1::/64, 198.51.100.10 - 198.51.100.20 };\n"
	"rule dns { allow udp 53; allow tcp 53; to 198.51.100.53, 2001:db8::53; }\n"
	"rule video { allow tcp 443, 8801-8802; allow udp 3478-3479, 8801-8810;\n"
	"             allow icmp; allow icmpv6; to @media; }\n"
	"rule block { deny any; to 203.0.113.0/24, 192.0.2.0/24, 2001:db8::/32; }\n"
	"rule late { allow udp 10000-60000; to 203.0.113.128/25, 0.0.0.0/0; }\n";

static struct sl_ruleset rs;
static struct sl_image img[2];          /* policy drop; the same with audit + policy allow */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sl_diags d = {0};

	(void)argc;
	(void)argv;
	if (sl_ruleset_parse("fuzz_pkt.rules", rules, strlen(rules), &rs, &d) ||
	    sl_compile(&rs, NULL, 1, &img[0]) || sl_compile(&rs, NULL, 1, &img[1])) {
		sl_diag_print(&d, stderr);
		abort();
	}
	sl_diag_free(&d);
	img[1].cfg.policy = SL_POLICY_ALLOW;
	img[1].cfg.mode = SL_MODE_AUDIT;
	img[1].cfg.control_pass = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_pkt p;
	struct sl_result r;

	memset(&p, 0, sizeof(p));
	sl_pkt_parse(data, size, &p);
	for (int i = 0; i < 2; i++) {
		sl_classify_frame(&img[i], data, size, 0, &r);
		fz_compare(&img[i], &p);
	}
	return 0;
}
