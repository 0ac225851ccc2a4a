/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net-harness: kite's network layer without the VM. It takes kite's network
 * options (-net, -netdev, -nic, -object filter-dump, -nodefaults), creates a
 * test NIC for every -net nic / -nic, runs kite's main loop and is driven
 * line by line on stdin:
 *
 *   TX <nic> <hex>         send a frame from a NIC (as its guest would)
 *   STALL <nic> on|off     guest has no rx buffers / gets them back
 *   HMP <command line>     a network monitor command; output, then "END"
 *   QMP <json>             {"execute":..,"arguments":..}; reply, then "END"
 *   STATS <name>           counters of a client, then "END"
 *   QUIT                   tear down (downscripts run) and exit 0
 *
 * and reports on stdout:
 *   READY                  after start-up
 *   RX <nic> <hex>         a frame reached a NIC
 *   LINK <nic> up|down     a NIC's link changed
 *   EVENT <json>           a QMP event
 * Start-up errors go to stderr as "kite: <message>" with exit status 1.
 */
#include "error.h"
#include "main-loop.h"
#include "net-cmdline.h"
#include "net-monitor.h"
#include "net.h"
#include "test-nic.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static GPtrArray *nics;
static GString *inbuf;

static TestNic *find_nic(const char *name)
{
	for (guint i = 0; i < nics->len; i++) {
		TestNic *t = nics->pdata[i];
		if (!strcmp(t->nc->name, name))
			return t;
	}
	return NULL;
}

static void print_hex(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
}

static void on_rx(TestNic *t, const uint8_t *buf, size_t len)
{
	printf("RX %s ", t->nc->name);
	print_hex(buf, len);
	printf("\n");
	fflush(stdout);
}

static void on_event(const char *name, JsonObject *data)
{
	JsonObject *o = json_object_new();
	json_object_set_string_member(o, "event", name);
	if (data)
		json_object_set_object_member(o, "data", data);
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(n, o);
	char *s = json_to_string(n, FALSE);
	printf("EVENT %s\n", s);
	fflush(stdout);
	g_free(s);
	json_node_unref(n);
}

static uint8_t *parse_hex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2)
		return NULL;
	uint8_t *buf = g_malloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = g_ascii_xdigit_value(s[2 * i]), lo = g_ascii_xdigit_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			g_free(buf);
			return NULL;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return buf;
}

static void do_qmp(const char *json)
{
	JsonParser *p = json_parser_new();
	GError *err = NULL;
	if (!json_parser_load_from_data(p, json, -1, &err) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		printf("ERROR bad json\nEND\n");
		g_clear_error(&err);
		g_object_unref(p);
		return;
	}
	JsonObject *req = json_node_get_object(json_parser_get_root(p));
	const char *cmd = json_object_get_string_member_with_default(req, "execute", "");
	JsonObject *args = json_object_has_member(req, "arguments")
			       ? json_object_get_object_member(req, "arguments")
			       : NULL;
	JsonObject *empty = json_object_new();
	const NetQmpCommand *c;
	for (c = net_qmp_commands; c->name && strcmp(c->name, cmd); c++)
		;
	JsonObject *reply = json_object_new();
	if (!c->name) {
		JsonObject *e = json_object_new();
		json_object_set_string_member(e, "class", "CommandNotFound");
		json_object_set_string_member(e, "desc", "The command has not been found");
		json_object_set_object_member(reply, "error", e);
	} else {
		JsonNode *ret = c->fn(args ? args : empty, &err);
		if (err) {
			JsonObject *e = json_object_new();
			json_object_set_string_member(e, "class", kite_error_class_name(err->code));
			json_object_set_string_member(e, "desc", err->message);
			json_object_set_object_member(reply, "error", e);
			g_clear_error(&err);
			if (ret)
				json_node_unref(ret);
		} else if (ret) {
			json_object_set_member(reply, "return", ret);
		} else {
			json_object_set_object_member(reply, "return", json_object_new());
		}
	}
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(n, reply);
	char *s = json_to_string(n, FALSE);
	printf("%s\nEND\n", s);
	g_free(s);
	json_node_unref(n);
	json_object_unref(empty);
	g_object_unref(p);
}

static void do_line(char *line)
{
	char *sp = strchr(line, ' ');
	char *rest = sp ? sp + 1 : (char *)"";
	if (sp)
		*sp = '\0';
	if (!strcmp(line, "TX")) {
		char *hex = strchr(rest, ' ');
		TestNic *t;
		size_t len;
		uint8_t *buf;
		if (!hex || (*hex++ = '\0', !(t = find_nic(rest))) ||
		    !(buf = parse_hex(hex, &len))) {
			printf("ERROR bad TX\n");
		} else {
			net_send(t->nc, buf, len);
			g_free(buf);
		}
	} else if (!strcmp(line, "STALL")) {
		char *onoff = strchr(rest, ' ');
		TestNic *t;
		if (!onoff || (*onoff++ = '\0', !(t = find_nic(rest)))) {
			printf("ERROR bad STALL\n");
		} else {
			t->stalled = !strcmp(onoff, "on");
			if (!t->stalled)
				net_client_flush_queue(t->nc);
		}
	} else if (!strcmp(line, "HMP")) {
		GString *out = g_string_new(NULL);
		if (!net_hmp_dispatch(rest, out))
			g_string_append_printf(out, "unknown command: '%s'\n", rest);
		printf("%sEND\n", out->str);
		g_string_free(out, TRUE);
	} else if (!strcmp(line, "QMP")) {
		do_qmp(rest);
	} else if (!strcmp(line, "STATS")) {
		NetClient *nc = net_client_find(rest);
		if (nc) {
			NetCounters *c = &nc->stats;
			printf("rx_packets=%" G_GUINT64_FORMAT " rx_bytes=%" G_GUINT64_FORMAT
			       " rx_dropped=%" G_GUINT64_FORMAT " tx_packets=%" G_GUINT64_FORMAT
			       " tx_bytes=%" G_GUINT64_FORMAT " tx_dropped=%" G_GUINT64_FORMAT
			       " queued=%" G_GUINT64_FORMAT " queue_overflow=%" G_GUINT64_FORMAT
			       " queue_len=%u\n",
			       c->rx_packets, c->rx_bytes, c->rx_dropped, c->tx_packets,
			       c->tx_bytes, c->tx_dropped, c->queued, c->queue_overflow,
			       g_queue_get_length(&nc->incoming));
		}
		printf("END\n");
	} else if (!strcmp(line, "QUIT")) {
		ml_quit();
	} else if (*line) {
		printf("ERROR unknown command %s\n", line);
	}
	fflush(stdout);
}

static void on_stdin(int fd, uint32_t events, void *opaque)
{
	char buf[65536];
	(void)events;
	(void)opaque;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		ml_del_fd(fd);
		ml_quit();
		return;
	}
	g_string_append_len(inbuf, buf, n);
	char *nl;
	while ((nl = memchr(inbuf->str, '\n', inbuf->len))) {
		size_t l = nl - inbuf->str;
		char *line = g_strndup(inbuf->str, l);
		g_string_erase(inbuf, 0, l + 1);
		do_line(line);
		g_free(line);
	}
}

static void on_link(TestNic *t)
{
	printf("LINK %s %s\n", t->nc->name, t->nc->link_down ? "down" : "up");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	signal(SIGPIPE, SIG_IGN);
	ml_init();
	test_nic_register_models();
	net_qmp_event_hook = on_event;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		int r = 0;
		if (!strcmp(opt, "-nodefaults")) {
			net_cmdline_set_nodefaults(true);
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kite: %s: requires an argument\n", opt);
			return 1;
		}
		const char *arg = argv[++i];
		if (!strcmp(opt, "-net"))
			r = net_cmdline_net(arg, &err);
		else if (!strcmp(opt, "-netdev"))
			r = net_cmdline_netdev(arg, &err);
		else if (!strcmp(opt, "-nic"))
			r = net_cmdline_nic(arg, &err);
		else if (!strcmp(opt, "-object"))
			r = net_cmdline_object(arg, &err) > 0 ? 0 : -1;
		else {
			fprintf(stderr, "kite: unknown option %s\n", opt);
			return 1;
		}
		if (r < 0) {
			fprintf(stderr, "kite: %s\n", err ? err->message : "unsupported object");
			return 1;
		}
	}
	if (net_cmdline_finish(&err) < 0) {
		fprintf(stderr, "kite: %s\n", err->message);
		return 1;
	}
	nics = test_nic_create_all();
	for (guint i = 0; i < nics->len; i++) {
		TestNic *t = nics->pdata[i];
		t->on_rx = on_rx;
		t->on_link = on_link;
	}
	inbuf = g_string_new(NULL);
	ml_add_fd(STDIN_FILENO, EPOLLIN, on_stdin, NULL);
	printf("READY\n");
	fflush(stdout);
	ml_run();
	net_cleanup_all();
	net_cmdline_reset();
	g_ptr_array_set_free_func(nics, (GDestroyNotify)test_nic_free);
	g_ptr_array_free(nics, TRUE);
	g_string_free(inbuf, TRUE);
	return 0;
}
