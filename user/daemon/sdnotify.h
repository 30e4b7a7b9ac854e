/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SL_DAEMON_SDNOTIFY_H
#define SL_DAEMON_SDNOTIFY_H
/* "READY=1", "RELOADING=1", "STOPPING=1" ... to systemd, if it asked (NOTIFY_SOCKET). */
void sl_sd_notify(const char *msg);
#endif
