// SPDX-License-Identifier: GPL-2.0-only
/*
 * evfmt.c - an event's text line, JSON line, filters, and the JSON line
 * read back (evfmt.h).  Pure.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl.h"
#include "util/evfmt.h"
#include "util/json.h"

const char *sl_ev_proto_name(uint8_t proto, char *buf, size_t n)
{
	switch (proto) {
	case 6:  return "tcp";
	case 17: return "udp";
	case 1:  return "icmp";
	case 58: return "icmpv6";
	}
	snprintf(buf, n, "%u", proto);
	return buf;
}

static void fmt_time(uint64_t ns, char *buf, size_t n)
{
	time_t s = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	size_t k;

	gmtime_r(&s, &tm);
	k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03uZ", (unsigned)(ns / 1000000ULL % 1000));
}

static bool is_icmp(const struct sl_ev *e)
{
	return e->proto == 1 || e->proto == 58;
}

static void endpoint(char *buf, size_t n, const struct sl_ev *e, const char *addr, int port)
{
	if (port < 0)
		snprintf(buf, n, "%s", addr[0] ? addr : "?");
	else
		snprintf(buf, n, e->family == 6 ? "[%s]:%d" : "%s:%d", addr[0] ? addr : "?", port);
}

void sl_ev_text(const struct sl_ev *e, FILE *out)
{
	char t[40], pb[8], s[80], d[96];

	fmt_time(e->time_ns, t, sizeof(t));
	if (is_icmp(e)) {       /* sport, dport: ICMP type and code */
		endpoint(s, sizeof(s), e, e->src, -1);
		snprintf(d, sizeof(d), "%s type %d code %d", e->dst[0] ? e->dst : "?", e->sport, e->dport);
	} else {
		endpoint(s, sizeof(s), e, e->src, e->sport);
		endpoint(d, sizeof(d), e, e->dst, e->dport);
	}
	fprintf(out, "%s %-10s %-9s %-20s %-6s %s -> %s len %u%s%s%s%s%s%.12s%s%s%s%s\n", t,
		sl_event_verdict(e->verdict), e->reason, e->rule[0] ? e->rule : "-",
		e->family ? sl_ev_proto_name(e->proto, pb, sizeof(pb)) : "-", s, d, e->len,
		e->name[0] ? " name " : "", e->name, e->dev[0] ? " on " : "", e->dev,
		e->container[0] ? " container " : "", e->container,
		e->pod_ns[0] || e->pod_name[0] ? " pod " : "", e->pod_ns,
		e->pod_ns[0] && e->pod_name[0] ? "/" : "", e->pod_name);
}

static void kstr_or_null(struct sl_json *j, const char *k, const char *v)
{
	sl_json_kstr(j, k, v && v[0] ? v : NULL);
}

static void kint_or_null(struct sl_json *j, const char *k, int64_t v)
{
	sl_json_key(j, k);
	if (v < 0)
		sl_json_null(j);
	else
		sl_json_i64(j, v);
}

void sl_ev_json(const struct sl_ev *e, FILE *out)
{
	struct sl_json j;
	char t[40], pb[8];

	fmt_time(e->time_ns, t, sizeof(t));
	sl_json_init(&j, out);
	sl_json_obj_open(&j);
	sl_json_kstr(&j, "time", t);
	kstr_or_null(&j, "instance", e->instance);
	kstr_or_null(&j, "hook", e->hook);
	kstr_or_null(&j, "dev", e->dev);
	sl_json_kstr(&j, "verdict", sl_event_verdict(e->verdict));
	sl_json_kstr(&j, "reason", e->reason);
	kstr_or_null(&j, "rule", e->rule);
	kint_or_null(&j, "family", e->family ? e->family : -1);
	kstr_or_null(&j, "src", e->src);
	kstr_or_null(&j, "dst", e->dst);
	kstr_or_null(&j, "proto", e->family ? sl_ev_proto_name(e->proto, pb, sizeof(pb)) : NULL);
	kint_or_null(&j, "sport", e->sport);
	kint_or_null(&j, "dport", e->dport);
	sl_json_ku64(&j, "len", e->len);
	kstr_or_null(&j, "name", e->name);
	sl_json_kstr(&j, "direction", e->inbound ? "inbound" : "outbound");
	if (e->container[0]) {          /* only for sluice-cni's containers */
		sl_json_kstr(&j, "container", e->container);
		kstr_or_null(&j, "pod_namespace", e->pod_ns);
		kstr_or_null(&j, "pod_name", e->pod_name);
	}
	sl_json_obj_close(&j);
	sl_json_end(&j);
}

int sl_ev_verdict_parse(const char *s)
{
	if (!strcmp(s, "drop"))
		return SL_EV_DROP;
	if (!strcmp(s, "audit-drop"))
		return SL_EV_AUDIT_DROP;
	if (!strcmp(s, "pass"))
		return SL_EV_PASS;
	return -1;
}

int sl_ev_filter_dst(struct sl_ev_filter *f, const char *cidr)
{
	char a[64], *slash;
	unsigned long plen;
	int max;

	if (strlen(cidr) >= sizeof(a))
		return -EINVAL;
	strcpy(a, cidr);
	slash = strchr(a, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, a, f->dst_addr) == 1) {
		f->dst_family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, a, f->dst_addr) == 1) {
		f->dst_family = 6;
		max = 128;
	} else {
		return -EINVAL;
	}
	plen = (unsigned long)max;
	if (slash) {
		char *end;

		plen = strtoul(slash, &end, 10);
		if (!*slash || *end || plen > (unsigned long)max)
			return -EINVAL;
	}
	f->dst_plen = (uint8_t)plen;
	f->has_dst = true;
	return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool sl_ev_match(const struct sl_ev_filter *f, const struct sl_ev *e)
{
	if (f->rule && strcmp(f->rule, e->rule))
		return false;
	if (f->verdict >= 0 && f->verdict != e->verdict)
		return false;
	if (f->has_dst) {
		uint8_t a[16];

		if (e->family != f->dst_family ||
		    inet_pton(e->family == 4 ? AF_INET : AF_INET6, e->dst, a) != 1 ||
		    !prefix_eq(a, f->dst_addr, f->dst_plen))
			return false;
	}
	return true;
}

/* ---------------------------------------------------- the JSON line back */

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A JSON string at @p (after the quote) into @out; returns the position after it or NULL. */
static const char *read_str(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	while (*p && *p != '"') {
		char c = *p++;

		if (c == '\\') {
			c = *p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
				    !isxdigit((unsigned char)p[2]) || !isxdigit((unsigned char)p[3]))
					return NULL;
				c = '?';
				p += 4;
				break;
			case 0: return NULL;
			default: break;         /* \" \\ \/ */
			}
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	if (*p != '"')
		return NULL;
	if (cap)
		out[n] = 0;
	return p + 1;
}

static int64_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned ms = 0;

	if (!p)
		return -1;
	if (*p == '.')
		ms = (unsigned)strtoul(p + 1, NULL, 10);
	return (int64_t)timegm(&tm) * 1000000000LL + (int64_t)ms * 1000000LL;
}

static void set_field(struct sl_ev *e, const char *k, const char *sv, bool is_null, long long nv)
{
#define S(name) if (!strcmp(k, #name)) { snprintf(e->name, sizeof(e->name), "%s", is_null ? "" : sv); return; }
	S(instance) S(hook) S(dev) S(reason) S(rule) S(src) S(dst) S(name) S(container)
#undef S
	if (!strcmp(k, "pod_namespace")) {
		snprintf(e->pod_ns, sizeof(e->pod_ns), "%s", is_null ? "" : sv);
		return;
	}
	if (!strcmp(k, "pod_name")) {
		snprintf(e->pod_name, sizeof(e->pod_name), "%s", is_null ? "" : sv);
		return;
	}
	if (!strcmp(k, "time") && !is_null) {
		int64_t t = parse_time(sv);

		e->time_ns = t > 0 ? (uint64_t)t : 0;
	} else if (!strcmp(k, "verdict")) {
		int v = is_null ? -1 : sl_ev_verdict_parse(sv);

		e->verdict = v < 0 ? SL_EV_DROP : (uint8_t)v;
	} else if (!strcmp(k, "proto") && !is_null) {
		e->proto = !strcmp(sv, "tcp") ? 6 : !strcmp(sv, "udp") ? 17 : !strcmp(sv, "icmp") ? 1 :
			   !strcmp(sv, "icmpv6") ? 58 : (uint8_t)atoi(sv);
	} else if (!strcmp(k, "direction")) {
		e->inbound = !is_null && !strcmp(sv, "inbound");
	} else if (!strcmp(k, "family")) {
		e->family = is_null ? 0 : (uint8_t)nv;
	} else if (!strcmp(k, "sport")) {
		e->sport = is_null ? -1 : (int32_t)nv;
	} else if (!strcmp(k, "dport")) {
		e->dport = is_null ? -1 : (int32_t)nv;
	} else if (!strcmp(k, "len")) {
		e->len = is_null ? 0 : (uint32_t)nv;
	}
}

int sl_ev_parse_json(const char *line, struct sl_ev *e)
{
	const char *p = skip_ws(line);

	memset(e, 0, sizeof(*e));
	e->magic = SL_EV_MAGIC;
	e->size = sizeof(*e);
	e->sport = e->dport = -1;
	if (*p++ != '{')
		return -EINVAL;
	for (;;) {
		char k[32], sv[SL_DNS_NAME_MAX + 3] = "";
		bool is_null = false;
		long long nv = 0;

		p = skip_ws(p);
		if (*p == '}')
			return 0;
		if (*p++ != '"' || !(p = read_str(p, k, sizeof(k))))
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_ws(p);
		if (*p == '"') {
			if (!(p = read_str(p + 1, sv, sizeof(sv))))
				return -EINVAL;
		} else if (!strncmp(p, "null", 4)) {
			is_null = true;
			p += 4;
		} else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
			p += *p == 't' ? 4 : 5;
		} else {
			char *end;

			nv = strtoll(p, &end, 10);
			if (end == p)
				return -EINVAL;
			p = end;
			while (*p && strchr(".eE+-0123456789", *p))
				p++;
		}
		set_field(e, k, sv, is_null, nv);
		p = skip_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '}')
			return 0;
		return -EINVAL;
	}
}
