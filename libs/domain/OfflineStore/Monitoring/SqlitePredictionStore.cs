using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;

namespace Platform.OfflineStore.Monitoring;

/// <summary>
/// The embedded monitoring tables: <c>monitoring.db</c> in the data directory (monitoring is their only writer, so
/// they live in their own file and never wait on marketdata's bar writes). Times are UTC ticks.
/// </summary>
public sealed class SqlitePredictionStore : IPredictionStore
{
    public const string FileName = "monitoring.db";

    public const string Schema = SqlitePredictionSql.Schema;

    private readonly Lazy<SqliteFile> _file;

    public SqlitePredictionStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        // Every file, new or from before the flag, gets predictions.joined and the index of pending predictions this way.
        _file = new Lazy<SqliteFile>(() => SqliteFile.Open(Path, Schema).Migrate(SqlitePredictionSql.MigrateJoinedNeeded,
            SqlitePredictionSql.MigrateAddJoinedColumn, SqlitePredictionSql.MigratePendingIndex), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Path { get; }

    public static SqlitePredictionStore InDataDir(string dataDir) => new(System.IO.Path.Combine(dataDir, FileName));

    private static long T(DateTimeOffset t) => t.UtcTicks;

    // Untyped: the value's own type is bound (a typed Text parameter would store numbers as text).
    private static SqliteParameter Param(SqliteCommand cmd, string name) => cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
    private static DateTimeOffset T(long ticks) => new(ticks, TimeSpan.Zero);

    public Task InitializeAsync(CancellationToken ct = default)
    {
        _ = _file.Value;
        return Task.CompletedTask;
    }

    public Task<int> AddPredictionsAsync(IReadOnlyList<PredictionRecord> predictions, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = SqlitePredictionSql.InsertPrediction;
        var p = new[] { "$id", "$model", "$version", "$symbol", "$interval", "$time", "$horizon", "$target", "$value", "$received" }
            .Select(n => Param(cmd, n)).ToArray();
        var added = 0;
        foreach (var r in predictions)
        {
            ct.ThrowIfCancellationRequested();
            p[0].Value = r.RequestId; p[1].Value = r.Model; p[2].Value = r.Version; p[3].Value = r.Symbol; p[4].Value = r.Interval;
            p[5].Value = T(r.Time); p[6].Value = r.Horizon; p[7].Value = r.Target; p[8].Value = r.Value; p[9].Value = T(r.ReceivedAt);
            added += cmd.ExecuteNonQuery();
        }
        tx.Commit();
        return Task.FromResult(added);
    }

    public Task<IReadOnlyList<PredictionRecord>> GetPendingAsync(string symbol, string interval, DateTimeOffset before, int limit,
        (DateTimeOffset Time, string RequestId)? after = null, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqlitePredictionSql.Pending;
        cmd.Parameters.AddWithValue("$symbol", symbol);
        cmd.Parameters.AddWithValue("$interval", interval);
        cmd.Parameters.AddWithValue("$before", T(before));
        cmd.Parameters.AddWithValue("$limit", limit);
        // Without a cursor, before every row: no time is below the smallest tick count, and every request id is above ''.
        cmd.Parameters.AddWithValue("$afterTime", after is { } a ? T(a.Time) : long.MinValue);
        cmd.Parameters.AddWithValue("$afterId", after?.RequestId ?? "");
        using var reader = cmd.ExecuteReader();
        var list = new List<PredictionRecord>();
        while (reader.Read()) list.Add(ReadPrediction(reader));
        return Task.FromResult<IReadOnlyList<PredictionRecord>>(list);
    }

    public Task<int> AddOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = SqlitePredictionSql.InsertOutcome;
        var p = new[] { "$id", "$realised", "$last", "$trailing", "$known", "$joined" }.Select(n => Param(cmd, n)).ToArray();
        using var mark = connection.CreateCommand();
        mark.Transaction = tx;
        mark.CommandText = SqlitePredictionSql.MarkJoined;
        var markId = Param(mark, "$id");
        var added = 0;
        foreach (var o in outcomes)
        {
            ct.ThrowIfCancellationRequested();
            p[0].Value = o.RequestId; p[1].Value = o.Realised; p[2].Value = Nan(o.Last); p[3].Value = Nan(o.Trailing);
            p[4].Value = T(o.KnownAt); p[5].Value = T(o.JoinedAt);
            if (cmd.ExecuteNonQuery() == 0) continue;
            added++;
            markId.Value = o.RequestId;
            mark.ExecuteNonQuery();
        }
        tx.Commit();
        return Task.FromResult(added);
    }

    // SQLite stores NaN as NULL; the columns are NOT NULL, so an undefined baseline is kept as NaN through a sentinel-free text.
    private static object Nan(double v) => double.IsNaN(v) ? "NaN" : v;

    private static double ReadNan(SqliteDataReader r, int i) => r.GetFieldType(i) == typeof(string) ? double.NaN : r.GetDouble(i);

    private static PredictionRecord ReadPrediction(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), T(r.GetInt64(5)), r.GetInt32(6), r.GetString(7),
        r.GetDouble(8), T(r.GetInt64(9)));

    public Task<IReadOnlyList<PredictionWithOutcome>> QueryAsync(PredictionQuery query, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = query.JoinedOnly ? SqlitePredictionSql.QueryJoined : SqlitePredictionSql.Query;
        cmd.Parameters.AddWithValue("$model", query.Model);
        cmd.Parameters.AddWithValue("$version", (object?)query.Version ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$from", query.From is { } f ? T(f) : long.MinValue);
        cmd.Parameters.AddWithValue("$to", query.To is { } t ? T(t) : long.MaxValue);
        cmd.Parameters.AddWithValue("$beforeTime", query.Before is { } b ? T(b.Time) : DBNull.Value);
        cmd.Parameters.AddWithValue("$beforeId", query.Before is { } b2 ? b2.RequestId : DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", Math.Max(0, query.Limit));
        using var reader = cmd.ExecuteReader();
        var list = new List<PredictionWithOutcome>();
        while (reader.Read())
        {
            var p = ReadPrediction(reader);
            var o = reader.IsDBNull(10) ? null : new OutcomeRecord(p.RequestId, reader.GetDouble(10), ReadNan(reader, 11), ReadNan(reader, 12),
                T(reader.GetInt64(13)), T(reader.GetInt64(14)));
            list.Add(new PredictionWithOutcome(p, o));
        }
        return Task.FromResult<IReadOnlyList<PredictionWithOutcome>>(list);
    }

    public Task<(long Predictions, long Outcomes)> CountAsync(string? model = null, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = model is null ? SqlitePredictionSql.CountAll : SqlitePredictionSql.CountOfModel;
        if (model is not null) cmd.Parameters.AddWithValue("$model", model);
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return Task.FromResult((reader.GetInt64(0), reader.GetInt64(1)));
    }

    public Task RecordRejectedAsync(RejectedPrediction rejected, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqlitePredictionSql.InsertRejected;
        cmd.Parameters.AddWithValue("$id", rejected.EventId);
        cmd.Parameters.AddWithValue("$reason", rejected.Reason);
        cmd.Parameters.AddWithValue("$payload", rejected.Payload);
        cmd.Parameters.AddWithValue("$at", T(rejected.RejectedAt));
        cmd.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RejectedPrediction>> GetRejectedAsync(int limit, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqlitePredictionSql.Rejected;
        cmd.Parameters.AddWithValue("$limit", limit);
        using var reader = cmd.ExecuteReader();
        var list = new List<RejectedPrediction>();
        while (reader.Read()) list.Add(new(reader.GetString(0), reader.GetString(1), reader.GetString(2), T(reader.GetInt64(3))));
        return Task.FromResult<IReadOnlyList<RejectedPrediction>>(list);
    }

    public Task<bool> AddDriftAsync(DriftRecord drift, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqlitePredictionSql.InsertDrift;
        cmd.Parameters.AddWithValue("$id", drift.EventId);
        cmd.Parameters.AddWithValue("$model", drift.Model);
        cmd.Parameters.AddWithValue("$version", drift.Version);
        cmd.Parameters.AddWithValue("$start", T(drift.WindowStart));
        cmd.Parameters.AddWithValue("$end", T(drift.WindowEnd));
        cmd.Parameters.AddWithValue("$size", drift.WindowSize);
        cmd.Parameters.AddWithValue("$evidence", JsonSerializer.Serialize(drift.Evidence, MonitoringJson.Options));
        cmd.Parameters.AddWithValue("$at", T(drift.DetectedAt));
        return Task.FromResult(cmd.ExecuteNonQuery() == 1);
    }

    public Task<IReadOnlyList<DriftRecord>> GetDriftAsync(string model, int limit, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqlitePredictionSql.Drift;
        cmd.Parameters.AddWithValue("$model", model);
        cmd.Parameters.AddWithValue("$limit", limit);
        using var reader = cmd.ExecuteReader();
        var list = new List<DriftRecord>();
        while (reader.Read())
        {
            list.Add(new DriftRecord(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), T(reader.GetInt64(3)), T(reader.GetInt64(4)),
                reader.GetInt32(5), MonitoringJson.Evidence(reader.GetString(6)), T(reader.GetInt64(7))));
        }
        return Task.FromResult<IReadOnlyList<DriftRecord>>(list);
    }
}

internal static class MonitoringJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IReadOnlyList<DriftEvidence> Evidence(string json) =>
        JsonSerializer.Deserialize<List<DriftEvidence>>(json, Options) ?? [];
}
