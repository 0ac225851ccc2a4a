/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port I/O and MMIO dispatch for accesses that exit to user space (vCPU
 * exits and qtest). Regions never overlap in practice; the first match
 * wins. Reads of unclaimed addresses return all ones, writes are dropped.
 */
#ifndef KITE_IO_H
#define KITE_IO_H

#include <stdbool.h>
#include <stdint.h>

enum io_space { IO_SPACE_PIO, IO_SPACE_MMIO };

struct io_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct io_region;

struct io_region *io_region_add(enum io_space space, uint64_t base, uint64_t len,
				const struct io_ops *ops, void *opaque, const char *name);
/* Move a region to 'base'; enabled=false hides it (BAR decoding off). */
void io_region_set(struct io_region *r, uint64_t base, bool enabled);
void io_region_del(struct io_region *r);

/* Perform an access; returns false when nothing claimed the address. */
bool io_access(enum io_space space, uint64_t addr, unsigned size, bool is_write, uint64_t *value);

/* Iterate regions (for the qtest garbage writer and `info mtree`). */
struct io_region *io_region_next(enum io_space space, struct io_region *prev);
uint64_t io_region_base(struct io_region *r);
uint64_t io_region_len(struct io_region *r);
bool io_region_enabled(struct io_region *r);
const char *io_region_name(struct io_region *r);

#endif
