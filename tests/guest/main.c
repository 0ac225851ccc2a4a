// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Ring-3 entry of the test guest: boot.S calls kmain() with the physical
 * address of the PVH start_info once it runs in ring 3 with .bss cleared.
 */
#include "arch.h"

void kmain(uint32_t start_info_paddr);

void kmain(uint32_t start_info_paddr)
{
	serial_init();
	arch_init(start_info_paddr);
	run_command_line(boot_info.cmdline);
}
