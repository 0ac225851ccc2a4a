/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Input side: safe document parsing, attribute readers, kept trees. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xml-internal.h"

G_DEFINE_QUARK(kite - xml - error - quark, kite_xml_error)

/* ---------------------------------------------------------- documents */

typedef struct {
	bool doctype;	   /* a DOCTYPE was seen: parsing stopped there */
	char *first_error; /* first libxml2 error message */
	int first_error_line;
} ParseState;

static void on_internal_subset(void *ctx, const xmlChar *name G_GNUC_UNUSED,
			       const xmlChar *external_id G_GNUC_UNUSED,
			       const xmlChar *system_id G_GNUC_UNUSED)
{
	xmlParserCtxtPtr ctxt = ctx;
	ParseState *st = ctxt->_private;

	/* Refusing the DOCTYPE itself closes every entity trick at once:
	 * internal entity bombs, external entities, external DTDs. */
	st->doctype = true;
	xmlStopParser(ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name G_GNUC_UNUSED, int type G_GNUC_UNUSED,
			   const xmlChar *public_id G_GNUC_UNUSED,
			   const xmlChar *system_id G_GNUC_UNUSED, xmlChar *content G_GNUC_UNUSED)
{
	xmlParserCtxtPtr ctxt = ctx;
	ParseState *st = ctxt->_private;

	st->doctype = true;
	xmlStopParser(ctxt);
}

static xmlEntityPtr on_get_entity(void *ctx G_GNUC_UNUSED, const xmlChar *name)
{
	/* only the predefined ones (&amp; ...) exist */
	return xmlGetPredefinedEntity(name);
}

static void on_error(void *data, xmlErrorPtr e)
{
	/* libxml2 passes ctxt->userData, which is the parser context */
	xmlParserCtxtPtr ctxt = data;
	ParseState *st = ctxt->_private;

	if (!e || st->first_error)
		return;
	st->first_error = g_strstrip(g_strdup(e->message ? e->message : "?"));
	st->first_error_line = e->line;
}

/* Namespace names with characters XML must escape do not survive a round
 * trip through libxml2 unchanged; no real namespace has them. */
static const xmlNode *bad_namespace(const xmlNode *node, const char **href)
{
	for (const xmlNode *n = node; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (const xmlNs *ns = n->nsDef; ns; ns = ns->next) {
			const char *h = (const char *)ns->href;
			if (!h || strpbrk(h, "&<>\"'")) {
				*href = h ? h : "";
				return n;
			}
			for (const char *p = h; *p; p++)
				if ((unsigned char)*p < 0x20) {
					*href = h;
					return n;
				}
		}
		{
			const xmlNode *bad = bad_namespace(n->children, href);
			if (bad)
				return bad;
		}
	}
	return NULL;
}

xmlDoc *kx_parse_document(const char *xml, const char *what, GError **err)
{
	ParseState st = {0};
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc = NULL;
	size_t len;

	if (!xml) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE, _("no %s XML given"), what);
		return NULL;
	}
	len = strnlen(xml, KITE_XML_MAX_DOCUMENT_SIZE + 1);
	{
		size_t i = 0;
		while (i < len && g_ascii_isspace(xml[i]))
			i++;
		if (i == len) {
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
				    _("the %s XML is empty"), what);
			return NULL;
		}
	}
	if (len > KITE_XML_MAX_DOCUMENT_SIZE) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("%s XML is larger than the %d byte limit"), what,
			    KITE_XML_MAX_DOCUMENT_SIZE);
		return NULL;
	}

	{
		/* libxml2 wants its global state set up once, before threads */
		static gsize once;
		if (g_once_init_enter(&once)) {
			xmlInitParser();
			g_once_init_leave(&once, 1);
		}
	}
	ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
	if (!ctxt) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("cannot create an XML parser for the %s XML"), what);
		return NULL;
	}
	/* No NOENT (no entity substitution), no DTDLOAD/DTDATTR, no network. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
	ctxt->_private = &st;
	ctxt->sax->internalSubset = on_internal_subset;
	ctxt->sax->externalSubset = NULL;
	ctxt->sax->entityDecl = on_entity_decl;
	ctxt->sax->getEntity = on_get_entity;
	ctxt->sax->getParameterEntity = NULL;
	ctxt->sax->resolveEntity = NULL;
	ctxt->sax->warning = NULL;
	ctxt->sax->error = NULL;
	ctxt->sax->serror = on_error;
	ctxt->vctxt.error = NULL;
	ctxt->vctxt.warning = NULL;

	xmlParseDocument(ctxt);

	if (st.doctype) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("%s XML must not contain a DOCTYPE or entity declarations"), what);
	} else if (!ctxt->wellFormed || !ctxt->myDoc) {
		if (st.first_error)
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
				    _("malformed %s XML at line %d: %s"), what, st.first_error_line,
				    st.first_error);
		else
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
				    _("malformed %s XML"), what);
	} else if (!xmlDocGetRootElement(ctxt->myDoc)) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("%s XML has no root element"), what);
	} else {
		const char *href = NULL;
		const xmlNode *bad = bad_namespace(xmlDocGetRootElement(ctxt->myDoc), &href);
		if (bad) {
			kx_error(err, KITE_XML_ERROR_INVALID, bad,
				 _("unsupported characters in namespace name '%s' of <%s>"), href,
				 (const char *)bad->name);
		} else {
			doc = ctxt->myDoc;
			ctxt->myDoc = NULL;
		}
	}
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);
	g_free(st.first_error);
	return doc;
}

bool kx_parse_root(const char *xml, const char *what, unsigned flags, KxRootParser parse_root,
		   void *def, GError **err)
{
	xmlDoc *doc;
	bool ok;

	if ((flags & KITE_XML_PARSE_VALIDATE) && kite_xml_validate(xml, what, err) < 0)
		return false;
	doc = kx_parse_document(xml, what, err);
	if (!doc)
		return false;
	ok = parse_root(xmlDocGetRootElement(doc), def, flags, err);
	xmlFreeDoc(doc);
	return ok;
}

char *kx_read_file(const char *path, GError **err)
{
	struct stat sb;
	char *data;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE, _("cannot open '%s': %s"),
			    path, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("'%s' is not a regular file"), path);
		close(fd);
		return NULL;
	}
	if (sb.st_size > KITE_XML_MAX_DOCUMENT_SIZE) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("'%s' is larger than the %d byte limit"), path,
			    KITE_XML_MAX_DOCUMENT_SIZE);
		close(fd);
		return NULL;
	}
	/* read one byte more than allowed to notice a file that grew */
	data = g_malloc(KITE_XML_MAX_DOCUMENT_SIZE + 2);
	for (;;) {
		ssize_t n = read(fd, data + got, KITE_XML_MAX_DOCUMENT_SIZE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
				    _("cannot read '%s': %s"), path, g_strerror(errno));
			g_free(data);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > KITE_XML_MAX_DOCUMENT_SIZE) {
			g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
				    _("'%s' is larger than the %d byte limit"), path,
				    KITE_XML_MAX_DOCUMENT_SIZE);
			g_free(data);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	data[got] = '\0';
	if (memchr(data, '\0', got)) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_PARSE,
			    _("'%s' contains a NUL byte"), path);
		g_free(data);
		return NULL;
	}
	return g_realloc(data, got + 1);
}

/* ------------------------------------------------------------ errors */

bool kx_error(GError **err, int code, const xmlNode *node, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (node && xmlGetLineNo((xmlNode *)node) > 0)
		g_set_error(err, KITE_XML_ERROR, code, _("%s (line %ld)"), msg,
			    xmlGetLineNo((xmlNode *)node));
	else
		g_set_error_literal(err, KITE_XML_ERROR, code, msg);
	return false;
}

bool kx_error_line(GError **err, int code, unsigned line, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_set_error(err, KITE_XML_ERROR, code, _("%s (line %u)"), msg, line);
	else
		g_set_error_literal(err, KITE_XML_ERROR, code, msg);
	return false;
}

unsigned kx_line_of(const xmlNode *node)
{
	return (unsigned)MAX(0, xmlGetLineNo((xmlNode *)node));
}

/* -------------------------------------------------------- attributes */

const char *kx_name(const xmlNode *node)
{
	return (const char *)node->name;
}

bool kx_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && !node->ns && !strcmp(kx_name(node), name);
}

xmlNode *kx_child(const xmlNode *node, const char *name)
{
	for (xmlNode *c = node->children; c; c = c->next)
		if (kx_is(c, name))
			return c;
	return NULL;
}

char *kx_prop(const xmlNode *node, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(node, (const xmlChar *)name);
	char *r;

	if (!v)
		return NULL;
	r = g_strdup((const char *)v);
	xmlFree(v);
	return r;
}

char *kx_prop_req(const xmlNode *node, const char *name, GError **err)
{
	char *v = kx_prop(node, name);

	if (!v)
		kx_error(err, KITE_XML_ERROR_INVALID, node,
			 _("element <%s> is missing required attribute '%s'"), kx_name(node), name);
	return v;
}

bool kx_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || g_ascii_isspace(*s))
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_dec(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !g_ascii_isdigit(*s))
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool kx_prop_uint(const xmlNode *node, const char *name, unsigned *out, bool *present, GError **err)
{
	g_autofree char *v = kx_prop(node, name);
	unsigned long long n;

	if (present)
		*present = v != NULL;
	if (!v)
		return true;
	if (!parse_dec(v, G_MAXUINT, &n))
		return kx_error(err, KITE_XML_ERROR_INVALID, node,
				_("invalid value '%s' for attribute '%s' of <%s>: expected an "
				  "unsigned integer"),
				v, name, kx_name(node));
	*out = (unsigned)n;
	return true;
}

bool kx_prop_ullong(const xmlNode *node, const char *name, unsigned long long *out, bool *present,
		    GError **err)
{
	g_autofree char *v = kx_prop(node, name);

	if (present)
		*present = v != NULL;
	if (!v)
		return true;
	if (!parse_dec(v, G_MAXUINT64, out))
		return kx_error(err, KITE_XML_ERROR_INVALID, node,
				_("invalid value '%s' for attribute '%s' of <%s>: expected an "
				  "unsigned integer"),
				v, name, kx_name(node));
	return true;
}

static bool prop_tristate(const xmlNode *node, const char *name, const char *yes, const char *no,
			  KiteTristate *out, GError **err)
{
	g_autofree char *v = kx_prop(node, name);

	if (!v)
		return true;
	if (!strcmp(v, yes))
		*out = KITE_TRISTATE_YES;
	else if (!strcmp(v, no))
		*out = KITE_TRISTATE_NO;
	else
		return kx_error(err, KITE_XML_ERROR_INVALID, node,
				_("invalid value '%s' for attribute '%s' of <%s>: expected '%s' "
				  "or '%s'"),
				v, name, kx_name(node), yes, no);
	return true;
}

bool kx_prop_yesno(const xmlNode *node, const char *name, KiteTristate *out, GError **err)
{
	return prop_tristate(node, name, "yes", "no", out, err);
}

bool kx_prop_onoff(const xmlNode *node, const char *name, KiteTristate *out, GError **err)
{
	return prop_tristate(node, name, "on", "off", out, err);
}

bool kx_prop_enum(const xmlNode *node, const char *name, const char *const *values, char **out,
		  GError **err)
{
	g_autofree char *v = kx_prop(node, name);
	g_autofree char *list = NULL;

	if (!v)
		return true;
	for (const char *const *p = values; *p; p++) {
		if (!strcmp(v, *p)) {
			g_free(*out);
			*out = g_steal_pointer(&v);
			return true;
		}
	}
	list = g_strjoinv("', '", (char **)values);
	return kx_error(err, KITE_XML_ERROR_INVALID, node,
			_("invalid value '%s' for attribute '%s' of <%s>: expected one of '%s'"), v,
			name, kx_name(node), list);
}

bool kx_check_attrs(const xmlNode *node, const char *const *allowed, GError **err)
{
	for (xmlAttr *a = node->properties; a; a = a->next) {
		bool ok = false;

		if (a->ns)
			continue; /* namespaced extensions are not ours to judge */
		for (const char *const *p = allowed; *p; p++) {
			if (!strcmp((const char *)a->name, *p)) {
				ok = true;
				break;
			}
		}
		if (!ok)
			return kx_error(err, KITE_XML_ERROR_INVALID, node,
					_("unknown attribute '%s' in element <%s>"),
					(const char *)a->name, kx_name(node));
	}
	return true;
}

char *kx_text(const xmlNode *node)
{
	xmlChar *c = xmlNodeGetContent(node);
	char *r = g_strdup(c ? (const char *)c : "");

	xmlFree(c);
	return r;
}

bool kx_unknown_element(const xmlNode *node, GError **err)
{
	const char *parent = node->parent && node->parent->type == XML_ELEMENT_NODE
				 ? (const char *)node->parent->name
				 : "?";
	g_autofree char *name = node->ns && node->ns->prefix
				    ? g_strdup_printf("%s:%s", node->ns->prefix, node->name)
				    : g_strdup((const char *)node->name);
	return kx_error(err, KITE_XML_ERROR_INVALID, node, _("unknown element <%s> in <%s>"), name,
			parent);
}

bool kx_check_singletons(const xmlNode *node, const char *const *names, GError **err)
{
	for (const char *const *n = names; *n; n++) {
		const xmlNode *first = NULL;
		for (xmlNode *c = node->children; c; c = c->next) {
			if (!kx_is(c, *n))
				continue;
			if (first)
				return kx_error(
				    err, KITE_XML_ERROR_INVALID, c,
				    _("element <%s> appears twice in <%s> (first at line "
				      "%ld)"),
				    *n, kx_name(node), xmlGetLineNo((xmlNode *)first));
			first = c;
		}
	}
	return true;
}

/* ------------------------------------------------------------- units */

bool kx_scale_to_kib(unsigned long long value, const char *unit, unsigned long long *kib)
{
	unsigned long long scale = 1024, base;
	size_t len;

	if (unit && *unit) {
		len = strlen(unit);
		if (!g_ascii_strcasecmp(unit, "b") || !g_ascii_strcasecmp(unit, "byte") ||
		    !g_ascii_strcasecmp(unit, "bytes")) {
			scale = 1;
		} else {
			int power;

			if (len == 1 || (len == 3 && g_ascii_tolower(unit[1]) == 'i' &&
					 g_ascii_tolower(unit[2]) == 'b'))
				base = 1024;
			else if (len == 2 && g_ascii_tolower(unit[1]) == 'b')
				base = 1000;
			else
				return false;
			switch (g_ascii_tolower(unit[0])) {
			case 'k':
				power = 1;
				break;
			case 'm':
				power = 2;
				break;
			case 'g':
				power = 3;
				break;
			case 't':
				power = 4;
				break;
			case 'p':
				power = 5;
				break;
			case 'e':
				power = 6;
				break;
			default:
				return false;
			}
			scale = 1;
			while (power--)
				scale *= base;
		}
	}
	if (value && scale > G_MAXUINT64 / value)
		return false;
	value *= scale;
	/* round up to whole KiB like libvirt */
	*kib = value / 1024 + (value % 1024 ? 1 : 0);
	return true;
}

/* ------------------------------------------------------- kept trees */

KiteAttr *kx_attr_new(const char *name, const char *value)
{
	KiteAttr *a = g_new0(KiteAttr, 1);

	a->name = g_strdup(name);
	a->value = g_strdup(value);
	return a;
}

void kx_attr_free(gpointer p)
{
	KiteAttr *a = p;

	if (!a)
		return;
	g_free(a->name);
	g_free(a->value);
	g_free(a);
}

KiteXmlNode *kx_node_new(const char *name)
{
	KiteXmlNode *n = g_new0(KiteXmlNode, 1);

	n->name = g_strdup(name);
	n->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	n->children = g_ptr_array_new_with_free_func((GDestroyNotify)kx_node_free);
	return n;
}

void kx_node_free(KiteXmlNode *node)
{
	if (!node)
		return;
	g_free(node->name);
	g_free(node->text);
	if (node->attrs)
		g_ptr_array_unref(node->attrs);
	if (node->children)
		g_ptr_array_unref(node->children);
	g_free(node);
}

static char *qualified_name(const xmlNode *node)
{
	if (node->ns && node->ns->prefix)
		return g_strdup_printf("%s:%s", node->ns->prefix, node->name);
	return g_strdup((const char *)node->name);
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			return false;
	return true;
}

static KiteXmlNode *node_from_xml(const xmlNode *node, const char *const *skip, bool mixed);

KiteXmlNode *kx_node_from_xml_skip(const xmlNode *node, const char *const *skip)
{
	return node_from_xml(node, skip, false);
}

KiteXmlNode *kx_node_from_xml_mixed(const xmlNode *node)
{
	return node_from_xml(node, NULL, true);
}

/* mixed: keep text between child elements (metadata is kept verbatim);
 * elsewhere libvirt ignores such text, and so does kite. */
static KiteXmlNode *node_from_xml(const xmlNode *node, const char *const *skip, bool mixed)
{
	g_autofree char *qname = qualified_name(node);
	KiteXmlNode *n = kx_node_new(qname);
	bool has_elem = false;

	for (xmlNs *ns = node->nsDef; ns; ns = ns->next) {
		g_autofree char *an =
		    ns->prefix ? g_strdup_printf("xmlns:%s", ns->prefix) : g_strdup("xmlns");
		g_ptr_array_add(n->attrs, kx_attr_new(an, (const char *)ns->href));
	}
	for (xmlAttr *a = node->properties; a; a = a->next) {
		xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
		g_autofree char *an = a->ns && a->ns->prefix
					  ? g_strdup_printf("%s:%s", a->ns->prefix, a->name)
					  : g_strdup((const char *)a->name);
		g_ptr_array_add(n->attrs, kx_attr_new(an, v ? (const char *)v : ""));
		xmlFree(v);
	}
	for (xmlNode *c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			has_elem = true;

	if (!has_elem) {
		n->text = kx_text(node);
		return n;
	}
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			bool skipped = false;

			for (const char *const *p = skip; p && *p; p++)
				if (!c->ns && !strcmp((const char *)c->name, *p))
					skipped = true;
			if (!skipped)
				g_ptr_array_add(n->children, node_from_xml(c, NULL, mixed));
		} else if (mixed &&
			   (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)) {
			const char *t = (const char *)c->content;
			KiteXmlNode *tn;

			if (!t || is_blank(t))
				continue; /* indentation between elements */
			tn = g_new0(KiteXmlNode, 1);
			tn->text = g_strdup(t);
			g_ptr_array_add(n->children, tn);
		}
	}
	return n;
}

KiteXmlNode *kx_node_from_xml(const xmlNode *node)
{
	return node_from_xml(node, NULL, false);
}

KiteXmlNode *kx_node_copy(const KiteXmlNode *node)
{
	KiteXmlNode *n;

	if (!node)
		return NULL;
	if (!node->name) {
		n = g_new0(KiteXmlNode, 1);
		n->text = g_strdup(node->text);
		return n;
	}
	n = kx_node_new(node->name);
	n->text = g_strdup(node->text);
	for (guint i = 0; node->attrs && i < node->attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(node->attrs, i);
		g_ptr_array_add(n->attrs, kx_attr_new(a->name, a->value));
	}
	for (guint i = 0; node->children && i < node->children->len; i++)
		g_ptr_array_add(n->children, kx_node_copy(g_ptr_array_index(node->children, i)));
	return n;
}

const char *kx_attr_list_get(const GPtrArray *attrs, const char *name)
{
	for (guint i = 0; attrs && i < attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(attrs, i);
		if (!strcmp(a->name, name))
			return a->value;
	}
	return NULL;
}

const char *kx_node_attr(const KiteXmlNode *node, const char *name)
{
	return node ? kx_attr_list_get(node->attrs, name) : NULL;
}

void kx_node_set_attr(KiteXmlNode *node, const char *name, const char *value)
{
	for (guint i = 0; i < node->attrs->len; i++) {
		KiteAttr *a = g_ptr_array_index(node->attrs, i);
		if (!strcmp(a->name, name)) {
			g_free(a->value);
			a->value = g_strdup(value);
			return;
		}
	}
	g_ptr_array_add(node->attrs, kx_attr_new(name, value));
}

KiteXmlNode *kx_node_child(const KiteXmlNode *node, const char *name)
{
	for (guint i = 0; node && node->children && i < node->children->len; i++) {
		KiteXmlNode *c = g_ptr_array_index(node->children, i);
		if (c->name && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

void kx_node_add_child(KiteXmlNode *parent, KiteXmlNode *child)
{
	g_ptr_array_add(parent->children, child);
}

/* ---------------------------------------------------------------- IP */

bool kx_ip_parse(const char *s, int *family, uint8_t addr[16])
{
	if (!s)
		return false;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}
