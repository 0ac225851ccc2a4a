/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"
#include "rpc.h"

bool util_write_file_atomic(const char *path, const char *data, mode_t mode, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
	size_t len = strlen(data), off = 0;
	int fd;

	if (g_mkdir_with_parents(dir, 0755) < 0)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			errno = e;
			goto fail;
		}
		off += n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return true;
fail:
	virt_error(err, VERR_SYSTEM_ERROR, _("cannot write '%s': %s"), path, g_strerror(errno));
	return false;
}

void util_remove_tree(const char *path)
{
	g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
	const char *n;

	if (d) {
		while ((n = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, n, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				util_remove_tree(child);
			else
				g_unlink(child);
		}
	}
	g_rmdir(path);
}

unsigned long long util_process_start_time(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *stat = NULL;

	if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
		return 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	char *p = strrchr(stat, ')');
	if (!p)
		return 0;
	unsigned long long start = 0;
	/* After ')': state(3) ... starttime is field 22, i.e. the 20th here. */
	char *tok = p + 1;
	for (int field = 3; field <= 22 && tok; field++) {
		while (*tok == ' ')
			tok++;
		if (field == 22) {
			start = g_ascii_strtoull(tok, NULL, 10);
			break;
		}
		tok = strchr(tok, ' ');
	}
	return start;
}

bool util_check_name(const char *what, const char *name, GError **err)
{
	if (!name || !*name) {
		virt_error(err, VERR_XML_ERROR, _("%s name is missing"), what);
		return false;
	}
	if (strlen(name) > 200 || name[0] == '.' || strchr(name, '/')) {
		virt_error(err, VERR_XML_ERROR,
			   _("%s name '%s' is not usable: it must not contain '/', start with '.' "
			     "or be longer than 200 bytes"),
			   what, name);
		return false;
	}
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			virt_error(err, VERR_XML_ERROR, _("%s name contains a control character"),
				   what);
			return false;
		}
	}
	return true;
}
