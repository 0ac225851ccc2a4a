/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's firmware configuration interface, I/O port flavour: selector at
 * 0x510 (16 bit), data at 0x511 (8 bit, auto-increment). kite boots
 * kernels itself, but guests and tools probe fw_cfg for the signature,
 * RAM size, CPU count, the kernel/initrd/cmdline and the file directory.
 */
#include "fw_cfg.h"

#include <string.h>

#include "boot.h"
#include "device.h"
#include "io.h"
#include "machine.h"
#include "memory-internal.h"
#include "memory.h"

#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_ID	    0x01
#define FW_CFG_UUID	    0x02
#define FW_CFG_RAM_SIZE	    0x03
#define FW_CFG_NOGRAPHIC    0x04
#define FW_CFG_NB_CPUS	    0x05
#define FW_CFG_KERNEL_SIZE  0x08
#define FW_CFG_INITRD_SIZE  0x0b
#define FW_CFG_MAX_CPUS	    0x0f
#define FW_CFG_KERNEL_DATA  0x11
#define FW_CFG_INITRD_DATA  0x12
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_FILE_DIR	    0x19
#define FW_CFG_FILE_FIRST   0x20
#define FW_CFG_MAX_ITEMS    0x40

struct item {
	uint8_t *data;
	uint32_t len;
	bool borrowed; /* data belongs to someone else */
};

static struct item items[FW_CFG_MAX_ITEMS];
static uint16_t selector;
static uint32_t offset;
static GByteArray *file_dir;
static unsigned nfiles;

static void set_item(uint16_t key, const void *data, uint32_t len)
{
	if (key >= FW_CFG_MAX_ITEMS)
		return;
	if (!items[key].borrowed)
		g_free(items[key].data);
	items[key].data = g_memdup2(data, len);
	items[key].len = len;
	items[key].borrowed = false;
}

static void set_le(uint16_t key, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = v >> (8 * i);
	set_item(key, b, n);
}

static void add_file(const char *name, const void *data, uint32_t len)
{
	uint16_t key = FW_CFG_FILE_FIRST + nfiles;
	if (key >= FW_CFG_MAX_ITEMS)
		return;
	set_item(key, data, len);
	uint8_t e[64] = {0};
	e[0] = len >> 24;
	e[1] = len >> 16;
	e[2] = len >> 8;
	e[3] = len;
	e[4] = key >> 8;
	e[5] = key;
	strncpy((char *)e + 8, name, 55);
	g_byte_array_append(file_dir, e, sizeof(e));
	nfiles++;
	uint32_t n = nfiles;
	uint8_t cnt[4] = {n >> 24, n >> 16, n >> 8, n};
	memcpy(file_dir->data, cnt, 4);
	set_item(FW_CFG_FILE_DIR, file_dir->data, file_dir->len);
}

static uint64_t fw_cfg_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	if (off == 1 && size == 1) {
		struct item *it = selector < FW_CFG_MAX_ITEMS ? &items[selector] : NULL;
		if (!it || offset >= it->len)
			return 0;
		return it->data[offset++];
	}
	return 0;
}

static void fw_cfg_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)opaque;
	if (off == 0 && size == 2) {
		selector = value & 0x3fff; /* bit 14: write, bit 15: arch: ignored */
		offset = 0;
	}
	/* data writes are not supported by QEMU 2.4+ either */
}

static const struct io_ops fw_cfg_ops = {.read = fw_cfg_read, .write = fw_cfg_write};

static void fw_cfg_reset(void *opaque)
{
	(void)opaque;
	selector = 0;
	offset = 0;
}

static struct dev_model fw_cfg_model = {
    .name = "fw_cfg_io",
    .bus = "System",
    .category = "Misc devices",
    .no_user = true,
};
DEV_MODEL_REGISTER(fw_cfg_model)

void fw_cfg_init(void)
{
	file_dir = g_byte_array_new();
	uint8_t zero[4] = {0};
	g_byte_array_append(file_dir, zero, 4);
	set_item(FW_CFG_SIGNATURE, "QEMU", 4);
	set_le(FW_CFG_ID, 1, 4);
	io_region_add(IO_SPACE_PIO, 0x510, 2, &fw_cfg_ops, NULL, "fwcfg");
	machine_register_reset(fw_cfg_reset, NULL);
	dev_instance_add(&fw_cfg_model, NULL, NULL);
}

void fw_cfg_finish(void)
{
	uint8_t uuid[16] = {0};
	if (machine_cfg.uuid) {
		const char *s = machine_cfg.uuid;
		for (int i = 0, j = 0; s[j] && i < 16; j++) {
			if (s[j] == '-')
				continue;
			uuid[i] = g_ascii_xdigit_value(s[j]) << 4 | g_ascii_xdigit_value(s[j + 1]);
			i++;
			j++;
		}
	}
	set_item(FW_CFG_UUID, uuid, 16);
	set_le(FW_CFG_RAM_SIZE, machine_cfg.ram_size, 8);
	set_le(FW_CFG_NOGRAPHIC, 1, 2);
	set_le(FW_CFG_NB_CPUS, machine_cfg.smp, 2);
	set_le(FW_CFG_MAX_CPUS, machine_cfg.smp, 2);
	size_t klen, ilen;
	const uint8_t *k = boot_kernel_data(&klen);
	const uint8_t *i = boot_initrd_data(&ilen);
	set_le(FW_CFG_KERNEL_SIZE, klen, 4);
	set_le(FW_CFG_INITRD_SIZE, ilen, 4);
	/* large blobs are shared, not copied */
	items[FW_CFG_KERNEL_DATA] = (struct item){(uint8_t *)k, (uint32_t)klen, true};
	items[FW_CFG_INITRD_DATA] = (struct item){(uint8_t *)i, (uint32_t)ilen, true};
	const char *cmdline = boot_cmdline();
	set_le(FW_CFG_CMDLINE_SIZE, strlen(cmdline) + 1, 4);
	set_item(FW_CFG_CMDLINE_DATA, cmdline, strlen(cmdline) + 1);
	struct e820_entry map[E820_MAX];
	int n = e820_build(map, E820_MAX);
	GByteArray *e = g_byte_array_new();
	for (int j = 0; j < n; j++) {
		if (map[j].type != E820_RAM)
			continue;
		g_byte_array_append(e, (const uint8_t *)&map[j], 20);
	}
	add_file("etc/e820", e->data, e->len);
	g_byte_array_free(e, true);
}
