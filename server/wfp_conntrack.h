/*
 * The original endpoints of a UDP flow, from Linux conntrack
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
 * Plain C, shared by the wineserver, the native tests and the fuzzer.
 *
 * Linux's SO_ORIGINAL_DST is TCP's only: for a UDP flow that an nftables
 * or iptables redirect/dnat rule sent to a local socket, the original
 * destination is in the flow's conntrack entry, which ctnetlink
 * (NETLINK_NETFILTER) finds by its reply tuple: from the local socket
 * back to the peer.  ctnetlink answers only CAP_NET_ADMIN (in the
 * network namespace's user namespace).
 */

#ifndef __WINE_SERVER_WFP_CONNTRACK_H
#define __WINE_SERVER_WFP_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "wfp_records.h"

#define WFP_CONNTRACK_REQUEST_MAX 128

/* 1 with the original endpoints, 0 if conntrack knows no such flow, or
 * -errno when it cannot say (-EPERM: no CAP_NET_ADMIN) */
extern int wfp_conntrack_udp_original( const struct wfp_endpoint *local, const struct wfp_endpoint *peer,
                                       struct wfp_endpoint *orig_src, struct wfp_endpoint *orig_dst );

/* what it sends and reads, apart for the tests */
extern size_t wfp_conntrack_request( const struct wfp_endpoint *local, const struct wfp_endpoint *peer,
                                     uint32_t seq, void *buffer, size_t size );
extern int wfp_conntrack_parse( const void *buffer, size_t len, uint32_t seq,
                                struct wfp_endpoint *orig_src, struct wfp_endpoint *orig_dst );

#endif /* __WINE_SERVER_WFP_CONNTRACK_H */
