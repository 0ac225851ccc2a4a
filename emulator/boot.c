/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "boot.h"

#include <glib/gi18n.h>
#include <string.h>

#include "error.h"
#include "machine.h"
#include "memory-internal.h"
#include "memory.h"

static uint8_t *kernel_img, *initrd_img;
static size_t kernel_len, initrd_len;
static enum { KERNEL_NONE, KERNEL_ELF, KERNEL_BZIMAGE } kernel_kind;

const uint8_t *boot_kernel_data(size_t *len)
{
	*len = kernel_len;
	return kernel_img;
}

const uint8_t *boot_initrd_data(size_t *len)
{
	*len = initrd_len;
	return initrd_img;
}

const char *boot_cmdline(void)
{
	return machine_cfg.append ? machine_cfg.append : "";
}

static int read_file(const char *what, const char *path, uint8_t **data, size_t *len, GError **err)
{
	GError *e = NULL;
	gchar *buf;
	gsize n;
	if (!g_file_get_contents(path, &buf, &n, &e)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("could not load %s '%s': %s"),
			    what, path, e->message);
		g_error_free(e);
		return -1;
	}
	*data = (uint8_t *)buf;
	*len = n;
	return 0;
}

int boot_load_files(GError **err)
{
	if (!machine_cfg.kernel) {
		if (machine_cfg.initrd) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("-initrd only allowed with -kernel option"));
			return -1;
		}
		if (machine_cfg.append) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("-append only allowed with -kernel option"));
			return -1;
		}
		return 0;
	}
	if (read_file(_("kernel"), machine_cfg.kernel, &kernel_img, &kernel_len, err) < 0)
		return -1;
	if (machine_cfg.initrd &&
	    read_file(_("initrd"), machine_cfg.initrd, &initrd_img, &initrd_len, err) < 0)
		return -1;
	if (strlen(boot_cmdline()) >= LAYOUT_CMDLINE_MAX) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel command line too long (%zu bytes, at most %d)"),
			    strlen(boot_cmdline()), LAYOUT_CMDLINE_MAX - 1);
		return -1;
	}
	int r = pvh_check(kernel_img, kernel_len, machine_cfg.kernel, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		kernel_kind = KERNEL_ELF;
		return 0;
	}
	r = bzimage_check(kernel_img, kernel_len, machine_cfg.kernel, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		kernel_kind = KERNEL_BZIMAGE;
		return 0;
	}
	g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
		    _("kernel '%s' is neither a PVH ELF nor a Linux bzImage"), machine_cfg.kernel);
	return -1;
}

int e820_build(struct e820_entry *map, int max)
{
	int n = 0;
#define ADD(a, s, t)                                                                               \
	do {                                                                                       \
		if (n < max)                                                                       \
			map[n++] = (struct e820_entry){(a), (s), (t)};                             \
	} while (0)
	uint64_t low = guest_ram_below_4g();
	ADD(0, LAYOUT_EBDA, E820_RAM);
	ADD(LAYOUT_EBDA, 0xa0000 - LAYOUT_EBDA, E820_RESERVED);
	ADD(LAYOUT_BIOS_AREA, 0x100000 - LAYOUT_BIOS_AREA, E820_RESERVED);
	if (low > 0x100000)
		ADD(0x100000, low - 0x100000, E820_RAM);
	/* KVM's TSS and identity map pages */
	ADD(0xfeffc000, 0x4000, E820_RESERVED);
	if (guest_ram_above_4g())
		ADD(KITE_HIGHMEM_BASE, guest_ram_above_4g(), E820_RAM);
#undef ADD
	return n;
}

int boot_place_initrd(uint64_t max_addr, uint64_t *addr, uint64_t *size, GError **err)
{
	*addr = *size = 0;
	if (!initrd_img)
		return 0;
	uint64_t top = guest_ram_below_4g();
	if (max_addr && top > max_addr + 1)
		top = max_addr + 1;
	/* The initrd goes at the top of low RAM; it must leave the kernel's
	 * first 16 MiB alone. */
	if (initrd_len > top || top - initrd_len < 0x1000000) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("initrd '%s' is too large (%zu bytes) for the guest RAM"),
			    machine_cfg.initrd, initrd_len);
		return -1;
	}
	uint64_t a = (top - initrd_len) & ~0xfffULL;
	if (guest_write(a, initrd_img, initrd_len) < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("cannot place initrd"));
		return -1;
	}
	*addr = a;
	*size = initrd_len;
	return 0;
}

static void write_gdt(bool long_mode)
{
	uint64_t gdt[5] = {
	    0,
	    0,
	    long_mode ? 0x00af9a000000ffffULL : 0x00cf9a000000ffffULL, /* 0x10 code */
	    0x00cf92000000ffffULL,				       /* 0x18 data */
	    0x00af9a000000ffffULL,				       /* 0x20 code64 */
	};
	guest_write(LAYOUT_GDT, gdt, sizeof(gdt));
}

int boot_prepare(struct boot_entry *entry, GError **err)
{
	memset(entry, 0, sizeof(*entry));
	/* Firmware tables first: the kernel image may legitimately reuse the
	 * space later, never the other way round. */
	mptable_build();
	acpi_build();
	int r;
	switch (kernel_kind) {
	case KERNEL_ELF:
		r = pvh_load(kernel_img, kernel_len, entry, err);
		break;
	case KERNEL_BZIMAGE:
		r = bzimage_load(kernel_img, kernel_len, entry, err);
		break;
	default:
		/* No kernel: the vCPU would run from an empty reset vector
		 * (there is no BIOS). Halt in place instead: a tiny loop. */
		{
			static const uint8_t hlt_loop[] = {0xf4, 0xeb, 0xfd};
			guest_write(0x100000, hlt_loop, sizeof(hlt_loop));
			entry->mode = BOOT_MODE_PM32;
			entry->rip = 0x100000;
			r = 0;
		}
		break;
	}
	if (r < 0)
		return -1;
	write_gdt(entry->mode == BOOT_MODE_LONG64);
	return 0;
}
