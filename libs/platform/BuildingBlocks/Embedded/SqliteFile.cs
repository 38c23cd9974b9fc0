using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>The data file could not be opened: corrupt, locked, not a database, or not writable. The message names the file.</summary>
public sealed class DataFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One SQLite database file of the embedded runtime, in WAL mode with <c>synchronous=NORMAL</c>: a committed
/// write survives a process kill (power-loss durability is the production store's job). Several processes may
/// share the file; SQLite's locking serialises writers and <c>busy_timeout</c> makes them wait their turn.
/// </summary>
public sealed class SqliteFile
{
    private readonly string _connectionString;

    private SqliteFile(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens (creating if needed) the file and applies <paramref name="schema"/>; fails with a message naming the file.</summary>
    public static SqliteFile Open(string path, string schema)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException($"Cannot create the data directory for '{full}': {ex.Message}", ex);
        }

        var file = new SqliteFile(full);
        try
        {
            using var connection = file.OpenConnection();
            using (var wal = connection.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode=WAL;";
                var mode = wal.ExecuteScalar() as string;
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                    throw new DataFileException($"Data file '{full}' could not be switched to WAL mode (got '{mode}').");
            }
            using var create = connection.CreateCommand();
            create.CommandText = schema;
            create.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            throw Describe(full, ex);
        }
        return file;
    }

    /// <summary>Native connections that have had their pragmas applied (a pooled connection keeps them between opens).</summary>
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    private static readonly object Applied = new();

    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            // Connection-level settings last as long as the native connection: set them when the pool hands out a new one.
            if (connection.Handle is not { } handle || !Configured.TryGetValue(handle, out _))
            {
                using var pragmas = connection.CreateCommand();
                pragmas.CommandText = "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
                pragmas.ExecuteNonQuery();
                if (connection.Handle is { } opened) Configured.AddOrUpdate(opened, Applied);
            }
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw Describe(Path, ex);
        }
    }

    private static DataFileException Describe(string path, SqliteException ex) => ex.SqliteErrorCode switch
    {
        26 => new DataFileException($"Data file '{path}' is not a SQLite database or is corrupt (SQLITE_NOTADB). Move it aside or point --data-dir elsewhere.", ex),
        11 => new DataFileException($"Data file '{path}' is corrupt (SQLITE_CORRUPT): {ex.Message}", ex),
        5 or 6 => new DataFileException($"Data file '{path}' is locked by another process (SQLITE_BUSY/LOCKED): {ex.Message}", ex),
        8 or 14 or 23 => new DataFileException($"Data file '{path}' cannot be opened for writing: {ex.Message}", ex),
        _ => new DataFileException($"Data file '{path}': {ex.Message}", ex),
    };
}
