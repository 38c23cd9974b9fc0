using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.History.Sqlite;

/// <summary>
/// Read-only access to the embedded feature history (<c>features.db</c> in the data directory), for services other
/// than features. Before the features service has created the file every series is empty.
/// </summary>
public class SqliteFeatureHistoryReader : IFeatureHistoryReader
{
    public const string FileName = "features.db";

    private readonly string _readOnly;

    public SqliteFeatureHistoryReader(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _readOnly = new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadOnly, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public string Path { get; }

    protected virtual SqliteConnection? OpenRead()
    {
        if (!File.Exists(Path)) return null;
        var connection = new SqliteConnection(_readOnly);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout=10000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    public Task<IReadOnlyList<FeatureRow>> GetAsync(FeatureHistoryQuery query, CancellationToken ct = default)
    {
        using var connection = OpenRead();
        if (connection is null) return Task.FromResult<IReadOnlyList<FeatureRow>>([]);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT time, feature_values FROM features
            WHERE feature_set = $set AND symbol = $symbol AND interval = $interval AND time >= $from AND time < $to
            ORDER BY time LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$set", query.Set);
        cmd.Parameters.AddWithValue("$symbol", query.Symbol);
        cmd.Parameters.AddWithValue("$interval", query.Interval.Name);
        cmd.Parameters.AddWithValue("$from", query.From?.UtcTicks ?? long.MinValue);
        cmd.Parameters.AddWithValue("$to", query.To?.UtcTicks ?? long.MaxValue);
        cmd.Parameters.AddWithValue("$limit", query.Limit is { } l ? Math.Max(0, l) : -1);
        using var reader = cmd.ExecuteReader();
        var rows = new List<FeatureRow>();
        while (reader.Read())
        {
            ct.ThrowIfCancellationRequested();
            rows.Add(new FeatureRow(new DateTimeOffset(reader.GetInt64(0), TimeSpan.Zero), FeatureBlob.Decode((byte[])reader.GetValue(1))));
        }
        return Task.FromResult<IReadOnlyList<FeatureRow>>(rows);
    }

    public Task<bool> ContainsAsync(string set, string symbol, BarInterval interval, DateTimeOffset time, CancellationToken ct = default)
    {
        using var connection = OpenRead();
        if (connection is null) return Task.FromResult(false);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM features WHERE feature_set = $set AND symbol = $symbol AND interval = $interval AND time = $time";
        cmd.Parameters.AddWithValue("$set", set);
        cmd.Parameters.AddWithValue("$symbol", symbol);
        cmd.Parameters.AddWithValue("$interval", interval.Name);
        cmd.Parameters.AddWithValue("$time", time.UtcTicks);
        return Task.FromResult(cmd.ExecuteScalar() is not null);
    }

    public Task<IReadOnlyList<FeatureSeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default)
    {
        using var connection = OpenRead();
        if (connection is null) return Task.FromResult<IReadOnlyList<FeatureSeriesCoverage>>([]);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT feature_set, symbol, interval, min(time), max(time), count(*) FROM features
            WHERE $symbol IS NULL OR symbol = $symbol GROUP BY feature_set, symbol, interval ORDER BY feature_set, symbol, interval
            """;
        cmd.Parameters.AddWithValue("$symbol", (object?)symbol ?? DBNull.Value);
        using var reader = cmd.ExecuteReader();
        var list = new List<FeatureSeriesCoverage>();
        while (reader.Read())
            list.Add(new FeatureSeriesCoverage(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero), new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero), reader.GetInt64(5)));
        return Task.FromResult<IReadOnlyList<FeatureSeriesCoverage>>(list);
    }
}

/// <summary>
/// The embedded feature history: <c>features.db</c> in the data directory (WAL), a file of its own so feature writes
/// never wait on marketdata's bar writes. Times are UTC ticks, vectors little-endian double BLOBs.
/// </summary>
public sealed class SqliteFeatureHistory : SqliteFeatureHistoryReader, IFeatureHistory
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS feature_sets (
            feature_set TEXT NOT NULL PRIMARY KEY,
            hash        TEXT NOT NULL,
            names       TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS features (
            feature_set    TEXT    NOT NULL,
            symbol         TEXT    NOT NULL,
            interval       TEXT    NOT NULL,
            time           INTEGER NOT NULL,
            feature_values BLOB    NOT NULL,
            PRIMARY KEY (feature_set, symbol, interval, time)
        );
        """;

    private const string InsertRow = """
        INSERT INTO features(feature_set, symbol, interval, time, feature_values) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (feature_set, symbol, interval, time) DO UPDATE SET feature_values = excluded.feature_values
        WHERE features.feature_values <> excluded.feature_values
        """;

    /// <summary>The page size of a new history file (a vector of a kilobyte or more per row); a file created with other pages keeps them.</summary>
    public const int PageSize = SqliteFile.LargeRowPageSize;

    private readonly Lazy<SqliteFile> _file;

    public SqliteFeatureHistory(string path) : base(path) =>
        _file = new Lazy<SqliteFile>(() => SqliteFile.Open(Path, Schema, pageSize: PageSize), LazyThreadSafetyMode.ExecutionAndPublication);

    public static SqliteFeatureHistory InDataDir(string dataDir) => new(System.IO.Path.Combine(dataDir, FileName));

    protected override SqliteConnection OpenRead() => _file.Value.OpenConnection();

    public Task InitializeAsync(CancellationToken ct = default)
    {
        _ = _file.Value;
        return Task.CompletedTask;
    }

    public Task WriteAsync(FeatureSet set, string symbol, BarInterval interval, IReadOnlyList<FeatureRow> rows, CancellationToken ct = default) =>
        WriteManyAsync([new FeatureSeriesRows(set, symbol, interval, rows)], ct);

    public Task WriteManyAsync(IReadOnlyList<FeatureSeriesRows> series, CancellationToken ct = default)
    {
        foreach (var s in series) s.Validate();
        if (series.All(s => s.Rows.Count == 0)) return Task.CompletedTask;

        using var connection = _file.Value.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using (var meta = connection.CreateCommand())
        {
            meta.Transaction = tx;
            meta.CommandText = """
                INSERT INTO feature_sets(feature_set, hash, names) VALUES ($set, $hash, $names)
                ON CONFLICT (feature_set) DO UPDATE SET hash = excluded.hash, names = excluded.names
                WHERE feature_sets.hash <> excluded.hash
                """;
            var setId = meta.Parameters.Add("$set", SqliteType.Text);
            var hash = meta.Parameters.Add("$hash", SqliteType.Text);
            var names = meta.Parameters.Add("$names", SqliteType.Text);
            foreach (var set in series.Where(s => s.Rows.Count > 0).Select(s => s.Set).DistinctBy(s => s.Id))
            {
                setId.Value = set.Id;
                hash.Value = set.Hash;
                names.Value = string.Join('\n', set.Features);
                meta.ExecuteNonQuery();
            }
        }
        // The row insert, prepared once per write and bound by position (SqliteStatement, as the event log's insert):
        // Microsoft.Data.Sqlite binds every parameter by name on every execution. A series' names stay bound for all its
        // rows; SQLite copies each row's values when it binds them.
        using var insert = new SqliteStatement(connection, InsertRow);
        foreach (var s in series)
        {
            insert.Text(1, s.Set.Id);
            insert.Text(2, s.Symbol);
            insert.Text(3, s.Interval.Name);
            foreach (var row in s.Rows)
            {
                ct.ThrowIfCancellationRequested();
                insert.Int64(4, row.Time.UtcTicks);
                insert.Blob(5, FeatureBlob.Bytes(row.Values));
                insert.Execute();
            }
        }
        tx.Commit();
        return Task.CompletedTask;
    }
}
