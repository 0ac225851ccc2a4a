/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "memory.h"
#include "memory-internal.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"

static uint8_t *ram;
static uint64_t ram_size, below_4g, above_4g;

int guest_ram_alloc(uint64_t size, GError **err)
{
	/* MAP_NORESERVE: a large guest costs only what it touches. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("cannot set up guest memory 'pc.ram': %s"), g_strerror(errno));
		return -1;
	}
	madvise(p, size, MADV_MERGEABLE);
	ram = p;
	ram_size = size;
	below_4g = size > KITE_LOWMEM_LIMIT ? KITE_LOWMEM_LIMIT : size;
	above_4g = size - below_4g;
	return 0;
}

uint8_t *guest_ram_base(void)
{
	return ram;
}

void *guest_ram_ptr(uint64_t gpa, size_t len)
{
	if (!ram || len == 0)
		return NULL;
	/* Written so that no sum can overflow. */
	if (gpa < below_4g) {
		if (len > below_4g - gpa)
			return NULL;
		return ram + gpa;
	}
	if (gpa >= KITE_HIGHMEM_BASE && gpa - KITE_HIGHMEM_BASE < above_4g) {
		uint64_t off = gpa - KITE_HIGHMEM_BASE;
		if (len > above_4g - off)
			return NULL;
		return ram + below_4g + off;
	}
	return NULL;
}

int guest_read(uint64_t gpa, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	void *p = guest_ram_ptr(gpa, len);
	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

int guest_write(uint64_t gpa, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	void *p = guest_ram_ptr(gpa, len);
	if (!p)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

uint64_t guest_ram_size(void)
{
	return ram_size;
}

uint64_t guest_ram_below_4g(void)
{
	return below_4g;
}

uint64_t guest_ram_above_4g(void)
{
	return above_4g;
}
