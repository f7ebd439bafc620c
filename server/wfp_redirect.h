/*
 * WFP connection redirection for the server's sockets: the redirector
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

#ifndef __WINE_SERVER_WFP_REDIRECT_H
#define __WINE_SERVER_WFP_REDIRECT_H

#include "wfp.h"
#include "wfp_store.h"

/* Outside wfp_redirect_ioctl, which serves a request, nothing here uses
 * current: the hooks that can run from the poll loop (accept completion)
 * are given the process they work for.  wfp_redirect_ioctl returns 0 for
 * what it leaves to wfp_sock_ioctl. */
struct process;
extern int wfp_redirect_ioctl( struct wfp_conn **wfp, const struct wfp_sock_info *sock, unsigned int code,
                               struct async *async );
extern int wfp_redirect_connect( struct wfp_conn **wfp, struct process *process, struct sockaddr *addr,
                                 socklen_t *len, socklen_t max_len );
extern void wfp_redirect_connected( struct wfp_conn *wfp, struct process *process, int unix_fd,
                                    const struct sockaddr *local, socklen_t len );
extern void wfp_redirect_accepted( struct wfp_conn **wfp, int unix_fd );
extern int wfp_endpoint_to_unix( const struct wfp_endpoint *endpoint, int family, struct sockaddr *addr,
                                 socklen_t *len, socklen_t max_len );
extern int wfp_endpoint_from_win( const BYTE *win, size_t size, struct wfp_endpoint *endpoint );
extern void wfp_redirect_settle( struct wfp_conn **wfp, const struct wfp_sock_info *sock, struct process *process );
extern void *wfp_redirect_accept_output( struct wfp_conn **wfp, const struct wfp_sock_info *sock, uint16_t port,
                                         struct process *process, obj_handle_t handle, data_size_t max_size,
                                         data_size_t *size );

#endif /* __WINE_SERVER_WFP_REDIRECT_H */
