// SPDX-License-Identifier: GPL-2.0-only
/*
 * intent.c - the pins as a journal (docs/operations.md section 2): an apply
 * pins its whole new generation (next-*, next-config last) before it
 * attaches anything, and writes each new attachment record before the
 * attach call.  Whatever a killed apply or detach left is finished or
 * undone here, under the exclusive instance lock, by the next sluice
 * command that opens the instance.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kernel/journal.h"

/* Pins are listed 256 at a time: an instance has a program pin and a link
 * pin per attachment record, and a few dozen others. */
#define SL_PIN_ROUNDS (2 * SL_MAX_ATTACH / 255 + 4)

bool slk_pin_exists(const char *inst, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/%s", inst, name);
	return access(p, F_OK) == 0;
}

static struct { int fd; __u32 k; } rec = { -1, 0 };

void slk_record_to(int attach_fd, __u32 k)
{
	rec.fd = attach_fd;
	rec.k = k;
}

void slk_note_record(const struct sl_attach *a)
{
	if (rec.fd >= 0 && bpf_map_update_elem(rec.fd, &rec.k, a, BPF_ANY))
		slk_err("map attachments: cannot write record %u: %s", rec.k, strerror(errno));
}

/* Names of the pins of @inst that start with @prefix (NULL: all). */
static size_t list_pins(const char *inst, const char *prefix, char (*out)[64], size_t max)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 64)
			continue;
		if (prefix && strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(out[n++], 64, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static bool dir_exists(const char *inst)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	return access(dir, F_OK) == 0;
}

bool slk_needs_recovery(const char *inst)
{
	char names[4][64];

	if (!dir_exists(inst))
		return false;
	return !slk_pin_exists(inst, "config") || list_pins(inst, "next-", names, 1) > 0;
}

/* Whether a record of the interrupted apply was really attached. */
static bool attached(const char *inst, const struct sl_attach *a)
{
	char name[96];

	if (a->kind == SL_ATT_CLSACT) {
		struct sl_instance in = { .name = "" };

		snprintf(in.name, sizeof(in.name), "%s", inst);
		return a->ifindex && sl_attach_alive(&in, a);
	}
	slk_link_pin_name(name, sizeof(name), a);
	return slk_pin_exists(inst, name);
}

/* Slots the running generation used and the new one does not: zero their counters. */
static void zero_freed(const char *inst)
{
	int ofd = slk_obj_get(inst, "rules"), nfd = slk_obj_get(inst, "next-rules");
	int cfd = slk_obj_get(inst, "counters");

	if (ofd >= 0 && nfd >= 0 && cfd >= 0 && ofd != nfd) {
		/* both tables in two batched reads, not 2 x SL_MAX_SLOTS lookups (~10 ms) */
		struct sl_rule_meta *om = calloc(SL_MAX_SLOTS, sizeof(*om));
		struct sl_rule_meta *nm = calloc(SL_MAX_SLOTS, sizeof(*nm));
		bool have_new = nm && sl_read_rule_meta(nfd, nm) == 0;

		if (om && sl_read_rule_meta(ofd, om) == 0)
			for (__u32 s = 0; s < SL_MAX_SLOTS; s++) {
				if (om[s].action == SL_ACT_NONE)
					continue;
				if (have_new && nm[s].action != SL_ACT_NONE &&
				    strncmp(nm[s].name, om[s].name, SL_NAME_LEN) == 0)
					continue;
				slk_zero_percpu(cfd, s, sizeof(struct sl_rule_ctr));
			}
		free(om);
		free(nm);
	}
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0)
		close(nfd);
	if (cfd >= 0)
		close(cfd);
}

/* Every next-X over X, next-config last (the commit). */
static int rename_all(const char *inst)
{
	char names[256][64];
	size_t n;
	int e = 0, r;

	/* 256 at a time (an instance has up to SL_MAX_ATTACH program pins) */
	for (int round = 0; round < SL_PIN_ROUNDS; round++) {
		n = list_pins(inst, "next-", names, 256);
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(names[i], "next-config"))
				continue;
			if ((r = slk_rename_pin(inst, names[i], names[i] + 5)) && !e)
				e = r;
			sl_fault("apply-renamed");
		}
		if (n < 256)
			break;
	}
	if (slk_pin_exists(inst, "next-config") && (r = slk_rename_pin(inst, "next-config", "config")) && !e)
		e = r;
	return e;
}

int slk_commit(const char *inst)
{
	zero_freed(inst);
	sl_fault("apply-zeroed");
	return rename_all(inst);
}

static int read_records(const char *inst, struct sl_attach *att, int *afd, int *actr)
{
	*afd = slk_obj_get(inst, "attachments");
	*actr = slk_obj_get(inst, "att_counters");
	memset(att, 0, SL_MAX_ATTACH * sizeof(*att));
	if (*afd < 0)
		return -ENOENT;
	return sl_read_attach(*afd, att);
}

/* A target the interrupted apply was asked for and never reached: said
 * loudly, and kept as a NOT-ATTACHED record, so that status shows it too. */
static void not_attached(const char *inst, int afd, __u32 k, struct sl_attach *a)
{
	struct sl_attach keep = {0};

	fprintf(stderr, "sluice: instance %s: the interrupted apply never attached %s %.16s%s%.16s: "
		"traffic there is NOT filtered; apply again to attach it\n", inst, sl_hook_name(a->hook),
		a->hook == SL_HOOK_CGROUP ? a->cgroup : a->ifname, a->netns[0] ? "@" : "", a->netns);
	keep.hook = a->hook;
	keep.dir = a->dir;
	keep.since = a->since;
	memcpy(keep.ifname, a->ifname, sizeof(keep.ifname));
	memcpy(keep.netns, a->netns, sizeof(keep.netns));
	memcpy(keep.cgroup, a->cgroup, sizeof(keep.cgroup));
	*a = keep;
	bpf_map_update_elem(afd, &k, &keep, BPF_ANY);
}

/* Roll forward; returns the number of attachment records left that are attached. */
static size_t roll_forward(const char *inst)
{
	struct sl_attach att[SL_MAX_ATTACH];
	char name[64];
	size_t left = 0;
	int afd, actr;

	if (read_records(inst, att, &afd, &actr) == 0) {
		for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
			bool committed;
			int nfd;

			if (att[k].hook == SL_HOOK_NONE)
				continue;
			slk_prog_pin_name(name, sizeof(name), "", k);
			committed = slk_pin_exists(inst, name);
			slk_prog_pin_name(name, sizeof(name), "next-", k);
			nfd = slk_obj_get(inst, name);
			if (nfd < 0) {
				/* already renamed (committed), or a leftover of nothing */
				if (!att[k].kind) {
					continue;       /* NOT-ATTACHED already */
				} else if (!committed) {
					slk_detach_one(inst, &att[k]);
					slk_forget_record(inst, afd, actr, k);
				} else {
					left++;
				}
				continue;
			}
			if (!committed && !attached(inst, &att[k])) {
				slk_unpin(inst, name);
				not_attached(inst, afd, k, &att[k]);
			} else {
				left++;
				if (slk_switch_attach(inst, &att[k], nfd))
					slk_err("%s: note: attachment %u keeps its previous program", inst, k);
			}
			close(nfd);
		}
	}
	slk_commit(inst);
	if (afd >= 0)
		close(afd);
	if (actr >= 0)
		close(actr);
	return left;
}

static void roll_back(const char *inst)
{
	struct sl_attach att[SL_MAX_ATTACH];
	char names[256][64], name[64];
	size_t n;
	int afd, actr;

	slk_unpin(inst, "next-config");     /* first: nothing may roll this forward any more */
	if (read_records(inst, att, &afd, &actr) == 0) {
		for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
			int ofd;

			if (att[k].hook == SL_HOOK_NONE)
				continue;
			slk_prog_pin_name(name, sizeof(name), "", k);
			ofd = slk_obj_get(inst, name);
			if (ofd < 0) {          /* a record of the apply that is undone */
				slk_detach_one(inst, &att[k]);
				slk_forget_record(inst, afd, actr, k);
				continue;
			}
			slk_prog_pin_name(name, sizeof(name), "next-", k);
			if (slk_pin_exists(inst, name))
				slk_switch_attach(inst, &att[k], ofd);
			close(ofd);
		}
	}
	for (int round = 0; round < SL_PIN_ROUNDS; round++) {
		n = list_pins(inst, "next-", names, 256);
		for (size_t i = 0; i < n; i++)
			slk_unpin(inst, names[i]);
		if (n < 256)
			break;
	}
	if (afd >= 0)
		close(afd);
	if (actr >= 0)
		close(actr);
}

int slk_remove_all(const char *inst)
{
	struct sl_attach att[SL_MAX_ATTACH];
	char names[256][64], dir[PATH_MAX];
	int afd, actr, removed = 0, swept, perm = 0;
	size_t n;

	if (read_records(inst, att, &afd, &actr) == 0)
		for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
			int r;

			if (att[k].hook == SL_HOOK_NONE)
				continue;
			if ((r = slk_detach_one(inst, &att[k])) == 0)
				removed++;
			else if (r == -EPERM)
				perm = r;
			sl_fault("detach-one");
		}
	if (afd >= 0)
		close(afd);
	if (actr >= 0)
		close(actr);
	/* without the privilege to remove a filter (CAP_NET_ADMIN) the pins stay,
	 * so that a detach that has it finds and removes what still filters */
	if (perm) {
		slk_err("%s: not removed: a filter of it could not be removed without the privilege "
			"(CAP_NET_ADMIN); the instance keeps filtering", inst);
		return perm;
	}
	/* links: unpinned below (the last reference); clsact filters by handle */
	swept = slk_clsact_sweep(inst, true);
	if (swept > 0) {
		fprintf(stderr, "sluice: %s: removed %d clsact filter%s that no record named\n", inst,
			swept, swept == 1 ? "" : "s");
		removed += swept;
	}
	for (int round = 0; round < SL_PIN_ROUNDS; round++) {
		n = list_pins(inst, NULL, names, 256);
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(names[i], "detaching"))
				continue;
			slk_unpin(inst, names[i]);
			sl_fault("detach-unpin");
		}
		if (n < 256)
			break;
	}
	slk_unpin(inst, "detaching");   /* the detach's intent goes last */
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	if (rmdir(dir) && errno != ENOENT) {
		int e = -errno;
		slk_err("%s: cannot remove: %s", dir, strerror(-e));
		return e;
	}
	rmdir(SL_PIN_ROOT);     /* only if empty */
	return removed;
}

int slk_recover(const char *inst)
{
	char names[4][64];
	bool ready, partial;
	int r;

	if (!dir_exists(inst))
		return 0;
	ready = slk_pin_exists(inst, "next-config");
	partial = list_pins(inst, "next-", names, 1) > 0;
	if (ready) {
		fprintf(stderr, "sluice: instance %s: an apply was interrupted after it prepared its "
			"generation; finishing it\n", inst);
		if (roll_forward(inst) == 0) {
			fprintf(stderr, "sluice: instance %s: the interrupted apply attached nothing (nothing "
				"it was asked for is filtered); removing the instance\n", inst);
			r = slk_remove_all(inst);
			return r < 0 ? r : 0;
		}
	} else if (partial) {
		fprintf(stderr, "sluice: instance %s: an apply was interrupted before it prepared its "
			"generation; undoing it\n", inst);
		roll_back(inst);
	}
	if (!slk_pin_exists(inst, "config") && list_pins(inst, NULL, names, 2) == 1 &&
	    slk_pin_exists(inst, "owner"))
		return 0;       /* recorded by sluice-cni before its first apply: nothing attached yet */
	if (!slk_pin_exists(inst, "config") && slk_pin_exists(inst, "detaching")) {
		fprintf(stderr, "sluice: instance %s: a detach was interrupted; finishing it\n", inst);
		r = slk_remove_all(inst);
		return r < 0 ? r : 0;
	}
	if (!slk_pin_exists(inst, "config") && list_pins(inst, "prog-", names, 1) == 0) {
		fprintf(stderr, "sluice: instance %s: no generation was ever committed (an interrupted "
			"first apply); removing what it left\n", inst);
		r = slk_remove_all(inst);
		return r < 0 ? r : 0;
	}
	if (!slk_pin_exists(inst, "config")) {
		/* a committed instance that lost its config pin (removed by hand, a
		 * tool cleaning bpffs): its programs still filter.  Nothing proves
		 * that nothing enforces, so nothing is removed (docs/operations.md). */
		fprintf(stderr, "sluice: instance %s: %s/%s/config is missing, but a generation was "
			"committed and its attachments still run sluice's programs: traffic is still "
			"filtered; nothing was removed. Repair with: sluice apply FILE --instance %s; or "
			"remove with: sluice detach --all --instance %s\n", inst, SL_PIN_ROOT, inst, inst,
			inst);
		return -EUCLEAN;
	}
	return 0;
}
