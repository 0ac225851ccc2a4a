/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP, the human monitor: QEMU 7.2's banner, prompt and the text formats of
 * the commands kite implements. Output lines end in CRLF like QEMU's.
 */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "chardev.h"
#include "device.h"
#include "error.h"
#include "kvm.h"
#include "machine.h"
#include "monitor-internal.h"
#include "monitor.h"
#include "pci.h"

struct hmp_cmd {
	char *name, *params, *help;
	hmp_cmd_fn fn;
};

struct hmp_info {
	char *name, *help;
	hmp_info_fn fn;
};

static GPtrArray *cmds, *infos;

struct hmp_mon {
	struct chardev *chr;
	GString *line;
	bool banner_shown;
};

void hmp_register_command(const char *name, const char *params, const char *help, hmp_cmd_fn fn)
{
	if (!cmds)
		cmds = g_ptr_array_new();
	struct hmp_cmd *c = g_new0(struct hmp_cmd, 1);
	c->name = g_strdup(name);
	c->params = g_strdup(params ? params : "");
	c->help = g_strdup(help ? help : "");
	c->fn = fn;
	g_ptr_array_add(cmds, c);
}

void hmp_register_info(const char *name, const char *help, hmp_info_fn fn)
{
	if (!infos)
		infos = g_ptr_array_new();
	struct hmp_info *i = g_new0(struct hmp_info, 1);
	i->name = g_strdup(name);
	i->help = g_strdup(help ? help : "");
	i->fn = fn;
	g_ptr_array_add(infos, i);
}

const char *pci_class_desc(uint16_t cls)
{
	static const struct {
		uint16_t cls;
		const char *desc;
	} t[] = {
	    {0x0001, "VGA controller"},
	    {0x0100, "SCSI controller"},
	    {0x0101, "IDE controller"},
	    {0x0106, "SATA controller"},
	    {0x0200, "Ethernet controller"},
	    {0x0280, "Network controller"},
	    {0x0300, "VGA controller"},
	    {0x0403, "Audio controller"},
	    {0x0600, "Host bridge"},
	    {0x0601, "ISA bridge"},
	    {0x0604, "PCI bridge"},
	    {0x0680, "Bridge"},
	    {0x0700, "Serial port"},
	    {0x0880, "System peripheral"},
	    {0x0c03, "USB controller"},
	    {0x00ff, "Unclassified"},
	    {0x0780, "Communication controller"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (t[i].cls == cls)
			return t[i].desc;
	return NULL;
}

/* ---- built-in commands ---- */

static void info_status(GString *out)
{
	enum run_state s = vm_run_state();
	if (s == RUN_STATE_RUNNING)
		g_string_append(out, "VM status: running\n");
	else if (s == RUN_STATE_PAUSED)
		g_string_append(out, "VM status: paused\n");
	else
		g_string_append_printf(out, "VM status: paused (%s)\n", run_state_name(s));
}

static void info_version(GString *out)
{
	g_string_append_printf(out, "7.2.0 (kite %s)\n", KITE_VERSION);
}

static void info_name(GString *out)
{
	if (machine_cfg.name)
		g_string_append_printf(out, "%s\n", machine_cfg.name);
}

static void info_kvm(GString *out)
{
	g_string_append_printf(out, "kvm support: %s\n",
			       machine_cfg.qtest ? "disabled" : "enabled");
}

static void info_registers(GString *out)
{
	if (machine_cfg.qtest)
		return;
	kvm_info_registers(out);
}

static void info_uuid(GString *out)
{
	g_string_append_printf(out, "%s\n",
			       machine_cfg.uuid ? machine_cfg.uuid
						: "00000000-0000-0000-0000-000000000000");
}

static void pci_bars(GString *out, struct pci_device *d, const char *indent, bool qtree)
{
	for (int b = 0; b < PCI_NUM_BARS; b++) {
		uint64_t addr, size;
		bool io, m64;
		if (!pci_bar_info(d, b, &addr, &size, &io, &m64))
			continue;
		uint64_t end = addr == ~0ULL ? size - 2 : addr + size - 1;
		if (qtree) {
			g_string_append_printf(out,
					       "%sbar %d: %s at 0x%" G_GINT64_MODIFIER
					       "x [0x%" G_GINT64_MODIFIER "x]\n",
					       indent, b, io ? "i/o" : "mem", addr, end);
		} else if (io) {
			g_string_append_printf(out,
					       "%sBAR%d: I/O at 0x%04" G_GINT64_MODIFIER
					       "x [0x%04" G_GINT64_MODIFIER "x].\n",
					       indent, b, addr, end);
		} else {
			g_string_append_printf(out,
					       "%sBAR%d: %d bit memory at 0x%08" G_GINT64_MODIFIER
					       "x [0x%08" G_GINT64_MODIFIER "x].\n",
					       indent, b, m64 ? 64 : 32, addr, end);
		}
	}
}

static void info_pci(GString *out)
{
	for (struct pci_device *d = pci_device_first(); d; d = pci_device_next(d)) {
		uint8_t *c = pci_config(d);
		uint16_t cls = c[PCI_CLASS_DEVICE] | (c[PCI_CLASS_DEVICE + 1] << 8);
		g_string_append_printf(out, "  Bus %2d, device %3d, function %d:\n", 0,
				       pci_devfn(d) >> 3, pci_devfn(d) & 7);
		const char *desc = pci_class_desc(cls);
		if (desc)
			g_string_append_printf(out, "    %s: ", desc);
		else
			g_string_append_printf(out, "    Class %04x: ", cls);
		g_string_append_printf(out, "PCI device %04x:%04x\n", c[0] | (c[1] << 8),
				       c[2] | (c[3] << 8));
		g_string_append_printf(out, "      PCI subsystem %04x:%04x\n",
				       c[0x2c] | (c[0x2d] << 8), c[0x2e] | (c[0x2f] << 8));
		if (c[PCI_INTERRUPT_PIN])
			g_string_append_printf(out, "      IRQ %d, pin %c\n", c[PCI_INTERRUPT_LINE],
					       'A' + c[PCI_INTERRUPT_PIN] - 1);
		pci_bars(out, d, "      ", false);
		g_string_append_printf(out, "      id \"%s\"\n",
				       pci_device_id(d) ? pci_device_id(d) : "");
	}
}

static void info_qtree(GString *out)
{
	g_string_append(out, "bus: main-system-bus\n  type System\n");
	g_string_append(out, "  dev: i440FX-pcihost, id \"\"\n");
	g_string_append(out, "    bus: pci.0\n      type PCI\n");
	for (struct pci_device *d = pci_device_first(); d; d = pci_device_next(d)) {
		uint8_t *c = pci_config(d);
		const struct dev_model *m = pci_device_model(d);
		if (!strcmp(m->name, "i440FX-pcihost"))
			continue;
		uint16_t cls = c[PCI_CLASS_DEVICE] | (c[PCI_CLASS_DEVICE + 1] << 8);
		const char *desc = pci_class_desc(cls);
		g_string_append_printf(out, "      dev: %s, id \"%s\"\n", m->name,
				       pci_device_id(d) ? pci_device_id(d) : "");
		for (struct dev_instance *i = dev_instance_first(); i; i = i->next)
			if (i->opaque == d && i->qtree_info)
				i->qtree_info(pci_device_opaque(d), out, 8);
		g_string_append_printf(out, "        addr = %02x.%x\n", pci_devfn(d) >> 3,
				       pci_devfn(d) & 7);
		if (desc)
			g_string_append_printf(out, "        class %s, ", desc);
		else
			g_string_append_printf(out, "        class Class %04x, ", cls);
		g_string_append_printf(out, "addr 00:%02x.%x, pci id %04x:%04x (sub %04x:%04x)\n",
				       pci_devfn(d) >> 3, pci_devfn(d) & 7, c[0] | (c[1] << 8),
				       c[2] | (c[3] << 8), c[0x2c] | (c[0x2d] << 8),
				       c[0x2e] | (c[0x2f] << 8));
		pci_bars(out, d, "        ", true);
		if (!strcmp(m->name, "PIIX3")) {
			g_string_append(out, "        bus: isa.0\n          type ISA\n");
			for (struct dev_instance *i = dev_instance_first(); i; i = i->next) {
				if (!i->model->bus || strcmp(i->model->bus, "ISA") != 0)
					continue;
				g_string_append_printf(out, "          dev: %s, id \"%s\"\n",
						       i->model->name, i->id ? i->id : "");
				if (i->qtree_info)
					i->qtree_info(i->opaque, out, 12);
			}
		}
	}
	g_string_append(out, "  dev: fw_cfg_io, id \"\"\n");
}

static void hmp_help(GString *out, int argc, char **argv, const char *line);

static void cmd_info(GString *out, int argc, char **argv, const char *line)
{
	(void)line;
	if (argc < 2) {
		for (guint i = 0; i < infos->len; i++) {
			struct hmp_info *inf = infos->pdata[i];
			g_string_append_printf(out, "info %s  -- %s\n", inf->name, inf->help);
		}
		return;
	}
	for (guint i = 0; i < infos->len; i++) {
		struct hmp_info *inf = infos->pdata[i];
		if (!strcmp(inf->name, argv[1])) {
			inf->fn(out);
			return;
		}
	}
	g_string_append_printf(out, "unknown command: 'info %s'\n", argv[1]);
}

static void run_qmp(GString *out, const char *cmd)
{
	GError *err = NULL;
	JsonObject *args = json_object_new();
	JsonNode *r = qmp_dispatch_command(cmd, args, &err);
	json_object_unref(args);
	if (r)
		json_node_unref(r);
	if (err) {
		g_string_append_printf(out, "Error: %s\n", err->message);
		g_error_free(err);
	}
}

static void cmd_simple(GString *out, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)line;
	run_qmp(out, argv[0]);
}

static void cmd_quit(GString *out, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	run_qmp(out, "quit");
}

static void cmd_cont(GString *out, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	run_qmp(out, "cont");
}

static void hmp_help(GString *out, int argc, char **argv, const char *line)
{
	(void)line;
	for (guint i = 0; i < cmds->len; i++) {
		struct hmp_cmd *c = cmds->pdata[i];
		if (argc > 1 && strcmp(argv[1], c->name) != 0)
			continue;
		g_string_append_printf(out, "%s%s%s -- %s\n", c->name, *c->params ? " " : "",
				       c->params, c->help);
	}
}

static void register_builtin(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	hmp_register_command("help", "[cmd]", "show the help", hmp_help);
	hmp_register_command("?", "[cmd]", "show the help", hmp_help);
	hmp_register_command("info", "[subcommand]",
			     "show various information about the system state", cmd_info);
	hmp_register_command("stop", "", "stop emulation", cmd_simple);
	hmp_register_command("cont", "", "resume emulation", cmd_cont);
	hmp_register_command("c", "", "resume emulation", cmd_cont);
	hmp_register_command("system_powerdown", "", "send system power down event", cmd_simple);
	hmp_register_command("system_reset", "", "reset the system", cmd_simple);
	hmp_register_command("quit", "", "quit the emulator", cmd_quit);
	hmp_register_command("q", "", "quit the emulator", cmd_quit);
	hmp_register_info("kvm", "show KVM information", info_kvm);
	hmp_register_info("name", "show the current VM name", info_name);
	hmp_register_info("pci", "show PCI info", info_pci);
	hmp_register_info("qtree", "show device tree", info_qtree);
	hmp_register_info("registers", "show the cpu registers", info_registers);
	hmp_register_info("status", "show the current VM status (running|paused)", info_status);
	hmp_register_info("uuid", "show the current VM UUID", info_uuid);
	hmp_register_info("version", "show the version of QEMU", info_version);
}

char *hmp_execute(const char *cmdline)
{
	register_builtin();
	GString *out = g_string_new(NULL);
	char *trimmed = g_strstrip(g_strdup(cmdline));
	if (!*trimmed) {
		g_free(trimmed);
		return g_string_free(out, false);
	}
	char **argv = NULL;
	int argc = 0;
	argv = g_strsplit_set(trimmed, " \t", -1);
	/* drop empty fields from repeated blanks */
	int w = 0;
	for (int r = 0; argv[r]; r++) {
		if (*argv[r])
			argv[w++] = argv[r];
		else
			g_free(argv[r]);
	}
	argv[w] = NULL;
	argc = w;
	const char *rest = trimmed + strlen(argv[0]);
	while (*rest == ' ' || *rest == '\t')
		rest++;
	bool found = false;
	for (guint i = 0; i < cmds->len; i++) {
		struct hmp_cmd *c = cmds->pdata[i];
		if (!strcmp(c->name, argv[0])) {
			c->fn(out, argc, argv, rest);
			found = true;
			break;
		}
	}
	if (!found)
		g_string_append_printf(out, "unknown command: '%s'\n", argv[0]);
	g_strfreev(argv);
	g_free(trimmed);
	return g_string_free(out, false);
}

/* ---- the monitor on a chardev ---- */

static void puts_crlf(struct hmp_mon *m, const char *s)
{
	GString *o = g_string_new(NULL);
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			g_string_append_c(o, '\r');
		g_string_append_c(o, *p);
	}
	chardev_write(m->chr, o->str, o->len);
	g_string_free(o, true);
}

static void prompt(struct hmp_mon *m)
{
	puts_crlf(m, "(qemu) ");
}

static size_t hmp_can_read(void *opaque)
{
	(void)opaque;
	return 4096;
}

static void hmp_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct hmp_mon *m = opaque;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\r' || c == '\n') {
			/* CRLF from a terminal: one line */
			if (c == '\n' && i > 0 && buf[i - 1] == '\r')
				continue;
			puts_crlf(m, "\n");
			char *line = g_string_free(m->line, false);
			m->line = g_string_new(NULL);
			char *out = hmp_execute(line);
			puts_crlf(m, out);
			g_free(out);
			g_free(line);
			prompt(m);
		} else if (c == 0x7f || c == 0x08) {
			if (m->line->len) {
				g_string_truncate(m->line, m->line->len - 1);
				chardev_write(m->chr, "\b \b", 3);
			}
		} else if ((unsigned char)c >= 0x20 && m->line->len < 4096) {
			g_string_append_c(m->line, c);
			chardev_write(m->chr, &c, 1); /* readline echo */
		}
	}
}

static void hmp_event(void *opaque, enum chr_event ev)
{
	struct hmp_mon *m = opaque;
	if (ev == CHR_EVENT_OPENED) {
		g_string_truncate(m->line, 0);
		puts_crlf(m, "QEMU 7.2.0 monitor - type 'help' for more information\n");
		prompt(m);
	}
}

static const struct chr_frontend hmp_fe = {
    .can_read = hmp_can_read,
    .read = hmp_read,
    .event = hmp_event,
};

int hmp_monitor_new(struct chardev *chr, GError **err)
{
	register_builtin();
	struct hmp_mon *m = g_new0(struct hmp_mon, 1);
	m->chr = chr;
	m->line = g_string_new(NULL);
	if (chardev_attach(chr, &hmp_fe, m, err) < 0) {
		g_string_free(m->line, true);
		g_free(m);
		return -1;
	}
	return 0;
}
