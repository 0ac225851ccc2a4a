/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM. Layout follows QEMU's pc machine: RAM below KITE_LOWMEM_LIMIT
 * (3 GiB) is mapped at 0, the rest is relocated above 4 GiB so that the
 * 3-4 GiB range is free for PCI MMIO, the IOAPIC, the LAPIC and the BIOS
 * ROM area. Every device that touches guest memory (DMA, descriptor rings)
 * must go through guest_ram_ptr(), which bounds-checks the whole range.
 */
#ifndef KITE_MEMORY_H
#define KITE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KITE_LOWMEM_LIMIT  0xc0000000ULL /* 3 GiB: RAM above it moves to 4 GiB */
#define KITE_HIGHMEM_BASE  0x100000000ULL
#define KITE_PCI_MMIO_BASE 0xc0000000ULL /* 32-bit BARs are assigned from here */
#define KITE_PCI_MMIO_END  0xfec00000ULL /* exclusive; IOAPIC starts here */

/* Host pointer to guest-physical [gpa, gpa+len), or NULL when any byte of
 * it is outside guest RAM (including ranges straddling the PCI hole). */
void *guest_ram_ptr(uint64_t gpa, size_t len);

/* Copy helpers: 0 on success, -1 when the range is not entirely RAM. */
int guest_read(uint64_t gpa, void *buf, size_t len);
int guest_write(uint64_t gpa, const void *buf, size_t len);

uint64_t guest_ram_size(void);	   /* total, as given with -m */
uint64_t guest_ram_below_4g(void); /* bytes mapped at 0 */
uint64_t guest_ram_above_4g(void); /* bytes mapped at 4 GiB */

#endif
