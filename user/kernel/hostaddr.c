// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostaddr.c - the host's own addresses for the ingress-side hooks (xdp,
 * tc-ingress): traffic to them is the host's, not egress, and is passed as
 * control unless the ruleset says "host filter;" (docs/rules.md).  Filled
 * by every apply from the addresses of the network namespaces of the
 * instance's ingress attachments; `sluice run` refreshes it as they change.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kernel/journal.h"

static bool ingress_side(enum sl_hook h)
{
	return h == SL_HOOK_XDP || h == SL_HOOK_TC_INGRESS;
}

/* The addresses of the current network namespace into @keys (at most @max). */
static size_t here(struct sl_addr_key *keys, size_t n, size_t max)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return n;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		memset(&keys[n], 0, sizeof(keys[n]));
		if (i->ifa_addr->sa_family == AF_INET) {
			keys[n].family = 4;
			memcpy(keys[n].addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			n++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			keys[n].family = 6;
			memcpy(keys[n].addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			n++;
		}
	}
	freeifaddrs(ifa);
	return n;
}

/* The addresses of every namespace an ingress attachment of @att is in. */
static size_t collect(const struct sl_attach *att, size_t natt, struct sl_addr_key *keys)
{
	char seen[SL_MAX_ATTACH][SL_IFNAME_LEN];
	size_t nseen = 0, n = 0;

	for (size_t k = 0; k < natt; k++) {
		bool dup = false;
		int saved;

		if (!ingress_side(att[k].hook))
			continue;
		for (size_t j = 0; j < nseen && !dup; j++)
			dup = !strncmp(seen[j], att[k].netns, SL_IFNAME_LEN);
		if (dup)
			continue;
		memcpy(seen[nseen++], att[k].netns, SL_IFNAME_LEN);
		if (slk_netns_enter(att[k].netns, &saved))
			continue;
		n = here(keys, n, SL_HOST_ADDRS);
		sl_netns_leave(saved);
	}
	return n;
}

int slk_host_addrs_fill(int fd, const struct sl_attach *att, size_t natt, bool fresh)
{
	struct sl_addr_key keys[SL_HOST_ADDRS], old[SL_HOST_ADDRS], k, *prev = NULL;
	size_t n = collect(att, natt, keys), nold = 0;
	__u8 one = 1;

	while (!fresh && nold < SL_HOST_ADDRS && !bpf_map_get_next_key(fd, prev, &k)) {
		old[nold] = k;
		prev = &old[nold++];
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY))
			return -errno;
	/* and the ones that went away */
	for (size_t j = 0; j < nold; j++) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = !memcmp(&keys[i], &old[j], sizeof(old[j]));
		if (!keep)
			bpf_map_delete_elem(fd, &old[j]);
	}
	return 0;
}

int sl_host_addrs_refresh(const char *inst)
{
	struct sl_attach att[SL_MAX_ATTACH];
	int afd = slk_obj_get(inst, "attachments"), hfd = slk_obj_get(inst, "host_addrs"), e = -ENOENT;

	if (afd >= 0 && hfd >= 0 && !(e = sl_read_attach(afd, att)))
		e = slk_host_addrs_fill(hfd, att, SL_MAX_ATTACH, false);
	if (afd >= 0)
		close(afd);
	if (hfd >= 0)
		close(hfd);
	return e;
}
