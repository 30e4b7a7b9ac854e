// SPDX-License-Identifier: GPL-2.0-only
/*
 * live.c - the live read: what the kernel actually runs at each attachment,
 * compared with sluice's records (docs/operations.md "Co-resident BPF
 * programs").  One function answers for every caller - status, metrics,
 * apply (which restores first place), sluice run, detach (which removes only
 * what is provably sluice's) and sluice-cni CHECK:
 *
 *   TCX     the hook's chain from BPF_PROG_QUERY (program and link ids in
 *           run order): sluice's link must be in it, run sluice's program,
 *           and nothing but sluice may run before it (any other program can
 *           end the chain with TC_ACT_OK).
 *   clsact  the filter at sluice's handle and priority must run sluice's
 *           program; no filter may come before it in the hook's dump (the
 *           kernel's run order), and no TCX program (TCX runs before clsact).
 *   XDP     the program the interface runs in sluice's mode is sluice's.
 *   cgroup  the link runs sluice's program (cgroup programs all run, and a
 *           packet passes only if all allow it: nothing can bypass).
 *
 * The interface's name is read by ifindex now, so a renamed interface shows
 * its current name.
 */
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "kernel/journal.h"

const char *sl_att_state_name(enum sl_att_state s)
{
	switch (s) {
	case SL_ST_ENFORCING:  return "enforcing";
	case SL_ST_BYPASSED:   return "BYPASSED";
	case SL_ST_GONE:       return "GONE";
	case SL_ST_UNATTACHED: return "NOT-ATTACHED";
	}
	return "?";
}

static void prog_name(uint32_t id, char *buf, size_t sz)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, sz, "?");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(buf, sz, "%.*s", (int)sizeof(info.name), info.name);
	close(fd);
}

/* The id of the program pinned at @path (0: none). */
static uint32_t pinned_prog_id(const char *path)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);
	uint32_t id = 0;

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		id = info.id;
	close(fd);
	return id;
}

/* Whether program @id is pinned as a program of instance @inst (prog-*,
 * next-prog-*), or of any instance when @inst is NULL. */
bool slk_prog_ours(const char *inst, uint32_t id)
{
	char dir[PATH_MAX], p[PATH_MAX * 2];
	struct dirent *de;
	bool found = false;
	DIR *root, *d;

	if (!id)
		return false;
	if (inst) {
		snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
		if (!(d = opendir(dir)))
			return false;
		while (!found && (de = readdir(d)))
			if (!strncmp(de->d_name, "prog-", 5) || !strncmp(de->d_name, "next-prog-", 10)) {
				snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
				found = pinned_prog_id(p) == id;
			}
		closedir(d);
		return found;
	}
	if (!(root = opendir(SL_PIN_ROOT)))
		return false;
	while (!found && (de = readdir(root)))
		if (de->d_name[0] != '.' && slk_valid_instance(de->d_name))
			found = slk_prog_ours(de->d_name, id);
	closedir(root);
	return found;
}

/* The program of attachment record k: its pin prog-<k> (0: none). */
uint32_t sl_attach_prog_id(const struct sl_instance *in, uint32_t k)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char name[32];
	int fd;

	slk_prog_pin_name(name, sizeof(name), "", k);
	fd = slk_obj_get(in->name, name);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* ------------------------------------------------------------------ TCX */

/* BPF_PROG_QUERY as of Linux 6.6 (Debian 12's headers and libbpf 1.1 lack
 * the link ids). */
struct raw_query {
	__u32 target, attach_type, query_flags, attach_flags;
	__u64 prog_ids;
	__u32 count, pad;
	__u64 prog_attach_flags, link_ids, link_attach_flags, revision;
};

#define SL_CHAIN_MAX 64

/* The chain of a TCX hook in run order; returns its length or -errno. */
static int tcx_chain(uint32_t ifindex, bool ingress, __u32 *progs, __u32 *links)
{
	struct raw_query q;

	memset(&q, 0, sizeof(q));
	/* (valgrind does not know that the kernel writes them) */
	memset(progs, 0, SL_CHAIN_MAX * sizeof(*progs));
	memset(links, 0, SL_CHAIN_MAX * sizeof(*links));
	q.target = ifindex;
	q.attach_type = ingress ? SL_BPF_TCX_INGRESS : SL_BPF_TCX_EGRESS;
	q.prog_ids = (uintptr_t)progs;
	q.link_ids = (uintptr_t)links;
	q.count = SL_CHAIN_MAX;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof(q)))
		return -errno;
	return q.count > SL_CHAIN_MAX ? SL_CHAIN_MAX : (int)q.count;
}

static bool hook_ingress(enum sl_hook h)
{
	return h == SL_HOOK_TC_INGRESS || h == SL_HOOK_DNS;
}

/* Programs before position @pos of a TCX chain that are not sluice's: the
 * first one named in @l. */
static void tcx_ahead(const __u32 *progs, int pos, struct sl_att_live *l)
{
	for (int i = 0; i < pos; i++) {
		if (slk_prog_ours(NULL, progs[i]))
			continue;       /* another instance: it passes with TCX_NEXT */
		if (!l->nahead++) {
			l->ahead_id = progs[i];
			prog_name(progs[i], l->ahead_name, sizeof(l->ahead_name));
		}
	}
}

/* A TCX link not found on its interface in the record's namespace: the
 * interface may have moved to another one (the link moves with it).  Looks in
 * the host's namespace and every named one; fills the chain and where. */
static int tcx_find_moved(__u32 ifindex, __u32 link_id, bool ingress, __u32 *progs, __u32 *links,
			  int *pos, struct sl_att_live *l)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir("/run/netns");
	int found = -1;

	for (int host = 1; found < 0 && (host || (d && (de = readdir(d)))); host = 0) {
		int saved, n;

		if (!host && de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), host ? "/proc/1/ns/net" : "/run/netns/%s", host ? "" : de->d_name);
		if (sl_netns_enter_path(p, &saved))
			continue;
		n = tcx_chain(ifindex, ingress, progs, links);
		for (*pos = 0; *pos < n && links[*pos] != link_id; (*pos)++)
			;
		if (n > 0 && *pos < n) {
			char now[IF_NAMESIZE];

			found = n;
			snprintf(l->netns_now, sizeof(l->netns_now), "%.*s", SL_IFNAME_LEN - 1, host ? "" : de->d_name);
			if (if_indextoname(ifindex, now))
				snprintf(l->dev, sizeof(l->dev), "%s", now);
			l->moved = true;
		}
		sl_netns_leave(saved);
	}
	if (d)
		closedir(d);
	return found;
}

static void live_tcx(const struct sl_instance *in, const struct sl_attach *a, struct sl_att_live *l)
{
	__u32 progs[SL_CHAIN_MAX], links[SL_CHAIN_MAX];
	struct { __u32 type, id, prog_id, pad; __u32 u[28]; } li;
	__u32 len = sizeof(li);
	char name[96];
	int fd, n, pos;

	slk_link_pin_name(name, sizeof(name), a);
	fd = slk_obj_get(in->name, name);
	memset(&li, 0, sizeof(li));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &li, &len) || li.u[0] == 0) {
		if (fd >= 0)
			close(fd);
		l->state = SL_ST_GONE;
		snprintf(l->why, sizeof(l->why), "its TCX link is gone (interface removed?)");
		return;
	}
	close(fd);
	n = tcx_chain(li.u[0], hook_ingress(a->hook), progs, links);
	if (n == -EPERM || n == -EACCES) {
		/* BPF_PROG_QUERY needs CAP_NET_ADMIN; status does not (docs/operations.md) */
		l->running_id = li.prog_id;
		l->elsewhere = true;
		snprintf(l->why, sizeof(l->why), "the hook's chain cannot be read without CAP_NET_ADMIN: "
			 "its place in it is not checked");
		return;
	}
	for (pos = 0; pos < n && links[pos] != li.id; pos++)
		;
	if ((n < 0 || pos == n) && !a->netns[0]) {
		/* a record without a namespace name (sluice-cni's, made from inside
		 * the container's namespace): its interface lives in a namespace
		 * this process does not see; the link is all that can be read */
		l->running_id = li.prog_id;
		l->elsewhere = true;
		return;
	}
	if (n < 0 || pos == n)
		n = tcx_find_moved(li.u[0], li.id, hook_ingress(a->hook), progs, links, &pos, l);
	if (n < 0 || pos == n) {
		l->state = SL_ST_GONE;
		snprintf(l->why, sizeof(l->why), "its TCX link %u is not in the hook's chain", li.id);
		return;
	}
	l->running_id = progs[pos];
	l->position = pos;
	if (a->hook != SL_HOOK_DNS)     /* the learner only reads: its place does not open anything */
		tcx_ahead(progs, pos, l);
}

/* --------------------------------------------------------------- clsact */

struct tcf {
	uint32_t handle, prio, prog_id;
	char kind[16];
};

static void parse_filter(struct nlmsghdr *h, struct tcf *f, bool *chain0)
{
	struct tcmsg *t = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));

	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	*chain0 = true;
	for (struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			snprintf(f->kind, sizeof(f->kind), "%.*s", (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
		else if (a->rta_type == TCA_CHAIN && RTA_PAYLOAD(a) >= 4)
			*chain0 = *(__u32 *)RTA_DATA(a) == 0;
		else if (a->rta_type == TCA_OPTIONS) {
			int ol = RTA_PAYLOAD(a);

			for (struct rtattr *o = RTA_DATA(a); RTA_OK(o, ol); o = RTA_NEXT(o, ol))
				if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= 4)
					f->prog_id = *(__u32 *)RTA_DATA(o);
		}
	}
}

/* The filters of chain 0 of a clsact hook in the order the kernel runs
 * them (the dump's: by priority, then each classifier's list); count or -errno. */
static int tc_filters(uint32_t ifindex, bool ingress, struct tcf *out, int max)
{
	struct { struct nlmsghdr h; struct tcmsg t; } req;
	static char buf[32768];
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n = 0, e = 0;
	bool done = false;

	if (s < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETTFILTER;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = (int)ifindex;
	req.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
	if (send(s, &req, sizeof(req), 0) < 0) {
		e = -errno;
		close(s);
		return e;
	}
	while (!done) {
		ssize_t r = recv(s, buf, sizeof(buf), 0);
		int len = (int)r;

		if (r <= 0) {
			e = r < 0 ? -errno : -EIO;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			bool chain0;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				done = true;
				break;
			}
			if (h->nlmsg_type != RTM_NEWTFILTER || n >= max)
				continue;
			parse_filter(h, &out[n], &chain0);
			if (chain0 && out[n].handle)    /* handle 0: a classifier's own line */
				n++;
		}
	}
	close(s);
	return e ? e : n;
}

static void live_clsact(const struct sl_instance *in, const struct sl_attach *a, struct sl_att_live *l)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex,
			    .attach_point = hook_ingress(a->hook) ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .handle = a->handle, .priority = a->priority);
	__u32 progs[SL_CHAIN_MAX], links[SL_CHAIN_MAX];
	struct tcf f[64];
	int n;

	(void)in;
	if (!a->ifindex || bpf_tc_query(&th, &to)) {
		l->state = SL_ST_GONE;
		snprintf(l->why, sizeof(l->why), "no filter at its handle 0x%x priority %u", a->handle,
			 a->priority);
		return;
	}
	l->running_id = to.prog_id;
	if (a->hook == SL_HOOK_DNS)
		return;
	/* TCX runs before every clsact filter */
	n = tcx_chain(a->ifindex, hook_ingress(a->hook), progs, links);
	if (n > 0)
		tcx_ahead(progs, n, l);
	n = tc_filters(a->ifindex, hook_ingress(a->hook), f, 64);
	for (int i = 0; i < n; i++) {
		if (f[i].handle == a->handle && f[i].prio == a->priority)
			break;
		if (!strcmp(f[i].kind, "bpf") && slk_prog_ours(NULL, f[i].prog_id))
			continue;
		l->position++;
		if (!l->nahead++) {
			l->ahead_id = f[i].prog_id;
			if (f[i].prog_id)
				prog_name(f[i].prog_id, l->ahead_name, sizeof(l->ahead_name));
			else
				snprintf(l->ahead_name, sizeof(l->ahead_name), "%s filter", f[i].kind);
		}
	}
}

/* ------------------------------------------------------- XDP and cgroup */

/* Whether the record's ifindex names its interface in this namespace. */
static bool here(const struct sl_attach *a)
{
	char now[IF_NAMESIZE];

	return if_indextoname(a->ifindex, now) && !strncmp(now, a->ifname, SL_IFNAME_LEN);
}

static void live_link(const struct sl_instance *in, const struct sl_attach *a, struct sl_att_live *l)
{
	struct { __u32 type, id, prog_id, pad; __u32 u[28]; } li;
	__u32 len = sizeof(li);
	char name[96];
	int fd;

	if (!slk_link_alive(in, a)) {
		l->state = SL_ST_GONE;
		snprintf(l->why, sizeof(l->why), "its %s link is gone (%s removed?)",
			 sl_hook_name(a->hook), a->hook == SL_HOOK_CGROUP ? "cgroup" : "interface");
		return;
	}
	slk_link_pin_name(name, sizeof(name), a);
	fd = slk_obj_get(in->name, name);
	memset(&li, 0, sizeof(li));
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &li, &len))
		l->running_id = li.prog_id;
	if (fd >= 0)
		close(fd);
	if (a->hook == SL_HOOK_XDP && a->ifindex && (a->netns[0] || here(a))) {
		LIBBPF_OPTS(bpf_xdp_query_opts, xq);

		/* the link's program is the interface's in its mode, unless the
		 * link no longer holds the interface */
		if (!bpf_xdp_query((int)a->ifindex, 0, &xq)) {
			__u32 id = a->xdp_mode == SL_XDP_NATIVE ? xq.drv_prog_id : xq.skb_prog_id;

			if (id != l->running_id)
				l->running_id = id;
		}
	}
}

/* ------------------------------------------------------------------ all */

int sl_attach_live(const struct sl_instance *in, uint32_t k, const struct sl_attach *a,
		   struct sl_att_live *l)
{
	int saved = -1, e;

	memset(l, 0, sizeof(*l));
	l->state = SL_ST_ENFORCING;
	snprintf(l->dev, sizeof(l->dev), "%.*s", SL_IFNAME_LEN - 1, a->ifname);
	if (a->hook == SL_HOOK_NONE)
		return -ENOENT;
	if (!a->kind) {
		l->state = SL_ST_UNATTACHED;
		snprintf(l->why, sizeof(l->why), "an apply that was interrupted never attached it");
		return 0;
	}
	l->prog_id = sl_attach_prog_id(in, k);
	if (a->hook != SL_HOOK_CGROUP && (e = slk_netns_enter(a->netns, &saved))) {
		if (e == -ENOENT || a->kind == SL_ATT_CLSACT) {
			l->state = SL_ST_GONE;
			snprintf(l->why, sizeof(l->why), "network namespace %s: %s", a->netns,
				 e == -ENOENT ? "gone" : "cannot enter it");
			return 0;
		}
		/* not allowed to enter it (no CAP_SYS_ADMIN): the link is all that can be read */
		l->elsewhere = true;
		if (!slk_link_alive(in, a)) {
			l->state = SL_ST_GONE;
			snprintf(l->why, sizeof(l->why), "its link is gone");
		}
		return 0;
	}
	if (a->kind == SL_ATT_TCX)
		live_tcx(in, a, l);
	else if (a->kind == SL_ATT_CLSACT)
		live_clsact(in, a, l);
	else
		live_link(in, a, l);
	/* the interface's name now, where its hook was found in this namespace */
	if (a->hook != SL_HOOK_CGROUP && a->ifindex && l->state != SL_ST_GONE && !l->elsewhere &&
	    !l->moved) {
		char now[IF_NAMESIZE];

		if (if_indextoname(a->ifindex, now) && strncmp(now, a->ifname, SL_IFNAME_LEN)) {
			snprintf(l->dev, sizeof(l->dev), "%s", now);
			l->renamed = true;
		}
	}
	sl_netns_leave(saved);
	if (l->state != SL_ST_ENFORCING)
		return 0;
	if (l->prog_id && l->running_id && l->running_id != l->prog_id &&
	    !slk_prog_ours(in->name, l->running_id)) {
		char pn[16];

		prog_name(l->running_id, pn, sizeof(pn));
		l->state = SL_ST_BYPASSED;
		snprintf(l->why, sizeof(l->why), "program %u (%s) runs in sluice's place, not sluice's %u",
			 l->running_id, pn, l->prog_id);
	} else if (l->nahead) {
		l->state = SL_ST_BYPASSED;
		snprintf(l->why, sizeof(l->why), "%u program%s run%s before sluice and can pass traffic "
			 "around it (first: %u %s)", l->nahead, l->nahead == 1 ? "" : "s",
			 l->nahead == 1 ? "s" : "", l->ahead_id, l->ahead_name);
	}
	return 0;
}

/*
 * Every record of @in and its live state.  A record that reads as not
 * enforcing is read again under the shared instance lock: an apply or a
 * detach that runs meanwhile (records written before the attach, links
 * removed before the record) is waited for, and a record it removed on
 * purpose is not reported.  Returns the number of records in use, or
 * -ENOENT when the instance was detached meanwhile.
 */
int sl_live_read(const struct sl_instance *in, struct sl_attach *att, struct sl_att_live *live)
{
	bool again = false;
	int n = 0, lk = -1, afd;

	if (sl_read_attach(in->attach_fd, att))
		return -EIO;
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++)
		if (att[k].hook != SL_HOOK_NONE && !sl_attach_live(in, k, &att[k], &live[k]))
			again |= live[k].state != SL_ST_ENFORCING;
	if (again && slk_lock_file(in->name, false, &lk) == 0) {
		struct bpf_map_info a = {0}, b = {0};
		__u32 la = sizeof(a), lb = sizeof(b);

		afd = slk_obj_get(in->name, "attachments");
		if (afd < 0 || bpf_obj_get_info_by_fd(afd, &a, &la) ||
		    bpf_obj_get_info_by_fd(in->attach_fd, &b, &lb) || a.id != b.id) {
			if (afd >= 0)
				close(afd);
			slk_lock_release(&lk);
			return -ENOENT;
		}
		close(afd);
		if (sl_read_attach(in->attach_fd, att)) {
			slk_lock_release(&lk);
			return -EIO;
		}
		for (uint32_t k = 0; k < SL_MAX_ATTACH; k++)
			if (att[k].hook != SL_HOOK_NONE)
				sl_attach_live(in, k, &att[k], &live[k]);
		slk_lock_release(&lk);
	}
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++)
		n += att[k].hook != SL_HOOK_NONE;
	return n;
}
