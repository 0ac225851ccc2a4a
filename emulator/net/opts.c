/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "opts.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void set_error_va(const char *option, const char *arg, GError **err, const char *fmt,
			 va_list ap)
{
	char *msg = g_strdup_vprintf(fmt, ap);
	if (option)
		g_set_error(err, KITE_NET_ERROR, 0, "%s %s: %s", option, arg, msg);
	else
		g_set_error_literal(err, KITE_NET_ERROR, 0, msg);
	g_free(msg);
}

void kite_opts_error(KiteOpts *o, GError **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_va(o->option, o->arg, err, fmt, ap);
	va_end(ap);
}

void kite_opts_error_at(const char *option, const char *arg, GError **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_va(option, arg, err, fmt, ap);
	va_end(ap);
}

static void opt_free(gpointer p)
{
	KiteOpt *opt = p;
	g_free(opt->key);
	g_free(opt->value);
	g_free(opt);
}

void kite_opts_free(KiteOpts *o)
{
	if (!o)
		return;
	g_ptr_array_free(o->items, TRUE);
	g_free(o->option);
	g_free(o->arg);
	g_free(o);
}

/* Read a value up to an unescaped ',' (",," is a literal comma). */
static const char *read_value(const char *p, GString *out)
{
	for (; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		g_string_append_c(out, *p);
	}
	return p;
}

static void add(KiteOpts *o, char *key, char *value)
{
	KiteOpt *opt = g_new0(KiteOpt, 1);
	opt->key = key;
	opt->value = value;
	g_ptr_array_add(o->items, opt);
}

KiteOpts *kite_opts_parse(const char *option, const char *arg, const char *implied_key,
			  GError **err)
{
	KiteOpts *o = g_new0(KiteOpts, 1);
	o->option = g_strdup(option);
	o->arg = g_strdup(arg);
	o->items = g_ptr_array_new_with_free_func(opt_free);
	(void)err; /* the grammar itself cannot fail; bad keys are found later */

	const char *p = arg;
	bool first = true;
	while (*p) {
		size_t klen = strcspn(p, "=,");
		GString *val = g_string_new(NULL);
		if (first && implied_key && p[klen] != '=') {
			p = read_value(p, val);
			add(o, g_strdup(implied_key), g_string_free(val, FALSE));
		} else if (p[klen] == '=') {
			char *key = g_strndup(p, klen);
			p = read_value(p + klen + 1, val);
			add(o, key, g_string_free(val, FALSE));
		} else if (klen == 0) {
			/* An empty element (",," after a bare key, trailing ','). */
			g_string_free(val, TRUE);
		} else {
			/* Bare "key" is key=on, as QEMU still accepts. */
			add(o, g_strndup(p, klen), g_strdup("on"));
			g_string_free(val, TRUE);
			p += klen;
		}
		first = false;
		if (*p == ',')
			p++;
	}
	return o;
}

static KiteOpt *find_last(KiteOpts *o, const char *key)
{
	for (guint i = o->items->len; i-- > 0;) {
		KiteOpt *opt = o->items->pdata[i];
		if (strcmp(opt->key, key) == 0)
			return opt;
	}
	return NULL;
}

bool kite_opts_has(KiteOpts *o, const char *key)
{
	return find_last(o, key) != NULL;
}

const char *kite_opts_get(KiteOpts *o, const char *key)
{
	KiteOpt *opt = find_last(o, key);
	return opt ? opt->value : NULL;
}

const char **kite_opts_get_all(KiteOpts *o, const char *key)
{
	GPtrArray *a = g_ptr_array_new();
	for (guint i = 0; i < o->items->len; i++) {
		KiteOpt *opt = o->items->pdata[i];
		if (strcmp(opt->key, key) == 0)
			g_ptr_array_add(a, opt->value);
	}
	g_ptr_array_add(a, NULL);
	return (const char **)g_ptr_array_free(a, FALSE);
}

void kite_opts_set(KiteOpts *o, const char *key, const char *value)
{
	kite_opts_del(o, key);
	add(o, g_strdup(key), g_strdup(value));
}

void kite_opts_del(KiteOpts *o, const char *key)
{
	for (guint i = o->items->len; i-- > 0;) {
		KiteOpt *opt = o->items->pdata[i];
		if (strcmp(opt->key, key) == 0)
			g_ptr_array_remove_index(o->items, i);
	}
}

int kite_opts_get_bool(KiteOpts *o, const char *key, bool def, bool *out, GError **err)
{
	const char *v = kite_opts_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "y")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "n")) {
		*out = false;
		return 0;
	}
	kite_opts_error(o, err, _("Parameter '%s' expects 'on' or 'off'"), key);
	return -1;
}

int kite_opts_get_int(KiteOpts *o, const char *key, int64_t def, int64_t min, int64_t max,
		      const char *what, int64_t *out, GError **err)
{
	const char *v = kite_opts_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 0);
	if (!*v || *end || errno) {
		kite_opts_error(o, err, _("Parameter '%s' expects %s"), key, what);
		return -1;
	}
	if (n < min || n > max) {
		kite_opts_error(o, err, _("Parameter '%s' expects a value between %lld and %lld"),
				key, (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

int kite_opts_get_size(KiteOpts *o, const char *key, uint64_t def, uint64_t *out, GError **err)
{
	const char *v = kite_opts_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	if (!g_ascii_isdigit(*v))
		goto bad;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		goto bad;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		goto bad;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && n > (UINT64_MAX >> shift)))
		goto bad;
	*out = (uint64_t)n << shift;
	return 0;
bad:
	kite_opts_error(o, err, _("Parameter '%s' expects a size value"), key);
	return -1;
}

int kite_opts_check_keys(KiteOpts *o, const char *const *allowed, GError **err)
{
	for (guint i = 0; i < o->items->len; i++) {
		KiteOpt *opt = o->items->pdata[i];
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, opt->key) == 0;
		if (!ok) {
			kite_opts_error(o, err, _("Invalid parameter '%s'"), opt->key);
			return -1;
		}
	}
	return 0;
}

const char *kite_opts_require(KiteOpts *o, const char *key, GError **err)
{
	const char *v = kite_opts_get(o, key);
	if (!v)
		kite_opts_error(o, err, _("Parameter '%s' is missing"), key);
	return v;
}
