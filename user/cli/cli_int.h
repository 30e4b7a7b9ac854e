/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli_int.h - what the command-line files share (user/cli/): the command
 * table's entry, the one option/JSON/exit-code convention (cli_common.c)
 * and the commands (cmd_*.c).  Every command takes -j/--json (one JSON
 * document on stdout), -v/--verbose, -h/--help, -i/--instance; exits 0 ok,
 * EXIT_RUNTIME on a runtime failure, EXIT_USAGE on a usage or rule error.
 * The CLI calls the library through kernel/kernel.h and sl.h only.
 */
#ifndef SL_CLI_INT_H
#define SL_CLI_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "util/json.h"
#include "daemon/run.h"
#include "kernel/kernel.h"
#include "sl.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *summary;
	const char *help;       /* options, one per line */
};

/* Options every command takes. */
#define COMMON_OPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "instance", required_argument, NULL, 'i' }

extern bool cli_json;           /* -j/--json given */
extern bool cli_verbose;        /* -v/--verbose given */
extern char **cli_argv;         /* the command's argv (option messages) */

/* cli.c: the command table */
const struct cmd *cli_find_cmd(const char *name);
void cli_cmd_usage(const struct cmd *c, FILE *out);

/* cli_common.c */
/* Handle an option common to all commands; returns false if unknown. */
bool cli_common_opt(int ch, const struct cmd *c, const char **instance);
/* "sluice: <message>", the command's usage line; returns EXIT_USAGE. */
int cli_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool cli_need_root(void);       /* false (and says so) without root */
int cli_load_rules_diag(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			bool warnings);
int cli_load_rules(const char *path, struct sl_ruleset *rs, struct sl_diags *d);
/* cli_load_rules without the settle wait: sl_ruleset_settled(*check) later (apply). */
int cli_load_rules_unsettled(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			     struct sl_rcheck **check);
void cli_json_diags(struct sl_json *j, const struct sl_diags *d);
size_t cli_count_hosts(const struct sl_ruleset *rs);
int cli_parse_hook(const char *s, enum sl_hook *h);
const char *cli_policy_name(int p);
const char *cli_mode_name(int m);
const char *cli_ipproto_name(int p, char *buf, size_t sz);
int cli_instance_meta_open(const char *inst, const char *hint, struct sl_instance *in,
			   struct sl_rule_meta **meta);
void cli_learn_ctrs(struct sl_json *j, const char *key, const struct sl_instance *in);

/* the commands (cmd_*.c) */
int do_check(int argc, char **argv);
int do_apply(int argc, char **argv);
int do_run(int argc, char **argv);
int do_detach(int argc, char **argv);
int do_status(int argc, char **argv);
/* cmd_stats_prom.c: `stats --format prometheus` of @inst, or of every instance if NULL */
int cli_stats_prom(const char *inst);
int do_stats(int argc, char **argv);
int do_lookup(int argc, char **argv);
int do_dump(int argc, char **argv);
int do_learned(int argc, char **argv);
int do_gc(int argc, char **argv);
/* cmd_fetch.c: `sluice fetch`, and the URL sets of the cache for status */
int do_fetch(int argc, char **argv);
void cli_feeds_status(struct sl_json *j);
int do_plan(int argc, char **argv);
int do_confirm(int argc, char **argv);
int do_verify(int argc, char **argv);
/* cmd_plan.c: the loaded ruleset of @inst (*have false: nothing loaded, 0);
 * -errno (said) if it is loaded but cannot be read. */
int cli_plan_old(const char *inst, struct sl_source *h, struct sl_ruleset *old, bool *have);
/* The loaded ruleset's record, only if it is of the running generation (quiet). */
bool cli_loaded_source(const char *inst, struct sl_source *h, struct sl_ruleset *old);
/* cmd_confirm.c: "90s", "5m", "1h" -> seconds (0: not a duration) */
uint32_t cli_duration(const char *s);
/* apply's report of what changed against @old (NULL: nothing was loaded), loud on mode/policy */
void cli_apply_changes(const struct sl_ruleset *old, const struct sl_ruleset *rs, struct sl_json *j);
/* --confirm: the detached process that rolls back at the deadline; its pid or -errno */
int cli_confirm_watchdog(const char *inst, uint32_t generation, uint64_t deadline);
/* status: the recorded source of @inst (rules file, digest, applied, pending
 * confirmation); returns true if a confirmation window lapsed unperformed */
bool cli_source_show(const char *inst, uint32_t generation, struct sl_json *j);
/* cmd_gc.c: the owner of an instance (sluice-cni's), for status */
void cli_owner_show(const char *inst, struct sl_json *j);
/* att_owner.c: the containers of a shared instance's attachments by record
 * (free() it; NULL: none), and one of them in status/stats (text or JSON keys). */
struct sl_att_owner *cli_att_owners(const char *inst);
void cli_att_owner_show(const struct sl_att_owner *t, uint32_t k, struct sl_json *j);
/* Attachments `sluice status` lists one by one without -v (a summary after). */
#define CLI_STATUS_ATT_LINES 16

#endif
