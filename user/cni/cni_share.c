// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_share.c - containers whose rules are the same share one sluice
 * instance: one per (network, compiled rules, hook, host mode, network
 * namespace of the host side), named from them.  ADD joins the container's
 * host-side veth to the instance's program (sl_attach_join: no verifier
 * run), or applies the rules when there is no instance yet (or its table
 * has no free slot: a new generation then); the container is recorded in
 * the instance's "owners" map (container id, interface, netns, pod) after
 * its attach.  DEL detaches its veth; the instance goes with its last
 * attachment (sl_detach, under the instance lock, so that a concurrent ADD
 * either joins before, and keeps it, or applies a new one after).
 * tc-ingress only: tc-egress attachments are in each container's own
 * namespace, where interface indexes repeat (cni_attach.c, one instance
 * per container).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cni/cni.h"

/* "cni-" + up to 12 of the network name's [a-z0-9] + "-" + 12 hex digits. */
static void share_name(const struct cni_conf *c, uint64_t digest, bool host_pass,
		       char out[SL_INST_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL, v[4];
	struct stat st;
	char pre[13];
	size_t n = 0;

	v[0] = digest;
	v[1] = (uint64_t)c->hook | (uint64_t)host_pass << 8;
	v[2] = stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
	v[3] = 0;
	for (const char *p = c->name ? c->name : "";; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
		if (!*p)
			break;
	}
	for (size_t i = 0; i < sizeof(v); i++) {
		h ^= ((const unsigned char *)v)[i];
		h *= 0x100000001b3ULL;
	}
	for (const char *p = c->name ? c->name : ""; *p && n < sizeof(pre) - 1; p++) {
		char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			pre[n++] = ch;
	}
	pre[n] = 0;
	snprintf(out, SL_INST_LEN + 1, "cni-%s%s%012llx", pre, n ? "-" : "",
		 (unsigned long long)(h & 0xffffffffffffULL));
}

/* The shared instance that holds container @id's @ifname (0), or 1 if none. */
static int find_owner(const char *id, const char *ifname, char inst[SL_INST_LEN + 1],
		      struct sl_att_owner *o)
{
	char **names = NULL;
	size_t n = 0;
	int found = 1;

	if (sl_instance_list(&names, &n))
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (found && !strncmp(names[i], "cni-", 4) && sl_owners_get(names[i], id, ifname, o) == 0) {
			snprintf(inst, SL_INST_LEN + 1, "%s", names[i]);
			found = 0;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

static int count_one(const struct sl_att_owner *o, void *ctx)
{
	(void)o;
	(void)ctx;
	return 1;
}

/* Remove container @o's attachment from @inst, and its owner entry; the
 * instance goes with its last attachment.  0 or -errno (messages captured). */
static int share_detach(const char *inst, const struct sl_att_owner *o)
{
	struct sl_detach_opts d = { .dev = o->dev, .hook = SL_HOOK_TC_INGRESS };
	char p[256];
	struct stat st;
	int e;

	cni_capture_begin();
	e = sl_detach(inst, &d);
	if (e == -ENOENT)
		e = 0;          /* its record is gone already (pruned with its veth) */
	if (!e)
		sl_owners_del(inst, o->id, o->ifname);
	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s", inst);
	/* no container left, but records (of veths that went, of an ADD killed
	 * before it recorded its owner): the live ones stay, the rest go */
	if (!e && stat(p, &st) == 0 && sl_owners_each(inst, count_one, NULL) == 0)
		e = sl_prune(inst);
	cni_capture_end();
	return e;
}

static void fill_owner(const struct cni_env *env, const struct cni_who *w, const char *dev,
		       uint32_t rec, struct sl_att_owner *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", env->containerid);
	snprintf(o->ifname, sizeof(o->ifname), "%s", env->ifname);
	snprintf(o->netns, sizeof(o->netns), "%s", env->netns);
	snprintf(o->pod_ns, sizeof(o->pod_ns), "%s", w->pod_ns);
	snprintf(o->pod_name, sizeof(o->pod_name), "%s", w->pod_name);
	snprintf(o->dev, sizeof(o->dev), "%s", dev);
	o->rec = rec;
	o->since = (uint64_t)time(NULL);
}

/* The instance's own owner record (kind "cni", no container): what
 * `sluice status` and `sluice gc` know it by; written before its first apply. */
static int instance_owner(const char *inst, const struct cni_env *env, const struct cni_conf *c,
			  const char *rules, const char *dev, uint64_t digest)
{
	struct sl_owner o;
	int e;

	if (sl_owner_get(inst, &o) == 0)
		return 0;
	memset(&o, 0, sizeof(o));
	snprintf(o.kind, sizeof(o.kind), "cni");
	snprintf(o.network, sizeof(o.network), "%s", c->name ? c->name : "");
	/* the first container's: alive while this ADD runs (sl_owner_stale) */
	snprintf(o.netns, sizeof(o.netns), "%s", env->netns);
	snprintf(o.rules, sizeof(o.rules), "%s", rules);
	snprintf(o.hook, sizeof(o.hook), "%s", sl_hook_name(c->hook));
	snprintf(o.dev, sizeof(o.dev), "%s", dev);
	o.digest = digest;
	o.since = (uint64_t)time(NULL);
	cni_capture_begin();
	e = sl_owner_set(inst, &o);
	cni_capture_end();
	return e;
}

/*
 * Join, or apply when there is nothing to join; *rec: the record.  A file
 * read without its settle wait (@st->check) is checked before a join, or by
 * the apply once its programs are loaded (still_valid): -ESTALE with
 * @st->changed if it changed, nothing attached.
 */
static int attach(const struct cni_conf *c, const struct sl_ruleset *rs, const char *inst,
		  const char *dev, uint32_t *rec, struct sl_settle *st)
{
	const char *devs[1] = { dev };
	struct sl_apply_opts ao = { .instance = inst, .devs = devs, .ndevs = 1, .hook = c->hook,
				    .join = true, .events_kib = c->events_kib,
				    .size_to_rules = true };
	struct sl_apply_report rep;
	struct stat sb;
	char dir[PATH_MAX];
	int e = -ENOENT;

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s/config", inst);
	cni_capture_begin();
	if (!st->check || stat(dir, &sb) == 0) {       /* something to join */
		if (st->check && !sl_settle_check(st)) {
			cni_capture_end();
			return -ESTALE;
		}
		e = sl_attach_join(&ao, rec);
	}
	if (e == -ENOENT || e == -EAGAIN) {
		e = sl_apply_settled(rs, &ao, &rep, st);
		if (!e)
			e = sl_attach_record(inst, c->hook, dev, rec);
	}
	cni_capture_end();
	return e;
}

/*
 * The fast way to a container's instance: a stamp of its rules file's
 * identity (device, inode, size, modification and change times) and of the
 * configuration that shapes the instance, recorded in the instance by the
 * ADD that read and compiled the file.  The same stamp means the same file
 * content: the file is neither read nor compiled again (sluice reads rules
 * files stably, which takes 25 ms and more).  A file changed within the last
 * 2 s has no stamp (its times may not show a change yet): it is read.
 */
static int rules_stamp(const struct cni_conf *c, const char *rules, uint64_t *stamp)
{
	struct stat st, ns;
	struct timespec now;
	uint64_t h = 0xcbf29ce484222325ULL, v[12];

	clock_gettime(CLOCK_REALTIME, &now);
	if (stat(rules, &st) || stat("/proc/self/ns/net", &ns) || now.tv_sec - st.st_ctim.tv_sec < 2 ||
	    now.tv_sec - st.st_mtim.tv_sec < 2)
		return -1;
	v[0] = st.st_dev; v[1] = st.st_ino; v[2] = (uint64_t)st.st_size;
	v[3] = (uint64_t)st.st_mtim.tv_sec; v[4] = (uint64_t)st.st_mtim.tv_nsec;
	v[5] = (uint64_t)st.st_ctim.tv_sec; v[6] = (uint64_t)st.st_ctim.tv_nsec;
	v[7] = (uint64_t)c->host; v[8] = (uint64_t)(int64_t)c->mode; v[9] = (uint64_t)c->hook;
	v[10] = ns.st_ino; v[11] = 0x73746d70;
	for (const char *p = c->name ? c->name : "";; p++) {
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		if (!*p)
			break;
	}
	for (const char *p = rules;; p++) {
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		if (!*p)
			break;
	}
	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ ((const unsigned char *)v)[i]) * 0x100000001b3ULL;
	*stamp = h;
	return 0;
}

/* The instance recorded with @stamp (0), or 1. */
static int stamp_find(uint64_t stamp, char inst[SL_INST_LEN + 1])
{
	char **names = NULL;
	size_t n = 0;
	int found = 1;

	if (sl_instance_list(&names, &n))
		return 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t s;

		if (found && !strncmp(names[i], "cni-", 4) && sl_owners_stamp_get(names[i], &s) == 0 &&
		    s == stamp) {
			snprintf(inst, SL_INST_LEN + 1, "%s", names[i]);
			found = 0;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

/* The slow way: read and compile the rules (an error fails ADD), join or apply. */
static int add_rules(const struct cni_env *env, const struct cni_conf *c, const char *rules,
		     const char *dev, char inst[SL_INST_LEN + 1], uint32_t *rec)
{
	struct sl_ruleset rs;
	struct sl_settle st = { NULL, false };
	uint64_t digest, s0 = 0, s1 = 0;
	bool stamped = rules_stamp(c, rules, &s0) == 0, settle_first = false;
	char torn[SL_INST_LEN + 1] = "";
	int e;

	/* the settle wait of the stable read runs beside the verifier (attach) */
again:
	if (cni_load_rules(c, rules, &rs, &digest, settle_first ? NULL : &st.check))
		return -1;
	share_name(c, digest, rs.host_pass, inst);
	snprintf(cni_shared_inst, sizeof(cni_shared_inst), "%s", inst);
	if ((e = instance_owner(inst, env, c, rules, dev, digest))) {
		sl_rcheck_free(st.check);
		sl_ruleset_free(&rs);
		return cni_fail(CNI_ERR_IO, "instance %s: cannot record its owner: %s (see details)",
				inst, strerror(-e));
	}
	e = attach(c, &rs, inst, dev, rec, &st);
	sl_rcheck_free(st.check);
	st.check = NULL;
	sl_ruleset_free(&rs);
	if (e == -ESTALE && st.changed && !settle_first) {
		/* changed while it was read: nothing attached; read it again, stably */
		fprintf(stderr, "sluice-cni: %s changed while it was read (nothing was attached); "
			"reading it again\n", rules);
		snprintf(torn, sizeof(torn), "%s", inst);
		settle_first = true;
		goto again;
	}
	/* the owner record of an instance named after a read that changed under
	 * it, and never loaded, goes (one of the same name is this ADD's own) */
	if (torn[0] && strcmp(torn, inst)) {
		char p[PATH_MAX];
		struct stat sb;

		snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/config", torn);
		if (stat(p, &sb) && errno == ENOENT)
			sl_owner_clear(torn);
	}
	if (e)
		return cni_fail(e == -EAGAIN || e == -EBUSY ? CNI_ERR_AGAIN : CNI_ERR_ATTACH,
				"cannot attach sluice (%s, instance %s) to %s: %s; the container was not "
				"started unfiltered (see details; sluice status)", sl_hook_name(c->hook),
				inst, dev, strerror(-e));
	/* the file read was the file stamped: the next ADD may skip the read */
	if (stamped && rules_stamp(c, rules, &s1) == 0 && s0 == s1)
		sl_owners_stamp_set(inst, s0);
	return 0;
}

/* The fast way (rules_stamp): join the stamped instance; 1 if it cannot. */
static int add_stamped(const struct cni_conf *c, const char *rules, const char *dev,
		       char inst[SL_INST_LEN + 1], uint32_t *rec)
{
	const char *devs[1] = { dev };
	struct sl_apply_opts ao = { .instance = inst, .devs = devs, .ndevs = 1, .hook = c->hook,
				    .join = true };
	uint64_t stamp;
	int e;

	if (rules_stamp(c, rules, &stamp) || stamp_find(stamp, inst))
		return 1;
	cni_capture_begin();
	e = sl_attach_join(&ao, rec);
	cni_capture_end();
	if (e)
		return 1;       /* nothing joined: the slow way says why, or applies */
	snprintf(cni_shared_inst, sizeof(cni_shared_inst), "%s", inst);
	return 0;
}

int cni_share_add(const struct cni_env *env, const struct cni_conf *c)
{
	char inst[SL_INST_LEN + 1], old[SL_INST_LEN + 1], dev[16];
	struct sl_att_owner o;
	struct cni_who w;
	const char *rules;
	uint32_t rec = 0;
	int e;

	if (cni_need_env(env, true) || cni_need_prev(c, "ADD") || cni_find_dev(env, c, dev))
		return -1;
	if (cni_who(env, c, &w) || cni_select_rules(c, &w, &rules))
		return -1;
	/* an ADD of this container again without its DEL (runtime restart): start clean */
	if (find_owner(env->containerid, env->ifname, old, &o) == 0 && (e = share_detach(old, &o)))
		return cni_fail(CNI_ERR_ATTACH, "instance %s: cannot remove what an earlier ADD of "
				"this container left: %s; retry, or: sluice detach --instance %s --dev %s",
				old, strerror(-e), old, o.dev);
	if (add_stamped(c, rules, dev, inst, &rec) && add_rules(env, c, rules, dev, inst, &rec))
		return -1;
	fill_owner(env, &w, dev, rec, &o);
	cni_capture_begin();
	e = sl_owners_set(inst, &o);
	cni_capture_end();
	if (e) {
		share_detach(inst, &o);
		return cni_fail(CNI_ERR_IO, "instance %s: cannot record container %.12s: %s; it was "
				"detached again (see details)", inst, env->containerid, strerror(-e));
	}
	return cni_print_prev(c);
}

int cni_share_del(const struct cni_env *env, const struct cni_conf *c)
{
	char inst[SL_INST_LEN + 1];
	struct sl_att_owner o;
	int e;

	(void)c;
	if (find_owner(env->containerid, env->ifname, inst, &o))
		return 1;
	snprintf(cni_shared_inst, sizeof(cni_shared_inst), "%s", inst);
	if ((e = share_detach(inst, &o)))
		return cni_fail(e == -EAGAIN || e == -EBUSY ? CNI_ERR_AGAIN : CNI_ERR_IO,
				"instance %s: cannot detach container %.12s (%s): %s; retry, or: sluice "
				"detach --instance %s --dev %s", inst, env->containerid, o.dev,
				strerror(-e), inst, o.dev);
	return 0;
}

int cni_share_check(const struct cni_env *env, const struct cni_conf *c)
{
	char inst[SL_INST_LEN + 1], want[SL_INST_LEN + 1], dev[16];
	struct sl_att_owner o;
	struct sl_instance in;
	struct sl_attach *att;
	struct sl_ruleset rs;
	struct cni_who w;
	const char *rules;
	uint64_t digest;
	bool live = false;
	int e;

	if (find_owner(env->containerid, env->ifname, inst, &o))
		return 1;
	att = calloc(SL_MAX_ATTACH, sizeof(*att));
	cni_capture_begin();
	e = att ? sl_instance_open(inst, &in) : -ENOMEM;
	if (!e) {
		if (sl_read_attach(in.attach_fd, att) == 0 && o.rec < SL_MAX_ATTACH &&
		    !strncmp(att[o.rec].ifname, o.dev, SL_IFNAME_LEN))
			live = sl_attach_alive(&in, &att[o.rec]);
		sl_instance_close(&in);
	}
	cni_capture_end();
	free(att);
	if (!live)
		return cni_fail(CNI_ERR_NOT_ATTACHED, "instance %s: the program is no longer attached "
				"to %s: the container runs unfiltered; re-create it (DEL, then ADD)",
				inst, o.dev);
	if (cni_find_dev(env, c, dev))
		return -1;
	if (strcmp(dev, o.dev))
		return cni_fail(CNI_ERR_NOT_ATTACHED, "instance %s is attached to %s, the container's "
				"host side is %s now: re-create the container", inst, o.dev, dev);
	if (cni_who(env, c, &w) || cni_select_rules(c, &w, &rules) ||
	    cni_load_rules(c, rules, &rs, &digest, NULL))
		return -1;
	share_name(c, digest, rs.host_pass, want);
	sl_ruleset_free(&rs);
	if (strcmp(want, inst))
		return cni_fail(CNI_ERR_RULES_DIFFER, "container %.12s runs instance %s, but its rules "
				"(%s) now make instance %s (the file or the configuration changed): "
				"re-create the container (DEL, then ADD) to apply them",
				env->containerid, inst, rules, want);
	return 0;
}

struct gc_ctx {
	json_t *valid;
	struct sl_att_owner *gone;
	size_t ngone;
};

static int gc_one(const struct sl_att_owner *o, void *arg)
{
	struct gc_ctx *g = arg;
	size_t k;
	json_t *a;

	json_array_foreach(g->valid, k, a) {
		const char *id = json_string_value(json_object_get(a, "containerID"));
		const char *ifn = json_string_value(json_object_get(a, "ifname"));

		if (id && !strcmp(id, o->id) && (!ifn || !strcmp(ifn, o->ifname)))
			return 0;
	}
	if (g->ngone < SL_MAX_ATTACH)
		g->gone[g->ngone++] = *o;
	return 0;
}

int cni_share_gc(const struct cni_conf *c)
{
	struct gc_ctx g = { .valid = c->valid };
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	g.gone = calloc(SL_MAX_ATTACH, sizeof(*g.gone));
	if (!g.gone || sl_instance_list(&names, &n)) {
		free(g.gone);
		return cni_fail(CNI_ERR_IO, "%s: cannot list the instances", SL_PIN_ROOT);
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_owner io;

		g.ngone = 0;
		if (!rc && !strncmp(names[i], "cni-", 4) && sl_owner_get(names[i], &io) == 0 &&
		    !io.id[0] && !strcmp(io.network, c->name ? c->name : "") &&
		    sl_owners_each(names[i], gc_one, &g) == 0)
			for (size_t k = 0; k < g.ngone && !rc; k++)
				if (share_detach(names[i], &g.gone[k]))
					rc = cni_fail(CNI_ERR_IO, "GC: cannot detach container %.12s from "
						      "instance %s; retry", g.gone[k].id, names[i]);
		free(names[i]);
	}
	free(names);
	free(g.gone);
	return rc;
}
