/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PVH boot of an ELF kernel: the ELF note XEN_ELFNOTE_PHYS32_ENTRY gives a
 * 32-bit entry point that is entered in flat protected mode with %ebx
 * pointing at struct hvm_start_info. Every offset and size in the ELF is
 * checked against the file and against guest RAM.
 */
#include <elf.h>
#include <glib/gi18n.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "memory-internal.h"
#include "memory.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

/* A program header or section header normalised from ELF32/ELF64. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_view {
	const uint8_t *img;
	size_t len;
	bool is64;
	unsigned phnum;
	uint64_t phoff;
	unsigned phentsize;
};

static bool in_file(const struct elf_view *e, uint64_t off, uint64_t n)
{
	return off <= e->len && n <= e->len - off;
}

static void get_phdr(const struct elf_view *e, unsigned i, struct phdr *p)
{
	const uint8_t *raw = e->img + e->phoff + (uint64_t)i * e->phentsize;
	if (e->is64) {
		Elf64_Phdr h;
		memcpy(&h, raw, sizeof(h));
		*p = (struct phdr){h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
	} else {
		Elf32_Phdr h;
		memcpy(&h, raw, sizeof(h));
		*p = (struct phdr){h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
	}
}

/* 1 = ELF parsed (view filled), 0 = not an ELF, -1 = malformed. */
static int elf_open(const uint8_t *img, size_t len, const char *path, struct elf_view *e,
		    GError **err)
{
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return 0;
	memset(e, 0, sizeof(*e));
	e->img = img;
	e->len = len;
	if (img[EI_DATA] != ELFDATA2LSB)
		goto bad;
	if (img[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr h;
		if (len < sizeof(h))
			goto bad;
		memcpy(&h, img, sizeof(h));
		e->is64 = true;
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
		if (e->phentsize < sizeof(Elf64_Phdr))
			goto bad;
	} else if (img[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr h;
		if (len < sizeof(h))
			goto bad;
		memcpy(&h, img, sizeof(h));
		e->phoff = h.e_phoff;
		e->phnum = h.e_phnum;
		e->phentsize = h.e_phentsize;
		if (e->phentsize < sizeof(Elf32_Phdr))
			goto bad;
	} else {
		goto bad;
	}
	if (e->phnum == 0 || !in_file(e, e->phoff, (uint64_t)e->phnum * e->phentsize))
		goto bad;
	return 1;
bad:
	g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
		    _("kernel '%s' is a malformed ELF file (bad header or program headers)"), path);
	return -1;
}

/* Find the PVH entry in PT_NOTE segments; 0 when absent. */
static int find_pvh_entry(const struct elf_view *e, uint64_t *entry)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr p;
		get_phdr(e, i, &p);
		if (p.type != PT_NOTE || !in_file(e, p.offset, p.filesz))
			continue;
		uint64_t off = 0;
		while (off + 12 <= p.filesz) {
			uint32_t hdr[3];
			memcpy(hdr, e->img + p.offset + off, 12);
			uint64_t namesz = hdr[0], descsz = hdr[1];
			uint64_t name_off = off + 12;
			uint64_t desc_off = name_off + ((namesz + 3) & ~3ULL);
			uint64_t next = desc_off + ((descsz + 3) & ~3ULL);
			if (next > p.filesz || next <= off)
				break;
			const uint8_t *name = e->img + p.offset + name_off;
			if (hdr[2] == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
			    memcmp(name, "Xen", 4) == 0 && (descsz == 4 || descsz == 8)) {
				uint64_t v = 0;
				memcpy(&v, e->img + p.offset + desc_off, descsz);
				*entry = v;
				return 1;
			}
			off = next;
		}
	}
	return 0;
}

int pvh_check(const uint8_t *img, size_t len, const char *path, GError **err)
{
	struct elf_view e;
	int r = elf_open(img, len, path, &e, err);
	if (r <= 0)
		return r;
	uint64_t entry;
	if (!find_pvh_entry(&e, &entry)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Error loading uncompressed kernel without PVH ELF Note ('%s')"),
			    path);
		return -1;
	}
	/* Validate every loadable segment now so a bad ELF fails at start-up,
	 * before anything runs. */
	bool any = false;
	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr p;
		get_phdr(&e, i, &p);
		if (p.type != PT_LOAD)
			continue;
		any = true;
		if (!in_file(&e, p.offset, p.filesz) || p.filesz > p.memsz) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("kernel '%s': segment %u lies outside the file"), path, i);
			return -1;
		}
		if (p.memsz && !guest_ram_ptr(p.paddr, p.memsz)) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("kernel '%s': segment %u (0x%llx+0x%llx) does not fit in "
				      "guest RAM"),
				    path, i, (unsigned long long)p.paddr,
				    (unsigned long long)p.memsz);
			return -1;
		}
		if (p.paddr < 0x100000 && p.memsz) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("kernel '%s': segment %u loads below 1 MiB (0x%llx), where "
				      "the boot structures live"),
				    path, i, (unsigned long long)p.paddr);
			return -1;
		}
	}
	if (!any) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s' has no loadable segment"), path);
		return -1;
	}
	if (entry >= 0x100000000ULL) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("kernel '%s': PVH entry point 0x%llx is not a 32-bit address"), path,
			    (unsigned long long)entry);
		return -1;
	}
	return 1;
}

int pvh_load(const uint8_t *img, size_t len, struct boot_entry *be, GError **err)
{
	struct elf_view e;
	if (elf_open(img, len, "", &e, err) <= 0)
		return -1;
	uint64_t entry = 0;
	find_pvh_entry(&e, &entry);
	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr p;
		get_phdr(&e, i, &p);
		if (p.type != PT_LOAD || !p.memsz)
			continue;
		uint8_t *dst = guest_ram_ptr(p.paddr, p.memsz); /* checked in pvh_check */
		if (!dst)
			return -1;
		memcpy(dst, img + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
	}

	const char *cmdline = boot_cmdline();
	guest_write(LAYOUT_CMDLINE, cmdline, strlen(cmdline) + 1);

	struct e820_entry map[E820_MAX];
	int n = e820_build(map, E820_MAX);
	struct hvm_memmap_entry mm[E820_MAX];
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){map[i].addr, map[i].size, map[i].type, 0};
	uint64_t memmap_addr = LAYOUT_START_INFO + 0x100;
	uint64_t modlist_addr = LAYOUT_START_INFO + 0x800;
	guest_write(memmap_addr, mm, sizeof(mm[0]) * n);

	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = LAYOUT_CMDLINE,
	    .rsdp_paddr = acpi_rsdp_address(),
	    .memmap_paddr = memmap_addr,
	    .memmap_entries = n,
	};
	uint64_t initrd_addr, initrd_size;
	if (boot_place_initrd(0xffffffff, &initrd_addr, &initrd_size, err) < 0)
		return -1;
	if (initrd_size) {
		struct hvm_modlist_entry mod = {.paddr = initrd_addr, .size = initrd_size};
		guest_write(modlist_addr, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = modlist_addr;
	}
	guest_write(LAYOUT_START_INFO, &si, sizeof(si));

	be->mode = BOOT_MODE_PM32;
	be->rip = entry;
	be->rbx = LAYOUT_START_INFO;
	return 0;
}
