/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "netsock.h"
#include "opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

#include "../main-loop.h"

#define RBUF_SIZE (NET_MAX_FRAME + 4)

/* Datagrams moved per recvmmsg()/sendmmsg() call. */
#define DGRAM_BATCH 32
/* Datagrams read per main-loop event (two full recvmmsg() calls), so one
 * busy socket does not keep the loop from the others. */
#define DGRAM_READ_BUDGET (2 * DGRAM_BATCH)
/* Bytes of frames a socket may hold for one sendmmsg(): 32 frames of up to
 * 8 KiB, or a few of the largest; at least one NET_MAX_FRAME. */
#define DGRAM_TX_AREA (4 * NET_MAX_FRAME)

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux 4.18 */
#endif
/* Datagrams per UDP_SEGMENT send: the kernel's UDP_MAX_SEGMENTS (64 until
 * Linux 6.x raised it) and, with headers, one IP packet's 64 KiB. */
#define GSO_MAX_SEGS  64
#define GSO_MAX_BYTES 65000

/* Datagrams read by the last recvmmsg() that were not handed over yet. */
typedef struct DgramRx {
	uint8_t *area; /* nslots buffers of 'stride' bytes */
	size_t stride; /* >= NET_MAX_FRAME, a whole number of pages */
	bool mapped;   /* area is our mmap() (else it is NetSock.rbuf) */
	unsigned nslots;
	unsigned next, count; /* slots [next, count) hold frames to deliver */
	struct mmsghdr msgs[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
} DgramRx;

/* Frames sock_receive() took during a batch, sent by one sendmmsg(). */
typedef struct DgramTx {
	uint8_t *area; /* DGRAM_TX_AREA bytes, frames packed back to back */
	size_t used;
	unsigned count;
	struct iovec iov[DGRAM_BATCH]; /* one per frame */
	/* Filled at flush: one message per frame, or per run of frames
	 * sent as one UDP_SEGMENT datagram (frames[i] of them). */
	struct mmsghdr msgs[DGRAM_BATCH];
	unsigned frames[DGRAM_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cmsg[DGRAM_BATCH];
} DgramTx;

struct NetSock {
	NetClient *nc;
	int fd;	       /* connected stream or datagram socket, -1 when none */
	int listen_fd; /* stream server, -1 otherwise */
	bool dgram;
	bool connecting;
	bool reading_paused;
	struct sockaddr_storage dest;
	socklen_t destlen;
	NetFramer framer;
	uint8_t *rbuf; /* bytes read but not yet deframed (stream) */
	size_t rpos, rlen;
	GByteArray *wbuf; /* stream bytes the socket did not take yet */
	char *prefix;	  /* "socket: " for -netdev socket, "" otherwise */
	char *listen_info;
	DgramRx *rx;	       /* datagram sockets, from the first read */
	DgramTx *tx;	       /* datagram sockets, from the first batched send */
	NetSock *pending_next; /* on the pending list while tx->count > 0 */
	bool pending;
	/* UDP segmentation offload for runs of equal-sized frames: frames
	 * shorter than this may go in one send (0: never; see dgram_flush()). */
	size_t gso_below;
};

/*
 * Send batching for datagram sockets. While a batch is open, a frame for a
 * datagram socket is copied into its DgramTx and the socket goes on the
 * pending list; closing the outermost batch sends each pending socket's
 * frames with one sendmmsg(). A batch is only ever opened and closed by the
 * same function around synchronous work (reading a socket and forwarding
 * what was read), so every frame queued in it goes out before that function
 * returns: batching never delays a frame past the work that produced it and
 * needs no main-loop wake-up.
 *
 * A plain counter and list are enough: everything here runs with the big
 * kite lock held (device.h, machine.h): main-loop fd handlers, and vCPU
 * threads that send a NIC's frames take it for each exit. A batch never
 * drops the lock, so a vCPU thread can only get here while no batch is open
 * (batch_depth == 0) and sends directly, as before.
 */
static unsigned batch_depth;
static NetSock *pending_head;

static void sock_event(int fd, uint32_t events, void *opaque);
static void batch_begin(void);
static void batch_end(void);

char *netsock_addr_str(const struct sockaddr *sa, socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path))
			return g_strdup("");
		return g_strndup(un->sun_path, len - offsetof(struct sockaddr_un, sun_path));
	}
	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return g_strdup("?");
	return g_strdup_printf("%s:%s", host, serv);
}

int netsock_parse_inet(const char *str, struct sockaddr_storage *ss, socklen_t *len, bool resolve,
		       GError **err)
{
	const char *colon = strrchr(str, ':');
	if (!colon) {
		g_set_error(err, KITE_NET_ERROR, 0,
			    _("host address '%s' doesn't contain ':' separating host from port"),
			    str);
		return -1;
	}
	g_autofree char *host = g_strndup(str, colon - str);
	const char *port = colon + 1;
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 0 || p > 65535) {
		g_set_error(err, KITE_NET_ERROR, 0, _("port number '%s' is invalid"), port);
		return -1;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)p);
	if (!*host) {
		in->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, host, &in->sin_addr) != 1 && resolve) {
		struct addrinfo hints = {.ai_family = AF_INET}, *res;
		if (getaddrinfo(host, NULL, &hints, &res) != 0) {
			g_set_error(err, KITE_NET_ERROR, 0, _("can't resolve host '%s'"), host);
			return -1;
		}
		in->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	*len = sizeof(*in);
	return 0;
}

static void set_info(NetSock *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_info(NetSock *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	net_client_set_info(s->nc, "%s%s", *text ? s->prefix : "", text);
}

static void update_events(NetSock *s)
{
	if (s->fd < 0)
		return;
	uint32_t ev = 0;
	if (!s->reading_paused)
		ev |= EPOLLIN;
	if (s->connecting || (s->wbuf && s->wbuf->len))
		ev |= EPOLLOUT;
	ml_mod_fd(s->fd, ev);
}

static void drop_connection(NetSock *s, const char *why)
{
	if (s->fd < 0)
		return;
	if (why)
		g_printerr(_("kite: network backend %s: %s\n"), s->nc->name, why);
	ml_del_fd(s->fd);
	close(s->fd);
	s->fd = -1;
	s->connecting = false;
	s->reading_paused = false;
	s->rpos = s->rlen = 0;
	net_framer_reset(&s->framer);
	if (s->wbuf)
		g_byte_array_set_size(s->wbuf, 0);
	/* Frames waiting for this link are lost with it, as on a real cable. */
	net_client_purge_queue(s->nc);
	if (s->listen_fd >= 0) {
		set_info(s, "%s", s->listen_info ? s->listen_info : "");
		ml_add_fd(s->listen_fd, EPOLLIN, sock_event, s);
	} else {
		set_info(s, "%s", "");
	}
}

/* True when the peer cannot take another frame now: reading pauses (what
 * is unread waits in the kernel) until sock_drained(). */
static bool peer_full(NetSock *s)
{
	if (net_peer_can_accept(s->nc))
		return false;
	s->reading_paused = true;
	update_events(s);
	return true;
}

/* Deframe what was read, as long as the peer can take frames. */
static void process_rbuf(NetSock *s)
{
	while (s->fd >= 0 && s->rpos < s->rlen) {
		if (peer_full(s))
			return;
		const uint8_t *frame;
		size_t flen;
		ssize_t n = net_framer_feed(&s->framer, s->rbuf + s->rpos, s->rlen - s->rpos,
					    &frame, &flen);
		if (n < 0) {
			g_autofree char *why = g_strdup_printf(
			    _("peer sent an invalid frame length %zu (allowed 1..%d); "
			      "connection dropped"),
			    flen, NET_MAX_FRAME);
			drop_connection(s, why);
			return;
		}
		s->rpos += n;
		if (frame)
			net_send(s->nc, frame, flen);
	}
	s->rpos = s->rlen = 0;
	if (s->reading_paused) {
		s->reading_paused = false;
		update_events(s);
	}
}

static void read_stream(NetSock *s)
{
	ssize_t n = read(s->fd, s->rbuf, RBUF_SIZE);
	if (n == 0) {
		drop_connection(s, _("peer closed the connection"));
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		g_autofree char *why = g_strdup_printf(_("read failed: %s"), g_strerror(errno));
		drop_connection(s, why);
		return;
	}
	s->rpos = 0;
	s->rlen = (size_t)n;
	/* Frames forwarded to datagram sockets go out together at the end. */
	batch_begin();
	process_rbuf(s);
	batch_end();
}

/* Send one frame now; false if the socket did not take it. */
static bool dgram_send_now(NetSock *s, const struct iovec *iov, int iovcnt)
{
	struct msghdr mh = {
	    .msg_iov = (struct iovec *)iov,
	    .msg_iovlen = iovcnt,
	    .msg_name = s->destlen ? &s->dest : NULL,
	    .msg_namelen = s->destlen,
	};
	return sendmsg(s->fd, &mh, MSG_DONTWAIT) >= 0;
}

/*
 * Send the frames queued in this batch. sock_receive() told the net layer
 * they were taken, so one the socket refuses is turned into a drop here,
 * leaving the counters as if receive() had returned -1 for it.
 */
static void dgram_unsend(NetSock *s, size_t len)
{
	s->nc->stats.rx_packets--;
	s->nc->stats.rx_bytes -= len;
	s->nc->stats.rx_dropped++;
}

/*
 * The frames from 'first' that go in one message: with UDP segmentation
 * offload a run of frames of one size (the last may be shorter) leaves as
 * one datagram that the kernel cuts back into the original ones, so the
 * stack is crossed once per run instead of once per frame. The receiver
 * gets the same datagrams either way.
 */
static unsigned dgram_run(NetSock *s, const DgramTx *tx, unsigned first)
{
	size_t size = tx->iov[first].iov_len, total = size;
	unsigned n = 1;
	if (size >= s->gso_below)
		return 1;
	while (first + n < tx->count && n < GSO_MAX_SEGS) {
		size_t len = tx->iov[first + n].iov_len;
		if (len > size || len == 0 || total + len > GSO_MAX_BYTES)
			break;
		total += len;
		n++;
		if (len < size)
			break; /* only the last segment may be short */
	}
	return n;
}

/* Messages for the frames from 'first' on; returns how many. */
static unsigned dgram_build(NetSock *s, DgramTx *tx, unsigned first)
{
	unsigned m = 0;
	for (unsigned i = first; i < tx->count && m < DGRAM_BATCH; m++) {
		unsigned n = dgram_run(s, tx, i);
		struct msghdr *mh = &tx->msgs[m].msg_hdr;
		*mh = (struct msghdr){
		    .msg_iov = &tx->iov[i],
		    .msg_iovlen = n,
		    .msg_name = s->destlen ? &s->dest : NULL,
		    .msg_namelen = s->destlen,
		};
		if (n > 1) {
			mh->msg_control = tx->cmsg[m].buf;
			mh->msg_controllen = sizeof(tx->cmsg[m].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(mh);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)tx->iov[i].iov_len;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		tx->frames[m] = n;
		i += n;
	}
	return m;
}

static void dgram_flush(NetSock *s)
{
	DgramTx *tx = s->tx;
	unsigned i = 0;
	while (i < tx->count && s->fd >= 0) {
		unsigned m = dgram_build(s, tx, i);
		int n = sendmmsg(s->fd, tx->msgs, m, MSG_DONTWAIT);
		if (n > 0) {
			for (int k = 0; k < n; k++)
				i += tx->frames[k];
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* the socket is full: the rest would fail alike */
		if (tx->frames[0] > 1) {
			/*
			 * The route refused the offload: segments larger than
			 * its MTU allows (EINVAL), or a device without checksum
			 * offload (EIO). Frames of this size and up go one by
			 * one from now on, this run included.
			 */
			s->gso_below = errno == EINVAL ? tx->iov[i].iov_len : 0;
			continue;
		}
		/* An error of this one frame (EMSGSIZE, ENOBUFS...): the
		 * frames after it may still go. */
		dgram_unsend(s, tx->iov[i++].iov_len);
	}
	for (; i < tx->count; i++)
		dgram_unsend(s, tx->iov[i].iov_len);
	tx->count = 0;
	tx->used = 0;
}

static void batch_begin(void)
{
	batch_depth++;
}

static void batch_end(void)
{
	if (--batch_depth)
		return;
	while (pending_head) {
		NetSock *s = pending_head;
		pending_head = s->pending_next;
		s->pending_next = NULL;
		s->pending = false;
		dgram_flush(s);
	}
}

static void pending_remove(NetSock *s)
{
	for (NetSock **p = &pending_head; *p; p = &(*p)->pending_next) {
		if (*p == s) {
			*p = s->pending_next;
			break;
		}
	}
	s->pending_next = NULL;
	s->pending = false;
}

/* Anonymous memory, faulted in page by page as the kernel or we write it:
 * a slot that only ever receives small frames costs one page. */
static void *map_lazy(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Queue a frame for the batch's sendmmsg(); false: send it directly. */
static bool dgram_queue(NetSock *s, const struct iovec *iov, int iovcnt, size_t len)
{
	if (!s->tx) {
		uint8_t *area = map_lazy(DGRAM_TX_AREA);
		if (!area)
			return false; /* no memory for batching: send one by one */
		s->tx = g_new0(DgramTx, 1);
		s->tx->area = area;
	}
	DgramTx *tx = s->tx;
	if (len > DGRAM_TX_AREA) {
		/* Cannot happen (frames are at most NET_MAX_FRAME); keep the
		 * order if it ever does. */
		if (tx->count)
			dgram_flush(s);
		return false;
	}
	if (tx->count == DGRAM_BATCH || tx->used + len > DGRAM_TX_AREA)
		dgram_flush(s);
	uint8_t *buf = tx->area + tx->used;
	net_iov_to_buf(iov, iovcnt, buf, len);
	tx->iov[tx->count] = (struct iovec){buf, len};
	tx->count++;
	tx->used += len;
	if (!s->pending) {
		s->pending = true;
		s->pending_next = pending_head;
		pending_head = s;
	}
	return true;
}

static void dgram_rx_alloc(NetSock *s)
{
	DgramRx *rx = g_new0(DgramRx, 1);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* Slots start on a page each, so a small frame touches one page. */
	rx->stride = (NET_MAX_FRAME + page - 1) / page * page;
	rx->area = map_lazy(rx->stride * DGRAM_BATCH);
	rx->mapped = rx->area != NULL;
	rx->nslots = DGRAM_BATCH;
	if (!rx->mapped) {
		/* No memory for the batch: one datagram per call in rbuf. */
		rx->area = s->rbuf;
		rx->nslots = 1;
	}
	for (unsigned i = 0; i < rx->nslots; i++) {
		/* Exactly NET_MAX_FRAME: anything longer comes with MSG_TRUNC. */
		rx->iov[i] = (struct iovec){rx->area + i * rx->stride, NET_MAX_FRAME};
		rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
		rx->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	s->rx = rx;
}

/*
 * Hand over the datagrams read but not delivered yet, as long as the peer
 * takes them. Returns false when it stopped because the peer is full: the
 * rest stay for sock_drained(), reading is paused and further datagrams
 * wait in the kernel.
 */
static bool dgram_deliver(NetSock *s)
{
	DgramRx *rx = s->rx;
	while (rx->next < rx->count) {
		if (peer_full(s))
			return false;
		struct mmsghdr *m = &rx->msgs[rx->next];
		const uint8_t *frame = rx->iov[rx->next].iov_base;
		rx->next++;
		if (m->msg_hdr.msg_flags & MSG_TRUNC) {
			/* Longer than any frame: dropped on our account, as
			 * net_send() counts an oversized frame. */
			s->nc->stats.tx_dropped++;
			continue;
		}
		if (m->msg_len > 0)
			net_send(s->nc, frame, m->msg_len);
	}
	return true;
}

static void read_dgram(NetSock *s)
{
	if (!s->rx)
		dgram_rx_alloc(s);
	DgramRx *rx = s->rx;
	for (unsigned budget = DGRAM_READ_BUDGET;;) {
		/* Frames kept from an earlier round go first, in order. Each
		 * round's forwarded frames leave before the next read, so a
		 * sender waiting for them is not held up by it. */
		batch_begin();
		bool all = dgram_deliver(s);
		batch_end();
		if (!all || !budget)
			break;
		if (peer_full(s))
			break;
		unsigned want = MIN(rx->nslots, budget);
		int n = recvmmsg(s->fd, rx->msgs, want, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		rx->next = 0;
		rx->count = (unsigned)n;
		budget -= (unsigned)n;
		/* A short batch emptied the socket: deliver it, and leave the
		 * next wake-up to epoll rather than try a read that fails. */
		if ((unsigned)n < want)
			budget = 0;
	}
}

static void flush_wbuf(NetSock *s)
{
	while (s->wbuf->len) {
		ssize_t n = send(s->fd, s->wbuf->data, s->wbuf->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			g_autofree char *why =
			    g_strdup_printf(_("write failed: %s"), g_strerror(errno));
			drop_connection(s, why);
			return;
		}
		g_byte_array_remove_range(s->wbuf, 0, (guint)n);
	}
	update_events(s);
	if (!s->wbuf->len)
		net_client_flush_queue(s->nc);
}

static void accept_peer(NetSock *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* One peer at a time, as QEMU: the next is taken after this one goes. */
	ml_del_fd(s->listen_fd);
	s->fd = fd;
	net_framer_reset(&s->framer);
	ml_add_fd(fd, EPOLLIN, sock_event, s);
	g_autofree char *peer = netsock_addr_str((struct sockaddr *)&ss, len);
	set_info(s, "connection from %s", peer);
	g_printerr(_("kite: network backend %s: connection from %s\n"), s->nc->name, peer);
}

static void sock_event(int fd, uint32_t events, void *opaque)
{
	NetSock *s = opaque;
	if (fd == s->listen_fd) {
		accept_peer(s);
		return;
	}
	if (s->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int e = 0;
		socklen_t l = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
		s->connecting = false;
		if (e) {
			g_autofree char *why =
			    g_strdup_printf(_("connect failed: %s"), g_strerror(e));
			drop_connection(s, why);
			return;
		}
		update_events(s);
		net_client_flush_queue(s->nc);
		return;
	}
	if (events & EPOLLOUT && s->wbuf)
		flush_wbuf(s);
	if (s->fd < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->dgram)
			read_dgram(s);
		else
			read_stream(s);
	}
}

static ssize_t sock_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	NetSock *s = nc->opaque;
	size_t len = net_iov_size(iov, iovcnt);
	if (s->fd < 0)
		return -1; /* nobody on the other end: the frame is dropped */
	if (s->dgram) {
		if (batch_depth && dgram_queue(s, iov, iovcnt, len))
			return len; /* sent, or counted as dropped, at batch_end() */
		return dgram_send_now(s, iov, iovcnt) ? (ssize_t)len : -1;
	}
	if (s->connecting || s->wbuf->len)
		return 0;
	uint8_t hdr[4] = {len >> 24, len >> 16, len >> 8, len};
	struct iovec v[65];
	int n = 0;
	v[n++] = (struct iovec){hdr, 4};
	for (int i = 0; i < iovcnt && n < (int)G_N_ELEMENTS(v); i++)
		v[n++] = iov[i];
	struct msghdr mh = {.msg_iov = v, .msg_iovlen = n};
	ssize_t sent = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			g_autofree char *why =
			    g_strdup_printf(_("write failed: %s"), g_strerror(errno));
			drop_connection(s, why);
			return -1;
		}
		sent = 0;
	}
	/* Keep the unsent tail so the stream never carries half a frame. */
	size_t skip = (size_t)sent;
	for (int i = 0; i < n; i++) {
		if (skip >= v[i].iov_len) {
			skip -= v[i].iov_len;
			continue;
		}
		g_byte_array_append(s->wbuf, (uint8_t *)v[i].iov_base + skip,
				    (guint)(v[i].iov_len - skip));
		skip = 0;
	}
	if (s->wbuf->len)
		update_events(s);
	return len;
}

static bool sock_can_receive(NetClient *nc)
{
	NetSock *s = nc->opaque;
	/* Unconnected: accept and drop, so a hub is not held back. */
	return s->fd < 0 || s->dgram || (!s->connecting && !s->wbuf->len);
}

static void sock_drained(NetClient *nc)
{
	NetSock *s = nc->opaque;
	if (!s->reading_paused || s->fd < 0)
		return;
	batch_begin();
	if (!s->dgram) {
		process_rbuf(s);
	} else if (!s->rx || dgram_deliver(s)) {
		/* What the last read kept went over; the main loop reads on. */
		s->reading_paused = false;
		update_events(s);
	}
	batch_end();
}

static void sock_cleanup(NetClient *nc)
{
	NetSock *s = nc->opaque;
	if (s->fd >= 0) {
		ml_del_fd(s->fd);
		close(s->fd);
	}
	if (s->listen_fd >= 0) {
		ml_del_fd(s->listen_fd);
		close(s->listen_fd);
	}
	if (s->pending)
		pending_remove(s); /* its batched frames go with it */
	if (s->tx) {
		munmap(s->tx->area, DGRAM_TX_AREA);
		g_free(s->tx);
	}
	if (s->rx) {
		if (s->rx->mapped)
			munmap(s->rx->area, s->rx->stride * DGRAM_BATCH);
		g_free(s->rx);
	}
	g_free(s->rbuf);
	if (s->wbuf)
		g_byte_array_free(s->wbuf, TRUE);
	g_free(s->prefix);
	g_free(s->listen_info);
	g_free(s);
}

static const NetClientOps sock_ops = {
    .receive = sock_receive,
    .can_receive = sock_can_receive,
    .peer_queue_drained = sock_drained,
    .cleanup = sock_cleanup,
};

NetSock *netsock_new(NetClientType type, const char *model, const char *name)
{
	NetSock *s = g_new0(NetSock, 1);
	s->fd = -1;
	s->listen_fd = -1;
	s->rbuf = g_malloc(RBUF_SIZE);
	s->wbuf = g_byte_array_new();
	s->prefix = g_strdup("");
	s->nc = net_client_new(type, model, name, &sock_ops, s);
	return s;
}

NetClient *netsock_client(NetSock *s)
{
	return s->nc;
}

void netsock_abort(NetSock *s)
{
	net_client_free(s->nc);
}

void netsock_set_labels(NetSock *s, const char *prefix)
{
	g_free(s->prefix);
	s->prefix = g_strdup(prefix);
}

int netsock_listen(NetSock *s, const struct sockaddr *sa, socklen_t len, GError **err)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	int one = 1;
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 || listen(fd, 1) < 0)
		goto fail;
	s->listen_fd = fd;
	ml_add_fd(fd, EPOLLIN, sock_event, s);
	return 0;
fail:;
	g_autofree char *addr = netsock_addr_str(sa, len);
	g_set_error(err, KITE_NET_ERROR, 0, _("can't listen on %s: %s"), addr, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int netsock_connect(NetSock *s, const struct sockaddr *sa, socklen_t len, GError **err)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		s->connecting = true;
	}
	s->fd = fd;
	ml_add_fd(fd, s->connecting ? EPOLLOUT : EPOLLIN, sock_event, s);
	return 0;
fail:;
	int e = errno;
	g_autofree char *addr = netsock_addr_str(sa, len);
	g_set_error(err, KITE_NET_ERROR, 0, _("can't connect socket to %s: %s"), addr,
		    g_strerror(e));
	if (fd >= 0)
		close(fd);
	return -1;
}

int netsock_adopt_fd(NetSock *s, int fd, GError **err)
{
	int type;
	socklen_t l = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("%s: Can't use file descriptor %d: %s"),
			    s->nc->name, fd, g_strerror(errno));
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	s->dgram = type == SOCK_DGRAM;
	s->fd = fd;
	ml_add_fd(fd, EPOLLIN, sock_event, s);
	return 0;
}

/*
 * Segmentation offload only for UDP (a datagram socket of another family
 * would pass a run on as one datagram) to a unicast address: multicast
 * goes to every member through paths less used to it, and is rare.
 */
static bool gso_allowed(int fd, const struct sockaddr *dest)
{
	int proto = 0;
	socklen_t len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 || proto != IPPROTO_UDP)
		return false;
	if (dest && dest->sa_family == AF_INET)
		return !IN_MULTICAST(ntohl(((const struct sockaddr_in *)dest)->sin_addr.s_addr));
	if (dest && dest->sa_family == AF_INET6)
		return !IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)dest)->sin6_addr);
	return true;
}

int netsock_dgram(NetSock *s, int fd, const struct sockaddr *dest, socklen_t destlen, GError **err)
{
	(void)err;
	s->dgram = true;
	s->fd = fd;
	if (dest) {
		memcpy(&s->dest, dest, destlen);
		s->destlen = destlen;
	}
	s->gso_below = gso_allowed(fd, dest) ? GSO_MAX_BYTES : 0;
	ml_add_fd(fd, EPOLLIN, sock_event, s);
	return 0;
}

void netsock_set_info(NetSock *s, const char *info)
{
	set_info(s, "%s", info);
}

/* Listening sockets show this until a peer connects. */
void netsock_set_listen_info(NetSock *s, const char *info)
{
	g_free(s->listen_info);
	s->listen_info = g_strdup(info);
	set_info(s, "%s", info);
}
