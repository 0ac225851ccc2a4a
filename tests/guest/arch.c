// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CPU-level pieces of the test guest: port I/O, the ring-0 trap handler
 * (which performs IN/OUT for ring 3 when the CPU refuses them, and WRMSR to
 * the kvmclock MSR), exit, and reading the PVH start_info.
 *
 * trap_handler() is the only C code that runs in ring 0. On the development
 * host ring 0 is emulated at roughly half a microsecond per instruction, so
 * the I/O path is kept to a short decode and the access itself.
 */
#include "arch.h"

struct boot_info boot_info;
const char *current_test_name = "boot";

static char cmdline_copy[1024];

static inline uint8_t raw_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t raw_inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t raw_inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void raw_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void raw_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void raw_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

uint8_t inb(uint16_t port)
{
	return raw_inb(port);
}

uint16_t inw(uint16_t port)
{
	return raw_inw(port);
}

uint32_t inl(uint16_t port)
{
	return raw_inl(port);
}

void outb(uint16_t port, uint8_t v)
{
	raw_outb(port, v);
}

void outw(uint16_t port, uint16_t v)
{
	raw_outw(port, v);
}

void outl(uint16_t port, uint32_t v)
{
	raw_outl(port, v);
}

static unsigned current_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

void guest_exit(int code)
{
	outb(0xf4, (uint8_t)code);
	/* Only reached without an isa-debug-exit device. hlt would #GP in
	 * ring 3, so spin there. */
	if (current_cpl() == 0) {
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	for (;;)
		__asm__ volatile("pause");
}

void insw(uint16_t port, void *buf, size_t words)
{
	__asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

void outsw(uint16_t port, const void *buf, size_t words)
{
	__asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* From ring 3 this raises #GP and trap_handler() performs it (for the MSRs
 * emulate_wrmsr() accepts); in ring 0 it runs directly. */
void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/*
 * WRMSR (0F 30) from ring 3. Only the kvmclock MSR is let through: time.c
 * needs it once to read the TSC rate, and any other MSR write from a
 * scenario is a bug that must surface as an exception, not be performed.
 */
static bool emulate_wrmsr(struct trap_frame *f)
{
	const uint8_t *ip = (const uint8_t *)f->rip;

	if (ip[0] != 0x0f || ip[1] != 0x30 || (uint32_t)f->rcx != MSR_KVM_SYSTEM_TIME_NEW)
		return false;
	__asm__ volatile("wrmsr"
			 :
			 : "c"((uint32_t)f->rcx), "a"((uint32_t)f->rax), "d"((uint32_t)f->rdx));
	f->rip += 2;
	return true;
}

/* The string forms (INS/OUTS, optionally REP): the whole string in one
 * trap, element by element as the CPU would. */
static bool emulate_string_io(struct trap_frame *f, uint8_t op, bool op16, bool rep)
{
	uint16_t port = (uint16_t)f->rdx;
	unsigned size = (op & 1) ? (op16 ? 2 : 4) : 1;
	uint64_t count = rep ? f->rcx : 1;

	if (f->rflags & 0x400) /* DF set: not used by this guest */
		return false;
	if (op & 2) { /* outs: from [rsi] */
		const uint8_t *src = (const uint8_t *)f->rsi;
		for (uint64_t i = 0; i < count; i++, src += size) {
			if (size == 1)
				raw_outb(port, *src);
			else if (size == 2)
				raw_outw(port, *(const uint16_t *)src);
			else
				raw_outl(port, *(const uint32_t *)src);
		}
		f->rsi += count * size;
	} else { /* ins: to [rdi] */
		uint8_t *dst = (uint8_t *)f->rdi;
		for (uint64_t i = 0; i < count; i++, dst += size) {
			if (size == 1)
				*dst = raw_inb(port);
			else if (size == 2)
				*(uint16_t *)dst = raw_inw(port);
			else
				*(uint32_t *)dst = raw_inl(port);
		}
		f->rdi += count * size;
	}
	if (rep)
		f->rcx = 0;
	return true;
}

/*
 * Performs the port access a ring-3 IN/OUT (opcodes E4-E7, EC-EF, with an
 * optional 0x66 operand-size prefix) or a (REP) INS/OUTS asked for, on the
 * saved registers. Returns false for anything else.
 */
static bool emulate_port_io(struct trap_frame *f)
{
	const uint8_t *ip = (const uint8_t *)f->rip;
	bool op16 = false, rep = false;
	unsigned n = 0;

	for (; n < 2; n++) {
		if (ip[n] == 0x66)
			op16 = true;
		else if (ip[n] == 0xf3)
			rep = true;
		else
			break;
	}
	uint8_t op = ip[n++];
	uint16_t port = (uint16_t)f->rdx;

	if (op >= 0x6c && op <= 0x6f) {
		if (!emulate_string_io(f, op, op16, rep))
			return false;
		f->rip += n;
		return true;
	}
	if (op >= 0xe4 && op <= 0xe7)
		port = ip[n++];
	else if (op < 0xec || op > 0xef)
		return false;

	unsigned size = (op & 1) ? (op16 ? 2 : 4) : 1;
	if (op & 2) {
		if (size == 1)
			raw_outb(port, (uint8_t)f->rax);
		else if (size == 2)
			raw_outw(port, (uint16_t)f->rax);
		else
			raw_outl(port, (uint32_t)f->rax);
	} else {
		if (size == 1)
			f->rax = (f->rax & ~0xffull) | raw_inb(port);
		else if (size == 2)
			f->rax = (f->rax & ~0xffffull) | raw_inw(port);
		else
			f->rax = raw_inl(port); /* 32-bit results zero-extend */
	}
	f->rip += n;
	return true;
}

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void trap_handler(struct trap_frame *f)
{
	if (f->vector == 13 && (f->cs & 3) == 3 && (emulate_port_io(f) || emulate_wrmsr(f)))
		return;

	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	const char *name =
	    f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector] : "?";
	kprintf("\nKTEST %s FAIL exception %s vector %lu rip 0x%lx error 0x%lx cr2 0x%lx "
		"rsp 0x%lx cpl %lu\n",
		current_test_name, name, f->vector, f->rip, f->error, cr2, f->rsp, f->cs & 3);
	guest_exit(1);
}

/* The RAM range holding the image bounds the DMA allocator. */
static void read_memmap(const struct hvm_start_info *si)
{
	uint64_t image = (uintptr_t)__image_start;

	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
		return;
	const struct hvm_memmap_entry *map =
	    (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++) {
		if (map[i].type != 1)
			continue;
		if (map[i].addr <= image && image < map[i].addr + map[i].size) {
			uint64_t end = map[i].addr + map[i].size;
			/* Only the low 3 GiB are mapped write-back. */
			if (end > 0xc0000000ull)
				end = 0xc0000000ull;
			boot_info.ram_below_4g = end;
			boot_info.memmap_found = true;
		}
	}
}

void arch_init(uint32_t start_info_paddr)
{
	const struct hvm_start_info *si =
	    (const struct hvm_start_info *)(uintptr_t)start_info_paddr;

	boot_info.cmdline = "";
	if (si && si->magic == HVM_START_MAGIC) {
		if (si->cmdline_paddr && si->cmdline_paddr < 0x100000000ull) {
			const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
			size_t i;
			for (i = 0; i + 1 < sizeof(cmdline_copy) && src[i]; i++)
				cmdline_copy[i] = src[i];
			cmdline_copy[i] = 0;
			boot_info.cmdline = cmdline_copy;
		}
		read_memmap(si);
	} else {
		kprintf("boot: no PVH start_info (ebx=0x%x)\n", start_info_paddr);
	}
	if (!boot_info.memmap_found) {
		/* Every configuration the tests use has at least 64 MiB. */
		boot_info.ram_below_4g = 32ull << 20;
		kprintf("boot: no memory map, assuming 32 MiB of RAM\n");
	}
	dma_init((uintptr_t)__image_end, (uintptr_t)boot_info.ram_below_4g);
}
