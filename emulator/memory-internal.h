/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest RAM set-up, for the machine code only. */
#ifndef KITE_MEMORY_INTERNAL_H
#define KITE_MEMORY_INTERNAL_H

#include <glib.h>
#include <stdint.h>

int guest_ram_alloc(uint64_t size, GError **err);
/* Host address of the whole allocation (low RAM then high RAM). */
uint8_t *guest_ram_base(void);

/* e820 map shared by PVH start_info, the Linux zero page and fw_cfg. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_MAX      16
int e820_build(struct e820_entry *map, int max);

/* Fixed guest-physical layout of what kite writes into low memory. */
#define LAYOUT_GDT	   0x500
#define LAYOUT_START_INFO  0x1000 /* hvm_start_info + memmap + modlist */
#define LAYOUT_ZERO_PAGE   0x7000 /* Linux boot_params */
#define LAYOUT_PML4	   0x9000 /* identity page tables: PML4, PDPT, 4 PDs */
#define LAYOUT_CMDLINE	   0x20000
#define LAYOUT_CMDLINE_MAX 0x10000
#define LAYOUT_EBDA	   0x9fc00
#define LAYOUT_BIOS_AREA   0xe0000 /* ACPI tables and MP table, up to 1 MiB */
#define LAYOUT_KERNEL	   0x100000

#endif
