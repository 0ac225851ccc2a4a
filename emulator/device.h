/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device models and `-device DRIVER,prop=value,...`.
 *
 * A model declares its properties with types; the framework parses and
 * type-checks every property before the model's init runs, so an unknown
 * property or a bad value is reported naming it and nothing is created.
 * `-device help` and `-device DRIVER,help` list exactly the registered
 * models and properties.
 *
 * Register a model at start-up with DEV_MODEL_REGISTER(model) (a
 * constructor; kite links kite_core whole so this works from any file).
 *
 * Locking: every device callback (PIO/MMIO, config space, timers, fd
 * handlers on the main loop) runs with the big kite lock held, so device
 * code needs no locking of its own. See kite_lock() in machine.h.
 */
#ifndef KITE_DEVICE_H
#define KITE_DEVICE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum dev_prop_type {
	DEV_PROP_STR,
	DEV_PROP_BOOL,	   /* on/off, true/false, yes/no */
	DEV_PROP_UINT,	   /* decimal or 0x hex, 64-bit */
	DEV_PROP_MAC,	   /* 52:54:00:12:34:56 */
	DEV_PROP_PCI_ADDR, /* slot[.fn] in hex: "08", "08.0", "0x8" */
};

struct dev_prop {
	const char *name;
	enum dev_prop_type type;
	const char *defval; /* textual default shown by help; NULL = none */
	const char *desc;   /* one-line description for help, may be NULL */
	uint64_t max;	    /* DEV_PROP_UINT: largest accepted value (0 = no limit) */
};

struct dev_opts;
struct dev_model;

typedef int (*dev_init_fn)(const struct dev_model *model, struct dev_opts *opts, GError **err);

struct dev_model {
	const char *name;
	const char *alias;	      /* optional second name accepted by -device */
	const char *bus;	      /* "PCI", "ISA", "System" */
	const char *category;	      /* "Network devices", "Misc devices", ... */
	const char *desc;	      /* optional */
	const struct dev_prop *props; /* terminated by an entry with name NULL */
	dev_init_fn init;
	bool no_user;		/* built in, cannot be created with -device */
	bool hotpluggable;	/* device_add/device_del at run time (PCI) */
	struct dev_model *next; /* registry link, set by dev_model_register */
};

void dev_model_register(struct dev_model *model);
#define DEV_MODEL_REGISTER(m)                                                                      \
	static void __attribute__((constructor)) register_##m(void)                                \
	{                                                                                          \
		dev_model_register(&(m));                                                          \
	}

const struct dev_model *dev_model_find(const char *name);
const struct dev_model *dev_model_first(void);

/*
 * Create a device from a -device style string "DRIVER,prop=val,...".
 * "help" and "DRIVER,help" print help on stdout and set *helped.
 */
int dev_create(const char *spec, bool *helped, GError **err);
/*
 * Same, passing an opaque pointer the model's init can fetch with
 * dev_opts_extra(): the machine code creates the NICs of -net nic / -nic
 * this way, passing the net layer's NicConfig (peer, name) for each one.
 * -device always gives NULL.
 */
int dev_create_extra(const char *spec, void *extra, GError **err);
void *dev_opts_extra(struct dev_opts *o);

/*
 * -global DRIVER.PROP=VALUE (or driver=,property=,value=): a default for
 * PROP of every DRIVER made with -device (checked against the model now).
 * A few properties of built-in devices are accepted too (kvm-pit's
 * lost_tick_policy, PIIX4_PM's disable_s3/disable_s4); the machine code
 * reads them with dev_global_get(), the last one given winning.
 */
int dev_global_add(const char *spec, GError **err);
const char *dev_global_get(const char *driver, const char *prop);

/* Accessors for the parsed options; the getters return the default when the
 * property was not given (or 0 / NULL when there is no default). */
bool dev_opts_is_set(struct dev_opts *o, const char *name);
const char *dev_opts_str(struct dev_opts *o, const char *name);
bool dev_opts_bool(struct dev_opts *o, const char *name);
uint64_t dev_opts_uint(struct dev_opts *o, const char *name);
/* false (mac untouched) when the property is not set */
bool dev_opts_mac(struct dev_opts *o, const char *name, uint8_t mac[6]);
/* -1 when not set, else devfn (slot << 3 | fn) */
int dev_opts_pci_addr(struct dev_opts *o, const char *name);
/* The device's id= (NULL when none); unique among all devices. */
const char *dev_opts_id(struct dev_opts *o);

/* Built-in devices (isa-serial, i8042...) and -device ones are listed for
 * `info qtree`. A model's init calls this once the device exists. */
struct dev_instance {
	const struct dev_model *model;
	char *id;
	void *opaque;
	/* Optional extra lines for `info qtree` (indent already applied by caller). */
	void (*qtree_info)(void *opaque, GString *out, int indent);
	struct dev_instance *next;
};
struct dev_instance *dev_instance_add(const struct dev_model *model, const char *id, void *opaque);
struct dev_instance *dev_instance_first(void);
struct dev_instance *dev_instance_find_id(const char *id);
/* Hot-unplug: forget the instance (NULL is ignored). */
void dev_instance_remove(struct dev_instance *inst);

#endif
