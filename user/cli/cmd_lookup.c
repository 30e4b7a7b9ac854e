// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_lookup.c - sluice lookup and dump: the image from a rules file or the loaded maps
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"

/*
 * The image a command reads: compiled from a rules file (no root), or read
 * back from the loaded maps of an instance.  Returns 0 or an exit status.
 */
struct image_src {
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_instance in;
	struct sl_rule_meta *meta;      /* loaded maps only */
	bool from_file;
};

static int image_open(struct image_src *src, const char *rules, const char *inst, const char *hint)
{
	struct sl_diags d;
	int e;

	memset(src, 0, sizeof(*src));
	src->in.config_fd = -1;
	src->from_file = rules != NULL;
	if (rules) {
		e = cli_load_rules_diag(rules, &src->rs, &d, false);
		sl_diag_free(&d);
		if (e)
			return EXIT_USAGE;
		if ((e = sl_compile(&src->rs, NULL, 0, &src->img))) {
			fprintf(stderr, "sluice: %s: cannot compile: %s\n", rules, strerror(-e));
			sl_ruleset_free(&src->rs);
			return EXIT_RUNTIME;
		}
		return 0;
	}
	if ((e = cli_instance_meta_open(inst, hint, &src->in, &src->meta)))
		return e;
	if (sl_image_from_maps(&src->in, &src->img)) {
		fprintf(stderr, "sluice: %s/%s: cannot read the loaded tables\n", SL_PIN_ROOT, inst);
		free(src->meta);
		sl_instance_close(&src->in);
		return EXIT_RUNTIME;
	}
	return 0;
}

static void image_close(struct image_src *src)
{
	free(src->meta);
	sl_image_free(&src->img);
	if (src->from_file)
		sl_ruleset_free(&src->rs);
	else
		sl_instance_close(&src->in);
}

static int parse_proto(const char *s, uint8_t *proto)
{
	char *end;
	long v;

	if (!strcmp(s, "tcp")) *proto = 6;
	else if (!strcmp(s, "udp")) *proto = 17;
	else if (!strcmp(s, "icmp")) *proto = 1;
	else if (!strcmp(s, "icmpv6")) *proto = 58;
	else {
		v = strtol(s, &end, 10);
		if (*s == '\0' || *end || v < 0 || v > 255)
			return -EINVAL;
		*proto = v;
	}
	return 0;
}

static const char *slot_name(const struct sl_image *img, const struct sl_rule_meta *meta,
			     uint16_t slot)
{
	int r;

	if (slot == SL_NO_RULE)
		return NULL;
	if (img->rs) {
		r = sl_image_rule_of_slot(img, slot);
		return r >= 0 ? img->rs->rules[r].name : NULL;
	}
	if (meta && slot < SL_MAX_SLOTS && meta[slot].action != SL_ACT_NONE)
		return meta[slot].name;
	return NULL;
}

/* From the loaded maps: an address learned from DNS answers takes part
 * in first match with its live name classes, as on the data path. */
static bool lookup_learned(struct image_src *src, const struct sl_pkt *pk, struct sl_result *res)
{
	struct sl_addr_key ak = { .family = pk->family == AF_INET ? 4 : 6 };
	struct sl_learned_val lv;
	uint32_t ncls[SL_LEARN_SLOTS];
	struct timespec ts;
	uint64_t now;
	size_t n = 0;

	if (src->in.learned_fd < 0)
		return false;
	memcpy(ak.addr, pk->inbound ? pk->src : pk->dst, pk->family == AF_INET ? 4 : 16);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (sl_learned_get(&src->in, &ak, &lv) == 0)
		for (int i = 0; i < SL_LEARN_SLOTS; i++)
			if (lv.s[i].expires_ns > now)
				ncls[n++] = lv.s[i].ncls;
	if (!n)
		return false;
	sl_image_lookup_learned(&src->img, pk, ncls, n, res);
	return true;
}

/* The sentence that says why: "rule zoom allows tcp/443 to ...". */
static void lookup_detail(const struct image_src *src, const struct sl_pkt *pk,
			  const struct sl_result *res, const char *name, const char *addr,
			  bool learned, char *detail, size_t dsz)
{
	char what[32], pbuf[16];

	const char *to = pk->inbound ? "from" : "to";

	if (pk->proto == 6 || pk->proto == 17)
		snprintf(what, sizeof(what), "%s/%u%s", cli_ipproto_name(pk->proto, pbuf, sizeof(pbuf)),
			 pk->inbound ? pk->sport : pk->port, pk->fragment ? " fragment" : "");
	else
		snprintf(what, sizeof(what), "%s", cli_ipproto_name(pk->proto, pbuf, sizeof(pbuf)));
	switch (res->reason) {
	case SL_R_RULE: {
		int ri = sl_image_rule_of_slot(&src->img, res->rule);
		int act = src->img.rs && ri >= 0 ? (int)src->img.rs->rules[ri].action :
			  src->meta && res->rule < SL_MAX_SLOTS ? src->meta[res->rule].action : SL_ACT_NONE;

		snprintf(detail, dsz, "rule %s %s %s %s %s", name ? name : "?",
			 act == SL_ACT_ALLOW ? "allows" : "denies", what, to, addr);
		break;
	}
	case SL_R_NEAR_MISS:
		snprintf(detail, dsz, "the address matches rule %s but %s is not allowed "
			 "there; policy %s", name ? name : "?", what, cli_policy_name(src->img.cfg.policy));
		break;
	case SL_R_POLICY:
		snprintf(detail, dsz, "no rule covers %s; policy %s", addr,
			 cli_policy_name(src->img.cfg.policy));
		break;
	case SL_R_CONTROL:
		snprintf(detail, dsz, "link-local control traffic passes unjudged "
			 "(control pass)");
		break;
	default:
		snprintf(detail, dsz, "%s", sl_reason_name(res->reason));
	}
	if (learned)
		strncat(detail, " (the address was learned from DNS answers; see: sluice learned)",
			dsz - strlen(detail) - 1);
}

/* Audit mode passes everything: whether enforce mode would have dropped it. */
static bool audit_would_drop(const struct image_src *src, const struct sl_result *res)
{
	int ri, act;

	if (src->img.cfg.mode != SL_MODE_AUDIT || res->verdict != SL_V_PASS)
		return false;
	switch (res->reason) {
	case SL_R_RULE:
		ri = sl_image_rule_of_slot(&src->img, res->rule);
		act = src->img.rs && ri >= 0 ? (int)src->img.rs->rules[ri].action :
		      src->meta && res->rule < SL_MAX_SLOTS ? src->meta[res->rule].action : SL_ACT_NONE;
		return act == SL_ACT_DENY;
	case SL_R_POLICY:
	case SL_R_NEAR_MISS:
		return src->img.cfg.policy == SL_POLICY_DROP;
	case SL_R_MALFORMED:
		return true;
	default:
		return false;
	}
}

int do_lookup(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "rules", required_argument, NULL, 'r' },
		{ "fragment", no_argument, NULL, 'f' },
		{ "inbound", no_argument, NULL, 'I' },
		{ 0 }
	};
	const struct cmd *c = cli_find_cmd("lookup");
	const char *inst = "default", *rules = NULL, *name;
	struct image_src src;
	const struct sl_image *img = &src.img;
	bool learned = false, would_drop;
	struct sl_pkt p = {0};
	struct sl_result res, ref;
	char pbuf[16], addr[INET6_ADDRSTRLEN], detail[256];
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, ":jvhi:r:f", opts, NULL)) != -1) {
		if (cli_common_opt(ch, c, &inst))
			continue;
		switch (ch) {
		case 'r': rules = optarg; break;
		case 'f': p.fragment = true; break;
		case 'I': p.inbound = true; break;
		default: return cli_usage_error(c, "unknown option");
		}
	}
	if (optind >= argc || argc - optind > 3)
		return cli_usage_error(c, "expected ADDRESS [PROTO [PORT]]");
	if (inet_pton(AF_INET, argv[optind], p.dst) == 1) {
		p.family = AF_INET;
	} else if (inet_pton(AF_INET6, argv[optind], p.dst) == 1) {
		p.family = AF_INET6;
	} else {
		return cli_usage_error(c, "'%s' is not an IPv4 or IPv6 address", argv[optind]);
	}
	p.kind = SL_PK_IP;
	p.proto = 6;
	p.port = 443;
	if (argc - optind == 2 && parse_proto(argv[optind + 1], &p.proto) &&
	    strspn(argv[optind + 1], "0123456789") == strlen(argv[optind + 1]))
		return cli_usage_error(c, "'%s' is not a protocol; a port comes after one: sluice lookup "
				       "%s tcp %s (or udp)", argv[optind + 1], argv[optind], argv[optind + 1]);
	if (argc - optind >= 2 && parse_proto(argv[optind + 1], &p.proto))
		return cli_usage_error(c, "'%s' is not a protocol (tcp, udp, icmp, icmpv6 or 0-255)",
				   argv[optind + 1]);
	if (argc - optind >= 2)
		p.port = 0;
	if (argc - optind == 3) {
		char *end;
		long v = strtol(argv[optind + 2], &end, 10);

		if (p.proto != 6 && p.proto != 17)
			return cli_usage_error(c, "a port needs tcp or udp");
		if (!*argv[optind + 2] || *end || v < 0 || v > 65535)
			return cli_usage_error(c, "'%s' is not a port (0-65535)", argv[optind + 2]);
		p.port = v;
	} else if (argc - optind == 2 && (p.proto == 6 || p.proto == 17)) {
		return cli_usage_error(c, "give a port for %s", argv[optind + 1]);
	}
	if (p.fragment)
		p.port = 0;
	if (p.inbound) {        /* ADDRESS and PORT are the remote source; the local side unicast */
		memcpy(p.src, p.dst, 16);
		memset(p.dst, 0, 16);
		p.sport = p.port;
		p.port = 0;
	}
	if ((rc = image_open(&src, rules, inst, "use --rules FILE to look up in a rules file")))
		return rc;
	sl_image_lookup(img, &p, &res);
	learned = !src.from_file && lookup_learned(&src, &p, &res);
	if (src.from_file) {
		/* The compiled tables and the reference semantics must agree. */
		sl_classify_pkt(img, &p, 1, &ref);
		if (ref.verdict != res.verdict || ref.reason != res.reason || ref.rule != res.rule) {
			fprintf(stderr, "sluice: internal error: the compiled tables say %s/%s/%u but the "
				"reference classifier says %s/%s/%u; please report this with the rules file\n",
				res.verdict ? "pass" : "drop", sl_reason_name(res.reason), res.rule,
				ref.verdict ? "pass" : "drop", sl_reason_name(ref.reason), ref.rule);
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	name = slot_name(img, src.meta, res.rule);
	inet_ntop(p.family, p.inbound ? p.src : p.dst, addr, sizeof(addr));
	lookup_detail(&src, &p, &res, name, addr, learned, detail, sizeof(detail));
	would_drop = audit_would_drop(&src, &res);
	if (cli_json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "verdict", res.verdict == SL_V_PASS ? "allow" : "drop");
		if (would_drop)
			sl_json_kstr(&j, "would", "drop");
		sl_json_kstr(&j, "rule", name);
		sl_json_kstr(&j, "reason", sl_reason_name(res.reason));
		sl_json_kstr(&j, "detail", detail);
		sl_json_kstr(&j, "address", addr);
		sl_json_kstr(&j, "proto", cli_ipproto_name(p.proto, pbuf, sizeof(pbuf)));
		sl_json_ku64(&j, "port", p.inbound ? p.sport : p.port);
		sl_json_kstr(&j, "direction", p.inbound ? "inbound" : "outbound");
		sl_json_kstr(&j, "mode", cli_mode_name(img->cfg.mode));
		sl_json_kbool(&j, "learned", learned);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		if (would_drop)
			printf("audit: would drop (%s); audit mode passes it\n", detail);
		else
			printf("%s: %s\n", res.verdict == SL_V_PASS ? "allow" : "drop", detail);
	}
out:
	image_close(&src);
	return rc;
}

static const char *pslot_name(int s)
{
	static const char *const n[SL_PSLOTS] = { "other", "tcp", "udp", "icmp", "icmpv6" };
	return s < SL_PSLOTS ? n[s] : "?";
}

static const char *action_name(int a)
{
	return a == SL_ACT_ALLOW ? "allow" : a == SL_ACT_DENY ? "deny" : "none";
}

static void dump_dst(struct sl_json *j, const struct sl_image *img, const struct sl_rule_meta *meta,
		     int family, const uint8_t *addr, uint32_t plen, const struct sl_dst_val *v)
{
	char a[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8];
	const char *near = slot_name(img, meta, v->near_rule);

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(pfx, sizeof(pfx), "%s/%u", a, plen);
	if (j) {
		sl_json_obj_open(j);
		sl_json_kstr(j, "prefix", pfx);
		sl_json_ku64(j, "class", v->class_id);
		sl_json_kstr(j, "near_rule", near);
		sl_json_key(j, "fragments");
		sl_json_obj_open(j);
		for (int s = 0; s < SL_PSLOTS; s++) {
			sl_json_key(j, pslot_name(s));
			if (v->frag[s].action == SL_ACT_NONE) {
				sl_json_null(j);
			} else {
				sl_json_obj_open(j);
				sl_json_kstr(j, "rule", slot_name(img, meta, v->frag[s].rule));
				sl_json_kstr(j, "action", action_name(v->frag[s].action));
				sl_json_obj_close(j);
			}
		}
		sl_json_obj_close(j);
		sl_json_obj_close(j);
	} else {
		printf("  %-43s class %-5u first rule %s\n", pfx, v->class_id, near ? near : "-");
	}
}

int do_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "rules", required_argument, NULL, 'r' },
		{ 0 }
	};
	const struct cmd *c = cli_find_cmd("dump");
	const char *inst = "default", *rules = NULL;
	struct image_src src;
	const struct sl_image *img = &src.img;
	const struct sl_rule_meta *meta;
	struct sl_json j, *jp = NULL;
	int ch, e;

	while ((ch = getopt_long(argc, argv, ":jvhi:r:", opts, NULL)) != -1) {
		if (cli_common_opt(ch, c, &inst))
			continue;
		if (ch == 'r')
			rules = optarg;
		else
			return cli_usage_error(c, "unknown option");
	}
	if (optind < argc && !rules)
		rules = argv[optind++];
	if (optind != argc)
		return cli_usage_error(c, "too many arguments");
	if ((e = image_open(&src, rules, inst, "give a rules file to dump its compiled image")))
		return e;
	meta = src.meta;
	if (cli_json) {
		jp = &j;
		sl_json_init(jp, stdout);
		sl_json_obj_open(jp);
		sl_json_kstr(jp, "policy", cli_policy_name(img->cfg.policy));
		sl_json_kstr(jp, "mode", cli_mode_name(img->cfg.mode));
		sl_json_kbool(jp, "control_pass", img->cfg.control_pass);
		sl_json_ku64(jp, "generation", img->cfg.generation);
		sl_json_ku64(jp, "classes", img->nclasses);
		sl_json_key(jp, "rules");
		sl_json_arr_open(jp);
	} else {
		printf("policy %s, mode %s, control %s, %u classes\nrules (slot: name action):\n",
		       cli_policy_name(img->cfg.policy), cli_mode_name(img->cfg.mode),
		       img->cfg.control_pass ? "pass" : "filter", img->nclasses);
	}
	if (img->rs) {
		for (size_t i = 0; i < img->rs->nrules; i++) {
			const struct sl_rule *r = &img->rs->rules[i];
			if (jp) {
				sl_json_obj_open(jp);
				sl_json_kstr(jp, "name", r->name);
				sl_json_ku64(jp, "slot", img->slot[i]);
				sl_json_kstr(jp, "action", action_name(r->action));
				sl_json_ku64(jp, "destinations", r->ndsts);
				sl_json_ku64(jp, "host_names", r->nhosts);
				sl_json_obj_close(jp);
			} else {
				printf("  %4u: %s %s (%zu destinations%s)\n", img->slot[i], r->name,
				       action_name(r->action), r->ndsts, r->nhosts ? ", plus host names learned from DNS" : "");
			}
		}
	} else {
		for (uint32_t s = 0; s < SL_MAX_SLOTS; s++) {
			if (meta[s].action == SL_ACT_NONE)
				continue;
			if (jp) {
				sl_json_obj_open(jp);
				sl_json_kstr(jp, "name", meta[s].name);
				sl_json_ku64(jp, "slot", s);
				sl_json_kstr(jp, "action", action_name(meta[s].action));
				sl_json_obj_close(jp);
			} else {
				printf("  %4u: %s %s\n", s, meta[s].name, action_name(meta[s].action));
			}
		}
	}
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "dst4");
		sl_json_arr_open(jp);
	} else {
		printf("dst4 (%zu prefixes):\n", img->ndst4);
	}
	for (size_t i = 0; i < img->ndst4; i++)
		dump_dst(jp, img, meta, AF_INET, img->dst4[i].key.addr, img->dst4[i].key.prefixlen,
			 &img->dst4[i].val);
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "dst6");
		sl_json_arr_open(jp);
	} else {
		printf("dst6 (%zu prefixes):\n", img->ndst6);
	}
	for (size_t i = 0; i < img->ndst6; i++)
		dump_dst(jp, img, meta, AF_INET6, img->dst6[i].key.addr, img->dst6[i].key.prefixlen,
			 &img->dst6[i].val);
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "ports");
		sl_json_arr_open(jp);
	} else {
		printf("ports (%zu entries: class proto ports -> rule):\n", img->nports);
	}
	for (size_t i = 0; i < img->nports; i++) {
		const struct sl_port_entry *pe = &img->ports[i];
		uint32_t cls = (uint32_t)pe->key.class_be[0] << 24 | pe->key.class_be[1] << 16 |
			       pe->key.class_be[2] << 8 | pe->key.class_be[3];
		uint32_t bits = pe->key.prefixlen > SL_PORT_KEY_FIXED_BITS ?
				pe->key.prefixlen - SL_PORT_KEY_FIXED_BITS : 0;
		uint32_t lo = (uint32_t)pe->key.port_be[0] << 8 | pe->key.port_be[1];
		uint32_t hi = lo | (bits >= 16 ? 0 : (0xffffu >> bits));
		const char *rn = slot_name(img, meta, pe->val.rule);

		if (bits == 0)
			lo = 0, hi = 65535;
		if (jp) {
			sl_json_obj_open(jp);
			sl_json_ku64(jp, "class", cls);
			sl_json_kstr(jp, "proto", pslot_name(pe->key.pslot));
			sl_json_ku64(jp, "port_lo", lo);
			sl_json_ku64(jp, "port_hi", hi);
			sl_json_kstr(jp, "rule", rn);
			sl_json_kstr(jp, "action", action_name(pe->val.action));
			sl_json_obj_close(jp);
		} else {
			printf("  class %-5u %-6s %5u-%-5u -> %s %s\n", cls, pslot_name(pe->key.pslot), lo, hi,
			       action_name(pe->val.action), rn ? rn : "?");
		}
	}
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_obj_close(jp);
		sl_json_end(jp);
	}
	image_close(&src);
	return 0;
}
