/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run state, reset and shutdown, interrupts, and the big kite lock.
 * Requests from vCPU threads are forwarded to the main loop, which owns
 * every state change.
 */
#include "machine.h"

#include <glib/gi18n.h>
#include <pthread.h>
#include <stdlib.h>

#include "boot.h"
#include "error.h"
#include "kvm.h"
#include "main-loop.h"
#include "monitor.h"
#include "pci.h"
#include "qtest.h"
#include "vl.h"

pthread_mutex_t kite_big_lock = PTHREAD_MUTEX_INITIALIZER;
struct machine_config machine_cfg = {.smp = 1, .cpu_model = "host"};

static enum run_state state = RUN_STATE_PRELAUNCH;

void kite_lock(void)
{
	pthread_mutex_lock(&kite_big_lock);
}

void kite_unlock(void)
{
	pthread_mutex_unlock(&kite_big_lock);
}

enum run_state vm_run_state(void)
{
	return state;
}

const char *run_state_name(enum run_state s)
{
	static const char *const names[] = {
	    [RUN_STATE_PRELAUNCH] = "prelaunch",
	    [RUN_STATE_RUNNING] = "running",
	    [RUN_STATE_PAUSED] = "paused",
	    [RUN_STATE_SHUTDOWN] = "shutdown",
	    [RUN_STATE_DEBUG] = "debug",
	    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
	    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
	    [RUN_STATE_IO_ERROR] = "io-error",
	};
	return names[s];
}

bool vm_running(void)
{
	return state == RUN_STATE_RUNNING;
}

void vm_stop(void)
{
	if (state != RUN_STATE_RUNNING) {
		if (state == RUN_STATE_PRELAUNCH)
			state = RUN_STATE_PAUSED;
		return;
	}
	if (!machine_cfg.qtest)
		kvm_pause_vcpus();
	state = RUN_STATE_PAUSED;
	qmp_event_emit("STOP", NULL);
}

void vm_start(void)
{
	if (state == RUN_STATE_RUNNING)
		return;
	state = RUN_STATE_RUNNING;
	qmp_event_emit("RESUME", NULL);
	if (!machine_cfg.qtest)
		kvm_resume_vcpus();
}

const char *shutdown_cause_name(enum shutdown_cause c)
{
	switch (c) {
	case SHUTDOWN_CAUSE_HOST_QMP_QUIT:
		return "host-qmp-quit";
	case SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET:
		return "host-qmp-system-reset";
	case SHUTDOWN_CAUSE_HOST_SIGNAL:
		return "host-signal";
	case SHUTDOWN_CAUSE_HOST_UI:
		return "host-ui";
	case SHUTDOWN_CAUSE_GUEST_SHUTDOWN:
		return "guest-shutdown";
	case SHUTDOWN_CAUSE_GUEST_RESET:
		return "guest-reset";
	case SHUTDOWN_CAUSE_GUEST_PANIC:
		return "guest-panic";
	}
	return "none";
}

static bool cause_is_guest(enum shutdown_cause c)
{
	return c == SHUTDOWN_CAUSE_GUEST_SHUTDOWN || c == SHUTDOWN_CAUSE_GUEST_RESET ||
	       c == SHUTDOWN_CAUSE_GUEST_PANIC;
}

struct request {
	enum shutdown_cause cause;
	int status;
};

static bool shutting_down;

static void do_shutdown(void *opaque)
{
	struct request *rq = opaque;
	if (!shutting_down) {
		shutting_down = true;
		JsonObject *data = json_object_new();
		json_object_set_boolean_member(data, "guest", cause_is_guest(rq->cause));
		json_object_set_string_member(data, "reason", shutdown_cause_name(rq->cause));
		qmp_event_emit("SHUTDOWN", data);
		if (!machine_cfg.qtest && state == RUN_STATE_RUNNING)
			kvm_pause_vcpus();
		state = RUN_STATE_SHUTDOWN;
		if (machine_cfg.no_shutdown && cause_is_guest(rq->cause)) {
			/* -no-shutdown: stay, stopped, until quit or reset */
			qmp_event_emit("STOP", NULL);
			shutting_down = false;
		} else {
			kite_request_exit(rq->status);
		}
	}
	g_free(rq);
}

void machine_shutdown_now(enum shutdown_cause cause, int exit_status)
{
	struct request *rq = g_new0(struct request, 1);
	rq->cause = cause;
	rq->status = exit_status;
	do_shutdown(rq);
}

void machine_request_shutdown(enum shutdown_cause cause, int exit_status)
{
	struct request *rq = g_new0(struct request, 1);
	rq->cause = cause;
	rq->status = exit_status;
	ml_call_from_thread(do_shutdown, rq);
}

struct reset_hook {
	void (*fn)(void *opaque);
	void *opaque;
};
static GArray *reset_hooks;

void machine_register_reset(void (*fn)(void *opaque), void *opaque)
{
	if (!reset_hooks)
		reset_hooks = g_array_new(false, false, sizeof(struct reset_hook));
	struct reset_hook h = {fn, opaque};
	g_array_append_val(reset_hooks, h);
}

static void do_reset(void *opaque)
{
	struct request *rq = opaque;
	enum shutdown_cause cause = rq->cause;
	g_free(rq);
	if (shutting_down)
		return;
	if (machine_cfg.no_reboot && cause_is_guest(cause)) {
		struct request *s = g_new0(struct request, 1);
		s->cause = cause;
		s->status = 0;
		do_shutdown(s);
		return;
	}
	bool was_running = state == RUN_STATE_RUNNING;
	if (!machine_cfg.qtest && was_running)
		kvm_pause_vcpus();
	JsonObject *data = json_object_new();
	json_object_set_boolean_member(data, "guest", cause_is_guest(cause));
	json_object_set_string_member(data, "reason", shutdown_cause_name(cause));
	qmp_event_emit("RESET", data);
	if (reset_hooks)
		for (guint i = 0; i < reset_hooks->len; i++) {
			struct reset_hook *h = &g_array_index(reset_hooks, struct reset_hook, i);
			h->fn(h->opaque);
		}
	pci_reset_all();
	if (!machine_cfg.qtest) {
		GError *err = NULL;
		struct boot_entry entry;
		kvm_irqchip_reset();
		if (boot_prepare(&entry, &err) < 0 || kvm_reset_vcpus(&entry, &err) < 0) {
			error_report_err(err);
			kite_request_exit(1);
			return;
		}
		if (was_running)
			kvm_resume_vcpus();
	}
	/* as QEMU: a machine reset while shut down waits in prelaunch */
	if (state == RUN_STATE_SHUTDOWN)
		state = RUN_STATE_PRELAUNCH;
}

void machine_request_reset(enum shutdown_cause cause)
{
	struct request *rq = g_new0(struct request, 1);
	rq->cause = cause;
	ml_call_from_thread(do_reset, rq);
}

void irq_set_level(unsigned gsi, int level)
{
	if (machine_cfg.qtest)
		qtest_irq(gsi, level);
	else
		kvm_irq_line(gsi, level);
}

void irq_pulse(unsigned gsi)
{
	irq_set_level(gsi, 1);
	irq_set_level(gsi, 0);
}

void irq_msi(uint64_t address, uint32_t data)
{
	if (machine_cfg.qtest)
		qtest_msi(address, data);
	else
		kvm_signal_msi(address, data);
}

int64_t vclock_ns(void)
{
	if (machine_cfg.qtest)
		return qtest_clock_ns();
	return ml_now_ns();
}
