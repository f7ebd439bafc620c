/*
 * ebpf_listener: the TCP listener of ebpf-for-windows' connect-redirect tests
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * Stands for microsoft/ebpf-for-windows:
 *   tests/tcp_udp_listener/tcp_udp_listener.cpp, create_listener() and
 *       create_tcp_listener();
 *   tests/libs/util/socket_helper.cpp, _stream_server_socket (its
 *       constructor, initialize_accept_socket(), post_async_receive(),
 *       complete_async_receive(), query_redirect_context(),
 *       send_async_response());
 *   tests/connect_redirect/connect_redirect_tests.cpp, the client side:
 *       send CLIENT_MESSAGE, expect SERVER_MESSAGE or the context, plus
 *       the listener's port.
 *
 * The listener's calls, in its order:
 *   1. a dual-stack socket: WSASocket(AF_INET6, WSA_FLAG_OVERLAPPED),
 *      IPV6_V6ONLY 0, bind() to the wildcard address with a name length of
 *      sizeof(sockaddr_storage); the AcceptEx pointer from
 *      SIO_GET_EXTENSION_FUNCTION_POINTER; listen(SOMAXCONN);
 *   2. in a loop, one connection at a time: close the previous accept
 *      socket (shutdown(SD_BOTH), closesocket()), a new dual-stack accept
 *      socket, an event, AcceptEx() with a 1024-byte buffer of which
 *      1024 - 2 * (sizeof(sockaddr_storage) + 16) = 736 bytes take the
 *      client's first data, so that it completes once data came;
 *      WSAWaitForMultipleEvents(INFINITE), WSAGetOverlappedResult() on
 *      the listening socket; no SO_UPDATE_ACCEPT_CONTEXT;
 *   3. SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, synchronous, on the
 *      accepted socket into a 128-byte buffer (REDIRECT_CONTEXT_BUFFER_SIZE);
 *      the bytes returned go to a local that nobody reads;
 *   4. the reply: on success the context, read as a C string, followed by
 *      the listener's port; on any failure "ServerResponseMessage" and the
 *      port; sent with a synchronous WSASend().
 * Any other failure FAILs the Catch2 test case, which ends the listener.
 *
 * wine-wfp's default context takes 256 bytes, so step 3 must fail with
 * WSAEFAULT and 256 in *lpcbBytesReturned, and the reply is the generic
 * one.  The listener ignores both the error and the size; this program
 * logs them for the runner.
 *
 * usage: ebpf_listener.exe [--name NAME] PORT
 *        ebpf_listener.exe --client ADDRESS:PORT [--count N] [--parallel P] --expect REPLY
 * (--client may come anywhere, so that the runner can put the target first)
 */

#include "corpus.h"
#include "records_view.h"

#define REDIRECT_CONTEXT_BUFFER_SIZE 128
#define CLIENT_MESSAGE "ClientRequestMessage"
#define SERVER_MESSAGE "ServerResponseMessage"

static void fail( const char *what, int error )
{
    say( "FAIL: %s failed with %d\n", what, error );
    exit( 1 );
}

static SOCKET dual_socket( void )
{
    SOCKET s = WSASocketW( AF_INET6, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED );
    ULONG ipv6_option = 0;

    if (setsockopt( s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&ipv6_option, sizeof(ipv6_option) ))
        fail( "Could not enable dual family endpoint", WSAGetLastError() );
    return s;
}

static void clean_up_socket( SOCKET *s )
{
    if (*s == INVALID_SOCKET) return;
    shutdown( *s, SD_BOTH );
    closesocket( *s );
    *s = INVALID_SOCKET;
}

static int listener( int port )
{
    GUID guid = WSAID_ACCEPTEX;
    LPFN_ACCEPTEX acceptex = NULL;
    SOCKADDR_STORAGE local;
    SOCKET s, accept_socket = INVALID_SOCKET;
    char recv_buffer[1024];
    size_t message_length = sizeof(recv_buffer) - 2 * (sizeof(SOCKADDR_STORAGE) + 16);
    DWORD bytes, counter = 0;

    s = dual_socket();
    memset( &local, 0, sizeof(local) );
    local.ss_family = AF_INET6;
    ((SOCKADDR_IN6 *)&local)->sin6_port = htons( port );
    if (bind( s, (SOCKADDR *)&local, sizeof(local) )) fail( "bind", WSAGetLastError() );
    if (WSAIoctl( s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &acceptex, sizeof(acceptex),
                  &bytes, NULL, NULL ))
        fail( "Obtaining AcceptEx function pointer", WSAGetLastError() );
    if (listen( s, SOMAXCONN )) fail( "listen", WSAGetLastError() );
    listening();

    for (;;)
    {
        char redirect_context_buffer[REDIRECT_CONTEXT_BUFFER_SIZE] = "";
        char response[REDIRECT_CONTEXT_BUFFER_SIZE + 32];
        DWORD bytes_received = 0, recv_flags = 0, redirect_context_size = 0, bytes_sent;
        WSAOVERLAPPED overlapped;
        WSABUF wsa_send_buffer;
        int ret, error;

        counter++;
        /* post_async_receive() */
        clean_up_socket( &accept_socket );
        accept_socket = dual_socket();
        memset( &overlapped, 0, sizeof(overlapped) );
        overlapped.hEvent = WSACreateEvent();
        if (!acceptex( s, accept_socket, recv_buffer, message_length, sizeof(SOCKADDR_STORAGE) + 16,
                       sizeof(SOCKADDR_STORAGE) + 16, &bytes_received, &overlapped ) &&
            (error = WSAGetLastError()) != WSA_IO_PENDING)
            fail( "AcceptEx", error );

        /* complete_async_receive( WSA_INFINITE, false ) */
        if (WSAWaitForMultipleEvents( 1, &overlapped.hEvent, TRUE, WSA_INFINITE, FALSE ) != WSA_WAIT_EVENT_0)
            fail( "Waiting on receiver socket", WSAGetLastError() );
        if (!WSAGetOverlappedResult( s, &overlapped, &bytes_received, FALSE, &recv_flags ))
            fail( "WSARecvFrom on the receiver socket", WSAGetLastError() );
        WSACloseEvent( overlapped.hEvent );

        /* query_redirect_context() */
        ret = WSAIoctl( accept_socket, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, redirect_context_buffer,
                        sizeof(redirect_context_buffer), &redirect_context_size, NULL, NULL );
        error = ret ? WSAGetLastError() : 0;
        say( "#%lu received %lu bytes; query_redirect_context(128) = %d, error %d, %lu bytes\n", counter,
             bytes_received, ret, error, redirect_context_size );
        if (!ret)
            snprintf( response, sizeof(response), "%.*s%d", REDIRECT_CONTEXT_BUFFER_SIZE, redirect_context_buffer, port );
        else
            snprintf( response, sizeof(response), SERVER_MESSAGE "%d", port );

        /* send_async_response() */
        wsa_send_buffer.buf = response;
        wsa_send_buffer.len = strlen( response );
        if (WSASend( accept_socket, &wsa_send_buffer, 1, &bytes_sent, 0, NULL, NULL ))
            fail( "send_async_response", WSAGetLastError() );
    }
    return 0;
}

/* the client side, many at a time */
static struct addrinfo *target;
static const char *expected;
static LONG next_index, count = 1, ok_count, fail_count;

static DWORD WINAPI client_thread( void *arg )
{
    char reply[512];
    DWORD timeout = 5000;
    int got, ret;
    LONG index;
    SOCKET s;

    (void)arg;
    while ((index = InterlockedIncrement( &next_index )) <= count)
    {
        got = 0;
        s = socket( target->ai_family, SOCK_STREAM, IPPROTO_TCP );
        setsockopt( s, SOL_SOCKET, SO_RCVTIMEO, (char *)&timeout, sizeof(timeout) );
        if (connect( s, target->ai_addr, target->ai_addrlen ) ||
            send( s, CLIENT_MESSAGE, strlen( CLIENT_MESSAGE ), 0 ) != strlen( CLIENT_MESSAGE ))
        {
            say( "client: connection %ld: connect or send failed: %d\n", index, WSAGetLastError() );
            InterlockedIncrement( &fail_count );
            closesocket( s );
            continue;
        }
        while (got < (int)sizeof(reply) - 1 && (ret = recv( s, reply + got, sizeof(reply) - 1 - got, 0 )) > 0)
            got += ret;
        reply[got] = 0;
        if (strcmp( reply, expected ))
        {
            say( "client: connection %ld: expected \"%s\", got \"%s\"\n", index, expected, reply );
            InterlockedIncrement( &fail_count );
        }
        else InterlockedIncrement( &ok_count );
        closesocket( s );
    }
    return 0;
}

static int client( int argc, char **argv )
{
    HANDLE threads[256];
    int parallel = 1, i;

    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--client" )) ;
        else if (!strcmp( argv[i], "--count" )) count = atoi( option_value( argc, argv, &i ) );
        else if (!strcmp( argv[i], "--parallel" )) parallel = atoi( option_value( argc, argv, &i ) );
        else if (!strcmp( argv[i], "--expect" )) expected = option_value( argc, argv, &i );
        else if (!target && (target = resolve( argv[i], 0 ))) ;
        else return 2;
    }
    if (!target || !expected || parallel < 1 || parallel > 256) return 2;
    for (i = 0; i < parallel; i++) threads[i] = CreateThread( NULL, 0, client_thread, NULL, 0, NULL );
    for (i = 0; i < parallel; i += MAXIMUM_WAIT_OBJECTS)
        WaitForMultipleObjects( min( parallel - i, MAXIMUM_WAIT_OBJECTS ), threads + i, TRUE, INFINITE );
    say( "client: %ld connections, %ld ok, %ld failed\n", count, ok_count, fail_count );
    return fail_count || ok_count != count;
}

int main( int argc, char **argv )
{
    int i, port = 0;

    corpus_init( "ebpf" );
    for (i = 1; i < argc; i++) if (!strcmp( argv[i], "--client" )) return client( argc, argv );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" )) corpus_name = option_value( argc, argv, &i );
        else if (!port && (port = atoi( argv[i] )) > 0) ;
        else
        {
            fprintf( stderr, "usage: ebpf_listener.exe [--name NAME] PORT\n"
                     "       ebpf_listener.exe --client ADDRESS:PORT [--count N] [--parallel P] --expect REPLY\n" );
            return 2;
        }
    }
    if (!port) return 2;
    return listener( port );
}
