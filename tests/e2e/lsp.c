/*
 * wfplsp.dll: a pass-through layered service provider, written the way
 * LSP samples are: its WSPStartup finds the next provider in the catalog
 * (WSCEnumProtocols, WSCGetProviderPath), loads that DLL, calls its
 * WSPStartup with the upcall table it was given, and hands out a table of
 * its own whose entries call the next provider's.  It counts the calls
 * that went through it (lsp_calls) for the test to check.
 */
#include <winsock2.h>
#include <ws2spi.h>
#include <stdlib.h>

static WSPPROC_TABLE next_table;
static LONG call_count;

__declspec(dllexport) LONG WINAPI lsp_calls( void )
{
    return call_count;
}

static SOCKET WSPAPI lsp_accept( SOCKET s, struct sockaddr *addr, LPINT len, LPCONDITIONPROC condition,
                                 DWORD_PTR context, LPINT err )
{
    InterlockedIncrement( &call_count );
    return next_table.lpWSPAccept( s, addr, len, condition, context, err );
}

static int WSPAPI lsp_connect( SOCKET s, const struct sockaddr *name, int len, LPWSABUF caller, LPWSABUF callee,
                               LPQOS sqos, LPQOS gqos, LPINT err )
{
    InterlockedIncrement( &call_count );
    return next_table.lpWSPConnect( s, name, len, caller, callee, sqos, gqos, err );
}

static int WSPAPI lsp_ioctl( SOCKET s, DWORD code, LPVOID in, DWORD in_size, LPVOID out, DWORD out_size,
                             LPDWORD returned, LPWSAOVERLAPPED overlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE completion, LPWSATHREADID thread, LPINT err )
{
    InterlockedIncrement( &call_count );
    return next_table.lpWSPIoctl( s, code, in, in_size, out, out_size, returned, overlapped, completion, thread,
                                  err );
}

static SOCKET WSPAPI lsp_socket( int family, int type, int protocol, LPWSAPROTOCOL_INFOW info, GROUP group,
                                 DWORD flags, LPINT err )
{
    InterlockedIncrement( &call_count );
    return next_table.lpWSPSocket( family, type, protocol, info, group, flags, err );
}

__declspec(dllexport) int WSPAPI WSPStartup( WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
                                             WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE table )
{
    WCHAR path[MAX_PATH], expanded[MAX_PATH];
    WSAPROTOCOL_INFOW *entries, next;
    LPWSPSTARTUP next_startup;
    DWORD size = 0;
    int count, i, len = MAX_PATH, err, ret;
    HMODULE module;

    /* the next provider of the chain: its catalog entry, then its DLL */
    WSCEnumProtocols( NULL, NULL, &size, &err );
    if (!(entries = malloc( size ))) return WSAENOBUFS;
    count = WSCEnumProtocols( NULL, entries, &size, &err );
    for (i = 0; i < count; i++)
        if (entries[i].dwCatalogEntryId == (info->ProtocolChain.ChainLen > 1 ? info->ProtocolChain.ChainEntries[1]
                                                                            : info->dwCatalogEntryId))
            break;
    if (i >= count)
    {
        free( entries );
        return WSAEPROVIDERFAILEDINIT;
    }
    next = entries[i];
    free( entries );
    if (WSCGetProviderPath( &next.ProviderId, path, &len, &err ) ||
        !ExpandEnvironmentStringsW( path, expanded, MAX_PATH ) ||
        !(module = LoadLibraryW( expanded )) ||
        !(next_startup = (LPWSPSTARTUP)(void *)GetProcAddress( module, "WSPStartup" )))
        return WSAEPROVIDERFAILEDINIT;
    if ((ret = next_startup( version, data, &next, upcalls, &next_table ))) return ret;

    *table = next_table;
    table->lpWSPAccept = lsp_accept;
    table->lpWSPConnect = lsp_connect;
    table->lpWSPIoctl = lsp_ioctl;
    table->lpWSPSocket = lsp_socket;
    return 0;
}
