/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Domains: the registry, persistent definitions under <etc>/domains,
 * runtime state under <run>/domains/NAME, and the life cycle of the kite
 * process behind a running domain.
 */
#ifndef KITE_DRIVER_DOMAIN_H
#define KITE_DRIVER_DOMAIN_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "kite-xml.h"
#include "rpc.h"

struct qmp;

struct domain {
	KiteDomainDef *def;  /* persistent configuration (or the transient one) */
	KiteDomainDef *live; /* definition of the running instance, else NULL */
	bool persistent;
	bool autostart;
	int state;
	int reason;

	/* Running instance. */
	pid_t pid;
	bool own_child; /* started by this daemon (waitpid), else adopted */
	int pidfd;
	guint pid_watch;
	struct qmp *qmp;
	char *run_dir;
	bool destroying;     /* destroy in progress: the exit is ours */
	bool guest_shutdown; /* kite reported SHUTDOWN before exiting */
	/* Taps this daemon created persistent for hot-plugged NICs: unlike the
	 * ones handed to kite as fds at start, they outlive kite's fd and must
	 * be deleted by us. Recorded in <run>/domains/NAME/taps. */
	GPtrArray *own_taps;
};

void domains_init(void);
/* The daemon stops: detaches still waiting for a guest are answered with
 * an error while their clients are still connected. */
void domains_answer_pending(void);
/* Stop watching every domain (daemon exit); running ones keep running. */
void domains_release(void);
/* True while any domain runs (holds off the idle timeout). */
bool domains_busy(void);

GPtrArray *domains_list(void); /* struct domain *, not owned */
struct domain *domain_find_name(const char *name);
struct domain *domain_find_uuid(const uint8_t *uuid);
struct domain *domain_find_id(int id);
/* The domain a client refers to (by UUID, as libvirt does), or NO_DOMAIN. */
struct domain *domain_lookup(const struct wire_ref *ref, GError **err);

static inline bool domain_active(const struct domain *d)
{
	return d->live != NULL;
}
int domain_id(const struct domain *d);
const char *domain_name(const struct domain *d);
const uint8_t *domain_uuid(const struct domain *d);
/* The definition that describes the domain now: live when running. */
KiteDomainDef *domain_current_def(const struct domain *d);

struct domain *domain_define(const char *xml, bool validate, GError **err);
bool domain_undefine(struct domain *d, GError **err);
bool domain_start(struct domain *d, GError **err);
struct domain *domain_create_transient(const char *xml, bool validate, GError **err);
bool domain_destroy(struct domain *d, GError **err);
bool domain_shutdown(struct domain *d, GError **err);
bool domain_reboot(struct domain *d, GError **err);
/* virDomainReset: a hard reset (system_reset), no guest involvement. */
bool domain_reset(struct domain *d, GError **err);
bool domain_suspend(struct domain *d, GError **err);
bool domain_resume(struct domain *d, GError **err);
bool domain_set_autostart(struct domain *d, bool on, GError **err);
char *domain_get_xml(struct domain *d, unsigned flags);
/* Nanoseconds of host CPU used by the running kite, 0 when inactive. */
uint64_t domain_cpu_time(const struct domain *d);

/*
 * Devices. flags: DOMAIN_AFFECT_LIVE / _CONFIG (0 = current state).
 * A live detach asks the guest to release the NIC (device_del) and waits
 * DOMAIN_UNPLUG_TIMEOUT_MS for it, as libvirt does; when the guest takes
 * longer the call still succeeds and the removal completes when kite
 * reports DEVICE_DELETED.
 */
#define DOMAIN_UNPLUG_TIMEOUT_MS 5000
bool domain_attach_device(struct domain *d, const char *xml, unsigned flags, GError **err);
bool domain_detach_device(struct domain *d, const char *xml, unsigned flags, GError **err);
bool domain_update_device(struct domain *d, const char *xml, unsigned flags, GError **err);

/* The NIC of the running domain matching a target dev name or MAC. */
KiteNetDef *domain_find_interface(struct domain *d, const char *name_or_mac);
/* Human monitor command on the running domain. */
char *domain_hmp(struct domain *d, const char *cmd, GError **err);
struct qmp *domain_monitor(struct domain *d, GError **err);

/* console.c: end the console streams of a domain that stopped. */
void console_domain_stopped(struct domain *d);

#endif
