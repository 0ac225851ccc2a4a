/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Direct kernel boot (-kernel/-initrd/-append): PVH ELF and Linux bzImage. */
#ifndef KITE_BOOT_H
#define KITE_BOOT_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

/* Read -kernel/-initrd once and check the kernel format (errors name the
 * file). Called at start-up before anything runs. */
int boot_load_files(GError **err);
/* (Re)write the kernel, boot structures and firmware tables into guest RAM
 * and describe how the BSP starts. Used at start-up and on every reset. */
int boot_prepare(struct boot_entry *entry, GError **err);

/* Contents read by boot_load_files(), for fw_cfg. */
const uint8_t *boot_kernel_data(size_t *len);
const uint8_t *boot_initrd_data(size_t *len);

/* boot-pvh.c: returns 1 when the image is an ELF (loaded, entry filled),
 * 0 when it is not an ELF, -1 with err on a bad ELF. */
int pvh_check(const uint8_t *img, size_t len, const char *path, GError **err);
int pvh_load(const uint8_t *img, size_t len, struct boot_entry *entry, GError **err);
/* boot-linux.c: same convention for bzImage. */
int bzimage_check(const uint8_t *img, size_t len, const char *path, GError **err);
int bzimage_load(const uint8_t *img, size_t len, struct boot_entry *entry, GError **err);

/* Shared by both loaders (boot.c). */
const char *boot_cmdline(void);
/* Guest-physical address where the initrd was put (0 = none). */
int boot_place_initrd(uint64_t max_addr, uint64_t *addr, uint64_t *size, GError **err);

/* Firmware tables (acpi.c, mptable.c); return the address of the RSDP /
 * MP floating pointer. */
uint64_t acpi_build(void);
uint64_t acpi_rsdp_address(void);
void acpi_disable(void); /* -no-acpi */
void mptable_build(void);

#endif
