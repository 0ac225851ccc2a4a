/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the kite-xml sources; not part of the public API. */
#pragma once

#include <libxml/tree.h>
#include <stdarg.h>

#include "kite-xml.h"

/* ------------------------------------------------------------ output */

/* A string being built with libvirt's indentation (2 spaces a level). */
typedef struct {
	GString *s;
	int indent;
} KxBuf;

void kx_buf_init(KxBuf *b);
char *kx_buf_steal(KxBuf *b);
/* Append with current indentation, printf style, no escaping. */
void kx_line(KxBuf *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "<name" with indentation. */
void kx_open(KxBuf *b, const char *name);
/* " name='value'" (value escaped); nothing when value is NULL. */
void kx_attr(KxBuf *b, const char *name, const char *value);
void kx_attr_u(KxBuf *b, const char *name, unsigned long long value);
void kx_attrf(KxBuf *b, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* tristate as yes/no or on/off, nothing when absent */
void kx_attr_yesno(KxBuf *b, const char *name, KiteTristate t);
void kx_attr_onoff(KxBuf *b, const char *name, KiteTristate t);
void kx_end_empty(KxBuf *b);		   /* "/>\n" */
void kx_end_open(KxBuf *b);		   /* ">\n", indent++ */
void kx_close(KxBuf *b, const char *name); /* indent--, "</name>\n" */
/* <name>escaped text</name>; nothing when text is NULL. */
void kx_text_element(KxBuf *b, const char *name, const char *text);
void kx_escape(GString *s, const char *text);

/* Write a kept tree in libvirt style (single quotes). */
void kx_node_format(KxBuf *b, const KiteXmlNode *node);
/* Write a kept tree the way xmlNodeDump does (double quotes): metadata. */
void kx_node_format_libxml(KxBuf *b, const KiteXmlNode *node);

/* ------------------------------------------------------------- input */

/* Parse `xml` (NUL-terminated, length checked) safely: no network, no DTD,
 * no entities; the document is refused when it declares a DOCTYPE. */
xmlDoc *kx_parse_document(const char *xml, const char *what, GError **err);
/* Reads the root element of a parsed document into a definition. */
typedef bool (*KxRootParser)(const xmlNode *root, void *def, unsigned flags, GError **err);
/* The steps every kind of document (`what`: "domain", "network") takes:
 * schema validation when flags ask for it, kx_parse_document, then
 * `parse_root` on the root element. */
bool kx_parse_root(const char *xml, const char *what, unsigned flags, KxRootParser parse_root,
		   void *def, GError **err);
/* Read a file no larger than KITE_XML_MAX_DOCUMENT_SIZE. */
char *kx_read_file(const char *path, GError **err);

/* Error naming the node, its line, formatted message. Always returns false. */
bool kx_error(GError **err, int code, const xmlNode *node, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* The same for checks on a parsed definition, which only kept the line
 * (0: unknown, then no line is named). Always returns false. */
bool kx_error_line(GError **err, int code, unsigned line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* Line of a node for a definition to keep, 0 when unknown. */
unsigned kx_line_of(const xmlNode *node);

/* Attribute value (g_free) or NULL. */
char *kx_prop(const xmlNode *node, const char *name);
/* Attribute that must be present; errors naming element and attribute. */
char *kx_prop_req(const xmlNode *node, const char *name, GError **err);
bool kx_prop_uint(const xmlNode *node, const char *name, unsigned *out, bool *present,
		  GError **err);
bool kx_prop_ullong(const xmlNode *node, const char *name, unsigned long long *out, bool *present,
		    GError **err);
bool kx_prop_yesno(const xmlNode *node, const char *name, KiteTristate *out, GError **err);
bool kx_prop_onoff(const xmlNode *node, const char *name, KiteTristate *out, GError **err);
/* One of a NULL-terminated list of values; error otherwise. NULL if absent. */
bool kx_prop_enum(const xmlNode *node, const char *name, const char *const *values, char **out,
		  GError **err);
/* Fail on any attribute not in the NULL-terminated list. */
bool kx_check_attrs(const xmlNode *node, const char *const *allowed, GError **err);
/* Replace *field by value (freeing the old string); returns value. For
 * elements or attributes given twice: the last one wins, nothing leaks. */
static inline char *kx_take(char **field, char *value)
{
	g_free(*field);
	*field = value;
	return value;
}

/* Text content (g_free), never NULL. */
char *kx_text(const xmlNode *node);
bool kx_is(const xmlNode *node, const char *name);
const char *kx_name(const xmlNode *node);
/* Error for an element that is not known where it appears. */
bool kx_unknown_element(const xmlNode *node, GError **err);
/* Fail when one of `names` (NULL-terminated) appears more than once. */
bool kx_check_singletons(const xmlNode *node, const char *const *names, GError **err);
/* First element child named `name`, or NULL. */
xmlNode *kx_child(const xmlNode *node, const char *name);

/* Integers as libvirt reads them: decimal, 0x hex or 0 octal. */
bool kx_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Scale `value` given in `unit` to KiB (rounded up); libvirt's unit names. */
bool kx_scale_to_kib(unsigned long long value, const char *unit, unsigned long long *kib);

KiteXmlNode *kx_node_from_xml(const xmlNode *node);
/* Keeping text between child elements too (for <metadata>). */
KiteXmlNode *kx_node_from_xml_mixed(const xmlNode *node);
/* As above, without children named in `skip` (NULL-terminated). */
KiteXmlNode *kx_node_from_xml_skip(const xmlNode *node, const char *const *skip);
KiteXmlNode *kx_node_copy(const KiteXmlNode *node);
void kx_node_free(KiteXmlNode *node);
/* Value of `name` in a list of KiteAttr (may be NULL), or NULL. */
const char *kx_attr_list_get(const GPtrArray *attrs, const char *name);
const char *kx_node_attr(const KiteXmlNode *node, const char *name);
void kx_node_set_attr(KiteXmlNode *node, const char *name, const char *value);
KiteXmlNode *kx_node_child(const KiteXmlNode *node, const char *name);
KiteXmlNode *kx_node_new(const char *name);
void kx_node_add_child(KiteXmlNode *parent, KiteXmlNode *child);

KiteAttr *kx_attr_new(const char *name, const char *value);
void kx_attr_free(gpointer p);

/* ------------------------------------------------------------ domain */

void kx_device_info_clear(KiteDeviceInfo *info);
void kx_device_info_copy(KiteDeviceInfo *dst, const KiteDeviceInfo *src);
bool kx_device_info_parse(const xmlNode *dev, KiteDeviceInfo *info, unsigned flags, GError **err);
void kx_device_info_format(KxBuf *b, const KiteDeviceInfo *info, unsigned flags);
bool kx_is_device_info_child(const xmlNode *child);

void kx_net_def_free(gpointer p);
void kx_chr_def_free(gpointer p);
void kx_disk_def_free(gpointer p);
void kx_controller_def_free(gpointer p);
void kx_generic_device_free(gpointer p);
void kx_ip_addr_free(gpointer p);
void kx_ip_route_free(gpointer p);
void kx_port_forward_free(gpointer p);
void kx_virtualport_free(KiteVirtualPort *vp);
void kx_vlan_clear(KiteVlan *vlan);

bool kx_parse_bandwidth(const xmlNode *node, KiteBandwidth *bw, GError **err);
void kx_format_bandwidth(KxBuf *b, const KiteBandwidth *bw);
bool kx_parse_vlan(const xmlNode *node, KiteVlan *vlan, GError **err);
void kx_format_vlan(KxBuf *b, const KiteVlan *vlan);
/* A second <virtualport> replaces the first, like a second <vlan>. */
bool kx_parse_virtualport(const xmlNode *node, KiteVirtualPort **out, GError **err);
void kx_format_virtualport(KxBuf *b, const KiteVirtualPort *vp);
/* Appends the route to `routes` (of KiteIpRoute). */
bool kx_parse_ip_route(const xmlNode *node, GPtrArray *routes, GError **err);
void kx_format_ip_route(KxBuf *b, const KiteIpRoute *r);
bool kx_parse_mtu(const xmlNode *node, unsigned *mtu, GError **err);

const char *kx_lifecycle_to_string(KiteLifecycleAction a);
const char *kx_chr_type_to_string(KiteChrType t);

/* The text of a <uuid> element. */
bool kx_parse_uuid(const xmlNode *node, uint8_t uuid[16], GError **err);
/* Random RFC 4122 version 4 UUID, as libvirt generates one. */
void kx_uuid_generate(uint8_t uuid[16]);
/* Random MAC address in QEMU's 52:54:00 prefix, as libvirt generates one. */
void kx_mac_generate(uint8_t mac[6]);

/* Defaults as installed by kite_domain_defaults_set (or libvirt's). */
const KiteDomainDefaults *kx_current_defaults(void);

bool kx_domain_unsupported(const KiteDomainDef *def, bool strict, GError **err);

/* IP helpers (network checks and argv). */
bool kx_ip_parse(const char *s, int *family, uint8_t addr[16]);
