/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Machine-wide state and services: run state, reset, shutdown, interrupts,
 * and the big kite lock.
 */
#ifndef KITE_MACHINE_H
#define KITE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The big kite lock serialises all device emulation: vCPU threads take it
 * for every exit they handle in user space, the main loop holds it while it
 * dispatches (it drops it only while waiting in epoll).
 */
void kite_lock(void);
void kite_unlock(void);

/* QEMU run states as reported by query-status. */
enum run_state {
	RUN_STATE_PRELAUNCH,
	RUN_STATE_RUNNING,
	RUN_STATE_PAUSED,
	RUN_STATE_SHUTDOWN,
	RUN_STATE_DEBUG,
	RUN_STATE_INTERNAL_ERROR,
	RUN_STATE_GUEST_PANICKED,
	RUN_STATE_IO_ERROR,
};
enum run_state vm_run_state(void);
const char *run_state_name(enum run_state s);
bool vm_running(void);
/* Pause / resume all vCPUs; emit STOP / RESUME like QEMU. */
void vm_stop(void);
void vm_start(void);

/* Shutdown causes (QEMU's ShutdownCause names). */
enum shutdown_cause {
	SHUTDOWN_CAUSE_HOST_QMP_QUIT,
	SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
	SHUTDOWN_CAUSE_HOST_SIGNAL,
	SHUTDOWN_CAUSE_HOST_UI,
	SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
	SHUTDOWN_CAUSE_GUEST_RESET,
	SHUTDOWN_CAUSE_GUEST_PANIC,
};
const char *shutdown_cause_name(enum shutdown_cause c);

/* Request an exit of kite with the given process exit status, after the
 * SHUTDOWN event. Safe from any thread. */
void machine_request_shutdown(enum shutdown_cause cause, int exit_status);
/* Same, synchronously (main loop thread): SHUTDOWN is emitted now. */
void machine_shutdown_now(enum shutdown_cause cause, int exit_status);
/* Reset the machine (or shut down when -no-reboot). Safe from any thread. */
void machine_request_reset(enum shutdown_cause cause);
/* Press the ACPI power button. Main loop thread. */
void machine_request_powerdown(void);

/* Device reset hooks, run in registration order on system_reset. */
void machine_register_reset(void (*fn)(void *opaque), void *opaque);

/* Interrupt lines of the in-kernel IOAPIC/PIC (GSI numbers). */
void irq_set_level(unsigned gsi, int level);
void irq_pulse(unsigned gsi);
/* Deliver an MSI (address/data as programmed by the guest). */
void irq_msi(uint64_t address, uint32_t data);

/* Virtual clock: host monotonic time normally, qtest's clock under qtest. */
int64_t vclock_ns(void);

/* A few facts fixed at start-up. */
struct machine_config {
	const char *name; /* -name guest=, or NULL */
	uint64_t ram_size;
	unsigned smp;
	bool no_reboot;
	bool no_shutdown;
	bool start_paused; /* -S */
	bool qtest;	   /* -accel qtest / -qtest */
	bool nodefaults;
	const char *cpu_model; /* "host", "qemu64", ... */
	const char *kernel, *initrd, *append;
	char *uuid;		     /* -uuid, or NULL */
	bool pit_discard_lost_ticks; /* -global kvm-pit.lost_tick_policy=discard */
};
extern struct machine_config machine_cfg;

#endif
