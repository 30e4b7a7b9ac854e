// SPDX-License-Identifier: GPL-2.0-only
/*
 * att_owner.c - the container of each attachment of a shared sluice-cni
 * instance (kernel/owners.c), for status and stats: by attachment record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

struct sl_att_owner *cli_att_owners(const char *inst)
{
	struct sl_att_owner *t;

	return sl_owners_table(inst, &t) ? NULL : t;
}

void cli_att_owner_show(const struct sl_att_owner *t, uint32_t k, struct sl_json *j)
{
	const struct sl_att_owner *o = sl_owner_of(t, k, NULL);

	if (j) {
		if (!o)
			return;
		sl_json_kstr(j, "container", o->id);
		sl_json_kstr(j, "container_ifname", o->ifname);
		sl_json_kstr(j, "pod_namespace", o->pod_ns[0] ? o->pod_ns : NULL);
		sl_json_kstr(j, "pod_name", o->pod_name[0] ? o->pod_name : NULL);
		return;
	}
	if (o)
		printf("  container %.12s%s%s%s%s", o->id, o->pod_ns[0] || o->pod_name[0] ? " pod " : "",
		       o->pod_ns, o->pod_ns[0] && o->pod_name[0] ? "/" : "", o->pod_name);
}
