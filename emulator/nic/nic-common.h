/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plumbing shared by the emulated NIC models of emulator/nic/ (rtl8139,
 * ne2k_pci, pcnet, the eepro100 family, e1000e): creating the PCI function
 * and the net client from -device / -net nic / -nic, guest DMA with the
 * bounds checks every model needs, and the CRCs the chips use for their
 * frame check sequences and multicast hash filters.
 *
 * A model's init runs:
 *   nic_prepare()      resolve netdev= / the -net nic peer and the MAC;
 *                      nothing is created yet, so a failure leaves no trace
 *   nic_pci_new()      the PCI function (slot from addr=)
 *   pci_register_bar() its BARs
 *   nic_attach()       the NIC's net client; from here frames may arrive
 */
#ifndef KITE_NIC_COMMON_H
#define KITE_NIC_COMMON_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "net/net-cmdline.h"
#include "net/net.h"
#include "pci.h"

/* The properties every NIC model has, as QEMU's DEFINE_NIC_PROPERTIES.
 * bootindex is what libvirt emits for <boot order=../> on an interface:
 * accepted, and without effect since kite boots its kernel directly. */
/* clang-format off */
#define NIC_COMMON_PROPS                                                                  \
	{"mac", DEV_PROP_MAC, NULL,                                                       \
	 "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", 0},                   \
	{"netdev", DEV_PROP_STR, NULL, "ID of a netdev to use as a backend", 0},          \
	{"bootindex", DEV_PROP_UINT, NULL, "boot order (no effect: kite has no firmware)", \
	 0x7fffffff}
/* clang-format on */

struct nic_common {
	const struct dev_model *model;
	struct pci_device *pci;
	NetClient *nc;
	NetClient *peer;     /* resolved by nic_prepare, owned by the net layer */
	char *name;	     /* name= of -net nic, or NULL */
	char *netdev;	     /* netdev= of -device, for info qtree */
	uint8_t conf_mac[6]; /* the MAC the device was created with (EEPROM/PROM) */
	/* Guest-programmed DMA that could not be done (outside RAM, bus
	 * mastering off); the frames lost to it are counted on nc by the
	 * models (nic_count_rx_drop / nic_count_tx_drop). */
	uint64_t dma_errors;
};

int nic_prepare(struct nic_common *c, const struct dev_model *model, struct dev_opts *opts,
		GError **err);
/* Undo nic_prepare after a later failure of the model's init. */
void nic_abandon(struct nic_common *c);
struct pci_device *nic_pci_new(struct nic_common *c, struct dev_opts *opts,
			       const struct pci_ident *ident, const struct pci_device_ops *ops,
			       void *opaque, GError **err);
void nic_attach(struct nic_common *c, const NetClientOps *ops, void *opaque);
/* Hot-unplug, from the model's unrealize: the NIC's net client goes (frames
 * queued for or from it are dropped), a netdev claimed with netdev= is free
 * for another NIC or netdev_del, the MAC may be reused. The PCI function is
 * already off the bus; the model frees its own state afterwards. */
void nic_detach(struct nic_common *c);

/* Register a model for -device and for -net nic,model= / -nic (both lists
 * must name exactly the models that exist). */
void nic_model_register(struct dev_model *model);
#define NIC_MODEL_REGISTER(m)                                                                      \
	static void __attribute__((constructor)) register_nic_##m(void)                            \
	{                                                                                          \
		nic_model_register(&(m));                                                          \
	}

/*
 * Guest DMA. false when any byte of [addr, addr+len) is outside guest RAM,
 * when the range wraps, or when the guest has not enabled bus mastering;
 * the failure is counted in dma_errors. len 0 always succeeds.
 */
bool nic_dma_read(struct nic_common *c, uint64_t addr, void *buf, size_t len);
bool nic_dma_write(struct nic_common *c, uint64_t addr, const void *buf, size_t len);
/* Little-endian helpers on top of the above. */
bool nic_dma_read32(struct nic_common *c, uint64_t addr, uint32_t *v);
bool nic_dma_write32(struct nic_common *c, uint64_t addr, uint32_t v);
bool nic_dma_read16(struct nic_common *c, uint64_t addr, uint16_t *v);
bool nic_dma_write16(struct nic_common *c, uint64_t addr, uint16_t v);

/* A frame the model could not deliver to the guest or send to the wire
 * because of the guest's rings: counted on the NIC's net client. */
void nic_count_rx_drop(struct nic_common *c);
void nic_count_tx_drop(struct nic_common *c);

/* For models whose receive path takes a frame in one buffer (their
 * loopback feeds it one): a copy of the frame 'iov' holds, to g_free, with
 * its length in *size; NULL, copying nothing, when it is larger than
 * NET_MAX_FRAME. */
uint8_t *nic_iov_flatten(const struct iovec *iov, int iovcnt, size_t *size);

void nic_set_irq(struct nic_common *c, bool level);
bool nic_link_up(const struct nic_common *c);
/* Send a frame to the peer (counted by the net layer). */
void nic_send(struct nic_common *c, const void *buf, size_t len);

/* CRC-32 (IEEE 802.3 polynomial) without final inversion, starting from all
 * ones: bit-reflected (the FCS order) and MSB-first (the order the hash
 * filters of the 8390 and 8139 use). */
uint32_t nic_crc32_le(const uint8_t *buf, size_t len);
uint32_t nic_crc32_be(const uint8_t *buf, size_t len);
/* Ethernet FCS of a frame, to be stored little-endian after it. */
uint32_t nic_fcs(const uint8_t *buf, size_t len);

enum nic_dest { NIC_DEST_UNICAST, NIC_DEST_BROADCAST, NIC_DEST_MULTICAST };
enum nic_dest nic_dest_kind(const uint8_t *frame);

/* Internet checksum of buf folded to 16 bits, not inverted, starting
 * from 'sum' (host order partial sum). */
uint32_t nic_csum_add(uint32_t sum, const uint8_t *buf, size_t len);
uint16_t nic_csum_fold(uint32_t sum);

static inline uint16_t nic_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}
static inline uint32_t nic_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void nic_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}
static inline void nic_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}
static inline uint16_t nic_be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

/* Access 'size' bytes at byte 'off' of a little-endian register block. */
uint64_t nic_reg_get(const uint8_t *regs, unsigned off, unsigned size);
void nic_reg_put(uint8_t *regs, unsigned off, unsigned size, uint64_t v);

/*
 * Microwire serial EEPROM (93C46 / 93C56 / 93C66) driven bit by bit through
 * a chip's EEPROM control register. A command is a start bit, two opcode
 * bits and addr_bits address bits, clocked in on rising SK edges while CS is
 * high; reads answer with a dummy 0 and 16 data bits, MSB first. DO reads
 * as 1 while idle, as an undriven line would. WRITE, ERASE, ERAL and WRAL
 * take effect when CS drops, and only after EWEN.
 */
struct nic_eeprom93 {
	uint16_t data[256];
	unsigned words;	    /* 64, 128 or 256 */
	unsigned addr_bits; /* 6 or 8 */
	bool cs, sk, dout;
	bool write_enabled;
	unsigned phase; /* see nic-common.c */
	unsigned count; /* bits taken in the current phase */
	unsigned opcode, addr;
	uint16_t shift;
};
void nic_ee93_init(struct nic_eeprom93 *e, unsigned words);
void nic_ee93_wires(struct nic_eeprom93 *e, bool cs, bool sk, bool di);
static inline bool nic_ee93_dout(const struct nic_eeprom93 *e)
{
	return e->dout;
}

/* Offload helper shared by the models that do checksum insertion: put the
 * Internet checksum of frame[start, len) at frame[offset] (2 bytes), with
 * 'seed' folded in first. Out-of-range offsets are ignored. */
void nic_insert_csum(uint8_t *frame, size_t len, size_t start, size_t offset, uint32_t seed);

/*
 * Checksum offload for an Ethernet frame carrying IPv4 or IPv6 (no
 * extension headers) at l3_off: fill in the TCP or UDP checksum with the
 * pseudo-header (tcp/udp select which protocols are done). Returns false,
 * leaving the frame alone, when the headers do not parse within len.
 */
bool nic_fill_l4_csum(uint8_t *frame, size_t len, size_t l3_off, bool tcp, bool udp);
/* IPv4 header checksum at l3_off; false when there is no IPv4 header. */
bool nic_fill_ipv4_csum(uint8_t *frame, size_t len, size_t l3_off);

/*
 * TCP segmentation offload. frame[0, hdr_len) are the Ethernet, IP (v4 or
 * v6 at l3_off) and TCP (at l4_off) headers, the payload follows. Every
 * segment carries the headers and up to mss payload bytes, with the IP
 * lengths, the IPv4 id (+1 per segment) and checksum, the TCP sequence
 * number, FIN/PSH (last segment only) and the TCP checksum recomputed.
 * Returns the number of segments sent, or -1 when the headers do not parse.
 */
typedef void (*nic_segment_fn)(void *opaque, const uint8_t *seg, size_t len);
int nic_tso(const uint8_t *frame, size_t len, size_t l3_off, size_t l4_off, size_t hdr_len,
	    unsigned mss, nic_segment_fn send, void *opaque);

#endif
