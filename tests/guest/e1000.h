/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Intel 8254x-family core the e1000 (82540) and e1000e (82574L)
 * drivers share, implemented in e1000.c: the register map both chips
 * have, and the polled bring-up and ring handling, which differ between
 * them only in what struct e1000_model describes. Each driver keeps the
 * reset steps that are its chip's own.
 */
#ifndef KITE_GUEST_E1000_H
#define KITE_GUEST_E1000_H

#include "arch.h"

#define E1000_CTRL   0x0000
#define E1000_STATUS 0x0008
#define E1000_EERD   0x0014
#define E1000_MDIC   0x0020
#define E1000_ICR    0x00c0
#define E1000_IMC    0x00d8
#define E1000_RCTL   0x0100
#define E1000_TCTL   0x0400
#define E1000_TIPG   0x0410
#define E1000_RDBAL  0x2800
#define E1000_RDBAH  0x2804
#define E1000_RDLEN  0x2808
#define E1000_RDH    0x2810
#define E1000_RDT    0x2818
#define E1000_TDBAL  0x3800
#define E1000_TDBAH  0x3804
#define E1000_TDLEN  0x3808
#define E1000_TDH    0x3810
#define E1000_TDT    0x3818
#define E1000_RFCTL  0x5008 /* 82574 only */
#define E1000_MTA    0x5200
#define E1000_RAL0   0x5400
#define E1000_RAH0   0x5404

/* What tells the chips apart, as far as the shared code goes. */
struct e1000_model {
	const char *name; /* the netif's name, and what messages start with */
	const char *nvm;  /* what messages call the MAC's storage */
	/* EERD's layout: where the word address goes, which bit says done */
	unsigned eerd_addr_shift;
	uint32_t eerd_done;
	/* CTRL bits cleared, besides the forced speed and duplex and the PHY
	 * reset, when the link is set up */
	uint32_t ctrl_clear;
	uint32_t tctl_cold, tipg;
	/* The 82574's extended receive descriptors (RFCTL.EXSTEN), else the
	 * legacy ones */
	bool extended_rx;
};

union e1000_rx_desc;
struct e1000_tx_desc;

struct e1000_nic {
	struct netif nif;
	const struct e1000_model *model;
	uintptr_t regs;
	volatile union e1000_rx_desc *rxd;
	volatile struct e1000_tx_desc *txd;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next, tx_tail, tx_clean;
};

static inline uint32_t e1000_rd(const struct e1000_nic *e, uint32_t reg)
{
	return mmio_read32(e->regs + reg);
}

static inline void e1000_wr(const struct e1000_nic *e, uint32_t reg, uint32_t v)
{
	mmio_write32(e->regs + reg, v);
}

/* Polls 'reg' until its 'mask' bits read 'want', for at most 'timeout_us'. */
bool e1000_wait_bits(const struct e1000_nic *e, uint32_t reg, uint32_t mask, uint32_t want,
		     uint32_t timeout_us);

/* The bring-up, in the order Linux's drivers for both chips use. A probe
 * calls e1000_open(), then its chip's reset steps around e1000_reset(),
 * then e1000_start(); each says on the console why it fails. */

/* Takes the card at 'd' into 'e' (cleared first): BAR0 mapped, decoding and
 * bus mastering on, interrupts masked, both rings stopped. */
bool e1000_open(struct e1000_nic *e, struct pci_dev *d, const struct e1000_model *model);
/* Global reset (CTRL.RST), waiting until the card is out of it. */
bool e1000_reset(struct e1000_nic *e);
/* Reads the MAC, brings the link up, programs the receive filters and the
 * rings and starts both: the interface, or NULL. */
struct netif *e1000_start(struct e1000_nic *e);

#endif
