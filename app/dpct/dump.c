/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table pagers behind event-socket dumps (IPCTNL_MSG_CT_GET +
 * NLM_F_DUMP for connections, IPCTNL_MSG_EXP_GET + NLM_F_DUMP for the
 * helpers' expectations, docs/events.md). Each worker has a dump mailbox
 * of its own for each,
 * apart from the telemetry one: the control core posts "the next page from
 * this cursor", the worker answers between bursts with at most
 * DPCT_DUMP_PAGE snapshots of live entries taken by the shard's owner (so
 * each entry is consistent), and the control core picks the answer up on a
 * later step. Nothing here waits: ev_ctl asks again next step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpct.h"
#include "hlp_track.h"

struct dpct_dumper {
	struct dpct_app *a;
	bool exp;                 /* expectations, not connections */
	unsigned w;               /* worker being walked */
	int posted;               /* worker with a request out, -1 none */
	bool stale;               /* that request belongs to a dump that ended */
};

static int
dump_collect(const struct ct_event_rec *r, void *arg)
{
	struct dpct_dump_mbox *mb = arg;

	if (mb->n >= DPCT_DUMP_PAGE)
		return -1;
	mb->recs[mb->n++] = *r;
	return 0;
}

void
dpct_dump_service(struct dpct_worker *w, uint64_t now)
{
	struct dpct_dump_mbox *mb = &w->dump_mbox;

	if (atomic_load_explicit(&mb->state, memory_order_acquire) == 1) {
		mb->n = 0;
		ct_shard_iterate(w->shard, &mb->cursor, DPCT_DUMP_PAGE, false, now, dump_collect,
				 mb);
		atomic_store_explicit(&mb->state, 2, memory_order_release);
	}
	mb = &w->exp_dump_mbox;
	if (atomic_load_explicit(&mb->state, memory_order_acquire) == 1) {
		mb->n = 0;
		if (w->hlp != NULL)
			hlp_track_dump(w->hlp, &mb->cursor, DPCT_DUMP_PAGE, now, dump_collect, mb);
		else
			mb->cursor = UINT32_MAX;
		atomic_store_explicit(&mb->state, 2, memory_order_release);
	}
}

static struct dpct_dump_mbox *
mbox_of(const struct dpct_dumper *d, unsigned w)
{
	return d->exp ? &d->a->workers[w].exp_dump_mbox : &d->a->workers[w].dump_mbox;
}

/* A request left by an ended dump must be answered before a new one. */
static bool
settle(struct dpct_dumper *d)
{
	struct dpct_dump_mbox *mb;

	if (!d->stale)
		return true;
	mb = mbox_of(d, (unsigned)d->posted);
	if (atomic_load_explicit(&mb->state, memory_order_acquire) != 2)
		return false;
	/* Its cursor belongs to the old dump: start that worker over. */
	mb->cursor = UINT32_MAX;
	atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
	d->stale = false;
	d->posted = -1;
	return true;
}

static void
pager_begin(void *arg)
{
	struct dpct_dumper *d = arg;

	d->w = 0;
	if (d->posted >= 0)
		d->stale = true;
}

static unsigned
pager_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct dpct_dumper *d = arg;
	struct dpct_dump_mbox *mb;
	unsigned n;

	*done = false;
	if (!settle(d))
		return 0;
	if (d->w >= d->a->n_workers) {
		*done = true;
		return 0;
	}
	mb = mbox_of(d, d->w);
	if (d->posted < 0) {
		/* A new worker starts at cursor 0; the worker moves it on. */
		if (mb->cursor == UINT32_MAX)
			mb->cursor = 0;
		atomic_store_explicit(&mb->state, 1, memory_order_release);
		d->posted = (int)d->w;
		return 0;
	}
	if (atomic_load_explicit(&mb->state, memory_order_acquire) != 2)
		return 0;
	n = RTE_MIN(mb->n, max);
	memcpy(out, mb->recs, n * sizeof(*out));
	d->posted = -1;
	if (mb->cursor == UINT32_MAX) {
		d->w++;
		if (d->w >= d->a->n_workers)
			*done = true;
	}
	atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
	return n;
}

static void
pager_end(void *arg)
{
	struct dpct_dumper *d = arg;
	unsigned i;

	if (d->posted >= 0)
		d->stale = true;
	/* The next dump starts every worker from the beginning. */
	for (i = 0; i < d->a->n_workers; i++)
		if ((int)i != d->posted)
			mbox_of(d, i)->cursor = UINT32_MAX;
}

static const struct ev_dump_ops pager_ops = {
	.begin = pager_begin,
	.next = pager_next,
	.end = pager_end,
};

static struct dpct_dumper *
dumper_new(struct dpct_app *a, bool exp)
{
	struct dpct_dumper *d = calloc(1, sizeof(*d));
	unsigned i;

	if (d == NULL)
		return NULL;
	d->a = a;
	d->exp = exp;
	d->posted = -1;
	for (i = 0; i < a->n_workers; i++)
		mbox_of(d, i)->cursor = UINT32_MAX;
	return d;
}

int
dpct_dump_init(struct dpct_app *a)
{
	if (a->ctl == NULL)
		return 0;
	a->dumper = dumper_new(a, false);
	a->exp_dumper = dumper_new(a, true);
	if (a->dumper == NULL || a->exp_dumper == NULL) {
		free(a->dumper);
		free(a->exp_dumper);
		a->dumper = a->exp_dumper = NULL;
		return -ENOMEM;
	}
	ev_ctl_set_dump(a->ctl, &pager_ops, a->dumper);
	ev_ctl_set_exp_dump(a->ctl, &pager_ops, a->exp_dumper);
	return 0;
}

void
dpct_dump_free(struct dpct_app *a)
{
	if (a->ctl != NULL) {
		ev_ctl_set_dump(a->ctl, NULL, NULL);
		ev_ctl_set_exp_dump(a->ctl, NULL, NULL);
	}
	free(a->dumper);
	free(a->exp_dumper);
	a->dumper = a->exp_dumper = NULL;
}
