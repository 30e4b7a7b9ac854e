// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - the sluice command line: one table of commands, each with its own
 * options and --help; the commands are in cmd_*.c, the convention they share
 * (cli_int.h) in cli_common.c.  Exit status: 0 ok, 1 runtime failure, 2 usage
 * or rule error.  -j/--json prints one JSON document (bpftool's convention).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "cli/evsrc.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("sluice %s\n", SLUICE_VERSION);
	return 0;
}

static int do_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "check", do_check, "FILE [--json]",
	  "parse, resolve and compile a rules file; print errors and warnings (no root)",
	  "  -j, --json            print the result and every diagnostic as JSON\n" },
	{ "apply", do_apply, "FILE [--hook HOOK] [--direction DIR] --dev IFACE [--dev IFACE...] "
	  "[--netns NAME] | --cgroup PATH [--instance NAME]",
	  "load a rules file and attach it, or replace the running ruleset atomically",
	  "  -d, --dev IFACE       attach to IFACE (repeatable); without --dev or --cgroup,\n"
	  "                        replace the rules wherever the instance is attached\n"
	  "      --hook HOOK       tc-egress (default): an uplink's outbound traffic;\n"
	  "                        tc-ingress: a container veth's host side, a gateway's LAN side;\n"
	  "                        xdp: a gateway's LAN side, before an skb exists;\n"
	  "                        cgroup: cgroup_skb/egress of a cgroup v2 (with --cgroup)\n"
	  "      --direction DIR   outbound (default): judge destination address and port;\n"
	  "                        inbound (tc-ingress, xdp, cgroup = cgroup_skb/ingress): judge\n"
	  "                        source address and port, from the same rules\n"
	  "      --cgroup PATH     the cgroup (absolute, or below the cgroup2 mount)\n"
	  "      --xdp-mode MODE   auto (native where the driver has it, else generic), native, generic\n"
	  "      --dns-floor SEC   host names: shortest TTL honoured (default 60)\n"
	  "      --dns-grace SEC   host names: kept this long past the TTL (default 120)\n"
	  "  -i, --instance NAME   instance (pins under " SL_PIN_ROOT "/NAME), default 'default'\n"

	  "      --tc-mode MODE    auto (TCX if the kernel has it, else clsact), tcx, clsact\n"
	  "      --allow-stack     attach even where another sluice instance filters the same\n"
	  "                        hook (both judge every packet); refused by default\n"
	  "  -n, --netns NAME      the interfaces are in network namespace NAME (as ip -n);\n"
	  "                        pins stay in the host's bpffs\n"
	  "  -j, --json            print the result as JSON\n" },
	{ "run", do_run, "FILE [the options of apply] [--metrics ADDR:PORT]",
	  "apply, then stay in the foreground: learn oversized DNS answers, resolve exact host names",
	  "  (every option of apply: --dev, --hook, --direction, --netns, --cgroup, --instance,\n"
	  "   --tc-mode, --xdp-mode, --dns-floor, --dns-grace, --allow-stack)\n"
	  "      --metrics ADDR:PORT  serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	  "                        (PORT alone: 127.0.0.1:PORT); every instance, the text of\n"
	  "                        sluice stats --format prometheus\n"
	  "      --log-file FILE   append every event as a JSON line (reopened on SIGHUP, SIGUSR1)\n"
	  "      --syslog          send a line per event to syslog (journald)\n"
	  "                        run is the reader of the instance's events: sluice log and top\n"
	  "                        get them from its socket " SL_RUN_DIR "/INSTANCE.sock\n"
	  "                        applies FILE, then reads the learner's ring buffer (answers too\n"
	  "                        big for BPF) and resolves every exact host name of the ruleset\n"
	  "                        through the configured resolvers, again when its TTL (at least\n"
	  "                        --dns-floor) runs out; logs one line per event on stderr\n"
	  "                        SIGHUP: re-apply FILE (an error keeps the running ruleset)\n"
	  "                        SIGTERM, SIGINT: exit; the filter stays (sluice detach removes it)\n" },
	{ "detach", do_detach, "--dev IFACE [--netns NAME] [--hook HOOK] | --cgroup PATH | --all "
	  "[--instance NAME]",
	  "remove sluice from an interface (the instance goes with its last attachment)",
	  "  -d, --dev IFACE       detach from IFACE\n"
	  "  -a, --all             detach from everything and remove the instance's pins\n"
	  "  -n, --netns NAME      IFACE is in network namespace NAME\n"
	  "      --hook HOOK       only this hook on IFACE (default: every hook)\n"
	  "      --cgroup PATH     detach from a cgroup\n"
	  "  -i, --instance NAME   instance, default 'default'\n" },
	{ "status", do_status, "[--instance NAME] [--json]",
	  "list instances, their rulesets and attachments",
	  "  -i, --instance NAME   only this instance\n"
	  "  -j, --json            JSON output\n" },
	{ "stats", do_stats, "[--instance NAME] [--json | --format prometheus]",
	  "per-rule pass/drop counters and the global counters",
	  "  -i, --instance NAME   instance, default 'default' (prometheus: every instance)\n"
	  "  -j, --json            JSON output (the same as --format json)\n"
	  "  -f, --format FORMAT   text (default), json, or prometheus: the exposition that\n"
	  "                        sluice run --metrics serves (text format 0.0.4), for\n"
	  "                        node_exporter's textfile collector\n" },
	{ "lookup", do_lookup, "[--rules FILE] [--inbound] ADDRESS [PROTO [PORT]] [--json]",
	  "which rule decides a destination, and why (PROTO defaults to tcp, PORT to 443)",
	  "  -r, --rules FILE      decide from a rules file (no root) instead of the loaded maps\n"
	  "  -f, --fragment        judge as a non-first fragment (ports ignored)\n"
	  "      --inbound         ADDRESS and PORT are the source of an arriving packet\n"
	  "                        (--direction inbound); the same rules decide\n"
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            {\"verdict\", \"rule\", \"reason\", ...}\n" },
	{ "dump", do_dump, "[--rules] [FILE] [--json]",
	  "print the compiled image: rules, prefixes with their classes, port tables",
	  "  -r, --rules FILE      compile FILE (no root); without it, read the loaded maps\n"
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            JSON output\n" },
	{ "learned", do_learned, "[--instance NAME] [--json]",
	  "addresses learned from DNS answers for host-name rules, and the learner's counters",
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            {\"learned\": [{\"address\", \"name\", \"rules\", \"remaining_ms\", \"ttl\"}],\n"
	  "                        \"counters\": {\"queries\", \"learned\", \"spoofed\", ...}}\n" },
	{ "gc", do_gc, "[--dry-run] [--json]",
	  "remove instances made for containers that are gone (sluice-cni)",
	  "  -n, --dry-run         only list what would be removed\n"
	  "  -j, --json            {\"removed\": [{\"instance\", \"container\", \"network\", \"netns\"}],\n"
	  "                        \"kept\": N}\n" },
	{ "log", sl_cmd_log, sl_log_args, sl_log_summary, sl_log_help },
	{ "top", sl_cmd_top, sl_top_args, sl_top_summary, sl_top_help },
	{ "help", do_help, "[COMMAND]", "show help", "" },
	{ "version", do_version, "", "print the version", "" },
};

const struct cmd *cli_find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void cli_cmd_usage(const struct cmd *c, FILE *out)
{
	fprintf(out, "usage: sluice %s %s\n%s\n", c->name, c->args, c->summary);
	if (c->help[0])
		fprintf(out, "options:\n%s", c->help);
	fprintf(out, "  -v, --verbose         show libbpf's messages (verifier log)\n"
		"exit status: 0 ok, 1 runtime failure, 2 usage or rule error\n");
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sluice COMMAND [OPTIONS]\n"
		"sluice compiles egress allowlists into BPF maps and enforces them in the kernel.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\n'sluice COMMAND --help' shows a command's options.\n");
}

static int do_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc > 1 && (c = cli_find_cmd(argv[1]))) {
		cli_cmd_usage(c, stdout);
		return 0;
	}
	usage(stdout);
	return 0;
}

int sl_cli_main(int argc, char **argv)
{
	const struct cmd *c;

	sl_loader_verbose(false);
	opterr = 0;             /* option errors: one message each, from cli_common_opt */
	cli_argv = argv + 1;    /* the commands get argv + 1 */
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return do_help(1, argv);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return do_version(1, argv);
	c = cli_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
