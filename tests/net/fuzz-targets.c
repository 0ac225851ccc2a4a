/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz targets with libFuzzer's entry point, for the two parsers that take
 * untrusted bytes: the network option grammar (argv, netdev_add) and the
 * stream socket deframer (bytes from a remote peer).
 *
 * The test suite runs them through fuzz-driver.c (random and mutated
 * inputs for a bounded time). With clang they also build as libFuzzer
 * binaries:
 *   clang -g -fsanitize=fuzzer,address -DKITE_FUZZ_TARGET=1 ...
 */
#include "framer.h"
#include "main-loop.h"
#include "net-cmdline.h"
#include "net.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_options(const uint8_t *data, size_t size)
{
	/* Byte 0 picks the option; the rest is its argument. */
	char *arg = g_strndup((const char *)data + 1, size - 1);
	/* model=help prints and exits, by design; not what we look for. */
	if (!strstr(arg, "model=?") && !strstr(arg, "model=help")) {
		GError *err = NULL;
		switch (data[0] % 5) {
		case 0:
			net_cmdline_net(arg, &err);
			break;
		case 1:
			net_cmdline_netdev(arg, &err);
			break;
		case 2:
			net_cmdline_nic(arg, &err);
			break;
		case 3:
			net_cmdline_object(arg, &err);
			break;
		default: {
			/* netdev_add parses and creates at once: only types whose
			 * creation touches nothing outside the process. */
			if (!strncmp(arg, "user", 4) || !strncmp(arg, "hubport", 7))
				net_netdev_add(arg, &err);
			break;
		}
		}
		/* Errors must name something: never an empty message. */
		if (err && !*err->message)
			abort();
		g_clear_error(&err);
	}
	g_free(arg);
	net_cleanup_all();
	net_cmdline_reset();
}

static void fuzz_framer(const uint8_t *data, size_t size)
{
	static NetFramer f;
	net_framer_reset(&f);
	/* Byte 0 sets the chunk size the stream arrives in. */
	size_t chunk = (data[0] % 64) + 1;
	data++;
	size--;
	while (size) {
		size_t n = MIN(chunk, size);
		while (n) {
			const uint8_t *frame;
			size_t flen;
			ssize_t used = net_framer_feed(&f, data, n, &frame, &flen);
			if (used < 0) {
				if (flen != 0 && flen <= NET_MAX_FRAME)
					abort(); /* a valid length was refused */
				return;
			}
			if (used == 0 || (size_t)used > n)
				abort(); /* no progress, or read past the input */
			if (frame && (flen == 0 || flen > NET_MAX_FRAME))
				abort();
			data += used;
			size -= used;
			n -= used;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		ml_init();
		net_nic_model_register("e1000", NULL);
		net_nic_model_register("virtio-net-pci", "virtio");
		init = true;
	}
	if (size < 2)
		return 0;
#if defined(KITE_FUZZ_TARGET) && KITE_FUZZ_TARGET == 2
	fuzz_framer(data, size);
#elif defined(KITE_FUZZ_TARGET) && KITE_FUZZ_TARGET == 1
	fuzz_options(data, size);
#else
	/* Driver builds: the first byte's top bit picks the target. */
	if (data[0] & 0x80)
		fuzz_framer(data + 1, size - 1 ? size - 1 : 0);
	else
		fuzz_options(data, size);
#endif
	return 0;
}
