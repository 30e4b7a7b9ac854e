// SPDX-License-Identifier: GPL-2.0-only
/*
 * drain.c - draining the old generation's big tries in the background
 */
#include "kernel/internal.h"

/* Entries of a map, from its fdinfo (0 if unknown). */
static long slk_map_entries(int fd)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;        /* sized to the image: about its entries */
}

int sl_map_drain(int fd, size_t key_sz)
{
	unsigned char key[64];
	long n = 0;

	if (key_sz > sizeof(key))
		return -EINVAL;
	/* every old program has finished: TC/XDP/cgroup programs run inside
	 * RCU read-side sections, and this waits for a grace period */
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	while (!bpf_map_get_next_key(fd, NULL, key)) {
		if (bpf_map_delete_elem(fd, key))
			return -errno;
		if (++n % SL_DRAIN_BATCH == 0)
			usleep(SL_DRAIN_PAUSE_US);
	}
	return 0;
}

/*
 * The old generation's tries, once no program uses them: freeing a trie of
 * 10^6 nodes is one long loop in a kernel worker (50-70 ms here, during
 * which a CPU runs nothing else: a stall for whatever that CPU was
 * forwarding; `make bench` section 6).  Big ones are emptied instead, 256
 * entries every 2 ms, by a detached child process, so the final free is of
 * an empty trie (1e6 entries: ~9 s in the background, no gap over the
 * baseline).  The command returns at once; the child exits when done.
 */
void slk_drain_old(struct sl_instance *cur)
{
	int fds[3] = { cur->dst4_fd, cur->dst6_fd, cur->ports_fd };
	size_t ksz[3] = { sizeof(struct sl_lpm4_key), sizeof(struct sl_lpm6_key),
			  sizeof(struct sl_port_key) };
	long total = 0;
	pid_t pid;

	for (int i = 0; i < 3; i++)
		total += slk_map_entries(fds[i]);
	if (total < SL_DRAIN_MIN)
		return;
	pid = fork();
	if (pid > 0)
		waitpid(pid, NULL, 0);  /* the child forks the drainer and exits */
	if (pid != 0)
		return;                 /* parent (or fork failed: freed at once) */
	/* child: keep only the three maps, detached from the caller's
	 * terminal, pipes and instance lock */
	setsid();
	if (fork() != 0)
		_exit(0);               /* the grandchild is reparented, never a zombie */
	for (int i = 0; i < 3; i++)
		fds[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 1000) : -1;
	close_range(3, 999, 0);
	close_range(1003, ~0U, 0);
	{
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
	}
	for (int i = 0; i < 3; i++)

		if (fds[i] >= 0)
			sl_map_drain(fds[i], ksz[i]);
	_exit(0);
}
