// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The freestanding C library of the test guest: string functions, a printf
 * subset on COM1, number/address parsing, the DMA bump allocator and the
 * KTEST result line.
 */
#include "arch.h"

#define COM1 0x3f8

void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || !a[i])
			return (unsigned char)a[i] - (unsigned char)b[i];
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (!s || !*s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return false;
	}
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false; /* overflow */
		v = v * base + d;
	}
	*out = v;
	return true;
}

bool parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t addr = 0;

	if (!s)
		return false;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s - '0');
			if (++digits > 3 || v > 255)
				return false;
			s++;
		}
		if (!digits)
			return false;
		addr = addr << 8 | v;
		if (part < 3 && *s++ != '.')
			return false;
	}
	if (*s)
		return false;
	*out = addr;
	return true;
}

/* ---- formatted output ---- */

struct outbuf {
	char *buf;
	size_t size, len;
};

static void put(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct outbuf *o, const char *s, size_t len, int width, bool left, char pad)
{
	int fill = width > (int)len ? width - (int)len : 0;

	/* A zero-padded negative number keeps its sign in front. */
	if (pad == '0' && !left && len && s[0] == '-') {
		put(o, '-');
		s++;
		len--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	for (size_t i = 0; i < len; i++)
		put(o, s[i]);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static size_t format_u64(char *tmp, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = {buf, size, 0};

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		bool left = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z')
				lng = 1;
			else if (*fmt == 'h')
				lng--;
			else
				break;
		}
		char tmp[32];
		size_t n;
		uint64_t u;
		int64_t s;
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 1)
				s = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
			else
				s = va_arg(ap, int);
			if (lng == -1)
				s = (short)s;
			else if (lng <= -2)
				s = (signed char)s;
			n = 0;
			if (s < 0) {
				tmp[n++] = '-';
				u = -(uint64_t)s;
			} else {
				u = (uint64_t)s;
			}
			n += format_u64(tmp + n, u, 10, false);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (lng >= 1)
				u = lng == 1 ? va_arg(ap, unsigned long)
					     : va_arg(ap, unsigned long long);
			else
				u = va_arg(ap, unsigned int);
			if (lng == -1)
				u = (uint16_t)u;
			else if (lng <= -2)
				u = (uint8_t)u;
			n = format_u64(tmp, u, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_padded(&o, tmp, n, width, left, pad);
			break;
		case 'p':
			tmp[0] = '0';
			tmp[1] = 'x';
			n = 2 + format_u64(tmp + 2, (uintptr_t)va_arg(ap, void *), 16, false);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			put_padded(&o, str, strlen(str), width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case 'I': {
			uint32_t a = va_arg(ap, uint32_t);
			n = 0;
			for (int i = 3; i >= 0; i--) {
				n += format_u64(tmp + n, (a >> (8 * i)) & 0xff, 10, false);
				if (i)
					tmp[n++] = '.';
			}
			put_padded(&o, tmp, n, width, left, ' ');
			break;
		}
		case 'M': {
			const uint8_t *mac = va_arg(ap, const uint8_t *);
			n = 0;
			for (int i = 0; i < 6; i++) {
				tmp[n++] = "0123456789abcdef"[mac[i] >> 4];
				tmp[n++] = "0123456789abcdef"[mac[i] & 15];
				if (i < 5)
					tmp[n++] = ':';
			}
			put_padded(&o, tmp, n, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--; /* a lone '%' at the end */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- COM1 ---- */

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on and cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

/*
 * One REP OUTSB per chunk: in ring 3 under a hypervisor that refuses port
 * I/O this is a single trap for the whole string instead of one per byte.
 * THR is written without polling LSR: QEMU and kite never drop bytes.
 */
void serial_write(const char *s, size_t len)
{
	uint16_t port = COM1;

	__asm__ volatile("rep outsb" : "+S"(s), "+c"(len) : "d"(port) : "memory");
}

int serial_getc(uint32_t timeout_ms)
{
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;

	do {
		if (inb(COM1 + 5) & 1) /* LSR: data ready */
			return inb(COM1);
		/* Each poll may be a trap to ring 0: no need to spin hard. */
		udelay(1000);
	} while (now_us() < deadline);
	return -1;
}

void kprintf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	serial_write(buf, (size_t)n);
}

/* ---- results ---- */

static void __attribute__((noreturn))
ktest_result(const char *name, bool pass, const char *fmt, va_list ap)
{
	char detail[768];

	kvsnprintf(detail, sizeof(detail), fmt, ap);
	/* One line, whatever the detail contains. */
	for (char *p = detail; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	kprintf("KTEST %s %s%s%s\n", name, pass ? "PASS" : "FAIL", detail[0] ? " " : "", detail);
	guest_exit(pass ? 0 : 1);
}

void ktest_pass(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktest_result(name, true, fmt, ap);
}

void ktest_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktest_result(name, false, fmt, ap);
}

/* ---- DMA memory ---- */

static uintptr_t dma_next, dma_end;

void dma_init(uintptr_t start, uintptr_t end)
{
	dma_next = start;
	dma_end = end;
}

void *dma_alloc(size_t size, size_t align)
{
	if (!align)
		align = 1;
	if (align & (align - 1))
		return NULL;
	uintptr_t p = (dma_next + align - 1) & ~(uintptr_t)(align - 1);
	if (p < dma_next || p > dma_end || size > dma_end - p)
		return NULL;
	dma_next = p + size;
	memset((void *)p, 0, size);
	return (void *)p;
}
