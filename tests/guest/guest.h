/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's internal API: the contract between the boot/driver half
 * (boot.S, arch.c, lib.c, pci.c, nic.c and the card drivers, scenarios.c) and the
 * network stack half (net*.c).
 *
 * Everything below runs in ring 3 unless stated otherwise. RAM and the MMIO
 * holes are identity mapped and user accessible, so drivers touch BARs and
 * descriptor rings directly. Port I/O goes through inb()/outb(), which is a
 * plain IN/OUT instruction: under TCG IOPL=3 lets it through, under this
 * host's KVM it raises #GP and the ring-0 handler performs it (slow, ~76 us),
 * so hot paths must use MMIO only.
 */
#ifndef KITE_GUEST_H
#define KITE_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- freestanding libc subset (lib.c) ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
/* Parses decimal (or 0x-prefixed hex); returns false on any junk. */
bool parse_u64(const char *s, uint64_t *out);
/* Parses dotted IPv4 into host byte order; returns false on junk. */
bool parse_ipv4(const char *s, uint32_t *out);

/* printf subset: %d %i %u %x %lx %llx %lu %ld %llu %s %c %p %%, width and
 * zero padding, plus %I (IPv4 in host order, uint32_t) and %M (MAC, 6-byte
 * pointer). Output goes to COM1. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 0)));
int ksnprintf(char *buf, size_t size, const char *fmt, ...);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Ends the scenario: prints nothing, writes (code) to isa-debug-exit at
 * port 0xf4 (QEMU exits with status (code << 1) | 1), then halts forever. */
void guest_exit(int code) __attribute__((noreturn));

/* Print the machine-readable result line "KTEST <name> PASS|FAIL <detail>"
 * and exit with 0 (pass) or 1 (fail). */
void ktest_pass(const char *name, const char *fmt, ...) __attribute__((noreturn));
void ktest_fail(const char *name, const char *fmt, ...) __attribute__((noreturn));

/* ---- port I/O and MMIO (arch.c / inline) ---- */
uint8_t inb(uint16_t port);
uint16_t inw(uint16_t port);
uint32_t inl(uint16_t port);
void outb(uint16_t port, uint8_t v);
void outw(uint16_t port, uint16_t v);
void outl(uint16_t port, uint32_t v);

static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* ---- time (time.c): TSC calibrated against the PIT at start-up ---- */
uint64_t rdtsc(void);
uint64_t now_us(void);  /* microseconds since boot */
void udelay(uint64_t us);

/* ---- memory (lib.c): a bump allocator over RAM after the image ---- */
/* Returns zeroed, 'align'-aligned, physically contiguous memory (identity
 * mapped, so virtual == physical). NULL when RAM is exhausted. */
void *dma_alloc(size_t size, size_t align);

/* ---- network interface: what a NIC driver gives the network stack ---- */
struct netif {
	const char *name;   /* the model: "virtio-net", "e1000", "rtl8139"... */
	uint8_t mac[6];
	void *priv;
	/* Queue one Ethernet frame (no FCS) for transmission. 0 on success,
	 * -1 when the ring is full or the frame is too long. */
	int (*tx)(struct netif *nif, const void *frame, size_t len);
	/* Copy one received frame into buf; returns its length, 0 when none
	 * is pending. Frames longer than cap are dropped and counted. */
	size_t (*rx)(struct netif *nif, void *buf, size_t cap);
	/* Current carrier state as the device reports it. */
	bool (*link_up)(struct netif *nif);
	uint64_t tx_frames, rx_frames, rx_dropped;
};

/* Finds and initialises the first supported NIC (virtio-net modern, then
 * the e1000 family, then rtl8139, pcnet, eepro100, ne2k); NULL when there
 * is none. Prints what it found. */
struct netif *netif_probe(void);

/* ---- network stack (net*.c) ---- */
struct netcfg {
	uint32_t addr, mask, gw, dns;  /* host byte order; 0 = unknown */
};

/* Binds the stack to one interface. Call once. */
void net_init(struct netif *nif);
struct netcfg *net_config(void);
/* Receive and dispatch whatever frames are pending (ARP replies, ICMP echo
 * answers, TCP segments...). Every blocking call below polls this itself. */
void net_poll(void);

/* DHCP DISCOVER/OFFER/REQUEST/ACK; fills net_config(). 0 or -1 on timeout. */
int dhcp_run(uint32_t timeout_ms);
/* One echo request; 0 and *rtt_us on reply, -1 on timeout. */
int ping(uint32_t dst, uint16_t seq, uint32_t timeout_ms, uint64_t *rtt_us);
/* A-record lookup through net_config()->dns; 0 on success. */
int dns_resolve(const char *name, uint32_t *addr, uint32_t timeout_ms);
/* The same through an explicit resolver (host order address, UDP port). */
int dns_resolve_at(const char *name, uint32_t server, uint16_t port, uint32_t *addr,
		   uint32_t timeout_ms);
/* Fire-and-forget UDP datagram; 0 or -1 (no ARP answer / ring full). */
int udp_send(uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len);

/* One TCP connection at a time. All return -1 on error/timeout. */
int tcp_connect(uint32_t dst, uint16_t dport, uint32_t timeout_ms);
int tcp_listen(uint16_t port);
int tcp_accept(uint32_t timeout_ms);            /* waits for the handshake */
int tcp_send(const void *data, size_t len, uint32_t timeout_ms); /* until acked */
/* Returns bytes read (>0), 0 on orderly close by the peer, -1 on timeout. */
int tcp_recv(void *buf, size_t cap, uint32_t timeout_ms);
int tcp_close(uint32_t timeout_ms);

/* ---- scenario table (scenarios.c) ---- */
struct scenario {
	const char *name;
	const char *usage;        /* argument synopsis for the FAIL message */
	int min_args, max_args;
	void (*run)(int argc, char **argv);  /* never returns: ktest_pass/fail */
};

#endif
