/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XDR (RFC 4506) encoding and decoding for virtkited's side of libvirt's RPC.
 *
 * Hand-written rather than rpcgen + libtirpc: every length that comes off
 * the wire is checked against both a per-field limit and the bytes actually
 * left in the packet *before* anything is allocated, decoding never aborts
 * the process, and a failed decode leaves nothing to free but what the
 * caller already owns. rpcgen's generated code allocates from the claimed
 * length first and its output does not build warning-free under -Wextra
 * -Werror. The subset of XDR libvirt uses (u32/i32/hyper, strings, fixed and
 * counted opaques, optional pointers, counted arrays) is small.
 */
#ifndef KITE_DRIVER_XDR_H
#define KITE_DRIVER_XDR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libvirt's limits (remote_protocol.x / virnetprotocol.x). */
#define XDR_STRING_MAX (4u * 1024 * 1024)
#define XDR_LIST_MAX   16384u

struct xdr_in {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

static inline void xdr_in_init(struct xdr_in *x, const void *buf, size_t len)
{
	x->buf = buf;
	x->len = len;
	x->pos = 0;
}

static inline size_t xdr_in_left(const struct xdr_in *x)
{
	return x->len - x->pos;
}

/* Every getter returns false (and consumes nothing useful) when the packet
 * is too short or a length exceeds its limit. */
bool xdr_get_u32(struct xdr_in *x, uint32_t *v);
bool xdr_get_i32(struct xdr_in *x, int32_t *v);
bool xdr_get_u64(struct xdr_in *x, uint64_t *v);
bool xdr_get_fixed(struct xdr_in *x, void *dst, size_t n);
/* A non-NULL string of at most max bytes; embedded NUL bytes are refused
 * (libvirt's strings are C strings). *out is g_malloc'd. */
bool xdr_get_string(struct xdr_in *x, size_t max, char **out);
/* An optional string: *out is NULL when absent. */
bool xdr_get_opt_string(struct xdr_in *x, size_t max, char **out);
/* An array count, checked against max and against what is left assuming
 * each element needs at least min_elem_size bytes. */
bool xdr_get_count(struct xdr_in *x, uint32_t max, size_t min_elem_size, uint32_t *count);
/* True when the whole buffer was consumed. */
bool xdr_at_end(const struct xdr_in *x);

void xdr_put_u32(GByteArray *o, uint32_t v);
void xdr_put_i32(GByteArray *o, int32_t v);
void xdr_put_u64(GByteArray *o, uint64_t v);
void xdr_put_fixed(GByteArray *o, const void *src, size_t n);
void xdr_put_string(GByteArray *o, const char *s);
void xdr_put_opt_string(GByteArray *o, const char *s);
/* libvirt's `char x<N>` and `char x[N]`: one 4-byte word per character. */
void xdr_put_char_array(GByteArray *o, const char *s, size_t n, bool counted);
/* Patch a big-endian u32 already written at offset off. */
void xdr_patch_u32(GByteArray *o, size_t off, uint32_t v);

#endif
