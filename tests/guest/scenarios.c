// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The scenarios the test guest runs, chosen by the kernel command line
 * "SCENARIO ARGS...". Each ends with exactly one "KTEST <name> PASS|FAIL"
 * line and an isa-debug-exit status; every wait has a timeout.
 */
#include "arch.h"
#include "net.h"

/* Dotted quad through plain %u: gcc's printf checking rejects %I. */
#define IPF "%u.%u.%u.%u"
#define IPA(ip)                                                                                    \
	(unsigned)((ip) >> 24), (unsigned)((ip) >> 16 & 0xff), (unsigned)((ip) >> 8 & 0xff),       \
	    (unsigned)((ip)&0xff)

#define MAX_ARGS       16
#define DHCP_TIMEOUT   15000
#define TCP_TIMEOUT_MS 30000

static const char *name; /* the running scenario, for the KTEST line */

static bool arg_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!parse_u64(s, out) || *out < min || *out > max)
		ktest_fail(name, "bad %s '%s' (expected %lu..%lu)", what, s, (unsigned long)min,
			   (unsigned long)max);
	return true;
}

static uint32_t arg_ipv4(const char *what, const char *s)
{
	uint32_t a;

	if (!parse_ipv4(s, &a))
		ktest_fail(name, "bad %s '%s' (expected a dotted IPv4 address)", what, s);
	return a;
}

static struct netif *nic_up(void)
{
	struct netif *nif = netif_probe();

	if (!nif)
		ktest_fail(name, "no supported network card found");
	net_init(nif);
	return nif;
}

/* Probe, bind the stack and run DHCP; fails the scenario on timeout. */
static struct netif *net_up(void)
{
	struct netif *nif = nic_up();
	uint64_t t0 = now_us();

	if (dhcp_run(DHCP_TIMEOUT) != 0)
		ktest_fail(name, "dhcp: no lease within %u ms (link %s)", DHCP_TIMEOUT,
			   nif->link_up(nif) ? "up" : "down");
	struct netcfg *c = net_config();
	kprintf("dhcp: addr " IPF " mask " IPF " gw " IPF " dns " IPF " in %lu ms\n", IPA(c->addr),
		IPA(c->mask), IPA(c->gw), IPA(c->dns), (unsigned long)((now_us() - t0) / 1000));
	return nif;
}

static void run_hello(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	kprintf("hello from the kite test guest\n");
	ktest_pass(name, "cpl=%u ram=%luMiB tsc=%luMHz", cs & 3,
		   (unsigned long)(boot_info.ram_below_4g >> 20),
		   (unsigned long)(tsc_hz() / 1000000));
}

static void run_spin(int argc, char **argv)
{
	uint64_t n;

	(void)argc;
	arg_u64("iteration count", argv[1], 1, 1ull << 40, &n);
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("" : : "r"(i));
	uint64_t cycles = rdtsc() - t0;
	ktest_pass(name, "iterations=%lu cycles=%lu us=%lu", (unsigned long)n,
		   (unsigned long)cycles, (unsigned long)(cycles * 1000 / (tsc_hz() / 1000)));
}

void print_pci_function(const struct pci_dev *d)
{
	char line[512];
	int len = ksnprintf(line, sizeof(line), "PCI %02x:%02x.%x %04x:%04x class %06x", d->bus,
			    d->dev, d->fn, d->vendor, d->device, d->class_rev >> 8);

	for (int b = 0; b < 6 && len < (int)sizeof(line); b++) {
		const struct pci_bar *bar = &d->bar[b];
		const char *kind = bar->kind == PCI_BAR_IO	? "io"
				   : bar->kind == PCI_BAR_MEM64 ? "mem64"
								: "mem";
		if (bar->kind == PCI_BAR_NONE)
			continue;
		len += ksnprintf(line + len, sizeof(line) - len, " BAR%d=%s%s:0x%lx/0x%lx", b, kind,
				 bar->prefetchable ? "pf" : "", (unsigned long)bar->addr,
				 (unsigned long)bar->size);
	}
	kprintf("%s\n", line);
}

static int print_pci_functions(void)
{
	struct pci_dev *devs;
	int n = pci_scan(&devs);

	for (int i = 0; i < n; i++)
		print_pci_function(&devs[i]);
	return n;
}

static void run_pci_list(int argc, char **argv)
{
	int n = print_pci_functions();

	/* "pci-list hold": keep the machine up until a byte arrives on COM1,
	 * so that a test can compare with the emulator's own view. */
	if (argc > 1) {
		if (strcmp(argv[1], "hold") != 0)
			ktest_fail(name, "bad argument '%s' (expected 'hold')", argv[1]);
		kprintf("PCI-LIST-HOLD\n");
		if (serial_getc(60000) < 0)
			ktest_fail(name, "no byte on COM1 within 60 s");
	}
	ktest_pass(name, "functions=%d", n);
}

/* Firmware-less start: forget every BAR, let pci_scan() assign them,
 * then prove the NIC works at its new addresses with DHCP and a ping. */
static void run_pci_assign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int cleared = pci_forget_bars();
	if (cleared < 0)
		ktest_fail(name, "PCI was scanned before the BARs could be cleared");
	print_pci_functions();
	net_up();
	uint32_t gw = net_config()->gw;
	uint64_t rtt;
	if (!gw || ping(gw, 1, 2000, &rtt) != 0)
		ktest_fail(name, "no echo reply from the gateway " IPF, IPA(gw));
	ktest_pass(name, "cleared=%d gw=" IPF " rtt_us=%lu", cleared, IPA(gw), (unsigned long)rtt);
}

static void run_dhcp(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	net_up();
	struct netcfg *c = net_config();
	ktest_pass(name, "addr=" IPF " gw=" IPF " dns=" IPF, IPA(c->addr), IPA(c->gw), IPA(c->dns));
}

static void run_ping(int argc, char **argv)
{
	uint32_t dst = arg_ipv4("address", argv[1]);
	uint64_t count = 3;

	if (argc > 2)
		arg_u64("count", argv[2], 1, 1000, &count);
	net_up();
	unsigned replies = 0;
	uint64_t rtt_sum = 0;
	for (uint64_t seq = 1; seq <= count; seq++) {
		uint64_t rtt;
		if (ping(dst, (uint16_t)seq, 2000, &rtt) == 0) {
			kprintf("ping: reply from " IPF " seq %lu rtt %lu us\n", IPA(dst),
				(unsigned long)seq, (unsigned long)rtt);
			replies++;
			rtt_sum += rtt;
		} else {
			kprintf("ping: no reply from " IPF " seq %lu\n", IPA(dst),
				(unsigned long)seq);
		}
	}
	if (!replies)
		ktest_fail(name, "dst=" IPF " replies=0/%lu", IPA(dst), (unsigned long)count);
	ktest_pass(name, "dst=" IPF " replies=%u/%lu avg_rtt_us=%lu", IPA(dst), replies,
		   (unsigned long)count, (unsigned long)(rtt_sum / replies));
}

static void run_dns(int argc, char **argv)
{
	const char *host = argv[1];
	uint32_t server = 0;
	uint64_t port = 53;

	if (strlen(host) > 253)
		ktest_fail(name, "bad name: longer than 253 characters");
	if (argc > 2) {
		/* SERVER or SERVER:PORT */
		char addr[32];
		const char *colon = strchr(argv[2], ':');
		size_t len = colon ? (size_t)(colon - argv[2]) : strlen(argv[2]);
		if (len >= sizeof(addr))
			ktest_fail(name, "bad server '%s' (expected ADDR[:PORT])", argv[2]);
		memcpy(addr, argv[2], len);
		addr[len] = 0;
		server = arg_ipv4("server", addr);
		if (colon)
			arg_u64("server port", colon + 1, 1, 65535, &port);
	}
	net_up();
	if (!server)
		server = net_config()->dns;
	if (!server)
		ktest_fail(name, "no DNS server (DHCP gave none and none was given)");
	uint32_t addr;
	if (dns_resolve_at(host, server, (uint16_t)port, &addr, 5000) != 0)
		ktest_fail(name, "name=%s server=" IPF ":%lu no answer", host, IPA(server),
			   (unsigned long)port);
	ktest_pass(name, "name=%s addr=" IPF " server=" IPF ":%lu", host, IPA(addr), IPA(server),
		   (unsigned long)port);
}

static void run_tcp_echo_server(int argc, char **argv)
{
	uint64_t port;

	(void)argc;
	arg_u64("port", argv[1], 1, 65535, &port);
	net_up();
	if (tcp_listen((uint16_t)port) != 0)
		ktest_fail(name, "listen on port %lu failed", (unsigned long)port);
	kprintf("LISTEN %lu\n", (unsigned long)port);
	if (tcp_accept(60000) != 0)
		ktest_fail(name, "no connection on port %lu within 60 s", (unsigned long)port);
	kprintf("tcp: accepted\n");

	static char buf[4096];
	char line[8];
	size_t line_len = 0;
	bool quit = false;
	uint64_t total = 0;
	while (!quit) {
		int n = tcp_recv(buf, sizeof(buf), TCP_TIMEOUT_MS);
		if (n < 0)
			ktest_fail(name, "recv timed out after %lu bytes", (unsigned long)total);
		if (n == 0)
			break;
		if (tcp_send(buf, (size_t)n, TCP_TIMEOUT_MS) != 0)
			ktest_fail(name, "send failed after %lu bytes", (unsigned long)total);
		total += (uint64_t)n;
		/* Look for a line that is exactly "quit" (CR LF tolerated). */
		for (int i = 0; i < n && !quit; i++) {
			char c = buf[i];
			if (c == '\n') {
				if (line_len && line[line_len - 1] == '\r')
					line_len--;
				quit = line_len == 4 && !memcmp(line, "quit", 4);
				line_len = 0;
			} else if (line_len < sizeof(line)) {
				line[line_len++] = c;
			} else {
				line_len = sizeof(line); /* too long to be "quit" */
			}
		}
	}
	if (tcp_close(5000) != 0)
		kprintf("tcp: close did not complete\n");
	ktest_pass(name, "bytes=%lu end=%s", (unsigned long)total, quit ? "quit" : "peer-close");
}

static void run_tcp_connect(int argc, char **argv)
{
	uint32_t dst = arg_ipv4("address", argv[1]);
	uint64_t port;
	const char *data = argv[3];

	(void)argc;
	arg_u64("port", argv[2], 1, 65535, &port);
	net_up();
	if (tcp_connect(dst, (uint16_t)port, 10000) != 0)
		ktest_fail(name, "connect to " IPF ":%lu failed", IPA(dst), (unsigned long)port);
	kprintf("tcp: connected to " IPF ":%lu\n", IPA(dst), (unsigned long)port);
	char msg[256];
	int len = ksnprintf(msg, sizeof(msg), "%s\n", data);
	if (len >= (int)sizeof(msg))
		ktest_fail(name, "bad data: longer than %zu bytes", sizeof(msg) - 2);
	if (tcp_send(msg, (size_t)len, 10000) != 0)
		ktest_fail(name, "send failed");

	/* Read until the peer closes, the buffer is full, or a second of
	 * silence after a full line. */
	static char reply[512];
	size_t got = 0;
	for (;;) {
		bool have_line = got && reply[got - 1] == '\n';
		int n = tcp_recv(reply + got, sizeof(reply) - 1 - got, have_line ? 1000 : 10000);
		if (n <= 0) {
			if (n < 0 && !have_line && !got)
				ktest_fail(name, "no reply within 10 s");
			break;
		}
		got += (size_t)n;
		if (got == sizeof(reply) - 1)
			break;
	}
	tcp_close(5000);
	reply[got] = 0;
	/* Keep the result one printable line. */
	while (got && (reply[got - 1] == '\n' || reply[got - 1] == '\r'))
		reply[--got] = 0;
	for (size_t i = 0; i < got; i++) {
		if (reply[i] < 0x20 || reply[i] > 0x7e)
			reply[i] = '.';
	}
	ktest_pass(name, "reply=%s", reply);
}

static void run_udp_blast(int argc, char **argv)
{
	uint32_t dst = arg_ipv4("address", argv[1]);
	uint64_t port, count, size;

	(void)argc;
	arg_u64("port", argv[2], 1, 65535, &port);
	arg_u64("count", argv[3], 1, 100000000, &count);
	arg_u64("size", argv[4], 0, 1472, &size);
	net_up();
	static uint8_t payload[1472];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;

	/* The first datagram resolves the next hop; the rest is the run. */
	uint64_t deadline = now_us() + 5000000;
	while (udp_send(dst, 40000, (uint16_t)port, payload, size) != 0) {
		net_poll();
		if (now_us() > deadline)
			ktest_fail(name, "cannot send to " IPF " (no ARP answer?)", IPA(dst));
	}
	uint64_t retries = 0;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 1; i < count; i++) {
		uint64_t give_up = now_us() + 2000000;
		while (udp_send(dst, 40000, (uint16_t)port, payload, size) != 0) {
			retries++;
			net_poll();
			if (now_us() > give_up)
				ktest_fail(name, "transmit stuck after %lu datagrams",
					   (unsigned long)i);
		}
	}
	uint64_t cycles = rdtsc() - t0;
	uint64_t us = cycles / (tsc_hz() / 1000000);
	if (!us)
		us = 1;
	uint64_t fps = (count - 1) * 1000000 / us;
	ktest_pass(name, "sent=%lu size=%lu us=%lu frames_per_s=%lu kbit_per_s=%lu retries=%lu",
		   (unsigned long)count, (unsigned long)size, (unsigned long)us, (unsigned long)fps,
		   (unsigned long)(fps * (size + 42) * 8 / 1000), (unsigned long)retries);
}

/*
 * udp-sink: counts the datagrams a host sends to PORT (through a hostfwd
 * rule). Each carries a 4-byte big-endian sequence number, then bytes
 * (seq + i) & 0xff: the guest checks every one, remembers which numbers
 * it has seen, and with "ack" tells the sender the count received so far
 * (4 bytes) after every poll that brought new ones and every 100 ms, so
 * that the host can keep a bounded number in flight. The datagrams are taken off the card by a
 * frame filter in front of the network stack, which keeps ARP and the
 * rest working meanwhile.
 */
#define SINK_MAX 100000

static struct udp_sink {
	uint16_t port;
	uint64_t count;
	uint64_t unique, dups, corrupt, out_of_range;
	uint32_t peer_addr;
	uint16_t peer_port;
	uint64_t last_us;
	uint8_t seen[SINK_MAX / 8];
} sink;

static bool sink_take(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	if (len < ETH_HLEN + IPV4_HLEN + UDP_HLEN || get_be16(f + 12) != ETHERTYPE_IPV4)
		return false;
	const uint8_t *ip = f + ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, total = get_be16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < IPV4_HLEN || total < ihl + UDP_HLEN ||
	    total > len - ETH_HLEN || ip[9] != IPPROTO_UDP || (get_be16(ip + 6) & 0x3fff) ||
	    get_be32(ip + 16) != net_config()->addr)
		return false;
	const uint8_t *udp = ip + ihl;
	size_t ulen = get_be16(udp + 4);
	if (get_be16(udp + 2) != sink.port || ulen < UDP_HLEN || ulen > total - ihl)
		return false;
	/* Ours from here on: whatever is wrong with it is counted. */
	uint32_t src = get_be32(ip + 12);
	if (csum_fold(csum_add(0, ip, ihl)) != 0 ||
	    (get_be16(udp + 6) &&
	     csum_fold(csum_add(csum_pseudo(src, get_be32(ip + 16), IPPROTO_UDP, (uint16_t)ulen),
				udp, ulen)) != 0)) {
		sink.corrupt++;
		return true;
	}
	const uint8_t *data = udp + UDP_HLEN;
	size_t dlen = ulen - UDP_HLEN;
	if (dlen < 4) {
		sink.corrupt++;
		return true;
	}
	uint32_t seq = get_be32(data);
	for (size_t i = 4; i < dlen; i++) {
		if (data[i] != (uint8_t)(seq + i)) {
			sink.corrupt++;
			return true;
		}
	}
	if (seq >= sink.count) {
		sink.out_of_range++;
		return true;
	}
	if (sink.seen[seq / 8] & (1u << (seq % 8))) {
		sink.dups++;
	} else {
		sink.seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		sink.unique++;
	}
	sink.peer_addr = src;
	sink.peer_port = get_be16(udp);
	sink.last_us = now_us();
	return true;
}

/* Tells the sender how many distinct datagrams arrived so far. */
static bool sink_ack(void)
{
	uint8_t msg[4];

	if (!sink.peer_port)
		return false;
	put_be32(msg, (uint32_t)sink.unique);
	return udp_send(sink.peer_addr, sink.port, sink.peer_port, msg, sizeof(msg)) == 0;
}

static void run_udp_sink(int argc, char **argv)
{
	uint64_t port, count;
	bool ack = false;

	arg_u64("port", argv[1], 1, 65535, &port);
	arg_u64("count", argv[2], 1, SINK_MAX, &count);
	if (argc > 3) {
		if (strcmp(argv[3], "ack") != 0)
			ktest_fail(name, "bad argument '%s' (expected 'ack')", argv[3]);
		ack = true;
	}
	struct netif *nif = netif_probe();
	if (!nif)
		ktest_fail(name, "no supported network card found");
	memset(&sink, 0, sizeof(sink));
	sink.port = (uint16_t)port;
	sink.count = count;
	net_init(netif_filter(nif, sink_take, NULL));
	if (dhcp_run(DHCP_TIMEOUT) != 0)
		ktest_fail(name, "dhcp: no lease within %u ms", DHCP_TIMEOUT);

	kprintf("UDP-SINK-READY %lu\n", (unsigned long)port);
	uint64_t start = now_us(), first = 0, acked = 0, acked_us = 0;
	sink.last_us = start;
	while (sink.unique < count) {
		net_poll();
		if (!first && sink.unique)
			first = now_us();
		/* Again every 100 ms when nothing new came: a lost
		 * acknowledgement must not stall the sender's window. */
		if (ack && (sink.unique != acked || now_us() - acked_us > 100000) && sink_ack()) {
			acked = sink.unique;
			acked_us = now_us();
		}
		/* Quiet for 10 s (30 s before the first datagram): give up. */
		if (now_us() - sink.last_us > (first ? 10000000u : 30000000u))
			break;
	}
	uint64_t us = first ? now_us() - first : 0;
	/* The last acknowledgement, if the card was busy a moment ago. */
	for (uint64_t give_up = now_us() + 200000;
	     ack && acked != sink.unique && now_us() < give_up; net_poll()) {
		if (sink_ack())
			acked = sink.unique;
	}
	kprintf("udp-sink: unique %lu dups %lu corrupt %lu out-of-range %lu card rx %lu "
		"dropped %lu\n",
		(unsigned long)sink.unique, (unsigned long)sink.dups, (unsigned long)sink.corrupt,
		(unsigned long)sink.out_of_range, (unsigned long)nif->rx_frames,
		(unsigned long)nif->rx_dropped);
	if (sink.unique < count || sink.corrupt || sink.out_of_range)
		ktest_fail(name, "received=%lu of %lu corrupt=%lu out_of_range=%lu",
			   (unsigned long)sink.unique, (unsigned long)count,
			   (unsigned long)sink.corrupt, (unsigned long)sink.out_of_range);
	ktest_pass(name, "received=%lu dups=%lu us=%lu", (unsigned long)sink.unique,
		   (unsigned long)sink.dups, (unsigned long)us);
}

static void run_link_watch(int argc, char **argv)
{
	uint64_t seconds = 10, want = 2;

	if (argc > 1)
		arg_u64("seconds", argv[1], 1, 3600, &seconds);
	if (argc > 2)
		arg_u64("change count", argv[2], 0, 1000, &want);
	struct netif *nif = netif_probe();
	if (!nif)
		ktest_fail(name, "no supported network card found");
	bool up = nif->link_up(nif);
	kprintf("LINK-READY %s\n", up ? "up" : "down");
	uint64_t changes = 0;
	uint64_t end = now_us() + seconds * 1000000;
	while (now_us() < end && (want == 0 || changes < want)) {
		bool now = nif->link_up(nif);
		if (now != up) {
			up = now;
			changes++;
			kprintf("LINK %s\n", up ? "up" : "down");
		}
		udelay(5000);
	}
	if (changes < want)
		ktest_fail(name, "changes=%lu of %lu within %lu s", (unsigned long)changes,
			   (unsigned long)want, (unsigned long)seconds);
	ktest_pass(name, "changes=%lu link=%s", (unsigned long)changes, up ? "up" : "down");
}

/* Deliberate exceptions: the ring-0 handler must report them and exit. */
static void run_fault(int argc, char **argv)
{
	const char *kind = argv[1];

	(void)argc;
	kprintf("fault: raising %s\n", kind);
	if (!strcmp(kind, "pf")) {
		/* Above the 4 GiB identity map: not present. */
		(void)*(volatile uint64_t *)0x100000000000ull;
	} else if (!strcmp(kind, "ud")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(kind, "gp")) {
		__asm__ volatile("cli; hlt"); /* hlt is privileged in ring 3 */
	} else if (!strcmp(kind, "de")) {
		unsigned eax = 1, edx = 0, zero = 0;
		__asm__ volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(zero));
	} else {
		ktest_fail(name, "bad fault kind '%s' (expected pf, ud, gp or de)", kind);
	}
	ktest_fail(name, "fault %s did not trap", kind);
}

static const struct scenario scenarios[] = {
    {"hello", "hello", 0, 0, run_hello},
    {"spin", "spin N", 1, 1, run_spin},
    {"pci-list", "pci-list [hold]", 0, 1, run_pci_list},
    {"pci-assign", "pci-assign", 0, 0, run_pci_assign},
    {"dhcp", "dhcp", 0, 0, run_dhcp},
    {"ping", "ping ADDR [COUNT]", 1, 2, run_ping},
    {"dns", "dns NAME [SERVER[:PORT]]", 1, 2, run_dns},
    {"tcp-echo-server", "tcp-echo-server PORT", 1, 1, run_tcp_echo_server},
    {"tcp-connect", "tcp-connect ADDR PORT DATA", 3, 3, run_tcp_connect},
    {"udp-blast", "udp-blast ADDR PORT COUNT SIZE", 4, 4, run_udp_blast},
    {"udp-sink", "udp-sink PORT COUNT [ack]", 2, 3, run_udp_sink},
    {"offload-tso", "offload-tso ADDR PORT BYTES", 3, 3, run_offload_tso},
    {"link-watch", "link-watch [SECONDS [CHANGES]]", 0, 2, run_link_watch},
    {"hotplug", "hotplug TIMEOUT_S [CYCLES]", 1, 2, run_hotplug},
    {"hotplug-eject-fixed", "hotplug-eject-fixed", 0, 0, run_hotplug_eject_fixed},
    {"fault", "fault pf|ud|gp|de", 1, 1, run_fault},
};

void run_command_line(const char *cmdline)
{
	static char buf[1024];
	char *argv[MAX_ARGS + 1];
	int argc = 0;

	size_t len = strlen(cmdline);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, cmdline, len);
	buf[len] = 0;
	for (char *p = buf; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = 0;
		if (!*p)
			break;
		if (argc == MAX_ARGS) {
			argc++;
			break;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}

	name = argc ? argv[0] : "none";
	current_test_name = name;
	kprintf("KTEST-START %s\n", name);
	if (!argc)
		ktest_fail(name, "empty command line: expected SCENARIO ARGS...");
	if (argc > MAX_ARGS)
		ktest_fail(name, "too many arguments (at most %d)", MAX_ARGS - 1);

	time_init();
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *s = &scenarios[i];
		if (strcmp(s->name, name) != 0)
			continue;
		if (argc - 1 < s->min_args || argc - 1 > s->max_args)
			ktest_fail(name, "expected %d..%d arguments, got %d: usage: %s",
				   s->min_args, s->max_args, argc - 1, s->usage);
		s->run(argc, argv);
		ktest_fail(name, "scenario returned without a result");
	}

	char known[256];
	size_t k = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		k += (size_t)ksnprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, " %s",
				       scenarios[i].name);
	ktest_fail(name, "unknown scenario '%s' (known:%s)", name, known);
}
