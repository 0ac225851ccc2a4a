/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP for the test guest: one connection at a time, active or passive
 * open, MSS option only (no window scaling, SACK or timestamps).
 *
 * Sending needs no buffer of its own: tcp_send() blocks until every byte is
 * acknowledged, so segments (first transmissions and retransmissions alike)
 * are cut straight from the caller's data while it runs. Up to a small
 * congestion window of segments is in flight, never more than the peer's
 * window; loss is repaired go-back-N from snd_una, on timeout or on three
 * duplicate ACKs. Receiving is in order only: data goes into a ring whose
 * free space is the advertised window, anything out of order is dropped and
 * answered with a duplicate ACK. Every segment we receive with data is
 * ACKed at once (no delayed ACKs: simpler, and the peer learns fast).
 */
#include "net.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define TCP_OPT_END 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2

#define TCP_MSS		1460 /* ETH_MTU - IPv4 header - TCP header */
#define TCP_MSS_DEFAULT 536  /* RFC 1122, when the peer sends no option */
#define TCP_MSS_MIN	64
#define TCP_RXQ_SIZE	32768
#define TCP_RTO_MIN_US	300000
#define TCP_RTO_MAX_US	3000000
#define TCP_CWND_INIT	4 /* segments */
#define TCP_CWND_MAX	16
#define TCP_RETRIES_MAX 12
#define TCP_SEND_MAX	(1u << 30) /* keeps sequence arithmetic unambiguous */

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GE(a, b) ((int32_t)((a) - (b)) >= 0)

enum tcp_state {
	TCP_CLOSED,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSING,
	TCP_TIME_WAIT,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
};

static struct tcb {
	enum tcp_state state;
	uint32_t raddr;
	uint16_t lport, rport;
	bool passive;	 /* opened by a SYN to listen_port */
	bool accepted;	 /* ... and handed out by tcp_accept() */
	bool app_closed; /* tcp_close() called: further data is discarded */
	bool fin_rcvd;	 /* the peer's FIN is in sequence: EOF after rxq */
	bool reset;	 /* ended by a RST, a timeout or an abort */

	/* Send side. [snd_una, snd_nxt) is in flight, snd_max is the highest
	 * sequence ever sent (snd_nxt falls back to snd_una to retransmit),
	 * snd_end follows the last byte tcp_send() queued. The bytes from
	 * tx_seq on are tx_data[], valid only while tcp_send() runs. */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_end, snd_wnd;
	const uint8_t *tx_data;
	uint32_t tx_seq;
	bool fin_queued;
	uint32_t fin_seq;
	uint16_t mss;
	unsigned cwnd, dupacks, retries;
	uint64_t rto_at; /* 0: timer stopped */
	uint32_t rto_us;
	bool probe; /* a timer-driven resend: may poke a zero window */

	/* Receive side. */
	uint32_t rcv_nxt;
	uint32_t adv_wnd; /* the window in our last segment */
	size_t rxq_head, rxq_len;
} tcb;

static uint8_t rxq[TCP_RXQ_SIZE];
static uint16_t listen_port;

void tcp_reset(void)
{
	memset(&tcb, 0, sizeof(tcb));
	listen_port = 0;
}

static uint16_t tcp_window(void)
{
	size_t free = tcb.app_closed ? TCP_RXQ_SIZE : TCP_RXQ_SIZE - tcb.rxq_len;

	return free > 0xffff ? 0xffff : (uint16_t)free;
}

/* Builds and sends one segment; the MSS option rides on SYNs only. */
static int tcp_xmit(uint32_t raddr, uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack,
		    uint8_t flags, uint16_t wnd, const uint8_t *data, size_t len)
{
	uint8_t *t = ip_payload();
	size_t hlen = TCP_HLEN + (flags & TCP_SYN ? 4 : 0);
	uint16_t total = (uint16_t)(hlen + len);

	if (len > IP_PAYLOAD_MAX - hlen)
		return -1;
	put_be16(t, lport);
	put_be16(t + 2, rport);
	put_be32(t + 4, seq);
	put_be32(t + 8, flags & TCP_ACK ? ack : 0);
	t[12] = (uint8_t)(hlen / 4) << 4;
	t[13] = flags;
	put_be16(t + 14, wnd);
	put_be16(t + 16, 0);
	put_be16(t + 18, 0); /* urgent pointer */
	if (flags & TCP_SYN) {
		t[20] = TCP_OPT_MSS;
		t[21] = 4;
		put_be16(t + 22, TCP_MSS);
	}
	if (len)
		memcpy(t + hlen, data, len);
	put_be16(t + 16, csum_fold(csum_add(csum_pseudo(net_cfg.addr, raddr, IPPROTO_TCP, total), t,
					    total)));
	return ip_send(raddr, IPPROTO_TCP, total);
}

static void tcb_xmit(uint8_t flags, uint32_t seq, const uint8_t *data, size_t len)
{
	uint16_t wnd = tcp_window();

	tcb.adv_wnd = wnd;
	tcp_xmit(tcb.raddr, tcb.lport, tcb.rport, seq, tcb.rcv_nxt, flags, wnd, data, len);
}

static void tcb_ack(void)
{
	tcb_xmit(TCP_ACK, tcb.snd_nxt, NULL, 0);
}

static void tcb_init(uint32_t raddr, uint16_t lport, uint16_t rport)
{
	memset(&tcb, 0, sizeof(tcb));
	tcb.raddr = raddr;
	tcb.lport = lport;
	tcb.rport = rport;
	tcb.iss = net_random();
	tcb.snd_una = tcb.snd_nxt = tcb.snd_max = tcb.iss;
	tcb.snd_end = tcb.tx_seq = tcb.iss + 1;
	tcb.mss = TCP_MSS_DEFAULT;
	tcb.cwnd = TCP_CWND_INIT;
	tcb.rto_us = TCP_RTO_MIN_US;
}

/* Ends the connection at once, telling the peer (RST) when it knows us. */
static void tcb_abort(void)
{
	if (tcb.state != TCP_CLOSED && tcb.state != TCP_TIME_WAIT && tcb.state != TCP_SYN_SENT)
		tcb_xmit(TCP_RST | TCP_ACK, tcb.snd_nxt, NULL, 0);
	tcb.state = TCP_CLOSED;
	tcb.reset = true;
	tcb.rto_at = 0;
	tcb.tx_data = NULL;
}

/* The peer's MSS option, 0 when absent; the option walk stays within the
 * header length the segment claims. */
static uint16_t tcp_parse_mss(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = opt[i], olen;

		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			break;
		olen = opt[i + 1];
		if (olen < 2 || olen > len - i)
			break;
		if (kind == TCP_OPT_MSS && olen == 4)
			return get_be16(opt + i + 2);
		i += olen;
	}
	return 0;
}

static uint16_t tcp_clamp_mss(uint16_t peer)
{
	if (!peer)
		return TCP_MSS_DEFAULT;
	if (peer > TCP_MSS)
		return TCP_MSS;
	return peer < TCP_MSS_MIN ? TCP_MSS_MIN : peer;
}

/*
 * Sends whatever the state allows: the SYN (or SYN-ACK) when it is due,
 * data from snd_nxt within min(peer window, congestion window), then our
 * FIN once all data is out. Arms the retransmission timer when something
 * is outstanding or a zero window holds data back.
 */
static void tcp_output(void)
{
	switch (tcb.state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		if (tcb.snd_nxt == tcb.iss) {
			tcb_xmit(tcb.state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, tcb.iss,
				 NULL, 0);
			tcb.snd_nxt = tcb.snd_max = tcb.iss + 1;
		}
		break;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK: {
		uint32_t wnd = tcb.cwnd * tcb.mss;

		if (tcb.snd_wnd < wnd)
			wnd = tcb.snd_wnd;
		if (!wnd && tcb.probe)
			wnd = 1;
		while (SEQ_LT(tcb.snd_nxt, tcb.snd_end) && tcb.tx_data) {
			uint32_t flight = tcb.snd_nxt - tcb.snd_una;
			uint32_t n = tcb.snd_end - tcb.snd_nxt;
			uint8_t flags = TCP_ACK;

			if (flight >= wnd)
				break;
			if (n > tcb.mss)
				n = tcb.mss;
			if (n > wnd - flight)
				n = wnd - flight;
			if (tcb.snd_nxt + n == tcb.snd_end)
				flags |= TCP_PSH;
			tcb_xmit(flags, tcb.snd_nxt, tcb.tx_data + (tcb.snd_nxt - tcb.tx_seq), n);
			tcb.snd_nxt += n;
		}
		if (tcb.fin_queued && tcb.snd_nxt == tcb.fin_seq) {
			tcb_xmit(TCP_FIN | TCP_ACK, tcb.fin_seq, NULL, 0);
			tcb.snd_nxt = tcb.fin_seq + 1;
		}
		if (SEQ_GT(tcb.snd_nxt, tcb.snd_max))
			tcb.snd_max = tcb.snd_nxt;
		break;
	}
	default:
		return;
	}
	if (!tcb.rto_at && (tcb.snd_una != tcb.snd_max || SEQ_LT(tcb.snd_nxt, tcb.snd_end)))
		tcb.rto_at = now_us() + tcb.rto_us;
}

void tcp_tick(void)
{
	if (!tcb.rto_at || now_us() < tcb.rto_at)
		return;
	tcb.rto_at = 0;
	if (tcb.state == TCP_CLOSED || tcb.state == TCP_TIME_WAIT || tcb.state == TCP_FIN_WAIT_2)
		return;
	if (tcb.snd_una == tcb.snd_max && !SEQ_LT(tcb.snd_nxt, tcb.snd_end))
		return;
	if (++tcb.retries > TCP_RETRIES_MAX) {
		kprintf("tcp: giving up on " IPV4_FMT ":%u after %u retransmissions\n",
			IPV4_ARGS(tcb.raddr), tcb.rport, TCP_RETRIES_MAX);
		tcb_abort();
		return;
	}
	/* Go back to the oldest unacknowledged byte, one segment at a time
	 * until ACKs flow again. */
	tcb.snd_nxt = tcb.snd_una;
	tcb.cwnd = 1;
	tcb.rto_us = tcb.rto_us * 2 > TCP_RTO_MAX_US ? TCP_RTO_MAX_US : tcb.rto_us * 2;
	tcb.probe = true;
	tcp_output();
	tcb.probe = false;
}

/* Answers a segment that belongs to no connection (RFC 793 "reset
 * generation"); never answers a RST. */
static void tcp_refuse(uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		       uint8_t flags, size_t dlen)
{
	if (flags & TCP_RST)
		return;
	if (flags & TCP_ACK)
		tcp_xmit(src, dport, sport, ack, 0, TCP_RST, 0, NULL, 0);
	else
		tcp_xmit(src, dport, sport, 0,
			 seq + (uint32_t)dlen + !!(flags & TCP_SYN) + !!(flags & TCP_FIN),
			 TCP_RST | TCP_ACK, 0, NULL, 0);
}

/* May a new SYN to the listening port take the connection slot? */
static bool tcb_free(void)
{
	return tcb.state == TCP_CLOSED || tcb.state == TCP_TIME_WAIT ||
	       (tcb.state == TCP_FIN_WAIT_2 && tcb.app_closed);
}

static void tcp_syn_sent_input(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
			       uint16_t mss)
{
	if ((flags & TCP_ACK) && (SEQ_LE(ack, tcb.iss) || SEQ_GT(ack, tcb.snd_max))) {
		if (!(flags & TCP_RST))
			tcp_xmit(tcb.raddr, tcb.lport, tcb.rport, ack, 0, TCP_RST, 0, NULL, 0);
		return;
	}
	if (flags & TCP_RST) {
		/* Only a RST that acknowledges our SYN is believable. */
		if (flags & TCP_ACK) {
			tcb.state = TCP_CLOSED;
			tcb.reset = true;
			tcb.rto_at = 0;
		}
		return;
	}
	/* A SYN without ACK would be a simultaneous open: not supported,
	 * our SYN retransmission sorts it out or the connect times out. */
	if (!(flags & TCP_SYN) || !(flags & TCP_ACK))
		return;
	tcb.rcv_nxt = seq + 1;
	tcb.snd_una = ack;
	tcb.snd_nxt = ack;
	tcb.snd_wnd = wnd;
	tcb.mss = tcp_clamp_mss(mss);
	tcb.state = TCP_ESTABLISHED;
	tcb.rto_at = 0;
	tcb.retries = 0;
	tcb.rto_us = TCP_RTO_MIN_US;
	tcb_ack();
}

/* Our FIN got acknowledged: advance the closing states. */
static void tcp_fin_acked(void)
{
	switch (tcb.state) {
	case TCP_FIN_WAIT_1:
		tcb.state = TCP_FIN_WAIT_2;
		break;
	case TCP_CLOSING:
		tcb.state = TCP_TIME_WAIT;
		break;
	case TCP_LAST_ACK:
		tcb.state = TCP_CLOSED;
		break;
	default:
		break;
	}
}

/* ACK processing for synchronized states; false when the segment must go
 * no further. */
static bool tcp_ack_input(uint32_t ack, uint16_t wnd, size_t dlen, uint8_t flags)
{
	if (tcb.state == TCP_SYN_RCVD) {
		if (!SEQ_GT(ack, tcb.snd_una) || SEQ_GT(ack, tcb.snd_max)) {
			tcp_xmit(tcb.raddr, tcb.lport, tcb.rport, ack, 0, TCP_RST, 0, NULL, 0);
			return false;
		}
		tcb.state = TCP_ESTABLISHED;
	}
	if (SEQ_GT(ack, tcb.snd_max)) {
		/* Acknowledges what we never sent. */
		tcb_ack();
		return false;
	}
	if (SEQ_GT(ack, tcb.snd_una)) {
		tcb.snd_una = ack;
		if (SEQ_LT(tcb.snd_nxt, ack))
			tcb.snd_nxt = ack;
		tcb.dupacks = 0;
		tcb.retries = 0;
		tcb.rto_us = TCP_RTO_MIN_US;
		tcb.rto_at = 0;
		if (tcb.cwnd < TCP_CWND_MAX)
			tcb.cwnd++;
		if (tcb.fin_queued && SEQ_GT(tcb.snd_una, tcb.fin_seq))
			tcp_fin_acked();
	} else if (ack == tcb.snd_una && !dlen && !(flags & TCP_FIN) &&
		   tcb.snd_una != tcb.snd_max && wnd == tcb.snd_wnd) {
		/* Three duplicate ACKs: a segment is lost and later ones
		 * arrived; resend from the hole without waiting. */
		if (++tcb.dupacks == 3) {
			tcb.snd_nxt = tcb.snd_una;
			tcb.cwnd = tcb.cwnd / 2 > 1 ? tcb.cwnd / 2 : 1;
		}
	}
	if (ack == tcb.snd_una) {
		/* A window reopening after a zero-window probe: the probe
		 * byte was most likely dropped, resend from the hole. */
		if (!tcb.snd_wnd && wnd)
			tcb.snd_nxt = tcb.snd_una;
		tcb.snd_wnd = wnd;
	}
	return tcb.state != TCP_CLOSED;
}

/* In-order data and FIN for the states that may still receive them. */
static void tcp_data_input(uint32_t seq, const uint8_t *data, size_t dlen, bool fin)
{
	size_t take;

	if (SEQ_LT(seq, tcb.rcv_nxt)) {
		uint32_t old = tcb.rcv_nxt - seq;

		if (old > dlen) {
			/* Entirely seen before (a retransmission, perhaps of
			 * the FIN): our ACK must have been lost. */
			tcb_ack();
			return;
		}
		data += old;
		dlen -= old;
		seq = tcb.rcv_nxt;
	}
	if (seq != tcb.rcv_nxt) {
		tcb_ack(); /* out of order: tell the peer where the hole is */
		return;
	}
	take = dlen;
	if (!tcb.app_closed) {
		size_t free = TCP_RXQ_SIZE - tcb.rxq_len;
		size_t tail = (tcb.rxq_head + tcb.rxq_len) % TCP_RXQ_SIZE;
		size_t first;

		if (take > free)
			take = free;
		first = TCP_RXQ_SIZE - tail < take ? TCP_RXQ_SIZE - tail : take;
		memcpy(rxq + tail, data, first);
		memcpy(rxq, data + first, take - first);
		tcb.rxq_len += take;
	}
	tcb.rcv_nxt += (uint32_t)take;
	if (fin && take == dlen) {
		tcb.rcv_nxt++;
		tcb.fin_rcvd = true;
		if (tcb.state == TCP_ESTABLISHED)
			tcb.state = TCP_CLOSE_WAIT;
		else if (tcb.state == TCP_FIN_WAIT_1)
			tcb.state = TCP_CLOSING;
		else if (tcb.state == TCP_FIN_WAIT_2)
			tcb.state = TCP_TIME_WAIT;
	}
	/* Also when nothing fit: the ACK repeats our (zero) window. */
	tcb_ack();
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	uint32_t seq, ack;
	uint16_t sport, dport, wnd, mss;
	size_t hlen, dlen;
	uint8_t flags;
	bool ours;

	if (len < TCP_HLEN || len > 0xffff)
		return;
	hlen = (size_t)(seg[12] >> 4) * 4;
	if (hlen < TCP_HLEN || hlen > len)
		return;
	if (csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (uint16_t)len), seg, len)) != 0)
		return;
	sport = get_be16(seg);
	dport = get_be16(seg + 2);
	seq = get_be32(seg + 4);
	ack = get_be32(seg + 8);
	flags = seg[13];
	wnd = get_be16(seg + 14);
	mss = tcp_parse_mss(seg + TCP_HLEN, hlen - TCP_HLEN);
	dlen = len - hlen;

	ours =
	    tcb.state != TCP_CLOSED && tcb.raddr == src && tcb.rport == sport && tcb.lport == dport;
	/* A fresh SYN on a quadruple we keep in TIME_WAIT starts over. */
	if (ours && tcb.state == TCP_TIME_WAIT && (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		ours = false;
	if (!ours) {
		if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && listen_port &&
		    dport == listen_port && tcb_free()) {
			if (tcb.state == TCP_FIN_WAIT_2)
				tcb_abort();
			tcb_init(src, dport, sport);
			tcb.passive = true;
			tcb.rcv_nxt = seq + 1;
			tcb.snd_wnd = wnd;
			tcb.mss = tcp_clamp_mss(mss);
			tcb.state = TCP_SYN_RCVD;
			tcp_output();
			return;
		}
		tcp_refuse(src, sport, dport, seq, ack, flags, dlen);
		return;
	}

	if (tcb.state == TCP_SYN_SENT) {
		tcp_syn_sent_input(seq, ack, flags, wnd, mss);
		return;
	}
	if (flags & TCP_RST) {
		/* Believed only inside our receive window (or exactly at its
		 * edge when it is closed), so stray RSTs cannot kill us. */
		uint32_t span = tcb.adv_wnd ? tcb.adv_wnd : 1;

		if (SEQ_GE(seq, tcb.rcv_nxt) && SEQ_LT(seq, tcb.rcv_nxt + span)) {
			tcb.state = TCP_CLOSED;
			tcb.reset = true;
			tcb.rto_at = 0;
		}
		return;
	}
	if (flags & TCP_SYN) {
		if (tcb.state == TCP_SYN_RCVD && seq + 1 == tcb.rcv_nxt) {
			/* The peer resends its SYN: our SYN-ACK was lost. */
			tcb.snd_nxt = tcb.iss;
			tcp_output();
		} else {
			tcb_ack(); /* e.g. a resent SYN-ACK whose ACK we lost */
		}
		return;
	}
	if (!(flags & TCP_ACK))
		return;
	if (!tcp_ack_input(ack, wnd, dlen, flags))
		return;

	switch (tcb.state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		if (dlen || (flags & TCP_FIN))
			tcp_data_input(seq, seg + hlen, dlen, flags & TCP_FIN);
		break;
	default:
		/* The peer's FIN is behind us: anything occupying sequence
		 * space is a retransmission to ACK again. */
		if (dlen || (flags & TCP_FIN))
			tcb_ack();
		break;
	}
	tcp_output();
}

static bool tcb_can_send(void)
{
	return tcb.state == TCP_ESTABLISHED || tcb.state == TCP_CLOSE_WAIT;
}

int tcp_connect(uint32_t dst, uint16_t dport, uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);

	if (!dst || !dport || !net_cfg.addr)
		return -1;
	/* One connection at a time: a new connect replaces the old one. */
	if (tcb.state != TCP_CLOSED)
		tcb_abort();
	if (arp_wait(dst, timeout_ms) != 0)
		return -1;
	tcb_init(dst, net_ephemeral_port(), dport);
	tcb.state = TCP_SYN_SENT;
	tcp_output();
	while (tcb.state == TCP_SYN_SENT && now_us() < deadline)
		net_poll();
	if (tcb.state == TCP_ESTABLISHED)
		return 0;
	if (tcb.state == TCP_SYN_SENT)
		tcb_abort();
	return -1;
}

int tcp_listen(uint16_t port)
{
	if (!port)
		return -1;
	listen_port = port;
	return 0;
}

int tcp_accept(uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);

	if (!listen_port)
		return -1;
	for (;;) {
		/* CLOSE_WAIT counts: the peer may send and close at once. */
		if (tcb.passive && !tcb.accepted && tcb_can_send()) {
			tcb.accepted = true;
			return 0;
		}
		if (now_us() >= deadline)
			return -1;
		net_poll();
	}
}

int tcp_send(const void *data, size_t len, uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);

	if (!tcb_can_send() || len > TCP_SEND_MAX)
		return -1;
	if (!len)
		return 0;
	tcb.tx_data = data;
	tcb.tx_seq = tcb.snd_end;
	tcb.snd_end += (uint32_t)len;
	tcp_output();
	while (SEQ_LT(tcb.snd_una, tcb.snd_end)) {
		if (!tcb_can_send()) {
			tcb.tx_data = NULL;
			return -1;
		}
		if (now_us() >= deadline) {
			/* The data cannot outlive this call: give up on the
			 * whole connection. */
			tcb_abort();
			return -1;
		}
		net_poll();
	}
	tcb.tx_data = NULL;
	return 0;
}

int tcp_recv(void *buf, size_t cap, uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);
	uint8_t *out = buf;

	if (!cap)
		return -1;
	if (cap > 0x7fffffff)
		cap = 0x7fffffff;
	for (;;) {
		if (tcb.rxq_len) {
			size_t n = tcb.rxq_len < cap ? tcb.rxq_len : cap;
			size_t first = TCP_RXQ_SIZE - tcb.rxq_head;

			if (first > n)
				first = n;
			memcpy(out, rxq + tcb.rxq_head, first);
			memcpy(out + first, rxq, n - first);
			tcb.rxq_head = (tcb.rxq_head + n) % TCP_RXQ_SIZE;
			tcb.rxq_len -= n;
			/* Reopen a window that had (nearly) closed, or the
			 * peer waits for its persist timer. */
			if (tcb.adv_wnd < TCP_RXQ_SIZE / 2 && tcp_window() >= TCP_RXQ_SIZE / 2 &&
			    (tcb.state == TCP_ESTABLISHED || tcb.state == TCP_FIN_WAIT_1 ||
			     tcb.state == TCP_FIN_WAIT_2))
				tcb_ack();
			return (int)n;
		}
		if (tcb.fin_rcvd)
			return 0;
		if (tcb.state == TCP_CLOSED)
			return -1;
		if (now_us() >= deadline)
			return -1;
		net_poll();
	}
}

int tcp_close(uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);

	switch (tcb.state) {
	case TCP_CLOSED:
		return tcb.reset ? -1 : 0;
	case TCP_TIME_WAIT:
	case TCP_FIN_WAIT_2:
		return 0;
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		tcb_abort();
		return 0;
	case TCP_ESTABLISHED:
		tcb.state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		tcb.state = TCP_LAST_ACK;
		break;
	default:
		break; /* already closing */
	}
	tcb.app_closed = true;
	tcb.rxq_len = 0;
	if (!tcb.fin_queued) {
		tcb.fin_queued = true;
		tcb.fin_seq = tcb.snd_end;
		tcp_output();
	}
	/* Done once our FIN is acknowledged; the peer's FIN, if it is still
	 * to come, is ACKed by later polls (FIN_WAIT_2 lingers until the slot
	 * is reused). */
	while (tcb.state == TCP_FIN_WAIT_1 || tcb.state == TCP_CLOSING ||
	       tcb.state == TCP_LAST_ACK) {
		if (now_us() >= deadline) {
			tcb_abort();
			return -1;
		}
		net_poll();
	}
	return tcb.state == TCP_CLOSED && tcb.reset ? -1 : 0;
}
