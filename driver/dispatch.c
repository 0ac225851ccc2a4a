/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * From a complete packet to a reply: header checks, the keepalive program,
 * the remote program's procedure table with its read-only and
 * connection-open rules, and the connection-level procedures.
 */
#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "procs.h"

/* The libvirt API level whose protocol virtkited implements (9.0.0). */
#define LIBVIRT_API_VERSION 9000000ull

enum proc_flags {
	P_BEFORE_OPEN = 1, /* allowed before connect_open */
	P_WRITE = 2,	   /* refused on a read-only connection */
};

struct proc_entry {
	int proc;
	const char *api; /* public API name, used in messages */
	proc_fn fn;
	unsigned flags;
	int from; /* virErrorDomain for its errors */
};

bool malformed(GError **err, const char *what)
{
	g_set_error(err, VIRT_MALFORMED, VERR_RPC, _("malformed RPC arguments: %s"), what);
	return false;
}

bool args_end(struct xdr_in *in, GError **err)
{
	if (!xdr_at_end(in))
		return malformed(err, _("trailing bytes after the arguments"));
	return true;
}

static PROC(proc_auth_list)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_u32(out, 1);
	xdr_put_i32(out, 0); /* REMOTE_AUTH_NONE: the socket's permissions are the check */
	return true;
}

static PROC(proc_supports_feature)
{
	int32_t feature;

	if (!xdr_get_i32(in, &feature))
		return malformed(err, "feature");
	if (!args_end(in, err))
		return false;
	int supported = 0;
	switch (feature) {
	case FEATURE_PROGRAM_KEEPALIVE:
		c->keepalive = true;
		supported = 1;
		break;
	case FEATURE_REMOTE_EVENT_CALLBACK:
	case FEATURE_REMOTE_CLOSE_CALLBACK:
	case 9: /* TYPED_PARAM_STRING: domain stats carry strings */
		supported = 1;
		break;
	}
	xdr_put_i32(out, supported);
	return true;
}

static const char *daemon_uri(void)
{
	return cfg.session ? "kite:///session" : "kite:///system";
}

static PROC(proc_connect_open)
{
	g_autofree char *name = NULL;
	uint32_t flags;

	(void)out;
	if (!xdr_get_opt_string(in, XDR_STRING_MAX, &name) || !xdr_get_u32(in, &flags))
		return malformed(err, "name, flags");
	if (!args_end(in, err))
		return false;
	if (c->opened) {
		virt_error(err, VERR_OPERATION_INVALID, _("connection already open"));
		return false;
	}
	if (name && *name) {
		/* The client strips its transport but keeps the query (e.g.
		 * ?socket=); only scheme and path choose the driver. */
		g_autoptr(GUri) uri = g_uri_parse(name, G_URI_FLAGS_NONE, NULL);
		const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
		const char *path = uri ? g_uri_get_path(uri) : NULL;
		const char *want = cfg.session ? "/session" : "/system";
		if (!scheme || g_ascii_strcasecmp(scheme, "kite") != 0 || !path ||
		    strcmp(path, want) != 0 || (g_uri_get_host(uri) && *g_uri_get_host(uri))) {
			virt_error(
			    err, VERR_NO_SUPPORT,
			    _("no connection driver available for %s (this daemon serves %s)"),
			    name, daemon_uri());
			return false;
		}
	}
	if (flags & CONNECT_RO)
		c->readonly = true;
	c->opened = true;
	c->uri = g_strdup(daemon_uri());
	log_debug("client fd %d opened %s%s", c->fd, c->uri, c->readonly ? " read-only" : "");
	return true;
}

static PROC(proc_void_ok)
{
	(void)c;
	(void)out;
	return args_end(in, err);
}

static PROC(proc_get_type)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_string(out, "KITE");
	return true;
}

static PROC(proc_get_lib_version)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_u64(out, LIBVIRT_API_VERSION);
	return true;
}

static PROC(proc_get_hostname)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	char host[256];
	if (gethostname(host, sizeof(host) - 1) < 0) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot get the host name: %s"),
			   g_strerror(errno));
		return false;
	}
	host[sizeof(host) - 1] = 0;
	xdr_put_string(out, host);
	return true;
}

static PROC(proc_get_uri)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_string(out, daemon_uri());
	return true;
}

static PROC(proc_is_secure)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_i32(out, 1); /* a local UNIX socket: nobody else sees the traffic */
	return true;
}

static PROC(proc_security_model)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	/* No security driver (SELinux/AppArmor) confines kite: model "none".
	 * The strings travel with their terminating NUL, like libvirtd's. */
	xdr_put_char_array(out, "none", 5, true);
	xdr_put_char_array(out, "0", 2, true);
	return true;
}

static PROC(proc_events)
{
	/* The number is not in args: events_proc dispatches by the header. */
	(void)c;
	(void)in;
	(void)out;
	(void)err;
	g_assert_not_reached();
}

#define NET VFROM_NETWORK
#define DOM VFROM_DOMAIN
#define REM VFROM_REMOTE

static const struct proc_entry procs[] = {
    {PROC_CONNECT_OPEN, "virConnectOpen", proc_connect_open, P_BEFORE_OPEN, REM},
    {PROC_CONNECT_CLOSE, "virConnectClose", proc_void_ok, P_BEFORE_OPEN, REM},
    {PROC_AUTH_LIST, "virConnectAuthList", proc_auth_list, P_BEFORE_OPEN, REM},
    {PROC_CONNECT_SUPPORTS_FEATURE, "virConnectSupportsFeature", proc_supports_feature,
     P_BEFORE_OPEN, REM},
    {PROC_CONNECT_REGISTER_CLOSE_CALLBACK, "virConnectRegisterCloseCallback", proc_void_ok, 0, REM},
    {PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, "virConnectUnregisterCloseCallback", proc_void_ok, 0,
     REM},
    {PROC_CONNECT_GET_TYPE, "virConnectGetType", proc_get_type, 0, REM},
    {PROC_CONNECT_GET_VERSION, "virConnectGetVersion", proc_get_version, 0, REM},
    {PROC_CONNECT_GET_LIB_VERSION, "virConnectGetLibVersion", proc_get_lib_version, 0, REM},
    {PROC_CONNECT_GET_HOSTNAME, "virConnectGetHostname", proc_get_hostname, 0, REM},
    {PROC_CONNECT_GET_SYSINFO, "virConnectGetSysinfo", proc_get_sysinfo, 0, REM},
    {PROC_CONNECT_GET_URI, "virConnectGetURI", proc_get_uri, 0, REM},
    {PROC_CONNECT_IS_SECURE, "virConnectIsSecure", proc_is_secure, 0, REM},
    {PROC_CONNECT_GET_MAX_VCPUS, "virConnectGetMaxVcpus", proc_get_max_vcpus, 0, REM},
    {PROC_NODE_GET_INFO, "virNodeGetInfo", proc_node_get_info, 0, REM},
    {PROC_NODE_GET_SECURITY_MODEL, "virNodeGetSecurityModel", proc_security_model, 0, REM},
    {PROC_CONNECT_GET_CAPABILITIES, "virConnectGetCapabilities", proc_get_capabilities, 0, REM},
    {PROC_CONNECT_GET_DOMAIN_CAPABILITIES, "virConnectGetDomainCapabilities",
     proc_get_domain_capabilities, 0, REM},

    {PROC_CONNECT_LIST_ALL_DOMAINS, "virConnectListAllDomains", proc_list_all_domains, 0, DOM},
    {PROC_CONNECT_NUM_OF_DOMAINS, "virConnectNumOfDomains", proc_num_of_domains, 0, DOM},
    {PROC_CONNECT_LIST_DOMAINS, "virConnectListDomains", proc_list_domains, 0, DOM},
    {PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, "virConnectNumOfDefinedDomains",
     proc_num_of_defined_domains, 0, DOM},
    {PROC_CONNECT_LIST_DEFINED_DOMAINS, "virConnectListDefinedDomains", proc_list_defined_domains,
     0, DOM},
    {PROC_DOMAIN_LOOKUP_BY_NAME, "virDomainLookupByName", proc_lookup_by_name, 0, DOM},
    {PROC_DOMAIN_LOOKUP_BY_UUID, "virDomainLookupByUUID", proc_lookup_by_uuid, 0, DOM},
    {PROC_DOMAIN_LOOKUP_BY_ID, "virDomainLookupByID", proc_lookup_by_id, 0, DOM},
    {PROC_DOMAIN_DEFINE_XML, "virDomainDefineXML", proc_define_xml, P_WRITE, DOM},
    {PROC_DOMAIN_DEFINE_XML_FLAGS, "virDomainDefineXMLFlags", proc_define_xml_flags, P_WRITE, DOM},
    {PROC_DOMAIN_UNDEFINE, "virDomainUndefine", proc_undefine, P_WRITE, DOM},
    {PROC_DOMAIN_UNDEFINE_FLAGS, "virDomainUndefineFlags", proc_undefine_flags, P_WRITE, DOM},
    {PROC_DOMAIN_GET_XML_DESC, "virDomainGetXMLDesc", proc_get_xml_desc, 0, DOM},
    {PROC_DOMAIN_CREATE, "virDomainCreate", proc_create, P_WRITE, DOM},
    {PROC_DOMAIN_CREATE_WITH_FLAGS, "virDomainCreateWithFlags", proc_create_with_flags, P_WRITE,
     DOM},
    {PROC_DOMAIN_CREATE_XML, "virDomainCreateXML", proc_create_xml, P_WRITE, DOM},
    {PROC_DOMAIN_DESTROY, "virDomainDestroy", proc_destroy, P_WRITE, DOM},
    {PROC_DOMAIN_DESTROY_FLAGS, "virDomainDestroyFlags", proc_destroy_flags, P_WRITE, DOM},
    {PROC_DOMAIN_SHUTDOWN, "virDomainShutdown", proc_shutdown, P_WRITE, DOM},
    {PROC_DOMAIN_SHUTDOWN_FLAGS, "virDomainShutdownFlags", proc_shutdown_flags, P_WRITE, DOM},
    {PROC_DOMAIN_REBOOT, "virDomainReboot", proc_reboot, P_WRITE, DOM},
    {PROC_DOMAIN_RESET, "virDomainReset", proc_reset, P_WRITE, DOM},
    {PROC_DOMAIN_SUSPEND, "virDomainSuspend", proc_suspend, P_WRITE, DOM},
    {PROC_DOMAIN_RESUME, "virDomainResume", proc_resume, P_WRITE, DOM},
    {PROC_DOMAIN_GET_INFO, "virDomainGetInfo", proc_get_info, 0, DOM},
    {PROC_DOMAIN_GET_STATE, "virDomainGetState", proc_get_state, 0, DOM},
    {PROC_DOMAIN_IS_ACTIVE, "virDomainIsActive", proc_is_active, 0, DOM},
    {PROC_DOMAIN_IS_PERSISTENT, "virDomainIsPersistent", proc_is_persistent, 0, DOM},
    {PROC_DOMAIN_IS_UPDATED, "virDomainIsUpdated", proc_is_updated, 0, DOM},
    {PROC_DOMAIN_GET_AUTOSTART, "virDomainGetAutostart", proc_get_autostart, 0, DOM},
    {PROC_DOMAIN_SET_AUTOSTART, "virDomainSetAutostart", proc_set_autostart, P_WRITE, DOM},
    {PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, "virDomainHasManagedSaveImage",
     proc_has_managed_save_image, 0, DOM},
    {PROC_DOMAIN_GET_OS_TYPE, "virDomainGetOSType", proc_get_os_type, 0, DOM},
    {PROC_DOMAIN_GET_MAX_MEMORY, "virDomainGetMaxMemory", proc_get_max_memory, 0, DOM},
    {PROC_DOMAIN_GET_MAX_VCPUS, "virDomainGetMaxVcpus", proc_domain_get_max_vcpus, 0, DOM},
    {PROC_DOMAIN_SNAPSHOT_NUM, "virDomainSnapshotNum", proc_snapshot_num, 0, DOM},
    {PROC_DOMAIN_SNAPSHOT_LIST_NAMES, "virDomainSnapshotListNames", proc_snapshot_list_names, 0,
     DOM},
    {PROC_DOMAIN_LIST_ALL_SNAPSHOTS, "virDomainListAllSnapshots", proc_list_all_snapshots, 0, DOM},
    {PROC_DOMAIN_HAS_CURRENT_SNAPSHOT, "virDomainHasCurrentSnapshot", proc_has_current_snapshot, 0,
     DOM},
    {PROC_DOMAIN_GET_SECURITY_LABEL, "virDomainGetSecurityLabel", proc_get_security_label, 0, DOM},
    {PROC_DOMAIN_GET_MESSAGES, "virDomainGetMessages", proc_get_messages, 0, DOM},
    {PROC_DOMAIN_INTERFACE_STATS, "virDomainInterfaceStats", proc_interface_stats, 0, DOM},
    {PROC_DOMAIN_INTERFACE_ADDRESSES, "virDomainInterfaceAddresses", proc_interface_addresses, 0,
     DOM},
    {PROC_DOMAIN_ATTACH_DEVICE, "virDomainAttachDevice", proc_attach_device, P_WRITE, DOM},
    {PROC_DOMAIN_ATTACH_DEVICE_FLAGS, "virDomainAttachDeviceFlags", proc_attach_device_flags,
     P_WRITE, DOM},
    {PROC_DOMAIN_DETACH_DEVICE, "virDomainDetachDevice", proc_detach_device, P_WRITE, DOM},
    {PROC_DOMAIN_DETACH_DEVICE_FLAGS, "virDomainDetachDeviceFlags", proc_detach_device_flags,
     P_WRITE, DOM},
    {PROC_DOMAIN_UPDATE_DEVICE_FLAGS, "virDomainUpdateDeviceFlags", proc_update_device_flags,
     P_WRITE, DOM},
    {PROC_DOMAIN_OPEN_CONSOLE, "virDomainOpenConsole", proc_open_console, P_WRITE, DOM},
    {PROC_CONNECT_GET_ALL_DOMAIN_STATS, "virConnectGetAllDomainStats", proc_get_all_domain_stats, 0,
     DOM},

    {PROC_CONNECT_LIST_ALL_NETWORKS, "virConnectListAllNetworks", proc_list_all_networks, 0, NET},
    {PROC_CONNECT_NUM_OF_NETWORKS, "virConnectNumOfNetworks", proc_num_of_networks, 0, NET},
    {PROC_CONNECT_LIST_NETWORKS, "virConnectListNetworks", proc_list_networks, 0, NET},
    {PROC_CONNECT_NUM_OF_DEFINED_NETWORKS, "virConnectNumOfDefinedNetworks",
     proc_num_of_defined_networks, 0, NET},
    {PROC_CONNECT_LIST_DEFINED_NETWORKS, "virConnectListDefinedNetworks",
     proc_list_defined_networks, 0, NET},
    {PROC_NETWORK_LOOKUP_BY_NAME, "virNetworkLookupByName", proc_network_lookup_by_name, 0, NET},
    {PROC_NETWORK_LOOKUP_BY_UUID, "virNetworkLookupByUUID", proc_network_lookup_by_uuid, 0, NET},
    {PROC_NETWORK_DEFINE_XML, "virNetworkDefineXML", proc_network_define_xml, P_WRITE, NET},
    {PROC_NETWORK_CREATE_XML, "virNetworkCreateXML", proc_network_create_xml, P_WRITE, NET},
    {PROC_NETWORK_UNDEFINE, "virNetworkUndefine", proc_network_undefine, P_WRITE, NET},
    {PROC_NETWORK_CREATE, "virNetworkCreate", proc_network_create, P_WRITE, NET},
    {PROC_NETWORK_DESTROY, "virNetworkDestroy", proc_network_destroy, P_WRITE, NET},
    {PROC_NETWORK_GET_XML_DESC, "virNetworkGetXMLDesc", proc_network_get_xml_desc, 0, NET},
    {PROC_NETWORK_GET_AUTOSTART, "virNetworkGetAutostart", proc_network_get_autostart, 0, NET},
    {PROC_NETWORK_SET_AUTOSTART, "virNetworkSetAutostart", proc_network_set_autostart, P_WRITE,
     NET},
    {PROC_NETWORK_GET_BRIDGE_NAME, "virNetworkGetBridgeName", proc_network_get_bridge_name, 0, NET},
    {PROC_NETWORK_IS_ACTIVE, "virNetworkIsActive", proc_network_is_active, 0, NET},
    {PROC_NETWORK_IS_PERSISTENT, "virNetworkIsPersistent", proc_network_is_persistent, 0, NET},
    {PROC_NETWORK_GET_DHCP_LEASES, "virNetworkGetDHCPLeases", proc_network_get_dhcp_leases, 0, NET},

    {PROC_CONNECT_DOMAIN_EVENT_REGISTER, "virConnectDomainEventRegister", proc_events, 0, REM},
    {PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, "virConnectDomainEventDeregister", proc_events, 0, REM},
    {PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, "virConnectDomainEventRegisterAny", proc_events, 0,
     REM},
    {PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny", proc_events, 0,
     REM},
    {PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, "virConnectDomainEventRegisterAny",
     proc_events, 0, REM},
    {PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
     proc_events, 0, REM},
    {PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY, "virConnectNetworkEventRegisterAny", proc_events, 0,
     REM},
    {PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY, "virConnectNetworkEventDeregisterAny", proc_events,
     0, REM},
};

static const struct proc_entry *proc_find(int proc)
{
	for (size_t i = 0; i < G_N_ELEMENTS(procs); i++)
		if (procs[i].proc == proc)
			return &procs[i];
	return NULL;
}

static void reply_error(struct client *c, const struct rpc_header *h, int code, int from,
			const char *msg)
{
	client_send(c, rpc_error_packet(h, code, from, msg));
}

struct deferred_call {
	struct client *c; /* a reference */
	struct rpc_header h;
	const struct proc_entry *e;
	GByteArray *reply;
};

/* The call a procedure is running for (dispatch_packet), and whether it
 * asked to answer later. */
static struct {
	struct client *c;
	const struct rpc_header *h;
	const struct proc_entry *e;
	GByteArray *reply;
	struct deferred_call *deferred;
} running;

struct deferred_call *call_defer(void)
{
	if (!running.c || running.deferred)
		return NULL;
	struct deferred_call *dc = g_new0(struct deferred_call, 1);
	dc->c = running.c;
	client_ref(dc->c);
	dc->h = *running.h;
	dc->e = running.e;
	dc->reply = running.reply;
	running.deferred = dc;
	return dc;
}

void call_answer(struct deferred_call *dc, const GError *err)
{
	if (!err) {
		rpc_packet_finish(dc->reply);
		client_send(dc->c, dc->reply);
	} else {
		g_byte_array_unref(dc->reply);
		log_debug("client fd %d: %s: %s", dc->c->fd, dc->e->api, err->message);
		reply_error(dc->c, &dc->h, err->code, dc->e->from, err->message);
	}
	client_unref(dc->c);
	g_free(dc);
}

static void keepalive_packet(struct client *c, const struct rpc_header *h)
{
	if (h->proc == KEEPALIVE_PING && h->type == RPC_MESSAGE) {
		struct rpc_header r = *h;
		r.proc = KEEPALIVE_PONG;
		r.serial = 0;
		r.status = RPC_OK;
		GByteArray *p = rpc_packet_new(&r);
		rpc_packet_finish(p);
		client_send(c, p);
	} else if (h->proc == KEEPALIVE_PONG && h->type == RPC_MESSAGE) {
		c->pings_unanswered = 0;
	} else if (h->type == RPC_CALL) {
		g_autofree char *msg =
		    g_strdup_printf(_("unknown keepalive procedure %d"), (int)h->proc);
		reply_error(c, h, VERR_NO_SUPPORT, VFROM_RPC, msg);
	}
}

void dispatch_packet(struct client *c, const uint8_t *pkt, size_t len)
{
	struct xdr_in in;
	struct rpc_header h;

	xdr_in_init(&in, pkt, len);
	if (!rpc_header_decode(&in, &h)) {
		/* The framing guarantees 24 header bytes; keep the check anyway. */
		client_close(c, false);
		return;
	}
	log_debug("client fd %d: prog %#x proc %d type %d serial %u", c->fd, h.prog, h.proc, h.type,
		  h.serial);

	if (h.prog == RPC_PROGRAM_KEEPALIVE && h.vers == RPC_PROTOCOL_VERSION) {
		keepalive_packet(c, &h);
		return;
	}
	if (h.type == RPC_STREAM && h.prog == RPC_PROGRAM_REMOTE) {
		stream_packet(c, &h, pkt + 24, len - 24);
		return;
	}
	if (h.type != RPC_CALL && h.type != RPC_CALL_WITH_FDS) {
		g_autofree char *msg = g_strdup_printf(
		    _("unexpected packet type %d from a client (only calls are accepted)"),
		    (int)h.type);
		reply_error(c, &h, VERR_RPC, VFROM_RPC, msg);
		client_close(c, true);
		return;
	}
	if (h.prog != RPC_PROGRAM_REMOTE) {
		g_autofree char *msg = g_strdup_printf(_("unknown RPC program %#x"), h.prog);
		reply_error(c, &h, VERR_NO_SUPPORT, VFROM_RPC, msg);
		return;
	}
	if (h.vers != RPC_PROTOCOL_VERSION) {
		g_autofree char *msg = g_strdup_printf(
		    _("unsupported version %u of the remote program (only 1)"), h.vers);
		reply_error(c, &h, VERR_NO_SUPPORT, VFROM_RPC, msg);
		return;
	}
	if (h.status != RPC_OK) {
		reply_error(c, &h, VERR_RPC, VFROM_RPC, _("a call must have status 0"));
		client_close(c, true);
		return;
	}
	if (h.type == RPC_CALL_WITH_FDS) {
		reply_error(c, &h, VERR_NO_SUPPORT, VFROM_RPC,
			    _("passing file descriptors is not supported"));
		return;
	}

	const struct proc_entry *e = proc_find(h.proc);
	if (!e) {
		g_autofree char *msg = g_strdup_printf(_("this function is not supported by the "
							 "connection driver: remote procedure %d"),
						       (int)h.proc);
		reply_error(c, &h, VERR_NO_SUPPORT, VFROM_REMOTE, msg);
		return;
	}
	if (!c->opened && !(e->flags & P_BEFORE_OPEN)) {
		reply_error(c, &h, VERR_INVALID_CONN, VFROM_REMOTE,
			    _("hypervisor connection not open"));
		return;
	}
	if (c->readonly && (e->flags & P_WRITE)) {
		g_autofree char *msg =
		    g_strdup_printf(_("operation forbidden: read only access prevents %s"), e->api);
		reply_error(c, &h, VERR_OPERATION_DENIED, e->from, msg);
		return;
	}

	GByteArray *reply;
	struct rpc_header rh = h;
	rh.type = RPC_REPLY;
	rh.status = RPC_OK;
	reply = rpc_packet_new(&rh);
	g_autoptr(GError) err = NULL;
	running.c = c;
	running.h = &h;
	running.e = e;
	running.reply = reply;
	running.deferred = NULL;
	bool ok = e->fn == proc_events ? events_proc(c, h.proc, &in, reply, &err)
				       : e->fn(c, &in, reply, &err);
	struct deferred_call *deferred = running.deferred;
	running.c = NULL;
	if (deferred) {
		/* The reply packet is the deferred call's now; it answers. */
		g_assert(ok);
		return;
	}
	if (ok) {
		/* The stream's data uses the serial of the call that opened it. */
		if (h.proc == PROC_DOMAIN_OPEN_CONSOLE)
			stream_bind_serial(c, h.serial);
		rpc_packet_finish(reply);
		client_send(c, reply);
		return;
	}
	g_byte_array_unref(reply);
	if (!err)
		g_set_error(&err, VIRT_ERROR, VERR_INTERNAL_ERROR, _("%s failed"), e->api);
	log_debug("client fd %d: %s: %s", c->fd, e->api, err->message);
	reply_error(c, &h, err->code, err->domain == VIRT_MALFORMED ? VFROM_RPC : e->from,
		    err->message);
	if (err->domain == VIRT_MALFORMED)
		client_close(c, true);
}
