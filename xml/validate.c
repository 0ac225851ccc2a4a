/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RelaxNG validation against libvirt's own schemas. */
#include <glib/gi18n.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>
#include <string.h>

#include "xml-internal.h"

#ifndef KITE_SCHEMA_DIR
#define KITE_SCHEMA_DIR "/usr/share/libvirt/schemas"
#endif

static GMutex schema_lock;
static char *schema_dir;
static GHashTable *schemas; /* name -> xmlRelaxNGPtr */

void kite_xml_set_schema_dir(const char *dir)
{
	g_mutex_lock(&schema_lock);
	g_free(schema_dir);
	schema_dir = g_strdup(dir);
	/* compiled schemas came from the old directory */
	if (schemas)
		g_hash_table_remove_all(schemas);
	g_mutex_unlock(&schema_lock);
}

typedef struct {
	char *msg;
	int line;
	char *element;
} FirstError;

/* libxml2 often reports the reason first without a location ("Extra
 * element devices in interleave") and the location next; keep the first
 * message and the first location. */
static void collect_error(void *data, xmlErrorPtr e)
{
	FirstError *fe = data;

	if (!e)
		return;
	if (!fe->msg)
		fe->msg = g_strstrip(g_strdup(e->message ? e->message : "?"));
	if (!fe->element && e->node && ((xmlNode *)e->node)->type == XML_ELEMENT_NODE) {
		xmlNode *n = e->node;
		fe->element = g_strdup((const char *)n->name);
		fe->line = e->line ? e->line : (int)xmlGetLineNo(n);
	}
}

static void free_schema(gpointer p)
{
	xmlRelaxNGFree(p);
}

/* Compiled schema for `name`, cached; NULL with err set. Caller holds the lock. */
static xmlRelaxNGPtr get_schema(const char *name, GError **err)
{
	xmlRelaxNGPtr rng;
	xmlRelaxNGParserCtxtPtr pctxt;
	g_autofree char *path = NULL;
	FirstError fe = {0};

	if (!schemas)
		schemas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_schema);
	rng = g_hash_table_lookup(schemas, name);
	if (rng)
		return rng;
	path = g_strdup_printf("%s/%s.rng", schema_dir ? schema_dir : KITE_SCHEMA_DIR, name);
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_NO_SCHEMA,
			    _("libvirt schema '%s' is not installed (package libvirt0)"), path);
		return NULL;
	}
	pctxt = xmlRelaxNGNewParserCtxt(path);
	if (!pctxt) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_NO_SCHEMA,
			    _("cannot read libvirt schema '%s'"), path);
		return NULL;
	}
	xmlRelaxNGSetParserStructuredErrors(pctxt, collect_error, &fe);
	rng = xmlRelaxNGParse(pctxt);
	xmlRelaxNGFreeParserCtxt(pctxt);
	if (!rng) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_NO_SCHEMA,
			    _("cannot compile libvirt schema '%s': %s"), path,
			    fe.msg ? fe.msg : "?");
		g_free(fe.msg);
		g_free(fe.element);
		return NULL;
	}
	g_free(fe.msg);
	g_free(fe.element);
	g_hash_table_insert(schemas, g_strdup(name), rng);
	return rng;
}

int kite_xml_validate(const char *xml, const char *schema, GError **err)
{
	xmlRelaxNGPtr rng;
	xmlRelaxNGValidCtxtPtr vctxt;
	xmlDoc *doc;
	FirstError fe = {0};
	int rc;

	if (!schema || (strcmp(schema, "domain") && strcmp(schema, "network"))) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_NO_SCHEMA,
			    _("unknown schema '%s': expected 'domain' or 'network'"),
			    schema ? schema : "(null)");
		return -1;
	}
	doc = kx_parse_document(xml, schema, err);
	if (!doc)
		return -1;

	g_mutex_lock(&schema_lock);
	rng = get_schema(schema, err);
	if (!rng) {
		g_mutex_unlock(&schema_lock);
		xmlFreeDoc(doc);
		return -1;
	}
	vctxt = xmlRelaxNGNewValidCtxt(rng);
	xmlRelaxNGSetValidStructuredErrors(vctxt, collect_error, &fe);
	rc = xmlRelaxNGValidateDoc(vctxt, doc);
	xmlRelaxNGFreeValidCtxt(vctxt);
	g_mutex_unlock(&schema_lock);
	xmlFreeDoc(doc);

	if (rc != 0) {
		if (fe.element)
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_SCHEMA,
				    _("%s XML does not match libvirt's schema at line %d, element "
				      "<%s>: %s"),
				    schema, fe.line, fe.element, fe.msg ? fe.msg : "?");
		else
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_SCHEMA,
				    _("%s XML does not match libvirt's schema: %s"), schema,
				    fe.msg ? fe.msg : "?");
		g_free(fe.msg);
		g_free(fe.element);
		return -1;
	}
	g_free(fe.msg);
	g_free(fe.element);
	return 0;
}
