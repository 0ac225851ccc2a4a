/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output side: libvirt-style indented XML text. */
#include <stdio.h>
#include <string.h>

#include "xml-internal.h"

void kx_buf_init(KxBuf *b)
{
	b->s = g_string_sized_new(1024);
	b->indent = 0;
}

char *kx_buf_steal(KxBuf *b)
{
	char *r = g_string_free(b->s, FALSE);
	b->s = NULL;
	return r;
}

static void put_indent(KxBuf *b)
{
	for (int i = 0; i < b->indent; i++)
		g_string_append(b->s, "  ");
}

void kx_line(KxBuf *b, const char *fmt, ...)
{
	va_list ap;

	put_indent(b);
	va_start(ap, fmt);
	g_string_append_vprintf(b->s, fmt, ap);
	va_end(ap);
	g_string_append_c(b->s, '\n');
}

void kx_open(KxBuf *b, const char *name)
{
	put_indent(b);
	g_string_append_c(b->s, '<');
	g_string_append(b->s, name);
}

/* libvirt escapes the five XML specials everywhere (text and attributes)
 * and drops other control characters except tab, newline, carriage return. */
void kx_escape(GString *s, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		switch (*p) {
		case '<':
			g_string_append(s, "&lt;");
			break;
		case '>':
			g_string_append(s, "&gt;");
			break;
		case '&':
			g_string_append(s, "&amp;");
			break;
		case '\'':
			g_string_append(s, "&apos;");
			break;
		case '"':
			g_string_append(s, "&quot;");
			break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				break;
			g_string_append_c(s, (char)*p);
		}
	}
}

void kx_attr(KxBuf *b, const char *name, const char *value)
{
	if (!value)
		return;
	g_string_append_printf(b->s, " %s='", name);
	kx_escape(b->s, value);
	g_string_append_c(b->s, '\'');
}

void kx_attr_u(KxBuf *b, const char *name, unsigned long long value)
{
	g_string_append_printf(b->s, " %s='%llu'", name, value);
}

void kx_attrf(KxBuf *b, const char *name, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *v = NULL;

	va_start(ap, fmt);
	v = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	kx_attr(b, name, v);
}

void kx_attr_yesno(KxBuf *b, const char *name, KiteTristate t)
{
	if (t != KITE_TRISTATE_ABSENT)
		kx_attr(b, name, t == KITE_TRISTATE_YES ? "yes" : "no");
}

void kx_attr_onoff(KxBuf *b, const char *name, KiteTristate t)
{
	if (t != KITE_TRISTATE_ABSENT)
		kx_attr(b, name, t == KITE_TRISTATE_YES ? "on" : "off");
}

void kx_end_empty(KxBuf *b)
{
	g_string_append(b->s, "/>\n");
}

void kx_end_open(KxBuf *b)
{
	g_string_append(b->s, ">\n");
	b->indent++;
}

void kx_close(KxBuf *b, const char *name)
{
	b->indent--;
	kx_line(b, "</%s>", name);
}

void kx_text_element(KxBuf *b, const char *name, const char *text)
{
	if (!text)
		return;
	put_indent(b);
	g_string_append_printf(b->s, "<%s>", name);
	kx_escape(b->s, text);
	g_string_append_printf(b->s, "</%s>\n", name);
}

static bool has_text_child(const KiteXmlNode *node);

static void inline_format(GString *s, const KiteXmlNode *node)
{
	if (!node->name) {
		kx_escape(s, node->text);
		return;
	}
	g_string_append_printf(s, "<%s", node->name);
	for (guint i = 0; node->attrs && i < node->attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(node->attrs, i);
		g_string_append_printf(s, " %s='", a->name);
		kx_escape(s, a->value);
		g_string_append_c(s, '\'');
	}
	if (node->children && node->children->len) {
		g_string_append_c(s, '>');
		for (guint i = 0; i < node->children->len; i++)
			inline_format(s, g_ptr_array_index(node->children, i));
		g_string_append_printf(s, "</%s>", node->name);
	} else if (node->text && node->text[0]) {
		g_string_append_c(s, '>');
		kx_escape(s, node->text);
		g_string_append_printf(s, "</%s>", node->name);
	} else {
		g_string_append(s, "/>");
	}
}

void kx_node_format(KxBuf *b, const KiteXmlNode *node)
{
	kx_open(b, node->name);
	for (guint i = 0; node->attrs && i < node->attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(node->attrs, i);
		kx_attr(b, a->name, a->value);
	}
	if (node->children && node->children->len && has_text_child(node)) {
		/* mixed content: inline, nothing added that was not there */
		g_string_append_c(b->s, '>');
		for (guint i = 0; i < node->children->len; i++)
			inline_format(b->s, g_ptr_array_index(node->children, i));
		g_string_append_printf(b->s, "</%s>\n", node->name);
	} else if (node->children && node->children->len) {
		kx_end_open(b);
		for (guint i = 0; i < node->children->len; i++)
			kx_node_format(b, g_ptr_array_index(node->children, i));
		kx_close(b, node->name);
	} else if (node->text && node->text[0]) {
		g_string_append_c(b->s, '>');
		kx_escape(b->s, node->text);
		g_string_append_printf(b->s, "</%s>\n", node->name);
	} else {
		kx_end_empty(b);
	}
}

/* The escaping libxml2's serializer applies (xmlNodeDump). */
static void escape_libxml(GString *s, const char *text, bool attr)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '<':
			g_string_append(s, "&lt;");
			break;
		case '>':
			g_string_append(s, "&gt;");
			break;
		case '&':
			g_string_append(s, "&amp;");
			break;
		case '"':
			g_string_append(s, attr ? "&quot;" : "\"");
			break;
		case '\r':
			g_string_append(s, "&#13;");
			break;
		case '\n':
			g_string_append(s, attr ? "&#10;" : "\n");
			break;
		case '\t':
			g_string_append(s, attr ? "&#9;" : "\t");
			break;
		default:
			g_string_append_c(s, *p);
		}
	}
}

static bool has_text_child(const KiteXmlNode *node)
{
	for (guint i = 0; node->children && i < node->children->len; i++) {
		const KiteXmlNode *c = g_ptr_array_index(node->children, i);
		if (!c->name)
			return true;
	}
	return false;
}

static void node_format_libxml(GString *s, const KiteXmlNode *node, int level, bool indent)
{
	if (!node->name) { /* text node of mixed content */
		escape_libxml(s, node->text, false);
		return;
	}
	if (indent)
		for (int i = 0; i < level; i++)
			g_string_append(s, "  ");
	g_string_append_printf(s, "<%s", node->name);
	for (guint i = 0; node->attrs && i < node->attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(node->attrs, i);
		g_string_append_printf(s, " %s=\"", a->name);
		escape_libxml(s, a->value, true);
		g_string_append_c(s, '"');
	}
	if (node->children && node->children->len) {
		/* like xmlNodeDump: children are indented only when the element
		 * holds elements only; mixed content is written as is */
		bool child_indent = !has_text_child(node);
		g_string_append_c(s, '>');
		for (guint i = 0; i < node->children->len; i++) {
			if (child_indent)
				g_string_append_c(s, '\n');
			node_format_libxml(s, g_ptr_array_index(node->children, i), level + 1,
					   child_indent);
		}
		if (child_indent) {
			g_string_append_c(s, '\n');
			for (int i = 0; i < level; i++)
				g_string_append(s, "  ");
		}
		g_string_append_printf(s, "</%s>", node->name);
	} else if (node->text && node->text[0]) {
		g_string_append_c(s, '>');
		escape_libxml(s, node->text, false);
		g_string_append_printf(s, "</%s>", node->name);
	} else {
		g_string_append(s, "/>");
	}
}

void kx_node_format_libxml(KxBuf *b, const KiteXmlNode *node)
{
	put_indent(b);
	node_format_libxml(b->s, node, b->indent, false);
	g_string_append_c(b->s, '\n');
}
