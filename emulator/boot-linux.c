/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux bzImage via the 64-bit boot protocol (>= 2.06 for cmdline_size;
 * 64-bit entry needs XLF_KERNEL_64): the protected-mode kernel is loaded at
 * 1 MiB and entered at +0x200 in long mode with identity page tables kite
 * builds, %rsi pointing at the zero page.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "memory-internal.h"
#include "memory.h"

/* Offsets in the zero page / setup header. */
#define ZP_E820_ENTRIES	    0x1e8
#define HDR_SETUP_SECTS	    0x1f1
#define HDR_BOOT_FLAG	    0x1fe
#define HDR_JUMP	    0x200
#define HDR_MAGIC	    0x202
#define HDR_VERSION	    0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS	    0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS	    0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_INIT_SIZE	    0x260
#define ZP_E820_TABLE	    0x2d0
#define ZP_E820_MAX	    128

#define XLF_KERNEL_64 0x1

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static size_t setup_size(const uint8_t *img)
{
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	return (sects + 1) * 512;
}

int bzimage_check(const uint8_t *img, size_t len, const char *path, GError **err)
{
	if (len < 0x300 || rd16(img + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return 0;
	uint16_t version = rd16(img + HDR_VERSION);
	if (version < 0x206) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s': Linux boot protocol %u.%02u is too old (2.06 or "
			      "later is needed)"),
			    path, version >> 8, version & 0xff);
		return -1;
	}
	if (version < 0x20c || !(rd16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s' has no 64-bit entry point (32-bit kernels are not "
			      "supported)"),
			    path);
		return -1;
	}
	size_t setup = setup_size(img);
	if (setup >= len) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s' is truncated (setup code beyond the end)"), path);
		return -1;
	}
	uint64_t need = len - setup;
	uint32_t init_size = rd32(img + HDR_INIT_SIZE);
	if (init_size > need)
		need = init_size;
	if (!guest_ram_ptr(LAYOUT_KERNEL, need)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s' needs %llu bytes of RAM above 1 MiB: the guest is too "
			      "small"),
			    path, (unsigned long long)need);
		return -1;
	}
	return 1;
}

static void build_identity_tables(void)
{
	/* PML4[0] -> PDPT; PDPT[0..3] -> 4 PDs of 2 MiB pages: 0-4 GiB. */
	uint64_t pml4[512] = {0}, pdpt[512] = {0};
	pml4[0] = (LAYOUT_PML4 + 0x1000) | 3;
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (LAYOUT_PML4 + 0x2000 + i * 0x1000) | 3;
		uint64_t pd[512];
		for (int j = 0; j < 512; j++)
			pd[j] = (((uint64_t)i << 30) + ((uint64_t)j << 21)) | 0x83;
		guest_write(LAYOUT_PML4 + 0x2000 + i * 0x1000, pd, sizeof(pd));
	}
	guest_write(LAYOUT_PML4, pml4, sizeof(pml4));
	guest_write(LAYOUT_PML4 + 0x1000, pdpt, sizeof(pdpt));
}

int bzimage_load(const uint8_t *img, size_t len, struct boot_entry *be, GError **err)
{
	size_t setup = setup_size(img);
	if (guest_write(LAYOUT_KERNEL, img + setup, len - setup) < 0)
		return -1;

	uint8_t zp[4096] = {0};
	/* the setup header: from 0x1f1 to the end given by the jump at 0x200 */
	size_t hdr_end = 0x202 + img[0x201];
	if (hdr_end > sizeof(zp))
		hdr_end = sizeof(zp);
	if (hdr_end > setup)
		hdr_end = setup;
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] |= 0x80;  /* CAN_USE_HEAP */
	zp[HDR_LOADFLAGS] &= ~0x20; /* QUIET_FLAG off */
	wr32(zp + HDR_CODE32_START, LAYOUT_KERNEL);

	const char *cmdline = boot_cmdline();
	uint32_t cmdline_max = rd32(img + HDR_CMDLINE_SIZE);
	if (strlen(cmdline) > cmdline_max) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel command line too long for this kernel (%zu bytes, at most "
			      "%u)"),
			    strlen(cmdline), cmdline_max);
		return -1;
	}
	guest_write(LAYOUT_CMDLINE, cmdline, strlen(cmdline) + 1);
	wr32(zp + HDR_CMD_LINE_PTR, LAYOUT_CMDLINE);

	uint64_t initrd_addr, initrd_size;
	if (boot_place_initrd(rd32(img + HDR_INITRD_ADDR_MAX), &initrd_addr, &initrd_size, err) < 0)
		return -1;
	wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);

	struct e820_entry map[E820_MAX];
	int n = e820_build(map, E820_MAX);
	memcpy(zp + ZP_E820_TABLE, map, n * sizeof(map[0]));
	zp[ZP_E820_ENTRIES] = n;
	/* acpi_rsdp_addr (boot protocol 2.14) at 0x070 */
	uint64_t rsdp = acpi_rsdp_address();
	memcpy(zp + 0x070, &rsdp, 8);
	guest_write(LAYOUT_ZERO_PAGE, zp, sizeof(zp));

	build_identity_tables();
	be->mode = BOOT_MODE_LONG64;
	be->rip = LAYOUT_KERNEL + 0x200;
	be->rsi = LAYOUT_ZERO_PAGE;
	return 0;
}
