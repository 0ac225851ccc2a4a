/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI: the tables (RSDP, RSDT, XSDT, FADT, FACS, MADT, DSDT with a
 * hand-assembled PCI root, _PRT and _S5) and a PIIX4-like PM block at
 * 0x600: PM1 event/control registers with the fixed power button, S5
 * power-off, and the 3.579545 MHz PM timer. SCI is GSI 9.
 */
#include <glib/gi18n.h>
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
	int sci_level;
};
static struct pm pm;

static void sci_update(void)
{
	int level = (pm.sts & pm.en & (PM1_STS_PWRBTN | PM1_STS_TMR)) != 0;
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

static void pm_reset(void *opaque)
{
	(void)opaque;
	pm.sts = pm.en = 0;
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

void acpi_pm_init(void)
{
	pm_present = true;
	pm_reset(NULL);
	io_region_add(IO_SPACE_PIO, PM_BASE, 12, &pm_ops, NULL, "acpi-pm");
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

static void aml_name(GByteArray *o, const char *seg4)
{
	g_byte_array_append(o, (const uint8_t *)seg4, 4);
}

static GByteArray *build_dsdt(void)
{
	GByteArray *prt = g_byte_array_new();
	put(prt, 0, 0);
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
			static const uint8_t pkg = 0x12;
			aml_wrap(elems, &pkg, 1, e);
			count++;
		}
	}
	put(prt, count, 1);
	g_byte_array_append(prt, elems->data, elems->len);
	g_byte_array_free(elems, true);

	GByteArray *dev = g_byte_array_new();
	put(dev, 0x08, 1);
	aml_name(dev, "_HID");
	put(dev, 0x0c, 1);
	put(dev, 0x030ad041, 4); /* EisaId("PNP0A03") */
	put(dev, 0x08, 1);
	aml_name(dev, "_ADR");
	aml_int(dev, 0);
	put(dev, 0x08, 1);
	aml_name(dev, "_UID");
	aml_int(dev, 0);
	put(dev, 0x08, 1);
	aml_name(dev, "_PRT");
	static const uint8_t pkg = 0x12;
	aml_wrap(dev, &pkg, 1, prt);

	GByteArray *devop = g_byte_array_new();
	aml_name(devop, "PCI0");
	g_byte_array_append(devop, dev->data, dev->len);
	g_byte_array_free(dev, true);

	GByteArray *scope = g_byte_array_new();
	put(scope, '\\', 1);
	aml_name(scope, "_SB_");
	static const uint8_t devopc[2] = {0x5b, 0x82};
	aml_wrap(scope, devopc, 2, devop);

	GByteArray *t = g_byte_array_new();
	header(t, "DSDT", 1);
	static const uint8_t scopeop = 0x10;
	aml_wrap(t, &scopeop, 1, scope);
	/* Name (\_S5, Package (4) {0, 0, 0, 0}) */
	put(t, 0x08, 1);
	put(t, '\\', 1);
	aml_name(t, "_S5_");
	GByteArray *s5 = g_byte_array_new();
	put(s5, 4, 1);
	for (int i = 0; i < 4; i++)
		aml_int(s5, 0);
	aml_wrap(t, &pkg, 1, s5);
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
	f[88] = 4;	      /* PM1_EVT_LEN */
	f[89] = 2;	      /* PM1_CNT_LEN */
	f[91] = 4;	      /* PM_TMR_LEN */
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
