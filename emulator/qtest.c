/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest: QEMU's line protocol for device tests. Port and memory accesses
 * go straight to the device models (RAM for addresses inside guest RAM),
 * the virtual clock moves only with clock_step/clock_set, and intercepted
 * interrupt lines are reported as "IRQ raise N" / "IRQ lower N".
 */
#include "qtest.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "chardev.h"
#include "error.h"
#include "io.h"
#include "machine.h"
#include "memory.h"
#include "main-loop.h"
#include "vl.h"

#define MAX_IO_SIZE (16 << 20) /* largest read/write/memset accepted */

static struct chardev *qchr;
static GString *line;
static int64_t clock_ns;
static bool intercept;
static int irq_levels[24];
static FILE *log_fp;
static int64_t log_start;

int64_t qtest_clock_ns(void)
{
	return clock_ns;
}

/*
 * Move the virtual clock to 'target', stopping at every timer deadline on
 * the way so each device timer fires at its own time (and what it raises,
 * "IRQ raise N", goes out before our OK), as QEMU's qtest_clock_warp.
 */
static void clock_advance(int64_t target)
{
	/* a timer re-arming itself at the same instant must not hang us */
	for (int rounds = 0; rounds < 100000; rounds++) {
		int64_t d = ml_virtual_deadline();
		if (d < 0 || d > target)
			break;
		if (d > clock_ns)
			clock_ns = d;
		ml_run_virtual_timers(clock_ns);
	}
	if (target > clock_ns)
		clock_ns = target;
}

static void qlog(const char *dir, const char *text)
{
	if (!log_fp)
		return;
	int64_t now = g_get_monotonic_time() - log_start;
	fprintf(log_fp, "[%s +%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT "] %s\n", dir,
		now / 1000000, now % 1000000, text);
	fflush(log_fp);
}

static void send_line(const char *s)
{
	qlog("S", s);
	chardev_write(qchr, s, strlen(s));
	chardev_write(qchr, "\n", 1);
}

static void sendf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void sendf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	send_line(s);
	g_free(s);
}

void qtest_irq(unsigned gsi, int level)
{
	if (gsi >= G_N_ELEMENTS(irq_levels) || irq_levels[gsi] == level)
		return;
	irq_levels[gsi] = level;
	if (intercept && qchr)
		sendf("IRQ %s %u", level ? "raise" : "lower", gsi);
}

void qtest_msi(uint64_t address, uint32_t data)
{
	/* As on real hardware the MSI is a memory write: when the test points
	 * it at RAM, it can see it there. */
	guest_write(address, &data, 4);
}

static bool parse_u64(const char *s, uint64_t *v)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	*v = g_ascii_strtoull(s, &end, 0);
	return errno == 0 && *end == 0;
}

static void mem_access(uint64_t addr, unsigned size, bool is_write, uint64_t *val)
{
	uint8_t *p = guest_ram_ptr(addr, size);
	if (p) {
		if (is_write)
			memcpy(p, val, size);
		else {
			*val = 0;
			memcpy(val, p, size);
		}
		return;
	}
	io_access(IO_SPACE_MMIO, addr, size, is_write, val);
}

/* Byte-wise for bulk commands: RAM fast path, MMIO byte by byte. */
static void mem_bulk(uint64_t addr, uint8_t *buf, uint64_t len, bool is_write)
{
	uint8_t *p = guest_ram_ptr(addr, len);
	if (p) {
		if (is_write)
			memcpy(p, buf, len);
		else
			memcpy(buf, p, len);
		return;
	}
	for (uint64_t i = 0; i < len; i++) {
		uint64_t v = buf[i];
		mem_access(addr + i, 1, is_write, &v);
		if (!is_write)
			buf[i] = v;
	}
}

static int hexval(char c)
{
	return g_ascii_xdigit_value(c);
}

static void handle(char *cmdline)
{
	qlog("R", cmdline);
	char **w = g_strsplit(cmdline, " ", -1);
	int n = g_strv_length(w);
	uint64_t a, b, c;
	const char *cmd = n ? w[0] : "";
	if (n == 0 || !*cmd) {
		g_strfreev(w);
		return;
	}
	if (!strcmp(cmd, "outb") || !strcmp(cmd, "outw") || !strcmp(cmd, "outl")) {
		if (n != 3 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b) || a > 0xffff)
			goto bad;
		unsigned size = cmd[3] == 'b' ? 1 : cmd[3] == 'w' ? 2 : 4;
		io_access(IO_SPACE_PIO, a, size, true, &b);
		send_line("OK");
	} else if (!strcmp(cmd, "inb") || !strcmp(cmd, "inw") || !strcmp(cmd, "inl")) {
		if (n != 2 || !parse_u64(w[1], &a) || a > 0xffff)
			goto bad;
		unsigned size = cmd[2] == 'b' ? 1 : cmd[2] == 'w' ? 2 : 4;
		io_access(IO_SPACE_PIO, a, size, false, &b);
		sendf("OK 0x%04" G_GINT64_MODIFIER "x", b);
	} else if (g_str_has_prefix(cmd, "write") && strlen(cmd) == 6) {
		unsigned size = cmd[5] == 'b'	? 1
				: cmd[5] == 'w' ? 2
				: cmd[5] == 'l' ? 4
				: cmd[5] == 'q' ? 8
						: 0;
		if (!size || n != 3 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b))
			goto bad;
		mem_access(a, size, true, &b);
		send_line("OK");
	} else if (g_str_has_prefix(cmd, "read") && strlen(cmd) == 5) {
		unsigned size = cmd[4] == 'b'	? 1
				: cmd[4] == 'w' ? 2
				: cmd[4] == 'l' ? 4
				: cmd[4] == 'q' ? 8
						: 0;
		if (!size || n != 2 || !parse_u64(w[1], &a))
			goto bad;
		mem_access(a, size, false, &b);
		sendf("OK 0x%016" G_GINT64_MODIFIER "x", b);
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "b64read")) {
		if (n != 3 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b) || b > MAX_IO_SIZE)
			goto bad;
		uint8_t *buf = g_malloc0(b ? b : 1);
		mem_bulk(a, buf, b, false);
		if (cmd[0] == 'b') {
			char *enc = g_base64_encode(buf, b);
			sendf("OK %s", enc);
			g_free(enc);
		} else {
			GString *s = g_string_new("OK 0x");
			for (uint64_t i = 0; i < b; i++)
				g_string_append_printf(s, "%02x", buf[i]);
			send_line(s->str);
			g_string_free(s, true);
		}
		g_free(buf);
	} else if (!strcmp(cmd, "write")) {
		if (n != 4 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b) || b > MAX_IO_SIZE ||
		    !g_str_has_prefix(w[3], "0x"))
			goto bad;
		const char *hex = w[3] + 2;
		size_t hlen = strlen(hex);
		uint8_t *buf = g_malloc0(b ? b : 1);
		for (uint64_t i = 0; i < b; i++) {
			/* QEMU pads missing digits with zeroes */
			int hi = 2 * i < hlen ? hexval(hex[2 * i]) : 0;
			int lo = 2 * i + 1 < hlen ? hexval(hex[2 * i + 1]) : 0;
			if (hi < 0 || lo < 0) {
				g_free(buf);
				goto bad;
			}
			buf[i] = hi << 4 | lo;
		}
		mem_bulk(a, buf, b, true);
		g_free(buf);
		send_line("OK");
	} else if (!strcmp(cmd, "b64write")) {
		if (n != 4 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b) || b > MAX_IO_SIZE)
			goto bad;
		gsize dlen;
		guchar *data = g_base64_decode(w[3], &dlen);
		uint8_t *buf = g_malloc0(b ? b : 1);
		memcpy(buf, data, dlen < b ? dlen : b);
		g_free(data);
		mem_bulk(a, buf, b, true);
		g_free(buf);
		send_line("OK");
	} else if (!strcmp(cmd, "memset")) {
		if (n != 4 || !parse_u64(w[1], &a) || !parse_u64(w[2], &b) ||
		    !parse_u64(w[3], &c) || b > MAX_IO_SIZE)
			goto bad;
		uint8_t *buf = g_malloc(b ? b : 1);
		memset(buf, (int)c, b);
		mem_bulk(a, buf, b, true);
		g_free(buf);
		send_line("OK");
	} else if (!strcmp(cmd, "clock_step")) {
		if (n > 2 ||
		    (n == 2 && (!parse_u64(w[1], &a) || a > (uint64_t)INT64_MAX - clock_ns)))
			goto bad;
		if (n == 2) {
			clock_advance(clock_ns + (int64_t)a);
		} else {
			/* QEMU: to the next timer deadline; nothing armed, no move */
			int64_t d = ml_virtual_deadline();
			if (d >= 0)
				clock_advance(d > clock_ns ? d : clock_ns);
		}
		sendf("OK %" G_GINT64_FORMAT, clock_ns);
	} else if (!strcmp(cmd, "clock_set")) {
		if (n != 2 || !parse_u64(w[1], &a) || a > (uint64_t)INT64_MAX)
			goto bad;
		if ((int64_t)a > clock_ns)
			clock_advance((int64_t)a);
		sendf("OK %" G_GINT64_FORMAT, clock_ns);
	} else if (!strcmp(cmd, "irq_intercept_in") || !strcmp(cmd, "irq_intercept_out")) {
		if (n != 2)
			goto bad;
		if (intercept) {
			send_line("FAIL Interception already enabled");
		} else {
			intercept = true;
			send_line("OK");
		}
	} else if (!strcmp(cmd, "endianness")) {
		send_line("OK little");
	} else {
		sendf("FAIL Unknown command '%s'", cmd);
	}
	g_strfreev(w);
	return;
bad:
	sendf("FAIL invalid arguments for '%s'", cmd);
	g_strfreev(w);
}

static size_t qt_can_read(void *opaque)
{
	(void)opaque;
	return 65536;
}

static void qt_read(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			char *l = g_strdup(line->str);
			g_string_truncate(line, 0);
			g_strchomp(l);
			handle(l);
			g_free(l);
		} else if (line->len < 3 * MAX_IO_SIZE) {
			g_string_append_c(line, buf[i]);
		}
	}
}

static void qt_event(void *opaque, enum chr_event ev)
{
	(void)opaque;
	if (ev == CHR_EVENT_CLOSED) {
		/* QEMU's qtest ends the process when the test hangs up */
		kite_request_exit(0);
	}
}

static const struct chr_frontend qt_fe = {
    .can_read = qt_can_read,
    .read = qt_read,
    .event = qt_event,
};

int qtest_init(struct chardev *chr, const char *log_path, GError **err)
{
	line = g_string_new(NULL);
	log_start = g_get_monotonic_time();
	if (log_path && strcmp(log_path, "none") != 0) {
		log_fp = fopen(log_path, "w");
		if (!log_fp) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Could not open qtest log '%s': %s"), log_path,
				    g_strerror(errno));
			return -1;
		}
	}
	qchr = chr;
	if (chr && chardev_attach(chr, &qt_fe, NULL, err) < 0)
		return -1;
	/* device timers now wait for clock_step/clock_set */
	ml_set_virtual_clock(qtest_clock_ns);
	return 0;
}

void qtest_cleanup(void)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
}
