/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Facts about the host, read from the running system each time they are
 * asked for: node info, capabilities, domain capabilities, SMBIOS sysinfo,
 * KVM's vCPU limit and the emulator's version.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon.h"
#include "procs.h"

const char *host_emulator_path(void)
{
	return cfg.emulator;
}

static char *read_trimmed(const char *path)
{
	char *s = NULL;
	if (!g_file_get_contents(path, &s, NULL, NULL))
		return NULL;
	return g_strstrip(s);
}

static uint64_t meminfo_kib(const char *key)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL))
		return 0;
	size_t klen = strlen(key);
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return g_ascii_strtoull(line + klen + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

struct host_topology {
	int cpus, mhz, nodes, sockets, cores, threads;
};

static int count_dirs(const char *dir, const char *prefix)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	int count = 0;
	size_t plen = strlen(prefix);

	if (!d)
		return 0;
	while ((n = g_dir_read_name(d)))
		if (strncmp(n, prefix, plen) == 0 && g_ascii_isdigit(n[plen]))
			count++;
	return count;
}

static void host_topology(struct host_topology *t)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	g_autoptr(GHashTable) packages = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_autoptr(GHashTable) cores = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *core_keys = g_ptr_array_new_with_free_func(g_free);

	t->cpus = online > 0 ? (int)online : 1;
	t->nodes = MAX(count_dirs("/sys/devices/system/node", "node"), 1);
	for (int cpu = 0; cpu < t->cpus; cpu++) {
		g_autofree char *p = g_strdup_printf(
		    "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
		g_autofree char *c =
		    g_strdup_printf("/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
		g_autofree char *pv = read_trimmed(p);
		g_autofree char *cv = read_trimmed(c);
		int pkg = pv ? atoi(pv) : 0;
		g_hash_table_add(packages, GINT_TO_POINTER(pkg + 1));
		char *key = g_strdup_printf("%d/%s", pkg, cv ? cv : "0");
		g_ptr_array_add(core_keys, key);
		g_hash_table_add(cores, key);
	}
	int npkg = MAX((int)g_hash_table_size(packages), 1);
	int ncore = MAX((int)g_hash_table_size(cores), 1);
	t->sockets = MAX(npkg / t->nodes, 1);
	t->cores = MAX(ncore / npkg, 1);
	t->threads = MAX(t->cpus / (t->nodes * t->sockets * t->cores), 1);
	g_ptr_array_unref(core_keys);

	t->mhz = 0;
	g_autofree char *khz =
	    read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
	if (khz)
		t->mhz = atoi(khz) / 1000;
	if (t->mhz == 0) {
		g_autofree char *info = NULL;
		if (g_file_get_contents("/proc/cpuinfo", &info, NULL, NULL)) {
			char *m = strstr(info, "cpu MHz");
			if (m && (m = strchr(m, ':')))
				t->mhz = (int)g_ascii_strtod(m + 1, NULL);
		}
	}
}

PROC(proc_node_get_info)
{
	struct utsname u;
	struct host_topology t;
	char model[32] = {0};

	(void)c;
	if (!args_end(in, err))
		return false;
	uname(&u);
	g_strlcpy(model, u.machine, sizeof(model));
	host_topology(&t);
	xdr_put_char_array(out, model, sizeof(model), false);
	xdr_put_u64(out, meminfo_kib("MemTotal"));
	xdr_put_i32(out, t.cpus);
	xdr_put_i32(out, t.mhz);
	xdr_put_i32(out, t.nodes);
	xdr_put_i32(out, t.sockets);
	xdr_put_i32(out, t.cores);
	xdr_put_i32(out, t.threads);
	return true;
}

static bool kvm_usable(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

static int kvm_max_vcpus(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	close(fd);
	return n;
}

PROC(proc_get_max_vcpus)
{
	g_autofree char *type = NULL;

	(void)c;
	if (!xdr_get_opt_string(in, 256, &type))
		return malformed(err, "type");
	if (!args_end(in, err))
		return false;
	if (type && g_ascii_strcasecmp(type, "kvm") != 0 && g_ascii_strcasecmp(type, "kite") != 0) {
		virt_error(err, VERR_INVALID_ARG, _("unknown virtualization type '%s'"), type);
		return false;
	}
	int n = kvm_max_vcpus();
	if (n <= 0) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("cannot ask /dev/kvm for its vCPU limit: %s"), g_strerror(errno));
		return false;
	}
	xdr_put_i32(out, n);
	return true;
}

/* kite --version, parsed to libvirt's major * 1000000 + minor * 1000 + micro.
 * Cached for as long as the binary is unchanged. */
static bool emulator_version(uint64_t *version, GError **err)
{
	static char *cached_path;
	static gint64 cached_mtime;
	static uint64_t cached;
	struct stat st;

	if (stat(cfg.emulator, &st) < 0) {
		virt_error(err, VERR_OPERATION_FAILED, _("cannot find the emulator '%s': %s"),
			   cfg.emulator, g_strerror(errno));
		return false;
	}
	if (cached_path && strcmp(cached_path, cfg.emulator) == 0 && cached_mtime == st.st_mtime) {
		*version = cached;
		return true;
	}
	const char *argv[] = {cfg.emulator, "--version", NULL};
	g_autofree char *output = NULL;
	g_autofree char *errout = NULL;
	g_autoptr(GError) spawn_err = NULL;
	int status;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &output, &errout,
			  &status, &spawn_err)) {
		virt_error(err, VERR_OPERATION_FAILED, _("cannot run '%s --version': %s"),
			   cfg.emulator, spawn_err->message);
		return false;
	}
	const char *v = output ? strstr(output, "version ") : NULL;
	unsigned major, minor, micro = 0;
	if (!v || sscanf(v + 8, "%u.%u.%u", &major, &minor, &micro) < 2) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("cannot find a version number in the output of '%s --version'"),
			   cfg.emulator);
		return false;
	}
	cached = (uint64_t)major * 1000000 + minor * 1000 + micro;
	g_free(cached_path);
	cached_path = g_strdup(cfg.emulator);
	cached_mtime = st.st_mtime;
	*version = cached;
	return true;
}

PROC(proc_get_version)
{
	uint64_t v;

	(void)c;
	if (!args_end(in, err) || !emulator_version(&v, err))
		return false;
	xdr_put_u64(out, v);
	return true;
}

static char *host_cpu_vendor_model(char **vendor)
{
	g_autofree char *info = NULL;
	char *model = NULL;

	*vendor = NULL;
	if (!g_file_get_contents("/proc/cpuinfo", &info, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
	for (char **l = lines; *l && !(model && *vendor); l++) {
		char *colon = strchr(*l, ':');
		if (!colon)
			continue;
		if (!*vendor && g_str_has_prefix(*l, "vendor_id"))
			*vendor = g_strstrip(g_strdup(colon + 1));
		else if (!model && g_str_has_prefix(*l, "model name"))
			model = g_strstrip(g_strdup(colon + 1));
	}
	return model;
}

static void host_uuid(char out[37])
{
	g_autofree char *id = read_trimmed("/sys/class/dmi/id/product_uuid");
	if (!id || strlen(id) != 36)
		id = read_trimmed("/etc/machine-id");
	if (id && strlen(id) == 36) {
		g_strlcpy(out, id, 37);
		return;
	}
	/* machine-id is 32 hex digits: give it the UUID dashes. */
	if (id && strlen(id) == 32) {
		snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16,
			 id + 20);
		return;
	}
	g_strlcpy(out, "00000000-0000-0000-0000-000000000000", 37);
}

static void xml_escape_into(GString *s, const char *text)
{
	g_autofree char *e = g_markup_escape_text(text, -1);
	g_string_append(s, e);
}

PROC(proc_get_capabilities)
{
	struct utsname u;
	struct host_topology t;
	char uuid[37];
	g_autofree char *vendor = NULL;
	g_autofree char *model = host_cpu_vendor_model(&vendor);
	GString *s = g_string_new(NULL);

	(void)c;
	if (!args_end(in, err)) {
		g_string_free(s, TRUE);
		return false;
	}
	uname(&u);
	host_topology(&t);
	host_uuid(uuid);
	g_string_append_printf(s, "<capabilities>\n\n  <host>\n    <uuid>%s</uuid>\n    <cpu>\n",
			       uuid);
	g_string_append_printf(s, "      <arch>%s</arch>\n", u.machine);
	if (vendor) {
		g_string_append(s, "      <vendor>");
		xml_escape_into(s, vendor);
		g_string_append(s, "</vendor>\n");
	}
	g_string_append_printf(s,
			       "      <topology sockets='%d' dies='1' cores='%d' threads='%d'/>\n",
			       t.sockets * t.nodes, t.cores, t.threads);
	g_string_append(s, "    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n");
	g_string_append(s, "    <migration_features/>\n");
	g_string_append_printf(s,
			       "    <topology>\n      <cells num='1'>\n        <cell id='0'>\n"
			       "          <memory unit='KiB'>%" G_GUINT64_FORMAT "</memory>\n"
			       "          <cpus num='%d'>\n",
			       meminfo_kib("MemTotal"), t.cpus);
	for (int i = 0; i < t.cpus; i++)
		g_string_append_printf(s, "            <cpu id='%d'/>\n", i);
	g_string_append(s, "          </cpus>\n        </cell>\n      </cells>\n    </topology>\n");
	g_string_append(s, "    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n"
			   "    </secmodel>\n  </host>\n\n");
	/* kite emulates an x86-64 PC; it needs KVM, so only that domain type. */
	g_string_append(s, "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n"
			   "      <wordsize>64</wordsize>\n      <emulator>");
	xml_escape_into(s, host_emulator_path());
	g_string_append(s, "</emulator>\n      <machine maxCpus='255'>pc</machine>\n");
	if (kvm_usable())
		g_string_append(s, "      <domain type='kvm'/>\n");
	g_string_append(s, "    </arch>\n    <features>\n      <acpi default='on' toggle='yes'/>\n"
			   "      <apic default='on' toggle='no'/>\n    </features>\n  </guest>\n\n"
			   "</capabilities>\n");
	xdr_put_string(out, s->str);
	g_string_free(s, TRUE);
	return true;
}

PROC(proc_get_domain_capabilities)
{
	g_autofree char *emulator = NULL, *arch = NULL, *machine = NULL, *virttype = NULL;
	uint32_t flags;

	(void)c;
	if (!xdr_get_opt_string(in, XDR_STRING_MAX, &emulator) ||
	    !xdr_get_opt_string(in, XDR_STRING_MAX, &arch) ||
	    !xdr_get_opt_string(in, XDR_STRING_MAX, &machine) ||
	    !xdr_get_opt_string(in, XDR_STRING_MAX, &virttype) || !xdr_get_u32(in, &flags))
		return malformed(err, "emulatorbin, arch, machine, virttype, flags");
	if (!args_end(in, err))
		return false;
	if (emulator && strcmp(emulator, host_emulator_path()) != 0) {
		virt_error(err, VERR_INVALID_ARG, _("emulator '%s' is not '%s', the one kite uses"),
			   emulator, host_emulator_path());
		return false;
	}
	if (arch && strcmp(arch, "x86_64") != 0) {
		virt_error(err, VERR_INVALID_ARG,
			   _("architecture '%s' is not supported (x86_64 only)"), arch);
		return false;
	}
	if (machine && strcmp(machine, "pc") != 0 && !g_str_has_prefix(machine, "pc-i440fx")) {
		virt_error(err, VERR_INVALID_ARG, _("machine type '%s' is not supported (pc only)"),
			   machine);
		return false;
	}
	if (virttype && g_ascii_strcasecmp(virttype, "kvm") != 0) {
		virt_error(err, VERR_INVALID_ARG,
			   _("virtualization type '%s' is not supported (kvm only)"), virttype);
		return false;
	}
	int maxcpus = kvm_max_vcpus();
	GString *s = g_string_new("<domainCapabilities>\n  <path>");
	xml_escape_into(s, host_emulator_path());
	g_string_append_printf(
	    s,
	    "</path>\n  <domain>kvm</domain>\n  <machine>pc</machine>\n  <arch>x86_64</arch>\n"
	    "  <vcpu max='%d'/>\n  <iothreads supported='no'/>\n"
	    "  <os supported='yes'>\n    <enum name='firmware'/>\n"
	    "    <loader supported='no'/>\n  </os>\n"
	    "  <cpu>\n    <mode name='host-passthrough' supported='yes'/>\n"
	    "    <mode name='maximum' supported='no'/>\n"
	    "    <mode name='host-model' supported='no'/>\n"
	    "    <mode name='custom' supported='no'/>\n  </cpu>\n"
	    "  <memoryBacking supported='no'/>\n"
	    "  <devices>\n    <disk supported='no'/>\n"
	    "    <graphics supported='no'/>\n    <video supported='no'/>\n"
	    "    <hostdev supported='no'/>\n    <rng supported='no'/>\n"
	    "    <filesystem supported='no'/>\n    <tpm supported='no'/>\n"
	    "    <redirdev supported='no'/>\n    <channel supported='no'/>\n"
	    "    <crypto supported='no'/>\n  </devices>\n"
	    "  <features>\n    <gic supported='no'/>\n    <vmcoreinfo supported='no'/>\n"
	    "    <genid supported='no'/>\n    <sev supported='no'/>\n  </features>\n"
	    "</domainCapabilities>\n",
	    maxcpus > 0 ? maxcpus : 1);
	xdr_put_string(out, s->str);
	g_string_free(s, TRUE);
	return true;
}

PROC(proc_get_sysinfo)
{
	static const struct {
		const char *section, *entry, *file;
	} fields[] = {
	    {"bios", "vendor", "bios_vendor"},
	    {"bios", "version", "bios_version"},
	    {"bios", "date", "bios_date"},
	    {"bios", "release", "bios_release"},
	    {"system", "manufacturer", "sys_vendor"},
	    {"system", "product", "product_name"},
	    {"system", "version", "product_version"},
	    {"system", "serial", "product_serial"},
	    {"system", "uuid", "product_uuid"},
	    {"system", "family", "product_family"},
	    {"baseBoard", "manufacturer", "board_vendor"},
	    {"baseBoard", "product", "board_name"},
	    {"baseBoard", "version", "board_version"},
	    {"chassis", "manufacturer", "chassis_vendor"},
	    {"chassis", "version", "chassis_version"},
	};
	uint32_t flags;
	const char *open_section = NULL;

	(void)c;
	if (!xdr_get_u32(in, &flags))
		return malformed(err, "flags");
	if (!args_end(in, err))
		return false;
	if (flags) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags);
		return false;
	}
	GString *s = g_string_new("<sysinfo type='smbios'>\n");
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		g_autofree char *path = g_build_filename("/sys/class/dmi/id", fields[i].file, NULL);
		g_autofree char *value = read_trimmed(path);
		if (!value || !*value)
			continue;
		if (!open_section || strcmp(open_section, fields[i].section) != 0) {
			if (open_section)
				g_string_append_printf(s, "  </%s>\n", open_section);
			open_section = fields[i].section;
			g_string_append_printf(s, "  <%s>\n", open_section);
		}
		g_string_append_printf(s, "    <entry name='%s'>", fields[i].entry);
		xml_escape_into(s, value);
		g_string_append(s, "</entry>\n");
	}
	if (open_section)
		g_string_append_printf(s, "  </%s>\n", open_section);
	g_autofree char *vendor = NULL;
	g_autofree char *model = host_cpu_vendor_model(&vendor);
	if (model) {
		g_string_append(s, "  <processor>\n    <entry name='version'>");
		xml_escape_into(s, model);
		g_string_append(s, "</entry>\n");
		if (vendor) {
			g_string_append(s, "    <entry name='manufacturer'>");
			xml_escape_into(s, vendor);
			g_string_append(s, "</entry>\n");
		}
		g_string_append(s, "  </processor>\n");
	}
	g_string_append_printf(s,
			       "  <memory_device>\n    <entry name='size'>%" G_GUINT64_FORMAT
			       " MB</entry>\n  </memory_device>\n</sysinfo>\n",
			       meminfo_kib("MemTotal") / 1024);
	xdr_put_string(out, s->str);
	g_string_free(s, TRUE);
	return true;
}
