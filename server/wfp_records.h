/*
 * WFP connection redirect records: the blob format
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA
 */

/*
 * This module is plain C with no Wine dependency, so that the native unit
 * tests and the fuzzer build it on their own.
 *
 * A blob, as SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS hands it out and
 * SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS takes it back, is
 *
 *   offset  size  field
 *        0     4  magic "WFPr"
 *        4     1  format version (2)
 *        5     1  number of hops, 1 to WFP_RECORDS_MAX_HOPS
 *        6     2  total length of the blob, little-endian
 *        8  88*n  the hops, oldest first (see below)
 *   8+88*n    16  tag: HMAC-SHA256 of all preceding bytes, truncated
 *
 * and a hop is
 *
 *        0     1  redirect service kind (enum wfp_service_kind)
 *        1     1  IP protocol of the flow (6 = TCP, 17 = UDP)
 *        2     2  redirect service id (netfilter mark slot or rule id)
 *        4     4  Windows process id of the redirect target
 *        8     8  flow id, unique per redirection
 *       16     8  time of the redirection, ms since the Unix epoch
 *       24    24  original destination (endpoint, see below)
 *       48    24  original source
 *       72     8  the wineserver of the redirect target (random, per wineserver)
 *       80     8  the target's start time in that wineserver (opaque)
 *
 * The last three name one process of one wineserver, which no later
 * process, of this wineserver or another, can be.
 * An endpoint is family (4 or 6), a zero byte, the port in network order,
 * the IPv6 scope id (little-endian) and 16 address bytes (IPv4 uses the
 * first 4).  All integers except the port are little-endian.
 *
 * The tag makes the records unforgeable: the key is shared by the
 * wineservers of one user and never leaves them, so a blob that they did
 * not issue, or one altered in any byte, fails decoding.
 */

#ifndef __WINE_SERVER_WFP_RECORDS_H
#define __WINE_SERVER_WFP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define WFP_RECORDS_VERSION      2
#define WFP_RECORDS_MAX_HOPS     16
#define WFP_RECORDS_KEY_SIZE     32
#define WFP_RECORDS_TAG_SIZE     16
#define WFP_RECORDS_HEADER_SIZE  8
#define WFP_RECORDS_HOP_SIZE     88
#define WFP_RECORDS_SIZE(hops)   (WFP_RECORDS_HEADER_SIZE + (hops) * WFP_RECORDS_HOP_SIZE + WFP_RECORDS_TAG_SIZE)
#define WFP_RECORDS_MAX_SIZE     WFP_RECORDS_SIZE(WFP_RECORDS_MAX_HOPS)

enum wfp_service_kind
{
    WFP_SERVICE_NETFILTER = 1,   /* nftables/iptables redirect or dnat, seen through conntrack */
    WFP_SERVICE_WINE_RULE = 2,   /* a redirection rule kept by the wineserver */
    WFP_SERVICE_CALLOUT = 3,     /* a callout driver's redirect handle, through fwpkclnt.sys */
};

struct wfp_endpoint
{
    uint8_t  family;      /* 4 or 6 */
    uint16_t port;        /* host order */
    uint32_t scope_id;    /* IPv6 scope id, 0 for IPv4 */
    uint8_t  addr[16];    /* IPv4 addresses use the first 4 bytes */
};

/* A process of a wineserver, as no other process can ever be: Wine reuses
 * process ids, and every wineserver of a user shares the key. */
struct wfp_process_id
{
    uint64_t server;          /* random, chosen by each wineserver when it starts */
    uint64_t start;           /* the process's start time, as that wineserver keeps it */
    uint32_t pid;
};

struct wfp_hop
{
    uint8_t  service_kind;    /* enum wfp_service_kind */
    uint8_t  protocol;        /* IPPROTO_TCP or IPPROTO_UDP */
    uint16_t service_id;
    uint32_t target_pid;
    uint64_t flow_id;
    uint64_t time_ms;         /* wall clock, for people to read; never compared */
    struct wfp_endpoint original_dst;
    struct wfp_endpoint original_src;
    uint64_t target_server;   /* with target_pid, the struct wfp_process_id of the target */
    uint64_t target_start;
};

struct wfp_records
{
    unsigned int   hop_count;
    struct wfp_hop hops[WFP_RECORDS_MAX_HOPS];
};

enum wfp_records_status
{
    WFP_RECORDS_OK = 0,
    WFP_RECORDS_TRUNCATED,    /* shorter than its header or its declared length */
    WFP_RECORDS_BAD_MAGIC,
    WFP_RECORDS_BAD_VERSION,
    WFP_RECORDS_BAD_LENGTH,   /* hop count or declared length out of range or inconsistent */
    WFP_RECORDS_BAD_TAG,      /* not issued with this key, or altered */
    WFP_RECORDS_BAD_HOP,      /* authentic, but a field holds a value the format forbids */
};

extern size_t wfp_records_encode( const struct wfp_records *records,
                                  const uint8_t key[WFP_RECORDS_KEY_SIZE],
                                  void *buffer, size_t size );
extern enum wfp_records_status wfp_records_decode( const void *buffer, size_t size,
                                                   const uint8_t key[WFP_RECORDS_KEY_SIZE],
                                                   struct wfp_records *records, size_t *used );
extern enum wfp_records_status wfp_records_read( const void *buffer, size_t size, struct wfp_records *records );
extern const char *wfp_records_status_name( enum wfp_records_status status );
extern int wfp_endpoint_equal( const struct wfp_endpoint *a, const struct wfp_endpoint *b );
extern void wfp_hop_set_target( struct wfp_hop *hop, const struct wfp_process_id *target );
extern int wfp_hop_target_is( const struct wfp_hop *hop, const struct wfp_process_id *process );

#define WFP_SHA256_SIZE 32
extern void wfp_hmac_sha256( const uint8_t *key, size_t key_len, const void *data, size_t len,
                             uint8_t mac[WFP_SHA256_SIZE] );

#endif /* __WINE_SERVER_WFP_RECORDS_H */
