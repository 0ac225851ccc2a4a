/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite's main(): the QEMU 7.2 compatible command line, machine assembly
 * and the main loop. Every option kite does not implement is refused with
 * an error naming it; nothing is silently ignored.
 */
#include "vl.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "chardev.h"
#include "device.h"
#include "error.h"
#include "fw_cfg.h"
#include "i8042.h"
#include "kvm.h"
#include "log.h"
#include "machine.h"
#include "main-loop.h"
#include "memory-internal.h"
#include "memory.h"
#include "monitor-internal.h"
#include "options.h"
#include "pci.h"
#include "port61.h"
#include "qtest.h"
#include "rtc.h"
#include "serial.h"

#ifdef KITE_HAVE_NET
#include "net/net-cmdline.h"
#include "net/net.h"
#endif

void acpi_pm_init(void);

enum opt_kind { ARG_NONE, ARG_REQUIRED };

struct opt_def {
	const char *name;
	enum opt_kind arg;
};

/* Options kite knows about (implemented, or refused with a reason). */
static const struct opt_def opt_defs[] = {
    {"enable-kvm", ARG_NONE},
    {"accel", ARG_REQUIRED},
    {"machine", ARG_REQUIRED},
    {"M", ARG_REQUIRED},
    {"cpu", ARG_REQUIRED},
    {"smp", ARG_REQUIRED},
    {"m", ARG_REQUIRED},
    {"name", ARG_REQUIRED},
    {"kernel", ARG_REQUIRED},
    {"initrd", ARG_REQUIRED},
    {"append", ARG_REQUIRED},
    {"nographic", ARG_NONE},
    {"display", ARG_REQUIRED},
    {"serial", ARG_REQUIRED},
    {"chardev", ARG_REQUIRED},
    {"monitor", ARG_REQUIRED},
    {"qmp", ARG_REQUIRED},
    {"qmp-pretty", ARG_REQUIRED},
    {"mon", ARG_REQUIRED},
    {"daemonize", ARG_NONE},
    {"pidfile", ARG_REQUIRED},
    {"S", ARG_NONE},
    {"no-reboot", ARG_NONE},
    {"no-shutdown", ARG_NONE},
    {"nodefaults", ARG_NONE},
    {"device", ARG_REQUIRED},
    {"D", ARG_REQUIRED},
    {"d", ARG_REQUIRED},
    {"version", ARG_NONE},
    {"help", ARG_NONE},
    {"h", ARG_NONE},
    {"qtest", ARG_REQUIRED},
    {"qtest-log", ARG_REQUIRED},
    {"net", ARG_REQUIRED},
    {"netdev", ARG_REQUIRED},
    {"nic", ARG_REQUIRED},
    {"object", ARG_REQUIRED},
    {"uuid", ARG_REQUIRED},
    {"no-user-config", ARG_NONE},
    {"no-hpet", ARG_NONE},
    {"no-acpi", ARG_NONE},
    {"vga", ARG_REQUIRED},
    {"parallel", ARG_REQUIRED},
    {"rtc", ARG_REQUIRED},
    {"msg", ARG_REQUIRED},
    {"overcommit", ARG_REQUIRED},
    {"vnc", ARG_REQUIRED},
    {"hda", ARG_REQUIRED},
    {"hdb", ARG_REQUIRED},
    {"cdrom", ARG_REQUIRED},
    {"drive", ARG_REQUIRED},
    {"usbdevice", ARG_REQUIRED},
    {"usb", ARG_NONE},
    {"boot", ARG_REQUIRED},
    {"global", ARG_REQUIRED},
    {"sandbox", ARG_REQUIRED},
    {"bios", ARG_REQUIRED},
    {"L", ARG_REQUIRED},
    {"fda", ARG_REQUIRED},
    {"blockdev", ARG_REQUIRED},
    {"spice", ARG_REQUIRED},
    {"audiodev", ARG_REQUIRED},
    {"incoming", ARG_REQUIRED},
    {"snapshot", ARG_NONE},
    {"full-screen", ARG_NONE},
    {"k", ARG_REQUIRED},
    {"numa", ARG_REQUIRED},
    {"mem-path", ARG_REQUIRED},
    {"mem-prealloc", ARG_NONE},
    {"gdb", ARG_REQUIRED},
    {"s", ARG_NONE},
    {"icount", ARG_REQUIRED},
    {"watchdog-action", ARG_REQUIRED},
    {"trace", ARG_REQUIRED},
    {"plugin", ARG_REQUIRED},
    {"readconfig", ARG_REQUIRED},
    {"writeconfig", ARG_REQUIRED},
    {"runas", ARG_REQUIRED},
    {"chroot", ARG_REQUIRED},
    {"smbios", ARG_REQUIRED},
    {"fw_cfg", ARG_REQUIRED},
    {"action", ARG_REQUIRED},
    {"semihosting", ARG_NONE},
    {"add-fd", ARG_REQUIRED},
    {"iscsi", ARG_REQUIRED},
    {"tpmdev", ARG_REQUIRED},
    {"option-rom", ARG_REQUIRED},
    {"prom-env", ARG_REQUIRED},
    {"virtfs", ARG_REQUIRED},
    {"fsdev", ARG_REQUIRED},
    {"device-tree", ARG_REQUIRED},
    {"dtb", ARG_REQUIRED},
    {"compat", ARG_REQUIRED},
    {"preconfig", ARG_NONE},
    {"mtdblock", ARG_REQUIRED},
    {"sd", ARG_REQUIRED},
    {"pflash", ARG_REQUIRED},
    {"singlestep", ARG_NONE},
    {"seed", ARG_REQUIRED},
    {"win2k-hack", ARG_NONE},
    {"no-fd-bootchk", ARG_NONE},
    {"alt-grab", ARG_NONE},
    {"ctrl-grab", ARG_NONE},
    {"portrait", ARG_NONE},
    {"rotate", ARG_REQUIRED},
    {"acpitable", ARG_REQUIRED},
    {"xen-domid", ARG_REQUIRED},
    {"echr", ARG_REQUIRED},
    {"debugcon", ARG_REQUIRED},
    {"localtime", ARG_NONE},
    {"enable-sync-profile", ARG_NONE},
    {"async-teardown", ARG_NONE},
};

struct opt_occ {
	const char *name;
	const char *arg;
};

static GArray *occs; /* struct opt_occ, in command-line order */
static int exit_status;
static bool daemonize;
static int daemon_pipe = -1;
static char *pidfile_path;
static int pidfile_fd = -1;
static bool no_acpi;

bool kite_daemonize_requested(void)
{
	return daemonize;
}

static void cleanup(void)
{
#ifdef KITE_HAVE_NET
	/* before the chardevs: downscripts run and taps go while guestfwd
	 * chardevs still exist */
	net_cleanup_all();
#endif
	chardev_cleanup_all();
	qtest_cleanup();
	if (pidfile_path)
		unlink(pidfile_path);
}

void kite_request_exit(int status)
{
	exit_status = status;
	ml_quit();
}

void kite_exit_now(int status)
{
	cleanup();
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

static void die(const char *opt, const char *arg, GError *err) __attribute__((noreturn));
static void die(const char *opt, const char *arg, GError *err)
{
	if (opt && arg)
		error_report("-%s %s: %s", opt, arg, err->message);
	else if (opt)
		error_report("-%s: %s", opt, err->message);
	else
		error_report("%s", err->message);
	g_error_free(err);
	if (daemon_pipe >= 0) {
		uint8_t one = 1;
		if (write(daemon_pipe, &one, 1) < 0) {
			/* parent gone: nothing to tell */
		}
	}
	cleanup();
	exit(1);
}

static void fail(const char *opt, const char *arg, const char *fmt, ...) G_GNUC_PRINTF(3, 4)
    __attribute__((noreturn));
static void fail(const char *opt, const char *arg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	GError *err = g_error_new_literal(KITE_ERROR, KITE_ERR_GENERIC, msg);
	g_free(msg);
	die(opt, arg, err);
}

static void not_supported(const char *opt) __attribute__((noreturn));
static void not_supported(const char *opt)
{
	error_report(_("-%s: not supported yet"), opt);
	exit(1);
}

static void print_version(void)
{
	printf("QEMU emulator version 7.2.0 (kite %s)\n", KITE_VERSION);
	printf("Copyright (c) 2024 the kite developers; QEMU command line compatible\n");
}

static void print_help(void)
{
	printf(_("usage: kite [options]\n"
		 "kite is a KVM virtual machine monitor with a QEMU 7.2 compatible command "
		 "line.\n\n"
		 "Standard options:\n"
		 "-h or -help     display this help and exit\n"
		 "-version        display version information and exit\n"
		 "-machine [type=]pc[,accel=kvm|qtest][,usb=off][,dump-guest-core=on|off]\n"
		 "                [,mem-merge=on|off][,acpi=on|off][,graphics=on|off]\n"
		 "                [,hpet=off][,smm=off][,kernel_irqchip=on]\n"
		 "                (q35 is not supported yet)\n"
		 "-accel kvm|qtest  select accelerator; -enable-kvm is -accel kvm\n"
		 "-cpu host|max|qemu64|kvm64|base|help  (host, max: [,migratable=on|off])\n"
		 "-smp [cpus=]n[,sockets=s][,cores=c][,threads=t][,maxcpus=n]\n"
		 "-m [size=]megs  guest RAM (default 128M; suffixes K, M, G, T)\n"
		 "-name [guest=]name[,debug-threads=on|off]\n"
		 "-uuid uuid      set the system UUID\n"
		 "-nodefaults     no default devices (serial, monitor, network)\n"
		 "-no-reboot      exit instead of rebooting\n"
		 "-no-shutdown    stop instead of exiting when the guest powers off\n"
		 "-no-acpi        no ACPI tables\n"
		 "-S              do not start vCPUs until 'cont'\n"
		 "\nBoot:\n"
		 "-kernel file    PVH ELF or Linux bzImage\n"
		 "-initrd file    initial ram disk\n"
		 "-append cmdline kernel command line\n"
		 "-boot [order=drives][,once=drives][,menu=on|off][,strict=on|off]\n"
		 "      [,splash=file][,splash-time=ms][,reboot-timeout=ms]\n"
		 "                checked, then no effect: kite has no firmware and\n"
		 "                always starts -kernel (a boot order needs -kernel)\n"
		 "\nDevices:\n"
		 "-device driver[,prop[=value][,...]]  (-device help lists drivers)\n"
		 "-serial dev     stdio, file:PATH, pty, null, none, chardev:ID, mon:dev,\n"
		 "                unix:PATH[,server=on][,wait=off], tcp:HOST:PORT[,server...]\n"
		 "-chardev stdio|file|pty|null|socket,id=ID[,...]\n"
		 "-net, -netdev, -nic, -object filter-dump,...  networking\n"
		 "-nographic      no display; serial and monitor on stdio\n"
		 "-display none   no display\n"
		 "-vga none, -parallel none  (nothing else: kite has no display or parallel port)\n"
		 "\nMonitors:\n"
		 "-monitor dev    HMP on a character device\n"
		 "-qmp dev        QMP on a character device\n"
		 "-mon [chardev=]ID[,mode=readline|control][,pretty=on|off][,id=name]\n"
		 "-qtest dev      qtest protocol on a character device (with -accel qtest)\n"
		 "-qtest-log file|none\n"
		 "\nProcess:\n"
		 "-daemonize      detach once the machine is set up\n"
		 "-pidfile file   write the process id to file (removed at exit)\n"
		 "-D logfile      write log messages to logfile\n"
		 "-d item,...     log items: guest_errors, unimp (-d help)\n"
		 "-rtc [base=utc|localtime|date][,clock=host][,driftfix=none|slew]\n"
		 "-msg timestamp=on|off, -overcommit mem-lock=on|off\n"
		 "-global driver.property=value  default property of -device drivers;\n"
		 "                also kvm-pit.lost_tick_policy, PIIX4_PM.disable_s3/s4\n"
		 "-sandbox off    (kite has no seccomp sandbox yet)\n"));
}

static const struct opt_def *find_opt(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(opt_defs); i++)
		if (!strcmp(opt_defs[i].name, name))
			return &opt_defs[i];
	return NULL;
}

static void parse_argv(int argc, char **argv)
{
	occs = g_array_new(false, false, sizeof(struct opt_occ));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			/* QEMU: a bare argument is the first hard disk */
			error_report(_("%s: a disk image as bare argument (-hda) is not supported "
				       "yet"),
				     a);
			exit(1);
		}
		const char *name = a + 1;
		if (name[0] == '-')
			name++;
		const struct opt_def *d = find_opt(name);
		if (!d) {
			error_report(_("%s: invalid option"), a);
			exit(1);
		}
		struct opt_occ o = {.name = d->name, .arg = NULL};
		if (d->arg == ARG_REQUIRED) {
			if (i + 1 >= argc) {
				error_report(_("%s: requires an argument"), a);
				exit(1);
			}
			o.arg = argv[++i];
		}
		g_array_append_val(occs, o);
	}
}

/* ---- option handlers that only record configuration ---- */

struct cfg {
	bool accel_set;
	const char *accel;
	bool nographic;
	bool display_none;
	GPtrArray *serials;
	GPtrArray *monitors; /* "spec" for HMP */
	GPtrArray *qmps;     /* "spec" for QMP */
	GPtrArray *qmp_pretty;
	GPtrArray *mons; /* -mon option strings */
	GPtrArray *chardevs;
	GPtrArray *devices;
	const char *qtest_spec;
	const char *qtest_log;
	bool vga_none;
	bool dump_guest_core;
	bool mem_merge;
	bool net_options;
};

static struct cfg cfg = {.dump_guest_core = true, .mem_merge = true};

static void handle_machine(const char *arg)
{
	GError *err = NULL;
	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		printf("Supported machines are:\n");
		printf("%-20s %s\n", "pc",
		       "Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)");
		printf("%-20s %s\n", "pc-i440fx-7.2",
		       "Standard PC (i440FX + PIIX, 1996) (default)");
		printf("%-20s %s\n", "none", "empty machine (qtest only)");
		exit(0);
	}
	struct kvlist *kv = kv_parse(arg, "type", &err);
	if (!kv)
		die("machine", arg, err);
	const char *type = kv_get(kv, "type");
	if (type) {
		if (!strcmp(type, "q35") || g_str_has_prefix(type, "pc-q35") ||
		    !strcmp(type, "microvm") || !strcmp(type, "isapc") || !strcmp(type, "x-remote"))
			fail("machine", arg, _("machine type '%s' is not supported yet"), type);
		if (strcmp(type, "pc") != 0 && !g_str_has_prefix(type, "pc-i440fx-") &&
		    strcmp(type, "none") != 0)
			fail("machine", arg,
			     _("unsupported machine type: \"%s\"\nUse -machine help "
			       "to list supported machines"),
			     type);
	}
	const char *accel = kv_get(kv, "accel");
	if (accel) {
		cfg.accel = g_strdup(accel);
		cfg.accel_set = true;
	}
	const char *usb = kv_get(kv, "usb");
	bool b;
	if (usb && (!parse_bool(usb, &b) || b))
		fail("machine", arg, _("property 'usb=%s' is not supported yet (no USB)"), usb);
	if (!kv_get_bool(kv, "dump-guest-core", true, &cfg.dump_guest_core, &err) ||
	    !kv_get_bool(kv, "mem-merge", true, &cfg.mem_merge, &err) ||
	    !kv_get_bool(kv, "vmport", false, &b, &err))
		die("machine", arg, err);
	if (b)
		fail("machine", arg, _("property 'vmport=on' is not supported yet"));
	/* acpi=off is -no-acpi; graphics= only tells firmware where to print */
	const char *acpi = kv_get(kv, "acpi");
	if (acpi && strcmp(acpi, "auto") != 0) {
		bool on;
		if (!parse_bool(acpi, &on))
			fail("machine", arg, _("Parameter 'acpi' expects 'on', 'off' or 'auto'"));
		no_acpi = !on;
	}
	if (!kv_get_bool(kv, "graphics", true, &b, &err))
		die("machine", arg, err);
	if (!kv_get_bool(kv, "hpet", false, &b, &err))
		die("machine", arg, err);
	if (b)
		fail("machine", arg,
		     _("property 'hpet=on' is not supported yet (kite has no HPET)"));
	const char *smm = kv_get(kv, "smm");
	if (smm && strcmp(smm, "auto") != 0 && (!parse_bool(smm, &b) || b))
		fail("machine", arg,
		     _("property 'smm=%s' is not supported (kite has no System Management Mode)"),
		     smm);
	const char *irqchip = kv_get(kv, "kernel_irqchip");
	if (irqchip && (!parse_bool(irqchip, &b) || !b))
		fail("machine", arg,
		     _("property 'kernel_irqchip=%s' is not supported (kite always uses KVM's "
		       "in-kernel irqchip)"),
		     irqchip);
	for (guint i = 0; i < kv->items->len; i++) {
		struct kv_item *it = kv->items->pdata[i];
		if (!it->used)
			fail("machine", arg, _("Property 'pc-i440fx-7.2-machine.%s' not found"),
			     it->key);
	}
	kv_free(kv);
}

static void handle_accel(const char *arg)
{
	GError *err = NULL;
	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		printf("Accelerators supported in kite binary:\nkvm\nqtest\n");
		exit(0);
	}
	struct kvlist *kv = kv_parse(arg, "accel", &err);
	if (!kv)
		die("accel", arg, err);
	const char *a = kv_get(kv, "accel");
	if (!a)
		fail("accel", arg, _("Parameter 'accel' is missing"));
	if (!strcmp(a, "tcg") || !strcmp(a, "xen") || !strcmp(a, "hvf") || !strcmp(a, "whpx"))
		fail("accel", arg, _("accelerator '%s' is not supported (kite runs on KVM)"), a);
	if (strcmp(a, "kvm") != 0 && strcmp(a, "qtest") != 0)
		fail("accel", arg, _("invalid accelerator %s"), a);
	if (!kv_check_all_used(kv, &err))
		die("accel", arg, err);
	cfg.accel = g_strdup(a);
	cfg.accel_set = true;
	kv_free(kv);
}

static void handle_smp(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "cpus", &err);
	if (!kv)
		die("smp", arg, err);
	uint64_t cpus, sockets, dies, cores, threads, maxcpus;
	if (!kv_get_uint(kv, "cpus", 0, &cpus, &err) ||
	    !kv_get_uint(kv, "sockets", 0, &sockets, &err) ||
	    !kv_get_uint(kv, "dies", 1, &dies, &err) ||
	    !kv_get_uint(kv, "cores", 0, &cores, &err) ||
	    !kv_get_uint(kv, "threads", 0, &threads, &err) ||
	    !kv_get_uint(kv, "maxcpus", 0, &maxcpus, &err) || !kv_check_all_used(kv, &err))
		die("smp", arg, err);
	if (kv_has(kv, "cpus") && cpus == 0)
		fail("smp", arg,
		     _("Invalid SMP CPUs 0. The max CPUs supported by machine "
		       "'pc-i440fx-7.2' is 255"));
	uint64_t topo =
	    (sockets ? sockets : 1) * dies * (cores ? cores : 1) * (threads ? threads : 1);
	if (!cpus)
		cpus = (sockets || cores || threads) ? topo : (maxcpus ? maxcpus : 1);
	if ((sockets || cores || threads) && topo != cpus && topo != maxcpus)
		fail("smp", arg,
		     _("Invalid CPU topology: product of the hierarchy must match "
		       "maxcpus: sockets (%llu) * dies (%llu) * cores (%llu) * threads "
		       "(%llu) != maxcpus (%llu)"),
		     (unsigned long long)sockets, (unsigned long long)dies,
		     (unsigned long long)cores, (unsigned long long)threads,
		     (unsigned long long)(maxcpus ? maxcpus : cpus));
	if (maxcpus && maxcpus != cpus)
		fail("smp", arg, _("maxcpus > cpus (CPU hotplug) is not supported yet"));
	if (cpus < 1 || cpus > 255)
		fail("smp", arg,
		     _("Invalid SMP CPUs %llu. The max CPUs supported by machine "
		       "'pc-i440fx-7.2' is 255"),
		     (unsigned long long)cpus);
	machine_cfg.smp = cpus;
	kv_free(kv);
}

static void handle_m(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "size", &err);
	if (!kv)
		die("m", arg, err);
	const char *size = kv_get(kv, "size");
	if (kv_has(kv, "slots") || kv_has(kv, "maxmem"))
		fail("m", arg, _("memory hotplug (slots, maxmem) is not supported yet"));
	if (!kv_check_all_used(kv, &err))
		die("m", arg, err);
	uint64_t sz;
	if (!size || !parse_size(size, 1ULL << 20, &sz))
		fail("m", arg, _("Parameter 'size' expects a size (e.g. 512M or 2G)"));
	/* QEMU rounds to 8 KiB; kite needs page granularity and >= 2 MiB for
	 * its boot structures and a kernel */
	sz = (sz + 8191) & ~8191ULL;
	if (sz < 2 * 1024 * 1024)
		fail("m", arg, _("ram size too small (at least 2M is needed)"));
	if (sz > (1ULL << 46))
		fail("m", arg, _("ram size too large"));
	machine_cfg.ram_size = sz;
	kv_free(kv);
}

static void handle_name(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "guest", &err);
	if (!kv)
		die("name", arg, err);
	bool dt;
	const char *g = kv_get(kv, "guest");
	if (!kv_get_bool(kv, "debug-threads", false, &dt, &err))
		die("name", arg, err);
	if (kv_has(kv, "process"))
		fail("name", arg, _("property 'process' is not supported yet"));
	if (!kv_check_all_used(kv, &err))
		die("name", arg, err);
	machine_cfg.name = g ? g_strdup(g) : NULL;
	kv_free(kv);
}

static void handle_display(const char *arg)
{
	if (!strcmp(arg, "none")) {
		cfg.display_none = true;
		return;
	}
	if (!strcmp(arg, "help")) {
		printf("Available display backend types:\nnone\n");
		exit(0);
	}
	fail("display", arg, _("display '%s' is not supported yet (only 'none')"), arg);
}

static void handle_cpu(const char *arg)
{
	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		cpuid_list_models();
		exit(0);
	}
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "model", &err);
	if (!kv)
		die("cpu", arg, err);
	const char *model = kv_get(kv, "model");
	if (!model || !cpuid_model_known(model))
		fail("cpu", arg, _("unable to find CPU model '%s'"), model ? model : "");
	/* libvirt's host-passthrough is "-cpu host,migratable=on" */
	if (cpuid_model_has_host_features(model)) {
		bool migratable;
		if (!kv_get_bool(kv, "migratable", true, &migratable, &err))
			die("cpu", arg, err);
		cpuid_set_migratable(migratable);
	}
	for (guint i = 0; i < kv->items->len; i++)
		if (!((struct kv_item *)kv->items->pdata[i])->used)
			fail("cpu", arg,
			     _("CPU properties and feature flags are not supported yet"));
	machine_cfg.cpu_model = g_strdup(model);
	kv_free(kv);
}

static void handle_log(const char *arg)
{
	if (!strcmp(arg, "help")) {
		printf("Log items (comma separated):\n"
		       "guest_errors    log when the guest does something invalid\n"
		       "unimp           log accesses to unimplemented I/O and MMIO\n");
		exit(0);
	}
	char **items = g_strsplit(arg, ",", -1);
	for (char **p = items; *p; p++) {
		if (!strcmp(*p, "guest_errors"))
			log_mask |= LOG_GUEST_ERROR;
		else if (!strcmp(*p, "unimp"))
			log_mask |= LOG_UNIMP;
		else
			fail("d", arg, _("Invalid -d option \"%s\" (-d help lists them)"), *p);
	}
	g_strfreev(items);
}

/* -overcommit [mem-lock=on|off][,cpu-pm=on|off] */
static bool mem_lock;

static void handle_overcommit(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, NULL, &err);
	bool cpu_pm;
	if (!kv || !kv_get_bool(kv, "mem-lock", false, &mem_lock, &err) ||
	    !kv_get_bool(kv, "cpu-pm", false, &cpu_pm, &err) || !kv_check_all_used(kv, &err))
		die("overcommit", arg, err);
	if (cpu_pm)
		fail("overcommit", arg,
		     _("cpu-pm=on (guest HLT/MWAIT without exits) is not supported yet"));
	kv_free(kv);
}

/* Boot devices of QEMU's PC machine: floppies a and b, disk c, CD-ROM d,
 * network n. Each may appear once. */
static void check_boot_devices(const char *arg, const char *key, const char *devs)
{
	if (!*devs)
		fail("boot", arg, _("Parameter '%s' expects boot devices (a, b, c, d, n)"), key);
	for (const char *p = devs; *p; p++) {
		if (!strchr("abcdn", *p)) {
			if (g_ascii_isprint(*p))
				fail("boot", arg, _("Invalid boot device for PC: '%c'"), *p);
			fail("boot", arg, _("Invalid boot device for PC: byte 0x%02x"),
			     (unsigned char)*p);
		}
		if (strchr(p + 1, *p))
			fail("boot", arg, _("Boot device '%c' was given twice"), *p);
	}
}

/* A 0..65535 number of -boot; reboot-timeout also takes -1 ("never"). */
static void check_boot_ms(struct kvlist *kv, const char *arg, const char *key, bool minus_one)
{
	const char *v = kv_get(kv, key);
	uint64_t n;
	if (!v || (minus_one && !strcmp(v, "-1")))
		return;
	if (!parse_uint(v, &n))
		fail("boot", arg, _("Parameter '%s' expects a number"), key);
	if (n > 0xffff)
		fail("boot", arg, _("Parameter '%s' is larger than 65535"), key);
}

/*
 * -boot tells the firmware where to boot from. kite has no firmware: it
 * always starts the -kernel image, just as QEMU's linuxboot option ROM
 * takes precedence over the boot order. So with -kernel every -boot
 * setting is checked and then has no effect; without a kernel a boot
 * order cannot be honoured (checked in kite_main once all options are in).
 */
static bool boot_order_given;

static void handle_boot(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "order", &err);
	if (!kv)
		die("boot", arg, err);
	const char *order = kv_get(kv, "order");
	const char *once = kv_get(kv, "once");
	if (order)
		check_boot_devices(arg, "order", order);
	if (once)
		check_boot_devices(arg, "once", once);
	boot_order_given |= order || once;
	bool b;
	if (!kv_get_bool(kv, "menu", false, &b, &err) ||
	    !kv_get_bool(kv, "strict", false, &b, &err))
		die("boot", arg, err);
	const char *splash = kv_get(kv, "splash");
	if (splash && !*splash)
		fail("boot", arg, _("Parameter 'splash' expects a file name"));
	check_boot_ms(kv, arg, "splash-time", false);
	check_boot_ms(kv, arg, "reboot-timeout", true);
	if (!kv_check_all_used(kv, &err))
		die("boot", arg, err);
	kv_free(kv);
}

/*
 * -rtc [base=utc|localtime|DATE][,clock=host][,driftfix=none|slew].
 * driftfix=slew re-delivers periodic RTC interrupts the guest missed;
 * kite's RTC raises none, so there is nothing to slew and it is accepted
 * (libvirt asks for it for <timer name='rtc' tickpolicy='catchup'/>).
 */
static void handle_rtc(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, NULL, &err);
	if (!kv)
		die("rtc", arg, err);
	const char *base = kv_get(kv, "base");
	const char *clock = kv_get(kv, "clock");
	const char *driftfix = kv_get(kv, "driftfix");
	if (!kv_check_all_used(kv, &err))
		die("rtc", arg, err);
	if (clock && strcmp(clock, "host") != 0) {
		if (!strcmp(clock, "rt") || !strcmp(clock, "vm"))
			fail("rtc", arg, _("clock=%s is not supported yet (only clock=host)"),
			     clock);
		fail("rtc", arg, _("invalid option value '%s'"), clock);
	}
	if (driftfix && strcmp(driftfix, "none") != 0 && strcmp(driftfix, "slew") != 0)
		fail("rtc", arg, _("invalid option value '%s'"), driftfix);
	if (!base || !strcmp(base, "utc")) {
		rtc_configure(false, 0);
	} else if (!strcmp(base, "localtime")) {
		rtc_configure(true, 0);
	} else {
		/* QEMU's formats: 2006-06-17T16:01:21 or 2006-06-17, as UTC */
		struct tm tm = {0};
		const char *end = strptime(base, "%Y-%m-%dT%H:%M:%S", &tm);
		if (!end || *end) {
			memset(&tm, 0, sizeof(tm));
			end = strptime(base, "%Y-%m-%d", &tm);
		}
		if (!end || *end || tm.tm_year < 0)
			fail("rtc", arg,
			     _("invalid datetime format (valid formats: "
			       "'2006-06-17T16:01:21' or '2006-06-17')"));
		time_t t = timegm(&tm);
		rtc_configure(false, (int64_t)t - (int64_t)time(NULL));
	}
	kv_free(kv);
}

/*
 * -sandbox: QEMU's seccomp filter. kite has none yet, so only "off" (what
 * a QEMU without the option does) is accepted; asking for the sandbox is
 * an error rather than a promise kite would not keep.
 */
static void handle_sandbox(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "enable", &err);
	if (!kv)
		die("sandbox", arg, err);
	bool on;
	if (!kv_get_bool(kv, "enable", false, &on, &err))
		die("sandbox", arg, err);
	if (on)
		fail("sandbox", arg, _("kite has no seccomp sandbox yet (only -sandbox off)"));
	/* QEMU's sandbox settings mean nothing while it is off, but must be
	 * well formed */
	static const struct {
		const char *key, *values;
	} settings[] = {
	    {"obsolete", "allow|deny"},
	    {"elevateprivileges", "allow|deny|children"},
	    {"spawn", "allow|deny"},
	    {"resourcecontrol", "allow|deny"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		const char *v = kv_get(kv, settings[i].key);
		g_auto(GStrv) ok = g_strsplit(settings[i].values, "|", -1);
		if (v && !g_strv_contains((const char *const *)ok, v))
			fail("sandbox", arg, _("invalid argument for %s: '%s' (expected %s)"),
			     settings[i].key, v, settings[i].values);
	}
	if (!kv_check_all_used(kv, &err))
		die("sandbox", arg, err);
	kv_free(kv);
}

/* The -global properties of built-in devices (see device.h), checked once
 * every option is known: PIIX4_PM exists only with ACPI. */
static void apply_builtin_globals(void)
{
	const char *v = dev_global_get("kvm-pit", "lost_tick_policy");
	if (v) {
		if (!strcmp(v, "discard"))
			machine_cfg.pit_discard_lost_ticks = true;
		else if (strcmp(v, "delay") != 0)
			fail("global", NULL,
			     _("kvm-pit.lost_tick_policy=%s: unsupported lost tick policy "
			       "(kvm-pit has delay and discard)"),
			     v);
	}
	static const char *const states[] = {"disable_s3", "disable_s4"};
	for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
		uint64_t n;
		v = dev_global_get("PIIX4_PM", states[i]);
		if (!v)
			continue;
		if (!parse_uint(v, &n) || n > 255)
			fail("global", NULL, _("Property 'PIIX4_PM.%s' doesn't take value '%s'"),
			     states[i], v);
		/* kite's DSDT offers S5 only: S3 and S4 are always disabled */
		if (n == 0 && !no_acpi)
			fail("global", NULL,
			     _("PIIX4_PM.%s=0: kite's ACPI offers no %s yet (only power-off, "
			       "S5)"),
			     states[i],
			     i == 0 ? _("suspend to RAM (S3)") : _("suspend to disk (S4)"));
	}
}

static void record(const struct opt_occ *o)
{
	const char *n = o->name, *a = o->arg;
	if (!strcmp(n, "enable-kvm")) {
		cfg.accel = "kvm";
		cfg.accel_set = true;
	} else if (!strcmp(n, "accel")) {
		handle_accel(a);
	} else if (!strcmp(n, "machine") || !strcmp(n, "M")) {
		handle_machine(a);
	} else if (!strcmp(n, "cpu")) {
		handle_cpu(a);
	} else if (!strcmp(n, "smp")) {
		handle_smp(a);
	} else if (!strcmp(n, "m")) {
		handle_m(a);
	} else if (!strcmp(n, "name")) {
		handle_name(a);
	} else if (!strcmp(n, "kernel")) {
		machine_cfg.kernel = a;
	} else if (!strcmp(n, "initrd")) {
		machine_cfg.initrd = a;
	} else if (!strcmp(n, "append")) {
		machine_cfg.append = a;
	} else if (!strcmp(n, "nographic")) {
		cfg.nographic = true;
	} else if (!strcmp(n, "display")) {
		handle_display(a);
	} else if (!strcmp(n, "serial")) {
		g_ptr_array_add(cfg.serials, (gpointer)a);
	} else if (!strcmp(n, "chardev")) {
		g_ptr_array_add(cfg.chardevs, (gpointer)a);
	} else if (!strcmp(n, "monitor")) {
		g_ptr_array_add(cfg.monitors, (gpointer)a);
	} else if (!strcmp(n, "qmp")) {
		g_ptr_array_add(cfg.qmps, (gpointer)a);
		g_ptr_array_add(cfg.qmp_pretty, GINT_TO_POINTER(0));
	} else if (!strcmp(n, "qmp-pretty")) {
		g_ptr_array_add(cfg.qmps, (gpointer)a);
		g_ptr_array_add(cfg.qmp_pretty, GINT_TO_POINTER(1));
	} else if (!strcmp(n, "mon")) {
		g_ptr_array_add(cfg.mons, (gpointer)a);
	} else if (!strcmp(n, "daemonize")) {
		daemonize = true;
	} else if (!strcmp(n, "pidfile")) {
		pidfile_path = g_strdup(a);
	} else if (!strcmp(n, "S")) {
		machine_cfg.start_paused = true;
	} else if (!strcmp(n, "no-reboot")) {
		machine_cfg.no_reboot = true;
	} else if (!strcmp(n, "no-shutdown")) {
		machine_cfg.no_shutdown = true;
	} else if (!strcmp(n, "nodefaults")) {
		machine_cfg.nodefaults = true;
	} else if (!strcmp(n, "device")) {
		g_ptr_array_add(cfg.devices, (gpointer)a);
	} else if (!strcmp(n, "D")) {
		if (log_set_file(a) < 0)
			fail("D", a, _("could not open log file: %s"), g_strerror(errno));
	} else if (!strcmp(n, "d")) {
		handle_log(a);
	} else if (!strcmp(n, "version")) {
		print_version();
		exit(0);
	} else if (!strcmp(n, "help") || !strcmp(n, "h")) {
		print_help();
		exit(0);
	} else if (!strcmp(n, "qtest")) {
		cfg.qtest_spec = a;
	} else if (!strcmp(n, "qtest-log")) {
		cfg.qtest_log = a;
	} else if (!strcmp(n, "uuid")) {
		if (!g_uuid_string_is_valid(a))
			fail("uuid", a, _("Fail to parse UUID string"));
		machine_cfg.uuid = g_strdup(a);
	} else if (!strcmp(n, "no-user-config") || !strcmp(n, "no-hpet")) {
		/* kite reads no config files and has no HPET: already true */
	} else if (!strcmp(n, "no-acpi")) {
		no_acpi = true;
	} else if (!strcmp(n, "vga")) {
		if (strcmp(a, "none") != 0)
			fail("vga", a, _("VGA '%s' is not supported yet (only none)"), a);
		cfg.vga_none = true;
	} else if (!strcmp(n, "parallel")) {
		if (strcmp(a, "none") != 0)
			fail("parallel", a, _("parallel ports are not supported yet (only none)"));
	} else if (!strcmp(n, "rtc")) {
		handle_rtc(a);
	} else if (!strcmp(n, "msg")) {
		GError *err = NULL;
		struct kvlist *kv = kv_parse(a, NULL, &err);
		bool ts;
		if (!kv || !kv_get_bool(kv, "timestamp", false, &ts, &err) ||
		    !kv_get_bool(kv, "guest-name", false, &ts, &err) ||
		    !kv_check_all_used(kv, &err))
			die("msg", a, err);
		log_timestamps = ts;
		kv_free(kv);
	} else if (!strcmp(n, "boot")) {
		handle_boot(a);
	} else if (!strcmp(n, "global")) {
		GError *err = NULL;
		if (dev_global_add(a, &err) < 0)
			die("global", a, err);
	} else if (!strcmp(n, "sandbox")) {
		handle_sandbox(a);
	} else if (!strcmp(n, "overcommit")) {
		handle_overcommit(a);
	} else if (!strcmp(n, "net") || !strcmp(n, "netdev") || !strcmp(n, "nic")) {
#ifdef KITE_HAVE_NET
		GError *err = NULL;
		int r = !strcmp(n, "net")      ? net_cmdline_net(a, &err)
			: !strcmp(n, "netdev") ? net_cmdline_netdev(a, &err)
					       : net_cmdline_nic(a, &err);
		if (r < 0)
			die(NULL, NULL, err);
		cfg.net_options = true;
#else
		fail(n, a, _("networking is not built into this kite"));
#endif
	} else if (!strcmp(n, "object")) {
#ifdef KITE_HAVE_NET
		GError *err = NULL;
		int r = net_cmdline_object(a, &err);
		if (r < 0)
			die(NULL, NULL, err);
		if (r == 0)
			fail("object", a, _("object type is not supported yet"));
#else
		fail("object", a, _("object type is not supported yet"));
#endif
	} else {
		not_supported(n);
	}
}

/* ---- monitors ---- */

static void add_monitor_on(struct chardev *chr, bool control, bool pretty, const char *opt,
			   const char *arg)
{
	GError *err = NULL;
	if (!chr)
		return;
	if ((control ? qmp_monitor_new(chr, pretty, &err) : hmp_monitor_new(chr, &err)) < 0)
		die(opt, arg, err);
}

static void handle_mon(const char *arg)
{
	GError *err = NULL;
	struct kvlist *kv = kv_parse(arg, "chardev", &err);
	if (!kv)
		die("mon", arg, err);
	const char *id = kv_get(kv, "chardev");
	const char *mode = kv_get(kv, "mode");
	/* id= names the monitor (libvirt passes id=monitor); ids are unique */
	const char *mon_id = kv_get(kv, "id");
	static GHashTable *mon_ids;
	if (mon_id) {
		if (!g_regex_match_simple("^[A-Za-z][A-Za-z0-9_.-]*$", mon_id, 0, 0))
			fail("mon", arg, _("Parameter 'id' expects an identifier"));
		if (!mon_ids)
			mon_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		if (!g_hash_table_add(mon_ids, g_strdup(mon_id)))
			fail("mon", arg, _("Duplicate ID '%s' for mon"), mon_id);
	}
	bool pretty;
	if (!kv_get_bool(kv, "pretty", false, &pretty, &err) || !kv_check_all_used(kv, &err))
		die("mon", arg, err);
	if (!id)
		fail("mon", arg, _("Parameter 'chardev' is missing"));
	struct chardev *chr = chardev_find(id);
	if (!chr)
		fail("mon", arg, _("chardev \"%s\" not found"), id);
	bool control;
	if (!mode || !strcmp(mode, "readline"))
		control = false;
	else if (!strcmp(mode, "control"))
		control = true;
	else
		fail("mon", arg, _("Parameter 'mode' does not accept value '%s'"), mode);
	add_monitor_on(chr, control, pretty, "mon", arg);
	kv_free(kv);
}

/* ---- signals ---- */

static void signal_ready(int fd, uint32_t events, void *opaque)
{
	(void)events;
	(void)opaque;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	char *comm = NULL;
	char *path = g_strdup_printf("/proc/%u/cmdline", si.ssi_pid);
	gsize len = 0;
	if (g_file_get_contents(path, &comm, &len, NULL) && len)
		comm[len - 1] = 0;
	g_free(path);
	error_report(_("terminating on signal %u from pid %u (%s)"), si.ssi_signo, si.ssi_pid,
		     comm && *comm ? comm : "<unknown process>");
	g_free(comm);
	machine_request_shutdown(SHUTDOWN_CAUSE_HOST_SIGNAL, 0);
}

static void setup_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd >= 0)
		ml_add_fd(fd, EPOLLIN, signal_ready, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- process ---- */

static void do_daemonize(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		error_report("pipe: %s", g_strerror(errno));
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		error_report("fork: %s", g_strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		uint8_t status;
		ssize_t n;
		do {
			n = read(fds[0], &status, 1);
		} while (n < 0 && errno == EINTR);
		/* the child reports 0 once the machine is up */
		_exit(n == 1 && status == 0 ? 0 : 1);
	}
	close(fds[0]);
	daemon_pipe = fds[1];
	setsid();
	pid = fork();
	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	umask(027);
	if (chdir("/") < 0) {
		/* not fatal */
	}
}

static void daemonize_done(void)
{
	if (daemon_pipe < 0)
		return;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		/* as QEMU: a daemon's messages go to the -D log, not the
		 * terminal it was started from */
		dup2(null, 2);
		close(null);
	}
	uint8_t ok = 0;
	if (write(daemon_pipe, &ok, 1) < 0) {
		/* the parent died: nothing to report to */
	}
	close(daemon_pipe);
	daemon_pipe = -1;
}

static void write_pidfile(void)
{
	if (!pidfile_path)
		return;
	char *abs = g_canonicalize_filename(pidfile_path, NULL);
	g_free(pidfile_path);
	pidfile_path = abs;
	pidfile_fd = open(pidfile_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (pidfile_fd < 0) {
		char *p = pidfile_path;
		pidfile_path = NULL;
		fail("pidfile", p, _("Cannot open pid file: %s"), g_strerror(errno));
	}
	if (lockf(pidfile_fd, F_TLOCK, 0) < 0) {
		char *p = pidfile_path;
		pidfile_path = NULL; /* it belongs to the running instance */
		fail("pidfile", p, _("Cannot lock pid file: %s"), g_strerror(errno));
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(pidfile_fd, 0) < 0 || write(pidfile_fd, buf, n) != n)
		fail("pidfile", pidfile_path, _("Failed to write pid file: %s"), g_strerror(errno));
}

static void lock_before_wait(void *opaque)
{
	(void)opaque;
	kite_unlock();
}

static void lock_after_wait(void *opaque)
{
	(void)opaque;
	kite_lock();
}

static void create_nics(void)
{
#ifdef KITE_HAVE_NET
	GError *err = NULL;
	if (net_cmdline_finish(&err) < 0)
		die(NULL, NULL, err);
	for (GList *l = net_nic_configs(); l; l = l->next) {
		NicConfig *nc = l->data;
		GString *spec = g_string_new(nc->model);
		if (nc->addr)
			g_string_append_printf(spec, ",addr=%s", nc->addr);
		if (dev_create_extra(spec->str, nc, &err) < 0) {
			error_report("%s: %s", nc->where ? nc->where : nc->model, err->message);
			g_error_free(err);
			cleanup();
			exit(1);
		}
		g_string_free(spec, true);
	}
#endif
}

int kite_main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, KITE_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	cfg.serials = g_ptr_array_new();
	cfg.monitors = g_ptr_array_new();
	cfg.qmps = g_ptr_array_new();
	cfg.qmp_pretty = g_ptr_array_new();
	cfg.mons = g_ptr_array_new();
	cfg.chardevs = g_ptr_array_new();
	cfg.devices = g_ptr_array_new();
	machine_cfg.ram_size = 128ULL << 20;

	parse_argv(argc, argv);
	/* -device help and friends print and exit before anything is set up */
	for (guint i = 0; i < occs->len; i++) {
		struct opt_occ *o = &g_array_index(occs, struct opt_occ, i);
		if (!strcmp(o->name, "device") &&
		    (!strcmp(o->arg, "help") || !strcmp(o->arg, "?") ||
		     g_str_has_suffix(o->arg, ",help") || g_str_has_suffix(o->arg, ",?"))) {
			GError *err = NULL;
			bool helped;
			if (dev_create(o->arg, &helped, &err) < 0)
				die("device", o->arg, err);
			exit(0);
		}
	}
#ifdef KITE_HAVE_NET
	/* must be known before -net/-nic options are checked */
	for (guint i = 0; i < occs->len; i++)
		if (!strcmp(g_array_index(occs, struct opt_occ, i).name, "nodefaults"))
			net_cmdline_set_nodefaults(true);
#endif
	for (guint i = 0; i < occs->len; i++)
		record(&g_array_index(occs, struct opt_occ, i));

	apply_builtin_globals();

	bool qtest = cfg.qtest_spec || (cfg.accel && !strcmp(cfg.accel, "qtest"));
	if (cfg.accel && !strcmp(cfg.accel, "kvm") && cfg.qtest_spec)
		fail("qtest", cfg.qtest_spec, _("-qtest needs -accel qtest"));
	machine_cfg.qtest = qtest;
	if (!qtest && !machine_cfg.kernel && boot_order_given)
		fail("boot", NULL, _("kite has no firmware: -boot needs -kernel"));
	if (!qtest && !machine_cfg.kernel) {
		error_report(_("no -kernel given: kite has no firmware and boots a kernel "
			       "directly (PVH ELF or bzImage)"));
		exit(1);
	}
	/* without -accel kite still uses KVM: it has no other accelerator */

	if (daemonize) {
		if (cfg.nographic)
			fail("nographic", NULL, _("-nographic cannot be used with -daemonize"));
		do_daemonize();
	}
	write_pidfile();

	if (ml_init() < 0)
		fail(NULL, NULL, _("cannot create the main loop"));
	setup_signals();
	kite_lock();

	GError *err = NULL;
	if (guest_ram_alloc(machine_cfg.ram_size, &err) < 0)
		die(NULL, NULL, err);
	if (!cfg.dump_guest_core)
		madvise(guest_ram_base(), machine_cfg.ram_size, MADV_DONTDUMP);
	if (!cfg.mem_merge)
		madvise(guest_ram_base(), machine_cfg.ram_size, MADV_UNMERGEABLE);
	/* -overcommit mem-lock=on: guest RAM and kite itself never swap */
	if (mem_lock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		fail("overcommit", "mem-lock=on", _("locking memory failed: %s"),
		     g_strerror(errno));
	if (boot_load_files(&err) < 0)
		die(NULL, NULL, err);
	if (!qtest) {
		if (kvm_init(&err) < 0 || kvm_map_ram(&err) < 0)
			die(NULL, NULL, err);
	}

	/* character devices, then their users */
	for (guint i = 0; i < cfg.chardevs->len; i++) {
		const char *a = cfg.chardevs->pdata[i];
		if (!strcmp(a, "help")) {
			printf(
			    "Available chardev backend types:\n  file\n  null\n  pty\n  socket\n  "
			    "stdio\n");
			exit(0);
		}
		if (!chardev_new(a, &err))
			die("chardev", a, err);
	}
	if (qtest) {
		const char *spec = cfg.qtest_spec ? cfg.qtest_spec : "none";
		struct chardev *chr = chardev_new_legacy(spec, "qtest", &err);
		if (!chr && err)
			die("qtest", spec, err);
		if (qtest_init(chr, cfg.qtest_log, &err) < 0)
			die("qtest", spec, err);
	}
	bool defaults = !machine_cfg.nodefaults;
	if (cfg.serials->len == 0 && defaults)
		g_ptr_array_add(cfg.serials, cfg.nographic ? "mon:stdio" : "null");
	if (cfg.monitors->len == 0 && cfg.qmps->len == 0 && cfg.mons->len == 0 && defaults &&
	    cfg.nographic) {
		/* -nographic: the monitor shares stdio with the serial port */
		bool stdio_serial = false;
		for (guint i = 0; i < cfg.serials->len; i++)
			if (!strcmp(cfg.serials->pdata[i], "mon:stdio"))
				stdio_serial = true;
		if (!stdio_serial)
			g_ptr_array_add(cfg.monitors, "stdio");
	}

	pci_init(NULL);
	if (!machine_cfg.nodefaults && !cfg.vga_none)
		pci_reserve_slot(2); /* where QEMU's default VGA sits */
	i8042_init();
	rtc_init();
	port61_init();
	if (!no_acpi)
		acpi_pm_init();
	fw_cfg_init();
	for (guint i = 0; i < cfg.serials->len; i++) {
		const char *spec = cfg.serials->pdata[i];
		char *id = g_strdup_printf("serial%u", i);
		struct chardev *chr = chardev_new_legacy(spec, id, &err);
		g_free(id);
		if (!chr && err)
			die("serial", spec, err);
		if (serial_hds_create(i, chr, &err) < 0)
			die("serial", spec, err);
		if (chr && chardev_is_mux(chr))
			add_monitor_on(chr, false, false, "serial", spec);
	}
	for (guint i = 0; i < cfg.monitors->len; i++) {
		const char *spec = cfg.monitors->pdata[i];
		char *id = g_strdup_printf("compat_monitor%u", i);
		struct chardev *chr = chardev_new_legacy(spec, id, &err);
		g_free(id);
		if (!chr && err)
			die("monitor", spec, err);
		add_monitor_on(chr, false, false, "monitor", spec);
	}
	for (guint i = 0; i < cfg.qmps->len; i++) {
		const char *spec = cfg.qmps->pdata[i];
		char *id = g_strdup_printf("compat_monitor%u", cfg.monitors->len + i);
		struct chardev *chr = chardev_new_legacy(spec, id, &err);
		g_free(id);
		if (!chr && err)
			die("qmp", spec, err);
		add_monitor_on(chr, true, GPOINTER_TO_INT(cfg.qmp_pretty->pdata[i]), "qmp", spec);
	}
	for (guint i = 0; i < cfg.mons->len; i++)
		handle_mon(cfg.mons->pdata[i]);

	create_nics();
	for (guint i = 0; i < cfg.devices->len; i++) {
		const char *spec = cfg.devices->pdata[i];
		if (dev_create(spec, NULL, &err) < 0)
			die("device", spec, err);
	}
	pci_assign_resources();
	fw_cfg_finish();

	if (!qtest) {
		struct boot_entry entry;
		if (no_acpi)
			acpi_disable();
		if (boot_prepare(&entry, &err) < 0)
			die(NULL, NULL, err);
		if (kvm_create_vcpus(machine_cfg.smp, machine_cfg.cpu_model, &err) < 0 ||
		    kvm_reset_vcpus(&entry, &err) < 0)
			die(NULL, NULL, err);
	}
	if (chardev_start_all(&err) < 0)
		die(NULL, NULL, err);
	daemonize_done();

	if (!qtest)
		kvm_start_vcpus();
	/* with -S the machine stays in "prelaunch" until cont */
	if (!machine_cfg.start_paused)
		vm_start();

	ml_set_poll_hooks(lock_before_wait, lock_after_wait, NULL);
	ml_run();
	cleanup();
	fflush(stdout);
	/* vCPU threads may still sit in KVM_RUN: leave without joining them */
	_exit(exit_status);
}
