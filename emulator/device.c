/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "device.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "options.h"

static struct dev_model *models;
static struct dev_instance *instances;

/* Properties every PCI model has (handled by pci.c), shown by help. */
static const struct dev_prop pci_common_props[] = {
    {"addr", DEV_PROP_PCI_ADDR, "-1", "Slot and optional function number, example: 06.0 or 06", 0},
    {"bus", DEV_PROP_STR, "pci.0", "PCI bus (kite has one: pci.0)", 0},
    {"multifunction", DEV_PROP_BOOL, "false", "on/off", 0},
    {"romfile", DEV_PROP_STR, NULL, "option ROM file (only empty: kite has no BIOS)", 0},
    {"rombar", DEV_PROP_UINT, "1", NULL, 1},
    {NULL, 0, NULL, NULL, 0},
};

struct opt_val {
	const struct dev_prop *prop;
	char *text;
	uint64_t u;
	bool b;
	uint8_t mac[6];
	int devfn;
};

struct dev_opts {
	const struct dev_model *model;
	void *extra;
	char *id;
	GHashTable *vals; /* name -> struct opt_val */
};

void dev_model_register(struct dev_model *m)
{
	/* keep sorted by name: help output is stable and easy to read */
	struct dev_model **p = &models;
	while (*p && strcmp((*p)->name, m->name) < 0)
		p = &(*p)->next;
	m->next = *p;
	*p = m;
}

const struct dev_model *dev_model_first(void)
{
	return models;
}

const struct dev_model *dev_model_find(const char *name)
{
	for (struct dev_model *m = models; m; m = m->next)
		if (!strcmp(m->name, name) || (m->alias && !strcmp(m->alias, name)))
			return m;
	return NULL;
}

static const char *const category_order[] = {
    "Controller/Bridge/Hub devices",
    "USB devices",
    "Storage devices",
    "Network devices",
    "Input devices",
    "Display devices",
    "Sound devices",
    "Misc devices",
    "CPU devices",
    "Watchdog devices",
    "Uncategorized devices",
};

static void list_models(void)
{
	bool first = true;
	for (size_t c = 0; c < G_N_ELEMENTS(category_order); c++) {
		bool header = false;
		for (struct dev_model *m = models; m; m = m->next) {
			const char *cat = m->category ? m->category : "Uncategorized devices";
			if (strcmp(cat, category_order[c]) != 0 || m->no_user)
				continue;
			if (!header) {
				printf("%s%s:\n", first ? "" : "\n", cat);
				header = true;
				first = false;
			}
			printf("name \"%s\", bus %s", m->name, m->bus);
			if (m->alias)
				printf(", alias \"%s\"", m->alias);
			if (m->desc)
				printf(", desc \"%s\"", m->desc);
			printf("\n");
		}
	}
}

static const char *type_name(const struct dev_prop *p)
{
	switch (p->type) {
	case DEV_PROP_STR:
		return "str";
	case DEV_PROP_BOOL:
		return "bool";
	case DEV_PROP_UINT:
		return p->max && p->max <= 0xff		   ? "uint8"
		       : p->max && p->max <= 0xffff	   ? "uint16"
		       : p->max && p->max <= 0xffffffffULL ? "uint32"
							   : "uint64";
	case DEV_PROP_MAC:
		return "str";
	case DEV_PROP_PCI_ADDR:
		return "int32";
	}
	return "str";
}

static bool is_pci(const struct dev_model *m)
{
	return m->bus && !strcmp(m->bus, "PCI");
}

static void print_props(GPtrArray *lines, const struct dev_prop *props)
{
	for (const struct dev_prop *p = props; p && p->name; p++) {
		char *lhs = g_strdup_printf("%s=<%s>", p->name, type_name(p));
		GString *l = g_string_new(NULL);
		g_string_printf(l, "  %-24s - %s", lhs, p->desc ? p->desc : "");
		if (p->defval)
			g_string_append_printf(l, "%s(default: %s)", p->desc ? " " : "", p->defval);
		g_ptr_array_add(lines, g_string_free(l, false));
		g_free(lhs);
	}
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void model_help(const struct dev_model *m)
{
	printf("%s options:\n", m->name);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	print_props(lines, m->props);
	if (is_pci(m))
		print_props(lines, pci_common_props);
	g_ptr_array_sort(lines, cmp_str);
	for (guint i = 0; i < lines->len; i++)
		printf("%s\n", (char *)lines->pdata[i]);
	g_ptr_array_free(lines, true);
}

static const struct dev_prop *find_prop(const struct dev_model *m, const char *name)
{
	for (const struct dev_prop *p = m->props; p && p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	if (is_pci(m))
		for (const struct dev_prop *p = pci_common_props; p->name; p++)
			if (!strcmp(p->name, name))
				return p;
	return NULL;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (!g_ascii_isxdigit(s[i * 3]) || !g_ascii_isxdigit(s[i * 3 + 1]))
			return false;
		mac[i] = v[i];
	}
	return true;
}

static bool parse_hex_part(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	char *tmp = g_strndup(s, n);
	char *end;
	const char *p = tmp;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	bool ok = *p && g_ascii_isxdigit(*p);
	unsigned long v = ok ? strtoul(p, &end, 16) : 0;
	ok = ok && !*end && v <= max;
	g_free(tmp);
	*out = v;
	return ok;
}

static bool parse_pci_addr(const char *s, int *devfn)
{
	const char *dot = strchr(s, '.');
	unsigned long slot, fn = 0;
	if (!parse_hex_part(s, dot ? (size_t)(dot - s) : strlen(s), 31, &slot))
		return false;
	if (dot && !parse_hex_part(dot + 1, strlen(dot + 1), 7, &fn))
		return false;
	*devfn = (int)(slot << 3 | fn);
	return true;
}

static void opt_val_free(gpointer p)
{
	struct opt_val *v = p;
	g_free(v->text);
	g_free(v);
}

static void dev_opts_free(struct dev_opts *o)
{
	if (!o)
		return;
	g_hash_table_destroy(o->vals);
	g_free(o->id);
	g_free(o);
}

/* A property value, parsed and checked against its type; NULL with err
 * naming the property when it does not exist or the value does not fit. */
static struct opt_val *parse_prop(const struct dev_model *m, const char *key, const char *val,
				  GError **err)
{
	const struct dev_prop *p = find_prop(m, key);
	if (!p) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Property '%s.%s' not found"),
			    m->name, key);
		return NULL;
	}
	struct opt_val *v = g_new0(struct opt_val, 1);
	v->prop = p;
	v->text = g_strdup(val);
	bool ok = true;
	switch (p->type) {
	case DEV_PROP_STR:
		break;
	case DEV_PROP_BOOL:
		ok = parse_bool(val, &v->b);
		break;
	case DEV_PROP_UINT:
		ok = parse_uint(val, &v->u) && (!p->max || v->u <= p->max);
		break;
	case DEV_PROP_MAC:
		ok = parse_mac(val, v->mac);
		break;
	case DEV_PROP_PCI_ADDR:
		ok = parse_pci_addr(val, &v->devfn);
		break;
	}
	if (!ok) {
		if (p->type == DEV_PROP_BOOL)
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Parameter '%s' expects 'on' or 'off'"), p->name);
		else
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Property '%s.%s' doesn't take value '%s'"), m->name, p->name,
				    val);
		opt_val_free(v);
		return NULL;
	}
	return v;
}

/* ---- -global ---- */

struct dev_global {
	const struct dev_model *model; /* NULL for the built-in ones below */
	char *driver, *prop, *value;
};

static GList *globals; /* of struct dev_global, in command-line order */

/* Built-in devices whose -global properties the machine code reads with
 * dev_global_get(); any other property of theirs is refused. */
static const struct {
	const char *driver, *prop;
} builtin_globals[] = {
    {"kvm-pit", "lost_tick_policy"},
    {"PIIX4_PM", "disable_s3"},
    {"PIIX4_PM", "disable_s4"},
};

int dev_global_add(const char *spec, GError **err)
{
	g_autofree char *driver = NULL, *prop = NULL, *value = NULL;
	const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
	if (dot && eq && dot < eq && dot > spec && eq > dot + 1) {
		/* QEMU's short form: DRIVER.PROP=VALUE, split at the first '.' */
		driver = g_strndup(spec, dot - spec);
		prop = g_strndup(dot + 1, eq - dot - 1);
		value = g_strdup(eq + 1);
	} else {
		/* the long form: driver=D,property=P,value=V */
		struct kvlist *kv = kv_parse(spec, NULL, err);
		if (!kv)
			return -1;
		driver = g_strdup(kv_get(kv, "driver"));
		prop = g_strdup(kv_get(kv, "property"));
		value = g_strdup(kv_get(kv, "value"));
		bool all = kv_check_all_used(kv, err);
		kv_free(kv);
		if (!all)
			return -1;
		if (!driver || !prop || !value) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("expected DRIVER.PROPERTY=VALUE or "
				      "driver=DRIVER,property=PROPERTY,value=VALUE"));
			return -1;
		}
	}
	const struct dev_model *m = NULL;
	bool builtin = false;
	for (size_t i = 0; i < G_N_ELEMENTS(builtin_globals); i++)
		if (!strcmp(builtin_globals[i].driver, driver)) {
			builtin = true;
			if (!strcmp(builtin_globals[i].prop, prop))
				goto store;
		}
	if (builtin) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("property '%s' of the built-in device '%s' is not supported by kite"),
			    prop, driver);
		return -1;
	}
	m = dev_model_find(driver);
	if (!m) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("'%s' is not a device model kite has (-device help lists them)"),
			    driver);
		return -1;
	}
	if (m->no_user || !strcmp(m->name, "isa-serial")) {
		/* kite builds these itself, without -device options (isa-serial
		 * for -serial), so a default would not reach all of them */
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("defaults for device '%s' are not supported yet"), m->name);
		return -1;
	}
	struct opt_val *v = parse_prop(m, prop, value, err);
	if (!v)
		return -1;
	opt_val_free(v);
store:;
	struct dev_global *g = g_new0(struct dev_global, 1);
	g->model = m;
	g->driver = g_steal_pointer(&driver);
	g->prop = g_steal_pointer(&prop);
	g->value = g_steal_pointer(&value);
	globals = g_list_append(globals, g);
	return 0;
}

const char *dev_global_get(const char *driver, const char *prop)
{
	const char *found = NULL;
	for (GList *l = globals; l; l = l->next) {
		struct dev_global *g = l->data;
		if (!strcmp(g->driver, driver) && !strcmp(g->prop, prop))
			found = g->value; /* the last one wins, as in QEMU */
	}
	return found;
}

static int create(const char *spec, void *extra, bool *helped, GError **err);

int dev_create(const char *spec, bool *helped, GError **err)
{
	return create(spec, NULL, helped, err);
}

int dev_create_extra(const char *spec, void *extra, GError **err)
{
	return create(spec, extra, NULL, err);
}

void *dev_opts_extra(struct dev_opts *o)
{
	return o->extra;
}

static int create(const char *spec, void *extra, bool *helped, GError **err)
{
	if (helped)
		*helped = false;
	struct kvlist *kv = kv_parse(spec, "driver", err);
	if (!kv)
		return -1;
	int ret = -1;
	struct dev_opts *o = NULL;
	const char *driver = kv_get(kv, "driver");
	if (!driver) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Parameter 'driver' is missing"));
		goto out;
	}
	if (!strcmp(driver, "help") || !strcmp(driver, "?")) {
		list_models();
		if (helped)
			*helped = true;
		ret = 0;
		goto out;
	}
	const struct dev_model *m = dev_model_find(driver);
	if (!m) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("'%s' is not a valid device model name"), driver);
		goto out;
	}
	if (kv_has(kv, "help") || kv_has(kv, "?")) {
		model_help(m);
		if (helped)
			*helped = true;
		ret = 0;
		goto out;
	}
	if (m->no_user) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Parameter 'driver' expects a pluggable device type"));
		goto out;
	}
	o = g_new0(struct dev_opts, 1);
	o->model = m;
	o->extra = extra;
	o->vals = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, opt_val_free);
	for (guint i = 0; i < kv->items->len; i++) {
		struct kv_item *it = kv->items->pdata[i];
		if (!strcmp(it->key, "driver"))
			continue;
		if (!strcmp(it->key, "id")) {
			if (!g_regex_match_simple("^[A-Za-z][A-Za-z0-9_.-]*$", it->val, 0, 0)) {
				g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
					    _("Parameter 'id' expects an identifier"));
				goto out;
			}
			if (dev_instance_find_id(it->val)) {
				g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
					    _("Duplicate device ID '%s'"), it->val);
				goto out;
			}
			g_free(o->id);
			o->id = g_strdup(it->val);
			continue;
		}
		struct opt_val *v = parse_prop(m, it->key, it->val, err);
		if (!v)
			goto out;
		g_hash_table_replace(o->vals, (gpointer)v->prop->name, v);
	}
	/* -global defaults for what the device line left out */
	for (GList *l = globals; l; l = l->next) {
		struct dev_global *g = l->data;
		if (g->model != m || g_hash_table_contains(o->vals, g->prop))
			continue;
		struct opt_val *v = parse_prop(m, g->prop, g->value, err);
		if (!v)
			goto out;
		g_hash_table_replace(o->vals, (gpointer)v->prop->name, v);
	}
	if (is_pci(m)) {
		if (dev_opts_is_set(o, "romfile") && *dev_opts_str(o, "romfile")) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("%s: property 'romfile' is not supported yet (kite has no "
				      "firmware to run option ROMs)"),
				    m->name);
			goto out;
		}
		const char *bus = dev_opts_str(o, "bus");
		if (strcmp(bus, "pci.0") != 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Bus '%s' not found (kite has one PCI bus, pci.0)"), bus);
			goto out;
		}
		if (dev_opts_bool(o, "multifunction")) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("%s: property 'multifunction' is not supported yet"),
				    m->name);
			goto out;
		}
	}
	ret = m->init(m, o, err);
out:
	dev_opts_free(o);
	kv_free(kv);
	return ret;
}

static struct opt_val *get(struct dev_opts *o, const char *name)
{
	return g_hash_table_lookup(o->vals, name);
}

bool dev_opts_is_set(struct dev_opts *o, const char *name)
{
	return get(o, name) != NULL;
}

static const struct dev_prop *prop_of(struct dev_opts *o, const char *name)
{
	return find_prop(o->model, name);
}

const char *dev_opts_str(struct dev_opts *o, const char *name)
{
	struct opt_val *v = get(o, name);
	if (v)
		return v->text;
	const struct dev_prop *p = prop_of(o, name);
	return p ? p->defval : NULL;
}

bool dev_opts_bool(struct dev_opts *o, const char *name)
{
	struct opt_val *v = get(o, name);
	if (v)
		return v->b;
	const struct dev_prop *p = prop_of(o, name);
	bool b = false;
	if (p && p->defval)
		parse_bool(p->defval, &b);
	return b;
}

uint64_t dev_opts_uint(struct dev_opts *o, const char *name)
{
	struct opt_val *v = get(o, name);
	if (v)
		return v->u;
	const struct dev_prop *p = prop_of(o, name);
	uint64_t u = 0;
	if (p && p->defval)
		parse_uint(p->defval, &u);
	return u;
}

bool dev_opts_mac(struct dev_opts *o, const char *name, uint8_t mac[6])
{
	struct opt_val *v = get(o, name);
	if (!v)
		return false;
	memcpy(mac, v->mac, 6);
	return true;
}

int dev_opts_pci_addr(struct dev_opts *o, const char *name)
{
	struct opt_val *v = get(o, name);
	return v ? v->devfn : -1;
}

const char *dev_opts_id(struct dev_opts *o)
{
	return o->id;
}

struct dev_instance *dev_instance_add(const struct dev_model *model, const char *id, void *opaque)
{
	struct dev_instance *d = g_new0(struct dev_instance, 1);
	d->model = model;
	d->id = g_strdup(id);
	d->opaque = opaque;
	struct dev_instance **p = &instances;
	while (*p)
		p = &(*p)->next;
	*p = d;
	return d;
}

struct dev_instance *dev_instance_first(void)
{
	return instances;
}

struct dev_instance *dev_instance_find_id(const char *id)
{
	for (struct dev_instance *d = instances; d; d = d->next)
		if (d->id && !strcmp(d->id, id))
			return d;
	return NULL;
}

void dev_instance_remove(struct dev_instance *inst)
{
	for (struct dev_instance **p = &instances; *p; p = &(*p)->next) {
		if (*p == inst) {
			*p = inst->next;
			g_free(inst->id);
			g_free(inst);
			return;
		}
	}
}
