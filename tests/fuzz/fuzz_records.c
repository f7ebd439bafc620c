/*
 * libFuzzer target for the WFP redirect records codec
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
 * Two properties, checked on every input:
 *  - decoding arbitrary bytes never crashes, reads out of bounds or
 *    accepts a blob that was not made with the key;
 *  - records built from the input survive encode and decode unchanged,
 *    and their blob, altered at an input-chosen byte, is refused.
 *
 * The key is fixed and public here, so the fuzzer can also reach the
 * code behind the tag check: the first input byte chooses whether the
 * rest is taken as a blob to re-sign before decoding.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wfp_records.h"

static const uint8_t key[WFP_RECORDS_KEY_SIZE] = "wine-wfp fuzzing key, not secret";

/* Give a fuzzer-made blob a valid tag, so that field parsing is reached. */
static void sign( uint8_t *blob, size_t size )
{
    uint8_t mac[WFP_SHA256_SIZE];
    size_t len;

    if (size < WFP_RECORDS_HEADER_SIZE) return;
    len = blob[6] | blob[7] << 8;
    if (len < WFP_RECORDS_HEADER_SIZE + WFP_RECORDS_TAG_SIZE || len > size) return;
    wfp_hmac_sha256( key, sizeof(key), blob, len - WFP_RECORDS_TAG_SIZE, mac );
    memcpy( blob + len - WFP_RECORDS_TAG_SIZE, mac, WFP_RECORDS_TAG_SIZE );
}

static void check_decode( const uint8_t *data, size_t size, int resign )
{
    struct wfp_records records;
    uint8_t *copy, again[WFP_RECORDS_MAX_SIZE];
    size_t used, len;

    /* an exact-size heap copy, so that ASan sees any read past the end */
    if (!(copy = malloc( size ? size : 1 ))) return;
    memcpy( copy, data, size );
    if (resign) sign( copy, size );

    /* the server reads only blobs it authenticated, but reading any must be safe */
    wfp_records_read( copy, size, &records );
    if (wfp_records_decode( copy, size, key, &records, &used ) == WFP_RECORDS_OK)
    {
        /* an accepted blob is canonical: encoding it again gives its bytes */
        if (used > size || used != WFP_RECORDS_SIZE( records.hop_count )) abort();
        len = wfp_records_encode( &records, key, again, sizeof(again) );
        if (len != used || memcmp( again, copy, used )) abort();
    }
    free( copy );
}

static void check_round_trip( const uint8_t *data, size_t size )
{
    struct wfp_records in, out;
    uint8_t blob[WFP_RECORDS_MAX_SIZE];
    size_t len, used, pos = 1;
    unsigned int i;

    if (size < 2) return;
    memset( &in, 0, sizeof(in) );
    in.hop_count = 1 + data[0] % WFP_RECORDS_MAX_HOPS;
    for (i = 0; i < in.hop_count; i++)
    {
        struct wfp_hop *hop = &in.hops[i];
        uint8_t fam = (pos < size && data[pos++] & 1) ? 6 : 4;

        hop->service_kind = (pos < size && data[pos++] & 1) ? WFP_SERVICE_WINE_RULE : WFP_SERVICE_NETFILTER;
        hop->protocol = (pos < size && data[pos++] & 1) ? 17 : 6;
        if (pos + 2 <= size) { memcpy( &hop->service_id, data + pos, 2 ); pos += 2; }
        if (pos + 4 <= size) { memcpy( &hop->target_pid, data + pos, 4 ); pos += 4; }
        if (pos + 8 <= size) { memcpy( &hop->flow_id, data + pos, 8 ); pos += 8; }
        if (pos + 8 <= size) { memcpy( &hop->target_server, data + pos, 8 ); pos += 8; }
        if (pos + 8 <= size) { memcpy( &hop->target_start, data + pos, 8 ); pos += 8; }
        hop->original_dst.family = hop->original_src.family = fam;
        if (pos + 2 <= size) { memcpy( &hop->original_dst.port, data + pos, 2 ); pos += 2; }
        if (fam == 6 && pos + 16 <= size) { memcpy( hop->original_dst.addr, data + pos, 16 ); pos += 16; }
        else if (pos + 4 <= size) { memcpy( hop->original_dst.addr, data + pos, 4 ); pos += 4; }
        if (fam == 6 && pos + 4 <= size) { memcpy( &hop->original_src.scope_id, data + pos, 4 ); pos += 4; }
    }

    len = wfp_records_encode( &in, key, blob, sizeof(blob) );
    if (len != WFP_RECORDS_SIZE( in.hop_count )) abort();
    if (wfp_records_decode( blob, len, key, &out, &used ) != WFP_RECORDS_OK || used != len) abort();
    if (out.hop_count != in.hop_count) abort();
    for (i = 0; i < in.hop_count; i++)
    {
        if (!wfp_endpoint_equal( &in.hops[i].original_dst, &out.hops[i].original_dst )) abort();
        if (!wfp_endpoint_equal( &in.hops[i].original_src, &out.hops[i].original_src )) abort();
        if (in.hops[i].flow_id != out.hops[i].flow_id || in.hops[i].target_pid != out.hops[i].target_pid) abort();
        if (in.hops[i].target_server != out.hops[i].target_server) abort();
        if (in.hops[i].target_start != out.hops[i].target_start) abort();
    }

    /* one altered byte must be refused */
    i = data[size - 1] | data[size / 2] << 8;
    blob[i % len] ^= 1 + data[size / 3] % 255;
    if (wfp_records_decode( blob, len, key, &out, NULL ) == WFP_RECORDS_OK) abort();
}

int LLVMFuzzerTestOneInput( const uint8_t *data, size_t size )
{
    if (!size) return 0;
    switch (data[0] % 3)
    {
    case 0: check_decode( data + 1, size - 1, 0 ); break;
    case 1: check_decode( data + 1, size - 1, 1 ); break;
    case 2: check_round_trip( data + 1, size - 1 ); break;
    }
    return 0;
}
