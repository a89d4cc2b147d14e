/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: every port EAL gives, paired 0<->1, 2<->3 (a lone last port
 * forwards to itself), one RX and one TX queue per worker where the device
 * allows, symmetric RSS and RX timestamps where supported.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>

#include "dpct.h"

int64_t
dpct_pcap_count(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	int64_t n = 0;
	pcap_t *p;

	p = pcap_open_offline(path, errbuf);
	if (p == NULL)
		return -1;
	while (pcap_next_ex(p, &h, &data) == 1)
		n++;
	pcap_close(p);
	return n;
}

static unsigned
worker_count(const struct dpct_app *a)
{
	unsigned avail = rte_lcore_count() - 1;

	if (a->cfg.workers != 0 && a->cfg.workers < avail)
		return a->cfg.workers;
	return avail;
}

static int
port_setup(struct dpct_app *a, struct dpct_port *p, unsigned workers)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxc;
	uint8_t rss_key[DPCT_RSS_KEY_MAX];
	uint16_t q, nrx, ntx, rxd, txd;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(p->id, &info);
	if (rc != 0) {
		DPCT_LOG(ERR, "port %u: dev_info: %s\n", p->id, rte_strerror(-rc));
		return rc;
	}
	nrx = RTE_MIN(workers, info.max_rx_queues);
	ntx = RTE_MIN(workers, info.max_tx_queues);
	if (nrx == 0 || ntx == 0)
		return -ENOTSUP;
	if (nrx > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		/* Symmetric key at the NIC's size; rss_ports.c programs the RETA. */
		rc = dpct_rss_port_conf(&info, nrx, &conf.rx_adv_conf.rss_conf, rss_key);
		if (p->id < DPCT_RSS_MAX_PORTS)
			a->rss.port_rss[p->id] = rc == 0;
	} else if (nrx > 1) {
		/* Without RSS a second queue would stay idle; one queue, handoff does the rest. */
		nrx = 1;
	}
	DPCT_LOG(DEBUG, "port %u: rx offload capa 0x%" PRIx64 "\n", p->id, info.rx_offload_capa);
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
		p->timestamps = true;
	}
	/* Checksum verification: let the NIC do it where it can. */
	if (a->cfg.tracker.checksum == DPCT_CSUM_VERIFY)
		conf.rxmode.offloads |= info.rx_offload_capa &
					(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
					 RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	/* net_pcap (22.11) fills the dynfield with the capture time without
	 * advertising the offload. */
	if (info.driver_name != NULL && strcmp(info.driver_name, "net_pcap") == 0)
		p->timestamps = true;
	rc = rte_eth_dev_configure(p->id, nrx, ntx, &conf);
	if (rc != 0) {
		DPCT_LOG(ERR, "port %u: configure: %s\n", p->id, rte_strerror(-rc));
		return rc;
	}
	rxd = (uint16_t)a->cfg.rxd;
	txd = (uint16_t)a->cfg.txd;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &rxd, &txd);
	if (rc != 0)
		return rc;
	rxc = info.default_rxconf;
	rxc.offloads = conf.rxmode.offloads;
	for (q = 0; q < nrx; q++) {
		rc = rte_eth_rx_queue_setup(p->id, q, rxd, rte_eth_dev_socket_id(p->id),
					    &rxc, a->pool);
		if (rc != 0) {
			DPCT_LOG(ERR, "port %u: rx queue %u: %s\n", p->id, q, rte_strerror(-rc));
			return rc;
		}
	}
	for (q = 0; q < ntx; q++) {
		rc = rte_eth_tx_queue_setup(p->id, q, txd, rte_eth_dev_socket_id(p->id), NULL);
		if (rc != 0) {
			DPCT_LOG(ERR, "port %u: tx queue %u: %s\n", p->id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rte_eth_promiscuous_enable(p->id);
	rc = rte_eth_dev_start(p->id);
	if (rc != 0) {
		DPCT_LOG(ERR, "port %u: start: %s\n", p->id, rte_strerror(-rc));
		return rc;
	}
	p->nb_rxq = nrx;
	p->nb_txq = ntx;
	return 0;
}

int
dpct_ports_init(struct dpct_app *a)
{
	struct dpct_port names[DPCT_MAX_PORTS];
	unsigned workers, nports, nb_mbufs, i;
	uint16_t pid;
	int rc;

	memcpy(names, a->ports, sizeof(names));
	memset(a->ports, 0, sizeof(a->ports));
	nports = 0;
	RTE_ETH_FOREACH_DEV(pid) {
		struct dpct_port *p;

		if (nports == DPCT_MAX_PORTS)
			break;
		a->idx_of[pid] = (uint8_t)nports;
		p = &a->ports[nports++];
		p->id = pid;
		p->pcap_records = -1;
		rte_eth_dev_get_name_by_port(pid, p->name);
		for (i = 0; i < DPCT_MAX_PORTS && names[i].name[0] != '\0'; i++)
			if (strcmp(names[i].name, p->name) == 0) {
				p->pcap_records = names[i].pcap_records;
				p->pcap_infinite = names[i].pcap_infinite;
			}
	}
	if (nports == 0) {
		DPCT_LOG(ERR, "no ports: give devices or --vdev\n");
		return -ENODEV;
	}
	workers = worker_count(a);
	if (workers == 0) {
		DPCT_LOG(ERR, "need at least two lcores (main + one worker)\n");
		return -EINVAL;
	}
	if (workers > DPCT_MAX_WORKERS)
		workers = DPCT_MAX_WORKERS;
	a->n_workers = workers;
	a->n_ports = nports;
	for (i = 0; i < nports; i++)
		a->ports[i].peer = (i ^ 1) < nports ? (uint16_t)(i ^ 1) : (uint16_t)i;

	/* RX + TX descriptors, a burst in flight per queue, and the rings between workers. */
	nb_mbufs = a->cfg.mbufs;
	if (nb_mbufs == 0)
		nb_mbufs = nports * workers * (a->cfg.rxd + a->cfg.txd + 2 * a->cfg.burst) +
			workers * workers * 2 * a->cfg.handoff_ring_size +
			workers * (DPCT_MAX_BURST + 512) + 4096;
	/* Received fragments wait in the reassembly tables (at most 8 a datagram). */
	if (a->cfg.mbufs == 0 && a->cfg.frag_enabled)
		nb_mbufs += workers * a->cfg.frag_max_datagrams * RTE_LIBRTE_IP_FRAG_MAX_FRAG;
	/* net_pcap with infinite_rx keeps the whole capture in mbufs. */
	for (i = 0; i < nports && a->cfg.mbufs == 0; i++)
		if (a->ports[i].pcap_infinite && a->ports[i].pcap_records > 0)
			nb_mbufs += (unsigned)RTE_MIN(a->ports[i].pcap_records, (int64_t)(1 << 22));
	a->pool = rte_pktmbuf_pool_create("dpct_mbufs", nb_mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (a->pool == NULL) {
		DPCT_LOG(ERR, "mbuf pool of %u: %s\n", nb_mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	/* Registered before queue setup: drivers look the field up when they start. */
	if (rte_mbuf_dyn_rx_timestamp_register(&a->ts_offset, &a->ts_flag) < 0) {
		a->ts_offset = -1;
		a->ts_flag = 0;
		DPCT_LOG(WARNING, "no RX timestamp dynfield\n");
	}
	for (i = 0; i < nports; i++) {
		rc = port_setup(a, &a->ports[i], workers);
		if (rc != 0)
			return rc < 0 ? rc : -rc;
	}
	rc = dpct_rss_ports_init(a);
	if (rc != 0)
		return rc;
	for (i = 0; i < nports; i++) {
		if (a->opts.replay && a->ts_offset >= 0 && a->ports[i].timestamps)
			a->pkt_time = true;
	}
	for (i = 0; i < nports; i++)
		DPCT_LOG(INFO, "port %u (%s): %u rx / %u tx queues, peer %u%s\n",
			 a->ports[i].id, a->ports[i].name, a->ports[i].nb_rxq,
			 a->ports[i].nb_txq, a->ports[i].peer,
			 a->ports[i].timestamps ? ", rx timestamps" : "");
	return 0;
}

void
dpct_ports_close(struct dpct_app *a)
{
	unsigned i;

	for (i = 0; i < a->n_ports; i++) {
		rte_eth_dev_stop(a->ports[i].id);
		rte_eth_dev_close(a->ports[i].id);
	}
	a->n_ports = 0;
}
