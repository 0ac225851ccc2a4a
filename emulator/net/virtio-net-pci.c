/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net-pci as QEMU 7.2 presents it by default on the PC machine: a
 * transitional device (1af4:1000, subsystem 1af4:0001) with the legacy I/O
 * BAR0, MSI-X in BAR1 and the virtio 1.0 interface (common, notify, ISR and
 * device configuration capabilities) in the 64-bit BAR4. Split virtqueues
 * with indirect descriptors and event index, mergeable receive buffers,
 * link status with a configuration interrupt, the control queue (receive
 * modes, MAC table and address, VLAN filter, announce, queue pairs,
 * offloads) and, behind a tap opened with vnet_hdr, checksum and
 * segmentation offloads passed straight through.
 *
 * Every descriptor index, length and address comes from the guest: indices
 * are checked against the queue size, chains are cut at the queue size (a
 * looping chain ends there), indirect tables are bounded, and all guest
 * memory goes through nic_dma_*() which checks it lies in guest RAM.
 */
#include <errno.h>
#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "../error.h"
#include "../main-loop.h"
#include "../nic/nic-common.h"
#include "net-cmdline.h"
#include "net.h"

/* Feature bits. */
#define F_CSUM		      0
#define F_GUEST_CSUM	      1
#define F_CTRL_GUEST_OFFLOADS 2
#define F_MAC		      5
#define F_GUEST_TSO4	      7
#define F_GUEST_TSO6	      8
#define F_GUEST_ECN	      9
#define F_GUEST_UFO	      10
#define F_HOST_TSO4	      11
#define F_HOST_TSO6	      12
#define F_HOST_ECN	      13
#define F_HOST_UFO	      14
#define F_MRG_RXBUF	      15
#define F_STATUS	      16
#define F_CTRL_VQ	      17
#define F_CTRL_RX	      18
#define F_CTRL_VLAN	      19
#define F_CTRL_RX_EXTRA	      20
#define F_GUEST_ANNOUNCE      21
#define F_MQ		      22
#define F_CTRL_MAC_ADDR	      23
#define F_NOTIFY_ON_EMPTY     24
#define F_ANY_LAYOUT	      27
#define F_INDIRECT_DESC	      28
#define F_EVENT_IDX	      29
#define F_VERSION_1	      32
#define F_RING_RESET	      40
#define BIT(f)		      (1ULL << (f))
/* Offered through the legacy interface only, as QEMU does. */
#define LEGACY_ONLY_FEATURES (BIT(F_NOTIFY_ON_EMPTY) | BIT(F_ANY_LAYOUT))

/* Device status bits. */
#define S_ACKNOWLEDGE 1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define S_FAILED      0x80

#define NET_S_LINK_UP  1
#define NET_S_ANNOUNCE 2

#define VRING_DESC_F_NEXT	   1
#define VRING_DESC_F_WRITE	   2
#define VRING_DESC_F_INDIRECT	   4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1
#define NO_VECTOR		   0xffff

#define HDR_F_NEEDS_CSUM  1
#define MAX_QUEUE_PAIRS	  8
#define MAX_QUEUES	  (2 * MAX_QUEUE_PAIRS + 1)
#define MAX_QUEUE_SIZE	  1024
#define MAX_INDIRECT	  1024 /* descriptors in one indirect table */
#define MAX_SEGS	  (MAX_QUEUE_SIZE + MAX_INDIRECT)
#define MAC_TABLE_ENTRIES 64
#define MAX_VLAN	  4096

/* BAR4 layout (QEMU's): one 4 KiB page per structure. */
#define BAR4_SIZE	0x4000
#define COMMON_OFF	0x0000
#define ISR_OFF		0x1000
#define DEVCFG_OFF	0x2000
#define NOTIFY_OFF	0x3000
#define NOTIFY_MULT	4
#define LEGACY_BAR_SIZE 0x20 /* QEMU's: 0x40 once the config has max_virtqueue_pairs */
#define MSIX_BAR_SIZE	0x1000

/* Control queue. */
#define CTRL_RX			0
#define CTRL_RX_PROMISC		0
#define CTRL_RX_ALLMULTI	1
#define CTRL_RX_ALLUNI		2
#define CTRL_RX_NOMULTI		3
#define CTRL_RX_NOUNI		4
#define CTRL_RX_NOBCAST		5
#define CTRL_MAC		1
#define CTRL_MAC_TABLE_SET	0
#define CTRL_MAC_ADDR_SET	1
#define CTRL_VLAN		2
#define CTRL_VLAN_ADD		0
#define CTRL_VLAN_DEL		1
#define CTRL_ANNOUNCE		3
#define CTRL_ANNOUNCE_ACK	0
#define CTRL_MQ			4
#define CTRL_MQ_VQ_PAIRS_SET	0
#define CTRL_GUEST_OFFLOADS	5
#define CTRL_GUEST_OFFLOADS_SET 0
#define CTRL_OK			0
#define CTRL_ERR		1

typedef struct Seg {
	uint64_t addr;
	uint32_t len;
} Seg;

/* One descriptor chain, split into what the device reads and writes. */
typedef struct Chain {
	uint16_t head;
	int nrd, nwr;
	size_t rd_len, wr_len;
	Seg rd[MAX_SEGS];
	Seg wr[MAX_SEGS];
} Chain;

typedef struct VQ {
	uint16_t max, size;
	bool enabled;
	uint64_t desc, avail, used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t vector;
	uint32_t legacy_pfn;
	bool broken;
} VQ;

typedef struct VNet VNet;

/*
 * A queue pair's end of the net layer. As in QEMU, a NIC has one net client
 * per queue pair, client i peered with queue i of its backend (fd i of a
 * multiqueue tap): what the guest sends on tx queue i leaves through that
 * fd, and what the kernel steers to that fd arrives on rx queue i. Pair 0
 * uses the NIC's own client (nic.nc); the others have their own, with the
 * NIC's name and queue_index i.
 */
typedef struct VNetPair {
	VNet *n;
	unsigned index;
	NetClient *nc;	       /* pairs > 0 only */
	bool tx_waiting;       /* tx paused until the peer drains */
	bool tx_resume_queued; /* tx_resume() is queued on the main loop */
	ml_timer *tx_timer;    /* transmit coalescing, see process_tx() */
} VNetPair;

typedef struct Notifier {
	VNet *n;
	int queue;
} Notifier;

struct VNet {
	struct nic_common nic; /* first: nic-common's qtree hook relies on it */
	uint64_t host_features;
	uint64_t guest_features;
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t isr;
	uint8_t config_generation;
	uint16_t msix_config;
	uint16_t queue_sel;
	unsigned nvectors;
	int64_t tx_coalesce_ns; /* x-tx-coalesce-ns; 0: kicks back on at once */
	unsigned max_pairs, pairs;
	/* Queues of the backend: as in QEMU each gets a pair client even when
	 * mq=off offers one pair, so the unused ones can be detached. */
	unsigned backend_pairs;
	unsigned nqueues; /* 2 * max_pairs (+1 with the control queue) */
	VQ vq[MAX_QUEUES];
	Notifier notifiers[MAX_QUEUES];
	uint16_t net_status;
	uint8_t mac[6]; /* current MAC (config space / CTRL_MAC_ADDR_SET) */
	size_t guest_hdr_len;
	bool peer_vnet;	  /* the peer carries our header (vnet_hdr tap) */
	bool legacy_mode; /* features were negotiated through BAR0 */
	uint8_t cfg_cap;  /* the PCI configuration access capability */
	/* Receive filter, QEMU's defaults (promiscuous until the driver says). */
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	unsigned uni_count, multi_count;
	bool uni_overflow, multi_overflow;
	uint8_t macs[MAC_TABLE_ENTRIES][6];
	uint32_t vlans[MAX_VLAN / 32];
	VNetPair qp[MAX_QUEUE_PAIRS];
	/* Scratch of transmit and the control queue. Receive has its own: a
	 * frame sent from tx_pass() can come straight back in (slirp answering
	 * with an ICMP error, a loop through a hub) while tx_pass() still holds
	 * the chain it must hand back and the frame the backend is reading. */
	Chain chain;
	Chain rx_chain;
	bool unplugged; /* hot-unplugged, freed once queued calls ran */
	uint8_t buf[NET_MAX_FRAME + 64];
	uint8_t rx_buf[NET_MAX_FRAME + 64];
};

static bool has(VNet *n, int f)
{
	return n->guest_features & BIT(f);
}

/* --- interrupts ---------------------------------------------------------- */

static bool msix_on(VNet *n)
{
	return n->nvectors && pci_msix_enabled(n->nic.pci);
}

static void notify_vector(VNet *n, uint16_t vector, uint8_t isr_bit)
{
	if (msix_on(n)) {
		if (vector != NO_VECTOR && vector < n->nvectors)
			pci_msix_notify(n->nic.pci, vector);
		return;
	}
	n->isr |= isr_bit;
	nic_set_irq(&n->nic, true);
}

static void config_changed(VNet *n)
{
	n->config_generation++;
	if (n->status & S_DRIVER_OK)
		notify_vector(n, n->msix_config, 2);
}

/* --- virtqueues ------------------------------------------------------------ */

static bool rd16(VNet *n, uint64_t a, uint16_t *v)
{
	return nic_dma_read16(&n->nic, a, v);
}

static void vq_mark_broken(VNet *n, VQ *q, const char *why)
{
	if (!q->broken)
		g_printerr(_("kite: %s: queue %d: %s; the device needs a reset\n"),
			   n->nic.nc ? n->nic.nc->name : "virtio-net", (int)(q - n->vq), why);
	q->broken = true;
	n->status |= S_NEEDS_RESET;
	config_changed(n);
}

static bool vq_ready(VNet *n, VQ *q)
{
	return q->enabled && !q->broken && q->size && (n->status & S_DRIVER_OK);
}

/* Avail entries the driver has published and we have not taken. */
static int vq_pending(VNet *n, VQ *q, uint16_t *count)
{
	uint16_t idx;
	if (!rd16(n, q->avail + 2, &idx)) {
		vq_mark_broken(n, q, "avail ring outside guest memory");
		return -1;
	}
	uint16_t c = (uint16_t)(idx - q->last_avail);
	if (c > q->size) {
		char why[96];
		g_snprintf(why, sizeof(why),
			   "avail index moved by more than the queue size (%u published, %u taken, "
			   "size %u)",
			   idx, q->last_avail, q->size);
		vq_mark_broken(n, q, why);
		return -1;
	}
	*count = c;
	return 0;
}

static bool add_seg(VNet *n, VQ *q, Chain *c, uint64_t addr, uint32_t len, bool write)
{
	if (c->nrd + c->nwr >= MAX_SEGS) {
		vq_mark_broken(n, q, "descriptor chain too long");
		return false;
	}
	if (addr + len < addr) {
		vq_mark_broken(n, q, "descriptor wraps the address space");
		return false;
	}
	if (write) {
		c->wr[c->nwr++] = (Seg){addr, len};
		c->wr_len += len;
	} else {
		c->rd[c->nrd++] = (Seg){addr, len};
		c->rd_len += len;
	}
	return true;
}

/* The chain published at avail position 'pos'; false when broken. */
static bool vq_read_chain(VNet *n, VQ *q, uint16_t pos, Chain *c)
{
	uint16_t head;
	if (!rd16(n, q->avail + 4 + 2ULL * (pos % q->size), &head)) {
		vq_mark_broken(n, q, "avail ring outside guest memory");
		return false;
	}
	if (head >= q->size) {
		vq_mark_broken(n, q, "descriptor index out of range");
		return false;
	}
	c->head = head;
	c->nrd = c->nwr = 0;
	c->rd_len = c->wr_len = 0;
	uint16_t i = head;
	/* A chain visits each descriptor at most once, so more steps than the
	 * queue size means the guest linked a loop. */
	for (unsigned steps = 0;; steps++) {
		if (steps >= q->size) {
			vq_mark_broken(n, q, "descriptor chain loops");
			return false;
		}
		uint8_t d[16];
		if (!nic_dma_read(&n->nic, q->desc + 16ULL * i, d, 16)) {
			vq_mark_broken(n, q, "descriptor table outside guest memory");
			return false;
		}
		uint64_t addr = (uint64_t)nic_le32(d + 4) << 32 | nic_le32(d);
		uint32_t len = nic_le32(d + 8);
		uint16_t flags = nic_le16(d + 12), next = nic_le16(d + 14);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (!(n->guest_features & BIT(F_INDIRECT_DESC)) ||
			    (flags & VRING_DESC_F_NEXT) || len % 16 || len == 0 ||
			    len / 16 > MAX_INDIRECT) {
				vq_mark_broken(n, q, "bad indirect descriptor");
				return false;
			}
			unsigned count = len / 16;
			uint16_t j = 0;
			for (unsigned k = 0;; k++) {
				if (k >= count || j >= count) {
					vq_mark_broken(n, q, "indirect chain loops or overruns");
					return false;
				}
				uint8_t e[16];
				if (!nic_dma_read(&n->nic, addr + 16ULL * j, e, 16)) {
					vq_mark_broken(n, q, "indirect table outside guest memory");
					return false;
				}
				uint16_t ef = nic_le16(e + 12);
				if (ef & VRING_DESC_F_INDIRECT) {
					vq_mark_broken(n, q, "nested indirect descriptor");
					return false;
				}
				if (!add_seg(n, q, c, (uint64_t)nic_le32(e + 4) << 32 | nic_le32(e),
					     nic_le32(e + 8), ef & VRING_DESC_F_WRITE))
					return false;
				if (!(ef & VRING_DESC_F_NEXT))
					break;
				j = nic_le16(e + 14);
			}
			return true;
		}
		if (!add_seg(n, q, c, addr, len, flags & VRING_DESC_F_WRITE))
			return false;
		if (!(flags & VRING_DESC_F_NEXT))
			return true;
		if (next >= q->size) {
			vq_mark_broken(n, q, "next descriptor out of range");
			return false;
		}
		i = next;
	}
}

static void vq_push(VNet *n, VQ *q, uint16_t head, uint32_t len)
{
	uint64_t e = q->used + 4 + 8ULL * (q->used_idx % q->size);
	uint8_t b[8];
	nic_put_le32(b, head);
	nic_put_le32(b + 4, len);
	if (!nic_dma_write(&n->nic, e, b, 8))
		vq_mark_broken(n, q, "used ring outside guest memory");
	q->used_idx++;
}

/* Publish pushed entries and interrupt the driver if it wants it. */
static void vq_flush(VNet *n, VQ *q, uint16_t old_used)
{
	if (q->used_idx == old_used)
		return;
	/* Entries must be visible before the index that announces them. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	nic_dma_write16(&n->nic, q->used + 2, q->used_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool want;
	if (has(n, F_EVENT_IDX)) {
		uint16_t ev = 0;
		rd16(n, q->avail + 4 + 2ULL * q->size, &ev);
		want = (uint16_t)(q->used_idx - ev - 1) < (uint16_t)(q->used_idx - old_used);
	} else {
		uint16_t flags = 0;
		rd16(n, q->avail, &flags);
		want = !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (want)
		notify_vector(n, q->vector, 1);
}

/* With event index, ask to be kicked for anything after what we took. */
static void vq_set_avail_event(VNet *n, VQ *q)
{
	if (has(n, F_EVENT_IDX))
		nic_dma_write16(&n->nic, q->used + 4 + 8ULL * q->size, q->last_avail);
}

static size_t chain_read(VNet *n, const Chain *c, uint8_t *out, size_t max)
{
	size_t done = 0;
	for (int i = 0; i < c->nrd && done < max; i++) {
		size_t k = MIN((size_t)c->rd[i].len, max - done);
		if (!nic_dma_read(&n->nic, c->rd[i].addr, out + done, k))
			return 0;
		done += k;
	}
	return done;
}

/* Write data into the chain's writable part starting 'skip' bytes in. */
static size_t chain_write(VNet *n, const Chain *c, size_t skip, const uint8_t *data, size_t len)
{
	size_t done = 0;
	for (int i = 0; i < c->nwr && done < len; i++) {
		size_t seg = c->wr[i].len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		size_t k = MIN(seg - skip, len - done);
		if (!nic_dma_write(&n->nic, c->wr[i].addr + skip, data + done, k))
			return done;
		done += k;
		skip = 0;
	}
	return done;
}

/* --- receive ---------------------------------------------------------------- */

static bool rx_filter(VNet *n, const uint8_t *f, size_t len)
{
	if (n->promisc)
		return true;
	if (len >= 16 && f[12] == 0x81 && f[13] == 0x00 && has(n, F_CTRL_VLAN)) {
		unsigned vid = (f[14] << 8 | f[15]) & 0xfff;
		if (!(n->vlans[vid >> 5] & (1u << (vid & 31))))
			return false;
	}
	switch (nic_dest_kind(f)) {
	case NIC_DEST_BROADCAST:
		return !n->nobcast;
	case NIC_DEST_MULTICAST:
		if (n->nomulti)
			return false;
		if (n->allmulti || n->multi_overflow)
			return true;
		for (unsigned i = n->uni_count; i < n->uni_count + n->multi_count; i++)
			if (!memcmp(f, n->macs[i], 6))
				return true;
		return false;
	default:
		if (n->nouni)
			return false;
		if (n->alluni || n->uni_overflow || !memcmp(f, n->mac, 6))
			return true;
		for (unsigned i = 0; i < n->uni_count; i++)
			if (!memcmp(f, n->macs[i], 6))
				return true;
		return false;
	}
}

static NetClient *pair_nc(VNet *n, unsigned pair)
{
	return pair == 0 ? n->nic.nc : n->qp[pair].nc;
}

static bool pair_can_receive(VNet *n, unsigned pair)
{
	VQ *q = &n->vq[2 * pair];
	uint16_t pending;
	return vq_ready(n, q) && vq_pending(n, q, &pending) == 0 && pending > 0;
}

static bool vnet_can_receive(NetClient *nc)
{
	return pair_can_receive(nc->opaque, 0);
}

static ssize_t pair_receive(VNet *n, unsigned pair, const struct iovec *iov, int iovcnt)
{
	VQ *q = &n->vq[2 * pair];
	size_t len = net_iov_size(iov, iovcnt);
	/* The other pairs' clients follow the NIC's link state; a pair not
	 * enabled has its backend queue detached, anything else is dropped. */
	if (pair > 0 && ((n->nic.nc && n->nic.nc->link_down) || pair >= n->pairs))
		return -1;
	if (!vq_ready(n, q))
		return 0;
	size_t hdr = n->guest_hdr_len;
	uint8_t *p = n->rx_buf;
	size_t total;
	if (n->peer_vnet) {
		/* The tap's header is ours already (same length, negotiated). */
		if (len < hdr || len > sizeof(n->rx_buf))
			return -1;
		net_iov_to_buf(iov, iovcnt, p, len);
		total = len;
	} else {
		if (len + hdr > sizeof(n->rx_buf))
			return -1;
		memset(p, 0, hdr);
		net_iov_to_buf(iov, iovcnt, p + hdr, len);
		total = len + hdr;
	}
	if (total - hdr < 14)
		return -1;
	if (!rx_filter(n, p + hdr, total - hdr))
		return len; /* filtered out: delivered to nobody, not a loss */

	uint16_t pending;
	if (vq_pending(n, q, &pending) < 0)
		return -1;
	bool mrg = has(n, F_MRG_RXBUF);
	/* Find room for the whole frame before taking any buffer. */
	size_t room = 0;
	unsigned needed = 0;
	while (room < total) {
		if (needed >= pending)
			return 0; /* the net layer keeps it until buffers come */
		if (!vq_read_chain(n, q, (uint16_t)(q->last_avail + needed), &n->rx_chain))
			return -1;
		room += n->rx_chain.wr_len;
		needed++;
		if (!mrg)
			break;
	}
	if (room < total)
		return -1; /* without mergeable buffers one must hold the frame */
	if (mrg || has(n, F_VERSION_1))
		nic_put_le16(p + 10, (uint16_t)(mrg ? needed : 1));
	uint16_t old_used = q->used_idx;
	size_t off = 0;
	for (unsigned i = 0; i < needed; i++) {
		if (!vq_read_chain(n, q, q->last_avail, &n->rx_chain))
			return -1;
		size_t put =
		    chain_write(n, &n->rx_chain, 0, p + off, MIN(n->rx_chain.wr_len, total - off));
		q->last_avail++;
		vq_push(n, q, n->rx_chain.head, (uint32_t)put);
		off += put;
	}
	vq_set_avail_event(n, q);
	vq_flush(n, q, old_used);
	/* A buffer outside RAM: the guest has its buffers back, the frame
	 * is lost (< 0: the net layer counts the drop). */
	return off < total ? -1 : (ssize_t)len;
}

static ssize_t vnet_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	return pair_receive(nc->opaque, 0, iov, iovcnt);
}

/* --- transmit ----------------------------------------------------------------- */

/*
 * Kick suppression while tx is drained, so a driver that publishes frames
 * while we are busy with earlier ones does not exit to us for each of them.
 * Without event index that is the used ring's NO_NOTIFY flag; with it,
 * avail_event simply stays where the last drain left it, so the driver
 * kicks once, for the first buffer past it.
 */
static void vq_kicks_off(VNet *n, VQ *q)
{
	if (!has(n, F_EVENT_IDX))
		nic_dma_write16(&n->nic, q->used, VRING_USED_F_NO_NOTIFY);
}

/*
 * Ask for kicks again. The fence pairs with the driver's barrier between
 * publishing its avail index and reading our flag / avail_event: after it,
 * either the driver sees kicks wanted, or our next read of the avail index
 * sees what it published.
 */
static void vq_kicks_on(VNet *n, VQ *q)
{
	if (has(n, F_EVENT_IDX))
		vq_set_avail_event(n, q);
	else
		nic_dma_write16(&n->nic, q->used, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

enum tx_pass {
	TX_EMPTY,   /* took everything published */
	TX_MORE,    /* stopped at the budget with more published */
	TX_STOPPED, /* queue broken, or the peer is full (tx_waiting) */
};

/* Send up to one queue's worth of published tx buffers; *taken counts them. */
static enum tx_pass tx_pass(VNet *n, unsigned pair, VQ *q, NetClient *nc, unsigned *taken)
{
	for (unsigned budget = q->size; budget; budget--) {
		uint16_t pending;
		/* A broken queue loses what the guest published: one drop. */
		if (vq_pending(n, q, &pending) < 0) {
			nic_count_tx_drop(&n->nic);
			return TX_STOPPED;
		}
		if (pending == 0)
			return TX_EMPTY;
		if (nc && !net_peer_can_accept(nc)) {
			n->qp[pair].tx_waiting = true; /* resumed by pair_drained */
			return TX_STOPPED;
		}
		if (!vq_read_chain(n, q, q->last_avail, &n->chain)) {
			nic_count_tx_drop(&n->nic);
			return TX_STOPPED;
		}
		q->last_avail++;
		(*taken)++;
		size_t hdr = n->guest_hdr_len;
		size_t len = n->chain.rd_len;
		if (len > hdr && len - hdr <= NET_MAX_FRAME && len <= sizeof(n->buf) &&
		    chain_read(n, &n->chain, n->buf, len) == len) {
			size_t skip = n->peer_vnet ? 0 : hdr;
			if (pair == 0)
				nic_send(&n->nic, n->buf + skip, len - skip);
			/* Like QEMU, a pair the guest has not enabled sends nothing. */
			else if (nc && pair < n->pairs && !n->nic.nc->link_down)
				net_send(nc, n->buf + skip, len - skip);
		} else {
			nic_count_tx_drop(&n->nic);
		}
		vq_push(n, q, n->chain.head, 0);
	}
	return TX_MORE;
}

/* Drain passes per kick with kicks off; bounds the time other work waits. */
#define TX_ROUNDS 4

/*
 * Transmit coalescing. A kick is the guest's most expensive act here: an
 * exit to the host kernel (about a microsecond with VT-x, 25-40 us on a
 * nested host), and a driver that publishes one frame at a time kicks
 * for the first frame after every drain that emptied the queue. kite
 * drains faster than such a guest publishes, so it empties the queue and
 * asks for the next kick again and again: a kick every few dozen frames.
 *
 * So once a kick brought a batch (TX_STREAM_MIN frames or more: the guest
 * is streaming), an empty queue does not turn kicks back on at once; kicks
 * stay off and the queue is looked at again tx_coalesce_ns later, and so
 * on while each look finds something. The first look that finds nothing
 * turns kicks back on. A guest sending now and then (one frame per kick:
 * ping, request/response) never enters this; a streaming one waits at
 * most tx_coalesce_ns for a frame, as with QEMU's tx=timer, but only
 * while it streams.
 */
#define TX_STREAM_MIN 8

static void tx_resume(void *opaque);

static void process_tx(VNet *n, unsigned pair, bool coalescing)
{
	VQ *q = &n->vq[2 * pair + 1];
	NetClient *nc = pair_nc(n, pair);
	VNetPair *p = &n->qp[pair];
	if (!vq_ready(n, q))
		return;
	ml_timer_del(p->tx_timer);
	enum tx_pass r = TX_MORE;
	unsigned taken = 0;
	for (unsigned round = 0; round < TX_ROUNDS && r == TX_MORE; round++) {
		uint16_t old_used = q->used_idx;
		vq_kicks_off(n, q);
		r = tx_pass(n, pair, q, nc, &taken);
		/* Hand back each pass's buffers at once: the driver may be waiting for them. */
		vq_flush(n, q, old_used);
		if (r != TX_EMPTY)
			continue;
		if (n->tx_coalesce_ns && taken >= (coalescing ? 1 : TX_STREAM_MIN)) {
			ml_timer_mod(p->tx_timer, ml_now_ns() + n->tx_coalesce_ns);
			return;
		}
		vq_kicks_on(n, q);
		/* What was published while kicks were off came without one. */
		uint16_t pending;
		if (vq_pending(n, q, &pending) == 0 && pending)
			r = TX_MORE;
		else
			return;
	}
	if (r == TX_MORE) {
		/*
		 * Out of rounds with more published: let other work run and
		 * come back soon, kicks still off (unrealize frees the device
		 * only after this queued call, see vnet_unrealize).
		 */
		if (!p->tx_resume_queued) {
			p->tx_resume_queued = true;
			ml_call_from_thread(tx_resume, p);
		}
		return;
	}
	/* Stopped: a full peer resumes us through pair_drained, a broken queue needs a reset. */
	vq_kicks_on(n, q);
}

static void tx_resume(void *opaque)
{
	VNetPair *p = opaque;
	p->tx_resume_queued = false;
	if (p->n->unplugged)
		return; /* vnet_free() comes right after, queued behind us */
	process_tx(p->n, p->index, true);
}

static void tx_coalesce_due(void *opaque)
{
	VNetPair *p = opaque;
	if (!p->n->unplugged)
		process_tx(p->n, p->index, true);
}

static void pair_drained(VNet *n, unsigned pair)
{
	if (!n->qp[pair].tx_waiting)
		return;
	n->qp[pair].tx_waiting = false;
	process_tx(n, pair, true); /* a peer that was full: the guest streams */
}

static void vnet_drained(NetClient *nc)
{
	pair_drained(nc->opaque, 0);
}

/*
 * QEMU's peer_attach/peer_detach: backend queues of pairs the guest has not
 * enabled are taken out of the backend (a multiqueue tap detaches the fd),
 * so the kernel steers no traffic to a queue nobody reads.
 */
static void update_active_pairs(VNet *n)
{
	for (unsigned i = 1; i < n->backend_pairs; i++) {
		NetClient *nc = pair_nc(n, i);
		if (nc && nc->peer && nc->peer->ops->set_queue_enabled)
			nc->peer->ops->set_queue_enabled(nc->peer, i < n->pairs);
	}
}

/* --- control queue ------------------------------------------------------------- */

static uint8_t ctrl_rx(VNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
	if (len < 1)
		return CTRL_ERR;
	bool on = d[0];
	bool *flag[] = {&n->promisc, &n->allmulti, &n->alluni, &n->nomulti, &n->nouni, &n->nobcast};
	if (cmd >= G_N_ELEMENTS(flag) || (cmd > CTRL_RX_ALLMULTI && !has(n, F_CTRL_RX_EXTRA)))
		return CTRL_ERR;
	*flag[cmd] = on;
	return CTRL_OK;
}

static uint8_t ctrl_mac(VNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
	if (cmd == CTRL_MAC_ADDR_SET) {
		if (len != 6)
			return CTRL_ERR;
		memcpy(n->mac, d, 6);
		net_nic_set_mac(n->nic.nc, n->mac);
		return CTRL_OK;
	}
	if (cmd != CTRL_MAC_TABLE_SET || len < 8)
		return CTRL_ERR;
	/* Two tables, each a le32 count then the addresses: unicast, multicast. */
	uint32_t uni = nic_le32(d);
	if (uni > (len - 4) / 6)
		return CTRL_ERR;
	size_t moff = 4 + (size_t)uni * 6;
	if (moff + 4 > len)
		return CTRL_ERR;
	uint32_t multi = nic_le32(d + moff);
	if (multi > (len - moff - 4) / 6 || moff + 4 + (size_t)multi * 6 != len)
		return CTRL_ERR;
	n->uni_overflow = uni > MAC_TABLE_ENTRIES;
	n->uni_count = n->uni_overflow ? 0 : uni;
	unsigned room = MAC_TABLE_ENTRIES - n->uni_count;
	n->multi_overflow = multi > room;
	n->multi_count = n->multi_overflow ? 0 : multi;
	memcpy(n->macs, d + 4, (size_t)n->uni_count * 6);
	memcpy(n->macs[n->uni_count], d + moff + 4, (size_t)n->multi_count * 6);
	return CTRL_OK;
}

static void apply_offloads(VNet *n, uint64_t guest_offloads)
{
	unsigned o = 0;
	if (guest_offloads & BIT(F_GUEST_CSUM))
		o |= NET_OFFLOAD_CSUM;
	if (guest_offloads & BIT(F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (guest_offloads & BIT(F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	if (guest_offloads & BIT(F_GUEST_ECN))
		o |= NET_OFFLOAD_ECN;
	if (guest_offloads & BIT(F_GUEST_UFO))
		o |= NET_OFFLOAD_UFO;
	if (n->peer_vnet)
		for (unsigned i = 0; i < n->max_pairs; i++)
			if (pair_nc(n, i))
				net_peer_set_offload(pair_nc(n, i), o);
}

static uint8_t ctrl_cmd(VNet *n, uint8_t cls, uint8_t cmd, const uint8_t *d, size_t len)
{
	switch (cls) {
	case CTRL_RX:
		return has(n, F_CTRL_RX) ? ctrl_rx(n, cmd, d, len) : CTRL_ERR;
	case CTRL_MAC: {
		uint8_t r = ctrl_mac(n, cmd, d, len);
		return r;
	}
	case CTRL_VLAN: {
		if (!has(n, F_CTRL_VLAN) || len != 2)
			return CTRL_ERR;
		uint16_t vid = nic_le16(d);
		if (vid >= MAX_VLAN)
			return CTRL_ERR;
		if (cmd == CTRL_VLAN_ADD)
			n->vlans[vid >> 5] |= 1u << (vid & 31);
		else if (cmd == CTRL_VLAN_DEL)
			n->vlans[vid >> 5] &= ~(1u << (vid & 31));
		else
			return CTRL_ERR;
		return CTRL_OK;
	}
	case CTRL_ANNOUNCE:
		if (cmd != CTRL_ANNOUNCE_ACK || !has(n, F_GUEST_ANNOUNCE))
			return CTRL_ERR;
		n->net_status &= ~NET_S_ANNOUNCE;
		config_changed(n);
		return CTRL_OK;
	case CTRL_MQ: {
		if (cmd != CTRL_MQ_VQ_PAIRS_SET || len != 2 || !has(n, F_MQ))
			return CTRL_ERR;
		uint16_t pairs = nic_le16(d);
		if (pairs < 1 || pairs > n->max_pairs)
			return CTRL_ERR;
		n->pairs = pairs;
		update_active_pairs(n);
		return CTRL_OK;
	}
	case CTRL_GUEST_OFFLOADS: {
		if (cmd != CTRL_GUEST_OFFLOADS_SET || len != 8 || !has(n, F_CTRL_GUEST_OFFLOADS))
			return CTRL_ERR;
		uint64_t off = (uint64_t)nic_le32(d + 4) << 32 | nic_le32(d);
		uint64_t allowed =
		    n->guest_features & (BIT(F_GUEST_CSUM) | BIT(F_GUEST_TSO4) | BIT(F_GUEST_TSO6) |
					 BIT(F_GUEST_ECN) | BIT(F_GUEST_UFO));
		if (off & ~allowed)
			return CTRL_ERR;
		apply_offloads(n, off);
		return CTRL_OK;
	}
	default:
		return CTRL_ERR;
	}
}

static void process_ctrl(VNet *n, VQ *q)
{
	if (!vq_ready(n, q))
		return;
	uint16_t old_used = q->used_idx;
	bool filter_changed = false;
	for (unsigned budget = q->size; budget; budget--) {
		uint16_t pending;
		if (vq_pending(n, q, &pending) < 0 || pending == 0)
			break;
		if (!vq_read_chain(n, q, q->last_avail, &n->chain))
			break;
		q->last_avail++;
		Chain *c = &n->chain;
		uint8_t ack = CTRL_ERR;
		/* A command is small: class, command and at most a MAC table. */
		size_t len = MIN(c->rd_len, (size_t)(2 + 8 + 2 * MAC_TABLE_ENTRIES * 6 + 64));
		if (c->rd_len >= 2 && c->rd_len == len && c->wr_len >= 1 &&
		    chain_read(n, c, n->buf, len) == len) {
			ack = ctrl_cmd(n, n->buf[0], n->buf[1], n->buf + 2, len - 2);
			filter_changed |=
			    n->buf[0] == CTRL_RX || n->buf[0] == CTRL_MAC || n->buf[0] == CTRL_VLAN;
		}
		uint32_t written = 0;
		if (c->wr_len >= 1 && chain_write(n, c, c->wr_len - 1, &ack, 1) == 1)
			written = 1;
		vq_push(n, q, c->head, written);
	}
	vq_set_avail_event(n, q);
	vq_flush(n, q, old_used);
	if (filter_changed && n->nic.nc)
		net_nic_rx_filter_changed(n->nic.nc);
}

static void handle_queue(VNet *n, unsigned qi)
{
	if (qi >= n->nqueues)
		return;
	bool has_ctrl = n->host_features & BIT(F_CTRL_VQ);
	if (has_ctrl && qi == n->nqueues - 1)
		process_ctrl(n, &n->vq[qi]);
	else if (qi % 2)
		process_tx(n, qi / 2, false);
	else if (pair_nc(n, qi / 2))
		net_client_flush_queue(pair_nc(n, qi / 2)); /* new rx buffers */
}

/* pci.c has read (reset) the eventfd already: a second read here would
 * only be one more syscall per kick, always answered EAGAIN. */
static void ioevent_cb(int fd, uint32_t events, void *opaque)
{
	Notifier *no = opaque;
	(void)fd;
	(void)events;
	handle_queue(no->n, (unsigned)no->queue);
}

/* --- device state ---------------------------------------------------------------- */

static void filter_defaults(VNet *n)
{
	n->promisc = true;
	n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
	n->uni_count = n->multi_count = 0;
	n->uni_overflow = n->multi_overflow = false;
	/* With VLAN filtering negotiated no VLAN passes until added. */
	memset(n->vlans, 0, sizeof(n->vlans));
}

/* A queue as after a device reset: disabled, full size, no vector. */
static void vq_reset(VQ *q)
{
	uint16_t max = q->max;
	memset(q, 0, sizeof(*q));
	q->max = q->size = max;
	q->vector = NO_VECTOR;
}

static void device_reset(VNet *n)
{
	n->status = 0;
	n->guest_features = 0;
	n->isr = 0;
	n->msix_config = NO_VECTOR;
	n->queue_sel = 0;
	n->pairs = 1;
	for (unsigned i = 0; i < MAX_QUEUE_PAIRS; i++) {
		n->qp[i].tx_waiting = false;
		if (n->qp[i].tx_timer)
			ml_timer_del(n->qp[i].tx_timer);
	}
	n->legacy_mode = false;
	for (unsigned i = 0; i < MAX_QUEUES; i++)
		vq_reset(&n->vq[i]);
	filter_defaults(n);
	memcpy(n->mac, n->nic.conf_mac, 6);
	if (n->nic.nc) {
		net_nic_set_mac(n->nic.nc, n->mac);
		/* Frames go without our header again until DRIVER_OK: the
		 * kernel must not send offloaded ones meanwhile. */
		if (n->peer_vnet) {
			apply_offloads(n, 0);
			for (unsigned i = 0; i < n->max_pairs; i++)
				if (pair_nc(n, i))
					net_peer_using_vnet_hdr(pair_nc(n, i), 0);
		}
	}
	n->peer_vnet = false;
	update_active_pairs(n);
	nic_set_irq(&n->nic, false);
}

/* DRIVER_OK: the negotiated features take effect. */
static void driver_ready(VNet *n)
{
	n->guest_hdr_len = (has(n, F_VERSION_1) || has(n, F_MRG_RXBUF)) ? 12 : 10;
	if (n->nic.nc && net_peer_has_vnet_hdr(n->nic.nc)) {
		for (unsigned i = 0; i < n->max_pairs; i++)
			if (pair_nc(n, i))
				net_peer_using_vnet_hdr(pair_nc(n, i), n->guest_hdr_len);
		n->peer_vnet = true;
		apply_offloads(n, n->guest_features);
	}
	for (unsigned i = 0; i < n->max_pairs; i++)
		if (pair_nc(n, i))
			net_client_flush_queue(pair_nc(n, i));
}

static void set_status(VNet *n, uint8_t v)
{
	if (v == 0) {
		device_reset(n);
		return;
	}
	if ((v & S_FEATURES_OK) && !(n->status & S_FEATURES_OK)) {
		/* Only features we offered; modern drivers must take VERSION_1. */
		if ((n->guest_features & ~n->host_features) ||
		    (!n->legacy_mode && !has(n, F_VERSION_1)))
			v &= ~S_FEATURES_OK;
	}
	bool was_ok = n->status & S_DRIVER_OK;
	n->status = v;
	if ((v & S_DRIVER_OK) && !was_ok)
		driver_ready(n);
}

/* virtio_net_config: mac[6], status, max_virtqueue_pairs. */
static uint8_t devcfg_byte(VNet *n, unsigned off)
{
	uint8_t cfg[10];
	memcpy(cfg, n->mac, 6);
	nic_put_le16(cfg + 6, n->net_status);
	nic_put_le16(cfg + 8, (uint16_t)n->max_pairs);
	return off < sizeof(cfg) ? cfg[off] : 0;
}

static uint64_t devcfg_read(VNet *n, unsigned off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)devcfg_byte(n, off + i) << (8 * i);
	return v;
}

static void devcfg_write(VNet *n, unsigned off, unsigned size, uint64_t v)
{
	/* Legacy drivers (and modern ones without CTRL_MAC_ADDR) set the MAC
	 * by writing the config space. */
	for (unsigned i = 0; i < size; i++)
		if (off + i < 6)
			n->mac[off + i] = (uint8_t)(v >> (8 * i));
	if (off < 6 && n->nic.nc)
		net_nic_set_mac(n->nic.nc, n->mac);
}

static uint8_t isr_read(VNet *n)
{
	uint8_t v = n->isr;
	n->isr = 0;
	nic_set_irq(&n->nic, false);
	return v;
}

/* --- modern interface (BAR4) --------------------------------------------------- */

static VQ *sel_vq(VNet *n)
{
	return n->queue_sel < n->nqueues ? &n->vq[n->queue_sel] : NULL;
}

static uint64_t common_read(VNet *n, unsigned off, unsigned size)
{
	VQ *q = sel_vq(n);
	uint64_t v = 0;
	if (size == 8 && (off == 0x20 || off == 0x28 || off == 0x30))
		return common_read(n, off, 4) | common_read(n, off + 4, 4) << 32;
	switch (off) {
	case 0x00:
		v = n->dfselect;
		break;
	case 0x04: {
		uint64_t f = n->host_features & ~LEGACY_ONLY_FEATURES;
		v = n->dfselect == 0 ? (uint32_t)f : n->dfselect == 1 ? (uint32_t)(f >> 32) : 0;
		break;
	}
	case 0x08:
		v = n->gfselect;
		break;
	case 0x0c:
		v = n->gfselect == 0   ? (uint32_t)n->guest_features
		    : n->gfselect == 1 ? (uint32_t)(n->guest_features >> 32)
				       : 0;
		break;
	case 0x10:
		v = n->msix_config;
		break;
	case 0x12:
		v = n->nqueues;
		break;
	case 0x14:
		v = n->status;
		break;
	case 0x15:
		v = n->config_generation;
		break;
	case 0x16:
		v = n->queue_sel;
		break;
	case 0x18:
		v = q ? q->size : 0;
		break;
	case 0x1a:
		v = q ? q->vector : NO_VECTOR;
		break;
	case 0x1c:
		v = q ? q->enabled : 0;
		break;
	case 0x1e:
		v = q ? n->queue_sel : 0;
		break; /* notify offset = index */
	case 0x20:
		v = q ? (uint32_t)q->desc : 0;
		break;
	case 0x24:
		v = q ? q->desc >> 32 : 0;
		break;
	case 0x28:
		v = q ? (uint32_t)q->avail : 0;
		break;
	case 0x2c:
		v = q ? q->avail >> 32 : 0;
		break;
	case 0x30:
		v = q ? (uint32_t)q->used : 0;
		break;
	case 0x34:
		v = q ? q->used >> 32 : 0;
		break;
	default:
		return 0;
	}
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void set_lo(uint64_t *a, uint32_t v)
{
	*a = (*a & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *a, uint32_t v)
{
	*a = (*a & 0xffffffffULL) | (uint64_t)v << 32;
}

static void common_write(VNet *n, unsigned off, unsigned size, uint64_t v)
{
	VQ *q = sel_vq(n);
	/* Ring addresses and size are fixed once a queue is enabled. */
	bool q_writable = q && !q->enabled;
	if (size == 8 && (off == 0x20 || off == 0x28 || off == 0x30)) {
		common_write(n, off, 4, (uint32_t)v);
		common_write(n, off + 4, 4, v >> 32);
		return;
	}
	switch (off) {
	case 0x00:
		n->dfselect = (uint32_t)v;
		break;
	case 0x08:
		n->gfselect = (uint32_t)v;
		break;
	case 0x0c:
		if (n->status & S_FEATURES_OK)
			break;
		if (n->gfselect == 0)
			set_lo(&n->guest_features, (uint32_t)v);
		else if (n->gfselect == 1)
			set_hi(&n->guest_features, (uint32_t)v);
		break;
	case 0x10:
		n->msix_config = (uint16_t)v;
		break;
	case 0x14:
		set_status(n, (uint8_t)v);
		break;
	case 0x16:
		n->queue_sel = (uint16_t)v;
		break;
	case 0x18:
		/* Power of two up to the maximum (split rings). */
		if (q_writable && v && v <= q->max && !(v & (v - 1)))
			q->size = (uint16_t)v;
		break;
	case 0x1a:
		if (q)
			q->vector = (uint16_t)v < n->nvectors ? (uint16_t)v : NO_VECTOR;
		break;
	case 0x1c:
		if (q && v == 1) {
			q->enabled = true;
			q->last_avail = q->used_idx = 0;
		}
		break;
	case 0x20:
		if (q_writable)
			set_lo(&q->desc, (uint32_t)v);
		break;
	case 0x24:
		if (q_writable)
			set_hi(&q->desc, (uint32_t)v);
		break;
	case 0x28:
		if (q_writable)
			set_lo(&q->avail, (uint32_t)v);
		break;
	case 0x2c:
		if (q_writable)
			set_hi(&q->avail, (uint32_t)v);
		break;
	case 0x30:
		if (q_writable)
			set_lo(&q->used, (uint32_t)v);
		break;
	case 0x34:
		if (q_writable)
			set_hi(&q->used, (uint32_t)v);
		break;
	case 0x3a:
		/* queue_reset (RING_RESET): done at once, so it reads 0. */
		if (q && v == 1 && has(n, F_RING_RESET))
			vq_reset(q);
		break;
	default:
		break;
	}
}

/* --- legacy interface (BAR0) ------------------------------------------------------ */

static unsigned legacy_cfg_off(VNet *n)
{
	return msix_on(n) ? 0x18 : 0x14;
}

static void legacy_set_pfn(VQ *q, uint32_t pfn)
{
	q->legacy_pfn = pfn;
	if (pfn == 0) {
		q->enabled = false;
		return;
	}
	/* Legacy layout: descriptors, avail right after, used on the next
	 * 4 KiB boundary. */
	q->size = q->max;
	q->desc = (uint64_t)pfn << 12;
	q->avail = q->desc + 16ULL * q->size;
	q->used = (q->avail + 6 + 2ULL * q->size + 4095) & ~4095ULL;
	q->enabled = true;
	q->last_avail = q->used_idx = 0;
}

static uint64_t legacy_read(VNet *n, unsigned off, unsigned size)
{
	VQ *q = sel_vq(n);
	unsigned cfg = legacy_cfg_off(n);
	if (off >= cfg)
		return devcfg_read(n, off - cfg, size);
	switch (off) {
	case 0x00:
		return (uint32_t)n->host_features; /* VERSION_1 is bit 32: not here */
	case 0x04:
		return (uint32_t)n->guest_features;
	case 0x08:
		return q ? q->legacy_pfn : 0;
	case 0x0c:
		return q ? q->max : 0;
	case 0x0e:
		return n->queue_sel;
	case 0x10:
		return 0;
	case 0x12:
		return n->status;
	case 0x13:
		return isr_read(n);
	case 0x14:
		return n->msix_config;
	case 0x16:
		return q ? q->vector : NO_VECTOR;
	default:
		return 0;
	}
}

static void legacy_write(VNet *n, unsigned off, unsigned size, uint64_t v)
{
	VQ *q = sel_vq(n);
	unsigned cfg = legacy_cfg_off(n);
	if (off >= cfg) {
		devcfg_write(n, off - cfg, size, v);
		return;
	}
	switch (off) {
	case 0x04:
		n->legacy_mode = true;
		/* Legacy drivers see (and may take) only the low 32 bits. */
		n->guest_features = (uint32_t)v & (uint32_t)n->host_features;
		break;
	case 0x08:
		if (q)
			legacy_set_pfn(q, (uint32_t)v);
		break;
	case 0x0e:
		n->queue_sel = (uint16_t)v;
		break;
	case 0x10:
		handle_queue(n, (uint16_t)v);
		break;
	case 0x12:
		n->legacy_mode = true;
		/* Legacy drivers never write FEATURES_OK: accept what they took. */
		if (v & S_DRIVER_OK)
			v |= S_FEATURES_OK;
		set_status(n, (uint8_t)v);
		break;
	case 0x14:
		n->msix_config = (uint16_t)v;
		break;
	case 0x16:
		if (q)
			q->vector = (uint16_t)v < n->nvectors ? (uint16_t)v : NO_VECTOR;
		break;
	default:
		break;
	}
}

/* --- BAR dispatch ------------------------------------------------------------------ */

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	VNet *n = opaque;
	if (bar == 0)
		return legacy_read(n, (unsigned)off, size);
	if (bar != 4)
		return 0;
	if (off < ISR_OFF)
		return common_read(n, (unsigned)off, size);
	if (off < DEVCFG_OFF)
		return off == ISR_OFF ? isr_read(n) : 0;
	if (off < NOTIFY_OFF)
		return devcfg_read(n, (unsigned)(off - DEVCFG_OFF), size);
	return 0;
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	VNet *n = opaque;
	if (bar == 0) {
		legacy_write(n, (unsigned)off, size, v);
		return;
	}
	if (bar != 4)
		return;
	if (off < ISR_OFF)
		common_write(n, (unsigned)off, size, v);
	else if (off >= DEVCFG_OFF && off < NOTIFY_OFF)
		devcfg_write(n, (unsigned)(off - DEVCFG_OFF), size, v);
	else if (off >= NOTIFY_OFF)
		handle_queue(n, (unsigned)((off - NOTIFY_OFF) / NOTIFY_MULT));
}

static const struct pci_bar_ops vnet_bar_ops = {
    .read = bar_read,
    .write = bar_write,
};

/*
 * The PCI configuration access capability: an access to its data field
 * goes to the modern BAR at the capability's offset, with its length (1,
 * 2 or 4, aligned). As in QEMU the bar field is not looked at.
 */
static bool cfg_cap_window(VNet *n, unsigned offset, unsigned size, uint32_t *off, uint32_t *len)
{
	unsigned data = n->cfg_cap + 16u;
	if (!n->cfg_cap || offset >= data + 4 || offset + size <= data)
		return false;
	const uint8_t *cfg = pci_config(n->nic.pci);
	*len = nic_le32(cfg + n->cfg_cap + 12);
	*off = nic_le32(cfg + n->cfg_cap + 8) & ~(*len - 1);
	return (*len == 1 || *len == 2 || *len == 4) && *off <= BAR4_SIZE - *len;
}

static bool vnet_config_read(void *opaque, unsigned offset, unsigned size, uint32_t *value)
{
	VNet *n = opaque;
	uint32_t off, len;
	(void)value;
	if (cfg_cap_window(n, offset, size, &off, &len)) {
		uint64_t v = bar_read(n, 4, off, len);
		uint8_t *data = pci_config(n->nic.pci) + n->cfg_cap + 16;
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	return false; /* the default read returns the data field filled above */
}

static void vnet_config_written(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	VNet *n = opaque;
	uint32_t off, len;
	(void)value;
	if (!cfg_cap_window(n, offset, size, &off, &len))
		return;
	uint32_t v = nic_le32(pci_config(n->nic.pci) + n->cfg_cap + 16);
	bar_write(n, 4, off, len, len == 4 ? v : v & ((1u << (8 * len)) - 1));
}

/* --- net client hooks ------------------------------------------------------------------ */

static void vnet_link_changed(NetClient *nc)
{
	VNet *n = nc->opaque;
	if (nc->link_down)
		n->net_status &= ~NET_S_LINK_UP;
	else
		n->net_status |= NET_S_LINK_UP;
	if (n->host_features & BIT(F_STATUS))
		config_changed(n);
	if (!nc->link_down)
		for (unsigned i = 0; i < n->max_pairs; i++)
			if (pair_nc(n, i))
				net_client_flush_queue(pair_nc(n, i));
}

static bool vnet_announce(NetClient *nc)
{
	VNet *n = nc->opaque;
	if (!has(n, F_GUEST_ANNOUNCE) || !has(n, F_CTRL_VQ) || !(n->status & S_DRIVER_OK))
		return false;
	/* The guest announces itself (it knows its IPs and VLANs). */
	n->net_status |= NET_S_ANNOUNCE;
	config_changed(n);
	return true;
}

static void vnet_query_rx_filter(NetClient *nc, JsonObject *o)
{
	VNet *n = nc->opaque;
	json_object_set_boolean_member(o, "promiscuous", n->promisc);
	json_object_set_string_member(o, "multicast",
				      n->nomulti    ? "none"
				      : n->allmulti ? "all"
						    : "normal");
	json_object_set_string_member(o, "unicast",
				      n->nouni	  ? "none"
				      : n->alluni ? "all"
						  : "normal");
	bool vlan_filter = has(n, F_CTRL_VLAN);
	json_object_set_string_member(o, "vlan", vlan_filter ? "normal" : "all");
	json_object_set_boolean_member(o, "broadcast-allowed", !n->nobcast);
	json_object_set_boolean_member(o, "multicast-overflow", n->multi_overflow);
	json_object_set_boolean_member(o, "unicast-overflow", n->uni_overflow);
	JsonArray *uni = json_array_new(), *multi = json_array_new(), *vlans = json_array_new();
	char buf[18];
	for (unsigned i = 0; i < n->uni_count; i++) {
		net_format_mac(n->macs[i], buf);
		json_array_add_string_element(uni, buf);
	}
	for (unsigned i = n->uni_count; i < n->uni_count + n->multi_count; i++) {
		net_format_mac(n->macs[i], buf);
		json_array_add_string_element(multi, buf);
	}
	if (vlan_filter)
		for (unsigned v = 0; v < MAX_VLAN; v++)
			if (n->vlans[v >> 5] & (1u << (v & 31)))
				json_array_add_int_element(vlans, v);
	json_object_set_array_member(o, "unicast-table", uni);
	json_object_set_array_member(o, "multicast-table", multi);
	json_object_set_array_member(o, "vlan-table", vlans);
}

static const NetClientOps vnet_net_ops = {
    .receive = vnet_receive,
    .can_receive = vnet_can_receive,
    .link_status_changed = vnet_link_changed,
    .peer_queue_drained = vnet_drained,
    .announce = vnet_announce,
    .query_rx_filter = vnet_query_rx_filter,
};

static bool pair_ops_can_receive(NetClient *nc)
{
	VNetPair *p = nc->opaque;
	return pair_can_receive(p->n, p->index);
}

static ssize_t pair_ops_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	VNetPair *p = nc->opaque;
	return pair_receive(p->n, p->index, iov, iovcnt);
}

static void pair_ops_drained(NetClient *nc)
{
	VNetPair *p = nc->opaque;
	pair_drained(p->n, p->index);
}

static const NetClientOps vnet_pair_ops = {
    .receive = pair_ops_receive,
    .can_receive = pair_ops_can_receive,
    .peer_queue_drained = pair_ops_drained,
};

/* Clients of pairs 1.. peered with the backend's queues 1.. */
static void attach_pairs(VNet *n)
{
	for (unsigned i = 0; i < MAX_QUEUE_PAIRS; i++) {
		n->qp[i].n = n;
		n->qp[i].index = i;
		if (i < n->max_pairs)
			n->qp[i].tx_timer = ml_timer_new(tx_coalesce_due, &n->qp[i]);
	}
	if (!n->nic.nc || !n->nic.peer)
		return;
	for (unsigned i = 1; i < n->backend_pairs; i++) {
		NetClient *peer = net_client_find_queue(n->nic.peer->name, (int)i);
		NetClient *nc = net_nic_new(n->nic.nc->model, n->nic.nc->name, peer,
					    n->nic.nc->macaddr, &vnet_pair_ops, &n->qp[i]);
		nc->queue_index = (int)i;
		n->qp[i].nc = nc;
	}
}

static void vnet_pci_reset(void *opaque)
{
	device_reset(opaque);
}

static void vnet_free(void *opaque)
{
	VNet *n = opaque;
	for (unsigned i = 0; i < MAX_QUEUE_PAIRS; i++)
		if (n->qp[i].tx_timer)
			ml_timer_free(n->qp[i].tx_timer);
	g_free(n);
}

static void vnet_unrealize(void *opaque)
{
	VNet *n = opaque;
	n->unplugged = true;
	for (unsigned i = 1; i < MAX_QUEUE_PAIRS; i++) {
		if (n->qp[i].nc) {
			net_client_free(n->qp[i].nc);
			n->qp[i].nc = NULL;
		}
	}
	nic_detach(&n->nic);
	/* A tx_resume() may be queued on the main loop with a pointer into n;
	 * calls run in order, so freeing through the same queue is safe. */
	ml_call_from_thread(vnet_free, n);
}

static const struct pci_device_ops vnet_pci_ops = {
    .config_written = vnet_config_written,
    .config_read = vnet_config_read,
    .reset = vnet_pci_reset,
    .unrealize = vnet_unrealize,
};

/* --- creation ----------------------------------------------------------------------------- */

static const struct {
	const char *prop;
	int bit;
} feature_props[] = {
    {"csum", F_CSUM},
    {"guest_csum", F_GUEST_CSUM},
    {"ctrl_guest_offloads", F_CTRL_GUEST_OFFLOADS},
    {"guest_tso4", F_GUEST_TSO4},
    {"guest_tso6", F_GUEST_TSO6},
    {"guest_ecn", F_GUEST_ECN},
    {"guest_ufo", F_GUEST_UFO},
    {"host_tso4", F_HOST_TSO4},
    {"host_tso6", F_HOST_TSO6},
    {"host_ecn", F_HOST_ECN},
    {"host_ufo", F_HOST_UFO},
    {"mrg_rxbuf", F_MRG_RXBUF},
    {"status", F_STATUS},
    {"ctrl_vq", F_CTRL_VQ},
    {"ctrl_rx", F_CTRL_RX},
    {"ctrl_vlan", F_CTRL_VLAN},
    {"ctrl_rx_extra", F_CTRL_RX_EXTRA},
    {"guest_announce", F_GUEST_ANNOUNCE},
    {"ctrl_mac_addr", F_CTRL_MAC_ADDR},
    {"indirect_desc", F_INDIRECT_DESC},
    {"event_idx", F_EVENT_IDX},
};

#define FEATURE_PROP(name, desc)                                                                   \
	{                                                                                          \
		name, DEV_PROP_BOOL, "on", desc, 0                                                 \
	}

static const struct dev_prop vnet_props[] = {
    NIC_COMMON_PROPS,
    {"vectors", DEV_PROP_UINT, NULL, "MSI-X vectors (0 = INTx only)", 2 * MAX_QUEUE_PAIRS + 2},
    {"mq", DEV_PROP_BOOL, "off", "multiqueue (queue pairs from the netdev's queues=)", 0},
    {"rx_queue_size", DEV_PROP_UINT, "256", "receive queue size", MAX_QUEUE_SIZE},
    {"tx_queue_size", DEV_PROP_UINT, "256", "transmit queue size", MAX_QUEUE_SIZE},
    {"disable-legacy", DEV_PROP_STR, "auto", "on: modern-only device 1af4:1041", 0},
    {"ioeventfd", DEV_PROP_BOOL, "on", "doorbells through KVM eventfds", 0},
    {"x-tx-coalesce-ns", DEV_PROP_UINT, "25000",
     "while the guest streams, look for its frames this often instead of taking kicks (0 = off)",
     1000000000},
    FEATURE_PROP("csum", "host checksum offload"),
    FEATURE_PROP("guest_csum", "guest checksum offload"),
    FEATURE_PROP("ctrl_guest_offloads", "guest offload control"),
    FEATURE_PROP("guest_tso4", "guest TSOv4"),
    FEATURE_PROP("guest_tso6", "guest TSOv6"),
    FEATURE_PROP("guest_ecn", "guest TSO with ECN"),
    FEATURE_PROP("guest_ufo", "guest UFO"),
    FEATURE_PROP("host_tso4", "host TSOv4"),
    FEATURE_PROP("host_tso6", "host TSOv6"),
    FEATURE_PROP("host_ecn", "host TSO with ECN"),
    FEATURE_PROP("host_ufo", "host UFO"),
    FEATURE_PROP("mrg_rxbuf", "mergeable receive buffers"),
    FEATURE_PROP("status", "link status"),
    FEATURE_PROP("ctrl_vq", "control queue"),
    FEATURE_PROP("ctrl_rx", "receive mode control"),
    FEATURE_PROP("ctrl_vlan", "VLAN filtering"),
    FEATURE_PROP("ctrl_rx_extra", "extra receive modes"),
    FEATURE_PROP("guest_announce", "guest announcements"),
    FEATURE_PROP("ctrl_mac_addr", "MAC address control"),
    FEATURE_PROP("indirect_desc", "indirect descriptors"),
    FEATURE_PROP("event_idx", "event index"),
    {NULL, 0, NULL, NULL, 0},
};

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Types 2 (notify: + multiplier) and 5 (PCI config access: + data) take 20 bytes. */
static int add_vendor_cap(VNet *n, uint8_t type, uint8_t bar, uint32_t off, uint32_t len,
			  GError **err)
{
	uint8_t size = type == 2 || type == 5 ? 20 : 16;
	uint8_t at = pci_add_capability(n->nic.pci, PCI_CAP_ID_VNDR, size, err);
	if (!at)
		return -1;
	uint8_t *cfg = pci_config(n->nic.pci);
	cfg[at + 2] = size;
	cfg[at + 3] = type;
	cfg[at + 4] = bar;
	nic_put_le32(cfg + at + 8, off);
	nic_put_le32(cfg + at + 12, len);
	if (type == 2)
		nic_put_le32(cfg + at + 16, NOTIFY_MULT);
	if (type == 5) {
		/* The driver picks bar, offset and length, then moves data. */
		uint8_t *wm = pci_wmask(n->nic.pci);
		wm[at + 4] = 0xff;
		memset(wm + at + 8, 0xff, 12);
		n->cfg_cap = at;
	}
	return 0;
}

/* QEMU puts each new capability at the head of the list: same order here. */
static void caps_newest_first(struct pci_device *pci)
{
	uint8_t *cfg = pci_config(pci);
	uint8_t prev = 0;
	for (uint8_t p = cfg[PCI_CAPABILITY_LIST], guard = 0; p && guard < 48; guard++) {
		uint8_t next = cfg[p + 1];
		cfg[p + 1] = prev;
		prev = p;
		p = next;
	}
	cfg[PCI_CAPABILITY_LIST] = prev;
}

static unsigned backend_queues(NetClient *peer)
{
	unsigned q = 1;
	if (peer && peer->type != NET_CLIENT_HUBPORT)
		while (q < MAX_QUEUE_PAIRS && net_client_find_queue(peer->name, (int)q))
			q++;
	return q;
}

static int vnet_init(const struct dev_model *model, struct dev_opts *opts, GError **err)
{
	VNet *n = g_new0(VNet, 1);
	if (nic_prepare(&n->nic, model, opts, err) < 0)
		goto fail;
	/* QEMU names a -device NIC's net client after its id (set_link net0) */
	if (!n->nic.name && dev_opts_id(opts))
		n->nic.name = g_strdup(dev_opts_id(opts));
	NicConfig *cfg = dev_opts_extra(opts);
	uint64_t rxq = dev_opts_uint(opts, "rx_queue_size");
	uint64_t txq = dev_opts_uint(opts, "tx_queue_size");
	if (!pow2(rxq) || !pow2(txq) || rxq < 256 || txq < 256) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Invalid rx_queue_size/tx_queue_size (= %u/%u), must be a power of 2 "
			      "between 256 and %d"),
			    (unsigned)rxq, (unsigned)txq, MAX_QUEUE_SIZE);
		goto fail_prepared;
	}
	const char *legacy = dev_opts_str(opts, "disable-legacy");
	bool modern_only = legacy && !strcmp(legacy, "on");
	if (legacy && strcmp(legacy, "on") && strcmp(legacy, "off") && strcmp(legacy, "auto")) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Property 'virtio-net-pci.disable-legacy' doesn't take value '%s'"),
			    legacy);
		goto fail_prepared;
	}
	n->backend_pairs = backend_queues(n->nic.peer);
	if (n->backend_pairs == MAX_QUEUE_PAIRS &&
	    net_client_find_queue(n->nic.peer->name, MAX_QUEUE_PAIRS)) {
		/* A queue without a pair would take flows nobody reads. */
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Invalid number of queue pairs of netdev '%s': virtio-net-pci "
			      "supports at most %d"),
			    n->nic.peer->name, MAX_QUEUE_PAIRS);
		goto fail_prepared;
	}
	n->max_pairs = dev_opts_bool(opts, "mq") ? n->backend_pairs : 1;
	n->pairs = 1;
	n->tx_coalesce_ns = (int64_t)dev_opts_uint(opts, "x-tx-coalesce-ns");
	unsigned default_vectors = 2 * n->max_pairs + 2;
	if (cfg && cfg->vectors >= 0)
		n->nvectors = (unsigned)cfg->vectors;
	else if (dev_opts_is_set(opts, "vectors"))
		n->nvectors = (unsigned)dev_opts_uint(opts, "vectors");
	else
		n->nvectors = default_vectors;
	if (n->nvectors > 2 * MAX_QUEUE_PAIRS + 2) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Property 'virtio-net-pci.vectors': at most %d vectors"),
			    2 * MAX_QUEUE_PAIRS + 2);
		goto fail_prepared;
	}

	n->host_features = BIT(F_MAC) | BIT(F_VERSION_1) | BIT(F_NOTIFY_ON_EMPTY) |
			   BIT(F_ANY_LAYOUT) | BIT(F_RING_RESET);
	for (size_t i = 0; i < G_N_ELEMENTS(feature_props); i++)
		if (dev_opts_bool(opts, feature_props[i].prop))
			n->host_features |= BIT(feature_props[i].bit);
	if (n->max_pairs > 1)
		n->host_features |= BIT(F_MQ);
	/* Offloads need a peer that carries the virtio header (QEMU drops
	 * them the same way for other backends, and keeps offering
	 * CTRL_GUEST_OFFLOADS: the driver can only turn none on). */
	if (!n->nic.peer || !n->nic.peer->ops || !n->nic.peer->ops->has_vnet_hdr ||
	    !n->nic.peer->ops->has_vnet_hdr(n->nic.peer))
		n->host_features &=
		    ~(BIT(F_CSUM) | BIT(F_GUEST_CSUM) | BIT(F_GUEST_TSO4) | BIT(F_GUEST_TSO6) |
		      BIT(F_GUEST_ECN) | BIT(F_GUEST_UFO) | BIT(F_HOST_TSO4) | BIT(F_HOST_TSO6) |
		      BIT(F_HOST_ECN) | BIT(F_HOST_UFO));
	if (!(n->host_features & BIT(F_CTRL_VQ)))
		n->host_features &= ~(BIT(F_CTRL_RX) | BIT(F_CTRL_VLAN) | BIT(F_CTRL_RX_EXTRA) |
				      BIT(F_GUEST_ANNOUNCE) | BIT(F_CTRL_MAC_ADDR) | BIT(F_MQ) |
				      BIT(F_CTRL_GUEST_OFFLOADS));
	n->nqueues = 2 * n->max_pairs + ((n->host_features & BIT(F_CTRL_VQ)) ? 1 : 0);
	for (unsigned i = 0; i < n->nqueues; i++) {
		n->vq[i].max = (i == n->nqueues - 1 && (n->host_features & BIT(F_CTRL_VQ)))
				   ? 64
				   : (uint16_t)(i % 2 ? txq : rxq);
		n->notifiers[i] = (Notifier){n, (int)i};
	}

	struct pci_ident ident = {
	    .vendor_id = 0x1af4,
	    .device_id = modern_only ? 0x1041 : 0x1000,
	    .subsys_vendor_id = 0x1af4,
	    .subsys_id = modern_only ? 0x1100 : 0x0001,
	    .class_code = 0x020000,
	    .revision = modern_only ? 1 : 0,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&n->nic, opts, &ident, &vnet_pci_ops, n, err))
		goto fail_prepared;
	uint64_t legacy_size =
	    (n->host_features & BIT(F_MQ)) ? 2 * LEGACY_BAR_SIZE : LEGACY_BAR_SIZE;
	if ((!modern_only &&
	     pci_register_bar(n->nic.pci, 0, PCI_BAR_IO, legacy_size, &vnet_bar_ops, err) < 0) ||
	    (n->nvectors && pci_register_bar(n->nic.pci, 1, PCI_BAR_MEM32, MSIX_BAR_SIZE,
					     &vnet_bar_ops, err) < 0) ||
	    pci_register_bar(n->nic.pci, 4, PCI_BAR_MEM64, BAR4_SIZE, &vnet_bar_ops, err) < 0)
		goto fail_prepared;
	/* QEMU's BAR4 is prefetchable (the bit is read-only to the guest). */
	pci_config(n->nic.pci)[PCI_BASE_ADDRESS_0 + 4 * 4] |= 0x08;
	/* One 4 KiB page per structure, as QEMU describes them. */
	if (add_vendor_cap(n, 1, 4, COMMON_OFF, 0x1000, err) < 0 ||
	    add_vendor_cap(n, 3, 4, ISR_OFF, 0x1000, err) < 0 ||
	    add_vendor_cap(n, 4, 4, DEVCFG_OFF, 0x1000, err) < 0 ||
	    add_vendor_cap(n, 2, 4, NOTIFY_OFF, 0x1000, err) < 0 ||
	    add_vendor_cap(n, 5, 0, 0, 0, err) < 0)
		goto fail_prepared;
	if (n->nvectors && pci_msix_init(n->nic.pci, n->nvectors, 1, 0, 1, 0x800, err) < 0)
		goto fail_prepared;
	caps_newest_first(n->nic.pci);
	if (dev_opts_bool(opts, "ioeventfd")) {
		for (unsigned i = 0; i < n->nqueues; i++) {
			GError *e = NULL;
			/* Without the fast path the BAR write handler does it. */
			if (pci_ioeventfd_add(n->nic.pci, 4, NOTIFY_OFF + NOTIFY_MULT * i, 2, false,
					      0, ioevent_cb, &n->notifiers[i], &e) < 0)
				g_clear_error(&e);
		}
	}
	n->net_status = NET_S_LINK_UP;
	nic_attach(&n->nic, &vnet_net_ops, n);
	attach_pairs(n);
	/* QEMU's events name the virtio device under its proxy's QOM path. */
	if (n->nic.nc && dev_opts_id(opts))
		n->nic.nc->qom_path =
		    g_strdup_printf("/machine/peripheral/%s/virtio-backend", dev_opts_id(opts));
	if (n->nic.nc->link_down)
		n->net_status &= ~NET_S_LINK_UP;
	device_reset(n);
	return 0;
fail_prepared:
	nic_abandon(&n->nic);
fail:
	g_free(n);
	return -1;
}

static struct dev_model vnet_model = {
    .name = "virtio-net-pci",
    .alias = "virtio",
    .bus = "PCI",
    .category = "Network devices",
    .desc = "virtio network device (transitional)",
    .props = vnet_props,
    .init = vnet_init,
};
NIC_MODEL_REGISTER(vnet_model)
