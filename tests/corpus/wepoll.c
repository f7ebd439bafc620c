/*
 * wepoll: a single-threaded proxy on an epoll-shaped event loop
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for the way wepoll registers and re-arms sockets:
 *   piscisaureus/wepoll, wepoll.c, ws_get_base_socket(): SIO_BASE_HANDLE
 *       into a SOCKET, and if that fails with anything but WSAENOTSOCK,
 *       SIO_BSP_HANDLE_POLL, looping while it unwraps a layer.
 *       piscisaureus/wepoll never calls SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE,
 *       and no version of libuv or mio found does either (they resolve the
 *       base handle, or in mio 1.x poll the socket handle itself);
 *   pwin32/wepoll-ex (a wepoll fork), src/wepoll_ex_afd.c,
 *       ep_socket_get_endpoint_id(), and src/wepoll_ex_port.c,
 *       ep_sock_validate_identity_locked(): SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE
 *       into a uint64_t (8 bytes) as the socket's identity, taken when the
 *       socket is added and compared each time it is re-armed, so that a
 *       closed socket whose handle value was reused is not mistaken for
 *       the new one.  WSAEOPNOTSUPP, WSAENOPROTOOPT and WSAEINVAL mean "no
 *       token" (the legacy handle-value behaviour); any other error, or a
 *       size other than 8, is an identity failure.
 *
 * wepoll waits with IOCTL_AFD_POLL, which is not documented; this program
 * waits with WSAPoll() instead, and re-arms a socket after each event it
 * handled.  The proxying itself is the corpus' usual one: records into
 * 2048 bytes (grown on WSAEFAULT), context into 256, SET on the upstream
 * socket, a non-blocking connect.
 *
 * Logged for the runner: every identity failure, a token that changes on
 * a live socket, a token shared by two live sockets, and a reused handle
 * value that comes back with its old token.
 *
 * usage: wepoll.exe [--name NAME] PORT
 */

#include "corpus.h"

#define MAX_SOCKETS 1024
#define BUFFER_SIZE 16384

struct ep_sock
{
    SOCKET fd;
    UINT64 token;
    BOOL have_token;
};

struct half
{
    char buffer[BUFFER_SIZE];
    int length, sent;
    BOOL eof, shut;
};

struct conn
{
    LONG id;
    struct ep_sock client, upstream;
    BOOL connecting;
    struct half to_upstream, to_client;
    ULONGLONG bytes[2];
};

static struct conn *conns[MAX_SOCKETS];
static int conn_count;
static LONG connection_count, identity_failures;

/* handle values seen before, with the token each last had */
static struct { SOCKET fd; UINT64 token; } history[4096];
static int history_count;

static SOCKET ioctl_get_bsp_socket( SOCKET s, DWORD code )
{
    SOCKET bsp_socket;
    DWORD bytes;

    if (WSAIoctl( s, code, NULL, 0, &bsp_socket, sizeof(bsp_socket), &bytes, NULL, NULL ) != SOCKET_ERROR)
        return bsp_socket;
    return INVALID_SOCKET;
}

/* ws_get_base_socket() */
static SOCKET get_base_socket( SOCKET s )
{
    SOCKET base;
    DWORD error;

    for (;;)
    {
        if ((base = ioctl_get_bsp_socket( s, SIO_BASE_HANDLE )) != INVALID_SOCKET) return base;
        if ((error = GetLastError()) == WSAENOTSOCK) return INVALID_SOCKET;
        base = ioctl_get_bsp_socket( s, SIO_BSP_HANDLE_POLL );
        if (base == INVALID_SOCKET || base == s) return INVALID_SOCKET;
        s = base;
    }
}

/* ep_socket_get_endpoint_id(): 1 with a token, 0 without, -1 on failure */
static int get_endpoint_id( SOCKET s, UINT64 *endpoint_id, int *error )
{
    UINT64 result = 0;
    DWORD bytes = 0;

    *error = 0;
    if (WSAIoctl( s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &result, sizeof(result), &bytes, NULL, NULL ) ==
        SOCKET_ERROR)
    {
        *error = WSAGetLastError();
        if (*error == WSAEOPNOTSUPP || *error == WSAENOPROTOOPT || *error == WSAEINVAL) return 0;
        return -1;
    }
    if (bytes != sizeof(result))
    {
        *error = -(int)bytes;
        return -1;
    }
    *endpoint_id = result;
    return 1;
}

static void identity_failure( LONG id, const char *format, ... )
{
    char text[256];
    va_list args;

    InterlockedIncrement( &identity_failures );
    va_start( args, format );
    vsnprintf( text, sizeof(text), format, args );
    va_end( args );
    say( "#%ld UNEXPECTED identity: %s\n", id, text );
}

/* EPOLL_CTL_ADD */
static BOOL ep_add( LONG id, struct ep_sock *sock, SOCKET fd )
{
    int i, j, ret, error;

    sock->fd = fd;
    sock->have_token = FALSE;
    if (get_base_socket( fd ) == INVALID_SOCKET)
    {
        identity_failure( id, "no base socket for %Iu (error %lu)", fd, GetLastError() );
        return FALSE;
    }
    if ((ret = get_endpoint_id( fd, &sock->token, &error )) < 0)
    {
        identity_failure( id, "SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE failed on %Iu: %d", fd, error );
        return FALSE;
    }
    if (!ret)
    {
        identity_failure( id, "no ALE endpoint token for %Iu (error %d)", fd, error );
        return TRUE;
    }
    sock->have_token = TRUE;
    if (!sock->token) identity_failure( id, "token 0 for %Iu", fd );

    /* no two live sockets share a token */
    for (i = 0; i < conn_count; i++)
    {
        struct ep_sock *other[2] = { &conns[i]->client, &conns[i]->upstream };
        for (j = 0; j < 2; j++)
            if (other[j] != sock && other[j]->have_token && other[j]->token == sock->token)
                identity_failure( id, "socket %Iu has the token %#I64x of live socket %Iu", fd, sock->token,
                                  other[j]->fd );
    }
    /* a reused handle value is a new endpoint */
    for (i = 0; i < history_count; i++)
        if (history[i].fd == fd && history[i].token == sock->token)
            identity_failure( id, "handle %Iu was reused with its old token %#I64x", fd, sock->token );
    return TRUE;
}

/* ep_sock_validate_identity_locked(), when the socket is re-armed */
static void ep_validate( LONG id, struct ep_sock *sock )
{
    UINT64 token;
    int ret, error;

    if (!sock->have_token) return;
    get_base_socket( sock->fd );
    if ((ret = get_endpoint_id( sock->fd, &token, &error )) <= 0)
        identity_failure( id, "the token of live socket %Iu is gone (%d, error %d)", sock->fd, ret, error );
    else if (token != sock->token)
        identity_failure( id, "the token of live socket %Iu changed from %#I64x to %#I64x", sock->fd,
                          sock->token, token );
}

static void ep_del( struct ep_sock *sock )
{
    int i;

    if (!sock->have_token) return;
    for (i = 0; i < history_count; i++)
        if (history[i].fd == sock->fd) break;
    if (i == history_count)
    {
        if (history_count == ARRAYSIZE(history)) return;
        history_count++;
    }
    history[i].fd = sock->fd;
    history[i].token = sock->token;
}

static void conn_free( int index )
{
    struct conn *conn = conns[index];

    say( "#%ld done, relayed %I64u/%I64u bytes\n", conn->id, conn->bytes[0], conn->bytes[1] );
    ep_del( &conn->client );
    closesocket( conn->client.fd );
    if (conn->upstream.fd != INVALID_SOCKET)
    {
        ep_del( &conn->upstream );
        closesocket( conn->upstream.fd );
    }
    free( conn );
    conns[index] = conns[--conn_count];
}

static void on_accept( SOCKET s )
{
    struct conn *conn = calloc( 1, sizeof(*conn) );
    SOCKADDR_STORAGE context[2];
    DWORD capacity = 2048, records_size = 0, context_size = 0, size;
    u_long nonblocking = 1;
    char peer[80], text[80], *records = NULL;
    int error;

    conn->id = InterlockedIncrement( &connection_count );
    conn->upstream.fd = INVALID_SOCKET;
    peer_string( s, peer, sizeof(peer) );
    ioctlsocket( s, FIONBIO, &nonblocking );
    conns[conn_count++] = conn;
    if (!ep_add( conn->id, &conn->client, s )) goto fail;

    for (;;)
    {
        records = realloc( records, capacity );
        if (!WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, capacity, &records_size,
                       NULL, NULL ))
            break;
        if (WSAGetLastError() != WSAEFAULT || records_size <= capacity)
        {
            say( "#%ld from %s: records = error %d, %lu bytes; closing\n", conn->id, peer, WSAGetLastError(),
                 records_size );
            goto fail;
        }
        capacity = records_size;
    }
    if (WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context, sizeof(context), &context_size,
                  NULL, NULL ))
    {
        say( "#%ld from %s: records = 0, %lu bytes; context = error %d; closing\n", conn->id, peer, records_size,
             WSAGetLastError() );
        goto fail;
    }

    /* the upstream socket is registered before it connects */
    if (!ep_add( conn->id, &conn->upstream, socket( context[0].ss_family, SOCK_STREAM, IPPROTO_TCP ) )) goto fail;
    if (WSAIoctl( conn->upstream.fd, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0,
                  &size, NULL, NULL ))
    {
        say( "#%ld from %s: SET = error %d; closing\n", conn->id, peer, WSAGetLastError() );
        goto fail;
    }
    ioctlsocket( conn->upstream.fd, FIONBIO, &nonblocking );
    if (connect( conn->upstream.fd, (SOCKADDR *)&context[0], addr_len( &context[0] ) ) &&
        (error = WSAGetLastError()) != WSAEWOULDBLOCK)
    {
        say( "#%ld connect failed: error %d\n", conn->id, error );
        goto fail;
    }
    conn->connecting = TRUE;
    say( "#%ld from %s: token %#I64x; records = 0, %lu bytes; context = 0, %lu bytes; SET = 0; upstream token "
         "%#I64x; connecting to %s\n", conn->id, peer, conn->client.token, records_size, context_size,
         conn->upstream.token, addr_string( &context[0], text, sizeof(text) ) );
    free( records );
    return;

fail:
    free( records );
    conn_free( conn_count - 1 );
}

/* move what half holds to "to"; FALSE on a hard error */
static BOOL flush_half( struct half *half, SOCKET to )
{
    int ret;

    while (half->sent < half->length)
    {
        if ((ret = send( to, half->buffer + half->sent, half->length - half->sent, 0 )) <= 0)
            return WSAGetLastError() == WSAEWOULDBLOCK;
        half->sent += ret;
    }
    half->sent = half->length = 0;
    if (half->eof && !half->shut)
    {
        shutdown( to, SD_SEND );
        half->shut = TRUE;
    }
    return TRUE;
}

static BOOL read_half( struct half *half, SOCKET from, SOCKET to, ULONGLONG *count )
{
    int ret = recv( from, half->buffer, sizeof(half->buffer), 0 );

    if (ret < 0) return WSAGetLastError() == WSAEWOULDBLOCK;
    if (!ret) half->eof = TRUE;
    else
    {
        half->length = ret;
        half->sent = 0;
        *count += ret;
    }
    return flush_half( half, to );
}

int main( int argc, char **argv )
{
    static WSAPOLLFD fds[2 + 2 * MAX_SOCKETS];
    static struct conn *owner[2 + 2 * MAX_SOCKETS];
    SOCKET listeners[2];
    u_long nonblocking = 1;
    int i, n, port = 0;

    corpus_init( "wepoll" );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: wepoll.exe [--name NAME] PORT\n" );
            return 2;
        }
    }
    if (!port) return 2;

    listeners[0] = listen_on( AF_INET, port, FALSE, 0 );
    listeners[1] = listen_on( AF_INET6, port, FALSE, 0 );
    for (i = 0; i < 2; i++) ioctlsocket( listeners[i], FIONBIO, &nonblocking );
    listening();

    for (;;)
    {
        n = 0;
        for (i = 0; i < 2; i++)
        {
            fds[n].fd = listeners[i];
            fds[n].events = conn_count < MAX_SOCKETS - 1 ? POLLRDNORM : 0;
            owner[n++] = NULL;
        }
        for (i = 0; i < conn_count; i++)
        {
            struct conn *conn = conns[i];

            fds[n].fd = conn->client.fd;
            fds[n].events = 0;
            if (!conn->connecting && !conn->to_upstream.length && !conn->to_upstream.eof) fds[n].events |= POLLRDNORM;
            if (conn->to_client.length) fds[n].events |= POLLWRNORM;
            owner[n++] = conn;
            fds[n].fd = conn->upstream.fd;
            fds[n].events = conn->connecting ? POLLWRNORM : 0;
            if (!conn->connecting && !conn->to_client.length && !conn->to_client.eof) fds[n].events |= POLLRDNORM;
            if (conn->to_upstream.length) fds[n].events |= POLLWRNORM;
            owner[n++] = conn;
        }
        if (WSAPoll( fds, n, -1 ) < 0)
        {
            say( "WSAPoll failed: error %d\n", WSAGetLastError() );
            return 1;
        }

        for (i = 0; i < 2; i++)
        {
            SOCKET s;

            if (!fds[i].revents) continue;
            while (conn_count < MAX_SOCKETS - 1 && (s = accept( listeners[i], NULL, NULL )) != INVALID_SOCKET)
                on_accept( s );
        }
        for (i = 2; i < n; i += 2)
        {
            struct conn *conn = owner[i];
            BOOL ok = TRUE;
            int j;

            if (!fds[i].revents && !fds[i + 1].revents) continue;
            if (conn->connecting && fds[i + 1].revents)
            {
                int error = 0, len = sizeof(error);

                getsockopt( conn->upstream.fd, SOL_SOCKET, SO_ERROR, (char *)&error, &len );
                if (error || (fds[i + 1].revents & (POLLERR | POLLHUP)))
                {
                    say( "#%ld connect failed: error %d\n", conn->id, error );
                    ok = FALSE;
                }
                conn->connecting = FALSE;
            }
            else
            {
                if ((fds[i].revents & (POLLRDNORM | POLLHUP | POLLERR)) && !conn->to_upstream.length &&
                    !conn->to_upstream.eof)
                    ok = read_half( &conn->to_upstream, conn->client.fd, conn->upstream.fd, &conn->bytes[0] );
                if (ok && (fds[i + 1].revents & (POLLRDNORM | POLLHUP | POLLERR)) && !conn->to_client.length &&
                    !conn->to_client.eof)
                    ok = read_half( &conn->to_client, conn->upstream.fd, conn->client.fd, &conn->bytes[1] );
                if (ok && (fds[i].revents & POLLWRNORM)) ok = flush_half( &conn->to_client, conn->client.fd );
                if (ok && (fds[i + 1].revents & POLLWRNORM)) ok = flush_half( &conn->to_upstream, conn->upstream.fd );
            }
            /* re-arm: wepoll-ex revalidates the identity first */
            if (fds[i].revents) ep_validate( conn->id, &conn->client );
            if (fds[i + 1].revents) ep_validate( conn->id, &conn->upstream );

            if (!ok || (conn->to_upstream.shut && conn->to_client.shut))
            {
                for (j = 0; j < conn_count; j++) if (conns[j] == conn) break;
                conn_free( j );
                owner[i] = owner[i + 1] = NULL;
            }
        }
    }
    return 0;
}
