/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite-xml: parse, validate and format libvirt 9.0 domain and network XML,
 * and map a domain definition to kite's (QEMU 7.2 compatible) command line.
 *
 * Ownership: every *_parse_* returns a definition owned by the caller, freed
 * with the matching *_free (g_autoptr works too). All char * fields are
 * g_malloc'ed (g_free'd by *_free) and may be replaced by the caller with
 * g_free + g_strdup. GPtrArray members own their elements (free function set).
 *
 * Errors: GError in domain KITE_XML_ERROR; messages are translated and name
 * the element, the attribute and (when known) the input line.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ------------------------------------------------------------------ errors */

#define KITE_XML_ERROR (kite_xml_error_quark())
GQuark kite_xml_error_quark(void);

typedef enum {
	KITE_XML_ERROR_PARSE,	    /* not well-formed, too large, DTD/entities */
	KITE_XML_ERROR_INVALID,	    /* well-formed but not valid libvirt XML */
	KITE_XML_ERROR_SCHEMA,	    /* RelaxNG validation failed */
	KITE_XML_ERROR_UNSUPPORTED, /* valid libvirt XML kite cannot honour */
	KITE_XML_ERROR_CONFLICT,    /* semantic check: duplicate MAC/address/... */
	KITE_XML_ERROR_NO_SCHEMA,   /* schema file missing on this host */
} KiteXmlError;

/* Documents larger than this are refused before libxml2 sees them. */
#define KITE_XML_MAX_DOCUMENT_SIZE (10 * 1024 * 1024)

/* ------------------------------------------------------------------- flags */

/* Parse flags. */
enum {
	/* Validate against the libvirt RelaxNG schema before parsing. */
	KITE_XML_PARSE_VALIDATE = 1 << 0,
	/* Status XML: keep runtime state (id, <target dev='vnetN'/>, aliases,
	 * portid, pty paths). Without it those are dropped like libvirt does
	 * for a persistent definition (user aliases "ua-*" are always kept). */
	KITE_XML_PARSE_LIVE = 1 << 1,
	/* Do not fill defaults (uuid, MACs, PCI addresses, controllers, NIC
	 * model, machine...). Used by tests and for re-reading status XML. */
	KITE_XML_PARSE_NO_DEFAULTS = 1 << 2,
};

/* Format flags; SECURE and INACTIVE have libvirt's VIR_DOMAIN_XML_* values. */
enum {
	KITE_XML_SECURE = 1 << 0,   /* include secrets (graphics passwords) */
	KITE_XML_INACTIVE = 1 << 1, /* persistent view: no runtime state */
	KITE_XML_LIVE = 1 << 8,	    /* include id, vnetN target, aliases, tty */
};

/* --------------------------------------------------------- common pieces */

/* libvirt's tristate: absent, yes/on, no/off (which spelling is written
 * depends on the attribute). */
typedef enum {
	KITE_TRISTATE_ABSENT = 0,
	KITE_TRISTATE_YES,
	KITE_TRISTATE_NO,
} KiteTristate;

/* One attribute kept verbatim, e.g. a <virtualport> <parameters> entry. */
typedef struct {
	char *name;
	char *value;
} KiteAttr;

typedef enum {
	KITE_ADDRESS_NONE = 0,
	KITE_ADDRESS_PCI,
	KITE_ADDRESS_DRIVE,
	KITE_ADDRESS_VIRTIO_SERIAL,
	KITE_ADDRESS_CCID,
	KITE_ADDRESS_USB,
	KITE_ADDRESS_ISA,
	KITE_ADDRESS_OTHER, /* any other libvirt type, attributes in `attrs` */
} KiteAddressType;

typedef struct {
	unsigned domain;
	unsigned bus;
	unsigned slot;
	unsigned function;
	KiteTristate multifunction; /* on/off */
} KitePciAddress;

/* The parts every device shares: <boot>, <alias>, <rom>, <address>. */
typedef struct {
	char *alias;		  /* "net0"; dropped unless live or "ua-*" */
	unsigned boot_order;	  /* <boot order='N'/>, 0 = none */
	KiteTristate rom_bar;	  /* <rom bar='on|off'> */
	KiteTristate rom_enabled; /* <rom enabled='yes|no'> */
	char *rom_file;		  /* <rom file=...>; "" is meaningful (no ROM) */
	unsigned acpi_index;	  /* <acpi index=>, 0 = none */
	unsigned line;		  /* line of the device element when parsed, 0 unknown */
	KiteAddressType addr_type;
	char *addr_type_name;  /* libvirt's spelling of the type ("pci", ...) */
	KitePciAddress pci;    /* valid when addr_type == KITE_ADDRESS_PCI */
	GPtrArray *addr_attrs; /* KiteAttr, non-PCI address attributes except type */
} KiteDeviceInfo;

/* An element kept as a tree and written back in libvirt's style. A child
 * with name == NULL is a text node of mixed content (text holds it). */
typedef struct KiteXmlNode KiteXmlNode;
struct KiteXmlNode {
	char *name;	     /* with prefix if namespaced, e.g. "qemu:commandline" */
	GPtrArray *attrs;    /* KiteAttr, in document order (namespace decls too) */
	char *text;	     /* text content when the node has no element child */
	GPtrArray *children; /* KiteXmlNode */
};

/* -------------------------------------------------------------- domain: os */

typedef struct {
	char *type;	       /* "hvm" */
	char *arch;	       /* "x86_64" (filled when absent) */
	char *machine;	       /* "pc", "q35", "pc-i440fx-7.2"... (filled when absent) */
	char *loader;	       /* path */
	char *loader_readonly; /* "yes"/"no" as written */
	char *loader_type;     /* "rom"/"pflash" */
	char *loader_secure;
	char *nvram;
	char *nvram_template;
	char *kernel;
	char *initrd;
	char *cmdline;
	char *dtb;
	GPtrArray *boot_devs;  /* char *: "hd", "cdrom", "network", "fd" */
	KiteTristate bootmenu; /* yes/no */
	char *bootmenu_timeout;
	KiteTristate bios_useserial;
	char *bios_reboot_timeout;
	char *smbios_mode;
	char *firmware;	  /* <os firmware='efi|bios'> */
	GPtrArray *extra; /* KiteXmlNode: other <os> children, kept */
} KiteDomainOs;

typedef enum {
	KITE_LIFECYCLE_DEFAULT = 0, /* not given; formatted as libvirt's default */
	KITE_LIFECYCLE_DESTROY,
	KITE_LIFECYCLE_RESTART,
	KITE_LIFECYCLE_RENAME_RESTART,
	KITE_LIFECYCLE_PRESERVE,
	KITE_LIFECYCLE_COREDUMP_DESTROY,
	KITE_LIFECYCLE_COREDUMP_RESTART,
} KiteLifecycleAction;

/* ------------------------------------------------------- domain: network */

typedef enum {
	KITE_NET_USER,
	KITE_NET_ETHERNET,
	KITE_NET_VHOSTUSER,
	KITE_NET_SERVER,
	KITE_NET_CLIENT,
	KITE_NET_MCAST,
	KITE_NET_NETWORK,
	KITE_NET_BRIDGE,
	KITE_NET_DIRECT,
	KITE_NET_UDP,
} KiteNetType;

typedef enum {
	KITE_LINK_DEFAULT = 0,
	KITE_LINK_UP,
	KITE_LINK_DOWN,
} KiteLinkState;

typedef struct {
	char *name;		/* "qemu", "vhost" */
	char *txmode;		/* "iothread", "timer" */
	KiteTristate ioeventfd; /* on/off */
	KiteTristate event_idx; /* on/off */
	unsigned queues;	/* 0 = not given */
	unsigned rx_queue_size;
	unsigned tx_queue_size;
	KiteTristate rss; /* on/off */
	KiteTristate rss_hash_report;
	KiteTristate iommu, ats, packed, page_per_vq; /* on/off */
	/* <host .../> offloads, on/off */
	KiteTristate host_csum, host_gso, host_tso4, host_tso6, host_ecn, host_ufo, host_mrg_rxbuf;
	/* <guest .../> offloads, on/off */
	KiteTristate guest_csum, guest_tso4, guest_tso6, guest_ecn, guest_ufo;
} KiteNetDriver;

typedef struct {
	bool set;
	unsigned long long average, peak, burst, floor; /* 0 = not given */
} KiteBandwidthRate;

typedef struct {
	KiteBandwidthRate inbound;
	KiteBandwidthRate outbound;
} KiteBandwidth;

typedef struct {
	unsigned id;
	char *native_mode; /* "tagged"/"untagged" or NULL */
} KiteVlanTag;

typedef struct {
	KiteTristate trunk; /* yes/no */
	GArray *tags;	    /* KiteVlanTag (native_mode owned) */
} KiteVlan;

typedef struct {
	char *type;	   /* "openvswitch", "802.1Qbg", "802.1Qbh", "midonet" */
	GPtrArray *params; /* KiteAttr of <parameters>, canonical order */
} KiteVirtualPort;

typedef struct {
	unsigned start;
	unsigned end;	      /* 0 = single port */
	unsigned to;	      /* 0 = same as start */
	KiteTristate exclude; /* yes/no */
} KitePortRange;

typedef struct {
	char *proto;	/* "tcp"/"udp" */
	char *address;	/* host address or NULL */
	char *dev;	/* host interface or NULL */
	GArray *ranges; /* KitePortRange */
} KitePortForward;

typedef struct {
	char *address;
	char *family;	 /* "ipv4"/"ipv6" as written, or NULL */
	unsigned prefix; /* 0 = not given */
	char *peer;
} KiteIpAddr;

typedef struct {
	char *family, *address, *netmask, *gateway;
	unsigned prefix;
	unsigned metric;
} KiteIpRoute;

typedef struct {
	KiteNetType type;
	uint8_t mac[6];
	bool mac_generated;	/* filled by kite, not written by the user */
	char *mac_type;		/* <mac type='generated|static'> as written */
	KiteTristate mac_check; /* <mac check='yes|no'> */

	/* <source>: which fields apply depends on type */
	char *source_network;	    /* network */
	char *source_portgroup;	    /* network */
	char *source_portid;	    /* network, live only */
	char *source_bridge;	    /* bridge; network: resolved bridge (live) */
	bool source_bridge_is_host; /* network, live: it resolved to a host bridge
				       (forward mode='bridge'); libvirt then shows
				       the interface as type='bridge' */
	char *source_dev;	    /* direct: host device */
	char *source_mode;	    /* direct: vepa|bridge|private|passthrough;
				       vhostuser: server|client */
	char *source_type;	    /* vhostuser: "unix" */
	char *source_path;	    /* vhostuser socket */
	char *source_address;	    /* mcast/server/client/udp */
	unsigned source_port;
	char *source_local_address; /* udp <local address=.../> */
	unsigned source_local_port;
	KiteTristate source_reconnect; /* vhostuser <reconnect enabled=> */
	unsigned source_reconnect_timeout;

	char *target_dev;	     /* <target dev=>: user-chosen or live vnetN */
	KiteTristate target_managed; /* ethernet <target managed='no'> */
	char *model;		     /* "virtio", "e1000", "rtl8139", ... */
	KiteLinkState link_state;
	char *script;
	char *downscript;
	KiteNetDriver driver;
	bool driver_set; /* a <driver> element was present */
	unsigned mtu;	 /* 0 = not given */
	KiteBandwidth bandwidth;
	KiteVlan vlan;
	KiteVirtualPort *virtualport;
	GPtrArray *port_forwards; /* KitePortForward (user, passt) */
	GPtrArray *ips;		  /* KiteIpAddr (user: guest network; ethernet) */
	GPtrArray *routes;	  /* KiteIpRoute (ethernet) */
	char *backend_type;	  /* <backend type='passt'> */
	char *backend_tap, *backend_vhost, *backend_logfile;
	KiteTristate trust_guest_rx_filters; /* yes/no */
	unsigned tune_sndbuf;		     /* <tune><sndbuf> */
	bool tune_sndbuf_set;
	unsigned coalesce_rx_frames; /* <coalesce><rx><frames max=> */
	bool coalesce_set;
	char *filterref;	     /* <filterref filter=> (nwfilter, unsupported) */
	GPtrArray *filterref_params; /* KiteAttr */
	char *teaming_type;	     /* <teaming type= persistent=> */
	char *teaming_persistent;
	KiteDeviceInfo info;
} KiteNetDef;

/* ------------------------------------------------------ domain: chardevs */

typedef enum {
	KITE_CHR_NULL,
	KITE_CHR_VC,
	KITE_CHR_PTY,
	KITE_CHR_DEV,
	KITE_CHR_FILE,
	KITE_CHR_PIPE,
	KITE_CHR_STDIO,
	KITE_CHR_UDP,
	KITE_CHR_TCP,
	KITE_CHR_UNIX,
	KITE_CHR_SPICEVMC,
	KITE_CHR_SPICEPORT,
	KITE_CHR_NMDM,
	KITE_CHR_QEMU_VDAGENT,
	KITE_CHR_DBUS,
} KiteChrType;

typedef enum {
	KITE_CHR_DEV_SERIAL,
	KITE_CHR_DEV_CONSOLE,
	KITE_CHR_DEV_CHANNEL,
	KITE_CHR_DEV_PARALLEL,
} KiteChrDevKind;

typedef struct {
	KiteChrDevKind kind;
	KiteChrType type;
	char *source_path;	    /* pty (live tty), file, dev, pipe, unix */
	KiteTristate source_append; /* file: append='on|off' */
	char *source_mode;	    /* tcp/unix: "bind" | "connect" */
	char *source_host;	    /* tcp/udp */
	char *source_service;	    /* tcp/udp port, as written */
	char *connect_host;	    /* udp: <source mode='connect'> */
	char *connect_service;
	char *protocol; /* tcp: "raw" | "telnet" | "telnets" | "tls" */
	char *log_file; /* <log file=> */
	KiteTristate log_append;
	char *target_type;	   /* serial: isa-serial|pci-serial|usb-serial|...;
				      console: serial|virtio|...; channel: virtio|guestfwd */
	char *target_model;	   /* <target><model name=> */
	char *target_name;	   /* channel <target name=> */
	char *target_address;	   /* guestfwd channel */
	char *target_port_str;	   /* guestfwd channel port */
	int target_port;	   /* serial/console <target port=>, -1 = not given */
	KiteTristate target_state; /* channel state='connected|disconnected' (live) */
	KiteDeviceInfo info;
} KiteChrDef;

/* ----------------------------------------------- domain: other devices */

typedef struct {
	char *type;   /* file, block, dir, network, volume, nvme, vhostuser */
	char *device; /* disk, cdrom, floppy, lun (default disk) */
	char *target_dev;
	char *target_bus;
	char *source; /* file/dev/dir path, or network name; NULL = empty */
	KiteTristate readonly;
	KiteTristate shareable;
	KiteXmlNode *node; /* the element without boot/alias/address, for output */
	KiteDeviceInfo info;
} KiteDiskDef;

typedef struct {
	char *type; /* usb, pci, ide, sata, scsi, virtio-serial, ... */
	int index;  /* -1 = not given (filled) */
	char *model;
	KiteXmlNode *node; /* remaining attributes/children (driver, target, ...) */
	KiteDeviceInfo info;
} KiteControllerDef;

/* Any other device (graphics, input, video, sound, memballoon, rng, hostdev,
 * watchdog, filesystem, tpm, ...): kept as a tree, placed in libvirt order. */
typedef struct {
	char *kind;	   /* element name: "graphics", "input", "video", ... */
	char *type;	   /* its type= attribute (or model= for memballoon...) */
	KiteXmlNode *node; /* element without boot/alias/address children */
	KiteDeviceInfo info;
	bool has_info; /* kind supports alias/address (graphics does not) */
} KiteGenericDevice;

/* ------------------------------------------------------------ the domain */

typedef struct {
	char *virt_type; /* <domain type=>: "kvm", "qemu" */
	int id;		 /* -1 when not running */
	char *name;
	uint8_t uuid[16];
	char *genid; /* <genid> as written */
	char *title;
	char *description;
	KiteXmlNode *metadata; /* <metadata>, children kept verbatim */

	unsigned long long memory_kib;	       /* <memory> */
	KiteTristate memory_dump_core;	       /* <memory dumpCore='on|off'> */
	unsigned long long current_memory_kib; /* <currentMemory> (= memory) */
	unsigned long long max_memory_kib;     /* <maxMemory>, 0 = none */
	unsigned max_memory_slots;
	unsigned vcpus;		/* <vcpu> */
	unsigned vcpus_current; /* current= (= vcpus) */
	char *vcpu_placement;	/* "static"/"auto" */
	char *vcpu_cpuset;

	KiteDomainOs os;
	char *cpu_mode;	       /* <cpu mode=>: host-passthrough, host-model, custom */
	char *cpu_model;       /* <cpu><model> text */
	KiteXmlNode *cpu;      /* the whole <cpu> element, for output */
	char *clock_offset;    /* <clock offset=> */
	KiteXmlNode *clock;    /* the whole <clock> element, for output */
	KiteXmlNode *features; /* <features> */
	KiteLifecycleAction on_poweroff;
	KiteLifecycleAction on_reboot;
	KiteLifecycleAction on_crash;
	char *emulator;

	GPtrArray *disks;	/* KiteDiskDef */
	GPtrArray *controllers; /* KiteControllerDef */
	GPtrArray *interfaces;	/* KiteNetDef */
	GPtrArray *serials;	/* KiteChrDef */
	GPtrArray *parallels;	/* KiteChrDef */
	GPtrArray *consoles;	/* KiteChrDef */
	GPtrArray *channels;	/* KiteChrDef */
	GPtrArray *devices;	/* KiteGenericDevice (inputs, graphics, ...) */
	/* Top-level elements kite does not model (memtune, pm, seclabel,
	 * qemu:commandline, ...), kept verbatim in libvirt's order. */
	GPtrArray *extra;      /* KiteXmlNode */
	GPtrArray *namespaces; /* KiteAttr: xmlns:prefix declarations on <domain> */
} KiteDomainDef;

/* What the parser fills when an element is absent (libvirt's qemu driver
 * behaviour by default, see kite_domain_defaults_init). */
typedef struct {
	const char *emulator;	 /* <emulator> when absent; NULL: leave absent */
	const char *arch;	 /* "x86_64" */
	const char *machine;	 /* replaces an absent machine or "pc":
				    "pc-i440fx-7.2" like libvirt with QEMU 7.2 */
	const char *nic_model;	 /* "rtl8139" (libvirt 9.0 + QEMU 7.2) */
	bool add_usb_controller; /* piix3-uhci at 00:01.2 (libvirt: yes) */
	bool add_memballoon;	 /* virtio memballoon (libvirt: yes) */
	bool add_ps2_inputs;	 /* ps2 mouse + keyboard (libvirt: yes, x86) */
	bool add_audio;		 /* <audio id='1' type='none'/> (libvirt: yes) */
	const char *cpu_model;	 /* <cpu> added when absent: "qemu64"; NULL none */
} KiteDomainDefaults;

/* Fill `d` with libvirt 9.0 qemu driver behaviour (machine "pc-i440fx-7.2",
 * emulator NULL). Callers then override what they need. */
void kite_domain_defaults_init(KiteDomainDefaults *d);
/* libvirt's behaviour minus the devices kite does not emulate yet (USB
 * controller, memory balloon), emulator `emulator`. */
void kite_domain_defaults_init_kite(KiteDomainDefaults *d, const char *emulator);

/* Defaults used by parse when no explicit set is given; the daemon may
 * install its own once at startup (pointer is copied, strings are not). */
void kite_domain_defaults_set(const KiteDomainDefaults *d);

KiteDomainDef *kite_domain_def_new(void);
KiteDomainDef *kite_domain_def_parse_string(const char *xml, unsigned flags, GError **err);
KiteDomainDef *kite_domain_def_parse_file(const char *path, unsigned flags, GError **err);
/* As parse_string, with explicit defaults (NULL: no defaults filled). */
KiteDomainDef *kite_domain_def_parse_string_full(const char *xml, unsigned flags,
						 const KiteDomainDefaults *defaults, GError **err);
char *kite_domain_def_format(const KiteDomainDef *def, unsigned flags);
KiteDomainDef *kite_domain_def_copy(const KiteDomainDef *def); /* deep, via XML */
void kite_domain_def_free(KiteDomainDef *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KiteDomainDef, kite_domain_def_free)

/* Fill defaults on an already parsed def (what parse does unless
 * KITE_XML_PARSE_NO_DEFAULTS): uuid, MACs, NIC model, implicit controllers,
 * PCI addresses, drive addresses, serial target ports, console<->serial. */
bool kite_domain_def_fill_defaults(KiteDomainDef *def, const KiteDomainDefaults *d, GError **err);

/* Give every device its libvirt alias (net0, serial0, usb, pci.0, ...),
 * keeping user aliases. The daemon calls it when a domain starts. */
void kite_domain_def_assign_aliases(KiteDomainDef *def);
/* Drop runtime state (id=-1, vnetN targets, non-user aliases, tty paths,
 * portid, resolved bridges of type=network) when a domain stops. */
void kite_domain_def_clear_runtime(KiteDomainDef *def);

/* First device kite cannot run yet (graphics, disk, direct interface...),
 * as a KITE_XML_ERROR_UNSUPPORTED error naming it. Returns true when all
 * devices are supported. */
bool kite_domain_def_unsupported(const KiteDomainDef *def, GError **err);

/* UUID and MAC helpers. */
void kite_uuid_format(const uint8_t uuid[16], char out[37]);
bool kite_uuid_parse(const char *str, uint8_t uuid[16]);
void kite_mac_format(const uint8_t mac[6], char out[18]);
bool kite_mac_parse(const char *str, uint8_t mac[6]);
const char *kite_net_type_to_string(KiteNetType type);

/* Lookups. */
KiteNetDef *kite_domain_def_find_interface_by_mac(const KiteDomainDef *def, const uint8_t mac[6]);
KiteNetDef *kite_domain_def_find_interface_by_alias(const KiteDomainDef *def, const char *alias);

/* ---------------------------------------------------------- validation */

/* Called by semantic validation for each <interface type='network'>:
 * return true if the network exists. */
typedef bool (*KiteNetworkExistsFunc)(const char *network, void *opaque);

/* RelaxNG-validate `xml` against /usr/share/libvirt/schemas/<schema>.rng
 * (schema is "domain" or "network"). Returns 0 if valid, -1 with err set. */
int kite_xml_validate(const char *xml, const char *schema, GError **err);
/* Override the schema directory (tests); NULL restores the default. */
void kite_xml_set_schema_dir(const char *dir);

/* Semantic checks a schema cannot express: duplicate MACs, PCI address
 * clashes, duplicate aliases/targets, unknown networks (network_exists may
 * be NULL), serial port clashes. */
bool kite_domain_def_check(const KiteDomainDef *def, KiteNetworkExistsFunc network_exists,
			   void *opaque, GError **err);

/* ------------------------------------------------------- command line */

/* How the daemon resolved one <interface> (same index as def->interfaces). */
typedef struct {
	int tap_fd;	    /* tap the daemon opened, -1 = none */
	int vhost_fd;	    /* -1 = none */
	const int *tap_fds; /* multiqueue: n_tap_fds fds (used when > 1) */
	size_t n_tap_fds;
	const char *ifname; /* tap name (vnetN) when kite should open it */
	const char *bridge; /* resolved bridge, for the bridge helper */
} KiteNetBackend;

typedef struct {
	const char *emulator;	    /* argv[0]; NULL: def->emulator or "kite" */
	const char *qmp_socket;	    /* unix socket path for the monitor */
	int qmp_fd;		    /* listening fd instead of the path, -1 = none */
	bool kvm;		    /* host has KVM; <domain type='kvm'> fails without it
				       (type='qemu' always gets -accel tcg) */
	bool paused;		    /* -S like libvirt (default): the daemon sends
				       "cont" after setting link states */
	bool no_shutdown;	    /* -no-shutdown (libvirt: yes) */
	const KiteNetBackend *nets; /* n_nets entries, NULL = all defaults */
	size_t n_nets;
} KiteArgvContext;

void kite_argv_context_init(KiteArgvContext *ctx);

/* The command line libvirt 9.0's qemu driver would build for QEMU 7.2, in
 * keyval form: -name, -S, -machine, -accel, -cpu, -m, -smp, -uuid,
 * -display none, -no-user-config, -nodefaults, monitor -chardev/-mon, -rtc,
 * -no-shutdown, -no-acpi, -boot, -kernel/-initrd/-append, USB controller,
 * -netdev/-device per interface, -chardev/-device isa-serial per serial,
 * balloon. Interfaces: user -> "user" (+net=, ipv6-prefix=, and hostfwd=
 * for <portForward>, a kite extension); network/bridge/ethernet -> "tap,fd="
 * (or fds= for multiqueue) from nets[i], else "tap,ifname=,script=,
 * downscript=" (ethernet, or nets[i].ifname), else "bridge,br=" (the bridge
 * helper); mcast/server/client/udp -> "socket". direct, vhostuser, passt and
 * any device without a mapping fail with KITE_XML_ERROR_UNSUPPORTED.
 * Device ids come from aliases: call kite_domain_def_assign_aliases on the
 * live definition first so its XML shows the same names (missing ones are
 * assigned on a private copy). NULL-terminated, g_strfreev. */
char **kite_domain_build_argv(const KiteDomainDef *def, const KiteArgvContext *ctx, GError **err);

/* Aliases (net0...) of interfaces with <link state='down'/>: after start the
 * daemon sends QMP set_link {name: alias, up: false} for each, as libvirt's
 * qemu driver does. NULL-terminated, g_strfreev. */
char **kite_domain_links_down(const KiteDomainDef *def);

/* ------------------------------------------------------------ networks */

typedef enum {
	KITE_FORWARD_NONE = 0, /* isolated: no <forward> */
	KITE_FORWARD_NAT,
	KITE_FORWARD_ROUTE,
	KITE_FORWARD_OPEN,
	KITE_FORWARD_BRIDGE,
	KITE_FORWARD_PRIVATE,
	KITE_FORWARD_VEPA,
	KITE_FORWARD_PASSTHROUGH,
	KITE_FORWARD_HOSTDEV,
} KiteForwardMode;

typedef struct {
	char *start;
	char *end;
	char *lease_expiry; /* <lease expiry= unit=> as seconds, or NULL */
	char *lease_unit;
	unsigned line; /* where it was parsed, 0 unknown */
} KiteDhcpRange;

typedef struct {
	char *mac;
	char *id;
	char *name;
	char *ip;
	char *lease_expiry;
	char *lease_unit;
	unsigned line; /* where it was parsed, 0 unknown */
} KiteDhcpHost;

typedef struct {
	char *family; /* NULL (ipv4) or "ipv4"/"ipv6" as written */
	char *address;
	char *netmask;
	unsigned prefix; /* 0 = not given */
	char *localptr;
	char *tftp_root;
	GPtrArray *ranges; /* KiteDhcpRange */
	GPtrArray *hosts;  /* KiteDhcpHost */
	char *bootp_file;
	char *bootp_server;
	bool has_dhcp;
	unsigned line; /* where it was parsed, 0 unknown */
} KiteNetworkIp;

typedef struct {
	char *ip;
	GPtrArray *hostnames; /* char * */
} KiteDnsHost;

typedef struct {
	char *addr;
	char *domain;
} KiteDnsForwarder;

typedef struct {
	char *name, *value;
} KiteDnsTxt;

typedef struct {
	char *service, *protocol, *domain, *target;
	char *port, *priority, *weight;
} KiteDnsSrv;

typedef struct {
	char *name;
	KiteTristate is_default; /* default='yes' */
	KiteVirtualPort *virtualport;
	KiteBandwidth bandwidth;
	KiteVlan vlan;
	KiteTristate trust_guest_rx_filters;
	unsigned line; /* where it was parsed, 0 unknown */
} KitePortGroup;

typedef struct {
	char *name;
	uint8_t uuid[16];
	KiteTristate ipv6; /* <network ipv6='yes'> */
	KiteTristate trust_guest_rx_filters;
	char *connections; /* live only */
	KiteForwardMode forward_mode;
	bool forward_present;
	char *forward_dev;
	KiteTristate forward_managed;
	GPtrArray *forward_ifs; /* char *: <interface dev=> */
	char *nat_addr_start, *nat_addr_end;
	unsigned nat_port_start, nat_port_end;
	KiteTristate nat_ipv6; /* <nat ipv6='yes'> */
	bool nat_present;
	char *bridge_name;
	KiteTristate bridge_stp; /* on/off; libvirt fills "on" */
	char *bridge_delay;	 /* libvirt fills "0" */
	char *bridge_mac_table_manager;
	char *bridge_zone;
	char *mac; /* <mac address=> (generated like libvirt) */
	char *domain_name;
	KiteTristate domain_local_only;
	unsigned mtu;
	KiteTristate dns_enable;
	KiteTristate dns_forward_plain_names;
	GPtrArray *dns_forwarders; /* KiteDnsForwarder */
	GPtrArray *dns_txts;	   /* KiteDnsTxt */
	GPtrArray *dns_srvs;	   /* KiteDnsSrv */
	GPtrArray *dns_hosts;	   /* KiteDnsHost */
	bool dns_present;
	GPtrArray *ips;	       /* KiteNetworkIp */
	GPtrArray *routes;     /* KiteIpRoute */
	GPtrArray *portgroups; /* KitePortGroup */
	KiteBandwidth bandwidth;
	KiteVlan vlan;
	KiteVirtualPort *virtualport;
	KiteXmlNode *metadata;
	char *title;
	char *description;
} KiteNetworkDef;

KiteNetworkDef *kite_network_def_new(void);
/* flags: KITE_XML_PARSE_VALIDATE, KITE_XML_PARSE_NO_DEFAULTS (no uuid, mac,
 * bridge name, stp/delay filled). */
KiteNetworkDef *kite_network_def_parse_string(const char *xml, unsigned flags, GError **err);
KiteNetworkDef *kite_network_def_parse_file(const char *path, unsigned flags, GError **err);
char *kite_network_def_format(const KiteNetworkDef *def, unsigned flags);
KiteNetworkDef *kite_network_def_copy(const KiteNetworkDef *def);
void kite_network_def_free(KiteNetworkDef *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KiteNetworkDef, kite_network_def_free)

/* Pick "virbrN" (lowest N not reported used by `used`) when the network has
 * no bridge name, as libvirt's network driver does on define. */
typedef bool (*KiteBridgeUsedFunc)(const char *name, void *opaque);
void kite_network_def_fill_bridge(KiteNetworkDef *def, KiteBridgeUsedFunc used, void *opaque);

/* Semantic checks: DHCP ranges/hosts inside the subnet, start <= end,
 * nat port range, duplicate hosts/ranges, one IPv4 DHCP block. */
bool kite_network_def_check(const KiteNetworkDef *def, GError **err);

/* First IPv4 <ip> (or NULL) and its prefix length (from prefix or netmask). */
const KiteNetworkIp *kite_network_def_ipv4(const KiteNetworkDef *def);
unsigned kite_network_ip_prefix(const KiteNetworkIp *ip);

G_END_DECLS
