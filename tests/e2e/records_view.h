/*
 * Read the hops of a wine-wfp records blob, for the tests: the format is
 * documented in server/wfp_records.h.  Programs never need this: to them
 * the records are opaque, as on Windows.
 */
#ifndef RECORDS_VIEW_H
#define RECORDS_VIEW_H

#include <stdio.h>
#include <string.h>

struct hop_view
{
    int kind;                     /* 1 netfilter, 2 rule, 3 callout driver */
    unsigned int service;
    unsigned int target_pid;
    unsigned int dst_port, src_port;
    unsigned char dst_family, dst_addr[16], src_addr[16];
};

static inline int records_view( const unsigned char *blob, unsigned long size, struct hop_view *hops, int max )
{
    int count, i;

    if (size < 8 || memcmp( blob, "WFPr", 4 ) || blob[4] != 2) return -1;
    count = blob[5];
    if (size < 8 + 88u * count + 16 || count > max) return -1;
    for (i = 0; i < count; i++)
    {
        const unsigned char *p = blob + 8 + 88 * i;
        hops[i].kind = p[0];
        hops[i].service = p[2] | p[3] << 8;
        hops[i].target_pid = p[4] | p[5] << 8 | p[6] << 16 | (unsigned int)p[7] << 24;
        hops[i].dst_family = p[24];
        hops[i].dst_port = p[26] << 8 | p[27];
        memcpy( hops[i].dst_addr, p + 32, 16 );
        hops[i].src_port = p[50] << 8 | p[51];
        memcpy( hops[i].src_addr, p + 56, 16 );
    }
    return count;
}

/* "nf:15001,rule:47012,callout:4711" */
static inline void hops_string( const struct hop_view *hops, int count, char *text, size_t size )
{
    int i;

    text[0] = 0;
    for (i = 0; i < count; i++)
    {
        size_t len = strlen( text );
        const char *kind = hops[i].kind == 1 ? "nf" : hops[i].kind == 3 ? "callout" : "rule";
        snprintf( text + len, size - len, "%s%s:%u", i ? "," : "", kind, hops[i].service );
    }
    if (!count) snprintf( text, size, "none" );
}

/* getaddrinfo for "ADDRESS:PORT" or "[IPV6]:PORT" */
static inline struct addrinfo *resolve( const char *arg, int passive )
{
    struct addrinfo hints, *info;
    const char *port, *close;
    char host[64];

    if (arg[0] == '[')
    {
        if (!(close = strchr( arg, ']' )) || close[1] != ':') return NULL;
        snprintf( host, sizeof(host), "%.*s", (int)(close - arg - 1), arg + 1 );
        port = close + 2;
    }
    else
    {
        if (!(port = strrchr( arg, ':' ))) return NULL;
        snprintf( host, sizeof(host), "%.*s", (int)(port - arg), arg );
        port++;
    }
    memset( &hints, 0, sizeof(hints) );
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
    if (getaddrinfo( host, port, &hints, &info )) return NULL;
    return info;
}

#endif /* RECORDS_VIEW_H */
