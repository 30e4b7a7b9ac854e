// SPDX-License-Identifier: GPL-2.0-only
/*
 * prom.c - Prometheus text format 0.0.4 from instance snapshots (prom.h).
 *
 * The text format wants the samples of one family together, after its
 * # HELP and # TYPE lines; so each family is written once, with the samples
 * of every instance under it.  Counters are _total and count packets or
 * bytes; timestamps are seconds since the epoch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/prom.h"

void sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 16384;
			char *p;

			while (cap - b->len <= (size_t)n)
				cap *= 2;
			p = realloc(b->p, cap);
			if (!p) {
				b->err = -ENOMEM;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

void sl_buf_free(struct sl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void sl_prom_escape(const char *s, char *out, size_t sz)
{
	size_t o = 0;

	if (!sz)
		return;
	for (; *s && o + 1 < sz; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;

		if (rep) {
			if (o + 2 >= sz)
				break;
			out[o++] = rep[0];
			out[o++] = rep[1];
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

static void family(struct sl_buf *b, const char *name, const char *type, const char *help)
{
	sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *action_label(uint8_t a)
{
	return a == SL_ACT_ALLOW ? "allow" : a == SL_ACT_DENY ? "deny" : "none";
}

static const char *hook_label(uint8_t h)
{
	switch (h) {
	case SL_HOOK_TC_EGRESS: return "tc-egress";
	case SL_HOOK_TC_INGRESS: return "tc-ingress";
	case SL_HOOK_XDP: return "xdp";
	case SL_HOOK_CGROUP: return "cgroup";
	case SL_HOOK_DNS: return "dns-learn";
	default: return "none";
	}
}

/* ---------------------------------------------------------------- rules */

static void rules(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	static const char *const fam[2] = { "sluice_rule_packets_total", "sluice_rule_bytes_total" };
	static const char *const help[2] = {
		"Packets a rule decided: passed (verdict pass) or dropped (verdict drop: its deny "
		"drops and its near misses), over all attachments of the instance.",
		"Bytes a rule decided, as sluice_rule_packets_total.",
	};

	for (int f = 0; f < 2; f++) {
		family(b, fam[f], "counter", help[f]);
		for (size_t i = 0; i < n; i++)
			for (size_t r = 0; r < in[i].nrules; r++) {
				const struct sl_prom_rule *p = &in[i].rules[r];
				char rn[2 * SL_NAME_LEN];

				sl_prom_escape(p->name, rn, sizeof(rn));
				sl_buf_printf(b, "%s{sluice_instance=\"%s\",rule=\"%s\",action=\"%s\",verdict=\"pass\"} %" PRIu64 "\n",
					      fam[f], in[i].name, rn, action_label(p->action),
					      f ? p->pass_bytes : p->pass_packets);
				sl_buf_printf(b, "%s{sluice_instance=\"%s\",rule=\"%s\",action=\"%s\",verdict=\"drop\"} %" PRIu64 "\n",
					      fam[f], in[i].name, rn, action_label(p->action),
					      f ? p->drop_bytes : p->drop_packets);
			}
	}
	family(b, "sluice_rule_near_miss_packets_total", "counter",
	       "Policy drops whose destination matched this rule (the first in order that covers it) "
	       "but not its protocol or port; also counted in sluice_rule_packets_total{verdict=\"drop\"}.");
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < in[i].nrules; r++) {
			const struct sl_prom_rule *p = &in[i].rules[r];
			char rn[2 * SL_NAME_LEN];

			sl_prom_escape(p->name, rn, sizeof(rn));
			sl_buf_printf(b, "sluice_rule_near_miss_packets_total{sluice_instance=\"%s\",rule=\"%s\",action=\"%s\"} %" PRIu64 "\n",
				      in[i].name, rn, action_label(p->action), p->near_miss_packets);
		}
}

/* -------------------------------------------------------------- globals */

static void globals(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	static const struct { int idx; const char *name, *help; } g[] = {
		{ SL_G_MALFORMED, "sluice_malformed_packets_total",
		  "Truncated or invalid IP/IPv6 packets, dropped." },
		{ SL_G_NON_IP, "sluice_non_ip_packets_total",
		  "Non-IP frames (ARP, LLDP, ...), passed unjudged." },
		{ SL_G_FRAGMENTS, "sluice_fragment_packets_total",
		  "Non-first fragments, judged without ports (also counted per rule or policy)." },
		{ SL_G_CONTROL, "sluice_control_packets_total",
		  "Link-local control traffic passed unjudged (control pass), neighbour discovery apart." },
		{ SL_G_ND, "sluice_nd_packets_total",
		  "IPv6 neighbour and router discovery passed unjudged (control pass): hop limit 255, "
		  "link-local or NS/NA of a sane length." },
		{ SL_G_AUDIT_PASS, "sluice_audit_pass_packets_total",
		  "Would-be drops passed because the ruleset is in audit mode." },
		{ SL_G_UNKNOWN_IF, "sluice_unknown_interface_packets_total",
		  "Packets a program shared by several attachments saw on an interface it has no "
		  "record for, dropped." },
	};

	for (int f = 0; f < 2; f++) {
		const char *name = f ? "sluice_policy_bytes_total" : "sluice_policy_packets_total";

		family(b, name, "counter", f ? "Bytes no rule matched, by the policy's verdict." :
		       "Packets no rule matched, by the policy's verdict (pass: policy allow, drop: "
		       "policy drop, near misses included).");
		for (size_t i = 0; i < n; i++) {
			const struct sl_global_ctr *p = &in[i].g[SL_G_POLICY_PASS], *d = &in[i].g[SL_G_POLICY_DROP];

			sl_buf_printf(b, "%s{sluice_instance=\"%s\",verdict=\"pass\"} %" PRIu64 "\n", name, in[i].name,
				      (uint64_t)(f ? p->bytes : p->packets));
			sl_buf_printf(b, "%s{sluice_instance=\"%s\",verdict=\"drop\"} %" PRIu64 "\n", name, in[i].name,
				      (uint64_t)(f ? d->bytes : d->packets));
		}
	}
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		family(b, g[k].name, "counter", g[k].help);
		for (size_t i = 0; i < n; i++)
			sl_buf_printf(b, "%s{sluice_instance=\"%s\"} %" PRIu64 "\n", g[k].name, in[i].name,
				      (uint64_t)in[i].g[g[k].idx].packets);
	}
}

/* ---------------------------------------------------------- attachments */

/* The labels of an attachment; a sluice-cni container's add container, and
 * pod_namespace and pod_name when the runtime passed them. */
static void att_labels(char *buf, size_t sz, const struct sl_prom_inst *in, const struct sl_prom_att *a)
{
	char dev[2 * sizeof(a->dev)], id[2 * sizeof(a->container)], pns[2 * sizeof(a->pod_ns)];
	char pn[2 * sizeof(a->pod_name)];
	int k;

	sl_prom_escape(a->dev, dev, sizeof(dev));
	k = snprintf(buf, sz, "sluice_instance=\"%s\",hook=\"%s\",dev=\"%s\"", in->name, hook_label(a->hook), dev);
	if (!a->container[0] || k < 0 || (size_t)k >= sz)
		return;
	sl_prom_escape(a->container, id, sizeof(id));
	sl_prom_escape(a->pod_ns, pns, sizeof(pns));
	sl_prom_escape(a->pod_name, pn, sizeof(pn));
	snprintf(buf + k, sz - (size_t)k, ",container=\"%s\"%s%s%s%s%s%s", id,
		 pns[0] ? ",pod_namespace=\"" : "", pns, pns[0] ? "\"" : "",
		 pn[0] ? ",pod_name=\"" : "", pn, pn[0] ? "\"" : "");
}

static void attachments(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	char l[1024];

	for (int f = 0; f < 2; f++) {
		const char *name = f ? "sluice_attachment_bytes_total" : "sluice_attachment_packets_total";

		family(b, name, "counter", f ? "Bytes an attachment passed or dropped." :
		       "Packets an attachment (hook and interface, or cgroup path) passed or dropped.");
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < in[i].natt; k++) {
				const struct sl_prom_att *a = &in[i].att[k];

				att_labels(l, sizeof(l), &in[i], a);
				sl_buf_printf(b, "%s{%s,verdict=\"pass\"} %" PRIu64 "\n", name, l,
					      (uint64_t)(f ? a->c.pass_bytes : a->c.pass_packets));
				sl_buf_printf(b, "%s{%s,verdict=\"drop\"} %" PRIu64 "\n", name, l,
					      (uint64_t)(f ? a->c.drop_bytes : a->c.drop_packets));
			}
	}
	family(b, "sluice_attachment_up", "gauge",
	       "1 if the attachment's interface, cgroup and link still exist, 0 if it is gone.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < in[i].natt; k++) {
			att_labels(l, sizeof(l), &in[i], &in[i].att[k]);
			sl_buf_printf(b, "sluice_attachment_up{%s} %d\n", l, in[i].att[k].alive ? 1 : 0);
		}
	family(b, "sluice_attachment_state", "gauge",
	       "What the kernel runs at the attachment (docs/operations.md): 1 for its state, 0 for "
	       "the others; enforcing = sluice's program runs first, BYPASSED = another program runs "
	       "in its place or before it, GONE = removed, NOT-ATTACHED = never attached.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < in[i].natt; k++) {
			static const char *const st[] = { "enforcing", "BYPASSED", "GONE", "NOT-ATTACHED" };

			att_labels(l, sizeof(l), &in[i], &in[i].att[k]);
			for (unsigned s = 0; s < sizeof(st) / sizeof(st[0]); s++)
				sl_buf_printf(b, "sluice_attachment_state{%s,state=\"%s\"} %d\n", l, st[s],
					      in[i].att[k].state == s);
		}
	family(b, "sluice_instance_enforcing", "gauge",
	       "1 if the instance has attachments and sluice's program runs first at every one, else 0.");
	for (size_t i = 0; i < n; i++) {
		int ok = in[i].natt > 0;

		for (size_t k = 0; k < in[i].natt; k++)
			ok &= in[i].att[k].state == 0;
		sl_buf_printf(b, "sluice_instance_enforcing{sluice_instance=\"%s\"} %d\n", in[i].name, ok);
	}
}

/* -------------------------------------------------------------- ruleset */

static void ruleset(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	family(b, "sluice_ruleset_generation", "gauge",
	       "Generation of the running ruleset (each apply adds one).");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_ruleset_generation{sluice_instance=\"%s\"} %u\n", in[i].name,
			      in[i].cfg.generation);
	family(b, "sluice_ruleset_rules", "gauge", "Rules of the running ruleset.");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_ruleset_rules{sluice_instance=\"%s\"} %zu\n", in[i].name, in[i].nrules);
	family(b, "sluice_ruleset_prefixes", "gauge",
	       "Destination prefixes of the running ruleset, by address family.");
	for (size_t i = 0; i < n; i++) {
		sl_buf_printf(b, "sluice_ruleset_prefixes{sluice_instance=\"%s\",family=\"ipv4\"} %" PRIu64 "\n",
			      in[i].name, in[i].prefixes4);
		sl_buf_printf(b, "sluice_ruleset_prefixes{sluice_instance=\"%s\",family=\"ipv6\"} %" PRIu64 "\n",
			      in[i].name, in[i].prefixes6);
	}
	family(b, "sluice_ruleset_applied_timestamp_seconds", "gauge",
	       "When the running ruleset was applied (Unix time).");
	for (size_t i = 0; i < n; i++)
		sl_buf_printf(b, "sluice_ruleset_applied_timestamp_seconds{sluice_instance=\"%s\"} %.3f\n",
			      in[i].name, in[i].applied_s);
	family(b, "sluice_ruleset_info", "gauge",
	       "The running ruleset's policy, mode and digest (always 1; equal digests filter alike).");
	for (size_t i = 0; i < n; i++) {
		char dg[17] = "";

		if (in[i].has_digest)
			snprintf(dg, sizeof(dg), "%016" PRIx64, in[i].digest);
		sl_buf_printf(b, "sluice_ruleset_info{sluice_instance=\"%s\",policy=\"%s\",mode=\"%s\",digest=\"%s\"} 1\n",
			      in[i].name, in[i].cfg.policy == SL_POLICY_ALLOW ? "allow" : "drop",
			      in[i].cfg.mode == SL_MODE_AUDIT ? "audit" : "enforce", dg);
	}
}

/* ---------------------------------------------------------- DNS learner */

static void dns(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	static const struct { int idx; const char *name, *help; } c[] = {
		{ SL_L_QUERIES, "sluice_dns_queries_total", "DNS queries to a configured resolver seen on egress." },
		{ SL_L_ANSWERS, "sluice_dns_answers_total", "DNS responses from a configured resolver examined." },
		{ SL_L_LEARNED, "sluice_dns_learned_total", "(address, host-name rule) pairs learned or refreshed." },
		{ SL_L_FALLBACK, "sluice_dns_fallback_total",
		  "Answers too big for the BPF learner, handed to sluice run." },
		{ SL_L_INJECTED, "sluice_dns_injected_total",
		  "Answers sluice run handed to the learner (fallback and its own lookups)." },
		{ SL_L_CHAIN_LONG, "sluice_dns_cname_chain_long_total",
		  "Answers whose CNAME chain was longer than the learner follows." },
	};
	static const struct { int idx; const char *reason; } ign[] = {
		{ SL_L_NO_RULE, "no_rule" }, { SL_L_SPOOFED, "spoofed" },
		{ SL_L_UNSOLICITED, "unsolicited" }, { SL_L_MALFORMED, "malformed" },
		{ SL_L_TRUNCATED, "truncated" }, { SL_L_RCODE, "rcode" },
	};
	static const struct { int idx; const char *cap; } cap[] = {
		{ SL_L_CAP_NAME, "name" }, { SL_L_CAP_TOTAL, "total" }, { SL_L_SLOTS_FULL, "slots" },
		{ SL_L_PENDING_CLIENT, "pending_client" }, { SL_L_CAP_CLASS, "class" },
		{ SL_L_RINGS_FULL, "rings" },
	};

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		family(b, c[k].name, "counter", c[k].help);
		for (size_t i = 0; i < n; i++)
			if (in[i].learn)
				sl_buf_printf(b, "%s{sluice_instance=\"%s\"} %" PRIu64 "\n", c[k].name, in[i].name,
					      in[i].lctr[c[k].idx]);
	}
	family(b, "sluice_dns_answers_ignored_total", "counter",
	       "DNS answers not learned from, by reason: no_rule (the name matches no rule), spoofed "
	       "(not from a configured resolver), unsolicited (no matching query), malformed, "
	       "truncated (TC bit), rcode (an error response).");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; in[i].learn && k < sizeof(ign) / sizeof(ign[0]); k++)
			sl_buf_printf(b, "sluice_dns_answers_ignored_total{sluice_instance=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
				      in[i].name, ign[k].reason, in[i].lctr[ign[k].idx]);
	family(b, "sluice_dns_cap_hits_total", "counter",
	       "Learner caps hit: name (64 addresses per question name: its oldest dropped), class "
	       "(a name class at its total: the oldest address of a name over its fair share "
	       "dropped), total (the learned map full: least recently used evicted), slots (4 names "
	       "per address: the soonest to expire replaced), rings (no per-name ring left: learned "
	       "uncapped), pending_client (a client's unanswered query displaced by its own newer "
	       "ones: 64 per client).");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; in[i].learn && k < sizeof(cap) / sizeof(cap[0]); k++)
			sl_buf_printf(b, "sluice_dns_cap_hits_total{sluice_instance=\"%s\",cap=\"%s\"} %" PRIu64 "\n",
				      in[i].name, cap[k].cap, in[i].lctr[cap[k].idx]);
	family(b, "sluice_dns_learned_addresses", "gauge",
	       "Addresses the learner counts as learned now (it keeps this count itself).");
	for (size_t i = 0; i < n; i++)
		if (in[i].learn)
			sl_buf_printf(b, "sluice_dns_learned_addresses{sluice_instance=\"%s\"} %" PRIu64 "\n",
				      in[i].name, in[i].learned_live);
	family(b, "sluice_dns_learned_addresses_capacity", "gauge",
	       "Learned addresses the learner keeps at most (beyond: least recently used evicted).");
	for (size_t i = 0; i < n; i++)
		if (in[i].learn)
			sl_buf_printf(b, "sluice_dns_learned_addresses_capacity{sluice_instance=\"%s\"} %" PRIu64 "\n",
				      in[i].name, in[i].learned_cap);
}

/* ----------------------------------------------------------------- maps */

static void maps(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	for (int f = 0; f < 2; f++) {
		const char *name = f ? "sluice_map_capacity" : "sluice_map_entries";

		family(b, name, "gauge", f ? "Entries a bounded BPF map holds at most (its max_entries)." :
		       "Entries in use in a bounded BPF map of the instance (rules: named slots, "
		       "attachments: records in use).");
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < in[i].nmaps; k++)
				sl_buf_printf(b, "%s{sluice_instance=\"%s\",map=\"%s\"} %" PRIu64 "\n", name, in[i].name,
					      in[i].maps[k].name, f ? in[i].maps[k].capacity : in[i].maps[k].entries);
	}
}

/* The drop events' counters (docs/events.md): emitted, suppressed by the rate limit, lost. */
static void events(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	static const char *const outcome[SL_EC_MAX] = {
		[SL_EC_EMITTED] = "emitted", [SL_EC_SUPPRESSED] = "suppressed", [SL_EC_LOST] = "lost",
	};

	family(b, "sluice_drop_events_total", "counter",
	       "Drop events (sluice log): written to the ring buffer (emitted), refused by the rate "
	       "limit (suppressed), or lost because the ring buffer was full (lost).");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; in[i].events && k < SL_EC_MAX; k++)
			sl_buf_printf(b, "sluice_drop_events_total{sluice_instance=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
				      in[i].name, outcome[k], in[i].ev[k]);
}

/* Room for about what the families below write (a rule: ~5 lines of
 * ~100 bytes), so that a big exposition is not copied on every doubling. */
static void reserve(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	size_t want = 16384 + b->len;
	char *p;

	for (size_t i = 0; i < n; i++)
		want += in[i].nrules * 520 + in[i].natt * 640 + 4096;
	if (b->err || want <= b->cap || !(p = realloc(b->p, want)))
		return;
	b->p = p;
	b->cap = want;
}

int sl_prom_write(struct sl_buf *b, const struct sl_prom_inst *in, size_t n)
{
	reserve(b, in, n);
	rules(b, in, n);
	globals(b, in, n);
	attachments(b, in, n);
	ruleset(b, in, n);
	dns(b, in, n);
	maps(b, in, n);
	events(b, in, n);
	return b->err;
}
