/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPUID for the vCPUs: "host" passes through what KVM supports; the
 * baseline models (qemu64, kvm64, ...) mask it down to a conservative
 * x86-64 feature set so a guest sees the same CPU on any host.
 */
#include "kvm.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error.h"

struct cpu_model {
	const char *name;
	const char *desc;
	bool baseline;
	uint32_t leaf1_edx, leaf1_ecx;
	uint32_t ext1_edx, ext1_ecx;
	uint32_t kvm_features; /* leaf 0x40000001 EAX, for baseline models */
};

/* Feature bits: leaf 1 EDX fpu vme de pse tsc msr pae mce cx8 apic sep mtrr
 * pge mca cmov pat pse36 clflush mmx fxsr sse sse2; ECX sse3 cx16 x2apic
 * hypervisor (plus popcnt for kvm64's successors). Extended leaf
 * 0x80000001: EDX syscall nx lm, ECX lahf_lm. */
#define BASE_EDX   0x0789fbffu
#define QEMU64_ECX ((1u << 0) | (1u << 13) | (1u << 21) | (1u << 31))
#define EXT_EDX	   ((1u << 11) | (1u << 20) | (1u << 29))
#define EXT_ECX	   (1u << 0)
/* KVM paravirtual features (leaf 0x40000001 EAX) QEMU turns on by default
 * for its KVM-accelerated baseline models: kvmclock (bits 0 and 3, the old
 * and new MSR numbers), nopiodelay (1), asyncpf (4), steal-time (5), pv-eoi
 * (6) and clocksource-stable (24). KVM implements them all in the kernel. */
#define KVM_DEFAULT_FEATURES                                                                       \
	((1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 24))

static const struct cpu_model models[] = {
    {"host", "KVM processor with all supported host features", false, 0, 0, 0, 0, 0},
    {"max", "Enables all features supported by the accelerator in the current host", false, 0, 0, 0,
     0, 0},
    {"qemu64", "QEMU Virtual CPU version 2.5+", true, BASE_EDX, QEMU64_ECX, EXT_EDX, EXT_ECX,
     KVM_DEFAULT_FEATURES},
    {"kvm64", "Common KVM processor", true, BASE_EDX, QEMU64_ECX, EXT_EDX, EXT_ECX,
     KVM_DEFAULT_FEATURES},
    /* QEMU keeps the KVM signature leaf for "base" but offers no features */
    {"base", "base CPU model type with no features enabled", true, BASE_EDX,
     (1u << 31) | (1u << 21), EXT_EDX, 0, 0},
};

/* -cpu host,migratable=on|off (and max): on, QEMU's default, leaves out
 * features a migration could not carry to another host */
static bool host_migratable = true;

void cpuid_set_migratable(bool on)
{
	host_migratable = on;
}

bool cpuid_model_has_host_features(const char *model)
{
	return !strcmp(model, "host") || !strcmp(model, "max");
}

static const struct cpu_model *find_model(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

bool cpuid_model_known(const char *model)
{
	return find_model(model) != NULL;
}

void cpuid_list_models(void)
{
	printf(_("Available CPUs:\n"));
	for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
		printf("x86 %-16s  %s\n", models[i].name, models[i].desc);
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

struct kvm_cpuid2 *cpuid_build(int kvm_fd, const char *model_name, unsigned idx, unsigned n,
			       GError **err)
{
	const struct cpu_model *model = find_model(model_name);
	if (!model) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("unable to find CPU model '%s'"),
			    model_name);
		return NULL;
	}
	unsigned nent = 100;
	struct kvm_cpuid2 *cpuid;
	for (;;) {
		cpuid = g_malloc0(sizeof(*cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
		cpuid->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		int e = errno;
		g_free(cpuid);
		if (e != E2BIG || nent > 4000) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("KVM_GET_SUPPORTED_CPUID failed: %s"), g_strerror(e));
			return NULL;
		}
		nent *= 2;
	}
	unsigned core_bits = bits_for(n);
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		switch (e->function) {
		case 1:
			/* APIC id and logical processor count */
			e->ebx = (e->ebx & 0x0000ffff) | (idx << 24) | ((n & 0xff) << 16);
			if (n > 1)
				e->edx |= 1u << 28; /* HTT: more than one logical CPU */
			e->ecx |= 1u << 31;	    /* hypervisor */
			if (model->baseline) {
				e->edx &= model->leaf1_edx | (n > 1 ? 1u << 28 : 0);
				e->ecx &= model->leaf1_ecx;
			}
			break;
		case 4:
			e->eax = (e->eax & 0x3ff) | ((n - 1) << 26);
			if (model->baseline && e->index > 0) {
				/* keep L1 only: a conservative, stable cache list */
				e->eax &= ~0x1fu;
			}
			break;
		case 7:
		case 0xd:
		case 0x14:
		case 0x12:
			if (model->baseline)
				e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			e->edx = idx;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0x100;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = n;
				e->ecx = 0x201;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x40000001:
			/* KVM's paravirtual leaves (signature "KVMKVMKVM" at
			 * 0x40000000) come from KVM_GET_SUPPORTED_CPUID as they
			 * are; host and max keep every feature KVM offers, as in
			 * QEMU. Guests find kvmclock here (bit 3). */
			if (model->baseline)
				e->eax &= model->kvm_features;
			break;
		case 0x80000001:
			if (model->baseline) {
				e->edx &= model->ext1_edx | model->leaf1_edx;
				e->ecx &= model->ext1_ecx;
			}
			break;
		case 0x80000007:
			/* invariant TSC: its rate changes with the host, so QEMU
			 * hides it from CPUs that may migrate (migratable=on) */
			if (model->baseline || host_migratable)
				e->edx &= ~(1u << 8);
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xffu) | ((n - 1) & 0xff);
			break;
		}
	}
	return cpuid;
}
