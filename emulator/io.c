/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "io.h"

#include <glib.h>
#include <stdlib.h>

#include "log.h"

struct io_region {
	enum io_space space;
	uint64_t base, len;
	bool enabled;
	const struct io_ops *ops;
	void *opaque;
	char *name;
	struct io_region *next;
};

static struct io_region *regions[2];

struct io_region *io_region_add(enum io_space space, uint64_t base, uint64_t len,
				const struct io_ops *ops, void *opaque, const char *name)
{
	struct io_region *r = g_new0(struct io_region, 1);
	r->space = space;
	r->base = base;
	r->len = len;
	r->enabled = true;
	r->ops = ops;
	r->opaque = opaque;
	r->name = g_strdup(name);
	/* append: keeps lookup order = creation order */
	struct io_region **p = &regions[space];
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r;
}

void io_region_set(struct io_region *r, uint64_t base, bool enabled)
{
	r->base = base;
	r->enabled = enabled;
}

void io_region_del(struct io_region *r)
{
	for (struct io_region **p = &regions[r->space]; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			g_free(r->name);
			g_free(r);
			return;
		}
	}
}

bool io_access(enum io_space space, uint64_t addr, unsigned size, bool is_write, uint64_t *value)
{
	for (struct io_region *r = regions[space]; r; r = r->next) {
		if (!r->enabled || addr < r->base || addr - r->base >= r->len)
			continue;
		uint64_t off = addr - r->base;
		/* An access running past the end is clipped to what fits:
		 * devices rely on offset+size <= len. */
		if (size > r->len - off)
			break;
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, off, size, *value);
		} else {
			*value = r->ops->read ? r->ops->read(r->opaque, off, size) : ~0ULL;
			if (size < 8)
				*value &= (1ULL << (size * 8)) - 1;
		}
		return true;
	}
	if (!is_write)
		*value = size < 8 ? (1ULL << (size * 8)) - 1 : ~0ULL;
	log_msg(LOG_UNIMP, "unassigned %s %s 0x%llx size %u%s",
		space == IO_SPACE_PIO ? "port" : "mmio", is_write ? "write" : "read",
		(unsigned long long)addr, size, "");
	return false;
}

struct io_region *io_region_next(enum io_space space, struct io_region *prev)
{
	return prev ? prev->next : regions[space];
}

uint64_t io_region_base(struct io_region *r)
{
	return r->base;
}

uint64_t io_region_len(struct io_region *r)
{
	return r->len;
}

bool io_region_enabled(struct io_region *r)
{
	return r->enabled;
}

const char *io_region_name(struct io_region *r)
{
	return r->name;
}
