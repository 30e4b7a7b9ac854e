// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_digest.c - sl_image_digest (the fingerprint sluice-cni's CHECK
 * compares, and a fleet's gateways): the same rules give the same digest,
 * whatever their layout and whatever counter slots an instance's history
 * gave them;
 * any change of what the maps would hold (an address, a port, an action,
 * the policy, the mode, a rule's name or order) changes it.
 */
#include "test.h"
#include "sl.h"

static uint64_t digest_slots(const char *text, int mode, const uint16_t *slots)
{
	struct sl_diags d = { 0 };
	struct sl_ruleset rs;
	struct sl_image img;
	uint64_t h = 0;

	if (sl_ruleset_parse("t.rules", text, strlen(text), &rs, &d)) {
		sl_diag_print(&d, stdout);
		sl_diag_free(&d);
		return 0;
	}
	sl_diag_free(&d);
	if (mode >= 0)
		rs.mode = (enum sl_mode)mode;
	if (sl_compile(&rs, slots, 0, &img) == 0) {
		h = sl_image_digest(&img);
		sl_image_free(&img);
	}
	sl_ruleset_free(&rs);
	return h;
}

static uint64_t digest_of(const char *text, int mode)
{
	return digest_slots(text, mode, NULL);
}

#define BASE "policy drop;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\n" \
	     "rule block { deny any; to 203.0.113.0/24; }\n"

int main(void)
{
	uint64_t base = digest_of(BASE, -1);
	static const struct { const char *name, *text; } other[] = {
		{ "another address", "policy drop;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.101.0/24, 2001:db8::/48; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "another IPv6 prefix", "policy drop;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/47; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "another port", "policy drop;\nrule web { allow tcp 444; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "another port range", "policy drop;\nrule web { allow tcp 443; allow udp 3478-3480; to 198.51.100.0/24, 2001:db8::/48; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "another policy", "policy allow;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "another action", "policy drop;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\nrule block { allow any; to 203.0.113.0/24; }\n" },
		{ "a renamed rule", "policy drop;\nrule www { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
		{ "rules in another order", "policy drop;\nrule block { deny any; to 203.0.113.0/24; }\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48; }\n" },
		{ "a host name", "policy drop;\nrule web { allow tcp 443; allow udp 3478-3479; to 198.51.100.0/24, 2001:db8::/48, zoom.us; }\nrule block { deny any; to 203.0.113.0/24; }\n" },
	};

	(void)t_skipped;
	T_CHECK("digest: the rules compile", base != 0, "digest 0");
	T_CHECK("digest: the same rules, the same digest", digest_of(BASE, -1) == base, "differs");
	T_CHECK("digest: layout and comments do not count",
		digest_of("# c\npolicy drop;\n\nrule web {\n  allow tcp 443;\n  allow udp 3478, 3479;\n"
			  "  to 198.51.100.0/24, 2001:db8::/48;  # the vendor list\n}\n"
			  "rule block { deny any; to 203.0.113.0 - 203.0.113.255; }\n", -1) == base,
		"differs");
	{
		/* the counter slots an instance's history gave its rules */
		static const uint16_t a[] = { 4097, 12 }, b[] = { 1, 0 };

		T_CHECK("digest: counter slots do not count (rules kept their slots over other applies)",
			digest_slots(BASE, -1, a) == base, "differs");
		T_CHECK("digest: counter slots do not count (swapped slots)",
			digest_slots(BASE, -1, b) == base, "differs");
	}
	T_CHECK("digest: an explicit 'mode enforce' is the default",
		digest_of(BASE, SL_MODE_ENFORCE) == base, "differs");
	T_CHECK("digest: audit mode changes it", digest_of(BASE, SL_MODE_AUDIT) != base, "same");
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char name[96];
		uint64_t h = digest_of(other[i].text, -1);

		snprintf(name, sizeof(name), "digest: %s changes it", other[i].name);
		T_CHECK(name, h != 0 && h != base, "digest %016llx", (unsigned long long)h);
	}
	return T_DONE();
}
