// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_verify.c - the `require` statement (front/require.c) and the pure
 * half of sluice verify (user/verify/): requirements are parsed like rules
 * (sets, ranges) but never compiled (the same image with or without them),
 * a deny line in one is an error; samples sit at the range edges and
 * inside; every crafted frame parses back (sl_pkt_parse, as the data path
 * parses) to the sampled flow, outbound and inbound, IPv4 and IPv6.
 */
#include <errno.h>
#include <sys/socket.h>

#include "test.h"
#include "sl.h"
#include "verify/verify.h"

static int parse(const char *text, struct sl_ruleset *rs, struct sl_diags *d)
{
	memset(d, 0, sizeof(*d));
	return sl_ruleset_parse("t.rules", text, strlen(text), rs, d);
}

static uint64_t digest(const struct sl_ruleset *rs)
{
	struct sl_image img;
	uint64_t h = 0;

	if (sl_compile(rs, NULL, 0, &img) == 0) {
		h = sl_image_digest(&img);
		sl_image_free(&img);
	}
	return h;
}

#define RULES "set media { 203.0.113.0/25, 2001:db8::/126 };\n" \
	"rule web { allow tcp 443; to 198.51.100.0/24; }\n"
#define REQS "require need-media { allow udp 3478-3479; allow tcp 443; to @media, 192.0.2.9; }\n" \
	"require need-icmp { allow icmp; allow icmpv6; to 192.0.2.0/31, 2001:db8::5; }\n"

int main(void)
{
	struct sl_ruleset a, b;
	struct sl_diags d;

	if (parse(RULES, &a, &d) || parse(RULES REQS, &b, &d)) {
		sl_diag_print(&d, stdout);
		T_FAIL("verify/parse", "fixtures do not parse");
		return T_DONE();
	}
	sl_diag_free(&d);
	T_CHECK("verify/require-not-a-rule", b.nrules == 1 && b.nreqs == 2 &&
		!strcmp(b.reqs[0].name, "need-media"), "rules %zu reqs %zu", b.nrules, b.nreqs);
	T_CHECK("verify/require-not-compiled", digest(&a) == digest(&b), "the image differs");
	T_CHECK("verify/require-resolved", b.reqs[0].ndsts == 3 && b.reqs[0].nlines == 2,
		"dsts %zu lines %zu", b.reqs[0].ndsts, b.reqs[0].nlines);

	struct sl_vsample *s = NULL;
	size_t n = 0;
	if (sl_verify_samples(&b.reqs[0], &s, &n) == 0) {
		/* 203.0.113.0/25: .0 .63 .127; 2001:db8::/126: ::0 ::1 ::3; 192.0.2.9: itself;
		 * each with udp 3478, 3479 and tcp 443 */
		bool edges = false, mid = false, last = false;

		for (size_t i = 0; i < n; i++)
			if (s[i].family == AF_INET && s[i].addr[0] == 203) {
				edges |= s[i].addr[3] == 0 && s[i].proto == 17 && s[i].port == 3478;
				mid |= s[i].addr[3] == 63;
				last |= s[i].addr[3] == 127 && s[i].proto == 17 && s[i].port == 3479;
			}
		T_CHECK("verify/samples-count", n == 7 * 3, "%zu samples", n);
		T_CHECK("verify/samples-edges", edges && mid && last, "range edges or middle missing");
		for (size_t i = 0; i < n; i++)
			for (int inb = 0; inb < 2; inb++) {
				uint8_t fr[SL_VFRAME_MAX];
				size_t len = sl_verify_frame(&s[i], inb, true, fr);
				struct sl_pkt p;
				bool ok = sl_pkt_parse(fr, len, &p) == 0 && p.kind == SL_PK_IP &&
					  p.family == s[i].family && p.proto == s[i].proto &&
					  !memcmp(inb ? p.src : p.dst, s[i].addr, s[i].family == AF_INET ? 4 : 16) &&
					  (inb ? p.sport : p.port) == s[i].port;

				if (!ok) {
					char str[96];

					sl_verify_sample_str(&s[i], str, sizeof(str));
					T_FAIL("verify/frame-parses", "%s %s", str, inb ? "inbound" : "outbound");
					goto frames_done;
				}
			}
		T_PASS("verify/frame-parses");
frames_done:
		free(s);
	} else {
		T_FAIL("verify/samples", "failed");
	}
	if (sl_verify_samples(&b.reqs[1], &s, &n) == 0) {
		/* icmp only for IPv4 destinations, icmpv6 only for IPv6: .0, .1, ::5 */
		T_CHECK("verify/samples-icmp-by-family", n == 3 && s[2].proto == 58 && s[0].proto == 1,
			"%zu samples", n);
		free(s);
	}
	sl_ruleset_free(&a);
	sl_ruleset_free(&b);

	T_CHECK("verify/require-deny-is-an-error",
		parse("require r { deny tcp 443; to 192.0.2.1; }\n", &a, &d) == -EINVAL && d.nerrors == 1 &&
		strstr(d.v[0].msg, "requirement 'r'") != NULL, "no error");
	sl_diag_free(&d);
	T_CHECK("verify/require-name-shared-with-rules",
		parse("rule r { allow tcp 443; to 192.0.2.1; }\nrequire r { allow tcp 443; to 192.0.2.1; }\n",
		      &a, &d) == -EINVAL, "duplicate name accepted");
	sl_diag_free(&d);
	(void)t_skipped;
	return T_DONE();
}
