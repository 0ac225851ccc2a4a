/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "main-loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Handlers are looked up by fd in a flat table: fds are small integers and
 * a table avoids a hash lookup on every event in the packet fast path. */
struct fd_watch {
	ml_fd_cb cb;
	void *opaque;
	bool used;
};

struct ml_timer {
	ml_cb cb;
	void *opaque;
	int64_t when_ns; /* -1 when disarmed */
	bool virtual_clock;
	struct ml_timer *next;
};

struct thread_call {
	ml_cb cb;
	void *opaque;
	struct thread_call *next;
};

static int epfd = -1;
static int wake_fd = -1;
static struct fd_watch *watches;
static int nwatches;
static struct ml_timer *timers;
static bool quit_requested;
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thread_call *calls, **calls_tail = &calls;
static pthread_t main_thread;
static ml_cb hook_before_wait, hook_after_wait;
static int64_t (*virtual_now)(void); /* NULL: virtual timers run on host time */
static void *hook_opaque;
/*
 * When the main loop's epoll_wait() times out (monotonic ns): INT64_MAX
 * while it waits without a timeout, INT64_MIN while it is not waiting (it
 * looks at every timer again before it next waits). Written by the main
 * thread and read by threads arming timers, both under kite's lock, so a
 * timer armed from a vCPU wakes the loop only when the loop would sleep
 * past it: a vCPU that re-arms a timer for every frame it sends costs no
 * eventfd write, epoll wake-up and lock hand-off per frame.
 */
static int64_t sleeping_until = INT64_MIN;

void ml_set_poll_hooks(ml_cb before_wait, ml_cb after_wait, void *opaque)
{
	hook_before_wait = before_wait;
	hook_after_wait = after_wait;
	hook_opaque = opaque;
}

int64_t ml_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void run_thread_calls(int fd, uint32_t events, void *opaque)
{
	uint64_t v;
	(void)events;
	(void)opaque;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&call_lock);
	struct thread_call *list = calls;
	calls = NULL;
	calls_tail = &calls;
	pthread_mutex_unlock(&call_lock);
	while (list) {
		struct thread_call *c = list;
		list = c->next;
		c->cb(c->opaque);
		free(c);
	}
}

int ml_init(void)
{
	if (epfd >= 0)
		return 0;
	main_thread = pthread_self();
	/* The kernel may defer a sleeping thread's wake-up by its timer slack
	 * (50 us by default) to batch wake-ups; short device timers need it
	 * close to their deadline. Threads started later inherit it. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0)
		return -errno;
	return ml_add_fd(wake_fd, EPOLLIN, run_thread_calls, NULL);
}

static int ensure_slot(int fd)
{
	if (fd < nwatches)
		return 0;
	int n = nwatches ? nwatches : 64;
	while (n <= fd)
		n *= 2;
	struct fd_watch *w = realloc(watches, sizeof(*w) * n);
	if (!w)
		return -ENOMEM;
	memset(w + nwatches, 0, sizeof(*w) * (n - nwatches));
	watches = w;
	nwatches = n;
	return 0;
}

int ml_add_fd(int fd, uint32_t events, ml_fd_cb cb, void *opaque)
{
	if (fd < 0)
		return -EBADF;
	int r = ensure_slot(fd);
	if (r < 0)
		return r;
	struct epoll_event ev = {.events = events, .data.fd = fd};
	int op = watches[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(epfd, op, fd, &ev) < 0)
		return -errno;
	watches[fd] = (struct fd_watch){.cb = cb, .opaque = opaque, .used = true};
	return 0;
}

int ml_mod_fd(int fd, uint32_t events)
{
	if (fd < 0 || fd >= nwatches || !watches[fd].used)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void ml_del_fd(int fd)
{
	if (fd < 0 || fd >= nwatches || !watches[fd].used)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	watches[fd].used = false;
}

ml_timer *ml_timer_new(ml_cb cb, void *opaque)
{
	ml_timer *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->cb = cb;
	t->opaque = opaque;
	t->when_ns = -1;
	t->next = timers;
	timers = t;
	return t;
}

ml_timer *ml_timer_new_virtual(ml_cb cb, void *opaque)
{
	ml_timer *t = ml_timer_new(cb, opaque);
	t->virtual_clock = true;
	return t;
}

void ml_set_virtual_clock(int64_t (*now)(void))
{
	virtual_now = now;
}

/* Does this timer wait for the virtual clock rather than host time? */
static bool on_virtual_clock(const ml_timer *t)
{
	return t->virtual_clock && virtual_now;
}

int64_t ml_virtual_deadline(void)
{
	int64_t d = -1;
	for (ml_timer *t = timers; t; t = t->next)
		if (on_virtual_clock(t) && t->when_ns >= 0 && (d < 0 || t->when_ns < d))
			d = t->when_ns;
	return d;
}

/* Fire the timers of one clock (host or, under qtest, virtual) that are
 * due at now. A callback may re-arm or free timers: restart the scan after
 * each. */
static void fire_due(int64_t now, bool virtual_clock)
{
	for (bool fired = true; fired;) {
		fired = false;
		for (ml_timer *t = timers; t; t = t->next) {
			if (on_virtual_clock(t) == virtual_clock && t->when_ns >= 0 &&
			    t->when_ns <= now) {
				t->when_ns = -1;
				t->cb(t->opaque);
				fired = true;
				break;
			}
		}
	}
}

void ml_run_virtual_timers(int64_t now)
{
	fire_due(now, true);
}

void ml_timer_mod(ml_timer *t, int64_t when_ns)
{
	t->when_ns = when_ns;
	/* Armed from a vCPU thread (under kite's lock) while the main loop
	 * sleeps with a later timeout: wake it so it recomputes. */
	if (wake_fd >= 0 && when_ns < __atomic_load_n(&sleeping_until, __ATOMIC_SEQ_CST) &&
	    !pthread_equal(pthread_self(), main_thread)) {
		uint64_t one = 1;
		if (write(wake_fd, &one, sizeof(one)) < 0) {
			/* saturated: a wake-up is already pending */
		}
	}
}

void ml_timer_del(ml_timer *t)
{
	t->when_ns = -1;
}

void ml_timer_free(ml_timer *t)
{
	for (ml_timer **p = &timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			free(t);
			return;
		}
	}
}

bool ml_on_main_thread(void)
{
	return pthread_equal(pthread_self(), main_thread);
}

void ml_call_from_thread(ml_cb cb, void *opaque)
{
	struct thread_call *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->cb = cb;
	c->opaque = opaque;
	pthread_mutex_lock(&call_lock);
	*calls_tail = c;
	calls_tail = &c->next;
	pthread_mutex_unlock(&call_lock);
	uint64_t one = 1;
	if (write(wake_fd, &one, sizeof(one)) < 0) {
		/* eventfd saturation is harmless: a wake-up is already pending */
	}
}

/*
 * When the loop next has to wake (monotonic ns), INT64_MAX for never: the
 * earliest armed host-clock timer, or now + timeout_ms. Kept in
 * nanoseconds: devices arm timers tens of microseconds ahead (virtio-net's
 * transmit coalescing), which a millisecond wait would stretch 40-fold.
 */
static int64_t next_deadline_ns(int64_t now, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
	for (ml_timer *t = timers; t; t = t->next) {
		if (t->when_ns >= 0 && !on_virtual_clock(t) && t->when_ns < deadline)
			deadline = t->when_ns;
	}
	return deadline;
}

/* epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11); on an
 * older kernel the timeout is rounded up to milliseconds. */
static int wait_events(struct epoll_event *evs, int max, int64_t now, int64_t deadline)
{
	static bool no_pwait2;
	if (deadline == INT64_MAX)
		return epoll_wait(epfd, evs, max, -1);
	int64_t ns = deadline > now ? deadline - now : 0;
	if (!no_pwait2) {
		struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
		int n = epoll_pwait2(epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = true;
	}
	int64_t ms = (ns + 999999) / 1000000;
	return epoll_wait(epfd, evs, max, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

static void run_timers(void)
{
	fire_due(ml_now_ns(), false);
}

bool ml_iterate(int timeout_ms)
{
	struct epoll_event evs[64];
	if (quit_requested)
		return false;
	int64_t now = ml_now_ns();
	int64_t deadline = next_deadline_ns(now, timeout_ms);
	__atomic_store_n(&sleeping_until, deadline, __ATOMIC_SEQ_CST);
	if (hook_before_wait)
		hook_before_wait(hook_opaque);
	int n = wait_events(evs, 64, now, deadline);
	if (hook_after_wait)
		hook_after_wait(hook_opaque);
	__atomic_store_n(&sleeping_until, INT64_MIN, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		/* An earlier callback in this batch may have removed this fd. */
		if (fd < nwatches && watches[fd].used)
			watches[fd].cb(fd, evs[i].events, watches[fd].opaque);
	}
	run_timers();
	return !quit_requested;
}

void ml_run(void)
{
	while (ml_iterate(-1))
		;
}

void ml_quit(void)
{
	quit_requested = true;
}
