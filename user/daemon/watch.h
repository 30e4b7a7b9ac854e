/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch.h - `sluice run` keeps its attachments (watch.c): an interface
 * deleted and created again with the same name, or a cgroup removed and
 * made again, is a new object the old attachment does not cover.
 */
#ifndef SL_WATCH_H
#define SL_WATCH_H

#include <stdbool.h>

#include "kernel/kernel.h"

/* An rtnetlink socket for link and address events in the namespace of
 * @ao's interfaces, for the run loop's epoll; -errno if none. */
int sl_watch_open(const struct sl_apply_opts *ao);
/* Read and drop what is queued on it. */
void sl_watch_drain(int fd);
#endif
