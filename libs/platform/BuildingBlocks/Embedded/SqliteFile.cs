using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>The data file could not be opened: corrupt, locked, not a database, or not writable. The message names the file.</summary>
public sealed class DataFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// When SQLite waits for the disk (<c>PRAGMA synchronous</c> in WAL mode). <see cref="Normal"/>: a committed write survives
/// a process kill, and the last commits before a power loss may be lost. <see cref="Full"/>: every commit is flushed to
/// the disk before it returns, so it survives a power loss too, at the cost of an fsync per commit.
/// </summary>
public enum SqliteSynchronous { Normal, Full }

/// <summary>
/// One SQLite database file of the embedded runtime, in WAL mode with <c>synchronous=NORMAL</c> unless opened with
/// <see cref="SqliteSynchronous.Full"/>: a committed write survives a process kill (power-loss durability is the
/// production store's job, or <c>Full</c>'s). Several processes may share the file; SQLite's locking serialises writers
/// and <c>busy_timeout</c> makes them wait their turn. A process opens a file with one setting.
/// </summary>
public sealed class SqliteFile
{
    private const string NormalPragmas = "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
    private const string FullPragmas = "PRAGMA busy_timeout=10000; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";

    /// <summary>
    /// WAL bytes after which a commit copies the WAL back into the file (SQLite's automatic checkpoint): SQLite's default
    /// of 1,000 pages of its default size, kept in bytes whatever the file's page size, so larger pages do not make each
    /// checkpoint (run inside a commit) longer.
    /// </summary>
    public const int AutoCheckpointBytes = 1000 * DefaultPageSize;

    private readonly string _connectionString;
    private readonly string _keptConnectionString;
    private string _pragmas;

    private SqliteFile(string path, SqliteSynchronous synchronous)
    {
        Path = path;
        Synchronous = synchronous;
        _pragmas = synchronous == SqliteSynchronous.Full ? FullPragmas : NormalPragmas;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _keptConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();
    }

    public string Path { get; }

    public SqliteSynchronous Synchronous { get; }

    /// <summary>The file's page size (the one it was created with).</summary>
    public int PageSize { get; private set; } = DefaultPageSize;

    /// <summary>SQLite's own page size, which a file created without <c>pageSize</c> gets.</summary>
    public const int DefaultPageSize = 4096;

    /// <summary>
    /// The page size for a file of kilobyte rows (events, feature vectors). 4 KiB pages hold two or three such rows, and
    /// every page costs a WAL write, a checkpoint copy and b-tree work: 16 KiB pages take about a quarter of them per row.
    /// </summary>
    public const int LargeRowPageSize = 16384;

    /// <summary>
    /// Opens (creating if needed) the file and applies <paramref name="schema"/>; fails with a message naming the file.
    /// <paramref name="pageSize"/> (a power of two from 512 to 65,536) is the page size a new file is created with; a file
    /// that exists keeps the one it was created with.
    /// </summary>
    public static SqliteFile Open(string path, string schema, SqliteSynchronous synchronous = SqliteSynchronous.Normal, int pageSize = DefaultPageSize)
    {
        if (pageSize is < 512 or > 65536 || (pageSize & (pageSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "A SQLite page size is a power of two from 512 to 65,536.");
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException($"Cannot create the data directory for '{full}': {ex.Message}", ex);
        }

        var file = new SqliteFile(full, synchronous);
        try
        {
            using var connection = file.OpenConnection();
            // Only an empty file takes a page size, and only before it switches to WAL (SQLite ignores it otherwise).
            if (pageSize != DefaultPageSize)
            {
                using var page = connection.CreateCommand();
                page.CommandText = $"PRAGMA page_size={pageSize};";
                page.ExecuteNonQuery();
            }
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
            using var size = connection.CreateCommand();
            size.CommandText = "PRAGMA page_size;";
            file.PageSize = (int)(long)size.ExecuteScalar()!;
            if (file.PageSize != DefaultPageSize) file._pragmas += $" PRAGMA wal_autocheckpoint={AutoCheckpointBytes / file.PageSize};";
        }
        catch (SqliteException ex)
        {
            throw Describe(full, ex);
        }
        return file;
    }

    /// <summary>
    /// The pragmas applied to each native connection (a pooled connection keeps them between opens; the pool is shared by
    /// every <see cref="SqliteFile"/> of a path, so a connection last set up with another setting is set up again).
    /// </summary>
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, string> Configured = new();

    public SqliteConnection OpenConnection() => Open(_connectionString);

    /// <summary>
    /// Brings a file created by an earlier version up to this one: runs <paramref name="steps"/> in one write transaction
    /// when <paramref name="needed"/> (a query answering 1 or 0) answers 1. The question is asked under the write lock, so
    /// two processes opening the file at once migrate it once. Returns the file, for use as it is opened.
    /// </summary>
    public SqliteFile Migrate(string needed, params string[] steps)
    {
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var ask = connection.CreateCommand();
        ask.Transaction = tx;
        ask.CommandText = needed;
        if (Convert.ToInt64(ask.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1)
            foreach (var sql in steps)
            {
                using var step = connection.CreateCommand();
                step.Transaction = tx;
                step.CommandText = sql;
                step.ExecuteNonQuery();
            }
        tx.Commit();
        return this;
    }

    /// <summary>
    /// A connection its caller keeps open for many operations and drives through SQLite's own API (statements it prepares
    /// and transactions it begins itself). It is not pooled: closing it closes the native connection, which rolls back
    /// whatever it left open, so no transaction its owner began can reach another user of the pool.
    /// </summary>
    public SqliteConnection OpenKeptConnection() => Open(_keptConnectionString);

    private SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            // Connection-level settings last as long as the native connection: set them when the pool hands out a new one.
            if (connection.Handle is not { } handle || !Configured.TryGetValue(handle, out var applied) || !ReferenceEquals(applied, _pragmas))
            {
                using var pragmas = connection.CreateCommand();
                pragmas.CommandText = _pragmas;
                pragmas.ExecuteNonQuery();
                if (connection.Handle is { } opened) Configured.AddOrUpdate(opened, _pragmas);
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
