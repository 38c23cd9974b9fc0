using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// One statement prepared once on a kept connection and run many times through SQLite's own API (SQLitePCLRaw, which
/// Microsoft.Data.Sqlite runs on): parameters bound by position, stepped, reset. Microsoft.Data.Sqlite allocates a
/// command, its parameters and a reader per call and binds by name; this binds in place and allocates nothing itself.
/// A statement is used by one thread at a time, as its connection is.
/// </summary>
public sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v2(_db, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Text(int index, string? value)
    {
        if (value is null) raw.sqlite3_bind_null(_statement, index);
        else raw.sqlite3_bind_text(_statement, index, value);
    }

    /// <summary>Binds UTF-16 text from a span (SQLite copies it), so a key composed on the stack needs no string.</summary>
    public void Text(int index, ReadOnlySpan<char> value) => raw.sqlite3_bind_text16(_statement, index, value);

    /// <summary>Binds UTF-8 text from a span (SQLite copies it), such as a value formatted on the stack.</summary>
    public void Text(int index, ReadOnlySpan<byte> utf8) => raw.sqlite3_bind_text(_statement, index, utf8);

    /// <summary>Binds a blob (SQLite copies it); an empty one stays an empty blob, not NULL.</summary>
    public void Blob(int index, ReadOnlySpan<byte> value) => raw.sqlite3_bind_blob(_statement, index, value);

    public void Int64(int index, long value) => raw.sqlite3_bind_int64(_statement, index, value);

    public void Null(int index) => raw.sqlite3_bind_null(_statement, index);

    /// <summary>Steps once: true with a row to read, false when done. Call <see cref="Reset"/> when finished with the rows.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW) return true;
        if (rc == raw.SQLITE_DONE) return false;
        raw.sqlite3_reset(_statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return false;
    }

    /// <summary>Runs a statement that returns no rows and resets it; the number of rows it changed.</summary>
    public int Execute()
    {
        try
        {
            Step();
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Ends the current run (bindings stay, so a parameter bound the same every time is bound once).</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    public long ColumnInt64(int index) => raw.sqlite3_column_int64(_statement, index);

    public bool ColumnIsNull(int index) => raw.sqlite3_column_type(_statement, index) == raw.SQLITE_NULL;

    /// <summary>The column's bytes, valid until the next step or reset.</summary>
    public ReadOnlySpan<byte> ColumnBlob(int index) => raw.sqlite3_column_blob(_statement, index);

    public string ColumnText(int index) => raw.sqlite3_column_text(_statement, index).utf8_to_string();

    public void Dispose() => _statement.Dispose();
}
