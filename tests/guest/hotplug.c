// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI hotplug through the register interface of QEMU's PIIX4 ACPI PCI
 * hotplug (hw/acpi/pcihp.c, non-legacy mode), which the DSDT's AML drives
 * on a real guest; here the guest drives it itself, polling:
 *
 *   0xafe0      GPE0 status (write 1 to clear); bit 1 = PCI hotplug event.
 *               Set on every plug and unplug request whether or not the
 *               event is enabled in GPE0 enable (0xafe2): enabled, it would
 *               raise the SCI; this guest keeps interrupts off.
 *   0xae00 PCIU slots of bus 0 with a device just plugged; reading clears.
 *   0xae04 PCID slots whose removal the host requested (device_del); not
 *               cleared by reading, only by the slot's eject.
 *   0xae08 B0EJ write (1 << slot): eject, the host removes the device.
 *   0xae0c PCIRMV slots that can be hot-plugged (read only).
 *   0xae10 BNUM  selects the bus the registers above refer to: 0, the
 *               root bus, after reset; left alone.
 *
 * hotplug TIMEOUT_S [CYCLES]: starts without a card, prints HOTPLUG-READY
 * and waits for the host to plug one (device_add); brings it up (BARs as
 * needed, the driver, DHCP, a ping of the gateway), prints HOTPLUG-UP,
 * waits for the removal request (device_del), quiesces the card, ejects
 * it, checks that the slot is empty and prints HOTPLUG-DOWN; CYCLES
 * times (1). Then HOTPLUG-HOLD: the host checks its side, and a byte on
 * COM1 ends the scenario. Every wait is bounded by TIMEOUT_S seconds.
 *
 * hotplug-eject-fixed: ejecting slots 0 and 1 (host bridge, PIIX3 and its
 * functions: not hot-pluggable) and empty slots must change nothing.
 *
 * The GPE registers are accessed a byte at a time, as ACPICA (Linux) does.
 * The hotplug registers take only 32-bit accesses.
 */
#include "arch.h"
#include "net.h"

#define GPE0_STS	 0xafe0
#define GPE0_EN		 0xafe2
#define GPE_PCI_HOTPLUG	 0x02
#define PCIHP_UP	 0xae00
#define PCIHP_DOWN	 0xae04
#define PCIHP_EJ	 0xae08
#define PCIHP_RMV	 0xae0c
#define PCIHP_SEL	 0xae10
#define POLL_US		 2000
#define EJECT_TIMEOUT_US 2000000
#define DHCP_TIMEOUT_MS	 15000
#define PING_TRIES	 3
#define CYCLES_MAX	 8
#define PCI_COMMAND	 0x04
#define PCI_BAR0	 0x10
#define VENDOR_NONE(id)	 (((id)&0xffff) == 0xffff || ((id)&0xffff) == 0)
#define SLOT_LIST_LEN	 (CYCLES_MAX * 4)

static const char *name;

static unsigned slot_count(uint32_t bits)
{
	unsigned n = 0;

	for (; bits; bits &= bits - 1)
		n++;
	return n;
}

static unsigned lowest_slot(uint32_t bits)
{
	unsigned s = 0;

	while (!(bits & 1)) {
		bits >>= 1;
		s++;
	}
	return s;
}

/* Waits for GPE0 status bit 1, then clears it (write 1 to clear) and
 * checks that it reads clear. Returns the microseconds waited. */
static uint64_t wait_hotplug_event(int cycle, const char *what, uint64_t timeout_s)
{
	uint64_t t0 = now_us(), deadline = t0 + timeout_s * 1000000;

	while (!(inb(GPE0_STS) & GPE_PCI_HOTPLUG)) {
		if (now_us() > deadline)
			ktest_fail(
			    name,
			    "cycle %d: no PCI hotplug event (GPE0 status bit 1) within %lu s "
			    "waiting for %s (GPE0 status 0x%02x PCIU 0x%x PCID 0x%x)",
			    cycle, (unsigned long)timeout_s, what, inb(GPE0_STS), inl(PCIHP_UP),
			    inl(PCIHP_DOWN));
		udelay(POLL_US);
	}
	uint64_t waited = now_us() - t0;
	outb(GPE0_STS, GPE_PCI_HOTPLUG);
	uint8_t sts = inb(GPE0_STS);
	if (sts & GPE_PCI_HOTPLUG)
		ktest_fail(name,
			   "cycle %d: GPE0 status 0x%02x: bit 1 still set after writing 1 to it",
			   cycle, sts);
	return waited;
}

/* The new device's BARs (whoever assigned them: the guest on QEMU, the
 * emulator on kite) must overlap neither each other nor anything else. */
static void check_bars(int cycle, unsigned slot)
{
	struct pci_dev *t;
	int n = pci_scan(&t);

	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			if (t[i].dev != slot || (t[j].dev == slot && j < i))
				continue;
			for (int a = 0; a < 6; a++) {
				for (int b = 0; b < 6; b++) {
					const struct pci_bar *x = &t[i].bar[a], *y = &t[j].bar[b];
					if ((i == j && b <= a) || x->kind == PCI_BAR_NONE ||
					    y->kind == PCI_BAR_NONE ||
					    (x->kind == PCI_BAR_IO) != (y->kind == PCI_BAR_IO) ||
					    !x->addr || !y->addr)
						continue;
					if (x->addr < y->addr + y->size &&
					    y->addr < x->addr + x->size)
						ktest_fail(
						    name,
						    "cycle %d: slot %u BAR%d 0x%lx/0x%lx overlaps "
						    "%02x:%02x.%x BAR%d 0x%lx/0x%lx",
						    cycle, slot, a, (unsigned long)x->addr,
						    (unsigned long)x->size, t[j].bus, t[j].dev,
						    t[j].fn, b, (unsigned long)y->addr,
						    (unsigned long)y->size);
				}
			}
		}
	}
}

/* Brings the card in 'slot' up: enumerate, driver, DHCP, ping. */
static void slot_up(int cycle, unsigned slot)
{
	uint32_t id = pci_slot_id((uint8_t)slot, 0);
	if (VENDOR_NONE(id))
		ktest_fail(name, "cycle %d: PCIU names slot %u but its config space reads 0x%08x",
			   cycle, slot, id);

	/* What the device looks like before the guest touches it: on QEMU
	 * nothing assigns a hot-plugged device's BARs. */
	struct pci_dev raw = {.bus = 0, .dev = (uint8_t)slot, .fn = 0};
	char line[256];
	int len = ksnprintf(line, sizeof(line), "hotplug: slot %u %04x:%04x command 0x%04x bars",
			    slot, id & 0xffff, id >> 16, pci_read16(&raw, PCI_COMMAND));
	for (int b = 0; b < 6 && len < (int)sizeof(line); b++)
		len += ksnprintf(line + len, sizeof(line) - len, " %08x",
				 pci_read32(&raw, (uint8_t)(PCI_BAR0 + 4 * b)));
	kprintf("%s\n", line);

	struct pci_dev *d;
	int n = pci_scan_slot((uint8_t)slot, &d);
	if (!n)
		ktest_fail(name, "cycle %d: slot %u vanished while it was enumerated", cycle, slot);
	for (int i = 0; i < n; i++)
		print_pci_function(&d[i]);
	check_bars(cycle, slot);
	struct netif *nif = netif_probe_dev(d);
	if (!nif)
		ktest_fail(name, "cycle %d: no driver brought up %04x:%04x in slot %u", cycle,
			   d->vendor, d->device, slot);
	net_init(nif);

	uint64_t t0 = now_us();
	if (dhcp_run(DHCP_TIMEOUT_MS) != 0)
		ktest_fail(
		    name, "cycle %d: dhcp: no lease within %u ms through %s in slot %u (link %s)",
		    cycle, DHCP_TIMEOUT_MS, nif->name, slot, nif->link_up(nif) ? "up" : "down");
	struct netcfg *c = net_config();
	kprintf("dhcp: addr " IPV4_FMT " gw " IPV4_FMT " in %lu ms\n", IPV4_ARGS(c->addr),
		IPV4_ARGS(c->gw), (unsigned long)((now_us() - t0) / 1000));
	uint64_t rtt = 0;
	int tries = 0;
	while (!c->gw || ping(c->gw, (uint16_t)++tries, 2000, &rtt) != 0) {
		if (!c->gw || tries == PING_TRIES)
			ktest_fail(name,
				   "cycle %d: no echo reply from the gateway " IPV4_FMT
				   " through %s in slot %u",
				   cycle, IPV4_ARGS(c->gw), nif->name, slot);
	}
	kprintf("HOTPLUG-UP cycle=%d slot=%u model=%s ip=" IPV4_FMT " gw=" IPV4_FMT " rtt_us=%lu\n",
		cycle, slot, nif->name, IPV4_ARGS(c->addr), IPV4_ARGS(c->gw), (unsigned long)rtt);
}

/* The host asked for the removal: stop using the card, eject it, check
 * that the slot is empty. */
static void slot_down(int cycle, unsigned slot)
{
	uint32_t bit = 1u << slot;
	uint32_t down = inl(PCIHP_DOWN), up = inl(PCIHP_UP);

	if (down != bit)
		ktest_fail(name, "cycle %d: PCID 0x%x on the unplug event: expected slot %u (0x%x)",
			   cycle, down, slot, bit);
	if (up)
		ktest_fail(name, "cycle %d: PCIU 0x%x on the unplug event: expected 0", cycle, up);
	uint32_t again = inl(PCIHP_DOWN);
	if (again != down)
		ktest_fail(name, "cycle %d: PCID read 0x%x, then 0x%x: reading must not clear it",
			   cycle, down, again);

	/* Quiesce as a driver's remove does: the stack lets go of the card,
	 * bus mastering and decoding go off, so no DMA is in flight. */
	net_init(NULL);
	struct pci_dev *d;
	int n = pci_scan(&d);
	for (int i = 0; i < n; i++) {
		if (d[i].bus == 0 && d[i].dev == slot)
			pci_disable(&d[i]);
	}

	outl(PCIHP_EJ, bit);
	uint64_t t0 = now_us();
	uint32_t id;
	while (!VENDOR_NONE(id = pci_slot_id((uint8_t)slot, 0))) {
		if (now_us() - t0 > EJECT_TIMEOUT_US)
			ktest_fail(name,
				   "cycle %d: slot %u still answers %04x:%04x %lu ms after B0EJ",
				   cycle, slot, id & 0xffff, id >> 16,
				   (unsigned long)(EJECT_TIMEOUT_US / 1000));
		udelay(POLL_US);
	}
	uint64_t gone_us = now_us() - t0;
	down = inl(PCIHP_DOWN);
	if (down & bit)
		ktest_fail(name, "cycle %d: PCID 0x%x still names slot %u after its eject", cycle,
			   down, slot);
	uint8_t sts = inb(GPE0_STS);
	if (sts & GPE_PCI_HOTPLUG)
		ktest_fail(name, "cycle %d: the eject raised a hotplug event (GPE0 status 0x%02x)",
			   cycle, sts);
	pci_forget_slot((uint8_t)slot);
	kprintf("HOTPLUG-DOWN cycle=%d slot=%u id=%08x gone_us=%lu\n", cycle, slot, id,
		(unsigned long)gone_us);
}

void run_hotplug(int argc, char **argv)
{
	uint64_t timeout_s, cycles = 1;

	name = argv[0];
	if (!parse_u64(argv[1], &timeout_s) || timeout_s < 1 || timeout_s > 3600)
		ktest_fail(name, "bad timeout '%s' (expected 1..3600 seconds)", argv[1]);
	if (argc > 2 && (!parse_u64(argv[2], &cycles) || cycles < 1 || cycles > CYCLES_MAX))
		ktest_fail(name, "bad cycle count '%s' (expected 1..%d)", argv[2], CYCLES_MAX);

	/* Nothing may be pending at boot: cold-plugged devices raise no event. */
	struct pci_dev *all;
	int functions = pci_scan(&all);
	uint8_t sts = inb(GPE0_STS), en = inb(GPE0_EN);
	uint32_t up = inl(PCIHP_UP), down = inl(PCIHP_DOWN);
	uint32_t rmv = inl(PCIHP_RMV), sel = inl(PCIHP_SEL);
	if (sts & GPE_PCI_HOTPLUG)
		ktest_fail(name, "GPE0 status 0x%02x at boot: a hotplug event before any plug",
			   sts);
	if (up || down)
		ktest_fail(name, "PCIU 0x%x PCID 0x%x at boot: expected 0 before any plug", up,
			   down);
	if (sel != 0)
		ktest_fail(name, "BNUM/SEL reads %u at boot: expected 0 (the root bus)", sel);
	kprintf("HOTPLUG-READY functions=%d rmv=0x%08x gpe_en=0x%02x\n", functions, rmv, en);

	char slots[SLOT_LIST_LEN] = "";
	size_t slen = 0;
	for (int cycle = 1; cycle <= (int)cycles; cycle++) {
		uint64_t waited = wait_hotplug_event(cycle, "a plug (device_add)", timeout_s);
		up = inl(PCIHP_UP);
		uint32_t up_again = inl(PCIHP_UP);
		down = inl(PCIHP_DOWN);
		kprintf(
		    "hotplug: cycle %d plug event after %lu ms: PCIU 0x%x (then 0x%x) PCID 0x%x\n",
		    cycle, (unsigned long)(waited / 1000), up, up_again, down);
		if (slot_count(up) != 1)
			ktest_fail(name, "cycle %d: PCIU 0x%x on the plug event: expected one slot",
				   cycle, up);
		unsigned slot = lowest_slot(up);
		if (up_again)
			ktest_fail(name,
				   "cycle %d: PCIU read 0x%x, then 0x%x: reading must clear it",
				   cycle, up, up_again);
		if (down)
			ktest_fail(name, "cycle %d: PCID 0x%x on the plug event: expected 0", cycle,
				   down);
		if (!(rmv & (1u << slot)))
			ktest_fail(name,
				   "cycle %d: device plugged into slot %u, which PCIRMV 0x%08x "
				   "does not call hot-pluggable",
				   cycle, slot, rmv);
		slot_up(cycle, slot);

		wait_hotplug_event(cycle, "the removal request (device_del)", timeout_s);
		slot_down(cycle, slot);
		slen += (size_t)ksnprintf(slots + slen, sizeof(slots) - slen, "%s%u",
					  cycle > 1 ? "," : "", slot);
	}
	/* The host checks its own view (info pci, netdev_del) while the
	 * machine is still up; a byte on COM1 ends the scenario. */
	kprintf("HOTPLUG-HOLD\n");
	if (serial_getc((uint32_t)(timeout_s * 1000)) < 0)
		ktest_fail(name, "no byte on COM1 within %lu s after the last cycle",
			   (unsigned long)timeout_s);
	ktest_pass(name, "cycles=%lu slots=%s", (unsigned long)cycles, slots);
}

/* Raw IDs of every function on bus 0 (0xffffffff where there is none). */
static void snapshot(uint32_t ids[32][8])
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		for (uint8_t fn = 0; fn < 8; fn++)
			ids[dev][fn] = pci_slot_id(dev, fn);
	}
}

void run_hotplug_eject_fixed(int argc, char **argv)
{
	static uint32_t before[32][8], after[32][8];

	(void)argc;
	name = argv[0];
	uint32_t rmv = inl(PCIHP_RMV);
	snapshot(before);
	int functions = 0, empty = -1;
	for (int dev = 0; dev < 32; dev++) {
		if (VENDOR_NONE(before[dev][0])) {
			if (empty < 0 && dev > 1)
				empty = dev;
			continue;
		}
		for (int fn = 0; fn < 8; fn++)
			functions += !VENDOR_NONE(before[dev][fn]);
	}
	if (VENDOR_NONE(before[0][0]) || VENDOR_NONE(before[1][0]))
		ktest_fail(name, "no host bridge in slot 0 or no ISA bridge in slot 1");
	if (empty < 0)
		ktest_fail(name, "no empty slot on bus 0");
	if (rmv & 3)
		ktest_fail(name, "PCIRMV 0x%08x calls slot 0 or 1 hot-pluggable", rmv);
	kprintf("hotplug: functions %d PCIRMV 0x%08x first empty slot %d\n", functions, rmv, empty);

	/* B0EJ ejects the lowest slot of the bitmap: one at a time, and 0. */
	const uint32_t writes[] = {1u << 0, 1u << 1, 1u << empty, 1u << 31, 0};
	for (size_t w = 0; w < sizeof(writes) / sizeof(writes[0]); w++) {
		outl(PCIHP_EJ, writes[w]);
		snapshot(after);
		for (int dev = 0; dev < 32; dev++) {
			for (int fn = 0; fn < 8; fn++) {
				if (after[dev][fn] != before[dev][fn])
					ktest_fail(
					    name,
					    "B0EJ 0x%08x changed 00:%02x.%x from %08x to %08x",
					    writes[w], dev, fn, before[dev][fn], after[dev][fn]);
			}
		}
		kprintf("hotplug: B0EJ 0x%08x: bus 0 unchanged\n", writes[w]);
	}
	uint8_t sts = inb(GPE0_STS);
	uint32_t up = inl(PCIHP_UP), down = inl(PCIHP_DOWN);
	if ((sts & GPE_PCI_HOTPLUG) || up || down)
		ktest_fail(name, "ejects raised GPE0 status 0x%02x PCIU 0x%x PCID 0x%x", sts, up,
			   down);
	ktest_pass(name, "slots=0,1,%d,31,none functions=%d rmv=0x%08x", empty, functions, rmv);
}
