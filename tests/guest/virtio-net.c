// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net over the modern (1.0) virtio-pci transport, polled.
 *
 * The transport is found through vendor capabilities (common, notify and
 * device configuration, all in memory BARs), so every register access is
 * MMIO: the slow port-I/O trap path is never used after PCI probing. Two
 * split virtqueues: receive (0), pre-filled with buffers, and transmit (1).
 * Each buffer holds the 12-byte virtio_net_hdr followed by the frame.
 *
 * Offloads, when the device offers them (a backend that carries the
 * virtio header, such as a tap opened with vnet_hdr): checksum (CSUM) and
 * TCPv4 segmentation (HOST_TSO4) on transmit, used by the offload-tso
 * scenario through virtio_net_tx_offload(); GUEST_CSUM on receive, where
 * a frame flagged NEEDS_CSUM gets its checksum completed here, so the
 * stack above sees ordinary frames. GUEST_TSO4 is not taken: it would
 * need 64 KiB receive buffers, and receive frames stay at most 1514 bytes.
 */
#include "arch.h"
#include "net.h"

#define PCI_CAP_VENDOR 0x09

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_DEVICE 4

/* Common configuration registers. */
#define VC_DEVICE_FEATURE_SELECT 0x00
#define VC_DEVICE_FEATURE	 0x04
#define VC_DRIVER_FEATURE_SELECT 0x08
#define VC_DRIVER_FEATURE	 0x0c
#define VC_MSIX_CONFIG		 0x10
#define VC_NUM_QUEUES		 0x12
#define VC_DEVICE_STATUS	 0x14
#define VC_QUEUE_SELECT		 0x16
#define VC_QUEUE_SIZE		 0x18
#define VC_QUEUE_MSIX_VECTOR	 0x1a
#define VC_QUEUE_ENABLE		 0x1c
#define VC_QUEUE_NOTIFY_OFF	 0x1e
#define VC_QUEUE_DESC		 0x20
#define VC_QUEUE_DRIVER		 0x28
#define VC_QUEUE_DEVICE		 0x30

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER	   2
#define STATUS_DRIVER_OK   4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED	   0x80

#define VIRTIO_NET_F_CSUM	(1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MAC	(1ull << 5)
#define VIRTIO_NET_F_HOST_TSO4	(1ull << 11)
#define VIRTIO_NET_F_STATUS	(1ull << 16)
#define VIRTIO_F_VERSION_1	(1ull << 32)

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_MSI_NO_VECTOR 0xffff

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_USED_F_NO_NOTIFY 1

/* struct virtio_net_hdr (with num_buffers: VERSION_1). */
#define NET_HDR_LEN	     12
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_GSO_NONE     0
#define NET_HDR_GSO_TCPV4    1
#define GSO_PIECE	     4096 /* payload bytes per descriptor, as page frags */
#define BUF_SIZE	     2048
#define FRAME_MAX	     1514
#define QUEUE_MAX	     128

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq {
	uint16_t index, size;
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;	  /* flags, idx, ring[size] of used_elem */
	uint16_t avail_idx, last_used;
	uintptr_t notify;
	uint8_t *bufs; /* size * BUF_SIZE */
	uint16_t free_ids[QUEUE_MAX];
	uint16_t nfree;
	/* The driver's own record of each chain it published (head: length;
	 * every member: the next one), as Linux keeps desc_extra: the shared
	 * descriptor table is readable by the device and is not trusted. */
	uint16_t chain_len[QUEUE_MAX];
	uint16_t chain_next[QUEUE_MAX];
};

struct virtio_net {
	struct netif nif;
	uintptr_t common, device, notify_base;
	uint32_t notify_mult;
	uint64_t features;
	struct virtq rx, tx;
};

static uint16_t used_idx(const struct virtq *q)
{
	return *(volatile uint16_t *)(q->used + 2);
}

static volatile struct virtq_used_elem *used_elem(const struct virtq *q, uint16_t i)
{
	return (volatile struct virtq_used_elem *)(q->used + 4 + 8 * (i % q->size));
}

static void kick(struct virtq *q)
{
	mb(); /* ring updates visible before we read the device's flags */
	if (!(*(volatile uint16_t *)q->used & VIRTQ_USED_F_NO_NOTIFY))
		mmio_write16(q->notify, q->index);
}

static void publish(struct virtq *q, uint16_t id)
{
	q->avail[2 + q->avail_idx % q->size] = id;
	barrier(); /* the ring entry before the index (x86 keeps store order) */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
}

static bool setup_queue(struct virtio_net *vn, struct virtq *q, uint16_t index)
{
	uintptr_t c = vn->common;

	mmio_write16(c + VC_QUEUE_SELECT, index);
	uint16_t max = mmio_read16(c + VC_QUEUE_SIZE);
	if (!max) {
		kprintf("virtio-net: queue %u missing\n", index);
		return false;
	}
	uint16_t size = 1;
	while (size * 2 <= max && size * 2 <= QUEUE_MAX)
		size *= 2;

	q->index = index;
	q->size = size;
	q->desc = dma_alloc(16u * size, 4096);
	q->avail = dma_alloc(6u + 2u * size, 4096);
	q->used = dma_alloc(6u + 8u * size, 4096);
	q->bufs = dma_alloc((size_t)size * BUF_SIZE, 4096);
	if (!q->desc || !q->avail || !q->used || !q->bufs) {
		kprintf("virtio-net: out of memory for queue %u\n", index);
		return false;
	}
	for (uint16_t i = 0; i < size; i++) {
		q->desc[i].addr = (uintptr_t)(q->bufs + (size_t)i * BUF_SIZE);
		q->free_ids[i] = i;
	}
	q->nfree = size;

	mmio_write16(c + VC_QUEUE_SIZE, size);
	mmio_write16(c + VC_QUEUE_MSIX_VECTOR, VIRTIO_MSI_NO_VECTOR);
	/* 64-bit fields as two 32-bit writes, low half first: the transport
	 * allows it and not every device model takes 8-byte accesses. */
	mmio_write32(c + VC_QUEUE_DESC, (uint32_t)(uintptr_t)q->desc);
	mmio_write32(c + VC_QUEUE_DESC + 4, 0);
	mmio_write32(c + VC_QUEUE_DRIVER, (uint32_t)(uintptr_t)q->avail);
	mmio_write32(c + VC_QUEUE_DRIVER + 4, 0);
	mmio_write32(c + VC_QUEUE_DEVICE, (uint32_t)(uintptr_t)q->used);
	mmio_write32(c + VC_QUEUE_DEVICE + 4, 0);
	q->notify =
	    vn->notify_base + (uintptr_t)mmio_read16(c + VC_QUEUE_NOTIFY_OFF) * vn->notify_mult;
	mmio_write16(c + VC_QUEUE_ENABLE, 1);
	return true;
}

/* Takes back every descriptor of the chains the device is done with. */
static void reclaim_tx(struct virtio_net *vn)
{
	struct virtq *q = &vn->tx;

	while (q->last_used != used_idx(q)) {
		uint32_t id = used_elem(q, q->last_used)->id;
		q->last_used++;
		if (id >= q->size)
			continue;
		uint16_t len = q->chain_len[id];
		q->chain_len[id] = 0; /* a head reported twice frees nothing twice */
		for (uint16_t n = 0; n < len && q->nfree < q->size; n++) {
			q->free_ids[q->nfree++] = (uint16_t)id;
			id = q->chain_next[id];
		}
	}
}

static int vn_tx(struct netif *nif, const void *frame, size_t len)
{
	struct virtio_net *vn = nif->priv;
	struct virtq *q = &vn->tx;

	if (len > FRAME_MAX)
		return -1;
	reclaim_tx(vn);
	if (!q->nfree)
		return -1;
	uint16_t id = q->free_ids[--q->nfree];
	uint8_t *buf = q->bufs + (size_t)id * BUF_SIZE;
	memset(buf, 0, NET_HDR_LEN);
	memcpy(buf + NET_HDR_LEN, frame, len);
	q->desc[id].addr = (uintptr_t)buf; /* may have held a payload piece */
	q->desc[id].len = (uint32_t)(NET_HDR_LEN + len);
	q->desc[id].flags = 0;
	q->chain_len[id] = 1;
	publish(q, id);
	kick(q);
	nif->tx_frames++;
	return 0;
}

int virtio_net_tx_offload(struct netif *nif, const uint8_t *hdr, size_t hlen,
			  const uint8_t *payload, size_t plen, size_t csum_start,
			  size_t csum_offset, uint16_t gso_size)
{
	if (nif->tx != vn_tx)
		return -1;
	struct virtio_net *vn = nif->priv;
	struct virtq *q = &vn->tx;
	uint64_t need = VIRTIO_NET_F_CSUM | (gso_size ? VIRTIO_NET_F_HOST_TSO4 : 0);
	/* An IPv4 datagram holds at most 65535 bytes, the GSO frame too. */
	size_t max = gso_size ? ETH_HLEN + 65535 : FRAME_MAX;
	unsigned pieces = 1 + (unsigned)((plen + GSO_PIECE - 1) / GSO_PIECE);
	if ((vn->features & need) != need || hlen < ETH_HLEN || hlen > BUF_SIZE - NET_HDR_LEN ||
	    hlen + plen > max || csum_start + csum_offset + 2 > hlen || pieces > q->size ||
	    (gso_size && plen <= gso_size))
		return -1;
	reclaim_tx(vn);
	if (q->nfree < pieces)
		return -1;

	/* virtio_net_hdr and the protocol headers in a ring buffer, the
	 * payload straight from the caller's memory, a page per descriptor. */
	uint16_t head = q->free_ids[--q->nfree], id = head;
	uint8_t *buf = q->bufs + (size_t)head * BUF_SIZE;
	memset(buf, 0, NET_HDR_LEN);
	buf[0] = NET_HDR_F_NEEDS_CSUM;
	buf[1] = gso_size ? NET_HDR_GSO_TCPV4 : NET_HDR_GSO_NONE;
	*(uint16_t *)(buf + 2) = (uint16_t)hlen; /* little endian, as the guest */
	*(uint16_t *)(buf + 4) = gso_size;
	*(uint16_t *)(buf + 6) = (uint16_t)csum_start;
	*(uint16_t *)(buf + 8) = (uint16_t)csum_offset;
	memcpy(buf + NET_HDR_LEN, hdr, hlen);
	q->desc[id].addr = (uintptr_t)buf;
	q->desc[id].len = (uint32_t)(NET_HDR_LEN + hlen);
	q->desc[id].flags = 0;
	q->chain_len[head] = (uint16_t)pieces;
	for (size_t off = 0; off < plen; off += GSO_PIECE) {
		uint16_t next = q->free_ids[--q->nfree];
		q->desc[id].flags = VIRTQ_DESC_F_NEXT;
		q->desc[id].next = next;
		q->chain_next[id] = next;
		id = next;
		q->desc[id].addr = (uintptr_t)(payload + off);
		q->desc[id].len = (uint32_t)(plen - off < GSO_PIECE ? plen - off : GSO_PIECE);
		q->desc[id].flags = 0;
	}
	publish(q, head);
	kick(q);
	nif->tx_frames++;

	/* The payload is the caller's memory: hold on until the device has
	 * read it; the descriptors then go back to their ring buffers. */
	uint64_t deadline = now_us() + 1000000;
	while (used_idx(q) != q->avail_idx) {
		if (now_us() > deadline)
			return -1;
	}
	reclaim_tx(vn);
	return 0;
}

unsigned virtio_net_tx_offloads(struct netif *nif)
{
	if (nif->tx != vn_tx)
		return 0;
	struct virtio_net *vn = nif->priv;
	unsigned o = 0;
	if (vn->features & VIRTIO_NET_F_CSUM)
		o |= VIRTIO_NET_OFFLOAD_CSUM;
	if (vn->features & VIRTIO_NET_F_HOST_TSO4)
		o |= VIRTIO_NET_OFFLOAD_TSO4;
	return o;
}

/* GUEST_CSUM: a frame flagged NEEDS_CSUM carries only the pseudo-header
 * sum at csum_start + csum_offset; complete it as the device would have
 * (a UDP result of 0 goes out as 0xffff). False when the offsets do not
 * fit the frame. */
static bool complete_csum(const uint8_t *vhdr, uint8_t *frame, size_t len)
{
	if (!(vhdr[0] & NET_HDR_F_NEEDS_CSUM))
		return true;
	static bool seen;
	size_t start = *(const uint16_t *)(vhdr + 6), off = *(const uint16_t *)(vhdr + 8);
	if (!seen) {
		seen = true; /* once: shows GUEST_CSUM at work */
		kprintf("virtio-net: NEEDS_CSUM frame, csum_start %lu csum_offset %lu\n",
			(unsigned long)start, (unsigned long)off);
	}
	if (start < ETH_HLEN || start + off + 2 > len)
		return false;
	uint16_t sum = csum_fold(csum_add(0, frame + start, len - start));
	put_be16(frame + start + off, sum ? sum : 0xffff);
	return true;
}

static size_t vn_rx(struct netif *nif, void *out, size_t cap)
{
	struct virtio_net *vn = nif->priv;
	struct virtq *q = &vn->rx;

	while (q->last_used != used_idx(q)) {
		barrier();
		volatile struct virtq_used_elem *e = used_elem(q, q->last_used);
		uint32_t id = e->id, len = e->len;
		q->last_used++;
		if (id >= q->size) {
			nif->rx_dropped++; /* a device bug: nothing to give back */
			continue;
		}
		size_t n = 0;
		const uint8_t *buf = q->bufs + (size_t)id * BUF_SIZE;
		if (len >= NET_HDR_LEN && len <= BUF_SIZE && len - NET_HDR_LEN <= cap) {
			n = len - NET_HDR_LEN;
			memcpy(out, buf + NET_HDR_LEN, n);
			if ((vn->features & VIRTIO_NET_F_GUEST_CSUM) && !complete_csum(buf, out, n))
				n = 0;
		}
		publish(q, (uint16_t)id);
		kick(q);
		if (n) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
	return 0;
}

static bool vn_link_up(struct netif *nif)
{
	struct virtio_net *vn = nif->priv;

	if (!(vn->features & VIRTIO_NET_F_STATUS))
		return true;
	return mmio_read16(vn->device + 6) & VIRTIO_NET_S_LINK_UP;
}

/* Finds the memory-BAR address a virtio capability points at. */
static uintptr_t cap_addr(struct pci_dev *d, uint8_t cap, uint32_t *len)
{
	uint8_t bar = pci_read8(d, cap + 4);
	uint32_t offset = pci_read32(d, cap + 8);

	*len = pci_read32(d, cap + 12);
	if (bar > 5 || (d->bar[bar].kind != PCI_BAR_MEM32 && d->bar[bar].kind != PCI_BAR_MEM64))
		return 0;
	if (!d->bar[bar].addr || (uint64_t)offset + *len > d->bar[bar].size)
		return 0;
	return (uintptr_t)(d->bar[bar].addr + offset);
}

static struct netif *fail(struct virtio_net *vn, const char *why)
{
	kprintf("virtio-net: %s\n", why);
	if (vn->common)
		mmio_write8(vn->common + VC_DEVICE_STATUS, STATUS_FAILED);
	return NULL;
}

struct netif *virtio_net_probe(struct pci_dev *d)
{
	static struct virtio_net vn_store;
	struct virtio_net *vn = &vn_store;
	uint32_t len;

	memset(vn, 0, sizeof(*vn));
	for (uint8_t cap = pci_find_cap(d, PCI_CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(d, PCI_CAP_VENDOR, cap)) {
		uint8_t type = pci_read8(d, cap + 3);
		if (type == VIRTIO_PCI_CAP_COMMON && !vn->common) {
			vn->common = cap_addr(d, cap, &len);
			if (len < 0x38)
				vn->common = 0;
		} else if (type == VIRTIO_PCI_CAP_NOTIFY && !vn->notify_base) {
			vn->notify_base = cap_addr(d, cap, &len);
			vn->notify_mult = pci_read32(d, cap + 16);
		} else if (type == VIRTIO_PCI_CAP_DEVICE && !vn->device) {
			vn->device = cap_addr(d, cap, &len);
			if (len < 8)
				vn->device = 0;
		}
	}
	if (!vn->common || !vn->notify_base || !vn->device)
		return fail(vn, "no usable modern virtio-pci capabilities");
	pci_enable(d);

	uintptr_t c = vn->common;
	mmio_write8(c + VC_DEVICE_STATUS, 0);
	uint64_t deadline = now_us() + 1000000;
	while (mmio_read8(c + VC_DEVICE_STATUS) != 0) {
		if (now_us() > deadline)
			return fail(vn, "device does not reset");
	}
	mmio_write8(c + VC_DEVICE_STATUS, STATUS_ACKNOWLEDGE);
	mmio_write8(c + VC_DEVICE_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);

	mmio_write32(c + VC_DEVICE_FEATURE_SELECT, 0);
	uint64_t offered = mmio_read32(c + VC_DEVICE_FEATURE);
	mmio_write32(c + VC_DEVICE_FEATURE_SELECT, 1);
	offered |= (uint64_t)mmio_read32(c + VC_DEVICE_FEATURE) << 32;
	if (!(offered & VIRTIO_F_VERSION_1))
		return fail(vn, "device does not offer VIRTIO_F_VERSION_1");
	vn->features = offered & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
				  VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM);
	/* Segmentation needs the checksum offload (a device must not offer
	 * one without the other; take neither then). */
	if (vn->features & VIRTIO_NET_F_CSUM)
		vn->features |= offered & VIRTIO_NET_F_HOST_TSO4;
	mmio_write32(c + VC_DRIVER_FEATURE_SELECT, 0);
	mmio_write32(c + VC_DRIVER_FEATURE, (uint32_t)vn->features);
	mmio_write32(c + VC_DRIVER_FEATURE_SELECT, 1);
	mmio_write32(c + VC_DRIVER_FEATURE, (uint32_t)(vn->features >> 32));
	uint8_t status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
	mmio_write8(c + VC_DEVICE_STATUS, status);
	if (!(mmio_read8(c + VC_DEVICE_STATUS) & STATUS_FEATURES_OK))
		return fail(vn, "device refused our features");
	if (vn->features & (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM))
		kprintf("virtio-net: offloads%s%s%s\n",
			vn->features & VIRTIO_NET_F_CSUM ? " csum" : "",
			vn->features & VIRTIO_NET_F_HOST_TSO4 ? " host_tso4" : "",
			vn->features & VIRTIO_NET_F_GUEST_CSUM ? " guest_csum" : "");

	mmio_write16(c + VC_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	if (mmio_read16(c + VC_NUM_QUEUES) < 2)
		return fail(vn, "fewer than two queues");
	if (!setup_queue(vn, &vn->rx, 0) || !setup_queue(vn, &vn->tx, 1))
		return fail(vn, "queue setup failed");

	if (vn->features & VIRTIO_NET_F_MAC) {
		for (int i = 0; i < 6; i++)
			vn->nif.mac[i] = mmio_read8(vn->device + i);
	} else {
		/* Locally administered, unicast, varying per boot. */
		uint64_t r = rdtsc();
		vn->nif.mac[0] = 0x02;
		for (int i = 1; i < 6; i++)
			vn->nif.mac[i] = (uint8_t)(r >> (8 * i));
	}

	/* Every receive buffer goes to the device before DRIVER_OK. */
	struct virtq *rq = &vn->rx;
	while (rq->nfree) {
		uint16_t id = rq->free_ids[--rq->nfree];
		rq->desc[id].len = BUF_SIZE;
		rq->desc[id].flags = VIRTQ_DESC_F_WRITE;
		publish(rq, id);
	}
	mmio_write8(c + VC_DEVICE_STATUS, status | STATUS_DRIVER_OK);
	kick(rq);

	vn->nif.name = "virtio-net";
	vn->nif.priv = vn;
	vn->nif.tx = vn_tx;
	vn->nif.rx = vn_rx;
	vn->nif.link_up = vn_link_up;
	return &vn->nif;
}
