/*
 * wfprules: add, list and remove wine-wfp's redirection rules
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
 * Rules and netfilter services are string values under
 * HKEY_LOCAL_MACHINE\Software\Wine\WFP\Rules and ...\Services of the
 * prefix; the wineserver reads them again whenever they change, so a rule
 * takes effect at the next connect().  This tool checks them with the
 * wineserver's own parser before it writes them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "wfp_rules.h"

static const char rules_key[] = "Software\\Wine\\WFP\\Rules";
static const char services_key[] = "Software\\Wine\\WFP\\Services";

static int usage( void )
{
    fprintf( stderr,
        "usage: wfprules add NAME tcp|udp DESTINATION -> ADDRESS:PORT [service=N] [target=IMAGE|target=pid:N] [context=default|none]\n"
        "       wfprules remove NAME\n"
        "       wfprules list\n"
        "       wfprules check RULE...\n"
        "       wfprules service add NAME port=PORT mark=MARK\n"
        "       wfprules service remove NAME\n"
        "       wfprules service list\n"
        "\n"
        "DESTINATION is ADDRESS[/PREFIX][:PORT[-PORT]], [IPV6[/PREFIX]][:PORT[-PORT]] or *[:PORT].\n"
        "Matching connect()s of Wine processes go to ADDRESS:PORT, where the proxy listens.\n" );
    return 2;
}

static void join( char *buffer, size_t size, int argc, char **argv )
{
    int i;

    buffer[0] = 0;
    for (i = 0; i < argc; i++)
    {
        if (i) strncat( buffer, " ", size - strlen( buffer ) - 1 );
        strncat( buffer, argv[i], size - strlen( buffer ) - 1 );
    }
}

static HKEY open_key( const char *path, BOOL create )
{
    HKEY key;
    LONG ret;

    if (create)
        ret = RegCreateKeyExA( HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &key, NULL );
    else
        ret = RegOpenKeyExA( HKEY_LOCAL_MACHINE, path, 0, KEY_ALL_ACCESS | KEY_WOW64_64KEY, &key );
    if (ret) return NULL;
    return key;
}

static int set_value( const char *path, const char *name, const char *text )
{
    HKEY key = open_key( path, TRUE );
    DWORD count;
    LONG ret;

    if (!key)
    {
        fprintf( stderr, "wfprules: cannot create HKLM\\%s\n", path );
        return 1;
    }
    /* the wineserver reads no more than WFP_MAX_RULES of each: a new one
     * beyond that would silently do nothing */
    if (RegQueryValueExA( key, name, NULL, NULL, NULL, NULL ) &&
        !RegQueryInfoKeyA( key, NULL, NULL, NULL, NULL, NULL, NULL, &count, NULL, NULL, NULL, NULL ) &&
        count >= WFP_MAX_RULES)
    {
        RegCloseKey( key );
        fprintf( stderr, "wfprules: there are already %lu %s, the most the wineserver reads; remove one first\n",
                 count, path == rules_key ? "rules" : "services" );
        return 1;
    }
    ret = RegSetValueExA( key, name, 0, REG_SZ, (const BYTE *)text, strlen( text ) + 1 );
    RegCloseKey( key );
    if (ret)
    {
        fprintf( stderr, "wfprules: cannot write %s: error %ld\n", name, ret );
        return 1;
    }
    return 0;
}

static int remove_value( const char *path, const char *name )
{
    HKEY key = open_key( path, FALSE );
    LONG ret = key ? RegDeleteValueA( key, name ) : ERROR_FILE_NOT_FOUND;

    if (key) RegCloseKey( key );
    if (ret)
    {
        fprintf( stderr, "wfprules: there is no %s named %s\n", path == rules_key ? "rule" : "service", name );
        return 1;
    }
    return 0;
}

static int list_values( const char *path )
{
    char name[256], data[WFP_RULE_MAX_TEXT];
    HKEY key = open_key( path, FALSE );
    DWORD i, name_len, data_len, type;

    if (!key) return 0;
    for (i = 0; ; i++)
    {
        name_len = sizeof(name);
        data_len = sizeof(data) - 1;
        if (RegEnumValueA( key, i, name, &name_len, NULL, &type, (BYTE *)data, &data_len )) break;
        data[data_len] = 0;
        printf( "%-20s %s%s\n", name, data, type == REG_SZ ? "" : "   (not a string: ignored)" );
    }
    RegCloseKey( key );
    return 0;
}

static int service_command( int argc, char **argv )
{
    struct wfp_service service;
    char text[128], error[256];

    if (argc >= 1 && !strcmp( argv[0], "list" )) return list_values( services_key );
    if (argc == 2 && !strcmp( argv[0], "remove" )) return remove_value( services_key, argv[1] );
    if (argc >= 3 && !strcmp( argv[0], "add" ))
    {
        join( text, sizeof(text), argc - 2, argv + 2 );
        if (!wfp_service_parse( text, &service, error, sizeof(error) ))
        {
            fprintf( stderr, "wfprules: invalid service: %s\n", error );
            return 1;
        }
        snprintf( text, sizeof(text), "port=%u mark=%#x", service.port, service.mark );
        if (set_value( services_key, argv[1], text )) return 1;
        printf( "service %s: %s\n", argv[1], text );
        return 0;
    }
    return usage();
}

int main( int argc, char **argv )
{
    char text[WFP_RULE_MAX_TEXT], canonical[WFP_RULE_MAX_TEXT], error[256];
    struct wfp_rule rule;

    if (argc < 2) return usage();
    if (!strcmp( argv[1], "list" )) return list_values( rules_key );
    if (!strcmp( argv[1], "service" )) return service_command( argc - 2, argv + 2 );
    if (!strcmp( argv[1], "remove" ) && argc == 3) return remove_value( rules_key, argv[2] );
    if ((!strcmp( argv[1], "add" ) && argc >= 4) || (!strcmp( argv[1], "check" ) && argc >= 3))
    {
        int add = !strcmp( argv[1], "add" );
        const char *rule_name = add ? argv[2] : "check";

        join( text, sizeof(text), argc - (add ? 3 : 2), argv + (add ? 3 : 2) );
        if (!wfp_rule_parse( rule_name, text, &rule, error, sizeof(error) ))
        {
            fprintf( stderr, "wfprules: invalid rule: %s\n", error );
            return 1;
        }
        wfp_rule_format( &rule, canonical, sizeof(canonical) );
        if (add && set_value( rules_key, rule_name, canonical )) return 1;
        printf( "%s %s: %s\n", add ? "rule" : "valid:", add ? rule_name : "", canonical );
        return 0;
    }
    return usage();
}
