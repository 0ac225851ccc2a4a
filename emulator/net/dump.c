/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet capture to classic pcap files: "-net dump" (a hub member seeing
 * every frame of its hub) and "-object filter-dump" (both directions of one
 * netdev). Files open with tcpdump/tshark/wireshark.
 *
 * Records are buffered and written at most FLUSH_DELAY_NS after the first
 * unwritten one (or when the buffer fills), not with one write() per frame:
 * a capture of a running guest is complete on disk within milliseconds, and
 * a busy hub does not pay a system call per frame for being watched.
 */
#include "backends.h"

#include "../main-loop.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#define PCAP_MAGIC	  0xa1b2c3d4u
#define LINKTYPE_ETHERNET 1
#define DUMP_DEFAULT_LEN  65536
#define FLUSH_DELAY_NS	  (10 * 1000 * 1000)
#define WRITE_BUFFER	  (64 * 1024)

struct PcapWriter {
	FILE *f;
	uint32_t snaplen;
	bool failed; /* a write failed once: stop, the message was printed */
	bool dirty;  /* records wait in the stdio buffer; flush is armed */
	ml_timer *flush;
	char *path;
};

static void write_failed(PcapWriter *w)
{
	g_printerr(_("net dump: write to %s failed, capture stopped: %s\n"), w->path,
		   g_strerror(errno));
	w->failed = true;
}

static void flush_fired(void *opaque)
{
	PcapWriter *w = opaque;
	w->dirty = false;
	if (!w->failed && fflush(w->f) != 0)
		write_failed(w);
}

struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_record_header {
	uint32_t ts_sec, ts_usec, incl_len, orig_len;
};

PcapWriter *pcap_writer_open(const char *path, uint32_t snaplen, GError **err)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		g_set_error(err, KITE_NET_ERROR, 0, _("net dump: can't open %s: %s"), path,
			    g_strerror(errno));
		return NULL;
	}
	struct pcap_file_header h = {
	    .magic = PCAP_MAGIC,
	    .version_major = 2,
	    .version_minor = 4,
	    .snaplen = snaplen,
	    .linktype = LINKTYPE_ETHERNET,
	};
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fflush(f) != 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("net dump: can't write %s: %s"), path,
			    g_strerror(errno));
		fclose(f);
		return NULL;
	}
	PcapWriter *w = g_new0(PcapWriter, 1);
	w->f = f;
	w->snaplen = snaplen;
	w->path = g_strdup(path);
	setvbuf(f, NULL, _IOFBF, WRITE_BUFFER);
	w->flush = ml_timer_new(flush_fired, w);
	return w;
}

void pcap_writer_frame(PcapWriter *w, const struct iovec *iov, int iovcnt)
{
	if (w->failed)
		return;
	size_t len = net_iov_size(iov, iovcnt);
	size_t caplen = MIN(len, (size_t)w->snaplen);
	gint64 now = g_get_real_time();
	struct pcap_record_header r = {
	    .ts_sec = (uint32_t)(now / G_USEC_PER_SEC),
	    .ts_usec = (uint32_t)(now % G_USEC_PER_SEC),
	    .incl_len = (uint32_t)caplen,
	    .orig_len = (uint32_t)len,
	};
	bool ok = fwrite(&r, sizeof(r), 1, w->f) == 1;
	for (int i = 0; i < iovcnt && caplen && ok; i++) {
		size_t n = MIN(iov[i].iov_len, caplen);
		ok = fwrite(iov[i].iov_base, 1, n, w->f) == n;
		caplen -= n;
	}
	if (!ok) {
		write_failed(w);
		return;
	}
	if (!w->dirty) {
		w->dirty = true;
		ml_timer_mod(w->flush, ml_now_ns() + FLUSH_DELAY_NS);
	}
}

void pcap_writer_close(PcapWriter *w)
{
	if (!w)
		return;
	ml_timer_free(w->flush);
	if (fclose(w->f) != 0 && !w->failed)
		write_failed(w);
	g_free(w->path);
	g_free(w);
}

/* --- -net dump ------------------------------------------------------------ */

typedef struct DumpConfig {
	char *file;
	uint32_t len;
} DumpConfig;

static const char *const dump_keys[] = {"file", "len", NULL};

static void *dump_parse(KiteOpts *o, GError **err)
{
	uint64_t len;
	if (kite_opts_get_size(o, "len", DUMP_DEFAULT_LEN, &len, err) < 0)
		return NULL;
	if (len == 0 || len > UINT32_MAX) {
		kite_opts_error(o, err, _("Parameter 'len' expects a value between 1 and %u"),
				UINT32_MAX);
		return NULL;
	}
	int64_t vlan;
	if (kite_opts_get_int(o, "vlan", 0, 0, INT32_MAX, _("a number"), &vlan, err) < 0)
		return NULL;
	DumpConfig *c = g_new0(DumpConfig, 1);
	c->len = (uint32_t)len;
	const char *file = kite_opts_get(o, "file");
	/* QEMU's default was qemu-vlanN.pcap; kite names its own files. */
	c->file = file ? g_strdup(file) : g_strdup_printf("kite-vlan%d.pcap", (int)vlan);
	return c;
}

static void dump_free_cfg(void *p)
{
	DumpConfig *c = p;
	g_free(c->file);
	g_free(c);
}

static ssize_t dump_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	pcap_writer_frame(nc->opaque, iov, iovcnt);
	return net_iov_size(iov, iovcnt);
}

static void dump_cleanup(NetClient *nc)
{
	pcap_writer_close(nc->opaque);
}

static const NetClientOps dump_ops = {
    .receive = dump_receive,
    .cleanup = dump_cleanup,
};

static NetClient *dump_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	DumpConfig *c = cfg;
	GError *e = NULL;
	PcapWriter *w = pcap_writer_open(c->file, c->len, &e);
	if (!w) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	NetClient *nc = net_client_new(NET_CLIENT_DUMP, "dump", name, &dump_ops, w);
	net_client_set_info(nc, "dump to %s (len=%u)", c->file, c->len);
	return nc;
}

const NetBackend net_backend_dump = {
    .type = "dump",
    .keys = dump_keys,
    .legacy_ok = true,
    .parse = dump_parse,
    .create = dump_create,
    .free_cfg = dump_free_cfg,
};

/* --- -object filter-dump --------------------------------------------------- */

const char *const net_filter_dump_keys[] = {"netdev", "file",	"maxlen", "position",
					    "insert", "status", "queue",  NULL};

typedef struct FilterDump {
	PcapWriter *w;
	char *file;
	uint32_t maxlen;
	char *queue;
	bool on;
} FilterDump;

static void filter_dump_frame(NetFilter *nf, bool rx, const struct iovec *iov, int iovcnt)
{
	FilterDump *fd = nf->opaque;
	if (!fd->on || (rx && !strcmp(fd->queue, "tx")) || (!rx && !strcmp(fd->queue, "rx")))
		return;
	size_t skip = nf->nc->vnet_hdr_len;
	if (skip == 0) {
		pcap_writer_frame(fd->w, iov, iovcnt);
		return;
	}
	/* The virtio header a tap carries is not part of the Ethernet frame. */
	struct iovec v[64];
	int n = 0;
	for (int i = 0; i < iovcnt && n < (int)G_N_ELEMENTS(v); i++) {
		if (iov[i].iov_len <= skip) {
			skip -= iov[i].iov_len;
			continue;
		}
		v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		v[n].iov_len = iov[i].iov_len - skip;
		skip = 0;
		n++;
	}
	if (n)
		pcap_writer_frame(fd->w, v, n);
}

static void filter_dump_info(NetFilter *nf, GString *out)
{
	FilterDump *fd = nf->opaque;
	g_string_append_printf(out,
			       ",file=%s,maxlen=%u,position=tail,status=%s,insert=behind,"
			       "netdev=%s,queue=%s",
			       fd->file, fd->maxlen, fd->on ? "on" : "off", nf->nc->name,
			       fd->queue);
}

static void filter_dump_cleanup(NetFilter *nf)
{
	FilterDump *fd = nf->opaque;
	pcap_writer_close(fd->w);
	g_free(fd->file);
	g_free(fd->queue);
	g_free(fd);
}

int net_filter_dump_create(KiteOpts *o, GError **err)
{
	const char *id = kite_opts_get(o, "id");
	const char *netdev = kite_opts_get(o, "netdev");
	const char *file = kite_opts_get(o, "file");
	const char *queue = kite_opts_get(o, "queue");
	uint64_t maxlen;
	bool on;
	if (kite_opts_get_size(o, "maxlen", DUMP_DEFAULT_LEN, &maxlen, err) < 0 ||
	    kite_opts_get_bool(o, "status", true, &on, err) < 0)
		return -1;
	if (queue && strcmp(queue, "all") && strcmp(queue, "rx") && strcmp(queue, "tx")) {
		kite_opts_error(o, err, _("Parameter 'queue' does not accept value '%s'"), queue);
		return -1;
	}
	if (net_filter_find(id)) {
		kite_opts_error(o, err, _("attempt to add duplicate property '%s' to object"), id);
		return -1;
	}
	NetClient *nc = net_client_find(netdev);
	if (!nc || !nc->is_netdev) {
		kite_opts_error(o, err, _("Property 'netdev' can't find value '%s'"), netdev);
		return -1;
	}
	GError *e = NULL;
	PcapWriter *w = pcap_writer_open(file, (uint32_t)maxlen, &e);
	if (!w) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		return -1;
	}
	FilterDump *fd = g_new0(FilterDump, 1);
	fd->w = w;
	fd->file = g_strdup(file);
	fd->maxlen = (uint32_t)maxlen;
	fd->queue = g_strdup(queue ? queue : "all");
	fd->on = on;
	NetFilter *nf = g_new0(NetFilter, 1);
	nf->id = g_strdup(id);
	nf->type_name = g_strdup("filter-dump");
	nf->frame = filter_dump_frame;
	nf->info = filter_dump_info;
	nf->cleanup = filter_dump_cleanup;
	nf->opaque = fd;
	net_filter_attach(nc, nf);
	return 0;
}
