/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data-driven test of kite's network command line: each case in the case
 * file gives options and either the exact error message, the exact
 * "info network" text once the machine's NICs exist, or the exact stdout
 * of an option that prints and exits (model=help).
 *
 *   case: NAME
 *   args: -netdev user,id=a -device ...    (shell quoting)
 *   error: MESSAGE                         (\n for a line break)
 *   info:                                  (lines up to "end")
 *   stdout:                                (lines up to "end"; exit 0)
 */
#include "error.h"
#include "main-loop.h"
#include "net-cmdline.h"
#include "net.h"
#include "test-nic.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct Case {
	char *name;
	char *args;
	char *error;
	GString *info;
	GString *out;
	int line;
} Case;

static int apply(char **argv, GError **err)
{
	for (int i = 0; argv[i]; i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "-nodefaults")) {
			net_cmdline_set_nodefaults(true);
			continue;
		}
		const char *arg = argv[i + 1];
		if (!arg) {
			g_set_error(err, KITE_ERROR, 0, "%s: requires an argument", opt);
			return -1;
		}
		i++;
		int r;
		if (!strcmp(opt, "-net"))
			r = net_cmdline_net(arg, err);
		else if (!strcmp(opt, "-netdev"))
			r = net_cmdline_netdev(arg, err);
		else if (!strcmp(opt, "-nic"))
			r = net_cmdline_nic(arg, err);
		else if (!strcmp(opt, "-object")) {
			r = net_cmdline_object(arg, err);
			if (r == 0) {
				g_set_error(err, KITE_ERROR, 0, "object not handled: %s", arg);
				r = -1;
			}
		} else {
			g_set_error(err, KITE_ERROR, 0, "test: unknown option %s", opt);
			return -1;
		}
		if (r < 0)
			return -1;
	}
	return net_cmdline_finish(err);
}

static bool run_case(Case *c)
{
	char **argv = NULL;
	GError *err = NULL;
	bool ok = true;
	if (*c->args && !g_shell_parse_argv(c->args, NULL, &argv, &err)) {
		printf("not ok - %s (line %d): bad args: %s\n", c->name, c->line, err->message);
		return false;
	}
	if (!argv)
		argv = g_new0(char *, 1);

	if (c->out) {
		/* Printing options exit the process: run them in a child. */
		int pipefd[2];
		if (pipe(pipefd) < 0)
			abort();
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			dup2(pipefd[1], STDOUT_FILENO);
			close(pipefd[0]);
			GError *e = NULL;
			apply(argv, &e);
			fprintf(stderr, "did not exit: %s\n", e ? e->message : "no error");
			_exit(3);
		}
		close(pipefd[1]);
		GString *got = g_string_new(NULL);
		char buf[4096];
		ssize_t n;
		while ((n = read(pipefd[0], buf, sizeof(buf))) > 0)
			g_string_append_len(got, buf, n);
		close(pipefd[0]);
		int status;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		    strcmp(got->str, c->out->str)) {
			printf("not ok - %s (line %d): exit %d, stdout:\n%s---expected:\n%s",
			       c->name, c->line, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			       got->str, c->out->str);
			ok = false;
		}
		g_string_free(got, TRUE);
		g_strfreev(argv);
		return ok;
	}

	int r = apply(argv, &err);
	if (c->error) {
		if (r == 0 || strcmp(err->message, c->error)) {
			printf("not ok - %s (line %d):\n   got: %s\n  want: %s\n", c->name, c->line,
			       r == 0 ? "(success)" : err->message, c->error);
			ok = false;
		}
	} else if (r < 0) {
		printf("not ok - %s (line %d): unexpected error: %s\n", c->name, c->line,
		       err->message);
		ok = false;
	} else if (c->info) {
		GPtrArray *nics = test_nic_create_all();
		GString *got = g_string_new(NULL);
		net_info_network(got);
		if (strcmp(got->str, c->info->str)) {
			printf("not ok - %s (line %d): info network:\n%s---expected:\n%s", c->name,
			       c->line, got->str, c->info->str);
			ok = false;
		}
		g_string_free(got, TRUE);
		net_cleanup_all();
		g_ptr_array_set_free_func(nics, (GDestroyNotify)test_nic_free);
		g_ptr_array_free(nics, TRUE);
	}
	if (ok)
		printf("ok - %s\n", c->name);
	g_clear_error(&err);
	net_cleanup_all();
	net_cmdline_reset();
	g_strfreev(argv);
	return ok;
}

static void case_clear(Case *c)
{
	g_free(c->name);
	g_free(c->args);
	g_free(c->error);
	if (c->info)
		g_string_free(c->info, TRUE);
	if (c->out)
		g_string_free(c->out, TRUE);
	*c = (Case){0};
}

static char *unescape(const char *s)
{
	GString *g = g_string_new(NULL);
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			g_string_append_c(g, '\n');
			s++;
		} else {
			g_string_append_c(g, *s);
		}
	}
	return g_string_free(g, FALSE);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CASEFILE\n", argv[0]);
		return 2;
	}
	ml_init();
	test_nic_register_models();
	char *text;
	GError *err = NULL;
	if (!g_file_get_contents(argv[1], &text, NULL, &err)) {
		fprintf(stderr, "%s\n", err->message);
		return 2;
	}
	/* Cases run in the test's own directory so relative file= paths
	 * (pcap outputs) land somewhere disposable. */
	char *tmp = g_dir_make_tmp("kite-net-cmdline-XXXXXX", NULL);
	if (!tmp || chdir(tmp) < 0)
		return 2;
	char **lines = g_strsplit(text, "\n", -1);
	int failed = 0, total = 0;
	Case c = {0};
	GString **block = NULL;
	for (int i = 0; lines[i]; i++) {
		char *l = lines[i];
		if (block) {
			if (!strcmp(l, "end")) {
				block = NULL;
				continue;
			}
			g_string_append_printf(*block, "%s\n", l);
			continue;
		}
		if (!strncmp(l, "case: ", 6)) {
			if (c.name) {
				total++;
				failed += !run_case(&c);
				case_clear(&c);
			}
			c = (Case){.name = g_strdup(l + 6), .args = g_strdup(""), .line = i + 1};
		} else if (!strncmp(l, "args:", 5)) {
			g_free(c.args);
			c.args = g_strdup(g_strstrip(l + 5));
		} else if (!strncmp(l, "error: ", 7)) {
			c.error = unescape(l + 7);
		} else if (!strcmp(l, "info:")) {
			c.info = g_string_new(NULL);
			block = &c.info;
		} else if (!strcmp(l, "stdout:")) {
			c.out = g_string_new(NULL);
			block = &c.out;
		} else if (*l && *l != '#') {
			fprintf(stderr, "%s:%d: cannot parse '%s'\n", argv[1], i + 1, l);
			return 2;
		}
	}
	if (c.name) {
		total++;
		failed += !run_case(&c);
		case_clear(&c);
	}
	printf("1..%d\n", total);
	/* Remove what the cases wrote (pcap files) and the directory. */
	GDir *d = g_dir_open(".", 0, NULL);
	const char *f;
	while (d && (f = g_dir_read_name(d)))
		g_unlink(f);
	if (d)
		g_dir_close(d);
	if (chdir("/") == 0)
		g_rmdir(tmp);
	g_free(tmp);
	g_strfreev(lines);
	g_free(text);
	return failed ? 1 : 0;
}
