/*
 * What the corpus programs share that has nothing to do with WFP: logging,
 * addresses, listening sockets and a blocking relay.  Every WFP call stays
 * in the program that models a client, in that client's order.
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef CORPUS_H
#define CORPUS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wfp_sdk.h"
#include <mswsock.h>

#ifndef ERROR_INSUFFICIENT_BUFFER
#define ERROR_INSUFFICIENT_BUFFER 122
#endif

static const char *corpus_name = "corpus";
static CRITICAL_SECTION corpus_log_section;

/* One line of the log, whole: the runner greps these. */
static inline void say( const char *format, ... )
{
    va_list args;

    EnterCriticalSection( &corpus_log_section );
    printf( "[%s] ", corpus_name );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    fflush( stdout );
    LeaveCriticalSection( &corpus_log_section );
}

static inline void corpus_init( const char *name )
{
    WSADATA data;

    corpus_name = name;
    setvbuf( stdout, NULL, _IOFBF, 1 << 16 );
    InitializeCriticalSection( &corpus_log_section );
    WSAStartup( MAKEWORD(2, 2), &data );
}

static inline int addr_len( const SOCKADDR_STORAGE *addr )
{
    return addr->ss_family == AF_INET6 ? sizeof(SOCKADDR_IN6) : sizeof(SOCKADDR_IN);
}

static inline const char *addr_string( const void *addr, char *buffer, DWORD size )
{
    const SOCKADDR_STORAGE *storage = addr;

    if (storage->ss_family != AF_INET && storage->ss_family != AF_INET6)
        snprintf( buffer, size, "(family %u)", storage->ss_family );
    else if (WSAAddressToStringA( (SOCKADDR *)addr, addr_len( storage ), NULL, buffer, &size ))
        snprintf( buffer, size, "?" );
    return buffer;
}

static inline const char *peer_string( SOCKET s, char *buffer, DWORD size )
{
    SOCKADDR_STORAGE peer;
    int len = sizeof(peer);

    memset( &peer, 0, sizeof(peer) );
    if (getpeername( s, (SOCKADDR *)&peer, &len )) snprintf( buffer, size, "?" );
    else addr_string( &peer, buffer, size );
    return buffer;
}

/* A listening socket on the wildcard address of FAMILY; dual_stack takes
 * IPv4 on an IPv6 socket too. */
static inline SOCKET listen_on( int family, int port, BOOL dual_stack, DWORD flags )
{
    SOCKADDR_STORAGE addr;
    SOCKET s;

    memset( &addr, 0, sizeof(addr) );
    addr.ss_family = family;
    if (family == AF_INET6) ((SOCKADDR_IN6 *)&addr)->sin6_port = htons( port );
    else ((SOCKADDR_IN *)&addr)->sin_port = htons( port );
    if ((s = WSASocketW( family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, flags )) == INVALID_SOCKET) return s;
    if (family == AF_INET6)
    {
        DWORD v6only = !dual_stack;
        setsockopt( s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&v6only, sizeof(v6only) );
    }
    if (bind( s, (SOCKADDR *)&addr, addr_len( &addr ) ) || listen( s, SOMAXCONN ))
    {
        fprintf( stderr, "[%s] cannot listen on port %d: error %d\n", corpus_name, port, WSAGetLastError() );
        exit( 1 );
    }
    return s;
}

static inline void listening( void )
{
    /* its process id, for a redirector that leaves the proxy's own
     * connections alone by localRedirectTargetPID */
    say( "listening (process %lu)\n", GetCurrentProcessId() );
}

/* Move what from has to to; at its end of file, pass the end on. */
static inline BOOL relay_forward( SOCKET from, SOCKET to, BOOL *open, ULONGLONG *count )
{
    char buffer[16384];
    int len, sent = 0, ret;

    if ((len = recv( from, buffer, sizeof(buffer), 0 )) > 0)
    {
        *count += len;
        while (sent < len)
        {
            if ((ret = send( to, buffer + sent, len - sent, 0 )) <= 0) return FALSE;
            sent += ret;
        }
        return TRUE;
    }
    if (len < 0) return FALSE;
    shutdown( to, SD_SEND );
    *open = FALSE;
    return TRUE;
}

/* Relay between two blocking sockets until both directions are done. */
static inline BOOL relay( SOCKET a, SOCKET b, ULONGLONG *a_to_b, ULONGLONG *b_to_a )
{
    BOOL a_open = TRUE, b_open = TRUE;

    while (a_open || b_open)
    {
        fd_set set;

        FD_ZERO( &set );
        if (a_open) FD_SET( a, &set );
        if (b_open) FD_SET( b, &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) return FALSE;
        if (a_open && FD_ISSET( a, &set ) && !relay_forward( a, b, &a_open, a_to_b )) return FALSE;
        if (b_open && FD_ISSET( b, &set ) && !relay_forward( b, a, &b_open, b_to_a )) return FALSE;
    }
    return TRUE;
}

static inline void set_blocking( SOCKET s )
{
    u_long nonblocking = 0;

    ioctlsocket( s, FIONBIO, &nonblocking );
}

/* "--name NAME" and the like: the value after the option, or exit */
static inline const char *option_value( int argc, char **argv, int *i )
{
    if (*i + 1 >= argc)
    {
        fprintf( stderr, "[%s] %s needs a value\n", corpus_name, argv[*i] );
        exit( 2 );
    }
    return argv[++*i];
}

#endif /* CORPUS_H */
