/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "options.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void item_free(gpointer p)
{
	struct kv_item *it = p;
	g_free(it->key);
	g_free(it->val);
	g_free(it);
}

/* Read up to an unescaped stop char; ",," is a literal comma. */
static char *take(const char **sp, char stop1, char stop2)
{
	GString *out = g_string_new(NULL);
	const char *s = *sp;
	while (*s) {
		if (*s == ',') {
			if (s[1] == ',') {
				g_string_append_c(out, ',');
				s += 2;
				continue;
			}
			break;
		}
		if (*s == stop1 || *s == stop2)
			break;
		g_string_append_c(out, *s++);
	}
	*sp = s;
	return g_string_free(out, false);
}

struct kvlist *kv_parse(const char *s, const char *implied_key, GError **err)
{
	struct kvlist *l = g_new0(struct kvlist, 1);
	l->items = g_ptr_array_new_with_free_func(item_free);
	bool first = true;
	while (*s) {
		char *key = take(&s, '=', '=');
		char *val = NULL;
		if (*s == '=') {
			s++;
			val = take(&s, '\0', '\0');
		}
		if (*s == ',')
			s++;
		if (!val && first && implied_key) {
			val = key;
			key = g_strdup(implied_key);
		} else if (!val) {
			val = g_strdup("on");
		}
		first = false;
		if (!*key) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Invalid parameter '' (empty key)"));
			g_free(key);
			g_free(val);
			kv_free(l);
			return NULL;
		}
		struct kv_item *it = g_new0(struct kv_item, 1);
		it->key = key;
		it->val = val;
		g_ptr_array_add(l->items, it);
	}
	return l;
}

void kv_free(struct kvlist *l)
{
	if (!l)
		return;
	g_ptr_array_free(l->items, true);
	g_free(l);
}

static struct kv_item *find(struct kvlist *l, const char *key)
{
	struct kv_item *found = NULL;
	for (guint i = 0; i < l->items->len; i++) {
		struct kv_item *it = l->items->pdata[i];
		if (!strcmp(it->key, key)) {
			it->used = true;
			found = it;
		}
	}
	return found;
}

const char *kv_get(struct kvlist *l, const char *key)
{
	struct kv_item *it = find(l, key);
	return it ? it->val : NULL;
}

bool kv_has(struct kvlist *l, const char *key)
{
	for (guint i = 0; i < l->items->len; i++) {
		struct kv_item *it = l->items->pdata[i];
		if (!strcmp(it->key, key))
			return true;
	}
	return false;
}

bool parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "y")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "n")) {
		*out = false;
		return true;
	}
	return false;
}

bool parse_uint(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || g_ascii_isspace(*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool kv_get_bool(struct kvlist *l, const char *key, bool def, bool *out, GError **err)
{
	*out = def;
	char *neg = g_strconcat("no", key, NULL);
	struct kv_item *n = find(l, neg);
	g_free(neg);
	if (n) {
		if (strcmp(n->val, "on") != 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Invalid parameter 'no%s'"), key);
			return false;
		}
		*out = false;
	}
	struct kv_item *it = find(l, key);
	if (!it)
		return true;
	if (!parse_bool(it->val, out)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Parameter '%s' expects 'on' or 'off'"), key);
		return false;
	}
	return true;
}

bool kv_get_uint(struct kvlist *l, const char *key, uint64_t def, uint64_t *out, GError **err)
{
	*out = def;
	struct kv_item *it = find(l, key);
	if (!it)
		return true;
	if (!parse_uint(it->val, out)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Parameter '%s' expects a non-negative number"), key);
		return false;
	}
	return true;
}

bool kv_check_all_used(struct kvlist *l, GError **err)
{
	for (guint i = 0; i < l->items->len; i++) {
		struct kv_item *it = l->items->pdata[i];
		if (!it->used) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Invalid parameter '%s'"),
				    it->key);
			return false;
		}
	}
	return true;
}

bool parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	if (!s || !*s || *s == '-' || g_ascii_isspace(*s))
		return false;
	char *end;
	errno = 0;
	/* integers exactly; a fraction goes through double like QEMU */
	unsigned long long iv = strtoull(s, &end, 0);
	double val = (double)iv;
	if (errno)
		return false;
	if (*end == '.') {
		val = strtod(s, &end);
		if (errno || val < 0)
			return false;
	}
	uint64_t unit = default_unit;
	if (*end) {
		switch (g_ascii_toupper(*end)) {
		case 'B':
			unit = 1;
			break;
		case 'K':
			unit = 1ULL << 10;
			break;
		case 'M':
			unit = 1ULL << 20;
			break;
		case 'G':
			unit = 1ULL << 30;
			break;
		case 'T':
			unit = 1ULL << 40;
			break;
		case 'P':
			unit = 1ULL << 50;
			break;
		case 'E':
			unit = 1ULL << 60;
			break;
		default:
			return false;
		}
		if (end[1])
			return false;
	}
	double total = val * (double)unit;
	if (total >= 18446744073709551616.0)
		return false;
	if (val == (double)iv && *end != '.') {
		if (unit && iv > UINT64_MAX / unit)
			return false;
		*out = iv * unit;
	} else {
		*out = (uint64_t)total;
	}
	return true;
}
