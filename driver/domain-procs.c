/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Remote procedures on domains: argument decoding, checks, and the wire
 * form of the answers. The work itself is in domain.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <glib/gi18n.h>
#include <string.h>

#include "daemon.h"
#include "kite-netmodel.h"
#include "domain.h"
#include "network.h"
#include "procs.h"
#include "qmp.h"

/* VIR_DOMAIN_DEFINE_VALIDATE / VIR_DOMAIN_START_VALIDATE */
#define DEFINE_VALIDATE	  1u
#define START_PAUSED	  1u
#define START_AUTODESTROY 2u
#define START_VALIDATE	  16u

/* ------------------------------------------ shared with network-procs.c */

bool args_decoded(struct xdr_in *in, bool ok, const char *what, GError **err)
{
	if (!ok)
		return malformed(err, what);
	return args_end(in, err);
}

bool check_flags(uint32_t flags, uint32_t allowed, GError **err)
{
	if (flags & ~allowed) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags & ~allowed);
		return false;
	}
	return true;
}

bool string_arg(struct xdr_in *in, const char *what, char **s, GError **err)
{
	bool ok = xdr_get_string(in, XDR_STRING_MAX, s);
	return args_decoded(in, ok, what, err);
}

bool uuid_arg(struct xdr_in *in, uint8_t uuid[UUID_LEN], GError **err)
{
	bool ok = xdr_get_fixed(in, uuid, UUID_LEN);
	return args_decoded(in, ok, "uuid", err);
}

bool list_max_arg(struct xdr_in *in, const char *what, int32_t *max, GError **err)
{
	bool ok = xdr_get_i32(in, max);
	if (!args_decoded(in, ok, what, err))
		return false;
	if (*max < 0 || (uint32_t)*max > XDR_LIST_MAX) {
		virt_error(err, VERR_RPC, _("too many items requested (%d, at most %u)"), *max,
			   XDR_LIST_MAX);
		return false;
	}
	return true;
}

bool list_all_args(struct xdr_in *in, int32_t *need, uint32_t *flags, uint32_t allowed,
		   GError **err)
{
	bool ok = xdr_get_i32(in, need) && xdr_get_u32(in, flags);
	return args_decoded(in, ok, "need_results, flags", err) &&
	       check_flags(*flags, allowed, err);
}

void put_list_all(GByteArray *out, GPtrArray *all, int32_t need, uint32_t flags,
		  bool (*match)(const void *obj, uint32_t flags),
		  void (*put)(GByteArray *out, const void *obj))
{
	size_t count_at = out->len;
	uint32_t n = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < all->len; i++) {
		if (!match(all->pdata[i], flags))
			continue;
		n++;
		if (need)
			put(out, all->pdata[i]);
	}
	/* Without need_results the array stays empty; "ret" counts anyway. */
	xdr_patch_u32(out, count_at, need ? n : 0);
	xdr_put_u32(out, n);
}

/* ------------------------------------------------------------ arguments */

/* The domain ref names, once the arguments (`what`) are decoded (ok) and
 * used up. Clears ref. */
static struct domain *dom_lookup_args(struct xdr_in *in, struct wire_ref *ref, bool ok,
				      const char *what, GError **err)
{
	struct domain *d = args_decoded(in, ok, what, err) ? domain_lookup(ref, err) : NULL;
	wire_ref_clear(ref);
	return d;
}

/* A domain argument then nothing. */
static struct domain *dom_only(struct xdr_in *in, GError **err)
{
	struct wire_ref ref = {0};
	bool ok = wire_get_domain(in, &ref);
	return dom_lookup_args(in, &ref, ok, "domain", err);
}

/* A domain then an unsigned int (flags) or int. */
static struct domain *dom_u32(struct xdr_in *in, uint32_t *v, GError **err)
{
	struct wire_ref ref = {0};
	bool ok = wire_get_domain(in, &ref) && xdr_get_u32(in, v);
	return dom_lookup_args(in, &ref, ok, "domain, flags", err);
}

/* A domain then two unsigned ints or ints, together named `what`. */
static struct domain *dom_u32_u32(struct xdr_in *in, uint32_t *a, uint32_t *b, const char *what,
				  GError **err)
{
	struct wire_ref ref = {0};
	bool ok = wire_get_domain(in, &ref) && xdr_get_u32(in, a) && xdr_get_u32(in, b);
	return dom_lookup_args(in, &ref, ok, what, err);
}

/* A domain, a string, and flags when with_flags. */
static struct domain *dom_str(struct xdr_in *in, char **s, bool with_flags, uint32_t *flags,
			      GError **err)
{
	struct wire_ref ref = {0};
	*flags = 0;
	bool ok = wire_get_domain(in, &ref) && xdr_get_string(in, XDR_STRING_MAX, s) &&
		  (!with_flags || xdr_get_u32(in, flags));
	struct domain *d = dom_lookup_args(in, &ref, ok, "domain, string, flags", err);
	if (!d)
		g_clear_pointer(s, g_free);
	return d;
}

/* A domain argument, then action on it. */
static bool dom_action(struct xdr_in *in, bool (*action)(struct domain *, GError **), GError **err)
{
	struct domain *d = dom_only(in, err);
	return d && action(d, err);
}

/* A domain and flags within allowed, then action on the domain. */
static bool dom_flags_action(struct xdr_in *in, uint32_t allowed,
			     bool (*action)(struct domain *, GError **), GError **err)
{
	uint32_t flags;
	struct domain *d = dom_u32(in, &flags, err);
	return d && check_flags(flags, allowed, err) && action(d, err);
}

/*
 * A domain and flags within allowed, answered with 0: kite has no managed
 * save images, snapshots or messages, so the count is 0, the answer "no"
 * and the list empty (its length 0).
 */
static bool dom_answer_none(struct xdr_in *in, GByteArray *out, uint32_t allowed, GError **err)
{
	uint32_t flags;
	struct domain *d = dom_u32(in, &flags, err);
	if (!d || !check_flags(flags, allowed, err))
		return false;
	xdr_put_u32(out, 0);
	return true;
}

static bool check_active(const struct domain *d, GError **err)
{
	if (domain_active(d))
		return true;
	virt_error(err, VERR_OPERATION_INVALID,
		   _("Requested operation is not valid: domain is not running"));
	return false;
}

static void put_dom(GByteArray *out, const struct domain *d)
{
	wire_put_domain(out, domain_name(d), domain_uuid(d), domain_id(d));
}

/* put_list_all() hands over the list's untyped elements. */
static void put_listed_dom(GByteArray *out, const void *d)
{
	put_dom(out, d);
}

static bool is_running_state(const struct domain *d)
{
	return domain_active(d) && d->state == DOM_RUNNING;
}

static bool list_match(const void *obj, uint32_t flags)
{
	const struct domain *d = obj;
	bool active = domain_active(d);
	if ((flags & (LIST_DOMAINS_ACTIVE | LIST_DOMAINS_INACTIVE)) &&
	    !((flags & LIST_DOMAINS_ACTIVE && active) ||
	      (flags & LIST_DOMAINS_INACTIVE && !active)))
		return false;
	if ((flags & (LIST_DOMAINS_PERSISTENT | LIST_DOMAINS_TRANSIENT)) &&
	    !((flags & LIST_DOMAINS_PERSISTENT && d->persistent) ||
	      (flags & LIST_DOMAINS_TRANSIENT && !d->persistent)))
		return false;
	if (flags & (LIST_DOMAINS_RUNNING | LIST_DOMAINS_PAUSED | LIST_DOMAINS_SHUTOFF |
		     LIST_DOMAINS_OTHER)) {
		bool running = is_running_state(d);
		bool paused = active && d->state == DOM_PAUSED;
		bool shutoff = !active;
		bool other = active && !running && !paused;
		if (!((flags & LIST_DOMAINS_RUNNING && running) ||
		      (flags & LIST_DOMAINS_PAUSED && paused) ||
		      (flags & LIST_DOMAINS_SHUTOFF && shutoff) ||
		      (flags & LIST_DOMAINS_OTHER && other)))
			return false;
	}
	/* No managed save images and no snapshots exist. */
	if ((flags & (LIST_DOMAINS_MANAGEDSAVE | LIST_DOMAINS_NO_MANAGEDSAVE)) &&
	    !(flags & LIST_DOMAINS_NO_MANAGEDSAVE))
		return false;
	if ((flags & (LIST_DOMAINS_AUTOSTART | LIST_DOMAINS_NO_AUTOSTART)) &&
	    !((flags & LIST_DOMAINS_AUTOSTART && d->autostart) ||
	      (flags & LIST_DOMAINS_NO_AUTOSTART && !d->autostart)))
		return false;
	if ((flags & (LIST_DOMAINS_HAS_SNAPSHOT | LIST_DOMAINS_NO_SNAPSHOT)) &&
	    !(flags & LIST_DOMAINS_NO_SNAPSHOT))
		return false;
	return true;
}

#define LIST_DOMAINS_ALL_FLAGS 0x3fffu

PROC(proc_list_all_domains)
{
	int32_t need;
	uint32_t flags;

	(void)c;
	if (!list_all_args(in, &need, &flags, LIST_DOMAINS_ALL_FLAGS, err))
		return false;
	put_list_all(out, domains_list(), need, flags, list_match, put_listed_dom);
	return true;
}

static uint32_t count_domains(bool active)
{
	GPtrArray *all = domains_list();
	uint32_t n = 0;
	for (guint i = 0; i < all->len; i++)
		if (domain_active(all->pdata[i]) == active)
			n++;
	return n;
}

PROC(proc_num_of_domains)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_i32(out, count_domains(true));
	return true;
}

PROC(proc_num_of_defined_domains)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_i32(out, count_domains(false));
	return true;
}

/* At most max running domains by ID, or defined (inactive) ones by name. */
static bool list_domains(struct xdr_in *in, GByteArray *out, bool active, GError **err)
{
	int32_t max;
	if (!list_max_arg(in, "maximum", &max, err))
		return false;
	GPtrArray *all = domains_list();
	size_t at = out->len;
	int32_t n = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < all->len && n < max; i++) {
		struct domain *d = all->pdata[i];
		if (domain_active(d) != active)
			continue;
		if (active)
			xdr_put_i32(out, domain_id(d));
		else
			xdr_put_string(out, domain_name(d));
		n++;
	}
	xdr_patch_u32(out, at, n);
	return true;
}

PROC(proc_list_domains)
{
	(void)c;
	return list_domains(in, out, true, err);
}

PROC(proc_list_defined_domains)
{
	(void)c;
	return list_domains(in, out, false, err);
}

PROC(proc_lookup_by_name)
{
	g_autofree char *name = NULL;
	(void)c;
	if (!string_arg(in, "name", &name, err))
		return false;
	struct domain *d = domain_find_name(name);
	if (!d) {
		virt_error(err, VERR_NO_DOMAIN,
			   _("Domain not found: no domain with matching name '%s'"), name);
		return false;
	}
	put_dom(out, d);
	return true;
}

PROC(proc_lookup_by_uuid)
{
	uint8_t uuid[UUID_LEN];
	(void)c;
	if (!uuid_arg(in, uuid, err))
		return false;
	struct domain *d = domain_find_uuid(uuid);
	if (!d) {
		char s[37];
		kite_uuid_format(uuid, s);
		virt_error(err, VERR_NO_DOMAIN,
			   _("Domain not found: no domain with matching uuid '%s'"), s);
		return false;
	}
	put_dom(out, d);
	return true;
}

PROC(proc_lookup_by_id)
{
	int32_t id;
	(void)c;
	if (!xdr_get_i32(in, &id))
		return malformed(err, "id");
	if (!args_end(in, err))
		return false;
	struct domain *d = domain_find_id(id);
	if (!d) {
		virt_error(err, VERR_NO_DOMAIN,
			   _("Domain not found: no domain with matching id %d"), id);
		return false;
	}
	put_dom(out, d);
	return true;
}

static bool define_common(struct xdr_in *in, GByteArray *out, bool with_flags, GError **err)
{
	g_autofree char *xml = NULL;
	uint32_t flags = 0;
	if (!xdr_get_string(in, XDR_STRING_MAX, &xml) || (with_flags && !xdr_get_u32(in, &flags)))
		return malformed(err, "xml, flags");
	if (!args_end(in, err) || !check_flags(flags, DEFINE_VALIDATE, err))
		return false;
	struct domain *d = domain_define(xml, flags & DEFINE_VALIDATE, err);
	if (!d)
		return false;
	put_dom(out, d);
	return true;
}

PROC(proc_define_xml)
{
	(void)c;
	return define_common(in, out, false, err);
}

PROC(proc_define_xml_flags)
{
	(void)c;
	return define_common(in, out, true, err);
}

PROC(proc_undefine)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_undefine, err);
}

PROC(proc_undefine_flags)
{
	(void)c;
	(void)out;
	/* Managed save, snapshot/checkpoint metadata, NVRAM, TPM: kite has
	 * none of them, so every "also remove X" flag is trivially done. */
	return dom_flags_action(in, 0x7f, domain_undefine, err);
}

PROC(proc_get_xml_desc)
{
	uint32_t flags;
	struct domain *d = dom_u32(in, &flags, err);
	if (!d || !check_flags(flags, 0xf, err))
		return false;
	if ((flags & DOMAIN_XML_SECURE) && c->readonly) {
		virt_error(err, VERR_OPERATION_DENIED,
			   _("operation forbidden: virDomainGetXMLDesc with secure flag"));
		return false;
	}
	g_autofree char *xml = domain_get_xml(d, flags & (DOMAIN_XML_SECURE | DOMAIN_XML_INACTIVE));
	xdr_put_string(out, xml);
	return true;
}

static bool start_paused_after(struct domain *d, uint32_t flags, GError **err)
{
	if (!(flags & START_PAUSED))
		return true;
	if (domain_suspend(d, err))
		return true;
	g_autoptr(GError) ignore = NULL;
	domain_destroy(d, &ignore);
	return false;
}

PROC(proc_create)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_start, err);
}

PROC(proc_create_with_flags)
{
	uint32_t flags;
	(void)c;
	struct domain *d = dom_u32(in, &flags, err);
	if (!d || !check_flags(flags, START_PAUSED | START_VALIDATE, err) ||
	    !domain_start(d, err) || !start_paused_after(d, flags, err))
		return false;
	put_dom(out, d);
	return true;
}

PROC(proc_create_xml)
{
	g_autofree char *xml = NULL;
	uint32_t flags;
	(void)c;
	if (!xdr_get_string(in, XDR_STRING_MAX, &xml) || !xdr_get_u32(in, &flags))
		return malformed(err, "xml, flags");
	if (!args_end(in, err))
		return false;
	if (flags & START_AUTODESTROY) {
		virt_error(err, VERR_OPERATION_UNSUPPORTED,
			   _("Operation not supported: auto-destroy of domains is not supported"));
		return false;
	}
	if (!check_flags(flags, START_PAUSED | START_VALIDATE, err))
		return false;
	struct domain *d = domain_create_transient(xml, flags & START_VALIDATE, err);
	if (!d || !start_paused_after(d, flags, err))
		return false;
	put_dom(out, d);
	return true;
}

PROC(proc_destroy)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_destroy, err);
}

PROC(proc_destroy_flags)
{
	(void)c;
	(void)out;
	/* GRACEFUL (1): only SIGTERM; we always try SIGTERM first. */
	return dom_flags_action(in, 1, domain_destroy, err);
}

PROC(proc_shutdown)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_shutdown, err);
}

PROC(proc_shutdown_flags)
{
	(void)c;
	(void)out;
	/* Only the ACPI power button (1) or the default (0): no agent. */
	return dom_flags_action(in, 1, domain_shutdown, err);
}

PROC(proc_reboot)
{
	(void)c;
	(void)out;
	return dom_flags_action(in, 1, domain_reboot, err);
}

PROC(proc_reset)
{
	(void)c;
	(void)out;
	return dom_flags_action(in, 0, domain_reset, err);
}

PROC(proc_suspend)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_suspend, err);
}

PROC(proc_resume)
{
	(void)c;
	(void)out;
	return dom_action(in, domain_resume, err);
}

PROC(proc_get_info)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	KiteDomainDef *def = domain_current_def(d);
	xdr_put_u32(out, d->state);
	xdr_put_u64(out, def->memory_kib);
	xdr_put_u64(out, def->current_memory_kib ? def->current_memory_kib : def->memory_kib);
	xdr_put_u32(out, def->vcpus_current ? def->vcpus_current : def->vcpus);
	xdr_put_u64(out, domain_cpu_time(d));
	return true;
}

PROC(proc_get_state)
{
	uint32_t flags;
	(void)c;
	struct domain *d = dom_u32(in, &flags, err);
	if (!d || !check_flags(flags, 0, err))
		return false;
	xdr_put_i32(out, d->state);
	xdr_put_i32(out, d->reason);
	return true;
}

PROC(proc_is_active)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	xdr_put_i32(out, domain_active(d));
	return true;
}

PROC(proc_is_persistent)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	xdr_put_i32(out, d->persistent);
	return true;
}

PROC(proc_is_updated)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	/* Changes to a running domain go to both definitions or only to the
	 * live one through the device calls; kite keeps no other pending
	 * state, so "updated" means the live NIC list differs. */
	xdr_put_i32(out, domain_active(d) && d->live->interfaces->len != d->def->interfaces->len);
	return true;
}

PROC(proc_get_autostart)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	xdr_put_i32(out, d->autostart);
	return true;
}

PROC(proc_set_autostart)
{
	uint32_t on;
	(void)c;
	(void)out;
	struct domain *d = dom_u32(in, &on, err);
	return d && domain_set_autostart(d, on != 0, err);
}

PROC(proc_has_managed_save_image)
{
	(void)c;
	return dom_answer_none(in, out, 0, err);
}

PROC(proc_get_os_type)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	const char *type = domain_current_def(d)->os.type;
	xdr_put_string(out, type ? type : "hvm");
	return true;
}

PROC(proc_get_max_memory)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	xdr_put_u64(out, domain_current_def(d)->memory_kib);
	return true;
}

PROC(proc_domain_get_max_vcpus)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	xdr_put_i32(out, domain_current_def(d)->vcpus);
	return true;
}

/* The snapshot calls take any flags: there are no snapshots to filter. */
#define ANY_FLAGS UINT32_MAX

PROC(proc_snapshot_num)
{
	(void)c;
	return dom_answer_none(in, out, ANY_FLAGS, err);
}

PROC(proc_snapshot_list_names)
{
	uint32_t max, flags;
	(void)c;
	struct domain *d = dom_u32_u32(in, &max, &flags, "domain, maxnames, flags", err);
	if (!d)
		return false;
	xdr_put_u32(out, 0);
	return true;
}

PROC(proc_list_all_snapshots)
{
	uint32_t need, flags;
	(void)c;
	struct domain *d = dom_u32_u32(in, &need, &flags, "domain, need_results, flags", err);
	if (!d)
		return false;
	xdr_put_u32(out, 0); /* snapshots<> */
	xdr_put_i32(out, 0); /* ret */
	return true;
}

PROC(proc_has_current_snapshot)
{
	(void)c;
	return dom_answer_none(in, out, ANY_FLAGS, err);
}

PROC(proc_get_security_label)
{
	(void)c;
	struct domain *d = dom_only(in, err);
	if (!d)
		return false;
	/* Security model "none": no label, not enforcing. */
	xdr_put_u32(out, 0);
	xdr_put_i32(out, 0);
	return true;
}

PROC(proc_get_messages)
{
	(void)c;
	/* kite records no taint or deprecation messages. */
	return dom_answer_none(in, out, 3, err);
}

/* ----------------------------------------------------------- interfaces */

static bool tap_counters(const char *ifname, uint64_t v[8])
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents("/proc/net/dev", &text, NULL, NULL))
		return false;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *colon = strchr(*l, ':');
		if (!colon)
			continue;
		*colon = 0;
		if (strcmp(g_strstrip(*l), ifname) != 0)
			continue;
		unsigned long long f[16] = {0};
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
			   &f[10], &f[11]) < 12)
			return false;
		/* A tap's receive is the guest's transmit: swap, as libvirt. */
		v[0] = f[8], v[1] = f[9], v[2] = f[10], v[3] = f[11];
		v[4] = f[0], v[5] = f[1], v[6] = f[2], v[7] = f[3];
		return true;
	}
	return false;
}

/* kite's counters of every network client (emulator/net/net-qmp.c). */
#define NIC_STATS_COMMAND "query-kite-net-stats"

static gint64 member_int(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return -1;
	return json_node_get_int(n);
}

/*
 * The NIC's own counters: "rx" is what it received, i.e. what went towards
 * the guest, which is libvirt's meaning of rx in domifstat. kite does not
 * count errors: those stay -1 ("unknown"), which virsh leaves out.
 */
static bool nic_counters(struct domain *d, KiteNetDef *net, uint64_t v[8], GError **err)
{
	if (net->target_dev && tap_counters(net->target_dev, v))
		return true;
	const char *alias = net->info.alias ? net->info.alias : "";
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return false;
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) ret = qmp_command(q, NIC_STATS_COMMAND, NULL, &e);
	if (!ret) {
		if (e->code == VERR_OPERATION_UNSUPPORTED)
			virt_error(err, VERR_OPERATION_UNSUPPORTED,
				   _("Operation not supported: kite does not report the counters "
				     "of NIC '%s' (its monitor has no %s command)"),
				   alias, NIC_STATS_COMMAND);
		else
			g_propagate_error(err, g_steal_pointer(&e));
		return false;
	}
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		virt_error(err, VERR_OPERATION_FAILED, _("kite's %s did not return a list"),
			   NIC_STATS_COMMAND);
		return false;
	}
	JsonArray *a = json_node_get_array(ret);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *en = json_array_get_element(a, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
		if (!o ||
		    strcmp(json_object_get_string_member_with_default(o, "type", ""), "nic") != 0 ||
		    strcmp(json_object_get_string_member_with_default(o, "name", ""), alias) != 0)
			continue;
		static const char *const keys[8] = {"rx-bytes",	  "rx-packets", "rx-errors",
						    "rx-dropped", "tx-bytes",	"tx-packets",
						    "tx-errors",  "tx-dropped"};
		for (int k = 0; k < 8; k++)
			v[k] = (uint64_t)member_int(o, keys[k]);
		return true;
	}
	virt_error(err, VERR_OPERATION_FAILED, _("kite's %s does not list NIC '%s' of domain '%s'"),
		   NIC_STATS_COMMAND, alias, domain_name(d));
	return false;
}

PROC(proc_interface_stats)
{
	g_autofree char *dev = NULL;
	uint32_t unused;
	(void)c;
	struct domain *d = dom_str(in, &dev, false, &unused, err);
	if (!d || !check_active(d, err))
		return false;
	KiteNetDef *net = domain_find_interface(d, dev);
	if (!net) {
		virt_error(err, VERR_INVALID_ARG,
			   _("invalid argument: invalid path, '%s' is not a known interface"), dev);
		return false;
	}
	uint64_t v[8];
	if (!nic_counters(d, net, v, err))
		return false;
	for (int i = 0; i < 8; i++)
		xdr_put_u64(out, v[i]);
	return true;
}

/*
 * The DHCP leases of kite's user-mode networks, keyed by MAC: kite learns
 * them from the ACKs libslirp sends (query-kite-usernet-leases).
 */
static JsonArray *usernet_leases(struct domain *d, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return NULL;
	JsonNode *ret = qmp_command(q, "query-kite-usernet-leases", NULL, err);
	if (!ret)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		json_node_unref(ret);
		virt_error(err, VERR_OPERATION_FAILED,
			   _("kite's query-kite-usernet-leases did not return a list"));
		return NULL;
	}
	JsonArray *a = json_array_ref(json_node_get_array(ret));
	json_node_unref(ret);
	return a;
}

/* Addresses (and their prefix) leased to mac; valid dotted quads only. */
static void addrs_from_leases(JsonArray *leases, const char *mac, GPtrArray *found,
			      unsigned *prefix)
{
	for (guint i = 0; i < json_array_get_length(leases); i++) {
		JsonNode *en = json_array_get_element(leases, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
		if (!o ||
		    g_ascii_strcasecmp(json_object_get_string_member_with_default(o, "macaddr", ""),
				       mac) != 0)
			continue;
		const char *ip = json_object_get_string_member_with_default(o, "ip-address", "");
		struct in_addr a;
		if (inet_pton(AF_INET, ip, &a) != 1)
			continue;
		gint64 p = member_int(o, "prefix");
		if (p >= 0 && p <= 32)
			*prefix = (unsigned)p;
		g_ptr_array_add(found, g_strdup(ip));
	}
}

/* IPv4 addresses found on the same line as the MAC in `text`. */
static void addrs_from_text(const char *text, const char *mac, GPtrArray *found)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (!strcasestr(*l, mac))
			continue;
		g_auto(GStrv) words = g_strsplit_set(*l, " \t,=[]()", -1);
		for (char **w = words; *w; w++) {
			unsigned a, b, cc, dd;
			char tail;
			if (sscanf(*w, "%u.%u.%u.%u%c", &a, &b, &cc, &dd, &tail) == 4 && a < 256 &&
			    b < 256 && cc < 256 && dd < 256)
				g_ptr_array_add(found, g_strdup(*w));
		}
	}
}

PROC(proc_interface_addresses)
{
	uint32_t source, flags;
	(void)c;
	struct domain *d = dom_u32_u32(in, &source, &flags, "domain, source, flags", err);
	if (!d || !check_flags(flags, 0, err) || !check_active(d, err))
		return false;
	if (source == IFADDR_SRC_AGENT) {
		virt_error(err, 74 /* ARGUMENT_UNSUPPORTED */,
			   _("argument unsupported: kite has no guest agent channel"));
		return false;
	}
	if (source != IFADDR_SRC_LEASE && source != IFADDR_SRC_ARP) {
		virt_error(err, VERR_INVALID_ARG, _("unknown address source %u"), source);
		return false;
	}
	g_autoptr(JsonArray) usernet = NULL;
	g_autofree char *arp = NULL;
	if (source == IFADDR_SRC_ARP)
		g_file_get_contents("/proc/net/arp", &arp, NULL, NULL);
	KiteDomainDef *def = d->live;
	size_t count_at = out->len;
	uint32_t n = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *net = def->interfaces->pdata[i];
		char mac[18];
		kite_mac_format(net->mac, mac);
		g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
		unsigned prefix = 24;
		if (source == IFADDR_SRC_ARP) {
			if (arp)
				addrs_from_text(arp, mac, found);
		} else if (net->type == KITE_NET_USER) {
			if (!usernet) {
				usernet = usernet_leases(d, err);
				if (!usernet)
					return false;
			}
			addrs_from_leases(usernet, mac, found, &prefix);
		} else if (net->type == KITE_NET_NETWORK) {
			struct network *nw = network_find_name(net->source_network);
			g_autoptr(GPtrArray) leases = nw ? network_leases(nw, NULL) : NULL;
			for (guint j = 0; leases && j < leases->len; j++) {
				KiteNetLease *l = leases->pdata[j];
				if (l->mac && g_ascii_strcasecmp(l->mac, mac) == 0 && l->ip)
					g_ptr_array_add(found, g_strdup(l->ip));
			}
			const KiteNetworkIp *ip = nw ? kite_network_def_ipv4(nw->def) : NULL;
			if (ip)
				prefix = kite_network_ip_prefix(ip);
		}
		if (found->len == 0)
			continue;
		n++;
		xdr_put_string(out, net->target_dev ? net->target_dev
						    : (net->info.alias ? net->info.alias : "-"));
		xdr_put_opt_string(out, mac);
		xdr_put_u32(out, found->len);
		for (guint j = 0; j < found->len; j++) {
			xdr_put_i32(out, 0); /* IPv4 */
			xdr_put_string(out, found->pdata[j]);
			xdr_put_u32(out, prefix);
		}
	}
	xdr_patch_u32(out, count_at, n);
	return true;
}

static bool device_call(struct xdr_in *in, bool with_flags, uint32_t implied,
			bool (*fn)(struct domain *, const char *, unsigned, GError **),
			GError **err)
{
	g_autofree char *xml = NULL;
	uint32_t flags;
	struct domain *d = dom_str(in, &xml, with_flags, &flags, err);
	if (!d)
		return false;
	return fn(d, xml, with_flags ? flags : implied, err);
}

/* The calls without flags have hot-plug semantics: live only. */
PROC(proc_attach_device)
{
	(void)c;
	(void)out;
	return device_call(in, false, DOMAIN_AFFECT_LIVE, domain_attach_device, err);
}

PROC(proc_attach_device_flags)
{
	(void)c;
	(void)out;
	return device_call(in, true, 0, domain_attach_device, err);
}

PROC(proc_detach_device)
{
	(void)c;
	(void)out;
	return device_call(in, false, DOMAIN_AFFECT_LIVE, domain_detach_device, err);
}

PROC(proc_detach_device_flags)
{
	(void)c;
	(void)out;
	return device_call(in, true, 0, domain_detach_device, err);
}

PROC(proc_update_device_flags)
{
	(void)c;
	(void)out;
	return device_call(in, true, 0, domain_update_device, err);
}

/* ----------------------------------------------------------- stats */

enum typed_param_type {
	TP_INT = 1,
	TP_UINT = 2,
	TP_LLONG = 3,
	TP_ULLONG = 4,
	TP_STRING = 7,
};

static void tp_ull(GByteArray *o, uint32_t *n, const char *field, uint64_t v)
{
	xdr_put_string(o, field);
	xdr_put_i32(o, TP_ULLONG);
	xdr_put_u64(o, v);
	(*n)++;
}

static void tp_int(GByteArray *o, uint32_t *n, const char *field, int type, int32_t v)
{
	xdr_put_string(o, field);
	xdr_put_i32(o, type);
	xdr_put_i32(o, v);
	(*n)++;
}

static void tp_str(GByteArray *o, uint32_t *n, const char *field, const char *v)
{
	xdr_put_string(o, field);
	xdr_put_i32(o, TP_STRING);
	xdr_put_string(o, v);
	(*n)++;
}

#define STATS_STATE	1u
#define STATS_CPU_TOTAL 2u
#define STATS_BALLOON	4u
#define STATS_VCPU	8u
#define STATS_INTERFACE 16u
#define STATS_BLOCK	32u

static void put_stats(GByteArray *out, struct domain *d, uint32_t stats)
{
	KiteDomainDef *def = domain_current_def(d);
	uint32_t n = 0;

	put_dom(out, d);
	size_t at = out->len;
	xdr_put_u32(out, 0);
	if (stats & STATS_STATE) {
		tp_int(out, &n, "state.state", TP_INT, d->state);
		tp_int(out, &n, "state.reason", TP_INT, d->reason);
	}
	if ((stats & STATS_CPU_TOTAL) && domain_active(d))
		tp_ull(out, &n, "cpu.time", domain_cpu_time(d));
	if (stats & STATS_BALLOON) {
		tp_ull(out, &n, "balloon.current",
		       def->current_memory_kib ? def->current_memory_kib : def->memory_kib);
		tp_ull(out, &n, "balloon.maximum", def->memory_kib);
	}
	if (stats & STATS_VCPU) {
		tp_int(out, &n, "vcpu.current", TP_UINT,
		       def->vcpus_current ? def->vcpus_current : def->vcpus);
		tp_int(out, &n, "vcpu.maximum", TP_UINT, def->vcpus);
	}
	if ((stats & STATS_INTERFACE) && domain_active(d)) {
		tp_int(out, &n, "net.count", TP_UINT, def->interfaces->len);
		for (guint i = 0; i < def->interfaces->len; i++) {
			KiteNetDef *net = def->interfaces->pdata[i];
			char key[64];
			snprintf(key, sizeof(key), "net.%u.name", i);
			tp_str(out, &n, key,
			       net->target_dev ? net->target_dev
					       : (net->info.alias ? net->info.alias : ""));
			uint64_t v[8];
			g_autoptr(GError) e = NULL;
			/* Counters kite cannot give are left out, as libvirt
			 * leaves out what it cannot read. */
			if (!nic_counters(d, net, v, &e))
				continue;
			static const char *const names[8] = {"rx.bytes", "rx.pkts",  "rx.errs",
							     "rx.drop",	 "tx.bytes", "tx.pkts",
							     "tx.errs",	 "tx.drop"};
			for (int k = 0; k < 8; k++) {
				if (v[k] == (uint64_t)-1)
					continue;
				snprintf(key, sizeof(key), "net.%u.%s", i, names[k]);
				tp_ull(out, &n, key, v[k]);
			}
		}
	}
	if (stats & STATS_BLOCK)
		tp_int(out, &n, "block.count", TP_UINT, 0);
	xdr_patch_u32(out, at, n);
}

PROC(proc_get_all_domain_stats)
{
	uint32_t ndoms, stats, flags;
	(void)c;
	if (!xdr_get_count(in, XDR_LIST_MAX, WIRE_DOMAIN_MIN, &ndoms))
		return malformed(err, "domain list");
	g_autoptr(GPtrArray) doms = g_ptr_array_new();
	g_autoptr(GError) lookup_err = NULL;
	for (uint32_t i = 0; i < ndoms; i++) {
		struct wire_ref ref = {0};
		if (!wire_get_domain(in, &ref)) {
			wire_ref_clear(&ref);
			return malformed(err, "domain list");
		}
		struct domain *d = lookup_err ? NULL : domain_lookup(&ref, &lookup_err);
		wire_ref_clear(&ref);
		if (d)
			g_ptr_array_add(doms, d);
	}
	if (!xdr_get_u32(in, &stats) || !xdr_get_u32(in, &flags))
		return malformed(err, "stats, flags");
	if (!args_end(in, err))
		return false;
	if (lookup_err) {
		g_propagate_error(err, g_steal_pointer(&lookup_err));
		return false;
	}
	/* ENFORCE_STATS, BACKING and NOWAIT are about which stats; the rest
	 * filter the list like connect_list_all_domains. */
	uint32_t filter = flags & LIST_DOMAINS_ALL_FLAGS & 0xff;
	if (ndoms == 0) {
		GPtrArray *all = domains_list();
		for (guint i = 0; i < all->len; i++)
			if (list_match(all->pdata[i], filter))
				g_ptr_array_add(doms, all->pdata[i]);
	}
	if (stats == 0)
		stats = STATS_STATE | STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU |
			STATS_INTERFACE | STATS_BLOCK;
	xdr_put_u32(out, doms->len);
	for (guint i = 0; i < doms->len; i++)
		put_stats(out, doms->pdata[i], stats);
	return true;
}
