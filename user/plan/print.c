// SPDX-License-Identifier: GPL-2.0-only
/*
 * print.c - a plan as people and scripts read it: `sluice plan` (text and
 * --json, docs/operations.md "Before an apply: plan") and the one line
 * `sluice apply` prints.
 */
#include <arpa/inet.h>
#include <string.h>

#include "plan/plan.h"

static const char *policy_name(int p) { return p == SL_POLICY_ALLOW ? "allow" : "drop"; }
static const char *mode_name(int m) { return m == SL_MODE_AUDIT ? "audit" : "enforce"; }
static const char *action_name(int a) { return a == SL_ACT_DENY ? "deny" : "allow"; }
static const char *kind_name(enum sl_plan_kind k)
{
	static const char *const n[] = { "unchanged", "added", "removed", "changed" };
	return n[k];
}

#define APPEND(buf, sz, len, ...) do { if ((len) < (sz)) \
	(len) += (size_t)snprintf((buf) + (len), (sz) - (len), __VA_ARGS__); } while (0)

void sl_plan_lines_str(const struct sl_rule *r, char *buf, size_t sz)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		const struct sl_proto_line *l = &r->lines[i];

		APPEND(buf, sz, len, "%s%s", i ? "; " : "", sl_proto_name(l->proto));
		if (!l->nports && (l->proto == SL_PROTO_TCP || l->proto == SL_PROTO_UDP))
			APPEND(buf, sz, len, " any port");
		for (size_t k = 0; k < l->nports; k++) {
			if (l->ports[k].lo == l->ports[k].hi)
				APPEND(buf, sz, len, "%s%u", k ? ", " : " ", l->ports[k].lo);
			else
				APPEND(buf, sz, len, "%s%u-%u", k ? ", " : " ", l->ports[k].lo, l->ports[k].hi);
		}
	}
}

static void cidr_str(const struct sl_cidr *c, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, sz, "%s/%u", a, c->plen);
}

static void host_str(const struct sl_host *h, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s", h->wildcard ? "*." : "", h->name);
}

bool sl_plan_loud(const struct sl_plan *p)
{
	return p->have_old && (p->old_mode != p->new_mode || p->old_policy != p->new_policy);
}

void sl_plan_summary(const struct sl_plan *p, char *buf, size_t sz)
{
	size_t len = 0;

	buf[0] = 0;
	if (!p->changes) {
		snprintf(buf, sz, "no change");
		return;
	}
	if (!p->have_old) {
		snprintf(buf, sz, "new: %zu rules, %zu destinations; policy %s, mode %s", p->nadded,
			 p->ndst_added, policy_name(p->new_policy), mode_name(p->new_mode));
		return;
	}
	APPEND(buf, sz, len, "%zu added, %zu removed, %zu changed, %zu moved; destinations +%zu -%zu; "
	       "counters kept for %zu", p->nadded, p->nremoved, p->nchanged, p->nmoved,
	       p->ndst_added, p->ndst_removed, p->nkept);
	if (p->old_policy != p->new_policy)
		APPEND(buf, sz, len, "; POLICY %s -> %s", policy_name(p->old_policy),
		       policy_name(p->new_policy));
	if (p->old_mode != p->new_mode)
		APPEND(buf, sz, len, "; MODE %s -> %s", mode_name(p->old_mode), mode_name(p->new_mode));
	if (p->settings[0])
		APPEND(buf, sz, len, "; settings: %s", p->settings);
}

static void print_entries(FILE *out, char sign, const struct sl_plan_rule *pr, size_t max)
{
	const struct sl_cidr **c = sign == '+' ? pr->dadd : pr->ddel;
	const struct sl_host **h = sign == '+' ? pr->hadd : pr->hdel;
	size_t nc = sign == '+' ? pr->ndadd : pr->nddel, nh = sign == '+' ? pr->nhadd : pr->nhdel;
	size_t shown = 0;
	char buf[300];

	for (size_t i = 0; i < nc && (!max || shown < max); i++, shown++) {
		cidr_str(c[i], buf, sizeof(buf));
		fprintf(out, "      %c %s\n", sign, buf);
	}
	for (size_t i = 0; i < nh && (!max || shown < max); i++, shown++) {
		host_str(h[i], buf, sizeof(buf));
		fprintf(out, "      %c %s\n", sign, buf);
	}
	if (nc + nh > shown)
		fprintf(out, "      %c ... and %zu more (sluice plan --json lists them all)\n", sign,
			nc + nh - shown);
}

static void print_rule(const struct sl_plan_rule *pr, FILE *out, size_t max)
{
	char a[512], b[512];

	switch (pr->kind) {
	case SL_PK_ADDED:
		sl_plan_lines_str(pr->new, a, sizeof(a));
		fprintf(out, "  + rule %s (%s %s; %zu destinations%s) at position %d: counters start at 0\n",
			pr->name, action_name(pr->new->action), a, pr->new->ndsts + pr->new->nhosts,
			pr->new->nhosts ? " incl. host names" : "", pr->new_index + 1);
		break;
	case SL_PK_REMOVED:
		fprintf(out, "  - rule %s (%zu destinations): its counters go\n", pr->name,
			pr->old->ndsts + pr->old->nhosts);
		return;
	case SL_PK_CHANGED:
		fprintf(out, "  ~ rule %s%s\n", pr->name, pr->moved ? " (moved)" : "");
		break;
	default:
		if (pr->moved)
			fprintf(out, "  ~ rule %s moved: position %d -> %d\n", pr->name,
				pr->old_index + 1, pr->new_index + 1);
		return;
	}
	if (pr->kind == SL_PK_CHANGED) {
		if (pr->moved)
			fprintf(out, "      position %d -> %d\n", pr->old_index + 1, pr->new_index + 1);
		if (pr->action_changed)
			fprintf(out, "      action %s -> %s\n", action_name(pr->old->action),
				action_name(pr->new->action));
		if (pr->lines_changed) {
			sl_plan_lines_str(pr->old, a, sizeof(a));
			sl_plan_lines_str(pr->new, b, sizeof(b));
			fprintf(out, "      protocols/ports: %s -> %s\n", a, b);
		}
		if (pr->log_changed)
			fprintf(out, "      log: %s -> %s\n", pr->old->log ? "on" : "off",
				pr->new->log ? "on" : "off");
		if (pr->ndadd + pr->nhadd || pr->nddel + pr->nhdel)
			fprintf(out, "      destinations: +%zu -%zu\n", pr->ndadd + pr->nhadd,
				pr->nddel + pr->nhdel);
	}
	print_entries(out, '+', pr, max);
	if (pr->kind == SL_PK_CHANGED)
		print_entries(out, '-', pr, max);
}

void sl_plan_print(const struct sl_plan *p, FILE *out, size_t max)
{
	char line[512];

	if (!p->have_old)
		fprintf(out, "nothing is loaded: everything is new\n");
	if (sl_plan_loud(p)) {
		if (p->old_mode != p->new_mode)
			fprintf(out, "!!! MODE CHANGES: %s -> %s%s\n", mode_name(p->old_mode),
				mode_name(p->new_mode), p->new_mode == SL_MODE_ENFORCE ?
				" (would-be drops become real drops: calls can break)" : " (nothing is dropped any more)");
		if (p->old_policy != p->new_policy)
			fprintf(out, "!!! POLICY CHANGES: %s -> %s\n", policy_name(p->old_policy),
				policy_name(p->new_policy));
	} else {
		fprintf(out, "policy %s, mode %s\n", policy_name(p->new_policy), mode_name(p->new_mode));
	}
	if (p->settings[0])
		fprintf(out, "settings changed: %s\n", p->settings);
	for (size_t i = 0; i < p->nrules; i++)
		print_rule(&p->rules[i], out, max);
	sl_plan_summary(p, line, sizeof(line));
	fprintf(out, "plan: %s\n", line);
}

static void json_entries(struct sl_json *j, const char *key, const struct sl_cidr **c, size_t nc,
			 const struct sl_host **h, size_t nh)
{
	char buf[300];

	sl_json_key(j, key);
	sl_json_arr_open(j);
	for (size_t i = 0; i < nc; i++) {
		cidr_str(c[i], buf, sizeof(buf));
		sl_json_str(j, buf);
	}
	for (size_t i = 0; i < nh; i++) {
		host_str(h[i], buf, sizeof(buf));
		sl_json_str(j, buf);
	}
	sl_json_arr_close(j);
}

static void json_rule(struct sl_json *j, const struct sl_plan_rule *pr)
{
	char a[512];

	sl_json_obj_open(j);
	sl_json_kstr(j, "name", pr->name);
	sl_json_kstr(j, "change", kind_name(pr->kind));
	sl_json_key(j, "old_position");
	pr->old_index >= 0 ? sl_json_u64(j, (uint64_t)pr->old_index + 1) : sl_json_null(j);
	sl_json_key(j, "new_position");
	pr->new_index >= 0 ? sl_json_u64(j, (uint64_t)pr->new_index + 1) : sl_json_null(j);
	sl_json_kbool(j, "moved", pr->moved);
	sl_json_kstr(j, "old_action", pr->old ? action_name(pr->old->action) : NULL);
	sl_json_kstr(j, "new_action", pr->new ? action_name(pr->new->action) : NULL);
	if (pr->old)
		sl_plan_lines_str(pr->old, a, sizeof(a));
	sl_json_kstr(j, "old_protocols", pr->old ? a : NULL);
	if (pr->new)
		sl_plan_lines_str(pr->new, a, sizeof(a));
	sl_json_kstr(j, "new_protocols", pr->new ? a : NULL);
	sl_json_kbool(j, "action_changed", pr->action_changed);
	sl_json_kbool(j, "protocols_changed", pr->lines_changed);
	sl_json_kbool(j, "log_changed", pr->log_changed);
	sl_json_kbool(j, "counters_kept", pr->old && pr->new);
	sl_json_ku64(j, "destinations_added_count", pr->ndadd + pr->nhadd);
	sl_json_ku64(j, "destinations_removed_count", pr->nddel + pr->nhdel);
	json_entries(j, "destinations_added", pr->dadd, pr->ndadd, pr->hadd, pr->nhadd);
	json_entries(j, "destinations_removed", pr->ddel, pr->nddel, pr->hdel, pr->nhdel);
	sl_json_obj_close(j);
}

void sl_plan_json(const struct sl_plan *p, struct sl_json *j)
{
	char line[512];

	sl_plan_summary(p, line, sizeof(line));
	sl_json_kbool(j, "changes", p->changes);
	sl_json_kbool(j, "loaded", p->have_old);
	sl_json_kstr(j, "summary", line);
	sl_json_key(j, "policy");
	sl_json_obj_open(j);
	sl_json_kstr(j, "old", p->have_old ? policy_name(p->old_policy) : NULL);
	sl_json_kstr(j, "new", policy_name(p->new_policy));
	sl_json_obj_close(j);
	sl_json_key(j, "mode");
	sl_json_obj_open(j);
	sl_json_kstr(j, "old", p->have_old ? mode_name(p->old_mode) : NULL);
	sl_json_kstr(j, "new", mode_name(p->new_mode));
	sl_json_obj_close(j);
	sl_json_kstr(j, "settings_changed", p->settings[0] ? p->settings : NULL);
	sl_json_key(j, "counts");
	sl_json_obj_open(j);
	sl_json_ku64(j, "added", p->nadded);
	sl_json_ku64(j, "removed", p->nremoved);
	sl_json_ku64(j, "changed", p->nchanged);
	sl_json_ku64(j, "moved", p->nmoved);
	sl_json_ku64(j, "counters_kept", p->nkept);
	sl_json_ku64(j, "destinations_added", p->ndst_added);
	sl_json_ku64(j, "destinations_removed", p->ndst_removed);
	sl_json_obj_close(j);
	sl_json_key(j, "rules");
	sl_json_arr_open(j);
	for (size_t i = 0; i < p->nrules; i++)
		json_rule(j, &p->rules[i]);
	sl_json_arr_close(j);
}
