/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the domain and network parsers.
 *
 * One input goes through everything the daemon does with untrusted XML:
 * parse, check, unsupported, format (persistent and live), parse the output
 * back (it must be accepted and stable) and build the command line.
 *
 * Built normally it is a deterministic mutation driver: it mutates the
 * given corpus with a fixed-seed generator for N seconds and stops at the
 * first broken invariant, saving the input. Built with
 *   clang -DKITE_LIBFUZZER -fsanitize=fuzzer,address ...
 * it is a libFuzzer target (LLVMFuzzerTestOneInput).
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kite-xml.h"

static const char *fuzz_kind = "domain";
static unsigned long accepted;
static const char *crash_dir = ".";

static void broken(const char *what, const char *input, const char *detail)
{
	g_autofree char *path = g_strdup_printf("%s/fuzz-%s-failure.xml", crash_dir, fuzz_kind);

	g_file_set_contents(path, input, -1, NULL);
	fprintf(stderr, "fuzz %s: %s: %s (input saved to %s)\n", fuzz_kind, what,
		detail ? detail : "", path);
	abort();
}

static void one_domain(const char *xml)
{
	GError *err = NULL;
	KiteDomainDef *def = kite_domain_def_parse_string(xml, 0, &err);
	char *inactive, *live;
	KiteDomainDef *again;
	KiteArgvContext ctx;
	char **argv;

	if (!def) {
		if (!err || !err->message || !*err->message)
			broken("refused without a message", xml, NULL);
		g_clear_error(&err);
		return;
	}
	accepted++;
	kite_domain_def_check(def, NULL, NULL, &err);
	g_clear_error(&err);
	kite_domain_def_unsupported(def, &err);
	g_clear_error(&err);

	inactive = kite_domain_def_format(def, KITE_XML_INACTIVE);
	again = kite_domain_def_parse_string(inactive, KITE_XML_PARSE_NO_DEFAULTS, &err);
	if (!again)
		broken("own output refused", inactive, err ? err->message : NULL);
	{
		char *second = kite_domain_def_format(again, KITE_XML_INACTIVE);
		if (strcmp(second, inactive))
			broken("output not stable", inactive, second);
		g_free(second);
	}
	kite_domain_def_free(again);

	kite_domain_def_assign_aliases(def);
	def->id = 3;
	live = kite_domain_def_format(def, KITE_XML_LIVE);
	again = kite_domain_def_parse_string(live, KITE_XML_PARSE_LIVE | KITE_XML_PARSE_NO_DEFAULTS,
					     &err);
	if (!again)
		broken("own live output refused", live, err ? err->message : NULL);
	kite_domain_def_free(again);

	kite_argv_context_init(&ctx);
	ctx.qmp_socket = "/tmp/fuzz.sock";
	argv = kite_domain_build_argv(def, &ctx, &err);
	g_clear_error(&err);
	g_strfreev(argv);
	g_strfreev(kite_domain_links_down(def));

	g_free(inactive);
	g_free(live);
	kite_domain_def_free(def);
}

static void one_network(const char *xml)
{
	GError *err = NULL;
	KiteNetworkDef *def = kite_network_def_parse_string(xml, 0, &err);
	KiteNetworkDef *again;
	char *out;

	if (!def) {
		if (!err || !err->message || !*err->message)
			broken("refused without a message", xml, NULL);
		g_clear_error(&err);
		return;
	}
	accepted++;
	kite_network_def_fill_bridge(def, NULL, NULL);
	out = kite_network_def_format(def, KITE_XML_INACTIVE);
	again = kite_network_def_parse_string(out, KITE_XML_PARSE_NO_DEFAULTS, &err);
	if (!again)
		broken("own output refused", out, err ? err->message : NULL);
	{
		char *second = kite_network_def_format(again, KITE_XML_INACTIVE);
		if (strcmp(second, out))
			broken("output not stable", out, second);
		g_free(second);
	}
	kite_network_def_free(again);
	g_free(out);
	kite_network_def_free(def);
}

static void one(const char *xml)
{
	if (!strcmp(fuzz_kind, "network"))
		one_network(xml);
	else
		one_domain(xml);
}

#ifdef KITE_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = g_strndup((const char *)data, size);
	const char *kind = g_getenv("KITE_FUZZ_KIND");

	if (kind)
		fuzz_kind = kind;
	one(xml);
	g_free(xml);
	return 0;
}
#else

/* ------------------------------------------------ deterministic driver */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, so a run can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static const char *const tokens[] = {
    "<",
    ">",
    "/>",
    "</",
    "'",
    "\"",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x10FFFF;",
    "]]>",
    "<![CDATA[x]]>",
    "<!--x-->",
    "<?pi x?>",
    "<!DOCTYPE d [<!ENTITY a 'b'>]>",
    "&a;",
    " unit='GiB'",
    " unit='EiB'",
    "18446744073709551615",
    "99999999999999999999",
    "-1",
    "0x",
    "0xffffffff",
    "ua-",
    "vnet0",
    ":",
    "0",
    "<interface type='user'/>",
    "<interface type='network'><source network='x'/></interface>",
    "<serial type='pty'/>",
    "<console type='pty'/>",
    "<mac address='52:54:00:00:00:01'/>",
    "<address type='pci' slot='0x1f' function='0x7'/>",
    "<address type='drive'/>",
    "<boot order='1'/>",
    "<alias name='ua-x'/>",
    "<link state='down'/>",
    "<portForward proto='tcp'><range start='1' end='65535'/></portForward>",
    "<ip address='10.0.0.1' prefix='8'/>",
    "<dhcp><range start='10.0.0.2' end='10.0.0.1'/></dhcp>",
    "<forward mode='nat'/>",
    "<bridge name='virbr0'/>",
    "<dns><host ip='1.2.3.4'/></dns>",
    "<metadata><k:x xmlns:k='urn:k'>t</k:x></metadata>",
    "xmlns:q='urn:q'",
    "<q:x/>",
    "<vlan trunk='yes'><tag id='4095'/></vlan>",
    "<bandwidth><inbound average='1'/></bandwidth>",
    "<driver name='qemu' queues='8'><host csum='off'/></driver>",
    "\xc3\xa9",
    "\xff\xfe",
};

static char *mutate(const GPtrArray *corpus)
{
	const char *base = g_ptr_array_index(corpus, rnd_below(corpus->len));
	GString *s = g_string_new(base);
	/* mostly one change, so that many inputs stay well-formed and reach
	 * the deeper code; sometimes many */
	unsigned n = rnd_below(2) ? 1 : 1 + (unsigned)rnd_below(8);

	for (unsigned i = 0; i < n; i++) {
		size_t pos = rnd_below(s->len + 1);
		switch (rnd_below(7)) {
		case 0: /* flip a byte */
			if (s->len)
				s->str[rnd_below(s->len)] ^= (char)(1u << rnd_below(8));
			break;
		case 1: /* insert a random byte (not NUL: strings end there) */
			g_string_insert_c(s, (gssize)pos, (char)(1 + rnd_below(255)));
			break;
		case 2: { /* delete a range */
			size_t len = rnd_below(32);
			if (pos + len > s->len)
				len = s->len - pos;
			g_string_erase(s, (gssize)pos, (gssize)len);
			break;
		}
		case 3: { /* duplicate a range */
			size_t len = rnd_below(64);
			g_autofree char *piece = NULL;
			if (pos + len > s->len)
				len = s->len - pos;
			piece = g_strndup(s->str + pos, len);
			g_string_insert(s, (gssize)rnd_below(s->len + 1), piece);
			break;
		}
		case 4: /* insert a token */
		case 5:
			g_string_insert(s, (gssize)pos, tokens[rnd_below(G_N_ELEMENTS(tokens))]);
			break;
		default: { /* splice another corpus entry */
			const char *other = g_ptr_array_index(corpus, rnd_below(corpus->len));
			size_t olen = strlen(other), from = rnd_below(olen + 1);
			size_t len = rnd_below(olen - from + 1);
			g_autofree char *piece = g_strndup(other + from, len);
			g_string_insert(s, (gssize)pos, piece);
			break;
		}
		}
		if (s->len > 256 * 1024)
			g_string_truncate(s, 256 * 1024);
	}
	return g_string_free(s, FALSE);
}

static void load_dir(GPtrArray *corpus, const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;

	if (!d)
		return;
	while ((n = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, n, NULL);
		char *text;
		if (!g_str_has_suffix(n, ".xml") || !g_file_get_contents(path, &text, NULL, NULL))
			continue;
		g_ptr_array_add(corpus, text);
	}
	g_dir_close(d);
}

int main(int argc, char **argv)
{
	g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func(g_free);
	double seconds;
	struct timespec start, t;
	unsigned long iterations = 0;
	KiteDomainDefaults d;

	if (argc < 4) {
		fprintf(stderr, "usage: %s domain|network SECONDS CORPUS_DIR...\n", argv[0]);
		return 2;
	}
	fuzz_kind = argv[1];
	seconds = atof(argv[2]);
	if (g_getenv("KITE_FUZZ_SEED"))
		rng_state = g_ascii_strtoull(g_getenv("KITE_FUZZ_SEED"), NULL, 0) | 1;
	if (g_getenv("MESON_BUILD_ROOT"))
		crash_dir = g_getenv("MESON_BUILD_ROOT");
	for (int i = 3; i < argc; i++)
		load_dir(corpus, argv[i]);
	if (!corpus->len) {
		fprintf(stderr, "empty corpus\n");
		return 1;
	}
	kite_domain_defaults_init(&d);
	d.emulator = "/usr/bin/kite";
	kite_domain_defaults_set(&d);

	/* the corpus itself first */
	for (guint i = 0; i < corpus->len; i++)
		one(g_ptr_array_index(corpus, i));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		char *input;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - start.tv_sec) + (double)(t.tv_nsec - start.tv_nsec) / 1e9 >=
		    seconds)
			break;
		input = mutate(corpus);
		one(input);
		g_free(input);
		iterations++;
	}
	printf("fuzz %s: %lu inputs (%lu accepted) from %u corpus files, no broken invariant\n",
	       fuzz_kind, iterations, accepted, corpus->len);
	return 0;
}
#endif
