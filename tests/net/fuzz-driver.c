/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deterministic fuzz driver for fuzz-targets.c when libFuzzer is not used:
 * mutates a seed corpus (every args: line of the command-line cases, plus
 * framed streams) with a fixed-seed PRNG and runs for SECONDS seconds (the
 * fuzz_seconds option). A crash or sanitizer report fails the test; the
 * driver prints the input it was on first.
 *
 *   fuzz-driver SECONDS CASEFILE
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guint64 rng_state = 0x4b495445ULL; /* fixed: runs are reproducible */

static guint32 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (guint32)rng_state;
}

static const char *const dictionary[] = {
    ",",
    ",,",
    "=",
    "id=",
    "vlan=",
    "netdev=",
    "model=",
    "macaddr=",
    "mac=",
    "hostfwd=",
    "guestfwd=",
    "tcp::",
    "udp:",
    "-:",
    "listen=",
    "connect=",
    "mcast=",
    "udp=",
    "localaddr=",
    "fd=",
    "fds=",
    "ifname=",
    "script=",
    "helper=",
    "br=",
    "sndbuf=",
    "vnet_hdr=",
    "queues=",
    "hubid=",
    "addr.type=",
    "inet",
    "unix",
    "addr.host=",
    "addr.port=",
    "server=",
    "local.",
    "remote.",
    "net=",
    "/",
    "dhcpstart=",
    "dns=",
    "file=",
    "len=",
    "maxlen=",
    "filter-dump",
    "user",
    "tap",
    "socket",
    "stream",
    "dgram",
    "bridge",
    "hubport",
    "dump",
    "nic",
    "none",
    "52:54:00:12:34:56",
    "01:00:5e:00:00:01",
    "255.255.255.255",
    "999999999999999999999",
    "-1",
    "0",
    "on",
    "off",
    "\xff",
    "%s%n",
    ":",
    "10.0.2.15:22",
};

/* Byte 0 selects the target and is never touched; edits land in 1..len. */
static GByteArray *mutate(const GByteArray *seed)
{
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, seed->data, seed->len);
	int steps = 1 + rnd() % 6;
	for (int i = 0; i < steps; i++) {
		guint pos = 1 + rnd() % b->len; /* insertion point, 1..len */
		switch (rnd() % 5) {
		case 0: /* flip a bit */
			if (b->len > 1)
				b->data[1 + rnd() % (b->len - 1)] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: { /* insert a dictionary word */
			const char *w = dictionary[rnd() % G_N_ELEMENTS(dictionary)];
			GByteArray *t = g_byte_array_new();
			g_byte_array_append(t, b->data, pos);
			g_byte_array_append(t, (const uint8_t *)w, (guint)strlen(w));
			g_byte_array_append(t, b->data + pos, b->len - pos);
			g_byte_array_free(b, TRUE);
			b = t;
			break;
		}
		case 2: /* delete a range */
			if (b->len > 1) {
				guint at = 1 + rnd() % (b->len - 1), want = 1 + rnd() % 8;
				g_byte_array_remove_range(b, at, MIN(want, b->len - at));
			}
			break;
		case 3: { /* append a random byte */
			uint8_t r = (uint8_t)rnd();
			g_byte_array_append(b, &r, 1);
			break;
		}
		default: /* duplicate a slice at the end */
			if (b->len > 1) {
				guint at = 1 + rnd() % (b->len - 1), want = 1 + rnd() % 16;
				guint n = MIN(want, b->len - at);
				g_autofree uint8_t *copy = g_memdup2(b->data + at, n);
				g_byte_array_append(b, copy, n);
			}
			break;
		}
	}
	return b;
}

static void add_seed(GPtrArray *seeds, uint8_t selector, const void *data, size_t len)
{
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, &selector, 1);
	g_byte_array_append(b, data, len);
	g_ptr_array_add(seeds, b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SECONDS CASEFILE\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[1]);
	GPtrArray *seeds = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	char *text;
	if (!g_file_get_contents(argv[2], &text, NULL, NULL))
		return 2;
	char **lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		if (strncmp(lines[i], "args:", 5))
			continue;
		char **words = NULL;
		if (!g_shell_parse_argv(lines[i] + 5, NULL, &words, NULL))
			continue;
		for (int w = 0; words[w] && words[w + 1]; w++) {
			static const char *const opts[] = {"-net", "-netdev", "-nic", "-object"};
			for (uint8_t o = 0; o < 4; o++)
				if (!strcmp(words[w], opts[o]))
					add_seed(seeds, o, words[w + 1], strlen(words[w + 1]));
		}
		g_strfreev(words);
	}
	g_strfreev(lines);
	g_free(text);
	/* Stream seeds: framed frames, and edge lengths. */
	static const uint8_t s1[] = {0x80, 7, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z'};
	static const uint8_t s2[] = {0x80, 1, 0, 1, 0x10, 0, 0, 0, 0, 0};
	add_seed(seeds, 0x80, s1 + 1, sizeof(s1) - 1);
	add_seed(seeds, 0x80, s2 + 1, sizeof(s2) - 1);

	gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
	unsigned long runs = 0;
	for (guint i = 0; i < seeds->len; i++) {
		GByteArray *b = seeds->pdata[i];
		LLVMFuzzerTestOneInput(b->data, b->len);
	}
	while (g_get_monotonic_time() < end) {
		GByteArray *seed = seeds->pdata[rnd() % seeds->len];
		GByteArray *in = mutate(seed);
		LLVMFuzzerTestOneInput(in->data, in->len);
		g_byte_array_free(in, TRUE);
		runs++;
	}
	printf("%lu inputs from %u seeds in %.0f s, no failure\n", runs, seeds->len, seconds);
	g_ptr_array_free(seeds, TRUE);
	return 0;
}
