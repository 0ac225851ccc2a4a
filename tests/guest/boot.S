/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PVH entry of the test guest.
 *
 * The loader (QEMU's pvh option ROM, or kite) enters pvh_start32 in 32-bit
 * protected mode with paging off and %ebx pointing at struct hvm_start_info.
 * We build identity page tables for 0..4 GiB, enter long mode, install the
 * GDT/TSS/IDT and drop to ring 3 with IOPL=3, where everything else runs.
 *
 * Ring 0 is emulated instruction by instruction on the development host
 * (nested "PVM" KVM), so this file does the minimum there: small loops only,
 * no bulk memory clearing (.bss is cleared from ring 3).
 */

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS   0x18
#define USER_CS   0x20
#define TSS_SEL   0x30

#define PTE_P   0x001
#define PTE_RW  0x002
#define PTE_US  0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

/* ---- PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen" ----
 * The descriptor is 8 bytes like Linux's (QEMU reads a pointer-sized
 * value from a 64-bit ELF); the upper half is zero. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4
	.long 8
	.long 18
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.balign 4

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	/* Upper halves of registers are undefined across the switch to
	 * 64-bit mode: keep the start_info pointer in memory. */
	movl %ebx, start_info_paddr

	lgdt gdt_ptr
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $boot_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. The
	 * tables live in .data, zero in the image, so only present entries
	 * are written. */
	movl $(pdpt + PTE_P + PTE_RW + PTE_US), pml4
	movl $(pd + PTE_P + PTE_RW + PTE_US), %eax
	movl $pdpt, %edx
	movl $4, %ecx
1:	movl %eax, (%edx)
	addl $4096, %eax
	addl $8, %edx
	loop 1b

	/* 2048 x 2 MiB user-accessible pages; uncached from 3 GiB (MMIO). */
	movl $pd, %edx
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P + PTE_RW + PTE_US + PTE_PS), %eax
	cmpl $1536, %ecx
	jb 3f
	orl $(PTE_PWT + PTE_PCD), %eax
3:	movl %eax, (%edx, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG | WP | PE */
	movl %eax, %cr0
	ljmp $KERNEL_CS, $long_entry

	.code64
long_entry:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp

	/* 64-bit TSS descriptor: limit 0x67, type 0x89 (available), base
	 * split into bits 16..39 and 56..63 (the image is below 16 MiB,
	 * the high dword stays zero). */
	movq $tss, %rax
	movq %rax, %rdx
	andl $0xffffff, %edx
	shlq $16, %rdx
	movq %rax, %rcx
	shrq $24, %rcx
	shlq $56, %rcx
	orq %rcx, %rdx
	movabsq $0x0000890000000067, %rcx
	orq %rcx, %rdx
	movq %rdx, gdt_tss
	movw $TSS_SEL, %ax
	ltr %ax

	/* IDT: 32 interrupt gates to the fixed-size stubs below. */
	movq $idt, %rdi
	movq $isr_stubs, %rsi
	xorl %ecx, %ecx
4:	movl %esi, %eax
	movw %ax, (%rdi)
	movw $KERNEL_CS, 2(%rdi)
	movw $0x8e00, 4(%rdi)		/* present, DPL 0, interrupt gate */
	shrl $16, %eax
	movw %ax, 6(%rdi)
	addq $16, %rsi
	addq $16, %rdi
	incl %ecx
	cmpl $32, %ecx
	jb 4b
	movb $1, idt + 8 * 16 + 4	/* #DF runs on IST1 */
	lidt idt_ptr

	/* Into ring 3 with IOPL=3 and IF=0. */
	pushq $(USER_DS | 3)
	pushq $user_stack_top
	pushq $0x3002
	pushq $(USER_CS | 3)
	pushq $ring3_entry
	iretq

ring3_entry:
	/* Clear .bss natively in ring 3 (cheap here, not in ring 0). */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movl start_info_paddr, %edi
	call kmain
	movl $1, %edi
	call guest_exit

/* ---- exception entry ---- */
	.text
	.balign 16
isr_stubs:
	.set vec, 0
	.rept 32
	.balign 16
	.if !HAS_ERRCODE(vec)
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap_handler
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

/* ---- descriptor tables and page tables ---- */
	.data
	.balign 8
	.globl start_info_paddr
start_info_paddr:
	.long 0
	.long 0

	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cff2000000ffff	/* 0x18 user data */
	.quad 0x00affa000000ffff	/* 0x20 user code, 64-bit */
	.quad 0				/* 0x28 unused */
gdt_tss:
	.quad 0				/* 0x30 TSS, filled at boot */
	.quad 0
gdt_end:

	.balign 8
	.word 0
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 8
	.word 0
idt_ptr:
	.word 32 * 16 - 1
	.quad idt

	.balign 16
tss:
	.long 0
	.quad kernel_stack_top		/* rsp0 */
	.quad 0, 0			/* rsp1, rsp2 */
	.quad 0
	.quad df_stack_top		/* ist1 */
	.quad 0, 0, 0, 0, 0, 0		/* ist2..7 */
	.quad 0
	.word 0
	.word 0x68			/* I/O bitmap beyond the limit: IOPL rules */

	.balign 16
idt:
	.fill 32 * 16, 1, 0

	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.fill 4096, 1, 0
pdpt:
	.fill 4096, 1, 0
pd:
	.fill 4 * 4096, 1, 0

/* Stacks are outside .bss so that clearing .bss never touches a live one. */
	.section .stack, "aw", @nobits
	.balign 16
	.skip 4096
boot_stack_top:
	.skip 16384
kernel_stack_top:
	.skip 4096
df_stack_top:
	.skip 262144
	.globl user_stack_top
user_stack_top:
