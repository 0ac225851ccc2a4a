/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Waiting for processes with a deadline: pidfds where the kernel has them. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netmodel-internal.h"

int kite_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

gint64 kite_deadline_ms(int timeout_ms)
{
	return g_get_monotonic_time() / 1000 + timeout_ms;
}

int kite_ms_left(gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time() / 1000;

	return left < 0 ? 0 : (int)MIN(left, (gint64)G_MAXINT);
}

/* A zombie counts as gone: its parent (not us) reaps it. */
bool kite_pid_alive(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *stat = NULL;
	const char *close_paren;

	if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
		return false;
	close_paren = strrchr(stat, ')');
	return !(close_paren && close_paren[1] == ' ' &&
		 (close_paren[2] == 'Z' || close_paren[2] == 'X'));
}

bool kite_wait_pid_gone(pid_t pid, int timeout_ms)
{
	gint64 deadline = kite_deadline_ms(timeout_ms);
	int fd = kite_pidfd_open(pid);

	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r;

		do {
			r = poll(&p, 1, kite_ms_left(deadline));
		} while (r < 0 && errno == EINTR);
		close(fd);
		return r > 0 || !kite_pid_alive(pid);
	}
	while (kite_pid_alive(pid)) {
		if (kite_ms_left(deadline) == 0)
			return false;
		g_usleep(20 * 1000);
	}
	return true;
}

bool kite_wait_child(pid_t pid, int timeout_ms, int *status)
{
	gint64 deadline = kite_deadline_ms(timeout_ms);
	int fd = kite_pidfd_open(pid);

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR) || kite_ms_left(deadline) == 0) {
			if (fd >= 0)
				close(fd);
			return r == pid;
		}
		if (fd >= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			poll(&p, 1, kite_ms_left(deadline));
		} else {
			g_usleep(10 * 1000);
		}
	}
}
