/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's stream socket framing: every frame is preceded by its length as a
 * 4-byte big-endian integer. The deframer takes bytes as they arrive (any
 * split) and yields whole frames; a length of 0 or above NET_MAX_FRAME
 * means the peer is broken or hostile and the connection must be dropped.
 */
#ifndef KITE_NET_FRAMER_H
#define KITE_NET_FRAMER_H

#include "net.h"

typedef struct NetFramer {
	uint8_t hdr[4];
	size_t hdr_have;
	uint32_t len; /* of the frame being assembled, 0 while reading hdr */
	size_t have;
	uint8_t buf[NET_MAX_FRAME];
} NetFramer;

void net_framer_reset(NetFramer *f);
/*
 * Consume bytes from data up to the end of at most one frame. Returns the
 * bytes consumed (<= n); when a frame completed, frame and frame_len point at
 * it (valid until the next call). Returns -1 on a bad length prefix, with
 * the announced length in *frame_len.
 */
ssize_t net_framer_feed(NetFramer *f, const uint8_t *data, size_t n, const uint8_t **frame,
			size_t *frame_len);

#endif
