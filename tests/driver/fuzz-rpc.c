/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzzer of virtkited's packet path: the real server (framing, header
 * checks, dispatch, every procedure's argument decoder) runs in this
 * process on a private directory; mutated packets built from valid calls
 * arrive through real UNIX sockets. It runs for a given number of seconds
 * (a bound, not a speed requirement) and fails if the process crashes
 * (ASan/UBSan make memory errors crashes) or if, at the end, a fresh
 * client is no longer served.
 *
 * Mutated calls may define and start networks: the fuzzer first moves to
 * a network namespace of its own (when it may) so no bridge, nft table or
 * dnsmasq it causes touches the host, and stops what it started at the end.
 *
 * usage: fuzz-rpc SECONDS [SEED]
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "domain.h"
#include "network.h"
#include "server.h"
#include "util.h"

static GRand *rng;

static void put_u32(GByteArray *b, uint32_t v)
{
	xdr_put_u32(b, v);
}

static GByteArray *call(int proc)
{
	struct rpc_header h = {RPC_PROGRAM_REMOTE, 1, proc, RPC_CALL, 0, RPC_OK};
	return rpc_packet_new(&h);
}

static void put_dom(GByteArray *b, const char *name)
{
	uint8_t uuid[16] = {0};
	wire_put_domain(b, name, uuid, -1);
}

#define DOMAIN_XML                                                                                 \
	"<domain type='kvm'><name>fz</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"           \
	"<os><type arch='x86_64'>hvm</type></os><devices><interface type='user'>"                  \
	"<mac address='52:54:00:00:00:01'/></interface></devices></domain>"
#define NETWORK_XML                                                                                \
	"<network><name>fznet</name><bridge name='fzbr0'/><ip address='10.9.9.1' "                 \
	"netmask='255.255.255.0'><dhcp><range start='10.9.9.2' end='10.9.9.9'/></dhcp>"            \
	"</ip></network>"

/* Valid calls: the seeds the mutations start from. */
static GPtrArray *seeds(void)
{
	GPtrArray *s = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	GByteArray *b;

	b = call(PROC_AUTH_LIST), g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_SUPPORTS_FEATURE), put_u32(b, 10), g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_OPEN), xdr_put_opt_string(b, "kite:///system"), put_u32(b, 0),
	g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_LIST_ALL_DOMAINS), put_u32(b, 1), put_u32(b, 3),
	g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_LIST_ALL_NETWORKS), put_u32(b, 1), put_u32(b, 3),
	g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_LOOKUP_BY_NAME), xdr_put_string(b, "fz"), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_DEFINE_XML), xdr_put_string(b, DOMAIN_XML), g_ptr_array_add(s, b);
	b = call(PROC_NETWORK_DEFINE_XML), xdr_put_string(b, NETWORK_XML), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_GET_XML_DESC), put_dom(b, "fz"), put_u32(b, 0), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_GET_INFO), put_dom(b, "fz"), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_GET_STATE), put_dom(b, "fz"), put_u32(b, 0), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_UPDATE_DEVICE_FLAGS), put_dom(b, "fz"),
	xdr_put_string(b, "<interface type='user'><mac address='52:54:00:00:00:01'/>"
			  "<link state='down'/></interface>"),
	put_u32(b, 2), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_INTERFACE_ADDRESSES), put_dom(b, "fz"), put_u32(b, 0), put_u32(b, 0),
	g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_GET_ALL_DOMAIN_STATS), put_u32(b, 1), put_dom(b, "fz"),
	put_u32(b, 0x3f), put_u32(b, 0), g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY), put_u32(b, 0), put_u32(b, 0),
	g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY), put_u32(b, 0), put_u32(b, 0),
	g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_OPEN_CONSOLE), put_dom(b, "fz"), put_u32(b, 0), put_u32(b, 1),
	g_ptr_array_add(s, b);
	b = call(PROC_NETWORK_GET_DHCP_LEASES), wire_put_network(b, "fznet", (uint8_t[16]){0}),
	put_u32(b, 0), put_u32(b, 1), put_u32(b, 0), g_ptr_array_add(s, b);
	b = call(PROC_CONNECT_GET_DOMAIN_CAPABILITIES), put_u32(b, 0), put_u32(b, 0), put_u32(b, 0),
	put_u32(b, 0), put_u32(b, 0), g_ptr_array_add(s, b);
	b = call(PROC_DOMAIN_UNDEFINE_FLAGS), put_dom(b, "fz"), put_u32(b, 0),
	g_ptr_array_add(s, b);
	struct rpc_header ka = {RPC_PROGRAM_KEEPALIVE, 1, KEEPALIVE_PING, RPC_MESSAGE, 0, 0};
	g_ptr_array_add(s, rpc_packet_new(&ka));
	struct rpc_header st = {RPC_PROGRAM_REMOTE, 1, PROC_DOMAIN_OPEN_CONSOLE,
				RPC_STREAM,	    7, RPC_CONTINUE};
	b = rpc_packet_new(&st), g_byte_array_append(b, (const uint8_t *)"abc", 3),
	g_ptr_array_add(s, b);
	for (guint i = 0; i < s->len; i++)
		rpc_packet_finish(s->pdata[i]);
	return s;
}

static GByteArray *mutate(GByteArray *seed)
{
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, seed->data, seed->len);
	int rounds = g_rand_int_range(rng, 0, 6);
	for (int r = 0; r < rounds; r++) {
		switch (g_rand_int_range(rng, 0, 8)) {
		case 0: /* flip a bit of the payload */
			if (b->len > 28)
				b->data[g_rand_int_range(rng, 28, b->len)] ^=
				    1 << g_rand_int_range(rng, 0, 8);
			break;
		case 1: /* truncate */
			if (b->len > 28)
				g_byte_array_set_size(b, g_rand_int_range(rng, 28, b->len));
			break;
		case 2: { /* append junk */
			int n = g_rand_int_range(rng, 1, 64);
			for (int i = 0; i < n; i++) {
				uint8_t v = g_rand_int(rng);
				g_byte_array_append(b, &v, 1);
			}
			break;
		}
		case 3: /* random procedure */
			xdr_patch_u32(b, 12, g_rand_int_range(rng, -2, 500));
			break;
		case 4: /* random type / status */
			xdr_patch_u32(b, 16, g_rand_int_range(rng, -1, 8));
			xdr_patch_u32(b, 24, g_rand_int_range(rng, -1, 4));
			break;
		case 5: /* a big number where a length or count may be */
			if (b->len >= 32) {
				size_t off = 28 + 4 * g_rand_int_range(rng, 0, (b->len - 28) / 4);
				xdr_patch_u32(b, off,
					      g_rand_boolean(rng)
						  ? 0xffffffffu
						  : (uint32_t)g_rand_int_range(rng, 0, 1 << 20));
			}
			break;
		case 6: /* random program / version */
			xdr_patch_u32(
			    b, 4, g_rand_boolean(rng) ? RPC_PROGRAM_KEEPALIVE : g_rand_int(rng));
			xdr_patch_u32(b, 8, g_rand_int_range(rng, 0, 3));
			break;
		case 7: /* overwrite a random byte anywhere after the length */
			if (b->len > 4)
				b->data[g_rand_int_range(rng, 4, b->len)] = g_rand_int(rng);
			break;
		}
	}
	rpc_packet_finish(b);
	/* Sometimes lie about the length (framing errors). */
	if (g_rand_int_range(rng, 0, 20) == 0)
		xdr_patch_u32(b, 0, g_rand_int(rng));
	return b;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("connect");
		exit(1);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Let the server work, and drain what it sends us. */
static void pump(int fd)
{
	char buf[65536];
	for (int quiet = 0; quiet < 3;) {
		bool busy = g_main_context_iteration(NULL, FALSE);
		ssize_t n = fd >= 0 ? recv(fd, buf, sizeof(buf), 0) : -1;
		quiet = (busy || n > 0) ? 0 : quiet + 1;
	}
}

static bool still_serves(const char *path)
{
	int fd = connect_to(path);
	GByteArray *p = call(PROC_CONNECT_GET_TYPE);
	rpc_packet_finish(p);
	bool ok = send(fd, p->data, p->len, MSG_NOSIGNAL) == (ssize_t)p->len;
	g_byte_array_unref(p);
	uint8_t reply[64];
	size_t have = 0;
	for (int i = 0; ok && i < 2000 && have < 28; i++) {
		g_main_context_iteration(NULL, FALSE);
		ssize_t n = recv(fd, reply + have, sizeof(reply) - have, 0);
		if (n > 0)
			have += n;
		else
			g_usleep(1000);
	}
	close(fd);
	/* Before connect_open: an error reply (type 1, status 1) is right. */
	return have >= 28 && reply[19] == RPC_REPLY;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fuzz-rpc SECONDS [SEED]\n");
		return 2;
	}
	int seconds = atoi(argv[1]);
	guint32 seed = argc > 2 ? (guint32)strtoul(argv[2], NULL, 0) : (guint32)time(NULL);
	rng = g_rand_new_with_seed(seed);
	printf("fuzz-rpc: %d s, seed %u\n", seconds, seed);

	if (unshare(CLONE_NEWNET) < 0)
		printf("fuzz-rpc: no private network namespace (%s); network starts will fail\n",
		       g_strerror(errno));
	g_autofree char *root = g_dir_make_tmp("fuzz-rpc-XXXXXX", NULL);
	cfg.listen_dir = g_build_filename(root, "sock", NULL);
	cfg.etc_dir = g_build_filename(root, "etc", NULL);
	cfg.run_dir = g_build_filename(root, "run", NULL);
	cfg.log_dir = g_build_filename(root, "log", NULL);
	cfg.emulator = g_strdup("/nonexistent/kite");
	g_autofree char *log = g_build_filename(root, "daemon.log", NULL);
	log_open_file(log);
	networks_init();
	domains_init();
	g_autoptr(GError) err = NULL;
	if (!server_start(domains_busy, &err)) {
		fprintf(stderr, "server_start: %s\n", err->message);
		return 1;
	}
	g_autofree char *sock = g_build_filename(cfg.listen_dir, "virtkited-sock", NULL);
	g_autoptr(GPtrArray) corpus = seeds();

	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	unsigned long packets = 0, conns = 0;
	while (g_get_monotonic_time() < end) {
		int fd = connect_to(sock);
		conns++;
		if (g_rand_boolean(rng)) {
			/* Handshake so the procedures behind connect_open run. */
			for (int i = 0; i < 3; i++) {
				GByteArray *p = corpus->pdata[i];
				if (send(fd, p->data, p->len, MSG_NOSIGNAL) < 0)
					break;
			}
			pump(fd);
		}
		int n = g_rand_int_range(rng, 1, 16);
		for (int i = 0; i < n; i++) {
			GByteArray *p =
			    mutate(corpus->pdata[g_rand_int_range(rng, 0, corpus->len)]);
			ssize_t w = send(fd, p->data, p->len, MSG_NOSIGNAL);
			g_byte_array_unref(p);
			packets++;
			pump(fd);
			if (w < 0)
				break;
		}
		close(fd);
		pump(-1);
	}
	bool ok = still_serves(sock);
	printf("fuzz-rpc: %lu packets on %lu connections; server %s\n", packets, conns,
	       ok ? "still serves" : "NO LONGER SERVES");
	server_stop();
	GPtrArray *nets = networks_list();
	for (guint i = nets->len; i > 0; i--) {
		struct network *n = nets->pdata[i - 1];
		if (n->active)
			network_stop(n, NULL);
	}
	domains_release();
	/* Leave no definitions the mutated calls created behind. */
	util_remove_tree(root);
	return ok ? 0 : 1;
}
