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

/*
 * Runs on a copy that ws2_32 made of the application's buffer, so that it
 * is plain C and is unit-tested and fuzzed natively.  Windows documents no
 * error for malformed control data; like Linux's sendmsg() (CMSG_OK), a
 * header shorter than itself, or a message that runs past the buffer, is
 * invalid, where WSA_CMSG_NXTHDR would only stop.  Fewer bytes than a header
 * at the end are padding and are ignored, as WSA_CMSG_NXTHDR does.
 */

#include <stdint.h>
#include <string.h>

#include "wfp_cmsg.h"

/* 0, and the records message if there is one; -1 for malformed control
 * data: misaligned, a bad length, or records given twice or empty */
int wfp_cmsg_find_records( const unsigned char *control, size_t len, struct wfp_cmsg_records *records )
{
    struct wfp_cmsg_header header;
    size_t offset = 0;

    records->data = NULL;
    records->size = 0;
    if (!len) return 0;
    if ((uintptr_t)control % sizeof(size_t)) return -1;

    while (len - offset >= sizeof(header))
    {
        memcpy( &header, control + offset, sizeof(header) );
        if (header.len < sizeof(header) || header.len > len - offset) return -1;
        if ((header.level == WFP_CMSG_LEVEL_IP || header.level == WFP_CMSG_LEVEL_IPV6) &&
            header.type == WFP_CMSG_RECORDS)
        {
            if (records->data || header.len == sizeof(header)) return -1;
            records->data = control + offset + sizeof(header);
            records->size = header.len - sizeof(header);
        }
        if (WFP_CMSG_ALIGN( header.len ) >= len - offset) break;
        offset += WFP_CMSG_ALIGN( header.len );
    }
    return 0;
}
