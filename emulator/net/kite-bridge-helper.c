/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite-bridge-helper: lets an unprivileged kite put a guest on a bridge the
 * administrator allowed. Installed setuid root (or with CAP_NET_ADMIN); kite
 * runs it as
 *     kite-bridge-helper [--use-vnet] --br=BRIDGE --fd=UNIXSOCKET
 * It checks BRIDGE against the ACL file, creates a tap, enslaves it to the
 * bridge, brings it up and sends the open tap fd back over UNIXSOCKET
 * (SCM_RIGHTS). The tap disappears when the last fd to it is closed.
 *
 * ACL file (default /etc/kite/bridge.conf), one rule per line:
 *     allow BRIDGE | allow all | deny BRIDGE | deny all | include FILE
 * '#' starts a comment. A bridge is usable when some rule allows it and no
 * rule denies it: deny always wins, whatever the order.
 *
 * Deliberately small and self-contained: it runs with privileges, so it
 * trusts nothing from its caller but the three arguments, and honours
 * --acl-file= only when it runs without elevated privileges (tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef KITE_BRIDGE_CONF
#define KITE_BRIDGE_CONF "/etc/kite/bridge.conf"
#endif
#define MAX_INCLUDE_DEPTH 8

#ifndef SIOCBRADDIF
#define SIOCBRADDIF 0x89a2
#endif

struct acl_result {
	bool allowed, denied;
};

static void usage(void)
{
	fprintf(stderr, "usage: kite-bridge-helper [--use-vnet] --br=BRIDGE --fd=UNIXSOCKET\n");
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Returns 0, or -1 after printing why the file cannot be trusted. */
static int read_acl(const char *path, const char *bridge, struct acl_result *r, int depth)
{
	if (depth > MAX_INCLUDE_DEPTH) {
		fprintf(stderr, "kite-bridge-helper: %s: includes nested too deeply\n", path);
		return -1;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "kite-bridge-helper: cannot open ACL file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *arg = s + strcspn(s, " \t");
		if (*arg)
			*arg++ = '\0';
		arg = trim(arg);
		bool bad_arg = !*arg || strlen(arg) >= 4096;
		if (!strcmp(s, "allow") && !bad_arg) {
			if (!strcmp(arg, "all") || !strcmp(arg, bridge))
				r->allowed = true;
		} else if (!strcmp(s, "deny") && !bad_arg) {
			if (!strcmp(arg, "all") || !strcmp(arg, bridge))
				r->denied = true;
		} else if (!strcmp(s, "include") && !bad_arg) {
			if (read_acl(arg, bridge, r, depth + 1) < 0) {
				fclose(f);
				return -1;
			}
		} else {
			fprintf(stderr, "kite-bridge-helper: %s:%d: invalid rule '%s'\n", path,
				lineno, s);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static bool valid_ifname(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n')
			return false;
	return true;
}

static int send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	ssize_t n;
	do {
		n = sendmsg(sock, &mh, 0);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *bridge = NULL, *acl = KITE_BRIDGE_CONF;
	int unix_fd = -1;
	bool use_vnet = false;
	bool privileged = getuid() != geteuid() || getgid() != getegid();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--use-vnet")) {
			use_vnet = true;
		} else if (!strncmp(a, "--br=", 5)) {
			bridge = a + 5;
		} else if (!strncmp(a, "--fd=", 5)) {
			char *end;
			long v = strtol(a + 5, &end, 10);
			if (!a[5] || *end || v < 0 || v > 65535) {
				fprintf(stderr, "kite-bridge-helper: invalid --fd '%s'\n", a + 5);
				return EXIT_FAILURE;
			}
			unix_fd = (int)v;
		} else if (!strncmp(a, "--acl-file=", 11) && !privileged) {
			acl = a + 11;
		} else {
			usage();
			return EXIT_FAILURE;
		}
	}
	if (!bridge || unix_fd < 0) {
		usage();
		return EXIT_FAILURE;
	}
	if (!valid_ifname(bridge)) {
		fprintf(stderr, "kite-bridge-helper: invalid bridge name '%s'\n", bridge);
		return EXIT_FAILURE;
	}
	struct acl_result r = {false, false};
	if (read_acl(acl, bridge, &r, 0) < 0)
		return EXIT_FAILURE;
	if (!r.allowed || r.denied) {
		fprintf(stderr, "kite-bridge-helper: access to bridge %s denied by %s\n", bridge,
			acl);
		return EXIT_FAILURE;
	}

	int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tap < 0) {
		fprintf(stderr, "kite-bridge-helper: cannot open /dev/net/tun: %s\n",
			strerror(errno));
		return EXIT_FAILURE;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (use_vnet) {
		unsigned features = 0;
		if (ioctl(tap, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
			ifr.ifr_flags |= IFF_VNET_HDR;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "tap%%d");
	if (ioctl(tap, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: cannot create tap: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	char ifname[IFNAMSIZ];
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';

	int ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		fprintf(stderr, "kite-bridge-helper: socket: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	/* Same MTU as the bridge, or the bridge would shrink to the tap's. */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	if (ioctl(ctl, SIOCGIFMTU, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: bridge %s: %s\n", bridge, strerror(errno));
		return EXIT_FAILURE;
	}
	int mtu = ifr.ifr_mtu;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ifr.ifr_mtu = mtu;
	if (ioctl(ctl, SIOCSIFMTU, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: set MTU of %s: %s\n", ifname, strerror(errno));
		return EXIT_FAILURE;
	}
	/* A bridge takes the lowest MAC of its ports: give the tap a high one
	 * so starting a guest never changes the bridge's address. */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(ctl, SIOCGIFHWADDR, &ifr) == 0) {
		ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
		ioctl(ctl, SIOCSIFHWADDR, &ifr);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(ifname);
	if (ifr.ifr_ifindex == 0 || ioctl(ctl, SIOCBRADDIF, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: cannot add %s to bridge %s: %s\n", ifname,
			bridge, strerror(errno));
		return EXIT_FAILURE;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: %s: %s\n", ifname, strerror(errno));
		return EXIT_FAILURE;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "kite-bridge-helper: cannot bring %s up: %s\n", ifname,
			strerror(errno));
		return EXIT_FAILURE;
	}
	close(ctl);
	if (send_fd(unix_fd, tap) < 0) {
		fprintf(stderr, "kite-bridge-helper: cannot pass the tap back: %s\n",
			strerror(errno));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
