/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_prom.c - the Prometheus exposition writer (user/util/prom.c) on
 * hand-made snapshots: every family has one # HELP and one # TYPE line
 * before its samples, samples of a family are contiguous, the values are
 * the snapshot's, label values are escaped, several instances share one
 * family block; and `promtool check metrics` accepts the text (when
 * promtool is installed: scripts/install-deps).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/prom.h"
#include "test.h"

static void mk(struct sl_prom_inst *s, const char *name, size_t nrules)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->cfg.generation = 7;
	s->cfg.mode = SL_MODE_AUDIT;
	s->applied_s = 1700000000.25;
	s->prefixes4 = 318;
	s->prefixes6 = 3;
	s->rules = calloc(nrules ? nrules : 1, sizeof(*s->rules));
	s->nrules = nrules;
	for (size_t i = 0; i < nrules; i++) {
		snprintf(s->rules[i].name, SL_NAME_LEN, "rule-%zu", i);
		s->rules[i].action = i % 2 ? SL_ACT_DENY : SL_ACT_ALLOW;
		s->rules[i].pass_packets = 1000 + i;
		s->rules[i].pass_bytes = 18446744073709551615ull - i;  /* u64 max: printed exactly */
		s->rules[i].drop_packets = 5 * i;
		s->rules[i].near_miss_packets = i;
	}
	s->g[SL_G_POLICY_DROP].packets = 42;
	s->g[SL_G_MALFORMED].packets = 3;
	s->natt = 2;
	s->att[0].hook = SL_HOOK_TC_EGRESS;
	s->att[0].alive = true;
	snprintf(s->att[0].dev, sizeof(s->att[0].dev), "eth0");
	s->att[0].c.pass_packets = 11;
	s->att[1].hook = SL_HOOK_CGROUP;
	snprintf(s->att[1].dev, sizeof(s->att[1].dev), "odd\"path\\with\nnewline");
	s->natt = 3;    /* a sluice-cni container: its labels; no pod name passed */
	s->att[2].hook = SL_HOOK_TC_INGRESS;
	s->att[2].alive = true;
	snprintf(s->att[2].dev, sizeof(s->att[2].dev), "sk7");
	snprintf(s->att[2].container, sizeof(s->att[2].container), "c0ffee");
	snprintf(s->att[2].pod_ns, sizeof(s->att[2].pod_ns), "tele\"video");
	s->att[2].c.drop_packets = 4;
	s->learn = true;
	s->lctr[SL_L_CAP_NAME] = 9;
	s->learned_live = 12;
	s->learned_cap = 16384;
	s->events = true;
	s->ev[SL_EC_EMITTED] = 1635;
	s->ev[SL_EC_SUPPRESSED] = 98365;
	s->nmaps = 1;
	s->maps[0] = (struct sl_prom_map){ "learned", 12, 16384 };
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every "# TYPE f" line appears once, after "# HELP f", and every sample
 * line's family is the one of the last # TYPE line. */
static int check_structure(const char *text, char *why, size_t sz)
{
	char fam[128] = "", seen[8192] = " ";
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char l[1024];

		snprintf(l, sizeof(l), "%.*s", (int)len, line);
		if (!strncmp(l, "# HELP ", 7)) {
			char key[140];

			sscanf(l + 7, "%127s", fam);
			snprintf(key, sizeof(key), " %s ", fam);
			if (strstr(seen, key)) {
				snprintf(why, sz, "family %s twice", fam);
				return -1;
			}
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
		} else if (!strncmp(l, "# TYPE ", 7)) {
			char f[128], t[32];

			if (sscanf(l + 7, "%127s %31s", f, t) != 2 || strcmp(f, fam) ||
			    (strcmp(t, "counter") && strcmp(t, "gauge"))) {
				snprintf(why, sz, "bad TYPE line %.120s (after HELP of %.60s)", l, fam);
				return -1;
			}
		} else if (len) {
			size_t fl = strcspn(l, "{ ");

			if (fl != strlen(fam) || strncmp(l, fam, fl)) {
				snprintf(why, sz, "sample %.120s outside its family (%.60s)", l, fam);
				return -1;
			}
		}
		line += len + (nl ? 1 : 0);
	}
	return 0;
}

int main(void)
{
	struct sl_prom_inst in[2];
	struct sl_buf b = {0};
	char why[256], esc[64];

	mk(&in[0], "edge", 3);
	mk(&in[1], "wan2", 0);
	in[0].has_digest = true;
	in[0].digest = 0x00c0ffee12345678ull;
	T_CHECK("prom: write returns 0", sl_prom_write(&b, in, 2) == 0 && b.len > 0, "err %d", b.err);
	sl_buf_printf(&b, "%s", "");    /* NUL-terminated */
	T_CHECK("prom: families are well formed (HELP, TYPE, contiguous samples)",
		check_structure(b.p, why, sizeof(why)) == 0, "%s", why);
	T_CHECK("prom: a rule's pass packets",
		strstr(b.p, "sluice_rule_packets_total{sluice_instance=\"edge\",rule=\"rule-1\",action=\"deny\",verdict=\"pass\"} 1001\n"),
		"missing");
	T_CHECK("prom: a rule's drop packets",
		strstr(b.p, "sluice_rule_packets_total{sluice_instance=\"edge\",rule=\"rule-2\",action=\"allow\",verdict=\"drop\"} 10\n"),
		"missing");
	T_CHECK("prom: u64 counters printed exactly (no float rounding)",
		strstr(b.p, "verdict=\"pass\"} 18446744073709551615\n"), "missing");
	T_CHECK("prom: near misses",
		strstr(b.p, "sluice_rule_near_miss_packets_total{sluice_instance=\"edge\",rule=\"rule-2\",action=\"allow\"} 2\n"),
		"missing");
	T_CHECK("prom: policy drops",
		strstr(b.p, "sluice_policy_packets_total{sluice_instance=\"wan2\",verdict=\"drop\"} 42\n"), "missing");
	T_CHECK("prom: two instances under one HELP line",
		count(b.p, "# HELP sluice_ruleset_generation ") == 1 &&
		count(b.p, "sluice_ruleset_generation{sluice_instance=") == 2, "count");
	T_CHECK("prom: prefixes by family", strstr(b.p, "sluice_ruleset_prefixes{sluice_instance=\"edge\",family=\"ipv4\"} 318\n") &&
		strstr(b.p, "sluice_ruleset_prefixes{sluice_instance=\"edge\",family=\"ipv6\"} 3\n"), "missing");
	T_CHECK("prom: applied timestamp in seconds",
		strstr(b.p, "sluice_ruleset_applied_timestamp_seconds{sluice_instance=\"edge\"} 1700000000.250\n"), "missing");
	T_CHECK("prom: mode audit in the info gauge",
		strstr(b.p, "sluice_ruleset_info{sluice_instance=\"edge\",policy=\"drop\",mode=\"audit\",digest=\"00c0ffee12345678\"} 1\n"), "missing");
	T_CHECK("prom: no recorded source, an empty digest",
		strstr(b.p, "sluice_ruleset_info{sluice_instance=\"wan2\",policy=\"drop\",mode=\"audit\",digest=\"\"} 1\n"), "missing");
	T_CHECK("prom: attachment up / gone",
		strstr(b.p, "sluice_attachment_up{sluice_instance=\"edge\",hook=\"tc-egress\",dev=\"eth0\"} 1\n") &&
		strstr(b.p, "sluice_attachment_up{sluice_instance=\"edge\",hook=\"cgroup\",dev=\"odd\\\"path\\\\with\\nnewline\"} 0\n"),
		"missing or unescaped");
	T_CHECK("prom: a container's attachment carries container and pod_namespace (escaped), no empty pod_name",
		strstr(b.p, "sluice_attachment_packets_total{sluice_instance=\"edge\",hook=\"tc-ingress\",dev=\"sk7\","
			    "container=\"c0ffee\",pod_namespace=\"tele\\\"video\",verdict=\"drop\"} 4\n") &&
		strstr(b.p, "sluice_attachment_up{sluice_instance=\"edge\",hook=\"tc-ingress\",dev=\"sk7\","
			    "container=\"c0ffee\",pod_namespace=\"tele\\\"video\"} 1\n"), "missing");
	T_CHECK("prom: learner cap hits", strstr(b.p, "sluice_dns_cap_hits_total{sluice_instance=\"edge\",cap=\"name\"} 9\n"),
		"missing");
	T_CHECK("prom: drop events by outcome",
		strstr(b.p, "sluice_drop_events_total{sluice_instance=\"edge\",outcome=\"emitted\"} 1635\n") &&
		strstr(b.p, "sluice_drop_events_total{sluice_instance=\"edge\",outcome=\"suppressed\"} 98365\n") &&
		strstr(b.p, "sluice_drop_events_total{sluice_instance=\"edge\",outcome=\"lost\"} 0\n"), "missing");
	T_CHECK("prom: map fill", strstr(b.p, "sluice_map_entries{sluice_instance=\"edge\",map=\"learned\"} 12\n") &&
		strstr(b.p, "sluice_map_capacity{sluice_instance=\"edge\",map=\"learned\"} 16384\n"), "missing");
	T_CHECK("prom: no address or host name label", !strstr(b.p, "address=\"") &&
		!strstr(b.p, "addr=\"") && !strstr(b.p, "host=\"") && !strstr(b.p, "name=\""), "found");
	sl_prom_escape("a\\b\"c\nd", esc, sizeof(esc));
	T_CHECK("prom: escape", !strcmp(esc, "a\\\\b\\\"c\\nd"), "got %s", esc);
	sl_prom_escape("\"\"\"\"", esc, 6);
	T_CHECK("prom: escape never splits an escape or overruns", !strcmp(esc, "\\\"\\\""), "got %s", esc);

	if (access("/usr/bin/promtool", X_OK) == 0) {
		FILE *p = popen("promtool check metrics 1>&2", "w");
		int rc;

		fwrite(b.p, 1, b.len, p);
		rc = pclose(p);
		T_CHECK("prom: promtool check metrics accepts the text", rc == 0, "promtool exit %d", rc);
	} else {
		T_SKIP("prom: promtool check metrics", "needs promtool (scripts/install-deps installs prometheus)");
	}
	/* an empty exposition (no instance) is still valid */
	{
		struct sl_buf e = {0};

		T_CHECK("prom: no instance: families only", sl_prom_write(&e, NULL, 0) == 0 &&
			!strstr(e.p, "sluice_instance=\""), "err %d", e.err);
		sl_buf_free(&e);
	}
	free(in[0].rules);
	free(in[1].rules);
	sl_buf_free(&b);
	return T_DONE();
}
