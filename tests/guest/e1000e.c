// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 82574L (e1000e) driver, polled: extended receive descriptors,
 * legacy transmit descriptors, no MSI-X (nothing here takes interrupts).
 *
 * The bring-up follows Linux's e1000e for the 82571 family: mask
 * interrupts, quiesce rx/tx, stop PCIe mastering, global reset, wait for
 * the NVM auto-read, take the MAC from the NVM through EERD (or RAL/RAH),
 * set link up, look at the PHY through MDIC, program the receive address
 * and multicast table, then the rings. Every register is in BAR0 (MMIO).
 * The register map is the e1000's, but EERD has another layout and the
 * receive ring uses the 82574's extended descriptors (RFCTL.EXSTEN), so
 * all but the chip's own reset steps is the family core in e1000.c.
 */
#include "e1000.h"

#define E1000_EECD     0x0010
#define E1000_CTRL_EXT 0x0018

#define CTRL_GIO_MASTER_DISABLE (1u << 2)
#define STATUS_GIO_MASTER_EN	(1u << 19)
#define EECD_AUTO_RD		(1u << 9)
#define CTRL_EXT_DRV_LOAD	(1u << 28)

static const struct e1000_model e1000e_model = {
    .name = "e1000e",
    .nvm = "NVM",
    /* The 82574's EERD: start bit 0, done bit 1, word address from bit 2. */
    .eerd_addr_shift = 2,
    .eerd_done = 1u << 1,
    .ctrl_clear = CTRL_GIO_MASTER_DISABLE,
    .tctl_cold = 0x3fu << 12,
    .tipg = 8u | 8u << 10 | 7u << 20,
    .extended_rx = true,
};

struct netif *e1000e_probe(struct pci_dev *d)
{
	static struct e1000_nic store;
	struct e1000_nic *e = &store;

	if (!e1000_open(e, d, &e1000e_model))
		return NULL;

	/* No DMA may be in flight across the reset. */
	e1000_wr(e, E1000_CTRL, e1000_rd(e, E1000_CTRL) | CTRL_GIO_MASTER_DISABLE);
	if (!e1000_wait_bits(e, E1000_STATUS, STATUS_GIO_MASTER_EN, 0, 10000))
		kprintf("e1000e: PCIe master does not stop, resetting anyway\n");
	if (!e1000_reset(e))
		return NULL;
	if (!e1000_wait_bits(e, E1000_EECD, EECD_AUTO_RD, EECD_AUTO_RD, 100000))
		kprintf("e1000e: NVM auto-read not done, going on\n");
	e1000_wr(e, E1000_IMC, 0xffffffffu);
	(void)e1000_rd(e, E1000_ICR);
	e1000_wr(e, E1000_CTRL_EXT, e1000_rd(e, E1000_CTRL_EXT) | CTRL_EXT_DRV_LOAD);

	return e1000_start(e);
}
