/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line front-ends for networking. The emulator's main() hands each
 * -net/-netdev/-nic/-object argument here as it reads argv; the calls check
 * the syntax at once (every error names the option and key, QEMU's wording)
 * and net_cmdline_finish() creates the backends in QEMU's order: -netdev,
 * then -nic, then -net, then filter objects.
 *
 * All functions return 0 on success and -1 with *err set on failure, except
 * net_cmdline_object() which returns 1 when it handled the object, 0 when
 * the object type is not a network one. Error messages already start with
 * the option ("-netdev user,id=a,foo=1: Invalid parameter 'foo'"): print
 * them as "kite: <message>".
 */
#ifndef KITE_NET_CMDLINE_H
#define KITE_NET_CMDLINE_H

#include "net.h"

#include <glib.h>

int net_cmdline_net(const char *arg, GError **err);
int net_cmdline_netdev(const char *arg, GError **err);
int net_cmdline_nic(const char *arg, GError **err);
int net_cmdline_object(const char *arg, GError **err);
/* -nodefaults: no implicit "-net nic -net user". */
void net_cmdline_set_nodefaults(bool nodefaults);
int net_cmdline_finish(GError **err);
/* Forget everything parsed (tests, and after a failed start). */
void net_cmdline_reset(void);

/*
 * A guest NIC requested by -net nic or -nic, created by the machine code
 * after net_cmdline_finish(): it instantiates 'model' through the device
 * registry, with 'peer' as its backend, and calls net_nic_new().
 */
typedef struct NicConfig {
	char *model; /* canonical device name: "e1000", "virtio-net-pci" */
	char *name;  /* name=, or NULL for "<model>.<n>" */
	char *addr;  /* PCI slot as given ("08", "8.0"), or NULL */
	int vectors; /* virtio MSI-X vectors, -1 = model default */
	uint8_t mac[ETH_ALEN];
	NetClient *peer; /* hub port or backend, owned by the net layer */
	char *where;	 /* "-net nic,model=e1000" for error messages */
} NicConfig;

/* NIC requests in the order QEMU creates them (-nic first, then -net nic). */
GList *net_nic_configs(void);
/* Default model of the PC machine (S3). */
#define NET_DEFAULT_NIC_MODEL "e1000"

/* NIC models the build implements; each NIC model registers itself. The
 * list is what "-net nic,model=help" prints. */
void net_nic_model_register(const char *model, const char *alias);
/* Canonical model name for model or alias, or NULL when unknown. */
const char *net_nic_model_lookup(const char *model);

/*
 * Device models (virtio-net-pci, e1000) call these when realized:
 * net_netdev_claim() resolves "-device X,netdev=ID" (NULL id: no backend);
 * net_nic_assign_mac() gives the MAC a NIC gets when mac= is absent;
 * net_nic_new() creates the NIC's client, named name= or "<model>.<n>".
 */
NetClient *net_netdev_claim(const char *id, const char *model, GError **err);
void net_nic_assign_mac(uint8_t mac[ETH_ALEN]);
bool net_mac_is_multicast(const uint8_t mac[ETH_ALEN]);
NetClient *net_nic_new(const char *model, const char *name, NetClient *peer,
		       const uint8_t mac[ETH_ALEN], const NetClientOps *ops, void *opaque);
/* A NIC's MAC changed (guest wrote RA / virtio config): refresh info. */
void net_nic_set_mac(NetClient *nic, const uint8_t mac[ETH_ALEN]);

/* netdev_add / netdev_del for the monitor (messages without the option
 * prefix, as the monitor shows them). */
int net_netdev_add(const char *arg, GError **err);
int net_netdev_del(const char *id, GError **err);

#endif
