/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -net/-netdev tap: a Linux TAP interface. kite opens /dev/net/tun itself
 * (ifname= or the next free tapN), takes an open one (fd=/fds=) or gets one
 * from the bridge helper (helper=). With vnet_hdr the kernel prepends a
 * struct virtio_net_hdr to each frame, which lets virtio-net pass checksum
 * and segmentation offloads straight through.
 */
#include "backends.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../main-loop.h"

#define DEFAULT_IFUP   "/etc/qemu-ifup"
#define DEFAULT_IFDOWN "/etc/qemu-ifdown"
#define MAX_QUEUES     1024
#define VNET_HDR_LEN   10 /* struct virtio_net_hdr, without num_buffers */

typedef struct TapState {
	NetClient *nc;
	int fd;
	char ifname[IFNAMSIZ];
	char *downscript;     /* run at cleanup by queue 0 only */
	bool host_vnet_hdr;   /* IFF_VNET_HDR: the kernel adds/expects a header */
	size_t host_hdr_len;  /* header length the kernel uses */
	size_t using_hdr_len; /* 0: peer frames carry no header */
	bool reading_paused;
	bool was_persistent;
	bool multi_queue; /* IFF_MULTI_QUEUE: the fd can be detached */
	bool detached;	  /* TUNSETQUEUE IFF_DETACH_QUEUE in force */
	uint8_t buf[NET_MAX_FRAME + 12];
} TapState;

typedef struct TapConfig {
	char *ifname;
	char *script, *downscript;
	char *helper;
	char *br;
	int fd;
	int *fds;
	int nfds;
	int queues;
	uint64_t sndbuf;
	bool sndbuf_set;
	int vnet_hdr; /* -1 probe, 0 off, 1 on */
	bool vhost, vhostforce;
} TapConfig;

static const char *const tap_keys[] = {
    "ifname",	"fd",	 "fds",	    "script",	"downscript", "br",	"helper",  "sndbuf",
    "vnet_hdr", "vhost", "vhostfd", "vhostfds", "vhostforce", "queues", "poll-us", NULL};

static void tap_free_cfg(void *p)
{
	TapConfig *c = p;
	g_free(c->ifname);
	g_free(c->script);
	g_free(c->downscript);
	g_free(c->helper);
	g_free(c->br);
	g_free(c->fds);
	g_free(c);
}

static bool any_of(KiteOpts *o, const char *const *keys)
{
	for (; *keys; keys++)
		if (kite_opts_has(o, *keys))
			return true;
	return false;
}

static void *tap_parse(KiteOpts *o, GError **err)
{
	static const char *const not_with_fd[] = {"ifname",   "script",	  "downscript",
						  "vnet_hdr", "helper",	  "queues",
						  "fds",      "vhostfds", NULL};
	static const char *const not_with_fds[] = {"ifname", "script", "downscript", "vnet_hdr",
						   "helper", "queues", "vhostfd",    NULL};
	static const char *const not_with_helper[] = {"ifname", "script", "downscript", "vnet_hdr",
						      "queues", "fds",	  "vhostfds",	NULL};
	/* S15: an open fd comes configured; these would silently not apply. */
	if (kite_opts_has(o, "fd") && any_of(o, not_with_fd)) {
		kite_opts_error(o, err,
				_("ifname=, script=, downscript=, vnet_hdr=, helper=, "
				  "queues=, fds=, and vhostfds= are invalid with fd="));
		return NULL;
	}
	if (kite_opts_has(o, "fds") && any_of(o, not_with_fds)) {
		kite_opts_error(o, err,
				_("ifname=, script=, downscript=, vnet_hdr=, helper=, "
				  "queues=, and vhostfd= are invalid with fds="));
		return NULL;
	}
	if (kite_opts_has(o, "helper") && any_of(o, not_with_helper)) {
		kite_opts_error(o, err,
				_("ifname=, script=, downscript=, vnet_hdr=, queues=, "
				  "fds=, and vhostfds= are invalid with helper="));
		return NULL;
	}
	if (kite_opts_has(o, "vhostfd") || kite_opts_has(o, "vhostfds")) {
		kite_opts_error(o, err,
				_("vhostfd=/vhostfds= are not supported: kite has no "
				  "vhost-net datapath"));
		return NULL;
	}
	TapConfig *c = g_new0(TapConfig, 1);
	c->fd = -1;
	c->vnet_hdr = -1;
	int64_t queues;
	bool vnet;
	if (kite_opts_get_int(o, "queues", 1, 1, MAX_QUEUES, _("a number"), &queues, err) < 0 ||
	    kite_opts_get_size(o, "sndbuf", 0, &c->sndbuf, err) < 0 ||
	    kite_opts_get_bool(o, "vhost", false, &c->vhost, err) < 0 ||
	    kite_opts_get_bool(o, "vhostforce", false, &c->vhostforce, err) < 0 ||
	    kite_opts_get_bool(o, "vnet_hdr", false, &vnet, err) < 0)
		goto fail;
	c->queues = (int)queues;
	c->sndbuf_set = kite_opts_has(o, "sndbuf");
	if (kite_opts_has(o, "vnet_hdr"))
		c->vnet_hdr = vnet;
	const char *ifname = kite_opts_get(o, "ifname");
	if (ifname && (strlen(ifname) >= IFNAMSIZ || !*ifname || strchr(ifname, '/') ||
		       strchr(ifname, ' '))) {
		kite_opts_error(o, err,
				_("Parameter 'ifname' expects an interface name of at "
				  "most %d characters"),
				IFNAMSIZ - 1);
		goto fail;
	}
	c->ifname = g_strdup(ifname);
	c->script = g_strdup(kite_opts_get(o, "script"));
	c->downscript = g_strdup(kite_opts_get(o, "downscript"));
	c->helper = g_strdup(kite_opts_get(o, "helper"));
	c->br = g_strdup(kite_opts_get(o, "br"));
	if (kite_opts_has(o, "fd") && net_parse_fd(o, "fd", &c->fd, err) < 0)
		goto fail;
	if (kite_opts_has(o, "fds")) {
		g_auto(GStrv) parts = g_strsplit(kite_opts_get(o, "fds"), ":", -1);
		c->nfds = (int)g_strv_length(parts);
		if (c->nfds < 1 || c->nfds > MAX_QUEUES) {
			kite_opts_error(o, err, _("Parameter 'fds' expects 1 to %d descriptors"),
					MAX_QUEUES);
			goto fail;
		}
		c->fds = g_new(int, c->nfds);
		for (int i = 0; i < c->nfds; i++) {
			char *end;
			long n = strtol(parts[i], &end, 10);
			if (!*parts[i] || *end || n < 0 || n > INT_MAX) {
				kite_opts_error(o, err, _("Invalid file descriptor number '%s'"),
						parts[i]);
				goto fail;
			}
			c->fds[i] = (int)n;
		}
	}
	return c;
fail:
	tap_free_cfg(c);
	return NULL;
}

bool net_tap_fd_has_vnet_hdr(int fd)
{
	struct ifreq ifr = {0};
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return false;
	return ifr.ifr_flags & IFF_VNET_HDR;
}

/* Open a tap queue; ifname in/out ("" = let the kernel pick tapN). */
static int tap_open(char ifname[IFNAMSIZ], bool vnet_hdr, bool multi_queue, bool *persistent,
		    GError **err)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("could not open /dev/net/tun: %s"),
			    g_strerror(errno));
		return -1;
	}
	struct ifreq ifr = {0};
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	g_strlcpy(ifr.ifr_name, *ifname ? ifname : "tap%d", IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		if (*ifname)
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("could not configure /dev/net/tun (%s): %s"), ifname,
				    g_strerror(e));
		else
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("could not configure /dev/net/tun: %s"), g_strerror(e));
		close(fd);
		return -1;
	}
	g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	/* IFF_PERSIST here can only come from whoever created it before us:
	 * such a tap must survive kite, all others vanish with the fd. */
	struct ifreq now = {0};
	*persistent = ioctl(fd, TUNGETIFF, &now) == 0 && (now.ifr_flags & IFF_PERSIST);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int net_tap_run_script(const char *script, const char *ifname, GError **err)
{
	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("could not fork for network script %s: %s"),
			    script, g_strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* Only stdio is inherited: a script must not hold kite's fds
		 * (a tap fd kept open would keep the interface alive). */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execl(script, script, ifname, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			g_set_error(err, KITE_NET_ERROR, 0, _("network script %s: %s"), script,
				    g_strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(script, X_OK) != 0)
		g_set_error(err, KITE_NET_ERROR, 0, _("network script %s failed: %s"), script,
			    g_strerror(errno));
	else if (WIFEXITED(status))
		g_set_error(err, KITE_NET_ERROR, 0, _("network script %s failed with status %d"),
			    script, WEXITSTATUS(status));
	else
		g_set_error(err, KITE_NET_ERROR, 0, _("network script %s was killed by signal %d"),
			    script, WTERMSIG(status));
	return -1;
}

/* --- datapath ------------------------------------------------------------------ */

static void tap_event(int fd, uint32_t events, void *opaque);

static void tap_update_events(TapState *s, bool want_out)
{
	uint32_t ev = s->reading_paused ? 0 : EPOLLIN;
	if (want_out)
		ev |= EPOLLOUT;
	ml_mod_fd(s->fd, ev);
}

static void tap_read(TapState *s)
{
	/* Bounded batch so one busy tap cannot starve the loop. */
	for (int i = 0; i < 64; i++) {
		if (!net_peer_can_accept(s->nc)) {
			s->reading_paused = true;
			tap_update_events(s, false);
			return;
		}
		ssize_t n = read(s->fd, s->buf, sizeof(s->buf));
		if (n <= 0)
			return;
		size_t skip = 0;
		if (s->host_vnet_hdr && !s->using_hdr_len)
			skip = s->host_hdr_len;
		if ((size_t)n <= skip)
			continue;
		net_send(s->nc, s->buf + skip, n - skip);
	}
}

static void tap_event(int fd, uint32_t events, void *opaque)
{
	TapState *s = opaque;
	(void)fd;
	if (events & EPOLLOUT) {
		tap_update_events(s, false);
		net_client_flush_queue(s->nc);
	}
	if (events & EPOLLIN)
		tap_read(s);
}

static ssize_t tap_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	TapState *s = nc->opaque;
	static const uint8_t zero_hdr[12];
	struct iovec v[65];
	int n = 0;
	size_t len = net_iov_size(iov, iovcnt);
	if (s->host_vnet_hdr && !s->using_hdr_len)
		v[n++] = (struct iovec){(void *)zero_hdr, s->host_hdr_len};
	for (int i = 0; i < iovcnt && n < (int)G_N_ELEMENTS(v); i++)
		v[n++] = iov[i];
	ssize_t r = writev(s->fd, v, n);
	if (r < 0) {
		if (errno == EAGAIN) {
			/* Kernel queue full: park the frame, retry when writable. */
			tap_update_events(s, true);
			return 0;
		}
		return -1;
	}
	return len;
}

static void tap_drained(NetClient *nc)
{
	TapState *s = nc->opaque;
	if (s->reading_paused) {
		s->reading_paused = false;
		tap_update_events(s, false);
		tap_read(s);
	}
}

static bool tap_has_vnet_hdr(NetClient *nc)
{
	TapState *s = nc->opaque;
	return s->host_vnet_hdr;
}

static void tap_using_vnet_hdr(NetClient *nc, size_t hdr_len)
{
	TapState *s = nc->opaque;
	if (!s->host_vnet_hdr)
		return;
	if (hdr_len) {
		int sz = (int)hdr_len;
		if (ioctl(s->fd, TUNSETVNETHDRSZ, &sz) == 0)
			s->host_hdr_len = hdr_len;
	}
	s->using_hdr_len = hdr_len;
	nc->vnet_hdr_len = hdr_len;
}

static void tap_set_offload(NetClient *nc, unsigned offloads)
{
	TapState *s = nc->opaque;
	unsigned f = 0;
	if (!s->host_vnet_hdr)
		return;
	if (offloads & NET_OFFLOAD_CSUM) {
		f |= TUN_F_CSUM;
		if (offloads & NET_OFFLOAD_TSO4)
			f |= TUN_F_TSO4;
		if (offloads & NET_OFFLOAD_TSO6)
			f |= TUN_F_TSO6;
		if (offloads & NET_OFFLOAD_ECN)
			f |= TUN_F_TSO_ECN;
		if (offloads & NET_OFFLOAD_UFO)
			f |= TUN_F_UFO;
	}
	/* Kernels without UFO refuse the whole set: retry without it. */
	if (ioctl(s->fd, TUNSETOFFLOAD, f) < 0 && (f & TUN_F_UFO))
		ioctl(s->fd, TUNSETOFFLOAD, f & ~TUN_F_UFO);
}

static void tap_cleanup(NetClient *nc)
{
	TapState *s = nc->opaque;
	ml_del_fd(s->fd);
	if (s->downscript) {
		GError *e = NULL;
		if (net_tap_run_script(s->downscript, s->ifname, &e) < 0) {
			g_printerr("kite: %s\n", e->message);
			g_error_free(e);
		}
	}
	close(s->fd);
	g_free(s->downscript);
	g_free(s);
}

/* A multiqueue tap's queue whose NIC pair is off leaves the device, so the
 * kernel steers no flows to an fd nobody reads (QEMU's tap_disable). */
static void tap_set_queue_enabled(NetClient *nc, bool on)
{
	TapState *s = nc->opaque;
	if (!s->multi_queue || s->detached == !on)
		return;
	struct ifreq ifr = {0};
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(s->fd, TUNSETQUEUE, &ifr) < 0) {
		g_printerr(on ? _("kite: %s: cannot attach queue %d: %s\n")
			      : _("kite: %s: cannot detach queue %d: %s\n"),
			   nc->name, nc->queue_index, g_strerror(errno));
		return;
	}
	s->detached = !on;
}

static const NetClientOps tap_ops = {
    .receive = tap_receive,
    .peer_queue_drained = tap_drained,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .using_vnet_hdr = tap_using_vnet_hdr,
    .set_offload = tap_set_offload,
    .set_queue_enabled = tap_set_queue_enabled,
};

NetClient *net_tap_client_new(NetClientType type, const char *name, int queue_index, int fd,
			      const char *ifname, const char *downscript)
{
	TapState *s = g_new0(TapState, 1);
	s->fd = fd;
	g_strlcpy(s->ifname, ifname ? ifname : "", sizeof(s->ifname));
	s->downscript = g_strdup(downscript);
	s->host_vnet_hdr = net_tap_fd_has_vnet_hdr(fd);
	s->host_hdr_len = VNET_HDR_LEN;
	if (s->host_vnet_hdr) {
		int sz = VNET_HDR_LEN;
		ioctl(fd, TUNSETVNETHDRSZ, &sz);
	}
	/* No offloads until a NIC asks (QEMU's net_tap_fd_init): a persistent
	 * tap or a passed fd may keep a previous user's, and the kernel would
	 * then hand over frames with partial checksums or GSO. */
	ioctl(fd, TUNSETOFFLOAD, 0);
	struct ifreq ifr = {0};
	s->multi_queue = ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_MULTI_QUEUE);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->nc =
	    net_client_new(type, type == NET_CLIENT_BRIDGE ? "bridge" : "tap", name, &tap_ops, s);
	s->nc->queue_index = queue_index;
	ml_add_fd(fd, EPOLLIN, tap_event, s);
	return s->nc;
}

/* --- creation ---------------------------------------------------------------------- */

static const char *script_or_null(const char *given, const char *def)
{
	const char *s = given ? given : def;
	return (!*s || !strcmp(s, "no")) ? NULL : s;
}

static bool fd_valid(KiteOpts *o, const char *name, int fd, GError **err)
{
	if (fcntl(fd, F_GETFD) < 0) {
		kite_opts_error(o, err, _("%s: Can't use file descriptor %d: %s"), name, fd,
				g_strerror(errno));
		return false;
	}
	struct ifreq ifr = {0};
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP)) {
		kite_opts_error(o, err, _("%s: file descriptor %d is not a TAP device"), name, fd);
		return false;
	}
	return true;
}

static void apply_sndbuf(TapConfig *c, int fd)
{
	/* 0 or unset means unlimited, as QEMU. */
	int v =
	    (!c->sndbuf_set || c->sndbuf == 0 || c->sndbuf > INT_MAX) ? INT_MAX : (int)c->sndbuf;
	ioctl(fd, TUNSETSNDBUF, &v);
}

static char *fd_ifname(int fd)
{
	struct ifreq ifr = {0};
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return g_strdup("");
	return g_strndup(ifr.ifr_name, IFNAMSIZ);
}

static NetClient *tap_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	TapConfig *c = cfg;
	GError *e = NULL;
	NetClient *first = NULL;
	GPtrArray *made = g_ptr_array_new();

	if (c->vhost || c->vhostforce) {
		if (access("/dev/vhost-net", R_OK | W_OK) != 0) {
			kite_opts_error(o, err,
					_("vhost-net requested but /dev/vhost-net is not usable "
					  "(%s); load the vhost_net module or use vhost=off"),
					g_strerror(errno));
			return NULL;
		}
		if (c->vhostforce) {
			kite_opts_error(o, err, _("vhostforce=on: kite has no vhost-net datapath"));
			return NULL;
		}
		g_printerr(_("kite: %s: vhost-net is not implemented, using kite's own "
			     "datapath\n"),
			   name ? name : "tap");
	}

	if (c->fd >= 0 || c->fds) {
		int n = c->fds ? c->nfds : 1;
		for (int i = 0; i < n; i++) {
			int fd = c->fds ? c->fds[i] : c->fd;
			if (!fd_valid(o, name ? name : "tap", fd, err))
				goto fail;
			apply_sndbuf(c, fd);
			g_autofree char *ifname = fd_ifname(fd);
			NetClient *nc = net_tap_client_new(
			    NET_CLIENT_TAP, first ? first->name : name, i, fd, ifname, NULL);
			net_client_set_info(nc, "fd=%d", fd);
			g_ptr_array_add(made, nc);
			if (!first)
				first = nc;
		}
		g_ptr_array_free(made, TRUE);
		return first;
	}

	if (c->helper) {
		int fd = net_bridge_run_helper(c->helper, c->br ? c->br : "br0", &e);
		if (fd < 0)
			goto fail_e;
		apply_sndbuf(c, fd);
		g_autofree char *ifname = fd_ifname(fd);
		NetClient *nc = net_tap_client_new(NET_CLIENT_TAP, name, 0, fd, ifname, NULL);
		net_client_set_info(nc, "helper=%s", c->helper);
		g_ptr_array_free(made, TRUE);
		return nc;
	}

	char ifname[IFNAMSIZ] = "";
	g_strlcpy(ifname, c->ifname ? c->ifname : "", sizeof(ifname));
	const char *up = script_or_null(c->script, DEFAULT_IFUP);
	const char *down = script_or_null(c->downscript, DEFAULT_IFDOWN);
	bool vnet = c->vnet_hdr != 0; /* probe: ask, fall back below */
	for (int i = 0; i < c->queues; i++) {
		bool persistent;
		int fd = tap_open(ifname, vnet, c->queues > 1, &persistent, &e);
		if (fd < 0 && vnet && c->vnet_hdr < 0 && i == 0) {
			g_clear_error(&e);
			vnet = false;
			fd = tap_open(ifname, false, c->queues > 1, &persistent, &e);
		}
		if (fd < 0)
			goto fail_e;
		if (c->vnet_hdr == 1 && !net_tap_fd_has_vnet_hdr(fd)) {
			close(fd);
			kite_opts_error(o, err,
					_("vnet_hdr=on: the kernel does not support "
					  "IFF_VNET_HDR"));
			goto fail;
		}
		apply_sndbuf(c, fd);
		if (i == 0 && up && net_tap_run_script(up, ifname, &e) < 0) {
			/* Closing removes the interface again (unless persistent). */
			close(fd);
			goto fail_e;
		}
		NetClient *nc = net_tap_client_new(NET_CLIENT_TAP, first ? first->name : name, i,
						   fd, ifname, i == 0 ? down : NULL);
		((TapState *)nc->opaque)->was_persistent = persistent;
		net_client_set_info(nc, "ifname=%s,script=%s,downscript=%s", ifname, up ? up : "no",
				    down ? down : "no");
		g_ptr_array_add(made, nc);
		if (!first)
			first = nc;
	}
	g_ptr_array_free(made, TRUE);
	return first;

fail_e:
	kite_opts_error(o, err, "%s", e->message);
	g_error_free(e);
fail:
	/* Queues made so far go away with their fds; the ifup script has not
	 * run for them or failed, so no downscript either. */
	for (guint i = 0; i < made->len; i++) {
		NetClient *q = made->pdata[i];
		TapState *ts = q->opaque;
		g_clear_pointer(&ts->downscript, g_free);
		net_client_free(q);
	}
	g_ptr_array_free(made, TRUE);
	return NULL;
}

const NetBackend net_backend_tap = {
    .type = "tap",
    .keys = tap_keys,
    .netdev_ok = true,
    .legacy_ok = true,
    .parse = tap_parse,
    .create = tap_create,
    .free_cfg = tap_free_cfg,
};
