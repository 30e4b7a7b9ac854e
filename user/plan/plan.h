/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * plan.h - user/plan/: what an apply would change (DESIGN.md §5 "Changes
 * over time").  Pure: no syscalls.  Two pieces:
 *   blob.c  a resolved ruleset as bytes and back (what an instance records
 *           of the ruleset it runs: its "source" pin, kernel/source.c), so
 *           that the old side of a plan and a rollback come from the pins;
 *   diff.c  the difference of two rulesets: rules added, removed, moved,
 *           changed (action, protocols and ports, `log;`), per rule the
 *           destinations added and removed, policy, mode and settings,
 *           which counters carry over (by rule name, as apply keeps them);
 *   print.c the plan as text, as a one-line summary, and as JSON.
 * Functions return 0 or a negative errno.
 */
#ifndef SL_PLAN_H
#define SL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sl.h"
#include "util/json.h"

/* ---------------------------------------------------------------- blob.c */

#define SL_BLOB_MAGIC   0x534c5253u     /* "SLRS" */
#define SL_BLOB_VERSION 1

/* @rs as bytes (*out malloc'ed, *len bytes). */
int sl_plan_blob(const struct sl_ruleset *rs, uint8_t **out, size_t *len);
/* The ruleset back from sl_plan_blob's bytes; -EINVAL if they are not that
 * (positions name the file @origin, line 0).  Free with sl_ruleset_free. */
int sl_plan_unblob(const void *buf, size_t len, const char *origin, struct sl_ruleset *rs);

/* ---------------------------------------------------------------- diff.c */

enum sl_plan_kind { SL_PK_SAME = 0, SL_PK_ADDED, SL_PK_REMOVED, SL_PK_CHANGED };

struct sl_plan_rule {
	const char *name;               /* in the ruleset it comes from */
	enum sl_plan_kind kind;
	int old_index, new_index;       /* position in each ruleset, -1 if absent */
	bool moved;                     /* in both, first-match order changed */
	bool action_changed, lines_changed, log_changed;
	const struct sl_rule *old, *new;        /* NULL if absent */
	const struct sl_cidr **dadd, **ddel;    /* destinations added / removed */
	size_t ndadd, nddel;
	const struct sl_host **hadd, **hdel;    /* host names added / removed */
	size_t nhadd, nhdel;
};

struct sl_plan {
	bool have_old;                  /* false: nothing loaded (everything added) */
	int old_policy, new_policy;     /* enum sl_policy */
	int old_mode, new_mode;         /* enum sl_mode */
	char settings[256];             /* other statements that changed: "control, log rate" */
	struct sl_plan_rule *rules;     /* new order, then the removed ones in old order */
	size_t nrules;
	size_t nadded, nremoved, nchanged, nmoved, nkept;       /* kept: counters carried over */
	size_t ndst_added, ndst_removed;        /* destinations (CIDRs and names) over every rule */
	bool changes;                   /* anything at all */
};

/* The plan from @old (NULL: nothing loaded) to @new.  Both must outlive @p. */
int sl_plan_diff(const struct sl_ruleset *old, const struct sl_ruleset *new, struct sl_plan *p);
void sl_plan_free(struct sl_plan *p);

/* --------------------------------------------------------------- print.c */

/* "protocols and ports" of a rule as written: "tcp 443, 8801-8802; udp any". */
void sl_plan_lines_str(const struct sl_rule *r, char *buf, size_t sz);
/* One line: "2 rules added, 1 removed, 1 changed (+12/-3 destinations); mode audit -> enforce". */
void sl_plan_summary(const struct sl_plan *p, char *buf, size_t sz);
/* The plan for people; at most @max entries listed per rule and direction (0: all). */
void sl_plan_print(const struct sl_plan *p, FILE *out, size_t max);
/* The plan's keys into an open JSON object (docs/operations.md "plan"). */
void sl_plan_json(const struct sl_plan *p, struct sl_json *j);
/* Whether the plan changes the mode or the policy (apply says so loudly). */
bool sl_plan_loud(const struct sl_plan *p);

#endif
