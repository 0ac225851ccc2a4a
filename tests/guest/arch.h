/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the boot/driver half of the test guest (not part of the
 * contract with the network stack, which is guest.h).
 */
#ifndef KITE_GUEST_ARCH_H
#define KITE_GUEST_ARCH_H

#include "guest.h"

/* ---- PVH boot information (Xen's public arch-x86/hvm/start_info.h) ---- */
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM, as in e820 */
	uint32_t reserved;
};

/* ---- what boot found (arch.c) ---- */
struct boot_info {
	const char *cmdline;   /* never NULL */
	uint64_t ram_below_4g; /* end of the RAM range that holds the image */
	bool memmap_found;
};
extern struct boot_info boot_info;

void arch_init(uint32_t start_info_paddr);
/* Scenario name used in the FAIL line an unexpected exception prints. */
extern const char *current_test_name;

/* Register frame built by boot.S trap_common (lowest address first). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
void trap_handler(struct trap_frame *f);

/* Image bounds from guest.ld. */
extern char __image_start[], __image_end[];

/* ---- serial console (lib.c) ---- */
void serial_init(void);
void serial_write(const char *s, size_t len);
/* Next byte received on COM1, or -1 after timeout_ms. */
int serial_getc(uint32_t timeout_ms);

/* ---- memory (lib.c) ---- */
void dma_init(uintptr_t start, uintptr_t end);

/* ---- MSRs (arch.c) ---- */
/* kvmclock's system time MSR (KVM's "new" numbering, CPUID 0x40000001 EAX
 * bit 3): the only MSR ring 3 may write, through the #GP handler. */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
void wrmsr(uint32_t msr, uint64_t value);

/* ---- time (time.c) ---- */
void time_init(void);
uint64_t tsc_hz(void);
/* Where tsc_hz() came from: "kvmclock", "pit" or "fallback". */
const char *tsc_source(void);

/* ---- PCI (pci.c) ---- */
enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetchable;
	uint64_t addr;
	uint64_t size;
};

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_rev;  /* class << 8 | revision */
	uint8_t header_type; /* bit 7: multi-function */
	struct pci_bar bar[6];
};

#define PCI_MAX_DEVS 64

/* Clears every BAR on bus 0, the way a machine without firmware starts,
 * so that pci_scan() has to assign them all (a test of that path). Must
 * run before the first pci_scan(); returns how many were set, or -1. */
int pci_forget_bars(void);
/* Enumerates (once) and assigns unassigned BARs; returns the table. */
int pci_scan(struct pci_dev **devs);
/* Hotplug: forgets what the table holds for slot 'dev' of bus 0, then
 * enumerates that slot again and assigns its unassigned BARs; returns the
 * number of functions found, *first pointing at the first (NULL when the
 * slot is empty). Pointers into the table may move. */
int pci_scan_slot(uint8_t dev, struct pci_dev **first);
/* Drops slot 'dev' of bus 0 from the table (its device was ejected), so
 * its BAR ranges can be given out again. */
void pci_forget_slot(uint8_t dev);
/* The raw vendor/device dword of bus 0 dev.fn (0xffffffff: nothing there). */
uint32_t pci_slot_id(uint8_t dev, uint8_t fn);
uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);
/* Offset of the next capability with id 'cap_id' after 'from' (0 = start
 * of the list); 0 when there is none. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id, uint8_t from);
/* Memory + I/O decoding and bus mastering on. */
void pci_enable(const struct pci_dev *d);
/* ... and off again: the card can no longer DMA nor be reached. */
void pci_disable(const struct pci_dev *d);

/* ---- string port I/O (arch.c) ---- */
/* REP INSW / REP OUTSW: one instruction for a whole buffer, so where port
 * I/O traps (this host's KVM) a frame costs one trap, not one per word. */
void insw(uint16_t port, void *buf, size_t words);
void outsw(uint16_t port, const void *buf, size_t words);

/* ---- NIC drivers ---- */
struct netif *virtio_net_probe(struct pci_dev *d);
struct netif *e1000_probe(struct pci_dev *d);
struct netif *e1000e_probe(struct pci_dev *d);
struct netif *rtl8139_probe(struct pci_dev *d);
struct netif *ne2k_probe(struct pci_dev *d);
struct netif *pcnet_probe(struct pci_dev *d);
struct netif *eepro100_probe(struct pci_dev *d);
/* Brings up the card at 'd' with whichever driver takes its IDs (as
 * netif_probe() does for the first card it finds): NULL when no driver
 * knows it or its driver fails. */
struct netif *netif_probe_dev(struct pci_dev *d);

/* e1000 offloads (e1000.c), for the offload scenarios. 'hdr' is a complete
 * Ethernet + IPv4 + TCP header (hlen bytes) whose IP checksum is zero and
 * whose TCP checksum holds the pseudo-header sum without the length;
 * the card cuts 'payload' into 'mss'-sized segments behind copies of it.
 * Blocks until the card is done with 'payload'. 0, or -1 when the card is
 * not an e1000, the arguments are out of range or the ring does not
 * drain. */
int e1000_tx_tso(struct netif *nif, const uint8_t *hdr, size_t hlen, const uint8_t *payload,
		 size_t plen, uint16_t mss);
/* One frame through a checksum-offload context (no segmentation): the
 * card fills in the IPv4 header checksum and the TCP/UDP checksum at
 * 'l4_csum_off' (summed from 'l4_off' to the end, the field preset to the
 * pseudo-header sum including the length). */
int e1000_tx_csum(struct netif *nif, const uint8_t *frame, size_t len, size_t l4_off,
		  size_t l4_csum_off);

/* virtio-net transmit offloads (virtio-net.c), granted only when the
 * device offers them (its backend carries the virtio header: a tap with
 * vnet_hdr). The offloads the device took, VIRTIO_NET_OFFLOAD_*; 0 when
 * 'nif' is not a virtio-net. */
#define VIRTIO_NET_OFFLOAD_CSUM 1 /* VIRTIO_NET_F_CSUM */
#define VIRTIO_NET_OFFLOAD_TSO4 2 /* VIRTIO_NET_F_HOST_TSO4 */
unsigned virtio_net_tx_offloads(struct netif *nif);
/* One frame with a virtio_net_hdr asking for offloads: 'hdr' (hlen
 * bytes, copied) then 'payload' (the caller's memory, one descriptor per
 * 4 KiB). The L4 checksum at csum_start + csum_offset must hold the
 * pseudo-header sum including the L4 length, the IPv4 header checksum
 * must be right (virtio computes no IP checksum). With gso_size (more
 * payload than that required) it is one TCPv4 GSO frame of at most
 * 65535 IP bytes, which the device cuts into gso_size segments behind
 * copies of 'hdr'; without, one frame of at most 1514 bytes. Blocks until
 * the device has read it. 0, or -1 (not offered, out of range, ring
 * full or not drained). */
int virtio_net_tx_offload(struct netif *nif, const uint8_t *hdr, size_t hlen,
			  const uint8_t *payload, size_t plen, size_t csum_start,
			  size_t csum_offset, uint16_t gso_size);

/* ---- helpers the 8254x-family drivers share (nic.c) ---- */
/* Writes 'cmd' to a self-completing command register (EERD, MDIC) at
 * 'reg' and polls it until a bit of 'done' is set, for at most
 * 'timeout_us'. True with the completed value in *val; false on timeout. */
bool mmio_cmd_poll32(uintptr_t reg, uint32_t cmd, uint32_t done, uint64_t timeout_us,
		     uint32_t *val);
/* A usable station address: not all zeros, not all ones, not multicast. */
bool mac_valid(const uint8_t *mac);
/* The MAC as the receive address registers RAL0/RAH0 hold it. */
void mac_from_ral_rah(uint32_t ral, uint32_t rah, uint8_t *mac);

/* ---- frame filter (nic.c) ---- */
/* Wraps 'inner' in an interface whose rx hands every received frame to
 * 'take' first: frames it returns true for are consumed, the others reach
 * whoever polls the wrapper (the network stack). tx passes straight
 * through. One wrapper exists; a second call replaces the first. */
struct netif *netif_filter(struct netif *inner,
			   bool (*take)(const uint8_t *frame, size_t len, void *ctx), void *ctx);

/* ---- scenarios (scenarios.c, tcp-offload.c) ---- */
void run_command_line(const char *cmdline) __attribute__((noreturn));
void run_offload_tso(int argc, char **argv);
void run_hotplug(int argc, char **argv);
void run_hotplug_eject_fixed(int argc, char **argv);
/* One "PCI bb:dd.f vvvv:dddd class cccccc BARn=..." line (pci-list's). */
void print_pci_function(const struct pci_dev *d);

#endif
