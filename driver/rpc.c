/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rpc.h"

#include <stdarg.h>

G_DEFINE_QUARK(kite - virt - error, virt_error)
G_DEFINE_QUARK(kite - virt - malformed, virt_malformed)

void virt_error(GError **err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, VIRT_ERROR, code, msg);
}

bool rpc_header_decode(struct xdr_in *in, struct rpc_header *h)
{
	return xdr_get_u32(in, &h->prog) && xdr_get_u32(in, &h->vers) &&
	       xdr_get_i32(in, &h->proc) && xdr_get_i32(in, &h->type) &&
	       xdr_get_u32(in, &h->serial) && xdr_get_i32(in, &h->status);
}

GByteArray *rpc_packet_new(const struct rpc_header *h)
{
	GByteArray *p = g_byte_array_sized_new(256);

	xdr_put_u32(p, 0);
	xdr_put_u32(p, h->prog);
	xdr_put_u32(p, h->vers);
	xdr_put_i32(p, h->proc);
	xdr_put_i32(p, h->type);
	xdr_put_u32(p, h->serial);
	xdr_put_i32(p, h->status);
	return p;
}

void rpc_packet_finish(GByteArray *pkt)
{
	xdr_patch_u32(pkt, 0, pkt->len);
}

void rpc_put_error(GByteArray *pkt, int code, int from, const char *message)
{
	xdr_put_i32(pkt, code);
	xdr_put_i32(pkt, from);
	xdr_put_opt_string(pkt, message);
	xdr_put_i32(pkt, VERR_LEVEL_ERROR);
	xdr_put_u32(pkt, 0); /* dom */
	xdr_put_u32(pkt, 0); /* str1 */
	xdr_put_u32(pkt, 0); /* str2 */
	xdr_put_u32(pkt, 0); /* str3 */
	xdr_put_i32(pkt, 0); /* int1 */
	xdr_put_i32(pkt, 0); /* int2 */
	xdr_put_u32(pkt, 0); /* net */
}

GByteArray *rpc_error_packet(const struct rpc_header *h, int code, int from, const char *message)
{
	struct rpc_header r = *h;

	if (r.type == RPC_CALL || r.type == RPC_CALL_WITH_FDS)
		r.type = RPC_REPLY;
	r.status = RPC_ERROR;
	GByteArray *p = rpc_packet_new(&r);
	rpc_put_error(p, code, from, message);
	rpc_packet_finish(p);
	return p;
}

void wire_ref_clear(struct wire_ref *r)
{
	g_clear_pointer(&r->name, g_free);
}

bool wire_get_domain(struct xdr_in *in, struct wire_ref *r)
{
	return xdr_get_string(in, XDR_STRING_MAX, &r->name) &&
	       xdr_get_fixed(in, r->uuid, UUID_LEN) && xdr_get_i32(in, &r->id);
}

bool wire_get_network(struct xdr_in *in, struct wire_ref *r)
{
	r->id = -1;
	return xdr_get_string(in, XDR_STRING_MAX, &r->name) && xdr_get_fixed(in, r->uuid, UUID_LEN);
}

void wire_put_domain(GByteArray *o, const char *name, const uint8_t *uuid, int32_t id)
{
	xdr_put_string(o, name);
	xdr_put_fixed(o, uuid, UUID_LEN);
	xdr_put_i32(o, id);
}

void wire_put_network(GByteArray *o, const char *name, const uint8_t *uuid)
{
	xdr_put_string(o, name);
	xdr_put_fixed(o, uuid, UUID_LEN);
}
