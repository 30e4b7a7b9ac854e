// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_learned.c - sluice learned: addresses learned from DNS answers, the learner's counters
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

struct pattern { uint32_t ncls; char name[260]; };

/* "zoom.us" from a lower-case wire-format name. */
static void wire_to_dotted(const struct sl_name_val *v, char *out, size_t sz, bool wild)
{
	size_t o = 0, i = 0;

	if (wild && sz > 2)
		out[o++] = '*', out[o++] = '.';
	while (i < v->wlen && i < sizeof(v->wire) && v->wire[i] && o + 1 < sz) {
		size_t n = v->wire[i++];

		for (size_t k = 0; k < n && i < v->wlen && o + 1 < sz; k++)
			out[o++] = (char)v->wire[i++];
		if (i < v->wlen && v->wire[i] && o + 1 < sz)
			out[o++] = '.';
	}
	out[o] = '\0';
}

struct patterns { struct pattern *v; size_t n; bool wild; };

static int add_pattern(const struct sl_name_val *nv, void *ctx)
{
	struct patterns *ps = ctx;
	struct pattern *nvv = realloc(ps->v, (ps->n + 1) * sizeof(*ps->v));

	if (!nvv)
		return 1;
	ps->v = nvv;
	ps->v[ps->n].ncls = nv->ncls;
	wire_to_dotted(nv, ps->v[ps->n].name, sizeof(ps->v[ps->n].name), ps->wild);
	ps->n++;
	return 0;
}

/* Every host pattern of the loaded generation, by name class. */
static size_t read_patterns(const struct sl_instance *in, struct pattern **out)
{
	struct patterns ps = { NULL, 0, false };

	for (int w = 0; w < 2; w++) {
		ps.wild = w == 1;
		sl_names_each(in, ps.wild, add_pattern, &ps);
	}
	*out = ps.v;
	return ps.n;
}

static const char *pattern_of(const struct pattern *p, size_t n, uint32_t ncls)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].ncls == ncls)
			return p[i].name;
	return NULL;
}

/* The first rule of a name class (its near rule), by name. */
static const char *ncls_rule(const struct sl_instance *in, const struct sl_rule_meta *meta,
			     uint32_t ncls)
{
	struct sl_dst_val v;

	if (sl_nclass_get(in, ncls, &v) ||
	    v.near_rule >= SL_MAX_SLOTS || meta[v.near_rule].action == SL_ACT_NONE)
		return NULL;
	return meta[v.near_rule].name;
}

int do_learned(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("learned");
	const char *inst = "default";
	struct sl_instance in;
	struct sl_rule_meta *meta;
	struct sl_learned_row *rows = NULL;
	struct pattern *pats = NULL;
	size_t nrows = 0, npats;
	struct sl_json j;
	int ch, e;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind != argc)
		return cli_usage_error(c, "no arguments expected");
	if ((e = cli_instance_meta_open(inst, "see: sluice status", &in, &meta)))
		return e;
	if (in.learned_fd >= 0 && sl_learned_read(in.learned_fd, &rows, &nrows)) {
		fprintf(stderr, "sluice: %s/%s/learned: cannot read\n", SL_PIN_ROOT, inst);
		free(meta);
		sl_instance_close(&in);
		return EXIT_RUNTIME;
	}
	npats = read_patterns(&in, &pats);
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_key(&j, "learned");
		sl_json_arr_open(&j);
	} else {
		printf("%-40s %-30s %-20s %10s %8s\n", "ADDRESS", "NAME", "RULE", "LEFT (s)", "TTL");
	}
	for (size_t i = 0; i < nrows; i++) {
		char a[INET6_ADDRSTRLEN];
		const char *pn = pattern_of(pats, npats, rows[i].ncls);
		const char *rn = ncls_rule(&in, meta, rows[i].ncls);

		inet_ntop(rows[i].family, rows[i].addr, a, sizeof(a));
		if (cli_json) {
			sl_json_obj_open(&j);
			sl_json_kstr(&j, "address", a);
			sl_json_kstr(&j, "name", pn);
			sl_json_key(&j, "rules");
			sl_json_arr_open(&j);
			if (rn)
				sl_json_str(&j, rn);
			sl_json_arr_close(&j);
			sl_json_key(&j, "remaining_ms");
			sl_json_i64(&j, rows[i].remaining_ms);
			sl_json_ku64(&j, "ttl", rows[i].ttl);
			sl_json_kbool(&j, "live", rows[i].remaining_ms > 0);
			sl_json_obj_close(&j);
		} else {
			printf("%-40s %-30s %-20s %10lld %8u%s\n", a, pn ? pn : "?", rn ? rn : "?",
			       (long long)(rows[i].remaining_ms / 1000), rows[i].ttl,
			       rows[i].remaining_ms > 0 ? "" : "  (expired)");
		}
	}
	if (cli_json) {
		sl_json_arr_close(&j);
		cli_learn_ctrs(&j, "counters", &in);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		cli_learn_ctrs(NULL, NULL, &in);
	}
	free(rows);
	free(pats);
	free(meta);
	sl_instance_close(&in);
	return 0;
}
