/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite's network clients. Every end of a virtual link is a NetClient: a guest
 * NIC front-end, a backend (user, tap, socket, ...), a hub port or a capture
 * sink. Two clients are joined by their 'peer' pointers; a frame sent by one
 * is handed to the other's receive(). A NIC never knows what sits behind it.
 *
 * When a receiver cannot take a frame right now (a guest without free rx
 * buffers), the frame waits in the receiver's bounded incoming queue until
 * the receiver calls net_client_flush_queue(). Only when that queue is full
 * is a frame dropped, and the drop is counted on the receiver.
 */
#ifndef KITE_NET_H
#define KITE_NET_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Largest frame a backend may hand over: 64 KiB of GSO payload plus headers.
 * Stream peers announcing more than this are dropped (same bound as QEMU). */
#define NET_MAX_FRAME	(65536 + 4096)
#define NET_QUEUE_LIMIT 256
#define ETH_ALEN	6

typedef enum NetClientType {
	NET_CLIENT_NIC,
	NET_CLIENT_USER,
	NET_CLIENT_TAP,
	NET_CLIENT_SOCKET,
	NET_CLIENT_STREAM,
	NET_CLIENT_DGRAM,
	NET_CLIENT_HUBPORT,
	NET_CLIENT_DUMP,
	NET_CLIENT_BRIDGE,
	NET_CLIENT_NONE,
} NetClientType;

typedef struct NetClient NetClient;
typedef struct NetFilter NetFilter;

typedef struct NetClientOps {
	/* Take one frame. Returns the bytes consumed, 0 when the client cannot
	 * take it now (the frame is queued), or < 0 when it is dropped. */
	ssize_t (*receive)(NetClient *nc, const struct iovec *iov, int iovcnt);
	/* Optional: false while receive() would return 0. */
	bool (*can_receive)(NetClient *nc);
	/* Optional: the client's link_down flag changed. */
	void (*link_status_changed)(NetClient *nc);
	/* Optional: frames this client sent that were queued at its peer were
	 * delivered; a backend that paused reading its fd resumes. */
	void (*peer_queue_drained)(NetClient *nc);
	/* Optional: free backend state (nc->opaque); called by net_client_free. */
	void (*cleanup)(NetClient *nc);
	/* Optional, backends that can carry a struct virtio_net_hdr (tap with
	 * vnet_hdr=on): whether they can, the header length the peer NIC uses
	 * (0 = none, 10, or 12 with mergeable buffers), and the offloads
	 * (NET_OFFLOAD_*) the NIC's driver negotiated. */
	bool (*has_vnet_hdr)(NetClient *nc);
	void (*using_vnet_hdr)(NetClient *nc, size_t hdr_len);
	void (*set_offload)(NetClient *nc, unsigned offloads);
	/* NICs, optional: announce the NIC's address (announce-self). Return
	 * false to let the net layer send a RARP from the NIC's MAC. */
	bool (*announce)(NetClient *nc);
	/* NICs, optional: fill QEMU's query-rx-filter members (promiscuous,
	 * multicast, unicast, vlan, tables...); name and main-mac are added by
	 * the caller. */
	void (*query_rx_filter)(NetClient *nc, JsonObject *out);
	/* Backends with queues, optional: the NIC's queue pair of this queue
	 * was enabled/disabled by the guest (multiqueue tap attaches/detaches
	 * the queue's fd, as QEMU). */
	void (*set_queue_enabled)(NetClient *nc, bool on);
} NetClientOps;

#define NET_OFFLOAD_CSUM (1u << 0)
#define NET_OFFLOAD_TSO4 (1u << 1)
#define NET_OFFLOAD_TSO6 (1u << 2)
#define NET_OFFLOAD_ECN	 (1u << 3)
#define NET_OFFLOAD_UFO	 (1u << 4)

typedef struct NetCounters {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
	uint64_t queued;	 /* frames that had to wait in the incoming queue */
	uint64_t queue_overflow; /* of rx_dropped: dropped because the queue was full */
} NetCounters;

typedef struct NetQueuedFrame {
	NetClient *sender;
	size_t len;
	uint8_t data[];
} NetQueuedFrame;

struct NetClient {
	NetClientType type;
	char *name;  /* unique: the netdev id, name=, or "<model>.<n>" */
	char *model; /* NIC: "e1000", "virtio-net-pci"; others: the type name */
	NetClient *peer;
	bool link_down;
	bool is_netdev; /* created by -netdev / netdev_add (may be a -device's peer) */
	bool in_use;	/* a NIC front-end has claimed this netdev */
	int queue_index;
	int hub_id; /* hub ports only */
	char info_str[256];
	const NetClientOps *ops;
	void *opaque;
	NetCounters stats;
	GQueue incoming;	   /* of NetQueuedFrame*, at most NET_QUEUE_LIMIT */
	bool waiting_for_drain;	   /* this client has frames parked at its peer */
	GList *filters;		   /* of NetFilter*, in insertion order */
	size_t vnet_hdr_len;	   /* frames to/from this client start with a virtio_net_hdr */
	uint8_t macaddr[ETH_ALEN]; /* NICs */
	bool rx_filter_notify_off; /* NIC_RX_FILTER_CHANGED sent, not queried yet */
	char *qom_path;		   /* NICs: QEMU's QOM path for events, NULL: unknown */
};

/* Capture/inspection hook attached to a client ("-object filter-dump"). It
 * sees every frame the client sends (tx) or receives (rx). */
struct NetFilter {
	char *id;
	char *type_name;
	NetClient *nc;
	void (*frame)(NetFilter *nf, bool rx, const struct iovec *iov, int iovcnt);
	void (*info)(NetFilter *nf, GString *out);
	void (*cleanup)(NetFilter *nf);
	void *opaque;
};

const char *net_client_type_str(NetClientType t);

/* Create a client; name NULL picks "<model>.<n>" (n counting per model). */
NetClient *net_client_new(NetClientType type, const char *model, const char *name,
			  const NetClientOps *ops, void *opaque);
void net_client_free(NetClient *nc);
void net_client_set_peer(NetClient *a, NetClient *b);
/* By name; for multiqueue backends the client of queue 0. */
NetClient *net_client_find(const char *name);
/* Queue 'index' of a multiqueue backend (index 0 = net_client_find). */
NetClient *net_client_find_queue(const char *name, int index);
/* All clients in creation order (do not modify the list). */
GList *net_client_list(void);
void net_client_set_info(NetClient *nc, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Send a frame from 'sender' to its peer. Returns the length when the frame
 * was delivered or parked in the peer's queue, 0 when the peer's queue is full
 * and the frame was dropped (sender should stop reading until
 * ops->peer_queue_drained), < 0 on an invalid frame. */
ssize_t net_send_iov(NetClient *sender, const struct iovec *iov, int iovcnt);
ssize_t net_send(NetClient *sender, const void *buf, size_t len);
/* Whether a frame sent now would be delivered or queued without a drop. */
bool net_peer_can_accept(NetClient *sender);
/* Receiver side: deliver parked frames now that the receiver has room. */
void net_client_flush_queue(NetClient *nc);
/* NIC side of vnet header negotiation; false/no-op unless the peer is a tap
 * opened with vnet_hdr. */
bool net_peer_has_vnet_hdr(NetClient *nic);
void net_peer_using_vnet_hdr(NetClient *nic, size_t hdr_len);
void net_peer_set_offload(NetClient *nic, unsigned offloads);
void net_client_purge_queue(NetClient *nc);

/* Link state: QEMU semantics. A NIC going down is seen by its guest; a
 * backend going down also takes its peer NIC down (hub ports excepted). */
int net_set_link(const char *name, bool up, GError **err);

void net_filter_attach(NetClient *nc, NetFilter *nf);
void net_filter_free(NetFilter *nf);
NetFilter *net_filter_find(const char *id);

/* MAC helpers. */
bool net_parse_mac(const char *s, uint8_t mac[ETH_ALEN]);
void net_format_mac(const uint8_t mac[ETH_ALEN], char out[18]);
/* Next free default MAC: 52:54:00:12:34:56, then ...:57, ... */
void net_next_default_mac(uint8_t mac[ETH_ALEN]);
void net_mac_mark_used(const uint8_t mac[ETH_ALEN]);
/* A NIC went away (hot-unplug): its default MAC may be handed out again. */
void net_mac_mark_free(const uint8_t mac[ETH_ALEN]);
void net_reset_default_mac(void);

/* Utilities shared by backends. */
size_t net_iov_size(const struct iovec *iov, int iovcnt);
size_t net_iov_to_buf(const struct iovec *iov, int iovcnt, void *buf, size_t len);
bool net_check_id(const char *id);

/* NIC models call this when the guest changed its receive filter; emits
 * NIC_RX_FILTER_CHANGED once until the next query-rx-filter, as QEMU. */
void net_nic_rx_filter_changed(NetClient *nic);
/* announce-self for one NIC. */
void net_nic_announce(NetClient *nic);

/* "info network" text, exactly QEMU's layout. */
void net_info_network(GString *out);

/* Tear everything down (at exit): backends run their downscripts, taps that
 * kite created go away. */
void net_cleanup_all(void);

#endif
