// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * udpflood: the UDP load tool of the kite benchmarks. Python is too slow to
 * offer or count more than a few hundred thousand datagrams a second, and too
 * noisy to time them; this does both in batches (sendmmsg/recvmmsg) and
 * prints one JSON object with what it saw.
 *
 *   udpflood flood --tx-bind ADDR:PORT --tx-to ADDR:PORT --rx-bind ADDR:PORT
 *                  --size BYTES [--seconds S] [--warmup S] [--window N]
 *                  [--batch N] [--cpu-pid PID] [--perf FILE]
 *
 *     Sends SIZE-byte datagrams (each one raw Ethernet frame, as the dgram
 *     back end expects) from tx-bind to tx-to, and counts those arriving at
 *     rx-bind. With --window N (default 128) at most N datagrams are in
 *     flight, so the tool offers exactly what the path under test forwards
 *     instead of burning a core on datagrams the kernel drops; --window 0
 *     sends open loop. Frames carry sequence numbers: gaps are counted as
 *     lost, and a window whose tail does not come back within 100 ms is
 *     written off (a stall); frames arriving after that count as late and
 *     are taken off the loss. Counting starts after the warm-up.
 *
 *   udpflood sink --bind ADDR:PORT [--idle-ms MS] [--timeout S]
 *                 [--cpu-pid PID|stdin] [--perf FILE] [--check-pattern]
 *
 *     Prints {"ready": true, "port": P} once bound (port 0 picks one) and,
 *     with --cpu-pid stdin, reads the PID from a line on stdin; then it
 *     counts datagrams from the first arrival until MS (default 1000) of
 *     silence, or gives up TIMEOUT (default 60) seconds after starting with
 *     nothing received. --check-pattern counts datagrams whose payload is not
 *     byte i = i & 0xff (what the test guest's udp-blast sends).
 *
 * --cpu-pid PID reads utime+stime of that process (all its threads) from
 * /proc/PID/stat at the start and end of the measured interval; --perf FILE
 * runs `perf stat -e instructions:u,instructions:k -p PID` over the same
 * interval (user and kernel instructions), output in FILE (CSV, parsed by the
 * caller). Every value goes to stdout as JSON; a
 * bad option is an error naming it, with exit status 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH    256
#define SOCKBUF	     (32 << 20)
#define STALL_NS     100000000ull /* window full, nothing back this long: its tail is lost */
#define FRAME_STRIDE 2048
#define ETH_HLEN     14
/* Each flood frame carries its sequence number after the Ethernet header.
 * The path is FIFO, so the number coming back tells exactly what is still in
 * flight and a gap is a loss; only a window lost whole needs a timeout. */
#define SEQ_OFF	     ETH_HLEN
#define ETH_HLEN_MIN (ETH_HLEN + 8)
#define SAMPLE_NS    20000000ull /* sink: CPU sample spacing */

struct options {
	const char *mode;
	struct sockaddr_in tx_bind, tx_to, rx_bind, bind;
	bool have_tx_bind, have_tx_to, have_rx_bind, have_bind;
	unsigned size;
	double seconds, warmup, timeout;
	unsigned window, batch, idle_ms;
	pid_t cpu_pid;
	const char *perf_file;
	bool cpu_pid_stdin;
	bool check_pattern;
};

static const char *prog = "udpflood";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void parse_addr(const char *opt, const char *s, struct sockaddr_in *out)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		die("--%s '%s': expected IPV4:PORT", opt, s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		die("--%s '%s': bad port '%s'", opt, s, colon + 1);
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
		die("--%s '%s': bad IPv4 address '%s'", opt, s, host);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned min, unsigned max)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		die("--%s '%s': expected an integer in %u..%u", opt, s, min, max);
	return (unsigned)v;
}

static double parse_seconds(const char *opt, const char *s, double min, double max)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= min && v <= max))
		die("--%s '%s': expected seconds in %g..%g", opt, s, min, max);
	return v;
}

static int udp_socket(const struct sockaddr_in *bind_to, const char *what)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = SOCKBUF;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* FORCE lifts the rmem_max/wmem_max cap when root; otherwise the plain
	 * option takes what the cap allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &bind_to->sin_addr, a, sizeof(a));
		die("%s: bind %s:%u: %s", what, a, ntohs(bind_to->sin_port), strerror(errno));
	}
	return fd;
}

/* utime+stime of every thread of PID, in seconds; -1 once it is gone. */
static double proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* comm (field 2) may hold spaces and parentheses: count from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long utime, stime;
	/* fields 3..15 after ')': state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* perf stat attached to the emulator for the measured interval. */
static pid_t perf_start(const struct options *o)
{
	if (!o->perf_file || o->cpu_pid <= 0)
		return -1;
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)o->cpu_pid);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execlp("perf", "perf", "stat", "-x", ",", "-e", "instructions:u,instructions:k",
		       "-p", pid, "-o", o->perf_file, (char *)NULL);
		_exit(127);
	}
	return child;
}

static void perf_stop(pid_t child)
{
	if (child <= 0)
		return;
	kill(child, SIGINT);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
}

struct batch {
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
};

static void batch_init(struct batch *b, uint8_t *buf, size_t len, size_t stride)
{
	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		b->iov[i].iov_base = buf + i * stride;
		b->iov[i].iov_len = len;
		b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

static void wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	poll(&p, 1, timeout_ms);
}

static void run_flood(const struct options *o)
{
	static struct batch tx, rx;
	uint8_t *tx_buf = calloc(MAX_BATCH, FRAME_STRIDE);
	uint8_t *rx_buf = calloc(MAX_BATCH, FRAME_STRIDE);

	if (!tx_buf || !rx_buf)
		die("out of memory");
	/* Broadcast frames from a locally administered address, IPv4 type: a
	 * hub floods them and nothing on the way answers them. */
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		uint8_t *f = tx_buf + (size_t)i * FRAME_STRIDE;
		memset(f, 'x', FRAME_STRIDE);
		memset(f, 0xff, 6);
		memcpy(f + 6, "\x52\x54\x00\x12\x34\x56\x08\x00", 8);
	}

	int txfd = udp_socket(&o->tx_bind, "--tx-bind");
	int rxfd = udp_socket(&o->rx_bind, "--rx-bind");
	batch_init(&tx, tx_buf, o->size, FRAME_STRIDE);
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		tx.msgs[i].msg_hdr.msg_name = (void *)&o->tx_to;
		tx.msgs[i].msg_hdr.msg_namelen = sizeof(o->tx_to);
	}
	batch_init(&rx, rx_buf, FRAME_STRIDE, FRAME_STRIDE);

	uint64_t start = now_ns();
	uint64_t measure_from = start + (uint64_t)(o->warmup * 1e9);
	uint64_t end = measure_from + (uint64_t)(o->seconds * 1e9);
	uint64_t next_seq = 0, expect_seq = 0; /* next to send / next due back */
	uint64_t sent = 0, received = 0, lost = 0, foreign = 0, late = 0, send_errors = 0;
	uint64_t stalls = 0;
	uint64_t last_arrival = start;
	uint64_t m_sent = 0, m_received = 0, m_bytes = 0, m_lost = 0;
	bool measuring = false;
	double cpu0 = -1, cpu1 = -1, self0 = 0;
	pid_t perf = -1;
	uint64_t t_measure = 0;

	for (;;) {
		uint64_t t = now_ns();
		if (!measuring && t >= measure_from) {
			measuring = true;
			t_measure = t;
			perf = perf_start(o);
			cpu0 = proc_cpu_seconds(o->cpu_pid);
			self0 = self_cpu_seconds();
		}
		if (t >= end)
			break;

		/* Fill the window (or send one batch, open loop). */
		uint64_t inflight = next_seq - expect_seq;
		unsigned room = o->batch;
		if (o->window)
			room = inflight >= o->window ? 0 : (unsigned)(o->window - inflight);
		if (room > o->batch)
			room = o->batch;
		if (room) {
			for (unsigned i = 0; i < room; i++) {
				uint64_t seq = next_seq + i;
				memcpy(tx_buf + (size_t)i * FRAME_STRIDE + SEQ_OFF, &seq,
				       sizeof(seq));
			}
			int n = sendmmsg(txfd, tx.msgs, room, MSG_DONTWAIT);
			if (n > 0) {
				next_seq += (uint64_t)n;
				sent += (uint64_t)n;
				if (measuring)
					m_sent += (uint64_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* e.g. ECONNREFUSED, an ICMP error from before
				 * the emulator had bound its socket */
				send_errors++;
			}
		}

		int n = recvmmsg(rxfd, rx.msgs, o->batch, MSG_DONTWAIT, NULL);
		if (n > 0) {
			for (int i = 0; i < n; i++) {
				uint64_t seq;
				if (rx.msgs[i].msg_len < ETH_HLEN_MIN) {
					foreign++;
					continue;
				}
				memcpy(&seq, rx_buf + (size_t)i * FRAME_STRIDE + SEQ_OFF,
				       sizeof(seq));
				if (seq >= next_seq) {
					foreign++; /* not ours */
					continue;
				}
				if (seq < expect_seq) {
					/* Written off in a stall (or passed by a later
					 * one): it was forwarded after all. */
					late++;
					received++;
					lost--;
					if (measuring) {
						m_received++;
						m_bytes += rx.msgs[i].msg_len;
						if (m_lost)
							m_lost--;
					}
					continue;
				}
				uint64_t gap = seq - expect_seq;
				expect_seq = seq + 1;
				received++;
				lost += gap;
				if (measuring) {
					m_received++;
					m_lost += gap;
					m_bytes += rx.msgs[i].msg_len;
				}
			}
			last_arrival = now_ns();
			continue;
		}
		if (o->window && next_seq - expect_seq >= o->window) {
			/* Window full and nothing back yet: sleep until
			 * something arrives. Nothing for a long while means the
			 * tail of the window was lost: write it off. */
			wait_fd(rxfd, POLLIN, 1);
			if (now_ns() - last_arrival > STALL_NS) {
				stalls++;
				lost += next_seq - expect_seq;
				if (measuring)
					m_lost += next_seq - expect_seq;
				expect_seq = next_seq;
				last_arrival = now_ns();
			}
		}
	}
	cpu1 = proc_cpu_seconds(o->cpu_pid);
	double self1 = self_cpu_seconds();
	perf_stop(perf);
	double elapsed = (double)(now_ns() - t_measure) / 1e9;

	printf("{\"mode\": \"flood\", \"size\": %u, \"window\": %u, \"batch\": %u, "
	       "\"seconds\": %.6f, \"sent\": %" PRIu64 ", \"received\": %" PRIu64
	       ", \"bytes\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"stalls\": %" PRIu64
	       ", \"late\": %" PRIu64 ", \"foreign\": %" PRIu64 ", \"send_errors\": %" PRIu64
	       ", \"total_sent\": %" PRIu64 ", \"total_received\": %" PRIu64
	       ", \"total_lost\": %" PRIu64 ", \"sent_per_s\": %.1f, \"frames_per_s\": %.1f",
	       o->size, o->window, o->batch, elapsed, m_sent, m_received, m_bytes, m_lost, stalls,
	       late, foreign, send_errors, sent, received, lost, m_sent / elapsed,
	       m_received / elapsed);
	if (cpu0 >= 0 && cpu1 >= 0)
		printf(", \"cpu_s\": %.3f", cpu1 - cpu0);
	printf(", \"self_cpu_s\": %.3f}\n", self1 - self0);
	free(tx_buf);
	free(rx_buf);
}

static bool pattern_ok(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)i)
			return false;
	return true;
}

/* --cpu-pid stdin: the caller starts the emulator only once it knows the
 * port, then tells the PID on a line of its own. */
static void read_pid_line(struct options *o)
{
	char line[32];

	if (!fgets(line, sizeof(line), stdin))
		die("--cpu-pid stdin: no PID line on stdin");
	line[strcspn(line, "\n")] = 0;
	o->cpu_pid = (pid_t)parse_uint("cpu-pid", line, 1, 1u << 30);
}

static void run_sink(struct options *o)
{
	static struct batch rx;
	uint8_t *rx_buf = calloc(MAX_BATCH, FRAME_STRIDE);

	if (!rx_buf)
		die("out of memory");
	int fd = udp_socket(&o->bind, "--bind");
	struct sockaddr_in bound;
	socklen_t blen = sizeof(bound);
	getsockname(fd, (struct sockaddr *)&bound, &blen);
	printf("{\"ready\": true, \"port\": %u}\n", ntohs(bound.sin_port));
	fflush(stdout);
	if (o->cpu_pid_stdin)
		read_pid_line(o);
	batch_init(&rx, rx_buf, FRAME_STRIDE, FRAME_STRIDE);

	uint64_t start = now_ns(), first = 0, last = 0;
	uint64_t frames = 0, bytes = 0, bad = 0;
	/* CPU samples: at the first arrival, then every SAMPLE_NS while
	 * datagrams come, so the interval ends at the last busy moment even
	 * when the emulator exits with the guest right after its last frame. */
	uint64_t s0_frames = 0, s1_frames = 0, s0_t = 0, s1_t = 0;
	double s0_cpu = -1, s1_cpu = -1;
	pid_t perf = -1;

	for (;;) {
		int n = recvmmsg(fd, rx.msgs, o->batch, MSG_DONTWAIT, NULL);
		uint64_t t = now_ns();
		if (n > 0) {
			if (!first) {
				first = t;
				perf = perf_start(o);
				s0_cpu = proc_cpu_seconds(o->cpu_pid);
				s0_t = t;
				s0_frames = 0;
			}
			for (int i = 0; i < n; i++) {
				bytes += rx.msgs[i].msg_len;
				if (o->check_pattern &&
				    !pattern_ok(rx_buf + (size_t)i * FRAME_STRIDE,
						rx.msgs[i].msg_len))
					bad++;
			}
			frames += (uint64_t)n;
			last = t;
			if (o->cpu_pid > 0 && t - (s1_t ? s1_t : s0_t) >= SAMPLE_NS) {
				double c = proc_cpu_seconds(o->cpu_pid);
				if (c >= 0) {
					s1_cpu = c;
					s1_t = t;
					s1_frames = frames;
				}
			}
			continue;
		}
		if (first && t - last > (uint64_t)o->idle_ms * 1000000ull)
			break;
		if (!first && t - start > (uint64_t)(o->timeout * 1e9))
			break;
		wait_fd(fd, POLLIN, 10);
	}
	perf_stop(perf);

	double span = first && last > first ? (double)(last - first) / 1e9 : 0;
	printf("{\"mode\": \"sink\", \"frames\": %" PRIu64 ", \"bytes\": %" PRIu64
	       ", \"first_to_last_s\": %.6f",
	       frames, bytes, span);
	if (span > 0)
		printf(", \"frames_per_s\": %.1f, \"bytes_per_s\": %.1f", (frames - 1) / span,
		       bytes / span);
	if (o->check_pattern)
		printf(", \"bad_payload\": %" PRIu64, bad);
	if (s0_cpu >= 0 && s1_cpu >= 0 && s1_frames > s0_frames)
		printf(", \"cpu_s\": %.3f, \"cpu_frames\": %" PRIu64 ", \"cpu_interval_s\": %.6f",
		       s1_cpu - s0_cpu, s1_frames - s0_frames, (double)(s1_t - s0_t) / 1e9);
	printf("}\n");
	free(rx_buf);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: %s flood --tx-bind A:P --tx-to A:P --rx-bind A:P --size N [--seconds S]\n"
	    "                [--warmup S] [--window N] [--batch N] [--cpu-pid PID] [--perf FILE]\n"
	    "       %s sink --bind A:P [--idle-ms MS] [--timeout S] [--batch N]\n"
	    "                [--cpu-pid PID|stdin] [--perf FILE] [--check-pattern]\n",
	    prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tx-bind", required_argument, NULL, 'a'},
	    {"tx-to", required_argument, NULL, 't'},
	    {"rx-bind", required_argument, NULL, 'r'},
	    {"bind", required_argument, NULL, 'b'},
	    {"size", required_argument, NULL, 's'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"window", required_argument, NULL, 'W'},
	    {"batch", required_argument, NULL, 'B'},
	    {"cpu-pid", required_argument, NULL, 'p'},
	    {"perf", required_argument, NULL, 'P'},
	    {"idle-ms", required_argument, NULL, 'i'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"check-pattern", no_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {.seconds = 3,
			    .warmup = 0.5,
			    .timeout = 60,
			    .window = 128,
			    .batch = 32,
			    .idle_ms = 1000};
	int c;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			parse_addr("tx-bind", optarg, &o.tx_bind);
			o.have_tx_bind = true;
			break;
		case 't':
			parse_addr("tx-to", optarg, &o.tx_to);
			o.have_tx_to = true;
			break;
		case 'r':
			parse_addr("rx-bind", optarg, &o.rx_bind);
			o.have_rx_bind = true;
			break;
		case 'b':
			parse_addr("bind", optarg, &o.bind);
			o.have_bind = true;
			break;
		case 's':
			/* Ethernet header and sequence number at least. */
			o.size = parse_uint("size", optarg, ETH_HLEN_MIN, FRAME_STRIDE);
			break;
		case 'S':
			o.seconds = parse_seconds("seconds", optarg, 0.1, 3600);
			break;
		case 'w':
			o.warmup = parse_seconds("warmup", optarg, 0, 3600);
			break;
		case 'W':
			o.window = parse_uint("window", optarg, 0, 1u << 20);
			break;
		case 'B':
			o.batch = parse_uint("batch", optarg, 1, MAX_BATCH);
			break;
		case 'p':
			if (!strcmp(optarg, "stdin"))
				o.cpu_pid_stdin = true;
			else
				o.cpu_pid = (pid_t)parse_uint("cpu-pid", optarg, 1, 1u << 30);
			break;
		case 'P':
			o.perf_file = optarg;
			break;
		case 'i':
			o.idle_ms = parse_uint("idle-ms", optarg, 1, 3600000);
			break;
		case 'T':
			o.timeout = parse_seconds("timeout", optarg, 0.1, 3600);
			break;
		case 'c':
			o.check_pattern = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (!strcmp(o.mode, "flood")) {
		if (!o.have_tx_bind || !o.have_tx_to || !o.have_rx_bind || !o.size)
			die("flood needs --tx-bind, --tx-to, --rx-bind and --size");
		run_flood(&o);
	} else if (!strcmp(o.mode, "sink")) {
		if (!o.have_bind)
			die("sink needs --bind");
		run_sink(&o);
	} else {
		die("unknown mode '%s' (expected flood or sink)", o.mode);
	}
	return 0;
}
