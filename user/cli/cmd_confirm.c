// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_confirm.c - apply --confirm DURATION and sluice confirm (the way back,
 * kernel/confirm.c): the watchdog apply leaves behind, the command that
 * keeps a generation, what apply and status say about changes and a
 * pending confirmation.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "plan/plan.h"

#define SL_CONFIRM_LOG_DIR "/run/sluice"

uint32_t cli_duration(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	unsigned long mul = 1;

	if (!*s || end == s || v == 0)
		return 0;
	if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (*end && strcmp(end, "s"))
		return 0;
	if (v > 86400 / mul)
		return 0;
	return (uint32_t)(v * mul);
}

static void fmt_time(uint64_t t, char *buf, size_t sz)
{
	time_t tt = (time_t)t;

	strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
}

void cli_apply_changes(const struct sl_ruleset *old, const struct sl_ruleset *rs, struct sl_json *j)
{
	struct sl_plan p;
	char line[512];

	if (sl_plan_diff(old, rs, &p))
		return;
	sl_plan_summary(&p, line, sizeof(line));
	if (j) {
		sl_json_kstr(j, "changes", line);
		sl_json_kbool(j, "mode_changed", p.have_old && p.old_mode != p.new_mode);
		sl_json_kbool(j, "policy_changed", p.have_old && p.old_policy != p.new_policy);
	} else {
		printf("sluice: changes: %s\n", line);
	}
	if (p.have_old && p.old_mode != p.new_mode)
		fprintf(stderr, "sluice: !!! MODE CHANGED: %s -> %s%s\n",
			cli_mode_name(p.old_mode), cli_mode_name(p.new_mode),
			p.new_mode == SL_MODE_ENFORCE ? ": would-be drops are now REAL DROPS (calls can break; "
			"watch sluice stats / sluice log)" : ": nothing is dropped any more, only counted");
	if (p.have_old && p.old_policy != p.new_policy)
		fprintf(stderr, "sluice: !!! POLICY CHANGED: %s -> %s%s\n",
			cli_policy_name(p.old_policy), cli_policy_name(p.new_policy),
			p.new_policy == SL_POLICY_DROP ? ": what no rule allows is now dropped" :
			": what no rule denies now passes");
	sl_plan_free(&p);
}

/* The watchdog, in its own session with no descriptor of the caller: it
 * sleeps until the deadline and rolls back if the generation is still
 * unconfirmed.  Its lines go to SL_CONFIRM_LOG_DIR/<inst>.confirm.log and syslog. */
static void watchdog(const char *inst, uint32_t generation, uint64_t deadline)
{
	struct timespec ts = { .tv_sec = (time_t)deadline, .tv_nsec = 200000000 };
	char logp[128];
	uint32_t gen;
	int fd, r;

	setsid();
	signal(SIGHUP, SIG_IGN);
	for (int f = 0; f < 1024; f++)
		close(f);
	fd = open("/dev/null", O_RDWR);         /* 0 */
	if (fd == 0)
		r = dup(0);                     /* 1 */
	snprintf(logp, sizeof(logp), SL_CONFIRM_LOG_DIR "/%s.confirm.log", inst);
	mkdir(SL_CONFIRM_LOG_DIR, 0700);
	if (open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) < 0)
		r = dup(0);                     /* 2 */
	(void)r;
	openlog("sluice", LOG_PID, LOG_DAEMON);
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	{
		char now[32];

		fmt_time((uint64_t)time(NULL), now, sizeof(now));
		fprintf(stderr, "%s sluice: %s: the confirmation deadline of generation %u\n", now, inst,
			generation);
	}
	r = sl_rollback_due(inst, &gen);
	if (r == 0)
		fprintf(stderr, "sluice: %s: generation %u was confirmed or replaced: nothing to roll back\n",
			inst, generation);
	if (r > 0)
		syslog(LOG_WARNING, "instance %s: generation %u not confirmed by its deadline: rolled back%s",
		       inst, generation, gen ? "" : " (detached: nothing ran before it)");
	else if (r < 0)
		syslog(LOG_ERR, "instance %s: rollback of unconfirmed generation %u failed: %s", inst,
		       generation, strerror(-r));
	_exit(r < 0 ? 1 : 0);
}

int cli_confirm_watchdog(const char *inst, uint32_t generation, uint64_t deadline)
{
	/* returns its pid */
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		watchdog(inst, generation, deadline);
	return pid;
}

bool cli_source_show(const char *inst, uint32_t generation, struct sl_json *j)
{
	struct sl_source h;
	char at[32], dl[32];
	uint64_t now = (uint64_t)time(NULL);
	bool lapsed;
	int e = sl_source_read(inst, false, &h, NULL);

	if (!e && h.generation != generation)
		e = -ESTALE;    /* written for another generation (an older sluice applied since) */
	if (e) {
		if (j) {
			sl_json_kstr(j, "rules_file", NULL);
			sl_json_kstr(j, "digest", NULL);
			sl_json_kstr(j, "applied_at", NULL);
			sl_json_kstr(j, "pending_confirm", NULL);
		}
		return false;
	}
	lapsed = h.confirm_deadline && now >= h.confirm_deadline;
	fmt_time(h.applied_at, at, sizeof(at));
	fmt_time(h.confirm_deadline, dl, sizeof(dl));
	if (j) {
		char dg[24];

		snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)h.digest);
		sl_json_kstr(j, "rules_file", h.path[0] ? h.path : NULL);
		sl_json_kstr(j, "digest", dg);
		sl_json_kstr(j, "applied_at", at);
		sl_json_kstr(j, "pending_confirm", h.confirm_deadline ? dl : NULL);
		sl_json_kbool(j, "confirm_lapsed", lapsed);
		if (h.rolled_back_at) {
			fmt_time(h.rolled_back_at, at, sizeof(at));
			sl_json_key(j, "rolled_back");
			sl_json_obj_open(j);
			sl_json_ku64(j, "generation", h.rolled_back_of);
			sl_json_kstr(j, "at", at);
			sl_json_obj_close(j);
		}
	} else {
		printf("  rules %s, digest %016llx, applied %s\n", h.path[0] ? h.path : "(file not recorded)",
		       (unsigned long long)h.digest, at);
		if (h.confirm_deadline && !lapsed)
			printf("  PENDING CONFIRMATION: rolls back at %s (in %llus) unless `sluice confirm%s%s` "
			       "runs first\n", dl, (unsigned long long)(h.confirm_deadline - now),
			       strcmp(inst, "default") ? " --instance " : "", strcmp(inst, "default") ? inst : "");
		if (h.rolled_back_at) {
			fmt_time(h.rolled_back_at, at, sizeof(at));
			printf("  rolled back at %s: generation %u was not confirmed in time\n", at,
			       h.rolled_back_of);
		}
	}
	if (lapsed)
		fprintf(stderr, "sluice: instance %s: !!! CONFIRM WINDOW LAPSED at %s and generation %u is "
			"still running: ROLLBACK PENDING (its watchdog is gone; sluice run or sluice confirm "
			"performs it)\n", inst, dl, h.generation);
	return lapsed;
}

int do_confirm(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("confirm");
	const char *inst = "default";
	struct sl_source h;
	uint32_t gen;
	int ch, e;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind != argc)
		return cli_usage_error(c, "no arguments expected");
	if (!cli_need_root())
		return EXIT_RUNTIME;
	e = sl_confirm(inst, &h);
	if (e == -ETIME) {
		/* too late: the rollback is due; do it now rather than leave it pending */
		int r = sl_rollback_due(inst, &gen);

		fprintf(stderr, "sluice: instance %s: the confirmation window of generation %u had lapsed: "
			"%s\n", inst, h.generation, r > 0 ? (gen ? "rolled back to the previous rules now" :
			"detached now (nothing ran before it)") : r == 0 ? "it was already rolled back" :
			"the rollback failed (see above)");
	} else if (e == -ENOENT) {
		fprintf(stderr, "sluice: instance %s: nothing is pending confirmation\n", inst);
	} else if (e) {
		fprintf(stderr, "sluice: instance %s: cannot confirm: %s\n", inst, strerror(-e));
	} else if (!cli_json) {
		printf("sluice: instance %s: generation %u confirmed; it stays\n", inst, h.generation);
	}
	if (cli_json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kbool(&j, "confirmed", e == 0);
		sl_json_kstr(&j, "instance", inst);
		sl_json_ku64(&j, "generation", h.generation);
		sl_json_kstr(&j, "reason", e == 0 ? "confirmed" : e == -ETIME ? "lapsed" :
			     e == -ENOENT ? "nothing pending" : strerror(-e));
		sl_json_obj_close(&j);
		sl_json_end(&j);
	}
	return e ? EXIT_RUNTIME : 0;
}
