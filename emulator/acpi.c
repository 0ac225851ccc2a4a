/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI: the tables (RSDP, RSDT, XSDT, FADT, FACS, MADT, DSDT with a
 * hand-assembled PCI root, _PRT and _S5) and a PIIX4-like PM block at
 * 0x600: PM1 event/control registers with the fixed power button, S5
 * power-off, and the 3.579545 MHz PM timer. SCI is GSI 9.
 *
 * PCI hot-plug follows QEMU's PIIX4: a GPE0 block at 0xafe0 (status and
 * enable, 2 bytes each; GPE 1 = PCI hot-plug) and the controller at 0xae00
 * (hotplug.c). The DSDT describes every hot-pluggable slot (Sxx, xx = devfn
 * in hex as in QEMU's tables) with _ADR, _SUN and _EJ0, and \_GPE._E01
 * reads the up/down bitmaps once (reading "up" clears it) and notifies the
 * slots: Device Check (1) for a new device, Eject Request (3) for
 * device_del. _CRS gives the root bridge's bus, I/O and memory windows.
 */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "device.h"
#include "io.h"
#include "machine.h"
#include "memory-internal.h"
#include "memory.h"
#include "monitor.h"
#include "pci.h"

#define PM_BASE 0x600
#define PM1_EVT (PM_BASE + 0)
#define PM1_CNT (PM_BASE + 4)
#define PM_TMR	(PM_BASE + 8)
#define SCI_IRQ 9

#define GPE0_BASE  0xafe0
#define GPE0_LEN   4
#define PCIHP_BASE 0xae00

#define PM1_STS_TMR    0x0001
#define PM1_STS_PWRBTN 0x0100
#define PM1_STS_WAK    0x8000
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000

#define RSDP_ADDR   LAYOUT_BIOS_AREA
#define TABLES_ADDR (LAYOUT_BIOS_AREA + 0x40)
#define TABLES_END  0xf0000 /* MP table lives above */

struct pm {
	uint16_t sts, en, cnt;
	uint16_t gpe_sts, gpe_en;
	int sci_level;
};
static struct pm pm;

static void sci_update(void)
{
	int level =
	    (pm.sts & pm.en & (PM1_STS_PWRBTN | PM1_STS_TMR)) != 0 || (pm.gpe_sts & pm.gpe_en) != 0;
	if (level != pm.sci_level) {
		pm.sci_level = level;
		irq_set_level(SCI_IRQ, level);
	}
}

static uint32_t pm_timer(void)
{
	int64_t ns = vclock_ns();
	/* 3579545 Hz; 128-bit product avoids overflow after ~80 years */
	return (uint32_t)(((__int128)ns * 3579545 / 1000000000) & 0xffffff);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	uint64_t v = 0;
	switch (off) {
	case 0:
		v = pm.sts | ((uint32_t)pm.en << 16);
		break;
	case 2:
		v = pm.en;
		break;
	case 4:
		v = pm.cnt;
		break;
	case 8:
		v = pm_timer();
		break;
	default:
		v = 0;
	}
	if (size < 8)
		v &= (1ULL << (size * 8)) - 1;
	return v;
}

static void pm_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	switch (off) {
	case 0:
		pm.sts &= ~(uint16_t)val; /* write 1 to clear */
		if (size == 4)
			pm.en = val >> 16;
		break;
	case 2:
		pm.en = val;
		break;
	case 4:
		pm.cnt = (val & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
		if (val & PM1_CNT_SLP_EN) {
			unsigned slp_typ = (val >> 10) & 7;
			/* _S5 is type 0 in kite's DSDT */
			if (slp_typ == 0)
				machine_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN, 0);
		}
		break;
	}
	sci_update();
}

static const struct io_ops pm_ops = {.read = pm_read, .write = pm_write};

/* GPE0: bytes 0-1 status (write 1 to clear), 2-3 enable; ACPICA accesses
 * them a byte at a time, any width works. */
static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	uint32_t regs = pm.gpe_sts | (uint32_t)pm.gpe_en << 16;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && off + i < GPE0_LEN; i++)
		v |= (uint64_t)((regs >> (8 * (off + i))) & 0xff) << (8 * i);
	return v;
}

static void gpe_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	for (unsigned i = 0; i < size && off + i < GPE0_LEN; i++) {
		unsigned byte = off + i;
		uint16_t b = (val >> (8 * i)) & 0xff;
		if (byte < 2)
			pm.gpe_sts &= ~(uint16_t)(b << (8 * byte));
		else
			pm.gpe_en =
			    (pm.gpe_en & ~(0xff << (8 * (byte - 2)))) | b << (8 * (byte - 2));
	}
	sci_update();
}

static const struct io_ops gpe_ops = {.read = gpe_read, .write = gpe_write};

void acpi_gpe_raise(unsigned bit);
void acpi_gpe_raise(unsigned bit)
{
	pm.gpe_sts |= 1u << bit;
	sci_update();
}

static void pm_reset(void *opaque)
{
	(void)opaque;
	pm.sts = pm.en = 0;
	pm.gpe_sts = pm.gpe_en = 0;
	pm.cnt = PM1_CNT_SCI_EN; /* no SMI_CMD: always in ACPI mode */
	sci_update();
}

/* false with -no-acpi: like QEMU's PC then, the machine has no PIIX4 PM
 * function, so no power button and no S5 */
static bool pm_present;

void machine_request_powerdown(void)
{
	if (pm_present) {
		pm.sts |= PM1_STS_PWRBTN;
		sci_update();
	}
	/* QEMU reports the request even when nothing in the machine hears it */
	qmp_event_emit("POWERDOWN", NULL);
}

static struct dev_model pm_model = {
    .name = "PIIX4_PM",
    .bus = "ISA",
    .category = "Misc devices",
    .no_user = true,
};
DEV_MODEL_REGISTER(pm_model)

void pcihp_init(void); /* hotplug.c */

void acpi_pm_init(void)
{
	pm_present = true;
	pm_reset(NULL);
	io_region_add(IO_SPACE_PIO, PM_BASE, 12, &pm_ops, NULL, "acpi-pm");
	io_region_add(IO_SPACE_PIO, GPE0_BASE, GPE0_LEN, &gpe_ops, NULL, "acpi-gpe0");
	pcihp_init();
	machine_register_reset(pm_reset, NULL);
	dev_instance_add(&pm_model, NULL, NULL);
}

/* ---- tables ---- */

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (uint8_t)-s;
}

static void header(GByteArray *t, const char *sig, uint8_t rev)
{
	uint8_t h[36] = {0};
	memcpy(h, sig, 4);
	h[8] = rev;
	memcpy(h + 10, "KITE  ", 6);
	memcpy(h + 16, "KITEVM  ", 8);
	h[24] = 1;		   /* OEM revision */
	memcpy(h + 28, "KITE", 4); /* creator */
	h[32] = 1;
	g_byte_array_append(t, h, sizeof(h));
}

static void put(GByteArray *t, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t b = v >> (8 * i);
		g_byte_array_append(t, &b, 1);
	}
}

static void finish(GByteArray *t)
{
	uint32_t len = t->len;
	memcpy(t->data + 4, &len, 4);
	t->data[9] = 0;
	t->data[9] = checksum(t->data, t->len);
}

static uint64_t table_next;

static uint64_t place(GByteArray *t, unsigned align)
{
	uint64_t a = (table_next + align - 1) & ~(uint64_t)(align - 1);
	if (a + t->len > TABLES_END)
		return 0; /* cannot happen with kite's few small tables */
	guest_write(a, t->data, t->len);
	table_next = a + t->len;
	g_byte_array_free(t, true);
	return a;
}

/* AML: PkgLength including its own bytes */
static void aml_pkglen(GByteArray *out, size_t body)
{
	if (body + 1 < 64) {
		put(out, body + 1, 1);
		return;
	}
	size_t total = body + 2;
	if (total < (1 << 12)) {
		put(out, 0x40 | (total & 0xf), 1);
		put(out, total >> 4, 1);
		return;
	}
	total = body + 3;
	put(out, 0x80 | (total & 0xf), 1);
	put(out, (total >> 4) & 0xff, 1);
	put(out, total >> 12, 1);
}

static void aml_int(GByteArray *o, uint32_t v)
{
	if (v == 0) {
		put(o, 0x00, 1);
	} else if (v == 1) {
		put(o, 0x01, 1);
	} else if (v <= 0xff) {
		put(o, 0x0a, 1);
		put(o, v, 1);
	} else if (v <= 0xffff) {
		put(o, 0x0b, 1);
		put(o, v, 2);
	} else {
		put(o, 0x0c, 1);
		put(o, v, 4);
	}
}

/* Wrap body as op + PkgLength + [prefix] + body. */
static void aml_wrap(GByteArray *o, const uint8_t *op, size_t oplen, GByteArray *body)
{
	g_byte_array_append(o, op, oplen);
	aml_pkglen(o, body->len);
	g_byte_array_append(o, body->data, body->len);
	g_byte_array_free(body, true);
}

/* NameString: "\\_SB_.PCI0.PCNT" (root-relative) or a single "PCIU". */
static void aml_path(GByteArray *o, const char *path)
{
	if (*path == '\\') {
		put(o, '\\', 1);
		path++;
	}
	gchar **segs = g_strsplit(path, ".", -1);
	guint n = g_strv_length(segs);
	if (n == 2)
		put(o, 0x2e, 1); /* DualNamePrefix */
	else if (n > 2) {
		put(o, 0x2f, 1); /* MultiNamePrefix */
		put(o, n, 1);
	}
	for (guint i = 0; i < n; i++) {
		char seg[4] = {'_', '_', '_', '_'};
		memcpy(seg, segs[i], MIN(strlen(segs[i]), 4));
		g_byte_array_append(o, (const uint8_t *)seg, 4);
	}
	g_strfreev(segs);
}

#define AML_ZERO      0x00
#define AML_ONE	      0x01
#define AML_NAME      0x08
#define AML_STRING    0x0d
#define AML_SCOPE     0x10
#define AML_BUFFER    0x11
#define AML_PACKAGE   0x12
#define AML_METHOD    0x14
#define AML_LOCAL0    0x60
#define AML_LOCAL1    0x61
#define AML_STORE     0x70
#define AML_AND	      0x7b
#define AML_NOTIFY    0x86
#define AML_IF	      0xa0
#define AML_EXT	      0x5b
#define AML_OPREGION  0x80 /* after AML_EXT */
#define AML_FIELD     0x81
#define AML_DEVICE    0x82
#define AML_SYSTEM_IO 0x01

static void aml_opcode_block(GByteArray *o, uint8_t op, GByteArray *body)
{
	aml_wrap(o, &op, 1, body);
}

static void aml_ext_block(GByteArray *o, uint8_t op, GByteArray *body)
{
	const uint8_t ops[2] = {AML_EXT, op};
	aml_wrap(o, ops, 2, body);
}

/* Name (NAME, Integer) */
static void aml_name_int(GByteArray *o, const char *name, uint32_t v)
{
	put(o, AML_NAME, 1);
	aml_path(o, name);
	aml_int(o, v);
}

/* OperationRegion (NAME, SystemIO, port, len) with one Field of 32-bit
 * registers, DWordAcc, NoLock, WriteAsZeros. */
static void aml_io_fields(GByteArray *o, const char *region, uint16_t port,
			  const char *const *fields, unsigned n)
{
	put(o, AML_EXT, 1);
	put(o, AML_OPREGION, 1);
	aml_path(o, region);
	put(o, AML_SYSTEM_IO, 1);
	aml_int(o, port);
	aml_int(o, 4 * n);
	GByteArray *f = g_byte_array_new();
	aml_path(f, region);
	put(f, 0x03 | (2 << 5), 1); /* DWordAcc, NoLock, WriteAsZeros */
	for (unsigned i = 0; i < n; i++) {
		aml_path(f, fields[i]);
		put(f, 32, 1); /* bit length as a one-byte PkgLength */
	}
	aml_ext_block(o, AML_FIELD, f);
}

static void slot_name(char out[5], unsigned slot)
{
	snprintf(out, 5, "S%02X", slot << 3);
}

/* _CRS of the root bridge: buses 0-255, config ports, I/O outside them,
 * the VGA window and the 32-bit window BARs are placed in. */
static GByteArray *root_bridge_crs(void)
{
	GByteArray *r = g_byte_array_new();
	/* WordBusNumber (producer, MinFixed, MaxFixed) 0-0xff */
	put(r, 0x88, 1), put(r, 0x0d, 2), put(r, 2, 1), put(r, 0x0c, 1), put(r, 0, 1);
	put(r, 0, 2), put(r, 0, 2), put(r, 0xff, 2), put(r, 0, 2), put(r, 0x100, 2);
	/* IO (Decode16, 0xcf8, 0xcf8, 1, 8): the configuration mechanism */
	put(r, 0x47, 1), put(r, 1, 1), put(r, 0xcf8, 2), put(r, 0xcf8, 2), put(r, 1, 1),
	    put(r, 8, 1);
	static const uint16_t io[2][2] = {{0x0000, 0x0cf7}, {0x0d00, 0xffff}};
	for (int i = 0; i < 2; i++) {
		/* WordIO (producer, MinFixed, MaxFixed, EntireRange) */
		put(r, 0x88, 1), put(r, 0x0d, 2), put(r, 1, 1), put(r, 0x0c, 1), put(r, 3, 1);
		put(r, 0, 2), put(r, io[i][0], 2), put(r, io[i][1], 2), put(r, 0, 2);
		put(r, io[i][1] - io[i][0] + 1, 2);
	}
	static const uint32_t mem[2][2] = {
	    {0x000a0000, 0x000bffff},
	    {(uint32_t)KITE_PCI_MMIO_BASE, (uint32_t)(KITE_PCI_MMIO_END - 1)}};
	for (int i = 0; i < 2; i++) {
		/* DWordMemory (producer, MinFixed, MaxFixed, Cacheable, ReadWrite) */
		put(r, 0x87, 1), put(r, 0x17, 2), put(r, 0, 1), put(r, 0x0c, 1), put(r, 3, 1);
		put(r, 0, 4), put(r, mem[i][0], 4), put(r, mem[i][1], 4), put(r, 0, 4);
		put(r, mem[i][1] - mem[i][0] + 1, 4);
	}
	put(r, 0x79, 1), put(r, 0, 1); /* EndTag, checksum 0 = none */

	GByteArray *buf = g_byte_array_new();
	aml_int(buf, r->len);
	g_byte_array_append(buf, r->data, r->len);
	g_byte_array_free(r, true);
	GByteArray *o = g_byte_array_new();
	aml_opcode_block(o, AML_BUFFER, buf);
	return o;
}

/* Slots, PCNT and the register fields of hotplug.c's controller. */
static void pci_hotplug_aml(GByteArray *dev)
{
	static const char *const pcst[] = {"PCIU", "PCID"};
	static const char *const sej[] = {"B0EJ"};
	static const char *const bnmr[] = {"BNUM"};
	aml_io_fields(dev, "PCST", PCIHP_BASE, pcst, 2);
	aml_io_fields(dev, "SEJ", PCIHP_BASE + 8, sej, 1);
	aml_io_fields(dev, "BNMR", PCIHP_BASE + 0x10, bnmr, 1);

	for (unsigned slot = 2; slot < 32; slot++) {
		char name[5];
		slot_name(name, slot);
		GByteArray *d = g_byte_array_new();
		aml_path(d, name);
		aml_name_int(d, "_ADR", slot << 16);
		aml_name_int(d, "_SUN", slot);
		/* Method (_EJ0, 1) { BNUM = 0; B0EJ = 1 << slot } */
		GByteArray *m = g_byte_array_new();
		aml_path(m, "_EJ0");
		put(m, 1, 1);
		put(m, AML_STORE, 1), put(m, AML_ZERO, 1), aml_path(m, "BNUM");
		put(m, AML_STORE, 1), aml_int(m, 1u << slot), aml_path(m, "B0EJ");
		aml_opcode_block(d, AML_METHOD, m);
		aml_ext_block(dev, AML_DEVICE, d);
	}

	/* Method (PCNT) { BNUM = 0; Local0 = PCIU; Local1 = PCID;
	 *   If (Local0 & bit) { Notify (Sxx, 1) } If (Local1 & bit) { Notify (Sxx, 3) } } */
	GByteArray *m = g_byte_array_new();
	aml_path(m, "PCNT");
	put(m, 0, 1);
	put(m, AML_STORE, 1), put(m, AML_ZERO, 1), aml_path(m, "BNUM");
	put(m, AML_STORE, 1), aml_path(m, "PCIU"), put(m, AML_LOCAL0, 1);
	put(m, AML_STORE, 1), aml_path(m, "PCID"), put(m, AML_LOCAL1, 1);
	for (unsigned slot = 2; slot < 32; slot++) {
		char name[5];
		slot_name(name, slot);
		for (int down = 0; down < 2; down++) {
			GByteArray *body = g_byte_array_new();
			put(body, AML_AND, 1);
			put(body, down ? AML_LOCAL1 : AML_LOCAL0, 1);
			aml_int(body, 1u << slot);
			put(body, AML_ZERO, 1); /* no target */
			put(body, AML_NOTIFY, 1);
			aml_path(body, name);
			aml_int(body, down ? 3 : 1);
			aml_opcode_block(m, AML_IF, body);
		}
	}
	aml_opcode_block(dev, AML_METHOD, m);
}

static GByteArray *build_dsdt(void)
{
	GByteArray *prt = g_byte_array_new();
	unsigned count = 0;
	GByteArray *elems = g_byte_array_new();
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			static const uint8_t gsi[4] = {10, 10, 11, 11};
			GByteArray *e = g_byte_array_new();
			put(e, 4, 1); /* NumElements */
			aml_int(e, (slot << 16) | 0xffff);
			aml_int(e, pin);
			aml_int(e, 0);
			aml_int(e, gsi[(pin + slot - 1) & 3]);
			aml_opcode_block(elems, AML_PACKAGE, e);
			count++;
		}
	}
	put(prt, count, 1);
	g_byte_array_append(prt, elems->data, elems->len);
	g_byte_array_free(elems, true);

	GByteArray *dev = g_byte_array_new();
	aml_path(dev, "PCI0");
	put(dev, AML_NAME, 1);
	aml_path(dev, "_HID");
	put(dev, 0x0c, 1);
	put(dev, 0x030ad041, 4); /* EisaId("PNP0A03") */
	aml_name_int(dev, "_ADR", 0);
	aml_name_int(dev, "_UID", 0);
	put(dev, AML_NAME, 1);
	aml_path(dev, "_PRT");
	aml_opcode_block(dev, AML_PACKAGE, prt);
	put(dev, AML_NAME, 1);
	aml_path(dev, "_CRS");
	GByteArray *crs = root_bridge_crs();
	g_byte_array_append(dev, crs->data, crs->len);
	g_byte_array_free(crs, true);
	if (pm_present)
		pci_hotplug_aml(dev);

	GByteArray *scope = g_byte_array_new();
	aml_path(scope, "\\_SB_");
	aml_ext_block(scope, AML_DEVICE, dev);

	GByteArray *t = g_byte_array_new();
	header(t, "DSDT", 1);
	aml_opcode_block(t, AML_SCOPE, scope);
	if (pm_present) {
		/* Scope (\_GPE) { Name (_HID, "ACPI0006") Method (_E01) { \_SB.PCI0.PCNT } } */
		GByteArray *gpe = g_byte_array_new();
		aml_path(gpe, "\\_GPE");
		put(gpe, AML_NAME, 1);
		aml_path(gpe, "_HID");
		put(gpe, AML_STRING, 1);
		g_byte_array_append(gpe, (const uint8_t *)"ACPI0006", 9);
		GByteArray *m = g_byte_array_new();
		aml_path(m, "_E01");
		put(m, 0, 1);
		aml_path(m, "\\_SB_.PCI0.PCNT");
		aml_opcode_block(gpe, AML_METHOD, m);
		aml_opcode_block(t, AML_SCOPE, gpe);
	}
	/* Name (\_S5, Package (4) {0, 0, 0, 0}) */
	put(t, AML_NAME, 1);
	aml_path(t, "\\_S5_");
	GByteArray *s5 = g_byte_array_new();
	put(s5, 4, 1);
	for (int i = 0; i < 4; i++)
		aml_int(s5, 0);
	aml_opcode_block(t, AML_PACKAGE, s5);
	finish(t);
	return t;
}

static GByteArray *build_fadt(uint32_t facs, uint32_t dsdt)
{
	GByteArray *t = g_byte_array_new();
	header(t, "FACP", 3);
	g_byte_array_set_size(t, 244);
	memset(t->data + 36, 0, 244 - 36);
	uint8_t *f = t->data;
	memcpy(f + 36, &facs, 4);
	memcpy(f + 40, &dsdt, 4);
	f[45] = 0; /* unspecified PM profile */
	uint16_t sci = SCI_IRQ;
	memcpy(f + 46, &sci, 2);
	uint32_t v;
	v = PM1_EVT;
	memcpy(f + 56, &v, 4);
	v = PM1_CNT;
	memcpy(f + 64, &v, 4);
	v = PM_TMR;
	memcpy(f + 76, &v, 4);
	f[88] = 4; /* PM1_EVT_LEN */
	f[89] = 2; /* PM1_CNT_LEN */
	f[91] = 4; /* PM_TMR_LEN */
	if (pm_present) {
		v = GPE0_BASE;
		memcpy(f + 80, &v, 4);
		f[92] = GPE0_LEN;
	}
	uint16_t lat = 0xfff; /* C2/C3 not supported */
	memcpy(f + 96, &lat, 2);
	memcpy(f + 98, &lat, 2);
	f[108] = 0x32;		     /* CENTURY in CMOS */
	uint16_t boot_arch = 0x0002; /* 8042 present */
	memcpy(f + 109, &boot_arch, 2);
	/* WBINVD, PROC_C1, SLP_BUTTON (none), RESET_REG_SUP */
	uint32_t flags = (1 << 0) | (1 << 2) | (1 << 5) | (1 << 10);
	memcpy(f + 112, &flags, 4);
	/* RESET_REG: system I/O 0xcf9, byte access, value 6 */
	f[116] = 1;
	f[117] = 8;
	f[119] = 1;
	uint64_t rst = 0xcf9;
	memcpy(f + 120, &rst, 8);
	f[128] = 0x06;
	uint64_t x = facs;
	memcpy(f + 132, &x, 8);
	x = dsdt;
	memcpy(f + 140, &x, 8);
	finish(t);
	return t;
}

static GByteArray *build_madt(void)
{
	GByteArray *t = g_byte_array_new();
	header(t, "APIC", 3);
	put(t, 0xfee00000, 4);
	put(t, 1, 4); /* PCAT_COMPAT: there are 8259s */
	for (unsigned i = 0; i < machine_cfg.smp; i++) {
		put(t, 0, 1);
		put(t, 8, 1);
		put(t, i, 1); /* ACPI processor id */
		put(t, i, 1); /* APIC id */
		put(t, 1, 4); /* enabled */
	}
	put(t, 1, 1);
	put(t, 12, 1);
	put(t, machine_cfg.smp, 1); /* IOAPIC id after the CPUs */
	put(t, 0, 1);
	put(t, 0xfec00000, 4);
	put(t, 0, 4);
	/* ISA IRQ 0 -> GSI 2; 5, 9, 10, 11 level-triggered, active high */
	static const struct {
		uint8_t src, gsi;
		uint16_t flags;
	} iso[] = {{0, 2, 0}, {5, 5, 0xd}, {9, 9, 0xd}, {10, 10, 0xd}, {11, 11, 0xd}};
	for (size_t i = 0; i < G_N_ELEMENTS(iso); i++) {
		put(t, 2, 1);
		put(t, 10, 1);
		put(t, 0, 1);
		put(t, iso[i].src, 1);
		put(t, iso[i].gsi, 4);
		put(t, iso[i].flags, 2);
	}
	/* LINT1 of all processors is NMI */
	put(t, 4, 1);
	put(t, 6, 1);
	put(t, 0xff, 1);
	put(t, 0, 2);
	put(t, 1, 1);
	finish(t);
	return t;
}

static uint64_t rsdp_addr;
static bool acpi_disabled;

void acpi_disable(void)
{
	acpi_disabled = true;
}

uint64_t acpi_rsdp_address(void)
{
	return rsdp_addr;
}

uint64_t acpi_build(void)
{
	if (acpi_disabled)
		return 0;
	table_next = TABLES_ADDR;
	GByteArray *facs = g_byte_array_sized_new(64);
	g_byte_array_set_size(facs, 64);
	memset(facs->data, 0, 64);
	memcpy(facs->data, "FACS", 4);
	facs->data[4] = 64;
	facs->data[32] = 1; /* version */
	uint32_t facs_addr = place(facs, 64);
	uint32_t dsdt_addr = place(build_dsdt(), 16);
	uint32_t fadt_addr = place(build_fadt(facs_addr, dsdt_addr), 16);
	uint32_t madt_addr = place(build_madt(), 16);

	GByteArray *rsdt = g_byte_array_new();
	header(rsdt, "RSDT", 1);
	put(rsdt, fadt_addr, 4);
	put(rsdt, madt_addr, 4);
	finish(rsdt);
	uint32_t rsdt_addr = place(rsdt, 16);

	GByteArray *xsdt = g_byte_array_new();
	header(xsdt, "XSDT", 1);
	put(xsdt, fadt_addr, 8);
	put(xsdt, madt_addr, 8);
	finish(xsdt);
	uint64_t xsdt_addr = place(xsdt, 16);

	uint8_t rsdp[36] = {0};
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "KITE  ", 6);
	rsdp[15] = 2; /* ACPI 2.0+ */
	memcpy(rsdp + 16, &rsdt_addr, 4);
	uint32_t len = 36;
	memcpy(rsdp + 20, &len, 4);
	memcpy(rsdp + 24, &xsdt_addr, 8);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	guest_write(RSDP_ADDR, rsdp, sizeof(rsdp));
	rsdp_addr = RSDP_ADDR;
	return rsdp_addr;
}
