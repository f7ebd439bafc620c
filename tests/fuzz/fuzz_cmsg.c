/*
 * libFuzzer target for the walk of WSASendMsg control data
 * (dlls/ws2_32/wfp_cmsg.c)
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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wfp_cmsg.h"

int LLVMFuzzerTestOneInput( const uint8_t *data, size_t size )
{
    struct wfp_cmsg_records records;
    volatile unsigned char sum = 0;
    unsigned char *copy;
    size_t i;

    /* an exact-size heap copy (malloc aligns it as programs' buffers are),
     * so that ASan sees any read past the end */
    if (!(copy = malloc( size ? size : 1 ))) return 0;
    memcpy( copy, data, size );
    if (!wfp_cmsg_find_records( copy, size, &records ) && records.data)
    {
        /* the records lie inside the buffer, after a header */
        if (records.data < copy + sizeof(struct wfp_cmsg_header) || !records.size ||
            records.size > size || records.data + records.size > copy + size)
            abort();
        /* and are read in full without a report */
        for (i = 0; i < records.size; i++) sum += records.data[i];
    }
    free( copy );
    return 0;
}
