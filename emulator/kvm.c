/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM VM: RAM slots, in-kernel irqchip and PIT, vCPU threads and their
 * exit handling. A vCPU thread handles PIO/MMIO exits itself, holding the
 * big kite lock while a device runs.
 */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "machine.h"
#include "memory-internal.h"
#include "memory.h"

#define SIG_KICK	      SIGUSR1
#define KVM_TSS_ADDR	      0xfeffd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL

struct vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool parked;
	int tid;
	struct kvm_regs init_regs;
	struct kvm_sregs init_sregs;
	struct kvm_fpu init_fpu;
	struct kvm_lapic_state init_lapic;
};

static int kvm_fd = -1, vm_fd = -1;
static int run_mmap_size;
static struct vcpu *vcpus;
static unsigned nr_vcpus;

/* Pausing: protected by the kite lock (see machine.c). */
static bool pause_requested = true; /* vCPUs start parked until started */
static unsigned parked_count;
static pthread_cond_t parked_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t resume_cond = PTHREAD_COND_INITIALIZER;
extern pthread_mutex_t kite_big_lock;

static struct kvm_irqchip init_chips[3];
static struct kvm_pit_state2 init_pit;

/*
 * GSI routing. GSIs 0-23 keep the routes KVM installs by default (IOAPIC pin
 * n, plus PIC pin n%8 for n < 16), because KVM_SET_GSI_ROUTING replaces the
 * whole table; MSI routes take GSIs from 24 up. The count is bounded so a
 * guest enabling thousands of MSI-X vectors cannot grow the table (and the
 * cost of every KVM_SET_GSI_ROUTING) without limit: vectors beyond it fall
 * back to KVM_SIGNAL_MSI.
 */
#define IRQCHIP_GSIS   24
#define MSI_ROUTES_MAX 512
struct msi_route {
	bool used;
	uint64_t address;
	uint32_t data;
};
static bool have_irqfd_routing;
static unsigned msi_routes_max;
static struct msi_route msi_routes[MSI_ROUTES_MAX];
static bool routes_dirty; /* msi_routes differs from what KVM has */

int kvm_vm_fd(void)
{
	return vm_fd;
}

int kvm_init(GError **err)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Could not access KVM kernel module: %s"), g_strerror(errno));
		return -1;
	}
	int ver = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("KVM API version %d is not supported"), ver);
		return -1;
	}
	static const struct {
		int cap;
		const char *name;
	} caps[] = {
	    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
	    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_KVM_MISSING_CAP,
				    _("kvm does not support %s"), caps[i].name);
			return -1;
		}
	}
	/* Without these, MSIs go through KVM_SIGNAL_MSI, one ioctl each.
	 * KITE_NO_IRQFD=1 forces that path (for tests of the fallback). */
	int max_routes = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	have_irqfd_routing = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0 &&
			     max_routes > 0 && !getenv("KITE_NO_IRQFD");
	if (have_irqfd_routing) {
		/* the table also holds 24 IOAPIC and 16 PIC entries */
		msi_routes_max =
		    max_routes > IRQCHIP_GSIS + 16 ? max_routes - IRQCHIP_GSIS - 16 : 0;
		if (msi_routes_max > MSI_ROUTES_MAX)
			msi_routes_max = MSI_ROUTES_MAX;
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("ioctl(KVM_CREATE_VM) failed: %s"),
			    g_strerror(errno));
		return -1;
	}
	run_mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_mmap_size <= 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "KVM_GET_VCPU_MMAP_SIZE: %s",
			    g_strerror(errno));
		return -1;
	}
	/* Some KVM flavours (and AMD) have no use for these; failures are
	 * only fatal where the kernel needs them, i.e. at KVM_RUN. */
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		warn_report("KVM_SET_TSS_ADDR: %s", g_strerror(errno));
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		warn_report("KVM_SET_IDENTITY_MAP_ADDR: %s", g_strerror(errno));
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "KVM_CREATE_IRQCHIP: %s",
			    g_strerror(errno));
		return -1;
	}
	/* the speaker port 0x61 is kite's (port61.c) */
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "KVM_CREATE_PIT2: %s",
			    g_strerror(errno));
		return -1;
	}
	/* -global kvm-pit.lost_tick_policy=discard: ticks the guest missed are
	 * dropped instead of delivered late (KVM's default, "delay") */
	if (machine_cfg.pit_discard_lost_ticks) {
		struct kvm_reinject_control rc = {.pit_reinject = 0};
		if (ioctl(vm_fd, KVM_REINJECT_CONTROL, &rc) < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    "KVM_REINJECT_CONTROL (lost_tick_policy=discard): %s",
				    g_strerror(errno));
			return -1;
		}
	}
	for (int i = 0; i < 3; i++) {
		init_chips[i].chip_id = i;
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &init_chips[i]) < 0)
			warn_report("KVM_GET_IRQCHIP: %s", g_strerror(errno));
	}
	if (ioctl(vm_fd, KVM_GET_PIT2, &init_pit) < 0)
		warn_report("KVM_GET_PIT2: %s", g_strerror(errno));
	return 0;
}

void kvm_irqchip_reset(void)
{
	for (int i = 0; i < 3; i++)
		ioctl(vm_fd, KVM_SET_IRQCHIP, &init_chips[i]);
	ioctl(vm_fd, KVM_SET_PIT2, &init_pit);
}

static int set_slot(unsigned slot, uint64_t gpa, uint64_t size, void *host, GError **err)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)host,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("cannot map %llu bytes of guest RAM at 0x%llx: %s"),
			    (unsigned long long)size, (unsigned long long)gpa, g_strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_map_ram(GError **err)
{
	uint8_t *base = guest_ram_base();
	if (set_slot(0, 0, guest_ram_below_4g(), base, err) < 0)
		return -1;
	if (guest_ram_above_4g() && set_slot(1, KITE_HIGHMEM_BASE, guest_ram_above_4g(),
					     base + guest_ram_below_4g(), err) < 0)
		return -1;
	return 0;
}

void kvm_irq_line(unsigned gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};
	if (ioctl(vm_fd, KVM_IRQ_LINE, &l) < 0)
		warn_report("KVM_IRQ_LINE %u: %s", gsi, g_strerror(errno));
}

void kvm_signal_msi(uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
	    .address_lo = (uint32_t)address,
	    .address_hi = (uint32_t)(address >> 32),
	    .data = data,
	};
	/* 0 means the guest blocked it (e.g. a masked LAPIC): not an error. */
	if (ioctl(vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		warn_report("KVM_SIGNAL_MSI: %s", g_strerror(errno));
}

bool kvm_msi_irqfd_supported(void)
{
	return have_irqfd_routing && msi_routes_max > 0;
}

int kvm_msi_routes_commit(void)
{
	if (!routes_dirty)
		return 0;
	unsigned n = IRQCHIP_GSIS + 16;
	for (unsigned i = 0; i < msi_routes_max; i++)
		n += msi_routes[i].used;
	struct kvm_irq_routing *r =
	    g_malloc0(sizeof(*r) + n * sizeof(struct kvm_irq_routing_entry));
	unsigned k = 0;
	for (unsigned gsi = 0; gsi < IRQCHIP_GSIS; gsi++) {
		r->entries[k++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
		};
		if (gsi < 16)
			r->entries[k++] = (struct kvm_irq_routing_entry){
			    .gsi = gsi,
			    .type = KVM_IRQ_ROUTING_IRQCHIP,
			    .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							     : KVM_IRQCHIP_PIC_SLAVE,
					  .pin = gsi % 8},
			};
	}
	for (unsigned i = 0; i < msi_routes_max; i++) {
		if (!msi_routes[i].used)
			continue;
		r->entries[k++] = (struct kvm_irq_routing_entry){
		    .gsi = IRQCHIP_GSIS + i,
		    .type = KVM_IRQ_ROUTING_MSI,
		    .u.msi = {.address_lo = (uint32_t)msi_routes[i].address,
			      .address_hi = (uint32_t)(msi_routes[i].address >> 32),
			      .data = msi_routes[i].data},
		};
	}
	r->nr = k;
	int ret = ioctl(vm_fd, KVM_SET_GSI_ROUTING, r);
	int saved = errno;
	g_free(r);
	if (ret < 0) {
		warn_report("KVM_SET_GSI_ROUTING: %s", g_strerror(saved));
		return -1;
	}
	routes_dirty = false;
	return 0;
}

int kvm_msi_route_alloc(uint64_t address, uint32_t data)
{
	if (!kvm_msi_irqfd_supported())
		return -1;
	for (unsigned i = 0; i < msi_routes_max; i++) {
		if (!msi_routes[i].used) {
			msi_routes[i] =
			    (struct msi_route){.used = true, .address = address, .data = data};
			routes_dirty = true;
			return IRQCHIP_GSIS + i;
		}
	}
	return -1;
}

static struct msi_route *route_of(int gsi)
{
	unsigned i = (unsigned)gsi - IRQCHIP_GSIS;
	if (gsi < IRQCHIP_GSIS || i >= msi_routes_max || !msi_routes[i].used)
		return NULL;
	return &msi_routes[i];
}

void kvm_msi_route_set(int gsi, uint64_t address, uint32_t data)
{
	struct msi_route *r = route_of(gsi);
	if (!r || (r->address == address && r->data == data))
		return;
	r->address = address;
	r->data = data;
	routes_dirty = true;
}

void kvm_msi_route_free(int gsi)
{
	struct msi_route *r = route_of(gsi);
	if (!r)
		return;
	r->used = false;
	routes_dirty = true;
}

int kvm_irqfd_bind(int fd, int gsi, bool unbind)
{
	struct kvm_irqfd f = {.fd = fd, .gsi = gsi, .flags = unbind ? KVM_IRQFD_FLAG_DEASSIGN : 0};
	if (ioctl(vm_fd, KVM_IRQFD, &f) < 0) {
		warn_report("KVM_IRQFD%s (GSI %d): %s", unbind ? " deassign" : "", gsi,
			    g_strerror(errno));
		return -1;
	}
	return 0;
}

unsigned kvm_msi_routes_in_use(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < msi_routes_max; i++)
		n += msi_routes[i].used;
	return n;
}

int kvm_ioeventfd(uint64_t addr, unsigned len, bool datamatch, uint64_t data, int fd, bool deassign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = data,
	    .addr = addr,
	    .len = len,
	    .fd = fd,
	    .flags = (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		     (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void dump_registers(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	fprintf(stderr,
		"CPU#%u\nRAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		"RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
		"R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
		"R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
		"RIP=%016llx RFL=%08llx\n"
		"CS =%04x %016llx %08x\nDS =%04x %016llx %08x\nSS =%04x %016llx %08x\n"
		"CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
		v->index, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
		r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags, s.cs.selector, s.cs.base,
		s.cs.limit, s.ds.selector, s.ds.base, s.ds.limit, s.ss.selector, s.ss.base,
		s.ss.limit, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

unsigned kvm_vcpu_count(void)
{
	return nr_vcpus;
}

int kvm_vcpu_thread_id(unsigned index)
{
	return index < nr_vcpus ? vcpus[index].tid : 0;
}

void kvm_info_registers(GString *out)
{
	bool was_paused = pause_requested;
	if (!was_paused)
		kvm_pause_vcpus();
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct kvm_regs r;
		struct kvm_sregs s;
		if (ioctl(vcpus[i].fd, KVM_GET_REGS, &r) < 0 ||
		    ioctl(vcpus[i].fd, KVM_GET_SREGS, &s) < 0)
			continue;
		g_string_append_printf(
		    out,
		    "CPU#%u\nRAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		    "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
		    "RIP=%016llx RFL=%08llx CPL=%u\n"
		    "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
		    i, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.rip, r.rflags,
		    s.cs.dpl, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	}
	if (!was_paused)
		kvm_resume_vcpus();
}

/* Returns false when the vCPU must stop (fatal error reported). */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		unsigned size = run->io.size;
		kite_lock();
		for (uint32_t i = 0; i < run->io.count; i++, data += size) {
			uint64_t val = 0;
			if (run->io.direction == KVM_EXIT_IO_OUT) {
				memcpy(&val, data, size);
				io_access(IO_SPACE_PIO, run->io.port, size, true, &val);
			} else {
				io_access(IO_SPACE_PIO, run->io.port, size, false, &val);
				memcpy(data, &val, size);
			}
		}
		kite_unlock();
		return true;
	}
	case KVM_EXIT_MMIO: {
		uint64_t val = 0;
		unsigned len = run->mmio.len;
		if (len > 8)
			len = 8;
		kite_lock();
		if (run->mmio.is_write) {
			memcpy(&val, run->mmio.data, len);
			io_access(IO_SPACE_MMIO, run->mmio.phys_addr, len, true, &val);
		} else {
			io_access(IO_SPACE_MMIO, run->mmio.phys_addr, len, false, &val);
			memcpy(run->mmio.data, &val, len);
		}
		kite_unlock();
		return true;
	}
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; idle politely. */
		usleep(1000);
		return true;
	case KVM_EXIT_SHUTDOWN:
		machine_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
		kvm_park_self();
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			machine_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN, 0);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			machine_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
			break;
		default:
			machine_request_shutdown(SHUTDOWN_CAUSE_GUEST_PANIC, 0);
			break;
		}
		kvm_park_self();
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		error_report(_("KVM internal error. Suberror: %u"), run->internal.suberror);
		dump_registers(v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		error_report(_("KVM: entry failed, hardware error 0x%llx"),
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		dump_registers(v);
		return false;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return true;
	default:
		error_report(_("KVM: unhandled exit reason %u"), run->exit_reason);
		dump_registers(v);
		return false;
	}
}

static void wait_while_paused(struct vcpu *v)
{
	kite_lock();
	while (pause_requested || v->parked) {
		parked_count++;
		pthread_cond_broadcast(&parked_cond);
		pthread_cond_wait(&resume_cond, &kite_big_lock);
		parked_count--;
	}
	kite_unlock();
}

static __thread struct vcpu *current_vcpu;
/* vCPU threads report their thread id before kite carries on, so
 * query-cpus-fast always has it. */
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;

void kvm_park_self(void)
{
	if (!current_vcpu)
		return;
	kite_lock();
	current_vcpu->parked = true;
	kite_unlock();
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	current_vcpu = v;
	pthread_mutex_lock(&started_lock);
	v->tid = gettid();
	pthread_cond_broadcast(&started_cond);
	pthread_mutex_unlock(&started_lock);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	char name[16];
	snprintf(name, sizeof(name), "CPU %u/KVM", v->index);
	pthread_setname_np(pthread_self(), name);

	for (;;) {
		wait_while_paused(v);
		int r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			error_report(_("KVM_RUN failed: %s"), g_strerror(errno));
			dump_registers(v);
			machine_request_shutdown(SHUTDOWN_CAUSE_GUEST_PANIC, 1);
			kvm_park_self();
			continue;
		}
		if (!handle_exit(v)) {
			machine_request_shutdown(SHUTDOWN_CAUSE_GUEST_PANIC, 1);
			kvm_park_self();
		}
	}
	return NULL;
}

static void kick(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	__sync_synchronize();
	pthread_kill(v->thread, SIG_KICK);
}

void kvm_pause_vcpus(void)
{
	pause_requested = true;
	for (unsigned i = 0; i < nr_vcpus; i++) {
		if (pthread_equal(vcpus[i].thread, pthread_self()))
			continue;
		kick(&vcpus[i]);
	}
	/* A vCPU calling this on itself (e.g. debug-exit) cannot wait for
	 * itself; everyone else is waited for. */
	unsigned want = nr_vcpus - (current_vcpu ? 1 : 0);
	while (parked_count < want)
		pthread_cond_wait(&parked_cond, &kite_big_lock);
}

void kvm_resume_vcpus(void)
{
	pause_requested = false;
	for (unsigned i = 0; i < nr_vcpus; i++)
		vcpus[i].parked = false;
	pthread_cond_broadcast(&resume_cond);
}

static int set_msrs(struct vcpu *v)
{
	static const uint32_t zero_msrs[] = {
	    0x174,	0x175,	    0x176,		    /* SYSENTER_CS/ESP/EIP */
	    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR FMASK */
	    0xc0000102,					    /* KERNEL_GS_BASE */
	    0x10,					    /* TSC */
	};
	size_t n = G_N_ELEMENTS(zero_msrs) + 1;
	struct kvm_msrs *m = g_malloc0(sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	for (size_t i = 0; i < G_N_ELEMENTS(zero_msrs); i++)
		m->entries[i].index = zero_msrs[i];
	m->entries[n - 1].index = 0x1a0; /* MISC_ENABLE: fast strings */
	m->entries[n - 1].data = 1;
	m->nmsrs = n;
	int r = ioctl(v->fd, KVM_SET_MSRS, m);
	g_free(m);
	return r;
}

int kvm_create_vcpus(unsigned n, const char *cpu_model, GError **err)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigaction(SIG_KICK, &sa, NULL);
	vcpus = g_new0(struct vcpu, n);
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &vcpus[i];
		v->index = i;
		v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("kvm_init_vcpu: KVM_CREATE_VCPU failed (%u): %s"), i,
				    g_strerror(errno));
			return -1;
		}
		v->run = mmap(NULL, run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "mmap kvm_run: %s",
				    g_strerror(errno));
			return -1;
		}
		struct kvm_cpuid2 *cpuid = cpuid_build(kvm_fd, cpu_model, i, n, err);
		if (!cpuid)
			return -1;
		int r = ioctl(v->fd, KVM_SET_CPUID2, cpuid);
		g_free(cpuid);
		if (r < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, "KVM_SET_CPUID2: %s",
				    g_strerror(errno));
			return -1;
		}
		if (ioctl(v->fd, KVM_GET_REGS, &v->init_regs) < 0 ||
		    ioctl(v->fd, KVM_GET_SREGS, &v->init_sregs) < 0 ||
		    ioctl(v->fd, KVM_GET_FPU, &v->init_fpu) < 0 ||
		    ioctl(v->fd, KVM_GET_LAPIC, &v->init_lapic) < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("cannot read initial vCPU state: %s"), g_strerror(errno));
			return -1;
		}
		/* LINT0 = ExtINT (legacy PIC), LINT1 = NMI, as firmware sets. */
		uint32_t *lvt0 = (uint32_t *)&v->init_lapic.regs[0x350];
		uint32_t *lvt1 = (uint32_t *)&v->init_lapic.regs[0x360];
		*lvt0 = 0x700;
		*lvt1 = 0x400;
	}
	nr_vcpus = n;
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l, bool db)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = db,
	    .s = 1,
	    .l = l,
	    .g = 1,
	};
}

int kvm_reset_vcpus(const struct boot_entry *e, GError **err)
{
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct vcpu *v = &vcpus[i];
		struct kvm_sregs s = v->init_sregs;
		struct kvm_regs r = v->init_regs;
		if (ioctl(v->fd, KVM_SET_FPU, &v->init_fpu) < 0 ||
		    ioctl(v->fd, KVM_SET_LAPIC, &v->init_lapic) < 0 || set_msrs(v) < 0)
			goto fail;
		if (i == 0) {
			bool lm = e->mode == BOOT_MODE_LONG64;
			seg(&s.cs, 0x10, 0xb, lm, !lm);
			seg(&s.ds, 0x18, 0x3, false, true);
			s.es = s.fs = s.gs = s.ss = s.ds;
			s.gdt.base = LAYOUT_GDT;
			s.gdt.limit = 5 * 8 - 1;
			s.cr0 = 0x11; /* PE | ET */
			s.cr4 = 0;
			s.efer = 0;
			if (lm) {
				s.cr0 |= 0x80000000; /* PG */
				s.cr3 = LAYOUT_PML4;
				s.cr4 = 0x20;	/* PAE */
				s.efer = 0x500; /* LME | LMA */
			}
			memset(&r, 0, sizeof(r));
			r.rflags = 2;
			r.rip = e->rip;
			r.rbx = e->rbx;
			r.rsi = e->rsi;
			r.rsp = e->rsp;
		}
		if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0 || ioctl(v->fd, KVM_SET_REGS, &r) < 0)
			goto fail;
		struct kvm_mp_state mp = {
		    .mp_state = i == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
		};
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
			goto fail;
		continue;
	fail:
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("cannot set up vCPU %u: %s"), i,
			    g_strerror(errno));
		return -1;
	}
	return 0;
}

void kvm_start_vcpus(void)
{
	/* Only vCPU threads take the kick signal. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < nr_vcpus; i++) {
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_thread, &vcpus[i]) != 0) {
			error_report(_("cannot create vCPU thread"));
			exit(1);
		}
	}
	pthread_mutex_lock(&started_lock);
	for (unsigned i = 0; i < nr_vcpus; i++)
		while (!vcpus[i].tid)
			pthread_cond_wait(&started_cond, &started_lock);
	pthread_mutex_unlock(&started_lock);
}
