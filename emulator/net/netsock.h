/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The socket transport shared by -netdev socket, stream and dgram: a stream
 * connection carrying length-prefixed frames (optionally a listening socket
 * that accepts one peer at a time and takes the next after a disconnect), or
 * a datagram socket carrying one frame per datagram.
 */
#ifndef KITE_NET_NETSOCK_H
#define KITE_NET_NETSOCK_H

#include "framer.h"
#include "net.h"

#include <sys/socket.h>

typedef struct NetSock NetSock;

/* Parse "host:port" (host may be empty = any); QEMU's messages. Host names
 * are looked up only with resolve (at creation, never while parsing the
 * command line). */
int netsock_parse_inet(const char *str, struct sockaddr_storage *ss, socklen_t *len, bool resolve,
		       GError **err);
char *netsock_addr_str(const struct sockaddr *sa, socklen_t len);

/* Create the client and its transport; on failure *err is set and nothing
 * is left open. name: the client name; model: "socket"/"stream"/"dgram". */
NetSock *netsock_new(NetClientType type, const char *model, const char *name);
NetClient *netsock_client(NetSock *s);

/* Stream: listen on addr (a bound, listening fd is made here). */
int netsock_listen(NetSock *s, const struct sockaddr *sa, socklen_t len, GError **err);
/* Stream: connect to addr now (non-blocking; completes in the loop). */
int netsock_connect(NetSock *s, const struct sockaddr *sa, socklen_t len, GError **err);
/* Stream or datagram fd handed over by the caller (fd=, addr.type=fd). */
int netsock_adopt_fd(NetSock *s, int fd, GError **err);
/* Datagram: local bound socket (may be -1 to create an unbound one),
 * destination for sends (may be NULL for "reply to sender" use). */
int netsock_dgram(NetSock *s, int fd, const struct sockaddr *dest, socklen_t destlen, GError **err);
/* Prefix of the info text ("socket: " for -netdev socket). */
void netsock_set_labels(NetSock *s, const char *prefix);
/* Info text of a listening socket while no peer is connected. */
void netsock_set_listen_info(NetSock *s, const char *info);
/* Info text from now on (e.g. "mcast=230.0.0.1:1234"). */
void netsock_set_info(NetSock *s, const char *info);

/* Free a NetSock that never got a client (creation failed midway). */
void netsock_abort(NetSock *s);

#endif
