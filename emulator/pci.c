/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pci.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "kvm.h"
#include "machine.h"
#include "memory.h"

#define CONFIG_ADDR_PORT 0xcf8
#define CONFIG_DATA_PORT 0xcfc
#define PCI_IO_BASE	 0xc000
#define PCI_IO_END	 0x10000
#define MSIX_ENTRY_SIZE	 16

/* PIRQ A-D to IOAPIC input, as SeaBIOS programs PIIX3 for QEMU's pc. */
static const uint8_t pirq_gsi[4] = {10, 10, 11, 11};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;
	bool registered;
	const struct pci_bar_ops *ops;
	struct io_region *region;
	uint64_t mapped_addr; /* 0 = not mapped */
	struct pci_device *dev;
	int index;
};

struct ioeventfd {
	int bar;
	uint64_t offset;
	unsigned len;
	bool datamatch;
	uint64_t data;
	int fd;
	ml_fd_cb cb;
	void *opaque;
	uint64_t kvm_addr; /* where it is registered with KVM, 0 = nowhere */
	struct ioeventfd *next;
};

/*
 * An MSI or MSI-X vector delivered through irqfd: while the vector is
 * enabled and unmasked it owns a GSI whose KVM route carries its
 * address/data, and an eventfd bound to that GSI; raising the interrupt is a
 * write to the eventfd. gsi < 0: no route (masked, disabled, qtest, no
 * irqfd on the host or the table is full), delivery uses irq_msi().
 */
struct msi_vec {
	int gsi;
	int fd;
};

struct pci_device {
	const struct dev_model *model;
	char *id;
	uint8_t devfn;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];
	uint8_t w1cmask[PCI_CONFIG_SIZE];
	uint8_t cap_end; /* next free byte for capabilities */
	const struct pci_device_ops *ops;
	void *opaque;
	struct pci_bar bars[PCI_NUM_BARS];
	int intx_level;
	bool intx_asserted; /* counted in gsi_count */
	uint8_t msi_cap;
	unsigned msi_nvec;
	struct msi_vec msi_vecs[32];
	uint8_t msix_cap;
	unsigned msix_nvec;
	int msix_table_bar, msix_pba_bar;
	uint64_t msix_table_off, msix_pba_off;
	uint8_t *msix_table;
	uint8_t *msix_pba;
	struct msi_vec *msix_vecs; /* msix_nvec of them */
	struct ioeventfd *ioevs;
	struct dev_instance *instance;
	bool fresh;	/* created by device_add, BARs not placed yet */
	char *qom_path; /* see pci_device_qom_path() */
};

static struct pci_device *bus[256];
static uint32_t config_address;
/* Set once the machine's BARs are assigned: later devices are hot-plugged. */
static bool resources_assigned;
static unsigned anon_devices;
static unsigned gsi_count[24];

static inline uint16_t cfg16(const struct pci_device *d, unsigned off)
{
	return d->config[off] | (d->config[off + 1] << 8);
}

static inline uint32_t cfg32(const struct pci_device *d, unsigned off)
{
	return cfg16(d, off) | ((uint32_t)cfg16(d, off + 2) << 16);
}

static inline void set16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void set32(uint8_t *p, uint32_t v)
{
	set16(p, v);
	set16(p + 2, v >> 16);
}

uint8_t *pci_config(struct pci_device *d)
{
	return d->config;
}

uint8_t *pci_wmask(struct pci_device *d)
{
	return d->wmask;
}

uint8_t *pci_w1cmask(struct pci_device *d)
{
	return d->w1cmask;
}

uint8_t pci_devfn(struct pci_device *d)
{
	return d->devfn;
}

const char *pci_device_id(struct pci_device *d)
{
	return d->id;
}

void *pci_device_opaque(struct pci_device *d)
{
	return d->opaque;
}

const struct dev_model *pci_device_model(struct pci_device *d)
{
	return d->model;
}

struct pci_device *pci_device_first(void)
{
	for (int i = 0; i < 256; i++)
		if (bus[i])
			return bus[i];
	return NULL;
}

struct pci_device *pci_device_next(struct pci_device *d)
{
	for (int i = d->devfn + 1; i < 256; i++)
		if (bus[i])
			return bus[i];
	return NULL;
}

/* ---- INTx ---- */

static unsigned intx_gsi(struct pci_device *d)
{
	unsigned pin = d->config[PCI_INTERRUPT_PIN];
	unsigned slot = d->devfn >> 3;
	return pirq_gsi[(pin - 1 + slot - 1) & 3];
}

static void intx_update(struct pci_device *d)
{
	if (!d->config[PCI_INTERRUPT_PIN])
		return;
	bool assert = d->intx_level && !(cfg16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
		      !pci_msix_enabled(d) && !pci_msi_enabled(d);
	if (assert == d->intx_asserted)
		return;
	unsigned gsi = intx_gsi(d);
	d->intx_asserted = assert;
	if (assert) {
		if (gsi_count[gsi]++ == 0)
			irq_set_level(gsi, 1);
	} else {
		if (--gsi_count[gsi] == 0)
			irq_set_level(gsi, 0);
	}
}

void pci_set_irq(struct pci_device *d, int level)
{
	d->intx_level = level != 0;
	if (d->intx_level)
		d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	intx_update(d);
}

/* ---- BAR mapping ---- */

static uint64_t bar_config_addr(struct pci_device *d, int i)
{
	struct pci_bar *b = &d->bars[i];
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
	uint64_t a = cfg32(d, off);
	if (b->type == PCI_BAR_IO)
		return a & ~0x3ULL;
	a &= ~0xfULL;
	if (b->type == PCI_BAR_MEM64)
		a |= (uint64_t)cfg32(d, off + 4) << 32;
	return a;
}

/* Where the BAR decodes now, or 0. */
static uint64_t bar_effective_addr(struct pci_device *d, int i)
{
	struct pci_bar *b = &d->bars[i];
	uint16_t cmd = cfg16(d, PCI_COMMAND);
	uint64_t a = bar_config_addr(d, i);
	if (a == 0)
		return 0;
	if (b->type == PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO) || a >= PCI_IO_END || b->size > PCI_IO_END - a)
			return 0;
		return a;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return 0;
	uint64_t limit = b->type == PCI_BAR_MEM64 ? (1ULL << 52) : (1ULL << 32);
	if (a >= limit || b->size > limit - a)
		return 0;
	/* An all-ones write (sizing) leaves the BAR at the top of the space:
	 * not a real mapping. */
	if (a == (limit - b->size))
		return 0;
	return a;
}

static void ioevent_update(struct pci_device *d, struct ioeventfd *e)
{
	struct pci_bar *b = &d->bars[e->bar];
	uint64_t want = b->mapped_addr ? b->mapped_addr + e->offset : 0;
	if (want == e->kvm_addr || machine_cfg.qtest)
		return;
	if (e->kvm_addr)
		kvm_ioeventfd(e->kvm_addr, e->len, e->datamatch, e->data, e->fd, true);
	e->kvm_addr = 0;
	if (want && kvm_ioeventfd(want, e->len, e->datamatch, e->data, e->fd, false) == 0)
		e->kvm_addr = want;
}

static void bars_update(struct pci_device *d)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		if (!b->registered)
			continue;
		uint64_t a = bar_effective_addr(d, i);
		if (a == b->mapped_addr)
			continue;
		b->mapped_addr = a;
		io_region_set(b->region, a, a != 0);
		for (struct ioeventfd *e = d->ioevs; e; e = e->next)
			if (e->bar == i)
				ioevent_update(d, e);
	}
}

uint64_t pci_bar_address(struct pci_device *d, int bar)
{
	if (bar < 0 || bar >= PCI_NUM_BARS || !d->bars[bar].registered)
		return 0;
	return d->bars[bar].mapped_addr;
}

/* ---- MSI/MSI-X routes ---- */

static void msi_vec_init(struct msi_vec *v)
{
	v->gsi = -1;
	v->fd = -1;
}

static void msi_vec_release(struct msi_vec *v)
{
	if (v->gsi < 0)
		return;
	kvm_irqfd_bind(v->fd, v->gsi, true);
	kvm_msi_route_free(v->gsi);
	close(v->fd);
	msi_vec_init(v);
}

static void msi_vec_deliver(struct msi_vec *v, uint64_t addr, uint32_t data)
{
	if (v->gsi < 0) {
		irq_msi(addr, data);
		return;
	}
	uint64_t one = 1;
	if (write(v->fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: counter saturated, the interrupt is pending anyway */
	}
}

static void msix_entry(struct pci_device *d, unsigned v, uint64_t *addr, uint32_t *data)
{
	uint8_t *e = d->msix_table + v * MSIX_ENTRY_SIZE;
	uint32_t lo, hi;
	memcpy(&lo, e, 4);
	memcpy(&hi, e + 4, 4);
	memcpy(data, e + 8, 4);
	*addr = ((uint64_t)hi << 32) | lo;
}

static void msi_vector_message(struct pci_device *d, unsigned vector, uint64_t *addr,
			       uint32_t *data)
{
	unsigned c = d->msi_cap;
	unsigned mme = (cfg16(d, c + 2) >> 4) & 7;
	uint32_t nvec = 1u << mme;
	*addr = cfg32(d, c + 4) | ((uint64_t)cfg32(d, c + 8) << 32);
	*data = (cfg16(d, c + 12) & ~(nvec - 1)) | (vector & (nvec - 1));
}

static bool msi_vector_live(struct pci_device *d, unsigned v)
{
	unsigned c = d->msi_cap;
	unsigned mme = (cfg16(d, c + 2) >> 4) & 7;
	return pci_msi_enabled(d) && v < (1u << mme) && v < d->msi_nvec &&
	       !(cfg32(d, c + 16) & (1u << v));
}

static bool msix_vector_live(struct pci_device *d, unsigned v)
{
	return pci_msix_enabled(d) && !pci_msix_vector_masked(d, v);
}

/*
 * Bring the device's routes in line with its MSI/MSI-X state: a route for
 * each live vector with its current message, none for the others. Routes are
 * edited first and handed to KVM in one KVM_SET_GSI_ROUTING; new eventfds
 * are bound only after that, so they never point at a stale or missing
 * route.
 */
static void msi_routes_sync(struct pci_device *d)
{
	if (machine_cfg.qtest || !kvm_msi_irqfd_supported())
		return;
	unsigned n = d->msi_cap ? d->msi_nvec : 0;
	unsigned total = n + (d->msix_cap ? d->msix_nvec : 0);
	bool *fresh = g_new0(bool, total);
	for (unsigned i = 0; i < total; i++) {
		struct msi_vec *v = i < n ? &d->msi_vecs[i] : &d->msix_vecs[i - n];
		bool live = i < n ? msi_vector_live(d, i) : msix_vector_live(d, i - n);
		if (!live) {
			msi_vec_release(v);
			continue;
		}
		uint64_t addr;
		uint32_t data;
		if (i < n)
			msi_vector_message(d, i, &addr, &data);
		else
			msix_entry(d, i - n, &addr, &data);
		if (v->gsi >= 0) {
			kvm_msi_route_set(v->gsi, addr, data);
		} else {
			v->gsi = kvm_msi_route_alloc(addr, data);
			fresh[i] = v->gsi >= 0;
		}
	}
	bool committed = kvm_msi_routes_commit() == 0;
	for (unsigned i = 0; i < total; i++) {
		struct msi_vec *v = i < n ? &d->msi_vecs[i] : &d->msix_vecs[i - n];
		if (!committed && v->gsi >= 0 && !fresh[i]) {
			/* KVM may still route it the old way: stop using it */
			msi_vec_release(v);
			continue;
		}
		if (!fresh[i])
			continue;
		if (committed)
			v->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->fd < 0 || kvm_irqfd_bind(v->fd, v->gsi, false) < 0) {
			/* fall back to KVM_SIGNAL_MSI for this vector */
			if (v->fd >= 0)
				close(v->fd);
			kvm_msi_route_free(v->gsi);
			msi_vec_init(v);
		}
	}
	kvm_msi_routes_commit();
	g_free(fresh);
}

/* Drop every route and eventfd of the device (reset, removal). */
static void msi_routes_release(struct pci_device *d)
{
	for (unsigned i = 0; d->msi_cap && i < d->msi_nvec; i++)
		msi_vec_release(&d->msi_vecs[i]);
	for (unsigned i = 0; d->msix_cap && i < d->msix_nvec; i++)
		msi_vec_release(&d->msix_vecs[i]);
	kvm_msi_routes_commit();
}

/* ---- MSI ---- */

bool pci_msi_enabled(struct pci_device *d)
{
	return d->msi_cap && (cfg16(d, d->msi_cap + 2) & 1);
}

static void msi_deliver(struct pci_device *d, unsigned vector)
{
	uint64_t addr;
	uint32_t data;
	msi_vector_message(d, vector, &addr, &data);
	msi_vec_deliver(&d->msi_vecs[vector], addr, data);
}

void pci_msi_notify(struct pci_device *d, unsigned vector)
{
	if (!pci_msi_enabled(d))
		return;
	unsigned c = d->msi_cap;
	unsigned mme = (cfg16(d, c + 2) >> 4) & 7;
	/* the guest may set MME above what the capability offers */
	if (vector >= (1u << mme) || vector >= d->msi_nvec)
		return;
	uint32_t mask = cfg32(d, c + 16);
	if (mask & (1u << vector)) {
		set32(d->config + c + 20, cfg32(d, c + 20) | (1u << vector));
		return;
	}
	msi_deliver(d, vector);
}

static void msi_config_written(struct pci_device *d)
{
	msi_routes_sync(d);
	unsigned c = d->msi_cap;
	uint32_t pending = cfg32(d, c + 20) & ~cfg32(d, c + 16);
	if (!pci_msi_enabled(d) || !pending)
		return;
	for (unsigned v = 0; v < 32; v++) {
		if (pending & (1u << v)) {
			set32(d->config + c + 20, cfg32(d, c + 20) & ~(1u << v));
			msi_deliver(d, v);
		}
	}
}

int pci_msi_init(struct pci_device *d, unsigned nvec, GError **err)
{
	if (nvec == 0 || nvec > 32 || (nvec & (nvec - 1))) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "MSI: bad vector count %u", nvec);
		return -1;
	}
	uint8_t c = pci_add_capability(d, PCI_CAP_ID_MSI, 24, err);
	if (!c)
		return -1;
	unsigned mmc = 0;
	while ((1u << mmc) < nvec)
		mmc++;
	/* 64-bit, per-vector masking */
	set16(d->config + c + 2, (mmc << 1) | 0x80 | 0x100);
	set16(d->wmask + c + 2, 0x0071); /* enable + MME */
	set32(d->wmask + c + 4, 0xfffffffc);
	set32(d->wmask + c + 8, 0xffffffff);
	set16(d->wmask + c + 12, 0xffff);
	set32(d->wmask + c + 16, nvec == 32 ? 0xffffffff : (1u << nvec) - 1);
	d->msi_cap = c;
	d->msi_nvec = nvec;
	for (unsigned v = 0; v < G_N_ELEMENTS(d->msi_vecs); v++)
		msi_vec_init(&d->msi_vecs[v]);
	return 0;
}

/* ---- MSI-X ---- */

bool pci_msix_enabled(struct pci_device *d)
{
	return d->msix_cap && (cfg16(d, d->msix_cap + 2) & 0x8000);
}

static bool msix_function_masked(struct pci_device *d)
{
	return cfg16(d, d->msix_cap + 2) & 0x4000;
}

bool pci_msix_vector_masked(struct pci_device *d, unsigned v)
{
	if (!d->msix_cap || v >= d->msix_nvec)
		return true;
	uint32_t ctrl;
	memcpy(&ctrl, d->msix_table + v * MSIX_ENTRY_SIZE + 12, 4);
	return (ctrl & 1) || msix_function_masked(d);
}

static void msix_deliver(struct pci_device *d, unsigned v)
{
	uint64_t addr;
	uint32_t data;
	msix_entry(d, v, &addr, &data);
	msi_vec_deliver(&d->msix_vecs[v], addr, data);
}

void pci_msix_notify(struct pci_device *d, unsigned v)
{
	if (!pci_msix_enabled(d) || v >= d->msix_nvec)
		return;
	if (pci_msix_vector_masked(d, v)) {
		d->msix_pba[v / 8] |= 1u << (v % 8);
		return;
	}
	msix_deliver(d, v);
}

static void msix_deliver_pending(struct pci_device *d)
{
	if (!pci_msix_enabled(d))
		return;
	for (unsigned v = 0; v < d->msix_nvec; v++) {
		if ((d->msix_pba[v / 8] & (1u << (v % 8))) && !pci_msix_vector_masked(d, v)) {
			d->msix_pba[v / 8] &= ~(1u << (v % 8));
			msix_deliver(d, v);
		}
	}
}

int pci_msix_init(struct pci_device *d, unsigned nvec, int table_bar, uint64_t table_off,
		  int pba_bar, uint64_t pba_off, GError **err)
{
	if (nvec == 0 || nvec > 2048 || table_bar < 0 || table_bar >= PCI_NUM_BARS || pba_bar < 0 ||
	    pba_bar >= PCI_NUM_BARS || !d->bars[table_bar].registered ||
	    !d->bars[pba_bar].registered || d->bars[table_bar].type == PCI_BAR_IO ||
	    (table_off & 7) || (pba_off & 7)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    "MSI-X: bad layout (vectors %u, table BAR %d, PBA BAR %d)", nvec,
			    table_bar, pba_bar);
		return -1;
	}
	uint64_t table_size = (uint64_t)nvec * MSIX_ENTRY_SIZE;
	uint64_t pba_size = (nvec + 63) / 64 * 8;
	if (table_off > d->bars[table_bar].size ||
	    table_size > d->bars[table_bar].size - table_off || pba_off > d->bars[pba_bar].size ||
	    pba_size > d->bars[pba_bar].size - pba_off ||
	    (table_bar == pba_bar && table_off < pba_off + pba_size &&
	     pba_off < table_off + table_size)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    "MSI-X: table or PBA does not fit its BAR");
		return -1;
	}
	uint8_t c = pci_add_capability(d, PCI_CAP_ID_MSIX, 12, err);
	if (!c)
		return -1;
	set16(d->config + c + 2, nvec - 1);
	set16(d->wmask + c + 2, 0xc000);
	set32(d->config + c + 4, (uint32_t)table_off | table_bar);
	set32(d->config + c + 8, (uint32_t)pba_off | pba_bar);
	d->msix_cap = c;
	d->msix_nvec = nvec;
	d->msix_table_bar = table_bar;
	d->msix_table_off = table_off;
	d->msix_pba_bar = pba_bar;
	d->msix_pba_off = pba_off;
	d->msix_table = g_malloc0(table_size);
	d->msix_pba = g_malloc0(pba_size);
	d->msix_vecs = g_new(struct msi_vec, nvec);
	for (unsigned v = 0; v < nvec; v++)
		msi_vec_init(&d->msix_vecs[v]);
	for (unsigned v = 0; v < nvec; v++)
		d->msix_table[v * MSIX_ENTRY_SIZE + 12] = 1; /* masked at reset */
	return 0;
}

/* MSI-X table/PBA accesses; true when handled. */
static bool msix_access(struct pci_device *d, int bar, uint64_t off, unsigned size, bool is_write,
			uint64_t *val)
{
	if (!d->msix_cap)
		return false;
	uint64_t tsize = (uint64_t)d->msix_nvec * MSIX_ENTRY_SIZE;
	uint64_t psize = (d->msix_nvec + 63) / 64 * 8;
	if (bar == d->msix_table_bar && off >= d->msix_table_off &&
	    off - d->msix_table_off < tsize) {
		uint64_t o = off - d->msix_table_off;
		if (size > tsize - o)
			size = tsize - o;
		if (is_write) {
			memcpy(d->msix_table + o, val, size);
			msi_routes_sync(d);
			msix_deliver_pending(d);
		} else {
			*val = 0;
			memcpy(val, d->msix_table + o, size);
		}
		return true;
	}
	if (bar == d->msix_pba_bar && off >= d->msix_pba_off && off - d->msix_pba_off < psize) {
		uint64_t o = off - d->msix_pba_off;
		if (size > psize - o)
			size = psize - o;
		if (!is_write) {
			*val = 0;
			memcpy(val, d->msix_pba + o, size);
		}
		return true; /* PBA is read-only */
	}
	return false;
}

/* ---- BAR dispatch ---- */

static bool ioevent_match(struct pci_device *d, int bar, uint64_t off, unsigned size, uint64_t val)
{
	for (struct ioeventfd *e = d->ioevs; e; e = e->next) {
		if (e->bar != bar || e->offset != off || e->len != size)
			continue;
		if (e->datamatch && e->data != val)
			continue;
		uint64_t one = 1;
		if (write(e->fd, &one, sizeof(one)) < 0) {
			/* counter saturated: already signalled */
		}
		return true;
	}
	return false;
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bar *b = opaque;
	uint64_t v = ~0ULL;
	if (msix_access(b->dev, b->index, off, size, false, &v))
		return v;
	if (b->ops && b->ops->read)
		return b->ops->read(b->dev->opaque, b->index, off, size);
	return v;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pci_bar *b = opaque;
	if (msix_access(b->dev, b->index, off, size, true, &val))
		return;
	if (ioevent_match(b->dev, b->index, off, size, val))
		return;
	if (b->ops && b->ops->write)
		b->ops->write(b->dev->opaque, b->index, off, size, val);
}

static const struct io_ops bar_io_ops = {.read = bar_read, .write = bar_write};

int pci_register_bar(struct pci_device *d, int i, enum pci_bar_type type, uint64_t size,
		     const struct pci_bar_ops *ops, GError **err)
{
	bool bad =
	    i < 0 || i >= PCI_NUM_BARS || d->bars[i].registered ||
	    (type == PCI_BAR_MEM64 && (i == PCI_NUM_BARS - 1 || d->bars[i + 1].registered)) ||
	    size == 0 || (size & (size - 1)) ||
	    (type == PCI_BAR_IO ? (size < 4 || size > 256) : size < 16) ||
	    (type == PCI_BAR_MEM32 && size > (1ULL << 31));
	if (!bad && i > 0 && d->bars[i - 1].registered && d->bars[i - 1].type == PCI_BAR_MEM64)
		bad = true;
	if (bad) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    "%s: invalid BAR %d registration (size 0x%llx)", d->model->name, i,
			    (unsigned long long)size);
		return -1;
	}
	struct pci_bar *b = &d->bars[i];
	b->type = type;
	b->size = size;
	b->registered = true;
	b->ops = ops;
	b->dev = d;
	b->index = i;
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t flags = type == PCI_BAR_IO ? 0x1 : type == PCI_BAR_MEM64 ? 0x4 : 0x0;
	set32(d->config + off, flags);
	if (type == PCI_BAR_IO) {
		set32(d->wmask + off, ~(uint32_t)(size - 1) & 0xfffffffc);
	} else {
		uint64_t m = ~(size - 1) & ~0xfULL;
		set32(d->wmask + off, (uint32_t)m);
		if (type == PCI_BAR_MEM64)
			set32(d->wmask + off + 4, (uint32_t)(m >> 32));
	}
	char *name = g_strdup_printf("%s-bar%d", d->model->name, i);
	b->region = io_region_add(type == PCI_BAR_IO ? IO_SPACE_PIO : IO_SPACE_MMIO, 0, size,
				  &bar_io_ops, b, name);
	io_region_set(b->region, 0, false);
	g_free(name);
	return 0;
}

uint8_t pci_add_capability(struct pci_device *d, uint8_t cap_id, uint8_t size, GError **err)
{
	unsigned start = (d->cap_end + 3) & ~3u;
	if (size < 2 || start + size > PCI_CONFIG_SIZE) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    "%s: no room for capability 0x%x in config space", d->model->name,
			    cap_id);
		return 0;
	}
	d->config[start] = cap_id;
	d->config[start + 1] = 0;
	/* append to the end of the list */
	if (!(d->config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		d->config[PCI_CAPABILITY_LIST] = start;
		d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	} else {
		uint8_t p = d->config[PCI_CAPABILITY_LIST];
		for (int guard = 0; d->config[p + 1] && guard < 64; guard++)
			p = d->config[p + 1];
		d->config[p + 1] = start;
	}
	d->cap_end = start + size;
	return start;
}

/* ---- ioeventfd ---- */

static void ioevent_fd_ready(int fd, uint32_t events, void *opaque)
{
	struct ioeventfd *e = opaque;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	e->cb(fd, events, e->opaque);
}

int pci_ioeventfd_add(struct pci_device *d, int bar, uint64_t offset, unsigned len, bool datamatch,
		      uint64_t data, ml_fd_cb cb, void *opaque, GError **err)
{
	if (bar < 0 || bar >= PCI_NUM_BARS || !d->bars[bar].registered ||
	    d->bars[bar].type == PCI_BAR_IO || (len != 1 && len != 2 && len != 4 && len != 8) ||
	    offset > d->bars[bar].size || len > d->bars[bar].size - offset) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    "%s: invalid ioeventfd (BAR %d offset 0x%llx len %u)", d->model->name,
			    bar, (unsigned long long)offset, len);
		return -1;
	}
	struct ioeventfd *e = g_new0(struct ioeventfd, 1);
	e->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->fd < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "eventfd: %s", g_strerror(errno));
		g_free(e);
		return -1;
	}
	e->bar = bar;
	e->offset = offset;
	e->len = len;
	e->datamatch = datamatch;
	e->data = data;
	e->cb = cb;
	e->opaque = opaque;
	e->next = d->ioevs;
	d->ioevs = e;
	ml_add_fd(e->fd, EPOLLIN, ioevent_fd_ready, e);
	ioevent_update(d, e);
	return 0;
}

/* ---- config space ---- */

static void default_masks(struct pci_device *d)
{
	set16(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					  PCI_COMMAND_INTX_DISABLE | 0x0140);
	set16(d->w1cmask + PCI_STATUS, 0xf900);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

static uint32_t config_read(struct pci_device *d, unsigned off, unsigned size)
{
	uint32_t v = 0;
	if (d->ops && d->ops->config_read && d->ops->config_read(d->opaque, off, size, &v))
		return v;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)d->config[off + i] << (8 * i);
	return v;
}

static void config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = val >> (8 * i);
		unsigned o = off + i;
		d->config[o] = (d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]);
		d->config[o] &= ~(b & d->w1cmask[o]);
	}
	bool touches_bars = off < PCI_BASE_ADDRESS_0 + 24 && off + size > PCI_BASE_ADDRESS_0;
	bool touches_cmd = off < PCI_COMMAND + 2 && off + size > PCI_COMMAND;
	if (touches_bars || touches_cmd)
		bars_update(d);
	if (touches_cmd)
		intx_update(d);
	if (d->msi_cap && off < d->msi_cap + 24u && off + size > d->msi_cap) {
		intx_update(d);
		msi_config_written(d);
	}
	if (d->msix_cap && off < d->msix_cap + 4u && off + size > d->msix_cap) {
		intx_update(d);
		msi_routes_sync(d);
		msix_deliver_pending(d);
	}
	if (d->ops && d->ops->config_written)
		d->ops->config_written(d->opaque, off, size, val);
}

static struct pci_device *addressed(unsigned *reg)
{
	if (!(config_address & 0x80000000u))
		return NULL;
	unsigned busno = (config_address >> 16) & 0xff;
	unsigned devfn = (config_address >> 8) & 0xff;
	*reg = config_address & 0xfc;
	if (busno != 0)
		return NULL;
	return bus[devfn];
}

static uint64_t cfg_addr_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	if (off == 0 && size == 4)
		return config_address;
	return ~0ULL;
}

static void cfg_addr_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	if (off == 0 && size == 4)
		config_address = val & 0x80fffffc;
	/* byte writes to 0xcf9 are the PIIX reset control register */
	if (off == 1 && size == 1 && (val & 0x04))
		machine_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
}

static uint64_t cfg_data_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	unsigned reg;
	struct pci_device *d = addressed(&reg);
	if (!d)
		return ~0ULL;
	return config_read(d, reg + off, size);
}

static void cfg_data_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	unsigned reg;
	struct pci_device *d = addressed(&reg);
	if (d)
		config_write(d, reg + off, size, val);
}

static const struct io_ops cfg_addr_ops = {.read = cfg_addr_read, .write = cfg_addr_write};
static const struct io_ops cfg_data_ops = {.read = cfg_data_read, .write = cfg_data_write};

/* config access for qtest / monitors: size 1, 2, 4; offset bounds-checked */
uint32_t pci_config_read_devfn(unsigned devfn, unsigned off, unsigned size)
{
	if (devfn > 255 || !bus[devfn] || off >= PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - off)
		return ~0u;
	return config_read(bus[devfn], off, size);
}

/* ---- devices ---- */

static uint32_t reserved_slots;

void pci_reserve_slot(int slot)
{
	reserved_slots |= 1u << slot;
}

static int next_free_slot(void)
{
	for (int slot = 0; slot < 32; slot++)
		if (!bus[slot << 3] && !(reserved_slots & (1u << slot)))
			return slot << 3;
	return -1;
}

struct pci_device *pci_device_new(const struct dev_model *model, struct dev_opts *opts,
				  const struct pci_ident *id, const struct pci_device_ops *ops,
				  void *opaque, GError **err)
{
	int devfn = opts ? dev_opts_pci_addr(opts, "addr") : -1;
	if (devfn < 0) {
		devfn = next_free_slot();
		if (devfn < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("PCI: no slot available for %s, all slots are in use"),
				    model->name);
			return NULL;
		}
	} else if (bus[devfn]) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("PCI: slot %d function %d not available for %s, in use by %s"),
			    devfn >> 3, devfn & 7, model->name, bus[devfn]->model->name);
		return NULL;
	} else if ((devfn & 7) != 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("PCI: function %d of slot %d: only function 0 is supported yet "
			      "(no multifunction)"),
			    devfn & 7, devfn >> 3);
		return NULL;
	}
	struct pci_device *d = g_new0(struct pci_device, 1);
	d->model = model;
	d->id = opts && dev_opts_id(opts) ? g_strdup(dev_opts_id(opts)) : NULL;
	d->devfn = devfn;
	d->ops = ops;
	d->opaque = opaque;
	d->cap_end = 0x40;
	set16(d->config + PCI_VENDOR_ID, id->vendor_id);
	set16(d->config + PCI_DEVICE_ID, id->device_id);
	d->config[PCI_REVISION_ID] = id->revision;
	d->config[PCI_CLASS_PROG] = id->class_code & 0xff;
	set16(d->config + PCI_CLASS_DEVICE, id->class_code >> 8);
	/* QEMU's default subsystem: Red Hat, QEMU */
	set16(d->config + PCI_SUBSYSTEM_VENDOR_ID,
	      id->subsys_vendor_id ? id->subsys_vendor_id : 0x1af4);
	set16(d->config + PCI_SUBSYSTEM_ID, id->subsys_vendor_id ? id->subsys_id : 0x1100);
	d->config[PCI_INTERRUPT_PIN] = id->irq_pin > 4 ? 0 : id->irq_pin;
	default_masks(d);
	bus[devfn] = d;
	if (d->config[PCI_INTERRUPT_PIN])
		d->config[PCI_INTERRUPT_LINE] = intx_gsi(d);
	d->instance = dev_instance_add(model, d->id, d);
	d->fresh = resources_assigned;
	if (!model->no_user)
		d->qom_path =
		    d->id ? g_strdup_printf("/machine/peripheral/%s", d->id)
			  : g_strdup_printf("/machine/peripheral-anon/device[%u]", anon_devices++);
	return d;
}

static void device_reset(struct pci_device *d)
{
	if (d->intx_asserted) {
		d->intx_level = 0;
		intx_update(d);
	}
	d->intx_level = 0;
	set16(d->config + PCI_COMMAND,
	      cfg16(d, PCI_COMMAND) & ~(PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MASTER));
	set16(d->config + PCI_STATUS, cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	if (d->msi_cap) {
		set16(d->config + d->msi_cap + 2, cfg16(d, d->msi_cap + 2) & ~0x71);
		memset(d->config + d->msi_cap + 4, 0, 20);
	}
	if (d->msix_cap) {
		set16(d->config + d->msix_cap + 2, cfg16(d, d->msix_cap + 2) & ~0xc000);
		memset(d->msix_table, 0, (size_t)d->msix_nvec * MSIX_ENTRY_SIZE);
		for (unsigned v = 0; v < d->msix_nvec; v++)
			d->msix_table[v * MSIX_ENTRY_SIZE + 12] = 1;
		memset(d->msix_pba, 0, (d->msix_nvec + 63) / 64 * 8);
	}
	msi_routes_release(d);
	if (d->ops && d->ops->reset)
		d->ops->reset(d->opaque);
}

/* Host bridge and ISA bridge: fixed identity, no BARs. */
static struct dev_model i440fx_model = {
    .name = "i440FX-pcihost",
    .bus = "System",
    .category = "Controller/Bridge/Hub devices",
    .no_user = true,
};
DEV_MODEL_REGISTER(i440fx_model)

static struct dev_model piix3_model = {
    .name = "PIIX3",
    .bus = "PCI",
    .category = "Controller/Bridge/Hub devices",
    .desc = "ISA bridge",
    .no_user = true,
};
DEV_MODEL_REGISTER(piix3_model)

void pci_init(GError **unused)
{
	(void)unused;
	io_region_add(IO_SPACE_PIO, CONFIG_ADDR_PORT, 4, &cfg_addr_ops, NULL, "pci-conf-idx");
	io_region_add(IO_SPACE_PIO, CONFIG_DATA_PORT, 4, &cfg_data_ops, NULL, "pci-conf-data");
	static const struct pci_ident host = {
	    .vendor_id = 0x8086, .device_id = 0x1237, .class_code = 0x060000, .revision = 2};
	static const struct pci_ident isa = {
	    .vendor_id = 0x8086, .device_id = 0x7000, .class_code = 0x060100};
	struct pci_device *h = pci_device_new(&i440fx_model, NULL, &host, NULL, NULL, NULL);
	struct pci_device *i = pci_device_new(&piix3_model, NULL, &isa, NULL, NULL, NULL);
	if (h)
		set16(h->config + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	if (i) {
		i->config[PCI_HEADER_TYPE] = 0x80; /* multi-function, as on PIIX3 */
		set16(i->config + PCI_COMMAND,
		      PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
		/* PIRQ route control: fixed to the routing kite implements */
		for (int p = 0; p < 4; p++)
			i->config[0x60 + p] = pirq_gsi[p];
	}
}

struct bar_ref {
	struct pci_device *d;
	int i;
};

static int cmp_bar_size(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;
	uint64_t sx = x->d->bars[x->i].size, sy = y->d->bars[y->i].size;
	return sx < sy ? 1 : sx > sy ? -1 : 0;
}

/* Program BAR i of d to decode at a (type bits kept, upper half of 64-bit
 * BARs too). */
static void bar_set_address(struct pci_device *d, int i, uint64_t a)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t flags = cfg32(d, off) & (d->bars[i].type == PCI_BAR_IO ? 0x3 : 0xf);
	set32(d->config + off, (uint32_t)a | flags);
	if (d->bars[i].type == PCI_BAR_MEM64)
		set32(d->config + off + 4, (uint32_t)(a >> 32));
}

/* Turn on I/O and memory decoding for the kinds of BARs d has, as firmware
 * does once it assigned them, and map them. */
static void enable_decoding(struct pci_device *d)
{
	uint16_t cmd = cfg16(d, PCI_COMMAND);
	for (int i = 0; i < PCI_NUM_BARS; i++)
		if (d->bars[i].registered)
			cmd |= d->bars[i].type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	set16(d->config + PCI_COMMAND, cmd);
	bars_update(d);
}

void pci_assign_resources(void)
{
	resources_assigned = true;
	struct bar_ref refs[256 * PCI_NUM_BARS];
	size_t n = 0;
	for (int f = 0; f < 256; f++)
		for (int i = 0; bus[f] && i < PCI_NUM_BARS; i++)
			if (bus[f]->bars[i].registered)
				refs[n++] = (struct bar_ref){bus[f], i};
	/* largest first: natural alignment without holes */
	qsort(refs, n, sizeof(refs[0]), cmp_bar_size);
	uint64_t mmio = KITE_PCI_MMIO_BASE, io = PCI_IO_BASE;
	for (size_t k = 0; k < n; k++) {
		struct pci_device *d = refs[k].d;
		struct pci_bar *b = &d->bars[refs[k].i];
		uint64_t *next = b->type == PCI_BAR_IO ? &io : &mmio;
		uint64_t end = b->type == PCI_BAR_IO ? PCI_IO_END : KITE_PCI_MMIO_END;
		uint64_t a = (*next + b->size - 1) & ~(b->size - 1);
		if (a + b->size > end) {
			warn_report(_("PCI: no room for BAR %d of %s; left unassigned"), refs[k].i,
				    d->model->name);
			continue;
		}
		*next = a + b->size;
		bar_set_address(d, refs[k].i, a);
	}
	for (int f = 0; f < 256; f++)
		if (bus[f])
			enable_decoding(bus[f]);
}

/* ---- hot-plug ---- */

struct pci_device *pci_device_at(unsigned devfn)
{
	return devfn < 256 ? bus[devfn] : NULL;
}

bool pci_device_hotpluggable(struct pci_device *d)
{
	return d->ops && d->ops->unrealize;
}

const char *pci_device_qom_path(struct pci_device *d)
{
	return d->qom_path;
}

/* Does [a, a+size) overlap a BAR of the same space of any other device?
 * The guest's own programming counts (it may have moved BARs), mapped or
 * not: a device whose decoding is off still owns its addresses. */
static bool bar_range_taken(const struct pci_device *self, int self_bar, bool io, uint64_t a,
			    uint64_t size)
{
	for (int f = 0; f < 256; f++) {
		struct pci_device *o = bus[f];
		if (!o)
			continue;
		for (int i = 0; i < PCI_NUM_BARS; i++) {
			struct pci_bar *b = &o->bars[i];
			/* the device's other BARs count; those not placed yet read 0 */
			if (!b->registered || (o == self && i == self_bar) ||
			    (b->type == PCI_BAR_IO) != io)
				continue;
			uint64_t oa = bar_config_addr(o, i);
			if (oa == 0)
				continue;
			if (a < oa + b->size && oa < a + size)
				return true;
		}
	}
	return false;
}

static int place_fresh_device(struct pci_device *d, GError **err)
{
	struct bar_ref refs[PCI_NUM_BARS];
	size_t n = 0;
	for (int i = 0; i < PCI_NUM_BARS; i++)
		if (d->bars[i].registered)
			refs[n++] = (struct bar_ref){d, i};
	/* largest first, so small BARs do not fragment the space big ones need */
	qsort(refs, n, sizeof(refs[0]), cmp_bar_size);
	for (size_t k = 0; k < n; k++) {
		int i = refs[k].i;
		struct pci_bar *b = &d->bars[i];
		bool io = b->type == PCI_BAR_IO;
		uint64_t base = io ? PCI_IO_BASE : KITE_PCI_MMIO_BASE;
		uint64_t end = io ? PCI_IO_END : KITE_PCI_MMIO_END;
		uint64_t a = (base + b->size - 1) & ~(b->size - 1);
		while (a + b->size <= end && bar_range_taken(d, i, io, a, b->size))
			a += b->size;
		if (a + b->size > end) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("PCI: no free %s space for BAR %d of %s (0x%llx bytes)"),
				    io ? "I/O" : _("memory"), i, d->model->name,
				    (unsigned long long)b->size);
			return -1;
		}
		bar_set_address(d, i, a);
	}
	enable_decoding(d);
	return 0;
}

int pci_hotplug_commit(uint32_t *slots, GError **err)
{
	*slots = 0;
	for (int f = 0; f < 256; f++) {
		struct pci_device *d = bus[f];
		if (!d || !d->fresh)
			continue;
		if (place_fresh_device(d, err) < 0) {
			/* the model is complete: unplug it the normal way */
			for (int g = 0; g < 256; g++)
				if (bus[g] && bus[g]->fresh)
					pci_device_unplug(bus[g]);
			*slots = 0;
			return -1;
		}
		d->fresh = false;
		*slots |= 1u << (f >> 3);
	}
	return 0;
}

/* Everything but the model's own state: after this no guest access, event
 * or interrupt can reach the device. */
static void detach_from_machine(struct pci_device *d)
{
	bus[d->devfn] = NULL;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		if (d->bars[i].registered) {
			io_region_del(d->bars[i].region);
			d->bars[i].region = NULL;
			d->bars[i].mapped_addr = 0;
		}
	}
	while (d->ioevs) {
		struct ioeventfd *e = d->ioevs;
		d->ioevs = e->next;
		if (e->kvm_addr)
			kvm_ioeventfd(e->kvm_addr, e->len, e->datamatch, e->data, e->fd, true);
		ml_del_fd(e->fd);
		close(e->fd);
		g_free(e);
	}
	d->intx_level = 0;
	intx_update(d);
	msi_routes_release(d);
	dev_instance_remove(d->instance);
	d->instance = NULL;
}

static void device_free(struct pci_device *d)
{
	g_free(d->msix_table);
	g_free(d->msix_pba);
	g_free(d->msix_vecs);
	g_free(d->qom_path);
	g_free(d->id);
	g_free(d);
}

void pci_hotplug_abort(void)
{
	for (int f = 0; f < 256; f++) {
		struct pci_device *d = bus[f];
		if (d && d->fresh) {
			detach_from_machine(d);
			device_free(d);
		}
	}
}

void pci_device_unplug(struct pci_device *d)
{
	detach_from_machine(d);
	if (d->ops && d->ops->unrealize)
		d->ops->unrealize(d->opaque);
	device_free(d);
}

void pci_reset_all(void)
{
	for (int f = 0; f < 256; f++)
		if (bus[f])
			device_reset(bus[f]);
	/* BARs go back to kite's assignment, as firmware would redo it */
	pci_assign_resources();
}

void pci_set_qtree_info(struct pci_device *d, void (*fn)(void *opaque, GString *out, int indent))
{
	d->instance->qtree_info = fn;
}

/* Used by monitors: BAR facts. */
bool pci_bar_info(struct pci_device *d, int i, uint64_t *addr, uint64_t *size, bool *io,
		  bool *mem64)
{
	if (i < 0 || i >= PCI_NUM_BARS || !d->bars[i].registered)
		return false;
	*addr = d->bars[i].mapped_addr ? d->bars[i].mapped_addr : ~0ULL;
	*size = d->bars[i].size;
	*io = d->bars[i].type == PCI_BAR_IO;
	*mem64 = d->bars[i].type == PCI_BAR_MEM64;
	return true;
}
