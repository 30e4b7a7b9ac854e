// SPDX-License-Identifier: GPL-2.0-only
/*
 * common.c - the kernel side's messages (stderr, libbpf's with -v), hook and kind names
 */
#include "kernel/internal.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void sl_loader_verbose(bool on)
{
	verbose = on;
	libbpf_set_print(libbpf_print);
}

__attribute__((format(printf, 1, 2)))
void slk_err(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *sl_hook_name(enum sl_hook h)
{
	switch (h) {
	case SL_HOOK_TC_EGRESS:  return "tc-egress";
	case SL_HOOK_TC_INGRESS: return "tc-ingress";
	case SL_HOOK_XDP:        return "xdp";
	case SL_HOOK_CGROUP:     return "cgroup";
	case SL_HOOK_DNS:        return "dns-learn";
	default:                 return "none";
	}
}

const char *sl_att_kind_name(enum sl_att_kind k)
{
	switch (k) {
	case SL_ATT_TCX:    return "tcx";
	case SL_ATT_CLSACT: return "clsact";
	case SL_ATT_XDP:    return "xdp";
	case SL_ATT_CGROUP: return "cgroup";
	default:            return "?";
	}
}

double slk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
