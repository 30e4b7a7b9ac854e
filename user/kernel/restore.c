// SPDX-License-Identifier: GPL-2.0-only
/*
 * restore.c - what an apply does with what the live read (live.c) finds:
 * an attachment something was put in front of gets first place again (a
 * TCX link before every other program, then the old link dropped: no gap),
 * a foreign program in sluice's place is replaced by sluice's (the switch
 * does it), and an interface that was renamed is recognised by its ifindex,
 * so that `apply --dev NEWNAME` takes the record over instead of stacking a
 * second link (docs/operations.md "Co-resident BPF programs").
 */
#include "kernel/journal.h"

static const char *where(const struct sl_attach *a)
{
	return a->hook == SL_HOOK_CGROUP ? a->cgroup : a->ifname;
}

int slk_restore_one(const char *inst, const struct sl_instance *cur, __u32 k, struct sl_attach *a,
		    int attach_fd, int prog_fd, struct sl_apply_report *rep, bool *done)
{
	struct sl_att_live l;
	int e;

	*done = false;
	if (sl_attach_live(cur, k, a, &l) || l.state != SL_ST_BYPASSED)
		return 0;
	if (a->kind == SL_ATT_TCX && l.nahead) {
		if ((e = slk_tcx_restore(inst, a, prog_fd)))
			return e;
		if (bpf_map_update_elem(attach_fd, &k, a, BPF_ANY))
			return -errno;
		fprintf(stderr, "sluice: %s: sluice's %s link ran behind %u program%s (first: %u %s): "
			"attached again in first place\n", where(a), sl_hook_name(a->hook), l.nahead,
			l.nahead == 1 ? "" : "s", l.ahead_id, l.ahead_name);
		rep->nrestored++;
		*done = true;
		return 0;
	}
	if (l.nahead) {
		fprintf(stderr, "sluice: %s: warning: BYPASSED: %s; a clsact filter cannot be put before "
			"them: remove them (tc filter show dev %s %s) or use a kernel with TCX\n", where(a),
			l.why, a->ifname, a->hook == SL_HOOK_TC_EGRESS ? "egress" : "ingress");
		rep->nbypassed++;
		return 0;
	}
	fprintf(stderr, "sluice: %s: %s; the switch puts sluice's program back\n", where(a), l.why);
	rep->nrestored++;
	return 0;
}

/* Whether TCX record @k, @r is the interface @w names, moved to @w's namespace
 * (its link moved with it: live.c finds it there); *ifindex: its index there. */
static bool moved_to(const struct sl_instance *cur, __u32 k, const struct sl_attach *r,
		     const struct sl_attach *w, __u32 *ifindex)
{
	struct sl_att_live l;
	int saved;

	if (r->kind != SL_ATT_TCX || r->hook != w->hook || !strncmp(r->netns, w->netns, SL_IFNAME_LEN) ||
	    sl_attach_live(cur, k, r, &l) || !l.moved || strncmp(l.netns_now, w->netns, SL_IFNAME_LEN) ||
	    strncmp(l.dev, w->ifname, SL_IFNAME_LEN) || slk_netns_enter(w->netns, &saved))
		return false;
	*ifindex = if_nametoindex(w->ifname);
	sl_netns_leave(saved);
	return *ifindex != 0;
}

/* Whether record @r is the interface @w names, under another name now. */
static bool renamed_to(const struct sl_instance *cur, const struct sl_attach *r, const struct sl_attach *w)
{
	char now[IF_NAMESIZE];
	int saved;
	bool same;

	if (r->hook == SL_HOOK_NONE || r->hook == SL_HOOK_CGROUP || !r->kind || !r->ifindex ||
	    (r->hook != w->hook && !(w->hook == SL_HOOK_TC_EGRESS && r->hook == SL_HOOK_DNS)) ||
	    strncmp(r->netns, w->netns, SL_IFNAME_LEN) || !strncmp(r->ifname, w->ifname, SL_IFNAME_LEN))
		return false;
	if (slk_netns_enter(r->netns, &saved))
		return false;
	same = if_indextoname(r->ifindex, now) && !strncmp(now, w->ifname, SL_IFNAME_LEN);
	sl_netns_leave(saved);
	return same && sl_attach_alive(cur, r);
}

int slk_adopt_renamed(const char *inst, const struct sl_instance *cur, struct sl_attach *att,
		      const struct sl_attach *want, int attach_fd)
{
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		char from[96], to[96];
		int e;

		__u32 ifx = 0;

		if (!renamed_to(cur, &att[k], want) && !moved_to(cur, k, &att[k], want, &ifx))
			continue;
		slk_link_pin_name(from, sizeof(from), &att[k]);
		fprintf(stderr, "sluice: %s: note: the %s attachment on %.16s%s%.16s is this interface, %s; "
			"its record takes the new name\n", want->ifname, sl_hook_name(att[k].hook),
			att[k].ifname, att[k].netns[0] ? "@" : "", att[k].netns,
			ifx ? "moved to this namespace" : "renamed");
		snprintf(att[k].ifname, sizeof(att[k].ifname), "%s", want->ifname);
		if (ifx) {
			memcpy(att[k].netns, want->netns, sizeof(att[k].netns));
			att[k].ifindex = ifx;
		}
		slk_link_pin_name(to, sizeof(to), &att[k]);
		if (att[k].kind != SL_ATT_CLSACT && (e = slk_rename_pin(inst, from, to)))
			return e;
		if (bpf_map_update_elem(attach_fd, &k, &att[k], BPF_ANY))
			return -errno;
	}
	return 0;
}
