/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data-driven tests of kite's libvirt XML library, in libvirt's style:
 *
 *   xml2xml DIR     NAME.xml -> NAME-out.xml (persistent view, defaults
 *                   filled like libvirt's qemu driver; the expected files
 *                   are what a real libvirtd 9.0 printed for the input),
 *                   NAME-live-out.xml when present (running view), and
 *                   both outputs parse back to themselves.
 *   netxml2xml DIR  the same for networks.
 *   xml2argv DIR    NAME.xml -> NAME.args (one argument per line), with an
 *                   optional NAME.ctx of key=value lines for the context.
 *   bad DIR         NAME.xml must be refused with an error containing the
 *                   text of NAME.err (first line: domain|network, second:
 *                   the expected text).
 *   unsupported DIR NAME.xml parses but kite_domain_def_unsupported names
 *                   the text in NAME.err.
 *   security        entity bombs, external entities, huge documents.
 *   api             the API pieces the daemon uses.
 *   format [--live] [--network] FILE   print the formatted output.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kite-xml.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

static KiteDomainDefaults test_defaults;

static void init_defaults(void)
{
	/* libvirt's own behaviour; the expected files came from libvirtd */
	kite_domain_defaults_init(&test_defaults);
	test_defaults.emulator = "/usr/bin/qemu-system-x86_64";
	kite_domain_defaults_set(&test_defaults);
}

static char *read_text(const char *path)
{
	char *data = NULL;
	GError *err = NULL;

	if (!g_file_get_contents(path, &data, NULL, &err)) {
		fprintf(stderr, "cannot read %s: %s\n", path, err->message);
		g_error_free(err);
		return NULL;
	}
	return data;
}

/* Report the first differing line of two texts. */
static bool same_text(const char *what, const char *got, const char *want)
{
	g_auto(GStrv) g = NULL, w = NULL;
	guint n;

	if (!strcmp(got, want))
		return true;
	g = g_strsplit(got, "\n", -1);
	w = g_strsplit(want, "\n", -1);
	for (n = 0; g[n] && w[n]; n++)
		if (strcmp(g[n], w[n]))
			break;
	fprintf(stderr, "%s: line %u differs\n  got:  %s\n  want: %s\n", what, n + 1,
		g[n] ? g[n] : "(end)", w[n] ? w[n] : "(end)");
	return false;
}

static GPtrArray *list_inputs(const char *dir, const char *skip_suffix)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;

	if (!d) {
		fprintf(stderr, "cannot open %s\n", dir);
		return names;
	}
	while ((n = g_dir_read_name(d)))
		if (g_str_has_suffix(n, ".xml") && !g_str_has_suffix(n, "-out.xml") &&
		    !(skip_suffix && g_str_has_suffix(n, skip_suffix)))
			g_ptr_array_add(names, g_strndup(n, strlen(n) - 4));
	g_dir_close(d);
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	return names;
}

/* Runtime state the daemon would set when the domain starts. */
static void simulate_start(KiteDomainDef *def)
{
	unsigned vnet = 0, pts = 0, portid = 0;

	def->id = 1;
	kite_domain_def_assign_aliases(def);
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		if ((n->type == KITE_NET_NETWORK || n->type == KITE_NET_BRIDGE ||
		     n->type == KITE_NET_ETHERNET) &&
		    !n->target_dev)
			n->target_dev = g_strdup_printf("vnet%u", vnet++);
		/* the reference network is <forward mode='bridge'> on br0 */
		if (n->type == KITE_NET_NETWORK && !n->source_bridge) {
			n->source_bridge = g_strdup("br0");
			n->source_bridge_is_host = true;
			n->source_portid =
			    g_strdup_printf("00000000-0000-4000-8000-%012u", portid++);
		}
	}
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->serials, i);
		if (c->type == KITE_CHR_PTY) {
			g_free(c->source_path);
			c->source_path = g_strdup_printf("/dev/pts/%u", pts++);
		}
	}
	for (guint i = 0; i < def->consoles->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->consoles, i);
		if (c->type == KITE_CHR_PTY && i == 0 && def->serials->len) {
			KiteChrDef *s = g_ptr_array_index(def->serials, 0);
			g_free(c->source_path);
			c->source_path = g_strdup(s->source_path);
		}
	}
}

static bool schema_ok(const char *what, const char *xml, const char *schema)
{
	GError *err = NULL;

	if (kite_xml_validate(xml, schema, &err) == 0)
		return true;
	if (err->code == KITE_XML_ERROR_NO_SCHEMA) {
		/* no schemas on this host: nothing to compare against */
		g_error_free(err);
		return true;
	}
	fprintf(stderr, "%s: %s\n", what, err->message);
	g_error_free(err);
	return false;
}

/* ------------------------------------------------------------ xml2xml */

static bool allow_missing_expected;

static void one_xml2xml(const char *dir, const char *name)
{
	g_autofree char *in_path = g_strdup_printf("%s/%s.xml", dir, name);
	g_autofree char *out_path = g_strdup_printf("%s/%s-out.xml", dir, name);
	g_autofree char *live_path = g_strdup_printf("%s/%s-live-out.xml", dir, name);
	g_autofree char *in = read_text(in_path);
	g_autofree char *want = g_file_test(out_path, G_FILE_TEST_EXISTS) || !allow_missing_expected
				    ? read_text(out_path)
				    : NULL;
	g_autofree char *got = NULL, *again = NULL;
	g_autoptr(KiteDomainDef) def = NULL, def2 = NULL;
	GError *err = NULL;

	if (!in || (!want && !allow_missing_expected)) {
		CHECK(false, "%s: missing input or expected output", name);
		return;
	}
	def = kite_domain_def_parse_string(in, 0, &err);
	CHECK(def, "%s: parse failed: %s", name, err ? err->message : "?");
	if (!def) {
		g_clear_error(&err);
		return;
	}
	got = kite_domain_def_format(def, KITE_XML_INACTIVE);
	/* without a reference output (machines whose addresses kite does not
	 * assign like libvirt, q35): schema and stability only */
	CHECK(!want || same_text(out_path, got, want), "%s: inactive output differs", name);
	CHECK(schema_ok(out_path, got, "domain"), "%s: output fails the schema", name);

	/* the output is canonical: it parses back to itself */
	def2 = kite_domain_def_parse_string(got, 0, &err);
	CHECK(def2, "%s: re-parse failed: %s", name, err ? err->message : "?");
	g_clear_error(&err);
	if (def2) {
		again = kite_domain_def_format(def2, KITE_XML_INACTIVE);
		CHECK(same_text(name, again, got), "%s: output is not stable", name);
	}

	if (g_file_test(live_path, G_FILE_TEST_EXISTS)) {
		g_autofree char *want_live = read_text(live_path);
		g_autofree char *got_live = NULL, *status = NULL, *back = NULL;
		g_autoptr(KiteDomainDef) st = NULL;

		simulate_start(def);
		got_live = kite_domain_def_format(def, KITE_XML_LIVE);
		CHECK(want_live && same_text(live_path, got_live, want_live),
		      "%s: live output differs", name);
		CHECK(schema_ok(live_path, got_live, "domain"), "%s: live output fails schema",
		      name);
		/* status XML round trip, as after a daemon restart */
		st = kite_domain_def_parse_string(
		    got_live, KITE_XML_PARSE_LIVE | KITE_XML_PARSE_NO_DEFAULTS, &err);
		CHECK(st, "%s: status parse failed: %s", name, err ? err->message : "?");
		g_clear_error(&err);
		if (st) {
			status = kite_domain_def_format(st, KITE_XML_LIVE);
			CHECK(same_text(name, status, got_live), "%s: status round trip", name);
			/* the inactive view of a running domain is its definition */
			back = kite_domain_def_format(st, KITE_XML_INACTIVE);
			CHECK(same_text(name, back, want), "%s: inactive view of live def", name);
			kite_domain_def_clear_runtime(st);
			g_free(back);
			back = kite_domain_def_format(st, KITE_XML_LIVE);
			CHECK(same_text(name, back, want), "%s: clear_runtime left state", name);
		}
	}
}

static int run_xml2xml(const char *dir)
{
	g_autoptr(GPtrArray) names = list_inputs(dir, NULL);

	for (guint i = 0; i < names->len; i++)
		one_xml2xml(dir, g_ptr_array_index(names, i));
	CHECK(names->len > 0, "no test inputs in %s", dir);
	return names->len ? 0 : 1;
}

static void one_netxml2xml(const char *dir, const char *name)
{
	g_autofree char *in_path = g_strdup_printf("%s/%s.xml", dir, name);
	g_autofree char *out_path = g_strdup_printf("%s/%s-out.xml", dir, name);
	g_autofree char *in = read_text(in_path);
	g_autofree char *want = read_text(out_path);
	g_autofree char *got = NULL, *again = NULL;
	g_autoptr(KiteNetworkDef) def = NULL, def2 = NULL;
	GError *err = NULL;

	if (!in || !want) {
		CHECK(false, "%s: missing input or expected output", name);
		return;
	}
	def = kite_network_def_parse_string(in, 0, &err);
	CHECK(def, "%s: parse failed: %s", name, err ? err->message : "?");
	g_clear_error(&err);
	if (!def)
		return;
	/* the expected outputs name the bridge libvirt picked */
	kite_network_def_fill_bridge(def, NULL, NULL);
	got = kite_network_def_format(def, KITE_XML_INACTIVE);
	CHECK(same_text(out_path, got, want), "%s: output differs", name);
	CHECK(schema_ok(out_path, got, "network"), "%s: output fails the schema", name);
	def2 = kite_network_def_parse_string(got, 0, &err);
	CHECK(def2, "%s: re-parse failed: %s", name, err ? err->message : "?");
	g_clear_error(&err);
	if (def2) {
		again = kite_network_def_format(def2, KITE_XML_INACTIVE);
		CHECK(same_text(name, again, got), "%s: output is not stable", name);
	}
}

static int run_netxml2xml(const char *dir)
{
	g_autoptr(GPtrArray) names = list_inputs(dir, NULL);

	for (guint i = 0; i < names->len; i++)
		one_netxml2xml(dir, g_ptr_array_index(names, i));
	CHECK(names->len > 0, "no test inputs in %s", dir);
	return 0;
}

/* ----------------------------------------------------------- xml2argv */

static void load_ctx(const char *path, KiteArgvContext *ctx, KiteNetBackend *nets, size_t max,
		     int *fds_store)
{
	g_autofree char *text = g_file_test(path, G_FILE_TEST_EXISTS) ? read_text(path) : NULL;
	g_auto(GStrv) lines = NULL;
	size_t used = 0;

	kite_argv_context_init(ctx);
	ctx->emulator = "/usr/bin/kite";
	ctx->qmp_socket = "/var/lib/kite/domain-1/monitor.sock";
	for (size_t i = 0; i < max; i++) {
		nets[i].tap_fd = -1;
		nets[i].vhost_fd = -1;
	}
	if (!text)
		return;
	lines = g_strsplit(text, "\n", -1);
	for (guint l = 0; lines[l]; l++) {
		char *line = g_strstrip(lines[l]);
		char *eq = strchr(line, '=');
		unsigned idx;

		if (!*line || *line == '#' || !eq)
			continue;
		*eq = '\0';
		if (!strcmp(line, "qmp_fd")) {
			ctx->qmp_fd = atoi(eq + 1);
		} else if (!strcmp(line, "kvm")) {
			ctx->kvm = atoi(eq + 1);
		} else if (!strcmp(line, "paused")) {
			ctx->paused = atoi(eq + 1);
		} else if (sscanf(line, "net%u.", &idx) == 1 && idx < max) {
			const char *key = strchr(line, '.') + 1;
			if (idx + 1 > ctx->n_nets)
				ctx->n_nets = idx + 1;
			if (!strcmp(key, "tap_fd"))
				nets[idx].tap_fd = atoi(eq + 1);
			else if (!strcmp(key, "vhost_fd"))
				nets[idx].vhost_fd = atoi(eq + 1);
			else if (!strcmp(key, "ifname"))
				nets[idx].ifname = g_intern_string(eq + 1);
			else if (!strcmp(key, "bridge"))
				nets[idx].bridge = g_intern_string(eq + 1);
			else if (!strcmp(key, "tap_fds")) {
				g_auto(GStrv) fds = g_strsplit(eq + 1, ":", -1);
				nets[idx].tap_fds = fds_store + used;
				for (guint f = 0; fds[f] && used < 64; f++)
					fds_store[used++] = atoi(fds[f]);
				nets[idx].n_tap_fds =
				    (size_t)(fds_store + used - nets[idx].tap_fds);
			}
		} else if (!strcmp(line, "nets")) {
			ctx->n_nets = (size_t)atoi(eq + 1);
		}
	}
	ctx->nets = nets;
}

static void one_xml2argv(const char *dir, const char *name)
{
	g_autofree char *in_path = g_strdup_printf("%s/%s.xml", dir, name);
	g_autofree char *args_path = g_strdup_printf("%s/%s.args", dir, name);
	g_autofree char *ctx_path = g_strdup_printf("%s/%s.ctx", dir, name);
	g_autofree char *err_path = g_strdup_printf("%s/%s.err", dir, name);
	g_autofree char *in = read_text(in_path);
	g_autoptr(KiteDomainDef) def = NULL;
	g_auto(GStrv) argv = NULL;
	KiteArgvContext ctx;
	KiteNetBackend nets[16];
	int fds[64];
	GError *err = NULL;

	if (!in)
		return;
	memset(nets, 0, sizeof(nets));
	load_ctx(ctx_path, &ctx, nets, G_N_ELEMENTS(nets), fds);
	def = kite_domain_def_parse_string(in, 0, &err);
	CHECK(def, "%s: parse failed: %s", name, err ? err->message : "?");
	g_clear_error(&err);
	if (!def)
		return;
	argv = kite_domain_build_argv(def, &ctx, &err);
	if (g_file_test(err_path, G_FILE_TEST_EXISTS)) {
		g_autofree char *want = read_text(err_path);
		g_strstrip(want);
		CHECK(!argv && err && strstr(err->message, want),
		      "%s: expected error containing '%s', got %s", name, want,
		      err ? err->message : "success");
		g_clear_error(&err);
		return;
	}
	CHECK(argv, "%s: argv failed: %s", name, err ? err->message : "?");
	g_clear_error(&err);
	if (argv) {
		g_autofree char *got = g_strjoinv("\n", argv);
		g_autofree char *got_nl = g_strconcat(got, "\n", NULL);
		g_autofree char *want = read_text(args_path);
		CHECK(want && same_text(args_path, got_nl, want), "%s: argv differs", name);
	}
	/* links to bring down after start, when the test says so */
	{
		g_autofree char *down_path = g_strdup_printf("%s/%s.linkdown", dir, name);
		if (g_file_test(down_path, G_FILE_TEST_EXISTS)) {
			g_autofree char *want = read_text(down_path);
			g_auto(GStrv) down = kite_domain_links_down(def);
			g_autofree char *got = g_strjoinv(" ", down);
			g_strstrip(want);
			CHECK(!strcmp(got, want), "%s: links down '%s', want '%s'", name, got,
			      want);
		}
	}
}

static int run_xml2argv(const char *dir)
{
	g_autoptr(GPtrArray) names = list_inputs(dir, NULL);

	for (guint i = 0; i < names->len; i++)
		one_xml2argv(dir, g_ptr_array_index(names, i));
	CHECK(names->len > 0, "no test inputs in %s", dir);
	return 0;
}

/* ---------------------------------------------------- bad, unsupported */

static void one_bad(const char *dir, const char *name, bool unsupported)
{
	g_autofree char *in_path = g_strdup_printf("%s/%s.xml", dir, name);
	g_autofree char *err_path = g_strdup_printf("%s/%s.err", dir, name);
	g_autofree char *in = read_text(in_path);
	g_autofree char *expect = read_text(err_path);
	g_auto(GStrv) lines = NULL;
	GError *err = NULL;
	const char *kind, *text;
	bool refused;

	if (!in || !expect) {
		CHECK(false, "%s: missing input or .err", name);
		return;
	}
	lines = g_strsplit(expect, "\n", 3);
	kind = g_strstrip(lines[0]);
	text = lines[1] ? g_strstrip(lines[1]) : "";
	if (!strcmp(kind, "network")) {
		g_autoptr(KiteNetworkDef) n = kite_network_def_parse_string(in, 0, &err);
		refused = !n;
	} else if (!strcmp(kind, "domain-validate") || !strcmp(kind, "network-validate")) {
		refused =
		    kite_xml_validate(in, !strcmp(kind, "domain-validate") ? "domain" : "network",
				      &err) < 0;
	} else {
		g_autoptr(KiteDomainDef) d = kite_domain_def_parse_string(in, 0, &err);
		if (unsupported) {
			CHECK(d, "%s: should parse: %s", name, err ? err->message : "?");
			g_clear_error(&err);
			refused = d && !kite_domain_def_unsupported(d, &err);
			if (d && refused) {
				/* and the command line refuses it too */
				GError *e2 = NULL;
				KiteArgvContext ctx;
				char **argv;
				kite_argv_context_init(&ctx);
				ctx.qmp_socket = "/tmp/m";
				argv = kite_domain_build_argv(d, &ctx, &e2);
				CHECK(!argv || strstr(text, "usb") || strstr(text, "memballoon"),
				      "%s: argv built for an unsupported domain", name);
				g_strfreev(argv);
				g_clear_error(&e2);
			}
		} else {
			refused = !d;
		}
	}
	CHECK(refused, "%s: was accepted", name);
	if (refused) {
		CHECK(err && strstr(err->message, text), "%s: error '%s' lacks '%s'", name,
		      err ? err->message : "(none)", text);
		if (g_getenv("KITE_XML_TEST_VERBOSE") && err)
			printf("%s: %s\n", name, err->message);
	}
	g_clear_error(&err);
}

static int run_bad(const char *dir, bool unsupported)
{
	g_autoptr(GPtrArray) names = list_inputs(dir, NULL);

	for (guint i = 0; i < names->len; i++)
		one_bad(dir, g_ptr_array_index(names, i), unsupported);
	CHECK(names->len > 0, "no test inputs in %s", dir);
	return 0;
}

/* ------------------------------------------------------------ security */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void expect_refused(const char *what, const char *xml, const char *text,
			   const char *must_not_appear)
{
	GError *err = NULL;
	g_autoptr(KiteDomainDef) d = kite_domain_def_parse_string(xml, 0, &err);
	g_autoptr(KiteNetworkDef) n = NULL;

	CHECK(!d, "%s: domain was accepted", what);
	CHECK(err && strstr(err->message, text), "%s: error '%s' lacks '%s'", what,
	      err ? err->message : "(none)", text);
	if (d && must_not_appear) {
		g_autofree char *out = kite_domain_def_format(d, 0);
		CHECK(!strstr(out, must_not_appear), "%s: leaked '%s'", what, must_not_appear);
	}
	g_clear_error(&err);
	n = kite_network_def_parse_string(xml, 0, &err);
	CHECK(!n, "%s: network was accepted", what);
	g_clear_error(&err);
	CHECK(kite_xml_validate(xml, "domain", &err) < 0, "%s: validated", what);
	g_clear_error(&err);
}

static int run_security(void)
{
	GString *big;
	double t0;

	/* billion laughs: refused at the DOCTYPE, before any expansion */
	t0 = now();
	expect_refused(
	    "billion laughs",
	    "<?xml version='1.0'?>\n"
	    "<!DOCTYPE domain [\n"
	    " <!ENTITY lol 'lol'>\n"
	    " <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
	    " <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
	    " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
	    " <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
	    " <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
	    " <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
	    " <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
	    " <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
	    " <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
	    "]>\n"
	    "<domain type='kvm'><name>&lol9;</name><memory>1024</memory>"
	    "<os><type>hvm</type></os></domain>\n",
	    "DOCTYPE", "lollollol");
	/* only a hang guard: a quadratic or exponential blow-up never ends */
	CHECK(now() - t0 < 60, "billion laughs took %.1f s", now() - t0);

	expect_refused("external entity",
		       "<?xml version='1.0'?>\n"
		       "<!DOCTYPE domain [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>\n"
		       "<domain type='kvm'><name>&xxe;</name><memory>1024</memory>"
		       "<os><type>hvm</type></os></domain>\n",
		       "DOCTYPE", "root:");
	expect_refused("external DTD",
		       "<?xml version='1.0'?>\n"
		       "<!DOCTYPE domain SYSTEM 'file:///etc/passwd'>\n"
		       "<domain type='kvm'><name>x</name><memory>1024</memory>"
		       "<os><type>hvm</type></os></domain>\n",
		       "DOCTYPE", "root:");
	expect_refused("parameter entity",
		       "<?xml version='1.0'?>\n"
		       "<!DOCTYPE domain [<!ENTITY % p SYSTEM 'http://127.0.0.1:1/x'> %p;]>\n"
		       "<domain type='kvm'><name>x</name><memory>1024</memory>"
		       "<os><type>hvm</type></os></domain>\n",
		       "DOCTYPE", NULL);
	expect_refused("undefined entity",
		       "<domain type='kvm'><name>&nothere;</name><memory>1024</memory>"
		       "<os><type>hvm</type></os></domain>\n",
		       "nothere", NULL);
	expect_refused("XInclude",
		       "<domain type='kvm' xmlns:xi='http://www.w3.org/2001/XInclude'>"
		       "<name>x</name><xi:include href='file:///etc/passwd' parse='text'/>"
		       "<memory>1024</memory><os><type>hvm</type></os></domain>\n",
		       "unknown element <xi:include> in <domain>", "root:");

	/* 100 MiB: refused up front by size, whatever the content */
	big = g_string_sized_new(100 * 1024 * 1024 + 64);
	g_string_append(big, "<domain type='kvm'><name>x</name><description>");
	while (big->len < 100 * 1024 * 1024)
		g_string_append(big,
				"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	g_string_append(big, "</description><memory>1</memory><os><type>hvm</type></os></domain>");
	t0 = now();
	expect_refused("100 MiB document", big->str, "limit", NULL);
	CHECK(now() - t0 < 60, "100 MiB document took %.1f s", now() - t0);
	g_string_free(big, TRUE);

	/* deep nesting: libxml2's depth limit, no stack overflow */
	big = g_string_new("<domain type='kvm'><name>x</name><memory>1</memory><os><type>hvm"
			   "</type></os><metadata><k:a xmlns:k='urn:k'>");
	for (int i = 0; i < 100000; i++)
		g_string_append(big, "<k:b>");
	expect_refused("deep nesting", big->str, "", NULL);
	g_string_free(big, TRUE);

	/* a file larger than the limit is refused before being read */
	{
		g_autofree char *path = g_build_filename(g_get_tmp_dir(), "kite-xml-big.xml", NULL);
		FILE *f = fopen(path, "w");
		GError *err = NULL;
		KiteDomainDef *d;
		CHECK(f, "cannot create %s", path);
		if (f) {
			CHECK(fseek(f, 20 * 1024 * 1024, SEEK_SET) == 0 && fputc('x', f) != EOF,
			      "cannot extend %s", path);
			fclose(f);
			d = kite_domain_def_parse_file(path, 0, &err);
			CHECK(!d && err && strstr(err->message, "limit"), "big file: %s",
			      err ? err->message : "accepted");
			kite_domain_def_free(d);
			g_clear_error(&err);
			remove(path);
		}
	}
	return 0;
}

/* ----------------------------------------------------------------- api */

static const char *minimal =
    "<domain type='kvm'><name>api</name><memory unit='MiB'>64</memory>"
    "<os><type>hvm</type></os><devices>"
    "<interface type='network'><source network='default'/><model type='virtio'/>"
    "<link state='down'/></interface>"
    "<interface type='user'/><interface type='user'><link state='down'/></interface>"
    "<interface type='bridge'><source bridge='br0'/></interface>"
    "</devices></domain>";

static bool known_network(const char *name, void *opaque)
{
	(void)opaque;
	return !strcmp(name, "default");
}

static bool bridge_used(const char *name, void *opaque)
{
	(void)opaque;
	return !strcmp(name, "virbr0") || !strcmp(name, "virbr1");
}

static int run_api(void)
{
	GError *err = NULL;
	g_autoptr(KiteDomainDef) d = kite_domain_def_parse_string(minimal, 0, &err);
	static const uint8_t zero[16];

	CHECK(d, "minimal: %s", err ? err->message : "?");
	if (!d)
		return 1;

	/* generated identity */
	CHECK(memcmp(d->uuid, zero, 16), "uuid not generated");
	CHECK((d->uuid[6] >> 4) == 4, "uuid not version 4");
	for (guint i = 0; i < d->interfaces->len; i++) {
		KiteNetDef *a = g_ptr_array_index(d->interfaces, i);
		CHECK(a->mac[0] == 0x52 && a->mac[1] == 0x54 && a->mac[2] == 0x00,
		      "generated MAC %u not 52:54:00", i);
		CHECK(a->mac_generated, "MAC %u not flagged generated", i);
		for (guint j = 0; j < i; j++)
			CHECK(memcmp(a->mac,
				     ((KiteNetDef *)g_ptr_array_index(d->interfaces, j))->mac, 6),
			      "MACs %u and %u are equal", i, j);
	}
	CHECK(d->memory_kib == 65536 && d->current_memory_kib == 65536, "memory %llu/%llu",
	      d->memory_kib, d->current_memory_kib);
	CHECK(d->vcpus == 1, "vcpus %u", d->vcpus);
	CHECK(!strcmp(((KiteNetDef *)g_ptr_array_index(d->interfaces, 1))->model, "rtl8139"),
	      "default NIC model");

	/* link state: aliases of the links to set down after start */
	{
		g_auto(GStrv) down = kite_domain_links_down(d);
		CHECK(down && down[0] && !strcmp(down[0], "net0") && down[1] &&
			  !strcmp(down[1], "net2") && !down[2],
		      "links down: %s %s", down && down[0] ? down[0] : "-",
		      down && down[0] && down[1] ? down[1] : "-");
	}

	/* semantic checks with the daemon's network lookup */
	CHECK(kite_domain_def_check(d, known_network, NULL, &err), "check: %s",
	      err ? err->message : "?");
	g_clear_error(&err);
	{
		KiteNetDef *n = g_ptr_array_index(d->interfaces, 0);
		g_free(n->source_network);
		n->source_network = g_strdup("nosuchnet");
		CHECK(!kite_domain_def_check(d, known_network, NULL, &err) && err &&
			  strstr(err->message, "nosuchnet") && strstr(err->message, "line"),
		      "unknown network not reported: %s", err ? err->message : "accepted");
		g_clear_error(&err);
		g_free(n->source_network);
		n->source_network = g_strdup("default");
	}

	/* lookups, copy, runtime state */
	{
		KiteNetDef *n = g_ptr_array_index(d->interfaces, 3);
		g_autoptr(KiteDomainDef) copy = NULL;
		g_autofree char *a = NULL, *b = NULL;
		CHECK(kite_domain_def_find_interface_by_mac(d, n->mac) == n, "find by mac");
		kite_domain_def_assign_aliases(d);
		CHECK(kite_domain_def_find_interface_by_alias(d, "net3") == n, "find by alias");
		n->target_dev = g_strdup("vnet7");
		d->id = 5;
		copy = kite_domain_def_copy(d);
		CHECK(copy, "copy failed");
		a = kite_domain_def_format(d, KITE_XML_LIVE);
		b = copy ? kite_domain_def_format(copy, KITE_XML_LIVE) : g_strdup("");
		CHECK(same_text("copy", b, a), "copy differs");
		CHECK(strstr(a, "<domain type='kvm' id='5'>") && strstr(a, "vnet7") &&
			  strstr(a, "<alias name='net3'/>"),
		      "live output lacks runtime state");
		g_free(b);
		b = kite_domain_def_format(d, KITE_XML_INACTIVE);
		CHECK(!strstr(b, "id='5'") && !strstr(b, "vnet7") && !strstr(b, "alias"),
		      "inactive output shows runtime state");
		kite_domain_def_clear_runtime(d);
		g_free(b);
		b = kite_domain_def_format(d, KITE_XML_LIVE);
		CHECK(!strstr(b, "id='5'") && !strstr(b, "vnet7") && !strstr(b, "alias"),
		      "clear_runtime left runtime state");
	}

	/* defaults for kite: no USB controller, no balloon, own emulator */
	{
		KiteDomainDefaults kd;
		g_autoptr(KiteDomainDef) k = NULL;
		kite_domain_defaults_init_kite(&kd, "/usr/bin/kite");
		k = kite_domain_def_parse_string_full(minimal, 0, &kd, &err);
		CHECK(k, "kite defaults: %s", err ? err->message : "?");
		g_clear_error(&err);
		if (k) {
			g_autofree char *x = kite_domain_def_format(k, 0);
			CHECK(strstr(x, "<emulator>/usr/bin/kite</emulator>") &&
				  !strstr(x, "memballoon") && !strstr(x, "type='usb'"),
			      "kite defaults not applied");
			CHECK(kite_domain_def_unsupported(k, &err),
			      "with kite's defaults the domain should be supported: %s",
			      err ? err->message : "?");
			g_clear_error(&err);
		}
	}

	/* network helpers */
	{
		g_autoptr(KiteNetworkDef) n = kite_network_def_parse_string(
		    "<network><name>x</name><ip address='192.168.7.1' netmask='255.255.255.0'>"
		    "<dhcp><range start='192.168.7.2' end='192.168.7.9'/></dhcp></ip>"
		    "<ip family='ipv6' address='fd00::1' prefix='64'/></network>",
		    0, &err);
		CHECK(n, "network: %s", err ? err->message : "?");
		g_clear_error(&err);
		if (n) {
			const KiteNetworkIp *ip = kite_network_def_ipv4(n);
			CHECK(ip && !strcmp(ip->address, "192.168.7.1"), "ipv4 lookup");
			CHECK(ip && kite_network_ip_prefix(ip) == 24, "prefix from netmask");
			kite_network_def_fill_bridge(n, bridge_used, NULL);
			CHECK(n->bridge_name && !strcmp(n->bridge_name, "virbr2"), "bridge %s",
			      n->bridge_name ? n->bridge_name : "(none)");
			CHECK(n->mac && g_str_has_prefix(n->mac, "52:54:00:"), "network MAC");
			CHECK(n->forward_mode == KITE_FORWARD_NONE, "isolated network");
		}
	}

	/* schema validation on request: hex vCPU counts pass kite's parser
	 * (libvirt reads numbers that way too) but not libvirt's schema */
	{
		const char *hex = "<domain type='kvm'><name>h</name><memory>65536</memory>"
				  "<vcpu>0x2</vcpu><os><type>hvm</type></os></domain>";
		g_autoptr(KiteDomainDef) plain = kite_domain_def_parse_string(hex, 0, &err);
		g_autoptr(KiteDomainDef) strict = NULL;
		CHECK(plain && plain->vcpus == 2, "hex vcpu: %s", err ? err->message : "?");
		g_clear_error(&err);
		strict = kite_domain_def_parse_string(hex, KITE_XML_PARSE_VALIDATE, &err);
		CHECK(!strict && err && err->code == KITE_XML_ERROR_SCHEMA &&
			  strstr(err->message, "vcpu"),
		      "validating parse: %s", err ? err->message : "accepted");
		g_clear_error(&err);
		kite_xml_set_schema_dir("/nonexistent");
		CHECK(kite_xml_validate(hex, "domain", &err) < 0 && err &&
			  err->code == KITE_XML_ERROR_NO_SCHEMA,
		      "missing schema: %s", err ? err->message : "validated");
		g_clear_error(&err);
		kite_xml_set_schema_dir(NULL);
		CHECK(kite_xml_validate(hex, "nosuch", &err) < 0, "unknown schema name accepted");
		g_clear_error(&err);
	}

	/* MAC and UUID helpers */
	{
		uint8_t m[6], u[16];
		char s[37];
		CHECK(kite_mac_parse("52:54:0:a:BB:cc", m) && m[2] == 0 && m[4] == 0xbb,
		      "MAC parse");
		kite_mac_format(m, s);
		CHECK(!strcmp(s, "52:54:00:0a:bb:cc"), "MAC format %s", s);
		CHECK(!kite_mac_parse("52:54:00:0a:bb", m) &&
			  !kite_mac_parse("52:54:00:0a:bb:ccc", m),
		      "bad MACs accepted");
		CHECK(kite_uuid_parse(" c7a5fdbd-edaf-9455-926a-d65c16db1809 ", u), "uuid parse");
		kite_uuid_format(u, s);
		CHECK(!strcmp(s, "c7a5fdbd-edaf-9455-926a-d65c16db1809"), "uuid format %s", s);
		CHECK(!kite_uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db180", u), "short uuid");
	}
	return 0;
}

/* ---------------------------------------------------------------- main */

static int do_format(int argc, char **argv)
{
	bool live = false, network = false;
	const char *path = NULL;
	GError *err = NULL;
	char *out;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--live"))
			live = true;
		else if (!strcmp(argv[i], "--network"))
			network = true;
		else
			path = argv[i];
	}
	if (!path)
		return 2;
	if (network) {
		KiteNetworkDef *n = kite_network_def_parse_file(path, 0, &err);
		if (!n) {
			fprintf(stderr, "%s\n", err->message);
			return 1;
		}
		kite_network_def_fill_bridge(n, NULL, NULL);
		out = kite_network_def_format(n, KITE_XML_INACTIVE);
		kite_network_def_free(n);
	} else {
		KiteDomainDef *d = kite_domain_def_parse_file(path, 0, &err);
		if (!d) {
			fprintf(stderr, "%s\n", err->message);
			return 1;
		}
		if (live)
			simulate_start(d);
		out = kite_domain_def_format(d, live ? KITE_XML_LIVE : KITE_XML_INACTIVE);
		kite_domain_def_free(d);
	}
	fputs(out, stdout);
	g_free(out);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int rc = 2;

	init_defaults();
	if (!strcmp(cmd, "xml2xml") && argc > 2) {
		allow_missing_expected = argc > 3 && !strcmp(argv[3], "--allow-missing-expected");
		rc = run_xml2xml(argv[2]);
	} else if (!strcmp(cmd, "netxml2xml") && argc > 2)
		rc = run_netxml2xml(argv[2]);
	else if (!strcmp(cmd, "xml2argv") && argc > 2)
		rc = run_xml2argv(argv[2]);
	else if (!strcmp(cmd, "bad") && argc > 2)
		rc = run_bad(argv[2], false);
	else if (!strcmp(cmd, "unsupported") && argc > 2)
		rc = run_bad(argv[2], true);
	else if (!strcmp(cmd, "security"))
		rc = run_security();
	else if (!strcmp(cmd, "api"))
		rc = run_api();
	else if (!strcmp(cmd, "format"))
		return do_format(argc - 2, argv + 2);
	else {
		fprintf(stderr,
			"usage: %s xml2xml|netxml2xml|xml2argv|bad|unsupported DIR | "
			"security | api | format [--live] [--network] FILE\n",
			argv[0]);
		return 2;
	}
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : rc;
}
