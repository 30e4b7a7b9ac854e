// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_gc.c - the two commands of CNI 1.1 that concern no single container.
 * GC: remove this network's instances whose attachment is not in
 * "cni.dev/valid-attachments" (the runtime's list of what still exists).
 * STATUS: can ADD succeed now?  Root, a bpffs (or a place to mount one),
 * and rules files that load (the default and every file of "rulesBy").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cni/cni.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static bool listed(json_t *valid, const struct sl_owner *o)
{
	size_t k;
	json_t *a;

	json_array_foreach(valid, k, a) {
		const char *id = json_string_value(json_object_get(a, "containerID"));
		const char *ifn = json_string_value(json_object_get(a, "ifname"));

		if (id && !strcmp(id, o->id) && (!ifn || !strcmp(ifn, o->ifname)))
			return true;
	}
	return false;
}

int cni_gc(const struct cni_conf *c)
{
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!c->valid)
		return cni_fail(CNI_ERR_CONFIG, "GC without \"cni.dev/valid-attachments\": the runtime "
				"passes the attachments that still exist");
	if (cni_share_gc(c))
		return -1;
	if (sl_instance_list(&names, &n))
		return cni_fail(CNI_ERR_IO, "%s: cannot list the instances", SL_PIN_ROOT);
	for (size_t i = 0; i < n; i++) {
		struct sl_owner o;

		/* shared instances (no container id of their own): cni_share_gc */
		if (!rc && !sl_owner_get(names[i], &o) && !strcmp(o.kind, "cni") && o.id[0] &&
		    !strcmp(o.network, c->name ? c->name : "") && !listed(c->valid, &o) &&
		    cni_remove(names[i]))
			rc = cni_fail(CNI_ERR_IO, "GC: cannot remove instance %s; retry, or: sluice "
				      "detach --all --instance %s", names[i], names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int cni_status(const struct cni_conf *c)
{
	struct sl_diags d = { 0 };
	struct sl_ruleset rs;
	struct statfs st;
	int e;

	if (geteuid() != 0)
		return cni_fail(CNI_ERR_UNAVAILABLE, "sluice-cni runs as uid %d: loading BPF programs "
				"needs root (CAP_BPF, CAP_NET_ADMIN)", (int)geteuid());
	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type != BPF_FS_MAGIC && access("/sys/fs", W_OK))
		return cni_fail(CNI_ERR_UNAVAILABLE, "/sys/fs/bpf is not a bpffs and cannot be mounted "
				"here: mount it (mount -t bpf bpf /sys/fs/bpf)");
	if ((!c->rules || !c->rules[0]) && !c->rules_by)
		return cni_fail(CNI_ERR_UNAVAILABLE, "the configuration of sluice-cni has no \"rules\"");
	/* the default and every file of the mapping */
	for (size_t i = 0; i <= json_array_size(c->rules_by); i++) {
		const char *f = i == 0 ? c->rules :
				json_string_value(json_object_get(json_array_get(c->rules_by, i - 1), "rules"));

		if (!f || !f[0])
			continue;
		cni_capture_begin();
		e = sl_ruleset_load(f, &rs, &d);
		sl_diag_print(&d, stderr);
		cni_capture_end();
		sl_diag_free(&d);
		memset(&d, 0, sizeof(d));
		if (e)
			return cni_fail(CNI_ERR_UNAVAILABLE, "%s: the rules file does not load; containers "
					"cannot start on this network until it does (sluice check %s)", f, f);
		sl_ruleset_free(&rs);
	}
	return 0;
}
