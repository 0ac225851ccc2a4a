// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net over the modern (1.0) virtio-pci transport, polled.
 *
 * The transport is found through vendor capabilities (common, notify and
 * device configuration, all in memory BARs), so every register access is
 * MMIO: the slow port-I/O trap path is never used after PCI probing. Two
 * split virtqueues: receive (0), pre-filled with buffers, and transmit (1).
 * Each buffer holds the 12-byte virtio_net_hdr followed by the frame.
 */
#include "arch.h"

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

#define VIRTIO_NET_F_MAC    (1ull << 5)
#define VIRTIO_NET_F_STATUS (1ull << 16)
#define VIRTIO_F_VERSION_1  (1ull << 32)

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_MSI_NO_VECTOR 0xffff

#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_USED_F_NO_NOTIFY 1

#define NET_HDR_LEN 12
#define BUF_SIZE    2048
#define FRAME_MAX   1514
#define QUEUE_MAX   128

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

static void reclaim_tx(struct virtio_net *vn)
{
	struct virtq *q = &vn->tx;

	while (q->last_used != used_idx(q)) {
		uint32_t id = used_elem(q, q->last_used)->id;
		q->last_used++;
		if (id < q->size && q->nfree < q->size)
			q->free_ids[q->nfree++] = (uint16_t)id;
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
	q->desc[id].len = (uint32_t)(NET_HDR_LEN + len);
	q->desc[id].flags = 0;
	publish(q, id);
	kick(q);
	nif->tx_frames++;
	return 0;
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
		if (len >= NET_HDR_LEN && len <= BUF_SIZE && len - NET_HDR_LEN <= cap) {
			n = len - NET_HDR_LEN;
			memcpy(out, q->bufs + (size_t)id * BUF_SIZE + NET_HDR_LEN, n);
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
	vn->features = offered & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS);
	mmio_write32(c + VC_DRIVER_FEATURE_SELECT, 0);
	mmio_write32(c + VC_DRIVER_FEATURE, (uint32_t)vn->features);
	mmio_write32(c + VC_DRIVER_FEATURE_SELECT, 1);
	mmio_write32(c + VC_DRIVER_FEATURE, (uint32_t)(vn->features >> 32));
	uint8_t status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
	mmio_write8(c + VC_DEVICE_STATUS, status);
	if (!(mmio_read8(c + VC_DEVICE_STATUS) & STATUS_FEATURES_OK))
		return fail(vn, "device refused our features");

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
