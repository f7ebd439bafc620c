/*
 * WFP connection redirection: callout drivers
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

#ifndef __WINE_SERVER_WFP_CALLOUT_H
#define __WINE_SERVER_WFP_CALLOUT_H

#include "wfp.h"
#include "wfp_store.h"

/* what the callouts decided: a classification's */
struct wfp_callout_outcome
{
    uint16_t service;           /* of the callout's redirect handle; 0: not redirected */
    uint32_t target_pid;        /* localRedirectTargetPID */
    uint8_t *context;           /* localRedirectContext, malloc'ed */
    uint16_t context_size;
};

struct process;
extern int wfp_callout_ioctl( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                              struct async *async );
/* Inside IOCTL_AFD_WINE_CONNECT, before wfp_redirect_connect: 1 to go on
 * (addr may be the callouts' new destination, and the wfp_conn's
 * connect_callout_* fields say so), 0 with the error set.
 * STATUS_MORE_PROCESSING_REQUIRED means that a callout is being asked:
 * ntdll waits with IOCTL_AFD_WINE_WFP_CLASSIFY_WAIT and connects again. */
extern int wfp_callout_connect( struct wfp_conn **slot, struct process *process, int unix_fd,
                                struct sockaddr *addr, socklen_t *len, socklen_t max_len );
extern void wfp_callout_conn_freed( struct wfp_conn *wfp );

#endif /* __WINE_SERVER_WFP_CALLOUT_H */
