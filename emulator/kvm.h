/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The KVM virtual machine and its vCPU threads (kvm.c, cpuid.c). */
#ifndef KITE_KVM_H
#define KITE_KVM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

/* How the boot code wants the BSP started. */
enum boot_mode {
	BOOT_MODE_PM32,	  /* PVH: flat 32-bit protected mode, paging off */
	BOOT_MODE_LONG64, /* Linux 64-bit boot protocol: identity paging on */
};
struct boot_entry {
	enum boot_mode mode;
	uint64_t rip, rbx, rsi, rsp;
};

int kvm_init(GError **err);
int kvm_vm_fd(void);
int kvm_map_ram(GError **err);
int kvm_create_vcpus(unsigned n, const char *cpu_model, GError **err);
/* Program the BSP from the boot entry and put APs in wait-for-SIPI. */
int kvm_reset_vcpus(const struct boot_entry *entry, GError **err);
void kvm_start_vcpus(void);

/* Pause all vCPUs and wait until none runs guest code (caller holds the
 * kite lock), and let them run again. */
void kvm_pause_vcpus(void);
void kvm_resume_vcpus(void);
/* Called by a vCPU thread that must not re-enter the guest (shutdown,
 * reset): it parks until kvm_resume_vcpus(). */
void kvm_park_self(void);

unsigned kvm_vcpu_count(void);
int kvm_vcpu_thread_id(unsigned index); /* host thread id (0 before it started) */

/* `info registers`: pauses the vCPUs briefly when they run. */
void kvm_info_registers(GString *out);

void kvm_irq_line(unsigned gsi, int level);
void kvm_signal_msi(uint64_t address, uint32_t data);
/*
 * MSI through irqfd: kvm_msi_irqfd_supported() is true when the host has
 * KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING (checked by kvm_init; the
 * KITE_NO_IRQFD environment variable turns it off). A GSI gets an MSI route
 * with kvm_msi_route_alloc() (-1 when the bounded table is full: use
 * kvm_signal_msi), is retargeted with _set and released with _free; those
 * only edit kite's table, kvm_msi_routes_commit() hands it to KVM in one
 * KVM_SET_GSI_ROUTING. kvm_irqfd_bind() binds (or unbinds) an eventfd to a
 * GSI so that writing it raises the interrupt; bind after the commit that
 * created the route, unbind before freeing it.
 */
bool kvm_msi_irqfd_supported(void);
int kvm_msi_route_alloc(uint64_t address, uint32_t data);
void kvm_msi_route_set(int gsi, uint64_t address, uint32_t data);
void kvm_msi_route_free(int gsi);
int kvm_msi_routes_commit(void);
int kvm_irqfd_bind(int fd, int gsi, bool unbind);
unsigned kvm_msi_routes_in_use(void);
/* Register (or with deassign, remove) an ioeventfd on an MMIO address. */
int kvm_ioeventfd(uint64_t addr, unsigned len, bool datamatch, uint64_t data, int fd,
		  bool deassign);
/* Save/restore in-kernel irqchip and PIT state for system_reset. */
void kvm_irqchip_reset(void);

/* cpuid.c: build the CPUID table for one vCPU. NULL with err set when the
 * model is unknown. */
struct kvm_cpuid2 *cpuid_build(int kvm_fd, const char *model, unsigned vcpu_index,
			       unsigned nr_vcpus, GError **err);
bool cpuid_model_known(const char *model);
/* host and max: KVM's features, minus unmigratable ones unless
 * migratable=off (cpuid_set_migratable) */
bool cpuid_model_has_host_features(const char *model);
void cpuid_set_migratable(bool on);
void cpuid_list_models(void);

#endif
