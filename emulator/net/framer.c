/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "framer.h"

#include <string.h>

void net_framer_reset(NetFramer *f)
{
	f->hdr_have = 0;
	f->len = 0;
	f->have = 0;
}

ssize_t net_framer_feed(NetFramer *f, const uint8_t *data, size_t n, const uint8_t **frame,
			size_t *frame_len)
{
	size_t used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (f->len == 0) {
		size_t take = MIN(n, sizeof(f->hdr) - f->hdr_have);
		memcpy(f->hdr + f->hdr_have, data, take);
		f->hdr_have += take;
		used += take;
		if (f->hdr_have < sizeof(f->hdr))
			return used;
		uint32_t len = (uint32_t)f->hdr[0] << 24 | (uint32_t)f->hdr[1] << 16 |
			       (uint32_t)f->hdr[2] << 8 | f->hdr[3];
		f->hdr_have = 0;
		if (len == 0 || len > NET_MAX_FRAME) {
			*frame_len = len;
			return -1;
		}
		f->len = len;
		f->have = 0;
	}
	size_t take = MIN(n - used, f->len - f->have);
	memcpy(f->buf + f->have, data + used, take);
	f->have += take;
	used += take;
	if (f->have == f->len) {
		*frame = f->buf;
		*frame_len = f->len;
		f->len = 0;
		f->have = 0;
	}
	return used;
}
