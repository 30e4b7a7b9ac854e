// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_log.c - `sluice log` (docs/events.md): the events of an instance,
 * one line each (text, or JSON with --json), filtered, or as a pcap file;
 * and the "events" counters of `sluice stats`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/evsrc.h"
#include "util/json.h"
#include "util/pcap.h"

const char sl_log_args[] = "[--instance NAME] [--follow] [--json] [--rule NAME] [--verdict V] "
			   "[--dst CIDR] [--pcap FILE]";
const char sl_log_summary[] = "print the drop events of an instance (what was dropped, by which rule, "
			      "to which host name)";
const char sl_log_help[] =
	"  -f, --follow          stream events until interrupted (default: print what is buffered)\n"
	"  -j, --json            one JSON object per line: time, instance, hook, dev, verdict, reason,\n"
	"                        rule, family, src, dst, proto, sport, dport, len, name, direction;\n"
	"                        sluice-cni's: container, pod_namespace, pod_name\n"
	"      --rule NAME       only events of this rule (deciding or nearly matched)\n"
	"      --verdict V       only drop, audit-drop or pass\n"
	"      --dst CIDR        only events to destinations in CIDR\n"
	"      --pcap FILE       write the events' packets (snap length: `log snap N;`) to FILE as pcap\n"
	"                        (tcpdump -r, tshark -r); the lines still go to stdout unless FILE is -\n"
	"  -i, --instance NAME   instance, default 'default'\n"
	"                        if `sluice run` runs for the instance it is the ring buffer's one\n"
	"                        reader and this command gets the stream from its socket\n"
	"                        (" SL_RUN_DIR "/NAME.sock); else this command is the reader\n";

struct log_ctx {
	struct sl_ev_filter f;
	bool json, quiet, follow;
	struct sl_pcap *pcap;
	unsigned long n;
};

static void on_ev(void *arg, const struct sl_ev *e)
{
	struct log_ctx *c = arg;

	if (!sl_ev_match(&c->f, e))
		return;
	c->n++;
	if (c->pcap) {
		sl_pcap_write(c->pcap, e->time_ns, e->l3, e->data, e->snap <= e->caplen ? e->snap : e->caplen,
			      e->len);
		if (c->follow)
			sl_pcap_flush(c->pcap);
	}
	if (c->quiet)
		return;
	if (c->json)
		sl_ev_json(e, stdout);
	else
		sl_ev_text(e, stdout);
	if (c->follow)
		fflush(stdout);
}

int sl_cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "instance", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "follow", no_argument, NULL, 'f' },
		{ "rule", required_argument, NULL, 'R' },
		{ "verdict", required_argument, NULL, 'V' },
		{ "dst", required_argument, NULL, 'D' },
		{ "pcap", required_argument, NULL, 'P' },
		{ 0 }
	};
	struct log_ctx c = { .f = { .verdict = -1 } };
	struct sl_evsrc_opts o = { .inst = "default" };
	const char *pcap = NULL;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jhi:vf", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': c.json = true; break;
		case 'i': o.inst = optarg; break;
		case 'v': break;
		case 'f': o.follow = c.follow = true; break;
		case 'R': c.f.rule = optarg; break;
		case 'P': pcap = optarg; break;
		case 'V':
			c.f.verdict = sl_ev_verdict_parse(optarg);
			if (c.f.verdict < 0)
				goto usage_v;
			break;
		case 'D':
			if (sl_ev_filter_dst(&c.f, optarg)) {
				fprintf(stderr, "sluice: --dst takes an address or a prefix (192.0.2.0/24, "
					"2001:db8::/32), not '%s'\nusage: sluice log %s\n", optarg, sl_log_args);
				return 2;
			}
			break;
		case 'h':
			printf("usage: sluice log %s\n%s\noptions:\n%s", sl_log_args, sl_log_summary, sl_log_help);
			return 0;
		default:
			fprintf(stderr, "usage: sluice log %s\n(see: sluice log --help)\n", sl_log_args);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sluice: log takes no arguments\nusage: sluice log %s\n", sl_log_args);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "sluice: this command needs root (CAP_BPF); run it with sudo\n");
		return 1;
	}
	if (pcap) {
		if (sl_pcap_open(pcap, &c.pcap))
			return 1;
		c.quiet = !strcmp(pcap, "-");
	}
	if (c.follow)
		setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sl_evsrc_run(&o, on_ev, &c);
	sl_pcap_close(c.pcap);
	fflush(stdout);
	return rc;
usage_v:
	fprintf(stderr, "sluice: --verdict takes drop, audit-drop or pass, not '%s'\nusage: sluice log %s\n",
		optarg, sl_log_args);
	return 2;
}

void sl_events_stats(const char *inst, struct sl_json *j)
{
	uint64_t v[SL_EC_MAX];
	int e = sl_events_counters(inst, v);

	if (j) {
		sl_json_key(j, "events");
		sl_json_obj_open(j);
		sl_json_ku64(j, "emitted", v[SL_EC_EMITTED]);
		sl_json_ku64(j, "suppressed", v[SL_EC_SUPPRESSED]);
		sl_json_ku64(j, "lost", v[SL_EC_LOST]);
		sl_json_obj_close(j);
		return;
	}
	if (e)
		printf("events: none (this instance predates events: apply again)\n");
	else
		printf("events: emitted %llu, suppressed by the rate limit %llu, lost (ring buffer full) %llu\n",
		       (unsigned long long)v[SL_EC_EMITTED], (unsigned long long)v[SL_EC_SUPPRESSED],
		       (unsigned long long)v[SL_EC_LOST]);
}

_Static_assert(SL_PCAP_SNAP_MAX == SL_SNAP_MAX, "util/pcap.h's snap length is the events' one");
