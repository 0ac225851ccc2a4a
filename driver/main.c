/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtkited: a libvirt-compatible daemon for kite. Unmodified libvirt
 * clients reach it as kite:///system (root) or kite:///session.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "domain.h"
#include "hooks.h"
#include "network.h"
#include "server.h"
#include "util.h"

#ifndef KITE_EMULATOR_PATH
#define KITE_EMULATOR_PATH "/usr/bin/kite"
#endif

static gboolean on_signal(gpointer opaque)
{
	log_info("%s received, exiting (running domains keep running)", (const char *)opaque);
	server_quit();
	return G_SOURCE_CONTINUE;
}

/* 1, 0, or -1 when it is neither a yes nor a no. */
static int parse_bool(const char *value)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(value, yes[i]) == 0)
			return 1;
		if (g_ascii_strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* key = value lines; '#' starts a comment. Unknown keys are errors so a
 * typo does not silently change nothing. */
static bool load_config(const char *path, char **state_root, GError **err)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, err))
		return false;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	int lineno = 0;
	for (char **l = lines; *l; l++) {
		lineno++;
		char *hash = strchr(*l, '#');
		if (hash)
			*hash = 0;
		char *line = g_strstrip(*l);
		if (!*line)
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    _("%s:%d: expected key = value"), path, lineno);
			return false;
		}
		*eq = 0;
		char *key = g_strstrip(line);
		char *value = g_strstrip(eq + 1);
		size_t vl = strlen(value);
		if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
			value[vl - 1] = 0;
			value++;
		}
		char **target = NULL;
		if (strcmp(key, "emulator") == 0)
			target = &cfg.emulator;
		else if (strcmp(key, "listen_dir") == 0)
			target = &cfg.listen_dir;
		else if (strcmp(key, "state_root") == 0)
			target = state_root;
		else if (strcmp(key, "etc_dir") == 0)
			target = &cfg.etc_dir;
		else if (strcmp(key, "run_dir") == 0)
			target = &cfg.run_dir;
		else if (strcmp(key, "log_dir") == 0)
			target = &cfg.log_dir;
		else if (strcmp(key, "log_file") == 0)
			target = &cfg.log_file;
		else if (strcmp(key, "pid_file") == 0)
			target = &cfg.pid_file;
		else if (strcmp(key, "hooks_dir") == 0)
			target = &cfg.hooks_dir;
		else if (strcmp(key, "hook_timeout") == 0) {
			char *end;
			long t = strtol(value, &end, 10);
			if (!*value || *end || t < 1 || t > 3600) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    _("%s:%d: hook_timeout must be 1 to 3600 seconds"),
					    path, lineno);
				return false;
			}
			if (cfg.hook_timeout < 0)
				cfg.hook_timeout = (int)t;
			continue;
		} else if (strcmp(key, "default_network") == 0) {
			int on = parse_bool(value);
			if (on < 0) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    _("%s:%d: default_network must be yes or no"), path,
					    lineno);
				return false;
			}
			if (cfg.default_network < 0)
				cfg.default_network = on;
			continue;
		} else if (strcmp(key, "timeout") == 0) {
			char *end;
			long t = strtol(value, &end, 10);
			if (*end || t < 0 || t > 86400 * 365) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    _("%s:%d: timeout must be a number of seconds"), path,
					    lineno);
				return false;
			}
			cfg.timeout = (int)t;
			continue;
		} else {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    _("%s:%d: unknown key '%s'"), path, lineno, key);
			return false;
		}
		/* Command-line options win over the file. */
		if (!*target)
			*target = g_strdup(value);
	}
	return true;
}

static bool write_pid_file(const char *path, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_mkdir_with_parents(dir, 0755);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || lockf(fd, F_TLOCK, 0) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    _("cannot lock pid file '%s': %s (is another virtkited running?)"),
			    path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, strlen(pid)) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    _("cannot write pid file '%s': %s"), path, g_strerror(errno));
		close(fd);
		return false;
	}
	/* The fd stays open to hold the lock for the daemon's lifetime. */
	return true;
}

int main(int argc, char **argv)
{
	gboolean version = FALSE;
	g_autofree char *config = NULL;
	g_autofree char *state_root = NULL;
	gboolean session = FALSE, system_mode = FALSE, verbose = FALSE;
	gboolean no_default_network = FALSE;
	int hook_timeout = G_MININT; /* G_MININT: not on the command line */
	GMainLoop *loop;
	g_autoptr(GError) err = NULL;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, KITE_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	/* Unset until the command line or the config file says otherwise. */
	cfg.hook_timeout = -1;
	cfg.default_network = -1;

	GOptionEntry entries[] = {
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"),
	     NULL},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log every call"), NULL},
	    {"config", 'f', 0, G_OPTION_ARG_FILENAME, &config,
	     N_("Read settings (key = value) from FILE"), N_("FILE")},
	    {"listen-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg.listen_dir,
	     N_("Create the sockets in DIR (default /run/libvirt)"), N_("DIR")},
	    {"state-root", 0, 0, G_OPTION_ARG_FILENAME, &state_root,
	     N_("Keep definitions in DIR/etc/kite and runtime state in DIR/run/kite"), N_("DIR")},
	    {"emulator", 0, 0, G_OPTION_ARG_FILENAME, &cfg.emulator,
	     N_("Path of the kite emulator"), N_("PATH")},
	    {"pid-file", 'p', 0, G_OPTION_ARG_FILENAME, &cfg.pid_file,
	     N_("Write the daemon's PID to FILE"), N_("FILE")},
	    {"log-file", 0, 0, G_OPTION_ARG_FILENAME, &cfg.log_file,
	     N_("Log to FILE instead of standard error"), N_("FILE")},
	    {"timeout", 't', 0, G_OPTION_ARG_INT, &cfg.timeout,
	     N_("Exit after SECS seconds without clients and running domains"), N_("SECS")},
	    {"hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg.hooks_dir,
	     N_("Run hook scripts from DIR (default: the etc directory's hooks/)"), N_("DIR")},
	    {"hook-timeout", 0, 0, G_OPTION_ARG_INT, &hook_timeout,
	     N_("Kill a hook script still running after SECS seconds (default 30)"), N_("SECS")},
	    {"no-default-network", 0, 0, G_OPTION_ARG_NONE, &no_default_network,
	     N_("Do not define libvirt's 'default' network on first start"), NULL},
	    {"session", 0, 0, G_OPTION_ARG_NONE, &session,
	     N_("Serve kite:///session (default when not root)"), NULL},
	    {"system", 0, 0, G_OPTION_ARG_NONE, &system_mode,
	     N_("Serve kite:///system (default for root)"), NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_summary(ctx, _("libvirt-compatible management daemon for kite"));
	g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
	g_option_context_set_translation_domain(ctx, GETTEXT_PACKAGE);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "virtkited: %s\n", err->message);
		return 2;
	}
	cfg.verbose = verbose;
	if (version) {
		printf("virtkited (kite) %s\n", KITE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, _("virtkited: unexpected argument '%s'\n"), argv[1]);
		return 2;
	}
	if (cfg.timeout < 0) {
		fprintf(stderr, _("virtkited: --timeout must not be negative\n"));
		return 2;
	}
	if (hook_timeout != G_MININT) {
		if (hook_timeout < 1 || hook_timeout > 3600) {
			fprintf(stderr, _("virtkited: --hook-timeout must be 1 to 3600 seconds\n"));
			return 2;
		}
		cfg.hook_timeout = hook_timeout;
	}
	if (no_default_network)
		cfg.default_network = 0;
	if (session && system_mode) {
		fprintf(stderr, _("virtkited: --session and --system exclude each other\n"));
		return 2;
	}
	cfg.session = session || (!system_mode && geteuid() != 0);
	if (config && !load_config(config, &state_root, &err)) {
		fprintf(stderr, "virtkited: %s\n", err->message);
		return 2;
	}
	if (cfg.log_file) {
		if (!log_open_file(cfg.log_file)) {
			fprintf(stderr, _("virtkited: cannot open log file '%s': %s\n"),
				cfg.log_file, g_strerror(errno));
			return 1;
		}
	}

	if (cfg.session) {
		const char *rt = g_get_user_runtime_dir();
		if (!cfg.listen_dir)
			cfg.listen_dir = g_build_filename(rt, "libvirt", NULL);
		if (state_root) {
			cfg.etc_dir =
			    cfg.etc_dir ?: g_build_filename(state_root, "etc", "kite", NULL);
			cfg.run_dir =
			    cfg.run_dir ?: g_build_filename(state_root, "run", "kite", NULL);
			cfg.log_dir =
			    cfg.log_dir ?: g_build_filename(state_root, "log", "kite", NULL);
		}
		if (!cfg.etc_dir)
			cfg.etc_dir = g_build_filename(g_get_user_config_dir(), "kite", NULL);
		if (!cfg.run_dir)
			cfg.run_dir = g_build_filename(rt, "kite", NULL);
		if (!cfg.log_dir)
			cfg.log_dir = g_build_filename(g_get_user_cache_dir(), "kite", "log", NULL);
	} else {
		const char *root = state_root ? state_root : "/";
		if (!cfg.listen_dir)
			cfg.listen_dir = g_strdup("/run/libvirt");
		if (!cfg.etc_dir)
			cfg.etc_dir = g_build_filename(root, "etc", "kite", NULL);
		if (!cfg.run_dir)
			cfg.run_dir = g_build_filename(root, "run", "kite", NULL);
		if (!cfg.log_dir)
			cfg.log_dir = g_build_filename(root, "var", "log", "kite", NULL);
	}
	if (!cfg.hooks_dir)
		cfg.hooks_dir = g_build_filename(cfg.etc_dir, "hooks", NULL);
	if (cfg.hook_timeout < 0)
		cfg.hook_timeout = HOOK_TIMEOUT_DEFAULT;
	/* Like libvirt's packages, only the system instance gets it. */
	if (cfg.default_network < 0)
		cfg.default_network = !cfg.session;
	if (!cfg.emulator)
		cfg.emulator = g_strdup(KITE_EMULATOR_PATH);
	if (!g_path_is_absolute(cfg.emulator)) {
		g_autofree char *cwd = g_get_current_dir();
		char *abs = g_build_filename(cwd, cfg.emulator, NULL);
		g_free(cfg.emulator);
		cfg.emulator = abs;
	}
	if (cfg.pid_file && !write_pid_file(cfg.pid_file, &err)) {
		fprintf(stderr, "virtkited: %s\n", err->message);
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	loop = g_main_loop_new(NULL, FALSE);
	daemon_set_main_loop(loop);
	g_unix_signal_add(SIGTERM, on_signal, "SIGTERM");
	g_unix_signal_add(SIGINT, on_signal, "SIGINT");
	g_unix_signal_add(SIGHUP, on_signal, "SIGHUP");

	networks_init();
	networks_resume();
	if (cfg.default_network)
		networks_define_default();
	domains_init();
	if (!server_start(domains_busy, &err)) {
		log_info("%s", err->message);
		domains_release();
		if (cfg.pid_file)
			g_unlink(cfg.pid_file);
		return 1;
	}
	log_info("virtkited %s serving %s (emulator %s, state in %s and %s)", KITE_VERSION,
		 cfg.session ? "kite:///session" : "kite:///system", cfg.emulator, cfg.etc_dir,
		 cfg.run_dir);
	g_main_loop_run(loop);

	domains_answer_pending();
	server_stop();
	domains_release();
	if (cfg.pid_file)
		g_unlink(cfg.pid_file);
	g_main_loop_unref(loop);
	return 0;
}
