/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI hot-plug on bus 0: the ACPI hot-plug controller of QEMU's PIIX4 PM
 * (I/O ports 0xae00-0xae17, general-purpose event 1) and the monitor
 * commands device_add / device_del that drive it.
 *
 * The guest-visible protocol is QEMU 7.2's (non-legacy mode), so guests and
 * the DSDT methods kite writes (acpi.c) behave the same on both:
 *   0xae00 PCIU   slots with a device just plugged; reading clears it
 *   0xae04 PCID   slots whose removal was requested (device_del); cleared
 *                 per slot when that slot is ejected
 *   0xae08 B0EJ   write (1 << slot): eject, the device goes away now and
 *                 DEVICE_DELETED is sent; reads 0 (no features)
 *   0xae0c PCIRMV slots that can take a hot-pluggable device
 *   0xae10 BNUM   bus select; only bus 0 (the root bus) exists
 *   0xae14 PIDX   acpi-index: kite has none, reads 0
 * A plug or an unplug request sets PCIU/PCID and raises GPE 1, which the
 * guest's ACPI interpreter (_E01 -> PCNT) turns into Notify on the slot.
 *
 * device_del therefore only *asks*: the device stays until the guest ejects
 * it (or the machine resets, which a real slot would not survive either),
 * exactly as on QEMU, and management waits for DEVICE_DELETED.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "device.h"
#include "error.h"
#include "io.h"
#include "machine.h"
#include "monitor.h"
#include "pci.h"

#define PCIHP_BASE 0xae00
#define PCIHP_LEN  0x18
#define PCIHP_UP   0x00
#define PCIHP_DOWN 0x04
#define PCIHP_EJ   0x08
#define PCIHP_RMV  0x0c
#define PCIHP_SEL  0x10
#define PCIHP_AIDX 0x14

/* GPE0 status bit of PCI hot-plug events (QEMU's ACPI_PCI_HOTPLUG_STATUS) */
#define GPE_PCI_HOTPLUG 1

/* acpi.c */
void acpi_gpe_raise(unsigned bit);

static struct {
	bool present; /* the machine has the controller (not with -no-acpi) */
	uint32_t up, down;
	uint32_t sel;
} hp;

/* Slot 0 (host bridge) and 1 (PIIX3) hold built-in functions. */
static bool slot_hotpluggable(unsigned slot)
{
	if (slot < 2 || slot > 31)
		return false;
	struct pci_device *d = pci_device_at(slot << 3);
	return !d || pci_device_hotpluggable(d);
}

static void emit_deleted(const char *id, const char *path)
{
	JsonObject *data = json_object_new();
	if (id)
		json_object_set_string_member(data, "device", id);
	json_object_set_string_member(data, "path", path ? path : "");
	qmp_event_emit("DEVICE_DELETED", data);
}

static void eject_slot(unsigned slot)
{
	hp.down &= ~(1u << slot);
	struct pci_device *d = pci_device_at(slot << 3);
	if (!d || !pci_device_hotpluggable(d))
		return;
	g_autofree char *id = g_strdup(pci_device_id(d));
	g_autofree char *path = g_strdup(pci_device_qom_path(d));
	pci_device_unplug(d);
	emit_deleted(id, path);
}

static uint64_t pcihp_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	if (size != 4 || (off & 3))
		return ~0ULL;
	/* an unknown bus has no slots */
	bool bus0 = hp.sel == 0;
	uint32_t v = 0;
	switch (off) {
	case PCIHP_UP:
		if (bus0) {
			v = hp.up;
			hp.up = 0;
		}
		break;
	case PCIHP_DOWN:
		v = bus0 ? hp.down : 0;
		break;
	case PCIHP_RMV:
		for (unsigned s = 0; bus0 && s < 32; s++)
			if (slot_hotpluggable(s))
				v |= 1u << s;
		break;
	case PCIHP_SEL:
		v = hp.sel;
		break;
	default:
		v = 0;
	}
	return v;
}

static void pcihp_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	if (size != 4 || (off & 3))
		return;
	switch (off) {
	case PCIHP_EJ:
		for (unsigned s = 0; hp.sel == 0 && s < 32; s++)
			if ((val & (1u << s)) && slot_hotpluggable(s))
				eject_slot(s);
		break;
	case PCIHP_SEL:
		hp.sel = (uint32_t)val;
		break;
	default:
		break; /* PCIU/PCID/PCIRMV are read-only, PIDX selects nothing */
	}
}

static const struct io_ops pcihp_ops = {.read = pcihp_read, .write = pcihp_write};

/* A reset completes the unplugs the guest was asked for: the slot is
 * powered off, there is nobody left to eject it. */
static void pcihp_reset(void *opaque)
{
	(void)opaque;
	uint32_t pending = hp.down;
	for (unsigned s = 0; s < 32; s++)
		if (pending & (1u << s))
			eject_slot(s);
	hp.up = hp.down = 0;
	hp.sel = 0;
}

void pcihp_init(void)
{
	hp.present = true;
	io_region_add(IO_SPACE_PIO, PCIHP_BASE, PCIHP_LEN, &pcihp_ops, NULL, "acpi-pci-hotplug");
	machine_register_reset(pcihp_reset, NULL);
}

/* ---- device_add ---- */

/* QMP's argument object as a -device string, commas doubled. */
static char *args_to_spec(JsonObject *args, GError **err)
{
	const char *driver = NULL;
	if (!qmp_arg_str(args, "driver", true, &driver, err))
		return NULL;
	GString *spec = g_string_new(driver);
	g_autoptr(GList) members = json_object_get_members(args);
	for (GList *l = members; l; l = l->next) {
		const char *key = l->data;
		if (!strcmp(key, "driver"))
			continue;
		JsonNode *n = json_object_get_member(args, key);
		g_autofree char *val = NULL;
		if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			val = g_strdup(json_node_get_string(n));
		else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64)
			val = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
		else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN)
			val = g_strdup(json_node_get_boolean(n) ? "on" : "off");
		else {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Invalid parameter type for '%s', expected: string, number "
				      "or boolean"),
				    key);
			goto fail;
		}
		if (strchr(key, ',') || strchr(key, '=')) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Invalid parameter '%s'"),
				    key);
			goto fail;
		}
		g_string_append_printf(spec, ",%s=", key);
		for (const char *p = val; *p; p++) {
			if (*p == ',')
				g_string_append_c(spec, ',');
			g_string_append_c(spec, *p);
		}
	}
	return g_string_free(spec, false);
fail:
	g_string_free(spec, true);
	return NULL;
}

/* QEMU's refusal for a bus without a hot-plug handler: ISA and system
 * devices always, PCI when the machine has no ACPI hot-plug controller. */
static bool bus_hotpluggable(const struct dev_model *m, GError **err)
{
	bool pci = !strcmp(m->bus, "PCI");
	if (pci && hp.present)
		return true;
	g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Bus '%s' does not support hotplugging"),
		    pci			     ? "pci.0"
		    : !strcmp(m->bus, "ISA") ? "isa.0"
					     : "main-system-bus");
	return false;
}

static bool check_pluggable(const char *driver, GError **err)
{
	const struct dev_model *m = dev_model_find(driver);
	if (!m || m->no_user)
		return true; /* dev_create names the problem */
	if (!bus_hotpluggable(m, err))
		return false;
	if (!m->hotpluggable) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Device '%s' does not support hotplugging"), m->name);
		return false;
	}
	return true;
}

/* Create the device from a -device string and plug it into its slot. */
static int device_add(const char *spec, GError **err)
{
	g_autofree char *driver = g_strndup(spec, strcspn(spec, ","));
	if (!strcmp(driver, "help") || !strcmp(driver, "?") || strstr(spec, ",help") ||
	    strstr(spec, ",?")) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("device_add: help is only available on the command line "
			      "(kite -device help)"));
		return -1;
	}
	if (!check_pluggable(driver, err))
		return -1;
	if (dev_create(spec, NULL, err) < 0) {
		pci_hotplug_abort();
		return -1;
	}
	uint32_t slots = 0;
	if (pci_hotplug_commit(&slots, err) < 0)
		return -1;
	if (slots) {
		hp.up |= slots;
		acpi_gpe_raise(GPE_PCI_HOTPLUG);
	}
	return 0;
}

static JsonNode *qmp_device_add(JsonObject *args, GError **err)
{
	g_autofree char *spec = args_to_spec(args, err);
	if (!spec)
		return NULL;
	device_add(spec, err);
	return NULL;
}

/* ---- device_del ---- */

static struct pci_device *find_by_id_or_path(const char *id)
{
	for (struct pci_device *d = pci_device_first(); d; d = pci_device_next(d)) {
		if (pci_device_id(d) && !strcmp(pci_device_id(d), id))
			return d;
		if (pci_device_qom_path(d) && !strcmp(pci_device_qom_path(d), id))
			return d;
	}
	return NULL;
}

static int device_del(const char *id, GError **err)
{
	struct pci_device *d = find_by_id_or_path(id);
	if (!d) {
		/* a device of another bus (isa-debug-exit, isa-serial...) */
		struct dev_instance *inst = dev_instance_find_id(id);
		if (!inst || bus_hotpluggable(inst->model, err))
			g_set_error(err, KITE_ERROR, KITE_ERR_DEVICE_NOT_FOUND,
				    _("Device '%s' not found"), id);
		return -1;
	}
	if (!bus_hotpluggable(pci_device_model(d), err))
		return -1;
	if (!pci_device_hotpluggable(d)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Device '%s' does not support hotplugging"),
			    pci_device_model(d)->name);
		return -1;
	}
	unsigned slot = pci_devfn(d) >> 3;
	if (hp.down & (1u << slot)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Device %s is already in the process of unplug"), id);
		return -1;
	}
	hp.down |= 1u << slot;
	acpi_gpe_raise(GPE_PCI_HOTPLUG);
	return 0;
}

static JsonNode *qmp_device_del(JsonObject *args, GError **err)
{
	const char *id;
	if (!qmp_arg_str(args, "id", true, &id, err))
		return NULL;
	device_del(id, err);
	return NULL;
}

/* ---- HMP ---- */

static void hmp_device_add(GString *out, int argc, char **argv, const char *line)
{
	(void)argv;
	g_autoptr(GError) err = NULL;
	g_autofree char *spec = g_strstrip(g_strdup(line ? line : ""));
	if (argc < 2 || !*spec) {
		g_string_append(out, _("Parameter 'driver' is missing\n"));
		return;
	}
	if (device_add(spec, &err) < 0)
		g_string_append_printf(out, "Error: %s\n", err->message);
}

static void hmp_device_del(GString *out, int argc, char **argv, const char *line)
{
	(void)line;
	g_autoptr(GError) err = NULL;
	if (argc < 2) {
		g_string_append(out, _("Parameter 'id' is missing\n"));
		return;
	}
	if (device_del(argv[1], &err) < 0)
		g_string_append_printf(out, "Error: %s\n", err->message);
}

static void __attribute__((constructor)) hotplug_register(void)
{
	qmp_register_command("device_add", qmp_device_add);
	qmp_register_command("device_del", qmp_device_del);
	hmp_register_command("device_add", "driver[,prop=value][,...]",
			     "add device, like -device on the command line", hmp_device_add);
	hmp_register_command("device_del", "device", "remove device", hmp_device_del);
}
