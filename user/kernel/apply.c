// SPDX-License-Identifier: GPL-2.0-only
/*
 * apply.c - sl_apply: a new generation next to the running one, then one atomic switch
 */
#include "kernel/journal.h"

/*
 * Stable slots: a rule keeps the slot its name had; new names take slots
 * that are free in the running generation (so the running program never
 * counts into a slot that now means another rule).  There are twice as many
 * slots as rules, so that a full ruleset always fits beside a full running
 * one; the commit frees the old generation's (docs/operations.md section 4).
 */
static int slk_assign_slots(const struct sl_ruleset *rs, const struct sl_rule_meta *meta,
			uint16_t *slots)
{
	static unsigned char used[SL_MAX_SLOTS];
	size_t next = 0;

	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < rs->nrules; i++) {
		slots[i] = SL_NO_RULE;
		if (!meta)
			continue;
		for (size_t s = 0; s < SL_MAX_SLOTS; s++) {
			if (meta[s].action != SL_ACT_NONE &&
			    strncmp(meta[s].name, rs->rules[i].name, SL_NAME_LEN) == 0) {
				slots[i] = s;
				used[s] = 1;
				break;
			}
		}
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		if (slots[i] != SL_NO_RULE)
			continue;
		while (next < SL_MAX_SLOTS && (used[next] || (meta && meta[next].action != SL_ACT_NONE)))
			next++;
		if (next >= SL_MAX_SLOTS) {     /* cannot happen: 2 x SL_MAX_RULES slots */
			slk_err("internal error: no free counter slot for rule '%s'", rs->rules[i].name);
			return -ENOSPC;
		}
		slots[i] = next;
		used[next] = 1;
	}
	return 0;
}

/* The named targets of this apply, as attachment records to look for. */
static size_t slk_targets(const struct sl_apply_opts *o, struct sl_attach *t, size_t max)
{
	size_t n = 0;

	if (o->hook == SL_HOOK_CGROUP) {
		char abs[PATH_MAX];

		if (o->cgroup && n < max) {
			memset(&t[n], 0, sizeof(t[n]));
			t[n].hook = SL_HOOK_CGROUP;
			t[n].dir = o->dir;
			if (slk_cgroup_resolve(o->cgroup, abs, sizeof(abs), t[n].cgroup, sizeof(t[n].cgroup)) == 0)
				n++;
		}
		return n;
	}
	for (size_t d = 0; d < o->ndevs && n < max; d++) {
		memset(&t[n], 0, sizeof(t[n]));
		t[n].hook = o->hook;
		t[n].dir = o->dir;
		snprintf(t[n].ifname, sizeof(t[n].ifname), "%s", o->devs[d]);
		snprintf(t[n].netns, sizeof(t[n].netns), "%s", o->netns ? o->netns : "");
		n++;
	}
	return n;
}

static bool slk_same_target(const struct sl_attach *a, const struct sl_attach *t)
{
	if (a->hook != t->hook)
		return false;
	if (a->hook == SL_HOOK_CGROUP)     /* egress and ingress are two attach points */
		return a->dir == t->dir && strncmp(a->cgroup, t->cgroup, SL_CGPATH_LEN) == 0;
	return strncmp(a->ifname, t->ifname, SL_IFNAME_LEN) == 0 &&
	       strncmp(a->netns, t->netns, SL_IFNAME_LEN) == 0;
}

/* The generation's maps, pinned as next-<name> and renamed over <name> by the
 * commit; config last: next-config pinned means "prepared" (docs/operations.md). */
static const char *const gen_maps[] = {
	"dst4", "dst6", "ports", "names", "wilds", "nclass", "resolvers", "learn_cfg",
	"classes", "dir16", "dir8", "dir6", "node6",
	"rules", "host_addrs", "config",
};

/* One apply: the running instance, the new generation, the attachments. */
struct apply {
	const struct sl_ruleset *rs;
	const struct sl_apply_opts *o;
	struct sl_apply_report *rep;
	const char *inst;
	struct sl_instance cur;                 /* the running generation */
	bool have;                              /* there is one */
	struct sl_rule_meta *meta;              /* its rules by slot */
	uint16_t *slots;                        /* the new rules' slots */
	struct sl_attach att[SL_MAX_ATTACH];    /* attachment records, then the new ones */
	struct sl_attach want[2 * SL_MAX_DEVS]; /* the targets named, + DNS learners */
	size_t nwant;
	struct slk_groups grp;                  /* records sharing a program */
	__u32 nslots;                           /* counter slots of the instance */
	struct sluice_bpf *progs[SL_MAX_ATTACH];        /* one per group */
	bool is_new[SL_MAX_ATTACH], switched[SL_MAX_ATTACH];
	struct sl_image img;
	struct sluice_bpf *skel;                /* the new generation's maps */
	struct sl_reuse reuse;
	struct slk_mig mig;                     /* kept maps an older layout had in another shape */
	int attach_fd, actr_fd;
	double t0;
};

/*
 * SL_AF_* of record @k: ingress-side hooks pass traffic to the host unless
 * "host filter;"; TC egress beside ingress attachments counts only locally
 * originated packets in the rule totals (a forwarded one was counted where
 * it entered; docs/operations.md section 9).
 */
static __u32 att_flags(const struct sl_ruleset *rs, const struct sl_attach *att, __u32 k)
{
	__u32 f = 0;

	/* outbound attachments only: an inbound one judges what arrives, to the host too */
	if ((att[k].hook == SL_HOOK_XDP || att[k].hook == SL_HOOK_TC_INGRESS) &&
	    att[k].dir != SL_DIR_IN && rs->host_pass)
		f |= SL_AF_HOST;
	if (att[k].hook == SL_HOOK_TC_EGRESS && att[k].dir != SL_DIR_IN)
		for (size_t j = 0; j < SL_MAX_ATTACH; j++)
			if ((att[j].hook == SL_HOOK_XDP || att[j].hook == SL_HOOK_TC_INGRESS) &&
			    att[j].dir != SL_DIR_IN)
				f |= SL_AF_COUNT_LOCAL;
	return f;
}

/* Refuse a second sluice on a hook, unless stacking was asked for. */
static int check_stack(const char *inst, const struct sl_apply_opts *o, const struct sl_attach *t)
{
	const char *where = t->hook == SL_HOOK_CGROUP ? t->cgroup : t->ifname;
	char who[128];

	if (!slk_hook_taken(inst, t, who, sizeof(who)))
		return 0;
	if (o->allow_stack) {
		fprintf(stderr, "sluice: %s: note: %s already filters here; both run (a packet passes "
			"only if both allow it)\n", where, who);
		return 0;
	}
	slk_err("%s: %s already filters %s here; two sluice instances on one hook both judge every "
		"packet (a packet passes only if both allow it); detach it (sluice detach --instance ...) "
		"or pass --allow-stack", where, who, sl_hook_name(t->hook));
	return -EEXIST;
}

/* The options, before anything is touched. */
static int check_opts(const char *inst, const struct sl_apply_opts *o)
{
	if (!slk_valid_instance(inst)) {
		slk_err("'%s' is not an instance name ([a-z0-9][a-z0-9_-]*, at most %d characters)",
			inst, SL_INST_LEN);
		return -EINVAL;
	}
	if (o->ndevs > SL_MAX_DEVS) {
		slk_err("at most %d --dev per apply", SL_MAX_DEVS);
		return -E2BIG;
	}
	for (size_t d = 0; d < o->ndevs; d++)
		if (strlen(o->devs[d]) >= SL_IFNAME_LEN) {
			slk_err("%s: no such interface (names are at most %d characters)", o->devs[d],
				SL_IFNAME_LEN - 1);
			return -ENODEV;
		}
	if (o->netns && strlen(o->netns) >= SL_IFNAME_LEN) {
		slk_err("%s: network namespace names used with sluice are at most %d characters",
			o->netns, SL_IFNAME_LEN - 1);
		return -EINVAL;
	}
	if (o->dir == SL_DIR_IN && o->hook != SL_HOOK_TC_INGRESS && o->hook != SL_HOOK_XDP &&
	    o->hook != SL_HOOK_CGROUP) {
		slk_err("--direction inbound judges traffic arriving: use it with --hook tc-ingress, "
			"xdp or cgroup, not %s", sl_hook_name(o->hook));
		return -EINVAL;
	}
	return 0;
}

/* The running generation, if any (-EIO: its pins are broken). */
static int open_current(struct apply *a)
{
	int e = slk_instance_open_raw(a->inst, &a->cur);      /* lock held, recovered */

	if (e == 0)
		a->have = true;
	else if (e == -EIO || e == -EPROTO)
		return e;       /* broken pins; a layout this sluice must not touch */
	else
		slk_instance_init(&a->cur);     /* a fresh instance; leftovers of a crashed first apply are harmless */
	return 0;
}

static __u32 map_entries(int fd)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &len) ? mi.max_entries : 0;
}

static void drop_fd(int *cur, int *reuse)
{
	if (*cur >= 0)
		close(*cur);
	*cur = *reuse = -1;
}

/* The learning state of a generation without host names is minimal
 * (load.c): the first apply with names makes it anew (the pins replaced).
 * A kept "learned" of full size (it had names once, or a migrated
 * instance) stays; a minimal bloom or ring map beside it is made anew,
 * the bloom seeded from "learned" (fill.c). */
static void learn_anew(struct apply *a)
{
	struct sl_instance *c = &a->cur;
	struct sl_reuse *r = &a->reuse;
	__u32 n = map_entries(c->learned_fd);

	if (n && n <= SL_LEARN_IDLE_ENTRIES) {
		drop_fd(&c->learned_fd, &r->learned_fd);
		drop_fd(&c->pending_fd, &r->pending_fd);
		drop_fd(&c->name_ring_fd, &r->name_ring_fd);
		if (r->fallback_fd >= 0)
			close(r->fallback_fd);
		r->fallback_fd = -1;
	}
	if (c->name_rings_fd >= 0 && map_entries(c->name_rings_fd) < SL_NAME_RINGS)
		drop_fd(&c->name_rings_fd, &r->name_rings_fd);
	if (c->learn_bloom_fd >= 0 && map_entries(c->learn_bloom_fd) < SL_BLOOM_WORDS)
		drop_fd(&c->learn_bloom_fd, &r->learn_bloom_fd);
}

/* Counter slots: an instance sized to its rules (sl_apply_opts.size_to_rules)
 * keeps its size; its slots must fit (else it is made again). */
static int slot_room(struct apply *a)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);

	a->nslots = SL_MAX_SLOTS;
	if (a->have && bpf_obj_get_info_by_fd(a->cur.counters_fd, &mi, &len) == 0 && mi.max_entries)
		a->nslots = mi.max_entries;
	else if (!a->have && a->o->size_to_rules && SL_SLOTS_FOR(a->rs->nrules) < SL_MAX_SLOTS)
		a->nslots = SL_SLOTS_FOR(a->rs->nrules);
	for (size_t i = 0; i < a->rs->nrules; i++)
		if (a->slots[i] >= a->nslots) {
			slk_err("instance %s has counters for %u rule slots, made for a smaller ruleset; "
				"remove it (sluice detach --all --instance %s) and apply again", a->inst,
				a->nslots, a->inst);
			return -ENOSPC;
		}
	return 0;
}

/* A rollback (confirm.c) applies only over the generation it rolls back,
 * still unconfirmed: a confirm or another apply in between wins. */
static int check_rollback(struct apply *a)
{
	struct sl_source h;

	if (!a->o->rollback_of)
		return 0;
	if (!a->have || slk_source_read_raw(a->inst, false, &h, NULL) || h.generation != a->o->rollback_of ||
	    !h.confirm_deadline || a->cur.cfg.generation != a->o->rollback_of)
		return -ESTALE;
	return 0;
}

/* Stage 1, the plan: what runs now, stable slots, the new image. */
static int plan(struct apply *a)
{
	const struct sl_instance *cur = &a->cur;
	int e;

	a->slots = calloc(a->rs->nrules ? a->rs->nrules : 1, sizeof(*a->slots));
	a->meta = calloc(SL_MAX_SLOTS, sizeof(*a->meta));
	if (!a->slots || !a->meta)
		return -ENOMEM;
	if (a->have) {
		if ((e = sl_read_rule_meta(cur->rules_fd, a->meta)) || (e = sl_read_attach(cur->attach_fd, a->att))) {
			slk_err("%s/%s: cannot read the running instance: %s", SL_PIN_ROOT, a->inst, strerror(-e));
			return e;
		}
		a->reuse.counters_fd = cur->counters_fd;
		a->reuse.globals_fd = cur->globals_fd;
		a->reuse.attach_fd = cur->attach_fd;
		a->reuse.att_ctr_fd = cur->att_ctr_fd;
		a->reuse.learned_fd = cur->learned_fd;
		a->reuse.name_ring_fd = cur->name_ring_fd;
		a->reuse.name_rings_fd = cur->name_rings_fd;
		a->reuse.pending_fd = cur->pending_fd;
		a->reuse.learn_ctr_fd = cur->learn_ctr_fd;
		a->reuse.learn_live_fd = cur->learn_live_fd;
		a->reuse.learn_bloom_fd = cur->learn_bloom_fd;
		a->reuse.fallback_fd = slk_obj_get(a->inst, "dns_fallback");   /* kept, like learned */
		a->reuse.events_fd = slk_obj_get(a->inst, "events");  /* kept: readers survive applies */
		a->reuse.ev_ctr_fd = slk_obj_get(a->inst, "ev_ctr");
	}
	slk_mig_plan(cur, a->have, &a->reuse, &a->mig);
	if ((e = slk_assign_slots(a->rs, a->have ? a->meta : NULL, a->slots)) || (e = slot_room(a)))
		return e;
	e = sl_compile(a->rs, a->slots, a->have ? cur->cfg.generation + 1 : 1, &a->img);
	if (e) {
		slk_err("cannot compile the ruleset: %s", strerror(-e));
		return e;
	}
	if (a->img.nnames && a->have)
		learn_anew(a);
	a->rep->generation = a->img.cfg.generation;
	return 0;
}

/* Slots of names new in the ruleset start from zero (a rolled-back apply may have counted there). */
static void zero_new_slots(struct apply *a)
{
	int cfd = bpf_map__fd(a->skel->maps.counters);

	if (!a->have)
		return;
	for (size_t i = 0; i < a->rs->nrules; i++)
		if (a->meta[a->slots[i]].action == SL_ACT_NONE)
			slk_zero_percpu(cfd, a->slots[i], sizeof(struct sl_rule_ctr));
}

/* Stage 2, load: the generation's maps (no program: each group of attachments gets its own). */
static int load_maps(struct apply *a)
{
	struct sl_learn_opts lopt;
	int e;

	a->t0 = slk_now_ms();
	sl_learn_opts_default(&lopt);
	if (a->rs->nresolvers) {
		lopt.resolvers = a->rs->resolvers;
		lopt.nresolvers = a->rs->nresolvers;
	}
	if (a->o->dns_floor_s)
		lopt.ttl_floor_s = a->o->dns_floor_s;
	if (a->o->dns_grace_s)
		lopt.grace_s = a->o->dns_grace_s;
	sl_bpf_learn_opts(&lopt);
	sl_bpf_events_kib(a->o->events_kib);
	sl_bpf_slots(a->nslots < SL_MAX_SLOTS ? a->nslots : 0);
	e = sl_bpf_load_progs(&a->img, false, &a->reuse, 0, &a->skel);
	sl_bpf_slots(0);
	sl_bpf_events_kib(0);
	sl_bpf_learn_opts(NULL);
	return e;
}

/* Host names: the DNS learner goes on TC ingress of every TC egress
 * interface (where the answers to its queries come back). */
static void want_learners(struct apply *a)
{
	size_t nw = a->nwant;

	for (size_t w = 0; w < nw; w++)
		if (a->want[w].hook == SL_HOOK_TC_EGRESS) {
			a->want[a->nwant] = a->want[w];
			a->want[a->nwant++].hook = SL_HOOK_DNS;
		}
	for (size_t k = 0; k < SL_MAX_ATTACH && a->nwant < 2 * SL_MAX_DEVS; k++) {
		struct sl_attach t, *n = &a->want[a->nwant];

		if (a->att[k].hook != SL_HOOK_TC_EGRESS)
			continue;
		t = a->att[k];
		t.hook = SL_HOOK_DNS;
		*n = t;
		memset(&n->kind, 0, sizeof(*n) - offsetof(struct sl_attach, kind));
		snprintf(n->ifname, SL_IFNAME_LEN, "%s", a->att[k].ifname);
		snprintf(n->netns, SL_IFNAME_LEN, "%s", a->att[k].netns);
		a->nwant++;
	}
}

/* Stage 3, the records: dead ones forgotten, new targets in free ones. */
static int plan_records(struct apply *a)
{
	int e;

	a->attach_fd = bpf_map__fd(a->skel->maps.attachments);
	a->actr_fd = bpf_map__fd(a->skel->maps.att_counters);
	/* an interface named by its new name: its record takes it (restore.c) */
	for (size_t w = 0; a->have && w < a->nwant; w++)
		if ((e = slk_adopt_renamed(a->inst, &a->cur, a->att, &a->want[w], a->attach_fd)))
			return e;
	if (a->img.nnames)
		want_learners(a);
	zero_new_slots(a);

	/* Records whose interface, cgroup or link went away are forgotten. */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (a->att[k].hook != SL_HOOK_NONE && !sl_attach_alive(&a->cur, &a->att[k])) {
			fprintf(stderr, "sluice: %s: note: the %s attachment on %s is gone (interface, "
				"cgroup or link removed); its record is dropped\n", a->inst,
				sl_hook_name(a->att[k].hook), a->att[k].hook == SL_HOOK_CGROUP ?
				a->att[k].cgroup : a->att[k].ifname);
			slk_forget_record(a->inst, a->attach_fd, a->actr_fd, k);
			memset(&a->att[k], 0, sizeof(a->att[k]));
		}
	/* New targets take free records. */
	for (size_t w = 0; w < a->nwant; w++) {
		size_t k;
		bool found = false;

		for (k = 0; k < SL_MAX_ATTACH && !found; k++)
			found = a->att[k].hook != SL_HOOK_NONE && slk_same_target(&a->att[k], &a->want[w]);
		if (found && a->att[k - 1].dir != a->want[w].dir) {
			/* a typo must not turn an inbound filter into an outbound one */
			slk_err("%s: %s is attached %s; give --direction %s, or detach it first to "
				"change its direction", a->want[w].ifname, sl_hook_name(a->want[w].hook),
				a->att[k - 1].dir == SL_DIR_IN ? "inbound" : "outbound",
				a->att[k - 1].dir == SL_DIR_IN ? "inbound" : "outbound");
			return -EEXIST;
		}
		if (found)
			continue;
		if ((e = check_stack(a->inst, a->o, &a->want[w])))
			return e;
		for (k = 0; k < SL_MAX_ATTACH && a->att[k].hook != SL_HOOK_NONE; k++)
			;
		if (k == SL_MAX_ATTACH) {
			slk_err("instance %s already has %d attachments", a->inst, SL_MAX_ATTACH);
			return -ENOSPC;
		}
		a->att[k] = a->want[w];
		a->att[k].since = time(NULL);
		a->is_new[k] = true;
	}
	return 0;
}

/* The program of record @k (its group's). */
static int prog_fd(const struct apply *a, __u32 k)
{
	return slk_skel_prog_fd(a->progs[a->grp.of[k] - 1], &a->att[k]);
}

/* Stage 4: one program instance per group of records (group.c), sharing the
 * maps, pinned as next-prog-<k> for each record k it serves. */
static int load_att_progs(struct apply *a)
{
	__u32 flags[SL_MAX_ATTACH] = {0};
	char name[96];
	int e;

	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (a->att[k].hook != SL_HOOK_NONE)
			flags[k] = att_flags(a->rs, a->att, k);
	slk_group_records(a->att, flags, a->o->join, &a->grp);
	if ((e = slk_ifx_fill(bpf_map__fd(a->skel->maps.att_ifx), a->att, &a->grp)))
		return e;
	for (__u32 n = 0; n < a->grp.ngrp; n++) {
		__u32 k = a->grp.first[n];

		if ((e = slk_load_att_prog(&a->img, a->skel, slk_group_index(&a->grp, a->att, n),
					   a->grp.base[n], a->grp.mask[n], &a->att[k], flags[k], &a->progs[n])))
			return e;
	}
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (!a->grp.of[k])
			continue;
		slk_prog_pin_name(name, sizeof(name), "next-", k);
		if ((e = slk_pin_fd(prog_fd(a, k), a->inst, name)))
			return e;
	}
	a->rep->load_ms = slk_now_ms() - a->t0;
	if ((e = slk_host_addrs_fill(bpf_map__fd(a->skel->maps.host_addrs), a->att, SL_MAX_ATTACH, true))) {
		slk_err("map host_addrs: cannot fill: %s", strerror(-e));
		return e;
	}
	return 0;
}

/* Stage 5: pin the new generation's maps beside the running ones, the kept
 * maps a first apply creates, and next-config last (the journal's "prepared"). */
static int pin_generation(struct apply *a)
{
	const struct sluice_bpf *skel = a->skel;
	const struct sl_instance *cur = &a->cur;
	const char *inst = a->inst;
	int fds[] = {
		bpf_map__fd(skel->maps.dst4), bpf_map__fd(skel->maps.dst6),
		bpf_map__fd(skel->maps.ports), bpf_map__fd(skel->maps.names),
		bpf_map__fd(skel->maps.wilds), bpf_map__fd(skel->maps.nclass),
		bpf_map__fd(skel->maps.resolvers), bpf_map__fd(skel->maps.learn_cfg),
		bpf_map__fd(skel->maps.classes), bpf_map__fd(skel->maps.dir16),
		bpf_map__fd(skel->maps.dir8),
		bpf_map__fd(skel->maps.dir6), bpf_map__fd(skel->maps.node6),
		bpf_map__fd(skel->maps.rules), bpf_map__fd(skel->maps.host_addrs),
	};
	char name[96];
	int e;

	_Static_assert(sizeof(fds) / sizeof(fds[0]) + 1 == sizeof(gen_maps) / sizeof(gen_maps[0]),
		       "gen_maps: every map but config");
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		snprintf(name, sizeof(name), "next-%s", gen_maps[i]);
		if ((e = slk_pin_fd(fds[i], inst, name)))
			return e;
	}
	if (!a->have &&
	    ((e = slk_pin_fd(bpf_map__fd(skel->maps.counters), inst, "counters")) ||
	     (e = slk_pin_fd(bpf_map__fd(skel->maps.globals), inst, "globals")) ||
	     (e = slk_pin_fd(a->attach_fd, inst, "attachments")) ||
	     (e = slk_pin_fd(a->actr_fd, inst, "att_counters"))))
		return e;
	/* learning state: kept; pinned by the first apply that has it */
	if ((cur->learned_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.learned), inst, "learned"))) ||
	    (cur->name_ring_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.name_ring), inst, "name_ring"))) ||
	    (cur->name_rings_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.name_rings), inst, "name_rings"))) ||
	    (cur->pending_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.pending), inst, "pending"))) ||
	    (cur->learn_ctr_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.learn_ctr), inst, "learn_ctr"))) ||
	    (cur->learn_live_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.learn_live), inst, "learn_live"))) ||
	    (cur->learn_bloom_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.learn_bloom), inst, "learn_bloom"))) ||
	    (a->reuse.fallback_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.dns_fallback), inst, "dns_fallback"))) ||
	    (a->reuse.events_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.events), inst, "events"))) ||
	    (a->reuse.ev_ctr_fd < 0 && (e = slk_pin_fd(bpf_map__fd(skel->maps.ev_ctr), inst, "ev_ctr"))))
		return e;
	if ((e = slk_source_stage(inst, a->rs, &a->img, a->o, a->have, a->att, a->is_new)))
		return e;
	if ((e = slk_mig_pin(inst, a->skel, &a->mig)) || (e = slk_layout_pin_next(inst)) ||
	    (e = slk_pin_fd(bpf_map__fd(skel->maps.rodata), inst, "next-config")))
		return e;
	sl_fault("apply-prepared");
	return 0;
}

/* Stage 6a: new attachments first: if one fails, nothing that ran has changed.
 * Every new record is written before the first attach, so that recovery from
 * a kill knows each target this apply was asked for (NOT-ATTACHED). */
static int attach_new(struct apply *a)
{
	int e;

	a->t0 = slk_now_ms();
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (a->is_new[k] && bpf_map_update_elem(a->attach_fd, &k, &a->att[k], BPF_ANY))
			return -errno;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		int pfd;

		if (!a->is_new[k])
			continue;
		pfd = prog_fd(a, k);
		slk_zero_percpu(a->actr_fd, k, sizeof(struct sl_att_ctr));
		/* the record first, then each attach call (slk_note_record) */
		slk_record_to(a->attach_fd, k);
		slk_note_record(&a->att[k]);
		sl_fault("apply-recorded");
		e = slk_attach(a->inst, pfd, a->o, &a->att[k]);
		slk_record_to(-1, 0);
		if (e) {
			struct sl_attach z = {0};

			a->is_new[k] = false;   /* nothing to undo for this one */
			bpf_map_update_elem(a->attach_fd, &k, &z, BPF_ANY);
			memset(&a->att[k], 0, sizeof(a->att[k]));
			return e;
		}
		if (bpf_map_update_elem(a->attach_fd, &k, &a->att[k], BPF_ANY))
			return -errno;
		if ((e = slk_ifx_attached(bpf_map__fd(a->skel->maps.att_ifx), a->att, &a->grp, k)))
			return e;
		sl_fault("apply-attached");
		a->rep->nnew++;
	}
	return 0;
}

/* Stage 6b, the switch: every running attachment to its new program, each atomic. */
static int switch_running(struct apply *a)
{
	bool done[SL_MAX_ATTACH] = { false };
	int e;

	/* what runs at each one now (live.c), read before the first switch: first
	 * place again, without a gap, where another program got in front (restore.c) */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (a->att[k].hook == SL_HOOK_NONE || a->is_new[k])
			continue;
		if ((e = slk_restore_one(a->inst, &a->cur, k, &a->att[k], a->attach_fd, prog_fd(a, k),
					 a->rep, &done[k])))
			return e;
		a->switched[k] = done[k];
	}
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (a->att[k].hook == SL_HOOK_NONE || a->is_new[k] || done[k])
			continue;
		if ((e = slk_switch_attach(a->inst, &a->att[k], prog_fd(a, k))))
			return e;
		a->switched[k] = true;
		sl_fault("apply-switched");
	}
	a->rep->switch_ms = slk_now_ms() - a->t0;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		a->rep->nattached += a->att[k].hook != SL_HOOK_NONE;
	return 0;
}

/* Stage 7, committed: the counters of freed slots zeroed, the new pins over
 * the old ones, config last (journal.h: slk_commit; the old tries are
 * drained in finish()). */

/* Undo 6b: switched attachments back to the running programs. */
static void switch_back(struct apply *a)
{
	char name[96];

	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		int ofd;

		if (!a->switched[k])
			continue;
		slk_prog_pin_name(name, sizeof(name), "", k);
		ofd = slk_obj_get(a->inst, name);
		if (ofd >= 0) {
			slk_switch_attach(a->inst, &a->att[k], ofd);
			close(ofd);
		}
	}
}

/* Undo 6a: the new attachments and their records. */
static void detach_new(struct apply *a)
{
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		struct sl_attach z = {0};

		if (!a->is_new[k])
			continue;
		slk_detach_one(a->inst, &a->att[k]);
		bpf_map_update_elem(a->attach_fd, &k, &z, BPF_ANY);
	}
}

/* Undo 4 and 5: every pin this apply made; next-config first, so that
 * nothing can roll this apply forward any more. */
static void unpin_new(struct apply *a)
{
	const char *inst = a->inst;
	char name[96];

	slk_unpin(inst, "next-config");
	slk_unpin(inst, "next-layout");
	slk_source_unstage(inst);
	slk_mig_unpin(inst, &a->mig);
	for (size_t i = 0; i < sizeof(gen_maps) / sizeof(gen_maps[0]); i++) {
		snprintf(name, sizeof(name), "next-%s", gen_maps[i]);
		slk_unpin(inst, name);
	}
	for (size_t k = 0; k < SL_MAX_ATTACH; k++) {
		slk_prog_pin_name(name, sizeof(name), "next-", k);
		if (a->grp.of[k])
			slk_unpin(inst, name);
	}
	if (!a->have) {
		slk_unpin(inst, "counters");
		slk_unpin(inst, "globals");
		slk_unpin(inst, "attachments");
		slk_unpin(inst, "att_counters");
	}
	/* learning state this apply pinned for the first time */
	if (a->cur.learned_fd < 0)
		slk_unpin(inst, "learned");
	if (a->cur.name_ring_fd < 0)
		slk_unpin(inst, "name_ring");
	if (a->cur.name_rings_fd < 0)
		slk_unpin(inst, "name_rings");
	if (a->cur.pending_fd < 0)
		slk_unpin(inst, "pending");
	if (a->cur.learn_ctr_fd < 0)
		slk_unpin(inst, "learn_ctr");
	if (a->cur.learn_live_fd < 0)
		slk_unpin(inst, "learn_live");
	if (a->cur.learn_bloom_fd < 0)
		slk_unpin(inst, "learn_bloom");
	if (a->reuse.fallback_fd < 0)
		slk_unpin(inst, "dns_fallback");
	if (a->reuse.events_fd < 0)
		slk_unpin(inst, "events");
	if (a->reuse.ev_ctr_fd < 0)
		slk_unpin(inst, "ev_ctr");
}

/* Free what the apply holds; after success, drain the old generation. */
static void finish(struct apply *a, int e)
{
	if (a->reuse.fallback_fd >= 0)
		close(a->reuse.fallback_fd);
	if (a->reuse.events_fd >= 0)
		close(a->reuse.events_fd);
	if (a->reuse.ev_ctr_fd >= 0)
		close(a->reuse.ev_ctr_fd);
	for (size_t k = 0; k < SL_MAX_ATTACH; k++)
		if (a->progs[k])
			sluice_bpf__destroy(a->progs[k]);
	if (a->skel)
		sluice_bpf__destroy(a->skel);
	sl_image_free(&a->img);
	if (a->have && !e)
		slk_drain_old(&a->cur);
	if (a->have)
		sl_instance_close(&a->cur);
	free(a->slots);
	free(a->meta);
	if (e && !a->have) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", a->inst);
		rmdir(dir);
	}
}

int sl_apply(const struct sl_ruleset *rs, const struct sl_apply_opts *o,
	     struct sl_apply_report *rep)
{
	const char *inst = o->instance ? o->instance : "default";
	struct apply a = { .rs = rs, .mig = { { -1, -1, -1 } } };
	struct slk_lock lk = { -1 };
	int e;

	a.o = o;
	a.rep = rep;
	a.inst = inst;
	a.reuse = (struct sl_reuse){ -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	memset(rep, 0, sizeof(*rep));
	if ((e = check_opts(inst, o)))
		return e;
	if (!rs->nrules && !o->allow_empty) {
		/* an empty or truncated file parses without an error */
		slk_err("%s: the ruleset has no rules: it would %s every packet (policy %s); nothing was "
			"loaded, the running ruleset is unchanged. If that is what you want, pass "
			"--allow-empty", rs->nfiles ? rs->files[0] : "rules",
			rs->policy == SL_POLICY_DROP ? "drop" : "pass",
			rs->policy == SL_POLICY_DROP ? "drop" : "allow");
		return -ENODATA;
	}
	a.nwant = slk_targets(o, a.want, SL_MAX_DEVS);
	if (o->hook == SL_HOOK_CGROUP && o->cgroup && a.nwant == 0)
		return -EINVAL;
	/* the lock first: a detach may remove the directory until we hold it */
	if ((e = slk_ensure_bpffs()) || (e = slk_lock_instance(inst, &lk)))
		return e;
	/* -EUCLEAN: a committed instance lost its config pin; this apply repairs it */
	if ((e = slk_layout_check(inst, NULL)) || ((e = slk_recover(inst)) && e != -EUCLEAN) ||
	    (e = slk_mkdir_instance(inst))) {
		slk_unlock_instance(&lk);
		return e;
	}

	if ((e = open_current(&a)) || (e = check_rollback(&a)) || (e = plan(&a)) || (e = load_maps(&a)))
		goto out;
	if ((e = plan_records(&a)) || (e = load_att_progs(&a)) || (e = pin_generation(&a)))
		goto undo_pins;
	if (o->still_valid && !o->still_valid(o->still_valid_ctx)) {
		e = -ESTALE;    /* nothing attached or switched yet */
		goto undo_pins;
	}
	if ((e = attach_new(&a)))
		goto undo_attach;
	if ((e = switch_running(&a)))
		goto undo_switch;
	slk_mig_carry(inst, a.skel, &a.mig);
	slk_commit(inst);
	if (!o->confirm_s)      /* nothing pending any more: no generation to go back to */
		slk_unpin(inst, "prev-source");
	goto out;

undo_switch:
	slk_unpin(inst, "next-config");
	switch_back(&a);
undo_attach:
	slk_unpin(inst, "next-config");
	detach_new(&a);
undo_pins:
	unpin_new(&a);
out:
	finish(&a, e);
	if (e && !a.have && !slk_pin_exists(inst, "config") && !slk_pin_exists(inst, "owner"))
		slk_lock_unlink(inst);          /* a first apply that failed leaves no lock file */
	slk_unlock_instance(&lk);
	return e;
}
