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

#include <string.h>

#include "wfp_records.h"

static const uint8_t records_magic[4] = { 'W', 'F', 'P', 'r' };

/* SHA-256 as in FIPS 180-4; only what HMAC needs */

struct sha256
{
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t  block[64];
    unsigned int used;    /* bytes in block */
};

static const uint32_t sha256_k[64] =
{
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32( uint32_t x, unsigned int n )
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_compress( struct sha256 *ctx, const uint8_t *block )
{
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    unsigned int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    for (i = 16; i < 64; i++)
    {
        uint32_t s0 = ror32( w[i - 15], 7 ) ^ ror32( w[i - 15], 18 ) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32( w[i - 2], 17 ) ^ ror32( w[i - 2], 19 ) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }

    a = ctx->state[0]; b = ctx->state[1]; c = ctx->state[2]; d = ctx->state[3];
    e = ctx->state[4]; f = ctx->state[5]; g = ctx->state[6]; h = ctx->state[7];
    for (i = 0; i < 64; i++)
    {
        t1 = h + (ror32( e, 6 ) ^ ror32( e, 11 ) ^ ror32( e, 25 )) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        t2 = (ror32( a, 2 ) ^ ror32( a, 13 ) ^ ror32( a, 22 )) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    ctx->state[0] += a; ctx->state[1] += b; ctx->state[2] += c; ctx->state[3] += d;
    ctx->state[4] += e; ctx->state[5] += f; ctx->state[6] += g; ctx->state[7] += h;
}

static void sha256_init( struct sha256 *ctx )
{
    static const uint32_t initial[8] =
    {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy( ctx->state, initial, sizeof(initial) );
    ctx->length = 0;
    ctx->used = 0;
}

static void sha256_update( struct sha256 *ctx, const void *data, size_t len )
{
    const uint8_t *p = data;

    ctx->length += len;
    while (len)
    {
        size_t n = sizeof(ctx->block) - ctx->used;
        if (n > len) n = len;
        memcpy( ctx->block + ctx->used, p, n );
        ctx->used += n;
        p += n;
        len -= n;
        if (ctx->used == sizeof(ctx->block))
        {
            sha256_compress( ctx, ctx->block );
            ctx->used = 0;
        }
    }
}

static void sha256_final( struct sha256 *ctx, uint8_t digest[WFP_SHA256_SIZE] )
{
    uint64_t bits = ctx->length * 8;
    unsigned int i;

    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > 56)
    {
        memset( ctx->block + ctx->used, 0, sizeof(ctx->block) - ctx->used );
        sha256_compress( ctx, ctx->block );
        ctx->used = 0;
    }
    memset( ctx->block + ctx->used, 0, 56 - ctx->used );
    for (i = 0; i < 8; i++) ctx->block[56 + i] = bits >> (56 - 8 * i);
    sha256_compress( ctx, ctx->block );
    for (i = 0; i < 32; i++) digest[i] = ctx->state[i / 4] >> (24 - 8 * (i % 4));
}

/* HMAC as in RFC 2104, with the padded key hashed once (hmac_prepare)
 * for any number of messages (hmac_compute) */

struct hmac_key
{
    struct sha256 inner, outer;   /* after the key XOR ipad, and XOR opad */
};

static void hmac_prepare( const uint8_t *key, size_t key_len, struct hmac_key *prepared )
{
    uint8_t pad[64];
    unsigned int i;

    memset( pad, 0, sizeof(pad) );
    if (key_len > sizeof(pad))
    {
        sha256_init( &prepared->inner );
        sha256_update( &prepared->inner, key, key_len );
        sha256_final( &prepared->inner, pad );
    }
    else if (key_len) memcpy( pad, key, key_len );

    for (i = 0; i < sizeof(pad); i++) pad[i] ^= 0x36;
    sha256_init( &prepared->inner );
    sha256_update( &prepared->inner, pad, sizeof(pad) );
    for (i = 0; i < sizeof(pad); i++) pad[i] ^= 0x36 ^ 0x5c;
    sha256_init( &prepared->outer );
    sha256_update( &prepared->outer, pad, sizeof(pad) );
    memset( pad, 0, sizeof(pad) );
}

static void hmac_compute( const struct hmac_key *prepared, const void *data, size_t len,
                          uint8_t mac[WFP_SHA256_SIZE] )
{
    uint8_t inner[WFP_SHA256_SIZE];
    struct sha256 ctx;

    ctx = prepared->inner;
    sha256_update( &ctx, data, len );
    sha256_final( &ctx, inner );
    ctx = prepared->outer;
    sha256_update( &ctx, inner, sizeof(inner) );
    sha256_final( &ctx, mac );
}

void wfp_hmac_sha256( const uint8_t *key, size_t key_len, const void *data, size_t len,
                      uint8_t mac[WFP_SHA256_SIZE] )
{
    struct hmac_key prepared;

    hmac_prepare( key, key_len, &prepared );
    hmac_compute( &prepared, data, len, mac );
}

/* byte-order helpers; the format does not depend on the host's */

static void put_le16( uint8_t *p, uint16_t v ) { p[0] = v; p[1] = v >> 8; }
static void put_le32( uint8_t *p, uint32_t v ) { put_le16( p, v ); put_le16( p + 2, v >> 16 ); }
static void put_le64( uint8_t *p, uint64_t v ) { put_le32( p, v ); put_le32( p + 4, v >> 32 ); }
static uint16_t get_le16( const uint8_t *p ) { return p[0] | p[1] << 8; }
static uint32_t get_le32( const uint8_t *p ) { return get_le16( p ) | (uint32_t)get_le16( p + 2 ) << 16; }
static uint64_t get_le64( const uint8_t *p ) { return get_le32( p ) | (uint64_t)get_le32( p + 4 ) << 32; }

#define ENDPOINT_SIZE 24

static void put_endpoint( uint8_t *p, const struct wfp_endpoint *ep )
{
    p[0] = ep->family;
    p[1] = 0;
    p[2] = ep->port >> 8;
    p[3] = ep->port;
    put_le32( p + 4, ep->scope_id );
    memcpy( p + 8, ep->addr, 16 );
}

static int get_endpoint( const uint8_t *p, struct wfp_endpoint *ep )
{
    ep->family = p[0];
    ep->port = p[2] << 8 | p[3];
    ep->scope_id = get_le32( p + 4 );
    memcpy( ep->addr, p + 8, 16 );

    if (p[1]) return 0;
    if (ep->family == 4)
    {
        static const uint8_t zero[12];
        return !ep->scope_id && !memcmp( ep->addr + 4, zero, sizeof(zero) );
    }
    return ep->family == 6;
}

static void put_hop( uint8_t *p, const struct wfp_hop *hop )
{
    p[0] = hop->service_kind;
    p[1] = hop->protocol;
    put_le16( p + 2, hop->service_id );
    put_le32( p + 4, hop->target_pid );
    put_le64( p + 8, hop->flow_id );
    put_le64( p + 16, hop->time_ms );
    put_endpoint( p + 24, &hop->original_dst );
    put_endpoint( p + 24 + ENDPOINT_SIZE, &hop->original_src );
    put_le64( p + 72, hop->target_server );
    put_le64( p + 80, hop->target_start );
}

static int get_hop( const uint8_t *p, struct wfp_hop *hop )
{
    hop->service_kind = p[0];
    hop->protocol = p[1];
    hop->service_id = get_le16( p + 2 );
    hop->target_pid = get_le32( p + 4 );
    hop->flow_id = get_le64( p + 8 );
    hop->time_ms = get_le64( p + 16 );
    hop->target_server = get_le64( p + 72 );
    hop->target_start = get_le64( p + 80 );

    if (!get_endpoint( p + 24, &hop->original_dst )) return 0;
    if (!get_endpoint( p + 24 + ENDPOINT_SIZE, &hop->original_src )) return 0;
    if (hop->original_dst.family != hop->original_src.family) return 0;
    if (hop->service_kind < WFP_SERVICE_NETFILTER || hop->service_kind > WFP_SERVICE_CALLOUT) return 0;
    return hop->protocol == 6 || hop->protocol == 17;
}

/* A wineserver tags everything with one key: its pads are hashed once,
 * which saves two of the five SHA-256 blocks of a one-hop tag. */
static void compute_tag( const uint8_t key[WFP_RECORDS_KEY_SIZE], const uint8_t *data, size_t len,
                         uint8_t tag[WFP_RECORDS_TAG_SIZE] )
{
    static uint8_t prepared_for[WFP_RECORDS_KEY_SIZE];
    static struct hmac_key prepared;
    static int have_prepared;
    uint8_t mac[WFP_SHA256_SIZE];

    if (!have_prepared || memcmp( prepared_for, key, WFP_RECORDS_KEY_SIZE ))
    {
        hmac_prepare( key, WFP_RECORDS_KEY_SIZE, &prepared );
        memcpy( prepared_for, key, WFP_RECORDS_KEY_SIZE );
        have_prepared = 1;
    }
    hmac_compute( &prepared, data, len, mac );
    memcpy( tag, mac, WFP_RECORDS_TAG_SIZE );
}

/* returns the size of the blob, or 0 if the records are invalid or the buffer too small */
size_t wfp_records_encode( const struct wfp_records *records, const uint8_t key[WFP_RECORDS_KEY_SIZE],
                           void *buffer, size_t size )
{
    uint8_t *p = buffer;
    size_t len;
    unsigned int i;

    if (!records->hop_count || records->hop_count > WFP_RECORDS_MAX_HOPS) return 0;
    len = WFP_RECORDS_SIZE( records->hop_count );
    if (size < len) return 0;

    memcpy( p, records_magic, sizeof(records_magic) );
    p[4] = WFP_RECORDS_VERSION;
    p[5] = records->hop_count;
    put_le16( p + 6, len );
    for (i = 0; i < records->hop_count; i++)
        put_hop( p + WFP_RECORDS_HEADER_SIZE + i * WFP_RECORDS_HOP_SIZE, &records->hops[i] );
    compute_tag( key, p, len - WFP_RECORDS_TAG_SIZE, p + len - WFP_RECORDS_TAG_SIZE );
    return len;
}

/* a comparison whose time does not depend on where the tags differ */
static int tags_equal( const uint8_t *a, const uint8_t *b )
{
    uint8_t diff = 0;
    unsigned int i;

    for (i = 0; i < WFP_RECORDS_TAG_SIZE; i++) diff |= a[i] ^ b[i];
    return !diff;
}

/* Decode a blob, and authenticate it first unless key is NULL.  Bytes
 * after the declared length are not part of the blob; *used tells the
 * caller how many were. */
static enum wfp_records_status parse( const uint8_t *p, size_t size, const uint8_t *key,
                                      struct wfp_records *records, size_t *used )
{
    uint8_t tag[WFP_RECORDS_TAG_SIZE];
    unsigned int i, hop_count;
    size_t len;

    if (used) *used = 0;
    if (size < WFP_RECORDS_HEADER_SIZE) return WFP_RECORDS_TRUNCATED;
    if (memcmp( p, records_magic, sizeof(records_magic) )) return WFP_RECORDS_BAD_MAGIC;
    if (p[4] != WFP_RECORDS_VERSION) return WFP_RECORDS_BAD_VERSION;

    hop_count = p[5];
    len = get_le16( p + 6 );
    if (!hop_count || hop_count > WFP_RECORDS_MAX_HOPS || len != WFP_RECORDS_SIZE( hop_count ))
        return WFP_RECORDS_BAD_LENGTH;
    if (size < len) return WFP_RECORDS_TRUNCATED;

    /* authenticate before looking at any field */
    if (key)
    {
        compute_tag( key, p, len - WFP_RECORDS_TAG_SIZE, tag );
        if (!tags_equal( tag, p + len - WFP_RECORDS_TAG_SIZE )) return WFP_RECORDS_BAD_TAG;
    }

    records->hop_count = hop_count;
    for (i = 0; i < hop_count; i++)
        if (!get_hop( p + WFP_RECORDS_HEADER_SIZE + i * WFP_RECORDS_HOP_SIZE, &records->hops[i] ))
            return WFP_RECORDS_BAD_HOP;

    if (used) *used = len;
    return WFP_RECORDS_OK;
}

/* a blob from outside: SET, or a note of a connection */
enum wfp_records_status wfp_records_decode( const void *buffer, size_t size,
                                            const uint8_t key[WFP_RECORDS_KEY_SIZE],
                                            struct wfp_records *records, size_t *used )
{
    if (!key) return WFP_RECORDS_BAD_TAG;
    return parse( buffer, size, key, records, used );
}

/* A blob that its holder authenticated when it came in, or made itself:
 * checking its tag again would only cost. */
enum wfp_records_status wfp_records_read( const void *buffer, size_t size, struct wfp_records *records )
{
    return parse( buffer, size, NULL, records, NULL );
}

const char *wfp_records_status_name( enum wfp_records_status status )
{
    switch (status)
    {
    case WFP_RECORDS_OK:          return "ok";
    case WFP_RECORDS_TRUNCATED:   return "truncated";
    case WFP_RECORDS_BAD_MAGIC:   return "bad magic";
    case WFP_RECORDS_BAD_VERSION: return "unknown version";
    case WFP_RECORDS_BAD_LENGTH:  return "bad length";
    case WFP_RECORDS_BAD_TAG:     return "not authentic";
    case WFP_RECORDS_BAD_HOP:     return "bad hop";
    }
    return "unknown status";
}

int wfp_endpoint_equal( const struct wfp_endpoint *a, const struct wfp_endpoint *b )
{
    return a->family == b->family && a->port == b->port && a->scope_id == b->scope_id &&
           !memcmp( a->addr, b->addr, a->family == 4 ? 4 : 16 );
}

void wfp_hop_set_target( struct wfp_hop *hop, const struct wfp_process_id *target )
{
    hop->target_pid = target->pid;
    hop->target_server = target->server;
    hop->target_start = target->start;
}

/* An exact match, never a comparison of times: the wall clock may step
 * back, and another wineserver's clock means nothing here. */
int wfp_hop_target_is( const struct wfp_hop *hop, const struct wfp_process_id *process )
{
    return hop->target_pid == process->pid && hop->target_server == process->server &&
           hop->target_start == process->start;
}
