/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt-compatible hook scripts: HOOKS_DIR/OBJECT and then every
 * executable in HOOKS_DIR/OBJECT.d/ (sorted), each run as
 * "SCRIPT NAME OP SUBOP -" with the object's XML on standard input.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

#define HOOK_OUTPUT_MAX (64 * 1024)

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Own process group, so that a timeout kills the hook's children too. */
static void hook_child_setup(gpointer data)
{
	(void)data;
	setsid();
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reads what is there; false at EOF or error. */
static bool drain(int fd, GString *buf)
{
	char tmp[4096];

	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n > 0) {
			if (buf->len < HOOK_OUTPUT_MAX)
				g_string_append_len(buf, tmp,
						    MIN(n, (ssize_t)(HOOK_OUTPUT_MAX - buf->len)));
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		return false;
	}
}

static bool run_one(const char *script, const char *name, const char *op, const char *subop,
		    const char *xml, int timeout_sec, GError **error)
{
	const char *argv[] = {script, name, op, subop ? subop : "-", "-", NULL};
	g_autoptr(GString) err_text = g_string_new(NULL);
	g_autoptr(GString) out_text = g_string_new(NULL);
	g_autoptr(GError) local = NULL;
	size_t xml_len = xml ? strlen(xml) : 0, xml_off = 0;
	int sv[2], out_fd = -1, err_fd = -1, pidfd;
	gint64 deadline;
	GPid pid;
	int status = 0;
	bool exited = false, timed_out = false;

	/*
	 * stdin is a socket, not a pipe: send(MSG_NOSIGNAL) survives a hook
	 * that never reads its input without touching the process's SIGPIPE.
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("socketpair failed: %s"), g_strerror(errno));
		return false;
	}
	shutdown(sv[1], SHUT_WR);
	if (!g_spawn_async_with_pipes_and_fds(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
					      hook_child_setup, NULL, sv[1], -1, -1, NULL, NULL, 0,
					      &pid, NULL, &out_fd, &err_fd, &local)) {
		close(sv[0]);
		close(sv[1]);
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_HOOK_FAILED,
			    _("cannot run hook %s: %s"), script, local->message);
		return false;
	}
	close(sv[1]);
	if (xml_len == 0)
		shutdown(sv[0], SHUT_WR);
	set_nonblock(out_fd);
	set_nonblock(err_fd);
	pidfd = kite_pidfd_open(pid);
	deadline = kite_deadline_ms(timeout_sec > 0 ? timeout_sec * 1000 : G_MAXINT / 2);

	while (!exited) {
		struct pollfd p[4];
		int n = 0, timeout;

		if (xml_off < xml_len)
			p[n++] = (struct pollfd){.fd = sv[0], .events = POLLOUT};
		if (out_fd >= 0)
			p[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
		if (err_fd >= 0)
			p[n++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
		if (pidfd >= 0)
			p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		/* without a pidfd, check for exit every 20 ms */
		timeout = kite_ms_left(deadline);
		if (pidfd < 0)
			timeout = MIN(timeout, 20);
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (xml_off < xml_len) {
			ssize_t w = send(sv[0], xml + xml_off, xml_len - xml_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0)
				xml_off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				xml_off = xml_len; /* the hook closed its stdin: fine */
			if (xml_off == xml_len)
				shutdown(sv[0], SHUT_WR);
		}
		if (out_fd >= 0 && !drain(out_fd, out_text)) {
			close(out_fd);
			out_fd = -1;
		}
		if (err_fd >= 0 && !drain(err_fd, err_text)) {
			close(err_fd);
			err_fd = -1;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		if (kite_ms_left(deadline) == 0) {
			timed_out = true;
			break;
		}
	}
	if (!exited) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		kite_wait_child(pid, 5000, &status);
	}
	/* whatever the hook wrote before it exited */
	if (err_fd >= 0)
		drain(err_fd, err_text);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	if (pidfd >= 0)
		close(pidfd);
	close(sv[0]);
	g_strstrip(err_text->str);
	err_text->len = strlen(err_text->str);

	if (timed_out) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_HOOK_TIMEOUT,
			    _("hook %s %s %s %s did not finish within %d s and was killed"), script,
			    name, op, subop ? subop : "-", timeout_sec);
		return false;
	}
	if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		g_autofree char *how =
		    exited && WIFEXITED(status)
			? g_strdup_printf(_("exit status %d"), WEXITSTATUS(status))
		    : exited && WIFSIGNALED(status)
			? g_strdup_printf(_("signal %d"), WTERMSIG(status))
			: g_strdup(_("an error while waiting for it"));

		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_HOOK_FAILED,
			    _("hook %s %s %s %s failed (%s): %s"), script, name, op,
			    subop ? subop : "-", how,
			    err_text->len ? err_text->str : _("no error output"));
		return false;
	}
	return true;
}

static bool word_valid(const char *w)
{
	return w && *w && !strchr(w, '/') && strcmp(w, ".") != 0 && strcmp(w, "..") != 0;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool kite_hook_run(const char *hooks_dir, const char *object, const char *name, const char *op,
		   const char *subop, const char *xml_stdin, int timeout_sec, GError **error)
{
	g_autoptr(GPtrArray) scripts = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *main_script = NULL, *dir_name = NULL, *dir_path = NULL;
	GDir *dir;

	if (!hooks_dir || !word_valid(object) || !name || !op) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_INVALID,
			    _("invalid hook request (object '%s')"), object ? object : "");
		return false;
	}
	main_script = g_build_filename(hooks_dir, object, NULL);
	/* hooks are optional: absent or not executable means "no hook" (as libvirt) */
	if (is_executable_file(main_script))
		g_ptr_array_add(scripts, g_steal_pointer(&main_script));
	dir_name = g_strconcat(object, ".d", NULL);
	dir_path = g_build_filename(hooks_dir, dir_name, NULL);
	dir = g_dir_open(dir_path, 0, NULL);
	if (dir) {
		g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
		const char *entry;

		while ((entry = g_dir_read_name(dir))) {
			g_autofree char *path = g_build_filename(dir_path, entry, NULL);

			if (entry[0] != '.' && is_executable_file(path))
				g_ptr_array_add(found, g_steal_pointer(&path));
		}
		g_dir_close(dir);
		g_ptr_array_sort(found, compare_strings);
		for (guint i = 0; i < found->len; i++)
			g_ptr_array_add(scripts, g_strdup(found->pdata[i]));
	}
	for (guint i = 0; i < scripts->len; i++) {
		if (!run_one(scripts->pdata[i], name, op, subop, xml_stdin, timeout_sec, error))
			return false;
	}
	return true;
}
