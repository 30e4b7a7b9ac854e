/* SPDX-License-Identifier: GPL-2.0-only */
/* sdnotify.c - systemd's notify protocol for `sluice run` (Type=notify): one
 * datagram to $NOTIFY_SOCKET, nothing when it is not set. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sdnotify.h"

void sl_sd_notify(const char *msg)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t l;
	int fd;

	if (!p || (p[0] != '/' && p[0] != '@') || (l = strlen(p)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, p, l);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l));
	close(fd);
}
