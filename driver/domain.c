/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layout on disk:
 *   <etc>/domains/NAME.xml            persistent definition (inactive XML)
 *   <etc>/domains/autostart/NAME.xml  symlink: start with the daemon
 *   <run>/domains/NAME/status.xml     live definition of a running domain
 *   <run>/domains/NAME/pid            "PID STARTTIME" of its kite process
 *   <run>/domains/NAME/qmp.sock       kite's QMP socket
 *   <run>/domains/NAME/taps           persistent taps made for hot-plugged NICs
 *   <log>/NAME.log                    kite's stdout/stderr, appended
 *
 * kite stays this daemon's own child (no double fork) and is watched
 * through a pidfd, so its exit is seen at once. After a daemon restart the
 * pid file and the QMP socket let a new daemon adopt running domains; an
 * adopted kite is watched through a pidfd as well (init reaps it).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "domain.h"
#include "events.h"
#include "hooks.h"
#include "kite-netmodel.h"
#include "network.h"
#include "protocol.h"
#include "qmp.h"
#include "util.h"

#define START_TIMEOUT_MS 30000
#define DESTROY_GRACE_MS 3000

static GPtrArray *domains;
static int next_id = 1;

static void interface_removed(struct domain *d, const char *alias);
static void unplugs_settled(struct domain *d, const char *alias);

GPtrArray *domains_list(void)
{
	return domains;
}

int domain_id(const struct domain *d)
{
	return d->live ? d->live->id : -1;
}

const char *domain_name(const struct domain *d)
{
	return d->def->name;
}

const uint8_t *domain_uuid(const struct domain *d)
{
	return d->def->uuid;
}

KiteDomainDef *domain_current_def(const struct domain *d)
{
	return d->live ? d->live : d->def;
}

struct domain *domain_find_name(const char *name)
{
	for (guint i = 0; i < domains->len; i++) {
		struct domain *d = domains->pdata[i];
		if (strcmp(domain_name(d), name) == 0)
			return d;
	}
	return NULL;
}

struct domain *domain_find_uuid(const uint8_t *uuid)
{
	for (guint i = 0; i < domains->len; i++) {
		struct domain *d = domains->pdata[i];
		if (memcmp(domain_uuid(d), uuid, UUID_LEN) == 0)
			return d;
	}
	return NULL;
}

struct domain *domain_find_id(int id)
{
	for (guint i = 0; i < domains->len; i++) {
		struct domain *d = domains->pdata[i];
		if (id >= 0 && domain_id(d) == id)
			return d;
	}
	return NULL;
}

struct domain *domain_lookup(const struct wire_ref *ref, GError **err)
{
	struct domain *d = domain_find_uuid(ref->uuid);
	if (!d) {
		char uuid[37];
		kite_uuid_format(ref->uuid, uuid);
		virt_error(err, VERR_NO_DOMAIN,
			   _("Domain not found: no domain with matching uuid '%s' (%s)"), uuid,
			   ref->name ? ref->name : "");
	}
	return d;
}

bool domains_busy(void)
{
	for (guint i = 0; i < domains->len; i++)
		if (domain_active(domains->pdata[i]))
			return true;
	return false;
}

static void domain_free(struct domain *d)
{
	kite_domain_def_free(d->def);
	kite_domain_def_free(d->live);
	g_clear_pointer(&d->own_taps, g_ptr_array_unref);
	g_free(d->run_dir);
	g_free(d);
}

char *store_config_path(const char *kind, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".xml", NULL);
	return g_build_filename(cfg.etc_dir, kind, file, NULL);
}

char *store_autostart_path(const char *kind, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".xml", NULL);
	return g_build_filename(cfg.etc_dir, kind, "autostart", file, NULL);
}

bool store_remove(const char *kind, const char *name, GError **err)
{
	g_autofree char *path = store_config_path(kind, name);
	g_autofree char *link = store_autostart_path(kind, name);
	if (g_unlink(path) < 0 && errno != ENOENT) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot remove '%s': %s"), path,
			   g_strerror(errno));
		return false;
	}
	g_unlink(link);
	return true;
}

bool store_set_autostart(const char *kind, const char *name, bool on, GError **err)
{
	g_autofree char *link = store_autostart_path(kind, name);
	if (on) {
		g_autofree char *dir = g_path_get_dirname(link);
		g_autofree char *target = store_config_path(kind, name);
		g_mkdir_with_parents(dir, 0755);
		if (symlink(target, link) < 0 && errno != EEXIST) {
			virt_error(err, VERR_SYSTEM_ERROR,
				   _("cannot create autostart link '%s': %s"), link,
				   g_strerror(errno));
			return false;
		}
	} else if (g_unlink(link) < 0 && errno != ENOENT) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot remove autostart link '%s': %s"), link,
			   g_strerror(errno));
		return false;
	}
	return true;
}

GPtrArray *store_xml_files(const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) gd = g_dir_open(dir, 0, NULL);
	const char *name;

	while (gd && (name = g_dir_read_name(gd)))
		if (g_str_has_suffix(name, ".xml"))
			g_ptr_array_add(names, g_strdup(name));
	return names;
}

static char *run_path(const char *name)
{
	return g_build_filename(cfg.run_dir, "domains", name, NULL);
}

static bool save_config(struct domain *d, GError **err)
{
	g_autofree char *path = store_config_path("domains", domain_name(d));
	g_autofree char *xml = kite_domain_def_format(d->def, KITE_XML_SECURE | KITE_XML_INACTIVE);
	return util_write_file_atomic(path, xml, 0600, err);
}

static bool save_status(struct domain *d, GError **err)
{
	g_autofree char *path = g_build_filename(d->run_dir, "status.xml", NULL);
	g_autofree char *xml = kite_domain_def_format(d->live, KITE_XML_SECURE | KITE_XML_LIVE);
	return util_write_file_atomic(path, xml, 0600, err);
}

static void set_state(struct domain *d, int state, int reason)
{
	d->state = state;
	d->reason = reason;
}

static void xml_error(GError **err, const GError *xerr)
{
	int code = VERR_XML_ERROR;
	if (xerr->domain == KITE_XML_ERROR && xerr->code == KITE_XML_ERROR_UNSUPPORTED)
		code = VERR_CONFIG_UNSUPPORTED;
	virt_error(err, code, "%s", xerr->message);
}

static bool network_exists_cb(const char *name, void *opaque)
{
	(void)opaque;
	return network_find_name(name) != NULL;
}

/* Parse and check a definition coming from a client. */
static KiteDomainDef *parse_new_def(const char *xml, bool validate, GError **err)
{
	g_autoptr(GError) xerr = NULL;
	KiteDomainDef *def =
	    kite_domain_def_parse_string(xml, validate ? KITE_XML_PARSE_VALIDATE : 0, &xerr);
	if (!def) {
		xml_error(err, xerr);
		return NULL;
	}
	if (!util_check_name(_("domain"), def->name, err) ||
	    !kite_domain_def_check(def, network_exists_cb, NULL, &xerr)) {
		if (xerr)
			xml_error(err, xerr);
		kite_domain_def_free(def);
		return NULL;
	}
	def->id = -1;
	return def;
}

/* A definition may replace an existing domain only if name and UUID both
 * match; either one alone clashes with another domain. */
static bool check_clash(const KiteDomainDef *def, struct domain **existing, GError **err)
{
	struct domain *by_name = domain_find_name(def->name);
	struct domain *by_uuid = domain_find_uuid(def->uuid);
	char uuid[37];

	*existing = NULL;
	if (by_name && memcmp(domain_uuid(by_name), def->uuid, UUID_LEN) != 0) {
		kite_uuid_format(domain_uuid(by_name), uuid);
		virt_error(err, VERR_OPERATION_FAILED, _("domain '%s' already exists with uuid %s"),
			   def->name, uuid);
		return false;
	}
	if (by_uuid && strcmp(domain_name(by_uuid), def->name) != 0) {
		kite_uuid_format(def->uuid, uuid);
		virt_error(err, VERR_OPERATION_FAILED,
			   _("domain '%s' is already defined with uuid %s"), domain_name(by_uuid),
			   uuid);
		return false;
	}
	*existing = by_name;
	return true;
}

/* parse_new_def() and check_clash(): a definition that may be taken in,
 * and the domain it is for (*existing, NULL for a new one). */
static KiteDomainDef *parse_unclashing_def(const char *xml, bool validate, struct domain **existing,
					   GError **err)
{
	KiteDomainDef *def = parse_new_def(xml, validate, err);
	if (def && !check_clash(def, existing, err)) {
		kite_domain_def_free(def);
		return NULL;
	}
	return def;
}

struct domain *domain_define(const char *xml, bool validate, GError **err)
{
	struct domain *d;
	KiteDomainDef *def = parse_unclashing_def(xml, validate, &d, err);

	if (!def)
		return NULL;
	bool added = d == NULL;
	if (added) {
		d = g_new0(struct domain, 1);
		d->def = def;
		d->pidfd = -1;
		set_state(d, DOM_SHUTOFF, REASON_SHUTOFF_UNKNOWN);
		if (!save_config(d, err)) {
			domain_free(d);
			return NULL;
		}
		d->persistent = true;
		g_ptr_array_add(domains, d);
	} else {
		KiteDomainDef *old = d->def;
		bool was_persistent = d->persistent;
		d->def = def;
		if (!save_config(d, err)) {
			d->def = old;
			kite_domain_def_free(def);
			return NULL;
		}
		/* A running domain keeps its live definition; the new one
		 * applies from its next start. */
		kite_domain_def_free(old);
		d->persistent = true;
		added = !was_persistent;
	}
	log_info("domain %s defined", def->name);
	events_domain_lifecycle(d, EV_DEFINED, added ? EV_DEFINED_ADDED : EV_DEFINED_UPDATED);
	return d;
}

static void remove_domain(struct domain *d)
{
	g_ptr_array_remove(domains, d);
	domain_free(d);
}

bool domain_undefine(struct domain *d, GError **err)
{
	if (!d->persistent) {
		virt_error(err, VERR_OPERATION_INVALID, _("cannot undefine transient domain"));
		return false;
	}
	if (!store_remove("domains", domain_name(d), err))
		return false;
	d->autostart = false;
	d->persistent = false;
	log_info("domain %s undefined", domain_name(d));
	events_domain_lifecycle(d, EV_UNDEFINED, EV_UNDEFINED_REMOVED);
	/* A running domain goes on as a transient one. */
	if (!domain_active(d))
		remove_domain(d);
	return true;
}

bool domain_set_autostart(struct domain *d, bool on, GError **err)
{
	if (!d->persistent) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("cannot set autostart for transient domain"));
		return false;
	}
	if (!store_set_autostart("domains", domain_name(d), on, err))
		return false;
	d->autostart = on;
	return true;
}

char *domain_get_xml(struct domain *d, unsigned flags)
{
	unsigned f = flags & (KITE_XML_SECURE | KITE_XML_INACTIVE);
	if (domain_active(d) && !(flags & KITE_XML_INACTIVE))
		return kite_domain_def_format(d->live, f | KITE_XML_LIVE);
	return kite_domain_def_format(d->def, f | KITE_XML_INACTIVE);
}

uint64_t domain_cpu_time(const struct domain *d)
{
	if (!domain_active(d) || d->pid <= 0)
		return 0;
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)d->pid);
	g_autofree char *stat = NULL;
	if (!g_file_get_contents(path, &stat, NULL, NULL))
		return 0;
	char *p = strrchr(stat, ')');
	if (!p)
		return 0;
	/* utime and stime are fields 14 and 15. */
	unsigned long long utime = 0, stime = 0;
	char *tok = p + 1;
	for (int field = 3; field <= 15 && tok; field++) {
		while (*tok == ' ')
			tok++;
		if (field == 14)
			utime = g_ascii_strtoull(tok, NULL, 10);
		else if (field == 15)
			stime = g_ascii_strtoull(tok, NULL, 10);
		tok = strchr(tok, ' ');
	}
	long hz = sysconf(_SC_CLK_TCK);
	return (utime + stime) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

/* ------------------------------------------------------------ hooks */

/* libvirt's qemu hook, as HOOKS_DIR/kite with the domain's XML. */
static bool run_hook(const KiteDomainDef *def, const char *op, const char *subop, GError **err)
{
	g_autofree char *xml = kite_domain_def_format(def, KITE_XML_LIVE);
	return daemon_hook(HOOK_DOMAIN, def->name, op, subop, xml, err);
}

static void notify_hook(const KiteDomainDef *def, const char *op, const char *subop)
{
	g_autofree char *xml = kite_domain_def_format(def, KITE_XML_LIVE);
	daemon_hook_notify(HOOK_DOMAIN, def->name, op, subop, xml);
}

/* ------------------------------------------------------------ hot-plug taps */

/*
 * A hot-plugged NIC on a network or bridge gets a tap the daemon creates
 * persistent and kite opens by name (kite has no way to receive an fd over
 * its monitor). Such a tap survives kite, so the daemon deletes it when the
 * NIC is removed or the domain stops. The names are kept in the run
 * directory, so a daemon restart, or a crash, still knows them.
 */

static char *taps_path(const char *run_dir)
{
	return g_build_filename(run_dir, "taps", NULL);
}

static GPtrArray *read_taps(const char *run_dir)
{
	GPtrArray *taps = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *path = taps_path(run_dir);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return taps;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		if (*g_strstrip(*l))
			g_ptr_array_add(taps, g_strdup(*l));
	return taps;
}

static void save_taps(struct domain *d)
{
	g_autofree char *path = taps_path(d->run_dir);
	g_autoptr(GError) e = NULL;
	if (!d->own_taps || !d->own_taps->len) {
		g_unlink(path);
		return;
	}
	GString *text = g_string_new(NULL);
	for (guint i = 0; i < d->own_taps->len; i++)
		g_string_append_printf(text, "%s\n", (char *)d->own_taps->pdata[i]);
	if (!util_write_file_atomic(path, text->str, 0600, &e))
		log_info("domain %s: cannot record its taps: %s", domain_name(d), e->message);
	g_string_free(text, TRUE);
}

static void destroy_taps(const char *domain, GPtrArray *taps)
{
	for (guint i = 0; taps && i < taps->len; i++) {
		g_autoptr(GError) e = NULL;
		if (!kite_tap_destroy(taps->pdata[i], &e))
			log_info("domain %s: cannot delete tap %s: %s", domain,
				 (char *)taps->pdata[i], e->message);
	}
}

static void own_tap(struct domain *d, const char *ifname)
{
	if (!d->own_taps)
		d->own_taps = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(d->own_taps, g_strdup(ifname));
	save_taps(d);
}

/* Delete ifname if it is one of our persistent taps; others (made by
 * kite, or the user's own) are left alone. */
static void release_tap(struct domain *d, const char *ifname)
{
	for (guint i = 0; d->own_taps && i < d->own_taps->len; i++) {
		if (strcmp(d->own_taps->pdata[i], ifname) != 0)
			continue;
		g_autoptr(GError) e = NULL;
		if (!kite_tap_destroy(ifname, &e))
			log_info("domain %s: cannot delete tap %s: %s", domain_name(d), ifname,
				 e->message);
		g_ptr_array_remove_index(d->own_taps, i);
		save_taps(d);
		return;
	}
}

/* ------------------------------------------------------------ stopping */

static void domain_unwatch(struct domain *d)
{
	if (d->pid_watch)
		g_source_remove(d->pid_watch);
	d->pid_watch = 0;
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pidfd = -1;
	g_clear_pointer(&d->qmp, qmp_free);
}

/* Everything of a running instance is gone or going: forget it. */
static void domain_stopped(struct domain *d, int reason, int event_detail)
{
	domain_unwatch(d);
	/* Detaches still waiting get their answer while d is still there. */
	unplugs_settled(d, NULL);
	console_domain_stopped(d);
	if (d->live)
		notify_hook(d->live, "stopped", "end");
	/* kite is gone: the taps of hot-plugged NICs are not gone with it */
	destroy_taps(domain_name(d), d->own_taps);
	g_clear_pointer(&d->own_taps, g_ptr_array_unref);
	if (d->run_dir)
		util_remove_tree(d->run_dir);
	g_clear_pointer(&d->run_dir, g_free);
	if (d->live)
		notify_hook(d->live, "release", "end");
	g_clear_pointer(&d->live, kite_domain_def_free);
	d->pid = 0;
	d->own_child = false;
	d->destroying = false;
	d->guest_shutdown = false;
	set_state(d, DOM_SHUTOFF, reason);
	log_info("domain %s stopped", domain_name(d));
	events_domain_lifecycle(d, EV_STOPPED, event_detail);
	if (!d->persistent)
		remove_domain(d);
	server_activity();
}

/* Reap our own child (its status) or note that an adopted one is gone. */
static int reap(struct domain *d)
{
	int status = -1;
	if (d->own_child) {
		while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return status;
}

static gboolean pid_exited(int fd, GIOCondition cond, gpointer opaque)
{
	struct domain *d = opaque;

	(void)fd;
	(void)cond;
	d->pid_watch = 0;
	int status = reap(d);
	bool clean =
	    d->guest_shutdown || (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (status >= 0 && WIFEXITED(status))
		log_info("domain %s: kite (pid %d) exited with status %d", domain_name(d),
			 (int)d->pid, WEXITSTATUS(status));
	else if (status >= 0 && WIFSIGNALED(status))
		log_info("domain %s: kite (pid %d) killed by signal %d", domain_name(d),
			 (int)d->pid, WTERMSIG(status));
	else
		log_info("domain %s: kite (pid %d) exited", domain_name(d), (int)d->pid);
	if (d->destroying)
		domain_stopped(d, REASON_SHUTOFF_DESTROYED, EV_STOPPED_DESTROYED);
	else if (clean)
		domain_stopped(d, REASON_SHUTOFF_SHUTDOWN, EV_STOPPED_SHUTDOWN);
	else
		domain_stopped(d, REASON_SHUTOFF_FAILED, EV_STOPPED_FAILED);
	return G_SOURCE_REMOVE;
}

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Wait until the process behind pidfd exits, at most ms. */
static bool pidfd_wait(int pidfd, int ms)
{
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	int r;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

static void kill_and_wait(struct domain *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	if (d->pidfd < 0 || !pidfd_wait(d->pidfd, DESTROY_GRACE_MS)) {
		kill(d->pid, SIGKILL);
		if (d->pidfd >= 0)
			pidfd_wait(d->pidfd, -1);
	}
	reap(d);
}

bool domain_destroy(struct domain *d, GError **err)
{
	if (!domain_active(d)) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is not running"));
		return false;
	}
	d->destroying = true;
	kill_and_wait(d);
	domain_stopped(d, REASON_SHUTOFF_DESTROYED, EV_STOPPED_DESTROYED);
	return true;
}

/* ------------------------------------------------------------ monitor */

struct qmp *domain_monitor(struct domain *d, GError **err)
{
	if (!domain_active(d)) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is not running"));
		return NULL;
	}
	if (!d->qmp) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("kite's monitor of domain '%s' is not connected"), domain_name(d));
		return NULL;
	}
	return d->qmp;
}

static bool simple_command(struct domain *d, const char *cmd, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return false;
	JsonNode *ret = qmp_command(q, cmd, NULL, err);
	if (!ret)
		return false;
	json_node_unref(ret);
	return true;
}

char *domain_hmp(struct domain *d, const char *cmd, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	return q ? qmp_hmp(q, cmd, err) : NULL;
}

bool domain_shutdown(struct domain *d, GError **err)
{
	/* ACPI power button; the guest decides. Its exit is reported by the
	 * pidfd watch as a shutdown. */
	return simple_command(d, "system_powerdown", err);
}

bool domain_reboot(struct domain *d, GError **err)
{
	/* kite's RESET event reports the reboot to clients (qmp_event): one
	 * event, as libvirt sends one from QEMU's. */
	return simple_command(d, "system_reset", err);
}

bool domain_reset(struct domain *d, GError **err)
{
	/* kite's RESET event reports the reboot to clients (qmp_event). */
	return simple_command(d, "system_reset", err);
}

static void enter_paused(struct domain *d)
{
	if (d->state == DOM_PAUSED)
		return;
	set_state(d, DOM_PAUSED, REASON_PAUSED_USER);
	events_domain_lifecycle(d, EV_SUSPENDED, EV_SUSPENDED_PAUSED);
}

static void enter_running(struct domain *d)
{
	if (d->state == DOM_RUNNING)
		return;
	set_state(d, DOM_RUNNING, REASON_RUNNING_UNPAUSED);
	events_domain_lifecycle(d, EV_RESUMED, EV_RESUMED_UNPAUSED);
}

bool domain_suspend(struct domain *d, GError **err)
{
	if (domain_active(d) && d->state == DOM_PAUSED) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is already paused"));
		return false;
	}
	if (!simple_command(d, "stop", err))
		return false;
	enter_paused(d);
	return true;
}

bool domain_resume(struct domain *d, GError **err)
{
	if (domain_active(d) && d->state != DOM_PAUSED) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is not paused"));
		return false;
	}
	if (!simple_command(d, "cont", err))
		return false;
	enter_running(d);
	return true;
}

static void qmp_event(const char *event, JsonObject *data, void *opaque)
{
	struct domain *d = opaque;

	log_debug("domain %s: QMP event %s", domain_name(d), event);
	if (!domain_active(d))
		return;
	if (strcmp(event, "SHUTDOWN") == 0) {
		/*
		 * kite runs with -no-shutdown, so after the guest powered off it
		 * only stops. As libvirt does for <on_poweroff>destroy (the
		 * default): report the domain shutting down, then end kite; the
		 * process watch reports it shut off with reason "shutdown". The
		 * SHUTDOWN kite sends for that SIGTERM changes nothing more.
		 */
		if (d->guest_shutdown || d->destroying)
			return;
		d->guest_shutdown = true;
		bool guest =
		    data && json_object_get_boolean_member_with_default(data, "guest", FALSE);
		set_state(d, DOM_SHUTDOWN, REASON_SHUTDOWN_UNKNOWN);
		events_domain_lifecycle(d, EV_SHUTDOWN,
					guest ? EV_SHUTDOWN_GUEST : EV_SHUTDOWN_HOST);
		if (d->pid > 0) {
			log_info("domain %s: %s shut down; stopping kite (pid %d)", domain_name(d),
				 guest ? "the guest" : "the host", (int)d->pid);
			kill(d->pid, SIGTERM);
		}
	} else if (strcmp(event, "STOP") == 0) {
		/* -no-shutdown's pause after a shutdown is no user's pause */
		if (!d->guest_shutdown)
			enter_paused(d);
	} else if (strcmp(event, "RESUME") == 0) {
		enter_running(d);
	} else if (strcmp(event, "RESET") == 0) {
		events_domain_reboot(d);
	} else if (strcmp(event, "DEVICE_DELETED") == 0) {
		/* The guest ejected a device (or a reset did): whether or not a
		 * detach still waits for it, the removal completes now. */
		const char *alias =
		    data ? json_object_get_string_member_with_default(data, "device", NULL) : NULL;
		if (alias)
			interface_removed(d, alias);
	}
}

static void qmp_closed(void *opaque)
{
	struct domain *d = opaque;
	/* The process watch decides what happened; this is only a note. */
	log_debug("domain %s: monitor connection closed", domain_name(d));
}

/* Sync our idea of the run state with kite's after connecting. */
static void query_status(struct domain *d)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) ret = qmp_command(d->qmp, "query-status", NULL, &err);
	if (!ret || !JSON_NODE_HOLDS_OBJECT(ret)) {
		set_state(d, DOM_RUNNING, REASON_RUNNING_BOOTED);
		return;
	}
	const char *status = json_object_get_string_member_with_default(json_node_get_object(ret),
									"status", "running");
	if (strcmp(status, "paused") == 0 || strcmp(status, "prelaunch") == 0)
		set_state(d, DOM_PAUSED, REASON_PAUSED_USER);
	else
		set_state(d, DOM_RUNNING, REASON_RUNNING_BOOTED);
}

/* A kite query that answers with a list (query-chardev, query-pci); NULL,
 * logged, when kite gives an error or something else. */
static JsonNode *query_list(struct domain *d, const char *cmd, const char *what)
{
	g_autoptr(GError) e = NULL;
	JsonNode *ret = qmp_command(d->qmp, cmd, NULL, &e);
	if (ret && JSON_NODE_HOLDS_ARRAY(ret))
		return ret;
	log_info("domain %s: cannot list kite's %s: %s", domain_name(d), what,
		 e ? e->message : "not a list");
	if (ret)
		json_node_unref(ret);
	return NULL;
}

/* Record the ptys kite opened for serial ports and consoles in the live
 * definition (<source path='/dev/pts/N'/>), as libvirt does. */
static void fill_ptys(struct domain *d)
{
	g_autoptr(JsonNode) ret = query_list(d, "query-chardev", "character devices");
	if (!ret)
		return;
	JsonArray *a = json_node_get_array(ret);
	GPtrArray *lists[] = {d->live->serials, d->live->consoles};
	for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = 0; lists[l] && i < lists[l]->len; i++) {
			KiteChrDef *chr = lists[l]->pdata[i];
			if (chr->type != KITE_CHR_PTY || !chr->info.alias)
				continue;
			g_autofree char *label = g_strconcat("char", chr->info.alias, NULL);
			for (guint j = 0; j < json_array_get_length(a); j++) {
				JsonObject *o = json_array_get_object_element(a, j);
				const char *lb =
				    o ? json_object_get_string_member_with_default(o, "label", "")
				      : "";
				const char *fn = o ? json_object_get_string_member_with_default(
							 o, "filename", "")
						   : "";
				if (strcmp(lb, label) == 0 && g_str_has_prefix(fn, "pty:")) {
					g_free(chr->source_path);
					chr->source_path = g_strdup(fn + 4);
				}
			}
		}
	}
}

/* ------------------------------------------------------------ starting */

/* Last bytes of kite's log written since offset: the reason it failed. */
static char *log_since(const char *path, goffset offset)
{
	g_autofree char *text = NULL;
	gsize len;
	if (!g_file_get_contents(path, &text, &len, NULL) || (gsize)offset >= len)
		return g_strdup(_("(kite wrote nothing)"));
	const char *start = text + offset;
	if (len - offset > 4096)
		start = text + len - 4096;
	return g_strstrip(g_strdup(start));
}

static void child_setup(gpointer opaque)
{
	(void)opaque;
	/* Its own session: a signal to the daemon's terminal is not for kite. */
	setsid();
}

static bool argv_has(char **argv, const char *opt)
{
	for (char **a = argv; *a; a++)
		if (strcmp(*a, opt) == 0)
			return true;
	return false;
}

static int take_id(void)
{
	while (domain_find_id(next_id))
		next_id++;
	return next_id++;
}

static bool write_pid_file(struct domain *d, GError **err)
{
	g_autofree char *path = g_build_filename(d->run_dir, "pid", NULL);
	g_autofree char *text =
	    g_strdup_printf("%d %llu\n", (int)d->pid, util_process_start_time(d->pid));
	return util_write_file_atomic(path, text, 0600, err);
}

static bool kvm_available(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

static void close_taps(KiteNetBackend *nets, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (nets[i].tap_fd >= 0)
			close(nets[i].tap_fd);
		nets[i].tap_fd = -1;
	}
}

/*
 * A tap for a NIC on a network or a host bridge, created and enslaved by
 * the daemon (vnetN, as libvirt names them). Its name goes to
 * net->target_dev, a network's bridge to net->source_bridge. At start the
 * tap goes to kite as *fd_out and disappears with the last fd, i.e. when
 * kite exits; for a hot-plug it is made persistent (kite opens it by name)
 * and *created says whether it is new: a tap the user named may exist.
 */
static bool connect_tap(KiteNetDef *net, bool persistent, int *fd_out, bool *created, GError **err)
{
	const char *bridge = NULL;
	g_autofree char *net_bridge = NULL;

	*fd_out = -1;
	*created = false;
	if (net->type == KITE_NET_NETWORK) {
		struct network *n = network_find_name(net->source_network);
		if (!n) {
			virt_error(err, VERR_NO_NETWORK,
				   _("Network not found: no network with matching name '%s'"),
				   net->source_network);
			return false;
		}
		if (!n->active) {
			virt_error(
			    err, VERR_OPERATION_INVALID,
			    _("Requested operation is not valid: network '%s' is not active"),
			    net->source_network);
			return false;
		}
		g_autofree char *state = network_state_dir();
		net_bridge = kite_network_get_bridge(n->def->name, state);
		bridge = net_bridge ? net_bridge : n->def->bridge_name;
	} else {
		bridge = net->source_bridge;
	}
	if (!bridge) {
		virt_error(err, VERR_CONFIG_UNSUPPORTED,
			   _("unsupported configuration: interface %s has no bridge to connect to"),
			   net->info.alias ? net->info.alias : "?");
		return false;
	}
	g_autoptr(GError) e = NULL;
	g_autofree char *ifname = NULL;
	int fd = -1;
	bool vnet_hdr = g_strcmp0(net->model, "virtio") == 0;
	const char *template = net->target_dev && !g_str_has_prefix(net->target_dev, "vnet")
				   ? net->target_dev
				   : "vnet%d";
	bool is_new = strchr(template, '%') || if_nametoindex(template) == 0;
	if (!kite_tap_create(template, vnet_hdr, 1, persistent, (uid_t)-1, &ifname, &fd, &e) ||
	    !kite_tap_attach_bridge(ifname, bridge, net->mtu, &e)) {
		if (fd >= 0)
			close(fd);
		/* closing the fd removes a tap unless it is persistent */
		if (ifname && persistent && is_new)
			kite_tap_destroy(ifname, NULL);
		virt_error(err, VERR_OPERATION_FAILED,
			   _("cannot connect interface %s to bridge '%s': %s"),
			   net->info.alias ? net->info.alias : "?", bridge, e->message);
		return false;
	}
	*fd_out = fd;
	*created = is_new;
	g_free(net->target_dev);
	net->target_dev = g_steal_pointer(&ifname);
	if (net->type == KITE_NET_NETWORK) {
		g_autofree char *resolved = g_strdup(bridge);
		g_free(net->source_bridge);
		net->source_bridge = g_steal_pointer(&resolved);
	}
	return true;
}

/* NICs on a network or a host bridge get a tap kite receives as an fd. */
static bool resolve_interfaces(KiteDomainDef *live, KiteNetBackend *nets, GError **err)
{
	for (guint i = 0; i < live->interfaces->len; i++) {
		nets[i].tap_fd = -1;
		nets[i].vhost_fd = -1;
	}
	for (guint i = 0; i < live->interfaces->len; i++) {
		KiteNetDef *net = live->interfaces->pdata[i];
		bool created;
		if (net->type != KITE_NET_NETWORK && net->type != KITE_NET_BRIDGE)
			continue;
		if (!connect_tap(net, false, &nets[i].tap_fd, &created, err)) {
			close_taps(nets, live->interfaces->len);
			return false;
		}
		nets[i].ifname = net->target_dev;
	}
	return true;
}

/* Spawn kite for d (live already set up) and connect its monitor. On
 * failure the process is gone and d has no runtime state. */
static bool launch(struct domain *d, KiteDomainDef *live, const char *run_dir, char **argv,
		   const int *fds, int n_fds, GError **err)
{
	g_autofree char *qmp_path = g_build_filename(run_dir, "qmp.sock", NULL);
	g_autofree char *log_file = g_strconcat(domain_name(d), ".log", NULL);
	g_autofree char *log_path = g_build_filename(cfg.log_dir, log_file, NULL);
	g_autofree char *cmdline = g_strjoinv(" ", argv);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *stamp = g_date_time_format_iso8601(now);
	g_autofree char *header = g_strdup_printf("%s: starting: %s\n", stamp, cmdline);
	g_autoptr(GError) spawn_err = NULL;
	g_autoptr(GError) qerr = NULL;
	g_auto(GStrv) down = NULL;
	GPid pid;

	g_mkdir_with_parents(cfg.log_dir, 0755);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot open log file '%s': %s"), log_path,
			   g_strerror(errno));
		return false;
	}
	if (write(log_fd, header, strlen(header)) < 0)
		log_debug("cannot write to %s", log_path);
	goffset log_start = lseek(log_fd, 0, SEEK_END);
	log_debug("domain %s: %s", domain_name(d), cmdline);

	bool spawned = g_spawn_async_with_pipes_and_fds(
	    run_dir, (const char *const *)argv, NULL,
	    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup, NULL, -1, log_fd,
	    log_fd, fds, fds, n_fds, &pid, NULL, NULL, NULL, &spawn_err);
	close(log_fd);
	if (!spawned) {
		virt_error(err, VERR_OPERATION_FAILED, _("cannot start kite for domain '%s': %s"),
			   domain_name(d), spawn_err->message);
		return false;
	}

	d->live = live;
	d->run_dir = g_strdup(run_dir);
	d->pid = pid;
	d->own_child = true;
	d->pidfd = pidfd_open_compat(pid);
	live->id = take_id();

	/* Wait for the monitor to come up; kite creates it before the guest
	 * starts, so this is short unless kite fails. */
	gint64 deadline = g_get_monotonic_time() + (gint64)START_TIMEOUT_MS * 1000;
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->own_child = false;
			d->pid = 0; /* reaped: the number may be reused */
			g_autofree char *why = log_since(log_path, log_start);
			virt_error(err, VERR_OPERATION_FAILED,
				   _("kite for domain '%s' exited during start-up (status %d): %s"),
				   domain_name(d), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				   why);
			goto fail;
		}
		g_clear_error(&qerr);
		if (g_file_test(qmp_path, G_FILE_TEST_EXISTS)) {
			d->qmp = qmp_connect(qmp_path, 5000, &qerr);
			if (d->qmp)
				break;
		}
		if (g_get_monotonic_time() > deadline) {
			g_autofree char *why = log_since(log_path, log_start);
			virt_error(
			    err, VERR_OPERATION_FAILED,
			    _("kite for domain '%s' did not open its monitor within %d s (%s): %s"),
			    domain_name(d), START_TIMEOUT_MS / 1000,
			    qerr ? qerr->message : _("no socket"), why);
			goto fail;
		}
		g_usleep(20000);
	}
	qmp_set_handlers(d->qmp, qmp_event, qmp_closed, d);

	down = kite_domain_links_down(live);
	for (char **alias = down; alias && *alias; alias++) {
		JsonObject *args = json_object_new();
		json_object_set_string_member(args, "name", *alias);
		json_object_set_boolean_member(args, "up", FALSE);
		JsonNode *r = qmp_command(d->qmp, "set_link", args, err);
		if (!r)
			goto fail;
		json_node_unref(r);
	}
	fill_ptys(d);
	if (argv_has(argv, "-S") && !simple_command(d, "cont", err))
		goto fail;
	if (!write_pid_file(d, err) || !save_status(d, err))
		goto fail;
	return true;

fail:
	kill_and_wait(d);
	domain_unwatch(d);
	d->live = NULL;
	d->pid = 0;
	d->own_child = false;
	g_clear_pointer(&d->run_dir, g_free);
	return false;
}

bool domain_start(struct domain *d, GError **err)
{
	g_autoptr(GError) xerr = NULL;
	g_autofree KiteNetBackend *nets = NULL;
	g_autofree char *run_dir = NULL;
	g_autofree char *qmp_path = NULL;
	g_auto(GStrv) argv = NULL;
	KiteArgvContext ctx;

	if (domain_active(d)) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is already running"));
		return false;
	}
	/* Like libvirt, a definition's <emulator> wins over the default. */
	const char *emulator = d->def->emulator ? d->def->emulator : cfg.emulator;
	if (!g_file_test(emulator, G_FILE_TEST_IS_EXECUTABLE)) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("cannot start domain '%s': emulator '%s' is not an executable file"),
			   domain_name(d), emulator);
		return false;
	}
	KiteDomainDef *live = kite_domain_def_copy(d->def);
	if (!kite_domain_def_unsupported(live, &xerr)) {
		xml_error(err, xerr);
		kite_domain_def_free(live);
		return false;
	}
	kite_domain_def_assign_aliases(live);
	/* prepare: before anything is allocated for the domain, so a refusal
	 * leaves nothing behind (libvirt calls it at the same point). */
	if (!run_hook(live, "prepare", "begin", err)) {
		notify_hook(live, "release", "end");
		kite_domain_def_free(live);
		return false;
	}
	run_dir = run_path(domain_name(d));
	/* a run directory left behind names taps only we can delete */
	g_autoptr(GPtrArray) stale_taps = read_taps(run_dir);
	destroy_taps(domain_name(d), stale_taps);
	nets = g_new0(KiteNetBackend, live->interfaces->len + 1);
	if (!resolve_interfaces(live, nets, err)) {
		notify_hook(live, "release", "end");
		kite_domain_def_free(live);
		return false;
	}

	util_remove_tree(run_dir);
	if (g_mkdir_with_parents(run_dir, 0700) < 0) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot create '%s': %s"), run_dir,
			   g_strerror(errno));
		close_taps(nets, live->interfaces->len);
		notify_hook(live, "release", "end");
		kite_domain_def_free(live);
		return false;
	}
	qmp_path = g_build_filename(run_dir, "qmp.sock", NULL);
	kite_argv_context_init(&ctx);
	ctx.emulator = emulator;
	ctx.qmp_socket = qmp_path;
	ctx.qmp_fd = -1;
	ctx.kvm = kvm_available();
	ctx.no_shutdown = false;
	ctx.nets = nets;
	ctx.n_nets = live->interfaces->len;
	argv = kite_domain_build_argv(live, &ctx, &xerr);
	if (!argv)
		xml_error(err, xerr);
	/* The tap fds keep their numbers in kite (argv says fd=N). */
	g_autofree int *fds = g_new0(int, live->interfaces->len + 1);
	int n_fds = 0;
	for (guint i = 0; i < live->interfaces->len; i++)
		if (nets[i].tap_fd >= 0)
			fds[n_fds++] = nets[i].tap_fd;
	/* start: resources (taps) exist, kite does not yet. */
	bool ok = argv && run_hook(live, "start", "begin", err) &&
		  launch(d, live, run_dir, argv, fds, n_fds, err);
	/* kite holds the taps now (or nobody: they vanish). */
	close_taps(nets, live->interfaces->len);
	if (!ok) {
		util_remove_tree(run_dir);
		notify_hook(live, "release", "end");
		kite_domain_def_free(live);
		return false;
	}
	if (d->pidfd >= 0)
		d->pid_watch = g_unix_fd_add(d->pidfd, G_IO_IN, pid_exited, d);
	query_status(d);
	log_info("domain %s started (id %d, kite pid %d)", domain_name(d), live->id, (int)d->pid);
	notify_hook(live, "started", "begin");
	events_domain_lifecycle(d, EV_STARTED, EV_STARTED_BOOTED);
	server_activity();
	return true;
}

struct domain *domain_create_transient(const char *xml, bool validate, GError **err)
{
	struct domain *d;
	KiteDomainDef *def = parse_unclashing_def(xml, validate, &d, err);

	if (!def)
		return NULL;
	if (d) {
		if (domain_active(d)) {
			virt_error(
			    err, VERR_OPERATION_INVALID,
			    _("Requested operation is not valid: domain '%s' is already running"),
			    def->name);
			kite_domain_def_free(def);
			return NULL;
		}
		/* Starting a defined domain with new XML: run that XML, keep the
		 * persistent definition. */
		KiteDomainDef *saved = d->def;
		d->def = def;
		bool ok = domain_start(d, err);
		d->def = saved;
		kite_domain_def_free(def);
		return ok ? d : NULL;
	}
	d = g_new0(struct domain, 1);
	d->def = def;
	d->pidfd = -1;
	set_state(d, DOM_SHUTOFF, REASON_SHUTOFF_UNKNOWN);
	g_ptr_array_add(domains, d);
	if (!domain_start(d, err)) {
		remove_domain(d);
		return NULL;
	}
	return d;
}

/* ------------------------------------------------------------ devices */

static KiteNetDef *find_iface_by_mac(KiteDomainDef *def, const uint8_t mac[6], guint *index)
{
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = def->interfaces->pdata[i];
		if (memcmp(n->mac, mac, 6) == 0) {
			if (index)
				*index = i;
			return n;
		}
	}
	return NULL;
}

static KiteNetDef *find_iface_by_alias(KiteDomainDef *def, const char *alias, guint *index)
{
	for (guint i = 0; def && i < def->interfaces->len; i++) {
		KiteNetDef *n = def->interfaces->pdata[i];
		if (n->info.alias && strcmp(n->info.alias, alias) == 0) {
			if (index)
				*index = i;
			return n;
		}
	}
	return NULL;
}

static void netdev_del(struct qmp *q, const char *id, GError **err)
{
	JsonObject *a = json_object_new();
	json_object_set_string_member(a, "id", id);
	JsonNode *r = qmp_command(q, "netdev_del", a, err);
	if (r)
		json_node_unref(r);
}

/*
 * kite no longer has the NIC with this alias: the guest ejected it (or a
 * reset did), whether or not a detach still waits for it. What libvirt's
 * qemuDomainRemoveNetDevice does: the host side goes (netdev_del, then our
 * tap), the interface leaves the live definition and its status file, and
 * clients hear of it (device-removed).
 */
static void interface_removed(struct domain *d, const char *alias)
{
	guint idx;
	if (!domain_active(d) || !find_iface_by_alias(d->live, alias, &idx))
		return;
	KiteNetDef *net = d->live->interfaces->pdata[idx];
	g_autofree char *name = g_strdup(alias);
	g_autofree char *netdev = g_strconcat("host", name, NULL);
	g_autoptr(GError) e = NULL;
	if (d->qmp)
		netdev_del(d->qmp, netdev, &e);
	if (e)
		log_info("domain %s: removing the host side of %s: %s", domain_name(d), name,
			 e->message);
	if (net->target_dev)
		release_tap(d, net->target_dev);
	g_ptr_array_remove_index(d->live->interfaces, idx);
	g_clear_error(&e);
	if (!save_status(d, &e))
		log_info("domain %s: cannot save its status: %s", domain_name(d), e->message);
	log_info("domain %s: interface %s removed", domain_name(d), name);
	events_domain_device(d, name, false);
	unplugs_settled(d, name);
}

/* Add key=value to QMP arguments; a key seen before becomes a list
 * (hostfwd=, guestfwd= may repeat). */
static void args_add(JsonObject *o, const char *key, const char *value)
{
	if (!json_object_has_member(o, key)) {
		json_object_set_string_member(o, key, value);
		return;
	}
	JsonNode *old = json_object_get_member(o, key);
	if (JSON_NODE_HOLDS_ARRAY(old)) {
		json_array_add_string_element(json_node_get_array(old), value);
		return;
	}
	JsonArray *a = json_array_new();
	json_array_add_string_element(a, json_node_get_string(old));
	json_array_add_string_element(a, value);
	json_object_set_array_member(o, key, a);
}

/* One -netdev or -device value ("tap,ifname=vnet1,id=hostnet1") as the
 * arguments of netdev_add or device_add: the first word under first_key,
 * then every key=value (",," is a literal comma). */
static JsonObject *keyval_to_args(const char *spec, const char *first_key)
{
	JsonObject *o = json_object_new();
	g_autoptr(GString) item = g_string_new(NULL);
	bool first = true;

	for (const char *p = spec;; p++) {
		if (*p == ',' && p[1] == ',') {
			g_string_append_c(item, ',');
			p++;
			continue;
		}
		if (*p && *p != ',') {
			g_string_append_c(item, *p);
			continue;
		}
		char *eq = strchr(item->str, '=');
		if (first)
			json_object_set_string_member(o, first_key, item->str);
		else if (eq) {
			*eq = '\0';
			args_add(o, item->str, eq + 1);
		} else if (item->len)
			args_add(o, item->str, "on");
		first = false;
		g_string_truncate(item, 0);
		if (!*p)
			break;
	}
	return o;
}

/*
 * netdev_add and device_add arguments for interface idx of live, from the
 * command line a start would give kite, so a hot-plugged NIC gets exactly
 * the options, PCI address and host side it would get at start. tap: the
 * name of the tap kite is to open (network, bridge), else NULL.
 */
static bool hotplug_args(const KiteDomainDef *live, guint idx, const char *tap, JsonObject **netdev,
			 JsonObject **device, GError **err)
{
	const KiteNetDef *net = live->interfaces->pdata[idx];
	g_autofree KiteNetBackend *nets = g_new0(KiteNetBackend, live->interfaces->len + 1);
	g_autofree char *netdev_id = g_strconcat("host", net->info.alias, NULL);
	g_autoptr(GError) xerr = NULL;
	KiteArgvContext ctx;

	*netdev = *device = NULL;
	for (guint i = 0; i < live->interfaces->len; i++) {
		nets[i].tap_fd = -1;
		nets[i].vhost_fd = -1;
	}
	nets[idx].ifname = tap;
	kite_argv_context_init(&ctx);
	ctx.qmp_socket = "qmp.sock"; /* not used: only this NIC's options are */
	ctx.qmp_fd = -1;
	ctx.kvm = kvm_available();
	ctx.nets = nets;
	ctx.n_nets = live->interfaces->len;
	g_auto(GStrv) argv = kite_domain_build_argv(live, &ctx, &xerr);
	if (!argv) {
		xml_error(err, xerr);
		return false;
	}
	for (char **a = argv; a[0] && a[1]; a++) {
		bool is_netdev = strcmp(a[0], "-netdev") == 0;
		if (!is_netdev && strcmp(a[0], "-device") != 0)
			continue;
		JsonObject *o = keyval_to_args(a[1], is_netdev ? "type" : "driver");
		JsonObject **slot = is_netdev ? netdev : device;
		JsonNode *id = json_object_get_member(o, "id");
		if (!*slot && id && JSON_NODE_HOLDS_VALUE(id) &&
		    g_strcmp0(json_node_get_string(id), is_netdev ? netdev_id : net->info.alias) ==
			0)
			*slot = o;
		else
			json_object_unref(o);
		a++;
	}
	if (!*netdev || !*device) {
		g_clear_pointer(netdev, json_object_unref);
		g_clear_pointer(device, json_object_unref);
		virt_error(err, VERR_INTERNAL_ERROR,
			   _("internal error: no kite options for interface %s"), net->info.alias);
		return false;
	}
	return true;
}

KiteNetDef *domain_find_interface(struct domain *d, const char *name_or_mac)
{
	KiteDomainDef *def = domain_current_def(d);
	uint8_t mac[6];
	bool is_mac = kite_mac_parse(name_or_mac, mac);

	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = def->interfaces->pdata[i];
		if ((is_mac && memcmp(n->mac, mac, 6) == 0) ||
		    (n->target_dev && strcmp(n->target_dev, name_or_mac) == 0) ||
		    (n->info.alias && strcmp(n->info.alias, name_or_mac) == 0))
			return n;
	}
	return NULL;
}

/* A device XML fragment, parsed inside a skeleton domain. Only
 * <interface> is supported; anything else is refused by name. */
static KiteDomainDef *parse_fragment(const char *xml, bool fill_defaults, GError **err)
{
	g_autoptr(GError) xerr = NULL;
	const char *p = xml;
	while (g_ascii_isspace(*p))
		p++;
	if (!g_str_has_prefix(p, "<interface")) {
		g_autofree char *head = g_strndup(p, strcspn(p, " \t\r\n>/"));
		virt_error(err, VERR_CONFIG_UNSUPPORTED,
			   _("unsupported configuration: device '%s' cannot be attached, detached "
			     "or updated (only <interface>)"),
			   head);
		return NULL;
	}
	g_autofree char *doc =
	    g_strconcat("<domain type='kvm'><name>fragment</name><memory>65536</memory>"
			"<os><type>hvm</type></os><devices>",
			xml, "</devices></domain>", NULL);
	KiteDomainDef *def =
	    kite_domain_def_parse_string_full(doc, 0, fill_defaults ? NULL : NULL, &xerr);
	(void)fill_defaults;
	if (!def) {
		xml_error(err, xerr);
		return NULL;
	}
	if (def->interfaces->len != 1) {
		virt_error(err, VERR_XML_ERROR, _("expected exactly one <interface> element"));
		kite_domain_def_free(def);
		return NULL;
	}
	return def;
}

/* Which definitions a device call changes: libvirt's AFFECT_CURRENT (0)
 * means live when running, else config. */
static bool affect(struct domain *d, unsigned flags, bool *live, bool *config, GError **err)
{
	if (flags & ~(DOMAIN_AFFECT_LIVE | DOMAIN_AFFECT_CONFIG | 4u)) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags);
		return false;
	}
	*live = flags & DOMAIN_AFFECT_LIVE;
	*config = flags & DOMAIN_AFFECT_CONFIG;
	if (!*live && !*config) {
		if (domain_active(d))
			*live = true;
		else
			*config = true;
	}
	if (*live && !domain_active(d)) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: domain is not running"));
		return false;
	}
	if (*config && !d->persistent) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: cannot change persistent config of "
			     "a transient domain"));
		return false;
	}
	return true;
}

/* Re-parse def's XML with the fragment added, so defaults (MAC, model,
 * PCI slot) are assigned against the other devices. */
static KiteDomainDef *def_with_interface(const KiteDomainDef *def, const char *fragment,
					 unsigned format_flags, unsigned parse_flags, GError **err)
{
	g_autofree char *xml = kite_domain_def_format(def, format_flags | KITE_XML_SECURE);
	char *end = g_strrstr(xml, "</devices>");
	g_autoptr(GError) xerr = NULL;
	if (!end) {
		virt_error(err, VERR_INTERNAL_ERROR, _("domain XML has no <devices> element"));
		return NULL;
	}
	g_autofree char *head = g_strndup(xml, end - xml);
	g_autofree char *doc = g_strconcat(head, fragment, "\n", end, NULL);
	KiteDomainDef *nd = kite_domain_def_parse_string(doc, parse_flags, &xerr);
	if (!nd || !kite_domain_def_check(nd, network_exists_cb, NULL, &xerr)) {
		xml_error(err, xerr);
		kite_domain_def_free(nd);
		return NULL;
	}
	return nd;
}

/*
 * Hot-plug through kite as libvirt does through QEMU: the host side
 * (netdev_add; for a network or bridge first a tap of ours), then the NIC
 * (device_add), which kite announces to the guest. A failure takes back
 * whatever was done.
 */
static bool attach_live(struct domain *d, const char *xml, KiteNetType type, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return false;
	if (type != KITE_NET_USER && type != KITE_NET_NETWORK && type != KITE_NET_BRIDGE &&
	    type != KITE_NET_ETHERNET) {
		virt_error(err, VERR_CONFIG_UNSUPPORTED,
			   _("unsupported configuration: hot-plugging an interface of type '%s' is "
			     "not supported (only 'user', 'network', 'bridge' and 'ethernet')"),
			   kite_net_type_to_string(type));
		return false;
	}
	g_autoptr(KiteDomainDef) nl =
	    def_with_interface(d->live, xml, KITE_XML_LIVE, KITE_XML_PARSE_LIVE, err);
	if (!nl)
		return false;
	kite_domain_def_assign_aliases(nl);
	guint idx = nl->interfaces->len - 1;
	KiteNetDef *added = nl->interfaces->pdata[idx];
	g_autofree char *alias = g_strdup(added->info.alias);
	g_autofree char *netdev_id = g_strconcat("host", alias, NULL);
	bool tap = type == KITE_NET_NETWORK || type == KITE_NET_BRIDGE;
	bool created = false;
	JsonObject *netdev = NULL, *device = NULL;
	g_autoptr(GError) e = NULL; /* before the first goto */
	JsonNode *r;

	if (tap) {
		int fd;
		if (!connect_tap(added, true, &fd, &created, err))
			return false;
		close(fd); /* persistent: kite opens it by name */
		if (created)
			own_tap(d, added->target_dev);
	}
	if (!hotplug_args(nl, idx, tap ? added->target_dev : NULL, &netdev, &device, err))
		goto undo_tap;
	if (tap) {
		/* as at start: our tap, no scripts, vnet headers for virtio */
		json_object_set_string_member(netdev, "script", "no");
		json_object_set_string_member(netdev, "downscript", "no");
		json_object_set_string_member(
		    netdev, "vnet_hdr", g_strcmp0(added->model, "virtio") == 0 ? "on" : "off");
	}
	r = qmp_command(q, "netdev_add", netdev, err);
	if (!r) {
		json_object_unref(device);
		goto undo_tap;
	}
	json_node_unref(r);
	r = qmp_command(q, "device_add", device, err);
	if (!r)
		goto undo_netdev;
	json_node_unref(r);

	kite_domain_def_free(d->live);
	d->live = g_steal_pointer(&nl);
	if (!save_status(d, &e))
		log_info("domain %s: cannot save its status: %s", domain_name(d), e->message);
	log_info("domain %s: interface %s hot-plugged", domain_name(d), alias);
	events_domain_device(d, alias, true);
	return true;

undo_netdev:
	netdev_del(q, netdev_id, NULL);
undo_tap:
	if (tap && created)
		release_tap(d, added->target_dev);
	return false;
}

bool domain_attach_device(struct domain *d, const char *xml, unsigned flags, GError **err)
{
	bool live, config;
	if (!affect(d, flags, &live, &config, err))
		return false;
	g_autoptr(KiteDomainDef) frag = parse_fragment(xml, false, err);
	if (!frag)
		return false;
	KiteNetDef *fnet = frag->interfaces->pdata[0];
	if (!kite_domain_def_unsupported(frag, NULL)) {
		g_autoptr(GError) xerr = NULL;
		kite_domain_def_unsupported(frag, &xerr);
		xml_error(err, xerr);
		return false;
	}
	if (live && !attach_live(d, xml, fnet->type, err))
		return false;
	if (config) {
		KiteDomainDef *nc = def_with_interface(d->def, xml, KITE_XML_INACTIVE, 0, err);
		if (!nc)
			return false;
		KiteDomainDef *old = d->def;
		d->def = nc;
		if (!save_config(d, err)) {
			d->def = old;
			kite_domain_def_free(nc);
			return false;
		}
		kite_domain_def_free(old);
	}
	return true;
}

/* Kite no longer has the NIC (or the domain is gone with it). */
static bool unplug_done(struct domain *d, const char *alias)
{
	return !domain_active(d) || !find_iface_by_alias(d->live, alias, NULL);
}

/* Take the interface with this MAC out of the persistent definition and
 * save it; the definition is left as it was when saving fails. One that is
 * gone already (another call took it meanwhile) is nothing to do. */
static bool config_remove_iface(struct domain *d, const uint8_t mac[6], GError **err)
{
	guint ci;
	if (!find_iface_by_mac(d->def, mac, &ci))
		return true;
	g_autofree char *old = kite_domain_def_format(d->def, KITE_XML_SECURE | KITE_XML_INACTIVE);
	g_ptr_array_remove_index(d->def->interfaces, ci);
	if (!save_config(d, err)) {
		KiteDomainDef *back = kite_domain_def_parse_string(old, 0, NULL);
		if (back) {
			kite_domain_def_free(d->def);
			d->def = back;
		}
		return false;
	}
	return true;
}

/*
 * A detach whose guest has not let go of the NIC yet. libvirt's qemu driver
 * blocks the calling worker thread for up to DOMAIN_UNPLUG_TIMEOUT_MS; this
 * daemon has one thread, so the call is answered later instead, and other
 * calls are served meanwhile: when kite reports the device gone
 * (interface_removed), when the domain stops, or at the timeout (success
 * all the same, as with libvirt: the removal completes when the guest
 * ejects). The persistent definition, when the call asked for it too,
 * changes just before the answer, as libvirt changes it after the live one.
 */
struct pending_unplug {
	struct domain *d;
	char *alias;
	uint8_t mac[6];
	bool config;
	struct deferred_call *call;
	guint timer;
};

static GList *pending_unplugs;

/* Answer a pending detach and forget it: with `fail`, or else after the
 * persistent definition's part when the call asked for it. */
static void unplug_answer(struct pending_unplug *p, const GError *fail)
{
	pending_unplugs = g_list_remove(pending_unplugs, p);
	if (p->timer)
		g_source_remove(p->timer);
	g_autoptr(GError) err = NULL;
	if (!fail && p->config)
		config_remove_iface(p->d, p->mac, &err);
	call_answer(p->call, fail ? fail : err);
	g_free(p->alias);
	g_free(p);
}

static gboolean unplug_timed_out(gpointer opaque)
{
	struct pending_unplug *p = opaque;
	p->timer = 0;
	log_info("domain %s: the guest has not released interface %s within %d s; "
		 "the removal completes when it does",
		 domain_name(p->d), p->alias, DOMAIN_UNPLUG_TIMEOUT_MS / 1000);
	unplug_answer(p, NULL);
	return G_SOURCE_REMOVE;
}

/* Answer the detaches waiting for this alias of d (NULL: for any of its
 * interfaces: the domain stopped). */
static void unplugs_settled(struct domain *d, const char *alias)
{
	for (GList *l = pending_unplugs; l;) {
		struct pending_unplug *p = l->data;
		l = l->next; /* unplug_answer() unlinks p */
		if (p->d == d && (!alias || strcmp(p->alias, alias) == 0))
			unplug_answer(p, NULL);
	}
}

enum detach_result { DETACH_FAILED, DETACH_DONE, DETACH_PENDING };

/*
 * Hot-unplug as libvirt 9.0 does with QEMU: device_del only asks the guest
 * to let go of the NIC; DEVICE_DELETED tells it did (interface_removed
 * finishes the removal, from the event handler).
 */
static enum detach_result detach_live(struct domain *d, const char *alias, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return DETACH_FAILED;
	if (!alias) {
		virt_error(err, VERR_INTERNAL_ERROR, _("internal error: interface has no alias"));
		return DETACH_FAILED;
	}
	g_autoptr(GError) e = NULL;
	JsonObject *a = json_object_new();
	json_object_set_string_member(a, "id", alias);
	JsonNode *r = qmp_command(q, "device_del", a, &e);
	if (!r) {
		const char *cls = qmp_error_class(q);
		if (g_strcmp0(cls, "DeviceNotFound") == 0) {
			/* Gone from kite already, its DEVICE_DELETED missed or
			 * still on the way: finish the removal now. */
			qmp_deliver_now(q);
			interface_removed(d, alias);
			return DETACH_DONE;
		}
		if (cls)
			/* libvirt's words for a refusal, "already in the process
			 * of unplug" among them */
			virt_error(err, VERR_INTERNAL_ERROR,
				   _("internal error: unable to execute kite command '%s': %s"),
				   "device_del", qmp_error_desc(q));
		else
			g_propagate_error(err, g_steal_pointer(&e));
		return DETACH_FAILED;
	}
	json_node_unref(r);
	/* A guest that ejected at once: its event may be here already. */
	qmp_deliver_now(q);
	return unplug_done(d, alias) ? DETACH_DONE : DETACH_PENDING;
}

bool domain_detach_device(struct domain *d, const char *xml, unsigned flags, GError **err)
{
	bool live, config;
	if (!affect(d, flags, &live, &config, err))
		return false;
	/* Removals kite reported meanwhile go first, so this one looks at the
	 * interfaces as they are. */
	if (live && d->qmp)
		qmp_deliver_now(d->qmp);
	g_autoptr(KiteDomainDef) frag = parse_fragment(xml, false, err);
	if (!frag)
		return false;
	KiteNetDef *fnet = frag->interfaces->pdata[0];
	char mac[18];
	kite_mac_format(fnet->mac, mac);
	KiteNetDef *ln = live ? find_iface_by_mac(d->live, fnet->mac, NULL) : NULL;
	KiteNetDef *cn = config ? find_iface_by_mac(d->def, fnet->mac, NULL) : NULL;
	if ((live && !ln) || (config && !cn)) {
		virt_error(err, VERR_DEVICE_MISSING,
			   _("device not found: no interface with MAC address %s"), mac);
		return false;
	}
	if (live) {
		g_autofree char *alias = g_strdup(ln->info.alias);
		enum detach_result r = detach_live(d, alias, err);
		if (r == DETACH_FAILED)
			return false;
		/* Procedures are the only callers: a pending detach always has
		 * a call to answer later. */
		struct deferred_call *call = r == DETACH_PENDING ? call_defer() : NULL;
		if (call) {
			struct pending_unplug *p = g_new0(struct pending_unplug, 1);
			p->d = d;
			p->alias = g_steal_pointer(&alias);
			memcpy(p->mac, fnet->mac, 6);
			p->config = config;
			p->call = call;
			p->timer = g_timeout_add(DOMAIN_UNPLUG_TIMEOUT_MS, unplug_timed_out, p);
			pending_unplugs = g_list_append(pending_unplugs, p);
			return true;
		}
	}
	return !config || config_remove_iface(d, fnet->mac, err);
}

bool domain_update_device(struct domain *d, const char *xml, unsigned flags, GError **err)
{
	bool live, config;
	if (!affect(d, flags, &live, &config, err))
		return false;
	g_autoptr(KiteDomainDef) frag = parse_fragment(xml, false, err);
	if (!frag)
		return false;
	KiteNetDef *fnet = frag->interfaces->pdata[0];
	char mac[18];
	kite_mac_format(fnet->mac, mac);
	KiteNetDef *ln = live ? find_iface_by_mac(d->live, fnet->mac, NULL) : NULL;
	KiteNetDef *cn = config ? find_iface_by_mac(d->def, fnet->mac, NULL) : NULL;
	if ((live && !ln) || (config && !cn)) {
		virt_error(err, VERR_DEVICE_MISSING,
			   _("device not found: no interface with MAC address %s"), mac);
		return false;
	}
	/* Only the link state can change on a NIC in place (like QEMU). */
	KiteNetDef *cur = ln ? ln : cn;
	if (g_strcmp0(fnet->model, cur->model) != 0 && fnet->model) {
		virt_error(
		    err, VERR_OPERATION_UNSUPPORTED,
		    _("Operation not supported: cannot modify network device model from %s to %s"),
		    cur->model ? cur->model : "default", fnet->model);
		return false;
	}
	if (fnet->type != cur->type) {
		virt_error(err, VERR_OPERATION_UNSUPPORTED,
			   _("Operation not supported: cannot change network interface type"));
		return false;
	}
	if (live) {
		struct qmp *q = domain_monitor(d, err);
		if (!q)
			return false;
		bool up = fnet->link_state != KITE_LINK_DOWN;
		JsonObject *a = json_object_new();
		json_object_set_string_member(a, "name", ln->info.alias ? ln->info.alias : "");
		json_object_set_boolean_member(a, "up", up);
		JsonNode *r = qmp_command(q, "set_link", a, err);
		if (!r)
			return false;
		json_node_unref(r);
		ln->link_state = fnet->link_state;
		save_status(d, NULL);
	}
	if (config) {
		KiteLinkState old = cn->link_state;
		cn->link_state = fnet->link_state;
		if (!save_config(d, err)) {
			cn->link_state = old;
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ loading */

static void load_configs(void)
{
	g_autofree char *dir = g_build_filename(cfg.etc_dir, "domains", NULL);
	g_autoptr(GPtrArray) files = store_xml_files(dir);

	for (guint i = 0; i < files->len; i++) {
		const char *n = files->pdata[i];
		g_autofree char *path = g_build_filename(dir, n, NULL);
		g_autoptr(GError) xerr = NULL;
		KiteDomainDef *def = kite_domain_def_parse_file(path, 0, &xerr);
		if (!def) {
			log_info("ignoring %s: %s", path, xerr->message);
			continue;
		}
		g_autofree char *expect = g_strconcat(def->name, ".xml", NULL);
		if (strcmp(expect, n) != 0 || domain_find_name(def->name) ||
		    domain_find_uuid(def->uuid)) {
			log_info("ignoring %s: its name or UUID clashes with another definition",
				 path);
			kite_domain_def_free(def);
			continue;
		}
		def->id = -1;
		struct domain *d = g_new0(struct domain, 1);
		d->def = def;
		d->persistent = true;
		d->pidfd = -1;
		g_autofree char *link = store_autostart_path("domains", def->name);
		d->autostart = g_file_test(link, G_FILE_TEST_EXISTS);
		set_state(d, DOM_SHUTOFF, REASON_SHUTOFF_UNKNOWN);
		g_ptr_array_add(domains, d);
	}
}

/*
 * After a daemon restart: a NIC whose removal the guest completed while no
 * daemon listened (its DEVICE_DELETED is lost) is no longer on kite's PCI
 * bus; finish its removal, as libvirt does on reconnecting
 * (qemuProcessUpdateDevices). A removal still pending completes through
 * the event as usual; kite itself refuses a second device_del for it.
 */
static void reconcile_interfaces(struct domain *d)
{
	g_autoptr(JsonNode) ret = query_list(d, "query-pci", "PCI devices");
	if (!ret)
		return;
	g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
	JsonArray *buses = json_node_get_array(ret);
	for (guint b = 0; b < json_array_get_length(buses); b++) {
		JsonNode *bn = json_array_get_element(buses, b);
		JsonObject *bus = JSON_NODE_HOLDS_OBJECT(bn) ? json_node_get_object(bn) : NULL;
		JsonNode *dn = bus ? json_object_get_member(bus, "devices") : NULL;
		JsonArray *devs = dn && JSON_NODE_HOLDS_ARRAY(dn) ? json_node_get_array(dn) : NULL;
		for (guint i = 0; devs && i < json_array_get_length(devs); i++) {
			JsonNode *en = json_array_get_element(devs, i);
			JsonObject *o =
			    JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
			const char *id =
			    o ? json_object_get_string_member_with_default(o, "qdev_id", "") : "";
			if (*id)
				g_hash_table_add(present, (gpointer)id);
		}
	}
	g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < d->live->interfaces->len; i++) {
		KiteNetDef *n = d->live->interfaces->pdata[i];
		if (n->info.alias && !g_hash_table_contains(present, n->info.alias))
			g_ptr_array_add(gone, g_strdup(n->info.alias));
	}
	for (guint i = 0; i < gone->len; i++) {
		log_info("domain %s: interface %s was removed while the daemon was away",
			 domain_name(d), (char *)gone->pdata[i]);
		interface_removed(d, gone->pdata[i]);
	}
}

/* Adopt a kite left running by a previous daemon. */
static void adopt(const char *name)
{
	g_autofree char *dir = run_path(name);
	g_autofree char *status_path = g_build_filename(dir, "status.xml", NULL);
	g_autofree char *pid_path = g_build_filename(dir, "pid", NULL);
	g_autofree char *qmp_path = g_build_filename(dir, "qmp.sock", NULL);
	g_autofree char *pid_text = NULL;
	g_autoptr(GError) e = NULL;
	int pid = 0;
	unsigned long long start = 0;

	KiteDomainDef *live = kite_domain_def_parse_file(
	    status_path, KITE_XML_PARSE_LIVE | KITE_XML_PARSE_NO_DEFAULTS, &e);
	if (!live || !g_file_get_contents(pid_path, &pid_text, NULL, NULL) ||
	    sscanf(pid_text, "%d %llu", &pid, &start) != 2 || pid <= 0 ||
	    util_process_start_time(pid) != start) {
		log_info("domain %s: no running kite to adopt (%s); cleaning up %s", name,
			 e ? e->message : _("process gone"), dir);
		kite_domain_def_free(live);
		g_autoptr(GPtrArray) taps = read_taps(dir);
		destroy_taps(name, taps);
		util_remove_tree(dir);
		return;
	}
	struct domain *d = domain_find_uuid(live->uuid);
	if (d && strcmp(domain_name(d), live->name) != 0) {
		log_info("domain %s: UUID clashes with domain %s; leaving it alone", name,
			 domain_name(d));
		kite_domain_def_free(live);
		return;
	}
	bool created = false;
	if (!d) {
		d = g_new0(struct domain, 1);
		d->def = kite_domain_def_copy(live);
		kite_domain_def_clear_runtime(d->def);
		d->def->id = -1;
		d->pidfd = -1;
		created = true;
	}
	d->live = live;
	d->pid = pid;
	d->own_child = false;
	d->run_dir = g_strdup(dir);
	d->own_taps = read_taps(dir);
	d->pidfd = pidfd_open_compat(pid);
	d->qmp = qmp_connect(qmp_path, 5000, &e);
	if (!d->qmp || d->pidfd < 0) {
		log_info("domain %s: cannot reconnect to kite (pid %d): %s; stopping it", name, pid,
			 e ? e->message : g_strerror(errno));
		if (created)
			g_ptr_array_add(domains, d);
		d->destroying = true;
		kill_and_wait(d);
		domain_stopped(d, REASON_SHUTOFF_FAILED, EV_STOPPED_FAILED);
		return;
	}
	if (created)
		g_ptr_array_add(domains, d);
	qmp_set_handlers(d->qmp, qmp_event, qmp_closed, d);
	d->pid_watch = g_unix_fd_add(d->pidfd, G_IO_IN, pid_exited, d);
	if (live->id >= next_id)
		next_id = live->id + 1;
	query_status(d);
	reconcile_interfaces(d);
	log_info("domain %s: adopted running kite (pid %d, id %d)", name, pid, live->id);
	notify_hook(live, "reconnect", "begin");
}

static void adopt_running(void)
{
	g_autofree char *dir = g_build_filename(cfg.run_dir, "domains", NULL);
	g_autoptr(GDir) gd = g_dir_open(dir, 0, NULL);
	const char *n;

	if (!gd)
		return;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	while ((n = g_dir_read_name(gd)))
		g_ptr_array_add(names, g_strdup(n));
	for (guint i = 0; i < names->len; i++)
		adopt(names->pdata[i]);
}

void domains_init(void)
{
	static KiteDomainDefaults defaults;

	/* kite's defaults: <emulator> filled with ours (as libvirt fills in
	 * its qemu binary), no implicit devices kite does not emulate. */
	kite_domain_defaults_init_kite(&defaults, cfg.emulator);
	kite_domain_defaults_set(&defaults);
	domains = g_ptr_array_new();
	load_configs();
	adopt_running();
	for (guint i = 0; i < domains->len; i++) {
		struct domain *d = domains->pdata[i];
		g_autoptr(GError) e = NULL;
		if (d->autostart && !domain_active(d) && !domain_start(d, &e))
			log_info("autostart of domain %s failed: %s", domain_name(d), e->message);
	}
}

void domains_answer_pending(void)
{
	/* Detaches still waiting: their clients are about to be disconnected;
	 * the removal completes after a restart, when kite reports it. */
	while (pending_unplugs) {
		struct pending_unplug *p = pending_unplugs->data;
		g_autoptr(GError) err = NULL;
		virt_error(&err, VERR_OPERATION_FAILED,
			   _("operation failed: the daemon is stopping before the guest released "
			     "interface %s"),
			   p->alias);
		unplug_answer(p, err);
	}
}

void domains_release(void)
{
	domains_answer_pending();
	if (!domains)
		return;
	for (guint i = 0; i < domains->len; i++)
		domain_unwatch(domains->pdata[i]);
}
