/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Remote procedure handlers. Each one decodes its arguments from `in`
 * (calling args_end() once they are all read), does the work and encodes
 * the return value into `out`; on failure it sets err (VIRT_ERROR with a
 * virErrorNumber, or VIRT_MALFORMED for undecodable arguments) and returns
 * false.
 */
#ifndef KITE_DRIVER_PROCS_H
#define KITE_DRIVER_PROCS_H

#include "daemon.h"

typedef bool (*proc_fn)(struct client *c, struct xdr_in *in, GByteArray *out, GError **err);

/* Sets a VIRT_MALFORMED error naming what could not be decoded. */
bool malformed(GError **err, const char *what);
/* The arguments must be used up exactly. */
bool args_end(struct xdr_in *in, GError **err);

#define PROC(name) bool name(struct client *c, struct xdr_in *in, GByteArray *out, GError **err)

/*
 * Arguments and answers the domain and network procedures have in common.
 * Defined in domain-procs.c, where their messages are translated.
 */
/* malformed(err, what) unless the arguments were decoded (ok); then
 * args_end(). */
bool args_decoded(struct xdr_in *in, bool ok, const char *what, GError **err);
/* VERR_INVALID_ARG for any flag outside allowed. */
bool check_flags(uint32_t flags, uint32_t allowed, GError **err);
/* A string, named `what` in errors, as the only argument. */
bool string_arg(struct xdr_in *in, const char *what, char **s, GError **err);
/* A UUID as the only argument. */
bool uuid_arg(struct xdr_in *in, uint8_t uuid[UUID_LEN], GError **err);
/* The connect_list_* argument: how many names or IDs at most (`what`). */
bool list_max_arg(struct xdr_in *in, const char *what, int32_t *max, GError **err);
/* The connect_list_all_* arguments: need_results, then flags within allowed. */
bool list_all_args(struct xdr_in *in, int32_t *need, uint32_t *flags, uint32_t allowed,
		   GError **err);
/* The connect_list_all_* answer: the objects of `all` that match flags,
 * each written by put but only when need, then how many matched. */
void put_list_all(GByteArray *out, GPtrArray *all, int32_t need, uint32_t flags,
		  bool (*match)(const void *obj, uint32_t flags),
		  void (*put)(GByteArray *out, const void *obj));

/* host.c */
PROC(proc_get_capabilities);
PROC(proc_get_domain_capabilities);
PROC(proc_node_get_info);
PROC(proc_get_sysinfo);
PROC(proc_get_max_vcpus);
PROC(proc_get_version);
/* The emulator path recorded in capabilities (absolute). */
const char *host_emulator_path(void);

/* domain-procs.c */
PROC(proc_list_all_domains);
PROC(proc_num_of_domains);
PROC(proc_list_domains);
PROC(proc_num_of_defined_domains);
PROC(proc_list_defined_domains);
PROC(proc_lookup_by_name);
PROC(proc_lookup_by_uuid);
PROC(proc_lookup_by_id);
PROC(proc_define_xml);
PROC(proc_define_xml_flags);
PROC(proc_undefine);
PROC(proc_undefine_flags);
PROC(proc_get_xml_desc);
PROC(proc_create);
PROC(proc_create_with_flags);
PROC(proc_create_xml);
PROC(proc_destroy);
PROC(proc_destroy_flags);
PROC(proc_shutdown);
PROC(proc_shutdown_flags);
PROC(proc_reboot);
PROC(proc_reset);
PROC(proc_suspend);
PROC(proc_resume);
PROC(proc_get_info);
PROC(proc_get_state);
PROC(proc_is_active);
PROC(proc_is_persistent);
PROC(proc_is_updated);
PROC(proc_get_autostart);
PROC(proc_set_autostart);
PROC(proc_has_managed_save_image);
PROC(proc_get_os_type);
PROC(proc_get_max_memory);
PROC(proc_domain_get_max_vcpus);
PROC(proc_snapshot_num);
PROC(proc_snapshot_list_names);
PROC(proc_list_all_snapshots);
PROC(proc_has_current_snapshot);
PROC(proc_get_security_label);
PROC(proc_get_messages);
PROC(proc_interface_stats);
PROC(proc_interface_addresses);
PROC(proc_attach_device);
PROC(proc_attach_device_flags);
PROC(proc_detach_device);
PROC(proc_detach_device_flags);
PROC(proc_update_device_flags);
PROC(proc_open_console);
PROC(proc_get_all_domain_stats);

/* network-procs.c */
PROC(proc_list_all_networks);
PROC(proc_num_of_networks);
PROC(proc_list_networks);
PROC(proc_num_of_defined_networks);
PROC(proc_list_defined_networks);
PROC(proc_network_lookup_by_name);
PROC(proc_network_lookup_by_uuid);
PROC(proc_network_define_xml);
PROC(proc_network_create_xml);
PROC(proc_network_undefine);
PROC(proc_network_create);
PROC(proc_network_destroy);
PROC(proc_network_get_xml_desc);
PROC(proc_network_get_autostart);
PROC(proc_network_set_autostart);
PROC(proc_network_get_bridge_name);
PROC(proc_network_is_active);
PROC(proc_network_is_persistent);
PROC(proc_network_get_dhcp_leases);

#endif
