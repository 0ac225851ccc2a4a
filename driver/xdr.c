/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "xdr.h"

#include <string.h>

static size_t padded(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

bool xdr_get_u32(struct xdr_in *x, uint32_t *v)
{
	if (xdr_in_left(x) < 4)
		return false;
	const uint8_t *p = x->buf + x->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	x->pos += 4;
	return true;
}

bool xdr_get_i32(struct xdr_in *x, int32_t *v)
{
	uint32_t u;
	if (!xdr_get_u32(x, &u))
		return false;
	*v = (int32_t)u;
	return true;
}

bool xdr_get_u64(struct xdr_in *x, uint64_t *v)
{
	uint32_t hi, lo;
	if (xdr_in_left(x) < 8)
		return false;
	xdr_get_u32(x, &hi);
	xdr_get_u32(x, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool xdr_get_fixed(struct xdr_in *x, void *dst, size_t n)
{
	size_t p = padded(n);
	if (p < n || xdr_in_left(x) < p)
		return false;
	memcpy(dst, x->buf + x->pos, n);
	x->pos += p;
	return true;
}

bool xdr_get_string(struct xdr_in *x, size_t max, char **out)
{
	uint32_t n;
	size_t save = x->pos;

	*out = NULL;
	if (!xdr_get_u32(x, &n))
		return false;
	if (n > max || padded(n) > xdr_in_left(x) || memchr(x->buf + x->pos, 0, n)) {
		x->pos = save;
		return false;
	}
	*out = g_strndup((const char *)x->buf + x->pos, n);
	x->pos += padded(n);
	return true;
}

bool xdr_get_opt_string(struct xdr_in *x, size_t max, char **out)
{
	uint32_t present;

	*out = NULL;
	if (!xdr_get_u32(x, &present) || present > 1)
		return false;
	return present == 0 || xdr_get_string(x, max, out);
}

bool xdr_get_count(struct xdr_in *x, uint32_t max, size_t min_elem_size, uint32_t *count)
{
	if (!xdr_get_u32(x, count) || *count > max)
		return false;
	return min_elem_size == 0 || *count <= xdr_in_left(x) / min_elem_size;
}

bool xdr_at_end(const struct xdr_in *x)
{
	return x->pos == x->len;
}

void xdr_put_u32(GByteArray *o, uint32_t v)
{
	uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};
	g_byte_array_append(o, b, 4);
}

void xdr_put_i32(GByteArray *o, int32_t v)
{
	xdr_put_u32(o, (uint32_t)v);
}

void xdr_put_u64(GByteArray *o, uint64_t v)
{
	xdr_put_u32(o, v >> 32);
	xdr_put_u32(o, (uint32_t)v);
}

void xdr_put_fixed(GByteArray *o, const void *src, size_t n)
{
	static const uint8_t zeros[4];
	g_byte_array_append(o, src, n);
	g_byte_array_append(o, zeros, padded(n) - n);
}

void xdr_put_string(GByteArray *o, const char *s)
{
	size_t n = strlen(s);
	xdr_put_u32(o, n);
	xdr_put_fixed(o, s, n);
}

void xdr_put_opt_string(GByteArray *o, const char *s)
{
	xdr_put_u32(o, s != NULL);
	if (s)
		xdr_put_string(o, s);
}

void xdr_put_char_array(GByteArray *o, const char *s, size_t n, bool counted)
{
	if (counted)
		xdr_put_u32(o, n);
	for (size_t i = 0; i < n; i++)
		xdr_put_i32(o, (signed char)s[i]);
}

void xdr_patch_u32(GByteArray *o, size_t off, uint32_t v)
{
	g_assert(off + 4 <= o->len);
	o->data[off] = v >> 24;
	o->data[off + 1] = v >> 16;
	o->data[off + 2] = v >> 8;
	o->data[off + 3] = v;
}
