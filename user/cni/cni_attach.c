// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_attach.c - ADD, DEL and CHECK with one sluice instance per container
 * attachment (network, container id, interface: "share": false, and
 * tc-egress), named from them so that DEL and CHECK find it without any
 * state of their own; shared instances are cni_share.c's.  The instance's
 * "owner" record (kernel/owner.c) says whose it is and what was compiled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cni/cni.h"

/*
 * "cni-" + up to 12 of the container id's [a-z0-9] + "-" + 12 hex digits
 * of a hash of (network, id, ifname): at most 29 characters, a valid
 * instance name, readable in `sluice status`, distinct per attachment.
 */
void cni_instance_name(const char *network, const char *id, const char *ifname,
		       char out[SL_INST_LEN + 1])
{
	const char *parts[3] = { network ? network : "", id ? id : "", ifname ? ifname : "" };
	uint64_t h = 0xcbf29ce484222325ULL;
	char pre[13];
	size_t n = 0;

	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i];; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	for (const char *p = parts[1]; *p && n < sizeof(pre) - 1; p++) {
		char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			pre[n++] = ch;
	}
	pre[n] = 0;
	snprintf(out, SL_INST_LEN + 1, "cni-%s%s%012llx", pre, n ? "-" : "",
		 (unsigned long long)(h & 0xffffffffffffULL));
}

static bool instance_exists(const char *inst)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s", inst);
	return stat(p, &st) == 0;
}

/* Load the rules file, apply the configuration's mode and host mode, compile for the digest. */
int cni_load_rules(const struct cni_conf *c, const char *rules, struct sl_ruleset *rs, uint64_t *digest,
		   struct sl_rcheck **check)
{
	struct sl_diags d = { 0 };
	struct sl_image img;
	int e;

	if (!rules || !rules[0])
		return cni_fail(CNI_ERR_CONFIG, "the configuration of sluice-cni needs \"rules\": the "
				"path of a rules file, e.g. \"rules\": \"/etc/sluice/web.rules\"");
	cni_capture_begin();
	e = check ? sl_ruleset_load_unsettled(rules, rs, &d, check) : sl_ruleset_load(rules, rs, &d);
	sl_diag_print(&d, stderr);
	cni_capture_end();
	sl_diag_free(&d);
	if (e)
		return cni_fail(CNI_ERR_RULES, "%s: the rules file does not load (details name "
				"file:line:col); fix it and check it with: sluice check %s; the "
				"container was not started", rules, rules);
	if (c->mode >= 0)
		rs->mode = (enum sl_mode)c->mode;
	if (c->host != CNI_HOST_RULES)
		rs->host_pass = c->host == CNI_HOST_PASS;
	cni_capture_begin();
	e = sl_compile(rs, NULL, 0, &img);
	cni_capture_end();
	if (e) {
		if (check) {
			sl_rcheck_free(*check);
			*check = NULL;
		}
		sl_ruleset_free(rs);
		return cni_fail(CNI_ERR_RULES, "%s: the rules do not compile: %s; see: sluice check %s",
				rules, strerror(-e), rules);
	}
	*digest = sl_image_digest(&img);
	sl_image_free(&img);
	return 0;
}

int cni_need_env(const struct cni_env *env, bool netns)
{
	if (!env->containerid || !env->containerid[0])
		return cni_fail(CNI_ERR_ENV, "CNI_CONTAINERID is not set (the runtime sets it)");
	if (!env->ifname || !env->ifname[0])
		return cni_fail(CNI_ERR_ENV, "CNI_IFNAME is not set (the runtime sets it)");
	if (strlen(env->ifname) >= 16 || strchr(env->ifname, '/'))
		return cni_fail(CNI_ERR_ENV, "CNI_IFNAME \"%s\" is not an interface name", env->ifname);
	if (strlen(env->containerid) >= SL_OWNER_ID_LEN)
		return cni_fail(CNI_ERR_ENV, "CNI_CONTAINERID is longer than %d characters",
				SL_OWNER_ID_LEN - 1);
	if (netns && (!env->netns || !env->netns[0]))
		return cni_fail(CNI_ERR_ENV, "CNI_NETNS is not set (the runtime sets it to the path "
				"of the container's network namespace)");
	if (netns && strlen(env->netns) >= sizeof(((struct sl_owner *)0)->netns))
		return cni_fail(CNI_ERR_ENV, "CNI_NETNS is too long");
	if (netns && !sl_netns_alive(env->netns))
		return cni_fail(CNI_ERR_CONTAINER, "CNI_NETNS %s is not a network namespace (has the "
				"container gone?)", env->netns);
	return 0;
}

int cni_need_prev(const struct cni_conf *c, const char *cmd)
{
	if (!c->prev)
		return cni_fail(CNI_ERR_CONFIG, "%s without prevResult: sluice-cni is a chained plugin; "
				"list it after the plugin that creates the interface (bridge, ptp) in the "
				"conflist's \"plugins\"", cmd);
	return 0;
}

/* The interface to attach to: the host-side veth (checked against
 * prevResult) for tc-ingress, the container's own for tc-egress. */
int cni_find_dev(const struct cni_env *env, const struct cni_conf *c, char dev[16])
{
	const char *host[16];
	size_t n;

	if (c->hook == SL_HOOK_TC_EGRESS) {
		snprintf(dev, 16, "%s", env->ifname);
		return 0;
	}
	if (cni_veth_peer(env->netns, env->ifname, dev))
		return -1;
	n = cni_prev_host_ifaces(c, host, 16);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(host[i], dev))
			return 0;
	if (n == 0)
		return 0;       /* a result without host interfaces: trust the kernel */
	return cni_fail(CNI_ERR_CONFIG, "the host side of %s (%s) is not among prevResult's host "
			"interfaces; list sluice-cni right after the plugin that made the veth",
			env->ifname, dev);
}

int cni_remove(const char *inst)
{
	int e;

	cni_capture_begin();
	e = sl_owner_remove(inst);
	cni_capture_end();
	return e;
}

/* What containers that went without a DEL left (runtime killed, host
 * crashed before the runtime's cleanup): their netns and veth are gone.
 * Best effort; `sluice gc` does the same on demand. */
static void gc_stale(const char *self)
{
	char **names = NULL;
	size_t n = 0;

	if (sl_instance_list(&names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct sl_owner o;

		if (strcmp(names[i], self) && sl_owner_stale(names[i], &o) == 1)
			cni_remove(names[i]);
		free(names[i]);
	}
	free(names);
}

int cni_add(const struct cni_env *env, const struct cni_conf *c)
{
	struct sl_apply_report rep;
	struct sl_ruleset rs;
	struct sl_owner o;
	char inst[SL_INST_LEN + 1], dev[16];
	const char *devs[1] = { dev };
	struct sl_apply_opts ao = { .devs = devs, .ndevs = 1, .hook = c->hook };
	struct cni_who w;
	struct sl_settle st = { NULL, false };
	const char *rules;
	uint64_t digest;
	bool settle_first = false;
	int e, saved = -1;

	if (c->share && c->hook == SL_HOOK_TC_INGRESS)
		return cni_share_add(env, c);
	if (cni_need_env(env, true) || cni_need_prev(c, "ADD") || cni_find_dev(env, c, dev) ||
	    cni_who(env, c, &w) || cni_select_rules(c, &w, &rules))
		return -1;
	/* the settle wait of the stable read runs beside the verifier (still_valid);
	 * a file that changed meanwhile is read again, the whole stable read */
again:
	if (cni_load_rules(c, rules, &rs, &digest, settle_first ? NULL : &st.check))
		return -1;
	cni_instance_name(c->name, env->containerid, env->ifname, inst);
	ao.instance = inst;
	/* left over from an ADD of this attachment without its DEL (runtime
	 * restart, a container restarted under the same id): start clean */
	if (instance_exists(inst) && (e = cni_remove(inst))) {
		sl_rcheck_free(st.check);
		sl_ruleset_free(&rs);
		return cni_fail(CNI_ERR_ATTACH, "instance %s: cannot remove what an earlier ADD left: "
				"%s; remove it with: sluice detach --all --instance %s",
				inst, strerror(-e), inst);
	}
	memset(&o, 0, sizeof(o));
	snprintf(o.kind, sizeof(o.kind), "cni");
	snprintf(o.id, sizeof(o.id), "%s", env->containerid);
	snprintf(o.network, sizeof(o.network), "%s", c->name ? c->name : "");
	snprintf(o.ifname, sizeof(o.ifname), "%s", env->ifname);
	snprintf(o.netns, sizeof(o.netns), "%s", env->netns);
	snprintf(o.rules, sizeof(o.rules), "%s", rules);
	snprintf(o.hook, sizeof(o.hook), "%s", sl_hook_name(c->hook));
	snprintf(o.dev, sizeof(o.dev), "%s", dev);
	o.digest = digest;
	o.since = (uint64_t)time(NULL);
	/* the owner first: an instance being made is never taken for stale */
	cni_capture_begin();
	e = sl_owner_set(inst, &o);
	cni_capture_end();
	if (e) {
		sl_rcheck_free(st.check);
		sl_ruleset_free(&rs);
		return cni_fail(CNI_ERR_IO, "instance %s: cannot record its owner: %s (see details)",
				inst, strerror(-e));
	}
	if (c->hook == SL_HOOK_TC_EGRESS && (e = sl_netns_enter_path(env->netns, &saved))) {
		sl_rcheck_free(st.check);
		sl_ruleset_free(&rs);
		cni_remove(inst);
		return cni_fail(CNI_ERR_CONTAINER, "CNI_NETNS %s: cannot enter: %s", env->netns,
				strerror(-e));
	}
	cni_capture_begin();
	e = sl_apply_settled(&rs, &ao, &rep, &st);
	cni_capture_end();
	sl_netns_leave(saved);
	sl_ruleset_free(&rs);
	if (e == -ESTALE && st.changed && !settle_first) {
		fprintf(stderr, "sluice-cni: %s changed while it was read (nothing was attached); "
			"reading it again\n", rules);
		cni_remove(inst);       /* nothing was attached: read the file again */
		settle_first = true;
		saved = -1;
		goto again;
	}
	if (e) {
		cni_remove(inst);
		return cni_fail(e == -EAGAIN || e == -EBUSY ? CNI_ERR_AGAIN : CNI_ERR_ATTACH,
				"cannot attach sluice (%s) to %s: %s; the container was not started "
				"unfiltered (see details; sluice status)", sl_hook_name(c->hook), dev,
				strerror(-e));
	}
	gc_stale(inst);
	return cni_print_prev(c);
}

int cni_del(const struct cni_env *env, const struct cni_conf *c)
{
	char inst[SL_INST_LEN + 1];
	int e;

	if (cni_need_env(env, false))
		return -1;
	if ((e = cni_share_del(env, c)) <= 0)
		return e;
	cni_instance_name(c->name, env->containerid, env->ifname, inst);
	if (!instance_exists(inst))
		return 0;               /* never added, or deleted already */
	if ((e = cni_remove(inst)))
		return cni_fail(e == -EAGAIN || e == -EBUSY ? CNI_ERR_AGAIN : CNI_ERR_IO,
				"instance %s: cannot remove: %s; retry, or: sluice detach --all "
				"--instance %s", inst, strerror(-e), inst);
	return 0;
}

int cni_check(const struct cni_env *env, const struct cni_conf *c)
{
	struct sl_attach att[SL_MAX_ATTACH];
	char inst[SL_INST_LEN + 1], dev[16];
	struct sl_instance in;
	struct sl_ruleset rs;
	struct sl_owner o;
	uint64_t digest;
	size_t live = 0, dead = 0, bypassed = 0;
	int e;

	struct cni_who w;
	const char *rules;

	if (cni_need_env(env, true) || cni_need_prev(c, "CHECK"))
		return -1;
	if ((e = cni_share_check(env, c)) <= 0)
		return e;
	cni_instance_name(c->name, env->containerid, env->ifname, inst);
	if (sl_owner_get(inst, &o) || strcmp(o.id, env->containerid))
		return cni_fail(CNI_ERR_NOT_ATTACHED, "no sluice instance for container %.12s on %s "
				"(expected %s): the container runs unfiltered; re-create it (DEL, then ADD)",
				env->containerid, env->ifname, inst);
	cni_capture_begin();
	e = sl_instance_open(inst, &in);
	if (!e) {
		/* what the kernel runs there (kernel/live.c): a program in front of sluice's is a bypass */
		static struct sl_att_live st[SL_MAX_ATTACH];

		e = sl_live_read(&in, att, st);
		e = e < 0 ? e : 0;
		for (size_t k = 0; !e && k < SL_MAX_ATTACH; k++) {
			if (att[k].hook == SL_HOOK_NONE)
				continue;
			if (st[k].state == SL_ST_BYPASSED)
				bypassed++;
			else if (st[k].state == SL_ST_ENFORCING && !strncmp(att[k].ifname, o.dev, SL_IFNAME_LEN))
				live++;
			else
				dead++;
		}
		sl_instance_close(&in);
	}
	cni_capture_end();
	if (!e && bypassed)
		return cni_fail(CNI_ERR_NOT_ATTACHED, "instance %s: BYPASSED on %s: another program runs "
				"before sluice's or in its place, and the container's traffic can pass "
				"unfiltered (see: sluice status --instance %s)", inst, o.dev, inst);
	if (e || live == 0 || dead)
		return cni_fail(CNI_ERR_NOT_ATTACHED, "instance %s: the program is no longer attached "
				"to %s (%zu live, %zu gone): the container runs unfiltered; re-create it "
				"(DEL, then ADD)", inst, o.dev, live, dead);
	if (cni_find_dev(env, c, dev))
		return -1;
	if (strcmp(dev, o.dev) || strcmp(o.hook, sl_hook_name(c->hook)))
		return cni_fail(CNI_ERR_NOT_ATTACHED, "instance %s is attached to %s %s, the "
				"configuration asks for %s %s: re-create the container", inst, o.hook,
				o.dev, sl_hook_name(c->hook), dev);
	if (cni_who(env, c, &w) || cni_select_rules(c, &w, &rules) ||
	    cni_load_rules(c, rules, &rs, &digest, NULL))
		return -1;
	sl_ruleset_free(&rs);
	if (digest != o.digest || strcmp(o.rules, rules))
		return cni_fail(CNI_ERR_RULES_DIFFER, "instance %s runs other rules than %s now "
				"compiles to (digest %016llx loaded, %016llx in the file): re-create the "
				"container (DEL, then ADD) to apply them", inst, rules,
				(unsigned long long)o.digest, (unsigned long long)digest);
	return 0;
}
