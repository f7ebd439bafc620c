/*
 * WFP redirect records that accept() returned with the new socket
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
 * The redirector's wineserver gives accept() the records and context of
 * the new socket with its handle (struct afd_wfp_accept_output), when a
 * program asked about the connections of that port before: a proxy's
 * queries right after accept() are then answered here instead of by a
 * request each.  Windows' ws2_32 keeps per-process state keyed by socket
 * handles as well (its "internal socket table"), and likewise relies on
 * sockets being closed with closesocket().  An entry goes when its socket
 * is closed or when ws2_32 hands out the same handle value for another
 * socket.  What it holds cannot go stale meanwhile: the server refuses SET
 * on a connected socket.
 */

#include "ws2_32_private.h"
#include "wine/rbtree.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

struct cached_socket
{
    struct rb_entry entry;
    SOCKET          socket;
    DWORD           records_size;
    DWORD           context_size;
    BYTE            data[1];        /* the records, then the context */
};

/* a bound on the memory that sockets closed with CloseHandle() can hold */
#define CACHED_SOCKETS_MAX 16384

static int compare_cached_socket( const void *key, const struct rb_entry *entry )
{
    SOCKET socket = *(const SOCKET *)key;
    const struct cached_socket *cached = RB_ENTRY_VALUE( entry, const struct cached_socket, entry );

    return socket < cached->socket ? -1 : socket > cached->socket;
}

static struct rb_tree cached_sockets = { compare_cached_socket };
static LONG cached_socket_count;

DECLARE_CRITICAL_SECTION(cs_cached_sockets);

static void forget_socket_locked( SOCKET s )
{
    struct rb_entry *entry;

    if (!(entry = rb_get( &cached_sockets, &s ))) return;
    rb_remove( &cached_sockets, entry );
    free( RB_ENTRY_VALUE( entry, struct cached_socket, entry ) );
    cached_socket_count--;
}

/* The handle value s no longer names the socket that an entry was made
 * for: it was closed, or it is a new socket. */
void wfp_forget_socket( SOCKET s )
{
    if (!ReadNoFence( &cached_socket_count )) return;
    EnterCriticalSection( &cs_cached_sockets );
    forget_socket_locked( s );
    LeaveCriticalSection( &cs_cached_sockets );
}

static void free_cached_socket( struct rb_entry *entry, void *context )
{
    free( RB_ENTRY_VALUE( entry, struct cached_socket, entry ) );
}

/* WSACleanup() closed every socket */
void wfp_forget_all_sockets(void)
{
    EnterCriticalSection( &cs_cached_sockets );
    rb_destroy( &cached_sockets, free_cached_socket, NULL );
    cached_socket_count = 0;
    LeaveCriticalSection( &cs_cached_sockets );
}

/* accept() returned s, and the wineserver may have given its records */
void wfp_socket_accepted( SOCKET s, const struct afd_wfp_accept_output *output )
{
    DWORD size = output->records_size + output->context_size;
    struct cached_socket *cached;

    if (!output->records_size) return;
    if (output->records_size > sizeof(output->data) || output->context_size > sizeof(output->data) - output->records_size)
    {
        ERR( "invalid sizes %lu and %lu\n", output->records_size, output->context_size );
        return;
    }
    if (ReadNoFence( &cached_socket_count ) >= CACHED_SOCKETS_MAX) return;
    if (!(cached = malloc( offsetof( struct cached_socket, data[size] ) ))) return;
    cached->socket = s;
    cached->records_size = output->records_size;
    cached->context_size = output->context_size;
    memcpy( cached->data, output->data, size );

    EnterCriticalSection( &cs_cached_sockets );
    forget_socket_locked( s );
    rb_put( &cached_sockets, &s, &cached->entry );
    cached_socket_count++;
    LeaveCriticalSection( &cs_cached_sockets );
    TRACE( "socket %#Ix: %lu bytes of records, %lu of context\n", s, cached->records_size, cached->context_size );
}

/* WSAIoctl: answer a synchronous query from the cache, as the server would
 * have; FALSE if the socket has no entry or the entry lacks this answer,
 * and then wfp_ioctl asks the server. */
BOOL wfp_query_cached( SOCKET s, DWORD code, void *out_buff, DWORD out_size, DWORD *ret_size,
                       OVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE completion, int *ret )
{
    const struct cached_socket *cached;
    struct rb_entry *entry;
    const BYTE *data;
    DWORD size, error;
    BOOL found = FALSE;

    if (overlapped || completion || !ReadNoFence( &cached_socket_count )) return FALSE;
    EnterCriticalSection( &cs_cached_sockets );
    if ((entry = rb_get( &cached_sockets, &s )))
    {
        cached = RB_ENTRY_VALUE( entry, const struct cached_socket, entry );
        if (code == SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS)
        {
            data = cached->data;
            size = cached->records_size;
        }
        else
        {
            data = cached->data + cached->records_size;
            size = cached->context_size;
        }
        if ((found = size != 0))
        {
            /* the same answers as the server path's: a buffer too small
             * gives the size it takes, a bad one does not */
            error = out_size < size ? WSAEFAULT : 0;
            if (!error && !wfp_copy( out_buff, data, size ))
            {
                error = WSAEFAULT;
                size = 0;
            }
            if (!wfp_copy( ret_size, &size, sizeof(size) )) error = WSAEFAULT;
        }
    }
    LeaveCriticalSection( &cs_cached_sockets );
    if (found)
    {
        SetLastError( error );
        *ret = error ? -1 : 0;
    }
    return found;
}
