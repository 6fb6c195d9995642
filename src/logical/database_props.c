#include "logical/database_props.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "pg/connection.h"

int pgb_database_props_read(pgb_ctx *ctx, PGconn *conn, const char *name, json_t **out)
{
    *out = NULL;
    int version = PQserverVersion(conn);
    /* Column names moved between versions: datlocprovider (15), daticulocale (15-16), datlocale (17), daticurules (16). */
    char *sql = pgb_text_printf(
        "SELECT json_build_object("
        " 'name', d.datname, 'encoding', pg_encoding_to_char(d.encoding), 'collate', d.datcollate,"
        " 'ctype', d.datctype, 'locale_provider', %s, 'locale', %s, 'icu_rules', %s,"
        " 'owner', pg_get_userbyid(d.datdba), 'acl', d.datacl::text,"
        " 'comment', shobj_description(d.oid, 'pg_database'), 'connection_limit', d.datconnlimit,"
        " 'tablespace', t.spcname,"
        " 'settings', (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0),"
        " 'role_settings', (SELECT json_agg(json_build_object('role', pg_get_userbyid(s.setrole),"
        "   'settings', s.setconfig) ORDER BY s.setrole) FROM pg_db_role_setting s"
        "   WHERE s.setdatabase = d.oid AND s.setrole <> 0))::text"
        " FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1",
        version >= 150000 ? "d.datlocprovider::text" : "'c'",
        version >= 170000 ? "d.datlocale" : version >= 150000 ? "d.daticulocale" : "NULL::text",
        version >= 160000 ? "d.daticurules" : "NULL::text");
    if (!sql)
        return pgb_error_nomem(ctx);
    PGresult *res = NULL;
    const char *values[] = {name};
    int rc = pgb_pg_query_params(ctx, conn, sql, 1, values, &res);
    free(sql);
    if (rc == PGB_OK && PQntuples(res) != 1)
        rc = pgb_error_set(ctx, PGB_ENOTFOUND, "database %s does not exist on the server", name);
    if (rc == PGB_OK) {
        json_error_t error;
        *out = json_loads(PQgetvalue(res, 0, 0), 0, &error);
        if (!*out)
            rc = pgb_error_set(ctx, PGB_ERROR, "cannot read the properties of database %s: %s", name, error.text);
    }
    PQclear(res);
    return rc;
}

/* dumputils.c variable_is_guc_list_quote: list settings whose elements the server quoted itself. */
static int is_list_setting(const char *name)
{
    static const char *const names[] = {"local_preload_libraries", "search_path", "session_preload_libraries",
                                        "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories",
                                        NULL};
    for (size_t i = 0; names[i]; i++)
        if (pgb_text_equal_nocase(names[i], name))
            return 1;
    return 0;
}

/* Append a literal to *out (realloc'd); 0 or -1. */
static int append_literal(PGconn *conn, char **out, const char *value, int comma)
{
    char *literal = PQescapeLiteral(conn, value, strlen(value));
    if (!literal)
        return -1;
    char *joined = pgb_text_printf("%s%s%s", *out, comma ? ", " : "", literal);
    PQfreemem(literal);
    if (!joined)
        return -1;
    free(*out);
    *out = joined;
    return 0;
}

/* fe_utils SplitGUCList, appending each element as a literal; 0, -1 out of memory, 1 bad syntax. */
static int append_list(PGconn *conn, char **out, char *raw)
{
    char *next = raw;
    while (isspace((unsigned char)*next))
        next++;
    int count = 0;
    while (*next) {
        char *name, *end;
        if (*next == '"') {
            name = next + 1;
            for (;;) {
                end = strchr(next + 1, '"');
                if (!end)
                    return 1;
                if (end[1] != '"')
                    break;
                memmove(end, end + 1, strlen(end)); /* "" is one quote */
                next = end;
            }
            next = end + 1;
        } else {
            name = next;
            while (*next && *next != ',' && !isspace((unsigned char)*next))
                next++;
            end = next;
            if (name == next)
                return 1;
        }
        while (isspace((unsigned char)*next))
            next++;
        int more = *next == ',';
        if (more) {
            next++;
            while (isspace((unsigned char)*next))
                next++;
        } else if (*next) {
            return 1;
        }
        *end = '\0';
        if (append_literal(conn, out, name, count++ > 0) != 0)
            return -1;
        if (!more)
            break;
    }
    return 0;
}

char *pgb_setting_clause(PGconn *conn, const char *item)
{
    char *copy = pgb_text_dup(item);
    if (!copy)
        return NULL;
    char *value = strchr(copy, '=');
    char *out = NULL;
    if (value) {
        *value++ = '\0';
        char *name = PQescapeIdentifier(conn, copy, strlen(copy));
        out = name ? pgb_text_printf("%s TO ", name) : NULL;
        PQfreemem(name);
        int failed = !out;
        if (!failed && is_list_setting(copy)) {
            char *raw = pgb_text_dup(value), *saved = pgb_text_dup(out);
            int split = raw && saved ? append_list(conn, &out, raw) : -1;
            if (split == 1) { /* not a list after all: the whole value, as pg_dump would have failed to */
                free(out);
                out = saved;
                saved = NULL;
                failed = append_literal(conn, &out, value, 0) != 0;
            } else {
                failed = split != 0;
            }
            free(raw);
            free(saved);
        } else if (!failed) {
            failed = append_literal(conn, &out, value, 0) != 0;
        }
        if (failed) {
            free(out);
            out = NULL;
        }
    }
    free(copy);
    return out;
}

void pgb_statements_free(char **statements)
{
    for (size_t i = 0; statements && statements[i]; i++)
        free(statements[i]);
    free(statements);
}

struct statement_list {
    char **items;
    size_t count;
    int failed;
};

static void add(struct statement_list *l, char *statement)
{
    char **grown = statement ? realloc(l->items, (l->count + 2) * sizeof(*grown)) : NULL;
    if (!grown) {
        free(statement);
        l->failed = 1;
        return;
    }
    l->items = grown;
    l->items[l->count++] = statement;
    l->items[l->count] = NULL;
}

static const char *text_of(json_t *props, const char *key)
{
    return json_string_value(json_object_get(props, key));
}

static int role_exists(pgb_ctx *ctx, PGconn *conn, const char *role, int *exists)
{
    PGresult *res = NULL;
    const char *values[] = {role};
    int rc = pgb_pg_query_params(ctx, conn, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, values, &res);
    *exists = rc == PGB_OK && PQntuples(res) == 1;
    PQclear(res);
    return rc;
}

/* GRANT statements for the recorded ACL, read back by the target server itself (aclexplode). */
static int add_grants(pgb_ctx *ctx, PGconn *conn, const char *acl, const char *database, const char *owner,
                      struct statement_list *l)
{
    PGresult *res = NULL;
    const char *values[] = {acl};
    int rc = pgb_pg_query_params(ctx, conn,
                                 "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid("
                                 "a.grantee)) END, a.privilege_type, a.is_grantable FROM aclexplode($1::aclitem[]) a",
                                 1, values, &res);
    if (rc != PGB_OK) {
        pgb_error_prefix(ctx, "the grants recorded for database %s name a role missing here (restore the globals "
                         "first)", database);
        return rc;
    }
    /* From nothing: the defaults (PUBLIC may connect) would otherwise stay beside the recorded grants. */
    add(l, pgb_text_printf("REVOKE ALL ON DATABASE %s FROM PUBLIC", database));
    add(l, pgb_text_printf("REVOKE ALL ON DATABASE %s FROM %s", database, owner));
    for (int i = 0; i < PQntuples(res); i++)
        add(l, pgb_text_printf("GRANT %s ON DATABASE %s TO %s%s", PQgetvalue(res, i, 1), database,
                               PQgetvalue(res, i, 0),
                               strcmp(PQgetvalue(res, i, 2), "t") == 0 ? " WITH GRANT OPTION" : ""));
    PQclear(res);
    return PGB_OK;
}

static char *quote_ident(PGconn *conn, const char *name)
{
    return name ? PQescapeIdentifier(conn, name, strlen(name)) : NULL;
}

static char *quote_literal(PGconn *conn, const char *value)
{
    return value ? PQescapeLiteral(conn, value, strlen(value)) : NULL;
}

/* CREATE DATABASE with the recorded encoding, locale, tablespace and limit, from template0 as pg_dump -C does. */
static char *create_statement(PGconn *conn, json_t *props, const char *database, const char *owner)
{
    const char *provider = text_of(props, "locale_provider");
    char *encoding = quote_literal(conn, text_of(props, "encoding"));
    char *collate = quote_literal(conn, text_of(props, "collate"));
    char *ctype = quote_literal(conn, text_of(props, "ctype"));
    char *locale = quote_literal(conn, text_of(props, "locale"));
    char *rules = quote_literal(conn, text_of(props, "icu_rules"));
    const char *space = text_of(props, "tablespace");
    char *tablespace = space && strcmp(space, "pg_default") != 0 ? quote_ident(conn, space) : NULL;
    char limit[48] = "";
    json_int_t connections = json_integer_value(json_object_get(props, "connection_limit"));
    if (connections >= 0 && json_is_integer(json_object_get(props, "connection_limit")))
        snprintf(limit, sizeof(limit), " CONNECTION LIMIT = %lld", (long long)connections);
    const char *provider_name = !provider || strcmp(provider, "c") == 0 ? NULL
                                : strcmp(provider, "i") == 0     ? "icu"
                                : strcmp(provider, "b") == 0     ? "builtin"
                                                                 : NULL;
    int modern = PQserverVersion(conn) >= 150000;
    char *statement = NULL;
    if (encoding && collate && ctype)
        statement = pgb_text_printf(
            "CREATE DATABASE %s WITH TEMPLATE = template0 ENCODING = %s%s%s LC_COLLATE = %s LC_CTYPE = %s%s%s%s%s%s%s"
            "%s OWNER = %s",
            database, encoding, modern ? " LOCALE_PROVIDER = " : "", modern ? (provider_name ? provider_name : "libc") : "",
            collate, ctype, provider_name && locale ? (strcmp(provider_name, "icu") == 0 ? " ICU_LOCALE = " : " BUILTIN_LOCALE = ") : "",
            provider_name && locale ? locale : "", rules ? " ICU_RULES = " : "", rules ? rules : "",
            tablespace ? " TABLESPACE = " : "", tablespace ? tablespace : "", limit, owner);
    PQfreemem(encoding);
    PQfreemem(collate);
    PQfreemem(ctype);
    PQfreemem(locale);
    PQfreemem(rules);
    PQfreemem(tablespace);
    return statement;
}

static void add_settings(PGconn *conn, json_t *settings, const char *prefix, struct statement_list *l)
{
    size_t i;
    json_t *item;
    json_array_foreach(settings, i, item)
    {
        char *clause = json_is_string(item) ? pgb_setting_clause(conn, json_string_value(item)) : NULL;
        add(l, clause ? pgb_text_printf("%s SET %s", prefix, clause) : NULL);
        free(clause);
    }
}

int pgb_database_props_sql(pgb_ctx *ctx, PGconn *conn, json_t *props, const char *target, char ***statements)
{
    *statements = NULL;
    const char *owner_name = text_of(props, "owner");
    int exists = 0;
    int rc = owner_name ? role_exists(ctx, conn, owner_name, &exists)
                        : pgb_error_set(ctx, PGB_ECORRUPT, "the recorded properties of the database name no owner");
    if (rc == PGB_OK && !exists)
        rc = pgb_error_set(ctx, PGB_ENOTFOUND, "role %s, owner of the database, does not exist on the target server: "
                           "restore the globals first (restore --type globals)", owner_name);
    json_t *role_settings = json_object_get(props, "role_settings");
    size_t i;
    json_t *entry;
    json_array_foreach(role_settings, i, entry)
    {
        const char *role = text_of(entry, "role");
        if (rc == PGB_OK && role && (rc = role_exists(ctx, conn, role, &exists)) == PGB_OK && !exists)
            rc = pgb_error_set(ctx, PGB_ENOTFOUND, "role %s, which has settings in the database, does not exist on "
                               "the target server: restore the globals first (restore --type globals)", role);
    }
    if (rc != PGB_OK)
        return rc;
    struct statement_list l = {0};
    char *database = quote_ident(conn, target), *owner = quote_ident(conn, owner_name);
    char *comment = quote_literal(conn, text_of(props, "comment"));
    if (!database || !owner)
        l.failed = 1;
    if (!l.failed)
        add(&l, create_statement(conn, props, database, owner));
    if (!l.failed && comment)
        add(&l, pgb_text_printf("COMMENT ON DATABASE %s IS %s", database, comment));
    const char *acl = text_of(props, "acl");
    if (!l.failed && acl)
        rc = add_grants(ctx, conn, acl, database, owner, &l);
    if (!l.failed && rc == PGB_OK) {
        char *prefix = pgb_text_printf("ALTER DATABASE %s", database);
        if (prefix)
            add_settings(conn, json_object_get(props, "settings"), prefix, &l);
        else
            l.failed = 1;
        free(prefix);
        json_array_foreach(role_settings, i, entry)
        {
            char *role = quote_ident(conn, text_of(entry, "role"));
            char *role_prefix = role ? pgb_text_printf("ALTER ROLE %s IN DATABASE %s", role, database) : NULL;
            if (!role_prefix)
                l.failed = 1;
            else
                add_settings(conn, json_object_get(entry, "settings"), role_prefix, &l);
            PQfreemem(role);
            free(role_prefix);
        }
    }
    PQfreemem(database);
    PQfreemem(owner);
    PQfreemem(comment);
    if (rc == PGB_OK && l.failed)
        rc = pgb_error_nomem(ctx);
    if (rc != PGB_OK) {
        pgb_statements_free(l.items);
        return rc;
    }
    *statements = l.items;
    return PGB_OK;
}
