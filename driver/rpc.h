/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt RPC packets: the header, error replies, and the wire forms of a
 * domain and a network reference.
 */
#ifndef KITE_DRIVER_RPC_H
#define KITE_DRIVER_RPC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"
#include "xdr.h"

struct rpc_header {
	uint32_t prog;
	uint32_t vers;
	int32_t proc;
	int32_t type;
	uint32_t serial;
	int32_t status;
};

/*
 * Errors raised while serving a call carry a libvirt error code
 * (virErrorNumber) in GError.code. The RPC error domain marks a packet that
 * could not be decoded: after answering it the connection is closed.
 */
#define VIRT_ERROR     (virt_error_quark())
#define VIRT_MALFORMED (virt_malformed_quark())
GQuark virt_error_quark(void);
GQuark virt_malformed_quark(void);

void virt_error(GError **err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Parse the 24 header bytes that follow the length word. */
bool rpc_header_decode(struct xdr_in *in, struct rpc_header *h);

/* Start a packet: placeholder length word + header. */
GByteArray *rpc_packet_new(const struct rpc_header *h);
/* Patch the length word once the payload is written. */
void rpc_packet_finish(GByteArray *pkt);
/* Error reply payload (remote_error): code, domain, message, level 2, the
 * optional objects absent, int1/int2 zero. */
void rpc_put_error(GByteArray *pkt, int code, int from, const char *message);
/* A complete error reply to the call described by h. */
GByteArray *rpc_error_packet(const struct rpc_header *h, int code, int from, const char *message);

struct wire_ref {
	char *name;
	uint8_t uuid[UUID_LEN];
	int32_t id; /* domains only */
};

void wire_ref_clear(struct wire_ref *r);
bool wire_get_domain(struct xdr_in *in, struct wire_ref *r);
bool wire_get_network(struct xdr_in *in, struct wire_ref *r);
void wire_put_domain(GByteArray *o, const char *name, const uint8_t *uuid, int32_t id);
void wire_put_network(GByteArray *o, const char *name, const uint8_t *uuid);

#endif
