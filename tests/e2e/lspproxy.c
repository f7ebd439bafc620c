/*
 * lspproxy: a transparent TCP proxy that reaches Winsock only through a
 * layered service provider's procedure table, as a program does whose
 * sockets an installed LSP serves.  It loads the LSP the way ws2_32 loads
 * an installed one (LoadLibrary, WSPStartup with an upcall table of its
 * own, here for the catalog's TCP entries), and then makes every call
 * through the table: WSPAccept, the redirect records with WSPIoctl
 * (growing the buffer as the call says), the redirect context with an
 * overlapped WSPIoctl whose completion routine comes through the
 * WPUQueueApc upcall, WSPSocket, SET with WSPIoctl, WSPConnect, and the
 * relay with WSPSelect, WSPRecv, WSPSend and WSPShutdown.
 *
 * usage: lspproxy.exe LSP.DLL PORT
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <ws2spi.h>
#include <mstcpip.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS _WSAIOW(IOC_VENDOR, 220)
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT _WSAIOW(IOC_VENDOR, 221)
#define SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS   _WSAIOW(IOC_VENDOR, 222)
#endif

static WSPPROC_TABLE wsp;
static WSAPROTOCOL_INFOW tcp4, tcp6;
static LONG (WINAPI *lsp_calls)(void);
static CRITICAL_SECTION log_section;
static LONG connection_count;

static void say( const char *format, ... )
{
    va_list args;

    EnterCriticalSection( &log_section );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    fflush( stdout );
    LeaveCriticalSection( &log_section );
}

/* the upcalls that ws2_32 would give the provider */
static int WSPAPI queue_apc( LPWSATHREADID thread, LPWSAUSERAPC apc, DWORD_PTR context, LPINT err )
{
    if (QueueUserAPC( (PAPCFUNC)apc, thread->ThreadHandle, context )) return 0;
    *err = WSAEFAULT;
    return SOCKET_ERROR;
}

static SOCKET WSPAPI modify_ifs_handle( DWORD catalog_id, SOCKET s, LPINT err )
{
    (void)catalog_id; (void)err;
    return s;
}

static int WSPAPI open_current_thread( LPWSATHREADID thread, LPINT err )
{
    if (!DuplicateHandle( GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &thread->ThreadHandle, 0,
                          FALSE, DUPLICATE_SAME_ACCESS ))
    {
        *err = WSAENOBUFS;
        return SOCKET_ERROR;
    }
    thread->Reserved = 0;
    return 0;
}

static int WSPAPI close_thread( LPWSATHREADID thread, LPINT err )
{
    (void)err;
    CloseHandle( thread->ThreadHandle );
    return 0;
}

static int addr_len( const SOCKADDR_STORAGE *addr )
{
    return addr->ss_family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6);
}

/* the records, into a buffer that grows as the call says it must */
static char *query_records( SOCKET s, DWORD *size, int *err )
{
    DWORD capacity = 2048;
    char *records;

    for (;;)
    {
        if (!(records = malloc( capacity ))) return NULL;
        if (!wsp.lpWSPIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, capacity, size, NULL,
                             NULL, NULL, err ))
            return records;
        free( records );
        if (*err != WSAEFAULT || *size <= capacity || *size > 65536) return NULL;
        capacity = *size;
    }
}

static void CALLBACK context_done( DWORD error, DWORD transferred, LPWSAOVERLAPPED overlapped, DWORD flags )
{
    DWORD *result = (DWORD *)overlapped->hEvent;   /* the caller's own with a completion routine */

    (void)flags;
    result[0] = error;
    result[1] = transferred;
}

/* the context, with a completion routine queued through WPUQueueApc */
static BOOL query_context( SOCKET s, SOCKADDR_STORAGE context[2], int *err )
{
    DWORD result[2] = { ~0u, 0 }, size;
    WSAOVERLAPPED overlapped;
    WSATHREADID thread;
    int ret;

    if (open_current_thread( &thread, err )) return FALSE;
    memset( &overlapped, 0, sizeof(overlapped) );
    overlapped.hEvent = (HANDLE)result;
    ret = wsp.lpWSPIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context,
                          2 * sizeof(SOCKADDR_STORAGE), &size, &overlapped, context_done, &thread, err );
    if (ret && *err != WSA_IO_PENDING)
    {
        close_thread( &thread, err );
        return FALSE;
    }
    while (result[0] == ~0u) SleepEx( INFINITE, TRUE );
    close_thread( &thread, err );
    *err = result[0];
    return !result[0] && result[1] >= sizeof(SOCKADDR_STORAGE);
}

static BOOL send_all( SOCKET s, char *data, DWORD len )
{
    WSABUF buf;
    DWORD sent;
    int err;

    while (len)
    {
        buf.buf = data;
        buf.len = len;
        if (wsp.lpWSPSend( s, &buf, 1, &sent, 0, NULL, NULL, NULL, &err )) return FALSE;
        data += sent;
        len -= sent;
    }
    return TRUE;
}

static void relay( SOCKET a, SOCKET b )
{
    SOCKET sockets[2] = { a, b };
    BOOL open[2] = { TRUE, TRUE };
    char buffer[16384];
    WSABUF buf = { sizeof(buffer), buffer };
    DWORD got, flags;
    fd_set set;
    int i, err;

    while (open[0] || open[1])
    {
        FD_ZERO( &set );
        for (i = 0; i < 2; i++) if (open[i]) FD_SET( sockets[i], &set );
        if (wsp.lpWSPSelect( 0, &set, NULL, NULL, NULL, &err ) <= 0) return;
        for (i = 0; i < 2; i++)
        {
            if (!open[i] || !FD_ISSET( sockets[i], &set )) continue;
            flags = 0;
            if (wsp.lpWSPRecv( sockets[i], &buf, 1, &got, &flags, NULL, NULL, NULL, &err ) || !got)
            {
                open[i] = FALSE;
                wsp.lpWSPShutdown( sockets[!i], SD_SEND, &err );
            }
            else if (!send_all( sockets[!i], buffer, got )) return;
        }
    }
}

static DWORD WINAPI connection( void *arg )
{
    SOCKET client = (SOCKET)(ULONG_PTR)arg, server = INVALID_SOCKET;
    SOCKADDR_STORAGE context[2];
    LONG id = InterlockedIncrement( &connection_count );
    DWORD records_size, size;
    char *records;
    int err;

    if (!(records = query_records( client, &records_size, &err )))
    {
        say( "#%ld: not a redirected connection (error %d)\n", id, err );
        goto done;
    }
    if (!query_context( client, context, &err ))
    {
        say( "#%ld: no redirect context (error %d)\n", id, err );
        goto done;
    }
    server = wsp.lpWSPSocket( context[0].ss_family, SOCK_STREAM, IPPROTO_TCP,
                              context[0].ss_family == AF_INET ? &tcp4 : &tcp6, 0, 0, &err );
    if (server == INVALID_SOCKET ||
        wsp.lpWSPIoctl( server, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0, &size,
                        NULL, NULL, NULL, &err ))
    {
        say( "#%ld: cannot set the redirect records (error %d)\n", id, err );
        goto done;
    }
    if (wsp.lpWSPConnect( server, (struct sockaddr *)&context[0], addr_len( &context[0] ), NULL, NULL, NULL, NULL,
                          &err ))
    {
        say( "#%ld: cannot connect (error %d)\n", id, err );
        goto done;
    }
    relay( client, server );
    say( "#%ld: relayed, %ld calls through the layered provider so far\n", id, lsp_calls() );

done:
    free( records );
    if (server != INVALID_SOCKET) wsp.lpWSPCloseSocket( server, &err );
    wsp.lpWSPCloseSocket( client, &err );
    return 0;
}

static DWORD WINAPI listener( void *arg )
{
    SOCKET s = (SOCKET)(ULONG_PTR)arg, client;
    HANDLE thread;
    int err;

    for (;;)
    {
        if ((client = wsp.lpWSPAccept( s, NULL, NULL, NULL, 0, &err )) == INVALID_SOCKET)
        {
            say( "accept failed: error %d\n", err );
            return 1;
        }
        if (!(thread = CreateThread( NULL, 0, connection, (void *)(ULONG_PTR)client, 0, NULL )))
            wsp.lpWSPCloseSocket( client, &err );
        else CloseHandle( thread );
    }
}

static SOCKET listen_on( int family, unsigned short port )
{
    SOCKADDR_STORAGE addr;
    SOCKET s;
    int err, on = 1;

    memset( &addr, 0, sizeof(addr) );
    addr.ss_family = family;
    ((SOCKADDR_IN *)&addr)->sin_port = htons( port );   /* sin6_port is at the same place */
    s = wsp.lpWSPSocket( family, SOCK_STREAM, IPPROTO_TCP, family == AF_INET ? &tcp4 : &tcp6, 0, 0, &err );
    if (s == INVALID_SOCKET) return s;
    if (family == AF_INET6) wsp.lpWSPSetSockOpt( s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&on, sizeof(on), &err );
    if (wsp.lpWSPBind( s, (struct sockaddr *)&addr, addr_len( &addr ), &err ) ||
        wsp.lpWSPListen( s, SOMAXCONN, &err ))
    {
        wsp.lpWSPCloseSocket( s, &err );
        return INVALID_SOCKET;
    }
    return s;
}

int main( int argc, char **argv )
{
    WSPUPCALLTABLE upcalls = { .lpWPUQueueApc = queue_apc, .lpWPUModifyIFSHandle = modify_ifs_handle,
                               .lpWPUOpenCurrentThread = open_current_thread, .lpWPUCloseThread = close_thread };
    WSAPROTOCOL_INFOW *entries;
    LPWSPSTARTUP startup;
    WSADATA wsadata;
    WSPDATA data;
    HMODULE lsp;
    SOCKET s4, s6;
    DWORD size = 0;
    int count, i, err, ret;

    if (argc != 3)
    {
        printf( "usage: lspproxy.exe LSP.DLL PORT\n" );
        return 2;
    }
    InitializeCriticalSection( &log_section );
    WSAStartup( MAKEWORD(2, 2), &wsadata );   /* for the catalog */
    WSCEnumProtocols( NULL, NULL, &size, &err );
    entries = malloc( size );
    count = WSCEnumProtocols( NULL, entries, &size, &err );
    for (i = 0; i < count; i++)
    {
        if (entries[i].iSocketType != SOCK_STREAM) continue;
        if (entries[i].iAddressFamily == AF_INET && !tcp4.iSocketType) tcp4 = entries[i];
        if (entries[i].iAddressFamily == AF_INET6 && !tcp6.iSocketType) tcp6 = entries[i];
    }
    if (!tcp4.iSocketType || !tcp6.iSocketType)
    {
        printf( "lspproxy: no TCP entries in the catalog\n" );
        return 1;
    }

    if (!(lsp = LoadLibraryA( argv[1] )) || !(startup = (LPWSPSTARTUP)(void *)GetProcAddress( lsp, "WSPStartup" )) ||
        !(lsp_calls = (void *)GetProcAddress( lsp, "lsp_calls" )))
    {
        printf( "lspproxy: cannot load %s: %lu\n", argv[1], GetLastError() );
        return 1;
    }
    if ((ret = startup( MAKEWORD(2, 2), &data, &tcp4, upcalls, &wsp )))
    {
        printf( "lspproxy: WSPStartup failed: %d\n", ret );
        return 1;
    }
    if ((s4 = listen_on( AF_INET, atoi( argv[2] ) )) == INVALID_SOCKET ||
        (s6 = listen_on( AF_INET6, atoi( argv[2] ) )) == INVALID_SOCKET)
    {
        printf( "lspproxy: cannot listen on port %s\n", argv[2] );
        return 1;
    }
    say( "lspproxy: listening on port %s through %s (%ls, version %#x)\n", argv[2], argv[1], data.szDescription,
         data.wVersion );
    CloseHandle( CreateThread( NULL, 0, listener, (void *)(ULONG_PTR)s6, 0, NULL ) );
    listener( (void *)(ULONG_PTR)s4 );
    return 0;
}
