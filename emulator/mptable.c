/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel MultiProcessor Specification 1.4 table, for guests without ACPI:
 * processors, the ISA and PCI buses, the IOAPIC, and interrupt routing
 * (ISA identity except IRQ 0 -> INTIN 2; PCI INTx as the PIIX swizzle).
 */
#include <glib.h>
#include <string.h>

#include "boot.h"
#include "machine.h"
#include "memory-internal.h"
#include "memory.h"
#include "pci.h"

#define MPTABLE_ADDR 0xf0000

static void put(GByteArray *t, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t b = v >> (8 * i);
		g_byte_array_append(t, &b, 1);
	}
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (uint8_t)-s;
}

static void irq_entry(GByteArray *t, uint8_t type, uint16_t flags, uint8_t bus, uint8_t irq,
		      uint8_t apic, uint8_t pin)
{
	put(t, 3, 1);
	put(t, type, 1);
	put(t, flags, 2);
	put(t, bus, 1);
	put(t, irq, 1);
	put(t, apic, 1);
	put(t, pin, 1);
}

void mptable_build(void)
{
	unsigned ncpu = machine_cfg.smp;
	uint8_t ioapic_id = ncpu;
	GByteArray *t = g_byte_array_new();
	uint8_t hdr[44] = {0};
	memcpy(hdr, "PCMP", 4);
	hdr[6] = 4;
	memcpy(hdr + 8, "KITE    ", 8);
	memcpy(hdr + 16, "KITEVM      ", 12);
	uint32_t lapic = 0xfee00000;
	memcpy(hdr + 36, &lapic, 4);
	g_byte_array_append(t, hdr, sizeof(hdr));
	unsigned entries = 0;
	for (unsigned i = 0; i < ncpu; i++, entries++) {
		put(t, 0, 1);
		put(t, i, 1);
		put(t, 0x14, 1);
		put(t, i == 0 ? 3 : 1, 1); /* enabled, BSP */
		put(t, 0x600, 4);
		put(t, 0x201, 4); /* FPU, APIC */
		put(t, 0, 8);
	}
	put(t, 1, 1);
	put(t, 0, 1);
	g_byte_array_append(t, (const uint8_t *)"PCI   ", 6);
	put(t, 1, 1);
	put(t, 1, 1);
	g_byte_array_append(t, (const uint8_t *)"ISA   ", 6);
	entries += 2;
	put(t, 2, 1);
	put(t, ioapic_id, 1);
	put(t, 0x11, 1);
	put(t, 1, 1);
	put(t, 0xfec00000, 4);
	entries++;
	/* ISA bus 1 */
	for (unsigned irq = 0; irq < 16; irq++, entries++) {
		if (irq == 2) {
			irq_entry(t, 3, 0, 1, 0, ioapic_id, 0); /* ExtINT on INTIN 0 */
			continue;
		}
		uint16_t flags = (irq == 9) ? 0x0d : 0; /* SCI is level */
		irq_entry(t, 0, flags, 1, irq, ioapic_id, irq == 0 ? 2 : irq);
	}
	/* PCI bus 0: one entry per present device/pin (level, active low) */
	for (struct pci_device *d = pci_device_first(); d; d = pci_device_next(d)) {
		uint8_t *cfg = pci_config(d);
		uint8_t pin = cfg[PCI_INTERRUPT_PIN];
		if (!pin)
			continue;
		unsigned slot = pci_devfn(d) >> 3;
		irq_entry(t, 0, 0x0f, 0, (slot << 2) | (pin - 1), ioapic_id,
			  cfg[PCI_INTERRUPT_LINE]);
		entries++;
	}
	/* local interrupts */
	put(t, 4, 1);
	put(t, 3, 1);
	put(t, 0, 2);
	put(t, 1, 1);
	put(t, 0, 1);
	put(t, 0xff, 1);
	put(t, 0, 1);
	put(t, 4, 1);
	put(t, 1, 1);
	put(t, 0, 2);
	put(t, 1, 1);
	put(t, 0, 1);
	put(t, 0xff, 1);
	put(t, 1, 1);
	entries += 2;
	uint16_t len = t->len;
	memcpy(t->data + 4, &len, 2);
	uint16_t cnt = entries;
	memcpy(t->data + 34, &cnt, 2);
	t->data[7] = sum(t->data, t->len);

	uint8_t fp[16] = {0};
	memcpy(fp, "_MP_", 4);
	uint32_t cfg_addr = MPTABLE_ADDR + 16;
	memcpy(fp + 4, &cfg_addr, 4);
	fp[8] = 1;
	fp[9] = 4;
	fp[10] = sum(fp, 16);
	guest_write(MPTABLE_ADDR, fp, sizeof(fp));
	guest_write(cfg_addr, t->data, t->len);
	g_byte_array_free(t, true);
}
