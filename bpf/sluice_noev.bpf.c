// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice_noev.bpf.c - sluice.bpf.c with the event code compiled out
 * (bpf/events.h under SL_NO_EVENTS): the "no events" column of `make bench`,
 * measured side by side with sluice.bpf.c on the same maps, to show that the
 * event code costs nothing on a path whose events are off; never attached.
 */
#define SL_NO_EVENTS 1
#include "sluice.bpf.c"
