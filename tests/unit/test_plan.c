// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_plan.c - user/plan/: a ruleset survives the blob an instance records
 * (same compiled image, every shipped pack), a damaged blob is refused, and
 * the diff names every kind of change: rules added, removed, moved,
 * action, protocols, ports, log, destinations (CIDRs and names) added and
 * removed, policy, mode, settings; counters kept by name; no change is no
 * change.
 */
#include <errno.h>
#include <sys/socket.h>

#include "test.h"
#include "plan/plan.h"

static int parse(const char *text, struct sl_ruleset *rs)
{
	struct sl_diags d = { 0 };
	int e = sl_ruleset_parse("t.rules", text, strlen(text), rs, &d);

	if (e)
		sl_diag_print(&d, stdout);
	sl_diag_free(&d);
	return e;
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

static void roundtrip_file(const char *path)
{
	struct sl_diags d = { 0 };
	struct sl_ruleset rs, back;
	uint8_t *b = NULL;
	size_t n = 0;
	char name[256];

	snprintf(name, sizeof(name), "plan/blob-roundtrip %s", path);
	if (sl_ruleset_load(path, &rs, &d)) {
		T_FAIL(name, "cannot load");
		sl_diag_free(&d);
		return;
	}
	sl_diag_free(&d);
	if (sl_plan_blob(&rs, &b, &n) || sl_plan_unblob(b, n, "(loaded)", &back)) {
		T_FAIL(name, "blob or unblob failed");
	} else {
		struct sl_plan p;

		T_CHECK(name, digest(&rs) == digest(&back) && back.nrules == rs.nrules,
			"digest differs after the round trip");
		snprintf(name, sizeof(name), "plan/blob-roundtrip-no-change %s", path);
		T_CHECK(name, sl_plan_diff(&back, &rs, &p) == 0 && !p.changes,
			"a ruleset against its own blob shows changes");
		sl_plan_free(&p);
		/* every truncation is refused, never read past */
		bool all = true;
		for (size_t cut = 0; cut < n && all; cut += 1 + n / 97) {
			struct sl_ruleset t;

			if (sl_plan_unblob(b, cut, NULL, &t) != -EINVAL) {
				all = false;
				sl_ruleset_free(&t);
			}
		}
		snprintf(name, sizeof(name), "plan/blob-truncated-refused %s", path);
		T_CHECK(name, all, "a truncated blob was accepted");
		sl_ruleset_free(&back);
	}
	free(b);
	sl_ruleset_free(&rs);
}

#define OLD "policy drop;\nmode audit;\n" \
	"rule web { allow tcp 443; to 198.51.100.0/24, 2001:db8::/48, zoom.us; }\n" \
	"rule media { allow udp 3478-3479; to 203.0.113.0/25; }\n" \
	"rule dns { allow udp 53; to 192.0.2.53; }\n" \
	"rule gone { deny any; to 192.0.2.128/25; }\n"

static const struct sl_plan_rule *rule(const struct sl_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

static void kinds(void)
{
	/* web: +1 CIDR -1 CIDR -1 name; media: ports changed and moved below dns;
	 * dns: action unchanged; gone removed; new-rule added; mode and policy */
	static const char *NEW = "policy allow;\nmode enforce;\ncontrol filter;\n"
		"rule web { allow tcp 443; to 198.51.100.0/24, 2001:db8:1::/48, *.zoom.us; }\n"
		"rule dns { allow udp 53; to 192.0.2.53; }\n"
		"rule media { allow udp 3478-3481; allow tcp 443; to 203.0.113.0/25; }\n"
		"rule added { deny tcp 25; to 198.51.100.25; }\n";
	struct sl_ruleset o, n;
	struct sl_plan p;
	const struct sl_plan_rule *r;
	char line[512];

	if (parse(OLD, &o) || parse(NEW, &n)) {
		T_FAIL("plan/parse", "fixtures do not parse");
		return;
	}
	if (sl_plan_diff(&o, &n, &p)) {
		T_FAIL("plan/diff", "failed");
		return;
	}
	T_CHECK("plan/changes", p.changes, "no change reported");
	T_CHECK("plan/counts", p.nadded == 1 && p.nremoved == 1 && p.nchanged == 2 && p.nkept == 3,
		"added %zu removed %zu changed %zu kept %zu", p.nadded, p.nremoved, p.nchanged, p.nkept);
	r = rule(&p, "web");
	T_CHECK("plan/dst-added-removed", r && r->kind == SL_PK_CHANGED && r->ndadd == 1 &&
		r->nddel == 1 && r->nhadd == 1 && r->nhdel == 1 && !r->lines_changed && !r->moved,
		"web: +%zu -%zu hosts +%zu -%zu", r ? r->ndadd : 0, r ? r->nddel : 0,
		r ? r->nhadd : 0, r ? r->nhdel : 0);
	T_CHECK("plan/dst-entry", r && r->ndadd == 1 && r->dadd[0]->family == AF_INET6 &&
		r->dadd[0]->addr[5] == 1 && r->hadd[0]->wildcard, "wrong entries");
	r = rule(&p, "media");
	T_CHECK("plan/ports-changed", r && r->lines_changed && !r->action_changed && !r->ndadd,
		"media: protocols change not seen");
	/* web, media, dns -> web, dns, media: one of the two moved (either is a shortest story) */
	T_CHECK("plan/moved", r && p.nmoved == 1 && r->moved != rule(&p, "dns")->moved &&
		!rule(&p, "web")->moved,
		"moved: %zu", p.nmoved);
	r = rule(&p, "gone");
	T_CHECK("plan/removed", r && r->kind == SL_PK_REMOVED && r->nddel == 1 && r->new_index == -1,
		"gone not removed");
	r = rule(&p, "added");
	T_CHECK("plan/added", r && r->kind == SL_PK_ADDED && r->ndadd == 1 && r->new_index == 3,
		"added not added");
	T_CHECK("plan/mode-policy", sl_plan_loud(&p) && p.old_mode == SL_MODE_AUDIT &&
		p.new_mode == SL_MODE_ENFORCE && p.new_policy == SL_POLICY_ALLOW, "mode/policy");
	T_CHECK("plan/settings", strstr(p.settings, "control filter") != NULL, "settings: %s", p.settings);
	sl_plan_summary(&p, line, sizeof(line));
	T_CHECK("plan/summary", strstr(line, "MODE audit -> enforce") && strstr(line, "POLICY drop -> allow") &&
		strstr(line, "1 added, 1 removed, 2 changed, 1 moved"), "summary: %s", line);
	sl_plan_free(&p);
	sl_ruleset_free(&n);

	/* the action alone; then nothing */
	static const char *DENY = "policy drop;\nmode audit;\n"
		"rule web { allow tcp 443; to 198.51.100.0/24, 2001:db8::/48, zoom.us; }\n"
		"rule media { deny udp 3478-3479; to 203.0.113.0/25; }\n"
		"rule dns { allow udp 53; to 192.0.2.53; }\n"
		"rule gone { deny any; log; to 192.0.2.128/25; }\n";
	if (parse(DENY, &n) == 0 && sl_plan_diff(&o, &n, &p) == 0) {
		T_CHECK("plan/action-changed", rule(&p, "media")->action_changed &&
			rule(&p, "gone")->log_changed && p.nchanged == 2 && !p.nmoved && !sl_plan_loud(&p),
			"action/log not seen");
		sl_plan_free(&p);
		sl_ruleset_free(&n);
	}
	if (parse(OLD, &n) == 0 && sl_plan_diff(&o, &n, &p) == 0) {
		T_CHECK("plan/no-change", !p.changes && p.nkept == 4, "changes on the same text");
		sl_plan_summary(&p, line, sizeof(line));
		T_CHECK("plan/no-change-summary", !strcmp(line, "no change"), "%s", line);
		sl_plan_free(&p);
		sl_ruleset_free(&n);
	}
	/* nothing loaded: everything is added */
	if (sl_plan_diff(NULL, &o, &p) == 0) {
		T_CHECK("plan/nothing-loaded", p.changes && p.nadded == 4 && !p.have_old && !sl_plan_loud(&p),
			"nothing loaded: %zu added", p.nadded);
		sl_plan_free(&p);
	}
	sl_ruleset_free(&o);
}

int main(void)
{
	static const char *packs[] = {
		"rules/securevideo.rules", "rules/securevideo/zoom.rules",
		"rules/securevideo/one-click.rules", "rules/securevideo/vsee.rules",
		"rules/securevideo/securevideo-app.rules", "rules/base.rules", "rules/examples/lab.rules",
	};

	for (size_t i = 0; i < sizeof(packs) / sizeof(packs[0]); i++)
		roundtrip_file(packs[i]);
	kinds();
	(void)t_skipped;
	return T_DONE();
}
