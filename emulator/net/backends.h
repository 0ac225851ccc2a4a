/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table of network backends the option front-ends (-net, -netdev, -nic,
 * netdev_add) dispatch to. parse() only validates and returns a private
 * configuration, so bad options are reported while the command line is
 * read; create() makes the client once every option is known.
 */
#ifndef KITE_NET_BACKENDS_H
#define KITE_NET_BACKENDS_H

#include "net.h"
#include "opts.h"

#include <sys/socket.h>

typedef struct NetBackend {
	const char *type;
	const char *const *keys; /* backend keys, besides type/id/name/vlan */
	bool netdev_ok;		 /* accepted by -netdev / -nic */
	bool legacy_ok;		 /* accepted by -net */
	void *(*parse)(KiteOpts *o, GError **err);
	/* name: the client's name (NULL = generated). Returns the client. */
	NetClient *(*create)(KiteOpts *o, void *cfg, const char *name, GError **err);
	void (*free_cfg)(void *cfg);
} NetBackend;

extern const NetBackend net_backend_user;
extern const NetBackend net_backend_tap;
extern const NetBackend net_backend_bridge;
extern const NetBackend net_backend_socket;
extern const NetBackend net_backend_stream;
extern const NetBackend net_backend_dgram;
extern const NetBackend net_backend_dump;

const NetBackend *net_backend_find(const char *type);

/* "fd=N" option: a file descriptor number. */
int net_parse_fd(KiteOpts *o, const char *key, int *fd, GError **err);

/* Socket address given as QAPI dotted keys: PREFIX.type=inet|unix|fd with
 * .host/.port, .path/.abstract, or .str. Returns 0 and *present=false when
 * no PREFIX.* key is there at all. */
typedef struct NetSockAddr {
	bool present;
	enum { NSA_INET, NSA_UNIX, NSA_FD } type;
	struct sockaddr_storage ss;
	unsigned len;
	int fd;
	char *text; /* "host:port", path, or fd number */
} NetSockAddr;
int net_parse_sockaddr(KiteOpts *o, const char *prefix, NetSockAddr *a, GError **err);
void net_sockaddr_clear(NetSockAddr *a);
/* Look up an inet host name (at creation time). */
int net_sockaddr_resolve(KiteOpts *o, NetSockAddr *a, GError **err);
extern const char *const net_sockaddr_subkeys[];
#define NET_SOCKADDR_KEYS(p)                                                                       \
	p ".type", p ".host", p ".port", p ".numeric", p ".to", p ".ipv4", p ".ipv6",              \
	    p ".keep-alive", p ".mptcp", p ".path", p ".abstract", p ".tight", p ".str"

/* filter-dump object (dump.c). */
int net_filter_dump_create(KiteOpts *o, GError **err);
extern const char *const net_filter_dump_keys[];

/* Writes a pcap header/record; shared by -net dump and filter-dump. */
typedef struct PcapWriter PcapWriter;
PcapWriter *pcap_writer_open(const char *path, uint32_t snaplen, GError **err);
void pcap_writer_frame(PcapWriter *w, const struct iovec *iov, int iovcnt);
void pcap_writer_close(PcapWriter *w);

#endif
