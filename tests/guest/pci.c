// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI through configuration mechanism #1 (ports 0xcf8/0xcfc).
 *
 * Port I/O is slow under some hypervisors (a trap per access), so config
 * space is only touched while probing. Bus 0 is enumerated once (a slot
 * again when a device is hot-plugged there); BARs the firmware left
 * unassigned (kite boots without a BIOS, and nothing assigns a hot-plugged
 * device's) or placed above the 4 GiB we identity map are given addresses
 * from fixed windows.
 */
#include "arch.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

#define PCI_COMMAND	0x04
#define PCI_STATUS	0x06
#define PCI_CLASS_REV	0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0	0x10
#define PCI_CAP_PTR	0x34

#define PCI_CMD_IO     0x1
#define PCI_CMD_MEM    0x2
#define PCI_CMD_MASTER 0x4
#define PCI_STATUS_CAP 0x10

/* Where unassigned BARs go: below SeaBIOS's 0xfe000000 area, above RAM. */
#define MMIO_WINDOW_START 0xe0000000ull
#define MMIO_WINDOW_END	  0xfe000000ull
#define IO_WINDOW_START	  0xc000u
#define IO_WINDOW_END	  0x10000u

static struct pci_dev devs[PCI_MAX_DEVS];
static int ndevs = -1;

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       (off & 0xfc);
}

static uint32_t cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	return inl(PCI_DATA);
}

static void cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	outl(PCI_DATA, v);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	return cfg_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	return inw(PCI_DATA + (off & 2));
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	return inb(PCI_DATA + (off & 3));
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	cfg_write32(d->bus, d->dev, d->fn, off, v);
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	outl(PCI_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	outw(PCI_DATA + (off & 2), v);
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id, uint8_t from)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP))
		return 0;
	uint8_t ptr = from ? pci_read8(d, from + 1) : pci_read8(d, PCI_CAP_PTR);
	/* A malformed list could loop: 48 capabilities fill config space. */
	for (int guard = 0; guard < 48 && ptr >= 0x40; guard++) {
		ptr &= 0xfc;
		uint16_t hdr = pci_read16(d, ptr);
		if ((hdr & 0xff) == cap_id)
			return ptr;
		ptr = (uint8_t)(hdr >> 8);
	}
	return 0;
}

void pci_enable(const struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
}

void pci_disable(const struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER));
}

/* Reads address and size of BAR 'i'; returns the number of BAR slots it
 * takes (2 for a 64-bit memory BAR). Decoding must be off. */
static int size_bar(struct pci_dev *d, int i)
{
	uint8_t off = PCI_BAR0 + 4 * i;
	uint32_t orig = pci_read32(d, off);
	struct pci_bar *bar = &d->bar[i];

	pci_write32(d, off, 0xffffffffu);
	uint32_t mask = pci_read32(d, off);
	pci_write32(d, off, orig);

	if (orig & 1) {
		uint32_t m = mask & ~3u & 0xffff;
		if (!m)
			return 1;
		bar->kind = PCI_BAR_IO;
		bar->addr = orig & ~3u;
		bar->size = (~m + 1) & 0xffff;
		return 1;
	}
	bar->prefetchable = orig & 8;
	if (((orig >> 1) & 3) == 2 && i < 5) {
		uint8_t off_hi = off + 4;
		uint32_t orig_hi = pci_read32(d, off_hi);
		pci_write32(d, off_hi, 0xffffffffu);
		uint32_t mask_hi = pci_read32(d, off_hi);
		pci_write32(d, off_hi, orig_hi);
		uint64_t m = (uint64_t)mask_hi << 32 | (mask & ~0xfu);
		if (!m)
			return 2;
		bar->kind = PCI_BAR_MEM64;
		bar->addr = (uint64_t)orig_hi << 32 | (orig & ~0xfu);
		bar->size = ~m + 1;
		return 2;
	}
	uint32_t m = mask & ~0xfu;
	if (!m)
		return 1;
	bar->kind = PCI_BAR_MEM32;
	bar->addr = orig & ~0xfu;
	bar->size = (uint32_t)(~m + 1);
	return 1;
}

static bool overlaps_assigned(uint64_t start, uint64_t size, bool io)
{
	for (int i = 0; i < ndevs; i++) {
		for (int b = 0; b < 6; b++) {
			const struct pci_bar *bar = &devs[i].bar[b];
			if (bar->kind == PCI_BAR_NONE || !bar->addr ||
			    (bar->kind == PCI_BAR_IO) != io)
				continue;
			if (start < bar->addr + bar->size && bar->addr < start + size)
				return true;
		}
	}
	return false;
}

/* First size-aligned gap in [*next, end) that no assigned BAR uses. */
static uint64_t place(uint64_t *next, uint64_t end, uint64_t size, bool io)
{
	uint64_t a = (*next + size - 1) & ~(size - 1);

	while (a + size <= end) {
		if (!overlaps_assigned(a, size, io)) {
			*next = a + size;
			return a;
		}
		a += size;
	}
	return 0;
}

static void assign_bars(void)
{
	uint64_t next_mem = MMIO_WINDOW_START, next_io = IO_WINDOW_START;

	for (int i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		for (int b = 0; b < 6; b++) {
			struct pci_bar *bar = &d->bar[b];
			if (bar->kind == PCI_BAR_NONE)
				continue;
			bool io = bar->kind == PCI_BAR_IO;
			/* Unassigned, or above what the page tables map. */
			if (bar->addr && bar->addr + bar->size <= 0x100000000ull)
				continue;
			bar->addr = 0;
			uint64_t a = io ? place(&next_io, IO_WINDOW_END, bar->size, true)
					: place(&next_mem, MMIO_WINDOW_END, bar->size, false);
			if (!a) {
				kprintf("pci: no room for BAR%d of %02x:%02x.%x (size 0x%lx)\n", b,
					d->bus, d->dev, d->fn, (unsigned long)bar->size);
				continue;
			}
			uint8_t off = PCI_BAR0 + 4 * b;
			uint32_t low_flags = pci_read32(d, off) & (io ? 3u : 0xfu);
			pci_write32(d, off, (uint32_t)a | low_flags);
			if (bar->kind == PCI_BAR_MEM64)
				pci_write32(d, off + 4, (uint32_t)(a >> 32));
			bar->addr = a;
		}
	}
}

static void add_function(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id)
{
	if (ndevs >= PCI_MAX_DEVS)
		return;
	struct pci_dev *d = &devs[ndevs++];
	memset(d, 0, sizeof(*d)); /* the entry of a device ejected earlier */
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->class_rev = pci_read32(d, PCI_CLASS_REV);
	d->header_type = pci_read8(d, PCI_HEADER_TYPE);

	/* Only ordinary devices' BARs matter to this guest. */
	if ((d->header_type & 0x7f) != 0)
		return;
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int b = 0; b < 6;)
		b += size_bar(d, b);
	pci_write16(d, PCI_COMMAND, cmd);
}

int pci_forget_bars(void)
{
	int cleared = 0;

	if (ndevs >= 0)
		return -1; /* too late: the table already holds addresses */
	for (uint8_t dev = 0; dev < 32; dev++) {
		for (uint8_t fn = 0; fn < 8; fn++) {
			uint32_t id = cfg_read32(0, dev, fn, 0);
			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
				if (fn == 0)
					break;
				continue;
			}
			struct pci_dev tmp = {.bus = 0, .dev = dev, .fn = fn};
			uint8_t hdr = pci_read8(&tmp, PCI_HEADER_TYPE);
			if ((hdr & 0x7f) == 0) {
				uint16_t cmd = pci_read16(&tmp, PCI_COMMAND);
				pci_write16(&tmp, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
				for (int b = 0; b < 6; b++) {
					uint8_t off = PCI_BAR0 + 4 * b;
					if (pci_read32(&tmp, off) & ~0xfu)
						cleared++;
					pci_write32(&tmp, off, 0);
				}
			}
			if (fn == 0 && !(hdr & 0x80))
				break;
		}
	}
	return cleared;
}

/* Adds the functions of slot 'dev' on bus 0 to the table; returns how many. */
static int scan_slot(uint8_t dev)
{
	uint32_t id = cfg_read32(0, dev, 0, 0);
	int before = ndevs;

	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0 || ndevs >= PCI_MAX_DEVS)
		return 0;
	add_function(0, dev, 0, id);
	if (devs[ndevs - 1].header_type & 0x80) {
		for (uint8_t fn = 1; fn < 8; fn++) {
			id = cfg_read32(0, dev, fn, 0);
			if ((id & 0xffff) != 0xffff && (id & 0xffff) != 0)
				add_function(0, dev, fn, id);
		}
	}
	return ndevs - before;
}

int pci_scan(struct pci_dev **out)
{
	if (ndevs < 0) {
		ndevs = 0;
		for (uint8_t dev = 0; dev < 32 && ndevs < PCI_MAX_DEVS; dev++)
			scan_slot(dev);
		assign_bars();
	}
	*out = devs;
	return ndevs;
}

void pci_forget_slot(uint8_t dev)
{
	int kept = 0;

	for (int i = 0; i < ndevs; i++) {
		if (devs[i].bus == 0 && devs[i].dev == dev)
			continue;
		if (kept != i)
			devs[kept] = devs[i];
		kept++;
	}
	if (ndevs > 0)
		ndevs = kept;
}

int pci_scan_slot(uint8_t dev, struct pci_dev **first)
{
	struct pci_dev *all;

	pci_scan(&all);
	pci_forget_slot(dev);
	int start = ndevs, n = scan_slot(dev);
	if (n)
		assign_bars();
	*first = n ? &devs[start] : NULL;
	return n;
}

uint32_t pci_slot_id(uint8_t dev, uint8_t fn)
{
	return cfg_read32(0, dev, fn, 0);
}
