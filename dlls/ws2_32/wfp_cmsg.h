/*
 * WSASendMsg control data: the walk, without Wine or Windows headers
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

#ifndef WFP_CMSG_H
#define WFP_CMSG_H

#include <stddef.h>

/* WSACMSGHDR's layout: a SIZE_T, then two INTs */
struct wfp_cmsg_header
{
    size_t len;
    int    level;
    int    type;
};

/* WSA_CMSGHDR_ALIGN; the data follows the header at once on both
 * architectures (WSA_CMSGDATA_ALIGN of 16 and of 12 bytes) */
#define WFP_CMSG_ALIGN(len) (((len) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1))

#define WFP_CMSG_LEVEL_IP    0   /* IPPROTO_IP */
#define WFP_CMSG_LEVEL_IPV6  41  /* IPPROTO_IPV6 */
#define WFP_CMSG_RECORDS     60  /* IP_WFP_REDIRECT_RECORDS, IPV6_WFP_REDIRECT_RECORDS */

struct wfp_cmsg_records
{
    const unsigned char *data;   /* NULL: the control data has none */
    size_t               size;
};

extern int wfp_cmsg_find_records( const unsigned char *control, size_t len, struct wfp_cmsg_records *records );

#endif /* WFP_CMSG_H */
